/* forkserver.c — a fork server's loop and the clone of each warm run's
 * reaper.
 *
 * Contract: see forkserver.h. Process shape of one warm run:
 *
 *   supervisor (root, forked by the launcher; owns pipes, clocks, kill)
 *     │ RUN + fds ──► fork server (root, the preloaded interpreter, here)
 *     │ ◄── STARTED + pidfd; ENDED {wait status, rusage} if it must
 *     │                └─ reaper: clone() of the server into new pid/mount/
 *     │                   ipc/uts namespaces; reaper.c, as cold
 *     │                     └─ program: seccomp without execve, then back
 *     └── pipes ───────────────► into the interpreter for the bootstrap
 *
 * The supervisor watches the reaper through its pidfd and signals only
 * through it, never by pid: the reaper is not its child, and once the
 * server has reaped it the pid may name another process. */
#include "forkserver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "landlock.h"
#include "reaper.h"
#include "root.h"
#include "scratch.h"
#include "warm_wire.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* A run in flight: its reaper and the supervisor's reply channel. */
struct run {
    pid_t pid;
    int   pidfd;
    int   reply;    /* -1 once the supervisor hung up */
};

static struct {
    const pysb_fs_config *cfg;
    const pysb_fs_hooks  *hooks;
    pysb_path_set paths;                /* Landlock's, computed once */
    pysb_path_set run_paths;            /* a run's: with its scratch */
    int run_scratch;                    /* in a program: it has one */
    int root_fd;                        /* the minimal root's template (root.h) */
    int root_replaced;                  /* one of its paths was: draining to exit */
    int use_landlock;
    struct sigaction actions[NSIG];     /* the interpreter's dispositions */
    sigset_t mask;                      /* ... and signal mask */
    char comm[17];                      /* ... and name */
    pysb_warm_state warm;
    int sfd;
    int accepting;
    struct run *runs;
    size_t n_runs, cap_runs;
    uint64_t served;
    int64_t clone_said_at;              /* ms: last "cannot fork" line, 0 none */
    unsigned clone_fails;               /* ... and failures since */
} S;

/* The template's key, to ask before each run whether a cold run would
 * still get the same root (a read-only path replaced, an upgrade). */
static char root_key[PYSB_ROOT_KEY_MAX];

/* One line on stderr, which is httpd's error log (or the CLI's stderr),
 * in the error log's own shape (time, module:level, pid), since the
 * server cannot use httpd's logging: level is "warn" or "info". */
static void logmsg_at(const char *level, const char *what, int errnum)
{
    struct timespec ts;
    struct tm tm;
    char when[64] = "";
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm)) {
        char day[32], year[8];
        strftime(day, sizeof day, "%a %b %d %H:%M:%S", &tm);
        strftime(year, sizeof year, "%Y", &tm);
        snprintf(when, sizeof when, "%s.%06ld %s", day, ts.tv_nsec / 1000, year);
    }
    fprintf(stderr, "[%s] [pysandbox:%s] [pid %d] PYSB fork server: %s%s%s\n", when, level,
            (int)getpid(), what, errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

static void logmsg(const char *what, int errnum)
{
    logmsg_at("warn", what, errnum);
}

/* Bytes of address space and resident memory of this process. */
static int statm(uint64_t *vmsize, uint64_t *rss)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    unsigned long long size, res;
    if (sscanf(buf, "%llu %llu", &size, &res) != 2)
        return -1;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    *vmsize = size * page;
    *rss = res * page;
    return 0;
}

/* Entries of a /proc directory but "." "..", the one of the DIR itself and
 * skip_fd. */
static int count_entries(const char *path, int skip_fd)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) &&
            (skip_fd < 0 || atoi(e->d_name) != skip_fd))
            n++;
    closedir(d);
    return n;
}

