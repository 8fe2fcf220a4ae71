/* test_wire.c — the frame codec, the decoder's every way in and out, real
 * sends over socketpairs and pipes, and the SPEC/STARTED JSON.
 *
 * Contract: a decoder error must be reported from the header alone (no
 * payload byte fed), stay sticky, and never crash; sends must be complete
 * or fail with the documented errno; a spec survives encode → decode
 * exactly, and every malformed spec is refused with a one-line reason. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "supervise.h"
#include "payload.h"
#include "wire.h"

static const int all_types[] = {
    PYSB_FRAME_SPEC, PYSB_FRAME_CODE, PYSB_FRAME_STDIN, PYSB_FRAME_START,
    PYSB_FRAME_FILE, PYSB_FRAME_BUSY, PYSB_FRAME_STARTED, PYSB_FRAME_STDOUT,
    PYSB_FRAME_STDERR, PYSB_FRAME_RESULT, PYSB_FRAME_ERROR,
    PYSB_FRAME_ADMIT, PYSB_FRAME_STATUS_GET, PYSB_FRAME_QUEUED, PYSB_FRAME_GO,
    PYSB_FRAME_TOO_MANY, PYSB_FRAME_STATUS, PYSB_FRAME_OUTFILE,
};
#define N_TYPES (sizeof all_types / sizeof all_types[0])

/* ---- helpers ---- */

/* A growing byte string to build streams in. */
typedef struct {
    uint8_t *p;
    size_t   len, cap;
} bytes;

static void bytes_add(bytes *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void add_frame(bytes *b, int type, const void *payload, size_t len)
{
    uint8_t hdr[PYSB_WIRE_HDR_LEN];

    pysb_wire_header(hdr, type, (uint32_t)len);
    bytes_add(b, hdr, sizeof hdr);
    bytes_add(b, payload, len);
}

/* A decoded frame, copied out of the decoder. */
typedef struct {
    int    type;
    size_t len;
    char  *data;
} got_frame;

typedef struct {
    got_frame f[16];
    size_t    n;
} got_list;

/* Drains every ready frame; returns what next() last said (0 or -1). */
static int drain(pysb_decoder *d, got_list *g)
{
    pysb_frame fr;
    int r;

    while ((r = pysb_decoder_next(d, &fr)) == 1) {
        assert_true(g->n < 16);
        assert_non_null(fr.payload);
        assert_int_equal(fr.payload[fr.len], '\0');
        g->f[g->n].type = fr.type;
        g->f[g->n].len = fr.len;
        g->f[g->n].data = malloc(fr.len + 1);
        assert_non_null(g->f[g->n].data);
        memcpy(g->f[g->n].data, fr.payload, fr.len + 1);
        g->n++;
    }
    return r;
}

static void got_free(got_list *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->f[i].data);
    g->n = 0;
}

/* The stream most tests use: a whole worker request. */
static const char spec_json[] = "{\"interpreter\":[\"/usr/bin/python3\"]}";
static const char code_src[] = "print('hi')\n";
static const char stdin1[] = "line 1\n";
static const char stdin2[] = "\0binary\xff";

static void request_stream(bytes *b)
{
    add_frame(b, PYSB_FRAME_SPEC, spec_json, strlen(spec_json));
    add_frame(b, PYSB_FRAME_CODE, code_src, strlen(code_src));
    add_frame(b, PYSB_FRAME_STDIN, stdin1, strlen(stdin1));
    add_frame(b, PYSB_FRAME_STDIN, stdin2, sizeof stdin2 - 1);
    add_frame(b, PYSB_FRAME_STDIN, "", 0);
    add_frame(b, PYSB_FRAME_START, NULL, 0);
}

static void check_request(const got_list *g)
{
    assert_int_equal(g->n, 6);
    assert_int_equal(g->f[0].type, PYSB_FRAME_SPEC);
    assert_int_equal(g->f[0].len, strlen(spec_json));
    assert_string_equal(g->f[0].data, spec_json);
    assert_int_equal(g->f[1].type, PYSB_FRAME_CODE);
    assert_string_equal(g->f[1].data, code_src);
    assert_int_equal(g->f[2].type, PYSB_FRAME_STDIN);
    assert_string_equal(g->f[2].data, stdin1);
    assert_int_equal(g->f[3].type, PYSB_FRAME_STDIN);
    assert_int_equal(g->f[3].len, sizeof stdin2 - 1);
    assert_memory_equal(g->f[3].data, stdin2, sizeof stdin2 - 1);
    assert_int_equal(g->f[4].type, PYSB_FRAME_STDIN);
    assert_int_equal(g->f[4].len, 0);
    assert_int_equal(g->f[5].type, PYSB_FRAME_START);
    assert_int_equal(g->f[5].len, 0);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* ---- type table and header ---- */

static void test_type_table(void **state)
{
    (void)state;
    static const struct { int type; const char *name; size_t max; } want[] = {
        { PYSB_FRAME_SPEC, "SPEC", 196608 },
        { PYSB_FRAME_CODE, "CODE", 16777216 },
        { PYSB_FRAME_STDIN, "STDIN", 1048576 },
        { PYSB_FRAME_START, "START", 0 },
        { PYSB_FRAME_ADMIT, "ADMIT", 1024 },
        { PYSB_FRAME_STATUS_GET, "STATUS_GET", 0 },
        { PYSB_FRAME_FILE, "FILE", 16777216 },
        { PYSB_FRAME_BUSY, "BUSY", 1024 },
        { PYSB_FRAME_STARTED, "STARTED", 4096 },
        { PYSB_FRAME_STDOUT, "STDOUT", 65536 },
        { PYSB_FRAME_STDERR, "STDERR", 65536 },
        { PYSB_FRAME_RESULT, "RESULT", 65536 },
        { PYSB_FRAME_ERROR, "ERROR", 4096 },
        { PYSB_FRAME_OUTFILE, "OUTFILE", 16777216 + 4096 },
        { PYSB_FRAME_QUEUED, "QUEUED", 256 },
        { PYSB_FRAME_GO, "GO", 0 },
        { PYSB_FRAME_TOO_MANY, "TOO_MANY", 1024 },
        { PYSB_FRAME_STATUS, "STATUS", 262144 },
    };

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(pysb_frame_type_known(want[i].type));
        assert_string_equal(pysb_frame_type_name(want[i].type), want[i].name);
        assert_int_equal(pysb_frame_max_len(want[i].type), want[i].max);
        assert_true(want[i].max <= PYSB_WIRE_MAX_PAYLOAD);
    }
    static const int unknown[] = { -1, 0, 8, 9, 15, 27, 255, 256, 100000 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_false(pysb_frame_type_known(unknown[i]));
        assert_null(pysb_frame_type_name(unknown[i]));
        assert_int_equal(pysb_frame_max_len(unknown[i]), 0);
    }
}

