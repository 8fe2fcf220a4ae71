/* relay.c — the launcher's socket in, the client's response out.
 *
 * Contract: see relay.h. */
#include "httpd/relay.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "httpd/admit.h"
#include "httpd/parent.h"
#include "httpd/verdict.h"
#include "src/clock.h"
#include "src/session.h"

APLOG_USE_MODULE(pysandbox);

/* How long a fresh request tries to reach the launcher. */
#define CONNECT_RETRY_MS 1000
/* An HTTP/2 stream's abort flag is looked at this often (see below). */
#define WATCH_TICK_MS 20
#define SEND_TIMEOUT_MS 10000
/* A launcher that goes away while requests wait (a restart) is asked
 * again, this many times at most, within the request's queue timeout. */
#define REASK_MAX 3
/* Beyond the run's own wall limit, how long a worker waits for RESULT. */
#define RESULT_GRACE_SEC 15
/* How long a launcher may take to answer an ADMIT (GO, QUEUED or a
 * refusal: it answers at once when it is well, even under a burst), and,
 * once it said QUEUED, to say more after the queue timeout. Past it the
 * launcher is hung: the request is a 503 as for a launcher that cannot be
 * reached, not an internal error. */
#define ANSWER_GRACE_SEC 5

typedef struct relay {
    pysb_req     *x;
    request_rec  *r;
    int           conn;           /* to the launcher, then the supervisor */
    int           client_fd;      /* the client's socket; -1: not watched */
    short         client_events;  /* what it is polled for */
    int           client_stream;  /* an HTTP/2 stream: watch c->aborted */
    int           headers_out;    /* something was sent to the client */
    int           unflushed;      /* written (or a stream opened) since the
                                     last flush */
    int           client_gone;
    int           draining;       /* pipelined bytes past PIPELINE_KEEP: read
                                     and dropped, the connection to close */
    apr_off_t     discarded;
    pysb_session *session;
    pysb_render  *render;         /* NULL when collecting */
    pysb_collected *collect;      /* the caller's, or NULL */
    double        deadline;       /* for a slot, then for RESULT */
    pysb_admit    admit;          /* as asked (waited_ms grows on a re-ask) */
    double        asked;          /* the first ADMIT: the wait began */
    int           reasks;
    int           waited;         /* the launcher said QUEUED (or went away
                                     while it waited): a wait to log */
    int           opened;         /* the response's headers are set */
} relay;

/* How the relay loop ended. */
typedef enum { R_MORE, R_DONE, R_REFUSED, R_FAILED, R_GONE, R_STOPPING } relay_end;

static apr_status_t close_fd_cleanup(void *data)
{
    int *fd = data;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return APR_SUCCESS;
}

static apr_status_t session_cleanup(void *data)
{
    pysb_session_free(data);
    return APR_SUCCESS;
}

static apr_status_t render_cleanup(void *data)
{
    pysb_render_free(data);
    return APR_SUCCESS;
}

/* ---- to the launcher ---------------------------------------------------- */

static int client_gone_after_poll(relay *rl, short revents);

/* Waits ms between two connects of a re-ask, watching the client and
 * httpd's stop as wait_input does: 1 when either ended the wait (the
 * client's departure is kept in client_gone). */
static int pause_watching(relay *rl, int ms)
{
    struct pollfd p[2] = { { pysb_stop_fd(), POLLIN, 0 },
                           { rl->client_fd, rl->client_events, 0 } };
    int np = rl->client_fd >= 0 ? 2 : 1;
    if (rl->client_stream && ms > WATCH_TICK_MS)
        ms = WATCH_TICK_MS;
    if (poll(p, (nfds_t)np, ms) < 0)
        return 0; /* EINTR: the next try comes sooner */
    if ((rl->client_stream || (np == 2 && p[1].revents)) &&
        client_gone_after_poll(rl, np == 2 ? p[1].revents : 0)) {
        rl->client_gone = 1;
        return 1;
    }
    return p[0].revents != 0;
}

