/* launcher.c — the privileged daemon: accept, check the peer, admit or
 * queue or refuse, lease a uid, fork a supervisor (which serves the
 * session, session.c, with pysb_run as its run).
 *
 * Contract: see launcher.h. The launcher never blocks on a peer: every
 * socket it holds is non-blocking and polled together, it reads a
 * connection's first frame as it arrives (under a short deadline), and
 * it only ever sends one small frame at a time into a socket that holds
 * nothing else of its. That first frame is read exactly, and refused at
 * its header unless it is an ADMIT, a STATUS_GET or an older worker's SPEC
 * (64 KiB at most, 4 MiB for all connections together): what a peer with
 * httpd's uid can make the launcher hold stays bounded. All reading of
 * requests happens in supervisors. */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "bootstrap.h"
#include "clock.h"
#include "payload_status.h"
#include "fspool.h"
#include "result.h"
#include "session.h"
#include "stats.h"
#include "supervise.h"
#include "wire.h"

/* A connection's first frame must come within this. */
#define HELLO_TIMEOUT_MS 5000
/* Slots held by runs of an earlier launcher free up without a SIGCHLD
 * here: while that keeps a waiter from a slot, try the leases this often. */
#define LEASE_RETRY_MS 50
/* Connections held at once (waiting or saying hello): beyond, refused. */
#define MAX_CONNS 4096
/* A first frame is an ADMIT (1 KiB at most), a STATUS_GET (empty), or the
 * SPEC of a worker of an older build (SPEC first, before the wait queue),
 * which that protocol capped at 64 KiB; every other type is refused at its
 * header, so that a peer cannot make the root launcher buffer a 16 MiB
 * CODE frame per connection. */
#define HELLO_SPEC_MAX (64u << 10)
/* The SPECs of connections saying hello, together: beyond, refused as if
 * the queue were full (4096 connections x 64 KiB would be 256 MiB). */
#define HELLO_SPEC_BUDGET (4u << 20)
/* How long the launcher waits for the default Location's fork server
 * before it listens (a fresh request's connect tries for a second). */
#define PRESTART_WAIT_MS 700

static const pysb_launcher_config *cfg;
static pysb_stats stats;

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
    int         conn;
    uid_t       uid;
    const char *client;
};

static unsigned slot_of_uid(uid_t uid)
{
    return (unsigned)(uid - cfg->uid_first);
}

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
        .args = ws->args,
        .python_path = ws->python_path,
        /* the output's context is the session's: OUTFILE frames */
        .file_out = pysb_session_relay_file,
        .files = req->files,
        .n_files = req->n_files,
    };
    pysb_bootstrap_cached(ws->argv[0], &spec.bootstrap_blob, &spec.bootstrap_blob_len);
    /* The interpreter's site directories, asked of it at start (or now,
     * as the run's uid, when its binary changed since). */
    const char *site_v[PYSB_WIRE_RO_PATHS_MAX + 1] = { NULL };
    const char *dirs = NULL;
    char *asked = NULL;
    size_t len = 0;
    if (ws->flags & PYSB_SITE_PACKAGES) {
        char err[200];
        if (!pysb_site_cached(ws->argv[0], &dirs, &len) &&
            pysb_site_dirs(ws->argv[0], c->uid, &asked, &len, err, sizeof err) < 0) {
            memset(r, 0, sizeof *r);
            r->status = PYSB_INTERNAL_ERROR;
            r->exit_code = -1;
            r->limits = ws->limits;
            snprintf(r->run_id, sizeof r->run_id, "%s", ws->run_id);
            snprintf(r->error, sizeof r->error, "site-packages: %s", err);
            return -1;
        }
        if (asked)
            dirs = asked;
        size_t n = 0;
        for (size_t off = 0; off < len && n < PYSB_WIRE_RO_PATHS_MAX; off += strlen(dirs + off) + 1)
            site_v[n++] = dirs + off;
        spec.site_paths = site_v;
    }
    /* In flight, for the status page (never the code). */
    pysb_stats_slot_set(&stats, slot_of_uid(c->uid), getpid(), c->uid, ws->run_id, c->client,
                        pysb_monotonic_ms());
    static const char *const none[] = { NULL };
    if (ws->warm && cfg->extension) {
        /* The server's read-only paths: the run's, its python path and its
         * site directories, which its minimal root and Landlock hold. */
        const char *ro[3 * PYSB_WIRE_RO_PATHS_MAX + 1];
        size_t n = 0;
        const char *const *lists[] = { ws->ro_paths, ws->python_path, spec.site_paths };
        for (size_t l = 0; l < 3; l++)
            for (size_t k = 0; lists[l] && lists[l][k] && n < 3 * PYSB_WIRE_RO_PATHS_MAX; k++)
                ro[n++] = lists[l][k];
        ro[n] = NULL;
        spec.warm = pysb_fspool_target(ws->argv, ws->preload ? ws->preload : none, ro);
    }
    int rc = pysb_run(&spec, out, out_ctx, r);
    free(asked);
    return rc;
}

