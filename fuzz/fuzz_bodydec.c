/* fuzz_bodydec.c — libFuzzer target for the streaming body decoders: the
 * first byte picks form or JSON and a chunk size; the rest is the body.
 * Whatever the chunking, the status and the fields are the same as in one
 * piece; a JSON body is accepted exactly when jansson accepts it as an
 * object (within the caps: no more than 4096 values, 4 levels, no known
 * key twice); kept values never exceed their cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bodydec.h"

struct seen {
    uint64_t hash;
    size_t fields, kept;
};

static size_t cap(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    return len == 4 && !memcmp(name, "code", 4) ? 16 : len == 1 && name[0] == 'a' ? 1 : 0;
}

static void field(void *ctx, const char *name, size_t name_len, pysb_value_kind kind,
                  const char *value, size_t len, size_t over)
{
    struct seen *s = ctx;
    if (len > 16 || (over && len) || (over && over <= 1))
        abort();
    s->fields++;
    s->kept += len;
    uint64_t h = s->hash * 1099511628211u ^ (uint64_t)kind ^ (uint64_t)over << 8;
    for (size_t i = 0; i < (name_len < 64 ? name_len : 64); i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)value[i]) * 1099511628211u;
    s->hash = h;
}

static int run(pysb_body_kind kind, const char *p, size_t n, size_t step, struct seen *s)
{
    const pysb_body_sink sink = { cap, field, s };
    pysb_bodydec *d = pysb_bodydec_new(kind, &sink, 4096, 4);
    if (!d)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += step)
        rc = pysb_bodydec_feed(d, p + i, n - i < step ? n - i : step);
    if (!rc)
        rc = pysb_bodydec_end(d);
    pysb_bodydec_free(d);
    return rc;
}

/* Values (containers included) and nesting of a jansson document. */
static void measure(const json_t *j, int depth, size_t *values, int *deepest)
{
    const char *k;
    json_t *v;
    size_t i;
    ++*values;
    if (depth > *deepest)
        *deepest = depth;
    if (json_is_object(j))
        json_object_foreach((json_t *)j, k, v)
            measure(v, depth + 1, values, deepest);
    else if (json_is_array(j))
        json_array_foreach(j, i, v)
            measure(v, depth + 1, values, deepest);
}

static int within_caps(const json_t *o)
{
    size_t values = 0;
    int deepest = 0;
    if (!json_is_object(o))
        return 0;
    measure(o, 1, &values, &deepest);
    /* scalars sit one level below their container */
    return values <= 4096 && deepest <= 5;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    pysb_body_kind kind = data[0] & 1 ? PYSB_BODY_JSON : PYSB_BODY_FORM;
    size_t step = (size_t)(data[0] >> 1) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct seen whole = { 0 }, chunked = { 0 };
    int a = run(kind, p, n, n ? n : 1, &whole), b = run(kind, p, n, step, &chunked);
    if (a != b || whole.hash != chunked.hash || whole.fields != chunked.fields)
        abort();
    /* (jansson reads a raw NUL byte between tokens as nothing; RFC 8259,
     * and this decoder, refuse it) */
    if (kind == PYSB_BODY_JSON && (a == 0 || a == 400) && !memchr(p, 0, n)) {
        json_error_t e;
        /* a leading byte order mark: skipped here (RFC 8259 allows it),
         * an error to jansson */
        if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
            p += 3;
            n -= 3;
        }
        /* JSON_REJECT_DUPLICATES: this decoder refuses a known key twice
         * only; the documents where both judge alike are those jansson
         * takes without duplicates or refuses for a syntax error. */
        json_t *j = json_loadb(p, n, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
        if (j && within_caps(j) && a != 0)
            abort();    /* jansson accepts what we refused */
        json_decref(j);
        /* and what we accept, jansson parses (duplicates apart, and the
         * numbers it cannot hold, integers beyond 64 bits or reals beyond
         * a double, which we keep as text) */
        j = json_loadb(p, n, JSON_ALLOW_NUL, &e);
        if (a == 0 && !(j && json_is_object(j)) && !strstr(e.text, "too big") &&
            !strstr(e.text, "overflow"))
            abort();
        json_decref(j);
    }
    return 0;
}
