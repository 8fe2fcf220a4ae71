/* fspool.c — the launcher's table of fork servers.
 *
 * Contract: see fspool.h. A server is named by its key, the compact JSON
 * [[argv…],[preload…],[ro_paths…]]: what a supervisor sends to ask for
 * one and what the table compares. */
#include "fspool.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "forkserver.h"

#define MAX_SERVERS 32
#define REFUSED_RETRY_MS 60000
#define WANT_MAX 65536
/* The watchdog: a ready server is pinged this often, and one that has not
 * answered within PING_WAIT_MS (hung: stopped, deadlocked, its queue
 * full) is killed and started again. Its loop answers within
 * milliseconds, so 3 s is far beyond any load it would meet. */
#define PING_EVERY_MS 5000
#define PING_WAIT_MS 3000

struct server {
    char *key;
    pysb_fs_handle h;           /* pid -1: none running */
    int ready;
    pysb_warm_target target;
    int64_t retry_at;           /* refused: not before (monotonic ms) */
    int refusal_heard;          /* hear_ready logged this start's refusal */
    char last_why[256];         /* the reason last logged at info */
    int64_t started;            /* Unix time h.pid was started */
    unsigned restarts;          /* a ready one died and was started again */
    int ping_chan;              /* a ping's channel, -1: none */
    int64_t ping_at;            /* monotonic ms: next ping, or (pending) when sent */
    int ping_pending;
    int hung_killed;            /* the watchdog killed it (said so already) */
};

static struct {
    const char *ext;
    const char *const *interpreters, *const *preloads;
    int waive;
    pysb_log_fn log;
    int want[2];                /* [0] the launcher's, [1] the children's */
    struct server s[MAX_SERVERS];
    size_t n;
} P = { .want = { -1, -1 } };

static void logf_(int level, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(int level, int errnum, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (P.log)
        P.log(level, errnum, msg);
}

/* A key that cannot serve: one info line per reason (the same reason
 * again, after each 60 s retry, only at debug), and it waits its 60 s. */
static void cannot_serve(struct server *sv, pid_t pid, const char *why)
{
    int again = !strcmp(sv->last_why, why);
    char who[32] = "";
    if (pid > 0)
        snprintf(who, sizeof who, " %d", (int)pid);
    logf_(again ? PYSB_LOG_DEBUG : PYSB_LOG_INFO, 0,
          "fork server%s for %s cannot serve warm runs: %s; they run cold", who, sv->key, why);
    snprintf(sv->last_why, sizeof sv->last_why, "%s", why);
    sv->retry_at = pysb_monotonic_ms() + REFUSED_RETRY_MS;
}

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static char *make_key(const char *const *argv, const char *const *preload,
                      const char *const *ro)
{
    json_t *k = json_pack("[ooo]", strings(argv), strings(preload), strings(ro));
    char *s = k ? json_dumps(k, JSON_COMPACT) : NULL;
    json_decref(k);
    return s;
}

/* The key's three lists, NULL-terminated, in one allocation each. */
static const char **key_list(json_t *a)
{
    size_t n = json_array_size(a);
    const char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        v[i] = json_string_value(json_array_get(a, i));
        if (!v[i]) {
            free(v);
            return NULL;
        }
    }
    return v;
}

static struct server *find(const char *key)
{
    for (size_t i = 0; i < P.n; i++)
        if (!strcmp(P.s[i].key, key))
            return &P.s[i];
    return NULL;
}

