/* test_render.c — unit tests of src/render.c: each format's bytes through a
 * memory sink (text, json, ndjson, sse), characters cut between chunks,
 * the flush hint, a failing sink, refusals, format names and Accept; json
 * output of many slices (characters and invalid sequences cut at every
 * slice end, escapes, random bytes) byte for byte the whole object's dump. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "payload.h"
#include "render.h"

#define FFFD "\xEF\xBF\xBD"

/* A sink that keeps everything, counts flush hints, and can fail after a
 * number of writes. */
struct mem {
    char buf[1 << 16];
    size_t len;
    int writes, flushes, fail_after;
};

static int mem_write(void *ctx, const char *p, size_t n)
{
    struct mem *m = ctx;
    if (m->fail_after && m->writes >= m->fail_after)
        return -1;
    assert_true(m->len + n < sizeof m->buf);
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    m->buf[m->len] = '\0';
    m->writes++;
    return 0;
}

static void mem_flush(void *ctx)
{
    ((struct mem *)ctx)->flushes++;
}

static pysb_render *renderer(pysb_format f, struct mem *m)
{
    memset(m, 0, sizeof *m);
    const pysb_sink sink = { mem_write, mem_flush, m };
    pysb_render *r = pysb_render_new(f, &sink);
    assert_non_null(r);
    return r;
}

static pysb_result sample(void)
{
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = PYSB_NONZERO_EXIT;
    r.exit_code = 2;
    r.wall_sec = 0.25;
    r.cpu_sec = 0.125;
    r.memory_kb = 9000;
    snprintf(r.run_id, sizeof r.run_id, "rid-1");
    pysb_limits_default(&r.limits);
    return r;
}

static void test_text(void **state)
{
    (void)state;
    struct mem m;
    pysb_result res = sample();
    pysb_render *r = renderer(PYSB_FMT_TEXT, &m);
    assert_int_equal(pysb_render_open(r), 0);
    assert_int_equal(m.flushes, 0);             /* text: headers with the output */
    assert_int_equal(pysb_render_output(r, PYSB_STDOUT, "out\n", 4), 0);
    assert_int_equal(pysb_render_output(r, PYSB_STDERR, "err", 3), 0);
    assert_int_equal(pysb_render_result(r, &res), 0);
    /* The bytes as they came, a newline because they did not end in one,
     * then safeexec's report. */
    assert_string_equal(m.buf, "out\nerr\n"
                               "Command exited with non-zero status (2)\n"
                               "elapsed time: 0.250 seconds\n"
                               "memory usage: 9000 kbytes\n"
                               "cpu usage: 0.125 seconds\n");
    pysb_render_free(r);

    /* No output: the report alone; output ending in a newline: no extra. */
    r = renderer(PYSB_FMT_TEXT, &m);
    pysb_render_result(r, &res);
    assert_int_equal(strncmp(m.buf, "Command exited", 14), 0);
    pysb_render_free(r);
    r = renderer(PYSB_FMT_TEXT, &m);
    pysb_render_output(r, PYSB_STDOUT, "a\n", 2);
    pysb_render_result(r, &res);
    assert_int_equal(strncmp(m.buf, "a\nCommand exited", 16), 0);
    pysb_render_free(r);
}

static void test_json(void **state)
{
    (void)state;
    struct mem m;
    pysb_result res = sample();
    pysb_render *r = renderer(PYSB_FMT_JSON, &m);
    pysb_render_open(r);
    pysb_render_output(r, PYSB_STDOUT, "a", 1);
    pysb_render_output(r, PYSB_STDERR, "b\xff", 2);
    pysb_render_output(r, PYSB_STDOUT, "c\n", 2);
    assert_int_equal(m.len, 0);                 /* nothing before the end */
    assert_int_equal(pysb_render_result(r, &res), 0);
    /* Exactly the result object with the output, and a newline. */
    char *want = pysb_result_to_json(&res, "ac\n", 3, "b\xff", 2);
    assert_int_equal(m.len, strlen(want) + 1);
    assert_memory_equal(m.buf, want, strlen(want));
    assert_int_equal(m.buf[m.len - 1], '\n');
    assert_non_null(strstr(m.buf, "\"stdout\":\"ac\\n\",\"stderr\":\"b" FFFD "\""));
    free(want);
    pysb_render_free(r);
}

/* A sink that grows, for outputs of megabytes; counts its largest write. */
struct big {
    char *buf;
    size_t len, cap, max_write;
};

static int big_write(void *ctx, const char *p, size_t n)
{
    struct big *b = ctx;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->buf = realloc(b->buf, b->cap);
        assert_non_null(b->buf);
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    if (n > b->max_write)
        b->max_write = n;
    return 0;
}

