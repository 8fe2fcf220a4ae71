/* test_jobecache.c — unit tests of src/jobecache.c on a real directory:
 * put, has and read; a put replaces a file whole and leaves no temporary;
 * eviction takes the least recently used first (a hit counts as a use),
 * never the file just put, and keeps the total within the cap, counting
 * each file in whole 4 KiB blocks (empty files are not free); a file over
 * the cap is refused; the ledger of what the files cost survives puts and
 * is recounted after a start; stale temporaries of dead writers go; the
 * directory is made 0700 for its owner. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobecache.h"

#define B PYSB_JOBE_CACHE_BLOCK

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_jobecache.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* Sets file id's "last used" time to t seconds ago. */
static void used_ago(const char *id, int t)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, id);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= t;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.' || !strncmp(de->d_name, ".tmp-", 5);
    closedir(d);
    return n;
}

static void test_put_has_read(void **state)
{
    (void)state;
    assert_int_equal(pysb_jobe_cache_has(dir, "randomid0129798"), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "randomid0129798", "The first file\nLine 2",
                                         21), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "randomid0129798"), 1);
    pysb_membuf m = { 0 };
    assert_int_equal(pysb_jobe_cache_read(dir, "randomid0129798", 100, &m), 0);
    assert_int_equal(m.len, 21);
    assert_memory_equal(m.p, "The first file\nLine 2", 21);
    pysb_membuf_free(&m);
    /* too big for the reader */
    assert_int_equal(pysb_jobe_cache_read(dir, "randomid0129798", 20, &m), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(pysb_jobe_cache_read(dir, "nosuchfileid", 100, &m), -1);
    assert_int_equal(errno, ENOENT);
    /* replaced whole; empty files are files */
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "randomid0129798", "", 0), 0);
    assert_int_equal(pysb_jobe_cache_read(dir, "randomid0129798", 100, &m), 0);
    assert_int_equal(m.len, 0);
    pysb_membuf_free(&m);
    assert_int_equal(entries(), 1);     /* no temporary left */
    /* over the whole cap: refused, nothing stored */
    static char block[B + 1];
    assert_int_equal(pysb_jobe_cache_put(dir, B, "big", block, B + 1), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(pysb_jobe_cache_has(dir, "big"), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, B, "big", block, B), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "big"), 1);
}

static void test_lru(void **state)
{
    (void)state;
    /* files of three blocks in a cache of eight: a third goes over it, and
     * eviction stops at 7/8 of it (one file out, not all but the new) */
    static char data[3 * B];
    memset(data, 'x', sizeof data);
    assert_int_equal(pysb_jobe_cache_put(dir, 8 * B, "aaaaaaaa", data, sizeof data), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 8 * B, "bbbbbbbb", data, sizeof data), 0);
    used_ago("aaaaaaaa", 20);
    used_ago("bbbbbbbb", 10);
    /* a is older, but a hit makes it the most recently used */
    assert_int_equal(pysb_jobe_cache_has(dir, "aaaaaaaa"), 1);
    assert_int_equal(pysb_jobe_cache_put(dir, 8 * B, "cccccccc", data, sizeof data), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "bbbbbbbb"), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "aaaaaaaa"), 1);
    assert_int_equal(pysb_jobe_cache_has(dir, "cccccccc"), 1);
    assert_int_equal(pysb_jobe_cache_usage(dir), 6 * B);
    /* a read is a use too */
    used_ago("aaaaaaaa", 30);
    used_ago("cccccccc", 40);
    pysb_membuf m = { 0 };
    assert_int_equal(pysb_jobe_cache_read(dir, "cccccccc", sizeof data, &m), 0);
    pysb_membuf_free(&m);
    assert_int_equal(pysb_jobe_cache_put(dir, 8 * B, "dddddddd", data, sizeof data), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "aaaaaaaa"), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "cccccccc"), 1);
    /* the file just put stays even when it is the oldest by mtime */
    assert_int_equal(pysb_jobe_cache_put(dir, 3 * B, "eeeeeeee", data, sizeof data), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "eeeeeeee"), 1);
    assert_int_equal(pysb_jobe_cache_usage(dir), 3 * B);
}

static void test_costs(void **state)
{
    (void)state;
    assert_int_equal(pysb_jobe_cache_cost(0), B);
    assert_int_equal(pysb_jobe_cache_cost(1), B);
    assert_int_equal(pysb_jobe_cache_cost(B), B);
    assert_int_equal(pysb_jobe_cache_cost(B + 1), 2 * B);
    /* empty files are not free: 50 of them in a cache of 8 blocks leave 7
     * or 8 (eviction stops at 7/8; the last one put among them, the
     * others' order is the clock's) */
    char id[16];
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "empty%02d", i);
        assert_int_equal(pysb_jobe_cache_put(dir, 8 * B, id, "", 0), 0);
    }
    assert_in_range(entries(), 7, 8);
    assert_true(pysb_jobe_cache_usage(dir) <= 8 * B);
    assert_int_equal(pysb_jobe_cache_has(dir, "empty49"), 1);
}

/* The ledger: files removed from outside, or a file replaced by a larger
 * one, never let the cache overfill; files added while httpd was down are
 * counted after pysb_jobe_cache_prepare. */
