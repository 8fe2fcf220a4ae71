/* test_root.c — the minimal root's key (root.c), as root: a template
 * opened with pysb_root_open_keyed is current while its paths are the
 * same objects, and no longer once a read-only path was replaced by
 * another directory of the same name (what a fork server asks before each
 * run), nor once it was removed and made again; opened again, the new
 * template is current; a path with a space in its name is read back
 * whole from the key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landlock.h"
#include "root.h"

#define PY "/usr/bin/python3"

static char top[64], data[128], moved[128];

static int setup(void **state)
{
    (void)state;
    snprintf(top, sizeof top, "/var/tmp/pysb-unit-root.XXXXXX");
    if (!mkdtemp(top) || chmod(top, 0755) < 0)
        return -1;
    snprintf(data, sizeof data, "%s/da ta", top);
    snprintf(moved, sizeof moved, "%s/moved", top);
    return mkdir(data, 0755);
}

static int teardown(void **state)
{
    (void)state;
    rmdir(data);
    rmdir(moved);
    return rmdir(top);
}

static int open_root(char *key)
{
    const char *ro[] = { data, NULL };
    pysb_path_set set;
    char err[512];
    if (pysb_interp_paths(PY, ro, &set, err, sizeof err) < 0)
        fail_msg("paths: %s", err);
    int fd = pysb_root_open_keyed(&set, PY, key, PYSB_ROOT_KEY_MAX, err, sizeof err);
    if (fd < 0)
        fail_msg("open: %s", err);
    return fd;
}

static void test_replaced_path(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    static char key[PYSB_ROOT_KEY_MAX], again[PYSB_ROOT_KEY_MAX];
    int fd = open_root(key);
    assert_non_null(strstr(key, data));     /* the name with its space */
    assert_int_equal(pysb_root_current(key), 1);
    /* moved away, another directory in its place */
    assert_int_equal(rename(data, moved), 0);
    assert_int_equal(mkdir(data, 0755), 0);
    assert_int_equal(pysb_root_current(key), 0);
    int fd2 = open_root(again);
    assert_int_equal(pysb_root_current(again), 1);
    assert_string_not_equal(key, again);
    /* gone altogether */
    assert_int_equal(rmdir(data), 0);
    assert_int_equal(pysb_root_current(again), 0);
    /* made again: another directory, whether or not it gets the inode
     * number back (its generation differs) */
    assert_int_equal(mkdir(data, 0755), 0);
    assert_int_equal(pysb_root_current(again), 0);
    close(fd);
    close(fd2);
    /* a key that is not one */
    assert_int_equal(pysb_root_current("garbage"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replaced_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
