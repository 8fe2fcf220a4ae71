/* test_rootonly.c — the stat-only checks of rootonly.c on real trees made
 * under /run (root's, not writable by others), as root: a clean tree
 * passes; a group- or others-writable directory, a file of another uid, a
 * symbolic link (absolute or relative, through "..") to such a place, and
 * a bad entry deep in a tree are each refused with the path named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootonly.h"

static char top[64];

static void path(char *out, const char *rel)
{
    snprintf(out, 256, "%s/%s", top, rel);
}

static void mk(const char *rel, mode_t mode)
{
    char p[256];
    path(p, rel);
    assert_int_equal(mkdir(p, mode), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static void file(const char *rel, mode_t mode)
{
    char p[256];
    path(p, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(top, sizeof top, "/run/pysb-rootonly.XXXXXX");
    if (!mkdtemp(top))
        return -1;
    chmod(top, 0755);
    mk("ok", 0755);
    mk("ok/pkg", 0755);
    file("ok/pkg/mod.py", 0644);
    mk("gw", 0775);
    file("gw/mod.py", 0644);
    mk("ow", 0757);
    mk("deep", 0755);
    mk("deep/a", 0755);
    mk("deep/a/b", 0755);
    file("deep/a/b/bad.py", 0646);
    mk("user", 0755);
    file("user/mod.py", 0644);
    char p[256], q[256];
    path(p, "user/mod.py");
    if (chown(p, 65534, 65534) < 0)
        return -1;
    path(p, "link-abs");
    path(q, "gw");
    if (symlink(q, p) < 0)
        return -1;
    mk("links", 0755);
    path(p, "links/rel");
    if (symlink("../gw/mod.py", p) < 0)
        return -1;
    path(p, "ok/link-good");
    if (symlink("../ok/pkg", p) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

static void expect(int rc_want, const char *rel, int kind, const char *msg)
{
    char p[256], err[512] = "";
    path(p, rel);
    int rc = kind == 0   ? pysb_root_only("x", p, err, sizeof err)
             : kind == 1 ? pysb_root_only_tree("x", p, err, sizeof err)
                         : pysb_root_only_entries("x", p, err, sizeof err);
    if (rc != rc_want)
        fail_msg("%s (kind %d): rc %d, err \"%s\"", rel, kind, rc, err);
    if (msg && !strstr(err, msg))
        fail_msg("%s: \"%s\" lacks \"%s\"", rel, err, msg);
}

static void test_clean(void **state)
{
    (void)state;
    expect(0, "ok/pkg/mod.py", 0, NULL);
    expect(0, "ok", 1, NULL);
    expect(0, "ok", 2, NULL);
    expect(0, "ok/link-good/mod.py", 0, NULL);
    /* missing: judged by the nearest existing ancestor */
    expect(0, "ok/missing/x.py", 0, NULL);
    expect(-1, "gw/missing.py", 0, "gw is writable by its group");
}

static void test_writable(void **state)
{
    (void)state;
    expect(-1, "gw/mod.py", 0, "gw is writable by its group");
    expect(-1, "ow", 0, "ow is writable by its others");
    expect(-1, "deep", 1, "deep/a/b/bad.py is writable by its others");
    expect(0, "deep", 2, NULL); /* entries: only deep's own */
}

/* A sticky directory of root's that others may write (as /tmp): it holds
 * above an existing entry of root's, never as the last component nor
 * above one that is missing (anyone could create it); without the sticky
 * bit it never holds. */
static void test_sticky(void **state)
{
    (void)state;
    mk("sticky", 01777);
    mk("sticky/ok", 0755);
    file("sticky/ok/mod.py", 0644);
    mk("open", 0777);
    mk("open/ok", 0755);
    file("open/ok/mod.py", 0644);
    expect(0, "sticky/ok/mod.py", 0, NULL);
    expect(0, "sticky/ok", 1, NULL);
    expect(-1, "sticky", 0, "sticky is writable by its group");
    expect(-1, "sticky/missing.py", 0, "sticky is writable by its group");
    expect(-1, "open/ok/mod.py", 0, "open is writable by its group");
    char p[256];
    path(p, "sticky/ok");
    assert_int_equal(chown(p, 65534, 65534), 0);
    expect(-1, "sticky/ok/mod.py", 0, "belongs to uid 65534");
}

static void test_owner(void **state)
{
    (void)state;
    expect(-1, "user/mod.py", 0, "user/mod.py belongs to uid 65534, not root");
    expect(-1, "user", 2, "belongs to uid 65534");
}

static void test_links(void **state)
{
    (void)state;
    expect(-1, "link-abs/mod.py", 0, "gw is writable by its group");
    expect(-1, "links/rel", 0, "gw is writable by its group");
    /* a directory with a link out to a bad place */
    expect(-1, "links", 2, "gw is writable by its group");
    expect(-1, "links", 1, "gw is writable by its group");
}

int main(void)
{
    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_writable),
        cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_links),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