/* st: how the conversation began (ADMIT: say GO; a SPEC-first worker:
 * the launcher's decoder and the SPEC it read). */
static __attribute__((noreturn)) void supervisor_main(int conn, const pysb_session_start *st,
                                                      uid_t uid, const char *client, int nice)
{
    prctl(PR_SET_NAME, "pysb-run", 0, 0, 0);
    /* Inherited by the run, which cannot undo it (setpriority is denied,
     * RLIMIT_NICE is 0). */
    if (nice && setpriority(PRIO_PROCESS, 0, nice) < 0)
        logf_(PYSB_LOG_WARN, errno, "setpriority %d", nice);
    const pysb_session_bounds bounds = {
        .max_code = cfg->max_code,
        .max_stdin = cfg->max_stdin,
        .timeout_ms = PYSB_REQUEST_TIMEOUT_MS,
    };
    struct run_ctx ctx = { conn, uid, client };
    pysb_session_outcome o;
    int status = pysb_session_serve_from(conn, st, uid, &bounds, run_request, &ctx, &o);
    if (o.refused)
        logf_(PYSB_LOG_WARN, 0, "request refused: %s", o.why);
    if (o.ran) {
        pysb_stats_verdict(&stats, o.result.status, (int64_t)(o.result.wall_sec * 1000 + 0.5));
        pysb_stats_slot_clear(&stats, slot_of_uid(uid), getpid());
    }
    if (o.ran && o.result.status == PYSB_INTERNAL_ERROR && !o.worker_gone) {
        /* A client that leaves is routine; a layer that fails is not. */
        int routine = !strncmp(o.result.error, "cancelled:", 10);
        logf_(routine ? PYSB_LOG_INFO : PYSB_LOG_ERR, 0, "run %s: %s", o.result.run_id,
              o.result.error);
    }
    _exit(status);
}

/* ---- what the launcher holds -------------------------------------------- */

/* A connection: saying hello (its first frame not read yet), or waiting
 * in the queue (w is in the admission queue). */
typedef struct conn {
    struct conn  *prev, *next;
    int           fd;
    int           queued;
    int64_t       hello_deadline_ms;
    pysb_decoder  d;
    /* The first frame, read exactly (never past its end: what follows a
     * SPEC stays in the socket for the supervisor): bytes read, its
     * header, and what of HELLO_SPEC_BUDGET it holds. */
    size_t        hello_got;
    uint8_t       hello_hdr[PYSB_WIRE_HDR_LEN];
    uint32_t      hello_len;
    uint32_t      hello_charged;
    pysb_waiter   w;
} conn;

/* A run this launcher forked. */
typedef struct live_run {
    pid_t   pid;
    uid_t   uid;
    int64_t started_ms;
    char    client[PYSB_CLIENT_KEY_MAX + 1];
} live_run;

static conn *conns;
static conn *dropped;        /* freed at the end of a loop round */
static unsigned n_conns;
static live_run *live;       /* max_runs entries, pid 0 = free */

/* The clients whose runs ended lately, one entry a client (the oldest
 * replaced): a client in a closed loop has no run for a few milliseconds
 * between two, and is still there for fairness. */
