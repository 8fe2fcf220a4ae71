/* test_utf8.c — unit tests of src/utf8.c: validity and the sanitizer
 * against what Python's bytes.decode('utf-8', 'replace') gives, and the
 * tail a streamer holds back between chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD "\xEF\xBF\xBD"
/* A literal and its length, NULs included. */
#define S(lit) lit, sizeof(lit) - 1

struct utf8_case {
    const char *in;
    size_t in_len;
    const char *want;
    size_t want_len;
};

/* Expected outputs are those of Python's bytes.decode('utf-8', 'replace'). */
static const struct utf8_case utf8_cases[] = {
    { S(""), S("") },
    { S("hello, world\n"), S("hello, world\n") },
    { S("\xC3\xA9"), S("\xC3\xA9") },                       /* é */
    { S("\xE2\x82\xAC"), S("\xE2\x82\xAC") },               /* € */
    { S("\xF0\x9F\x98\x80"), S("\xF0\x9F\x98\x80") },       /* 😀 */
    { S("\xC2\x80"), S("\xC2\x80") },                       /* U+0080 */
    { S("\xE0\xA0\x80"), S("\xE0\xA0\x80") },               /* U+0800 */
    { S("\xED\x9F\xBF"), S("\xED\x9F\xBF") },               /* U+D7FF */
    { S("\xEE\x80\x80"), S("\xEE\x80\x80") },               /* U+E000 */
    { S("\xEF\xBF\xBF"), S("\xEF\xBF\xBF") },               /* U+FFFF */
    { S("\xF0\x90\x80\x80"), S("\xF0\x90\x80\x80") },       /* U+10000 */
    { S("\xF4\x8F\xBF\xBF"), S("\xF4\x8F\xBF\xBF") },       /* U+10FFFF */
    { S("a\0b"), S("a\0b") },                               /* NUL kept */
    { S("\0"), S("\0") },
    { S("\x80"), S(FFFD) },                                 /* lone cont. */
    { S("a\x80" "b"), S("a" FFFD "b") },
    { S("\xBF\xBF"), S(FFFD FFFD) },
    { S("\xff"), S(FFFD) },
    { S("\xfe\xff"), S(FFFD FFFD) },
    { S("\xE2\x82"), S(FFFD) },                             /* truncated */
    { S("\xE2\x82" "a"), S(FFFD "a") },
    { S("\xE2"), S(FFFD) },
    { S("\xC2"), S(FFFD) },
    { S("\xC2" "A"), S(FFFD "A") },
    { S("\xF0\x9F\x98"), S(FFFD) },
    { S("\xF0\x9F\x98" "a"), S(FFFD "a") },
    { S("\xF0\x9F\x98\xF0\x9F\x98\x80"), S(FFFD "\xF0\x9F\x98\x80") },
    { S("\xC0\xAF"), S(FFFD FFFD) },                        /* overlong / */
    { S("\xC1\xBF"), S(FFFD FFFD) },
    { S("\xE0\x80\xAF"), S(FFFD FFFD FFFD) },               /* overlong */
    { S("\xF0\x80\x80\xAF"), S(FFFD FFFD FFFD FFFD) },
    { S("\xED\xA0\x80"), S(FFFD FFFD FFFD) },               /* surrogate */
    { S("\xED\xBF\xBF"), S(FFFD FFFD FFFD) },
    { S("\xF4\x90\x80\x80"), S(FFFD FFFD FFFD FFFD) },      /* > 10FFFF */
    { S("\xF5\x80\x80\x80"), S(FFFD FFFD FFFD FFFD) },
    { S("\xF8\x88\x80\x80\x80"), S(FFFD FFFD FFFD FFFD FFFD) },
    { S("\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41"),             /* Unicode 3-8 */
      S(FFFD FFFD FFFD FFFD "A") },
    { S("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
      S("a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d") },
};

static void test_utf8_sanitize(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        size_t n = 999;
        char *out = pysb_utf8_sanitize(c->in, c->in_len, &n);
        assert_non_null(out);
        if (n != c->want_len || memcmp(out, c->want, n) != 0)
            fail_msg("sanitize case #%zu: got %zu bytes, want %zu", i, n,
                     c->want_len);
        assert_int_equal(out[n], '\0');
        int valid = c->in_len == c->want_len &&
                    memcmp(c->in, c->want, c->in_len) == 0;
        if (pysb_utf8_valid(c->in, c->in_len) != valid)
            fail_msg("utf8_valid case #%zu: got %d", i, !valid);
        /* Whatever comes out is valid and a fixed point. */
        assert_true(pysb_utf8_valid(out, n));
        free(out);
    }
    /* out_len is optional. */
    char *out = pysb_utf8_sanitize("x\xff", 2, NULL);
    assert_string_equal(out, "x" FFFD);
    free(out);
}

