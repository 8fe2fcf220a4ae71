/* ratelimit.c — count events, report at most once a period.
 *
 * Contract: see ratelimit.h. */
#include "ratelimit.h"

uint64_t pysb_ratelimit_hit(pysb_ratelimit *l, int64_t now, int64_t *span_us)
{
    uint64_t report = 0;
    pthread_mutex_lock(&l->lock);
    l->count++;
    l->total++;
    if (l->last_report == 0 || now - l->last_report >= l->period_us) {
        /* The events since the last report, over the time since: after a
         * burst that ended, its tail is reported by the next event, with
         * the true span. */
        report = l->count;
        *span_us = l->last_report == 0 ? 0 : now - l->last_report;
        l->last_report = now;
        l->count = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return report;
}

uint64_t pysb_ratelimit_total(pysb_ratelimit *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t t = l->total;
    pthread_mutex_unlock(&l->lock);
    return t;
}
