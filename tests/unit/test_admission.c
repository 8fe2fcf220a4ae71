/* test_admission.c — unit tests of src/admission.c: who gets a slot, who
 * waits and in which order, who is refused and why, client shares, queue
 * deadlines, and Retry-After from the drain rate. Pure bookkeeping, so
 * the clock is the test's: every "now" is made up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admission.h"

static pysb_admit admit_of(const char *client, unsigned per_client, unsigned timeout_ms)
{
    pysb_admit a = { .per_client = per_client, .queue_timeout_ms = timeout_ms };
    snprintf(a.run_id, sizeof a.run_id, "r-%s", client);
    snprintf(a.client, sizeof a.client, "%s", client);
    return a;
}

static pysb_waiter *waiter(const char *client, unsigned per_client, unsigned timeout_ms,
                           int64_t since)
{
    pysb_waiter *w = calloc(1, sizeof *w);
    w->admit = admit_of(client, per_client, timeout_ms);
    w->since_ms = since;
    return w;
}

static void test_run_then_wait_then_full(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(2, 2);
    pysb_refuse_reason why;
    pysb_admit a = admit_of("ip:1", 0, 5000);
    assert_int_equal(pysb_admission_decide(q, &a, 0, &why), PYSB_ADMIT_RUN);
    assert_int_equal(pysb_admission_decide(q, &a, 1, &why), PYSB_ADMIT_RUN);
    assert_int_equal(pysb_admission_decide(q, &a, 2, &why), PYSB_ADMIT_WAIT);
    pysb_waiter *w1 = waiter("ip:1", 0, 5000, 100), *w2 = waiter("ip:2", 0, 5000, 101);
    assert_int_equal(pysb_admission_enqueue(q, w1), 1);
    assert_int_equal(pysb_admission_enqueue(q, w2), 2);
    assert_int_equal(pysb_admission_queued(q), 2);
    /* Every slot busy and every place taken. */
    assert_int_equal(pysb_admission_decide(q, &a, 2, &why), PYSB_ADMIT_REFUSE);
    assert_int_equal(why, PYSB_REFUSE_QUEUE_FULL);
    /* A request that may not wait is refused at once. */
    pysb_admit now = admit_of("ip:3", 0, 0);
    assert_int_equal(pysb_admission_decide(q, &now, 2, &why), PYSB_ADMIT_REFUSE);
    assert_int_equal(why, PYSB_REFUSE_SLOTS);
    /* With a slot free but waiters that may take it, a newcomer queues:
     * arrival order. */
    pysb_admission_remove(q, w2);
    assert_int_equal(pysb_admission_decide(q, &a, 1, &why), PYSB_ADMIT_WAIT);
    assert_ptr_equal(pysb_admission_next(q), w1);
    pysb_admission_remove(q, w1);
    assert_int_equal(pysb_admission_queued(q), 0);
    assert_null(pysb_admission_next(q));
    assert_int_equal(pysb_admission_decide(q, &a, 1, &why), PYSB_ADMIT_RUN);
    /* No queue at all: nobody waits. */
    pysb_admission *none = pysb_admission_new(1, 0);
    assert_int_equal(pysb_admission_decide(none, &a, 1, &why), PYSB_ADMIT_REFUSE);
    assert_int_equal(why, PYSB_REFUSE_SLOTS);
    pysb_admission_free(none);
    free(w1);
    free(w2);
    pysb_admission_free(q);
}

static void test_arrival_order(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(1, 10);
    pysb_waiter *w[5];
    for (int i = 0; i < 4; i++) {
        char c[16];
        snprintf(c, sizeof c, "c%d", i);
        w[i] = waiter(c, 0, 5000, 1000 + i * 10);
        assert_int_equal(pysb_admission_enqueue(q, w[i]), (unsigned)i + 1);
    }
    /* Re-admitted after a launcher restart: it came at 1005, so it goes
     * second, ahead of later arrivals. */
    w[4] = waiter("old", 0, 5000, 1005);
    assert_int_equal(pysb_admission_enqueue(q, w[4]), 2);
    const int want[] = { 0, 4, 1, 2, 3 };
    for (int i = 0; i < 5; i++) {
        pysb_waiter *n = pysb_admission_next(q);
        assert_ptr_equal(n, w[want[i]]);
        pysb_admission_remove(q, n);
    }
    assert_null(pysb_admission_first(q));
    /* Removal from the middle keeps the others in order. */
    for (int i = 0; i < 3; i++)
        pysb_admission_enqueue(q, w[i]);
    pysb_admission_remove(q, w[1]);
    assert_int_equal(pysb_admission_position(q, w[2]), 2);
    assert_int_equal(pysb_admission_position(q, w[1]), 0);
    pysb_admission_remove(q, w[1]); /* not queued: nothing */
    assert_int_equal(pysb_admission_queued(q), 2);
    pysb_admission_remove(q, w[0]);
    pysb_admission_remove(q, w[2]);
    for (int i = 0; i < 5; i++)
        free(w[i]);
    pysb_admission_free(q);
}