/* Starts the server of a key (asynchronously: READY comes later). */
static void start(struct server *sv)
{
    json_error_t je;
    json_t *k = json_loads(sv->key, 0, &je);
    const char **argv = k ? key_list(json_array_get(k, 0)) : NULL;
    const char **pre = k ? key_list(json_array_get(k, 1)) : NULL;
    const char **ro = k ? key_list(json_array_get(k, 2)) : NULL;
    char err[512];
    if (!argv || !argv[0] || !pre || !ro) {
        logf_(PYSB_LOG_ERR, 0, "fork server: a bad request dropped");
    } else if (!pysb_fspool_key_ok(argv, pre, P.interpreters, P.preloads)) {
        /* Never as root for what the configuration does not name. */
        logf_(PYSB_LOG_WARN, 0, "fork server for %s refused: not a configured interpreter "
              "with flags alone and configured preloads (warm runs of it run cold)", sv->key);
        sv->retry_at = pysb_monotonic_ms() + REFUSED_RETRY_MS;
    } else {
        const pysb_fs_spec spec = {
            .argv = argv, .ext_path = P.ext, .preload = pre, .ro_paths = ro,
            .waive_landlock = P.waive, .log_fd = 2,
        };
        sv->ready = 0;
        sv->refusal_heard = 0;
        if (pysb_fs_spawn(&spec, &sv->h, err, sizeof err) < 0) {
            cannot_serve(sv, -1, err);
        } else {
            sv->started = (int64_t)time(NULL);
            logf_(PYSB_LOG_INFO, 0, "fork server %d for %s starting (runs go cold until "
                  "it is ready)", (int)sv->h.pid, sv->key);
        }
    }
    free(argv);
    free(pre);
    free(ro);
    json_decref(k);
}

static int listed(const char *s, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

int pysb_fspool_key_ok(const char *const *argv, const char *const *preload,
                       const char *const *interpreters, const char *const *preloads)
{
    if (!argv || !argv[0] || !listed(argv[0], interpreters))
        return 0;
    for (size_t i = 1; argv[i]; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1] || strspn(a + 1, "BEIOSbdqsuv") != strlen(a + 1))
            return 0;
    }
    for (size_t i = 0; preload && preload[i]; i++)
        if (!listed(preload[i], preloads))
            return 0;
    return 1;
}

int pysb_fspool_init(const char *ext_path, const char *const *interpreters,
                     const char *const *preloads, int waive_landlock, pysb_log_fn log)
{
    P.ext = ext_path;
    P.interpreters = interpreters;
    P.preloads = preloads;
    P.waive = waive_landlock;
    P.log = log;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, P.want) < 0) {
        logf_(PYSB_LOG_ERR, errno, "fork servers: socketpair");
        return -1;
    }
    return 0;
}

size_t pysb_fspool_pollfds(struct pollfd *p, size_t max)
{
    size_t n = 0;
    if (P.want[0] >= 0 && n < max)
        p[n++] = (struct pollfd){ P.want[0], POLLIN, 0 };
    for (size_t i = 0; i < P.n && n < max; i++) {
        /* (not one the watchdog killed: it is only waited for) */
        if (P.s[i].h.pid > 0 && !P.s[i].ready && !P.s[i].hung_killed)
            p[n++] = (struct pollfd){ P.s[i].h.ctl, POLLIN, 0 };
        else if (P.s[i].ping_chan >= 0 && n < max)
            p[n++] = (struct pollfd){ P.s[i].ping_chan, POLLIN, 0 };
    }
    return n;
}

/* A new entry of the table for key (not started yet), or NULL: the table
 * is full (said once a minute at most: every run of such a key asks) or
 * memory is. */
static struct server *add_key(const char *key)
{
    if (P.n == MAX_SERVERS) {
        static int64_t said;
        int64_t now = pysb_monotonic_ms();
        if (!said || now - said >= 60000) {
            logf_(PYSB_LOG_WARN, 0, "fork servers: all %d in use; runs of %s (and "
                  "of any other key) go cold", MAX_SERVERS, key);
            said = now;
        }
        return NULL;
    }
    struct server *sv = &P.s[P.n];
    *sv = (struct server){ .key = strdup(key), .h = { -1, -1 }, .ping_chan = -1 };
    if (!sv->key)
        return NULL;
    P.n++;
    return sv;
}

static void read_wants(void)
{
    static char buf[WANT_MAX + 1];
    for (int k = 0; k < 64; k++) {
        ssize_t n = recv(P.want[0], buf, WANT_MAX, MSG_DONTWAIT);
        if (n <= 0)
            return;
        buf[n] = '\0';
        struct server *sv = find(buf);
        if (sv && (sv->h.pid > 0 || pysb_monotonic_ms() < sv->retry_at))
            continue; /* starting, running, or refused a moment ago */
        if (!sv && !(sv = add_key(buf)))
            continue;
        start(sv);
    }
}

