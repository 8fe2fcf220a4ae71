/* session.c — every half of the worker–launcher–supervisor conversation.
 *
 * Contract: see session.h. The worker's half never blocks in a read (the
 * module polls the socket with the client's and httpd's stop pipe); the
 * launcher's half only sends small frames without waiting; the
 * supervisor's half reads the request under one deadline, and bounds every
 * send of output by the run's wall clock, so a worker stalled by a slow
 * client cannot stretch a run past it. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "scratch.h"
#include "utf8.h"

/* A supervisor's sends: output and STARTED wait this long at most (less
 * when the run's clock runs out first), RESULT a little. */
#define SEND_TIMEOUT_MS 30000
#define RESULT_TIMEOUT_MS 5000

/* ---- the worker's half -------------------------------------------------- */

#define CONNECT_PAUSE_MS 50

int pysb_session_connect(const char *path, int budget_ms, int (*pause)(void *ctx, int ms),
                         void *ctx)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int64_t end = pysb_monotonic_ms() + budget_ms;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return PYSB_CONNECT_NO_SOCKET;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        int e = errno;
        close(fd);
        int64_t left = end - pysb_monotonic_ms();
        if (left <= 0 || (e != ENOENT && e != ECONNREFUSED && e != EAGAIN)) {
            errno = e;
            return PYSB_CONNECT_UNREACHABLE;
        }
        int ms = left < CONNECT_PAUSE_MS ? (int)left + 1 : CONNECT_PAUSE_MS;
        int stop = 0;
        if (pause)
            stop = pause(ctx, ms);
        else
            usleep((useconds_t)ms * 1000);
        if (stop) {
            errno = e;
            return PYSB_CONNECT_GAVE_UP;
        }
    }
}

/* FILE: the name's length in one byte, the name, the bytes. */
static int send_file(int fd, const pysb_in_file *f, int timeout_ms)
{
    size_t nlen = strlen(f->name);
    if (nlen == 0 || nlen > PYSB_FILE_NAME_MAX) {
        errno = EINVAL;
        return -1;
    }
    char *buf = malloc(1 + nlen + f->len);
    if (!buf)
        return -1;
    buf[0] = (char)nlen;
    memcpy(buf + 1, f->name, nlen);
    memcpy(buf + 1 + nlen, f->data, f->len);
    int rc = pysb_wire_send_timeout(fd, PYSB_FRAME_FILE, buf, 1 + nlen + f->len, timeout_ms);
    free(buf);
    return rc;
}

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
    for (size_t i = 0; rc == 0 && i < req->n_files; i++)
        rc = send_file(fd, &req->files[i], timeout_ms);
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

int pysb_session_admitted(const pysb_session *s)
{
    return s->admitted;
}

int pysb_session_admit(pysb_session *s, const pysb_admit *a, int timeout_ms, char *err,
                       size_t errlen)
{
    char *json = pysb_admit_encode(a, err, errlen);
    if (!json)
        return -1;
    int rc = pysb_wire_send_timeout(s->fd, PYSB_FRAME_ADMIT, json, strlen(json), timeout_ms);
    free(json);
    if (rc == 0)
        s->admitting = 1;
    return rc;
}

static int session_fail(pysb_session *s, const char *why, const char *what)
{
    snprintf(s->error, sizeof s->error, "%s%s", why, what ? what : "");
    s->ended = 1;
    errno = EPROTO;
    return -1;
}

/* An admission's answer (QUEUED, GO, BUSY, TOO_MANY) as an event, if it
 * is in its place: after ADMIT and before GO (BUSY also from a launcher
 * that a SPEC-first worker reached). */
