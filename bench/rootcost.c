/* bench/rootcost.c — what the minimal root costs a run, the mechanism
 * alone (end-to-end timings on a shared 2-core machine move by
 * milliseconds; this moves by microseconds).
 *
 * Times, in alternating rounds, each a median of N:
 *   open:   pysb_root_open for the interpreter's path set (the supervisor's
 *           per-run part: the key check and the pin's descriptor);
 *   before: clone(NEWPID|NEWNS|NEWIPC|NEWUTS), the child making its copy of
 *           the host's mounts private, mounting its /proc and going to /
 *           (what the reaper did before the root), exit, wait;
 *   after:  clone(NEWPID|NEWIPC|NEWUTS), the child entering its root
 *           (pysb_root_enter: setns, unshare, /dev, /proc, /), exit, wait.
 * Per run, the root costs open + after - before.
 *
 * Build and run (root): make && cc -O2 -std=c11 -D_GNU_SOURCE -iquote src \
 *   -o build/rootcost bench/rootcost.c build/libpysb.a -lseccomp -ljansson -lm \
 *   && build/rootcost [N] [ROUNDS] */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "landlock.h"
#include "root.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int root_fd = -1;
static char stack[1 << 16] __attribute__((aligned(16)));

static int child_before(void *arg)
{
    (void)arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
        chdir("/") < 0)
        _exit(1);
    _exit(0);
}

static int child_after(void *arg)
{
    (void)arg;
    char err[256];
    if (pysb_root_enter(root_fd, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        _exit(1);
    }
    _exit(0);
}

static double one_clone(int (*fn)(void *), int flags)
{
    double t0 = now_us();
    pid_t pid = clone(fn, stack + sizeof stack, flags | SIGCHLD, NULL);
    if (pid < 0) {
        perror("clone");
        exit(1);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "child failed\n");
        exit(1);
    }
    return now_us() - t0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200, rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 1 || rounds < 1)
        return 2;
    static pysb_path_set set;
    char err[512];
    const char *none[] = { NULL };
    if (pysb_interp_paths("/usr/bin/python3", none, &set, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double *v = malloc(sizeof *v * (size_t)n);
    double sum_open = 0, sum_before = 0, sum_after = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++) {
            double t0 = now_us();
            int fd = pysb_root_open(&set, "/usr/bin/python3", err, sizeof err);
            v[i] = now_us() - t0;
            if (fd < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            if (root_fd >= 0)
                close(root_fd);
            root_fd = fd;
        }
        double open_us = median(v, n);
        for (int i = 0; i < n; i++)
            v[i] = one_clone(child_before, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS);
        double before_us = median(v, n);
        for (int i = 0; i < n; i++)
            v[i] = one_clone(child_after, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS);
        double after_us = median(v, n);
        printf("round %d: open %6.1f us  before %6.1f us  after %6.1f us  root costs %+6.1f us\n",
               r + 1, open_us, before_us, after_us, open_us + after_us - before_us);
        sum_open += open_us, sum_before += before_us, sum_after += after_us;
    }
    printf("mean of %d rounds of %d: open %.1f us, before %.1f us, after %.1f us: "
           "the root costs %+.1f us per run\n", rounds, n, sum_open / rounds,
           sum_before / rounds, sum_after / rounds,
           (sum_open + sum_after - sum_before) / rounds);
    free(v);
    return 0;
}
