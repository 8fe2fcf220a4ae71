/* reaper.c — the child's side of a run: pid 1 of its namespaces.
 *
 * Contract: see reaper.h. Each layer is applied in DESIGN §3's order and
 * checked; a failure is reported on the status pipe naming the layer, and
 * the run ends there (the supervisor reports internal_error). */
#include "reaper.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memwatch.h"
#include "policy.h"
#include "root.h"
#include "scratch.h"

static void report(int fd, int kind, int value, const char *text)
{
    pysb_status_msg m = { .kind = kind, .value = value };
    if (text)
        snprintf(m.text, sizeof m.text, "%s", text);
    ssize_t n;
    do
        n = write(fd, &m, sizeof m);
    while (n < 0 && errno == EINTR);
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

void pysb_reaper_main(const pysb_reaper_args *a)
{
    char err[240];
    int status_fd = a->fds.status;
    const pysb_run_spec *s = a->spec;

    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_NAME, "pysb-reaper", 0, 0, 0);
    /* Die with the supervisor from the start; set again after the uid
     * change below, which clears it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        child_fail(status_fd, "reaper: PR_SET_PDEATHSIG failed");
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
    if (pysb_confine_rlimits(&s->limits, 1, err, sizeof err) < 0)
        child_fail(status_fd, err);
    if (pysb_confine_ids(s->uid, s->gid, err, sizeof err) < 0)
        child_fail(status_fd, err);
    /* A supervisor that dies (Ctrl-C on the CLI, a crash) takes the run
     * with it. Set after the uid change, which clears it. */
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
        signal(SIGUSR1, SIG_DFL);
        /* The memory watch first: the main filter refuses seccomp(). */
        if (a->fds.watch >= 0 && pysb_memwatch_install(PYSB_FD_WATCH, err, sizeof err) < 0)
            child_fail(status_fd, err);
        unsigned policy = (s->limits.processes > 1 ? PYSB_POLICY_FORK : 0) |
                          (a->fds.scratch >= 0 ? PYSB_POLICY_SCRATCH : 0);
        pysb_bpf filter = pysb_policy_prebuilt(policy);
        if (pysb_policy_install(&filter, err, sizeof err) < 0)
            child_fail(status_fd, err);
        execve(a->argv[0], (char *const *)a->argv, pysb_child_environ(a->fds.scratch >= 0));
        snprintf(err, sizeof err, "exec: %s: %s", a->argv[0], strerror(errno));
        child_fail(status_fd, err);
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
