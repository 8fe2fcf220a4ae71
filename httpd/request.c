/* request.c — the request's context and refusals, and its fields read
 * from every encoding.
 *
 * Contract: see request.h. Values stay in r->pool (or in the JSON document,
 * released with the pool) for as long as the request lives. */
#include "httpd/request.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"
#include "util_script.h"
#include "apr_buckets.h"
#include "apr_strings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/bodydec.h"
#include "src/clock.h"
#include "src/form.h"
#include "src/membuf.h"
#include "src/multipart.h"

APLOG_USE_MODULE(pysandbox);

#define MAX_PARTS (32 + PYSB_INPUTS_FILES)

static apr_status_t inputs_cleanup(void *data)
{
    pysb_inputs_free(data);
    return APR_SUCCESS;
}

pysb_req *pysb_req_new(request_rec *r)
{
    pysb_dir_conf *dc = ap_get_module_config(r->per_dir_config, &pysandbox_module);
    pysb_req *x = apr_pcalloc(r->pool, sizeof *x);
    x->r = r;
    pysb_effective_conf(r->pool, dc, &x->e);
    x->format = x->e.loc.default_format;
    pysb_fields_init(&x->f);
    pysb_inputs_init(&x->in, x->e.loc.max_files, x->e.loc.max_file_size);
    apr_pool_cleanup_register(r->pool, &x->in, inputs_cleanup, apr_pool_cleanup_null);
    char *run_id = apr_palloc(r->pool, 37);
    pysb_new_run_id(run_id);
    x->run_id = run_id;
    apr_table_setn(r->err_headers_out, "X-PySandbox-Run-Id", run_id);
    apr_table_setn(r->notes, "pysandbox-run-id", run_id);
    return x;
}

int pysb_fail(pysb_req *x, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    x->why = apr_pvsprintf(x->r->pool, fmt, ap);
    va_end(ap);
    x->status = status;
    return status;
}

int pysb_unavailable(pysb_req *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    x->why = apr_pvsprintf(x->r->pool, fmt, ap);
    va_end(ap);
    x->status = HTTP_SERVICE_UNAVAILABLE;
    apr_table_setn(x->r->err_headers_out, "Retry-After", "1");
    return x->status;
}

/* The first refusal of an input file or argument stands. */
static void inputs_status(pysb_req *x, int rc, const char *why)
{
    if (rc && !x->status)
        pysb_fail(x, rc, "%s", why);
}

/* Body fields win over the query's: for args, a list, the body's first
 * one drops what the query gave. */
static void args_from_here(pysb_req *x)
{
    if (x->in_query) {
        x->query_args = 1;
    } else if (x->query_args) {
        pysb_inputs_drop_args(&x->in);
        x->query_args = 0;
    }
}

/* A name that is no field is noted (step_names refuses it, or not); each
 * args of a form is one more argument, not a replacement (but see
 * args_from_here). */
static void set_field(pysb_req *x, const char *name, apr_size_t name_len,
                      const char *data, apr_size_t len)
{
    if (name_len == 4 && !memcmp(name, "args", 4)) {
        char why[256];
        args_from_here(x);
        inputs_status(x, pysb_inputs_arg(&x->in, data, len, why, sizeof why), why);
        return;
    }
    if (name_len == 5 && !memcmp(name, "files", 5)) {
        inputs_status(x, HTTP_BAD_REQUEST, "files: send them as multipart file parts or as a "
                                           "JSON object of name: text or {\"base64\": ...}");
        return;
    }
    pysb_fields_set(&x->f, name, name_len, data, len);
}

/* A multipart part with a filename that is not a field (code and stdin
 * may come as files): an input file, named by the part (-F
 * data.csv=@data.csv), or by its filename in a part named "files". */
static int set_file_part(pysb_req *x, const pysb_mpart *m)
{
    int named_files = pysb_mpart_name_is(m, "files");
    if (!m->filename.ptr || (!named_files && pysb_fields_known(m->name.ptr, m->name.len)))
        return 0;
    const pysb_slice *n = named_files ? &m->filename : &m->name;
    if (named_files && m->filename.len == 0 && m->data.len == 0)
        return 1; /* a browser's empty file input */
    char why[256];
    inputs_status(x, pysb_inputs_file(&x->in, n->ptr, n->len, m->data.ptr, m->data.len, why,
                                      sizeof why), why);
    return 1;
}

