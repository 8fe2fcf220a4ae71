/* payload_status.h — the STATUS frame's payload: a snapshot of a server's
 * runs, queue and counters, as the launcher sees them, for the status
 * page (statuspage.h renders it).
 *
 * Contract: one JSON object, at most the STATUS frame's maximum:
 *
 *   {"version": 1,
 *    "server":   {"started": T, "uptime_s": S},        T: Unix time, s
 *    "launcher": {"pid": P, "started": T, "uptime_s": S,
 *                 "starts": N, "restarts": N},  restarts: after one died
 *    "fork_servers": [{"pid": P, "state": "ready"|"starting"|"cold",
 *                      "argv": [...], "preload": [...], "ro_paths": [...],
 *                      "uptime_s": S, "restarts": N}, …],
 *                   one per key (issue 9); pid 0 and uptime 0 when none
 *                   runs: "cold", it cannot serve now and is retried
 *                   later (its runs go cold); restarts: after it died
 *    "slots":    {"max_runs": N, "running": N, "queue_size": N, "queued": N},
 *    "drain_per_s": R,                          runs ended per second, lately
 *    "running":  [{"run_id","client","age_ms","pid","uid"}, …],
 *    "queued":   [{"run_id","client","age_ms","position"}, …],
 *    "totals":   {"admitted": N, "waited": N, "left_queue": N,
 *                 "verdicts": {"ok": N, …every status},
 *                 "refused": {"slots": N, "queue_full": N,
 *                             "queue_timeout": N, "client_limit": N},
 *                 "503": N, "429": N},
 *                (the status page adds "refused.unavailable", the 503s
 *                 httpd's children made alone, and counts them in "503":
 *                 statuspage.h)
 *    "queue_wait_ms": H, "run_wall_ms": H}
 *
 * where H is {"count": N, "sum": MS, "p50": MS, "p99": MS,
 * "buckets": [[LE, N], …, [null, N]]} (LE in ms, N per bucket, not
 * cumulative; null: no upper bound). The lists hold at most
 * PYSB_STATUS_LIST_MAX entries each (the counts in "slots" are whole);
 * no code, stdin or output ever appears. Totals count since httpd started
 * (the stats file), whatever launchers came and went. No Apache headers. */
#ifndef PYSB_PAYLOAD_STATUS_H
#define PYSB_PAYLOAD_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "payload.h"
#include "stats.h"

#define PYSB_STATUS_LIST_MAX 200

typedef struct pysb_status_entry {
    char     run_id[PYSB_STATS_RUN_ID];
    char     client[PYSB_CLIENT_KEY_MAX + 1];
    int64_t  age_ms;
    long     pid;           /* running */
    unsigned uid;           /* running */
    unsigned position;      /* queued, from 1 */
} pysb_status_entry;

typedef struct pysb_status_fork_server {
    const char *key;        /* JSON [[argv…],[preload…],[ro_paths…]] */
    long        pid;        /* 0: none */
    const char *state;      /* "ready", "starting", "cold" */
    int64_t     started;    /* Unix time, 0: none */
    unsigned    restarts;
} pysb_status_fork_server;

typedef struct pysb_status_in {
    const pysb_stats        *stats;        /* may be unmapped: zeros */
    pid_t                    launcher_pid;
    unsigned                 max_runs, queue_size;
    unsigned                 n_running, n_queued;      /* whole counts */
    const pysb_status_entry *running, *queued;         /* the lists */
    size_t                   running_len, queued_len;
    const pysb_status_fork_server *fork_servers;
    size_t                   fork_servers_len;
    double                   drain_per_s;
    int64_t                  now;                      /* Unix time, s */
} pysb_status_in;

/* The snapshot as malloc'd JSON (*len without the NUL), or NULL when out
 * of memory. */
char *pysb_status_encode(const pysb_status_in *in, size_t *len);

#endif
