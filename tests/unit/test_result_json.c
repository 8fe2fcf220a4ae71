/* test_result_json.c — pysb_result_from_json inverts pysb_result_to_json: the
 * worker renders responses from the supervisor's RESULT frame, so every
 * field must survive the trip, for every status. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "payload.h"
#include "render.h"

static pysb_result sample(pysb_status st)
{
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = st;
    r.exit_code = st == PYSB_NONZERO_EXIT ? 3 : st == PYSB_OK ? 0 : -1;
    r.signal = st == PYSB_SIGNAL ? SIGSEGV : st == PYSB_CPU_LIMIT ? SIGXCPU : 0;
    r.wall_sec = 1.234;
    r.cpu_sec = 0.5;
    r.user_sec = 0.375;
    r.system_sec = 0.125;
    r.memory_kb = 8123;
    r.bytes[0] = 10240;
    r.bytes[1] = 7;
    r.truncated[0] = st == PYSB_OUTPUT_LIMIT;
    r.landlock_abi = 7;
    r.warm = st % 2;  /* both modes go through */
    strcpy(r.run_id, "0b7d2c9e-6a51-4c3b-9f0e-2d5f8a1b3c4d");
    if (st == PYSB_INTERNAL_ERROR)
        strcpy(r.error, "seccomp: load: Invalid argument");
    if (st == PYSB_NONZERO_EXIT) {
        strcpy(r.exception, "numpy.linalg.LinAlgError");
        r.exception_line = 12;
        strcpy(r.limit_reached, "threads");
    }
    pysb_limits_default(&r.limits);
    r.limits.cpu_sec = 1.5;
    return r;
}

static void test_roundtrip_every_status(void **state)
{
    (void)state;
    for (int st = PYSB_OK; st <= PYSB_INTERNAL_ERROR; st++) {
        pysb_result a = sample((pysb_status)st), b;
        char *ja = pysb_result_to_json(&a, NULL, 0, NULL, 0);
        assert_non_null(ja);
        assert_int_equal(pysb_result_from_json(ja, strlen(ja), &b), 0);
        char *jb = pysb_result_to_json(&b, NULL, 0, NULL, 0);
        assert_string_equal(ja, jb);
        assert_string_equal(a.exception, b.exception);
        assert_int_equal(a.exception_line, b.exception_line);
        assert_string_equal(a.limit_reached, b.limit_reached);
        if (st == PYSB_NONZERO_EXIT)
            assert_non_null(strstr(ja, "\"exception\":\"numpy.linalg.LinAlgError\","
                                       "\"exception_line\":12,\"limit_reached\":\"threads\""));
        else
            assert_null(strstr(ja, "exception"));
        assert_int_equal(a.warm, b.warm);
        char ra[512], rb[512];
        pysb_format_report(&a, ra, sizeof ra);
        pysb_format_report(&b, rb, sizeof rb);
        assert_string_equal(ra, rb);
        free(ja);
        free(jb);
    }
}

static void test_rejects_non_results(void **state)
{
    (void)state;
    pysb_result r;
    const char *bad[] = { "", "[]", "{}", "{\"status\":\"weird\",\"limits\":{}}",
                          "{\"status\":\"ok\"}", "not json",
                          "{\"status\":\"signal\",\"signal\":\"SIGNOPE\",\"limits\":{}}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (pysb_result_from_json(bad[i], strlen(bad[i]), &r) == 0)
            fail_msg("accepted %s", bad[i]);
}

static void test_report_words(void **state)
{
    (void)state;
    pysb_result r = sample(PYSB_OK);
    char buf[512];
    pysb_format_report(&r, buf, sizeof buf);
    assert_string_equal(buf, "OK\nelapsed time: 1.234 seconds\nmemory usage: 8123 kbytes\n"
                             "cpu usage: 0.500 seconds\n");
    /* An internal error says why, after the four lines; without a reason
     * it is the four lines alone. */
    r = sample(PYSB_INTERNAL_ERROR);
    snprintf(r.error, sizeof r.error, "fork server lost the run: it died");
    pysb_format_report(&r, buf, sizeof buf);
    assert_string_equal(buf, "Internal Error\nelapsed time: 1.234 seconds\nmemory usage: 8123 kbytes\n"
                             "cpu usage: 0.500 seconds\nerror: fork server lost the run: it died\n");
    r.error[0] = '\0';
    pysb_format_report(&r, buf, sizeof buf);
    assert_string_equal(buf, "Internal Error\nelapsed time: 1.234 seconds\nmemory usage: 8123 kbytes\n"
                             "cpu usage: 0.500 seconds\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_status),
        cmocka_unit_test(test_rejects_non_results),
        cmocka_unit_test(test_report_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
