/* test_limits.c — unit tests of src/runlimits.c: defaults, the size, duration
 * and integer parsers (every accepted form and every rejected one the
 * contract names), validation at both sides of each bound, size formatting.
 *
 * Tables over single asserts so a new form is one line; a failing row says
 * which input it was. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runlimits.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Not ULLONG_MAX: with -Isrc, <limits.h> would find src/limits.h. */
#define ALL_ONES (~0ULL)

/* ---- defaults ------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    pysb_limits l;
    char err[128] = "untouched";

    memset(&l, 0xA5, sizeof l);
    pysb_limits_default(&l);
    assert_true(l.cpu_sec == 5.0);
    assert_true(l.wall_sec == 10.0);
    assert_int_equal(l.memory_bytes, 256ULL << 20);
    assert_int_equal(l.output_bytes, 1ULL << 20);
    assert_int_equal(l.processes, 1);
    assert_int_equal(l.threads, 16);
    assert_int_equal(l.fsize_bytes, 8ULL << 20);
    assert_int_equal(l.nofile, 64);
    assert_int_equal(l.stack_bytes, 8ULL << 20);
    assert_int_equal(l.scratch_bytes, 16ULL << 20);

    assert_int_equal(pysb_limits_validate(&l, err, sizeof err), 0);
    assert_string_equal(err, "");
}

/* ---- sizes ---------------------------------------------------------- */

struct size_ok { const char *in; uint64_t want; };

static const struct size_ok sizes_ok[] = {
    { "0", 0 },
    { "123", 123 },
    { "007", 7 },
    { "1000", 1000 },
    { "64K", 64ULL << 10 },
    { "64k", 64ULL << 10 },
    { "64KB", 64ULL << 10 },
    { "64KiB", 64ULL << 10 },
    { "64kib", 64ULL << 10 },
    { "64KIB", 64ULL << 10 },
    { "1kb", 1024 },
    { "100B", 100 },
    { "100b", 100 },
    { "1.5M", 1572864 },
    { "1.5K", 1536 },
    { "0.5K", 512 },
    { "1.9999K", 2047 },                 /* rounded down */
    { "1.0009765625K", 1025 },           /* 1/1024 exactly */
    { "1.0009765624K", 1024 },           /* a hair below */
    { "10MB", 10ULL << 20 },
    { "10MiB", 10ULL << 20 },
    { "256M", 256ULL << 20 },
    { "256m", 256ULL << 20 },
    { "2G", 2ULL << 30 },
    { "2gb", 2ULL << 30 },
    { "1T", 1ULL << 40 },
    { "1TiB", 1ULL << 40 },
    /* 1 + 2^-40 tebibytes: 40 decimals, exact to the byte. */
    { "1.0000000000009094947017729282379150390625T", (1ULL << 40) + 1 },
    { "18446744073709551615", UINT64_MAX },
    { "16777215T", ((1ULL << 24) - 1) << 40 },
    { "16777215.9999999999999999999999999999999999999999999T", UINT64_MAX },
};

static const char *const sizes_bad[] = {
    "", " 1", "1 ", " ", "\t1", "1\n",
    "-1", "-0", "+1", "--1",
    "1.5", "1.5B", "1.", "1.K", ".5K", ".", "1..5K", "1.5.K",
    "1e3", "1E3", "1e3K", "inf", "INF", "infinity", "nan", "NaN", "nanK",
    "0x10", "0X10", "0x10K", "010x",
    "99999999999999999999", "18446744073709551616", "16777216T",
    "17179869184G",                     /* 2^34 G = 2^64 */
    "K", "B", "KB", "iB", "M",
    "1KK", "1iB", "1KBi", "1KBB", "1Kb ", "1Ki", "1P", "1E", "1 K",
    "1,5K", "1_000", "\xEF\xBC\x91",   /* fullwidth 1 */
};

static void test_parse_size_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(sizes_ok); i++) {
        uint64_t v = 12345;
        const char *err = NULL;
        int rc = pysb_parse_size(sizes_ok[i].in, &v, &err);
        if (rc != 0 || v != sizes_ok[i].want)
            fail_msg("parse_size(\"%s\") = %d, %llu (%s); want %llu",
                     sizes_ok[i].in, rc, (unsigned long long)v,
                     err ? err : "-", (unsigned long long)sizes_ok[i].want);
    }
}

static void test_parse_size_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(sizes_bad); i++) {
        uint64_t v = 12345;
        const char *err = NULL;
        int rc = pysb_parse_size(sizes_bad[i], &v, &err);
        if (rc != -1 || err == NULL || err[0] == '\0' || v != 12345)
            fail_msg("parse_size(\"%s\") accepted (rc %d, %llu)",
                     sizes_bad[i], rc, (unsigned long long)v);
        if (strchr(err, '\n'))
            fail_msg("reason for \"%s\" is not one line", sizes_bad[i]);
    }
}