/* out and err fed in chunks of chunk bytes, rendered as json: exactly
 * pysb_result_to_json's object and a newline, in writes of bounded size. */
static void json_same(const char *out, size_t out_len, const char *err, size_t err_len,
                      size_t chunk)
{
    struct big b = { 0 };
    const pysb_sink sink = { big_write, NULL, &b };
    pysb_result res = sample();
    pysb_render *r = pysb_render_new(PYSB_FMT_JSON, &sink);
    assert_non_null(r);
    for (size_t i = 0; i < out_len || i < err_len; i += chunk) {
        if (i < out_len)
            assert_int_equal(pysb_render_output(r, PYSB_STDOUT, out + i,
                                                 out_len - i < chunk ? out_len - i : chunk), 0);
        if (i < err_len)
            assert_int_equal(pysb_render_output(r, PYSB_STDERR, err + i,
                                                 err_len - i < chunk ? err_len - i : chunk), 0);
    }
    assert_int_equal(pysb_render_result(r, &res), 0);
    char *want = pysb_result_to_json(&res, out, out_len, err, err_len);
    assert_non_null(want);
    size_t n = strlen(want);
    assert_int_equal(b.len, n + 1);
    assert_memory_equal(b.buf, want, n);
    assert_int_equal(b.buf[n], '\n');
    assert_true(b.max_write <= 6 * 16384);      /* a slice escaped, at most */
    free(want);
    free(b.buf);
    pysb_render_free(r);
}

static void test_json_slices(void **state)
{
    (void)state;
    /* every character, valid or not, of 1 to 4 bytes, cut at each point
     * around a slice's end (16384) and the next */
    static const char *const chars[] = {
        "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xC3\xA9", "\xE2\x80\xA8", "\xED\xA0\x80",
        "\xF0\x9F\x98", "\xE0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", "\xFF", "\x80\x80",
        "\x01", "\"", "\\", "\n", "\x7F", "/",
    };
    size_t len = 3 * 16384 + 64;
    char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t c = 0; c < sizeof chars / sizeof *chars; c++) {
        size_t cl = strlen(chars[c]);
        for (size_t at = 16384 - 5; at <= 16384 + 1; at++) {
            memset(buf, 'a', len);
            for (size_t k = at; k + cl <= len; k += 16384 - 1)
                memcpy(buf + k, chars[c], cl);
            json_same(buf, len, buf, at, 4096);
        }
    }
    /* NUL, every byte, and random bytes of 1 MiB through odd chunks */
    for (size_t i = 0; i < 256; i++)
        buf[i] = (char)i;
    json_same(buf, 256, "", 0, 7);
    size_t big = 1 << 20;
    char *rnd = malloc(big);
    assert_non_null(rnd);
    unsigned seed = 12345;
    static const unsigned char alphabet[] = { 0x01, 'a', '"', '\\', 0x00, 0x1F, 0x80, 0xBF,
                                              0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0xFF };
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < big; i++) {
            seed = seed * 1103515245u + 12345u;
            rnd[i] = round == 2 ? (char)(seed >> 16) : (char)alphabet[(seed >> 16) % sizeof alphabet];
        }
        json_same(rnd, big, rnd, big / 3, 65536 - round);
    }
    memset(rnd, 1, big);                         /* the worst: \u0001 each */
    json_same(rnd, big, "", 0, 65536);
    free(rnd);
    free(buf);
}

static void test_ndjson(void **state)
{
    (void)state;
    struct mem m;
    pysb_result res = sample();
    pysb_render *r = renderer(PYSB_FMT_NDJSON, &m);
    assert_int_equal(pysb_render_open(r), 0);
    assert_int_equal(m.flushes, 1);             /* the stream is open */
    pysb_render_output(r, PYSB_STDOUT, "x\xE2\x82", 3);    /* € cut */
    pysb_render_output(r, PYSB_STDERR, "e\"\n", 3);
    pysb_render_output(r, PYSB_STDOUT, "\xAC", 1);
    pysb_render_output(r, PYSB_STDOUT, "\xC3", 1);         /* é cut by the end */
    assert_int_equal(pysb_render_result(r, &res), 0);
    char *exit_fields = pysb_result_to_json(&res, NULL, 0, NULL, 0);
    char want[4096];
    snprintf(want, sizeof want,
             "{\"stream\":\"stdout\",\"data\":\"x\"}\n"
             "{\"stream\":\"stderr\",\"data\":\"e\\\"\\n\"}\n"
             "{\"stream\":\"stdout\",\"data\":\"\xE2\x82\xAC\"}\n"
             "{\"stream\":\"stdout\",\"data\":\"" FFFD "\"}\n"
             "{\"stream\":\"exit\",%s\n", exit_fields + 1);
    assert_string_equal(m.buf, want);
    free(exit_fields);
    pysb_render_free(r);
}