#define RECENT_N 8
#define RECENT_MS 1000
static struct { char client[PYSB_CLIENT_KEY_MAX + 1]; int64_t ended_ms; } recent[RECENT_N];

static void recent_ended(const char *client, int64_t now)
{
    unsigned pick = 0;
    for (unsigned i = 0; i < RECENT_N; i++) {
        if (!strcmp(recent[i].client, client)) {
            pick = i;
            break;
        }
        if (recent[i].ended_ms < recent[pick].ended_ms)
            pick = i;
    }
    snprintf(recent[pick].client, sizeof recent[pick].client, "%s", client);
    recent[pick].ended_ms = now;
}

/* Another client than this one had a run end within RECENT_MS. */
static int other_recent(const char *client, int64_t now)
{
    for (unsigned i = 0; i < RECENT_N; i++)
        if (recent[i].ended_ms && now - recent[i].ended_ms < RECENT_MS &&
            strcmp(recent[i].client, client))
            return 1;
    return 0;
}
static unsigned n_live;
static pysb_admission *adm;
static int listen_fd = -1, signal_fd = -1;
static uid_t next_uid;
static int lease_blocked;    /* a waiter could not lease: retry on a timer */
static size_t hello_spec_bytes; /* the hello_charged of every connection */

static conn *conn_new(int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->w.owner = c;
    pysb_decoder_init(&c->d);
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    n_conns++;
    return c;
}

/* Forgets c and closes its socket (a forked supervisor has its own
 * copy). The record itself lives on until the loop's round ends, so the
 * round's poll entries may still point at it (fd -1: gone). */
static void conn_drop(conn *c)
{
    if (c->queued)
        pysb_admission_remove(adm, &c->w);
    c->queued = 0;
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    n_conns--;
    hello_spec_bytes -= c->hello_charged;
    c->hello_charged = 0;
    close(c->fd);
    c->fd = -1;
    pysb_decoder_free(&c->d);
    c->next = dropped;
    dropped = c;
}