static void test_parse_size_misc(void **state)
{
    (void)state;
    uint64_t v = 0;
    const char *err = NULL;

    /* NULL input, and a caller that does not want the reason. */
    assert_int_equal(pysb_parse_size(NULL, &v, &err), -1);
    assert_non_null(err);
    assert_int_equal(pysb_parse_size("junk", &v, NULL), -1);
    assert_int_equal(pysb_parse_size("4K", &v, NULL), 0);
    assert_int_equal(v, 4096);

    /* The reason of the common mistake points at the right form. */
    assert_int_equal(pysb_parse_size("256 MB", &v, &err), -1);
    assert_string_equal(err, "not a size (use e.g. 256M)");
}

/* ---- durations ------------------------------------------------------ */

struct dur_ok { const char *in; double want; };

/* Not fabs(): the Makefile links unit tests without -lm. */
static double abs_diff(double a, double b)
{
    return a > b ? a - b : b - a;
}

static const struct dur_ok durations_ok[] = {
    { "5", 5.0 },
    { "0", 0.0 },
    { "0.5", 0.5 },
    { "0.1", 0.1 },
    { "0.001", 0.001 },
    { "007.50", 7.5 },
    { "2.25s", 2.25 },
    { "2.25S", 2.25 },
    { "10s", 10.0 },
    { "1500ms", 1.5 },
    { "1500MS", 1.5 },
    { "1ms", 0.001 },
    { "0.5ms", 0.0005 },
    { "86400", 86400.0 },
    { "1000000000", 1e9 },
    { "1000000000.5", 1000000000.5 },
    { "0.0000000000000000000000000001", 1e-28 },
    { "3.14159265358979323846264338327950288", 3.141592653589793 },
};

static const char *const durations_bad[] = {
    "", " ", " 1", "1 ", "\t1", "1\n", "5 s",
    "-1", "-0", "+1", "-0.5",
    "nan", "NaN", "inf", "Infinity", "-inf",
    "1e3", "1E3", "1e-3", "0x10", "0x1p3",
    "5.", ".5", ".", "1..5", "1.5.2",
    "5m", "5sec", "5ss", "5mss", "5h", "s", "ms", "5 ms", "1,5",
    "10000000000000",                  /* 1e13 s: beyond any sane bound */
    "99999999999999999999999999",
};

static void test_parse_duration_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(durations_ok); i++) {
        double v = -1;
        const char *err = NULL;
        int rc = pysb_parse_duration(durations_ok[i].in, &v, &err);
        double want = durations_ok[i].want;
        /* Exact for the short forms; the 1e-28 and pi rows keep 15
         * significant digits, so allow one part in 1e14 there. */
        if (rc != 0 || !(abs_diff(v, want) <= want * 1e-14))
            fail_msg("parse_duration(\"%s\") = %d, %.17g (%s); want %.17g",
                     durations_ok[i].in, rc, v, err ? err : "-", want);
    }
    /* The common ones are bit-exact, not just close. */
    double v;
    assert_int_equal(pysb_parse_duration("0.1", &v, NULL), 0);
    assert_true(v == 0.1);
    assert_int_equal(pysb_parse_duration("2.25s", &v, NULL), 0);
    assert_true(v == 2.25);
    assert_int_equal(pysb_parse_duration("1500ms", &v, NULL), 0);
    assert_true(v == 1.5);
    assert_int_equal(pysb_parse_duration("0.001", &v, NULL), 0);
    assert_true(v == 0.001);
}

static void test_parse_duration_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(durations_bad); i++) {
        double v = -1;
        const char *err = NULL;
        int rc = pysb_parse_duration(durations_bad[i], &v, &err);
        if (rc != -1 || err == NULL || err[0] == '\0' || v != -1)
            fail_msg("parse_duration(\"%s\") accepted (rc %d, %g)",
                     durations_bad[i], rc, v);
    }
    const char *err = NULL;
    double v;
    assert_int_equal(pysb_parse_duration(NULL, &v, &err), -1);
    assert_non_null(err);
    assert_int_equal(pysb_parse_duration("x", &v, NULL), -1);
}

/* ---- plain integers ------------------------------------------------- */

