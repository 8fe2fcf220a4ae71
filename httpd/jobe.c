/* jobe.c — SetHandler pysandbox-jobe: routes, the API key, the file cache's
 * PUT and HEAD, runs and languages through the module's run path.
 *
 * Contract: see jobe.h. */
#include "httpd/jobe.h"

#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_md5.h"
#include "apr_strings.h"
#include "unixd.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "httpd/conf.h"
#include "httpd/jobe_version.h"
#include "httpd/relay.h"
#include "httpd/request.h"
#include "src/bodydec.h"
#include "src/jobe.h"
#include "src/jobecache.h"
#include "src/scratch.h"

APLOG_USE_MODULE(pysandbox);

/* The largest file the cache takes (and a run pulls in), within its size. */
#define FILE_MAX (16u << 20)

/* ---- answers ------------------------------------------------------------ */

/* status with body (malloc'd, freed here; NULL: none) as Jobe's JSON.
 * Returns DONE: every step that answers returns DONE, anything else is
 * httpd's status to answer with. A body not read yet is drained first (an
 * HTTP/2 stream's answer must not race its reset). */
static int reply(pysb_req *x, int status, char *body, size_t len)
{
    request_rec *r = x->r;
    if (!x->body_read)
        pysb_drain_body(x);
    r->status = status;
    if (body) {
        ap_set_content_type(r, "application/json; charset=UTF-8");
        if (!r->header_only)
            ap_rwrite(body, (int)len, r);
        free(body);
    }
    return DONE;
}

/* A refusal: its text as a JSON string, logged at info (error for 5xx). */
static int refuse(pysb_req *x, int status, const char *text)
{
    size_t len;
    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_INFO, 0, x->r, "PYSB: jobe: %d %s",
                  status, text);
    apr_table_setn(x->r->notes, "pysandbox-status", status >= 500 ? "unavailable" : "refused");
    char *body = pysb_jobe_string(text, &len);
    return body ? reply(x, status, body, len) : HTTP_INTERNAL_SERVER_ERROR;
}

/* What a step recorded with pysb_fail, or httpd's own status. */
static int refuse_recorded(pysb_req *x, int rc)
{
    return x->why ? refuse(x, x->status, x->why) : rc;
}

/* No such route (or method): 404 with "" as Jobe. */
static int no_route(pysb_req *x)
{
    apr_table_setn(x->r->notes, "pysandbox-status", "refused");
    return reply(x, HTTP_NOT_FOUND, strdup("\"\""), 2);
}

/* ---- the API key ---------------------------------------------------------- */

/* Equal strings, in time that does not depend on where they differ. */
static int same_key(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
    return d == 0;
}

/* 1 when the request lacks a key it needs: the 403 is written. */
static int key_refused(pysb_req *x)
{
    const char *const *keys = x->e.jobe_keys;
    if (!keys)
        return 0;
    const char *given = apr_table_get(x->r->headers_in, "X-API-KEY");
    if (!given)
        return refuse(x, HTTP_FORBIDDEN, "Missing API key"), 1;
    int ok = 0;
    for (size_t i = 0; keys[i]; i++)
        ok |= same_key(given, keys[i]);
    return ok ? 0 : (refuse(x, HTTP_FORBIDDEN, "Unknown API key"), 1);
}

/* ---- bodies ----------------------------------------------------------------- */

/* What a body is read into: a buffer, or a decoder; bytes seen. */
typedef struct {
    pysb_req     *x;
    pysb_membuf  *m;
    pysb_bodydec *d;
    size_t        got;
} body_ctx;

static int keep_chunk(void *ctx, const char *p, size_t n)
{
    body_ctx *b = ctx;
    if (pysb_membuf_append(b->m, p, n) == 0)
        return OK;
    return pysb_fail(b->x, HTTP_INTERNAL_SERVER_ERROR, "Server exception (out of memory)");
}

/* The whole body, up to cap bytes, into a buffer of the request's. */
static int read_whole(pysb_req *x, apr_size_t cap, pysb_membuf **out)
{
    body_ctx b = { .x = x, .m = pysb_request_membuf(x->r) };
    *out = b.m;
    return pysb_read_body(x, cap, keep_chunk, &b);
}

/* ---- files ------------------------------------------------------------------ */

/* The largest file the Location's cache takes: its size in whole blocks
 * (what a file costs there, src/jobecache.h), at most FILE_MAX. */
