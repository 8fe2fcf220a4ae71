/* mod_pysandbox.c — the module record, its hooks, and the handler that
 * turns a request into a run and the run into a response (DESIGN §2, §4).
 *
 * Contract: the handler is a list of steps; each returns OK to go on, DONE
 * when the response is complete, or the HTTP status to finish with. A
 * refusal is recorded by the step that finds it (pysb_fail: status and a
 * one-line reason) and written here, in one place, in the format the
 * request asked for once that is known: the reason as text, or
 * {"error":…,"status":N} for the JSON-ish formats; 503 comes with
 * Retry-After. A run that happened is 200 whatever its verdict; 500 only
 * for a genuine internal failure. Every refusal is logged with a PYSB tag
 * (info for the client's mistakes, error for the server's). The jobs of
 * the glue live in httpd/: conf (directives), parent (the launcher's
 * life), request (fields from every encoding), relay (the run and its
 * response). */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include <stdlib.h>
#include <string.h>

#include "httpd/conf.h"
#include "httpd/jobe.h"
#include "httpd/parent.h"
#include "httpd/ratelog.h"
#include "httpd/workercount.h"
#include "httpd/relay.h"
#include "httpd/request.h"
#include "httpd/status.h"
#include "httpd/verdict.h"
#include "src/fields.h"
#include "src/render.h"
#include "src/scratch.h"

APLOG_USE_MODULE(pysandbox);

/* POST always; GET for ?info=1 and, with PySandboxAllowGet, runs. HEAD,
 * which httpd hands over as M_GET with header_only, is refused like any
 * other method: answering it as the GET would means running the program,
 * and a link checker or crawler that probes a URL must not start runs. */
static int step_method(pysb_req *x)
{
    request_rec *r = x->r;
    int allow_get = x->e.loc.allow_get;
    r->allowed = (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_GET);
    if (r->method_number == M_POST || (r->method_number == M_GET && !r->header_only))
        return OK;
    apr_table_setn(r->err_headers_out, "Allow", allow_get ? "GET, POST" : "POST, GET");
    return pysb_fail(x, HTTP_METHOD_NOT_ALLOWED, "method %s not allowed (use POST%s)%s",
                     r->method, allow_get ? " or GET" : "",
                     r->header_only ? ": HEAD would start a run" : "");
}

/* The response format: the field, Accept, the Location's default. */
static int step_format(pysb_req *x)
{
    char why[128];
    const char *accept = apr_table_get(x->r->headers_in, "Accept");
    int rc = pysb_fields_format(&x->f, &x->e.loc, accept, &x->format, why, sizeof why);
    x->format_set = 1;
    return rc ? pysb_fail(x, rc, "%s", why) : OK;
}

/* Every name a field (in whatever encoding), unless the Location ignores
 * the others (PySandboxUnknownFields ignore). */
static int step_names(pysb_req *x)
{
    char why[256];
    int rc = pysb_fields_names(&x->f, &x->e.loc, why, sizeof why);
    return rc ? pysb_fail(x, rc, "%s", why) : OK;
}

/* A GET: the Location's description (?info=1), or a run if allowed. */
static int step_get(pysb_req *x)
{
    request_rec *r = x->r;
    if (r->method_number != M_GET)
        return OK;
    if (pysb_fields_wants_info(&x->f, apr_table_get(r->headers_in, "Accept"))) {
        char *j = pysb_location_info(&x->e.loc);
        if (!j)
            return HTTP_INTERNAL_SERVER_ERROR;
        ap_set_content_type(r, "application/json");
        apr_table_setn(r->notes, "pysandbox-status", "info");
        ap_rvputs(r, j, "\n", NULL);
        free(j);
        return DONE;
    }
    if (x->e.loc.allow_get)
        return OK;
    apr_table_setn(r->err_headers_out, "Allow", "POST");
    return pysb_fail(x, HTTP_METHOD_NOT_ALLOWED,
                     "GET runs are off here (PySandboxAllowGet); use POST");
}