static void conns_free_dropped(void)
{
    for (conn *c = dropped, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    dropped = NULL;
}

/* ---- uid leases and supervisors ------------------------------------------ */

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

/* Leases a uid and forks the supervisor of c's run. Returns 1 when it
 * has it (c is dropped here, its socket the supervisor's), 0 when no uid
 * is free (c untouched), -1 when the fork failed (c untouched). */
static int start_run(conn *c, const char *client, const pysb_session_start *st)
{
    uid_t uid = 0;
    int lease = n_live < cfg->max_runs ? lease_uid(&uid) : -1;
    if (lease < 0)
        return 0;
    /* A run that starts while its client has others running, and some
     * other client has a run or a waiter or had one end within the last
     * second, gets less CPU (nice 10: a tenth
     * of a nice-0 run's share under CFS, 15 from the third on), so one
     * client's parallel runs never crowd out another client's run; with
     * the CPU free, they run as fast as any. With no other client there
     * is nobody to be fair to: a lone client's runs (a classroom behind
     * one address) all keep nice 0, or the niced ones would starve
     * against whatever else the host runs (their autogroup carries the
     * nice) and end in wall_limit well inside their CPU limit. */
    unsigned running, waiting;
    pysb_admission_client(adm, client, &running, &waiting);
    unsigned others = n_live - running + pysb_admission_queued(adm) - waiting +
                      (unsigned)other_recent(client, pysb_monotonic_ms());
    int nice = running == 0 || others == 0 ? 0 : running == 1 ? 10 : 15;
    pid_t pid = fork();
    if (pid == 0) {
        /* Nothing of the launcher's but this connection and the lease. */
        close(listen_fd);
        close(signal_fd);
        for (conn *o = conns; o; o = o->next)
            if (o != c)
                close(o->fd);
        /* The launcher blocks these for its signalfd; a run's supervisor
         * takes them as they come. */
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        supervisor_main(c->fd, st, uid, client, nice);
    }
    close(lease); /* the supervisor's copy holds the lock */
    if (pid < 0) {
        logf_(PYSB_LOG_ERR, errno, "fork of a supervisor");
        return -1;
    }
    for (unsigned i = 0; i < cfg->max_runs; i++)
        if (!live[i].pid) {
            live[i].pid = pid;
            live[i].uid = uid;
            live[i].started_ms = pysb_monotonic_ms();
            snprintf(live[i].client, sizeof live[i].client, "%s", client);
            n_live++;
            break;
        }
    pysb_admission_run_started(adm, client);
    conn_drop(c);
    return 1;
}

static void refuse(conn *c, pysb_refuse_reason why)
{
    static const pysb_counter counters[PYSB_REFUSE_COUNT] = {
        [PYSB_REFUSE_SLOTS] = PYSB_C_REFUSED_SLOTS,
        [PYSB_REFUSE_QUEUE_FULL] = PYSB_C_REFUSED_FULL,
        [PYSB_REFUSE_QUEUE_TIMEOUT] = PYSB_C_REFUSED_TIMEOUT,
        [PYSB_REFUSE_CLIENT] = PYSB_C_REFUSED_CLIENT,
    };
    static const char *const words[PYSB_REFUSE_COUNT] = {
        [PYSB_REFUSE_SLOTS] = "every slot busy and the request may not wait",
        [PYSB_REFUSE_QUEUE_FULL] = "the queue full",
        [PYSB_REFUSE_QUEUE_TIMEOUT] = "waited PySandboxQueueTimeout",
        [PYSB_REFUSE_CLIENT] = "over a client's share (PySandboxMaxRunsPerClient)",
    };
    int64_t now = pysb_monotonic_ms();
    unsigned after = pysb_admission_retry_after(adm, why, now);
    pysb_stats_count(&stats, counters[why], 1);
    /* Each one is the worker's to log at info; here, server-wide, at most
     * a warning a minute (log_refusals sums up the rest). */
    if (pysb_admission_refused(adm, why, now))
        logf_(PYSB_LOG_WARN, 0, "refusing requests (%s, %u running, %u waiting); more "
              "are counted and summarised once a minute", words[why], n_live,
              pysb_admission_queued(adm));
    pysb_session_refuse(c->fd, why, after);
    conn_drop(c);
}

/* The minute's refusals, once it is over. */
static void log_refusals(void)
{
    uint64_t n[PYSB_REFUSE_COUNT];
    int64_t span;
    if (!pysb_admission_summary(adm, pysb_monotonic_ms(), n, &span))
        return;
    logf_(PYSB_LOG_WARN, 0, "%llu requests refused in the last %lld s: %llu with the queue "
          "full, %llu after waiting PySandboxQueueTimeout, %llu over a client's share, "
          "%llu that could not wait",
          (unsigned long long)(n[0] + n[1] + n[2] + n[3]), (long long)(span / 1000),
          (unsigned long long)n[PYSB_REFUSE_QUEUE_FULL],
          (unsigned long long)n[PYSB_REFUSE_QUEUE_TIMEOUT],
          (unsigned long long)n[PYSB_REFUSE_CLIENT], (unsigned long long)n[PYSB_REFUSE_SLOTS]);
}

/* A waiter (or an ADMIT that may run at once) gets its slot: 1 when it
 * has it, 0 when none could be leased. */
static int admit(conn *c, int64_t now)
{
    static const pysb_session_start go = { 1, NULL, NULL };
    int rc = start_run(c, c->w.admit.client, &go);
    if (rc == 0)
        return 0;
    if (rc < 0) {
        refuse(c, PYSB_REFUSE_SLOTS);
        return 1;
    }
    pysb_stats_count(&stats, PYSB_C_ADMITTED, 1);
    pysb_stats_queue_wait(&stats, now - c->w.since_ms);
    return 1;
}

/* Free slots to the oldest waiters that may take one. */
static void dispatch(void)
{
    lease_blocked = 0;
    pysb_waiter *w;
    while (n_live < cfg->max_runs && (w = pysb_admission_next(adm))) {
        conn *c = w->owner;
        int64_t now = pysb_monotonic_ms();
        int waited = now - c->w.since_ms > 0;
        pysb_admission_remove(adm, w);
        c->queued = 0;
        if (!admit(c, now)) {
            /* Held by runs of an earlier launcher: back in its place. */
            pysb_admission_enqueue(adm, &c->w);
            c->queued = 1;
            lease_blocked = 1;
            return;
        }
        if (waited)
            pysb_stats_count(&stats, PYSB_C_WAITED, 1);
    }
}

static void reap_supervisors(void)
{
    pid_t p;
    int st;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pysb_fspool_reaped(p, st))
            continue;
        int64_t now = pysb_monotonic_ms();
        for (unsigned i = 0; i < cfg->max_runs; i++)
            if (live[i].pid == p) {
                pysb_admission_run_ended(adm, live[i].client, now - live[i].started_ms, now);
                recent_ended(live[i].client, now);
                /* Cleared by the supervisor itself, unless it died. */
                pysb_stats_slot_clear(&stats, slot_of_uid(live[i].uid), p);
                live[i].pid = 0;
                n_live--;
                break;
            }
        if (WIFSIGNALED(st))
            logf_(PYSB_LOG_WARN, 0, "supervisor %d died of signal %d", (int)p,
                  WTERMSIG(st));
    }
    dispatch();
}

