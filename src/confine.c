/* confine.c — session, descriptors, environment, rlimits, ids and
 * no_new_privs of a confined child (DESIGN §3 steps 1-5).
 *
 * Contract: see confine.h. Runs between fork and exec, so it formats its
 * messages with snprintf into caller buffers and allocates nothing. */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* The *_NUM_THREADS: one thread per BLAS and OpenMP library, read when
 * they load: a warm run's fork server must be single-threaded when it
 * forks (a worker thread holding a lock would be copied mid-flight), and a
 * cold run sees the same environment as a warm one.
 * MALLOC_ARENA_MAX=1: glibc gives a thread that mallocs its own arena, a
 * 64 MiB reservation of address space, so under RLIMIT_AS the arenas,
 * not PySandboxThreads, capped a run's threads (6 at the default 256 MiB).
 * All threads share the main arena instead (the GIL serialises most of
 * their allocations anyway). A warm program gets it by mallopt (reaper.c):
 * its malloc read the environment long ago, in the fork server. */
#define ENV_COMMON \
    "PATH=/usr/local/bin:/usr/bin:/bin", \
    "LANG=C.UTF-8", \
    "PYTHONIOENCODING=utf-8", \
    "PYTHONUNBUFFERED=1", \
    "PYTHONDONTWRITEBYTECODE=1", \
    "OPENBLAS_NUM_THREADS=1", \
    "OMP_NUM_THREADS=1", \
    "MKL_NUM_THREADS=1", \
    "BLIS_NUM_THREADS=1", \
    "NUMEXPR_NUM_THREADS=1", \
    "VECLIB_MAXIMUM_THREADS=1", \
    "MALLOC_ARENA_MAX=1"

char *const pysb_child_env[] = { ENV_COMMON, "HOME=/", NULL };

/* matplotlib's config and font cache must be writable, or it will not
 * import: the scratch is the one writable place. Its backend is the
 * bootstrap's (figures saved into out/, bootstrap.c). */
static char *const env_scratch[] = {
    ENV_COMMON, "HOME=/tmp", "TMPDIR=/tmp", "MPLCONFIGDIR=/tmp/.matplotlib",
    "MPLBACKEND=module://_pysb_mpl", NULL,
};

char *const *pysb_child_environ(int scratch)
{
    return scratch ? env_scratch : pysb_child_env;
}

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, strerror(errno));
    return -1;
}

/* dup2 that survives the source already being the target, and clears
 * close-on-exec on the result. */
static int place(int from, int to)
{
    if (from == to)
        return fcntl(to, F_SETFD, 0);
    return dup2(from, to) < 0 ? -1 : 0;
}

/* A new session is a new scheduling autogroup (kernels with
 * CONFIG_SCHED_AUTOGROUP), whose own nice is 0: its tasks' nice then
 * weighs only against each other. Carry the process's nice over to the
 * group, so a run started at lower priority (the launcher nices a
 * client's further runs) competes as such. Best effort: no autogroups,
 * nothing to do. */
static void keep_nice(void)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, 0);
    if (n <= 0 || errno)
        return;
    int fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[16];
    int len = snprintf(buf, sizeof buf, "%d", n);
    if (write(fd, buf, (size_t)len) < 0)
        errno = 0;
    close(fd);
}

int pysb_confine_fds(const pysb_child_fds *f, char *err, size_t errlen)
{
    enum { SLOTS = PYSB_FD_REPORT + 1 };
    if (setsid() < 0)
        return fail(err, errlen, "fds: setsid");
    keep_nice();
    /* Lift every source above the targets first, so that one placement
     * never overwrites a source that is still to be placed. */
    int src[SLOTS] = { f->in, f->out, f->err, f->code, f->status, f->watch,
                       f->scratch, f->shm, f->report };
    for (int i = 0; i < SLOTS; i++) {
        if (src[i] < 0)
            continue;
        int hi = fcntl(src[i], F_DUPFD_CLOEXEC, 16);
        if (hi < 0)
            return fail(err, errlen, "fds: F_DUPFD");
        src[i] = hi;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (src[i] >= 0 && place(src[i], i) < 0)
            return fail(err, errlen, "fds: dup2");
        if (src[i] < 0 && close(i) < 0 && errno != EBADF)
            return fail(err, errlen, "fds: close");
        /* 0-3 and the report pipe are the program's; the rest ours alone. */
        if (src[i] >= 0 && i >= PYSB_FD_STATUS && i != PYSB_FD_REPORT &&
            fcntl(i, F_SETFD, FD_CLOEXEC) < 0)
            return fail(err, errlen, "fds: cloexec");
    }
    if (close_range(SLOTS, ~0U, 0) < 0)
        return fail(err, errlen, "fds: close_range");
    return 0;
}

int pysb_confine_uts(char *err, size_t errlen)
{
    static const char host[] = "pysandbox", domain[] = "(none)";
    if (sethostname(host, sizeof host - 1) < 0 ||
        setdomainname(domain, sizeof domain - 1) < 0)
        return fail(err, errlen, "namespaces: sethostname");
    return 0;
}

