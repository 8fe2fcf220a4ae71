/* test_netns.c — unit tests of src/netns.c: paths it must refuse before
 * touching anything, pinning and re-entering in a private directory, a
 * directory others may write, and a namespace that is not empty (the
 * caller must come back to the namespace it started in).
 *
 * Entering changes the caller's namespace, so every call that may succeed
 * runs in a forked child that reports back through a pipe. Needs root (as
 * the CLI does); skipped otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns.h"

struct outcome {
    int rc;
    unsigned long long ns_before, ns_after; /* the child's netns inodes */
    char err[200];
};

static unsigned long long self_ns(void)
{
    struct stat st;
    return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* pysb_netns_enter_shared(path) in a child; with lo_up, the child then
 * brings lo up in the namespace it entered (to make it non-empty). */
static struct outcome enter_in_child(const char *path, int lo_up)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        o.ns_before = self_ns();
        o.rc = pysb_netns_enter_shared(path, o.err, sizeof o.err);
        o.ns_after = self_ns();
        if (o.rc == 0 && lo_up) {
            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            struct ifreq ifr;
            memset(&ifr, 0, sizeof ifr);
            strcpy(ifr.ifr_name, "lo");
            if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                _exit(3);
            ifr.ifr_flags |= IFF_UP;
            if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                _exit(3);
        }
        _exit(write(p[1], &o, sizeof o) == (ssize_t)sizeof o ? 0 : 2);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &o, sizeof o), (ssize_t)sizeof o);
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return o;
}

static char dir[64], path[96];

static int make_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/pysb-test-netns.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/netns", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char p[128];
    while (umount2(path, MNT_DETACH) == 0)
        ;
    unlink(path);
    snprintf(p, sizeof p, "%s.lock", path);
    unlink(p);
    return rmdir(dir);
}

static void test_bad_paths(void **state)
{
    (void)state;
    const char *bad[] = { "relative/netns", "/", "/tmp/", "/tmp/.", "/tmp/..", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[128] = "";
        unsigned long long before = self_ns();
        if (pysb_netns_enter_shared(bad[i], err, sizeof err) != -1 || !err[0])
            fail_msg("path \"%s\" was not refused", bad[i]);
        assert_int_equal(self_ns(), before);
    }
    char longp[600] = "/tmp/";
    memset(longp + 5, 'x', 300);
    char err[1024];
    assert_int_equal(pysb_netns_enter_shared(longp, err, sizeof err), -1);
    if (!strstr(err, "too long"))
        fail_msg("long name: %s", err);
}

static void test_pin_and_reenter(void **state)
{
    (void)state;
    struct outcome a = enter_in_child(path, 0);
    if (a.rc != 0)
        fail_msg("first enter: %s", a.err);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(a.ns_after, (unsigned long long)st.st_ino);
    assert_true(a.ns_after != a.ns_before);
    struct outcome b = enter_in_child(path, 0);
    if (b.rc != 0)
        fail_msg("second enter: %s", b.err);
    assert_int_equal(b.ns_after, a.ns_after);
}

static void test_unsafe_dir(void **state)
{
    (void)state;
    assert_int_equal(chmod(dir, 0777), 0);
    struct outcome o = enter_in_child(path, 0);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(o.rc, -1);
    assert_non_null(strstr(o.err, "not writable by group or others"));
    assert_int_equal(o.ns_after, o.ns_before);
    struct stat st;
    assert_int_equal(stat(path, &st), -1); /* nothing pinned there */
}

static void test_not_empty(void **state)
{
    (void)state;
    struct outcome o = enter_in_child(path, 1); /* pins, then lo up */
    if (o.rc != 0)
        fail_msg("enter: %s", o.err);
    o = enter_in_child(path, 0);
    assert_int_equal(o.rc, -1);
    assert_non_null(strstr(o.err, "lo is up"));
    assert_int_equal(o.ns_after, o.ns_before); /* put back */
}

int main(void)
{
    if (geteuid() != 0) {
        printf("1..0 # SKIP test_netns needs root\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test_setup_teardown(test_pin_and_reenter, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_unsafe_dir, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_not_empty, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
