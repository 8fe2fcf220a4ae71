/* multipart.h — multipart/form-data (RFC 7578 over RFC 2046) for a request
 * body that is already wholly in memory.
 *
 * Contract: zero-copy and allocation-free. The parser fills a caller-given
 * array of parts whose slices point into the caller's body buffer (or, only
 * for a quoted name/filename that used backslash escapes, into that part's
 * own small buffer), so results live exactly as long as the body and the
 * array. No global or static mutable state: safe in threaded httpd workers.
 * Never reads outside [body, body+len), whatever the bytes; time is linear
 * in len (memmem). Errors are a static one-line reason starting
 * "multipart: ", fit for a 400 response.
 *
 * Accepted syntax, strict where clients agree, and exactly one reading of
 * every body (so nothing in front of us can see different fields):
 *  - A delimiter is CRLF "--" boundary; the first may start the body without
 *    the CRLF. A preamble before it and an epilogue after the close
 *    delimiter ("--" boundary "--") are ignored. Spaces/tabs may follow a
 *    delimiter before its CRLF. A line beginning CRLF "--" boundary that is
 *    neither a delimiter nor the close delimiter (e.g. "--boundaryX") is an
 *    error, not data: generators pick a boundary absent from the data.
 *  - Part headers end at the first CRLFCRLF and must not contain a
 *    delimiter. Lines end with CRLF only (curl, browsers, Python requests
 *    all send CRLF; a bare CR or LF is an error). Names are case-insensitive;
 *    folded (obs-fold) lines and control bytes other than HTAB are errors.
 *    At most PYSB_MPART_HEADER_LINES lines and PYSB_MPART_HEADER_BYTES bytes
 *    (CRLFs included, final empty line excluded) per part.
 *  - Content-Disposition is required, once, of type form-data (any case),
 *    with exactly one `name`; `filename` at most once; `filename*`, `name*`
 *    and unknown parameters are ignored. Content-Type at most once.
 *    Content-Transfer-Encoding, if present, must be 7bit, 8bit or binary.
 *  - Quoted parameter values: a backslash is an escape only before one of
 *    the tspecials ()<>@,;:\"/[]?= ; any other backslash is literal. This is
 *    what curl >= 7.81, browsers (WHATWG) and Python requests send: they
 *    write '"' as %22 and leave '\' bare (filename="C:\dir\a.py" is read
 *    verbatim); old clients' \" and \\ still decode. Of percent escapes
 *    exactly those of the HTML standard's form encoding decode, %22 ("),
 *    %0D and %0A (any other % is literal: a name with CR or LF is then
 *    refused by the caller's name rules). A value with escapes is decoded
 *    into the part's name_buf/filename_buf; one that does not fit is an
 *    error.
 *  - Part data is the exact bytes between the headers and the next
 *    delimiter: NULs, lone CR/LF, "--boundary" not preceded by CRLF, all
 *    kept. A part with headers directly followed by CRLF "--" boundary has
 *    empty data.
 *  - A body without the close delimiter is an error; a body that is only
 *    the close delimiter has 0 parts. Duplicate names come back as separate
 *    parts, in body order: the caller decides. */
#ifndef PYSB_MULTIPART_H
#define PYSB_MULTIPART_H

#include <stddef.h>

#define PYSB_MPART_BOUNDARY_MAX   70     /* RFC 2046 */
#define PYSB_MPART_HEADER_LINES   64     /* per part */
#define PYSB_MPART_HEADER_BYTES   8192   /* per part */
#define PYSB_MPART_NAME_BUF       256    /* decoded escaped name, max bytes
                                            (input file names are 128) */
#define PYSB_MPART_FILENAME_BUF   256    /* decoded escaped filename */

/* A byte range; not NUL-terminated. Other headers wanting the same type
 * must use the same guard. */
#ifndef PYSB_SLICE_DEFINED
#define PYSB_SLICE_DEFINED
typedef struct { const char *ptr; size_t len; } pysb_slice;
#endif

typedef struct pysb_mpart {
    pysb_slice name;          /* form field name (may be empty, ptr non-NULL) */
    pysb_slice filename;      /* ptr NULL: no filename parameter (a plain
                                 field); ptr non-NULL, even with len 0 (a
                                 browser's empty file input): a file part */
    pysb_slice content_type;  /* the part's Content-Type value, trimmed;
                                 ptr NULL when absent */
    pysb_slice data;          /* the part's body, exact bytes (binary-safe);
                                 ptr non-NULL, into the body, even if empty */
    /* Private: where escaped quoted values are decoded. name/filename point
     * here then, so a copied struct's slices still point at the original. */
    char name_buf[PYSB_MPART_NAME_BUF];
    char filename_buf[PYSB_MPART_FILENAME_BUF];
} pysb_mpart;

/* Extract the boundary from a Content-Type header value such as
 * 'multipart/form-data; boundary="----abc"; charset=utf-8'. The media type
 * must be multipart/form-data; type and parameter names are
 * case-insensitive; the value may be a token or a quoted-string (without
 * escapes: '\' is not a boundary character); it must be 1..70 RFC 2046
 * bchars not ending in a space. A missing or repeated boundary parameter
 * is an error. On success returns 0 and *boundary points into
 * content_type; on failure returns -1 and sets *err (if err is non-NULL). */
int pysb_multipart_boundary(const char *content_type, pysb_slice *boundary,
                            const char **err);

/* Parse body[0..len) with the given boundary (as from
 * pysb_multipart_boundary; it is re-checked). Fills parts[0..n) in body
 * order and returns n (0 <= n <= max_parts), or returns -1 and sets *err
 * (if non-NULL): more than max_parts parts is "multipart: too many parts".
 * On failure the contents of parts[] are unspecified. parts may be NULL
 * only when max_parts is 0. */
int pysb_multipart_parse(const char *body, size_t len, pysb_slice boundary,
                         pysb_mpart *parts, int max_parts, const char **err);

/* 1 if the part's name is exactly the NUL-terminated `name` (byte for byte,
 * case-sensitive as RFC 7578 field names are), else 0. */
int pysb_mpart_name_is(const pysb_mpart *part, const char *name);

#endif