static void test_header_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TYPES; i++) {
        int t = all_types[i];
        uint32_t max = (uint32_t)pysb_frame_max_len(t);
        uint32_t lens[] = { 0, max / 2, max > 0 ? max - 1 : 0, max };

        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            uint8_t hdr[PYSB_WIRE_HDR_LEN];
            int type = -1;
            uint32_t len = 12345;
            char err[128] = "";

            pysb_wire_header(hdr, t, lens[k]);
            assert_int_equal(hdr[0], 0x50);
            assert_int_equal(hdr[1], 1);
            assert_int_equal(hdr[2], t);
            assert_int_equal(hdr[3], 0);
            assert_int_equal(pysb_wire_header_parse(hdr, &type, &len, err,
                                                    sizeof err), 0);
            assert_int_equal(type, t);
            assert_int_equal(len, lens[k]);
        }
    }
    /* Length is big-endian. */
    uint8_t hdr[PYSB_WIRE_HDR_LEN];
    pysb_wire_header(hdr, PYSB_FRAME_CODE, 0x00abcdefu);
    assert_int_equal(hdr[4], 0x00);
    assert_int_equal(hdr[5], 0xab);
    assert_int_equal(hdr[6], 0xcd);
    assert_int_equal(hdr[7], 0xef);
}

/* Bad headers, and the reason each one gives. */
static const struct {
    uint8_t     hdr[PYSB_WIRE_HDR_LEN];
    const char *why;
} bad_headers[] = {
    { { 'X', 1, 1, 0, 0, 0, 0, 0 }, "bad magic byte 0x58 (want 0x50)" },
    { { 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T' }, "bad magic byte 0x47" },
    { { 'P', 2, 1, 0, 0, 0, 0, 0 },
      "unsupported protocol version 2 (want 1)" },
    { { 'P', 0, 1, 0, 0, 0, 0, 0 }, "unsupported protocol version 0" },
    { { 'P', 1, 1, 1, 0, 0, 0, 0 },
      "reserved header byte is 0x01 (must be 0)" },
    { { 'P', 1, 0, 0, 0, 0, 0, 0 }, "unknown frame type 0" },
    { { 'P', 1, 9, 0, 0, 0, 0, 0 }, "unknown frame type 9" },
    { { 'P', 1, 27, 0, 0, 0, 0, 0 }, "unknown frame type 27" },
    { { 'P', 1, 255, 0, 0, 0, 0, 0 }, "unknown frame type 255" },
    { { 'P', 1, 18, 0, 0, 1, 0x11, 0x70 },
      "frame type STDOUT too long: 70000 > 65536" },
    { { 'P', 1, 19, 0, 0, 1, 0, 1 },
      "frame type STDERR too long: 65537 > 65536" },
    { { 'P', 1, 4, 0, 0, 0, 0, 1 }, "frame type START too long: 1 > 0" },
    { { 'P', 1, 16, 0, 0, 0, 4, 1 }, "frame type BUSY too long: 1025 > 1024" },
    { { 'P', 1, 23, 0, 0, 0, 0, 1 }, "frame type GO too long: 1 > 0" },
    { { 'P', 1, 6, 0, 0, 0, 0, 1 }, "frame type STATUS_GET too long: 1 > 0" },
    { { 'P', 1, 5, 0, 0, 0, 4, 1 }, "frame type ADMIT too long: 1025 > 1024" },
    { { 'P', 1, 25, 0, 0, 4, 0, 1 }, "frame type STATUS too long: 262145 > 262144" },
    { { 'P', 1, 1, 0, 0, 3, 0, 1 },
      "frame type SPEC too long: 196609 > 196608" },
    { { 'P', 1, 2, 0, 1, 0, 0, 1 },
      "frame type CODE too long: 16777217 > 16777216" },
    { { 'P', 1, 3, 0, 0, 0x10, 0, 1 },
      "frame type STDIN too long: 1048577 > 1048576" },
    { { 'P', 1, 17, 0, 0, 0, 0x10, 1 },
      "frame type STARTED too long: 4097 > 4096" },
    { { 'P', 1, 20, 0, 0xff, 0xff, 0xff, 0xff },
      "frame type RESULT too long: 4294967295 > 65536" },
    { { 'P', 1, 21, 0, 0, 0, 0x10, 1 },
      "frame type ERROR too long: 4097 > 4096" },
};
#define N_BAD (sizeof bad_headers / sizeof bad_headers[0])

static void test_header_parse_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BAD; i++) {
        int type;
        uint32_t len;
        char err[128] = "";

        assert_int_equal(pysb_wire_header_parse(bad_headers[i].hdr, &type,
                                                &len, err, sizeof err), -1);
        assert_non_null(strstr(err, bad_headers[i].why));
        /* err may be omitted */
        assert_int_equal(pysb_wire_header_parse(bad_headers[i].hdr, &type,
                                                &len, NULL, 0), -1);
    }
}

/* ---- decoder ---- */

static void test_decode_all_at_once(void **state)
{
    (void)state;
    bytes b = { 0 };
    pysb_decoder d;
    got_list g = { 0 };

    request_stream(&b);
    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_feed(&d, b.p, b.len), 0);
    assert_int_equal(drain(&d, &g), 0);
    check_request(&g);
    assert_int_equal(pysb_decoder_pending(&d), 0);
    assert_string_equal(pysb_decoder_error(&d), "");
    got_free(&g);
    pysb_decoder_free(&d);
    free(b.p);
}

static void test_decode_byte_at_a_time(void **state)
{
    (void)state;
    bytes b = { 0 };
    pysb_decoder d;
    got_list g = { 0 };

    request_stream(&b);
    pysb_decoder_init(&d);
    for (size_t i = 0; i < b.len; i++) {
        assert_int_equal(pysb_decoder_feed(&d, b.p + i, 1), 0);
        assert_int_equal(drain(&d, &g), 0);
    }
    check_request(&g);
    assert_int_equal(pysb_decoder_pending(&d), 0);
    got_free(&g);
    pysb_decoder_free(&d);
    free(b.p);
}

/* Every split into two feeds, the first ending anywhere (mid-header,
 * mid-payload, on a boundary), and feeds without a drain in between. */
static void test_decode_every_split(void **state)
{
    (void)state;
    bytes b = { 0 };

    request_stream(&b);
    for (size_t cut = 0; cut <= b.len; cut++) {
        pysb_decoder d;
        got_list g = { 0 };

        pysb_decoder_init(&d);
        assert_int_equal(pysb_decoder_feed(&d, b.p, cut), 0);
        if (cut % 2)   /* sometimes drain between the feeds */
            assert_int_equal(drain(&d, &g), 0);
        assert_int_equal(pysb_decoder_feed(&d, b.p + cut, b.len - cut), 0);
        assert_int_equal(drain(&d, &g), 0);
        check_request(&g);
        got_free(&g);
        pysb_decoder_free(&d);
    }
    free(b.p);
}