static void test_sse(void **state)
{
    (void)state;
    struct mem m;
    pysb_result res = sample();
    pysb_render *r = renderer(PYSB_FMT_SSE, &m);
    pysb_render_open(r);
    assert_int_equal(m.flushes, 1);
    pysb_render_output(r, PYSB_STDOUT, "line 1\nline 2\n", 14);
    pysb_render_output(r, PYSB_STDERR, "\0!", 2);
    assert_int_equal(pysb_render_result(r, &res), 0);
    char *exit_obj = pysb_result_to_json(&res, NULL, 0, NULL, 0);
    char want[4096];
    snprintf(want, sizeof want,
             "event: stdout\ndata: \"line 1\\nline 2\\n\"\n\n"
             "event: stderr\ndata: \"\\u0000!\"\n\n"
             "event: exit\ndata: %s\n\n", exit_obj);
    assert_string_equal(m.buf, want);
    free(exit_obj);
    pysb_render_free(r);
}

/* Waiting for a slot: sse says so (and its headers go out), the other
 * formats say nothing; a wait that ends without a run: sse's busy event. */
static void test_queued(void **state)
{
    (void)state;
    struct mem m;
    pysb_render *r = renderer(PYSB_FMT_SSE, &m);
    assert_int_equal(pysb_render_queued(r, 3, 9), 1);
    assert_int_equal(m.flushes, 1);
    assert_int_equal(pysb_render_busy(r, 503, "all slots \"busy\"", 4), 0);
    assert_string_equal(m.buf, "event: queued\ndata: {\"position\":3,\"queued\":9}\n\n"
                               "event: busy\ndata: {\"error\":\"all slots \\\"busy\\\"\","
                               "\"status\":503,\"retry_after\":4}\n\n");
    pysb_render_free(r);
    const pysb_format quiet[] = { PYSB_FMT_TEXT, PYSB_FMT_JSON, PYSB_FMT_NDJSON };
    for (size_t i = 0; i < 3; i++) {
        r = renderer(quiet[i], &m);
        assert_int_equal(pysb_render_queued(r, 1, 1), 0);
        assert_int_equal(m.len, 0);
        assert_int_equal(m.flushes, 0);
        pysb_render_free(r);
    }
}

/* A sink that fails: the renderer says so and writes nothing more. */
static void test_failing_sink(void **state)
{
    (void)state;
    struct mem m;
    pysb_result res = sample();
    pysb_render *r = renderer(PYSB_FMT_NDJSON, &m);
    m.fail_after = 1;
    assert_int_equal(pysb_render_output(r, PYSB_STDOUT, "a", 1), 0);
    assert_int_equal(pysb_render_output(r, PYSB_STDOUT, "b", 1), -1);
    size_t len = m.len;
    m.fail_after = 0;                           /* even if it would work now */
    assert_int_equal(pysb_render_output(r, PYSB_STDOUT, "c", 1), -1);
    assert_int_equal(pysb_render_result(r, &res), -1);
    assert_int_equal(m.len, len);
    pysb_render_free(r);
}

static void test_refusal(void **state)
{
    (void)state;
    const char *mime;
    size_t len;
    char *b = pysb_render_refusal(PYSB_FMT_TEXT, 400, "no code", &len, &mime);
    assert_string_equal(b, "pysandbox: no code\n");
    assert_int_equal(len, strlen(b));
    assert_string_equal(mime, "text/plain; charset=utf-8");
    free(b);
    for (int f = PYSB_FMT_JSON; f < PYSB_FMT_COUNT; f++) {
        b = pysb_render_refusal(f, 413, "too \"big\"", &len, &mime);
        assert_string_equal(b, "{\"error\":\"too \\\"big\\\"\",\"status\":413}\n");
        assert_string_equal(mime, "application/json");
        free(b);
    }
    /* A reason that is not UTF-8 cannot be a JSON string. */
    b = pysb_render_refusal(PYSB_FMT_JSON, 415, "type \xff", &len, &mime);
    assert_string_equal(b, "{}\n");
    free(b);
}

/* The verdict as header fields: an exit, a signal, an error before any
 * program ran; every name is in the Trailer list. */
