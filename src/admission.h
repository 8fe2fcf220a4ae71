/* admission.h — who gets the next run slot: the launcher's wait queue,
 * each client's share, and how long a refused client should wait before
 * it asks again (DESIGN §2 "Admission", §7 "people wait rather than fail").
 *
 * Contract: bookkeeping only — no I/O and no clock of its own (every call
 * that needs the time takes now, CLOCK_MONOTONIC ms). The launcher asks
 * decide() for each ADMIT; RUN means "lease a slot and fork" (if no slot
 * can be leased after all, enqueue it), WAIT means enqueue; it calls
 * next() whenever a slot may have come free and expired() for waiters
 * past their deadline, and reports each run's start and end. Order is
 * arrival order (a waiter re-admitted after a launcher restart keeps its
 * first arrival); a waiter whose client already holds its share of slots
 * is passed over, never refused, until one of that client's runs ends. A
 * client with per_client n holds at most n slots and n queue places; the
 * n+1st ADMIT beyond both is refused (TOO_MANY). Retry-After comes from
 * the recent drain rate: completions per second, an exponentially decayed
 * average over about ten seconds. Refusals are summarised for the log at
 * most once a minute: the first after a quiet minute is told at once,
 * the rest counted by reason and told when their minute is over. No
 * Apache headers. */
#ifndef PYSB_ADMISSION_H
#define PYSB_ADMISSION_H

#include <stdint.h>

#include "payload.h"

typedef struct pysb_admission pysb_admission;

/* One waiting request. The caller allocates it (inside its connection)
 * and fills the public part before enqueue; the links are private. */
typedef struct pysb_waiter {
    struct pysb_waiter *prev, *next;    /* queue order: use first/next */
    struct pysb_client *client_rec;     /* private */
    void     *owner;                    /* the caller's */
    pysb_admit admit;                   /* as the worker sent it */
    int64_t   since_ms;                 /* arrival (minus waited_ms) */
    int64_t   deadline_ms;              /* since_ms + queue_timeout_ms */
} pysb_waiter;

typedef enum pysb_verdict_admit {
    PYSB_ADMIT_RUN = 1,     /* take a slot now */
    PYSB_ADMIT_WAIT,        /* enqueue */
    PYSB_ADMIT_REFUSE,      /* *why says why */
} pysb_verdict_admit;

/* NULL when out of memory. queue_size 0: nobody ever waits. */
pysb_admission *pysb_admission_new(unsigned max_runs, unsigned queue_size);
void pysb_admission_free(pysb_admission *q);

/* What to do with an ADMIT while running slots are held (by this
 * launcher's runs; slots held by others show up as a failed lease). */
pysb_verdict_admit pysb_admission_decide(pysb_admission *q, const pysb_admit *a,
                                         unsigned running, pysb_refuse_reason *why);

/* Puts w in the queue by its since_ms (ties: after those already there).
 * Returns its 1-based position, 0 when out of memory (not enqueued). */
unsigned pysb_admission_enqueue(pysb_admission *q, pysb_waiter *w);
void pysb_admission_remove(pysb_admission *q, pysb_waiter *w);
unsigned pysb_admission_position(const pysb_admission *q, const pysb_waiter *w);
unsigned pysb_admission_queued(const pysb_admission *q);
pysb_waiter *pysb_admission_first(const pysb_admission *q);

/* The oldest waiter whose client is under its share (still queued: the
 * caller removes it once it has a slot), or NULL. */
pysb_waiter *pysb_admission_next(const pysb_admission *q);

/* A waiter whose deadline is at or before now, or NULL; the earliest
 * deadline of all (-1: nobody waits), for the caller's poll timeout. */
pysb_waiter *pysb_admission_expired(const pysb_admission *q, int64_t now_ms);
int64_t pysb_admission_next_deadline(const pysb_admission *q);

/* A run of client took a slot / gave it back after wall_ms. */
int pysb_admission_run_started(pysb_admission *q, const char *client);
void pysb_admission_run_ended(pysb_admission *q, const char *client, int64_t wall_ms,
                              int64_t now_ms);

/* Runs of client holding slots, and its waiters. */
void pysb_admission_client(const pysb_admission *q, const char *client, unsigned *running,
                           unsigned *queued);

/* Completions per second, recently (0 when none for a long while). */
double pysb_admission_drain_rate(const pysb_admission *q, int64_t now_ms);

/* Seconds a refused client should wait (Retry-After), 1..120: for a
 * client at its share, about one run's wall time; otherwise the time the
 * queue ahead takes to drain at the recent rate (or, with no rate yet,
 * at the recent wall time per slot). */
unsigned pysb_admission_retry_after(const pysb_admission *q, pysb_refuse_reason why,
                                    int64_t now_ms);

/* ---- the refusals' summary, for the log ---- */

#define PYSB_REFUSAL_LOG_MS 60000

/* A refusal at now: 1 when it is the first after a quiet minute (to be
 * logged as it is), 0 when it is counted for the summary. */
int pysb_admission_refused(pysb_admission *q, pysb_refuse_reason why, int64_t now_ms);

/* When the pending summary is due (-1: none pending). */
int64_t pysb_admission_summary_due(const pysb_admission *q);

/* At or after the due time: 1 with the counts by reason since the last
 * summary (then reset) and the time they span, or 0 when there is none
 * (a quiet minute: the next refusal is told at once again). */
int pysb_admission_summary(pysb_admission *q, int64_t now_ms,
                           uint64_t counts[PYSB_REFUSE_COUNT], int64_t *span_ms);

#endif
