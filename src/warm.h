/* warm.h — the outside of a fork server: its owner's side (start it, hear
 * READY, ping it, stop it) and a run supervisor's side (hand a run over,
 * get its reaper, hear how it ended).
 *
 * Contract: pysb_fs_spawn execs the configured interpreter as a fork
 * server — its argv, then "-u -c <pysb_fs_script> …", the environment of a
 * cold run (pysb_child_env), stdin an empty pipe and stdout/stderr the
 * owner's log pipe, so its sys.std* objects are those of a cold run's
 * interpreter — and returns at once; pysb_fs_wait_ready reads READY when it
 * comes. The server imports the preloads, loads the extension (by path,
 * never through sys.path) and serves (forkserver.h). The owner keeps the
 * control socket; every supervisor it forks inherits it.
 *
 * pysb_warm_start (a supervisor) sends one RUN with the child's ends of
 * the run's pipes (and its scratch's trees) and returns the reaper's pid and pidfd once it exists,
 * or -1 when the run did not start — then nothing of it ran, and the
 * caller may run it cold with fresh pipes (the server may still hold, and
 * later drop, the ends it was sent). pysb_warm_ended gives what wait4()
 * told the server about the reaper, for a reaper that could not report
 * itself. Every wait here has a deadline; nothing here touches code,
 * stdin or output. No Apache headers. */
#ifndef PYSB_WARM_H
#define PYSB_WARM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "warm_wire.h"

typedef struct pysb_fs_spec {
    const char *const *argv;      /* the interpreter and its flags, as a
                                     cold run is given them (no -u -c) */
    const char *ext_path;         /* _pysandbox.abi3.so */
    const char *const *preload;   /* module names, NULL-terminated; may be NULL */
    const char *const *ro_paths;  /* NULL-terminated; may be NULL */
    int         waive_landlock;
    int         log_fd;           /* the server's stdout and stderr: a pipe */
} pysb_fs_spec;

typedef struct pysb_fs_handle {
    pid_t pid;
    int   ctl;                    /* the owner's end of the control socket */
} pysb_fs_handle;

/* Fork and exec a server. Returns 0, or -1 with a reason. */
int pysb_fs_spawn(const pysb_fs_spec *spec, pysb_fs_handle *h, char *err, size_t errlen);

/* READY within timeout_ms (0: only if it is there): 1 with *ready filled,
 * 0 not yet, -1 the server refused or died (err says why; the caller
 * reaps it). */
int pysb_fs_wait_ready(const pysb_fs_handle *h, int timeout_ms, pysb_fs_ready *ready,
                  char *err, size_t errlen);

/* PING: send one (*chan: where PONG will come), then read it within
 * timeout_ms (0: only if there). ping_recv returns 1, 0 (not yet), -1. */
int pysb_fs_ping_send(int ctl, int *chan);
int pysb_fs_ping_recv(int chan, int timeout_ms, pysb_fs_reply *pong);

/* The fork server's Python program (run with -c) and the server's name. */
extern const char pysb_fs_script[];
#define PYSB_FS_COMM "pysb-forkserver"

/* ---- a run's side -------------------------------------------------------- */

/* Where a warm run goes: the control socket of a fork server, and what its
 * preloads added to a bare interpreter's address space (READY), which a
 * cold fallback run gets on top of its limit so that both verdicts agree. */
typedef struct pysb_warm_target {
    int      ctl;
    uint64_t preload_bytes;
    int      timeout_ms;          /* for STARTED; 0: 1000 */
    int      no_fallback;         /* no cold run when the warm one fails */
} pysb_warm_target;

/* child_fds, in the wire's order without the reply channel: the stdin
 * read end, stdout and stderr write ends, code read end, status and
 * report write ends, then the memory watch's socket and the scratch's
 * work/ and shm/ trees (each -1 when absent), as a cold reaper would get
 * them. Returns the reaper's pid with *pidfd, *chan (kept for
 * pysb_warm_ended) and *started set, or -1 with a reason. */
#define PYSB_WARM_FDS (PYSB_FS_NFDS - 1)
pid_t pysb_warm_start(const pysb_warm_target *t, const pysb_fs_request *rq,
                      const int child_fds[PYSB_WARM_FDS], int *pidfd, int *chan,
                      pysb_fs_reply *started, char *err, size_t errlen);

/* The reaper's wait status and rusage from the server; 0, or -1 when the
 * server died first (the run then ends as internal_error). */
int pysb_warm_ended(int chan, int timeout_ms, int *wait_status, struct rusage *ru,
                    char *err, size_t errlen);

#endif
