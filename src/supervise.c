/* supervise.c — spawn one confined run, pump its pipes, enforce the wall
 * clock, the CPU limit and the output cap, answer its memory watch, reap
 * it, and say what happened. The child's side (the reaper) is reaper.c's.
 *
 * Contract: see supervise.h. Process shape of a cold run (a warm run's
 * reaper is a fork server's child instead, forkserver.c, and the same
 * from there on):
 *
 *   supervisor (caller, root)
 *     └─ reaper: pid 1 of new pid/ipc/uts(/net) namespaces, in its own copy
 *        of the minimal root (root.h): its own /dev, /proc and cwd;
 *        hostname, coredump_filter, rlimits, ids,
 *        no_new_privs and Landlock applied; forks once, waits, kills and
 *        reaps what the program left, reports the program's wait status
 *        on the status pipe, exits
 *          └─ program: memory watch and seccomp loaded, execve of the
 *             interpreter
 *
 * The reaper exists because the kernel drops signals without a handler
 * that reach a namespace's init from inside it (SIGXCPU, a program's
 * os.kill of itself): with the program as pid 2 every signal means what it
 * means elsewhere. Every stop the supervisor decides on asks the reaper
 * (SIGUSR1) to kill the rest of the run and reap the program (a CPU stop
 * also SIGKILLs the run's processes itself, at once), and SIGKILLs the
 * reaper from outside if it has not ended half a second later; when it
 * dies, the kernel kills and reaps everything else in the namespace, so
 * nothing of the run can outlive pysb_run. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "confine.h"
#include "bootstrap.h"
#include "landlock.h"
#include "memwatch.h"
#include "reaper.h"
#include "root.h"
#include "runcpu.h"
#include "scratch.h"
#include "utf8.h"
#include "warm.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define READ_CHUNK 65536

/* The supervisor's side of a run. */
struct sup {
    const pysb_run_spec *spec;
    pysb_output_fn out;
    void *ctx;
    pid_t reaper;
    int pidfd;
    int out_fd[2];              /* read ends of stdout, stderr */
    int in_w, code_w, status_r;
    int report_r;               /* the bootstrap's report pipe, or -1 */
    char report[512];           /* what came on it (the last line counts) */
    size_t report_len;
    const char *code_buf;       /* what goes down the code pipe */
    size_t code_len;
    size_t code_off, stdin_off;
    char  *pump;                /* stdin bytes read from stdin_fd */
    size_t pump_len, pump_off;
    int    stdin_src;           /* -1 once exhausted */
    uint64_t kept;              /* output bytes kept so far */
    pysb_stop stop;             /* why we stopped the run; NONE: we did not */
    double hard_kill_at;        /* SIGKILL the reaper then, 0: not due */
    int reaped, have_status, confine_failed;
    int program_status;
    struct rusage ru;           /* wait4's (cold) or the server's (warm) */
    int reaper_status;
    struct rusage ru_report;    /* the reaper's own (PYSB_MSG_RUSAGE) */
    int have_ru_report;
    /* A warm run: the fork server's reply channel, what a bare
     * interpreter has resident and what the program was born with (KiB;
     * memory_kb counts neither) */
    int warm, chan;
    long base_kb, born_kb;
    uint64_t as_limit;          /* RLIMIT_AS the run was given */
    /* The CPU limit, enforced from here at the exact figure */
    double cpu_check_at;        /* next look at the run's CPU (monotonic) */
    int    ncpu;                /* the most CPU seconds a wall second holds */
    pysb_memwatch *mw;          /* NULL: memory not watched */
};

/* Ask the reaper to kill the run (see reaper_main); if it has not ended
 * within REAPER_GRACE, SIGKILL the reaper itself: as init of the run's pid
 * namespace, its death takes every process of the run with it. */
#define REAPER_GRACE 0.5

/* Stops the run for `why`. A second reason only replaces the first when it
 * ranks higher (the order of pysb_stop, which is the classifier's
 * precedence): a run stopped at its wall clock whose last output then
 * overflows the cap ends as output_limit. */
/* Through the pidfd, never by pid: a warm reaper is not our child, so once
 * its server has reaped it the pid may name another process. */
static int signal_reaper(const struct sup *s, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0);
}

static void kill_run(struct sup *s, pysb_stop why)
{
    if (s->stop == PYSB_STOP_NONE && !s->reaped) {
        if (signal_reaper(s, SIGUSR1) < 0 && errno != ESRCH)
            fprintf(stderr, "PYSB supervise: kill %d: %s\n", (int)s->reaper,
                    strerror(errno));
        s->hard_kill_at = pysb_monotonic() + REAPER_GRACE;
    }
    if (why > s->stop)
        s->stop = why;
}

/* A stop of the supervisor's own making, with its reason in r->error. */
static void fail_run(struct sup *s, pysb_result *r, pysb_stop why, const char *msg)
{
    snprintf(r->error, sizeof r->error, "%s", msg);
    kill_run(s, why);
}