/* READY, or the refusal, of a server not ready yet. */
static void hear_ready(struct server *sv)
{
    pysb_fs_ready r;
    char err[256];
    int rc = pysb_fs_wait_ready(&sv->h, 0, &r, err, sizeof err);
    if (rc == 0)
        return;
    if (rc == 1) {
        sv->ready = 1;
        sv->last_why[0] = '\0';
        sv->ping_pending = 0;
        sv->ping_at = pysb_monotonic_ms() + PING_EVERY_MS;
        sv->target = (pysb_warm_target){
            .ctl = sv->h.ctl,
            .preload_bytes = r.vmsize > r.vmsize_base ? r.vmsize - r.vmsize_base : 0,
        };
        logf_(PYSB_LOG_INFO, 0, "fork server %d ready (Python %s, %llu KiB above a bare interpreter)",
              (int)sv->h.pid, r.python, (unsigned long long)(sv->target.preload_bytes >> 10));
        return;
    }
    cannot_serve(sv, sv->h.pid, err);
    sv->refusal_heard = 1;
    /* It exits (refused) or is made to; reaped with the supervisors. */
    kill(sv->h.pid, SIGKILL);
    close(sv->h.ctl);
    sv->h.ctl = -1;
}

static void ping_done(struct server *sv)
{
    if (sv->ping_chan >= 0)
        close(sv->ping_chan);
    sv->ping_chan = -1;
    sv->ping_pending = 0;
}

/* A ping's answer: PONG, the server alive; anything else (it hung up)
 * leaves the ping pending, for the watchdog's deadline or the reaping. */
static void hear_pong(struct server *sv)
{
    pysb_fs_reply pong;
    int rc = pysb_fs_ping_recv(sv->ping_chan, 0, &pong);
    if (rc == 0)
        return;
    close(sv->ping_chan);
    sv->ping_chan = -1;
    if (rc == 1) {
        sv->ping_pending = 0;
        sv->ping_at = pysb_monotonic_ms() + PING_EVERY_MS;
    }
}

int pysb_fspool_prestart(const char *const *argv, int timeout_ms)
{
    static const char *const none[] = { NULL };
    char *key = make_key(argv, none, none);
    struct server *sv = key ? find(key) : NULL;
    if (key && !sv)
        sv = add_key(key);
    free(key);
    if (!sv)
        return -1;
    if (sv->h.pid <= 0)
        start(sv);
    int64_t end = pysb_monotonic_ms() + timeout_ms;
    while (sv->h.pid > 0 && sv->h.ctl >= 0 && !sv->ready) {
        int64_t left = end - pysb_monotonic_ms();
        if (left <= 0)
            break;
        struct pollfd p = { sv->h.ctl, POLLIN, 0 };
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        hear_ready(sv);
    }
    return sv->ready ? 0 : -1;
}

int pysb_fspool_watchdog(void)
{
    int64_t now = pysb_monotonic_ms(), next = -1;
    for (size_t i = 0; i < P.n; i++) {
        struct server *sv = &P.s[i];
        if (!sv->ready || sv->h.pid <= 0)
            continue;
        /* An answer the loop has not read yet (it was busy) counts. */
        if (sv->ping_chan >= 0)
            hear_pong(sv);
        if (!sv->ping_pending && now >= sv->ping_at) {
            sv->ping_pending = 1;
            sv->ping_at = now;
        }
        if (sv->ping_pending && sv->ping_chan < 0 && now - sv->ping_at < PING_WAIT_MS)
            /* Not sent yet, or its queue was full: tried each round. */
            (void)pysb_fs_ping_send(sv->h.ctl, &sv->ping_chan);
        if (sv->ping_pending && now - sv->ping_at >= PING_WAIT_MS) {
            logf_(PYSB_LOG_WARN, 0, "fork server %d did not answer a ping within %d s: "
                  "killed; its runs in flight may end as internal_error; starting a new one",
                  (int)sv->h.pid, PING_WAIT_MS / 1000);
            ping_done(sv);
            sv->ready = 0;
            sv->hung_killed = 1;
            kill(sv->h.pid, SIGKILL);
            continue; /* started again once reaped */
        }
        int64_t due = sv->ping_pending ? sv->ping_at + PING_WAIT_MS : sv->ping_at;
        /* A ping not sent yet is tried again soon. */
        if (sv->ping_pending && sv->ping_chan < 0 && now + 100 < due)
            due = now + 100;
        if (next < 0 || due < next)
            next = due;
    }
    return next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
}