static int set_one(int res, const char *name, rlim_t soft, rlim_t hard,
                   char *err, size_t errlen)
{
    struct rlimit rl = { soft, hard }, back;
    if (setrlimit(res, &rl) < 0 || getrlimit(res, &back) < 0) {
        snprintf(err, errlen, "rlimits: %s: %s", name, strerror(errno));
        return -1;
    }
    if (back.rlim_cur != soft || back.rlim_max != hard) {
        snprintf(err, errlen, "rlimits: %s did not hold", name);
        return -1;
    }
    return 0;
}

int pysb_confine_rlimits(const pysb_limits *l, unsigned extra_tasks,
                         char *err, size_t errlen)
{
    /* A backstop only: the supervisor stops the run at the exact figure
     * (supervise.c). RLIMIT_CPU has whole seconds, and the kernel checks
     * it against tick-sampled time, which runs ahead of the exact figure
     * by tens of milliseconds: a second above the limit rounded up, so it
     * never fires first. */
    rlim_t cpu = (rlim_t)ceil(l->cpu_sec) + 1;
    /* Tasks: RLIMIT_NPROC counts every task of the uid, threads too. */
    rlim_t tasks = (rlim_t)l->processes + l->threads + extra_tasks;
    /* A file as large as the scratch may be written there (EFBIG first
     * would be a second, smaller cap); nothing else is writable. */
    rlim_t fsize = l->fsize_bytes > l->scratch_bytes ? l->fsize_bytes : l->scratch_bytes;
    struct { int res; const char *name; rlim_t soft, hard; } t[] = {
        { RLIMIT_CPU, "RLIMIT_CPU", cpu, cpu + 1 },
        { RLIMIT_AS, "RLIMIT_AS", l->memory_bytes, l->memory_bytes },
        { RLIMIT_NPROC, "RLIMIT_NPROC", tasks, tasks },
        { RLIMIT_FSIZE, "RLIMIT_FSIZE", fsize, fsize },
        { RLIMIT_NOFILE, "RLIMIT_NOFILE", l->nofile, l->nofile },
        { RLIMIT_STACK, "RLIMIT_STACK", l->stack_bytes, l->stack_bytes },
        { RLIMIT_CORE, "RLIMIT_CORE", 0, 0 },
        { RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 0, 0 },
        { RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 0, 0 },
        { RLIMIT_RTPRIO, "RLIMIT_RTPRIO", 0, 0 },
        /* Queued signals, and POSIX timers, each of which holds a
         * queued-signal slot: kernel memory outside RLIMIT_AS (96363
         * timers, 36 MiB, by default here). CPython queues none itself. */
        { RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", PYSB_SIGPENDING, PYSB_SIGPENDING },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (set_one(t[i].res, t[i].name, t[i].soft, t[i].hard, err, errlen) < 0)
            return -1;
    return 0;
}

int pysb_confine_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (uid == 0 || gid == 0) {
        snprintf(err, errlen, "ids: refusing to run as uid/gid 0");
        return -1;
    }
    if (setgroups(0, NULL) < 0)
        return fail(err, errlen, "ids: setgroups");
    if (setresgid(gid, gid, gid) < 0)
        return fail(err, errlen, "ids: setresgid");
    if (setresuid(uid, uid, uid) < 0)
        return fail(err, errlen, "ids: setresuid");
    uid_t r, e, s;
    gid_t gr, ge, gs;
    gid_t groups[1];
    if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0)
        return fail(err, errlen, "ids: getresuid");
    if (r != uid || e != uid || s != uid || gr != gid || ge != gid ||
        gs != gid || getgroups(1, groups) != 0) {
        snprintf(err, errlen, "ids: identity did not hold");
        return -1;
    }
    /* The change must be irreversible. */
    if (setresuid(0, 0, 0) == 0) {
        snprintf(err, errlen, "ids: could regain root");
        return -1;
    }
    return 0;
}

int pysb_confine_coredump(char *err, size_t errlen)
{
    /* Nothing of the address space in a core: the filter is inherited by
     * fork and kept across execve, and the program cannot reopen /proc to
     * change it (Landlock). RLIMIT_CORE = 0 does not cover a piped
     * core_pattern (systemd-coredump), which the kernel feeds whatever
     * the limit; the filter does. */
    int fd = open("/proc/self/coredump_filter", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "coredump: /proc/self/coredump_filter");
    ssize_t n = write(fd, "0", 1);
    int saved = errno;
    close(fd);
    if (n != 1) {
        errno = n < 0 ? saved : EIO;
        return fail(err, errlen, "coredump: writing coredump_filter");
    }
    return 0;
}

int pysb_confine_nnp(char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(err, errlen, "no_new_privs: PR_SET_NO_NEW_PRIVS");
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        snprintf(err, errlen, "no_new_privs: did not hold");
        return -1;
    }
    /* Not dumpable: no core, and no ptrace or /proc access by the same
     * uid. execve resets it for the program; seccomp and Landlock cover
     * the program, this covers the reaper, which never execs. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return fail(err, errlen, "no_new_privs: PR_SET_DUMPABLE");
    return 0;
}