static void hard_kill(struct sup *s)
{
    if (!s->reaped && s->hard_kill_at > 0 &&
        signal_reaper(s, SIGKILL) < 0 && errno != ESRCH)
        fprintf(stderr, "PYSB supervise: kill %d: %s\n", (int)s->reaper,
                strerror(errno));
    s->hard_kill_at = 0;
}

/* ---- the CPU limit, from outside ----------------------------------- */

/* Shortest wait between two looks at a run near its limit: the run can
 * overshoot by about ncpu times this (plus a scheduler tick). */
#define CPU_MIN_STEP 0.002

/* Looks at the CPU of every task of the run; at the limit, stops it: every
 * process but the reaper is SIGKILLed at once (not left spinning until the
 * reaper is scheduled), and the reaper reaps them all, so their rusage is
 * counted. Otherwise the next look is no sooner than the run could use up
 * what is left with all its CPUs. */
static void check_cpu(struct sup *s, double now)
{
    double limit = s->spec->limits.cpu_sec, used = pysb_run_cpu(s->reaper);
    if (used >= limit) {
        kill_run(s, PYSB_STOP_CPU);
        pysb_run_kill_tasks(s->reaper);
        s->cpu_check_at = 0;
        return;
    }
    double next = (limit - used) / s->ncpu;
    s->cpu_check_at = now + (next < CPU_MIN_STEP ? CPU_MIN_STEP : next);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Output from stream i: keep what fits under the cap, pass it on, stop the
 * run at the first byte over it. */
static void drain_output(struct sup *s, int i, pysb_result *r, char *buf)
{
    ssize_t n = read(s->out_fd[i], buf, READ_CHUNK);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        n = 0;
    }
    if (n == 0) {
        close_fd(&s->out_fd[i]);
        return;
    }
    if (s->stop >= PYSB_STOP_OUTPUT)
        return; /* after the cap or a cancel: discarded */
    uint64_t room = s->spec->limits.output_bytes - s->kept;
    size_t keep = (uint64_t)n > room ? (size_t)room : (size_t)n;
    if (keep > 0) {
        s->kept += keep;
        r->bytes[i] += keep;
        int rc = s->out ? s->out(s->ctx, i, buf, keep) : 0;
        if (rc == PYSB_SINK_TIMEOUT) {
            /* The reader is too slow to take the output within the run's
             * wall clock: the clock has run out. */
            kill_run(s, PYSB_STOP_WALL);
            return;
        }
        if (rc < 0) {
            fail_run(s, r, PYSB_STOP_CANCELLED, "cancelled: the output sink went away");
            return;
        }
    }
    if ((size_t)n > keep) {
        r->truncated[i] = 1;
        kill_run(s, PYSB_STOP_OUTPUT);
    }
}

static void write_some(int *fd, const char *buf, size_t len, size_t *off)
{
    ssize_t n = write(*fd, buf + *off, len - *off);
    if (n > 0)
        *off += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        close_fd(fd); /* EPIPE: the program closed it or ended */
}

static void pump_code(struct sup *s)
{
    write_some(&s->code_w, s->code_buf, s->code_len, &s->code_off);
    if (s->code_w >= 0 && s->code_off == s->code_len)
        close_fd(&s->code_w);
}

static void pump_stdin(struct sup *s)
{
    const pysb_run_spec *sp = s->spec;
    if (s->stdin_off < sp->stdin_len) {
        write_some(&s->in_w, sp->stdin_data, sp->stdin_len, &s->stdin_off);
        return;
    }
    if (s->pump_off < s->pump_len) {
        write_some(&s->in_w, s->pump, s->pump_len, &s->pump_off);
        return;
    }
    if (s->stdin_src < 0)
        close_fd(&s->in_w); /* all given: the program sees EOF */
}

static void refill_stdin(struct sup *s)
{
    ssize_t n = read(s->stdin_src, s->pump, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        s->stdin_src = -1; /* EOF or error: no more input */
        if (s->in_w >= 0 && s->stdin_off >= s->spec->stdin_len)
            close_fd(&s->in_w);
        return;
    }
    s->pump_len = (size_t)n;
    s->pump_off = 0;
}

/* The client's connection (watch_fd): closed or hung up, the run ends. */
static void watch_client(struct sup *s, pysb_result *r, short revents)
{
    char junk[256];
    ssize_t m = (revents & (POLLHUP | POLLERR | POLLRDHUP))
                    ? 0 : read(s->spec->watch_fd, junk, sizeof junk);
    if (m == 0 || (m < 0 && errno != EAGAIN && errno != EINTR))
        fail_run(s, r, PYSB_STOP_CANCELLED, "cancelled: the client went away");
}

static void read_status(struct sup *s, pysb_result *r)
{
    pysb_status_msg m;
    ssize_t n = read(s->status_r, &m, sizeof m);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n != (ssize_t)sizeof m) {
        close_fd(&s->status_r);
        return;
    }
    if (m.kind == PYSB_MSG_RUSAGE) {
        memcpy(&s->ru_report, m.text, sizeof s->ru_report);
        s->have_ru_report = 1;
        return;
    }
    m.text[sizeof m.text - 1] = '\0';
    if (m.kind == PYSB_MSG_PROGRAM_ENDED) {
        s->have_status = 1;
        s->program_status = m.value;
    } else if (m.kind == PYSB_MSG_BORN && s->warm) {
        s->born_kb = m.value;
    } else if (m.kind == PYSB_MSG_CONFINE_FAILED && !s->confine_failed) {
        s->confine_failed = 1;
        snprintf(r->error, sizeof r->error, "%s", m.text);
    }
}

