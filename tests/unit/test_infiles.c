/* test_infiles.c — unit tests of src/infiles.c: input files and arguments
 * from parts and from JSON, names checked (pysb_file_name_check), caps,
 * base64, copies that outlive their source. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "infiles.h"
#include "utf8.h"
#include "scratch.h"

static void test_names(void **state)
{
    (void)state;
    static const char *const bad[] = { "", ".", "..", ".bashrc", "a/b", "/etc/passwd",
                                       "../x", "a\\b", "C:\\fakepath\\x.csv", "out", "a\nb",
                                       "tab\t", "del\x7f", "\xff\xfe", NULL };
    for (int i = 0; bad[i]; i++)
        if (!pysb_file_name_check(bad[i], strlen(bad[i])))
            fail_msg("\"%s\" accepted", bad[i]);
    char nul[] = "a\0b";
    assert_non_null(pysb_file_name_check(nul, 3));
    char longest[129];
    memset(longest, 'x', sizeof longest);
    assert_null(pysb_file_name_check(longest, 128));
    assert_non_null(pysb_file_name_check(longest, 129));
    static const char *const good[] = { "data.csv", "a b.txt", "ünï.py", "out.txt", "outx",
                                        "x..y", NULL };
    for (int i = 0; good[i]; i++)
        if (pysb_file_name_check(good[i], strlen(good[i])))
            fail_msg("\"%s\" refused", good[i]);
}

static void test_files_and_caps(void **state)
{
    (void)state;
    pysb_inputs in;
    char why[256];
    pysb_inputs_init(&in, 2, 4);
    char buf[] = "abcd";
    assert_int_equal(pysb_inputs_file(&in, "a.txt", 5, buf, 4, why, sizeof why), 0);
    buf[0] = 'X'; /* a copy was taken */
    assert_memory_equal(in.files[0].data, "abcd", 4);
    assert_string_equal(in.files[0].name, "a.txt");
    assert_int_equal(pysb_inputs_file(&in, "a.txt", 5, "z", 1, why, sizeof why), 400);
    assert_non_null(strstr(why, "twice"));
    assert_int_equal(pysb_inputs_file(&in, "big", 3, "12345", 5, why, sizeof why), 413);
    assert_int_equal(pysb_inputs_file(&in, "../x", 4, "1", 1, why, sizeof why), 400);
    assert_int_equal(pysb_inputs_file(&in, "b", 1, "", 0, why, sizeof why), 0);
    assert_int_equal(pysb_inputs_file(&in, "c", 1, "", 0, why, sizeof why), 413);
    assert_non_null(strstr(why, "more than 2 input files"));
    assert_int_equal(in.n_files, 2);
    pysb_inputs_free(&in);
}

/* Every reason is valid UTF-8, whatever the name's bytes: a long name of
 * three-byte characters is cut between characters, bytes that are no
 * character are '?' (attack-work F6: the JSON error body was "{}"). */
static void test_reasons_are_utf8(void **state)
{
    (void)state;
    pysb_inputs in;
    char why[256], name[200] = "";
    pysb_inputs_init(&in, 4, 4);
    for (int i = 0; i < 50; i++)
        strcat(name, "\xe2\x82\xac");      /* the euro sign, 150 bytes: too long */
    assert_int_equal(pysb_inputs_file(&in, name, strlen(name), "1", 1, why, sizeof why), 400);
    assert_true(pysb_utf8_valid(why, strlen(why)));
    assert_non_null(strstr(why, "\xe2\x82\xac\xe2\x82\xac"));
    for (int cut = 0; cut < 3; cut++) {
        /* 20 of them and a file too big: the cut falls in every place */
        name[0] = '\0';
        for (int i = 0; i < cut; i++)
            strcat(name, "x");
        for (int i = 0; i < 20; i++)
            strcat(name, "\xe2\x82\xac");
        assert_int_equal(pysb_inputs_file(&in, name, strlen(name), "12345", 5, why, sizeof why),
                         413);
        assert_true(pysb_utf8_valid(why, strlen(why)));
    }
    assert_int_equal(pysb_inputs_file(&in, "\xc3\x28\xff", 3, "1", 1, why, sizeof why), 400);
    assert_true(pysb_utf8_valid(why, strlen(why)));
    assert_non_null(strstr(why, "\"?(?\""));
    pysb_inputs_free(&in);
}