static int pause_for(void *rl, int ms) { return pause_watching(rl, ms); }

/* Connected socket, or -1. The launcher may be restarting (the parent
 * starts the next one on its once-a-second maintenance tick, so more than
 * a second may pass), so a refused or missing socket is tried again for
 * budget_ms (pysb_session_connect). A re-ask (watch set) waits watching
 * its client. */
static int connect_launcher(request_rec *r, const char *path, double budget_ms, relay *watch)
{
    int fd = pysb_session_connect(path, (int)budget_ms, watch ? pause_for : NULL, watch);
    if (fd >= 0 || fd == PYSB_CONNECT_GAVE_UP)
        return fd < 0 ? -1 : fd;
    if (fd == PYSB_CONNECT_NO_SOCKET) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r, "PYSB: socket");
        return -1;
    }
    /* info: each is a 503, which the handler counts and warns about once
     * a minute; the launcher's own death is an error of the parent's. */
    ap_log_rerror(APLOG_MARK, APLOG_INFO, APR_FROM_OS_ERROR(errno), r,
                  "PYSB: cannot reach the launcher at %s", path);
    return -1;
}

/* Connects to the launcher, trying for budget_ms: OK, or a refusal. */
static int open_run(relay *rl, double budget_ms, relay *watch)
{
    pysb_req *x = rl->x;
    request_rec *r = rl->r;
    const char *path = pysb_launcher_socket();
    if (!path)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PYSB: no launcher was started");
    rl->conn = path ? connect_launcher(r, path, budget_ms, watch) : -1;
    if (rl->conn < 0)
        return pysb_unavailable(x, "the sandbox service is unavailable, retry shortly");
    return OK;
}

/* Asks for a run slot (ADMIT, src/session): OK, or a refusal. */
static int ask_slot(relay *rl)
{
    char err[256] = "";
    rl->admit.waited_ms = (unsigned)((pysb_monotonic() - rl->asked) * 1000);
    if (pysb_session_admit(rl->session, &rl->admit, SEND_TIMEOUT_MS, err, sizeof err) == 0 ||
        (!err[0] && (errno == EPIPE || errno == ECONNRESET)))
        return OK; /* a launcher that said no and closed: read why */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, err[0] ? 0 : APR_FROM_OS_ERROR(errno), rl->r,
                  "PYSB: asking the launcher for a slot%s%s", err[0] ? ": " : "", err);
    return pysb_unavailable(rl->x, "the sandbox service is unavailable, retry shortly");
}

/* The launcher went away while this request waited (it restarts): ask
 * the next one, keeping the place by the time already waited. OK, or a
 * refusal. */
static int reask(relay *rl)
{
    double left_ms = rl->admit.queue_timeout_ms - (pysb_monotonic() - rl->asked) * 1000;
    if (rl->reasks++ >= REASK_MAX || left_ms <= 0)
        return pysb_unavailable(rl->x, "the sandbox service is unavailable, retry shortly");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, rl->r,
                  "PYSB: run %s: the launcher went away while it waited; asking again",
                  rl->x->run_id);
    rl->waited = 1;
    close_fd_cleanup(&rl->conn);
    pysb_session_free(rl->session);
    /* The next launcher may take longer than a fresh request's second to
     * come: this request may wait for it as long as it may wait for a
     * slot. */
    int rc = open_run(rl, left_ms, rl);
    pysb_session_init(rl->session, rl->conn);
    /* The next launcher gets its own time to answer (attack6 F2: a hung
     * launcher killed late left its successor the rest of 5 s). */
    rl->deadline = pysb_monotonic() + ANSWER_GRACE_SEC;
    return rc == OK ? ask_slot(rl) : rc;
}

