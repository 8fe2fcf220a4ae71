/* test_session.c — unit tests of src/session.c: both halves of the
 * worker–supervisor conversation over a socketpair, without root, a
 * launcher or httpd. The supervisor half runs in a forked child with a run
 * function that echoes the program as stdout and the stdin as stderr, so
 * what arrives can be checked byte for byte; the worker half is driven
 * from the test, also with frames written by hand in the wrong order. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "session.h"

#define RUN_UID 4242

static const char *const argv_py[] = { "/usr/bin/python3", "-I", "-S", NULL };

/* The engine's stand-in: output in 100 000-byte pieces (the relay splits
 * them into frames of at most 64 KiB), then an ok result. */
static int echo_run(void *ctx, const pysb_session_request *req, pysb_output_fn out,
                    void *out_ctx, pysb_result *r)
{
    (void)ctx;
    memset(r, 0, sizeof *r);
    r->limits = req->spec.limits;
    snprintf(r->run_id, sizeof r->run_id, "%s", req->spec.run_id);
    if (out(out_ctx, PYSB_STDOUT, req->code, req->code_len) < 0)
        return 0;
    for (size_t off = 0; off < req->stdin_len; off += 100000) {
        size_t n = req->stdin_len - off < 100000 ? req->stdin_len - off : 100000;
        if (out(out_ctx, PYSB_STDERR, req->stdin_data + off, n) < 0)
            return 0;
    }
    r->status = PYSB_OK;
    r->exit_code = 0;
    r->bytes[PYSB_STDOUT] = req->code_len;
    r->bytes[PYSB_STDERR] = req->stdin_len;
    return 0;
}

/* Writes output until the worker is gone (at most 20 s of it). */
static int endless_run(void *ctx, const pysb_session_request *req, pysb_output_fn out,
                       void *out_ctx, pysb_result *r)
{
    (void)ctx;
    static char chunk[65536];
    memset(r, 0, sizeof *r);
    r->limits = req->spec.limits;
    for (int i = 0; i < 20000; i++) {
        if (out(out_ctx, PYSB_STDOUT, chunk, sizeof chunk) < 0) {
            r->status = PYSB_INTERNAL_ERROR;
            snprintf(r->error, sizeof r->error, "cancelled: the output sink went away");
            return 0;
        }
        usleep(1000);
    }
    return 0;
}

static const pysb_session_bounds bounds = {
    .max_code = 1 << 20, .max_stdin = 4 << 20, .timeout_ms = 5000,
};

/* Forks the supervisor half on sv[1]. The child exits with serve's status
 * plus 10 × what the outcome says: 0 nothing, 1 refused, 2 ran, 3 ran and
 * the worker was gone. */
static pid_t serve_in_child(int sv[2], pysb_session_run_fn run)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        pysb_session_outcome o;
        int st = pysb_session_serve(sv[1], RUN_UID, &bounds, run, NULL, &o);
        int what = o.refused ? 1 : o.ran ? (o.worker_gone ? 3 : 2) : 0;
        _exit(st + 10 * what);
    }
    close(sv[1]);
    return pid;
}