/* ---- the status snapshot -------------------------------------------------- */

static void answer_status(conn *c)
{
    static pysb_status_entry running[PYSB_STATUS_LIST_MAX], queued[PYSB_STATUS_LIST_MAX];
    static pysb_fspool_info servers[PYSB_STATUS_LIST_MAX];
    static pysb_status_fork_server fork_servers[PYSB_STATUS_LIST_MAX];
    static const char *const state_names[] = {
        [PYSB_FSPOOL_STARTING] = "starting", [PYSB_FSPOOL_READY] = "ready",
        [PYSB_FSPOOL_COLD] = "cold",
    };
    size_t n_servers = pysb_fspool_list(servers, PYSB_STATUS_LIST_MAX);
    for (size_t i = 0; i < n_servers; i++)
        fork_servers[i] = (pysb_status_fork_server){
            .key = servers[i].key, .pid = (long)servers[i].pid,
            .state = state_names[servers[i].state], .started = servers[i].started,
            .restarts = servers[i].restarts,
        };
    pysb_status_in in = {
        .stats = &stats,
        .launcher_pid = getpid(),
        .max_runs = cfg->max_runs,
        .queue_size = cfg->queue_size,
        .n_queued = pysb_admission_queued(adm),
        .running = running,
        .queued = queued,
        .fork_servers = fork_servers,
        .fork_servers_len = n_servers,
        .now = time(NULL),
    };
    int64_t now = pysb_monotonic_ms();
    /* Runs in flight, this launcher's and its predecessors': the slots. */
    for (unsigned i = 0, n = pysb_stats_nslots(&stats); i < n; i++) {
        pysb_stats_slot sl;
        if (!pysb_stats_slot_get(&stats, i, &sl) || kill((pid_t)sl.pid, 0) < 0)
            continue;
        if (in.running_len < PYSB_STATUS_LIST_MAX) {
            pysb_status_entry *e = &running[in.running_len++];
            memcpy(e->run_id, sl.run_id, sizeof e->run_id);
            memcpy(e->client, sl.client, sizeof e->client - 1);
            e->client[sizeof e->client - 1] = '\0';
            e->age_ms = now - sl.started_ms;
            e->pid = (long)sl.pid;
            e->uid = sl.uid;
        }
        in.n_running++;
    }
    if (in.n_running < n_live)
        in.n_running = n_live; /* started, not yet recorded */
    unsigned pos = 1;
    for (pysb_waiter *w = pysb_admission_first(adm); w && in.queued_len < PYSB_STATUS_LIST_MAX;
         w = w->next, pos++) {
        pysb_status_entry *e = &queued[in.queued_len++];
        memcpy(e->run_id, w->admit.run_id, sizeof w->admit.run_id);
        memcpy(e->client, w->admit.client, sizeof e->client);
        e->age_ms = now - w->since_ms;
        e->position = pos;
    }
    in.drain_per_s = pysb_admission_drain_rate(adm, now);
    size_t len;
    char *json = pysb_status_encode(&in, &len);
    if (json && pysb_session_status_reply(c->fd, json, len) < 0)
        logf_(PYSB_LOG_INFO, errno, "a status request left before its answer");
    free(json);
    conn_drop(c);
}

