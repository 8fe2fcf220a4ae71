/* membuf.c — byte buffers in mappings of their own.
 *
 * Contract: see membuf.h. */
#include "membuf.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The first mapping, and the unit of growth below a doubling. */
#define MEMBUF_MIN 4096

int pysb_membuf_reserve(pysb_membuf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return 0;
    if (n > SIZE_MAX / 4 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    size_t want = b->len + n, cap = b->cap ? b->cap : MEMBUF_MIN;
    while (cap < want)
        cap *= 2;
    void *p = b->p ? mremap(b->p, b->cap, cap, MREMAP_MAYMOVE)
                   : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int pysb_membuf_append(pysb_membuf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (pysb_membuf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

const char *pysb_membuf_data(const pysb_membuf *b)
{
    return b->p ? b->p : "";
}

void pysb_membuf_free(pysb_membuf *b)
{
    if (b->p)
        munmap(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}