static apr_size_t file_max(const pysb_req *x)
{
    uint64_t fits = x->e.jobe_cache_size / PYSB_JOBE_CACHE_BLOCK * PYSB_JOBE_CACHE_BLOCK;
    return fits < FILE_MAX ? (apr_size_t)fits : FILE_MAX;
}

typedef struct {
    pysb_req   *x;
    apr_size_t  cap;
    const char *contents;
    size_t      len, over;
    int         is_string, seen;
} put_body;

static size_t put_cap(void *ctx, const char *name, size_t len)
{
    put_body *pb = ctx;
    return len == strlen("file_contents") && !memcmp(name, "file_contents", len) ? pb->cap : 0;
}

static void put_field(void *ctx, const char *name, size_t name_len, pysb_value_kind kind,
                      const char *value, size_t len, size_t over)
{
    put_body *pb = ctx;
    if (put_cap(ctx, name, name_len) == 0)
        return;
    pb->seen = 1;
    pb->is_string = kind == PYSB_VAL_STRING;
    pb->contents = value;
    pb->len = len;
    pb->over = over;
}

static int put_chunk(void *ctx, const char *p, size_t n)
{
    body_ctx *b = ctx;
    int rc = pysb_bodydec_feed(b->d, p, n);
    b->got += n;
    return rc ? pysb_fail(b->x, rc, "put: %s", pysb_bodydec_error(b->d)) : OK;
}

static apr_status_t bodydec_cleanup(void *data)
{
    pysb_bodydec_free(data);
    return APR_SUCCESS;
}

/* CodeRunner names a file by the MD5 of its contents and PUTs it only
 * after a HEAD said it is not cached; every later run of every question
 * using that file then trusts what the cache holds under the name. An id
 * that is an MD5 (32 hex digits) must then be the MD5 of what is put, so
 * that no caller can replace a teacher's grading helper under its name
 * (attack-jobe F8; Jobe itself takes any contents). Other ids (Jobe's
 * test client uses names like "randomid0129798") are taken as they are. */
static int md5_matches(const char *id, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (strlen(id) != 2 * APR_MD5_DIGESTSIZE || strspn(id, "0123456789abcdefABCDEF") != strlen(id))
        return 1;
    unsigned char d[APR_MD5_DIGESTSIZE];
    if (apr_md5(d, data, len) != APR_SUCCESS)
        return 0;
    for (size_t i = 0; i < APR_MD5_DIGESTSIZE; i++)
        if (tolower((unsigned char)id[2 * i]) != hex[d[i] >> 4] ||
            tolower((unsigned char)id[2 * i + 1]) != hex[d[i] & 15])
            return 0;
    return 1;
}

static int put_file(pysb_req *x, const char *id)
{
    request_rec *r = x->r;
    char size[32];
    if (!x->e.jobe_cache)
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR,
                      apr_psprintf(r->pool, "put: failed to write file %s to cache "
                                   "(no PySandboxJobeFileCache here)", id));
    put_body pb = { .x = x, .cap = file_max(x) / 3 * 4 + file_max(x) / 16 + 64 };
    const pysb_body_sink sink = { put_cap, put_field, &pb };
    pysb_bodydec *d = pysb_bodydec_new(PYSB_BODY_JSON, &sink, 64, 4);
    if (!d)
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR, "put: out of memory");
    apr_pool_cleanup_register(r->pool, d, bodydec_cleanup, apr_pool_cleanup_null);
    body_ctx b = { .x = x, .d = d };
    int rc = pysb_read_body(x, pb.cap + 4096, put_chunk, &b);
    if (rc == OK && b.got && (rc = pysb_bodydec_end(d)) != 0)
        pysb_fail(x, rc, "put: %s", pysb_bodydec_error(d));
    pysb_format_size(file_max(x), size, sizeof size);
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE || pb.over)
        return refuse(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                      apr_psprintf(r->pool, "put: file %s is larger than this server's file "
                                   "cache takes (%s)", id, size));
    if (rc != OK)
        return refuse_recorded(x, rc);
    if (!pb.seen || !pb.is_string)
        return refuse(x, HTTP_BAD_REQUEST, "put: missing file_contents parameter");
    unsigned char *data = apr_palloc(r->pool, pb.len / 4 * 3 + 4);
    long n = pysb_jobe_base64(pb.contents, pb.len, data);
    if (n < 0)
        return refuse(x, HTTP_BAD_REQUEST,
                      apr_psprintf(r->pool, "put: contents of file %s are not valid base-64", id));
    if ((apr_size_t)n > file_max(x))
        return refuse(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                      apr_psprintf(r->pool, "put: file %s is larger than this server's file "
                                   "cache takes (%s)", id, size));
    if (!md5_matches(id, data, (size_t)n))
        return refuse(x, HTTP_BAD_REQUEST,
                      apr_psprintf(r->pool, "put: file %s is named by an MD5 that is not the "
                                   "MD5 of its contents", id));
    if (pysb_jobe_cache_put(x->e.jobe_cache, x->e.jobe_cache_size, id, data, (size_t)n) < 0) {
        if (errno == EFBIG)
            return refuse(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                          apr_psprintf(r->pool, "put: file %s is larger than this server's file "
                                       "cache takes (%s)", id, size));
        if (errno == EBUSY) {
            apr_table_setn(r->err_headers_out, "Retry-After", "1");
            return refuse(x, HTTP_SERVICE_UNAVAILABLE,
                          apr_psprintf(r->pool, "put: the file cache is busy, retry file %s "
                                       "shortly", id));
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r,
                      "PYSB: jobe: writing %s/%s", x->e.jobe_cache, id);
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR,
                      apr_psprintf(r->pool, "put: failed to write file %s to cache", id));
    }
    apr_table_setn(r->notes, "pysandbox-status", "stored");
    return reply(x, HTTP_NO_CONTENT, NULL, 0);
}