/* Admitted (GO): sends the run. OK, or a refusal. */
static int send_run(relay *rl)
{
    pysb_req *x = rl->x;
    request_rec *r = rl->r;
    /* 0 when a slot was free (README): the ADMIT's round trip and the
     * supervisor's fork are no wait. */
    apr_table_setn(r->notes, "pysandbox-queue-ms",
                   rl->waited ? apr_psprintf(r->pool, "%ld",
                                             (long)((pysb_monotonic() - rl->asked) * 1000))
                              : "0");
    rl->deadline = pysb_monotonic() + x->run.limits.wall_sec + RESULT_GRACE_SEC;
    pysb_session_request req = {
        .spec = {
            .limits = x->run.limits,
            .argv = (const char **)x->e.argv,
            .ro_paths = (const char **)x->e.ro_paths,
            .flags = x->e.site_packages ? PYSB_SITE_PACKAGES : 0,
            .args = x->in.args,
            .python_path = (const char **)x->e.python_path,
            .warm = x->e.warm,
            .preload = (const char **)x->e.preload,
        },
        .code = x->run.code,
        .code_len = x->run.code_len,
        .stdin_data = x->run.stdin_data,
        .stdin_len = x->run.stdin_len,
        .files = x->in.files,
        .n_files = x->in.n_files,
    };
    apr_cpystrn(req.spec.run_id, x->run_id, sizeof req.spec.run_id);
    char err[256] = "";
    if (pysb_session_send(rl->conn, &req, SEND_TIMEOUT_MS, err, sizeof err) == 0)
        return OK;
    if (err[0]) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: encoding the run: %s", err);
        return pysb_fail(x, HTTP_INTERNAL_SERVER_ERROR,
                         "could not describe the run to the launcher");
    }
    /* On EPIPE the supervisor may have said why and closed: read it. */
    if (errno == EPIPE || errno == ECONNRESET)
        return OK;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r,
                  "PYSB: sending the run to the launcher");
    return pysb_unavailable(x, "the sandbox service is unavailable, retry shortly");
}

/* ---- to the client ------------------------------------------------------ */

/* The flush policy, as mod_proxy_fcgi's: writes go down httpd's output
 * filters as they come, and what they hold is flushed once, when the relay
 * has drained every frame it has and is about to wait for more (and at the
 * end, by httpd). A stream's first bytes, or its headers, are then on the
 * wire before the relay sleeps, without a flush per frame. */
static void client_write(relay *rl, const char *data, apr_size_t len)
{
    if (rl->client_gone)
        return;
    /* ap_rwrite takes an int. */
    while (len > 0) {
        int n = len > (1u << 30) ? 1 << 30 : (int)len;
        if (ap_rwrite(data, n, rl->r) < 0) {
            rl->client_gone = 1;
            return;
        }
        data += n;
        len -= (apr_size_t)n;
    }
    rl->headers_out = 1;
    rl->unflushed = 1;
}

static void client_flush(relay *rl)
{
    if (!rl->unflushed || rl->client_gone)
        return;
    rl->unflushed = 0;
    rl->headers_out = 1;
    if (ap_rflush(rl->r) < 0)
        rl->client_gone = 1;
}

/* The renderer's sink: the client, through httpd's output filters. */
static int sink_write(void *ctx, const char *p, size_t n)
{
    relay *rl = ctx;
    client_write(rl, p, n);
    return rl->client_gone ? -1 : 0;
}

/* A stream opened: its headers go out at the next flush, and its status
 * (200) is settled now, whatever the run comes to. */
static void sink_flush(void *ctx)
{
    relay *rl = ctx;
    rl->unflushed = 1;
    rl->headers_out = 1;
}

static void set_notes(request_rec *r, const pysb_result *res)
{
    apr_table_setn(r->notes, "pysandbox-status", pysb_status_name(res->status));
    apr_table_setn(r->notes, "pysandbox-wall-ms",
                   apr_psprintf(r->pool, "%ld", (long)(res->wall_sec * 1000 + 0.5)));
    apr_table_setn(r->notes, "pysandbox-cpu-ms",
                   apr_psprintf(r->pool, "%ld", (long)(res->cpu_sec * 1000 + 0.5)));
    apr_table_setn(r->notes, "pysandbox-mem-kb", apr_psprintf(r->pool, "%ld", res->memory_kb));
}

/* The response's headers, once: when the run starts, or (sse) when the
 * request has to wait. */
