/* supervise.c — spawn one confined run, pump its pipes, enforce the wall
 * clock, the CPU limit and the output cap, answer its memory watch, reap
 * it, and say what happened. The child's side (the reaper) is reaper.c's.
 *
 * Contract: see supervise.h. Process shape of a run:
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

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
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
    struct rusage ru;
    int reaper_status;
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
static void kill_run(struct sup *s, pysb_stop why)
{
    if (s->stop == PYSB_STOP_NONE && !s->reaped) {
        if (kill(s->reaper, SIGUSR1) < 0 && errno != ESRCH)
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
        kill(s->reaper, SIGKILL) < 0 && errno != ESRCH)
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
    m.text[sizeof m.text - 1] = '\0';
    if (m.kind == PYSB_MSG_PROGRAM_ENDED) {
        s->have_status = 1;
        s->program_status = m.value;
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

static void reap(struct sup *s)
{
    pid_t w;
    do
        w = wait4(s->reaper, &s->reaper_status, 0, &s->ru);
    while (w < 0 && errno == EINTR);
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
        reap(s);
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
                reap(s);
            break;
        }
        for (int k = 0; k < w.n; k++)
            if (w.p[k].revents)
                dispatch(s, r, buf, w.tag[k], w.p[k].revents);
    }
    /* Leftovers on the status pipe (the report races the exit); every
     * writer is dead by now, so a read ends in data or EOF. */
    for (int i = 0; i < 4 && s->status_r >= 0; i++)
        read_status(s, r);
    free(buf);
}

/* ---- the phases of a run ---------------------------------------------- */

/* p is dir or below it. */
static int under(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

/* The scratch's writable directories for Landlock; a read-only path the
 * scratch would hide (under /tmp, or /dev/shm of a run of several
 * processes) is refused, since the run could not reach it. */
static int scratch_paths(const pysb_run_spec *spec, pysb_path_set *paths, pysb_result *r)
{
    const int shm = spec->limits.processes > 1;
    for (size_t i = 0; i < paths->n_ro; i++)
        if (under(paths->ro[i], PYSB_SCRATCH_DIR) ||
            (shm && under(paths->ro[i], PYSB_SCRATCH_SHM))) {
            snprintf(r->error, sizeof r->error,
                     "read-only path %s: hidden by the run's scratch directory "
                     "(scratch 0 runs without one)", paths->ro[i]);
            return start_error(r, r->error);
        }
    if (pysb_path_add_rw(paths, PYSB_SCRATCH_DIR, r->error, sizeof r->error) < 0 ||
        (shm && pysb_path_add_rw(paths, PYSB_SCRATCH_SHM, r->error, sizeof r->error) < 0))
        return start_error(r, r->error);
    return 0;
}

/* Everything about the spec and the host checked before a process exists:
 * the limits, the ids, the interpreter, the code, the paths and Landlock. */
static int check_run(const pysb_run_spec *spec, pysb_path_set *paths, int *abi,
                     pysb_result *r)
{
    if (pysb_limits_validate(&spec->limits, r->error, sizeof r->error) < 0)
        return start_error(r, r->error);
    if (spec->uid == 0 || spec->gid == 0)
        return start_error(r, "ids: refusing to run as uid/gid 0");
    if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
        return start_error(r, "interpreter: an absolute path is required");
    if (spec->code && !pysb_utf8_valid(spec->code, spec->code_len))
        return start_error(r, "code: not valid UTF-8");
    if (pysb_interp_paths(spec->argv[0], spec->ro_paths, paths, r->error,
                          sizeof r->error) < 0 ||
        pysb_paths_add_ro(paths, spec->python_path, r->error, sizeof r->error) < 0 ||
        pysb_paths_add_ro(paths, spec->site_paths, r->error, sizeof r->error) < 0)
        return start_error(r, r->error);
    if (spec->limits.scratch_bytes > 0 && scratch_paths(spec, paths, r) < 0)
        return -1;
    *abi = pysb_landlock_abi();
    if (*abi == 0 && !(spec->flags & PYSB_WAIVE_LANDLOCK))
        return start_error(r, "landlock: not supported by this kernel "
                              "(an explicit waiver is needed to run without it)");
    r->landlock_abi = *abi;
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
        const pysb_pipe_header h = { spec->args, spec->python_path, spec->site_paths };
        if (pysb_bootstrap_pipe(spec->bootstrap_blob, spec->bootstrap_blob_len, &h,
                                spec->code, spec->code_len, pipe_content) < 0)
            return start_error(r, "supervisor: out of memory");
        argv[argc++] = "-u";
        argv[argc++] = "-c";
        argv[argc++] = pipe_content->arg;
    }
    argv[argc] = NULL;
    return 0;
}

