/* runcpu.c — the CPU of every task of a run, and its tasks, from outside.
 *
 * Contract: see runcpu.h. */
#include "runcpu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Deeper than any tree a run can make within its task limit. */
#define MAX_DEPTH 64

static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, buf, len - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* The process's CPU clock: the kernel's MAKE_PROCESS_CPUCLOCK(pid,
 * CPUCLOCK_SCHED), what clock_getcpuclockid(3) returns, without its extra
 * system call. */
static double process_clock(pid_t pid)
{
    struct timespec ts;
    clockid_t clk = (clockid_t)((~(unsigned)pid << 3) | 2);
    if (clock_gettime(clk, &ts) < 0)
        return 0;
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* cutime + cstime of /proc/PID/stat: the children it has reaped. */
static double reaped_children(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0)
        return 0;
    /* after "pid (comm) ": state ppid pgrp session tty_nr tpgid flags
     * minflt cminflt majflt cmajflt utime stime cutime cstime */
    const char *p = strrchr(buf, ')');
    unsigned long long cu, cs;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %llu %llu",
                     &cu, &cs) != 2)
        return 0;
    return (double)(cu + cs) / (double)sysconf(_SC_CLK_TCK);
}

typedef void (*visit_fn)(pid_t pid, int depth, void *ctx);

/* Calls fn for pid and each of its descendants: parents first, or with
 * post, children first (a killed parent's children would move to the
 * reaper, already walked). */
static void walk(pid_t pid, int depth, int post, visit_fn fn, void *ctx)
{
    if (!post)
        fn(pid, depth, ctx);
    if (depth >= MAX_DEPTH) {
        if (post)
            fn(pid, depth, ctx);
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) {
        if (post)
            fn(pid, depth, ctx);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char cp[96], buf[4096];
        if (snprintf(cp, sizeof cp, "/proc/%d/task/%s/children", (int)pid, e->d_name) >=
                (int)sizeof cp ||
            read_small(cp, buf, sizeof buf) <= 0)
            continue;
        for (char *q = buf; *q;) {
            char *end;
            long c = strtol(q, &end, 10);
            if (end == q)
                break;
            if (c > 0)
                walk((pid_t)c, depth + 1, post, fn, ctx);
            q = end;
        }
    }
    closedir(d);
    if (post)
        fn(pid, depth, ctx);
}

static void add_cpu(pid_t pid, int depth, void *ctx)
{
    (void)depth;
    *(double *)ctx += process_clock(pid) + reaped_children(pid);
}

double pysb_run_cpu(pid_t root)
{
    double total = 0;
    walk(root, 0, 0, add_cpu, &total);
    return total;
}

static void kill_below(pid_t pid, int depth, void *ctx)
{
    if (depth > 0 && kill(pid, SIGKILL) == 0)
        ++*(int *)ctx;
}

int pysb_run_kill_tasks(pid_t root)
{
    int n = 0;
    walk(root, 0, 1, kill_below, &n);
    return n;
}