static int child_exit(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void make_request(pysb_session_request *req, const char *code, const char *in,
                         size_t in_len)
{
    memset(req, 0, sizeof *req);
    pysb_limits_default(&req->spec.limits);
    req->spec.argv = (const char **)argv_py;
    snprintf(req->spec.run_id, sizeof req->spec.run_id, "test-run-1");
    req->code = code;
    req->code_len = strlen(code);
    req->stdin_data = in;
    req->stdin_len = in_len;
}

/* The next event, reading as needed; fails the test on EOF or error. */
static void next_event(pysb_session *s, pysb_event *ev)
{
    for (;;) {
        int rc = pysb_session_next(s, ev);
        if (rc < 0)
            fail_msg("protocol error: %s", pysb_session_error(s));
        if (rc == 1)
            return;
        ssize_t n = pysb_session_read(s);
        if (n <= 0)
            fail_msg("the supervisor half closed (%zd, %s)", n, strerror(errno));
    }
}

static void test_conversation(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = serve_in_child(sv, echo_run);

    /* 2.5 MiB of stdin: three STDIN frames on the way in, forty-odd
     * STDERR frames on the way back. */
    size_t in_len = 5 << 19;
    char *in = malloc(in_len);
    for (size_t i = 0; i < in_len; i++)
        in[i] = (char)('a' + i % 26);
    pysb_session_request req;
    make_request(&req, "print('hello')\n", in, in_len);
    char err[256] = "";
    assert_int_equal(pysb_session_send(sv[0], &req, 5000, err, sizeof err), 0);

    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_event ev;
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_STARTED);
    assert_string_equal(ev.run_id, "test-run-1");
    assert_int_equal(ev.uid, RUN_UID);
    assert_true(pysb_session_started(&s));

    char *got[2] = { malloc(in_len + 64), malloc(in_len + 64) };
    size_t len[2] = { 0, 0 };
    for (;;) {
        next_event(&s, &ev);
        if (ev.type != PYSB_EV_OUTPUT)
            break;
        assert_true(ev.len <= 65536);
        assert_true(len[ev.stream] + ev.len <= in_len + 64);
        memcpy(got[ev.stream] + len[ev.stream], ev.data, ev.len);
        len[ev.stream] += ev.len;
    }
    assert_int_equal(ev.type, PYSB_EV_RESULT);
    assert_int_equal(ev.result.status, PYSB_OK);
    assert_string_equal(ev.result.run_id, "test-run-1");
    assert_true(ev.result.limits.cpu_sec == req.spec.limits.cpu_sec);
    assert_int_equal(ev.result.bytes[PYSB_STDERR], in_len);
    assert_int_equal(len[PYSB_STDOUT], req.code_len);
    assert_memory_equal(got[PYSB_STDOUT], req.code, req.code_len);
    assert_int_equal(len[PYSB_STDERR], in_len);
    assert_memory_equal(got[PYSB_STDERR], in, in_len);

    /* Then the supervisor closes: nothing more, and no stray frame. */
    assert_int_equal(pysb_session_read(&s), 0);
    assert_int_equal(pysb_session_next(&s, &ev), 0);
    assert_int_equal(child_exit(pid), 20);
    pysb_session_free(&s);
    close(sv[0]);
    free(in);
    free(got[0]);
    free(got[1]);
}

/* A refused request: ERROR with the reason, then the end. */
static void expect_refusal(const void *frames, size_t n, const char *want)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = serve_in_child(sv, echo_run);
    assert_int_equal(write(sv[0], frames, n), (ssize_t)n);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_event ev;
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_ERROR);
    if (!strstr(ev.data, want))
        fail_msg("ERROR says \"%s\", want \"%s\"", ev.data, want);
    assert_int_equal(child_exit(pid), 11);
    pysb_session_free(&s);
    close(sv[0]);
}

/* frame TYPE PAYLOAD into buf at *off */
static void put_frame(char *buf, size_t *off, int type, const char *payload, size_t len)
{
    uint8_t hdr[PYSB_WIRE_HDR_LEN];
    pysb_wire_header(hdr, type, (uint32_t)len);
    memcpy(buf + *off, hdr, sizeof hdr);
    memcpy(buf + *off + sizeof hdr, payload, len);
    *off += sizeof hdr + len;
}