/* The fields as a run within the Location's bounds. */
static int step_check(pysb_req *x)
{
    char why[512];
    int rc = pysb_fields_request(&x->f, &x->e.loc, &x->run, why, sizeof why);
    if (rc)
        return pysb_fail(x, rc, "%s", why);
    if (x->in.n_files > 0 && x->run.limits.scratch_bytes == 0)
        return pysb_fail(x, HTTP_BAD_REQUEST, "input files need a scratch directory, and this "
                                              "location has none (PySandboxScratch 0)");
    apr_uint64_t total = 0, pages = 0;
    for (size_t i = 0; i < x->in.n_files; i++) {
        total += x->in.files[i].len;
        pages += pysb_scratch_file_pages(x->in.files[i].len);
    }
    if (!pysb_scratch_files_fit(x->run.limits.scratch_bytes, x->in.n_files, pages))
        return pysb_fail(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                         "input files (%" APR_SIZE_T_FMT " of them, %" APR_UINT64_T_FMT " bytes, %"
                         APR_UINT64_T_FMT " in the tmpfs's 4K pages) are larger than the "
                         "scratch directory (%" APR_UINT64_T_FMT " bytes, %" APR_UINT64_T_FMT
                         " inodes with its own 3)",
                         (apr_size_t)x->in.n_files, total, pages, (apr_uint64_t)x->run.limits.scratch_bytes,
                         (apr_uint64_t)pysb_scratch_inodes(x->run.limits.scratch_bytes));
    return OK;
}

static pysb_ratelog unavailable_log =
    PYSB_RATELOG_INIT("requests refused with 503", "a request refused with 503");

static int (*const steps[])(pysb_req *) = {
    step_method,
    pysb_read_request,      /* httpd/request.c */
    step_format,
    step_names,
    step_get,
    step_check,
    pysb_relay_run,         /* httpd/relay.c */
};

/* The one place a refusal is written: its status, a one-line body in the
 * request's format, the access-log note, an error-log line. A refusal
 * found before the format was chosen (while the body was read: bad JSON, a
 * field of the wrong type, a body too large) still answers in the format
 * the fields read so far, or Accept, ask for. A 503 is the service being
 * full or restarting, not a fault: info (a 429 too), with a warning at
 * most once a minute: server-wide by the launcher for those it made,
 * per process that counts them (httpd/ratelog) for the rest. */
static int write_refusal(pysb_req *x)
{
    request_rec *r = x->r;
    int status = x->status;
    if (!x->format_set) {
        char why[128];
        pysb_fields_format(&x->f, &x->e.loc, apr_table_get(r->headers_in, "Accept"),
                           &x->format, why, sizeof why);
    }
    ap_log_rerror(APLOG_MARK, status >= 500 && status != HTTP_SERVICE_UNAVAILABLE
                                  ? APLOG_ERR : APLOG_INFO, 0, r,
                  "PYSB: %d %s", status, x->why);
    /* The launcher summarises its own refusals (a full queue, a wait run
     * out: the relay noted the wait), server-wide; this process those it
     * made alone (no launcher to ask). */
    if (status == HTTP_SERVICE_UNAVAILABLE && !apr_table_get(r->notes, "pysandbox-queue-ms")) {
        pysb_ratelog_hit(&unavailable_log, r, x->why);
        pysb_workercount_unavailable();
    }
    r->status = status;
    apr_table_setn(r->notes, "pysandbox-status", status >= 500 ? "unavailable" : "refused");
    pysb_drain_body(x);
    const char *mime;
    size_t len;
    char *body = pysb_render_refusal(x->format, status, x->why, &len, &mime);
    ap_set_content_type(r, mime);
    if (body)
        ap_rwrite(body, (int)len, r);
    free(body);
    return OK;
}

static int pysb_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "pysandbox"))
        return DECLINED;
    pysb_req *x = pysb_req_new(r);
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        int rc = steps[i](x);
        if (rc == OK)
            continue;
        if (rc == DONE)
            return OK;
        /* A status without a reason: httpd's own answer (its input
         * filters already refused the body, or an internal error). */
        return x->why ? write_refusal(x) : rc;
    }
    return OK;
}

static void pysb_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(pysb_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pysb_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pysb_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pysb_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pysb_status_handler, NULL, NULL, APR_HOOK_MIDDLE);  /* httpd/status.c */
    pysb_status_register();
    ap_hook_handler(pysb_jobe_handler, NULL, NULL, APR_HOOK_MIDDLE);   /* httpd/jobe.c */
    ap_hook_post_config(pysb_jobe_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pysb_jobe_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pysb_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(pysb_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(pysb_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    pysb_verdict_register();
    pysb_request_register();
}

module AP_MODULE_DECLARE_DATA pysandbox_module = {
    STANDARD20_MODULE_STUFF,
    pysb_create_dir_conf,
    pysb_merge_dir_conf,
    pysb_create_srv_conf,
    pysb_merge_srv_conf,
    pysb_cmds,
    pysb_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE,
#endif
};