/* ---- one connection's first frame ---------------------------------------- */

static void on_admit(conn *c, int64_t now)
{
    pysb_refuse_reason why = PYSB_REFUSE_SLOTS;
    c->w.since_ms = now - c->w.admit.waited_ms;
    pysb_verdict_admit v = pysb_admission_decide(adm, &c->w.admit, n_live, &why);
    if (v == PYSB_ADMIT_RUN && admit(c, now))
        return;
    if (v == PYSB_ADMIT_RUN) {
        /* Every uid leased (runs of an earlier launcher): wait like the
         * rest, if this request may. */
        lease_blocked = 1;
        v = pysb_admission_decide(adm, &c->w.admit, cfg->max_runs, &why);
    }
    if (v == PYSB_ADMIT_REFUSE) {
        refuse(c, why);
        return;
    }
    unsigned pos = pysb_admission_enqueue(adm, &c->w);
    if (!pos) {
        refuse(c, PYSB_REFUSE_QUEUE_FULL);
        return;
    }
    c->queued = 1;
    if (pysb_session_queued(c->fd, pos, pysb_admission_queued(adm)) < 0) {
        pysb_stats_count(&stats, PYSB_C_LEFT_QUEUE, 1);
        conn_drop(c);
    }
}

/* A worker of an older build sent its SPEC first (f, handed out by c's
 * decoder, which may hold more): served at once if a slot is free, with
 * no queue. */
static void on_legacy_spec(conn *c, const pysb_frame *f)
{
    const pysb_session_start st = { 0, &c->d, f };
    int rc = pysb_admission_next(adm) ? 0 : start_run(c, "", &st);
    if (rc == 1) {
        pysb_stats_count(&stats, PYSB_C_ADMITTED, 1);
        pysb_stats_queue_wait(&stats, 0);
    } else {
        refuse(c, PYSB_REFUSE_SLOTS);
    }
}

/* A first frame refused for what it is (its type, or a SPEC past the
 * hello caps): one line, as any refused request. */
static void refuse_hello(conn *c, const char *why)
{
    logf_(PYSB_LOG_WARN, 0, "request refused: %s", why);
    pysb_wire_send_timeout(c->fd, PYSB_FRAME_ERROR, why, strlen(why), 0);
    conn_drop(c);
}

/* c's first header has just come whole, its payload not yet: 1 when the
 * payload may be read, 0 when c was refused (and dropped). */
static int hello_header(conn *c)
{
    int type;
    char why[192];
    if (pysb_wire_header_parse(c->hello_hdr, &type, &c->hello_len, why, sizeof why) < 0) {
        refuse_hello(c, why); /* not reached: the decoder judged it first */
        return 0;
    }
    if (type == PYSB_FRAME_ADMIT)
        return 1; /* its protocol maximum, 1 KiB */
    if (type != PYSB_FRAME_SPEC) {
        pysb_reason(why, sizeof why, "a connection that starts with %s",
                    pysb_frame_type_name(type));
        refuse_hello(c, why);
        return 0;
    }
    if (c->hello_len > HELLO_SPEC_MAX) {
        pysb_reason(why, sizeof why, "a first SPEC of %" PRIu32 " bytes (at most %u)",
                    c->hello_len, HELLO_SPEC_MAX);
        refuse_hello(c, why);
        return 0;
    }
    if (hello_spec_bytes + c->hello_len > HELLO_SPEC_BUDGET) {
        refuse(c, PYSB_REFUSE_QUEUE_FULL);
        return 0;
    }
    c->hello_charged = c->hello_len;
    hello_spec_bytes += c->hello_len;
    return 1;
}

