/* status.c — the status handler and the mod_status section.
 *
 * Contract: see status.h. */
#include "httpd/status.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "mod_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "httpd/conf.h"
#include "httpd/parent.h"
#include "httpd/workercount.h"
#include "src/session.h"
#include "src/statuspage.h"

APLOG_USE_MODULE(pysandbox);

/* The launcher answers at once; more than this means it is not there. */
#define STATUS_TIMEOUT_MS 500
/* How long a missing or refusing socket is tried again: a graceful
 * restart's new launcher listens some hundreds of ms after the old one
 * went, and a run's request waits for it as long (relay.c's
 * CONNECT_RETRY_MS); a health check in that gap must not say 503. */
#define CONNECT_RETRY_MS 1000

/* The snapshot's JSON (malloc'd), or NULL with a reason in why. */
static char *ask_launcher(char *why, size_t whylen)
{
    const char *path = pysb_launcher_socket();
    if (!path) {
        apr_cpystrn(why, "no launcher was started", whylen);
        return NULL;
    }
    int fd = pysb_session_connect(path, CONNECT_RETRY_MS, NULL, NULL);
    if (fd < 0) {
        apr_snprintf(why, whylen, "cannot reach the launcher at %s: %s", path, strerror(errno));
        return NULL;
    }
    char *json = NULL;
    size_t len;
    pysb_session_status(fd, STATUS_TIMEOUT_MS, &json, &len, why, whylen);
    close(fd);
    return json;
}

/* The launcher's snapshot with the children's own 503s in it (they never
 * reach the launcher); the snapshot as it came if that fails. */
static char *with_children(char *json)
{
    char *merged = json ? pysb_statuspage_add_unavailable(
                              json, (unsigned long long)pysb_workercount_unavailable_total())
                        : NULL;
    if (!merged)
        return json;
    free(json);
    return merged;
}

int pysb_status_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "pysandbox-status"))
        return DECLINED;
    if (r->method_number != M_GET) {
        /* One line, as the run handler's refusals (not httpd's page);
         * Allow: GET, HEAD only (not httpd's list, which names TRACE). */
        r->allowed = (AP_METHOD_BIT << M_GET);
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        r->status = HTTP_METHOD_NOT_ALLOWED;
        ap_set_content_type(r, "text/plain; charset=utf-8");
        apr_table_setn(r->notes, "pysandbox-status", "refused");
        ap_rvputs(r, "pysandbox-status: ", r->method, " is not allowed here (GET or HEAD)\n",
                  NULL);
        return OK;
    }
    char why[256] = "";
    char *json = ask_launcher(why, sizeof why);
    if (!json)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "PYSB: status: %s", why);
    json = with_children(json);
    pysb_statuspage_fmt fmt =
        pysb_statuspage_format(r->args, apr_table_get(r->headers_in, "Accept"));
    size_t len = 0;
    const char *mime = "text/plain";
    int status = HTTP_INTERNAL_SERVER_ERROR;
    char *page = pysb_statuspage_render(fmt, json, why, &len, &mime, &status);
    free(json);
    if (!page)
        return HTTP_INTERNAL_SERVER_ERROR;
    r->status = status;
    ap_set_content_type(r, mime);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->notes, "pysandbox-status", "status");
    if (!r->header_only)
        ap_rwrite(page, (int)len, r);
    free(page);
    return OK;
}

/* mod_status's page: a section (or ?auto lines) of the same snapshot. */
static int status_hook(request_rec *r, int flags)
{
    char why[256] = "";
    char *json = with_children(ask_launcher(why, sizeof why));
    char *text = pysb_statuspage_modstatus(json, why, !(flags & AP_STATUS_SHORT));
    free(json);
    if (text)
        ap_rputs(text, r);
    free(text);
    return OK;
}

void pysb_status_register(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
