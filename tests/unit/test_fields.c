/* test_fields.c — unit tests of src/fields.c: names and aliases, the
 * format (field, Accept, default), the run request within a Location's
 * bounds with each one-line reason, and ?info=1's JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fields.h"

/* A Location as the test template's /run: CPU 5 up to 10, wall 10 up to
 * 20, memory 256M up to 512M, output 1M up to 4M. */
static pysb_location location(void)
{
    pysb_location l;
    memset(&l, 0, sizeof l);
    pysb_limits_default(&l.def);
    pysb_limits_default(&l.max);
    l.max.cpu_sec = 10;
    l.max.wall_sec = 20;
    l.max.memory_bytes = 512ULL << 20;
    l.max.output_bytes = 4ULL << 20;
    l.max_code = 64 * 1024;
    l.max_stdin = 1024 * 1024;
    l.max_files = 16;
    l.max_file_size = 1024 * 1024;
    l.default_format = PYSB_FMT_TEXT;
    return l;
}

static void set(pysb_fields *f, const char *name, const char *value)
{
    pysb_fields_set(f, name, strlen(name), value, strlen(value));
}

/* The status and reason of a request made of name=value pairs. */
static int request(const char *const *pairs, pysb_run_request *out, char *why, size_t n)
{
    pysb_location l = location();
    pysb_fields f;
    pysb_fields_init(&f);
    for (size_t i = 0; pairs[i]; i += 2)
        set(&f, pairs[i], pairs[i + 1]);
    why[0] = '\0';
    return pysb_fields_request(&f, &l, out, why, n);
}

static void test_names(void **state)
{
    (void)state;
    pysb_fields f;
    pysb_fields_init(&f);
    static const char *const known[] = { "code", "user_script", "stdin", "format", "info",
                                         "cpu_time", "wall_time", "memory", "output",
                                         "files", "args" };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        assert_int_equal(pysb_fields_set(&f, known[i], strlen(known[i]), "1", 1), 1);
    /* Not fields: limits a request may not ask for, near misses. */
    static const char *const other[] = { "processes", "threads", "nofile", "Code", "cpu",
                                         "timeout", "arg", "file", "" };
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        assert_int_equal(pysb_fields_set(&f, other[i], strlen(other[i]), "1", 1), 0);
    assert_true(pysb_fields_known("user_script", 11));
    assert_false(pysb_fields_known("cpu_limit", 9));
    assert_true(pysb_fields_numeric("memory", 6));
    assert_false(pysb_fields_numeric("code", 4));
    assert_false(pysb_fields_numeric("processes", 9));

    /* user_script is code; the later pair wins. */
    pysb_fields_init(&f);
    set(&f, "code", "print(1)");
    set(&f, "user_script", "print(2)");
    assert_int_equal(f.code.len, 8);
    assert_memory_equal(f.code.data, "print(2)", 8);
}

static void test_format(void **state)
{
    (void)state;
    pysb_location l = location();
    pysb_fields f;
    pysb_format fmt;
    char why[128];

    pysb_fields_init(&f);
    assert_int_equal(pysb_fields_format(&f, &l, NULL, &fmt, why, sizeof why), 0);
    assert_int_equal(fmt, PYSB_FMT_TEXT);
    l.default_format = PYSB_FMT_JSON;
    assert_int_equal(pysb_fields_format(&f, &l, "*/*", &fmt, why, sizeof why), 0);
    assert_int_equal(fmt, PYSB_FMT_JSON);
    assert_int_equal(pysb_fields_format(&f, &l, "text/event-stream", &fmt, why, sizeof why), 0);
    assert_int_equal(fmt, PYSB_FMT_SSE);
    set(&f, "format", "NDJSON");                /* the field wins over Accept */
    assert_int_equal(pysb_fields_format(&f, &l, "text/event-stream", &fmt, why, sizeof why), 0);
    assert_int_equal(fmt, PYSB_FMT_NDJSON);
    set(&f, "format", "xml");
    assert_int_equal(pysb_fields_format(&f, &l, NULL, &fmt, why, sizeof why), 400);
    assert_string_equal(why, "format must be one of text, json, ndjson, sse");
    assert_int_equal(fmt, PYSB_FMT_JSON);       /* the default, to refuse in */

    pysb_fields_init(&f);
    assert_true(pysb_fields_wants_info(&f, "application/json"));
    assert_false(pysb_fields_wants_info(&f, "text/plain"));
    assert_false(pysb_fields_wants_info(&f, NULL));
    set(&f, "code", "x");
    assert_false(pysb_fields_wants_info(&f, "application/json"));
    set(&f, "info", "1");
    assert_true(pysb_fields_wants_info(&f, NULL));
    set(&f, "info", "");
    assert_true(pysb_fields_wants_info(&f, NULL));      /* ?info */
    /* a switch turned off asks for nothing (contract9 N3) */
    const char *off[] = { "0", "false", "No", "OFF" };
    for (size_t i = 0; i < 4; i++) {
        set(&f, "info", off[i]);
        assert_false(pysb_fields_wants_info(&f, "application/json"));
    }
}