static void test_refusals(void **state)
{
    (void)state;
    char buf[8192], err[256];
    size_t n = 0;

    /* CODE before SPEC. */
    put_frame(buf, &n, PYSB_FRAME_CODE, "print(1)", 8);
    expect_refusal(buf, n, "unexpected CODE frame");

    /* A spec the decoder refuses. */
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_SPEC, "{\"limits\":{}}", 13);
    expect_refusal(buf, n, "missing key");

    /* START before CODE. */
    pysb_session_request req;
    make_request(&req, "x", NULL, 0);
    char *spec = pysb_spec_encode(&req.spec, err, sizeof err);
    assert_non_null(spec);
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_SPEC, spec, strlen(spec));
    put_frame(buf, &n, PYSB_FRAME_START, "", 0);
    expect_refusal(buf, n, "unexpected START frame");

    /* A whole request whose SPEC has no run_id: refused in words, not
     * dropped (STARTED could not name the run). */
    free(spec);
    req.spec.run_id[0] = '\0';
    spec = pysb_spec_encode(&req.spec, err, sizeof err);
    assert_non_null(spec);
    assert_null(strstr(spec, "run_id"));
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_SPEC, spec, strlen(spec));
    put_frame(buf, &n, PYSB_FRAME_CODE, "x", 1);
    put_frame(buf, &n, PYSB_FRAME_START, "", 0);
    expect_refusal(buf, n, "SPEC without run_id");

    /* Not the protocol at all. */
    expect_refusal("GET / HTTP/1.0\r\n\r\n", 18, "reading the request: bad magic");
    free(spec);
}

static void test_stdin_over_bound(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = serve_in_child(sv, echo_run);
    size_t in_len = (4 << 20) + 1;
    char *in = calloc(1, in_len);
    pysb_session_request req;
    make_request(&req, "x", in, in_len);
    char err[256] = "";
    /* The supervisor half refuses (and closes) as soon as it sees the
     * fifth MiB: the send may or may not get to START. */
    (void)pysb_session_send(sv[0], &req, 5000, err, sizeof err);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_event ev;
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_ERROR);
    assert_string_equal(ev.data, "stdin larger than allowed");
    assert_int_equal(child_exit(pid), 11);
    pysb_session_free(&s);
    close(sv[0]);
    free(in);
}

/* A worker that leaves: before START nothing is answered or run; during
 * the run, the run's output sink fails and nobody is told. */
static void test_worker_leaves(void **state)
{
    (void)state;
    int sv[2];
    char err[256];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = serve_in_child(sv, echo_run);
    pysb_session_request req;
    make_request(&req, "x", NULL, 0);
    char *spec = pysb_spec_encode(&req.spec, err, sizeof err);
    assert_int_equal(pysb_wire_send(sv[0], PYSB_FRAME_SPEC, spec, strlen(spec)), 0);
    free(spec);
    close(sv[0]);
    assert_int_equal(child_exit(pid), 0);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid = serve_in_child(sv, endless_run);
    assert_int_equal(pysb_session_send(sv[0], &req, 5000, err, sizeof err), 0);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_event ev;
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_STARTED);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_OUTPUT);
    pysb_session_free(&s);
    close(sv[0]);
    assert_int_equal(child_exit(pid), 30);
}

/* The worker half checks the supervisor's order. */
static void expect_order_error(const char *frames, size_t n, int events_first,
                               const char *want)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(write(sv[1], frames, n), (ssize_t)n);
    close(sv[1]);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_event ev;
    assert_true(pysb_session_read(&s) > 0);
    for (int i = 0; i < events_first; i++)
        assert_int_equal(pysb_session_next(&s, &ev), 1);
    assert_int_equal(pysb_session_next(&s, &ev), -1);
    if (!strstr(pysb_session_error(&s), want))
        fail_msg("error \"%s\", want \"%s\"", pysb_session_error(&s), want);
    /* and for good */
    assert_int_equal(pysb_session_next(&s, &ev), -1);
    pysb_session_free(&s);
    close(sv[0]);
}