static void test_decode_zero_length(void **state)
{
    (void)state;
    bytes b = { 0 };
    pysb_decoder d;
    pysb_frame fr;
    const int types[] = { PYSB_FRAME_START, PYSB_FRAME_BUSY,
                          PYSB_FRAME_STDOUT, PYSB_FRAME_STDERR,
                          PYSB_FRAME_CODE, PYSB_FRAME_ERROR };

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        add_frame(&b, types[i], NULL, 0);
    pysb_decoder_init(&d);
    /* Nothing buffered yet: no frame, no error. */
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);
    assert_int_equal(pysb_decoder_feed(&d, b.p, b.len), 0);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        assert_int_equal(pysb_decoder_next(&d, &fr), 1);
        assert_int_equal(fr.type, types[i]);
        assert_int_equal(fr.len, 0);
        assert_non_null(fr.payload);
        assert_string_equal(fr.payload, "");
    }
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);
    pysb_decoder_free(&d);
    free(b.p);
}

/* The NUL written after a payload covers the next frame's first byte; it
 * must be put back before that frame is read. */
static void test_decode_payload_nul(void **state)
{
    (void)state;
    bytes b = { 0 }, more = { 0 };
    pysb_decoder d;
    pysb_frame fr;

    add_frame(&b, PYSB_FRAME_ERROR, "abc", 3);
    add_frame(&b, PYSB_FRAME_STDOUT, "xyz", 3);
    add_frame(&more, PYSB_FRAME_STDERR, "tail", 4);
    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_feed(&d, b.p, b.len), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 1);
    assert_int_equal(fr.type, PYSB_FRAME_ERROR);
    assert_string_equal(fr.payload, "abc");
    /* feed (which may move the buffer) right after a frame was lent */
    assert_int_equal(pysb_decoder_feed(&d, more.p, more.len), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 1);
    assert_int_equal(fr.type, PYSB_FRAME_STDOUT);
    assert_string_equal(fr.payload, "xyz");
    assert_int_equal(pysb_decoder_next(&d, &fr), 1);
    assert_int_equal(fr.type, PYSB_FRAME_STDERR);
    assert_string_equal(fr.payload, "tail");
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);
    pysb_decoder_free(&d);
    free(b.p);
    free(more.p);
}

/* Each bad header is refused from the header alone: no payload byte. */
static void test_decode_errors_from_header(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BAD; i++) {
        pysb_decoder d;
        pysb_frame fr;

        pysb_decoder_init(&d);
        assert_int_equal(pysb_decoder_feed(&d, bad_headers[i].hdr,
                                           PYSB_WIRE_HDR_LEN), 0);
        errno = 0;
        assert_int_equal(pysb_decoder_next(&d, &fr), -1);
        assert_int_equal(errno, EPROTO);
        assert_non_null(strstr(pysb_decoder_error(&d), bad_headers[i].why));
        pysb_decoder_free(&d);
    }
}

/* A wrong byte is refused as soon as it arrives, not at byte 8. */
static void test_decode_errors_early(void **state)
{
    (void)state;
    static const struct { const char *bytes; size_t n; const char *why; }
    cases[] = {
        { "H", 1, "bad magic byte 0x48" },
        { "P\x07", 2, "unsupported protocol version 7" },
        { "P\x01\x08", 3, "unknown frame type 8" },
        { "P\x01\x02\x03", 4, "reserved header byte is 0x03" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pysb_decoder d;
        pysb_frame fr;

        pysb_decoder_init(&d);
        /* one byte short of the bad one: fine so far */
        assert_int_equal(pysb_decoder_feed(&d, cases[i].bytes,
                                           cases[i].n - 1), 0);
        assert_int_equal(pysb_decoder_next(&d, &fr), 0);
        assert_int_equal(pysb_decoder_feed(&d, cases[i].bytes + cases[i].n - 1,
                                           1), 0);
        assert_int_equal(pysb_decoder_next(&d, &fr), -1);
        assert_non_null(strstr(pysb_decoder_error(&d), cases[i].why));
        pysb_decoder_free(&d);
    }

    /* 7 good header bytes of a frame too long for its type: no verdict
     * until the length is complete. */
    pysb_decoder d;
    pysb_frame fr;
    uint8_t hdr[PYSB_WIRE_HDR_LEN];
    pysb_wire_header(hdr, PYSB_FRAME_STDOUT, 70000);
    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_feed(&d, hdr, 7), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);
    assert_int_equal(pysb_decoder_feed(&d, hdr + 7, 1), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), -1);
    assert_string_equal(pysb_decoder_error(&d),
                        "frame type STDOUT too long: 70000 > 65536");
    pysb_decoder_free(&d);
}

/* Good frames before the bad one come out; then the error sticks. */
static void test_decode_error_sticky(void **state)
{
    (void)state;
    bytes b = { 0 }, good = { 0 };
    pysb_decoder d;
    pysb_frame fr;
    char why[128];
    uint8_t bad[PYSB_WIRE_HDR_LEN] = { 'P', 1, 9, 0, 0, 0, 0, 0 };

    add_frame(&b, PYSB_FRAME_STDOUT, "ok", 2);
    bytes_add(&b, bad, sizeof bad);
    add_frame(&good, PYSB_FRAME_START, NULL, 0);

    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_feed(&d, b.p, b.len), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 1);
    assert_string_equal(fr.payload, "ok");
    assert_int_equal(pysb_decoder_next(&d, &fr), -1);
    snprintf(why, sizeof why, "%s", pysb_decoder_error(&d));
    assert_string_equal(why, "unknown frame type 9");

    errno = 0;
    assert_int_equal(pysb_decoder_feed(&d, good.p, good.len), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(pysb_decoder_next(&d, &fr), -1);
    assert_int_equal(pysb_decoder_next(&d, &fr), -1);
    errno = 0;
    assert_int_equal(pysb_decoder_read(&d, 0), -1);
    assert_int_equal(errno, EPROTO);
    assert_string_equal(pysb_decoder_error(&d), why);
    pysb_decoder_free(&d);
    free(b.p);
    free(good.p);
}

static void test_decode_set_max(void **state)
{
    (void)state;
    pysb_decoder d;
    pysb_frame fr;
    uint8_t hdr[PYSB_WIRE_HDR_LEN];

    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_set_max(&d, PYSB_FRAME_CODE, 65536), 0);
    errno = 0;
    assert_int_equal(pysb_decoder_set_max(&d, 9, 1), -1);
    assert_int_equal(errno, EINVAL);
    pysb_wire_header(hdr, PYSB_FRAME_CODE, 65536);
    assert_int_equal(pysb_decoder_feed(&d, hdr, sizeof hdr), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);   /* allowed: wait */
    pysb_decoder_free(&d);

    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_set_max(&d, PYSB_FRAME_CODE, 65536), 0);
    pysb_wire_header(hdr, PYSB_FRAME_CODE, 65537);
    assert_int_equal(pysb_decoder_feed(&d, hdr, sizeof hdr), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), -1);
    assert_string_equal(pysb_decoder_error(&d),
                        "frame type CODE too long: 65537 > 65536");
    pysb_decoder_free(&d);

    /* never raised above the protocol's maximum */
    pysb_decoder_init(&d);
    assert_int_equal(pysb_decoder_set_max(&d, PYSB_FRAME_STDOUT, 1u << 30), 0);
    pysb_wire_header(hdr, PYSB_FRAME_STDOUT, 65537);
    assert_int_equal(pysb_decoder_feed(&d, hdr, sizeof hdr), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), -1);
    pysb_decoder_free(&d);
}