/* The bootstrap's report, read to EOF so the program never blocks on it:
 * the last half buffer is kept when more comes (the bootstrap's line is
 * the last; what a program wrote before it cannot push it out). */
static void read_report(struct sup *s)
{
    const size_t half = sizeof s->report / 2;
    if (s->report_len == sizeof s->report) {
        memmove(s->report, s->report + half, half);
        s->report_len = half;
    }
    ssize_t n = read(s->report_r, s->report + s->report_len,
                     sizeof s->report - s->report_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close_fd(&s->report_r);
        return;
    }
    s->report_len += (size_t)n;
}

/* The last complete line of the report, "Type\tline\tlimit", into r when
 * every part is well formed; anything else is ignored. Only for a program
 * that ended with status 1 (the bootstrap's, after an uncaught exception). */
static void take_report(const struct sup *s, pysb_result *r)
{
    if (!s->have_status || !WIFEXITED(s->program_status) ||
        WEXITSTATUS(s->program_status) != 1 || s->report_len == 0 ||
        s->report[s->report_len - 1] != '\n')
        return;
    size_t end = s->report_len - 1, start = end;
    while (start > 0 && s->report[start - 1] != '\n')
        start--;
    char line[sizeof s->report];
    memcpy(line, s->report + start, end - start);
    line[end - start] = '\0';
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2)
        return;
    *t1 = *t2 = '\0';
    size_t tl = strlen(line);
    if (tl == 0 || tl >= sizeof r->exception || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "abcdefghijklmnopqrstuvwxyz"
                                                            "0123456789_.") != tl)
        return;
    size_t ll = strlen(t1 + 1);
    if (ll > 9 || strspn(t1 + 1, "0123456789") != ll)
        return;
    if (strcmp(t2 + 1, "") && strcmp(t2 + 1, "threads") && strcmp(t2 + 1, "processes"))
        return;
    memcpy(r->exception, line, tl + 1);
    r->exception_line = ll ? atoi(t1 + 1) : 0;
    snprintf(r->limit_reached, sizeof r->limit_reached, "%s", t2 + 1);
}

/* The status pipe to its end: every writer is gone once the reaper is (the
 * kernel has killed the rest of its pid namespace by then). */
static void drain_status(struct sup *s, pysb_result *r)
{
    for (int i = 0; i < 16 && s->status_r >= 0; i++)
        read_status(s, r);
}

/* The reaper ended (its pidfd said so). A cold one is our child: wait4.
 * A warm one is its fork server's: its own report on the status pipe is
 * all we need, and the server's wait4 (ENDED) stands in for a reaper that
 * could not send it (hard-killed, or its server died and took it). */
static void reap(struct sup *s, pysb_result *r)
{
    if (s->warm) {
        drain_status(s, r);
        if (!(s->have_ru_report && s->have_status)) {
            char why[200];
            if (pysb_warm_ended(s->chan, 2000, &s->reaper_status, &s->ru, why,
                                sizeof why) < 0 && !s->have_status && !r->error[0])
                snprintf(r->error, sizeof r->error, "%s", why);
        }
        close_fd(&s->chan);
    } else {
        pid_t w;
        do
            w = wait4(s->reaper, &s->reaper_status, 0, &s->ru);
        while (w < 0 && errno == EINTR);
    }
    s->reaped = 1;
    close_fd(&s->pidfd);
}