static void test_worker_checks_order(void **state)
{
    (void)state;
    char buf[4096], *started = pysb_started_encode("r1", RUN_UID);
    size_t n = 0;

    put_frame(buf, &n, PYSB_FRAME_STDOUT, "hi", 2);
    expect_order_error(buf, n, 0, "output before STARTED");

    n = 0;
    put_frame(buf, &n, PYSB_FRAME_STARTED, started, strlen(started));
    put_frame(buf, &n, PYSB_FRAME_RESULT, "{\"status\":\"nope\"}", 17);
    expect_order_error(buf, n, 1, "bad RESULT");

    n = 0;
    put_frame(buf, &n, PYSB_FRAME_STARTED, started, strlen(started));
    put_frame(buf, &n, PYSB_FRAME_BUSY, "", 0);
    expect_order_error(buf, n, 1, "unexpected frame after STARTED: BUSY");

    n = 0;
    put_frame(buf, &n, PYSB_FRAME_BUSY, "", 0);
    put_frame(buf, &n, PYSB_FRAME_STDOUT, "x", 1);
    expect_order_error(buf, n, 1, "a frame after the end: STDOUT");

    n = 0;
    put_frame(buf, &n, PYSB_FRAME_SPEC, "{}", 2);
    expect_order_error(buf, n, 0, "unexpected frame: SPEC");

    n = 0;
    put_frame(buf, &n, PYSB_FRAME_STARTED, "{\"run_id\":\"r1\"}", 15);
    expect_order_error(buf, n, 0, "bad STARTED");
    free(started);
}

/* ---- admission: the launcher's half, then the supervisor's ---- */

/* What the launcher stand-in does with a connection's first frame. */
typedef enum { L_QUEUE_THEN_GO, L_FULL, L_TOO_MANY, L_LEGACY, L_STATUS } launcher_act;

/* Forks a launcher stand-in on sv[1]: it reads the first frame as the
 * launcher does, checks pysb_session_hello's answer, and acts. Exit
 * status: serve's (plus 20 when it ran), or 0 for a refusal or status
 * answered, 99 when the hello was not what act expects. */
static pid_t launcher_in_child(int sv[2], launcher_act act)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0) {
        close(sv[1]);
        return pid;
    }
    close(sv[0]);
    int fd = sv[1];
    pysb_decoder d;
    pysb_frame f;
    pysb_admit a;
    char why[256];
    pysb_decoder_init(&d);
    if (pysb_wire_recv(fd, &d, &f, 5000) != 1)
        _exit(98);
    int hello = pysb_session_hello(&f, &a, why, sizeof why);
    pysb_session_outcome o;
    pysb_session_start st = { 0, &d, NULL };
    switch (act) {
    case L_QUEUE_THEN_GO:
        if (hello != PYSB_HELLO_ADMIT || strcmp(a.client, "ip:127.0.0.9") || a.per_client != 2 ||
            a.queue_timeout_ms != 7000 || strcmp(a.run_id, "test-run-1"))
            _exit(99);
        if (pysb_session_queued(fd, 3, 5) < 0)
            _exit(97);
        st.go = 1;
        _exit(pysb_session_serve_from(fd, &st, RUN_UID, &bounds, echo_run, NULL, &o) +
              (o.ran ? 20 : 0));
    case L_FULL:
    case L_TOO_MANY:
        if (hello != PYSB_HELLO_ADMIT)
            _exit(99);
        _exit(pysb_session_refuse(fd, act == L_FULL ? PYSB_REFUSE_QUEUE_FULL
                                                    : PYSB_REFUSE_CLIENT, 7) < 0 ? 97 : 0);
    case L_LEGACY:
        if (hello != PYSB_HELLO_SPEC)
            _exit(99);
        st.first = &f;
        _exit(pysb_session_serve_from(fd, &st, RUN_UID, &bounds, echo_run, NULL, &o) +
              (o.ran ? 20 : 0));
    case L_STATUS:
        if (hello != PYSB_HELLO_STATUS)
            _exit(99);
        _exit(pysb_session_status_reply(fd, "{\"version\":1}", 13) < 0 ? 97 : 0);
    }
    _exit(96);
}

