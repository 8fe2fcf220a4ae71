/* admission.c — the launcher's wait queue and client shares.
 *
 * Contract: see admission.h. The queue is a doubly linked list in arrival
 * order; clients are a small chained hash table whose records live while
 * the client holds a slot or a queue place. Everything is O(queue) at
 * worst, and the queue is bounded by PySandboxQueueSize. */
#include "admission.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_BUCKETS 1024
#define DRAIN_TAU_MS 10000.0     /* the drain rate's memory */
#define WALL_ALPHA 0.1           /* the run wall average's weight of one run */
#define RETRY_MAX 120

typedef struct pysb_client {
    struct pysb_client *next;
    unsigned running, queued;
    char key[PYSB_CLIENT_KEY_MAX + 1];
} pysb_client;

struct pysb_admission {
    unsigned     max_runs, queue_size, queued;
    pysb_waiter *head, *tail;
    pysb_client *buckets[CLIENT_BUCKETS];
    double       drain;          /* decayed completions, per second, at drain_ms */
    int64_t      drain_ms;
    double       wall_ms;        /* running average of run walls ... */
    int          have_wall;      /* ... once there is one */
    int          refusing;       /* a summary minute is open ... */
    int64_t      refusals_since; /* ... since then ... */
    uint64_t     refusals[PYSB_REFUSE_COUNT];   /* ... with these counted */
};

pysb_admission *pysb_admission_new(unsigned max_runs, unsigned queue_size)
{
    pysb_admission *q = calloc(1, sizeof *q);
    if (q) {
        q->max_runs = max_runs;
        q->queue_size = queue_size;
    }
    return q;
}

void pysb_admission_free(pysb_admission *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < CLIENT_BUCKETS; i++)
        for (pysb_client *c = q->buckets[i], *n; c; c = n) {
            n = c->next;
            free(c);
        }
    free(q);
}

/* ---- clients ---- */

static pysb_client **slot_of(const pysb_admission *q, const char *key)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (pysb_client **)&q->buckets[h % CLIENT_BUCKETS];
}

static pysb_client *find(const pysb_admission *q, const char *key)
{
    for (pysb_client *c = *slot_of(q, key); c; c = c->next)
        if (!strcmp(c->key, key))
            return c;
    return NULL;
}

static pysb_client *get(pysb_admission *q, const char *key)
{
    pysb_client *c = find(q, key);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    strncpy(c->key, key, PYSB_CLIENT_KEY_MAX);
    pysb_client **s = slot_of(q, key);
    c->next = *s;
    *s = c;
    return c;
}

/* Forgets a client that holds nothing. */
static void put(pysb_admission *q, pysb_client *c)
{
    if (c->running || c->queued)
        return;
    for (pysb_client **p = slot_of(q, c->key); *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            free(c);
            return;
        }
}

void pysb_admission_client(const pysb_admission *q, const char *client, unsigned *running,
                           unsigned *queued)
{
    const pysb_client *c = find(q, client);
    *running = c ? c->running : 0;
    *queued = c ? c->queued : 0;
}

static int under_share(const pysb_client *c, unsigned per_client)
{
    return !per_client || !c || c->running < per_client;
}

/* ---- decisions ---- */

pysb_waiter *pysb_admission_next(const pysb_admission *q)
{
    for (pysb_waiter *w = q->head; w; w = w->next)
        if (under_share(w->client_rec, w->admit.per_client))
            return w;
    return NULL;
}

pysb_verdict_admit pysb_admission_decide(pysb_admission *q, const pysb_admit *a,
                                         unsigned running, pysb_refuse_reason *why)
{
    const pysb_client *c = find(q, a->client);
    if (a->per_client && c && c->running >= a->per_client && c->queued >= a->per_client) {
        *why = PYSB_REFUSE_CLIENT;
        return PYSB_ADMIT_REFUSE;
    }
    /* A free slot goes to this request only if nobody who could take it
     * is waiting already: arrival order. */
    if (under_share(c, a->per_client) && running < q->max_runs && !pysb_admission_next(q))
        return PYSB_ADMIT_RUN;
    if (!a->queue_timeout_ms || !q->queue_size) {
        *why = PYSB_REFUSE_SLOTS;
        return PYSB_ADMIT_REFUSE;
    }
    if (q->queued >= q->queue_size) {
        *why = PYSB_REFUSE_QUEUE_FULL;
        return PYSB_ADMIT_REFUSE;
    }
    return PYSB_ADMIT_WAIT;
}

/* ---- the queue ---- */

unsigned pysb_admission_enqueue(pysb_admission *q, pysb_waiter *w)
{
    pysb_client *c = get(q, w->admit.client);
    if (!c)
        return 0;
    w->client_rec = c;
    c->queued++;
    q->queued++;
    w->deadline_ms = w->since_ms + w->admit.queue_timeout_ms;
    /* From the tail: a new arrival goes last; only a re-admitted waiter
     * (an earlier since_ms) moves forward. */
    pysb_waiter *after = q->tail;
    while (after && after->since_ms > w->since_ms)
        after = after->prev;
    w->prev = after;
    w->next = after ? after->next : q->head;
    if (w->next)
        w->next->prev = w;
    else
        q->tail = w;
    if (after)
        after->next = w;
    else
        q->head = w;
    return pysb_admission_position(q, w);
}