static void test_request_ok(void **state)
{
    (void)state;
    pysb_run_request rr;
    char why[256];
    const char *const plain[] = { "code", "print(1)", NULL };
    assert_int_equal(request(plain, &rr, why, sizeof why), 0);
    assert_int_equal(rr.code_len, 8);
    assert_null(rr.stdin_data);
    /* The Location's defaults, everything else the engine's. */
    assert_true(rr.limits.cpu_sec == 5 && rr.limits.wall_sec == 10);
    assert_int_equal(rr.limits.memory_bytes, 256ULL << 20);
    assert_int_equal(rr.limits.processes, 1);
    assert_int_equal(rr.limits.nofile, 64);

    const char *const asked[] = { "code", "x", "stdin", "", "cpu_time", "1.5",
                                  "wall_time", "1500ms", "memory", "64M", "output", "4M",
                                  NULL };
    assert_int_equal(request(asked, &rr, why, sizeof why), 0);
    assert_non_null(rr.stdin_data);             /* given, even empty */
    assert_int_equal(rr.stdin_len, 0);
    assert_true(rr.limits.cpu_sec == 1.5 && rr.limits.wall_sec == 1.5);
    assert_int_equal(rr.limits.memory_bytes, 64ULL << 20);
    assert_int_equal(rr.limits.output_bytes, 4ULL << 20);   /* at the maximum */

    /* A form's empty inputs: the Location's defaults. */
    const char *const form[] = { "code", "x", "stdin", "", "cpu_time", "", "wall_time", "",
                                 "memory", "", "output", "", NULL };
    assert_int_equal(request(form, &rr, why, sizeof why), 0);
    assert_true(rr.limits.cpu_sec == 5 && rr.limits.wall_sec == 10);
    assert_int_equal(rr.limits.memory_bytes, 256ULL << 20);
}

/* JSON numbers as form text: never an exponent, the shortest digits that
 * read back, and a duration or size the limits parse. */
static void test_number_text(void **state)
{
    (void)state;
    static const struct { double v; const char *text; } cases[] = {
        { 0.5, "0.5" },      { 1e-07, "0.0000001" }, { 0.3, "0.3" },    { 1.5, "1.5" },
        { 2, "2" },          { 1500, "1500" },        { 1e3, "1000" },   { 12.25, "12.25" },
        { 1e20, "100000000000000000000" },           { 0.000125, "0.000125" },
        { -0.5, "-0.5" },    { 0, "0" },              { 67108864, "67108864" },
    };
    char buf[128];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(pysb_fields_number_text(cases[i].v, buf, sizeof buf), 0);
        assert_string_equal(buf, cases[i].text);
        assert_true(strtod(buf, NULL) == cases[i].v);
    }
    /* too far from 1: an exponent, which the parsers refuse */
    assert_int_equal(pysb_fields_number_text(1e300, buf, sizeof buf), -1);
    assert_non_null(strchr(buf, 'e'));
    /* and through the fields: cpu_time 0.5 and 1e-07 s (above 0), memory
     * 6.7108864e7 bytes */
    pysb_run_request rr;
    char why[256], a[128], b[128];
    pysb_fields_number_text(0.5, a, sizeof a);
    pysb_fields_number_text(6.7108864e7, b, sizeof b);
    const char *const asked[] = { "code", "x", "cpu_time", a, "memory", b, NULL };
    assert_int_equal(request(asked, &rr, why, sizeof why), 0);
    assert_true(rr.limits.cpu_sec == 0.5);
    assert_int_equal(rr.limits.memory_bytes, 64ULL << 20);
    pysb_fields_number_text(1e-07, a, sizeof a);
    const char *const tiny[] = { "code", "x", "wall_time", a, NULL };
    assert_int_equal(request(tiny, &rr, why, sizeof why), 0);
    assert_true(rr.limits.wall_sec > 0 && rr.limits.wall_sec < 1e-6);
}

