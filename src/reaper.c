/* reaper.c — the child's side of a run: pid 1 of its namespaces, and the
 * program it forks.
 *
 * Contract: see reaper.h. Each layer is applied in DESIGN §3's order and
 * checked; a failure is reported on the status pipe naming the layer, and
 * the run ends there (the supervisor reports internal_error). Cold and
 * warm runs go through the very same steps; the only differences are
 * where the reaper comes from (the supervisor's clone or a fork server's),
 * the address-space limit it is given, and the program's last step (exec,
 * or back into the interpreter with exec refused). */
#include "reaper.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memwatch.h"
#include "policy.h"
#include "root.h"
#include "scratch.h"

static void send_msg(int fd, const pysb_status_msg *m)
{
    ssize_t n;
    do
        n = write(fd, m, sizeof *m);
    while (n < 0 && errno == EINTR);
}

static void report(int fd, int kind, int value, const char *text)
{
    pysb_status_msg m = { .kind = kind, .value = value };
    if (text)
        snprintf(m.text, sizeof m.text, "%s", text);
    send_msg(fd, &m);
}

static __attribute__((noreturn)) void child_fail(int fd, const char *why)
{
    report(fd, PYSB_MSG_CONFINE_FAILED, 0, why);
    _exit(127);
}

static void stop_everything(int sig)
{
    (void)sig;
    kill(-1, SIGKILL); /* from a namespace's init: all but itself */
}

/* Every disposition back to the default and nothing blocked: a warm
 * reaper is a copy of an interpreter (its handlers, the fork server's
 * mask), a cold one of whatever started the supervisor (a shell may have
 * left SIGINT ignored, which an exec would keep). */
static int plain_default(const struct sigaction *sa)
{
    return sa->sa_handler == SIG_DFL && sa->sa_flags == 0 && sigisemptyset(&sa->sa_mask);
}

/* w: a warm reaper's server state, whose dispositions it has (taken by the
 * server before it served, never changed after): those that are what this
 * sets already are left alone (most of the 64; the calls were 0.03 ms). */
static void reset_signals(const pysb_warm_state *w)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && !(w && plain_default(&w->actions[s])))
            sigaction(s, &dfl, NULL); /* EINVAL for libc's own: kept */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* What wait4() of us would tell our parent, sent before the wait status:
 * everything we reaped plus ourselves, but ru_maxrss of the run's
 * processes alone (ours is the size of what we were cloned from). */
static void report_rusage(int fd)
{
    struct rusage self, kids;
    if (getrusage(RUSAGE_SELF, &self) < 0 || getrusage(RUSAGE_CHILDREN, &kids) < 0)
        return; /* the supervisor falls back to wait4 (cold) or the server's */
    timeradd(&kids.ru_utime, &self.ru_utime, &kids.ru_utime);
    timeradd(&kids.ru_stime, &self.ru_stime, &kids.ru_stime);
    kids.ru_minflt += self.ru_minflt;
    kids.ru_majflt += self.ru_majflt;
    kids.ru_inblock += self.ru_inblock;
    kids.ru_oublock += self.ru_oublock;
    kids.ru_nvcsw += self.ru_nvcsw;
    kids.ru_nivcsw += self.ru_nivcsw;
    pysb_status_msg m = { .kind = PYSB_MSG_RUSAGE };
    memcpy(m.text, &kids, sizeof kids);
    send_msg(fd, &m);
}

/* The filter's variant of the run (policy.h), exec aside. */
static unsigned policy_flags(const pysb_reaper_args *a)
{
    return (a->limits->processes > 1 ? PYSB_POLICY_FORK : 0) |
           (a->fds.scratch >= 0 ? PYSB_POLICY_SCRATCH : 0);
}

/* A warm program: the state a cold interpreter has after its start-up
 * (SIGINT handled, SIGPIPE and SIGXFSZ ignored, its own name), then the
 * filter without exec, then back to the caller. It stays non-dumpable, as
 * the reaper made it: its memory is a copy of the fork server's. */
static void warm_program(const pysb_reaper_args *a, int status_fd)
{
    char err[240];
    const pysb_warm_state *w = a->warm;
    /* Those reset_signals left as the server had them are still so, but
     * SIGUSR1 (the reaper's handler, then SIG_DFL in program()). */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && (s == SIGUSR1 || !plain_default(&w->actions[s])))
            sigaction(s, &w->actions[s], NULL);
    sigprocmask(SIG_SETMASK, w->mask, NULL);
    prctl(PR_SET_NAME, w->comm, 0, 0, 0);
    /* As MALLOC_ARENA_MAX=1 does for a cold run (confine.c): glibc read
     * the environment in the fork server, which never made a thread, so
     * no arena limit is fixed yet and this one holds for the run. */
    if (mallopt(M_ARENA_MAX, 1) != 1)
        child_fail(status_fd, "warm: mallopt(M_ARENA_MAX) failed");
    pysb_bpf filter = pysb_policy_prebuilt(PYSB_POLICY_NO_EXEC | policy_flags(a));
    if (pysb_policy_install(&filter, err, sizeof err) < 0)
        child_fail(status_fd, err);
    /* No exec closes it for us: user code must not see the status pipe. */
    close(status_fd);
}