/* The input files into the scratch, as root before the run exists:
 * nothing of it can race them. */
static int put_files(const pysb_run_spec *spec, const pysb_scratch *sc, pysb_result *r)
{
    if (spec->n_files > 0 && sc->root < 0)
        return start_error(r, "input files: this run has no scratch directory");
    for (size_t i = 0; i < spec->n_files; i++) {
        const pysb_in_file *f = &spec->files[i];
        if (pysb_scratch_put(sc, f->name, f->data, f->len, spec->uid, spec->gid, r->error,
                             sizeof r->error) < 0) {
            if (errno == ENOSPC)
                snprintf(r->error, sizeof r->error,
                         "input files: larger than the scratch directory");
            return start_error(r, r->error);
        }
    }
    return 0;
}

/* The run's pipes: [0] read end, [1] write end; the child's ends go to the
 * reaper, ours stay. */
struct pipes {
    int in[2], out[2], err[2], code[2], status[2], report[2];
};

static int open_pipes(struct pipes *p, int need_code, pysb_result *r)
{
    *p = (struct pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 },
                         { -1, -1 } };
    if (make_pipe(p->in, r->error, sizeof r->error) < 0 ||
        make_pipe(p->out, r->error, sizeof r->error) < 0 ||
        make_pipe(p->err, r->error, sizeof r->error) < 0 ||
        (need_code && make_pipe(p->code, r->error, sizeof r->error) < 0) ||
        (need_code && make_pipe(p->report, r->error, sizeof r->error) < 0) ||
        make_pipe(p->status, r->error, sizeof r->error) < 0) {
        close_all((const int *)p, sizeof *p / sizeof(int));
        return start_error(r, r->error);
    }
    return 0;
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
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (pid == 0)
        pysb_reaper_main(a);
    int clone_errno = errno;
    const int child_ends[] = { p->in[0], p->out[1], p->err[1], p->code[0], p->status[1],
                               p->report[1] };
    const int ours[] = { p->in[1], p->out[0], p->err[0], p->code[1], p->status[0],
                         p->report[0] };
    close_all(child_ends, 6);
    if (pid < 0) {
        close_all(ours, 6);
        snprintf(r->error, sizeof r->error, "namespaces: clone: %s", strerror(clone_errno));
        return start_error(r, r->error);
    }
    s->reaper = pid;
    s->out_fd[0] = p->out[0];
    s->out_fd[1] = p->err[0];
    s->in_w = p->in[1];
    s->code_w = p->code[1];
    s->status_r = p->status[0];
    s->report_r = p->report[0];
    for (size_t i = 0; i < 6; i++)
        if (ours[i] >= 0)
            fcntl(ours[i], F_SETFL, O_NONBLOCK);
    s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (s->pidfd < 0) {
        snprintf(r->error, sizeof r->error, "supervisor: pidfd_open: %s", strerror(errno));
        /* The reaper may not have its SIGUSR1 handler yet: SIGKILL. */
        if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
            fprintf(stderr, "PYSB supervise: kill %d: %s\n", (int)pid, strerror(errno));
        s->stop = PYSB_STOP_FAILED;
        reap(s);
    }
    return 0;
}