static void open_response(relay *rl)
{
    request_rec *r = rl->r;
    pysb_format f = rl->x->format;
    if (rl->opened)
        return;
    rl->opened = 1;
    ap_set_content_type(r, pysb_format_mime(f));
    if (pysb_format_streams(f)) {
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
        if (f == PYSB_FMT_SSE)
            apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    }
    pysb_verdict_open(r);
}

static void on_started(relay *rl)
{
    open_response(rl);
    pysb_render_open(rl->render); /* streams: headers now */
}

/* Waiting for a slot: sse says so at once (a browser's EventSource sees
 * no status code, so a 503 later would say nothing to it); the other
 * formats say nothing until the run starts. */
static void on_queued(relay *rl, const pysb_event *ev)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, rl->r, "PYSB: run %s: waiting, %u of %u",
                  rl->x->run_id, ev->position, ev->queued);
    rl->deadline = rl->asked + rl->admit.queue_timeout_ms / 1000.0 + ANSWER_GRACE_SEC;
    rl->waited = 1;
    if (rl->x->format == PYSB_FMT_SSE && !rl->collect) {
        open_response(rl);
        if (pysb_render_queued(rl->render, ev->position, ev->queued) < 0)
            rl->client_gone = 1;
    }
}

/* BUSY or TOO_MANY: 503 or 429 with the launcher's Retry-After, or, when
 * an sse stream is open already, its busy event. */
static relay_end on_refused(relay *rl, const pysb_event *ev)
{
    pysb_req *x = rl->x;
    request_rec *r = rl->r;
    const char *why;
    switch (ev->reason) {
    case PYSB_REFUSE_QUEUE_FULL:
        why = "all run slots are busy and the queue is full, retry shortly";
        break;
    case PYSB_REFUSE_QUEUE_TIMEOUT:
        why = apr_psprintf(r->pool, "all run slots stayed busy for %g s "
                           "(PySandboxQueueTimeout), retry shortly",
                           rl->admit.queue_timeout_ms / 1000.0);
        break;
    case PYSB_REFUSE_CLIENT:
        why = apr_psprintf(r->pool, "this client holds its share of %u run slots "
                           "(PySandboxMaxRunsPerClient), retry shortly", rl->admit.per_client);
        break;
    default:
        why = "all run slots are busy, retry shortly";
    }
    apr_table_setn(r->notes, "pysandbox-queue-ms",
                   apr_psprintf(r->pool, "%ld", (long)((pysb_monotonic() - rl->asked) * 1000)));
    const char *after = apr_psprintf(r->pool, "%u", ev->retry_after);
    if (rl->opened) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PYSB: 503 %s", why);
        apr_table_setn(r->notes, "pysandbox-status", "unavailable");
        if (pysb_render_busy(rl->render, HTTP_SERVICE_UNAVAILABLE, why, ev->retry_after) < 0)
            rl->client_gone = 1;
        return R_DONE;
    }
    if (ev->type == PYSB_EV_TOO_MANY)
        pysb_fail(x, HTTP_TOO_MANY_REQUESTS, "%s", why);
    else
        pysb_unavailable(x, "%s", why);
    apr_table_setn(r->err_headers_out, "Retry-After", after);
    return R_REFUSED;
}

static void on_result(relay *rl, const pysb_result *res)
{
    request_rec *r = rl->r;
    set_notes(r, res);
    if (res->status == PYSB_INTERNAL_ERROR)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: run %s: internal error: %s",
                      rl->x->run_id, res->error);
    if (rl->collect) {
        rl->collect->res = *res;
        return;
    }
    /* An internal_error is a run's verdict like the others: 200 in every
     * format (the streaming ones could not say otherwise once started),
     * with its reason in the result and the error log. */
    pysb_verdict_set(r, res);   /* headers too, if none went out (json) */
    if (pysb_render_result(rl->render, res) < 0 && !rl->client_gone) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: run %s: out of memory rendering it",
                      rl->x->run_id);
        if (!rl->headers_out)
            r->status = HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* Output for the caller: kept whole (the supervisor's cap bounds it). */
static void collect_output(relay *rl, const pysb_event *ev)
{
    pysb_membuf *m = ev->stream == PYSB_STDERR ? &rl->collect->err : &rl->collect->out;
    if (pysb_membuf_append(m, ev->data, ev->len) < 0)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), rl->r,
                      "PYSB: run %s: keeping its output", rl->x->run_id);
}