static int admission_event(pysb_session *s, const pysb_frame *f, pysb_event *ev)
{
    const char *name = pysb_frame_type_name(f->type);
    char why[160];
    int waiting = s->admitting && !s->admitted;
    if (s->started)
        return session_fail(s, "unexpected frame after STARTED: ", name);
    if ((f->type != PYSB_FRAME_BUSY && !waiting) ||
        (f->type == PYSB_FRAME_BUSY && s->admitted))
        return session_fail(s, "unexpected frame: ", name);
    switch (f->type) {
    case PYSB_FRAME_QUEUED:
        if (pysb_queued_decode(f->payload, f->len, &ev->position, &ev->queued, why,
                               sizeof why) < 0)
            return session_fail(s, "bad QUEUED: ", why);
        ev->type = PYSB_EV_QUEUED;
        return 1;
    case PYSB_FRAME_GO:
        ev->type = PYSB_EV_GO;
        s->admitted = 1;
        return 1;
    default: /* BUSY, TOO_MANY */
        if (pysb_refusal_decode(f->payload, f->len, &ev->reason, &ev->retry_after, why,
                                sizeof why) < 0)
            return session_fail(s, "bad refusal: ", why);
        ev->type = f->type == PYSB_FRAME_BUSY ? PYSB_EV_BUSY : PYSB_EV_TOO_MANY;
        s->ended = 1;
        return 1;
    }
}

