/* test_ratelimit.c — unit tests of src/ratelimit.c: the first event
 * reports at once, the rest of a period is counted, the next report
 * carries the count and the span, a quiet period ends a burst, and
 * threads hitting at once lose no event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <pthread.h>

#include "ratelimit.h"

#define SEC 1000000LL

static void test_burst(void **state)
{
    (void)state;
    pysb_ratelimit l = PYSB_RATELIMIT_INIT(60 * SEC);
    int64_t span = -1;
    int64_t t = 1000 * SEC;
    assert_int_equal(pysb_ratelimit_hit(&l, t, &span), 1);     /* the first: at once */
    assert_int_equal(span, 0);
    for (int i = 0; i < 999; i++)                              /* counted */
        assert_int_equal(pysb_ratelimit_hit(&l, t + i * 50000, &span), 0);
    assert_int_equal(pysb_ratelimit_hit(&l, t + 61 * SEC, &span), 1000);
    assert_int_equal(span, 61 * SEC);
    /* a quiet hour, then one: reported at once, alone */
    assert_int_equal(pysb_ratelimit_hit(&l, t + 3661 * SEC, &span), 1);
    assert_int_equal(span, 3600 * SEC);
    assert_int_equal(pysb_ratelimit_hit(&l, t + 3662 * SEC, &span), 0);
    assert_int_equal(pysb_ratelimit_total(&l), 1003);
}

static pysb_ratelimit shared = PYSB_RATELIMIT_INIT(60 * SEC);
static uint64_t reported[4];

static void *hammer(void *arg)
{
    uint64_t *sum = arg;
    int64_t span;
    for (int i = 0; i < 100000; i++)
        *sum += pysb_ratelimit_hit(&shared, (int64_t)(i / 1000) * SEC + 1, &span);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &reported[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(pysb_ratelimit_total(&shared), 400000);
    /* every event is in some report but those of the last period */
    uint64_t sum = reported[0] + reported[1] + reported[2] + reported[3];
    assert_true(sum > 0 && sum <= 400000);
    assert_int_equal(sum + shared.count, 400000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