/* ---- the loop ------------------------------------------------------------ */

static relay_end handle_event(relay *rl, const pysb_event *ev)
{
    pysb_req *x = rl->x;
    switch (ev->type) {
    case PYSB_EV_BUSY:
    case PYSB_EV_TOO_MANY:
        return on_refused(rl, ev);
    case PYSB_EV_QUEUED:
        on_queued(rl, ev);
        break;
    case PYSB_EV_GO:
        if (rl->collect && rl->collect->on_slot &&
            rl->collect->on_slot(x, rl->collect->on_slot_ctx) != OK)
            return R_REFUSED;
        if (send_run(rl) != OK)
            return R_REFUSED;
        break;
    case PYSB_EV_ERROR:
        pysb_fail(x, HTTP_INTERNAL_SERVER_ERROR, "the launcher refused the run: %s", ev->data);
        return R_REFUSED;
    case PYSB_EV_STARTED:
        if (!rl->collect)
            on_started(rl);
        break;
    case PYSB_EV_OUTPUT:
        if (rl->collect)
            collect_output(rl, ev);
        else if (pysb_render_output(rl->render, ev->stream, ev->data, ev->len) < 0)
            rl->client_gone = 1;
        break;
    case PYSB_EV_FILE:
        if (pysb_render_file(rl->render, &ev->file) < 0)
            rl->client_gone = 1;
        break;
    case PYSB_EV_RESULT:
        on_result(rl, &ev->result);
        return R_DONE;
    }
    return rl->client_gone ? R_GONE : R_MORE;
}

/* ---- noticing that the client went away --------------------------------- *
 *
 * A run that prints nothing must still die within milliseconds of its
 * client leaving, so the loop watches the client while it waits for the
 * supervisor. How depends on the connection:
 *
 * - A primary connection (HTTP/1.x, plain or TLS) has a socket of its own,
 *   polled for input and hang-up. Readable input is read speculatively
 *   through the connection's input filters (as ap_check_pipeline does),
 *   never peeked at raw: a TLS close_notify then reads as the end it is
 *   (mod_ssl makes it EOF), a TLS record without data is no data, and
 *   bytes that are there (a pipelined request, or one stray byte) stay
 *   for the next request. From then on the socket is polled for hang-up
 *   only (POLLRDHUP: the client's FIN, even behind unread data; POLLHUP,
 *   POLLERR: a reset), so pipelined bytes never blind the watch. But a FIN
 *   only comes while the receive window is open: a client that sends more
 *   than the socket's buffer after its request and leaves would be stuck
 *   behind its own bytes (attack-1 F4). So the bytes queued in the kernel
 *   are looked at every PIPELINE_TICK_MS, and past PIPELINE_KEEP they are
 *   read and dropped as they come (the connection then closes after this
 *   response: its next request is lost), up to PIPELINE_DISCARD_MAX, past
 *   which the client counts as gone.
 *
 * - A secondary connection (an HTTP/2 stream, c->master set) has no socket
 *   of its own: mod_http2 installs one process-wide dummy socket that was
 *   never connected, on which poll() reports POLLHUP at once. The stream's
 *   end is told by mod_http2 instead: on a client's RST_STREAM, or when
 *   the whole connection goes, its c1 thread aborts the stream and sets
 *   c2->aborted (within ~0.1 ms). The loop looks at that flag every
 *   WATCH_TICK_MS. */
#define PIPELINE_TICK_MS 100
#define PIPELINE_KEEP (32 * 1024)
#define PIPELINE_DISCARD_MAX ((apr_off_t)16 << 20)