static void test_json(void **state)
{
    (void)state;
    pysb_inputs in;
    char why[256];
    pysb_inputs_init(&in, 16, 1 << 20);
    const char *j = "{\"t.txt\": \"h\\u00e9\", \"b.bin\": {\"base64\": \"AAH/\"}, \"z\": {\"base64\": \"\"}}";
    assert_int_equal(pysb_inputs_json_files(&in, j, strlen(j), why, sizeof why), 0);
    assert_int_equal(in.n_files, 3);
    assert_string_equal(in.files[0].name, "t.txt");
    assert_int_equal(in.files[0].len, 3);
    assert_memory_equal(in.files[1].data, "\x00\x01\xff", 3);
    assert_int_equal(in.files[2].len, 0);
    /* base64(1)'s lines: whitespace between the characters is skipped */
    pysb_inputs_free(&in);
    pysb_inputs_init(&in, 16, 1 << 20);
    const char *w = "{\"w\": {\"base64\": \"AA\\r\\nH/\\n\"}, \"p\": {\"base64\": \"YQ= =\\n\"}}";
    assert_int_equal(pysb_inputs_json_files(&in, w, strlen(w), why, sizeof why), 0);
    assert_int_equal(in.files[0].len, 3);
    assert_memory_equal(in.files[0].data, "\x00\x01\xff", 3);
    assert_int_equal(in.files[1].len, 1);
    static const char *const bad[] = { "[]", "{\"x\": 1}", "{\"x\": {\"base64\": \"!!\"}}",
                                       "{\"x\": {\"base64\": \"a\"}}", "{\"x\": {\"b64\": \"\"}}",
                                       "{\"x\": {\"base64\": \"a \\n\"}}", "{\"x\": {\"base64\": \"YQ==YQ==\"}}",
                                       "{\"x\": {\"base64\": \"Y\\u0000Q\"}}",
                                       "{\"..\": \"x\"}", "{\"x\": \"a\", \"x\": \"b\"}", "{", NULL };
    for (int i = 0; bad[i]; i++)
        if (pysb_inputs_json_files(&in, bad[i], strlen(bad[i]), why, sizeof why) != 400)
            fail_msg("files %s accepted", bad[i]);
    const char *twice = "{\"x\": \"a\", \"x\": \"b\"}";
    assert_int_equal(pysb_inputs_json_files(&in, twice, strlen(twice), why, sizeof why), 400);
    assert_string_equal(why, "files: a name given twice");
    const char *a = "[\"-v\", \"\", \"\\u00fc\"]";
    assert_int_equal(pysb_inputs_json_args(&in, a, strlen(a), why, sizeof why), 0);
    assert_int_equal(in.n_args, 3);
    assert_string_equal(in.args[2], "\xc3\xbc");
    assert_null(in.args[3]);
    static const char *const bad_args[] = { "{}", "[1]", "[\"a\\u0000b\"]", "[null]", NULL };
    for (int i = 0; bad_args[i]; i++)
        if (pysb_inputs_json_args(&in, bad_args[i], strlen(bad_args[i]), why, sizeof why) != 400)
            fail_msg("args %s accepted", bad_args[i]);
    pysb_inputs_free(&in);
    /* at most PYSB_INPUTS_ARGS arguments */
    pysb_inputs_init(&in, 1, 1);
    for (int i = 0; i < PYSB_INPUTS_ARGS; i++)
        assert_int_equal(pysb_inputs_arg(&in, "x", 1, why, sizeof why), 0);
    assert_int_equal(pysb_inputs_arg(&in, "x", 1, why, sizeof why), 413);
    pysb_inputs_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_files_and_caps),
        cmocka_unit_test(test_reasons_are_utf8),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