/* ---- httpd's refusal of a body, answered by the module ------------------ *
 *
 * httpd's HTTP_IN filter refuses a body it will not take — over
 * LimitRequestBody when no Content-Length said so ahead (chunked HTTP/1.1,
 * or an HTTP/2 stream without content-length, which mod_http2 hands over
 * chunked), or chunks whose framing is broken — by passing an error bucket
 * and EOS down the request's output filters, where HTTP_HEADER answers it
 * with httpd's HTML error page, and returning AP_FILTER_ERROR to the
 * reader. While the module reads a body this filter sits first among the
 * output filters and takes that bucket instead: the status is kept for the
 * reader, which then refuses with the module's one line, in the format
 * asked for, with X-PySandbox-Run-Id and the "refused" note. */
static ap_filter_rec_t *input_refusal_handle;

typedef struct {
    int status;     /* HTTP_IN's refusal, 0 while none */
} input_refusal;

static apr_status_t input_refusal_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    input_refusal *ir = f->ctx;
    for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (AP_BUCKET_IS_ERROR(b)) {
            ir->status = ((ap_bucket_error *)b->data)->status;
            /* The EOS after it goes too; ap_pass_brigade marked it sent,
             * which would keep the refusal's own EOS (and so its bytes)
             * from ever going out. */
            apr_brigade_cleanup(bb);
            f->r->eos_sent = 0;
            /* what HTTP_IN hands its reader when the error is seen to */
            return AP_FILTER_ERROR;
        }
    }
    return ap_pass_brigade(f->next, bb);
}

void pysb_request_register(void)
{
    input_refusal_handle = ap_register_output_filter("PYSB_INPUT_REFUSAL",
                                                     input_refusal_filter, NULL,
                                                     AP_FTYPE_RESOURCE - 5);
}

/* The one-line reason for HTTP_IN's refusal of the body. */
static int input_refused(pysb_req *x, int status)
{
    if (status == HTTP_REQUEST_ENTITY_TOO_LARGE)
        return pysb_fail(x, status, "request body larger than this location accepts "
                                    "(LimitRequestBody %" APR_OFF_T_FMT " bytes)",
                         ap_get_limit_req_body(x->r));
    if (status == HTTP_BAD_REQUEST)
        return pysb_fail(x, status, "the request body's chunked framing is malformed");
    return pysb_fail(x, status, "the request body could not be read");
}

/* ---- the encodings ----------------------------------------------------- */

/* The body to each(), within cap: see request.h. */
int pysb_read_body(pysb_req *x, apr_size_t cap, pysb_chunk_fn each, void *ctx)
{
    request_rec *r = x->r;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    input_refusal *ir = apr_pcalloc(r->pool, sizeof *ir);
    ap_filter_t *catcher = ap_add_output_filter_handle(input_refusal_handle, ir, r,
                                                       r->connection);
    apr_size_t len = 0;
    int seen_eos = 0, rc = OK;
    /* httpd's input filter refuses a whole read that goes past
     * LimitRequestBody, the bytes before the limit with it: so a read
     * never asks past the limit, and every byte up to it is decoded (a
     * format field there picks the 413's format, README) before the next
     * read meets the refusal. */
    apr_off_t limit = ap_get_limit_req_body(r);
    do {
        apr_off_t want = HUGE_STRING_LEN;
        if (limit > 0 && (apr_off_t)len < limit && limit - (apr_off_t)len < want)
            want = limit - (apr_off_t)len;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, want);
        if (ir->status) {
            rc = input_refused(x, ir->status);
            break;
        }
        if (rv != APR_SUCCESS) {
            /* AP_FILTER_ERROR is no errno: another filter answered */
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv == AP_FILTER_ERROR ? 0 : rv, r,
                          "PYSB: reading the request body%s",
                          rv == AP_FILTER_ERROR ? ": an input filter refused it" : "");
            rc = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
            break;
        }
        for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb) && rc == OK;
             b = APR_BUCKET_NEXT(b)) {
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b))
                continue;
            const char *data;
            apr_size_t n;
            rv = apr_bucket_read(b, &data, &n, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, "PYSB: reading the request body");
                rc = pysb_fail(x, HTTP_BAD_REQUEST, "the request body could not be read");
            } else if (len + n > cap) {
                rc = pysb_fail(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "request body larger than this location accepts");
            } else {
                len += n;
                rc = each(ctx, data, n);
            }
        }
        apr_brigade_cleanup(bb);
    } while (rc == OK && !seen_eos);
    apr_brigade_destroy(bb);
    if (catcher)
        ap_remove_output_filter(catcher);
    x->body_read = rc == OK;
    /* Refused mid-body: the rest is not worth reading (over HTTP/1.1 httpd
     * would, to keep the connection); on a stream, see pysb_drain_body. */
    if (rc != OK && !seen_eos)
        r->connection->keepalive = AP_CONN_CLOSE;
    return rc;
}