/* OUTFILE's meta and bytes into ev->file. */
static int file_event(const pysb_frame *f, pysb_event *ev)
{
    if (f->len < 4)
        return -1;
    const unsigned char *u = (const unsigned char *)f->payload;
    uint32_t ml = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
    if (ml > f->len - 4)
        return -1;
    json_t *m = json_loadb(f->payload + 4, ml, 0, NULL);
    json_t *name = json_object_get(m, "name"), *size = json_object_get(m, "size");
    json_t *type = json_object_get(m, "type"), *dropped = json_object_get(m, "dropped");
    size_t data_len = f->len - 4 - ml;
    int ok = json_is_string(name) && json_is_integer(size) && json_integer_value(size) >= 0 &&
             (json_is_string(type) || json_is_string(dropped)) &&
             (!json_is_string(type) || (uint64_t)json_integer_value(size) == data_len);
    if (ok) {
        snprintf(ev->file_name, sizeof ev->file_name, "%s", json_string_value(name));
        snprintf(ev->file_mime, sizeof ev->file_mime, "%s",
                 json_is_string(type) ? json_string_value(type) : "application/octet-stream");
        snprintf(ev->file_dropped, sizeof ev->file_dropped, "%s",
                 json_is_string(dropped) ? json_string_value(dropped) : "");
        ev->file = (pysb_out_file){
            .name = ev->file_name, .size = (uint64_t)json_integer_value(size),
            .mime = ev->file_mime, .attachment = json_is_true(json_object_get(m, "attachment")),
            .data = json_is_string(type) ? f->payload + 4 + ml : NULL,
            .dropped = json_is_string(type) ? NULL : ev->file_dropped,
        };
    }
    json_decref(m);
    return ok ? 0 : -1;
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
    case PYSB_FRAME_QUEUED:
    case PYSB_FRAME_GO:
    case PYSB_FRAME_BUSY:
    case PYSB_FRAME_TOO_MANY:
        return admission_event(s, f, ev);
    case PYSB_FRAME_STARTED:
        if (s->started)
            return session_fail(s, "unexpected frame after STARTED: ", name);
        if (s->admitting && !s->admitted)
            return session_fail(s, "STARTED before GO", NULL);
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
    case PYSB_FRAME_OUTFILE:
        if (!s->started)
            return session_fail(s, "OUTFILE before STARTED", NULL);
        if (file_event(f, ev) < 0)
            return session_fail(s, "bad OUTFILE", NULL);
        ev->type = PYSB_EV_FILE;
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

/* ---- the status page's half -------------------------------------------- */

int pysb_session_status(int fd, int timeout_ms, char **json, size_t *len, char *err,
                        size_t errlen)
{
    pysb_decoder d;
    pysb_frame f;
    int64_t deadline = pysb_monotonic_ms() + timeout_ms;
    *json = NULL;
    if (pysb_wire_send_timeout(fd, PYSB_FRAME_STATUS_GET, NULL, 0, timeout_ms) < 0)
        return pysb_reason(err, errlen, "asking the launcher: %s", strerror(errno));
    pysb_decoder_init(&d);
    int64_t left = deadline - pysb_monotonic_ms();
    int rc = pysb_wire_recv(fd, &d, &f, left > 0 ? (int)left : 0);
    if (rc == 1 && f.type == PYSB_FRAME_STATUS && (*json = malloc(f.len + 1))) {
        memcpy(*json, f.payload, f.len + 1);
        *len = f.len;
    } else if (rc == 1 && f.type == PYSB_FRAME_STATUS) {
        pysb_reason(err, errlen, "out of memory");
    } else if (rc == 1) {
        pysb_reason(err, errlen, "the launcher answered %s", pysb_frame_type_name(f.type));
    } else {
        pysb_reason(err, errlen, "reading the launcher's answer: %s",
                    rc == 0 ? "it closed" : errno == EPROTO ? pysb_decoder_error(&d)
                                                             : strerror(errno));
    }
    pysb_decoder_free(&d);
    return *json ? 0 : -1;
}

/* ---- the launcher's half ------------------------------------------------- */

int pysb_session_hello(const pysb_frame *f, pysb_admit *a, char *err, size_t errlen)
{
    switch (f->type) {
    case PYSB_FRAME_ADMIT:
        return pysb_admit_decode(f->payload, f->len, a, err, errlen) < 0 ? -1
                                                                         : PYSB_HELLO_ADMIT;
    case PYSB_FRAME_STATUS_GET:
        return PYSB_HELLO_STATUS;
    case PYSB_FRAME_SPEC:
        return PYSB_HELLO_SPEC;
    default:
        return pysb_reason(err, errlen, "a connection that starts with %s",
                           pysb_frame_type_name(f->type));
    }
}

int pysb_session_queued(int fd, unsigned position, unsigned queued)
{
    char *json = pysb_queued_encode(position, queued);
    int rc = json ? pysb_wire_send_timeout(fd, PYSB_FRAME_QUEUED, json, strlen(json), 0) : -1;
    free(json);
    return rc;
}

int pysb_session_refuse(int fd, pysb_refuse_reason reason, unsigned retry_after)
{
    char *json = pysb_refusal_encode(reason, retry_after);
    int type = reason == PYSB_REFUSE_CLIENT ? PYSB_FRAME_TOO_MANY : PYSB_FRAME_BUSY;
    int rc = json ? pysb_wire_send_timeout(fd, type, json, strlen(json), 0) : -1;
    free(json);
    return rc;
}

int pysb_session_status_reply(int fd, const char *json, size_t len)
{
    /* A snapshot larger than the socket's default buffer would otherwise
     * need the launcher to wait for the reader; as root it may grow the
     * buffer instead (SO_SNDBUFFORCE), so the frame goes out at once. */
    int want = (int)(len + PYSB_WIRE_HDR_LEN) * 2;
    if (len > (32u << 10))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want);
    return pysb_wire_send_timeout(fd, PYSB_FRAME_STATUS, json, len, 0);
}

/* ---- the supervisor's half --------------------------------------------- */