static void client_watch_init(relay *rl)
{
    conn_rec *c = rl->r->connection;
    rl->client_fd = -1;
    rl->client_events = POLLIN | POLLRDHUP;
    rl->client_stream = c->master != NULL;
    if (rl->client_stream)
        return;
    apr_socket_t *csd = ap_get_conn_socket(c);
    apr_os_sock_t fd;
    if (csd && apr_os_sock_get(&fd, csd) == APR_SUCCESS)
        rl->client_fd = fd;
}

/* 1 when the client's input has ended (EOF, close_notify, a reset). Input
 * already buffered by the filters counts too, which is why this also runs
 * once before the first poll. */
static int client_input_ended(relay *rl)
{
    conn_rec *c = rl->r->connection;
    apr_pool_t *p;
    if (apr_pool_create(&p, rl->r->pool) != APR_SUCCESS)
        return 0;
    apr_bucket_brigade *bb = apr_brigade_create(p, c->bucket_alloc);
    int ended = 0;
    /* The core filter answers a non-blocking read of nothing with success
     * and no data, and the read that meets EOF the same way (it drops its
     * socket bucket, and says APR_EOF from the next read on): a second
     * look tells the two apart. */
    for (int look = 0; look < 2; look++) {
        apr_status_t rv = ap_get_brigade(c->input_filters, bb, AP_MODE_SPECULATIVE,
                                         APR_NONBLOCK_READ, 1);
        apr_off_t n = 0;
        if (APR_STATUS_IS_EAGAIN(rv))
            break;              /* nothing (yet), or a TLS record without data */
        if (rv != APR_SUCCESS) {
            ended = 1;          /* EOF, close_notify, ECONNRESET */
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, rl->r,
                          "PYSB: run %s: the client's input ended", rl->x->run_id);
            break;
        }
        if (!APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_FIRST(bb))) {
            ended = 1;
            break;
        }
        if (apr_brigade_length(bb, 0, &n) == APR_SUCCESS && n > 0) {
            rl->client_events = POLLRDHUP;  /* bytes of a next request wait */
            break;
        }
        apr_brigade_cleanup(bb);
    }
    apr_brigade_destroy(bb);
    apr_pool_destroy(p);
    return ended;
}

/* Draining: reads and drops what the client sent, without blocking. 1
 * when its input ended, or it sent more than PIPELINE_DISCARD_MAX. */
static int client_discard(relay *rl)
{
    conn_rec *c = rl->r->connection;
    apr_pool_t *p;
    if (apr_pool_create(&p, rl->r->pool) != APR_SUCCESS)
        return 0;
    apr_bucket_brigade *bb = apr_brigade_create(p, c->bucket_alloc);
    int ended = 0, empty = 0;
    /* Nothing and EOF both read as success without data the first time
     * (see client_input_ended): two empty reads in a row are nothing. */
    for (int i = 0; i < 64 && empty < 2; i++) {
        apr_status_t rv = ap_get_brigade(c->input_filters, bb, AP_MODE_READBYTES,
                                         APR_NONBLOCK_READ, 65536);
        apr_off_t n = 0;
        if (APR_STATUS_IS_EAGAIN(rv))
            break;
        if (rv != APR_SUCCESS) {
            ended = 1;
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, rl->r,
                          "PYSB: run %s: the client's input ended", rl->x->run_id);
            break;
        }
        apr_brigade_length(bb, 1, &n);
        apr_brigade_cleanup(bb);
        empty = n > 0 ? 0 : empty + 1;
        rl->discarded += n;
        if (rl->discarded > PIPELINE_DISCARD_MAX) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, rl->r,
                          "PYSB: run %s: the client sent over %ld bytes after its request",
                          rl->x->run_id, (long)PIPELINE_DISCARD_MAX);
            ended = 1;
            break;
        }
    }
    apr_brigade_destroy(bb);
    apr_pool_destroy(p);
    return ended;
}

/* Pipelined bytes were seen: past PIPELINE_KEEP of them in the kernel,
 * drain them from now on. 1 when the client has gone. */
