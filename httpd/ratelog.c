/* ratelog.c — rate-limited warnings of request-level events.
 *
 * Contract: see ratelog.h. */
#include "httpd/ratelog.h"

#include "http_log.h"

APLOG_USE_MODULE(pysandbox);

void pysb_ratelog_hit(pysb_ratelog *l, request_rec *r, const char *why)
{
    int64_t span;
    uint64_t n = pysb_ratelimit_hit(&l->limit, apr_time_now(), &span);
    if (n == 1)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PYSB: %s: %s; more are counted and summarised once a minute", l->one,
                      why);
    else if (n > 1)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PYSB: %" APR_UINT64_T_FMT " %s in the last %" APR_INT64_T_FMT
                      " s in this process (the last: %s)",
                      (apr_uint64_t)n, l->what, (apr_int64_t)(span / 1000000), why);
}