static apr_status_t membuf_cleanup(void *data)
{
    pysb_membuf_free(data);
    return APR_SUCCESS;
}

/* A buffer for the body (or a value) that lives as long as the request,
 * in a mapping of its own: returned to the kernel at the request's end,
 * never parked in malloc's arenas or the pool allocator's free lists. */
pysb_membuf *pysb_request_membuf(request_rec *r)
{
    pysb_membuf *m = apr_pcalloc(r->pool, sizeof *m);
    apr_pool_cleanup_register(r->pool, m, membuf_cleanup, apr_pool_cleanup_null);
    return m;
}

/* A body kept whole (multipart): its bytes into a membuf. */
typedef struct {
    pysb_req    *x;
    pysb_membuf *m;
} whole;

static int out_of_memory(pysb_req *x)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), x->r,
                  "PYSB: keeping the request body");
    return pysb_fail(x, HTTP_INTERNAL_SERVER_ERROR, "out of memory reading the body");
}

static int whole_chunk(void *ctx, const char *p, size_t n)
{
    whole *w = ctx;
    return pysb_membuf_append(w->m, p, n) == 0 ? OK : out_of_memory(w->x);
}

/* A raw body: the code, kept up to the Location's size and counted past it. */
typedef struct {
    whole   w;
    size_t  total, keep;
} raw;

static int raw_chunk(void *ctx, const char *p, size_t n)
{
    raw *rw = ctx;
    size_t room = rw->total < rw->keep ? rw->keep - rw->total : 0;
    rw->total += n;
    return room ? whole_chunk(&rw->w, p, n < room ? n : room) : OK;
}

/* Fields of a raw query string: decoded copies in r->pool. */
static int read_query(pysb_req *x, const char *q)
{
    const char *cur = q, *end = q + strlen(q), *n, *v;
    size_t nl, vl;
    while (pysb_form_next(&cur, end, &n, &nl, &v, &vl)) {
        char *name = apr_palloc(x->r->pool, nl + 1), *val = apr_palloc(x->r->pool, vl + 1);
        size_t dn, dv;
        if (pysb_form_decode(n, nl, name, &dn) < 0 || pysb_form_decode(v, vl, val, &dv) < 0)
            return pysb_fail(x, HTTP_BAD_REQUEST, "malformed %%-escape in the query string");
        name[dn] = val[dv] = '\0';
        x->in_query = 1;
        set_field(x, name, dn, val, dv);
        x->in_query = 0;
    }
    return OK;
}

/* ---- form and JSON bodies, decoded as they come (src/bodydec) ---------- */

/* What a body may hold: values (form pairs, JSON values of any depth) and
 * JSON nesting. The fields are a score of scalars; issue 10's files (an
 * object of name -> string or {"base64": string}) and args (an array of
 * strings) fit in four levels. */
#define BODY_VALUES_MAX 4096
#define BODY_DEPTH_MAX 4