static pysb_admit test_admit(void)
{
    pysb_admit a = { .per_client = 2, .queue_timeout_ms = 7000 };
    snprintf(a.run_id, sizeof a.run_id, "test-run-1");
    snprintf(a.client, sizeof a.client, "ip:127.0.0.9");
    return a;
}

/* ADMIT, QUEUED, GO; then the request as always. */
static void test_admitted_conversation(void **state)
{
    (void)state;
    int sv[2];
    char err[256] = "";
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = launcher_in_child(sv, L_QUEUE_THEN_GO);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_admit a = test_admit();
    assert_int_equal(pysb_session_admit(&s, &a, 5000, err, sizeof err), 0);
    pysb_event ev;
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_QUEUED);
    assert_int_equal(ev.position, 3);
    assert_int_equal(ev.queued, 5);
    assert_false(pysb_session_admitted(&s));
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_GO);
    assert_true(pysb_session_admitted(&s));
    pysb_session_request req;
    make_request(&req, "print(2)\n", "in", 2);
    assert_int_equal(pysb_session_send(sv[0], &req, 5000, err, sizeof err), 0);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_STARTED);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_OUTPUT);
    assert_memory_equal(ev.data, "print(2)\n", 9);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_OUTPUT);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_RESULT);
    assert_int_equal(ev.result.status, PYSB_OK);
    assert_int_equal(child_exit(pid), 20);
    pysb_session_free(&s);
    close(sv[0]);
}

static void test_admission_refused(void **state)
{
    (void)state;
    const launcher_act acts[] = { L_FULL, L_TOO_MANY };
    const pysb_event_type want[] = { PYSB_EV_BUSY, PYSB_EV_TOO_MANY };
    const pysb_refuse_reason why[] = { PYSB_REFUSE_QUEUE_FULL, PYSB_REFUSE_CLIENT };
    for (int i = 0; i < 2; i++) {
        int sv[2];
        char err[256] = "";
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid_t pid = launcher_in_child(sv, acts[i]);
        pysb_session s;
        pysb_session_init(&s, sv[0]);
        pysb_admit a = test_admit();
        assert_int_equal(pysb_session_admit(&s, &a, 5000, err, sizeof err), 0);
        pysb_event ev;
        next_event(&s, &ev);
        assert_int_equal(ev.type, want[i]);
        assert_int_equal(ev.reason, why[i]);
        assert_int_equal(ev.retry_after, 7);
        assert_int_equal(child_exit(pid), 0);
        assert_int_equal(pysb_session_read(&s), 0);
        pysb_session_free(&s);
        close(sv[0]);
    }
}

/* A worker of an older build: SPEC first, served at once, its SPEC
 * already read by the launcher. */
static void test_spec_first(void **state)
{
    (void)state;
    int sv[2];
    char err[256] = "";
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = launcher_in_child(sv, L_LEGACY);
    pysb_session_request req;
    make_request(&req, "print(3)\n", NULL, 0);
    assert_int_equal(pysb_session_send(sv[0], &req, 5000, err, sizeof err), 0);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_event ev;
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_STARTED);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_OUTPUT);
    assert_memory_equal(ev.data, "print(3)\n", 9);
    next_event(&s, &ev);
    assert_int_equal(ev.type, PYSB_EV_RESULT);
    assert_int_equal(child_exit(pid), 20);
    pysb_session_free(&s);
    close(sv[0]);
}

