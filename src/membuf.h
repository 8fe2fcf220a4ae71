/* membuf.h — growable byte buffers, each in a mapping of its own.
 *
 * Contract: the bytes of a request body and of its decoded fields live
 * here, not in malloc's heap: glibc keeps freed heap memory in its arenas
 * (per thread, and its mmap threshold rises after the first large free),
 * so a worker that once held a few large bodies would keep their memory
 * for good. A membuf's pages go back to the kernel when it is freed.
 * Growth doubles the mapping with mremap (which may move it: pointers into
 * the buffer are valid until the next append or reserve). A zeroed
 * pysb_membuf is an empty one; after free it is empty again. No Apache
 * headers. */
#ifndef PYSB_MEMBUF_H
#define PYSB_MEMBUF_H

#include <stddef.h>

typedef struct pysb_membuf {
    char   *p;          /* NULL while empty */
    size_t  len, cap;
} pysb_membuf;

/* Room for n more bytes: 0, or -1 with errno (ENOMEM). */
int pysb_membuf_reserve(pysb_membuf *b, size_t n);

/* Appends n bytes: 0, or -1 with errno. */
int pysb_membuf_append(pysb_membuf *b, const void *p, size_t n);

/* The bytes so far, never NULL (an empty buffer is ""). */
const char *pysb_membuf_data(const pysb_membuf *b);

/* Unmaps it. */
void pysb_membuf_free(pysb_membuf *b);

#endif
