/* forkserver.h — the loop of a fork server: an interpreter started once,
 * with its preloads imported, that clones one reaper per warm run.
 *
 * Contract: pysb_fs_serve runs inside an interpreter that has imported its
 * preloads (the _pysandbox extension calls it; it knows nothing of
 * Python: the interpreter's fork bookkeeping comes in as hooks). It must
 * be called by root, single-threaded (it checks and refuses otherwise), in
 * the network namespace the runs are to share, with the control socket on
 * cfg->ctl_fd. It announces READY (or REFUSED and why) on the control
 * socket, then serves RUN and PING (warm_wire.h) until SIGTERM, SIGINT or
 * SIGHUP or the end of the control socket, and returns 0 once the runs in
 * flight have ended; a RUN that comes meanwhile is REFUSED, so its
 * supervisor goes cold at once. For every RUN it clones a reaper into new
 * pid/mount/ipc/uts namespaces (the shared network namespace is its own)
 * that confines itself exactly as a cold reaper does (reaper.h) and forks
 * the program; pysb_fs_serve returns 1 *in that program*, confined, with
 * execve refused and the interpreter's after-fork hook run: the caller
 * runs the bootstrap and nothing else. The reaper never returns. -1: it
 * could not start serving (err says why, READY said REFUSED).
 *
 * Between forks the server runs only this C loop: no Python, the GIL never
 * released, so no thread can appear after the check. It holds a run's
 * pipe ends only until the clone; the supervisor, not the server, sees the
 * run's output, clock and end (the reaper reports on the status pipe).
 * The server is the reaper's parent: it reaps it and sends ENDED (the
 * reaper's wait status and rusage) for a reaper that could not report
 * itself; a supervisor that hangs up has its run killed (pidfd). */
#ifndef PYSB_FORKSERVER_H
#define PYSB_FORKSERVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct pysb_fs_hooks {
    void (*before_fork)(void);   /* in the server, before the clone */
    void (*after_parent)(void);  /* in the server, after it (even failed) */
    void (*after_child)(void);   /* in the program, confined */
} pysb_fs_hooks;

typedef struct pysb_fs_config {
    int         ctl_fd;          /* the control socket (SOCK_SEQPACKET) */
    const char *interp;          /* the interpreter binary, for Landlock */
    const char *const *ro_paths; /* extra read-only paths, NULL-terminated */
    int         waive_landlock;  /* run without Landlock if unavailable */
    uint64_t    vmsize_base;     /* bytes of address space before preloads */
    uint64_t    rss_base;        /* bytes resident before preloads */
    int         preloaded;       /* any preloads: RLIMIT_AS gets their
                                    address space on top of the limit */
    const char *python;          /* the interpreter's version, for READY */
} pysb_fs_config;

int pysb_fs_serve(const pysb_fs_config *cfg, const pysb_fs_hooks *hooks,
                  char *err, size_t errlen);

/* The server's exit status when it stopped because a path of its runs'
 * minimal root was replaced (checked before each RUN, which then goes
 * cold): its owner starts a new one, which builds the new root. */
#define PYSB_FS_EXIT_ROOT_REPLACED 75

/* In the program of a run (pysb_fs_serve returned 1): the environment a
 * cold run of it would have been exec'd with (pysb_child_environ: with a
 * scratch, HOME, TMPDIR and the matplotlib variables point into it); the
 * caller makes it the interpreter's (environ, posix.environ, os.environ). */
char *const *pysb_fs_run_environ(void);

#endif
