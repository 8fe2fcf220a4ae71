/* bench/fork_floor.c — the floor under a warm run on this machine: what a
 * process per run costs before any confinement or HTTP (issue 9's "what
 * would cut it further", measured rather than guessed).
 *
 * Two parts, each a median of N runs in alternating rounds:
 *
 * 1. Shapes of the processes of one run, in a process the size of a fork
 *    server (SIZE MiB of touched private memory; a bare fork server has
 *    about 4), the run writing every third page of it (about what a warm
 *    hello world copies on write):
 *      two:     clone(NEWPID) of a reaper that forks the run, reaps it and
 *               exits: today's shape (the reaper a copy of the server);
 *      one:     clone(NEWPID) of the run itself, no reaper (the run would
 *               be pid 1, which the module does not do: reaper.h says why);
 *      vfork:   clone(VM|VFORK|NEWPID) of a reaper that forks the run and
 *               then execs a tiny static reaper (argv[0] --tiny), so no
 *               second copy of the server exists and none is torn down.
 * 2. `--bootstrap`: prints the module's bootstrap (src/bootstrap.c), for
 *    bench/fork_floor.sh's interpreter part.
 *
 * Build and run (root): see bench/fork_floor.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap.h"

static char  *image;
static size_t image_len;
static int    self_fd = -1;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static __attribute__((noreturn)) void the_run(void)
{
    for (size_t i = 0; i < image_len; i += 3 * 4096)
        image[i]++;
    _exit(0);
}

static void reap_all(void)
{
    while (waitpid(-1, NULL, __WALL) > 0)
        ;
}

static int vfork_reaper(void *arg)
{
    (void)arg;
    pid_t run = fork();
    if (run < 0)
        _exit(98);
    if (run == 0)
        the_run();
    char *argv[] = { "fork_floor", "--tiny", NULL };
    char *envp[] = { NULL };
    syscall(SYS_execveat, self_fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(99);
}

static double one_round(const char *shape, int n, char *stack, size_t stack_len)
{
    double t[n];
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        pid_t c;
        if (!strcmp(shape, "two")) {
            c = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
            if (c == 0) {
                pid_t run = fork();
                if (run == 0)
                    the_run();
                reap_all();
                _exit(run < 0);
            }
        } else if (!strcmp(shape, "one")) {
            c = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
            if (c == 0)
                the_run();
        } else {
            c = clone(vfork_reaper, stack + stack_len, CLONE_VM | CLONE_VFORK | CLONE_NEWPID | SIGCHLD,
                      NULL);
        }
        if (c < 0)
            die("clone");
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "fork_floor: %s: the run failed (status %#x)\n", shape, st);
            exit(1);
        }
        t[i] = now_ms() - t0;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[n / 2];
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--tiny")) {
        reap_all();
        _exit(0);
    }
    if (argc == 2 && !strcmp(argv[1], "--bootstrap")) {
        fputs(pysb_bootstrap, stdout);
        return 0;
    }
    int n = argc > 1 ? atoi(argv[1]) : 300, rounds = argc > 2 ? atoi(argv[2]) : 3;
    size_t mib = argc > 3 ? (size_t)atoi(argv[3]) : 4;
    if (n < 1 || rounds < 1 || mib < 1)
        return 2;
    image_len = mib << 20;
    if (!(image = malloc(image_len)))
        die("malloc");
    memset(image, 1, image_len);
    if ((self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0)
        die("open /proc/self/exe");
    size_t stack_len = 1 << 20;
    char *stack = mmap(NULL, stack_len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        die("mmap");
    static const char *const shapes[] = { "two", "one", "vfork" };
    double best[3][16];
    if (rounds > 16)
        rounds = 16;
    for (int r = 0; r < rounds; r++)
        for (int s = 0; s < 3; s++)
            best[s][r] = one_round(shapes[s], n, stack, stack_len);
    printf("process shapes, a %zu MiB image, every third page written; ms per run, median of %d, "
           "%d rounds:\n", mib, n, rounds);
    for (int s = 0; s < 3; s++) {
        printf("  %-6s", shapes[s]);
        for (int r = 0; r < rounds; r++)
            printf(" %6.3f", best[s][r]);
        printf("\n");
    }
    return 0;
}