static void test_verdict_fields(void **state)
{
    (void)state;
    pysb_verdict_field v[PYSB_VERDICT_FIELDS];
    pysb_result res = sample();
    int n = pysb_render_verdict_fields(&res, v);
    assert_int_equal(n, 5);
    const char *want[][2] = {
        { "X-PySandbox-Status", "nonzero_exit" }, { "X-PySandbox-Exit-Code", "2" },
        { "X-PySandbox-Wall-Time", "0.250" },     { "X-PySandbox-CPU-Time", "0.125" },
        { "X-PySandbox-Memory-KB", "9000" },
    };
    for (int i = 0; i < n; i++) {
        assert_string_equal(v[i].name, want[i][0]);
        assert_string_equal(v[i].value, want[i][1]);
        assert_non_null(strstr(PYSB_VERDICT_FIELD_NAMES, v[i].name));
    }
    res.status = PYSB_SIGNAL;
    res.exit_code = -1;
    res.signal = 9;
    n = pysb_render_verdict_fields(&res, v);
    assert_int_equal(n, 5);
    assert_string_equal(v[0].value, "signal");
    assert_string_equal(v[1].name, "X-PySandbox-Signal");
    assert_string_equal(v[1].value, "SIGKILL");
    assert_non_null(strstr(PYSB_VERDICT_FIELD_NAMES, v[1].name));
    res.status = PYSB_INTERNAL_ERROR;
    res.signal = 0;
    n = pysb_render_verdict_fields(&res, v);
    assert_int_equal(n, 4);                     /* no exit code, no signal */
    assert_string_equal(v[0].value, "internal_error");
    assert_string_equal(v[1].name, "X-PySandbox-Wall-Time");
}

static void test_names_and_accept(void **state)
{
    (void)state;
    static const char *const names[] = { "text", "json", "ndjson", "sse" };
    static const char *const mimes[] = { "text/plain; charset=utf-8", "application/json",
                                         "application/x-ndjson", "text/event-stream" };
    for (int f = 0; f < PYSB_FMT_COUNT; f++) {
        assert_string_equal(pysb_format_name(f), names[f]);
        assert_string_equal(pysb_format_mime(f), mimes[f]);
        assert_int_equal(pysb_format_from_name(names[f], strlen(names[f])), f);
        assert_int_equal(pysb_format_streams(f), f >= PYSB_FMT_NDJSON);
    }
    assert_int_equal(pysb_format_from_name("NDJSON", 6), PYSB_FMT_NDJSON);
    assert_int_equal(pysb_format_from_name("jsonx", 5), -1);
    assert_int_equal(pysb_format_from_name("json", 3), -1);
    assert_int_equal(pysb_format_from_name("xml", 3), -1);

    static const struct { const char *accept; int want; } rows[] = {
        { NULL, -1 },
        { "", -1 },
        { "*/*", -1 },
        { "text/html, application/xhtml+xml", -1 },
        { "application/json", PYSB_FMT_JSON },
        { "Application/JSON", PYSB_FMT_JSON },
        { "text/event-stream", PYSB_FMT_SSE },
        { "application/x-ndjson", PYSB_FMT_NDJSON },
        { "text/plain;q=0.5, application/json;q=0.9", PYSB_FMT_JSON },
        { "application/json;q=0.2, text/plain", PYSB_FMT_TEXT },
        { "application/json, text/plain", PYSB_FMT_JSON },      /* tie: first */
        { "application/json;q=0", -1 },
        { "application/json;q=0, text/event-stream;q=0.1", PYSB_FMT_SSE },
        { " application/x-ndjson ; q=1 , */*;q=0.1", PYSB_FMT_NDJSON },
        { "application/*", PYSB_FMT_JSON },
        { "Application/*;q=0.5", PYSB_FMT_JSON },
        { "text/*", PYSB_FMT_TEXT },
        { "text/*, application/json", PYSB_FMT_JSON },          /* tie: named */
        { "application/*;q=0.9, application/json;q=0.1", PYSB_FMT_NDJSON },
        { "application/*;q=0, text/*;q=0.2", PYSB_FMT_TEXT },
        { "image/*, */*;q=0.8", -1 },
        { "*/json", -1 },
        { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", -1 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        int got = pysb_format_from_accept(rows[i].accept);
        if (got != rows[i].want)
            fail_msg("Accept \"%s\": %d, want %d", rows[i].accept ? rows[i].accept : "(null)",
                     got, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_slices),
        cmocka_unit_test(test_ndjson),
        cmocka_unit_test(test_sse),
        cmocka_unit_test(test_queued),
        cmocka_unit_test(test_failing_sink),
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_verdict_fields),
        cmocka_unit_test(test_names_and_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