static int head_file(pysb_req *x, const char *id)
{
    int hit = x->e.jobe_cache && pysb_jobe_cache_has(x->e.jobe_cache, id);
    apr_table_setn(x->r->notes, "pysandbox-status", hit ? "cached" : "not-cached");
    return reply(x, hit ? HTTP_NO_CONTENT : HTTP_NOT_FOUND, NULL, 0);
}

/* The files of a run cost a worker nothing until it holds a run slot: a
 * small POST naming big cached files (or one file many times) must not
 * make every waiting request hold them (attack-jobe F2). So before the
 * slot they are only looked at (each noted as used; Jobe's 404 when one is
 * not there, 413 when they add up to too much), and read once the slot is
 * held, each id once however often the list names it. */
#define MISSING_FILES "One or more of the specified files is missing/unavailable"

/* The 413 of files over PYSB_JOBE_FILES_MAX together, recorded. */
static int files_too_large(pysb_req *x)
{
    char sz[32];
    pysb_format_size(PYSB_JOBE_FILES_MAX, sz, sizeof sz);
    return pysb_fail(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                     "file_list: the files of a run may add up to %s at most", sz);
}

/* OK, or a refusal recorded with pysb_fail, as load_program's. */
static int check_files(pysb_req *x, const pysb_jobe_run *run)
{
    uint64_t total = 0, size;
    /* The program writes the source beside them. */
    uint64_t pages = pysb_scratch_file_pages(run->source_len);
    char sz[32];
    for (size_t i = 0; i < run->nfiles; i++) {
        const pysb_jobe_file *f = &run->files[i];
        if (!x->e.jobe_cache || pysb_jobe_cache_stat(x->e.jobe_cache, f->id, &size) < 0)
            return pysb_fail(x, HTTP_NOT_FOUND, MISSING_FILES);
        pages += pysb_scratch_file_pages(size);
        if ((total += size) > PYSB_JOBE_FILES_MAX)
            return files_too_large(x);
    }
    /* Files that cannot be written would end as the program's ENOSPC:
     * an outcome 20 with nothing said (attack3). */
    if (run->nfiles && run->limits.scratch_bytes &&
        !pysb_scratch_files_fit(run->limits.scratch_bytes, run->nfiles + 1, pages)) {
        pysb_format_size(run->limits.scratch_bytes, sz, sizeof sz);
        return pysb_fail(x, HTTP_REQUEST_ENTITY_TOO_LARGE, "file_list: the files of this run "
                         "and its source do not fit its scratch directory (%s)", sz);
    }
    return OK;
}

typedef struct {
    pysb_jobe_run *run;
    char          *program;     /* malloc'd, freed with the request */
} slot_work;

/* relay's on_slot: the files read and the program made (x->run.code). A
 * file evicted since check_files: Jobe's 404, and the slot goes back. */