static int client_check_pipeline(relay *rl)
{
    int queued = 0;
    if (rl->draining || rl->client_events != POLLRDHUP ||
        ioctl(rl->client_fd, FIONREAD, &queued) < 0 || queued < PIPELINE_KEEP)
        return 0;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, rl->r,
                  "PYSB: run %s: %d bytes pipelined after the request: dropped, "
                  "the connection closes after this response", rl->x->run_id, queued);
    rl->draining = 1;
    rl->client_events = POLLIN | POLLRDHUP;
    rl->r->connection->keepalive = AP_CONN_CLOSE;
    return client_discard(rl);
}

/* After a poll: 1 when the client has gone. */
static int client_gone_after_poll(relay *rl, short revents)
{
    if (rl->client_stream)
        return rl->r->connection->aborted;
    if (revents & (POLLHUP | POLLERR | POLLRDHUP))
        return 1;
    if (rl->draining)
        return (revents & POLLIN) && client_discard(rl);
    return (revents & POLLIN) && client_input_ended(rl);
}

/* Flushes what was written, waits for the supervisor, the client or a
 * stop, and reads what came. */
static relay_end wait_input(relay *rl)
{
    request_rec *r = rl->r;
    client_flush(rl);
    if (rl->client_gone)
        return R_GONE;
    double left = rl->deadline - pysb_monotonic();
    if (left <= 0 && !pysb_session_admitted(rl->session)) {
        pysb_unavailable(rl->x, "the sandbox service is not answering, retry shortly");
        return R_REFUSED;
    }
    if (left <= 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PYSB: run %s: no result %d s after its wall limit", rl->x->run_id,
                      RESULT_GRACE_SEC);
        return R_FAILED;
    }
    struct pollfd p[3] = { { rl->conn, POLLIN, 0 }, { pysb_stop_fd(), POLLIN, 0 },
                           { rl->client_fd, rl->client_events, 0 } };
    int np = rl->client_fd >= 0 ? 3 : 2;
    int wait_ms = (int)(left * 1000) + 1;
    if (rl->client_stream && wait_ms > WATCH_TICK_MS)
        wait_ms = WATCH_TICK_MS;
    if (np == 3 && rl->client_events == POLLRDHUP && wait_ms > PIPELINE_TICK_MS)
        wait_ms = PIPELINE_TICK_MS;
    if (poll(p, (nfds_t)np, wait_ms) < 0) {
        if (errno == EINTR)
            return R_MORE;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r, "PYSB: poll");
        return R_FAILED;
    }
    if ((rl->client_stream || (np == 3 && p[2].revents)) &&
        client_gone_after_poll(rl, np == 3 ? p[2].revents : 0))
        return R_GONE;
    if (np == 3 && client_check_pipeline(rl))
        return R_GONE;
    if (p[1].revents) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PYSB: run %s: httpd is stopping, run killed", rl->x->run_id);
        return R_STOPPING;
    }
    if (!p[0].revents)
        return R_MORE;
    ssize_t n = pysb_session_read(rl->session);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return R_MORE;
    if (!pysb_session_admitted(rl->session))
        return reask(rl) == OK ? R_MORE : rl->client_gone ? R_GONE : R_REFUSED;
    int started = pysb_session_started(rl->session);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, n < 0 ? APR_FROM_OS_ERROR(errno) : 0, r,
                  "PYSB: run %s: the supervisor went away %s", rl->x->run_id,
                  started ? "mid-run" : "before starting");
    if (started)
        return R_FAILED;
    pysb_unavailable(rl->x, "the sandbox service is unavailable");
    return R_REFUSED;
}

static relay_end relay_loop(relay *rl)
{
    for (;;) {
        pysb_event ev;
        relay_end end;
        int rc;
        while ((rc = pysb_session_next(rl->session, &ev)) == 1)
            if ((end = handle_event(rl, &ev)) != R_MORE)
                return end;
        if (rc < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, rl->r, "PYSB: run %s: protocol error: %s",
                          rl->x->run_id, pysb_session_error(rl->session));
            return R_FAILED;
        }
        if ((end = wait_input(rl)) != R_MORE)
            return end;
    }
}