static void test_ledger(void **state)
{
    (void)state;
    static char data[4 * B];
    char p[128], err[256];
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "one", data, B), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "two", data, B), 0);
    /* replaced by one of four blocks: five in all, so the other goes (and
     * the new one stays, though 4 blocks are over 7/8 of the cap) */
    used_ago("one", 20);
    used_ago("two", 10);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "two", data, 3 * B + 1), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "one"), 0);
    assert_int_equal(pysb_jobe_cache_usage(dir), 4 * B);
    /* removed from outside: the ledger is high, the next put evicts no more
     * than it must */
    snprintf(p, sizeof p, "%s/two", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "three", data, 2 * B), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "four", data, 2 * B), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "three"), 1);
    assert_int_equal(pysb_jobe_cache_has(dir, "four"), 1);
    /* added from outside while httpd was down, then a start */
    snprintf(p, sizeof p, "%s/outside", dir);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, 2 * B), 2 * B);
    close(fd);
    used_ago("outside", 100);
    assert_int_equal(pysb_jobe_cache_prepare(dir, getuid(), getgid(), err, sizeof err), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "five", data, 1), 0);
    assert_true(pysb_jobe_cache_usage(dir) <= 4 * B);
    assert_int_equal(pysb_jobe_cache_has(dir, "outside"), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "five"), 1);
}

/* A put waits for the lock 5 s at most, then EBUSY (the caller's 503). */
static void test_lock_wait(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/.lock", dir);
    int fd = open(p, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "waiter", "x", 1), -1);
    assert_int_equal(errno, EBUSY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 4.9 && waited < 30);
    close(fd);
    assert_int_equal(pysb_jobe_cache_has(dir, "waiter"), 0);
    assert_int_equal(entries(), 0);     /* its temporary is gone too */
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "waiter", "x", 1), 0);
}

static void test_stale_temporaries(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/.tmp-dead01", dir);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(p, sizeof p, "%s/.tmp-live01", dir);
    fd = open(p, O_CREAT | O_WRONLY, 0600);
    close(fd);
    used_ago(".tmp-dead01", 7200);
    assert_int_equal(pysb_jobe_cache_put(dir, 4 * B, "ffffffff", "x", 1), 0);
    snprintf(p, sizeof p, "%s/.tmp-dead01", dir);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/.tmp-live01", dir);
    assert_int_equal(access(p, F_OK), 0);   /* a writer may still be at it */
}

static void test_prepare(void **state)
{
    (void)state;
    char sub[128], err[256];
    snprintf(sub, sizeof sub, "%s/cache", dir);
    assert_int_equal(pysb_jobe_cache_prepare(sub, getuid(), getgid(), err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    chmod(sub, 0755);
    assert_int_equal(pysb_jobe_cache_prepare(sub, getuid(), getgid(), err, sizeof err), 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(sub, sizeof sub, "%s/no/such/parent", dir);
    assert_int_equal(pysb_jobe_cache_prepare(sub, getuid(), getgid(), err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
}

/* Someone's directory named as the cache is refused, never taken over;
 * an empty one, or a cache of an earlier start, is fine (contract9 F2). */
static void test_foreign_directory(void **state)
{
    (void)state;
    char sub[160], file[192], err[512];
    snprintf(sub, sizeof sub, "%s/theirs", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(pysb_jobe_cache_check(sub, err, sizeof err), 0); /* empty */
    snprintf(file, sizeof file, "%s/important.txt", sub);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("keep me", f);
    fclose(f);
    assert_int_equal(pysb_jobe_cache_check(sub, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a Jobe file cache"));
    assert_int_equal(pysb_jobe_cache_prepare(sub, getuid(), getgid(), err, sizeof err), -1);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(pysb_jobe_cache_check(file, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a directory"));
    /* a .lock is not enough: a cache is 0700 (and the User's at start) */
    snprintf(file, sizeof file, "%s/.lock", sub);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(pysb_jobe_cache_check(sub, err, sizeof err), -1);
    assert_int_equal(chmod(sub, 0700), 0);
    assert_int_equal(pysb_jobe_cache_check(sub, err, sizeof err), 0);
    assert_int_equal(pysb_jobe_cache_prepare(sub, 4321, 4321, err, sizeof err), -1);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_uid, getuid());
    /* a link is never followed; another user's empty directory is refused */
    char link[200], other[200];
    snprintf(link, sizeof link, "%s/link", dir);
    assert_int_equal(symlink(sub, link), 0);
    assert_int_equal(pysb_jobe_cache_check(link, err, sizeof err), -1);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(pysb_jobe_cache_prepare(link, getuid(), getgid(), err, sizeof err), -1);
    snprintf(other, sizeof other, "%s/other", dir);
    assert_int_equal(mkdir(other, 0755), 0);
    if (getuid() == 0) {
        assert_int_equal(chown(other, 4321, 4321), 0);
        /* configtest does not know the User: checked at the start */
        assert_int_equal(pysb_jobe_cache_check(other, err, sizeof err), 0);
        assert_int_equal(pysb_jobe_cache_prepare(other, 5555, 5555, err, sizeof err), -1);
        assert_non_null(strstr(err, "another user's"));
        assert_int_equal(pysb_jobe_cache_prepare(other, 4321, 4321, err, sizeof err), 0);
    }
    /* a cache of an earlier start: its .lock */
    snprintf(sub, sizeof sub, "%s/cache", dir);
    assert_int_equal(pysb_jobe_cache_prepare(sub, getuid(), getgid(), err, sizeof err), 0);
    assert_int_equal(pysb_jobe_cache_put(sub, 8 * B, "aaaaaaaa", "x", 1), 0);
    assert_int_equal(pysb_jobe_cache_check(sub, err, sizeof err), 0);
    assert_int_equal(pysb_jobe_cache_prepare(sub, getuid(), getgid(), err, sizeof err), 0);
    /* a file no PUT could have made (not an id) is neither counted nor
     * evicted */
    snprintf(file, sizeof file, "%s/not-an-id.txt", sub);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    static char data[B];
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "id%d", i);
        assert_int_equal(pysb_jobe_cache_put(sub, 4 * B, id, data, sizeof data), 0);
    }
    assert_int_equal(stat(file, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_has_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_costs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temporaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
