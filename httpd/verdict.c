/* verdict.c — the verdict as trailers and late headers.
 *
 * Contract: see verdict.h. The HTTP/1.1 filter sits right after httpd's
 * chunk filter (AP_FTYPE_TRANSCODE + 1, among the request's protocol
 * filters) and rewrites only the bucket that filter puts right before EOS
 * when it is exactly the last chunk, "0" CRLF CRLF: into "0" CRLF, one
 * line per trailer, CRLF. A chunk filter that writes trailers itself
 * (httpd trunk's) leaves something else there, and this one then does
 * nothing.
 *
 * The Trailer header is set by a second filter, just before httpd's
 * protocol filters (CONTENT_LENGTH, HTTP_HEADER), from the response's
 * first brigade: that is where the framing is settled, and no hook runs
 * between HTTP_HEADER choosing it and writing the headers. */
#include "httpd/verdict.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"
#include "apr_strings.h"

#include <string.h>

#include "src/render.h"

APLOG_USE_MODULE(pysandbox);

#define LAST_CHUNK "0\r\n\r\n"

static ap_filter_rec_t *trailers_filter_handle;
static ap_filter_rec_t *announce_filter_handle;

typedef struct {
    apr_pool_t *p;
    char       *text;
} lines;

static int add_line(void *ctx, const char *name, const char *value)
{
    lines *l = ctx;
    l->text = apr_pstrcat(l->p, l->text, name, ": ", value, "\r\n", NULL);
    return 1;
}

/* 1 when b is exactly the chunk filter's last chunk without trailers. */
static int is_bare_last_chunk(apr_bucket *b)
{
    const char *data;
    apr_size_t len;
    return b->length == sizeof LAST_CHUNK - 1 &&
           apr_bucket_read(b, &data, &len, APR_BLOCK_READ) == APR_SUCCESS &&
           len == sizeof LAST_CHUNK - 1 && !memcmp(data, LAST_CHUNK, len);
}

static apr_status_t trailers_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    if (!r->chunked) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    for (apr_bucket *e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (!APR_BUCKET_IS_EOS(e))
            continue;
        apr_bucket *last = APR_BUCKET_PREV(e);
        if (last != APR_BRIGADE_SENTINEL(bb) && !apr_is_empty_table(r->trailers_out) &&
            is_bare_last_chunk(last)) {
            lines l = { r->pool, "0\r\n" };
            apr_table_do(add_line, &l, r->trailers_out, NULL);
            l.text = apr_pstrcat(r->pool, l.text, "\r\n", NULL);
            apr_bucket *t = apr_bucket_pool_create(l.text, strlen(l.text), r->pool,
                                                   f->c->bucket_alloc);
            APR_BUCKET_INSERT_BEFORE(last, t);
            apr_bucket_delete(last);
        }
        ap_remove_output_filter(f);
        break;
    }
    return ap_pass_brigade(f->next, bb);
}

/* 1 when the response whose first brigade is bb will carry trailers. A
 * brigade that holds the whole response (EOS, no flush that splits it)
 * gets a Content-Length from httpd's CONTENT_LENGTH filter, and then no
 * trailers go, over HTTP/1.1 or HTTP/2. Otherwise HTTP/2 sends them;
 * HTTP/1.x chunks, and so can carry them, exactly when ap_set_keepalive
 * (in HTTP_HEADER, next) sets r->chunked: HTTP/1.1, a connection not
 * marked to close, no 100-continue pending, a response with a body. */
static int carries_trailers(request_rec *r, apr_bucket_brigade *bb)
{
    for (apr_bucket *e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_EOS(e))
            return 0;
        if (APR_BUCKET_IS_FLUSH(e) && APR_BUCKET_NEXT(e) != APR_BRIGADE_SENTINEL(bb) &&
            !APR_BUCKET_IS_EOS(APR_BUCKET_NEXT(e)))
            break;      /* passed on here, before the end is known */
    }
    if (r->connection->master)
        return 1;
    return r->proto_num >= HTTP_VERSION(1, 1) && r->connection->keepalive != AP_CONN_CLOSE &&
           !r->expecting_100 && !r->header_only && !AP_STATUS_IS_HEADER_ONLY(r->status) &&
           !apr_table_get(r->headers_out, "Content-Length") &&
           !apr_table_get(r->headers_out, "Transfer-Encoding");
}

/* The first brigade: announce the trailers, or make sure none go. */
static apr_status_t announce_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    if (carries_trailers(r, bb))
        apr_table_setn(r->headers_out, "Trailer", PYSB_VERDICT_FIELD_NAMES);
    else
        apr_table_clear(r->trailers_out);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void pysb_verdict_register(void)
{
    trailers_filter_handle = ap_register_output_filter("PYSB_TRAILERS", trailers_filter, NULL,
                                                       AP_FTYPE_TRANSCODE + 1);
    announce_filter_handle = ap_register_output_filter("PYSB_TRAILER_ANNOUNCE",
                                                       announce_filter, NULL,
                                                       AP_FTYPE_PROTOCOL - 1);
}

void pysb_verdict_open(request_rec *r)
{
    ap_add_output_filter_handle(announce_filter_handle, NULL, r, r->connection);
    if (!r->connection->master && r->proto_num >= HTTP_VERSION(1, 1))
        ap_add_output_filter_handle(trailers_filter_handle, NULL, r, r->connection);
}

void pysb_verdict_set(request_rec *r, const pysb_result *res)
{
    pysb_verdict_field v[PYSB_VERDICT_FIELDS];
    int n = pysb_render_verdict_fields(res, v);
    /* Nothing sent yet: the headers can say it as well. */
    int early = !r->sent_bodyct;
    for (int i = 0; i < n; i++) {
        const char *value = apr_pstrdup(r->pool, v[i].value);
        apr_table_setn(r->trailers_out, v[i].name, value);
        if (early)
            apr_table_setn(r->headers_out, v[i].name, value);
    }
}