static void test_status_conversation(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = launcher_in_child(sv, L_STATUS);
    char *json = NULL, err[256] = "";
    size_t len = 0;
    assert_int_equal(pysb_session_status(sv[0], 5000, &json, &len, err, sizeof err), 0);
    assert_string_equal(json, "{\"version\":1}");
    assert_int_equal(len, 13);
    free(json);
    assert_int_equal(child_exit(pid), 0);
    close(sv[0]);
    /* A launcher that answers something else, or nothing. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(pysb_wire_send(sv[1], PYSB_FRAME_BUSY, NULL, 0), 0);
    assert_int_equal(pysb_session_status(sv[0], 1000, &json, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "answered BUSY"));
    close(sv[1]);
    assert_int_equal(pysb_session_status(sv[0], 1000, &json, &len, err, sizeof err), -1);
    assert_null(json);
    close(sv[0]);
}

/* The worker half checks the admission's order too (ADMIT sent first
 * when admit). */
static void expect_admission_error(const char *frames, size_t n, int admit, int events_first,
                                   const char *want)
{
    int sv[2];
    char err[256];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pysb_session s;
    pysb_session_init(&s, sv[0]);
    pysb_admit a = test_admit();
    if (admit)
        assert_int_equal(pysb_session_admit(&s, &a, 1000, err, sizeof err), 0);
    assert_int_equal(write(sv[1], frames, n), (ssize_t)n);
    close(sv[1]);
    pysb_event ev;
    assert_true(pysb_session_read(&s) > 0);
    for (int i = 0; i < events_first; i++)
        assert_int_equal(pysb_session_next(&s, &ev), 1);
    assert_int_equal(pysb_session_next(&s, &ev), -1);
    if (!strstr(pysb_session_error(&s), want))
        fail_msg("error \"%s\", want \"%s\"", pysb_session_error(&s), want);
    pysb_session_free(&s);
    close(sv[0]);
}

static void test_admission_order(void **state)
{
    (void)state;
    char buf[4096], *started = pysb_started_encode("r1", RUN_UID);
    char *queued = pysb_queued_encode(1, 1);
    size_t n = 0;

    /* GO, QUEUED, TOO_MANY only answer an ADMIT. */
    put_frame(buf, &n, PYSB_FRAME_GO, "", 0);
    expect_admission_error(buf, n, 0, 0, "unexpected frame: GO");
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_QUEUED, queued, strlen(queued));
    expect_admission_error(buf, n, 0, 0, "unexpected frame: QUEUED");
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_TOO_MANY, "", 0);
    expect_admission_error(buf, n, 0, 0, "unexpected frame: TOO_MANY");
    /* After ADMIT: no STARTED before GO, no QUEUED or BUSY after it. */
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_STARTED, started, strlen(started));
    expect_admission_error(buf, n, 1, 0, "STARTED before GO");
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_QUEUED, queued, strlen(queued));
    put_frame(buf, &n, PYSB_FRAME_GO, "", 0);
    put_frame(buf, &n, PYSB_FRAME_QUEUED, queued, strlen(queued));
    expect_admission_error(buf, n, 1, 2, "unexpected frame: QUEUED");
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_GO, "", 0);
    put_frame(buf, &n, PYSB_FRAME_BUSY, "", 0);
    expect_admission_error(buf, n, 1, 1, "unexpected frame: BUSY");
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_QUEUED, "{\"position\":2}", 14);
    expect_admission_error(buf, n, 1, 0, "bad QUEUED");
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_BUSY, "{\"retry_after\":0,\"reason\":\"slots\"}", 34);
    expect_admission_error(buf, n, 1, 0, "bad refusal");
    /* A refusal ends it: nothing may follow. */
    n = 0;
    put_frame(buf, &n, PYSB_FRAME_TOO_MANY, "", 0);
    put_frame(buf, &n, PYSB_FRAME_GO, "", 0);
    expect_admission_error(buf, n, 1, 1, "a frame after the end: GO");
    free(started);
    free(queued);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_stdin_over_bound),
        cmocka_unit_test(test_worker_leaves),
        cmocka_unit_test(test_worker_checks_order),
        cmocka_unit_test(test_admitted_conversation),
        cmocka_unit_test(test_admission_refused),
        cmocka_unit_test(test_spec_first),
        cmocka_unit_test(test_status_conversation),
        cmocka_unit_test(test_admission_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
