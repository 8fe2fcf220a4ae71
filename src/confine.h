/* confine.h — the child-side confinement steps that need no policy tables:
 * session and descriptors, environment, rlimits, ids, no_new_privs.
 *
 * Contract: each step is a function called in the child, in DESIGN §3
 * order, that either succeeds completely and verifiably or returns -1 with
 * a one-line reason naming the layer ("rlimits: RLIMIT_AS: ..."). They
 * touch nothing but the calling process and are async-signal-safe enough
 * to run between fork and exec (no malloc, no stdio). */
#ifndef PYSB_CONFINE_H
#define PYSB_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

#include "runlimits.h"

/* Where things sit in the child: the program's pipes on 0/1/2, the code
 * pipe on 3 (the bootstrap reads and closes it), the status pipe to the
 * supervisor on 4 (close-on-exec, so the program never sees it), the
 * socket that takes the memory watch's listener to the supervisor on 5
 * (close-on-exec; memwatch.h), the scratch directory's detached trees on
 * 6 and 7 (close-on-exec; the reaper attaches and closes them, scratch.h),
 * the write end of the bootstrap's report pipe on 8 (the program's; the
 * reaper closes its copy after the fork). */
enum { PYSB_FD_CODE = 3, PYSB_FD_STATUS = 4, PYSB_FD_WATCH = 5,
       PYSB_FD_SCRATCH = 6, PYSB_FD_SHM = 7, PYSB_FD_REPORT = 8 };

typedef struct pysb_child_fds {
    int in, out, err;   /* become 0, 1, 2 */
    int code;           /* becomes 3, or -1 */
    int status;         /* becomes 4 */
    int watch;          /* becomes 5, or -1 */
    int scratch;        /* becomes 6, or -1 */
    int shm;            /* becomes 7, or -1 */
    int report;         /* becomes 8, or -1 */
} pysb_child_fds;

/* New session (its scheduling autogroup given the process's nice), the
 * pipes moved into place (an absent one leaves its number closed), every
 * other fd closed. */
int pysb_confine_fds(const pysb_child_fds *f, char *err, size_t errlen);

/* In the run's own UTS namespace: hostname "pysandbox", no domain name.
 * (Its mounts, /proc and cwd are root.h's.) */
int pysb_confine_uts(char *err, size_t errlen);

/* The fixed environment of every run (NULL-terminated); with a scratch
 * directory HOME, TMPDIR and MPLCONFIGDIR point into it. */
extern char *const pysb_child_env[];
char *const *pysb_child_environ(int scratch);

/* Queued signals and POSIX timers a run may hold (RLIMIT_SIGPENDING). */
#define PYSB_SIGPENDING 64

/* RLIMIT_CPU as a backstop (soft = the limit rounded up + 1 s, hard = soft
 * + 1 s: the supervisor stops the run at the exact figure), AS, NPROC,
 * FSIZE (at least the scratch's size: its tmpfs is the real cap), NOFILE,
 * STACK, SIGPENDING = PYSB_SIGPENDING, and CORE = MEMLOCK = MSGQUEUE =
 * RTPRIO = 0. Each read back and checked.
 * extra_tasks: tasks of the same uid beyond the run's own (the reaper). */
int pysb_confine_rlimits(const pysb_limits *l, unsigned extra_tasks,
                         char *err, size_t errlen);

/* No supplementary groups, then gid and uid (real, effective, saved),
 * each verified. uid 0 and gid 0 are refused. */
int pysb_confine_ids(uid_t uid, gid_t gid, char *err, size_t errlen);

/* coredump_filter 0: a core of anything the run execs holds no memory
 * (needs the run's /proc, before the id change). */
int pysb_confine_coredump(char *err, size_t errlen);

/* PR_SET_NO_NEW_PRIVS, and not dumpable. */
int pysb_confine_nnp(char *err, size_t errlen);

#endif