/* The program: the memory watch, the filter, then exec (cold) or return
 * (warm). */
static void program(const pysb_reaper_args *a, int status_fd)
{
    char err[240];
    if (a->warm) {
        /* What it was born with: the fork server's pages it maps from the
         * start, which memory_kb does not count as the run's. */
        struct rusage born;
        if (getrusage(RUSAGE_SELF, &born) == 0)
            report(status_fd, PYSB_MSG_BORN, (int32_t)born.ru_maxrss, NULL);
    }
    signal(SIGUSR1, SIG_DFL);
    /* The memory watch first: the main filter refuses seccomp(). */
    if (a->fds.watch >= 0 && pysb_memwatch_install(PYSB_FD_WATCH, err, sizeof err) < 0)
        child_fail(status_fd, err);
    if (a->warm) {
        warm_program(a, status_fd);
        return;
    }
    pysb_bpf filter = pysb_policy_prebuilt(policy_flags(a));
    if (pysb_policy_install(&filter, err, sizeof err) < 0)
        child_fail(status_fd, err);
    execve(a->argv[0], (char *const *)a->argv, pysb_child_environ(a->fds.scratch >= 0));
    snprintf(err, sizeof err, "exec: %s: %s", a->argv[0], strerror(errno));
    child_fail(status_fd, err);
}

void pysb_reaper_main(const pysb_reaper_args *a)
{
    char err[240];
    int status_fd = a->fds.status;

    /* Die with the parent from the start; set again after the uid change
     * below, which clears it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        child_fail(status_fd, "reaper: PR_SET_PDEATHSIG failed");
    reset_signals(a->warm);
    prctl(PR_SET_NAME, "pysb-reaper", 0, 0, 0);
    /* The root first, while its descriptor is open: the fds step closes
     * every descriptor it does not place. */
    if (pysb_root_enter(a->root_fd, err, sizeof err) < 0)
        child_fail(status_fd, err);
    if (pysb_confine_fds(&a->fds, err, sizeof err) < 0)
        child_fail(status_fd, err);
    status_fd = PYSB_FD_STATUS;
    if (pysb_confine_uts(err, sizeof err) < 0)
        child_fail(status_fd, err);
    /* In the run's private copy of its root's mount namespace: the attach
     * reaches neither the template nor the host. */
    if (a->fds.scratch >= 0 &&
        pysb_scratch_attach(PYSB_FD_SCRATCH, a->fds.shm >= 0 ? PYSB_FD_SHM : -1, err,
                            sizeof err) < 0)
        child_fail(status_fd, err);
    if (pysb_confine_coredump(err, sizeof err) < 0)
        child_fail(status_fd, err);
    if (pysb_confine_rlimits(a->limits, 1, err, sizeof err) < 0)
        child_fail(status_fd, err);
    if (pysb_confine_ids(a->uid, a->gid, err, sizeof err) < 0)
        child_fail(status_fd, err);
    /* A supervisor (or fork server) that dies takes the run with it. Set
     * after the uid change, which clears it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
        snprintf(err, sizeof err, "reaper: PR_SET_PDEATHSIG: %s", strerror(errno));
        child_fail(status_fd, err);
    }
    if (pysb_confine_nnp(err, sizeof err) < 0)
        child_fail(status_fd, err);
    int abi;
    if (a->use_landlock && pysb_landlock_apply(a->paths, &abi, err, sizeof err) < 0)
        child_fail(status_fd, err);

    /* The supervisor's way to stop the run: SIGUSR1 makes us kill every
     * other process of the namespace and then reap the program, so its
     * rusage is counted (killing us instead would make the kernel reap
     * them unaccounted). The program, same uid, may send it too: it can
     * only stop itself that way. */
    struct sigaction sa = { .sa_handler = stop_everything };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) {
        snprintf(err, sizeof err, "reaper: sigaction: %s", strerror(errno));
        child_fail(status_fd, err);
    }
    pid_t prog = fork();
    if (prog < 0) {
        snprintf(err, sizeof err, "reaper: fork: %s", strerror(errno));
        child_fail(status_fd, err);
    }
    if (prog == 0) {
        program(a, status_fd);
        return; /* warm: into the interpreter */
    }
    /* The reaper must not hold the program's pipes open, nor the watch's
     * socket (its EOF tells the supervisor no listener comes). */
    for (int fd = 0; fd <= PYSB_FD_CODE; fd++)
        close(fd);
    if (a->fds.watch >= 0)
        close(PYSB_FD_WATCH);
    if (a->fds.report >= 0)
        close(PYSB_FD_REPORT); /* the program's alone: EOF when it ends */
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, __WALL);
        if (w == prog) {
            /* Whatever the program left behind dies now, and is reaped
             * here, so that all the run's CPU is in our rusage. */
            kill(-1, SIGKILL);
            while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
                ;
            report_rusage(status_fd);
            report(status_fd, PYSB_MSG_PROGRAM_ENDED, st, NULL);
            _exit(0);
        }
        if (w < 0 && errno != EINTR) {
            snprintf(err, sizeof err, "reaper: waitpid: %s", strerror(errno));
            child_fail(status_fd, err);
        }
        /* An orphan of the run reparented to us: reaped, keep waiting. */
    }
}
