/* launcher.c — the privileged daemon and its per-run supervisors.
 *
 * Contract: see launcher.h. The launcher itself never blocks on a peer: it
 * accepts, checks credentials and capacity, leases a uid and forks; all
 * reading of requests happens in the supervisor, under a deadline. */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootstrap.h"
#include "clock.h"
#include "result.h"
#include "supervise.h"
#include "payload.h"
#include "wire.h"

#define SEND_TIMEOUT_MS 30000
#define RESULT_TIMEOUT_MS 5000

static const pysb_launcher_config *cfg;

static void logf_(int level, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(int level, int errnum, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cfg && cfg->log)
        cfg->log(level, errnum, msg);
    else
        fprintf(stderr, "PYSB launcher: %s%s%s\n", msg, errnum ? ": " : "",
                errnum ? strerror(errnum) : "");
}

/* ---- compiled bootstraps ---------------------------------------------- */

static void compile_bootstraps(void)
{
    for (size_t i = 0; cfg->interpreters && cfg->interpreters[i]; i++) {
        char err[256];
        size_t len;
        int rc = pysb_bootstrap_cache_add(cfg->interpreters[i], cfg->uid_first, &len, err,
                                          sizeof err);
        if (rc < 0)
            logf_(PYSB_LOG_WARN, 0, "%s; runs will compile it themselves", err);
        else if (rc > 0)
            logf_(PYSB_LOG_INFO, 0, "bootstrap compiled for %s (%zu bytes)",
                  cfg->interpreters[i], len);
    }
}

/* ---- the supervisor of one run ---------------------------------------- */

struct relay {
    int    fd;
    int    failed;
    double deadline;   /* the run's wall clock, CLOCK_MONOTONIC */
};

static int relay_output(void *ctx, int stream, const char *buf, size_t len)
{
    struct relay *r = ctx;
    int type = stream == PYSB_STDOUT ? PYSB_FRAME_STDOUT : PYSB_FRAME_STDERR;
    /* STDOUT/STDERR frames hold 64 KiB; the engine hands out at most that,
     * but split anyway so the two limits can never disagree. */
    size_t max = pysb_frame_max_len(type);
    while (len > 0) {
        size_t n = len < max ? len : max;
        /* A worker stalled by a slow client must not stretch the run past
         * its wall clock: wait for it no longer than that. */
        double left = r->deadline - pysb_monotonic();
        int timeout = left <= 0 ? 0 : left * 1000 < SEND_TIMEOUT_MS ? (int)(left * 1000) + 1
                                                                  : SEND_TIMEOUT_MS;
        if (pysb_wire_send_timeout(r->fd, type, buf, n, timeout) < 0) {
            if (errno == ETIMEDOUT && pysb_monotonic() >= r->deadline)
                return PYSB_SINK_TIMEOUT;
            r->failed = errno;
            return -1;
        }
        buf += n;
        len -= n;
    }
    return 0;
}

static __attribute__((noreturn)) void refuse(int fd, const char *why)
{
    logf_(PYSB_LOG_WARN, 0, "request refused: %s", why);
    pysb_wire_send_timeout(fd, PYSB_FRAME_ERROR, why, strlen(why), 1000);
    _exit(1);
}