static int send_reply(int fd, const pysb_fs_reply *r, int pass_fd)
{
    struct iovec iov = { (void *)r, sizeof *r };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (pass_fd >= 0) {
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n;
    do
        /* Never blocks on a supervisor: its channel is fresh and gets at
         * most two messages. */
        n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *r ? 0 : -1;
}

static pysb_fs_reply reply_of(int kind)
{
    return (pysb_fs_reply){ .magic = PYSB_FS_MAGIC, .version = PYSB_FS_VERSION,
                            .kind = (uint16_t)kind };
}

static void refuse(int reply, int errnum, const char *why)
{
    pysb_fs_reply r = reply_of(PYSB_FS_REFUSED);
    r.error = errnum;
    snprintf(r.text, sizeof r.text, "%s%s%s", why, errnum ? ": " : "",
             errnum ? strerror(errnum) : "");
    send_reply(reply, &r, -1);
}

/* fds: one per slot (PYSB_FS_NFDS), -1 for an optional one not sent. */
static int check_request(const pysb_fs_request *rq, const int *fds, char *why, size_t len)
{
    if (rq->uid == 0 || rq->gid == 0) {
        snprintf(why, len, "ids: refusing to run as uid/gid 0");
        return -1;
    }
    if (pysb_limits_validate(&rq->limits, why, len) < 0)
        return -1;
    /* The scratch's trees are there exactly when the run has one (and
     * shm/ when it has several processes), as a cold run's would be. */
    int scratch = rq->limits.scratch_bytes > 0, shm = scratch && rq->limits.processes > 1;
    if ((fds[PYSB_FS_FD_SCRATCH] >= 0) != scratch || (fds[PYSB_FS_FD_SHM] >= 0) != shm) {
        snprintf(why, len, "the scratch's descriptors do not match its limits");
        return -1;
    }
    for (int i = 0; i < PYSB_FS_NFDS; i++) {
        if (fds[i] < 0)
            continue;
        struct stat st;
        int want_sock = i == PYSB_FS_FD_REPLY || i == PYSB_FS_FD_WATCH;
        int want_dir = i == PYSB_FS_FD_SCRATCH || i == PYSB_FS_FD_SHM;
        mode_t want = want_sock ? S_IFSOCK : want_dir ? S_IFDIR : S_IFIFO;
        if (fstat(fds[i], &st) < 0 || (st.st_mode & S_IFMT) != want) {
            snprintf(why, len, "descriptor %d of the request is not a %s", i,
                     want_sock ? "socket" : want_dir ? "directory" : "pipe");
            return -1;
        }
    }
    /* Landlock's paths of this run: the server's, and the scratch's
     * writable ones; a read-only path the scratch would hide is refused
     * (the cold run it falls back to says so the same way). */
    S.run_paths = S.paths;
    if (scratch && (pysb_scratch_hides(S.run_paths.ro, S.run_paths.n_ro, shm, why, len) < 0 ||
                    pysb_scratch_grant(&S.run_paths, shm, why, len) < 0))
        return -1;
    return 0;
}

static int grow_runs(void)
{
    if (S.n_runs < S.cap_runs)
        return 0;
    size_t cap = S.cap_runs ? S.cap_runs * 2 : 64;
    struct run *nr = realloc(S.runs, cap * sizeof *nr);
    if (!nr)
        return -1;
    S.runs = nr;
    S.cap_runs = cap;
    return 0;
}

/* The reaper, in the clone: confined as cold, with the preloaded state on
 * top of the address-space limit. Returns only in the program. */
static void reaper(const pysb_fs_request *rq, const int *fds, uint64_t as_limit)
{
    /* What the server keeps of other runs is not this run's to read (its
     * memory is the run's): the host pids of their reapers, how many runs
     * it served (attack9 F1). */
    if (S.runs)
        memset(S.runs, 0, S.cap_runs * sizeof *S.runs);
    S.n_runs = 0;
    S.served = 0;
    S.clone_said_at = 0;
    S.clone_fails = 0;
    pysb_limits lim = rq->limits;
    lim.memory_bytes = as_limit;
    /* The supervisor's priority, which a cold reaper would inherit. */
    if (rq->nice)
        setpriority(PRIO_PROCESS, 0, rq->nice);
    pysb_reaper_args a = {
        .limits = &lim, .uid = rq->uid, .gid = rq->gid, .paths = &S.run_paths,
        .fds = { fds[PYSB_FS_FD_STDIN], fds[PYSB_FS_FD_STDOUT], fds[PYSB_FS_FD_STDERR],
                 fds[PYSB_FS_FD_CODE], fds[PYSB_FS_FD_STATUS], fds[PYSB_FS_FD_WATCH],
                 fds[PYSB_FS_FD_SCRATCH], fds[PYSB_FS_FD_SHM], fds[PYSB_FS_FD_REPORT] },
        .root_fd = S.root_fd,
        .use_landlock = S.use_landlock,
        .warm = &S.warm,
    };
    S.run_scratch = fds[PYSB_FS_FD_SCRATCH] >= 0;
    pysb_reaper_main(&a);
}

/* Returns 1 in the program of the new run, 0 in the server. fds (one per
 * slot, -1 for an optional one not sent) are closed here (in the server)
 * either way. */
static int spawn(const pysb_fs_request *rq, int *fds)
{
    int reply = fds[PYSB_FS_FD_REPLY];
    char why[200];
    if (!S.accepting) {
        refuse(reply, 0, "the fork server is stopping");
        goto out;
    }
    if (check_request(rq, fds, why, sizeof why) < 0) {
        refuse(reply, 0, why);
        goto out;
    }
    /* A path of the template was replaced (a read-only path moved away
     * and another put in its place, a package or interpreter upgrade):
     * the binds still show the old trees, where a cold run now sees the
     * new ones. This run goes cold; the server takes no more and exits
     * once its runs in flight are done, and its owner starts a new one
     * on the new root (PYSB_FS_EXIT_ROOT_REPLACED). */
    if (!pysb_root_current(root_key)) {
        logmsg_at("info", "a path of the runs' minimal root was replaced: runs go cold until "
                  "this fork server is replaced", 0);
        S.accepting = 0;
        S.root_replaced = 1;
        refuse(reply, 0, "the fork server's minimal root is out of date");
        goto out;
    }
    /* A request that waited in the queue past its supervisor's patience:
     * the supervisor hung up and runs it cold. Cloning now would only make
     * a reaper nobody owns, racing the cold one for the pipes. */
    struct pollfd hp = { reply, POLLRDHUP, 0 };
    if (poll(&hp, 1, 0) > 0 && (hp.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        logmsg("dropped a request whose supervisor gave up waiting", 0);
        goto out;
    }
    if (grow_runs() < 0) {
        refuse(reply, ENOMEM, "fork server");
        goto out;
    }
    /* What the run may allocate beyond the preloaded state: the server's
     * address space now, minus a bare interpreter's, on top of the limit.
     * Without preloads the limit is the limit: the server is a bare
     * interpreter but for the extension (well under 1 MiB). */
    uint64_t vms = 0, rss = 0;
    if (!S.cfg->preloaded || statm(&vms, &rss) < 0 || vms < S.cfg->vmsize_base)
        vms = S.cfg->vmsize_base;
    uint64_t as_limit = rq->limits.memory_bytes + (vms - S.cfg->vmsize_base);

    int pidfd = -1;
    if (S.hooks->before_fork)
        S.hooks->before_fork();
    /* No CLONE_NEWNET: the server already sits in its owner's empty
     * network namespace, shared by every run. */
    /* No CLONE_NEWNS either: the reaper joins the template root's mount
     * namespace and unshares its own copy of it (root.h), as cold. */
    long pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWIPC |
                                      CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD,
                       NULL, &pidfd, NULL, 0);
    if (pid == 0) {
        reaper(rq, fds, as_limit);
        return 1;
    }
    int clone_errno = errno;
    if (S.hooks->after_parent)
        S.hooks->after_parent();
    if (pid < 0) {
        /* The run goes cold (the supervisor falls back on REFUSED); said
         * once a minute at most, with how many more failed meanwhile, so
         * that a server that cannot fork (pids limit, memory) is seen in
         * the error log without a line per run. */
        int64_t now = pysb_monotonic_ms();
        S.clone_fails++;
        if (!S.clone_said_at || now - S.clone_said_at >= 60000) {
            char what[96];
            snprintf(what, sizeof what, "cannot fork runs (%u since the last such line; they run "
                     "cold): clone", S.clone_fails);
            logmsg(what, clone_errno);
            S.clone_said_at = now;
            S.clone_fails = 0;
        }
        refuse(reply, clone_errno, "namespaces: clone");
        goto out;
    }
    S.served++;
    pysb_fs_reply r = reply_of(PYSB_FS_STARTED);
    r.pid = (int32_t)pid;
    r.as_limit = as_limit;
    r.rss_base = S.cfg->rss_base;
    if (send_reply(reply, &r, pidfd) < 0) {
        /* The supervisor is gone already: nobody owns this run. */
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        close(reply);
        reply = -1;
    }
    S.runs[S.n_runs++] = (struct run){ (pid_t)pid, pidfd, reply };
    fds[PYSB_FS_FD_REPLY] = -1;  /* kept for ENDED */
out:
    for (int i = 0; i < PYSB_FS_NFDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}

/* A RUN's descriptors into their slots: the fixed ones, then the optional
 * ones its `has` names, in order. 0, or -1 when they do not add up. */
static int place_fds(const pysb_fs_request *rq, const int *got, int n, int *slots)
{
    for (int i = 0; i < PYSB_FS_NFDS; i++)
        slots[i] = -1;
    if (rq->has & ~(uint32_t)(PYSB_FS_HAS_WATCH | PYSB_FS_HAS_SCRATCH | PYSB_FS_HAS_SHM))
        return -1;
    int k = 0;
    for (int i = 0; i < PYSB_FS_NFDS; i++) {
        if (i >= PYSB_FS_FD_WATCH && !(rq->has & (1u << (i - PYSB_FS_FD_WATCH))))
            continue;
        if (k == n)
            return -1;
        slots[i] = got[k++];
    }
    return k == n ? 0 : -1;
}

static void drop_run(size_t i)
{
    if (S.runs[i].reply >= 0)
        close(S.runs[i].reply);
    close(S.runs[i].pidfd);
    S.runs[i] = S.runs[--S.n_runs];
}

static void reap_all(void)
{
    for (;;) {
        int st;
        struct rusage ru;
        pid_t p = wait4(-1, &st, WNOHANG | __WALL, &ru);
        if (p <= 0)
            return;
        for (size_t i = 0; i < S.n_runs; i++) {
            if (S.runs[i].pid != p)
                continue;
            if (S.runs[i].reply >= 0) {
                pysb_fs_reply r = reply_of(PYSB_FS_ENDED);
                r.pid = p;
                r.wait_status = st;
                r.ru = ru;
                send_reply(S.runs[i].reply, &r, -1);
            }
            drop_run(i);
            break;
        }
    }
}

/* One datagram from the control socket. Returns 1 in a new run's program. */
static int handle_control(int ctl, int *eof)
{
    union {
        pysb_fs_request rq;
        char raw[sizeof(pysb_fs_request) + 64];
    } m;
    union { char buf[CMSG_SPACE(sizeof(int) * PYSB_FS_NFDS)]; struct cmsghdr align; } u;
    struct iovec iov = { &m, sizeof m };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    ssize_t n = recvmsg(ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return 0;
    if (n == 0) {
        *eof = 1;
        return 0;
    }
    int fds[PYSB_FS_NFDS];
    int nfds = pysb_fs_take_fds(&mh, fds, PYSB_FS_NFDS);
    int bad = n != (ssize_t)sizeof m.rq || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
              m.rq.magic != PYSB_FS_MAGIC || m.rq.version != PYSB_FS_VERSION;
    if (!bad && m.rq.kind == PYSB_FS_PING && nfds == 1) {
        pysb_fs_reply r = reply_of(PYSB_FS_PONG);
        r.in_flight = (uint32_t)S.n_runs;
        r.served = S.served;
        send_reply(fds[0], &r, -1);
        close(fds[0]);
        return 0;
    }
    int slots[PYSB_FS_NFDS];
    if (!bad && m.rq.kind == PYSB_FS_RUN && place_fds(&m.rq, fds, nfds, slots) == 0)
        return spawn(&m.rq, slots);
    if (nfds > 0)
        refuse(fds[0], 0, "malformed request");
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    logmsg("malformed request dropped", 0);
    return 0;
}

static void send_ready(int ctl, int threads, int extra_fds, const char *why)
{
    pysb_fs_ready r = { .magic = PYSB_FS_MAGIC, .version = PYSB_FS_VERSION,
                        .kind = why ? PYSB_FS_REFUSED : PYSB_FS_READY,
                        .pid = (int32_t)getpid(), .threads = (uint32_t)threads,
                        .extra_fds = (uint32_t)(extra_fds > 0 ? extra_fds : 0),
                        .vmsize_base = S.cfg->vmsize_base, .rss_base = S.cfg->rss_base };
    statm(&r.vmsize, &r.rss);
    snprintf(r.python, sizeof r.python, "%s", S.cfg->python ? S.cfg->python : "");
    if (why)
        snprintf(r.text, sizeof r.text, "%s", why);
    if (send(ctl, &r, sizeof r, MSG_NOSIGNAL) < 0)
        logmsg("READY", errno);
}

/* Everything serving needs, checked and set up before READY. */
static int prepare(int ctl, char *err, size_t errlen)
{
    /* Single-threaded, or no fork at all: a thread copied mid-flight (an
     * OpenBLAS worker holding a lock) would deadlock or corrupt every
     * child. Nothing but this C loop runs after this check, so no thread
     * can appear later. */
    int threads = count_entries("/proc/self/task", -1);
    int extra_fds = count_entries("/proc/self/fd", ctl) - 3;
    if (threads != 1) {
        snprintf(err, errlen, "%d threads after the preloads (must be 1)", threads);
        goto refused;
    }
    if (pysb_interp_paths(S.cfg->interp, S.cfg->ro_paths, &S.paths, err, errlen) < 0)
        goto refused;
    /* The runs' minimal root, as a cold run of this path set gets it. */
    S.root_fd = pysb_root_open_keyed(&S.paths, S.cfg->interp, root_key, sizeof root_key, err,
                                     errlen);
    if (S.root_fd < 0)
        goto refused;
    int abi = pysb_landlock_abi();
    if (abi == 0 && !S.cfg->waive_landlock) {
        snprintf(err, errlen, "landlock: not supported by this kernel");
        goto refused;
    }
    S.use_landlock = abi > 0;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, NULL, &S.actions[s]);
    sigprocmask(SIG_SETMASK, NULL, &S.mask);
    prctl(PR_GET_NAME, S.comm, 0, 0, 0);
    S.warm = (pysb_warm_state){ S.actions, &S.mask, S.comm };
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    S.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (S.sfd < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
        goto refused;
    }
    /* A dead owner stops the accepting; runs in flight still finish, as
     * cold runs do under their supervisors. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() == 1) {
        snprintf(err, errlen, "the owner is gone");
        goto refused;
    }
    prctl(PR_SET_NAME, "pysb-forkserver", 0, 0, 0);
    /* What the interpreter's start, the preloads and the checks freed goes
     * back to the kernel: every run's clone and fork copies the page table
     * entries of what is still mapped, and every exit tears them down. */
    malloc_trim(0);
    if (extra_fds > 0)
        logmsg_at("info", "the preloads left descriptors open; runs never see them (the reaper closes them)", 0);
    send_ready(ctl, threads, extra_fds, NULL);
    return 0;
refused:
    send_ready(ctl, threads, extra_fds, err);
    return -1;
}

char *const *pysb_fs_run_environ(void)
{
    return pysb_child_environ(S.run_scratch);
}

int pysb_fs_serve(const pysb_fs_config *cfg, const pysb_fs_hooks *hooks,
                  char *err, size_t errlen)
{
    memset(&S, 0, sizeof S);
    S.cfg = cfg;
    S.hooks = hooks;
    S.sfd = -1;
    S.root_fd = -1;
    S.accepting = 1;
    int ctl = cfg->ctl_fd;
    if (prepare(ctl, err, errlen) < 0)
        return -1;

    struct pollfd *p = NULL;
    size_t p_cap = 0;
    int ctl_open = 1;
    for (;;) {
        if (!S.accepting && S.n_runs == 0)
            break;
        size_t want = S.n_runs + 2;
        if (want > p_cap) {
            struct pollfd *np = realloc(p, want * 2 * sizeof *np);
            if (!np) {
                logmsg("out of memory", 0);
                sleep(1);
                continue;
            }
            p = np;
            p_cap = want * 2;
        }
        size_t n = 0;
        p[n++] = (struct pollfd){ S.sfd, POLLIN, 0 };
        p[n++] = (struct pollfd){ ctl_open ? ctl : -1, POLLIN, 0 };
        for (size_t i = 0; i < S.n_runs; i++)
            p[n++] = (struct pollfd){ S.runs[i].reply, POLLRDHUP, 0 };
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "poll: %s", strerror(errno));
            free(p);
            return -1;
        }
        if (p[0].revents) {
            struct signalfd_siginfo si;
            while (read(S.sfd, &si, sizeof si) == (ssize_t)sizeof si)
                if (si.ssi_signo != SIGCHLD && S.accepting) {
                    S.accepting = 0;
                    /* Routine (every stop and graceful restart): said
                     * only when runs are left to wait for. */
                    if (S.n_runs)
                        logmsg_at("info", "stopping: no new runs; waiting for those in flight", 0);
                }
            reap_all();
        }
        /* A supervisor that hung up before ENDED is gone: its run must not
         * outlive it (a cold reaper dies with its supervisor). Backwards:
         * drop_run moves the last entry. */
        for (size_t k = n; k-- > 2;) {
            size_t i = k - 2;
            if (i < S.n_runs && p[k].revents && S.runs[i].reply == p[k].fd) {
                syscall(SYS_pidfd_send_signal, S.runs[i].pidfd, SIGKILL, NULL, 0);
                close(S.runs[i].reply);
                S.runs[i].reply = -1;
            }
        }
        if (ctl_open && p[1].revents) {
            int eof = 0;
            for (int k = 0; k < 16 && !eof; k++) {
                struct pollfd q = { ctl, POLLIN, 0 };
                if (k > 0 && poll(&q, 1, 0) <= 0)
                    break;
                if (handle_control(ctl, &eof) == 1) {
                    /* The program of a new run: the server stays behind. */
                    free(p);
                    if (hooks->after_child)
                        hooks->after_child();
                    return 1;
                }
            }
            if (eof) {
                ctl_open = 0;
                S.accepting = 0;
                if (S.n_runs)
                    logmsg_at("info", "control socket closed: no new runs; waiting for those in flight", 0);
            }
        }
    }
    free(p);
    if (S.root_replaced)
        _exit(PYSB_FS_EXIT_ROOT_REPLACED);
    return 0;
}
