/* ratelimit.h — a report about a recurring event at most once a period,
 * with how many there were since the last: for whatever a burst can
 * repeat thousands of times a second (the 503s of a full service; the
 * operations counters of issue 11 can share it).
 *
 * Contract: pysb_ratelimit_hit counts one event at time now (µs, of any
 * clock that does not go back) and says whether the caller reports now: 0
 * to count it silently, else the number of events the report covers (this
 * one included), with *span_us the time since the previous report (0 for
 * the first event ever). After a quiet period the next event reports at
 * once, so a new burst is seen when it starts.
 * Thread-safe (one mutex per limiter, held for a few instructions); no
 * allocation; PYSB_RATELIMIT_INIT makes a static one. Per process: each
 * httpd child counts its own. No Apache headers. */
#ifndef PYSB_RATELIMIT_H
#define PYSB_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

typedef struct pysb_ratelimit {
    pthread_mutex_t lock;
    int64_t         period_us;
    int64_t         last_report;    /* µs; 0: never */
    uint64_t        count;          /* events since then */
    uint64_t        total;          /* events ever */
} pysb_ratelimit;

#define PYSB_RATELIMIT_INIT(period_us) { PTHREAD_MUTEX_INITIALIZER, (period_us), 0, 0, 0 }

uint64_t pysb_ratelimit_hit(pysb_ratelimit *l, int64_t now, int64_t *span_us);

/* Events ever counted. */
uint64_t pysb_ratelimit_total(pysb_ratelimit *l);

#endif