/* A maximal frame through feed, then the buffer is given back; feeding
 * more than the bound is refused without breaking the decoder. */
static void test_decode_big_and_bounded(void **state)
{
    (void)state;
    size_t big = PYSB_WIRE_MAX_PAYLOAD;
    size_t over = PYSB_WIRE_HDR_LEN + PYSB_WIRE_MAX_PAYLOAD +
                  PYSB_WIRE_READ_CHUNK + 1;
    uint8_t *buf = malloc(over);
    uint8_t hdr[PYSB_WIRE_HDR_LEN];
    pysb_decoder d;
    pysb_frame fr;

    assert_non_null(buf);
    pysb_decoder_init(&d);
    memset(buf, 0, over);
    errno = 0;
    assert_int_equal(pysb_decoder_feed(&d, buf, over), -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(pysb_decoder_pending(&d), 0);
    errno = 0;
    assert_int_equal(pysb_decoder_feed(&d, NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(pysb_decoder_feed(&d, NULL, 0), 0);

    pysb_wire_header(hdr, PYSB_FRAME_OUTFILE, (uint32_t)big);
    for (size_t i = 0; i < big; i++)
        buf[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(pysb_decoder_feed(&d, hdr, sizeof hdr), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);
    assert_int_equal(pysb_decoder_feed(&d, buf, big - 1), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 0);
    assert_int_equal(pysb_decoder_feed(&d, buf + big - 1, 1), 0);
    assert_int_equal(pysb_decoder_next(&d, &fr), 1);
    assert_int_equal(fr.type, PYSB_FRAME_OUTFILE);
    assert_int_equal(fr.len, big);
    assert_memory_equal(fr.payload, buf, big);
    assert_true(d.cap <= over + 1);

    /* a small frame afterwards: the 16 MiB block is given back */
    pysb_wire_header(hdr, PYSB_FRAME_START, 0);
    assert_int_equal(pysb_decoder_feed(&d, hdr, sizeof hdr), 0);
    assert_true(d.cap < (1u << 20));
    assert_int_equal(pysb_decoder_next(&d, &fr), 1);
    assert_int_equal(fr.type, PYSB_FRAME_START);
    pysb_decoder_free(&d);
    free(buf);
}

static void test_decoder_read_pipe(void **state)
{
    (void)state;
    bytes b = { 0 };
    int p[2];
    pysb_decoder d;
    got_list g = { 0 };
    ssize_t n;

    request_stream(&b);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], b.p, b.len), (ssize_t)b.len);
    assert_int_equal(close(p[1]), 0);
    pysb_decoder_init(&d);
    while ((n = pysb_decoder_read(&d, p[0])) > 0)
        assert_int_equal(drain(&d, &g), 0);
    assert_int_equal(n, 0);
    check_request(&g);
    assert_int_equal(pysb_decoder_pending(&d), 0);

    /* non-blocking and empty: EAGAIN */
    int q[2];
    assert_int_equal(pipe(q), 0);
    set_nonblock(q[0]);
    errno = 0;
    assert_int_equal(pysb_decoder_read(&d, q[0]), -1);
    assert_int_equal(errno, EAGAIN);
    close(q[0]);
    close(q[1]);

    got_free(&g);
    pysb_decoder_free(&d);
    close(p[0]);
    free(b.p);
}

/* ---- sending and receiving over real fds ---- */

#define BIG_CODE (16u << 20)   /* the largest CODE frame */

static uint8_t *big_code(void)
{
    uint8_t *c = malloc(BIG_CODE);

    if (!c)
        return NULL;
    for (size_t i = 0; i < BIG_CODE; i++)
        c[i] = (uint8_t)(i * 131 + (i >> 16));
    return c;
}

/* The writer side, in a child: a whole request with a maximal CODE. */
static void writer_child(int fd, int nonblock)
{
    uint8_t *code = big_code();
    int ok;

    if (!code)
        _exit(2);
    if (nonblock)
        set_nonblock(fd);
    ok = pysb_wire_send(fd, PYSB_FRAME_SPEC, spec_json,
                        strlen(spec_json)) == 0 &&
         pysb_wire_send(fd, PYSB_FRAME_CODE, code, BIG_CODE) == 0 &&
         pysb_wire_send_timeout(fd, PYSB_FRAME_STDIN, stdin1,
                                strlen(stdin1), 10000) == 0 &&
         pysb_wire_send(fd, PYSB_FRAME_START, NULL, 0) == 0;
    free(code);
    _exit(ok ? 0 : 1);
}

static void roundtrip_socketpair(int nonblock, int timeout_ms)
{
    int sv[2], status;
    pid_t pid;
    pysb_decoder d;
    pysb_frame fr;
    uint8_t *code;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        writer_child(sv[1], nonblock);
    }
    close(sv[1]);
    code = big_code();   /* after fork: the child builds its own */
    assert_non_null(code);
    if (nonblock)
        set_nonblock(sv[0]);

    pysb_decoder_init(&d);
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, timeout_ms), 1);
    assert_int_equal(fr.type, PYSB_FRAME_SPEC);
    assert_string_equal(fr.payload, spec_json);
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, timeout_ms), 1);
    assert_int_equal(fr.type, PYSB_FRAME_CODE);
    assert_int_equal(fr.len, BIG_CODE);
    assert_memory_equal(fr.payload, code, BIG_CODE);
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, timeout_ms), 1);
    assert_int_equal(fr.type, PYSB_FRAME_STDIN);
    assert_string_equal(fr.payload, stdin1);
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, timeout_ms), 1);
    assert_int_equal(fr.type, PYSB_FRAME_START);
    /* then a clean EOF */
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, timeout_ms), 0);

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    pysb_decoder_free(&d);
    close(sv[0]);
    free(code);
}

static void test_socketpair_blocking(void **state)
{
    (void)state;
    roundtrip_socketpair(0, -1);
}

static void test_socketpair_nonblocking(void **state)
{
    (void)state;
    roundtrip_socketpair(1, -1);
}

static void test_socketpair_with_timeout(void **state)
{
    (void)state;
    roundtrip_socketpair(0, 60000);
}

