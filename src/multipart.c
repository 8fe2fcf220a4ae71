/* multipart.c — multipart/form-data boundary extraction and body parsing.
 *
 * Contract (details in multipart.h): zero-copy, no allocation, no static
 * mutable state; every read is bounds-checked against the caller's length,
 * never against a terminator; each byte of the body is examined a bounded
 * number of times (memmem), so the time is linear. The syntax is strict
 * enough that a body has exactly one reading. */
#include "multipart.h"

#include <string.h>

#define FAIL(msg) do { if (err) *err = (msg); return -1; } while (0)

static const char E_ARGS[]      = "multipart: bad arguments";
static const char E_CT_NULL[]   = "multipart: missing Content-Type";
static const char E_CT_TYPE[]   = "multipart: not multipart/form-data";
static const char E_CT_SYNTAX[] = "multipart: malformed Content-Type parameters";
static const char E_B_MISSING[] = "multipart: missing boundary parameter";
static const char E_B_DUP[]     = "multipart: duplicate boundary parameter";
static const char E_B_BAD[]     = "multipart: bad boundary";
static const char E_NO_DELIM[]  = "multipart: boundary not found in body";
static const char E_DELIM[]     = "multipart: malformed boundary line";
static const char E_NO_CLOSE[]  = "multipart: missing closing boundary";
static const char E_TOO_MANY[]  = "multipart: too many parts";
static const char E_H_BIG[]     = "multipart: part headers too large";
static const char E_H_LINES[]   = "multipart: too many part header lines";
static const char E_H_UNTERM[]  = "multipart: part headers not terminated";
static const char E_H_LINE[]    = "multipart: malformed part header line";
static const char E_H_CRLF[]    = "multipart: part header lines must end with CRLF";
static const char E_H_CTL[]     = "multipart: control character in part header";
static const char E_CD_DUP[]    = "multipart: duplicate Content-Disposition";
static const char E_CT_DUP[]    = "multipart: duplicate Content-Type in part";
static const char E_CD_NAME[]   = "multipart: part without Content-Disposition form-data name";
static const char E_CD_SYNTAX[] = "multipart: malformed Content-Disposition";
static const char E_CD_PDUP[]   = "multipart: duplicate name or filename parameter";
static const char E_ESC_LONG[]  = "multipart: escaped parameter too long";
static const char E_CTE[]       = "multipart: unsupported Content-Transfer-Encoding";

/* ---- character classes (RFC 7230 tchar, RFC 2046 bchars) ---- */

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_tspecial(unsigned char c)
{
    return c != 0 && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int is_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("'()+_,-./:=? ", c) != NULL;
}

/* Control bytes other than HTAB; bytes >= 0x80 (obs-text, raw UTF-8 file
 * names from browsers) are allowed. */
