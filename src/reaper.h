/* reaper.h — the first process of a run's namespaces (DESIGN §3), for
 * cold and warm runs alike.
 *
 * Contract: pysb_reaper_main runs in the child cloned into new
 * pid/ipc/uts (and maybe net) namespaces — by the supervisor (cold) or by
 * a fork server (warm, forkserver.h) — and never returns in the reaper. It
 * dies with its parent (PR_SET_PDEATHSIG, from its first instruction and
 * again after the uid change), resets every signal disposition and the
 * mask, enters its minimal root (root.h: its own copy of the template's
 * mount namespace, /dev, /proc, cwd /), puts the run's pipes on fds 0-4
 * (and the memory watch's socket on 5, the scratch's trees on 6 and 7,
 * the report pipe on 8) and closes the rest (a fork server's control
 * socket, other runs' channels, whatever a preload opened), attaches the
 * scratch at /tmp (its cwd), confines itself (hostname; coredump_filter 0;
 * rlimits; ids; no_new_privs; Landlock), forks the program, then reaps
 * every process of
 * the run; when the program ends it kills and reaps whatever is left, so
 * the run's CPU is all in its rusage, and reports, on the status pipe, the
 * rusage of the run (PYSB_MSG_RUSAGE) and then the program's wait status.
 * SIGUSR1 from the supervisor kills
 * every other process of the namespace, so the program is still reaped
 * with its rusage counted. Why pid 1 is not the program itself: the kernel
 * drops signals without a handler that reach a namespace's init from
 * inside it (SIGXCPU, a program's os.kill of itself).
 *
 * The program installs the memory watch and the seccomp filter, then:
 * cold, execs argv; warm (a->warm set), gets the interpreter's own signal
 * dispositions, mask and name back, loads the filter that refuses execve
 * outright, closes the status pipe, reports what it was born with
 * (PYSB_MSG_BORN) and *returns* from pysb_reaper_main: the caller (the
 * fork server's loop, back in the interpreter) then runs the interpreter's
 * after-fork hook and the bootstrap, and nothing else. No Apache headers. */
#ifndef PYSB_REAPER_H
#define PYSB_REAPER_H

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

#include "confine.h"
#include "landlock.h"
#include "runlimits.h"

/* One message on the status pipe; below PIPE_BUF, so written atomically. */
enum {
    PYSB_MSG_CONFINE_FAILED = 1, /* text: the failed layer and why */
    PYSB_MSG_PROGRAM_ENDED = 2,  /* value: the program's wait status */
    PYSB_MSG_RUSAGE = 3,         /* text: a struct rusage of the run (below) */
    PYSB_MSG_BORN = 4,           /* warm: value = the program's RSS (KiB) at birth */
};
typedef struct pysb_status_msg {
    int32_t kind;
    int32_t value;
    char    text[248];
} pysb_status_msg;

/* What PYSB_MSG_RUSAGE carries: what wait4() of the reaper would tell, but
 * for its own exit, and with ru_maxrss the largest of the run's processes
 * but the reaper (a warm reaper is a copy of a preloaded interpreter). It
 * is sent in both modes, so cpu_time and memory_kb mean one thing. */
_Static_assert(sizeof(struct rusage) <= sizeof(((pysb_status_msg *)0)->text),
               "a rusage fits in a status message");

/* A warm program's way back into the interpreter it was forked from. */
typedef struct pysb_warm_state {
    const struct sigaction *actions;   /* the interpreter's, [NSIG] */
    const sigset_t         *mask;      /* its signal mask */
    const char             *comm;      /* its name ("python3") */
} pysb_warm_state;

typedef struct pysb_reaper_args {
    const pysb_limits   *limits;       /* as applied (warm: AS with the
                                          preloaded state on top) */
    uid_t                uid;
    gid_t                gid;
    const char *const   *argv;         /* cold: what the program execs */
    const pysb_path_set *paths;        /* Landlock's */
    pysb_child_fds       fds;          /* the child's ends of the pipes */
    int                  root_fd;      /* the template root's namespace (root.h) */
    int                  use_landlock;
    const pysb_warm_state *warm;       /* NULL: a cold run */
} pysb_reaper_args;

/* Never returns in the reaper; returns in a warm program (see above). */
void pysb_reaper_main(const pysb_reaper_args *a);

#endif