/* Reads what c has of its first frame; once it is there, acts on it. */
static void on_hello(conn *c)
{
    static char chunk[HELLO_SPEC_MAX];
    size_t end = PYSB_WIRE_HDR_LEN + (c->hello_got < PYSB_WIRE_HDR_LEN ? 0 : c->hello_len);
    ssize_t n;
    do
        n = recv(c->fd, chunk, end - c->hello_got, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0 || pysb_decoder_feed(&c->d, chunk, (size_t)n) < 0) {
        conn_drop(c); /* gone, or no memory for its bytes */
        return;
    }
    if (c->hello_got < PYSB_WIRE_HDR_LEN)
        memcpy(c->hello_hdr + c->hello_got, chunk, (size_t)n); /* n <= what is missing */
    c->hello_got += (size_t)n;
    pysb_frame f;
    int rc = pysb_decoder_next(&c->d, &f);
    if (rc < 0) {
        /* Told why, in one line, as any refused request. */
        char why[192];
        pysb_reason(why, sizeof why, "reading the request: %s", pysb_decoder_error(&c->d));
        logf_(PYSB_LOG_WARN, 0, "a connection that does not speak the protocol: %s",
              pysb_decoder_error(&c->d));
        pysb_wire_send_timeout(c->fd, PYSB_FRAME_ERROR, why, strlen(why), 0);
        conn_drop(c);
        return;
    }
    if (rc == 0) {
        if (c->hello_got == PYSB_WIRE_HDR_LEN)
            hello_header(c);
        return; /* more to come */
    }
    char why[256];
    switch (pysb_session_hello(&f, &c->w.admit, why, sizeof why)) {
    case PYSB_HELLO_ADMIT:
        on_admit(c, pysb_monotonic_ms());
        if (c->fd >= 0) {
            /* Queued: the ADMIT is decoded, its buffer not needed again. */
            pysb_decoder_free(&c->d);
            pysb_decoder_init(&c->d);
        }
        return;
    case PYSB_HELLO_STATUS:
        answer_status(c);
        return;
    case PYSB_HELLO_SPEC:
        on_legacy_spec(c, &f);
        return;
    default:
        refuse_hello(c, why);
        return;
    }
}

/* A waiting worker's socket stirred: it hung up (or broke the protocol
 * by talking out of turn): either way it leaves the queue. */
static void on_queued_input(conn *c)
{
    pysb_stats_count(&stats, PYSB_C_LEFT_QUEUE, 1);
    conn_drop(c);
}

static void accept_connections(void)
{
    for (int k = 0; k < 64; k++) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                logf_(PYSB_LOG_ERR, errno, "accept");
            return;
        }
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
            logf_(PYSB_LOG_ERR, errno, "SO_PEERCRED");
            close(fd);
            continue;
        }
        if (cred.uid != cfg->peer_uid && cred.uid != 0) {
            logf_(PYSB_LOG_WARN, 0, "refused a connection from uid %u pid %d",
                  (unsigned)cred.uid, (int)cred.pid);
            close(fd);
            continue;
        }
        conn *c = n_conns < MAX_CONNS ? conn_new(fd) : NULL;
        if (!c) {
            pysb_session_refuse(fd, PYSB_REFUSE_QUEUE_FULL, 1);
            close(fd);
            continue;
        }
        c->hello_deadline_ms = pysb_monotonic_ms() + HELLO_TIMEOUT_MS;
    }
}

/* Hello deadlines and queue timeouts that have passed; the poll timeout
 * until the next one. */