void pysb_fspool_events(const struct pollfd *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!p[k].revents)
            continue;
        if (p[k].fd == P.want[0]) {
            read_wants();
            continue;
        }
        for (size_t i = 0; i < P.n; i++) {
            if (P.s[i].h.ctl == p[k].fd && !P.s[i].ready && !P.s[i].hung_killed &&
                P.s[i].h.pid > 0)
                hear_ready(&P.s[i]);
            else if (P.s[i].ping_chan == p[k].fd)
                hear_pong(&P.s[i]);
        }
    }
}

int pysb_fspool_reaped(pid_t pid, int status)
{
    for (size_t i = 0; i < P.n; i++) {
        struct server *sv = &P.s[i];
        if (sv->h.pid != pid)
            continue;
        int was_ready = sv->ready || sv->hung_killed, hung = sv->hung_killed;
        if (sv->h.ctl >= 0)
            close(sv->h.ctl);
        sv->h = (pysb_fs_handle){ -1, -1 };
        sv->ready = 0;
        sv->hung_killed = 0;
        ping_done(sv);
        if (!was_ready) {
            /* Gone before READY. Usually hear_ready said why already; when
             * the exit is reaped first, it is said here (once either way),
             * and the key waits its 60 s as well. */
            if (!sv->refusal_heard) {
                char why[64];
                snprintf(why, sizeof why, "it exited before it was ready (wait status 0x%x)",
                         (unsigned)status);
                cannot_serve(sv, pid, why);
            }
            sv->refusal_heard = 0;
            return 1;
        }
        if (hung)
            ; /* the watchdog said why */
        else if (WIFEXITED(status) && WEXITSTATUS(status) == PYSB_FS_EXIT_ROOT_REPLACED)
            logf_(PYSB_LOG_INFO, 0, "fork server %d stopped: a path of its runs' minimal root "
                  "was replaced; starting a new one", (int)pid);
        else if (WIFSIGNALED(status))
            logf_(PYSB_LOG_WARN, 0, "fork server %d died of signal %d; its runs in flight "
                  "ended as internal_error; starting a new one", (int)pid, WTERMSIG(status));
        else
            logf_(PYSB_LOG_WARN, 0, "fork server %d exited (status %d); starting a new one",
                  (int)pid, WEXITSTATUS(status));
        sv->restarts++;
        start(sv);
        return 1;
    }
    return 0;
}

const pysb_warm_target *pysb_fspool_target(const char *const *argv,
                                           const char *const *preload,
                                           const char *const *ro_paths)
{
    char *key = make_key(argv, preload, ro_paths);
    if (!key)
        return NULL;
    struct server *sv = find(key);
    if (sv && sv->ready) {
        free(key);
        return &sv->target;
    }
    /* Not there, or not yet: the launcher starts it (or knows it is
     * starting, or refused); this run goes cold. */
    if (P.want[1] >= 0 && strlen(key) <= WANT_MAX)
        send(P.want[1], key, strlen(key), MSG_DONTWAIT | MSG_NOSIGNAL);
    free(key);
    return NULL;
}

size_t pysb_fspool_list(pysb_fspool_info *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < P.n && n < max; i++) {
        const struct server *sv = &P.s[i];
        int running = sv->h.pid > 0;
        out[n++] = (pysb_fspool_info){
            .key = sv->key,
            .pid = running ? sv->h.pid : 0,
            .state = !running ? PYSB_FSPOOL_COLD
                     : sv->ready ? PYSB_FSPOOL_READY : PYSB_FSPOOL_STARTING,
            .started = running ? sv->started : 0,
            .restarts = sv->restarts,
        };
    }
    return n;
}