static int make_pipe(int p[2], char *err, size_t errlen)
{
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "supervisor: pipe: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int start_error(pysb_result *r, const char *why)
{
    r->status = PYSB_INTERNAL_ERROR;
    r->exit_code = -1;
    if (why != r->error)
        snprintf(r->error, sizeof r->error, "%s", why);
    return -1;
}

/* ---- the pump: one poll loop until nothing of the run is left --------- */

/* What the loop watches, tagged with what to do when it is ready. */
enum { W_STDOUT, W_STDERR, W_STATUS, W_REAPER, W_CODE, W_STDIN, W_STDIN_SRC, W_CLIENT,
       W_MW_SOCK, W_MW_LISTENER, W_REPORT };

struct watch {
    struct pollfd p[11];
    int tag[11];
    int n;
};

static void watch_add(struct watch *w, int fd, short events, int tag)
{
    if (fd < 0)
        return;
    w->p[w->n] = (struct pollfd){ .fd = fd, .events = events };
    w->tag[w->n++] = tag;
}

/* wait: how long the loop may sleep (seconds), lowered when the memory
 * watch's throttle wants the listener back sooner. */
static void watch_build(const struct sup *s, struct watch *w, double now, double *wait)
{
    w->n = 0;
    watch_add(w, s->out_fd[0], POLLIN, W_STDOUT);
    watch_add(w, s->out_fd[1], POLLIN, W_STDERR);
    watch_add(w, s->status_r, POLLIN, W_STATUS);
    watch_add(w, s->report_r, POLLIN, W_REPORT);
    watch_add(w, s->pidfd, POLLIN, W_REAPER);
    watch_add(w, s->code_w, POLLOUT, W_CODE);
    int have_pending = s->stdin_off < s->spec->stdin_len || s->pump_off < s->pump_len;
    if (s->in_w >= 0 && (have_pending || s->stdin_src < 0))
        watch_add(w, s->in_w, POLLOUT, W_STDIN);
    if (s->in_w >= 0 && !have_pending && s->stdin_src >= 0)
        watch_add(w, s->stdin_src, POLLIN, W_STDIN_SRC);
    if (s->stop == PYSB_STOP_NONE)
        watch_add(w, s->spec->watch_fd, POLLIN | POLLRDHUP, W_CLIENT);
    if (s->mw) {
        watch_add(w, s->mw->sock, POLLIN, W_MW_SOCK);
        if (pysb_memwatch_ready(s->mw, now, wait))
            watch_add(w, s->mw->listener, POLLIN, W_MW_LISTENER);
    }
}

static void dispatch(struct sup *s, pysb_result *r, char *buf, int tag, short revents)
{
    switch (tag) {
    case W_STDOUT:
    case W_STDERR:
        if (buf)
            drain_output(s, tag == W_STDOUT ? PYSB_STDOUT : PYSB_STDERR, r, buf);
        break;
    case W_STATUS:
        read_status(s, r);
        break;
    case W_REPORT:
        read_report(s);
        break;
    case W_REAPER:
        reap(s, r);
        break;
    case W_CODE:
        pump_code(s);
        break;
    case W_STDIN:
        pump_stdin(s);
        break;
    case W_STDIN_SRC:
        refill_stdin(s);
        break;
    case W_CLIENT:
        watch_client(s, r, revents);
        break;
    case W_MW_SOCK:
        pysb_memwatch_take(s->mw);
        break;
    case W_MW_LISTENER:
        pysb_memwatch_answer(s->mw, revents);
        break;
    }
}

/* The clocks: the wall limit, the CPU limit, the reaper's grace after a
 * stop, and the drain once everything is dead. Returns how long poll may
 * wait (seconds), or -1 when the loop is done. */
static double check_clocks(struct sup *s, double now, double deadline, double *drain_until)
{
    if (s->stop == PYSB_STOP_NONE && now >= deadline)
        kill_run(s, PYSB_STOP_WALL);
    if (s->stop == PYSB_STOP_NONE && s->cpu_check_at > 0 && now >= s->cpu_check_at)
        check_cpu(s, now);
    if (s->hard_kill_at > 0 && now >= s->hard_kill_at)
        hard_kill(s);
    if (s->reaped) {
        /* Everything of the run is dead; the pipes close at once. A second
         * is generous and keeps a kernel surprise from hanging us. */
        if (*drain_until == 0)
            *drain_until = now + 1.0;
        if (now >= *drain_until)
            return -1;
    }
    double until = s->reaped ? *drain_until
                 : s->hard_kill_at > 0 ? s->hard_kill_at
                 : s->stop != PYSB_STOP_NONE ? now + 0.1 : deadline;
    if (s->stop == PYSB_STOP_NONE && s->cpu_check_at > 0 && s->cpu_check_at < until)
        until = s->cpu_check_at;
    return until > now ? until - now : 0;
}

/* Poll loop until the reaper is reaped and both output pipes are closed. */
static void supervise(struct sup *s, pysb_result *r, double deadline)
{
    char *buf = malloc(READ_CHUNK);
    if (!buf)
        fail_run(s, r, PYSB_STOP_FAILED, "supervisor: out of memory");
    double drain_until = 0;
    while (!s->reaped || s->out_fd[0] >= 0 || s->out_fd[1] >= 0) {
        struct watch w;
        double now = pysb_monotonic();
        double wait = check_clocks(s, now, deadline, &drain_until);
        if (wait < 0)
            break;
        watch_build(s, &w, now, &wait);
        /* ppoll: the CPU looks want better than milliseconds */
        struct timespec tmo = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
        if (ppoll(w.p, (nfds_t)w.n, &tmo, NULL) < 0) {
            if (errno == EINTR)
                continue;
            char why[128];
            snprintf(why, sizeof why, "supervisor: poll: %s", strerror(errno));
            fail_run(s, r, PYSB_STOP_FAILED, why);
            /* No loop left to wait for the reaper's own stop: SIGKILL. */
            s->hard_kill_at = pysb_monotonic();
            hard_kill(s);
            if (!s->reaped)
                reap(s, r);
            break;
        }
        for (int k = 0; k < w.n; k++)
            if (w.p[k].revents)
                dispatch(s, r, buf, w.tag[k], w.p[k].revents);
    }
    /* Leftovers on the status pipe (the report races the exit); every
     * writer is dead by now, so a read ends in data or EOF. */
    drain_status(s, r);
    free(buf);
}

/* ---- the phases of a run ---------------------------------------------- */

/* Everything about the spec and the host checked before a process exists:
 * the limits, the ids, the interpreter, the code and Landlock. (The paths
 * are the cold run's, run_cold, or the fork server's.) */
static int check_run(const pysb_run_spec *spec, int *abi, pysb_result *r)
{
    if (pysb_limits_validate(&spec->limits, r->error, sizeof r->error) < 0)
        return start_error(r, r->error);
    if (spec->uid == 0 || spec->gid == 0)
        return start_error(r, "ids: refusing to run as uid/gid 0");
    if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
        return start_error(r, "interpreter: an absolute path is required");
    if (spec->code && !pysb_utf8_valid(spec->code, spec->code_len))
        return start_error(r, "code: not valid UTF-8");
    /* The spec's read-only paths the scratch would hide: refused the same
     * way in both modes (the whole path set is checked again later). */
    const int shm = spec->limits.processes > 1;
    if (spec->limits.scratch_bytes > 0 &&
        (pysb_scratch_hides(spec->ro_paths, SIZE_MAX, shm, r->error, sizeof r->error) < 0 ||
         pysb_scratch_hides(spec->python_path, SIZE_MAX, shm, r->error, sizeof r->error) < 0 ||
         pysb_scratch_hides(spec->site_paths, SIZE_MAX, shm, r->error, sizeof r->error) < 0))
        return start_error(r, r->error);
    *abi = pysb_landlock_abi();
    if (*abi == 0 && !(spec->flags & PYSB_WAIVE_LANDLOCK))
        return start_error(r, "landlock: not supported by this kernel "
                              "(an explicit waiver is needed to run without it)");
    r->landlock_abi = *abi;
    return 0;
}

/* What goes down the code pipe: the bootstrap's header (arguments, the
 * python path, the site directories) and the code, after the compiled
 * bootstrap when blob is set (a cold run; a warm one's server compiled
 * its own). */
static int code_pipe(const pysb_run_spec *spec, const char *blob, size_t blob_len,
                     pysb_code_pipe *pipe_content, pysb_result *r)
{
    const pysb_pipe_header h = { spec->args, spec->python_path, spec->site_paths };
    if (pysb_bootstrap_pipe(blob, blob_len, &h, spec->code, spec->code_len,
                            pipe_content) < 0)
        return start_error(r, "supervisor: out of memory");
    return 0;
}

#define MAX_ARGS 64

/* The interpreter's argv (the spec's, then "-u -c <bootstrap>" for code)
 * and the code pipe's content. */
static int build_argv(const pysb_run_spec *spec, const char *argv[MAX_ARGS + 5],
                      pysb_code_pipe *pipe_content, pysb_result *r)
{
    size_t argc = 0;
    while (spec->argv[argc])
        argc++;
    if (argc > MAX_ARGS)
        return start_error(r, "interpreter: too many arguments");
    memcpy(argv, spec->argv, argc * sizeof *argv);
    *pipe_content = (pysb_code_pipe){ spec->code, spec->code_len, NULL, pysb_bootstrap };
    if (spec->code) {
        if (code_pipe(spec, spec->bootstrap_blob, spec->bootstrap_blob_len, pipe_content,
                      r) < 0)
            return -1;
        argv[argc++] = "-u";
        argv[argc++] = "-c";
        argv[argc++] = pipe_content->arg;
    }
    argv[argc] = NULL;
    return 0;
}

/* The run's scratch (none when its size is 0) with the input files in it,
 * as root before the run exists: nothing of it can race them. */
static int make_scratch(const pysb_run_spec *spec, pysb_scratch *sc, pysb_result *r)
{
    *sc = PYSB_SCRATCH_NONE;
    if (spec->limits.scratch_bytes > 0 &&
        pysb_scratch_create(spec->limits.scratch_bytes, spec->uid, spec->gid,
                            spec->limits.processes > 1, sc, r->error, sizeof r->error) < 0)
        return start_error(r, r->error);
    if (spec->n_files > 0 && sc->root < 0)
        return start_error(r, "input files: this run has no scratch directory");
    for (size_t i = 0; i < spec->n_files; i++) {
        const pysb_in_file *f = &spec->files[i];
        if (pysb_scratch_put(sc, f->name, f->data, f->len, spec->uid, spec->gid, r->error,
                             sizeof r->error) < 0) {
            if (errno == ENOSPC)
                snprintf(r->error, sizeof r->error,
                         "input files: larger than the scratch directory");
            pysb_scratch_close(sc);
            return start_error(r, r->error);
        }
    }
    return 0;
}

/* The run's pipes: [0] read end, [1] write end; the child's ends go to the
 * reaper, ours stay. watch: the pair the memory watch's listener comes
 * back on ([0] ours, [1] the child's; -1 when unwatched). */
struct pipes {
    int in[2], out[2], err[2], code[2], status[2], report[2];
    int watch[2];
};

static void close_pipes(struct pipes *p)
{
    close_all((const int *)p, sizeof *p / sizeof(int));
    *p = (struct pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 },
                         { -1, -1 }, { -1, -1 } };
}

