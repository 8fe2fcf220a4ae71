/* fuzz_multipart.c — libFuzzer target for the multipart/form-data parser
 * and the Content-Type boundary extractor, i.e. everything a client's
 * request body and Content-Type header reach.
 *
 * Contract: byte 0 steers — bits 0..1 pick where the boundary comes from
 * (0: the body's first line "--boundary", as a real body's seed gives;
 * 1: the next 1..8 bytes mapped onto bchars; 2: a Content-Type line ended
 * by '\n', through pysb_multipart_boundary; 3: a fixed "b"), bits 4..7 are
 * max_parts (0..15); the rest is the body. The whole input is also given to
 * pysb_multipart_boundary as a C string. Checked, else abort():
 *  - every slice lies in the body or in its part's decode buffers, no
 *    part's data contains the delimiter, n <= max_parts;
 *  - the same body with max_parts = n gives n, with n - 1 "too many parts";
 *  - the parts re-serialised (names and filenames re-quoted, CR and LF as
 *    %0D and %0A) parse back to the same parts;
 *  - any boundary pysb_multipart_boundary accepts lies in its input and is
 *    accepted by pysb_multipart_parse in a minimal body. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

#define MAXP 15

static const char bchars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_multipart: %s\n", what);
        abort();
    }
}

static int inside(const char *p, size_t n, const void *lo, size_t lolen)
{
    const char *b = lo;
    return p >= b && n <= lolen && (size_t)(p - b) <= lolen - n;
}

static int same(pysb_slice a, pysb_slice b)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_parts(const char *body, size_t len, pysb_slice b,
                        const pysb_mpart *parts, int n)
{
    char delim[4 + PYSB_MPART_BOUNDARY_MAX];

    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, b.ptr, b.len);
    for (int i = 0; i < n; i++) {
        const pysb_mpart *p = &parts[i];
        check(p->name.ptr && (inside(p->name.ptr, p->name.len, body, len)
              || inside(p->name.ptr, p->name.len, p->name_buf,
                        sizeof p->name_buf)), "name out of bounds");
        check(!p->filename.ptr
              || inside(p->filename.ptr, p->filename.len, body, len)
              || inside(p->filename.ptr, p->filename.len, p->filename_buf,
                        sizeof p->filename_buf), "filename out of bounds");
        check(!p->content_type.ptr
              || inside(p->content_type.ptr, p->content_type.len, body, len),
              "content_type out of bounds");
        check(p->data.ptr && inside(p->data.ptr, p->data.len, body, len),
              "data out of bounds");
        check(!memmem(p->data.ptr, p->data.len, delim, 4 + b.len),
              "delimiter inside data");
    }
}

/* Append s quoted, escaping '"' and '\' with a backslash, CR and LF as
 * a browser does (%0D, %0A); returns bytes written. */
static size_t put_quoted(char *out, pysb_slice s, size_t *escaped_len)
{
    size_t n = 0;

    out[n++] = '"';
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\r' || s.ptr[i] == '\n') {
            n += (size_t)sprintf(out + n, "%%0%c", s.ptr[i] == '\r' ? 'D' : 'A');
            continue;
        }
        if (s.ptr[i] == '"' || s.ptr[i] == '\\')
            out[n++] = '\\';
        out[n++] = s.ptr[i];
    }
    out[n++] = '"';
    *escaped_len = n - 2;
    return n;
}

/* A value the parser decodes into its part's buffer. */
static int has_escape_target(pysb_slice s)
{
    return memchr(s.ptr, '"', s.len) || memchr(s.ptr, '\\', s.len) ||
           memchr(s.ptr, '%', s.len) || memchr(s.ptr, '\r', s.len) || memchr(s.ptr, '\n', s.len);
}

/* Re-serialise the parts and parse them back: same parts expected. */
static void round_trip(pysb_slice b, const pysb_mpart *parts, int n)
{
    size_t cap = b.len + 64, len = 0, el;
    char *out;
    static const char cd[] = "Content-Disposition: form-data; name=";
    pysb_mpart back[MAXP];
    const char *err = NULL;
    int m;

    for (int i = 0; i < n; i++) {
        /* an escaped value must fit the decode buffer to come back */
        if (has_escape_target(parts[i].name)
            && 3 * parts[i].name.len > PYSB_MPART_NAME_BUF)
            return;
        if (parts[i].filename.ptr && has_escape_target(parts[i].filename)
            && 3 * parts[i].filename.len > PYSB_MPART_FILENAME_BUF)
            return;
        cap += 2 * b.len + 128 + 3 * parts[i].name.len
               + 3 * parts[i].filename.len + parts[i].content_type.len
               + parts[i].data.len;
    }
    out = malloc(cap);
    check(out != NULL, "malloc");
    for (int i = 0; i < n; i++) {
        len += (size_t)sprintf(out + len, "--%.*s\r\n%s", (int)b.len, b.ptr, cd);
        len += put_quoted(out + len, parts[i].name, &el);
        if (parts[i].filename.ptr) {
            memcpy(out + len, "; filename=", 11);
            len += 11;
            len += put_quoted(out + len, parts[i].filename, &el);
        }
        memcpy(out + len, "\r\n", 2);
        len += 2;
        if (parts[i].content_type.ptr) {
            memcpy(out + len, "Content-Type: ", 14);
            len += 14;
            memcpy(out + len, parts[i].content_type.ptr, parts[i].content_type.len);
            len += parts[i].content_type.len;
            memcpy(out + len, "\r\n", 2);
            len += 2;
        }
        memcpy(out + len, "\r\n", 2);
        len += 2;
        if (parts[i].data.len)
            memcpy(out + len, parts[i].data.ptr, parts[i].data.len);
        len += parts[i].data.len;
        memcpy(out + len, "\r\n", 2);
        len += 2;
    }
    len += (size_t)sprintf(out + len, "--%.*s--", (int)b.len, b.ptr);
    check(len <= cap, "round-trip buffer");

    m = pysb_multipart_parse(out, len, b, back, MAXP, &err);
    if (m != n)
        fprintf(stderr, "round trip: %d parts, then %d (%s)\n", n, m,
                m < 0 ? err : "");
    check(m == n, "round trip part count");
    check_parts(out, len, b, back, m);
    for (int i = 0; i < n; i++) {
        check(same(back[i].name, parts[i].name), "round trip name");
        check(same(back[i].filename, parts[i].filename), "round trip filename");
        check(same(back[i].content_type, parts[i].content_type),
              "round trip content_type");
        check(same(back[i].data, parts[i].data), "round trip data");
    }
    free(out);
}