static int load_program(pysb_req *x, void *ctx)
{
    slot_work *w = ctx;
    pysb_jobe_run *run = w->run;
    size_t total = 0;
    for (size_t i = 0; i < run->nfiles; i++) {
        pysb_jobe_file *f = &run->files[i];
        size_t j = 0;
        while (j < i && strcmp(run->files[j].id, f->id))
            j++;
        if (j < i) {
            f->data = run->files[j].data;
            f->len = run->files[j].len;
        } else {
            pysb_membuf *m = pysb_request_membuf(x->r);
            if (pysb_jobe_cache_read(x->e.jobe_cache, f->id, FILE_MAX, m) < 0) {
                if (errno != ENOENT)
                    ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), x->r,
                                  "PYSB: jobe: reading %s/%s", x->e.jobe_cache, f->id);
                return pysb_fail(x, HTTP_NOT_FOUND, MISSING_FILES);
            }
            f->data = pysb_membuf_data(m);
            f->len = m->len;
        }
        /* A file that grew since it was looked at. */
        if ((total += f->len) > PYSB_JOBE_FILES_MAX)
            return files_too_large(x);
    }
    size_t len;
    w->program = pysb_jobe_program(run, &len);
    if (!w->program)    /* post_run says "Server exception (…)" around it */
        return pysb_fail(x, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    x->run.code = w->program;
    x->run.code_len = len;
    return OK;
}

/* ---- runs --------------------------------------------------------------------- */

/* A collected run of code with stdin: OK with c filled, or a refusal's
 * status with x->status and x->why set (503 when no slot). */
static int run_code(pysb_req *x, const char *code, size_t code_len, const char *in,
                    size_t in_len, const pysb_limits *limits, pysb_collected *c)
{
    x->run.limits = *limits;
    x->run.code = code;
    x->run.code_len = code_len;
    x->run.stdin_data = in;
    x->run.stdin_len = in_len;
    return pysb_relay_collect(x, c);
}

static apr_status_t run_free(void *data)
{
    pysb_jobe_run_free(data);
    return APR_SUCCESS;
}

static apr_status_t slot_work_cleanup(void *data)
{
    slot_work *w = data;
    free(w->program);
    return APR_SUCCESS;
}

/* The run's files need a scratch directory to be written to: on a
 * Location without one, outcome 20 at once, with no run slot taken. */
static int no_scratch(pysb_req *x)
{
    pysb_result res = { .status = PYSB_INTERNAL_ERROR };
    size_t len;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, x->r, "PYSB: jobe: outcome 20: its file_list needs "
                  "a run scratch directory (PySandboxScratch)");
    apr_table_setn(x->r->notes, "pysandbox-status", "internal_error");
    char *out = pysb_jobe_result(&res, "", 0, "", 0, &len);
    return out ? reply(x, HTTP_OK, out, len) : HTTP_INTERNAL_SERVER_ERROR;
}