static int expire(void)
{
    int64_t now = pysb_monotonic_ms(), next = -1;
    pysb_waiter *w;
    while ((w = pysb_admission_expired(adm, now)))
        refuse(w->owner, PYSB_REFUSE_QUEUE_TIMEOUT);
    for (conn *c = conns, *n; c; c = n) {
        n = c->next;
        if (c->queued)
            continue;
        if (c->hello_deadline_ms <= now) {
            logf_(PYSB_LOG_INFO, 0, "a connection said nothing for %d ms", HELLO_TIMEOUT_MS);
            conn_drop(c);
        } else if (next < 0 || c->hello_deadline_ms < next) {
            next = c->hello_deadline_ms;
        }
    }
    log_refusals();
    int64_t qd = pysb_admission_next_deadline(adm), sd = pysb_admission_summary_due(adm);
    if (qd >= 0 && (next < 0 || qd < next))
        next = qd;
    if (sd >= 0 && (next < 0 || sd < next))
        next = sd;
    if (lease_blocked && (next < 0 || now + LEASE_RETRY_MS < next))
        next = now + LEASE_RETRY_MS;
    return next < 0 ? -1 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* ---- the launcher ----------------------------------------------------- */

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
    if (listen(fd, SOMAXCONN) < 0) {
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

static void open_stats(void)
{
    if (!cfg->stats_path)
        return;
    if (pysb_stats_open(&stats, cfg->stats_path, cfg->max_runs) < 0)
        logf_(PYSB_LOG_WARN, errno, "stats file %s; the status page will show no totals",
              cfg->stats_path);
    pysb_stats_launcher(&stats, getpid(), cfg->restarted);
}

static __attribute__((noreturn)) void loop(void)
{
    /* Connections, then the fork servers' descriptors (fspool.h). */
    enum { FSPOOL_FDS = 40 };
    struct pollfd *p = calloc(MAX_CONNS + 2 + FSPOOL_FDS, sizeof *p);
    conn **of = calloc(MAX_CONNS + 2, sizeof *of);
    if (!p || !of)
        _exit(1);
    for (;;) {
        int timeout = expire(), watch = pysb_fspool_watchdog();
        if (watch >= 0 && (timeout < 0 || watch < timeout))
            timeout = watch;
        if (lease_blocked)
            dispatch();
        nfds_t n = 0;
        p[n++] = (struct pollfd){ listen_fd, POLLIN, 0 };
        p[n++] = (struct pollfd){ signal_fd, POLLIN, 0 };
        for (conn *c = conns; c; c = c->next) {
            of[n] = c;
            p[n++] = (struct pollfd){ c->fd, POLLIN | POLLRDHUP, 0 };
        }
        nfds_t nc = n;
        n += pysb_fspool_pollfds(p + nc, FSPOOL_FDS);
        if (poll(p, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            logf_(PYSB_LOG_ERR, errno, "poll");
            _exit(1);
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    continue;
                /* Stop accepting; supervisors finish their runs alone,
                 * waiting workers ask the next launcher. */
                logf_(PYSB_LOG_INFO, 0,
                      "signal %u: exiting, %u run(s) in flight, %u waiting",
                      si.ssi_signo, n_live, pysb_admission_queued(adm));
                _exit(0);
            }
            reap_supervisors();
        }
        /* Connections polled this round; one may have been dropped
         * meanwhile (a fork took it, a refusal closed it): fd -1. */
        pysb_fspool_events(p + nc, n - nc);
        for (nfds_t i = 2; i < nc; i++) {
            conn *c = of[i];
            if (!p[i].revents || c->fd < 0)
                continue;
            if (c->queued)
                on_queued_input(c);
            else
                on_hello(c);
        }
        conns_free_dropped();
        if (p[0].revents)
            accept_connections();
    }
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
    signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) {
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
    open_stats();
    if (cfg->extension &&
        pysb_fspool_init(cfg->extension, cfg->interpreters, cfg->preloads, 0, cfg->log) < 0)
        logf_(PYSB_LOG_WARN, 0, "no fork servers: every run is cold");
    /* The default Location's server before the socket: the first runs
     * after a start or a graceful restart are warm, not cold while it
     * starts (a bare interpreter is ready in some 40 ms; requests
     * meanwhile wait in their connect, which tries for a second). */
    else if (cfg->extension && cfg->prestart_argv)
        pysb_fspool_prestart(cfg->prestart_argv, PRESTART_WAIT_MS);
    live = calloc(cfg->max_runs, sizeof *live);
    adm = pysb_admission_new(cfg->max_runs, cfg->queue_size);
    next_uid = cfg->uid_first;
    listen_fd = make_socket();
    if (!live || !adm || listen_fd < 0)
        _exit(1);
    logf_(PYSB_LOG_INFO, 0, "listening on %s (%u runs, %u waiting at most, uids %u-%u)",
          cfg->socket_path, cfg->max_runs, cfg->queue_size, (unsigned)cfg->uid_first,
          (unsigned)cfg->uid_last);
    loop();
}