static void test_parse_uint(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned long long min, max, want;
        int rc;
    } rows[] = {
        { "0", 0, 10, 0, 0 },
        { "5", 1, 10, 5, 0 },
        { "1", 1, 10, 1, 0 },           /* min inclusive */
        { "10", 1, 10, 10, 0 },         /* max inclusive */
        { "0010", 1, 10, 10, 0 },
        { "0", 1, 10, 0, -1 },          /* below min */
        { "11", 1, 10, 0, -1 },         /* above max */
        { "4096", 1, 4096, 4096, 0 },
        { "4097", 1, 4096, 0, -1 },
        { "18446744073709551615", 0, ALL_ONES, ALL_ONES, 0 },
        { "18446744073709551616", 0, ALL_ONES, 0, -1 },
        { "99999999999999999999", 0, ALL_ONES, 0, -1 },
        { "", 0, 10, 0, -1 },
        { " 1", 0, 10, 0, -1 },
        { "1 ", 0, 10, 0, -1 },
        { "-1", 0, 10, 0, -1 },
        { "-0", 0, 10, 0, -1 },
        { "+1", 0, 10, 0, -1 },
        { "1.0", 0, 10, 0, -1 },
        { "1e1", 0, 100, 0, -1 },
        { "0x1", 0, 10, 0, -1 },
        { "1K", 0, 100000, 0, -1 },
        { "abc", 0, 10, 0, -1 },
    };

    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        unsigned long long v = 777;
        const char *err = NULL;
        int rc = pysb_parse_uint(rows[i].in, rows[i].min, rows[i].max, &v,
                                 &err);
        if (rc != rows[i].rc)
            fail_msg("parse_uint(\"%s\", %llu, %llu) = %d, want %d",
                     rows[i].in, rows[i].min, rows[i].max, rc, rows[i].rc);
        if (rc == 0 && v != rows[i].want)
            fail_msg("parse_uint(\"%s\") = %llu, want %llu", rows[i].in, v,
                     rows[i].want);
        if (rc != 0 && (v != 777 || err == NULL || err[0] == '\0'))
            fail_msg("parse_uint(\"%s\") failed without a reason or wrote",
                     rows[i].in);
    }
    unsigned long long v;
    assert_int_equal(pysb_parse_uint(NULL, 0, 1, &v, NULL), -1);
}

/* ---- validation ----------------------------------------------------- */

enum kind { K_SEC, K_U64, K_UINT };

struct bound_case {
    const char *field;
    enum kind kind;
    size_t off;
    double bad_lo, ok_lo, ok_hi, bad_hi;   /* values to try */
    const char *message;
};

#define MB (1ULL << 20)

static const struct bound_case bounds[] = {
    { "cpu_time", K_SEC, offsetof(pysb_limits, cpu_sec),
      0.0, 0.001, 86400.0, 86400.001,
      "cpu_time must be > 0 and at most 86400 seconds" },
    { "wall_time", K_SEC, offsetof(pysb_limits, wall_sec),
      0.0, 0.001, 86400.0, 86400.5,
      "wall_time must be > 0 and at most 86400 seconds" },
    { "memory", K_U64, offsetof(pysb_limits, memory_bytes),
      (double)(16 * MB - 1), (double)(16 * MB), (double)(1ULL << 40),
      (double)((1ULL << 40) + 1),
      "memory must be between 16M and 1T" },
    { "output", K_U64, offsetof(pysb_limits, output_bytes),
      0, 1, (double)(1ULL << 32), (double)((1ULL << 32) + 1),
      "output must be between 1 and 4G" },
    { "processes", K_UINT, offsetof(pysb_limits, processes),
      0, 1, 4096, 4097, "processes must be between 1 and 4096" },
    { "threads", K_UINT, offsetof(pysb_limits, threads),
      0, 1, 4096, 4097, "threads must be between 1 and 4096" },
    { "fsize", K_U64, offsetof(pysb_limits, fsize_bytes),
      0, 1, (double)(1ULL << 40), (double)((1ULL << 40) + 1),
      "fsize must be between 1 and 1T" },
    { "nofile", K_UINT, offsetof(pysb_limits, nofile),
      7, 8, 65536, 65537, "nofile must be between 8 and 65536" },
    { "stack", K_U64, offsetof(pysb_limits, stack_bytes),
      (double)(64 * 1024 - 1), (double)(64 * 1024), (double)(1ULL << 30),
      (double)((1ULL << 30) + 1),
      "stack must be between 64K and 1G" },
    /* 0 is no scratch at all: nothing below it to refuse */
    { "scratch", K_U64, offsetof(pysb_limits, scratch_bytes),
      (double)((16ULL << 30) + 1), 0, (double)(16ULL << 30), (double)((16ULL << 30) + 1),
      "scratch must be between 0 and 16G" },
    { "output_files", K_U64, offsetof(pysb_limits, out_files_bytes),
      (double)((16ULL << 20) + 1), 0, (double)(16ULL << 20), (double)((16ULL << 20) + 1),
      "output_files must be between 0 and 16M" },
};