void pysb_session_request_free(pysb_session_request *req)
{
    pysb_wire_spec_free(&req->spec);
    free((void *)req->code);
    free((void *)req->stdin_data);
    req->code = req->stdin_data = NULL;
    for (size_t i = 0; i < req->n_files; i++) {
        free((void *)req->files[i].name);
        free((void *)req->files[i].data);
    }
    free(req->files);
    req->files = NULL;
    req->n_files = 0;
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

/* A FILE frame into req->files: a fine name, not given before, the bytes
 * of all files within the scratch (where they go). */
static int take_file(const pysb_frame *f, pysb_session_request *req, char *err, size_t errlen)
{
    size_t nlen = f->len ? (unsigned char)f->payload[0] : 0;
    uint64_t total = 0;
    if (f->len < 1 + nlen)
        return pysb_reason(err, errlen, "a FILE frame shorter than its name");
    const char *name = f->payload + 1, *why = pysb_file_name_check(name, nlen);
    if (why)
        return pysb_reason(err, errlen, "input file: %s", why);
    if (req->n_files == PYSB_SESSION_FILES_MAX)
        return pysb_reason(err, errlen, "more than %d input files", PYSB_SESSION_FILES_MAX);
    if (pysb_in_files_have(req->files, req->n_files, name, nlen))
        return pysb_reason(err, errlen, "input file %.*s given twice", (int)nlen, name);
    for (size_t i = 0; i < req->n_files; i++)
        total += pysb_scratch_file_pages(req->files[i].len);
    size_t len = f->len - 1 - nlen;
    if (!pysb_scratch_files_fit(req->spec.limits.scratch_bytes, req->n_files + 1,
                                total + pysb_scratch_file_pages(len)))
        return pysb_reason(err, errlen, "input files larger than the scratch directory");
    pysb_in_file *files = realloc(req->files, (req->n_files + 1) * sizeof *files);
    if (!files)
        return pysb_reason(err, errlen, "out of memory");
    req->files = files;
    char *n = strndup(name, nlen), *data = malloc(len ? len : 1);
    if (!n || !data) {
        free(n);
        free(data);
        return pysb_reason(err, errlen, "out of memory");
    }
    memcpy(data, name + nlen, len);
    files[req->n_files++] = (pysb_in_file){ n, data, len };
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
    } else if (f->type == PYSB_FRAME_FILE && req->code) {
        return take_file(f, req, err, errlen);
    } else if (f->type == PYSB_FRAME_START && req->code) {
        return 1;
    } else {
        return pysb_reason(err, errlen, "unexpected %s frame", pysb_frame_type_name(f->type));
    }
    return 0;
}

/* Reads the rest of the request through d (which may hold its start,
 * and may have handed out its first frame already: first). */
static int receive_from(int fd, pysb_decoder *d, const pysb_frame *first,
                        const pysb_session_bounds *b, pysb_session_request *req, char *err,
                        size_t errlen)
{
    int have_spec = 0, rc = 0;
    size_t in_cap = 0;

    memset(req, 0, sizeof *req);
    pysb_decoder_set_max(d, PYSB_FRAME_CODE, b->max_code);
    if (first)
        rc = take_frame(first, b, req, &have_spec, &in_cap, err, errlen);
    while (rc == 0) {
        pysb_frame f;
        rc = pysb_wire_recv(fd, d, &f, b->timeout_ms);
        if (rc == 0)
            break; /* the worker gave up before START */
        if (rc < 0) {
            pysb_reason(err, errlen, "reading the request: %s",
                        errno == EPROTO ? pysb_decoder_error(d) : strerror(errno));
            break;
        }
        rc = take_frame(&f, b, req, &have_spec, &in_cap, err, errlen);
    }
    if (rc != 1)
        pysb_session_request_free(req);
    return rc;
}

int pysb_session_receive(int fd, const pysb_session_bounds *b,
                         pysb_session_request *req, char *err, size_t errlen)
{
    pysb_decoder d;
    pysb_decoder_init(&d);
    int rc = receive_from(fd, &d, NULL, b, req, err, errlen);
    pysb_decoder_free(&d);
    return rc;
}

/* The output sink of a served run: STDOUT/STDERR frames. */
struct relay {
    int    fd;
    int    failed;
    double deadline;   /* the run's wall clock, CLOCK_MONOTONIC */
    double files_until; /* the files' sends end by then (0: none sent yet) */
};

/* How long a send may wait for the worker: what is left of the run's wall
 * clock, at most SEND_TIMEOUT_MS. */