typedef struct {
    pysb_req     *x;
    pysb_bodydec *d;
    const char   *wrong;        /* the first known field of a wrong JSON type */
    int           json;         /* a JSON body (else a form's pairs) */
} decoded;

static apr_status_t bodydec_cleanup(void *data)
{
    pysb_bodydec_free(data);
    return APR_SUCCESS;
}

static size_t decoded_cap(void *ctx, const char *name, size_t len)
{
    decoded *dc = ctx;
    return pysb_fields_cap(&dc->x->e.loc, name, len);
}

/* A field as decoded: strings as they are; JSON numbers (for the limits
 * only) as a form would send them, 0.5 and not 5e-01; null as not given;
 * any other kind for a field is a wrong type. A name that is no field is
 * noted whatever its value (step_names refuses it, or not). */
static void decoded_field(void *ctx, const char *name, size_t name_len, pysb_value_kind kind,
                          const char *value, size_t len, size_t over)
{
    decoded *dc = ctx;
    pysb_req *x = dc->x;
    if (over) {
        pysb_fields_set_oversize(&x->f, name, name_len, over);
    } else if (dc->json && kind == PYSB_VAL_STRING && name_len == 4 &&
               !memcmp(name, "args", 4)) {
        /* JSON says what a list is: one string is not one (a form's
         * repeated fields are its way to say it). */
        if (!dc->wrong)
            dc->wrong = "args";
    } else if (kind == PYSB_VAL_STRING || !pysb_fields_known(name, name_len)) {
        set_field(x, name, name_len, kind == PYSB_VAL_STRING ? value : "",
                  kind == PYSB_VAL_STRING ? len : 0);
    } else if ((kind == PYSB_VAL_OBJECT && name_len == 5 && !memcmp(name, "files", 5)) ||
               (kind == PYSB_VAL_ARRAY && name_len == 4 && !memcmp(name, "args", 4))) {
        char why[256];
        if (kind == PYSB_VAL_ARRAY)
            args_from_here(x);
        int rc = kind == PYSB_VAL_OBJECT
                     ? pysb_inputs_json_files(&x->in, value, len, why, sizeof why)
                     : pysb_inputs_json_args(&x->in, value, len, why, sizeof why);
        inputs_status(x, rc, why);
        pysb_fields_set(&x->f, name, name_len, "", 0);
    } else if (kind == PYSB_VAL_NUMBER && pysb_fields_numeric(name, name_len)) {
        char *text = apr_palloc(x->r->pool, 128);
        pysb_fields_number_text(strtod(apr_pstrmemdup(x->r->pool, value, len), NULL), text, 128);
        set_field(x, name, name_len, text, strlen(text));
    } else if (kind != PYSB_VAL_NULL && !dc->wrong) {
        dc->wrong = apr_pstrmemdup(x->r->pool, name, name_len);
    }
}

static int decoded_chunk(void *ctx, const char *p, size_t n)
{
    decoded *dc = ctx;
    int rc = pysb_bodydec_feed(dc->d, p, n);
    return rc ? pysb_fail(dc->x, rc, "%s", pysb_bodydec_error(dc->d)) : OK;
}