/* After the run: statistics from the reaper's rusage, then the verdict. */
static void conclude(const struct sup *s, pysb_result *r)
{
    const pysb_memwatch *mw = s->mw;
    r->user_sec = s->ru.ru_utime.tv_sec + s->ru.ru_utime.tv_usec / 1e6;
    r->system_sec = s->ru.ru_stime.tv_sec + s->ru.ru_stime.tv_usec / 1e6;
    r->cpu_sec = r->user_sec + r->system_sec;
    r->memory_kb = s->ru.ru_maxrss;
    pysb_observed ob = {
        .wait_status = s->program_status,
        .have_status = s->have_status,
        .stop = s->stop,
        .layer_failed = s->confine_failed,
        .cpu_sec = r->cpu_sec,
        .cpu_limit_sec = s->spec->limits.cpu_sec,
        .mem_limit = s->spec->limits.memory_bytes,
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

    pysb_path_set paths;
    const char *argv[MAX_ARGS + 5];
    pysb_code_pipe pipe_content;
    struct pipes p;
    int abi;
    if (check_run(spec, &paths, &abi, r) < 0 || build_argv(spec, argv, &pipe_content, r) < 0)
        return -1;
    int root_fd = pysb_root_open(&paths, spec->argv[0], r->error, sizeof r->error);
    if (root_fd < 0) {
        free(pipe_content.owned);
        return start_error(r, r->error);
    }
    /* Made before the run exists: nothing of it can race the set-up. */
    pysb_scratch scratch = PYSB_SCRATCH_NONE;
    if (spec->limits.scratch_bytes > 0 &&
        pysb_scratch_create(spec->limits.scratch_bytes, spec->uid, spec->gid,
                            spec->limits.processes > 1, &scratch, r->error,
                            sizeof r->error) < 0) {
        close(root_fd);
        free(pipe_content.owned);
        return start_error(r, r->error);
    }
    if (put_files(spec, &scratch, r) < 0) {
        pysb_scratch_close(&scratch);
        free(pipe_content.owned);
        return -1;
    }
    if (open_pipes(&p, spec->code != NULL, r) < 0) {
        close(root_fd);
        pysb_scratch_close(&scratch);
        free(pipe_content.owned);
        return -1;
    }
    /* The memory watch's listener comes back on this pair (memwatch.h). */
    pysb_memwatch mw;
    int mwsock[2] = { -1, -1 };
    int watched = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, mwsock) == 0;
    if (watched && pysb_memwatch_init(&mw, mwsock[0], spec->limits.memory_bytes) < 0) {
        close(mwsock[1]);
        mwsock[1] = -1;
        watched = 0;
    }
    pysb_reaper_args a = {
        .spec = spec, .argv = argv, .paths = &paths,
        .fds = { p.in[0], p.out[1], p.err[1], p.code[0], p.status[1], mwsock[1],
                 scratch.work, scratch.shm, p.report[1] },
        .root_fd = root_fd,
        .use_landlock = abi > 0,
    };
    struct sup s = {
        .spec = spec, .out = out, .ctx = ctx, .pidfd = -1, .report_r = -1,
        .code_buf = pipe_content.data, .code_len = pipe_content.len,
        .stdin_src = spec->stdin_fd,
        .mw = watched ? &mw : NULL,
    };
    cpu_set_t cpus;
    s.ncpu = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    if (s.ncpu < 1)
        s.ncpu = 1;
    double t0 = pysb_monotonic();
    if (spec->limits.cpu_sec > 0)
        s.cpu_check_at = t0 + spec->limits.cpu_sec / s.ncpu;
    int rc = spawn(&s, &a, &p, r);
    close(root_fd);
    if (mwsock[1] >= 0)
        close(mwsock[1]);
    /* The reaper has its own copies of the trees; the root stays ours. */
    close_fd(&scratch.work);
    close_fd(&scratch.shm);
    if (rc < 0) {
        if (watched)
            pysb_memwatch_close(&mw);
        pysb_scratch_close(&scratch);
        free(pipe_content.owned);
        return -1;
    }
    if (spec->stdin_fd >= 0 && !(s.pump = malloc(READ_CHUNK)))
        s.stdin_src = -1;
    if (!s.reaped)
        supervise(&s, r, t0 + spec->limits.wall_sec);
    r->wall_sec = pysb_monotonic() - t0;
    /* Whatever the report pipe still holds: every writer is dead. */
    for (int i = 0; i < 4 && s.report_r >= 0; i++)
        read_report(&s);
    const int ours[] = { s.in_w, s.out_fd[0], s.out_fd[1], s.code_w, s.status_r, s.report_r };
    close_all(ours, 6);
    free(s.pump);
    free(pipe_content.owned);
    conclude(&s, r);
    take_report(&s, r);
    /* Every process of the run is gone (reaped): nothing races the read. */
    if (spec->file_out && scratch.root >= 0 && s.stop != PYSB_STOP_CANCELLED) {
        char err[160];
        if (pysb_scratch_collect(&scratch, spec->limits.out_files_bytes, spec->file_out, ctx,
                                 err, sizeof err) < 0)
            fprintf(stderr, "PYSB supervise: %s\n", err);
    }
    /* No process of the run is left (reaped above): the tmpfs goes. */
    pysb_scratch_close(&scratch);
    if (watched)
        pysb_memwatch_close(&mw);
    return 0;
}