static int send_budget_ms(const struct relay *r)
{
    double left = r->deadline - pysb_monotonic();
    return left <= 0 ? 0 : left * 1000 < SEND_TIMEOUT_MS ? (int)(left * 1000) + 1 : SEND_TIMEOUT_MS;
}

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
        if (pysb_wire_send_timeout(r->fd, type, buf, n, send_budget_ms(r)) < 0) {
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

int pysb_session_relay_file(void *out_ctx, const pysb_out_file *f)
{
    struct relay *r = out_ctx;
    /* A name that is not UTF-8 (listed as dropped) goes as the CLI shows
     * it, each bad byte U+FFFD: every format can carry it. */
    size_t nl;
    char *name = pysb_utf8_sanitize(f->name, strlen(f->name), &nl);
    json_t *m = !name   ? NULL
                : f->data ? json_pack("{s:s, s:I, s:s, s:b}", "name", name, "size",
                                      (json_int_t)f->size, "type", f->mime, "attachment",
                                      f->attachment)
                          : json_pack("{s:s, s:I, s:s}", "name", name, "size",
                                      (json_int_t)f->size, "dropped", f->dropped);
    free(name);
    char *meta = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (!meta) {
        r->failed = ENOMEM;
        return -1;
    }
    size_t ml = strlen(meta), dl = f->data ? (size_t)f->size : 0;
    char *buf = malloc(4 + ml + dl);
    int rc = -1;
    if (buf) {
        unsigned char *u = (unsigned char *)buf;
        u[0] = (unsigned char)(ml >> 24);
        u[1] = (unsigned char)(ml >> 16);
        u[2] = (unsigned char)(ml >> 8);
        u[3] = (unsigned char)ml;
        memcpy(buf + 4, meta, ml);
        if (dl)
            memcpy(buf + 4 + ml, f->data, dl);
        /* Files go after the run, to a worker that may be stalled by a
         * client that reads nothing: all of them within what is left of
         * the run's wall clock (at least RESULT_TIMEOUT_MS, so a run
         * that used all of it still gets its files to a client that
         * reads), not SEND_TIMEOUT_MS each, or the run's slot would be
         * held long after it (attack-work F9). A file that cannot go
         * ends the conversation. */
        double now = pysb_monotonic();
        if (r->files_until == 0)
            r->files_until = r->deadline > now + RESULT_TIMEOUT_MS / 1000.0
                                 ? r->deadline
                                 : now + RESULT_TIMEOUT_MS / 1000.0;
        double left = r->files_until - now;
        rc = pysb_wire_send_timeout(r->fd, PYSB_FRAME_OUTFILE, buf, 4 + ml + dl,
                                    left > 0 ? (int)(left * 1000) + 1 : 0);
        if (rc < 0)
            r->failed = errno;
    }
    free(buf);
    free(meta);
    return rc;
}

int pysb_session_serve(int fd, uid_t uid, const pysb_session_bounds *b,
                       pysb_session_run_fn run, void *ctx, pysb_session_outcome *out)
{
    return pysb_session_serve_from(fd, NULL, uid, b, run, ctx, out);
}

int pysb_session_serve_from(int fd, const pysb_session_start *st, uid_t uid,
                            const pysb_session_bounds *b, pysb_session_run_fn run, void *ctx,
                            pysb_session_outcome *out)
{
    static const pysb_session_start fresh = { 0, NULL, NULL };
    pysb_session_request req;
    pysb_decoder own, *d = st && st->pending ? st->pending : &own;
    memset(out, 0, sizeof *out);
    if (!st)
        st = &fresh;
    if (d == &own)
        pysb_decoder_init(&own);
    /* The worker waits for GO before it sends a byte of its request. */
    int rc = st->go && pysb_wire_send_timeout(fd, PYSB_FRAME_GO, NULL, 0, SEND_TIMEOUT_MS) < 0
                 ? 0
                 : receive_from(fd, d, st->first, b, &req, out->why, sizeof out->why);
    pysb_decoder_free(d);
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
