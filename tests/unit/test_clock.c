/* test_clock.c — unit tests of src/clock.c: the two readings of the one
 * monotonic clock agree and never go back; run ids are version 4 UUIDs,
 * different every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"

static void test_monotonic(void **state)
{
    (void)state;
    double s0 = pysb_monotonic();
    int64_t m0 = pysb_monotonic_ms();
    struct timespec nap = { 0, 20 * 1000 * 1000 };
    nanosleep(&nap, NULL);
    double s1 = pysb_monotonic();
    int64_t m1 = pysb_monotonic_ms();
    assert_true(s1 - s0 >= 0.019);
    assert_true(m1 - m0 >= 19);
    /* Same clock: the millisecond reading is the seconds reading, floored. */
    assert_true(m0 >= (int64_t)(s0 * 1000) - 1 && m0 <= (int64_t)(s1 * 1000));
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_run_ids(void **state)
{
    (void)state;
    char a[37], b[37];
    pysb_new_run_id(a);
    pysb_new_run_id(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_true(is_hex(a[i]));
    }
    assert_int_equal(a[14], '4');                    /* version 4 */
    assert_non_null(strchr("89ab", a[19]));          /* RFC 4122 variant */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_run_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
