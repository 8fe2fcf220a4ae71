/* test_bootstrap.c — unit tests of src/bootstrap.c: what the code pipe
 * carries with and without a compiled bootstrap, a real compilation by
 * /usr/bin/python3 (as nobody), and the cache. Needs root for the uid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bootstrap.h"

#define PY "/usr/bin/python3"

static void test_pipe_without_blob(void **state)
{
    (void)state;
    pysb_code_pipe p;
    assert_int_equal(pysb_bootstrap_pipe(NULL, 0, NULL, "print(1)", 8, &p), 0);
    /* An empty header, then the program. */
    assert_int_equal(p.len, 4 + 8);
    assert_memory_equal(p.data, "\x00\x00\x00\x00print(1)", 12);
    assert_ptr_equal(p.data, p.owned);
    assert_ptr_equal(p.arg, pysb_bootstrap);
    free(p.owned);
}

static void test_pipe_args(void **state)
{
    (void)state;
    const char *const args[] = { "data.csv", "", "two words", NULL };
    const char *const pre[] = { "/opt/lib", NULL }, *const post[] = { "/usr/lib/python3/dist-packages", NULL };
    const pysb_pipe_header h = { args, pre, post };
    pysb_code_pipe p;
    assert_int_equal(pysb_bootstrap_pipe(NULL, 0, &h, "x", 1, &p), 0);
    /* letter + value + NUL each: 10 + 2 + 11 + 10 + 32 bytes. */
    assert_int_equal(p.len, 4 + 65 + 1);
    assert_memory_equal(p.data, "\x41\x00\x00\x00" "adata.csv\0" "a\0" "atwo words\0"
                        "p/opt/lib\0" "e/usr/lib/python3/dist-packages\0" "x", 70);
    free(p.owned);
}

static void test_pipe_with_blob(void **state)
{
    (void)state;
    static const char blob[] = { 'B', 'L', 'O', 'B', 0, 'x' };
    pysb_code_pipe p;
    assert_int_equal(pysb_bootstrap_pipe(blob, sizeof blob, NULL, "print(1)", 8, &p), 0);
    assert_non_null(p.owned);
    assert_ptr_equal(p.data, p.owned);
    assert_int_equal(p.len, 4 + sizeof blob + 4 + 8);
    /* A little-endian length, the blob, an empty header, the program. */
    assert_memory_equal(p.data, "\x06\x00\x00\x00", 4);
    assert_memory_equal(p.data + 4, blob, sizeof blob);
    assert_memory_equal(p.data + 4 + sizeof blob, "\0\0\0\0print(1)", 12);
    /* The -c argument is a stub that reads the rest, not the source. */
    assert_true(p.arg != pysb_bootstrap);
    assert_true(strlen(p.arg) < 200);
    assert_non_null(strstr(p.arg, "marshal"));
    free(p.owned);
}

static void test_compile_and_cache(void **state)
{
    (void)state;
    char *blob = NULL, err[256] = "";
    size_t len = 0, len2 = 0;
    if (geteuid() != 0)
        skip();
    assert_int_equal(pysb_bootstrap_compile(PY, 65534, &blob, &len, err, sizeof err), 0);
    /* marshal data of a code object: type 'c', maybe with FLAG_REF. */
    assert_true(len > 100);
    assert_true((blob[0] & 0x7f) == 'c');
    free(blob);

    const char *cached;
    assert_int_equal(pysb_bootstrap_cached(PY, &cached, &len2), 0);
    assert_int_equal(pysb_bootstrap_cache_add(PY, 65534, &len, err, sizeof err), 1);
    assert_int_equal(pysb_bootstrap_cached(PY, &cached, &len2), 1);
    assert_int_equal(len2, len);
    assert_true((cached[0] & 0x7f) == 'c');
    /* Once per interpreter; a missing one is nothing to do. */
    assert_int_equal(pysb_bootstrap_cache_add(PY, 65534, &len, err, sizeof err), 0);
    assert_int_equal(pysb_bootstrap_cache_add("/nonexistent/python3", 65534, &len, err,
                                              sizeof err), 0);
    assert_int_equal(pysb_bootstrap_cached("/nonexistent/python3", &cached, &len2), 0);

    /* An interpreter that cannot compile it says so. */
    assert_int_equal(pysb_bootstrap_compile("/bin/false", 65534, &blob, &len, err,
                                            sizeof err), -1);
    assert_non_null(strstr(err, "could not compile it"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_without_blob),
        cmocka_unit_test(test_pipe_args),
        cmocka_unit_test(test_pipe_with_blob),
        cmocka_unit_test(test_compile_and_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
