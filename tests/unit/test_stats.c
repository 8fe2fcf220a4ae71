/* test_stats.c — unit tests of src/stats.c: the counters' file is made,
 * kept across a re-open (a restarted launcher, a graceful restart),
 * started afresh when its layout is another build's, grown but never
 * shrunk; forked processes count into it at once without losing a count;
 * slots record runs and a late clear never erases the next run; the
 * histograms' quantiles. Runs in a temporary directory, no root needed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stats.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pysb-stats.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/pysandbox.1.stats", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void test_kept_across_reopen(void **state)
{
    (void)state;
    pysb_stats s;
    unlink(path);
    assert_int_equal(pysb_stats_open(&s, path, 4), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    int64_t created = s.f->created;
    assert_true(created > 1600000000);
    pysb_stats_launcher(&s, 111, 0);
    pysb_stats_count(&s, PYSB_C_REFUSED_FULL, 3);
    pysb_stats_verdict(&s, PYSB_OK, 12);
    pysb_stats_verdict(&s, PYSB_CPU_LIMIT, 1500);
    pysb_stats_close(&s);

    /* The next launcher: same counters, one more start, a restart. */
    assert_int_equal(pysb_stats_open(&s, path, 4), 0);
    pysb_stats_launcher(&s, 222, 1);
    assert_int_equal(s.f->created, created);
    assert_int_equal(s.f->counter[PYSB_C_REFUSED_FULL], 3);
    assert_int_equal(s.f->counter[PYSB_C_LAUNCHER_STARTS], 2);
    assert_int_equal(s.f->counter[PYSB_C_LAUNCHER_RESTARTS], 1);
    assert_int_equal(s.f->launcher_pid, 222);
    assert_int_equal(s.f->verdict[PYSB_OK], 1);
    assert_int_equal(s.f->verdict[PYSB_CPU_LIMIT], 1);
    assert_int_equal(pysb_hist_total(&s.f->run_wall), 2);
    assert_int_equal(s.f->run_wall.sum_ms, 1512);
    /* More slots: grown, counters kept; fewer later: never shrunk. */
    pysb_stats_close(&s);
    assert_int_equal(pysb_stats_open(&s, path, 64), 0);
    assert_int_equal(pysb_stats_nslots(&s), 64);
    assert_int_equal(s.f->counter[PYSB_C_REFUSED_FULL], 3);
    pysb_stats_close(&s);
    assert_int_equal(pysb_stats_open(&s, path, 2), 0);
    assert_int_equal(pysb_stats_nslots(&s), 64);
    pysb_stats_close(&s);
}

static void test_other_layout_starts_afresh(void **state)
{
    (void)state;
    pysb_stats s;
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    char junk[4096];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(pysb_stats_open(&s, path, 4), 0);
    assert_int_equal(s.f->counter[PYSB_C_ADMITTED], 0);
    assert_int_equal(s.f->verdict[PYSB_OK], 0);
    pysb_stats_slot slot;
    assert_int_equal(pysb_stats_slot_get(&s, 3, &slot), 0);
    pysb_stats_close(&s);
    /* A symlink is not followed. */
    unlink(path);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    errno = 0;
    assert_int_equal(pysb_stats_open(&s, path, 4), -1);
    assert_int_equal(errno, ELOOP);
    assert_null(s.f);
    /* Unmapped: every update is a no-op, nothing crashes. */
    pysb_stats_count(&s, PYSB_C_ADMITTED, 1);
    pysb_stats_verdict(&s, PYSB_OK, 1);
    pysb_stats_slot_set(&s, 0, 1, 1, "r", "c", 0);
    pysb_stats_count(NULL, PYSB_C_ADMITTED, 1);
    assert_int_equal(pysb_stats_nslots(&s), 0);
    unlink(path);
}