static void set_field(pysb_limits *l, const struct bound_case *b, double v)
{
    char *p = (char *)l + b->off;
    switch (b->kind) {
    case K_SEC: { double d = v; memcpy(p, &d, sizeof d); break; }
    case K_U64: { uint64_t u = (uint64_t)v; memcpy(p, &u, sizeof u); break; }
    case K_UINT: { unsigned u = (unsigned)v; memcpy(p, &u, sizeof u); break; }
    }
}

static void test_validate_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bounds); i++) {
        const struct bound_case *b = &bounds[i];
        const double tries[4] = { b->bad_lo, b->ok_lo, b->ok_hi, b->bad_hi };
        for (int t = 0; t < 4; t++) {
            pysb_limits l;
            char err[128] = "untouched";
            pysb_limits_default(&l);
            set_field(&l, b, tries[t]);
            int rc = pysb_limits_validate(&l, err, sizeof err);
            int want_ok = (t == 1 || t == 2);
            if (want_ok && rc != 0)
                fail_msg("%s = %.17g refused: %s", b->field, tries[t], err);
            if (!want_ok && rc != -1)
                fail_msg("%s = %.17g accepted", b->field, tries[t]);
            if (!want_ok && strcmp(err, b->message) != 0)
                fail_msg("%s = %.17g: message \"%s\", want \"%s\"",
                         b->field, tries[t], err, b->message);
        }
    }
}

static void test_validate_odd_values(void **state)
{
    (void)state;
    pysb_limits l;
    char err[128];

    pysb_limits_default(&l);
    l.cpu_sec = NAN;
    assert_int_equal(pysb_limits_validate(&l, err, sizeof err), -1);
    assert_string_equal(err, "cpu_time must be > 0 and at most 86400 seconds");

    pysb_limits_default(&l);
    l.wall_sec = INFINITY;
    assert_int_equal(pysb_limits_validate(&l, err, sizeof err), -1);
    assert_non_null(strstr(err, "wall_time"));

    pysb_limits_default(&l);
    l.cpu_sec = -1;
    assert_int_equal(pysb_limits_validate(&l, err, sizeof err), -1);

    pysb_limits_default(&l);
    l.memory_bytes = UINT64_MAX;
    assert_int_equal(pysb_limits_validate(&l, err, sizeof err), -1);
    assert_string_equal(err, "memory must be between 16M and 1T");

    /* The first failing field (struct order) is the one reported. */
    pysb_limits_default(&l);
    l.stack_bytes = 0;
    l.processes = 0;
    assert_int_equal(pysb_limits_validate(&l, err, sizeof err), -1);
    assert_string_equal(err, "processes must be between 1 and 4096");

    /* A caller may not want the reason; a tiny buffer is truncated. */
    assert_int_equal(pysb_limits_validate(&l, NULL, 0), -1);
    char tiny[10];
    assert_int_equal(pysb_limits_validate(&l, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "processes");
    pysb_limits_default(&l);
    assert_int_equal(pysb_limits_validate(&l, NULL, 0), 0);
}

/* ---- formatting ----------------------------------------------------- */

static void test_format_size(void **state)
{
    (void)state;
    static const struct { uint64_t in; const char *want; } rows[] = {
        { 268435456, "256M" },
        { 1572864, "1536K" },
        { 1000, "1000" },
        { 1ULL << 40, "1T" },
        { 0, "0" },
        { 1, "1" },
        { 1023, "1023" },
        { 1024, "1K" },
        { 1025, "1025" },
        { 16ULL << 20, "16M" },
        { 3ULL << 30, "3G" },
        { 1ULL << 32, "4G" },
        { (1ULL << 30) + (1ULL << 20), "1025M" },
        { 1ULL << 50, "1024T" },
        { UINT64_MAX, "18446744073709551615" },
    };
    char buf[32];

    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        pysb_format_size(rows[i].in, buf, sizeof buf);
        if (strcmp(buf, rows[i].want) != 0)
            fail_msg("format_size(%llu) = \"%s\", want \"%s\"",
                     (unsigned long long)rows[i].in, buf, rows[i].want);
        /* What is printed parses back to the same number. */
        uint64_t back = 0;
        assert_int_equal(pysb_parse_size(buf, &back, NULL), 0);
        assert_int_equal(back, rows[i].in);
    }

    char small[3] = "xx";
    pysb_format_size(256ULL << 20, small, sizeof small);
    assert_string_equal(small, "25");
    pysb_format_size(1, small, 0);        /* no room: left untouched */
    assert_string_equal(small, "25");
}

