/* request.h — one request to the handler: its context, its refusal, and
 * how its fields are read from the query string and the body.
 *
 * Contract: the encodings of DESIGN §4 — application/x-www-form-urlencoded
 * and application/json decoded as they arrive (src/bodydec: only what a
 * field can use is kept, each value within its size, in mappings of their
 * own returned at the request's end; 4096 values and 4 levels of JSON at
 * most), multipart/form-data (the body kept whole in such a mapping,
 * src/multipart), a raw text/x-python body (the code, kept up to
 * PySandboxMaxCodeSize and counted past it; other fields from the query),
 * a bare POST or a GET (the query alone) — all hand name/value pairs to
 * src/fields; body fields are set after query fields, so they win. A body
 * is held to what the Location's code and stdin sizes can need as encoded
 * (and LimitRequestBody), refused by its Content-Length before a byte of
 * it is read, or, without one, as soon as it is past either. A step that
 * refuses records its status and one-line reason with pysb_fail (or
 * pysb_unavailable: 503 and Retry-After) and returns the status; the
 * handler writes every refusal, in one place. */
#ifndef PYSB_HTTPD_REQUEST_H
#define PYSB_HTTPD_REQUEST_H

#include "httpd.h"

#include "httpd/conf.h"
#include "src/fields.h"
#include "src/infiles.h"
#include "src/membuf.h"
#include "src/render.h"

typedef struct pysb_req {
    request_rec      *r;
    pysb_effective    e;        /* the Location */
    pysb_fields       f;
    pysb_inputs       in;       /* input files and args (issue 10) */
    int               in_query;   /* the query string's fields are being set */
    int               query_args; /* the args so far are the query's: the
                                     body's first args replaces them */
    pysb_run_request  run;      /* once the fields are checked */
    const char       *run_id;
    pysb_format       format;   /* the default until the fields say */
    int               status;   /* the refusal, once one is found ... */
    const char       *why;      /* ... and its reason */
    int               body_read; /* the body was read to its end */
    int               format_set; /* x->format is the request's, not the default */
} pysb_req;

/* The context of r: its Location, a fresh run id (X-PySandbox-Run-Id and
 * the pysandbox-run-id note), empty fields. */
pysb_req *pysb_req_new(request_rec *r);

/* Records a refusal; returns status, for "return pysb_fail(…)". */
int pysb_fail(pysb_req *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 503 with Retry-After: the service cannot take the run now. */
int pysb_unavailable(pysb_req *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The query string's and the body's fields into x->f. Returns OK, a
 * refusal's status (400, 413, 415), or a status httpd's input filters
 * answered already (no reason recorded). */
int pysb_read_request(pysb_req *x);

/* The body, chunk by chunk as httpd's input filters give it, to each(),
 * up to cap bytes in all. OK, 413 past cap, a refusal of httpd's HTTP_IN
 * filter (413 over LimitRequestBody, 400 for broken chunks: the module's
 * reason recorded, httpd's own error page never sent), each()'s refusal,
 * or a status some other input filter answered with no reason recorded.
 * For handlers whose bodies are not fields. */
typedef int (*pysb_chunk_fn)(void *ctx, const char *p, size_t n);
int pysb_read_body(pysb_req *x, apr_size_t cap, pysb_chunk_fn each, void *ctx);

/* The output filter that takes HTTP_IN's refusal of a body (see
 * request.c), registered once (register_hooks). */
void pysb_request_register(void);

/* A buffer that lives as long as r, in a mapping of its own (returned to
 * the kernel at the request's end). */
pysb_membuf *pysb_request_membuf(request_rec *r);

/* Before a refusal on an HTTP/2 stream: what is left of the body (up to
 * 1 MiB) read and dropped, so that the answer is not raced by a reset. */
void pysb_drain_body(pysb_req *x);

#endif