static void test_send_rejects(void **state)
{
    (void)state;
    static char big[70000];
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    errno = 0;
    assert_int_equal(pysb_wire_send(sv[0], PYSB_FRAME_STDOUT, big, 65537), -1);
    assert_int_equal(errno, EMSGSIZE);
    errno = 0;
    assert_int_equal(pysb_wire_send(sv[0], PYSB_FRAME_START, big, 1), -1);
    assert_int_equal(errno, EMSGSIZE);
    errno = 0;
    assert_int_equal(pysb_wire_send(sv[0], 9, big, 1), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(pysb_wire_send(sv[0], PYSB_FRAME_STDOUT, NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
    /* nothing at all was written by the refused sends */
    struct pollfd pfd = { .fd = sv[1], .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 0), 0);
    /* the maximum itself is fine */
    assert_int_equal(pysb_wire_send(sv[0], PYSB_FRAME_STDOUT, big, 65536), 0);
    errno = 0;
    assert_int_equal(pysb_wire_send(-1, PYSB_FRAME_START, NULL, 0), -1);
    assert_int_equal(errno, EBADF);
    close(sv[0]);
    close(sv[1]);
}

/* A gone peer is EPIPE; on a socket not even a default SIGPIPE fires. */
static void test_send_epipe(void **state)
{
    (void)state;
    int sv[2], p[2];
    struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler =
                                                              SIG_IGN }, old;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
    errno = 0;
    assert_int_equal(pysb_wire_send(sv[0], PYSB_FRAME_STDOUT, "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    errno = 0;
    assert_int_equal(pysb_wire_send_timeout(sv[0], PYSB_FRAME_START, NULL, 0,
                                            100), -1);
    assert_int_equal(errno, EPIPE);
    close(sv[0]);

    /* a pipe has no MSG_NOSIGNAL: callers ignore SIGPIPE */
    assert_int_equal(sigaction(SIGPIPE, &ign, NULL), 0);
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    errno = 0;
    assert_int_equal(pysb_wire_send(p[1], PYSB_FRAME_STDOUT, "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
    assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

/* Nobody reads: the send gives up at the deadline, even though the
 * socket is blocking. */
static void test_send_timeout(void **state)
{
    (void)state;
    static char chunk[1u << 20];
    int sv[2];
    int64_t t0, dt;
    int r;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t0 = mono_ms();
    errno = 0;
    r = pysb_wire_send_timeout(sv[0], PYSB_FRAME_STDIN, chunk, sizeof chunk,
                               200);
    dt = mono_ms() - t0;
    assert_int_equal(r, -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(dt >= 190);
    assert_true(dt < 5000);
    close(sv[0]);
    close(sv[1]);
}

static void test_recv_timeout_and_eof(void **state)
{
    (void)state;
    int sv[2];
    pysb_decoder d;
    pysb_frame fr;
    int64_t t0;
    uint8_t hdr[PYSB_WIRE_HDR_LEN];

    /* nothing comes: ETIMEDOUT on a blocking socket */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pysb_decoder_init(&d);
    t0 = mono_ms();
    errno = 0;
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, 100), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(mono_ms() - t0 >= 90);

    /* a header and part of its payload, then EOF: ECONNRESET */
    pysb_wire_header(hdr, PYSB_FRAME_STDOUT, 10);
    assert_int_equal(write(sv[1], hdr, sizeof hdr), (ssize_t)sizeof hdr);
    assert_int_equal(write(sv[1], "abc", 3), 3);
    errno = 0;
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, 100), -1);
    assert_int_equal(errno, ETIMEDOUT);
    close(sv[1]);
    errno = 0;
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, 100), -1);
    assert_int_equal(errno, ECONNRESET);
    pysb_decoder_free(&d);
    close(sv[0]);

    /* a protocol error comes out as EPROTO */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pysb_decoder_init(&d);
    assert_int_equal(write(sv[1], "HTTP/1.1", 8), 8);
    errno = 0;
    assert_int_equal(pysb_wire_recv(sv[0], &d, &fr, -1), -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(pysb_decoder_error(&d), "bad magic"));
    pysb_decoder_free(&d);
    close(sv[0]);
    close(sv[1]);
}

/* ---- SPEC ---- */

static void fill_spec(pysb_wire_spec *s, const char **argv,
                      const char **ro_paths)
{
    memset(s, 0, sizeof *s);
    pysb_limits_default(&s->limits);
    s->argv = argv;
    s->ro_paths = ro_paths;
}

static void assert_limits_equal(const pysb_limits *a, const pysb_limits *b)
{
    /* exact: the encoding must not round */
    assert_true(a->cpu_sec == b->cpu_sec);
    assert_true(a->wall_sec == b->wall_sec);
    assert_int_equal(a->memory_bytes, b->memory_bytes);
    assert_int_equal(a->output_bytes, b->output_bytes);
    assert_int_equal(a->processes, b->processes);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->fsize_bytes, b->fsize_bytes);
    assert_int_equal(a->nofile, b->nofile);
    assert_int_equal(a->stack_bytes, b->stack_bytes);
    assert_int_equal(a->scratch_bytes, b->scratch_bytes);
    assert_int_equal(a->out_files_bytes, b->out_files_bytes);
}

static void test_spec_roundtrip(void **state)
{
    (void)state;
    const char *argv[] = { "/usr/bin/python3", "-I", "-S", "-X", "utf8=1",
                           NULL };
    const char *ro[] = { "/usr/lib/python3/dist-packages", "/opt/x y/\xc3\xa9",
                         "/", NULL };
    pysb_wire_spec s, out;
    char err[256] = "";
    char *json;

    fill_spec(&s, argv, ro);
    s.limits.cpu_sec = 0.1;
    s.limits.wall_sec = 2.000000000000001;
    s.limits.memory_bytes = (1ULL << 40);
    s.limits.output_bytes = 12345;
    s.limits.processes = 3;
    s.limits.threads = 4096;
    s.limits.fsize_bytes = 1;
    s.limits.nofile = 8;
    s.limits.stack_bytes = 64 << 10;
    snprintf(s.run_id, sizeof s.run_id, "%s",
             "0123456789abcdef-ABCDEF-0123456789ab");
    s.flags = PYSB_WAIVE_LANDLOCK | PYSB_SHARED_NETNS;

    json = pysb_spec_encode(&s, err, sizeof err);
    assert_non_null(json);
    assert_null(strchr(json, '\n'));
    assert_int_equal(pysb_spec_decode(json, strlen(json), &out, err,
                                      sizeof err), 0);
    assert_limits_equal(&out.limits, &s.limits);
    assert_string_equal(out.run_id, s.run_id);
    assert_int_equal(out.flags, s.flags);
    for (size_t i = 0; argv[i] || out.argv[i]; i++) {
        assert_non_null(argv[i]);
        assert_non_null(out.argv[i]);
        assert_string_equal(out.argv[i], argv[i]);
    }
    for (size_t i = 0; ro[i] || out.ro_paths[i]; i++) {
        assert_non_null(ro[i]);
        assert_non_null(out.ro_paths[i]);
        assert_string_equal(out.ro_paths[i], ro[i]);
    }
    pysb_wire_spec_free(&out);
    assert_null(out.argv);
    assert_null(out.ro_paths);
    pysb_wire_spec_free(&out);   /* twice is harmless */
    free(json);

    /* warm, with preloads; and cold, which says nothing of either */
    const char *pre[] = { "json", "numpy.linalg", "_x1", NULL };
    s.warm = 1;
    s.preload = pre;
    json = pysb_spec_encode(&s, err, sizeof err);
    assert_non_null(json);
    assert_int_equal(pysb_spec_decode(json, strlen(json), &out, err, sizeof err), 0);
    assert_int_equal(out.warm, 1);
    for (size_t i = 0; pre[i] || out.preload[i]; i++) {
        assert_non_null(pre[i]);
        assert_non_null(out.preload[i]);
        assert_string_equal(out.preload[i], pre[i]);
    }
    pysb_wire_spec_free(&out);
    assert_null(out.preload);
    free(json);
    s.warm = 0;
    s.preload = NULL;
    json = pysb_spec_encode(&s, err, sizeof err);
    assert_non_null(json);
    assert_null(strstr(json, "start"));
    assert_null(strstr(json, "preload"));
    assert_int_equal(pysb_spec_decode(json, strlen(json), &out, err, sizeof err), 0);
    assert_int_equal(out.warm, 0);
    pysb_wire_spec_free(&out);
    free(json);

    /* minimal: no run_id, no ro_paths, no flags */
    const char *argv1[] = { "/usr/bin/python3", NULL };
    fill_spec(&s, argv1, NULL);
    json = pysb_spec_encode(&s, err, sizeof err);
    assert_non_null(json);
    assert_null(strstr(json, "run_id"));
    assert_int_equal(pysb_spec_decode(json, strlen(json), &out, err,
                                      sizeof err), 0);
    assert_string_equal(out.run_id, "");
    assert_string_equal(out.argv[0], "/usr/bin/python3");
    assert_null(out.argv[1]);
    assert_non_null(out.ro_paths);
    assert_null(out.ro_paths[0]);
    assert_int_equal(out.flags, 0);
    assert_limits_equal(&out.limits, &s.limits);
    pysb_wire_spec_free(&out);
    free(json);
}

/* The smallest valid spec in hand-written JSON, and integers for the
 * durations (JSON has only numbers). */
static const char base_spec[] =
    "{\"interpreter\":[\"/usr/bin/python3\",\"-I\",\"-S\"],"
    "\"limits\":{\"cpu_time\":5,\"wall_time\":10.5,\"memory\":268435456,"
    "\"output\":1048576,\"processes\":1,\"threads\":16,"
    "\"fsize\":8388608,\"nofile\":64,\"stack\":8388608,\"scratch\":16777216,\"output_files\":8388608}}";

static void test_spec_decode_base(void **state)
{
    (void)state;
    pysb_wire_spec s;
    char err[256] = "";

    assert_int_equal(pysb_spec_decode(base_spec, strlen(base_spec), &s, err,
                                      sizeof err), 0);
    assert_true(s.limits.cpu_sec == 5.0);
    assert_true(s.limits.wall_sec == 10.5);
    assert_string_equal(s.argv[2], "-S");
    assert_null(s.argv[3]);
    pysb_wire_spec_free(&s);
}

/* base_spec with one member replaced (value JSON) or removed (NULL).
 * path is "key" or "limits.key". */
static char *spec_with(const char *path, const char *value)
{
    json_error_t je;
    json_t *root = json_loads(base_spec, 0, &je), *obj = root;
    const char *key = path;
    char *out;

    assert_non_null(root);
    if (strncmp(path, "limits.", 7) == 0) {
        obj = json_object_get(root, "limits");
        key = path + 7;
    }
    if (value) {
        json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
        assert_non_null(v);
        assert_int_equal(json_object_set_new(obj, key, v), 0);
    } else {
        assert_int_equal(json_object_del(obj, key), 0);
    }
    out = json_dumps(root, JSON_COMPACT);
    assert_non_null(out);
    json_decref(root);
    return out;
}

/* A JSON array of n copies of s. */
static char *array_of(size_t n, const char *s)
{
    size_t len = strlen(s) + 3;
    char *a = malloc(n * len + 3), *p = a;

    assert_non_null(a);
    *p++ = '[';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"%s\"", i ? "," : "", s);
    *p++ = ']';
    *p = '\0';
    return a;
}