void pysb_admission_remove(pysb_admission *q, pysb_waiter *w)
{
    if (!w->client_rec)
        return; /* not queued */
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->prev = w->next = NULL;
    q->queued--;
    w->client_rec->queued--;
    put(q, w->client_rec);
    w->client_rec = NULL;
}

unsigned pysb_admission_position(const pysb_admission *q, const pysb_waiter *w)
{
    unsigned n = 1;
    for (const pysb_waiter *p = q->head; p; p = p->next, n++)
        if (p == w)
            return n;
    return 0;
}

unsigned pysb_admission_queued(const pysb_admission *q)
{
    return q->queued;
}

pysb_waiter *pysb_admission_first(const pysb_admission *q)
{
    return q->head;
}

pysb_waiter *pysb_admission_expired(const pysb_admission *q, int64_t now_ms)
{
    for (pysb_waiter *w = q->head; w; w = w->next)
        if (w->deadline_ms <= now_ms)
            return w;
    return NULL;
}

int64_t pysb_admission_next_deadline(const pysb_admission *q)
{
    int64_t d = -1;
    for (const pysb_waiter *w = q->head; w; w = w->next)
        if (d < 0 || w->deadline_ms < d)
            d = w->deadline_ms;
    return d;
}

/* ---- runs, the drain rate, Retry-After ---- */

int pysb_admission_run_started(pysb_admission *q, const char *client)
{
    pysb_client *c = get(q, client);
    if (!c)
        return -1;
    c->running++;
    return 0;
}

static double decayed(const pysb_admission *q, int64_t now_ms)
{
    if (now_ms <= q->drain_ms)
        return q->drain;
    return q->drain * exp(-(double)(now_ms - q->drain_ms) / DRAIN_TAU_MS);
}

void pysb_admission_run_ended(pysb_admission *q, const char *client, int64_t wall_ms,
                              int64_t now_ms)
{
    pysb_client *c = find(q, client);
    if (c && c->running) {
        c->running--;
        put(q, c);
    }
    /* Each completion adds 1/tau to a rate that decays with time
     * constant tau: at a steady rate r it settles at r. */
    q->drain = decayed(q, now_ms) + 1000.0 / DRAIN_TAU_MS;
    if (now_ms > q->drain_ms)
        q->drain_ms = now_ms;
    if (wall_ms < 0)
        wall_ms = 0;
    q->wall_ms = q->have_wall ? (1 - WALL_ALPHA) * q->wall_ms + WALL_ALPHA * (double)wall_ms
                              : (double)wall_ms;
    q->have_wall = 1;
}

double pysb_admission_drain_rate(const pysb_admission *q, int64_t now_ms)
{
    return decayed(q, now_ms);
}

static unsigned clamp_seconds(double s)
{
    if (!(s >= 1))
        return 1;
    if (s > RETRY_MAX)
        return RETRY_MAX;
    return (unsigned)ceil(s);
}

unsigned pysb_admission_retry_after(const pysb_admission *q, pysb_refuse_reason why,
                                    int64_t now_ms)
{
    if (why == PYSB_REFUSE_CLIENT)
        return clamp_seconds(q->wall_ms / 1000.0);
    double ahead = (double)q->queued + 1;
    double rate = decayed(q, now_ms);
    /* Below one completion a minute the rate says nothing: use the wall
     * time of recent runs spread over the slots instead. */
    if (rate > 1.0 / 60)
        return clamp_seconds(ahead / rate);
    if (q->have_wall && q->max_runs)
        return clamp_seconds(ahead * q->wall_ms / 1000.0 / q->max_runs);
    return 1;
}

/* ---- the refusals' summary ---- */

int pysb_admission_refused(pysb_admission *q, pysb_refuse_reason why, int64_t now_ms)
{
    if (!q->refusing) {
        q->refusing = 1;
        q->refusals_since = now_ms;
        return 1;
    }
    if (why >= 0 && why < PYSB_REFUSE_COUNT)
        q->refusals[why]++;
    return 0;
}

int64_t pysb_admission_summary_due(const pysb_admission *q)
{
    return q->refusing ? q->refusals_since + PYSB_REFUSAL_LOG_MS : -1;
}

int pysb_admission_summary(pysb_admission *q, int64_t now_ms,
                           uint64_t counts[PYSB_REFUSE_COUNT], int64_t *span_ms)
{
    if (!q->refusing || now_ms < q->refusals_since + PYSB_REFUSAL_LOG_MS)
        return 0;
    uint64_t total = 0;
    for (int i = 0; i < PYSB_REFUSE_COUNT; i++) {
        counts[i] = q->refusals[i];
        total += counts[i];
        q->refusals[i] = 0;
    }
    *span_ms = now_ms - q->refusals_since;
    q->refusals_since = now_ms;
    if (!total)
        q->refusing = 0; /* a quiet minute */
    return total > 0;
}