static void unknown_result(relay *rl, pysb_result *res, const char *why)
{
    memset(res, 0, sizeof *res);
    res->status = PYSB_INTERNAL_ERROR;
    res->exit_code = -1;
    res->limits = rl->x->run.limits;
    apr_cpystrn(res->run_id, rl->x->run_id, sizeof res->run_id);
    apr_cpystrn(res->error, why, sizeof res->error);
}

/* A run whose end we could not learn: said in the format at hand. */
static void end_unknown(relay *rl)
{
    pysb_result res;
    unknown_result(rl, &res, "the run's supervisor failed");
    on_result(rl, &res);
}

/* The client went away, or httpd is stopping: closing our end makes the
 * supervisor kill the run at once. */
static void end_gone(relay *rl, int stopping)
{
    request_rec *r = rl->r;
    close_fd_cleanup(&rl->conn);
    apr_table_setn(r->notes, "pysandbox-status", "cancelled");
    if (rl->collect)
        unknown_result(rl, &rl->collect->res, stopping ? "httpd is stopping"
                                                       : "the client went away");
    if (!stopping)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PYSB: run %s: client went away, %s",
                      rl->x->run_id, pysb_session_admitted(rl->session) ? "run killed"
                                                                        : "left the queue");
    r->connection->aborted = 1;
}

static apr_status_t collected_cleanup(void *data)
{
    pysb_collected *c = data;
    pysb_membuf_free(&c->out);
    pysb_membuf_free(&c->err);
    return APR_SUCCESS;
}

static int relay_run(pysb_req *x, pysb_collected *collect)
{
    request_rec *r = x->r;
    relay *rl = apr_pcalloc(r->pool, sizeof *rl);
    rl->x = x;
    rl->r = r;
    rl->collect = collect;
    rl->conn = -1;
    rl->client_fd = -1;
    rl->asked = pysb_monotonic();
    pysb_admit_fill(x, &rl->admit);
    int rc = open_run(rl, CONNECT_RETRY_MS, NULL);
    if (rc != OK)
        return rc;
    apr_pool_cleanup_register(r->pool, &rl->conn, close_fd_cleanup, apr_pool_cleanup_null);
    rl->session = apr_pcalloc(r->pool, sizeof *rl->session);
    pysb_session_init(rl->session, rl->conn);
    apr_pool_cleanup_register(r->pool, rl->session, session_cleanup, apr_pool_cleanup_null);
    if (collect) {
        memset(&collect->out, 0, sizeof collect->out);
        memset(&collect->err, 0, sizeof collect->err);
        memset(&collect->res, 0, sizeof collect->res);
        apr_pool_cleanup_register(r->pool, collect, collected_cleanup, apr_pool_cleanup_null);
    } else {
        const pysb_sink sink = { sink_write, sink_flush, rl };
        rl->render = pysb_render_new(x->format, &sink);
        if (!rl->render)
            return pysb_fail(x, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        apr_pool_cleanup_register(r->pool, rl->render, render_cleanup, apr_pool_cleanup_null);
    }
    /* Until the launcher answers; QUEUED and GO move it. */
    rl->deadline = rl->asked + ANSWER_GRACE_SEC;
    if ((rc = ask_slot(rl)) != OK)
        return rc;
    client_watch_init(rl);
    relay_end end = !rl->client_stream && client_input_ended(rl) ? R_GONE : relay_loop(rl);
    if (end == R_REFUSED)
        return x->status;
    if (end == R_FAILED)
        end_unknown(rl);
    else if (end == R_GONE || end == R_STOPPING)
        end_gone(rl, end == R_STOPPING);
    return OK;
}

int pysb_relay_run(pysb_req *x)
{
    return relay_run(x, NULL);
}

int pysb_relay_collect(pysb_req *x, pysb_collected *c)
{
    return relay_run(x, c);
}