/* Appends a STDIN chunk to the growing buffer, within max_stdin. */
static int add_stdin(char **buf, size_t *len, size_t *cap, const char *p,
                     size_t n)
{
    if (*len + n > cfg->max_stdin)
        return -1;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 65536;
        while (c < *len + n)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static __attribute__((noreturn)) void supervisor_main(int conn, uid_t uid)
{
    prctl(PR_SET_NAME, "pysb-run", 0, 0, 0);
    pysb_decoder d;
    pysb_decoder_init(&d);
    pysb_decoder_set_max(&d, PYSB_FRAME_CODE, cfg->max_code);
    pysb_wire_spec ws;
    int have_spec = 0;
    char *code = NULL, *in = NULL, err[256];
    size_t code_len = 0, in_len = 0, in_cap = 0;
    int have_code = 0;

    for (;;) {
        pysb_frame f;
        int rc = pysb_wire_recv(conn, &d, &f, PYSB_REQUEST_TIMEOUT_MS);
        if (rc == 0)
            _exit(0); /* the worker gave up before START */
        if (rc < 0) {
            snprintf(err, sizeof err, "reading the request: %s",
                     errno == EPROTO ? pysb_decoder_error(&d) : strerror(errno));
            refuse(conn, err);
        }
        if (f.type == PYSB_FRAME_SPEC && !have_spec) {
            if (pysb_spec_decode(f.payload, f.len, &ws, err, sizeof err) < 0)
                refuse(conn, err);
            have_spec = 1;
        } else if (f.type == PYSB_FRAME_CODE && have_spec && !have_code) {
            code = malloc(f.len + 1);
            if (!code)
                refuse(conn, "out of memory");
            memcpy(code, f.payload, f.len);
            code_len = f.len;
            have_code = 1;
        } else if (f.type == PYSB_FRAME_STDIN && have_code) {
            if (add_stdin(&in, &in_len, &in_cap, f.payload, f.len) < 0)
                refuse(conn, "stdin larger than allowed");
        } else if (f.type == PYSB_FRAME_START && have_code) {
            break;
        } else {
            snprintf(err, sizeof err, "unexpected %s frame",
                     pysb_frame_type_name(f.type));
            refuse(conn, err);
        }
    }
    pysb_decoder_free(&d);

    char *started = pysb_started_encode(ws.run_id, uid);
    if (!started || pysb_wire_send_timeout(conn, PYSB_FRAME_STARTED, started,
                                           strlen(started), SEND_TIMEOUT_MS) < 0)
        _exit(1); /* the worker is gone */
    free(started);

    pysb_run_spec spec = {
        .argv = ws.argv,
        .code = code,
        .code_len = code_len,
        .stdin_data = in,
        .stdin_len = in_len,
        .stdin_fd = -1,
        .watch_fd = conn,
        .limits = ws.limits,
        .uid = uid,
        .gid = (gid_t)uid,
        .ro_paths = ws.ro_paths,
        /* All runs share the launcher's empty network namespace. */
        .flags = ws.flags | PYSB_SHARED_NETNS,
        .run_id = ws.run_id[0] ? ws.run_id : NULL,
    };
    pysb_bootstrap_cached(ws.argv[0], &spec.bootstrap_blob, &spec.bootstrap_blob_len);
    struct relay rel = { .fd = conn, .deadline = pysb_monotonic() + ws.limits.wall_sec };
    pysb_result r;
    if ((pysb_run(&spec, relay_output, &rel, &r) < 0 || r.status == PYSB_INTERNAL_ERROR) &&
        !rel.failed) {
        /* A client that leaves is routine; a layer that fails is not. */
        int routine = !strncmp(r.error, "cancelled:", 10);
        logf_(routine ? PYSB_LOG_INFO : PYSB_LOG_ERR, 0, "run %s: %s", r.run_id, r.error);
    }
    if (rel.failed)
        _exit(0); /* the worker went away: nobody to tell */
    char *json = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    if (!json || pysb_wire_send_timeout(conn, PYSB_FRAME_RESULT, json,
                                        strlen(json), RESULT_TIMEOUT_MS) < 0)
        _exit(1);
    _exit(0);
}

/* ---- the launcher ----------------------------------------------------- */

static pid_t *live;          /* supervisors, max_runs slots, 0 = free */
static int signal_fd = -1;
static unsigned n_live;
static uid_t next_uid;

/* An flock on the uid's lease file, or -1 when all are taken. */
static int lease_uid(uid_t *out)
{
    /* Only the first max_runs uids of the range: the leases, held by
     * supervisors that outlive a restarted launcher, are then what caps
     * the runs alive at once, across restarts too. */
    unsigned span = (unsigned)(cfg->uid_last - cfg->uid_first) + 1;
    if (span > cfg->max_runs)
        span = cfg->max_runs;
    for (unsigned i = 0; i < span; i++) {
        uid_t u = cfg->uid_first + (uid_t)((next_uid - cfg->uid_first + i) % span);
        char path[4200];
        snprintf(path, sizeof path, "%s/%u", cfg->lease_dir, (unsigned)u);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            logf_(PYSB_LOG_ERR, errno, "lease file %s", path);
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            *out = u;
            next_uid = u + 1 > cfg->uid_last ? cfg->uid_first : u + 1;
            return fd;
        }
        close(fd);
    }
    return -1;
}

static void reap_supervisors(void)
{
    pid_t p;
    int st;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        for (unsigned i = 0; i < cfg->max_runs; i++)
            if (live[i] == p) {
                live[i] = 0;
                n_live--;
                break;
            }
        if (WIFSIGNALED(st))
            logf_(PYSB_LOG_WARN, 0, "supervisor %d died of signal %d", (int)p,
                  WTERMSIG(st));
    }
}