static int read_decoded(pysb_req *x, pysb_body_kind kind, apr_size_t cap)
{
    decoded *dc = apr_pcalloc(x->r->pool, sizeof *dc);
    const pysb_body_sink sink = { decoded_cap, decoded_field, dc };
    dc->x = x;
    dc->json = kind == PYSB_BODY_JSON;
    dc->d = pysb_bodydec_new(kind, &sink, BODY_VALUES_MAX, BODY_DEPTH_MAX);
    if (!dc->d)
        return pysb_fail(x, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    apr_pool_cleanup_register(x->r->pool, dc->d, bodydec_cleanup, apr_pool_cleanup_null);
    int rc = pysb_read_body(x, cap, decoded_chunk, dc);
    if (rc != OK)
        return rc;
    if ((rc = pysb_bodydec_end(dc->d)) != 0)
        return pysb_fail(x, rc, "%s", pysb_bodydec_error(dc->d));
    /* Every key is taken before a wrong type is refused: a format asked
     * for after it still shapes the refusal. */
    if (dc->wrong)
        return pysb_fail(x, HTTP_BAD_REQUEST, "JSON field %s has the wrong type", dc->wrong);
    return OK;
}

static int read_multipart(pysb_req *x, const char *body, apr_size_t len, pysb_slice boundary)
{
    const char *err;
    pysb_mpart *parts = apr_palloc(x->r->pool, MAX_PARTS * sizeof *parts);
    int n = pysb_multipart_parse(body, len, boundary, parts, MAX_PARTS, &err);
    if (n < 0)
        return pysb_fail(x, HTTP_BAD_REQUEST, "%s", err);
    for (int i = 0; i < n; i++)
        if (!set_file_part(x, &parts[i]))
            set_field(x, parts[i].name.ptr, parts[i].name.len, parts[i].data.ptr,
                      parts[i].data.len);
    return x->status ? x->status : OK;
}

/* ---- what a refusal leaves of the body ---------------------------------- */

/* On an HTTP/2 stream, the rest of a request body that a refusal leaves
 * unread is read and dropped, up to DRAIN_MAX bytes, before the answer.
 * Over HTTP/1.1 httpd does that itself after the handler
 * (ap_discard_request_body), or closes the connection; on a stream it does
 * neither (mod_http2 marks every stream's connection AP_CONN_CLOSE, which
 * makes ap_discard_request_body a no-op), so the answer would end the
 * stream while the client is still sending, and mod_http2 then follows it
 * with RST_STREAM(NO_ERROR). That is correct HTTP/2 (RFC 9113 §8.1), but
 * clients that race their upload against the reset (curl 7.88 among them)
 * report a failed stream instead of the answer. A body larger than
 * DRAIN_MAX is left unread: then the reset is what the client gets. So is
 * a client still waiting for 100-continue: the answer tells it not to send.
 * The body is read below httpd's HTTP_IN filter, which would otherwise
 * answer a body over LimitRequestBody with its own 413 page. */
#define DRAIN_MAX (1024 * 1024)

void pysb_drain_body(pysb_req *x)
{
    request_rec *r = x->r;
    if (!r->connection->master || !ap_request_has_body(r) || x->body_read ||
        r->expecting_100)
        return;
    x->body_read = 1;
    ap_filter_t *from = r->input_filters;
    for (ap_filter_t *f = r->input_filters; f; f = f->next)
        if (f->frec == ap_http_input_filter_handle) {
            from = f->next;
            break;
        }
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_off_t total = 0;
    int eos = 0;
    while (from && !eos && total <= DRAIN_MAX) {
        apr_status_t rv = ap_get_brigade(from, bb, AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);
        if (rv != APR_SUCCESS)
            break;      /* the input ended badly: mod_http2 resets the stream */
        for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b))
            eos |= APR_BUCKET_IS_EOS(b);
        apr_off_t n = 0;
        apr_brigade_length(bb, 1, &n);
        total += n;
        apr_brigade_cleanup(bb);
    }
    apr_brigade_destroy(bb);
}

/* ---- the request -------------------------------------------------------- */

/* Media type of a Content-Type, lower-cased, parameters dropped. */
static char *media_type(apr_pool_t *p, const char *ct)
{
    char *t = apr_pstrdup(p, ct ? ct : "");
    char *semi = strchr(t, ';');
    if (semi)
        *semi = '\0';
    apr_collapse_spaces(t, t);
    ap_str_tolower(t);
    return t;
}

enum body_kind { BODY_NONE, BODY_FORM, BODY_JSON, BODY_MULTIPART, BODY_RAW };

static enum body_kind body_kind(const char *mt)
{
    if (!strcmp(mt, "application/x-www-form-urlencoded"))
        return BODY_FORM;
    if (!strcmp(mt, "application/json"))
        return BODY_JSON;
    if (!strcmp(mt, "multipart/form-data"))
        return BODY_MULTIPART;
    if (!strcmp(mt, "text/plain") || !strcmp(mt, "text/x-python") ||
        !strcmp(mt, "application/x-python") || !strcmp(mt, "text/x-script.python"))
        return BODY_RAW;
    return BODY_NONE;
}

