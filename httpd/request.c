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

#include <jansson.h>
#include <string.h>

#include "src/clock.h"
#include "src/form.h"
#include "src/multipart.h"

APLOG_USE_MODULE(pysandbox);

#define MAX_PARTS 32

pysb_req *pysb_req_new(request_rec *r)
{
    pysb_dir_conf *dc = ap_get_module_config(r->per_dir_config, &pysandbox_module);
    pysb_req *x = apr_pcalloc(r->pool, sizeof *x);
    x->r = r;
    pysb_effective_conf(r->pool, dc, &x->e);
    x->format = x->e.loc.default_format;
    pysb_fields_init(&x->f);
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

/* A name that is no field is noted (step_names refuses it, or not). */
static void set_field(pysb_req *x, const char *name, apr_size_t name_len,
                      const char *data, apr_size_t len)
{
    pysb_fields_set(&x->f, name, name_len, data, len);
}

/* ---- the encodings ----------------------------------------------------- */

/* The whole body, up to cap bytes. */
static int read_body(request_rec *r, apr_size_t cap, char **out, apr_size_t *out_len)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_size_t len = 0, alloc = 16384;
    char *buf = apr_palloc(r->pool, alloc + 1);
    int seen_eos = 0;
    do {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, "PYSB: reading the request body");
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
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
                return HTTP_BAD_REQUEST;
            }
            if (len + n > cap) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (len + n > alloc) {
                while (alloc < len + n)
                    alloc *= 2;
                char *nb = apr_palloc(r->pool, alloc + 1);
                memcpy(nb, buf, len);
                buf = nb;
            }
            memcpy(buf + len, data, n);
            len += n;
        }
        apr_brigade_cleanup(bb);
    } while (!seen_eos);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return OK;
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
        set_field(x, name, dn, val, dv);
    }
    return OK;
}

static int read_urlencoded(pysb_req *x, apr_size_t cap)
{
    request_rec *r = x->r;
    apr_array_header_t *pairs = NULL;
    int rc = ap_parse_form_data(r, NULL, &pairs, -1, cap);
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE)
        return pysb_fail(x, rc, "request body larger than this location accepts");
    if (rc != OK)
        return rc >= 400 && rc < 600 ? pysb_fail(x, rc, "malformed form body") : rc;
    for (int i = 0; pairs && i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_brigade_length(pair->value, 1, &len);
        apr_size_t size = (apr_size_t)len;
        char *buf = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, buf, &size);
        buf[size] = '\0';
        set_field(x, pair->name, strlen(pair->name), buf, size);
    }
    return OK;
}

/* A JSON value as field text: strings as they are, numbers (for the limits
 * only) as a form would send them: 0.5, not 5e-01. */
static int json_field(pysb_req *x, const char *key, json_t *v)
{
    if (!pysb_fields_known(key, strlen(key))) {
        set_field(x, key, strlen(key), "", 0);   /* no field: noted, whatever its type */
        return 0;
    }
    int numeric = pysb_fields_numeric(key, strlen(key));
    if (json_is_string(v)) {
        set_field(x, key, strlen(key), json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v) && numeric) {
        const char *s = apr_psprintf(x->r->pool, "%" APR_INT64_T_FMT,
                                     (apr_int64_t)json_integer_value(v));
        set_field(x, key, strlen(key), s, strlen(s));
    } else if (json_is_real(v) && numeric) {
        char *s = apr_palloc(x->r->pool, 128);
        pysb_fields_number_text(json_real_value(v), s, 128);
        set_field(x, key, strlen(key), s, strlen(s));
    } else if (!json_is_null(v)) {
        return -1;
    }
    return 0;
}

static apr_status_t json_release(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

static int read_json(pysb_req *x, const char *body, apr_size_t len)
{
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!o)
        return pysb_fail(x, HTTP_BAD_REQUEST, "invalid JSON at line %d: %s", jerr.line,
                         jerr.text);
    apr_pool_cleanup_register(x->r->pool, o, json_release, apr_pool_cleanup_null);
    if (!json_is_object(o))
        return pysb_fail(x, HTTP_BAD_REQUEST, "the JSON body must be an object");
    /* Every key is taken before a wrong type is refused: a format asked
     * for after it still shapes the refusal. */
    const char *key, *wrong = NULL;
    json_t *v;
    json_object_foreach(o, key, v)
        if (json_field(x, key, v) < 0 && !wrong)
            wrong = key;
    if (wrong)
        return pysb_fail(x, HTTP_BAD_REQUEST, "JSON field %s has the wrong type", wrong);
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
        set_field(x, parts[i].name.ptr, parts[i].name.len, parts[i].data.ptr,
                  parts[i].data.len);
    return OK;
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
 * one-line answer: past this point httpd's input filter answers
 * LimitRequestBody itself. */
static int body_cap(pysb_req *x, enum body_kind kind, apr_size_t *cap)
{
    request_rec *r = x->r;
    apr_size_t grow = kind == BODY_FORM ? 3 : kind == BODY_JSON ? 6 : 1;
    *cap = (apr_size_t)((x->e.loc.max_code + x->e.loc.max_stdin) * grow + 65536);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared, limit = ap_get_limit_req_body(r);
    if (cl && ap_parse_strict_length(&declared, cl) &&
        ((apr_uint64_t)declared > *cap || (limit > 0 && declared > limit))) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return pysb_fail(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                         "request body of %s bytes is larger than this location accepts (%s)",
                         cl, limit > 0 && declared > limit ? "LimitRequestBody"
                                                           : "code and stdin sizes");
    }
    return OK;
}

int pysb_read_request(pysb_req *x)
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
    if (kind == BODY_FORM) {
        rc = read_urlencoded(x, cap);
        x->body_read = rc == OK;
        return rc;
    }
    if (kind == BODY_NONE) {
        if (!ct && !ap_request_has_body(r))
            return OK; /* a bare POST: fields only from the query */
        return pysb_fail(x, HTTP_UNSUPPORTED_MEDIA_TYPE,
                         "unsupported Content-Type %s (use application/x-www-form-urlencoded, "
                         "multipart/form-data, application/json or text/x-python)",
                         ct ? ct : "(none)");
    }
    pysb_slice boundary = { NULL, 0 };
    const char *err;
    if (kind == BODY_MULTIPART && pysb_multipart_boundary(ct, &boundary, &err) < 0)
        return pysb_fail(x, HTTP_BAD_REQUEST, "%s", err);
    char *body = NULL;
    apr_size_t len = 0;
    rc = read_body(r, cap, &body, &len);
    x->body_read = rc == OK;
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE)
        return pysb_fail(x, rc, "request body larger than this location accepts");
    if (rc != OK)
        return rc; /* the input filters answered already (LimitRequestBody) */
    if (kind == BODY_RAW) {
        set_field(x, "code", 4, body, len);
        return OK;
    }
    return kind == BODY_JSON ? read_json(x, body, len) : read_multipart(x, body, len, boundary);
}
