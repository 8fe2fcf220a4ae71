/* test_form.c — query-string splitting and decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "form.h"

static void test_split(void **state)
{
    (void)state;
    const char *q = "a=1&&b=&c&user_script=print(%22x%22)&=v";
    const char *cur = q, *end = q + strlen(q), *n, *v;
    size_t nl, vl;
    const char *want[][2] = { { "a", "1" }, { "b", "" }, { "c", "" },
                              { "user_script", "print(%22x%22)" }, { "", "v" } };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_int_equal(pysb_form_next(&cur, end, &n, &nl, &v, &vl), 1);
        assert_int_equal(nl, strlen(want[i][0]));
        assert_memory_equal(n, want[i][0], nl);
        assert_int_equal(vl, strlen(want[i][1]));
        assert_memory_equal(v, want[i][1], vl);
    }
    assert_int_equal(pysb_form_next(&cur, end, &n, &nl, &v, &vl), 0);
    cur = "";
    assert_int_equal(pysb_form_next(&cur, cur, &n, &nl, &v, &vl), 0);
}

static void test_decode(void **state)
{
    (void)state;
    struct { const char *in; const char *out; size_t out_len; int rc; } t[] = {
        { "print(%22hi%22)", "print(\"hi\")", 11, 0 },
        { "a+b%2Bc", "a b+c", 5, 0 },
        { "%00%ff", "\0\xff", 2, 0 },
        { "%e2%82%AC", "\xe2\x82\xac", 3, 0 },
        { "", "", 0, 0 },
        { "%", NULL, 0, -1 },
        { "%4", NULL, 0, -1 },
        { "ab%4", NULL, 0, -1 },
        { "%G1", NULL, 0, -1 },
        { "%1g", NULL, 0, -1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char out[64];
        size_t n = 99;
        int rc = pysb_form_decode(t[i].in, strlen(t[i].in), out, &n);
        if (rc != t[i].rc)
            fail_msg("%s: rc %d", t[i].in, rc);
        if (rc == 0) {
            assert_int_equal(n, t[i].out_len);
            assert_memory_equal(out, t[i].out, n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