static int open_pipes(struct pipes *p, int need_code, pysb_result *r)
{
    *p = (struct pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 },
                         { -1, -1 }, { -1, -1 } };
    if (make_pipe(p->in, r->error, sizeof r->error) < 0 ||
        make_pipe(p->out, r->error, sizeof r->error) < 0 ||
        make_pipe(p->err, r->error, sizeof r->error) < 0 ||
        (need_code && make_pipe(p->code, r->error, sizeof r->error) < 0) ||
        (need_code && make_pipe(p->report, r->error, sizeof r->error) < 0) ||
        make_pipe(p->status, r->error, sizeof r->error) < 0) {
        close_pipes(p);
        return start_error(r, r->error);
    }
    /* Without it the run goes unwatched (memwatch.h), not undone. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->watch) < 0)
        p->watch[0] = p->watch[1] = -1;
    return 0;
}

/* Our ends of the pipes into s, the child's closed (it has its own). */
static void keep_ends(struct sup *s, struct pipes *p)
{
    const int child_ends[] = { p->in[0], p->out[1], p->err[1], p->code[0], p->status[1],
                               p->report[1], p->watch[1] };
    close_all(child_ends, 7);
    s->out_fd[0] = p->out[0];
    s->out_fd[1] = p->err[0];
    s->in_w = p->in[1];
    s->code_w = p->code[1];
    s->status_r = p->status[0];
    s->report_r = p->report[0];
    const int ours[] = { p->in[1], p->out[0], p->err[0], p->code[1], p->status[0],
                         p->report[0] };
    for (size_t i = 0; i < 6; i++)
        if (ours[i] >= 0)
            fcntl(ours[i], F_SETFL, O_NONBLOCK);
}