/* Every cut of a text into two chunks: holding back the incomplete tail of
 * the first and sanitizing each part gives the same characters as the whole
 * (a valid text never turns into U+FFFD because of where it was cut). */
/* Cc: C0, DEL and C1 (two bytes, C2 80..9F); nothing else, not the
 * second byte alone, not a C2 cut short. */
static void test_control_at(void **state)
{
    (void)state;
    static const struct { const char *s; size_t i, want; } rows[] = {
        { "a\tb", 1, 1 }, { "\x1f", 0, 1 }, { "\x7f", 0, 1 }, { " ", 0, 0 },
        { "a\xc2\x85" "b", 1, 2 }, { "\xc2\x80", 0, 2 }, { "\xc2\x9f", 0, 2 },
        { "\xc2\xa0", 0, 0 }, { "\xc2\x85", 1, 0 }, { "\xc2", 0, 0 },
        { "\xe2\x80\xa8", 0, 0 }, { "\xc3\xa9", 0, 0 },
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        if (pysb_utf8_control_at(rows[k].s, strlen(rows[k].s), rows[k].i) != rows[k].want)
            fail_msg("row %zu", k);
}

static void test_incomplete_tail_cuts(void **state)
{
    (void)state;
    static const char text[] = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d";
    const size_t len = sizeof text - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        size_t hold = pysb_utf8_incomplete_tail(text, cut);
        assert_true(hold <= 3 && hold <= cut);
        /* What goes out now is valid on its own... */
        assert_true(pysb_utf8_valid(text, cut - hold));
        /* ...and the held bytes plus the rest are too. */
        assert_true(pysb_utf8_valid(text + cut - hold, len - (cut - hold)));
    }
}

static void test_incomplete_tail_rows(void **state)
{
    (void)state;
    static const struct { const char *in; size_t len; size_t want; } rows[] = {
        { S(""), 0 },
        { S("abc"), 0 },
        { S("\xC3"), 1 },                     /* é cut after its lead byte */
        { S("x\xE2\x82"), 2 },                /* € missing its last byte */
        { S("\xE2"), 1 },
        { S("\xF0\x9F\x98"), 3 },
        { S("\xF0\x9F"), 2 },
        { S("\xF0"), 1 },
        { S("\xC3\xA9"), 0 },                 /* complete */
        { S("\xF0\x9F\x98\x80"), 0 },
        { S("\xFF"), 0 },                     /* can never start one */
        { S("\xC0"), 0 },
        { S("\xC1"), 0 },
        { S("\xF5"), 0 },
        { S("\x80"), 0 },                     /* stray continuation */
        { S("\x80\x80\x80"), 0 },
        { S("a\x80\x80\x80"), 0 },            /* looks back 3 bytes only */
        { S("\xE2\x82\xAC\xE2"), 1 },
    };
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        size_t got = pysb_utf8_incomplete_tail(rows[i].in, rows[i].len);
        if (got != rows[i].want)
            fail_msg("row #%zu: hold %zu, want %zu", i, got, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_control_at),
        cmocka_unit_test(test_incomplete_tail_cuts),
        cmocka_unit_test(test_incomplete_tail_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
