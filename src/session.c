/* session.c — both halves of the worker–supervisor conversation.
 *
 * Contract: see session.h. The worker's half never blocks in a read (the
 * module polls the socket with the client's and httpd's stop pipe); the
 * supervisor's half reads the request under one deadline, and bounds every
 * send of output by the run's wall clock, so a worker stalled by a slow
 * client cannot stretch a run past it. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* A supervisor's sends: output and STARTED wait this long at most (less
 * when the run's clock runs out first), RESULT a little. */
#define SEND_TIMEOUT_MS 30000
#define RESULT_TIMEOUT_MS 5000

/* ---- the worker's half -------------------------------------------------- */

int pysb_session_send(int fd, const pysb_session_request *req, int timeout_ms,
                      char *err, size_t errlen)
{
    char *spec = pysb_spec_encode(&req->spec, err, errlen);
    if (!spec)
        return -1;
    int rc = pysb_wire_send_timeout(fd, PYSB_FRAME_SPEC, spec, strlen(spec), timeout_ms);
    free(spec);
    if (rc == 0)
        rc = pysb_wire_send_timeout(fd, PYSB_FRAME_CODE, req->code, req->code_len, timeout_ms);
    size_t chunk = pysb_frame_max_len(PYSB_FRAME_STDIN);
    for (size_t off = 0; rc == 0 && off < req->stdin_len; off += chunk) {
        size_t n = req->stdin_len - off < chunk ? req->stdin_len - off : chunk;
        rc = pysb_wire_send_timeout(fd, PYSB_FRAME_STDIN, req->stdin_data + off, n,
                                    timeout_ms);
    }
    if (rc == 0)
        rc = pysb_wire_send_timeout(fd, PYSB_FRAME_START, NULL, 0, timeout_ms);
    return rc;
}

void pysb_session_init(pysb_session *s, int fd)
{
    memset(s, 0, sizeof *s);
    pysb_decoder_init(&s->d);
    s->fd = fd;
}

void pysb_session_free(pysb_session *s)
{
    pysb_decoder_free(&s->d);
}

ssize_t pysb_session_read(pysb_session *s)
{
    return pysb_decoder_read(&s->d, s->fd);
}

const char *pysb_session_error(const pysb_session *s)
{
    return s->error;
}

int pysb_session_started(const pysb_session *s)
{
    return s->started;
}

static int session_fail(pysb_session *s, const char *why, const char *what)
{
    snprintf(s->error, sizeof s->error, "%s%s", why, what ? what : "");
    s->ended = 1;
    errno = EPROTO;
    return -1;
}

/* The frame as an event, if it is in its place. */
static int frame_event(pysb_session *s, const pysb_frame *f, pysb_event *ev)
{
    const char *name = pysb_frame_type_name(f->type);
    char why[160];

    memset(ev, 0, sizeof *ev);
    if (s->ended)
        return session_fail(s, "a frame after the end: ", name);
    switch (f->type) {
    case PYSB_FRAME_BUSY:
    case PYSB_FRAME_STARTED:
        if (s->started)
            return session_fail(s, "unexpected frame after STARTED: ", name);
        if (f->type == PYSB_FRAME_BUSY) {
            ev->type = PYSB_EV_BUSY;
            s->ended = 1;
            return 1;
        }
        if (pysb_started_decode(f->payload, f->len, ev->run_id, &ev->uid, why,
                                sizeof why) < 0)
            return session_fail(s, "bad STARTED: ", why);
        ev->type = PYSB_EV_STARTED;
        s->started = 1;
        return 1;
    case PYSB_FRAME_ERROR:
        ev->type = PYSB_EV_ERROR;
        ev->data = f->payload;
        ev->len = f->len;
        s->ended = 1;
        return 1;
    case PYSB_FRAME_STDOUT:
    case PYSB_FRAME_STDERR:
        if (!s->started)
            return session_fail(s, "output before STARTED: ", name);
        ev->type = PYSB_EV_OUTPUT;
        ev->stream = f->type == PYSB_FRAME_STDOUT ? PYSB_STDOUT : PYSB_STDERR;
        ev->data = f->payload;
        ev->len = f->len;
        return 1;
    case PYSB_FRAME_RESULT:
        if (!s->started)
            return session_fail(s, "RESULT before STARTED", NULL);
        if (pysb_result_from_json(f->payload, f->len, &ev->result) < 0)
            return session_fail(s, "bad RESULT", NULL);
        ev->type = PYSB_EV_RESULT;
        s->ended = 1;
        return 1;
    default:
        return session_fail(s, "unexpected frame: ", name);
    }
}

int pysb_session_next(pysb_session *s, pysb_event *ev)
{
    pysb_frame f;
    if (s->error[0]) {
        errno = EPROTO;
        return -1;
    }
    int rc = pysb_decoder_next(&s->d, &f);
    if (rc < 0)
        return session_fail(s, pysb_decoder_error(&s->d), NULL);
    if (rc == 0)
        return 0;
    return frame_event(s, &f, ev);
}