static void test_spec_decode_rejects(void **state)
{
    (void)state;
    char *interp33 = array_of(33, "/usr/bin/python3");
    char *ro65 = array_of(65, "/usr/lib");
    char *ro64 = array_of(64, "/usr/lib");
    const struct {
        const char *raw;      /* the whole payload, or */
        const char *path;     /* base_spec with this member */
        const char *value;    /* set to this JSON (NULL: removed) */
        const char *why;      /* expected in the reason */
    } cases[] = {
        { "print('hi')", NULL, NULL, "spec is not valid JSON" },
        { "", NULL, NULL, "spec is not valid JSON" },
        { "[1,2]", NULL, NULL, "spec is not a JSON object" },
        { "\"x\"", NULL, NULL, "spec is not valid JSON" },
        { "{\"interpreter\":[\"/a\"],\"interpreter\":[\"/b\"]}", NULL, NULL,
          "duplicate object key" },
        { "{\"bad\nkey\":1}", NULL, NULL, "not valid JSON" },
        { "{\"bad\\nkey\":1}", NULL, NULL, "unknown key \"bad?key\"" },
        { "{\"interpreter\":[\"/usr/bin/py\\u0000thon\"]}", NULL, NULL,
          "not valid JSON" },
        { "{\"limits\":{\"cpu_time\":1e400}}", NULL, NULL, "not valid JSON" },
        { "{\"limits\":{\"memory\":99999999999999999999}}", NULL, NULL,
          "not valid JSON" },
        { NULL, "bogus", "1", "unknown key \"bogus\"" },
        { NULL, "code", "\"print(1)\"", "unknown key \"code\"" },
        { NULL, "limits.bogus", "1", "unknown key \"limits.bogus\"" },
        { NULL, "limits", NULL, "missing key \"limits\"" },
        { NULL, "interpreter", NULL, "missing key \"interpreter\"" },
        { NULL, "limits.stack", NULL, "missing key \"limits.stack\"" },
        { NULL, "limits.cpu_time", NULL, "missing key \"limits.cpu_time\"" },
        { NULL, "limits", "[]", "limits must be an object" },
        { NULL, "run_id", "\"ab_c\"", "run_id may only contain" },
        { NULL, "run_id", "\"a b\"", "run_id may only contain" },
        { NULL, "run_id", "\"../x\"", "run_id may only contain" },
        { NULL, "run_id", "\"0123456789012345678901234567890123456\"",
          "run_id must be 1..36" },
        { NULL, "run_id", "\"\"", "run_id must be 1..36" },
        { NULL, "run_id", "5", "run_id must be a string" },
        { NULL, "run_id", "null", "run_id must be a string" },
        { NULL, "interpreter", "[\"python3\"]",
          "interpreter[0] must be an absolute path" },
        { NULL, "interpreter", "[\"./python3\"]",
          "interpreter[0] must be an absolute path" },
        { NULL, "interpreter", "[\"/usr/bin/../../tmp/x\"]",
          "interpreter[0] must not contain . or .." },
        { NULL, "interpreter", "[\"/usr/./bin/python3\"]",
          "interpreter[0] must not contain . or .." },
        { NULL, "interpreter", "[\"/usr/bin/..\"]",
          "interpreter[0] must not contain . or .." },
        { NULL, "interpreter", "[]", "interpreter must have 1..32 arguments" },
        { NULL, "interpreter", interp33,
          "interpreter must have 1..32 arguments" },
        { NULL, "interpreter", "\"/usr/bin/python3\"",
          "interpreter must be an array of strings" },
        { NULL, "interpreter", "[\"/usr/bin/python3\",\"\"]",
          "interpreter[1] must not be empty" },
        { NULL, "interpreter", "[\"/usr/bin/python3\",5]",
          "interpreter[1] must be a string" },
        { NULL, "interpreter", "[\"\"]", "interpreter[0] must not be empty" },
        { NULL, "ro_paths", ro65, "ro_paths must have at most 64 entries" },
        { NULL, "ro_paths", "[\"usr/lib\"]",
          "ro_paths[0] must be an absolute path" },
        { NULL, "ro_paths", "[\"/usr\",\"/usr/lib/..\"]",
          "ro_paths[1] must not contain . or .." },
        { NULL, "ro_paths", "{}", "ro_paths must be an array of strings" },
        { NULL, "ro_paths", "[null]", "ro_paths[0] must be a string" },
        { NULL, "limits.memory", "1", "limits: memory must be between" },
        { NULL, "limits.memory", "1099511627777",
          "limits: memory must be between" },
        { NULL, "limits.memory", "268435456.0",
          "limits.memory must be a non-negative integer" },
        { NULL, "limits.memory", "-1",
          "limits.memory must be a non-negative integer" },
        { NULL, "limits.output", "0", "limits: output" },
        { NULL, "limits.cpu_time", "0", "limits: cpu_time" },
        { NULL, "limits.cpu_time", "-1", "limits: cpu_time" },
        { NULL, "limits.cpu_time", "86401", "limits: cpu_time" },
        { NULL, "limits.cpu_time", "\"5\"",
          "limits.cpu_time must be a number" },
        { NULL, "limits.wall_time", "true",
          "limits.wall_time must be a number" },
        { NULL, "limits.processes", "0", "limits: processes" },
        { NULL, "limits.processes", "4294967297",
          "limits.processes is too large" },
        { NULL, "limits.threads", "\"16\"",
          "limits.threads must be a non-negative integer" },
        { NULL, "limits.nofile", "7", "limits: nofile" },
        { NULL, "limits.stack", "1024", "limits: stack" },
        { NULL, "limits.fsize", "0", "limits: fsize" },
        { NULL, "flags", "8", "flags has unknown bits 0x8" },
        { NULL, "flags", "15", "flags has unknown bits 0x8" },
        { NULL, "flags", "-1", "flags must be a non-negative integer" },
        { NULL, "flags", "\"1\"", "flags must be a non-negative integer" },
        { NULL, "flags", "2147483648",
          "flags must be a non-negative integer" },
        { NULL, "start", "\"hot\"", "start must be \"warm\" or \"cold\"" },
        { NULL, "start", "1", "start must be \"warm\" or \"cold\"" },
        { NULL, "preload", "[\"json\"]", "preload needs \"start\": \"warm\"" },
        { NULL, "preload", "\"json\"", "preload must be an array of strings" },
        { NULL, "preload", "[\"os;rm\"]", "preload[0] is not a module name" },
        { NULL, "preload", "[\"\"]", "preload[0] must not be empty" },
        { NULL, "preload", "[\"9x\"]", "preload[0] is not a module name" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = cases[i].raw ? strdup(cases[i].raw)
                                  : spec_with(cases[i].path, cases[i].value);
        pysb_wire_spec s;
        char err[256] = "";
        int r;

        assert_non_null(json);
        s.argv = (const char **)&json;   /* must be cleared on failure */
        r = pysb_spec_decode(json, strlen(json), &s, err, sizeof err);
        if (r != -1 || !strstr(err, cases[i].why))
            fail_msg("case %zu: %s\n  got %d \"%s\"\n  want \"%s\"", i, json,
                     r, err, cases[i].why);
        assert_null(s.argv);
        assert_null(s.ro_paths);
        assert_null(strchr(err, '\n'));
        /* NULL err is fine too */
        assert_int_equal(pysb_spec_decode(json, strlen(json), &s, NULL, 0),
                         -1);
        free(json);
    }

    /* args: each entry may be all 16 KiB, but not all of them together */
    {
        char *v = malloc(2 * 9000 + 8);
        assert_non_null(v);
        char *p = v;
        *p++ = '[';
        for (int k = 0; k < 2; k++) {
            *p++ = '"';
            memset(p, 'a', 9000);
            p += 9000;
            *p++ = '"';
            *p++ = k ? ']' : ',';
        }
        *p = '\0';
        char *json = spec_with("args", v);
        pysb_wire_spec s;
        char err[256] = "";
        assert_int_equal(pysb_spec_decode(json, strlen(json), &s, err, sizeof err), -1);
        assert_string_equal(err, "args must be at most 16384 bytes in all");
        free(json);
        v[9003] = ']';   /* one entry of 9000 alone passes */
        v[9004] = '\0';
        json = spec_with("args", v);
        assert_int_equal(pysb_spec_decode(json, strlen(json), &s, err, sizeof err), 0);
        assert_int_equal(strlen(s.args[0]), 9000);
        pysb_wire_spec_free(&s);
        free(json);
        free(v);
    }

    /* the boundaries themselves pass */
    char *ok = spec_with("ro_paths", ro64);
    pysb_wire_spec s;
    char err[256] = "";
    assert_int_equal(pysb_spec_decode(ok, strlen(ok), &s, err, sizeof err), 0);
    assert_string_equal(s.ro_paths[63], "/usr/lib");
    assert_null(s.ro_paths[64]);
    pysb_wire_spec_free(&s);
    free(ok);

    /* len is honoured: a valid spec followed by junk is not read past */
    char buf[sizeof base_spec + 8];
    memcpy(buf, base_spec, sizeof base_spec - 1);
    memcpy(buf + sizeof base_spec - 1, "garbage", 8);
    assert_int_equal(pysb_spec_decode(buf, sizeof base_spec - 1, &s, err,
                                      sizeof err), 0);
    pysb_wire_spec_free(&s);
    assert_int_equal(pysb_spec_decode(NULL, 0, &s, err, sizeof err), -1);

    free(interp33);
    free(ro65);
    free(ro64);
}

static void test_spec_encode_rejects(void **state)
{
    (void)state;
    const char *good[] = { "/usr/bin/python3", NULL };
    const char *rel[] = { "python3", NULL };
    const char *empty[] = { NULL };
    const char *emptyarg[] = { "/usr/bin/python3", "", NULL };
    const char *badutf8[] = { "/usr/bin/python3", "\xff", NULL };
    const char *dotdot[] = { "/usr/lib/../../etc", NULL };
    const char *many[PYSB_WIRE_ARGV_MAX + 2];
    static char longpath[PYSB_WIRE_STR_MAX + 2];
    const char *toolong[] = { longpath, NULL };
    pysb_wire_spec s;
    char err[256];

    for (size_t i = 0; i <= PYSB_WIRE_ARGV_MAX; i++)
        many[i] = "/usr/bin/python3";
    many[PYSB_WIRE_ARGV_MAX + 1] = NULL;
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';

    const struct {
        const char **argv, **ro;
        int flags;
        const char *run_id;
        double cpu;
        const char *why;
    } cases[] = {
        { NULL, NULL, 0, "", 5, "interpreter must have 1..32" },
        { empty, NULL, 0, "", 5, "interpreter must have 1..32" },
        { many, NULL, 0, "", 5, "interpreter must have 1..32" },
        { rel, NULL, 0, "", 5, "interpreter[0] must be an absolute path" },
        { emptyarg, NULL, 0, "", 5, "interpreter[1] must not be empty" },
        { badutf8, NULL, 0, "", 5, "interpreter[1] is not valid UTF-8" },
        { toolong, NULL, 0, "", 5, "interpreter[0] is longer than 4095" },
        { good, dotdot, 0, "", 5, "ro_paths[0] must not contain . or .." },
        { good, rel, 0, "", 5, "ro_paths[0] must be an absolute path" },
        { good, NULL, 8, "", 5, "flags has unknown bits 0x8" },
        { good, NULL, -1, "", 5, "flags has unknown bits" },
        { good, NULL, 0, "a/b", 5, "run_id may only contain" },
        { good, NULL, 0, "", 0, "limits: cpu_time" },
        { good, NULL, 0, "", NAN, "limits: cpu_time" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json;

        fill_spec(&s, cases[i].argv, cases[i].ro);
        s.flags = cases[i].flags;
        snprintf(s.run_id, sizeof s.run_id, "%s", cases[i].run_id);
        s.limits.cpu_sec = cases[i].cpu;
        err[0] = '\0';
        errno = 0;
        json = pysb_spec_encode(&s, err, sizeof err);
        if (json || errno != EINVAL || !strstr(err, cases[i].why))
            fail_msg("case %zu: got %s errno %d \"%s\", want \"%s\"", i,
                     json ? json : "NULL", errno, err, cases[i].why);
    }

    /* unterminated run_id buffer */
    fill_spec(&s, good, NULL);
    memset(s.run_id, 'a', sizeof s.run_id);
    errno = 0;
    assert_null(pysb_spec_encode(&s, err, sizeof err));
    assert_int_equal(errno, EINVAL);

    /* valid but over the SPEC frame's 192 KiB */
    static char path[PYSB_WIRE_STR_MAX + 1];
    const char *ro[PYSB_WIRE_RO_PATHS_MAX + 1];
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    for (size_t i = 0; i < PYSB_WIRE_RO_PATHS_MAX; i++)
        ro[i] = path;
    ro[PYSB_WIRE_RO_PATHS_MAX] = NULL;
    fill_spec(&s, good, ro);
    errno = 0;
    assert_null(pysb_spec_encode(&s, err, sizeof err));
    assert_int_equal(errno, EMSGSIZE);
    assert_non_null(strstr(err, "spec too long"));
    /* and NULL err is fine */
    assert_null(pysb_spec_encode(&s, NULL, 0));
}

/* ---- STARTED ---- */

static void test_started(void **state)
{
    (void)state;
    char id[PYSB_WIRE_RUN_ID_MAX + 1];
    char err[256];
    uid_t uid = 0;
    char *json = pysb_started_encode("run-42-AbC", 600123);

    assert_non_null(json);
    assert_true(strlen(json) <= pysb_frame_max_len(PYSB_FRAME_STARTED));
    assert_int_equal(pysb_started_decode(json, strlen(json), id, &uid, err,
                                         sizeof err), 0);
    assert_string_equal(id, "run-42-AbC");
    assert_int_equal(uid, 600123);
    free(json);

    json = pysb_started_encode("x", 4294967294u);
    assert_non_null(json);
    assert_int_equal(pysb_started_decode(json, strlen(json), id, &uid, err,
                                         sizeof err), 0);
    assert_int_equal(uid, 4294967294u);
    free(json);

    errno = 0;
    assert_null(pysb_started_encode("x", 0));
    assert_int_equal(errno, EINVAL);
    assert_null(pysb_started_encode("x", (uid_t)-1));
    assert_null(pysb_started_encode("a_b", 5));
    assert_null(pysb_started_encode("", 5));
    assert_null(pysb_started_encode(NULL, 5));

    const struct { const char *json, *why; } bad[] = {
        { "nope", "STARTED is not valid JSON" },
        { "[]", "STARTED is not a JSON object" },
        { "{\"run_id\":\"a\"}", "missing key \"uid\"" },
        { "{\"uid\":5}", "missing key \"run_id\"" },
        { "{\"run_id\":\"a\",\"uid\":5,\"gid\":5}", "unknown key \"gid\"" },
        { "{\"run_id\":\"a\",\"uid\":0}", "uid must be an integer" },
        { "{\"run_id\":\"a\",\"uid\":4294967295}", "uid must be an integer" },
        { "{\"run_id\":\"a\",\"uid\":\"5\"}", "uid must be an integer" },
        { "{\"run_id\":\"a\",\"uid\":5.0}", "uid must be an integer" },
        { "{\"run_id\":\"a b\",\"uid\":5}", "run_id may only contain" },
        { "{\"run_id\":7,\"uid\":5}", "run_id must be a string" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (pysb_started_decode(bad[i].json, strlen(bad[i].json), id, &uid,
                                err, sizeof err) != -1 ||
            !strstr(err, bad[i].why))
            fail_msg("case %zu: %s: got \"%s\", want \"%s\"", i, bad[i].json,
                     err, bad[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_header_parse_rejects),
        cmocka_unit_test(test_decode_all_at_once),
        cmocka_unit_test(test_decode_byte_at_a_time),
        cmocka_unit_test(test_decode_every_split),
        cmocka_unit_test(test_decode_zero_length),
        cmocka_unit_test(test_decode_payload_nul),
        cmocka_unit_test(test_decode_errors_from_header),
        cmocka_unit_test(test_decode_errors_early),
        cmocka_unit_test(test_decode_error_sticky),
        cmocka_unit_test(test_decode_set_max),
        cmocka_unit_test(test_decode_big_and_bounded),
        cmocka_unit_test(test_decoder_read_pipe),
        cmocka_unit_test(test_socketpair_blocking),
        cmocka_unit_test(test_socketpair_nonblocking),
        cmocka_unit_test(test_socketpair_with_timeout),
        cmocka_unit_test(test_send_rejects),
        cmocka_unit_test(test_send_epipe),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_recv_timeout_and_eof),
        cmocka_unit_test(test_spec_roundtrip),
        cmocka_unit_test(test_spec_decode_base),
        cmocka_unit_test(test_spec_decode_rejects),
        cmocka_unit_test(test_spec_encode_rejects),
        cmocka_unit_test(test_started),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
