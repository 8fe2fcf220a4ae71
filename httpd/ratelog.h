/* ratelog.h — a warning about a recurring request-level event at most once
 * a minute per process, counting the rest (src/ratelimit), while each one
 * is still logged at info.
 *
 * Contract: pysb_ratelog_hit(l, r, why) logs, at warn, either "PYSB: a
 * request refused with 503: WHY; more are counted and summarised once a
 * minute" (the first after a quiet minute) or "PYSB: N requests refused
 * with 503 in the last S s in this process (the last: WHY)". Cheap enough
 * for every request of a burst: a mutex and a counter. One static
 * pysb_ratelog per kind of event, made with PYSB_RATELOG_INIT(what). */
#ifndef PYSB_HTTPD_RATELOG_H
#define PYSB_HTTPD_RATELOG_H

#include "httpd.h"

#include "src/ratelimit.h"

typedef struct pysb_ratelog {
    const char     *what;       /* "requests refused with 503" */
    const char     *one;        /* "a request refused with 503" */
    pysb_ratelimit  limit;
} pysb_ratelog;

#define PYSB_RATELOG_PERIOD_US (60 * 1000000LL)
#define PYSB_RATELOG_INIT(what, one) { (what), (one), PYSB_RATELIMIT_INIT(PYSB_RATELOG_PERIOD_US) }

void pysb_ratelog_hit(pysb_ratelog *l, request_rec *r, const char *why);

#endif