/* Clones the reaper into its namespaces and keeps our ends of the pipes in
 * s. Returns 0 (s->reaped already when the reaper could not be watched and
 * was killed at once), or -1 with nothing left open but the caller's. */
static int spawn(struct sup *s, const pysb_reaper_args *a, struct pipes *p,
                 pysb_result *r)
{
    /* No CLONE_NEWNS: the reaper joins its template root's namespace and
     * unshares a copy of that (root.h), not of the host's whole table. */
    unsigned long flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
    if (!(s->spec->flags & PYSB_SHARED_NETNS))
        flags |= CLONE_NEWNET;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (pid == 0)
        pysb_reaper_main(a); /* never returns in a cold reaper */
    int clone_errno = errno;
    if (pid < 0) {
        close_pipes(p);
        snprintf(r->error, sizeof r->error, "namespaces: clone: %s", strerror(clone_errno));
        return start_error(r, r->error);
    }
    keep_ends(s, p);
    s->reaper = pid;
    s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (s->pidfd < 0) {
        snprintf(r->error, sizeof r->error, "supervisor: pidfd_open: %s", strerror(errno));
        /* The reaper may not have its SIGUSR1 handler yet: SIGKILL. */
        if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
            fprintf(stderr, "PYSB supervise: kill %d: %s\n", (int)pid, strerror(errno));
        s->stop = PYSB_STOP_FAILED;
        reap(s, r);
    }
    return 0;
}

/* Hands the run to the fork server, with the child's ends of the pipes
 * and the scratch's detached trees (the reaper attaches them as a cold
 * one does). 0: its reaper exists, s holds our ends; -1: nothing ran (why
 * in err), the pipes are all closed. */
static int spawn_warm(struct sup *s, struct pipes *p, const pysb_scratch *sc, char *err,
                      size_t errlen)
{
    const pysb_run_spec *spec = s->spec;
    pysb_fs_request rq = {
        .magic = PYSB_FS_MAGIC, .version = PYSB_FS_VERSION, .kind = PYSB_FS_RUN,
        .uid = spec->uid, .gid = spec->gid, .limits = spec->limits,
    };
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    rq.nice = errno ? 0 : nice;
    snprintf(rq.run_id, sizeof rq.run_id, "%s", spec->run_id ? spec->run_id : "");
    const int child_ends[PYSB_WARM_FDS] = {
        p->in[0], p->out[1], p->err[1], p->code[0], p->status[1], p->report[1],
        p->watch[1], sc->work, sc->shm,
    };
    pysb_fs_reply started;
    int pidfd, chan;
    pid_t pid = pysb_warm_start(spec->warm, &rq, child_ends, &pidfd, &chan, &started, err,
                                errlen);
    if (pid < 0) {
        /* The server may still hold (and will drop) the ends it was sent:
         * a cold run needs pipes nobody else has. */
        close_pipes(p);
        return -1;
    }
    keep_ends(s, p);
    s->warm = 1;
    s->reaper = pid;
    s->pidfd = pidfd;
    s->chan = chan;
    s->as_limit = started.as_limit;
    s->base_kb = (long)(started.rss_base >> 10);
    if (s->mw)
        s->mw->limit = started.as_limit;
    return 0;
}

/* After the run: statistics from the reaper's report (or wait4's), then
 * the verdict. memory_kb: the peak resident memory of the run's processes,
 * not counting what a warm program was born with beyond a bare
 * interpreter (the preloaded state, which a cold run does not have). */