/* ---- the supervisor's half --------------------------------------------- */

void pysb_session_request_free(pysb_session_request *req)
{
    pysb_wire_spec_free(&req->spec);
    free((void *)req->code);
    free((void *)req->stdin_data);
    req->code = req->stdin_data = NULL;
}

/* Appends a STDIN chunk to the growing buffer, within max. */
static int add_stdin(char **buf, size_t *len, size_t *cap, uint64_t max,
                     const char *p, size_t n)
{
    if (*len + n > max)
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

/* One frame of the request into *req, in its place: 1 at START, 0 to go
 * on, -1 with a reason. */
static int take_frame(const pysb_frame *f, const pysb_session_bounds *b,
                      pysb_session_request *req, int *have_spec, size_t *in_cap,
                      char *err, size_t errlen)
{
    if (f->type == PYSB_FRAME_SPEC && !*have_spec) {
        if (pysb_spec_decode(f->payload, f->len, &req->spec, err, errlen) < 0)
            return -1;
        *have_spec = 1;
    } else if (f->type == PYSB_FRAME_CODE && *have_spec && !req->code) {
        char *code = malloc(f->len + 1);
        if (!code)
            return pysb_reason(err, errlen, "out of memory");
        memcpy(code, f->payload, f->len);
        req->code = code;
        req->code_len = f->len;
    } else if (f->type == PYSB_FRAME_STDIN && req->code) {
        char *in = (char *)req->stdin_data;
        int rc = add_stdin(&in, &req->stdin_len, in_cap, b->max_stdin, f->payload, f->len);
        req->stdin_data = in;
        if (rc < 0)
            return pysb_reason(err, errlen, "stdin larger than allowed");
    } else if (f->type == PYSB_FRAME_START && req->code) {
        return 1;
    } else {
        return pysb_reason(err, errlen, "unexpected %s frame", pysb_frame_type_name(f->type));
    }
    return 0;
}

int pysb_session_receive(int fd, const pysb_session_bounds *b,
                         pysb_session_request *req, char *err, size_t errlen)
{
    pysb_decoder d;
    int have_spec = 0, rc;
    size_t in_cap = 0;

    memset(req, 0, sizeof *req);
    pysb_decoder_init(&d);
    pysb_decoder_set_max(&d, PYSB_FRAME_CODE, b->max_code);
    do {
        pysb_frame f;
        rc = pysb_wire_recv(fd, &d, &f, b->timeout_ms);
        if (rc == 0)
            break; /* the worker gave up before START */
        if (rc < 0) {
            pysb_reason(err, errlen, "reading the request: %s",
                        errno == EPROTO ? pysb_decoder_error(&d) : strerror(errno));
            break;
        }
        rc = take_frame(&f, b, req, &have_spec, &in_cap, err, errlen);
    } while (rc == 0);
    pysb_decoder_free(&d);
    if (rc != 1)
        pysb_session_request_free(req);
    return rc;
}

/* The output sink of a served run: STDOUT/STDERR frames. */
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

int pysb_session_serve(int fd, uid_t uid, const pysb_session_bounds *b,
                       pysb_session_run_fn run, void *ctx, pysb_session_outcome *out)
{
    pysb_session_request req;
    memset(out, 0, sizeof *out);
    int rc = pysb_session_receive(fd, b, &req, out->why, sizeof out->why);
    if (rc == 0)
        return 0;
    /* The run id names the run in STARTED, the result and the logs of
     * both sides; a worker always sends one, so a SPEC without it is a
     * peer's mistake, refused in words like any other. */
    if (rc > 0 && !req.spec.run_id[0]) {
        pysb_session_request_free(&req);
        pysb_reason(out->why, sizeof out->why, "SPEC without run_id");
        rc = -1;
    }
    if (rc < 0) {
        out->refused = 1;
        pysb_wire_send_timeout(fd, PYSB_FRAME_ERROR, out->why, strlen(out->why), 1000);
        return 1;
    }
    char *started = pysb_started_encode(req.spec.run_id, uid);
    rc = started ? pysb_wire_send_timeout(fd, PYSB_FRAME_STARTED, started, strlen(started),
                                          SEND_TIMEOUT_MS)
                 : -1;
    free(started);
    if (rc < 0) {
        pysb_session_request_free(&req);
        return 1; /* the worker is gone */
    }
    struct relay rel = { .fd = fd, .deadline = pysb_monotonic() + req.spec.limits.wall_sec };
    run(ctx, &req, relay_output, &rel, &out->result);
    out->ran = 1;
    out->worker_gone = rel.failed != 0;
    pysb_session_request_free(&req);
    if (rel.failed)
        return 0; /* the worker went away: nobody to tell */
    char *json = pysb_result_to_json(&out->result, NULL, 0, NULL, 0);
    rc = json ? pysb_wire_send_timeout(fd, PYSB_FRAME_RESULT, json, strlen(json),
                                       RESULT_TIMEOUT_MS)
              : -1;
    free(json);
    return rc < 0 ? 1 : 0;
}
