/* test_jobecache.c — unit tests of src/jobecache.c on a real directory:
 * put, has and read; a put replaces a file whole and leaves no temporary;
 * eviction takes the least recently used first (a hit counts as a use),
 * never the file just put, and keeps the total within the cap; a file over
 * the cap is refused; stale temporaries of dead writers go; the directory
 * is made 0700 for its owner. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobecache.h"

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
    assert_int_equal(pysb_jobe_cache_put(dir, 1000, "randomid0129798", "The first file\nLine 2",
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
    assert_int_equal(pysb_jobe_cache_put(dir, 1000, "randomid0129798", "", 0), 0);
    assert_int_equal(pysb_jobe_cache_read(dir, "randomid0129798", 100, &m), 0);
    assert_int_equal(m.len, 0);
    pysb_membuf_free(&m);
    assert_int_equal(entries(), 1);     /* no temporary left */
    /* over the whole cap: refused, nothing stored */
    assert_int_equal(pysb_jobe_cache_put(dir, 10, "big", "0123456789a", 11), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(pysb_jobe_cache_has(dir, "big"), 0);
}

static void test_lru(void **state)
{
    (void)state;
    char data[40];
    memset(data, 'x', sizeof data);
    assert_int_equal(pysb_jobe_cache_put(dir, 100, "aaaaaaaa", data, 40), 0);
    assert_int_equal(pysb_jobe_cache_put(dir, 100, "bbbbbbbb", data, 40), 0);
    used_ago("aaaaaaaa", 20);
    used_ago("bbbbbbbb", 10);
    /* a is older, but a hit makes it the most recently used */
    assert_int_equal(pysb_jobe_cache_has(dir, "aaaaaaaa"), 1);
    assert_int_equal(pysb_jobe_cache_put(dir, 100, "cccccccc", data, 40), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "bbbbbbbb"), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "aaaaaaaa"), 1);
    assert_int_equal(pysb_jobe_cache_has(dir, "cccccccc"), 1);
    assert_true(pysb_jobe_cache_usage(dir) <= 100);
    /* a read is a use too */
    used_ago("aaaaaaaa", 30);
    used_ago("cccccccc", 40);
    pysb_membuf m = { 0 };
    assert_int_equal(pysb_jobe_cache_read(dir, "cccccccc", 100, &m), 0);
    pysb_membuf_free(&m);
    assert_int_equal(pysb_jobe_cache_put(dir, 100, "dddddddd", data, 40), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "aaaaaaaa"), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "cccccccc"), 1);
    /* the file just put stays even when it is the oldest by mtime */
    assert_int_equal(pysb_jobe_cache_put(dir, 60, "eeeeeeee", data, 40), 0);
    assert_int_equal(pysb_jobe_cache_has(dir, "eeeeeeee"), 1);
    assert_true(pysb_jobe_cache_usage(dir) <= 60);
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
    assert_int_equal(pysb_jobe_cache_put(dir, 100, "ffffffff", "x", 1), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_has_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temporaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
