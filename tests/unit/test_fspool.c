/* test_fspool.c — which key a launcher may start a fork server (root)
 * for: a configured interpreter with flag letters alone and configured
 * preloads; never -c, -m, -X, -W, a file, an unknown interpreter, a flag
 * with an argument, or a module the configuration does not preload. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fspool.h"

static const char *const conf[] = { "/usr/bin/python3", "/opt/py/bin/python3.12", NULL };
static const char *const mods[] = { "json", "numpy", NULL };

static int ok(const char *a0, const char *a1, const char *a2)
{
    const char *argv[] = { a0, a1, a2, NULL };
    return pysb_fspool_key_ok(argv, NULL, conf, mods);
}

static int pre_ok(const char *m1, const char *m2)
{
    const char *argv[] = { "/usr/bin/python3", "-I", NULL };
    const char *pre[] = { m1, m2, NULL };
    return pysb_fspool_key_ok(argv, pre, conf, mods);
}

static void test_allowed(void **state)
{
    (void)state;
    assert_true(ok("/usr/bin/python3", NULL, NULL));
    assert_true(ok("/usr/bin/python3", "-I", "-S"));
    assert_true(ok("/usr/bin/python3", "-IS", "-u"));
    assert_true(ok("/opt/py/bin/python3.12", "-I", NULL));
    assert_true(ok("/usr/bin/python3", "-OO", "-B"));
    assert_true(pre_ok("json", NULL));
    assert_true(pre_ok("numpy", "json"));
}

static void test_refused(void **state)
{
    (void)state;
    assert_false(ok("/usr/bin/python3", "-c", "import os"));
    assert_false(ok("/usr/bin/python3", "-Ic", "import os"));
    assert_false(ok("/usr/bin/python3", "-m", "http.server"));
    assert_false(ok("/usr/bin/python3", "-X", "importtime"));
    assert_false(ok("/usr/bin/python3", "-W", "error"));
    assert_false(ok("/usr/bin/python3", "/tmp/evil.py", NULL));
    assert_false(ok("/usr/bin/python3", "-", NULL));
    assert_false(ok("/usr/bin/python3", "--", NULL));
    assert_false(ok("/usr/bin/python3", "--help", NULL));
    assert_false(ok("/bin/sh", "-c", "id"));
    assert_false(ok("/usr/bin/python3.11", "-I", NULL));   /* not configured as such */
    assert_false(pre_ok("antigravity", NULL));   /* importing it as root runs programs */
    assert_false(pre_ok("json", "os"));
    const char *argv[] = { "/usr/bin/python3", NULL };
    assert_false(pysb_fspool_key_ok(argv, NULL, NULL, mods));
    assert_false(pysb_fspool_key_ok(NULL, NULL, conf, mods));
    const char *pre[] = { "json", NULL };
    assert_false(pysb_fspool_key_ok(argv, pre, conf, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
