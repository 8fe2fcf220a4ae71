/* test_payload_admit.c — unit tests of src/payload_admit.c: ADMIT,
 * QUEUED, BUSY/TOO_MANY payloads round-trip, and the decoders refuse what
 * the contract refuses (unknown keys, wrong types, out of range, a client
 * key that is not printable ASCII). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "payload.h"

static void test_admit_roundtrip(void **state)
{
    (void)state;
    pysb_admit a = { .per_client = 3, .queue_timeout_ms = 10000, .waited_ms = 250 };
    snprintf(a.run_id, sizeof a.run_id, "0f8e2c1a-1111-4222-8333-444455556666");
    snprintf(a.client, sizeof a.client, "ip:127.0.0.2");
    char err[160];
    char *j = pysb_admit_encode(&a, err, sizeof err);
    assert_non_null(j);
    pysb_admit b;
    assert_int_equal(pysb_admit_decode(j, strlen(j), &b, err, sizeof err), 0);
    assert_string_equal(b.run_id, a.run_id);
    assert_string_equal(b.client, "ip:127.0.0.2");
    assert_int_equal(b.per_client, 3);
    assert_int_equal(b.queue_timeout_ms, 10000);
    assert_int_equal(b.waited_ms, 250);
    free(j);

    /* The optional keys default to 0, the client to "". */
    const char *min = "{\"run_id\":\"r1\"}";
    assert_int_equal(pysb_admit_decode(min, strlen(min), &b, err, sizeof err), 0);
    assert_string_equal(b.client, "");
    assert_int_equal(b.per_client + b.queue_timeout_ms + b.waited_ms, 0);
}

static void test_admit_refused(void **state)
{
    (void)state;
    static const struct { const char *json, *why; } bad[] = {
        { "{}", "missing key \"run_id\"" },
        { "{\"run_id\":\"a b\"}", "run_id may only contain" },
        { "{\"run_id\":\"r\",\"code\":\"x\"}", "unknown key \"code\"" },
        { "{\"run_id\":\"r\",\"client\":7}", "client must be a string" },
        { "{\"run_id\":\"r\",\"client\":\"a\\nb\"}", "printable ASCII" },
        { "{\"run_id\":\"r\",\"client\":\"\\u00e9\"}", "printable ASCII" },
        { "{\"run_id\":\"r\",\"per_client\":-1}", "per_client must be an integer in 0..100000" },
        { "{\"run_id\":\"r\",\"per_client\":100001}", "per_client must be an integer" },
        { "{\"run_id\":\"r\",\"queue_timeout_ms\":3600001}", "queue_timeout_ms must be" },
        { "{\"run_id\":\"r\",\"waited_ms\":1.5}", "waited_ms must be" },
        { "{\"run_id\":\"r\",\"run_id\":\"s\"}", "not valid JSON" },
        { "[1]", "not a JSON object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pysb_admit a;
        char err[160] = "";
        assert_int_equal(pysb_admit_decode(bad[i].json, strlen(bad[i].json), &a, err,
                                           sizeof err), -1);
        if (!strstr(err, bad[i].why))
            fail_msg("%s: \"%s\", want \"%s\"", bad[i].json, err, bad[i].why);
    }
    /* A client key of 129 bytes is too long; 128 fits. */
    char json[400];
    snprintf(json, sizeof json, "{\"run_id\":\"r\",\"client\":\"%0129d\"}", 0);
    pysb_admit a;
    char err[160];
    assert_int_equal(pysb_admit_decode(json, strlen(json), &a, err, sizeof err), -1);
    snprintf(json, sizeof json, "{\"run_id\":\"r\",\"client\":\"%0128d\"}", 0);
    assert_int_equal(pysb_admit_decode(json, strlen(json), &a, err, sizeof err), 0);

    /* The encoder checks what the decoder checks. */
    pysb_admit e = { .per_client = 100001 };
    snprintf(e.run_id, sizeof e.run_id, "r");
    errno = 0;
    assert_null(pysb_admit_encode(&e, err, sizeof err));
    assert_int_equal(errno, EINVAL);
    e.per_client = 0;
    e.client[0] = '\t';
    assert_null(pysb_admit_encode(&e, err, sizeof err));
    e.client[0] = '\0';
    e.run_id[0] = '\0';
    assert_null(pysb_admit_encode(&e, err, sizeof err));
}

static void test_queued(void **state)
{
    (void)state;
    char *j = pysb_queued_encode(3, 7);
    assert_non_null(j);
    assert_string_equal(j, "{\"position\":3,\"queued\":7}");
    unsigned p, q;
    char err[160];
    assert_int_equal(pysb_queued_decode(j, strlen(j), &p, &q, err, sizeof err), 0);
    assert_int_equal(p, 3);
    assert_int_equal(q, 7);
    free(j);
    assert_null(pysb_queued_encode(0, 1));
    assert_null(pysb_queued_encode(2, 1));
    const char *bad = "{\"position\":5,\"queued\":4}";
    assert_int_equal(pysb_queued_decode(bad, strlen(bad), &p, &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "position after the end"));
}

static void test_refusal(void **state)
{
    (void)state;
    for (int r = 0; r < PYSB_REFUSE_COUNT; r++) {
        char *j = pysb_refusal_encode((pysb_refuse_reason)r, 42);
        assert_non_null(j);
        pysb_refuse_reason got;
        unsigned after;
        char err[160];
        assert_int_equal(pysb_refusal_decode(j, strlen(j), &got, &after, err, sizeof err), 0);
        assert_int_equal(got, r);
        assert_int_equal(after, 42);
        assert_non_null(strstr(j, pysb_refuse_name((pysb_refuse_reason)r)));
        free(j);
    }
    assert_string_equal(pysb_refuse_name(PYSB_REFUSE_QUEUE_FULL), "queue_full");
    assert_string_equal(pysb_refuse_name(PYSB_REFUSE_CLIENT), "client_limit");
    /* An empty BUSY, from a launcher of an older build. */
    pysb_refuse_reason got = PYSB_REFUSE_CLIENT;
    unsigned after = 0;
    char err[160];
    assert_int_equal(pysb_refusal_decode("", 0, &got, &after, err, sizeof err), 0);
    assert_int_equal(got, PYSB_REFUSE_SLOTS);
    assert_int_equal(after, 1);
    assert_null(pysb_refusal_encode(PYSB_REFUSE_SLOTS, 0));
    assert_null(pysb_refusal_encode(PYSB_REFUSE_SLOTS, PYSB_RETRY_AFTER_MAX + 1));
    const char *bad = "{\"retry_after\":3,\"reason\":\"tired\"}";
    assert_int_equal(pysb_refusal_decode(bad, strlen(bad), &got, &after, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown reason \"tired\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit_roundtrip),
        cmocka_unit_test(test_admit_refused),
        cmocka_unit_test(test_queued),
        cmocka_unit_test(test_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