/* ---- the table ------------------------------------------------------ */

static void test_table_rows(void **state)
{
    (void)state;
    pysb_limits l;
    pysb_limits_default(&l);
    assert_int_equal(pysb_limit_count, 11);
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        /* Found by its name, and nothing else is. */
        assert_ptr_equal(pysb_limit_find(d->key, strlen(d->key)), d);
        assert_null(pysb_limit_find(d->key, strlen(d->key) - 1));
        /* The default is in range and is what pysb_limits_default set. */
        assert_int_equal(pysb_limit_check(&l, d, NULL, 0), 0);
        if (d->kind == PYSB_LIMIT_SECONDS)
            assert_true(pysb_limit_seconds(&l, d) == d->def);
        else
            assert_int_equal(pysb_limit_amount(&l, d), (uint64_t)d->def);
        /* A limit a request may ask for is one its answers show. */
        if (d->flags & PYSB_LIMIT_PER_REQUEST)
            assert_true(d->flags & PYSB_LIMIT_SHOWN);
        /* Rows are in struct order, one field each. */
        if (i > 0)
            assert_true(d->offset > pysb_limit_table[i - 1].offset);
    }
    assert_null(pysb_limit_find("timeout", 7));
    assert_null(pysb_limit_find("", 0));
}

static void test_table_parse_format_compare(void **state)
{
    (void)state;
    const pysb_limit_def *cpu = pysb_limit_find("cpu_time", 8);
    const pysb_limit_def *mem = pysb_limit_find("memory", 6);
    const pysb_limit_def *thr = pysb_limit_find("threads", 7);
    pysb_limits a, b;
    const char *err = NULL;
    char buf[64];

    pysb_limits_default(&a);
    pysb_limits_default(&b);
    assert_int_equal(pysb_limit_parse(cpu, "1500ms", &a, &err), 0);
    assert_true(a.cpu_sec == 1.5);
    pysb_limit_format(&a, cpu, buf, sizeof buf);
    assert_string_equal(buf, "1.5 seconds");
    assert_int_equal(pysb_limit_parse(cpu, "1", &a, &err), 0);
    pysb_limit_format(&a, cpu, buf, sizeof buf);
    assert_string_equal(buf, "1 second");     /* contract9 N7 */
    assert_int_equal(pysb_limit_parse(cpu, "1500ms", &a, &err), 0);
    assert_int_equal(pysb_limit_compare(&a, &b, cpu), -1);

    assert_int_equal(pysb_limit_parse(mem, "1.5G", &a, &err), 0);
    assert_int_equal(a.memory_bytes, 1536ULL << 20);
    pysb_limit_format(&a, mem, buf, sizeof buf);
    assert_string_equal(buf, "1536M");
    assert_int_equal(pysb_limit_compare(&a, &b, mem), 1);
    assert_int_equal(pysb_limit_compare(&b, &b, mem), 0);

    assert_int_equal(pysb_limit_parse(thr, "8", &a, &err), 0);
    assert_int_equal(a.threads, 8);
    pysb_limit_format(&a, thr, buf, sizeof buf);
    assert_string_equal(buf, "8");

    /* Each kind's own parser, with its reason. */
    assert_int_equal(pysb_limit_parse(cpu, "5 s", &a, &err), -1);
    assert_non_null(strstr(err, "not a duration"));
    assert_int_equal(pysb_limit_parse(mem, "1.5", &a, &err), -1);
    assert_non_null(strstr(err, "no decimals"));
    assert_int_equal(pysb_limit_parse(thr, "4294967296", &a, &err), -1);
    assert_int_equal(a.threads, 8);              /* untouched on failure */

    /* A count that does not fit its field is refused, not wrapped. */
    assert_int_equal(pysb_limit_set_amount(&a, thr, 1ULL << 32), -1);
    assert_int_equal(a.threads, 8);

    /* The reason of a check names the row and its bounds. */
    a.memory_bytes = 1;
    assert_int_equal(pysb_limit_check(&a, mem, buf, sizeof buf), -1);
    assert_string_equal(buf, "memory must be between 16M and 1T");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_size_ok),
        cmocka_unit_test(test_parse_size_bad),
        cmocka_unit_test(test_parse_size_misc),
        cmocka_unit_test(test_parse_duration_ok),
        cmocka_unit_test(test_parse_duration_bad),
        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_validate_bounds),
        cmocka_unit_test(test_validate_odd_values),
        cmocka_unit_test(test_format_size),
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_table_parse_format_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
