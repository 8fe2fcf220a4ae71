/* launcher.c — the privileged daemon: accept, check the peer, count live
 * runs, lease a uid, fork a supervisor (which serves the session, session.c,
 * with pysb_run as its run).
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
#include "session.h"
#include "supervise.h"
#include "wire.h"

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

struct run_ctx {
    int   conn;
    uid_t uid;
};

/* The run of a served request: the engine, with the leased uid, the
 * launcher's network namespace and its compiled bootstrap. */
static int run_request(void *ctx, const pysb_session_request *req, pysb_output_fn out,
                       void *out_ctx, pysb_result *r)
{
    const struct run_ctx *c = ctx;
    const pysb_wire_spec *ws = &req->spec;
    pysb_run_spec spec = {
        .argv = ws->argv,
        .code = req->code,
        .code_len = req->code_len,
        .stdin_data = req->stdin_data,
        .stdin_len = req->stdin_len,
        .stdin_fd = -1,
        .watch_fd = c->conn,
        .limits = ws->limits,
        .uid = c->uid,
        .gid = (gid_t)c->uid,
        .ro_paths = ws->ro_paths,
        /* All runs share the launcher's empty network namespace. */
        .flags = ws->flags | PYSB_SHARED_NETNS,
        .run_id = ws->run_id[0] ? ws->run_id : NULL,
    };
    pysb_bootstrap_cached(ws->argv[0], &spec.bootstrap_blob, &spec.bootstrap_blob_len);
    return pysb_run(&spec, out, out_ctx, r);
}

static __attribute__((noreturn)) void supervisor_main(int conn, uid_t uid)
{
    prctl(PR_SET_NAME, "pysb-run", 0, 0, 0);
    const pysb_session_bounds bounds = {
        .max_code = cfg->max_code,
        .max_stdin = cfg->max_stdin,
        .timeout_ms = PYSB_REQUEST_TIMEOUT_MS,
    };
    struct run_ctx ctx = { conn, uid };
    pysb_session_outcome o;
    int status = pysb_session_serve(conn, uid, &bounds, run_request, &ctx, &o);
    if (o.refused)
        logf_(PYSB_LOG_WARN, 0, "request refused: %s", o.why);
    if (o.ran && o.result.status == PYSB_INTERNAL_ERROR && !o.worker_gone) {
        /* A client that leaves is routine; a layer that fails is not. */
        int routine = !strncmp(o.result.error, "cancelled:", 10);
        logf_(routine ? PYSB_LOG_INFO : PYSB_LOG_ERR, 0, "run %s: %s", o.result.run_id,
              o.result.error);
    }
    _exit(status);
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