static void conclude(const struct sup *s, pysb_result *r)
{
    const pysb_memwatch *mw = s->mw;
    const struct rusage *ru = s->have_ru_report ? &s->ru_report : &s->ru;
    r->user_sec = ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6;
    r->system_sec = ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
    r->cpu_sec = r->user_sec + r->system_sec;
    long preloaded = s->born_kb > s->base_kb ? s->born_kb - s->base_kb : 0;
    r->memory_kb = ru->ru_maxrss > preloaded ? ru->ru_maxrss - preloaded : 0;
    r->warm = s->warm;
    pysb_observed ob = {
        .wait_status = s->program_status,
        .have_status = s->have_status,
        .stop = s->stop,
        .layer_failed = s->confine_failed,
        .cpu_sec = r->cpu_sec,
        .cpu_limit_sec = s->spec->limits.cpu_sec,
        .mem_limit = s->as_limit,
        .mem_refused = mw ? mw->refused : 0,
        .mem_peak_vm = mw ? mw->peak_vm : 0,
    };
    pysb_classify(&ob, r);
    if (r->status == PYSB_INTERNAL_ERROR && !r->error[0])
        snprintf(r->error, sizeof r->error,
                 "reaper ended without a report (wait status 0x%x)", s->reaper_status);
    if (r->status != PYSB_INTERNAL_ERROR)
        r->error[0] = '\0';
}

/* From a spawned run to its result: the pump, the clocks, the verdict, the
 * bootstrap's report, then the files it left in out/ (every process of
 * the run is gone, reaped: nothing races the read) and the scratch freed. */
static void watch_run(struct sup *s, pysb_scratch *sc, pysb_result *r, double t0)
{
    if (s->spec->stdin_fd >= 0 && !(s->pump = malloc(READ_CHUNK)))
        s->stdin_src = -1;
    if (!s->reaped)
        supervise(s, r, t0 + s->spec->limits.wall_sec);
    r->wall_sec = pysb_monotonic() - t0;
    /* Whatever the report pipe still holds: every writer is dead. */
    for (int i = 0; i < 4 && s->report_r >= 0; i++)
        read_report(s);
    const int ours[] = { s->in_w, s->out_fd[0], s->out_fd[1], s->code_w, s->status_r,
                         s->report_r, s->chan };
    close_all(ours, 7);
    free(s->pump);
    conclude(s, r);
    take_report(s, r);
    if (s->spec->file_out && sc->root >= 0 && s->stop != PYSB_STOP_CANCELLED) {
        char err[160];
        if (pysb_scratch_collect(sc, s->spec->limits.out_files_bytes, s->spec->file_out,
                                 s->ctx, err, sizeof err) < 0)
            fprintf(stderr, "PYSB supervise: %s\n", err);
    }
    pysb_scratch_close(sc);
}

static void sup_init(struct sup *s, const pysb_run_spec *spec, pysb_output_fn out, void *ctx)
{
    *s = (struct sup){
        .spec = spec, .out = out, .ctx = ctx, .pidfd = -1, .chan = -1,
        .in_w = -1, .code_w = -1, .status_r = -1, .report_r = -1, .out_fd = { -1, -1 },
        .stdin_src = spec->stdin_fd, .as_limit = spec->limits.memory_bytes,
    };
    cpu_set_t cpus;
    s->ncpu = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    if (s->ncpu < 1)
        s->ncpu = 1;
}

/* The memory watch of a run, on our end of the pipes' watch pair. */
static int watch_memory(pysb_memwatch *mw, struct pipes *p, uint64_t limit)
{
    if (p->watch[0] < 0)
        return 0;
    if (pysb_memwatch_init(mw, p->watch[0], limit) < 0) {
        p->watch[0] = -1; /* closed by init */
        close_fd(&p->watch[1]);
        return 0;
    }
    p->watch[0] = -1; /* the watch owns it now */
    return 1;
}

/* A warm run: 0 when it ran (r filled), 1 when nothing ran and it may go
 * cold, -1 when it may not (spec->warm->no_fallback, or a scratch that
 * cannot be made; r says why). */
static int run_warm(const pysb_run_spec *spec, pysb_output_fn out, void *ctx,
                    pysb_result *r)
{
    pysb_code_pipe pipe_content;
    if (code_pipe(spec, NULL, 0, &pipe_content, r) < 0)
        return -1;
    pysb_scratch sc;
    struct pipes p;
    if (make_scratch(spec, &sc, r) < 0) {
        free(pipe_content.owned);
        return -1;
    }
    if (open_pipes(&p, 1, r) < 0) {
        pysb_scratch_close(&sc);
        free(pipe_content.owned);
        return -1;
    }
    pysb_memwatch mw;
    int watched = watch_memory(&mw, &p, spec->limits.memory_bytes);
    struct sup s;
    sup_init(&s, spec, out, ctx);
    s.mw = watched ? &mw : NULL;
    s.code_buf = pipe_content.data;
    s.code_len = pipe_content.len;
    signal(SIGPIPE, SIG_IGN);
    double t0 = pysb_monotonic();
    if (spec->limits.cpu_sec > 0)
        s.cpu_check_at = t0 + spec->limits.cpu_sec / s.ncpu;
    char why[256];
    int rc = spawn_warm(&s, &p, &sc, why, sizeof why);
    /* The reaper has its own copies of the trees; the root stays ours. */
    close_fd(&sc.work);
    close_fd(&sc.shm);
    if (rc < 0) {
        if (watched)
            pysb_memwatch_close(&mw);
        pysb_scratch_close(&sc);
        free(pipe_content.owned);
        if (!spec->warm->no_fallback)
            return 1;
        return start_error(r, why);
    }
    watch_run(&s, &sc, r, t0);
    if (watched)
        pysb_memwatch_close(&mw);
    free(pipe_content.owned);
    return 0;
}

