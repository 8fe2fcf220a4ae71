/* fuzz_form.c — libFuzzer target for the query-string splitter and
 * decoder: every pair of any input decodes or is refused, within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *cur = (const char *)data, *end = cur + size, *n, *v;
    size_t nl, vl, pairs = 0;
    char *out = malloc(size + 1);
    if (!out)
        return 0;
    while (pysb_form_next(&cur, end, &n, &nl, &v, &vl)) {
        size_t ol;
        if (n < (const char *)data || n + nl > end || v + vl > end)
            abort();
        if (pysb_form_decode(n, nl, out, &ol) == 0 && ol > nl)
            abort();
        if (pysb_form_decode(v, vl, out, &ol) == 0 && ol > vl)
            abort();
        if (++pairs > size)
            abort(); /* each pair consumes at least one byte */
    }
    free(out);
    return 0;
}