static void fuzz_parse(const char *body, size_t len, pysb_slice b, int max)
{
    pysb_mpart parts[MAXP];
    const char *err = NULL;
    int n, again;

    n = pysb_multipart_parse(body, len, b, parts, max, &err);
    if (n < 0) {
        check(err && strncmp(err, "multipart: ", 11) == 0 && !strchr(err, '\n'),
              "error message");
        return;
    }
    check(n <= max, "more parts than max_parts");
    check_parts(body, len, b, parts, n);

    again = pysb_multipart_parse(body, len, b, parts, n, &err);
    check(again == n, "max_parts = n changes the result");
    if (n > 0) {
        again = pysb_multipart_parse(body, len, b, parts, n - 1, &err);
        check(again == -1 && strcmp(err, "multipart: too many parts") == 0,
              "max_parts = n - 1 not refused");
    }
    /* parts[] now holds the max_parts = n run, equal by the above */
    n = pysb_multipart_parse(body, len, b, parts, n, &err);
    round_trip(b, parts, n);
}

static void fuzz_boundary_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    pysb_slice b;
    const char *err = NULL;
    char body[2 * PYSB_MPART_BOUNDARY_MAX + 80];
    pysb_mpart part;
    int n;

    check(s != NULL, "malloc");
    memcpy(s, data, size);
    s[size] = '\0';
    if (pysb_multipart_boundary(s, &b, &err) == 0) {
        check(inside(b.ptr, b.len, s, strlen(s)), "boundary outside input");
        check(b.len >= 1 && b.len <= PYSB_MPART_BOUNDARY_MAX, "boundary length");
        n = snprintf(body, sizeof body,
                     "--%.*s\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                     "x\r\n--%.*s--", (int)b.len, b.ptr, (int)b.len, b.ptr);
        check(n > 0 && (size_t)n < sizeof body, "snprintf");
        check(pysb_multipart_parse(body, (size_t)n, b, &part, 1, &err) == 1,
              "accepted boundary refused by the parser");
    } else {
        check(err && strncmp(err, "multipart: ", 11) == 0, "error message");
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *body;
    size_t n, len;
    char bbuf[PYSB_MPART_BOUNDARY_MAX];
    pysb_slice b = { bbuf, 0 };
    int max;

    fuzz_boundary_string(data, size);
    if (size < 1)
        return 0;
    max = data[0] >> 4;
    in = (const char *)data + 1;
    n = size - 1;

    switch (data[0] & 3) {
    case 0:         /* "--boundary" first line, as in real bodies */
        body = in;
        len = n;
        if (n >= 2 && in[0] == '-' && in[1] == '-')
            for (size_t i = 2; i < n && b.len < PYSB_MPART_BOUNDARY_MAX
                               && in[i] != '\r' && in[i] != '\n'; i++)
                bbuf[b.len++] = in[i];
        break;
    case 1: {       /* explicit short boundary, easy for the fuzzer to hit */
        size_t k = 1 + ((data[0] >> 2) & 3) * 2;
        if (k > n)
            k = n;
        for (size_t i = 0; i < k; i++)
            bbuf[b.len++] = bchars[(uint8_t)in[i] % (sizeof bchars - 1)];
        body = in + k;
        len = n - k;
        break;
    }
    case 2: {       /* Content-Type line '\n' body: the handler's pipeline */
        const char *nl = memchr(in, '\n', n);
        char ct[256];
        const char *err;
        size_t cl;
        if (!nl)
            return 0;
        cl = (size_t)(nl - in);
        if (cl >= sizeof ct)
            return 0;
        memcpy(ct, in, cl);
        ct[cl] = '\0';
        if (pysb_multipart_boundary(ct, &b, &err) < 0)
            return 0;
        memcpy(bbuf, b.ptr, b.len);     /* ct is about to go out of scope */
        b.ptr = bbuf;
        body = nl + 1;
        len = n - cl - 1;
        break;
    }
    default:
        bbuf[0] = 'b';
        b.len = 1;
        body = in;
        len = n;
        break;
    }
    /* An exact-size copy, so ASan sees any read past the end. */
    {
        char *copy = malloc(len ? len : 1);
        check(copy != NULL, "malloc");
        if (len)
            memcpy(copy, body, len);
        fuzz_parse(copy, len, b, max);
        free(copy);
    }
    return 0;
}