static int run_cold(const pysb_run_spec *spec, const pysb_limits *limits, int abi,
                    pysb_output_fn out, void *ctx, pysb_result *r)
{
    pysb_path_set paths;
    const char *argv[MAX_ARGS + 5];
    pysb_code_pipe pipe_content;
    struct pipes p;
    const int shm = spec->limits.processes > 1;
    if (pysb_interp_paths(spec->argv[0], spec->ro_paths, &paths, r->error,
                          sizeof r->error) < 0 ||
        pysb_paths_add_ro(&paths, spec->python_path, r->error, sizeof r->error) < 0 ||
        pysb_paths_add_ro(&paths, spec->site_paths, r->error, sizeof r->error) < 0)
        return start_error(r, r->error);
    if (spec->limits.scratch_bytes > 0 &&
        (pysb_scratch_hides(paths.ro, paths.n_ro, shm, r->error, sizeof r->error) < 0 ||
         pysb_scratch_grant(&paths, shm, r->error, sizeof r->error) < 0))
        return start_error(r, r->error);
    if (build_argv(spec, argv, &pipe_content, r) < 0)
        return -1;
    int root_fd = pysb_root_open(&paths, spec->argv[0], r->error, sizeof r->error);
    if (root_fd < 0) {
        free(pipe_content.owned);
        return start_error(r, r->error);
    }
    pysb_scratch sc;
    if (make_scratch(spec, &sc, r) < 0) {
        close(root_fd);
        free(pipe_content.owned);
        return -1;
    }
    if (open_pipes(&p, spec->code != NULL, r) < 0) {
        close(root_fd);
        pysb_scratch_close(&sc);
        free(pipe_content.owned);
        return -1;
    }
    pysb_memwatch mw;
    int watched = watch_memory(&mw, &p, limits->memory_bytes);
    pysb_reaper_args a = {
        .limits = limits, .uid = spec->uid, .gid = spec->gid,
        .argv = argv, .paths = &paths,
        .fds = { p.in[0], p.out[1], p.err[1], p.code[0], p.status[1], p.watch[1],
                 sc.work, sc.shm, p.report[1] },
        .root_fd = root_fd,
        .use_landlock = abi > 0,
    };
    struct sup s;
    sup_init(&s, spec, out, ctx);
    s.mw = watched ? &mw : NULL;
    s.code_buf = pipe_content.data;
    s.code_len = pipe_content.len;
    s.as_limit = limits->memory_bytes;
    signal(SIGPIPE, SIG_IGN);
    double t0 = pysb_monotonic();
    if (spec->limits.cpu_sec > 0)
        s.cpu_check_at = t0 + spec->limits.cpu_sec / s.ncpu;
    int rc = spawn(&s, &a, &p, r);
    close(root_fd);
    /* The reaper has its own copies of the trees; the root stays ours. */
    close_fd(&sc.work);
    close_fd(&sc.shm);
    if (rc == 0)
        watch_run(&s, &sc, r, t0);
    else
        pysb_scratch_close(&sc);
    if (watched)
        pysb_memwatch_close(&mw);
    free(pipe_content.owned);
    return rc;
}

int pysb_run(const pysb_run_spec *spec, pysb_output_fn out, void *ctx,
             pysb_result *r)
{
    memset(r, 0, sizeof *r);
    r->limits = spec->limits;
    r->exit_code = -1;
    if (spec->run_id)
        snprintf(r->run_id, sizeof r->run_id, "%s", spec->run_id);
    else
        pysb_new_run_id(r->run_id);
    /* A run refused before anything of it exists says the mode it was
     * asked to start in; one that went cold, cold. */
    r->warm = spec->warm && spec->code;
    int abi;
    if (check_run(spec, &abi, r) < 0)
        return -1;
    pysb_limits limits = spec->limits;
    if (spec->warm && spec->code) {
        int rc = run_warm(spec, out, ctx, r);
        if (rc <= 0)
            return rc;
        r->warm = 0;
        /* Nothing ran: cold, with the room the preloads would have had
         * (the verdicts of both modes agree). */
        uint64_t more = spec->warm->preload_bytes;
        limits.memory_bytes = more > PYSB_MAX_MEMORY - limits.memory_bytes
                                  ? PYSB_MAX_MEMORY : limits.memory_bytes + more;
    }
    return run_cold(spec, &limits, abi, out, ctx, r);
}
