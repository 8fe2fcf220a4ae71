/* launcher.h — the privileged daemon that turns connections from httpd
 * workers into confined runs, and owns the server's wait queue (DESIGN
 * §2).
 *
 * Contract: pysb_launcher_main runs in a process forked by the httpd parent
 * while still root and never returns. It leaves httpd's session, enters an
 * empty network namespace of its own (shared by all its runs), listens on
 * a Unix socket (mode 0600, owned by the httpd User), accepts only peers
 * with that uid or root (SO_PEERCRED), and serves the launcher's half of
 * the session (session.h) in one poll loop that never blocks on a peer:
 * each connection's ADMIT is admitted (a uid leased from the range, one
 * supervisor forked, which says GO and serves the request: STARTED, the
 * output as it comes, RESULT; the run is killed if the worker hangs up),
 * queued in arrival order (QUEUED; a worker that hangs up leaves at once;
 * a freed slot goes to the oldest waiter whose client is under its share)
 * or refused (BUSY when the queue is full or the wait ran out, TOO_MANY
 * beyond a client's share; both with a Retry-After from the drain rate,
 * admission.h). STATUS_GET is answered with a snapshot (payload_status.h).
 * A uid lease is an flock on <lease_dir>/<uid> held by the supervisor for
 * its lifetime: it survives launcher restarts, so no two live runs ever
 * share a uid, and it is what caps the runs alive at once. Counters live
 * in the stats file (stats.h), updated by the launcher and its
 * supervisors. On SIGTERM/SIGHUP/SIGINT the launcher exits at once,
 * closing its queue (waiting workers ask the next launcher again); runs in
 * flight finish under their own supervisors. Warm runs ("start": "warm" in
 * the SPEC) are forked from the launcher's fork servers (fspool.h), which
 * share its network namespace; a run whose server is not ready runs cold.
 * Single-threaded. */
#ifndef PYSB_LAUNCHER_H
#define PYSB_LAUNCHER_H

#include <stdint.h>
#include <sys/types.h>

enum { PYSB_LOG_ERR = 0, PYSB_LOG_WARN, PYSB_LOG_INFO, PYSB_LOG_DEBUG };

/* Where the launcher's messages go (the module logs them to the error log
 * with a PYSB tag). errnum: an errno value, or 0. */
typedef void (*pysb_log_fn)(int level, int errnum, const char *msg);

typedef struct pysb_launcher_config {
    const char *socket_path;
    const char *lease_dir;      /* created 0700 if missing */
    uid_t       peer_uid;       /* httpd's User: owner of the socket */
    gid_t       peer_gid;
    pid_t       parent;         /* the httpd parent; gone = we go */
    unsigned    max_runs;
    unsigned    queue_size;     /* waiters at most; 0: no queue */
    const char *stats_path;     /* the counters' file; NULL: none */
    int         restarted;      /* this start replaces a launcher that died */
    uid_t       uid_first, uid_last;   /* gid = uid */
    uint32_t    max_code;       /* bytes of a CODE frame accepted */
    uint64_t    max_stdin;      /* bytes of all STDIN frames together */
    pysb_log_fn log;
    /* Interpreters whose bootstrap to compile once at start (NULL-
     * terminated, may be NULL); runs of others compile it themselves. */
    const char *const *interpreters;
    const char *extension;      /* _pysandbox.abi3.so, for fork servers;
                                   NULL: every run is cold */
    const char *const *preloads;   /* every module the configuration
                                      preloads somewhere (fspool.h) */
    const char *const *prestart_argv;  /* the fork server started before
                                          the launcher listens (NULL: none):
                                          the default Location's key */
} pysb_launcher_config;

__attribute__((noreturn)) void pysb_launcher_main(const pysb_launcher_config *cfg);

#endif
