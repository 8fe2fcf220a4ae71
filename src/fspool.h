/* fspool.h — the launcher's fork servers (warm.h): one per distinct
 * interpreter argv + preload list + read-only paths, started on demand,
 * restarted when one dies, gone with the launcher.
 *
 * Contract: the launcher calls pysb_fspool_init once (in its empty network
 * namespace, which the servers and so every warm run share), polls the
 * descriptors pysb_fspool_pollfds gives and hands their events to
 * pysb_fspool_events, and tells pysb_fspool_reaped of every child it
 * reaps (1: it was a server). A supervisor (a child forked by the
 * launcher, holding the table as it was at the fork) asks
 * pysb_fspool_target for its run's server: the target of a ready server,
 * or NULL — then it asks the launcher (one datagram on a socketpair only
 * the launcher's children hold) to start one, and the run goes cold.
 * The launcher logs once per server: starting, ready, refused or dead
 * (and restarted). A server that refuses (it cannot be served warm: a
 * preload refused, more than one thread, not CPython...) is not tried
 * again for 60 s, and its runs go cold, with one info line saying why.
 * Servers die with the launcher (PR_SET_PDEATHSIG: they stop accepting and
 * finish the runs in flight). Single-threaded. No Apache headers.
 *
 * A server runs as root, and its argv comes from a worker's SPEC: it is
 * started only for an interpreter the configuration names (interpreters)
 * with flags that take no argument and run nothing, and preloads the
 * configuration names (pysb_fspool_key_ok), so a worker cannot make the
 * launcher run code of its choosing as root (a cold run of the same argv
 * runs confined, as its run uid). */
#ifndef PYSB_FSPOOL_H
#define PYSB_FSPOOL_H

#include <poll.h>
#include <sys/types.h>

#include "launcher.h"
#include "warm.h"

/* ext_path: the extension (_pysandbox.abi3.so); interpreters: the
 * configured ones (NULL-terminated); log: the launcher's. */
int pysb_fspool_init(const char *ext_path, const char *const *interpreters,
                     const char *const *preloads, int waive_landlock, pysb_log_fn log);

/* Starts the server of argv with no preloads and no read-only paths (the
 * default Location's key) and waits up to timeout_ms for its READY, so
 * that the first runs after the launcher starts are warm. 0: ready; -1:
 * not (refused, slow, the table full): its runs go cold as for any key
 * not ready, and its READY is heard later as usual. */
int pysb_fspool_prestart(const char *const *argv, int timeout_ms);

/* 1 when a server may be started for argv and preload: argv[0] one of
 * interpreters, every other element a cluster of flag letters among
 * "BEIOSbdqsuv" (no -c, -m, -X, -W, no file, nothing with an argument),
 * every preload one of preloads; else 0. */
int pysb_fspool_key_ok(const char *const *argv, const char *const *preload,
                       const char *const *interpreters, const char *const *preloads);

/* Fills up to max entries (the want socket, servers not ready yet);
 * returns how many. */
size_t pysb_fspool_pollfds(struct pollfd *p, size_t max);
void pysb_fspool_events(const struct pollfd *p, size_t n);

/* The watchdog, once per round of the launcher's loop: pings every ready
 * server every 5 s; one that has not answered within 3 s (hung) is killed
 * (one warn line; its runs in flight end as internal_error) and started
 * again once reaped. Returns the ms until it wants to run again, -1: no
 * server to watch. */
int pysb_fspool_watchdog(void);

/* A reaped child: 1 when it was a fork server (then restarted), else 0. */
int pysb_fspool_reaped(pid_t pid, int status);

/* The servers for the status page: their state, as the launcher sees it
 * now. key: the table's (JSON [[argv…],[preload…],[ro_paths…]]), valid
 * until the next call into the table. */
typedef enum { PYSB_FSPOOL_STARTING, PYSB_FSPOOL_READY, PYSB_FSPOOL_COLD } pysb_fspool_state;
typedef struct pysb_fspool_info {
    const char *key;
    pid_t pid;                  /* 0: none running (COLD) */
    pysb_fspool_state state;    /* COLD: cannot serve now, retried later */
    int64_t started;            /* Unix time this pid was started, 0: none */
    unsigned restarts;          /* after a ready server of this key died */
} pysb_fspool_info;

/* Fills up to max entries; returns how many. */
size_t pysb_fspool_list(pysb_fspool_info *out, size_t max);

/* In a supervisor: the run's server, or NULL (the launcher is asked to
 * start one; the run goes cold). */
const pysb_warm_target *pysb_fspool_target(const char *const *argv,
                                           const char *const *preload,
                                           const char *const *ro_paths);

#endif