/* A client with per_client n holds n slots and n places; beyond both,
 * TOO_MANY; while at its share of slots its waiters are passed over. */
static void test_client_share(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(4, 20);
    pysb_refuse_reason why;
    pysb_admit flood = admit_of("ip:127.0.0.2", 2, 5000);
    assert_int_equal(pysb_admission_decide(q, &flood, 0, &why), PYSB_ADMIT_RUN);
    pysb_admission_run_started(q, flood.client);
    assert_int_equal(pysb_admission_decide(q, &flood, 1, &why), PYSB_ADMIT_RUN);
    pysb_admission_run_started(q, flood.client);
    /* Two slots of four free, but this client has its share: it waits. */
    assert_int_equal(pysb_admission_decide(q, &flood, 2, &why), PYSB_ADMIT_WAIT);
    pysb_waiter *f1 = waiter(flood.client, 2, 5000, 10), *f2 = waiter(flood.client, 2, 5000, 11);
    pysb_admission_enqueue(q, f1);
    pysb_admission_enqueue(q, f2);
    assert_int_equal(pysb_admission_decide(q, &flood, 2, &why), PYSB_ADMIT_REFUSE);
    assert_int_equal(why, PYSB_REFUSE_CLIENT);
    unsigned running, queued;
    pysb_admission_client(q, flood.client, &running, &queued);
    assert_int_equal(running, 2);
    assert_int_equal(queued, 2);
    /* Another client gets a free slot at once: the flood's waiters are
     * not eligible, so they are not "ahead" of it. */
    pysb_admit other = admit_of("ip:127.0.0.1", 2, 5000);
    assert_null(pysb_admission_next(q));
    assert_int_equal(pysb_admission_decide(q, &other, 2, &why), PYSB_ADMIT_RUN);
    pysb_admission_run_started(q, other.client);
    /* Once the other client waits too, it is served before the flood's
     * waiters, which came first but may not run. */
    pysb_waiter *o1 = waiter(other.client, 2, 5000, 20);
    pysb_admission_enqueue(q, o1);
    assert_ptr_equal(pysb_admission_next(q), o1);
    pysb_admission_remove(q, o1);
    /* One of the flood's runs ends: its oldest waiter is next. */
    pysb_admission_run_ended(q, flood.client, 200, 1000);
    assert_ptr_equal(pysb_admission_next(q), f1);
    /* Without a share (per_client 0) nobody is limited. */
    pysb_admit free_for_all = admit_of("ip:127.0.0.2", 0, 5000);
    assert_int_equal(pysb_admission_decide(q, &free_for_all, 3, &why), PYSB_ADMIT_WAIT);
    pysb_admission_remove(q, f1);
    pysb_admission_remove(q, f2);
    free(f1);
    free(f2);
    free(o1);
    pysb_admission_free(q);
}

static void test_deadlines(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(1, 10);
    assert_int_equal(pysb_admission_next_deadline(q), -1);
    pysb_waiter *a = waiter("a", 0, 3000, 1000), *b = waiter("b", 0, 1000, 1500);
    pysb_admission_enqueue(q, a);
    pysb_admission_enqueue(q, b);
    /* Each waiter has its own Location's timeout: b's ends first. */
    assert_int_equal(pysb_admission_next_deadline(q), 2500);
    assert_null(pysb_admission_expired(q, 2499));
    assert_ptr_equal(pysb_admission_expired(q, 2500), b);
    pysb_admission_remove(q, b);
    assert_int_equal(pysb_admission_next_deadline(q), 4000);
    assert_ptr_equal(pysb_admission_expired(q, 5000), a);
    pysb_admission_remove(q, a);
    free(a);
    free(b);
    pysb_admission_free(q);
}

/* The drain rate follows completions; Retry-After is the queue ahead
 * over it, or a run's wall time for a client at its share. */