/* Eight processes count 10 000 times each into one file at once. */
static void test_concurrent_counts(void **state)
{
    (void)state;
    pysb_stats s;
    unlink(path);
    assert_int_equal(pysb_stats_open(&s, path, 8), 0);
    pid_t kids[8];
    for (int k = 0; k < 8; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            for (int i = 0; i < 10000; i++) {
                pysb_stats_count(&s, PYSB_C_ADMITTED, 1);
                pysb_stats_verdict(&s, (pysb_status)(i % 3), i % 50);
                pysb_stats_slot_set(&s, (unsigned)k, getpid(), 600000 + k, "run", "client", i);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 8; k++) {
        int st;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(s.f->counter[PYSB_C_ADMITTED], 80000);
    assert_int_equal(s.f->verdict[0] + s.f->verdict[1] + s.f->verdict[2], 80000);
    assert_int_equal(pysb_hist_total(&s.f->run_wall), 80000);
    for (int k = 0; k < 8; k++) {
        pysb_stats_slot sl;
        assert_int_equal(pysb_stats_slot_get(&s, (unsigned)k, &sl), 1);
        assert_int_equal(sl.pid, kids[k]);
        assert_int_equal(sl.uid, 600000 + k);
        assert_int_equal(sl.started_ms, 9999);
        assert_string_equal(sl.run_id, "run");
    }
    pysb_stats_close(&s);
}

static void test_slots(void **state)
{
    (void)state;
    pysb_stats s;
    unlink(path);
    assert_int_equal(pysb_stats_open(&s, path, 2), 0);
    pysb_stats_slot sl;
    pysb_stats_slot_set(&s, 1, 100, 600001, "aaaa-bbbb", "ip:127.0.0.2", 5);
    assert_int_equal(pysb_stats_slot_get(&s, 1, &sl), 1);
    assert_string_equal(sl.client, "ip:127.0.0.2");
    /* The next run took the slot before the last one was reaped: a late
     * clear for pid 100 leaves pid 200's record alone. */
    pysb_stats_slot_set(&s, 1, 200, 600001, "cccc", "ip:127.0.0.3", 6);
    pysb_stats_slot_clear(&s, 1, 100);
    assert_int_equal(pysb_stats_slot_get(&s, 1, &sl), 1);
    assert_int_equal(sl.pid, 200);
    pysb_stats_slot_clear(&s, 1, 200);
    assert_int_equal(pysb_stats_slot_get(&s, 1, &sl), 0);
    /* Out of range: ignored. */
    pysb_stats_slot_set(&s, 2, 300, 1, "x", "y", 0);
    assert_int_equal(pysb_stats_slot_get(&s, 2, &sl), 0);
    /* Over-long strings are cut, still NUL-terminated. */
    char longer[300];
    memset(longer, 'k', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    pysb_stats_slot_set(&s, 0, 400, 1, longer, longer, 0);
    assert_int_equal(pysb_stats_slot_get(&s, 0, &sl), 1);
    assert_int_equal(strlen(sl.run_id), PYSB_STATS_RUN_ID - 1);
    assert_true(strlen(sl.client) < sizeof sl.client);
    pysb_stats_close(&s);
}

static void test_quantiles(void **state)
{
    (void)state;
    pysb_hist h;
    memset(&h, 0, sizeof h);
    assert_true(pysb_hist_quantile(&h, 0.5) == 0);
    /* 100 values of 0 ms (admitted at once) and 100 of 40 ms. */
    for (int i = 0; i < 100; i++) {
        pysb_stats_hist_add(&h, 0);
        pysb_stats_hist_add(&h, 40);
    }
    assert_int_equal(pysb_hist_total(&h), 200);
    assert_int_equal(h.sum_ms, 4000);
    double p50 = pysb_hist_quantile(&h, 0.5), p99 = pysb_hist_quantile(&h, 0.99);
    assert_true(p50 == 0);                  /* the bucket of 0 alone */
    assert_true(p99 > 30 && p99 <= 50);     /* in the (30, 50] ms bucket */
    /* Values past the last bound: the open bucket reports its floor. */
    pysb_stats_hist_add(&h, 10000000);
    assert_true(pysb_hist_quantile(&h, 0.9999) >= 300000);
    /* Bounds are increasing, so every value has one bucket. */
    assert_int_equal(pysb_hist_bounds[0], 0);
    for (int i = 1; i < PYSB_HIST_BUCKETS - 1; i++)
        assert_true(pysb_hist_bounds[i] > pysb_hist_bounds[i - 1]);
    /* Negative durations (a clock step) count as 0. */
    pysb_stats_hist_add(&h, -5);
    assert_int_equal(h.count[0], 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_across_reopen),
        cmocka_unit_test(test_other_layout_starts_afresh),
        cmocka_unit_test(test_concurrent_counts),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_quantiles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