static int is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of a slice with a lowercase literal. */
static int ieq(pysb_slice s, const char *lit)
{
    size_t n = strlen(lit);

    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.ptr[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

static int boundary_ok(pysb_slice b)
{
    if (!b.ptr || b.len < 1 || b.len > PYSB_MPART_BOUNDARY_MAX)
        return 0;
    for (size_t i = 0; i < b.len; i++)
        if (!is_bchar((unsigned char)b.ptr[i]))
            return 0;
    return b.ptr[b.len - 1] != ' ';
}

/* ---- header-parameter lexer, shared by Content-Type and
 * Content-Disposition: type *( OWS ";" OWS name OWS "=" OWS value ) OWS ---- */

typedef struct { const char *p, *e; } cursor;

static void skip_ows(cursor *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int take_token(cursor *c, pysb_slice *out)
{
    const char *s = c->p;

    while (c->p < c->e && is_tchar((unsigned char)*c->p))
        c->p++;
    out->ptr = s;
    out->len = (size_t)(c->p - s);
    return out->len > 0 ? 0 : -1;
}

/* An unquoted Content-Type value. Looser than a token because real clients
 * send boundaries with bchars such as '=' or ':' unquoted; the boundary is
 * validated against bchars afterwards anyway. */
static int take_loose(cursor *c, pysb_slice *out)
{
    const char *s = c->p;

    while (c->p < c->e) {
        unsigned char ch = (unsigned char)*c->p;
        if (is_ctl(ch) || ch == ' ' || ch == '\t' || ch == ';' || ch == '"')
            break;
        c->p++;
    }
    out->ptr = s;
    out->len = (size_t)(c->p - s);
    return out->len > 0 ? 0 : -1;
}

/* A quoted-string at c->p (which is '"'). *out is the raw inside, *escaped
 * set when it holds an escape pair (see multipart.h for which). */
static int take_quoted(cursor *c, pysb_slice *out, int *escaped)
{
    const char *s = ++c->p;

    *escaped = 0;
    while (c->p < c->e) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            out->ptr = s;
            out->len = (size_t)(c->p - s);
            c->p++;
            return 0;
        }
        if (is_ctl(ch))
            return -1;
        if (ch == '\\' && c->e - c->p >= 2 && is_tspecial((unsigned char)c->p[1])) {
            *escaped = 1;
            c->p += 2;
            continue;
        }
        c->p++;
    }
    return -1;                              /* unterminated */
}

/* The byte a browser's %22, %0D or %0A at p stands for (the HTML
 * standard's multipart/form-data encoding escapes exactly those three in
 * names and filenames; curl does the same), or 0. */
static char form_escape(const char *p, size_t left)
{
    if (left < 3 || p[0] != '%')
        return 0;
    if (p[1] == '2' && p[2] == '2')
        return '"';
    if (p[1] == '0' && (p[2] == 'D' || p[2] == 'd'))
        return '\r';
    if (p[1] == '0' && (p[2] == 'A' || p[2] == 'a'))
        return '\n';
    return 0;
}

/* Decode a raw value (a quoted inside already validated by take_quoted,
 * or a token) into buf: its backslash escapes and its form escapes. */
static int unescape(pysb_slice raw, char *buf, size_t cap, pysb_slice *out)
{
    size_t n = 0;

    if (raw.len > cap)                      /* decoding only shrinks */
        return -1;
    for (size_t i = 0; i < raw.len; i++) {
        char f = form_escape(raw.ptr + i, raw.len - i);
        if (f) {
            buf[n++] = f;
            i += 2;
            continue;
        }
        if (raw.ptr[i] == '\\' && i + 1 < raw.len
            && is_tspecial((unsigned char)raw.ptr[i + 1]))
            i++;
        buf[n++] = raw.ptr[i];
    }
    out->ptr = buf;
    out->len = n;
    return 0;
}

/* value as it stands (a slice of the body), or decoded into buf when it
 * holds a backslash or a '%' that may be an escape. */
static int take_value(pysb_slice value, int escaped, char *buf, size_t cap, pysb_slice *out)
{
    if (!escaped && !(value.len && memchr(value.ptr, '%', value.len))) {
        *out = value;
        return 0;
    }
    return unescape(value, buf, cap, out);
}

/* Next parameter. Returns 1 with name/value, 0 at the end, -1 on a syntax
 * error. Empty parameters (";;", a trailing ';') are tolerated, as every
 * mainstream parser does. */
static int next_param(cursor *c, int loose, pysb_slice *name,
                      pysb_slice *value, int *escaped)
{
    for (;;) {
        skip_ows(c);
        if (c->p == c->e)
            return 0;
        if (*c->p != ';')
            return -1;
        c->p++;
        skip_ows(c);
        if (c->p == c->e)
            return 0;
        if (*c->p != ';')
            break;
    }
    if (take_token(c, name) < 0)
        return -1;
    skip_ows(c);
    if (c->p == c->e || *c->p != '=')
        return -1;
    c->p++;
    skip_ows(c);
    *escaped = 0;
    if (c->p < c->e && *c->p == '"')
        return take_quoted(c, value, escaped) < 0 ? -1 : 1;
    if ((loose ? take_loose(c, value) : take_token(c, value)) < 0)
        return -1;
    return 1;
}

/* ---- Content-Type ---- */

int pysb_multipart_boundary(const char *content_type, pysb_slice *boundary,
                            const char **err)
{
    cursor c;
    pysb_slice type, sub, name, value, found = { NULL, 0 };
    int escaped, r, found_escaped = 0;

    if (!content_type)
        FAIL(E_CT_NULL);
    if (!boundary)
        FAIL(E_ARGS);
    c.p = content_type;
    c.e = content_type + strlen(content_type);
    skip_ows(&c);
    if (take_token(&c, &type) < 0 || c.p == c.e || *c.p++ != '/'
        || take_token(&c, &sub) < 0
        || !ieq(type, "multipart") || !ieq(sub, "form-data"))
        FAIL(E_CT_TYPE);
    while ((r = next_param(&c, 1, &name, &value, &escaped)) == 1) {
        if (!ieq(name, "boundary"))
            continue;
        if (found.ptr)
            FAIL(E_B_DUP);
        found = value;
        found_escaped = escaped;
    }
    if (r < 0)
        FAIL(E_CT_SYNTAX);
    if (!found.ptr)
        FAIL(E_B_MISSING);
    if (found_escaped || !boundary_ok(found))
        FAIL(E_B_BAD);
    *boundary = found;
    return 0;
}

/* ---- one part's headers ---- */

static int parse_disposition(pysb_slice v, pysb_mpart *part, const char **err)
{
    cursor c = { v.ptr, v.ptr + v.len };
    pysb_slice type, name, value;
    int escaped, r, have_name = 0;

    if (take_token(&c, &type) < 0)
        FAIL(E_CD_SYNTAX);
    if (!ieq(type, "form-data"))
        FAIL(E_CD_NAME);
    while ((r = next_param(&c, 0, &name, &value, &escaped)) == 1) {
        if (ieq(name, "name")) {
            if (have_name)
                FAIL(E_CD_PDUP);
            have_name = 1;
            if (take_value(value, escaped, part->name_buf, sizeof part->name_buf,
                           &part->name) < 0)
                FAIL(E_ESC_LONG);
        } else if (ieq(name, "filename")) {
            if (part->filename.ptr)
                FAIL(E_CD_PDUP);
            if (take_value(value, escaped, part->filename_buf,
                           sizeof part->filename_buf, &part->filename) < 0)
                FAIL(E_ESC_LONG);
        }
        /* filename*, name* (RFC 7578 §4.2: not to be used) and the rest:
         * ignored. */
    }
    if (r < 0)
        FAIL(E_CD_SYNTAX);
    if (!have_name)
        FAIL(E_CD_NAME);
    return 0;
}

/* Line syntax: token ":" value, no control bytes but HTAB, no bare CR/LF.
 * [s, e) has its CRLF stripped. On success *colon is the ':'. */
static int check_header_line(const char *s, const char *e, const char **colon,
                             const char **err)
{
    cursor c = { s, e };
    pysb_slice name;

    for (const char *q = s; q < e; q++) {
        if (*q == '\r' || *q == '\n')
            FAIL(E_H_CRLF);
        if (is_ctl((unsigned char)*q))
            FAIL(E_H_CTL);
    }
    /* No space before ':' (RFC 7230 §3.2.4); a leading space is obs-fold. */
    if (take_token(&c, &name) < 0 || c.p == c.e || *c.p != ':')
        FAIL(E_H_LINE);
    *colon = c.p;
    return 0;
}

/* Meaning of one syntactically valid header line. */
static int interpret_header_line(const char *s, const char *colon,
                                 const char *e, pysb_mpart *part,
                                 int *have_cd, const char **err)
{
    pysb_slice name = { s, (size_t)(colon - s) }, value;
    cursor c = { colon + 1, e };

    skip_ows(&c);
    while (c.e > c.p && (c.e[-1] == ' ' || c.e[-1] == '\t'))
        c.e--;
    value.ptr = c.p;
    value.len = (size_t)(c.e - c.p);

    if (ieq(name, "content-disposition")) {
        if (*have_cd)
            FAIL(E_CD_DUP);
        *have_cd = 1;
        return parse_disposition(value, part, err);
    }
    if (ieq(name, "content-type")) {
        if (part->content_type.ptr)
            FAIL(E_CT_DUP);
        part->content_type = value;
        return 0;
    }
    if (ieq(name, "content-transfer-encoding")) {
        /* Anything else would hand the program encoded bytes. */
        if (!ieq(value, "binary") && !ieq(value, "8bit") && !ieq(value, "7bit"))
            FAIL(E_CTE);
    }
    return 0;
}

/* Header lines in [s, e), each ending with CRLF (e just past the last).
 * The whole block's syntax is checked before any line is interpreted, so
 * a malformed block is reported as such rather than by its first symptom
 * (a folded Content-Disposition would otherwise look nameless). */
static int parse_headers(const char *s, const char *e, pysb_mpart *part,
                         const char **err)
{
    int lines = 0, have_cd = 0;
    const char *colon;

    for (const char *p = s; p < e; ) {
        /* Always found: the block ends with CRLF. */
        const char *crlf = memmem(p, (size_t)(e - p), "\r\n", 2);
        if (!crlf)
            FAIL(E_H_CRLF);
        if (++lines > PYSB_MPART_HEADER_LINES)
            FAIL(E_H_LINES);
        if (check_header_line(p, crlf, &colon, err) < 0)
            return -1;
        p = crlf + 2;
    }
    for (const char *p = s; p < e; ) {
        const char *crlf = memmem(p, (size_t)(e - p), "\r\n", 2);
        if (!crlf || check_header_line(p, crlf, &colon, err) < 0)
            FAIL(E_H_LINE);                 /* unreachable: checked above */
        if (interpret_header_line(p, colon, crlf, part, &have_cd, err) < 0)
            return -1;
        p = crlf + 2;
    }
    if (!have_cd)
        FAIL(E_CD_NAME);
    return 0;
}

/* ---- the body ---- */

int pysb_multipart_parse(const char *body, size_t len, pysb_slice boundary,
                         pysb_mpart *parts, int max_parts, const char **err)
{
    char delim[4 + PYSB_MPART_BOUNDARY_MAX];     /* CRLF "--" boundary */
    size_t dlen;
    const char *end, *d;
    int n = 0;

    if ((!body && len) || max_parts < 0 || (!parts && max_parts > 0))
        FAIL(E_ARGS);
    if (!boundary_ok(boundary))
        FAIL(E_B_BAD);
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary.ptr, boundary.len);
    dlen = 4 + boundary.len;
    if (!body)
        FAIL(E_NO_DELIM);
    end = body + len;

    /* d: the "--" of the current dash-boundary. */
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        d = body;
    } else {
        const char *x = memmem(body, len, delim, dlen);
        if (!x)
            FAIL(E_NO_DELIM);
        d = x + 2;
    }

    for (;;) {
        const char *p = d + (dlen - 2), *h, *next, *hend, *data;
        size_t avail, win;
        pysb_mpart *part;

        /* The rest of the delimiter line: "--" (close, then epilogue) or
         * transport padding then CRLF. */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return n;
        if (end - p == 1 && p[0] == '-')
            FAIL(E_NO_CLOSE);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end || (end - p == 1 && *p == '\r'))
            FAIL(E_NO_CLOSE);
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            FAIL(E_DELIM);
        h = p + 2;                          /* the part's first header line */

        if (n == max_parts)
            FAIL(E_TOO_MANY);

        /* The next delimiter, searched from h - 2 so that a part whose
         * headers are followed directly by it is seen (empty data), and a
         * delimiter can never hide inside headers or data. */
        next = memmem(h - 2, (size_t)(end - (h - 2)), delim, dlen);
        if (!next)
            FAIL(E_NO_CLOSE);

        /* The header block is [h, hend + 2) where hend is the first CRLFCRLF
         * from h - 2 (hend == h - 2: no headers). It must end before the
         * next delimiter and hold at most PYSB_MPART_HEADER_BYTES. */
        avail = (size_t)((next + 2) - (h - 2));
        win = avail < PYSB_MPART_HEADER_BYTES + 4 ? avail
                                                  : PYSB_MPART_HEADER_BYTES + 4;
        hend = memmem(h - 2, win, "\r\n\r\n", 4);
        if (!hend)
            FAIL(avail > win ? E_H_BIG : E_H_UNTERM);

        part = &parts[n];
        memset(part, 0, sizeof *part);
        if (parse_headers(h, hend >= h ? hend + 2 : h, part, err) < 0)
            return -1;

        /* hend + 4 <= next + 2, so next is hend + 2 (no data) or later. */
        data = hend + 4 <= next ? hend + 4 : next;
        part->data.ptr = data;
        part->data.len = (size_t)(next - data);
        n++;
        d = next + 2;
    }
}

int pysb_mpart_name_is(const pysb_mpart *part, const char *name)
{
    size_t n = strlen(name);

    return part->name.ptr && part->name.len == n
        && memcmp(part->name.ptr, name, n) == 0;
}