static void handle_connection(int listen_fd)
{
    int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            logf_(PYSB_LOG_ERR, errno, "accept");
        return;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        logf_(PYSB_LOG_ERR, errno, "SO_PEERCRED");
        close(conn);
        return;
    }
    if (cred.uid != cfg->peer_uid && cred.uid != 0) {
        logf_(PYSB_LOG_WARN, 0, "refused a connection from uid %u pid %d",
              (unsigned)cred.uid, (int)cred.pid);
        close(conn);
        return;
    }
    uid_t uid = 0;
    int lease = n_live < cfg->max_runs ? lease_uid(&uid) : -1;
    if (lease < 0) {
        /* Non-blocking: a worker that does not read cannot stall us. */
        pysb_wire_send_timeout(conn, PYSB_FRAME_BUSY, NULL, 0, 0);
        close(conn);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(listen_fd);
        close(signal_fd);
        /* The launcher blocks these for its signalfd; a run's supervisor
         * takes them as they come. */
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        supervisor_main(conn, uid);
    }
    if (pid < 0) {
        logf_(PYSB_LOG_ERR, errno, "fork of a supervisor");
        pysb_wire_send_timeout(conn, PYSB_FRAME_BUSY, NULL, 0, 0);
    } else {
        for (unsigned i = 0; i < cfg->max_runs; i++)
            if (!live[i]) {
                live[i] = pid;
                n_live++;
                break;
            }
    }
    close(lease); /* the supervisor's copy holds the lock */
    close(conn);
}

static int make_socket(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char tmp[sizeof sa.sun_path];
    if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", cfg->socket_path, (int)getpid()) >=
        (int)sizeof tmp) {
        logf_(PYSB_LOG_ERR, 0, "socket path too long: %s", cfg->socket_path);
        return -1;
    }
    memcpy(sa.sun_path, tmp, sizeof tmp);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        logf_(PYSB_LOG_ERR, errno, "socket");
        return -1;
    }
    unlink(tmp);
    /* Bound under a private name with a umask that keeps others out from
     * the start, then given to the User and renamed into place: a
     * restarted launcher replaces the old socket atomically. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0) {
        logf_(PYSB_LOG_ERR, errno, "bind %s", tmp);
        goto fail;
    }
    if (chown(tmp, cfg->peer_uid, cfg->peer_gid) < 0 || chmod(tmp, 0600) < 0) {
        logf_(PYSB_LOG_ERR, errno, "chown/chmod %s", tmp);
        goto fail;
    }
    if (listen(fd, 128) < 0) {
        logf_(PYSB_LOG_ERR, errno, "listen");
        goto fail;
    }
    if (rename(tmp, cfg->socket_path) < 0) {
        logf_(PYSB_LOG_ERR, errno, "rename %s to %s", tmp, cfg->socket_path);
        goto fail;
    }
    return fd;
fail:
    unlink(tmp);
    close(fd);
    return -1;
}

void pysb_launcher_main(const pysb_launcher_config *c)
{
    cfg = c;
    prctl(PR_SET_NAME, "pysb-launcher", 0, 0, 0);
    /* Out of httpd's process group: its group signals are for workers. */
    setsid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != cfg->parent) {
        logf_(PYSB_LOG_ERR, errno, "parent gone at start");
        _exit(1);
    }
    /* Nothing of httpd's: listeners, logs, pipes (stderr is the error
     * log and stays). */
    if (close_range(3, ~0U, 0) < 0)
        logf_(PYSB_LOG_WARN, errno, "close_range");
    int nullfd = open("/dev/null", O_RDWR);
    if (nullfd >= 0) {
        dup2(nullfd, 0);
        dup2(nullfd, 1);
        if (nullfd > 2)
            close(nullfd);
    }
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    int sfd = signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        logf_(PYSB_LOG_ERR, errno, "signalfd");
        _exit(1);
    }
    if (unshare(CLONE_NEWNET) < 0) {
        logf_(PYSB_LOG_ERR, errno, "unshare(CLONE_NEWNET)");
        _exit(1);
    }
    if (mkdir(cfg->lease_dir, 0700) < 0 && errno != EEXIST) {
        logf_(PYSB_LOG_ERR, errno, "mkdir %s", cfg->lease_dir);
        _exit(1);
    }
    compile_bootstraps();
    live = calloc(cfg->max_runs, sizeof *live);
    next_uid = cfg->uid_first;
    int lfd = make_socket();
    if (!live || lfd < 0)
        _exit(1);
    logf_(PYSB_LOG_INFO, 0, "listening on %s (%u runs, uids %u-%u)",
          cfg->socket_path, cfg->max_runs, (unsigned)cfg->uid_first,
          (unsigned)cfg->uid_last);
    for (;;) {
        struct pollfd p[2] = { { lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            logf_(PYSB_LOG_ERR, errno, "poll");
            _exit(1);
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    continue;
                /* Stop accepting; supervisors finish their runs alone. */
                logf_(PYSB_LOG_INFO, 0, "signal %u: exiting, %u run(s) in flight",
                      si.ssi_signo, n_live);
                _exit(0);
            }
            reap_supervisors();
        }
        if (p[0].revents)
            handle_connection(lfd);
    }
}