static void test_request_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *pairs[6];
        int status;
        const char *why;
    } rows[] = {
        { { NULL }, 400, "no code: send the program as the field \"code\"" },
        { { "stdin", "x", NULL }, 400, "no code" },
        { { "code", "\xff", NULL }, 400, "the code is not valid UTF-8 text" },
        { { "code", "x", "cpu_time", "abc", NULL }, 400,
          "cpu_time: not a duration (use e.g. 5, 0.5 or 1500ms)" },
        { { "code", "x", "cpu_time", "0", NULL }, 400, "cpu_time must be above 0" },
        { { "code", "x", "cpu_time", "10.5", NULL }, 400,
          "cpu_time 10.5 is above this location's maximum of 10 seconds" },
        { { "code", "x", "wall_time", "21", NULL }, 400,
          "wall_time 21 is above this location's maximum of 20 seconds" },
        { { "code", "x", "memory", "1G", NULL }, 400,
          "memory 1G is above this location's maximum of 512M" },
        { { "code", "x", "output", "5M", NULL }, 400,
          "output 5M is above this location's maximum of 4M" },
        { { "code", "x", "memory", "1M", NULL }, 400, "memory must be between 16M and 1T" },
        { { "code", "x", "output", "0", NULL }, 400, "output must be between 1 and 4G" },
        { { "code", "x", "memory", "12Q", NULL }, 400, "memory: not a size (use e.g. 256M)" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        pysb_run_request rr;
        char why[256];
        int st = request(rows[i].pairs, &rr, why, sizeof why);
        if (st != rows[i].status || strncmp(why, rows[i].why, strlen(rows[i].why)) != 0)
            fail_msg("row #%zu: %d \"%s\", want %d \"%s\"", i, st, why, rows[i].status,
                     rows[i].why);
    }

    /* Sizes: 413 naming the Location's figure; a NUL in a limit. */
    pysb_location l = location();
    pysb_fields f;
    pysb_run_request rr;
    char why[256], *big = calloc(1, 64 * 1024 + 2);
    memset(big, 'x', 64 * 1024 + 1);
    pysb_fields_init(&f);
    set(&f, "code", big);
    assert_int_equal(pysb_fields_request(&f, &l, &rr, why, sizeof why), 413);
    assert_string_equal(why, "code of 65537 bytes is over this location's 65536");
    set(&f, "code", "x");
    pysb_fields_set(&f, "stdin", 5, big, 1024 * 1024 + 1);
    assert_int_equal(pysb_fields_request(&f, &l, &rr, why, sizeof why), 413);
    assert_string_equal(why, "stdin of 1048577 bytes is over this location's 1048576");
    pysb_fields_init(&f);
    set(&f, "code", "x");
    pysb_fields_set(&f, "memory", 6, "64M\0x", 5);
    assert_int_equal(pysb_fields_request(&f, &l, &rr, why, sizeof why), 400);
    assert_string_equal(why, "memory: contains a NUL byte");
    free(big);
}

static void test_unknown_names(void **state)
{
    (void)state;
    pysb_location l = location();
    pysb_fields f;
    char why[256];

    pysb_fields_init(&f);
    set(&f, "code", "x");
    set(&f, "cpu_time", "1");
    assert_int_equal(pysb_fields_names(&f, &l, why, sizeof why), 0);
    /* The first name that is no field is the one named; the pair changes
     * nothing else. */
    assert_int_equal(pysb_fields_set(&f, "cpu_limit", 9, "9", 1), 0);
    set(&f, "args", "1");
    assert_int_equal(pysb_fields_names(&f, &l, why, sizeof why), 400);
    assert_string_equal(why, "unknown field \"cpu_limit\" (the fields are code or user_script, "
                             "stdin, cpu_time, wall_time, memory, output, format, info, files, args)");
    assert_memory_equal(f.limit[0].data, "1", 1);
    /* Unless the Location ignores them. */
    l.ignore_unknown = 1;
    assert_int_equal(pysb_fields_names(&f, &l, why, sizeof why), 0);

    /* A name quoted in a reason stays one printable line, cut short. */
    pysb_fields_init(&f);
    pysb_fields_set(&f, "a\"b\nc\xff", 6, "", 0);
    l.ignore_unknown = 0;
    assert_int_equal(pysb_fields_names(&f, &l, why, sizeof why), 400);
    assert_non_null(strstr(why, "unknown field \"a?b?c?\""));
    char longname[200];
    memset(longname, 'n', sizeof longname);
    pysb_fields_init(&f);
    pysb_fields_set(&f, longname, sizeof longname, "", 0);
    assert_int_equal(strlen(f.unknown), sizeof f.unknown - 1);
    /* An empty name is no field either. */
    pysb_fields_init(&f);
    pysb_fields_set(&f, "", 0, "x", 1);
    assert_int_equal(pysb_fields_names(&f, &l, why, sizeof why), 400);
    assert_non_null(strstr(why, "unknown field \"\""));
}

static void test_info(void **state)
{
    (void)state;
    pysb_location l = location();
    l.allow_get = 1;
    l.max_code = 1024;
    char *j = pysb_location_info(&l);
    assert_non_null(j);
    assert_string_equal(j,
        "{\"cpu_time\":{\"default\":5.0,\"max\":10.0},"
        "\"wall_time\":{\"default\":10.0,\"max\":20.0},"
        "\"memory\":{\"default\":268435456,\"max\":536870912},"
        "\"output\":{\"default\":1048576,\"max\":4194304},"
        "\"processes\":1,\"threads\":16,\"scratch\":16777216,\"output_files\":8388608,"
        "\"max_code_size\":1024,\"max_stdin_size\":1048576,"
        "\"max_files\":16,\"max_file_size\":1048576,\"allow_get\":true,"
        "\"default_format\":\"text\",\"formats\":[\"text\",\"json\",\"ndjson\",\"sse\"],"
        "\"start\":\"cold\",\"preload\":[]}");
    free(j);
    /* a warm Location says so, with its preloads */
    static const char *const pre[] = { "json", "numpy", NULL };
    l.warm = 1;
    l.preload = pre;
    j = pysb_location_info(&l);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"start\":\"warm\",\"preload\":[\"json\",\"numpy\"]}"));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_request_ok),
        cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
