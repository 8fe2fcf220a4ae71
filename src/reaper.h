/* reaper.h — the first process of a run's namespaces (DESIGN §3).
 *
 * Contract: pysb_reaper_main runs in the child the supervisor cloned into
 * new pid/ipc/uts (and maybe net) namespaces, and never returns. It dies
 * with its supervisor (PR_SET_PDEATHSIG, from its first instruction and
 * again after the uid change), enters its minimal root (root.h: its own
 * copy of the template's mount namespace, /dev, /proc, cwd /), puts the
 * run's pipes on fds 0-4 (and the memory watch's socket on 5, the
 * scratch's trees on 6 and 7, the report pipe on 8) and closes the rest,
 * attaches the scratch at /tmp (its cwd), confines itself (hostname;
 * coredump_filter 0; rlimits;
 * ids; no_new_privs; Landlock), forks the program (which installs the
 * memory watch, loads the seccomp filter and execs the interpreter), then
 * reaps every process of the run; when the program ends it kills and
 * reaps whatever is left, so the run's CPU is all in its rusage, and
 * reports the program's wait status. SIGUSR1 from the supervisor kills
 * every other process of the namespace, so the program is still reaped
 * with its rusage counted. Why pid 1 is not the program itself: the kernel
 * drops signals without a handler that reach a namespace's init from
 * inside it (SIGXCPU, a program's os.kill of itself). No Apache headers. */
#ifndef PYSB_REAPER_H
#define PYSB_REAPER_H

#include <stdint.h>

#include "confine.h"
#include "landlock.h"
#include "supervise.h"

/* One message on the status pipe; below PIPE_BUF, so written atomically. */
enum { PYSB_MSG_CONFINE_FAILED = 1, PYSB_MSG_PROGRAM_ENDED = 2 };
typedef struct pysb_status_msg {
    int32_t kind;
    int32_t value;     /* wait status of the program */
    char    text[248]; /* the failed layer and why */
} pysb_status_msg;

typedef struct pysb_reaper_args {
    const pysb_run_spec *spec;
    const char *const   *argv;         /* what the program execs */
    const pysb_path_set *paths;        /* Landlock's */
    pysb_child_fds       fds;          /* the child's ends of the pipes */
    int                  root_fd;      /* the template root's namespace (root.h) */
    int                  use_landlock;
} pysb_reaper_args;

__attribute__((noreturn)) void pysb_reaper_main(const pysb_reaper_args *a);

#endif