static void test_drain_and_retry_after(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(4, 100);
    int64_t t = 1000000;
    /* Nothing known yet: 1 s. */
    assert_int_equal(pysb_admission_retry_after(q, PYSB_REFUSE_QUEUE_FULL, t), 1);
    /* Four completions a second for a minute. */
    for (int i = 0; i < 240; i++) {
        t += 250;
        pysb_admission_run_started(q, "c");
        pysb_admission_run_ended(q, "c", 1000, t);
    }
    double rate = pysb_admission_drain_rate(q, t);
    assert_true(rate > 3.7 && rate < 4.3);
    /* 39 waiters ahead of a 40th: 40 / 4 = 10 s. */
    pysb_waiter *w[39];
    for (int i = 0; i < 39; i++) {
        w[i] = waiter("c", 0, 60000, t);
        pysb_admission_enqueue(q, w[i]);
    }
    unsigned after = pysb_admission_retry_after(q, PYSB_REFUSE_QUEUE_FULL, t);
    assert_true(after >= 9 && after <= 11);
    /* A client at its share: about one run, 1 s. */
    assert_int_equal(pysb_admission_retry_after(q, PYSB_REFUSE_CLIENT, t), 1);
    /* The rate forgets: a minute of nothing later it is near 0, and the
     * wall time per slot takes over (40 × 1 s / 4 slots). */
    t += 60000;
    assert_true(pysb_admission_drain_rate(q, t) < 0.02);
    after = pysb_admission_retry_after(q, PYSB_REFUSE_QUEUE_TIMEOUT, t);
    assert_int_equal(after, 10);
    /* Never above two minutes. */
    for (int i = 0; i < 39; i++)
        pysb_admission_remove(q, w[i]);
    pysb_admission_run_started(q, "slow");
    pysb_admission_run_ended(q, "slow", 10000000, t);
    assert_int_equal(pysb_admission_retry_after(q, PYSB_REFUSE_CLIENT, t), 120);
    for (int i = 0; i < 39; i++)
        free(w[i]);
    pysb_admission_free(q);
}

/* Client records come and go with what they hold. */
static void test_clients_forgotten(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(100, 100);
    char key[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "ip:10.0.%d.%d", i / 256, i % 256);
        assert_int_equal(pysb_admission_run_started(q, key), 0);
    }
    unsigned r, w;
    pysb_admission_client(q, "ip:10.0.11.183", &r, &w);
    assert_int_equal(r, 1);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "ip:10.0.%d.%d", i / 256, i % 256);
        pysb_admission_run_ended(q, key, 5, i);
    }
    pysb_admission_client(q, "ip:10.0.11.183", &r, &w);
    assert_int_equal(r + w, 0);
    /* An end without a start (a run of an earlier launcher) is harmless. */
    pysb_admission_run_ended(q, "nobody", 5, 5000);
    pysb_admission_free(q);
}

/* At most one warning a minute: the first refusal at once, the rest
 * summed by reason when their minute is over; a quiet minute resets. */
static void test_refusal_summary(void **state)
{
    (void)state;
    pysb_admission *q = pysb_admission_new(1, 1);
    uint64_t n[PYSB_REFUSE_COUNT];
    int64_t span;
    assert_int_equal(pysb_admission_summary_due(q), -1);
    assert_int_equal(pysb_admission_refused(q, PYSB_REFUSE_QUEUE_FULL, 1000), 1);
    for (int i = 0; i < 500; i++)
        assert_int_equal(pysb_admission_refused(q, PYSB_REFUSE_QUEUE_FULL, 1000 + i), 0);
    for (int i = 0; i < 7; i++)
        pysb_admission_refused(q, PYSB_REFUSE_CLIENT, 2000);
    assert_int_equal(pysb_admission_summary_due(q), 61000);
    assert_int_equal(pysb_admission_summary(q, 60999, n, &span), 0);
    assert_int_equal(pysb_admission_summary(q, 61000, n, &span), 1);
    assert_int_equal(n[PYSB_REFUSE_QUEUE_FULL], 500);
    assert_int_equal(n[PYSB_REFUSE_CLIENT], 7);
    assert_int_equal(n[PYSB_REFUSE_QUEUE_TIMEOUT], 0);
    assert_int_equal(span, 60000);
    /* The next minute: one more, summed at its end. */
    assert_int_equal(pysb_admission_refused(q, PYSB_REFUSE_QUEUE_TIMEOUT, 70000), 0);
    assert_int_equal(pysb_admission_summary(q, 121000, n, &span), 1);
    assert_int_equal(n[PYSB_REFUSE_QUEUE_TIMEOUT], 1);
    /* A quiet minute: nothing to say, and the next refusal is told again. */
    assert_int_equal(pysb_admission_summary(q, 181000, n, &span), 0);
    assert_int_equal(pysb_admission_summary_due(q), -1);
    assert_int_equal(pysb_admission_refused(q, PYSB_REFUSE_SLOTS, 200000), 1);
    pysb_admission_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_then_wait_then_full),
        cmocka_unit_test(test_arrival_order),
        cmocka_unit_test(test_client_share),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_drain_and_retry_after),
        cmocka_unit_test(test_clients_forgotten),
        cmocka_unit_test(test_refusal_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