static int post_run(pysb_req *x)
{
    request_rec *r = x->r;
    const pysb_location *loc = &x->e.loc;
    pysb_membuf *body;
    /* JSON may spell a byte in six (\u0000): room for the largest code
     * and stdin, and the rest of a run_spec. */
    int rc = read_whole(x, 6 * (loc->max_code + loc->max_stdin) + 65536, &body);
    if (rc != OK)
        return refuse_recorded(x, rc);
    pysb_jobe_run *run = apr_pcalloc(r->pool, sizeof *run);
    char why[1024];
    rc = pysb_jobe_parse_run(pysb_membuf_data(body), body->len, loc, run, why, sizeof why);
    apr_pool_cleanup_register(r->pool, run, run_free, apr_pool_cleanup_null);
    if (rc)
        return refuse(x, rc, why);
    if ((rc = check_files(x, run)) != OK)
        return refuse_recorded(x, rc);
    if (run->nfiles && run->limits.scratch_bytes == 0)
        return no_scratch(x);
    slot_work *w = apr_pcalloc(r->pool, sizeof *w);
    w->run = run;
    apr_pool_cleanup_register(r->pool, w, slot_work_cleanup, apr_pool_cleanup_null);
    pysb_collected *c = apr_pcalloc(r->pool, sizeof *c);
    c->on_slot = load_program;
    c->on_slot_ctx = w;
    rc = run_code(x, NULL, 0, run->input, run->input_len, &run->limits, c);
    char *out;
    size_t len;
    if (rc == HTTP_NOT_FOUND || rc == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return refuse_recorded(x, rc);  /* load_program's */
    } else if (rc == HTTP_SERVICE_UNAVAILABLE || rc == HTTP_TOO_MANY_REQUESTS) {
        /* Jobe's overload: 200 with outcome 21, so CodeRunner says so. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PYSB: jobe: outcome 21: %s", x->why);
        apr_table_unset(r->err_headers_out, "Retry-After");
        apr_table_setn(r->notes, "pysandbox-status", "overload");
        out = pysb_jobe_overload(&len);
    } else if (rc != OK) {
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR,
                      apr_psprintf(r->pool, "Server exception (%s)", x->why ? x->why : "no run"));
    } else {
        const char *o = pysb_membuf_data(&c->out), *e = pysb_membuf_data(&c->err);
        if (pysb_jobe_outcome(&c->res, o, c->out.len, e, c->err.len) == PYSB_JOBE_INTERNAL_ERROR)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: jobe: run %s: outcome 20: %s",
                          x->run_id, c->res.status == PYSB_INTERNAL_ERROR ? c->res.error
                          : "the run's program did not report (see its stderr)");
        out = pysb_jobe_result(&c->res, o, c->out.len, e, c->err.len, &len);
    }
    if (!out)
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR, "Server exception (out of memory)");
    return reply(x, HTTP_OK, out, len);
}

/* ---- languages ------------------------------------------------------------------ */

/* The interpreter's version: the parent's (httpd/jobe_version.h), or
 * learnt by a run once per process; when that finds no slot either, 503
 * (retry), never a "[]" that says there is no Python here. */
static int interpreter_version(pysb_req *x, char *buf, size_t len)
{
    if (pysb_jobe_recall_version(x->e.argv[0], buf, len))
        return 1;
    pysb_collected *c = apr_pcalloc(x->r->pool, sizeof *c);
    if (run_code(x, PYSB_JOBE_VERSION_CODE, sizeof PYSB_JOBE_VERSION_CODE - 1, NULL, 0, &x->e.loc.def, c) != OK ||
        c->res.status != PYSB_OK || c->out.len < 2 || c->out.len >= len)
        return 0;
    apr_cpystrn(buf, pysb_membuf_data(&c->out), c->out.len);    /* without the \n */
    if (!pysb_jobe_version_ok(buf))
        return 0;
    pysb_jobe_remember_version(x->e.argv[0], buf);
    return 1;
}

static int get_languages(pysb_req *x)
{
    char v[32];
    size_t len;
    if (!interpreter_version(x, v, sizeof v)) {
        const char *why = x->why ? x->why : "its run failed";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, x->r,
                      "PYSB: jobe: the version of %s could not be learnt: %s", x->e.argv[0], why);
        apr_table_setn(x->r->err_headers_out, "Retry-After", "1");
        return refuse(x, HTTP_SERVICE_UNAVAILABLE,
                      apr_psprintf(x->r->pool, "Server exception (the version of %s could not "
                                   "be learnt: %s)", x->e.argv[0], why));
    }
    char *body = pysb_jobe_languages(v, &len);
    apr_table_setn(x->r->notes, "pysandbox-status", "languages");
    return body ? reply(x, HTTP_OK, body, len) : HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- the handler ---------------------------------------------------------------- */

int pysb_jobe_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "pysandbox-jobe"))
        return DECLINED;
    pysb_req *x = pysb_req_new(r);
    char id[PYSB_JOBE_ID_MAX + 1];
    pysb_jobe_route route = pysb_jobe_route_of(r->uri, id);
    int m = r->method_number, head = m == M_GET && r->header_only;
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_PUT);
    int ok = (route == PYSB_JOBE_LANGUAGES && m == M_GET && !head) ||
             (route == PYSB_JOBE_RUNS && m == M_POST) ||
             (route == PYSB_JOBE_FILE && (m == M_PUT || head));
    if (!ok)
        return no_route(x), OK;
    int rc = DONE;
    if (!key_refused(x))
        rc = route == PYSB_JOBE_LANGUAGES ? get_languages(x)
             : route == PYSB_JOBE_RUNS    ? post_run(x)
             : head                       ? head_file(x, id)
                                          : put_file(x, id);
    return rc == DONE ? OK : rc;
}

int pysb_jobe_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    (void)plog;
    (void)pconf;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;  /* the first pass only checks the configuration */
    pysb_jobe_learn_versions(ptemp, s);
    const char **dirs = pysb_jobe_cache_dirs(ptemp);
    for (size_t i = 0; dirs[i]; i++) {
        char err[512];
        if (pysb_jobe_cache_prepare(dirs[i], ap_unixd_config.user_id, ap_unixd_config.group_id,
                                    err, sizeof err) < 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PYSB: PySandboxJobeFileCache: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

void pysb_jobe_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    if (mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "PYSB: mallopt(M_MMAP_THRESHOLD) failed: large request bodies may "
                     "leave workers larger");
}
