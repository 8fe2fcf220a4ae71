/* stats.h — the counters of a server, kept in a small file that the
 * launcher maps shared and its supervisors (forked from it) update in
 * place, so they survive a restarted launcher and a graceful restart of
 * httpd, and go when httpd stops (the module removes the file then).
 *
 * Contract: pysb_stats_open creates the file (mode 0600) or attaches to
 * the one there, keeping its counters when its layout is this build's
 * (magic, version) and starting afresh otherwise; it never shrinks it.
 * Every counter is a 64-bit integer updated with atomic adds, so any
 * number of processes may count at once without a lock. Histograms have
 * fixed bounds in milliseconds (PYSB_HIST_BOUNDS) and give quantiles by
 * interpolation inside a bucket. Slots record the runs in flight (pid,
 * uid, run id, client, start) by lease index; a reader copies one under
 * its sequence number and retries while a writer is at it. A NULL or
 * unmapped pysb_stats makes every update a no-op, so a server whose file
 * cannot be made still runs. No Apache headers. */
#ifndef PYSB_STATS_H
#define PYSB_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "payload.h"
#include "result.h"

/* Bucket i counts values <= bound[i] ms (and above bound[i-1]); the last
 * counts the rest. The first holds 0 alone (a run admitted at once);
 * then bounds step about 1.5x from 1 ms to 5 minutes. */
#define PYSB_HIST_BUCKETS 32
extern const uint32_t pysb_hist_bounds[PYSB_HIST_BUCKETS - 1];

typedef struct pysb_hist {
    uint64_t count[PYSB_HIST_BUCKETS];
    uint64_t sum_ms;
} pysb_hist;

/* The counters, by what counts them. */
typedef enum pysb_counter {
    PYSB_C_ADMITTED = 0,    /* launcher: a run got a slot */
    PYSB_C_WAITED,          /* launcher: ... after waiting in the queue */
    PYSB_C_REFUSED_SLOTS,   /* launcher: BUSY, the request could not wait */
    PYSB_C_REFUSED_FULL,    /* launcher: BUSY, queue full */
    PYSB_C_REFUSED_TIMEOUT, /* launcher: BUSY, waited its queue timeout */
    PYSB_C_REFUSED_CLIENT,  /* launcher: TOO_MANY */
    PYSB_C_LEFT_QUEUE,      /* launcher: a worker left while waiting */
    PYSB_C_LAUNCHER_STARTS, /* launcher: every start */
    PYSB_C_LAUNCHER_RESTARTS, /* launcher: starts after a launcher died */
    PYSB_C_COUNT
} pysb_counter;

#define PYSB_STATS_RUN_ID 40
/* Room for the verdicts of pysb_status, with some to spare for new ones:
 * a status is counted at its enum value. */
#define PYSB_STATS_VERDICTS 16

typedef struct pysb_stats_slot {
    uint64_t seq;           /* odd while being written */
    int64_t  pid;           /* the supervisor; 0: free */
    uint32_t uid;
    uint32_t pad;
    int64_t  started_ms;    /* CLOCK_MONOTONIC */
    char     run_id[PYSB_STATS_RUN_ID];
    char     client[PYSB_CLIENT_KEY_MAX + 8];
} pysb_stats_slot;

typedef struct pysb_stats_file {
    uint32_t  magic, version;
    uint32_t  nslots, pad;
    int64_t   created;          /* CLOCK_REALTIME s: httpd's start */
    int64_t   launcher_pid;
    int64_t   launcher_started; /* CLOCK_REALTIME s */
    uint64_t  counter[PYSB_C_COUNT];
    uint64_t  verdict[PYSB_STATS_VERDICTS];
    pysb_hist queue_wait;       /* every admitted run, 0 when at once */
    pysb_hist run_wall;         /* every run that ran */
    pysb_stats_slot slot[];
} pysb_stats_file;

typedef struct pysb_stats {
    pysb_stats_file *f;     /* NULL: not mapped */
    size_t           len;
} pysb_stats;

/* Creates or attaches to path with room for nslots slots. Returns 0, or
 * -1 with errno and s unmapped. */
int pysb_stats_open(pysb_stats *s, const char *path, unsigned nslots);
void pysb_stats_close(pysb_stats *s);

void pysb_stats_count(pysb_stats *s, pysb_counter c, uint64_t n);
void pysb_stats_verdict(pysb_stats *s, pysb_status st, int64_t wall_ms);
/* 1 when st is a status of this build (pysb_status_name names it). */
int pysb_stats_status_known(int st);
void pysb_stats_queue_wait(pysb_stats *s, int64_t wait_ms);
void pysb_stats_hist_add(pysb_hist *h, int64_t ms);
/* The launcher that now runs: pid, start time, and (restarted) whether it
 * replaces one that died. */
void pysb_stats_launcher(pysb_stats *s, pid_t pid, int restarted);

/* A run in flight in slot i (out of range: ignored), and its end: the
 * slot is cleared only while it still holds pid, so a late clear never
 * erases the next run's record. */
void pysb_stats_slot_set(pysb_stats *s, unsigned i, pid_t pid, uid_t uid, const char *run_id,
                         const char *client, int64_t started_ms);
void pysb_stats_slot_clear(pysb_stats *s, unsigned i, pid_t pid);
/* A consistent copy of slot i: 1 when it holds a run, 0 when free. */
int pysb_stats_slot_get(const pysb_stats *s, unsigned i, pysb_stats_slot *out);
unsigned pysb_stats_nslots(const pysb_stats *s);

/* A copy of a histogram (each count read atomically). */
void pysb_stats_hist_copy(const pysb_hist *h, pysb_hist *out);
/* The q-quantile (0 < q < 1) in ms, interpolated within its bucket; 0
 * for an empty histogram. */
double pysb_hist_quantile(const pysb_hist *h, double q);
uint64_t pysb_hist_total(const pysb_hist *h);

#endif