/* Everything a request may carry, plus room for field names, as it
 * travels: %XX triples a byte, JSON's \u00XX makes six of it. The decoded
 * code and stdin are then held to their own limits. A Content-Length over
 * it (or over LimitRequestBody) is refused before a byte is read, with our
 * one-line answer; a body without one is held to cap as it is read, and
 * to LimitRequestBody by httpd's input filter, whose refusal
 * pysb_read_body answers as ours. */
static int body_cap(pysb_req *x, enum body_kind kind, apr_size_t *cap)
{
    request_rec *r = x->r;
    apr_size_t grow = kind == BODY_FORM ? 3 : kind == BODY_JSON ? 6 : 1;
    *cap = (apr_size_t)((x->e.loc.max_code + x->e.loc.max_stdin) * grow +
                        pysb_files_cap(&x->e.loc) + 65536);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared, limit = ap_get_limit_req_body(r);
    if (cl && ap_parse_strict_length(&declared, cl) &&
        ((apr_uint64_t)declared > *cap || (limit > 0 && declared > limit))) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return pysb_fail(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                         "request body of %s bytes is larger than this location accepts (%s)",
                         cl, limit > 0 && declared > limit ? "LimitRequestBody"
                                                           : "code, stdin and file sizes");
    }
    return OK;
}

static int read_all(pysb_req *x);

int pysb_read_request(pysb_req *x)
{
    int rc = read_all(x);
    /* A refused input file or argument, found while the rest was read. */
    return rc == OK && x->status ? x->status : rc;
}

static int read_all(pysb_req *x)
{
    request_rec *r = x->r;
    int rc;
    if (r->args && (rc = read_query(x, r->args)) != OK)
        return rc;
    if (r->method_number == M_GET)
        return OK;
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    enum body_kind kind = body_kind(media_type(r->pool, ct));
    apr_size_t cap;
    if ((rc = body_cap(x, kind, &cap)) != OK)
        return rc;
    if (kind == BODY_FORM || kind == BODY_JSON)
        return read_decoded(x, kind == BODY_FORM ? PYSB_BODY_FORM : PYSB_BODY_JSON, cap);
    if (kind == BODY_NONE) {
        if (!ct && !ap_request_has_body(r))
            return OK; /* a bare POST: fields only from the query */
        return pysb_fail(x, HTTP_UNSUPPORTED_MEDIA_TYPE,
                         "unsupported Content-Type %s (use application/x-www-form-urlencoded, "
                         "multipart/form-data, application/json, text/plain or text/x-python)",
                         ct ? ct : "(none)");
    }
    if (kind == BODY_RAW) {
        raw *rw = apr_pcalloc(r->pool, sizeof *rw);
        *rw = (raw){ { x, pysb_request_membuf(r) }, 0, (size_t)x->e.loc.max_code };
        if ((rc = pysb_read_body(x, cap, raw_chunk, rw)) != OK)
            return rc;
        if (rw->total > rw->keep)
            pysb_fields_set_oversize(&x->f, "code", 4, rw->total);
        else
            set_field(x, "code", 4, pysb_membuf_data(rw->w.m), rw->w.m->len);
        return OK;
    }
    pysb_slice boundary = { NULL, 0 };
    const char *err;
    if (pysb_multipart_boundary(ct, &boundary, &err) < 0)
        return pysb_fail(x, HTTP_BAD_REQUEST, "%s", err);
    whole *w = apr_pcalloc(r->pool, sizeof *w);
    *w = (whole){ x, pysb_request_membuf(r) };
    /* the declared size at once, rather than doublings */
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared;
    if (cl && ap_parse_strict_length(&declared, cl) && (apr_uint64_t)declared <= cap &&
        pysb_membuf_reserve(w->m, (size_t)declared) < 0)
        return out_of_memory(x);
    if ((rc = pysb_read_body(x, cap, whole_chunk, w)) != OK)
        return rc;
    return read_multipart(x, pysb_membuf_data(w->m), w->m->len, boundary);
}
