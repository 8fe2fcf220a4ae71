/* test_bodydec.c — unit tests of src/bodydec.c: form and JSON bodies
 * decoded into fields, the same whatever the chunking (whole, byte by
 * byte), values kept within their caps and the whole length of one over
 * it, names without a cap costing nothing, the value and depth caps, and
 * JSON validity as jansson judges it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bodydec.h"

/* The fields a body gave, as "name=kind:value" lines (over: "name=kind!N"). */
struct got {
    char text[8192];
    size_t len;
    size_t cap_code;
    size_t cap_containers;      /* of "files" and "args"; 0: not kept */
};

static size_t cap(void *ctx, const char *name, size_t len)
{
    struct got *g = ctx;
    if (len == 4 && !memcmp(name, "code", 4))
        return g->cap_code;
    if ((len == 5 && !memcmp(name, "stdin", 5)) || (len == 6 && !memcmp(name, "format", 6)) ||
        (len == 8 && !memcmp(name, "cpu_time", 8)))
        return 64;
    if ((len == 5 && !memcmp(name, "files", 5)) || (len == 4 && !memcmp(name, "args", 4)))
        return g->cap_containers;
    return 0;
}

static void field(void *ctx, const char *name, size_t name_len, pysb_value_kind kind,
                  const char *value, size_t len, size_t over)
{
    struct got *g = ctx;
    static const char kinds[] = "snTFNoa";
    assert_non_null(value);
    int n = over ? snprintf(g->text + g->len, sizeof g->text - g->len, "%.*s=%c!%zu\n",
                            (int)(name_len > 64 ? 64 : name_len), name, kinds[kind], over)
                 : snprintf(g->text + g->len, sizeof g->text - g->len, "%.*s=%c:",
                            (int)(name_len > 64 ? 64 : name_len), name, kinds[kind]);
    g->len += (size_t)n;
    if (!over) {            /* the value's bytes as they are, NUL included */
        assert_true(g->len + len + 2 < sizeof g->text);
        memcpy(g->text + g->len, value, len);
        g->len += len;
        g->text[g->len++] = '\n';
        g->text[g->len] = '\0';
    }
}

/* Decodes body whole (step 0) or step bytes at a time; the status, and
 * the fields in g. */
static int decode(pysb_body_kind kind, const char *body, size_t len, size_t step,
                  struct got *g, char *err, size_t errlen)
{
    size_t cap_code = g->cap_code ? g->cap_code : 1024, cap_cont = g->cap_containers;
    memset(g, 0, sizeof *g);
    g->cap_code = cap_code;
    g->cap_containers = cap_cont;
    const pysb_body_sink sink = { cap, field, g };
    pysb_bodydec *d = pysb_bodydec_new(kind, &sink, 100, 4);
    assert_non_null(d);
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i += step ? step : len)
        rc = pysb_bodydec_feed(d, body + i, step && len - i > step ? step : len - i);
    if (!rc)
        rc = pysb_bodydec_end(d);
    if (err)
        snprintf(err, errlen, "%s", pysb_bodydec_error(d));
    pysb_bodydec_free(d);
    return rc;
}

/* The same fields and status whole and byte by byte; returns the status. */
static int both(pysb_body_kind kind, const char *body, const char *want)
{
    struct got a = { .cap_code = 1024 }, b = { .cap_code = 1024 };
    char err[256];
    int rc = decode(kind, body, strlen(body), 0, &a, err, sizeof err);
    int rc1 = decode(kind, body, strlen(body), 1, &b, NULL, 0);
    assert_int_equal(rc, rc1);
    assert_string_equal(a.text, b.text);
    if (want)
        assert_string_equal(a.text, want);
    return rc;
}

static void test_form(void **state)
{
    (void)state;
    assert_int_equal(both(PYSB_BODY_FORM, "code=print(1)&stdin=a+b%26c&format=json",
                          "code=s:print(1)\nstdin=s:a b&c\nformat=s:json\n"), 0);
    /* empty pairs, a pair without '=', a name that is no field, + in a name */
    assert_int_equal(both(PYSB_BODY_FORM, "&&code&x+y=zz&&",
                          "code=s:\nx y=s:\n"), 0);
    /* a value given again replaces the first (the same buffer) */
    assert_int_equal(both(PYSB_BODY_FORM, "code=first&code=2nd", "code=s:first\ncode=s:2nd\n"),
                     0);
    /* '=' in a value, %3D in a name */
    assert_int_equal(both(PYSB_BODY_FORM, "code=a=b&co%64e=c", "code=s:a=b\ncode=s:c\n"), 0);
    char err[256];
    struct got g = { 0 };
    assert_int_equal(decode(PYSB_BODY_FORM, "code=%zz", 8, 0, &g, err, sizeof err), 400);
    assert_non_null(strstr(err, "%-escape"));
    assert_int_equal(decode(PYSB_BODY_FORM, "code=a%4", 8, 0, &g, err, sizeof err), 400);
    assert_int_equal(decode(PYSB_BODY_FORM, "code=a%4&x", 10, 0, &g, err, sizeof err), 400);
}

static void test_caps(void **state)
{
    (void)state;
    struct got g = { .cap_code = 8 };
    char err[256];
    /* code over its cap of 8: decoded to its end, its whole length told */
    assert_int_equal(decode(PYSB_BODY_FORM, "code=%41%41%41%41%41%41%41%41%41&format=text", 44,
                            0, &g, err, sizeof err), 0);
    assert_string_equal(g.text, "code=s!9\nformat=s:text\n");
    g.cap_code = 8;
    const char *j = "{\"code\": \"\\u0041xxxxxxxxxx\", \"format\": 1}";
    assert_int_equal(decode(PYSB_BODY_JSON, j, strlen(j), 1, &g, err, sizeof err), 0);
    assert_string_equal(g.text, "code=s!11\nformat=n:1\n");
    /* exactly the cap: kept */
    g.cap_code = 8;
    assert_int_equal(decode(PYSB_BODY_FORM, "code=12345678", 13, 0, &g, err, sizeof err), 0);
    assert_string_equal(g.text, "code=s:12345678\n");
    /* too many fields / values: refused at the first one over */
    char big[4096];
    size_t n = 0;
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "a=&");
    assert_int_equal(decode(PYSB_BODY_FORM, big, n, 0, &g, err, sizeof err), 413);
    assert_non_null(strstr(err, "more than 100 fields"));
    n = (size_t)snprintf(big, sizeof big, "{\"x\":[");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "0,");
    n += (size_t)snprintf(big + n, sizeof big - n, "0]}");
    assert_int_equal(decode(PYSB_BODY_JSON, big, n, 0, &g, err, sizeof err), 413);
    assert_non_null(strstr(err, "more than 100 values"));
    /* depth: 4 levels fine, 5 refused */
    assert_int_equal(decode(PYSB_BODY_JSON, "{\"a\":[[{\"b\":1}]]}", 17, 0, &g, err, sizeof err),
                     0);
    assert_int_equal(decode(PYSB_BODY_JSON, "{\"a\":[[[[1]]]]}", 15, 0, &g, err, sizeof err),
                     400);
    assert_non_null(strstr(err, "deeper than 4"));
    /* a long name: cut, never a field, whatever it starts with */
    char longname[200];
    n = (size_t)snprintf(longname, sizeof longname, "code%0100d=1", 0);
    assert_int_equal(decode(PYSB_BODY_FORM, longname, n, 0, &g, err, sizeof err), 0);
    assert_int_equal(strncmp(g.text, "code0000", 8), 0);
    assert_non_null(strstr(g.text, "=s:\n"));
}

static void test_json_fields(void **state)
{
    (void)state;
    assert_int_equal(
        both(PYSB_BODY_JSON,
             " {\"code\": \"print(\\\"h\\u00e9\\\")\\n\", \"cpu_time\": 1.5e-1, \"stdin\": null,"
             " \"x\": {\"y\": [1, \"two\", {\"z\": true}]}, \"format\": \"json\","
             " \"files\": {\"a.txt\": \"hi\", \"b\": {\"base64\": \"aGk=\"}}, \"args\": [\"-v\"],"
             " \"t\": true, \"f\": false, \"e\": -0.5E+2, \"emoji\": \"\\ud83d\\ude00\xc3\xa9\"} ",
             "code=s:print(\"h\xc3\xa9\")\n\ncpu_time=n:1.5e-1\nstdin=N:\nx=o:\nformat=s:json\n"
             "files=o:\nargs=a:\nt=T:\nf=F:\ne=n:\nemoji=s:\n"),
        0);
    /* a known key given twice is refused; \u0000 is a character */
    struct got g = { 0 };
    char err[256];
    assert_int_equal(decode(PYSB_BODY_JSON, "{\"code\":\"a\",\"code\":\"b\"}", 23, 0, &g, err,
                            sizeof err), 400);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(decode(PYSB_BODY_JSON, "{\"code\":\"a\\u0000b\"}", 19, 0, &g, err,
                            sizeof err), 0);
    assert_int_equal(memcmp(g.text, "code=s:a\0b\n", 11), 0);
    /* not an object */
    assert_int_equal(decode(PYSB_BODY_JSON, "[\"print(1)\"]", 12, 0, &g, err, sizeof err), 400);
    assert_non_null(strstr(err, "must be an object"));
    assert_int_equal(decode(PYSB_BODY_JSON, "", 0, 0, &g, err, sizeof err), 400);
    assert_int_equal(decode(PYSB_BODY_JSON, "{\"code\": \"print(1)\",", 20, 0, &g, err,
                            sizeof err), 400);
    assert_non_null(strstr(err, "line 1"));
}

/* A top-level container with a cap comes as its JSON text as sent, whole
 * or byte by byte; over its cap, as its length. */
static void test_json_containers_kept(void **state)
{
    (void)state;
    static const char body[] =
        "{\"files\": {\"a.txt\": \"h\\u00e9\\n\", \"b\": {\"base64\": \"aGk=\"}},"
        " \"code\": \"x\", \"args\":[\"-v\", \"two words\"], \"other\": [1, {\"files\": 2}]}";
    static const char want[] =
        "files=o:{\"a.txt\": \"h\\u00e9\\n\", \"b\": {\"base64\": \"aGk=\"}}\n"
        "code=s:x\nargs=a:[\"-v\", \"two words\"]\nother=a:\n";
    for (size_t step = 0; step < 3; step++) {
        struct got g = { .cap_containers = 256 };
        assert_int_equal(decode(PYSB_BODY_JSON, body, strlen(body), step, &g, NULL, 0), 0);
        assert_string_equal(g.text, want);
    }
    struct got g = { .cap_containers = 10 };
    assert_int_equal(decode(PYSB_BODY_JSON, body, strlen(body), 0, &g, NULL, 0), 0);
    assert_non_null(strstr(g.text, "files=o!47\n"));
    assert_non_null(strstr(g.text, "args=a!19\n"));
}

/* Validity exactly as jansson's, for documents within the caps and
 * without repeated keys. */
static void test_json_validity(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}", " { } ", "{\"a\":1}", "{\"a\":-0}", "{\"a\":0.5}", "{\"a\":1e5}", "{\"a\":1E-5}",
        "{\"a\":-1.25e+3}", "{\"a\":[]}", "{\"a\":[1,2]}", "{\"a\":{}}", "{\"a\":\"\\/\\b\\f\\r\\t\"}",
        "{\"a\":\"\\uD834\\uDD1E\"}", "{\"a\":\"\xf0\x9d\x84\x9e\"}", "{\"a\":true,\"b\":false,\"c\":null}",
        "{\"a\":\"\xe2\x82\xac\"}", "{\"\":1}",
        /* invalid */
        "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":[1,]}", "{\"a\":01}",
        "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":+1}", "{\"a\":tru}",
        "{\"a\":truee}", "{\"a\":nul}", "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\uD834\"}", "{\"a\":\"\\uDD1E\"}", "{\"a\":\"\\uD834\\u0041\"}",
        "{\"a\":\"\x01\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\x80\"}", "{\"a\":1}x",
        "{\"a\":1}{}", "{\"a\":[}", "{\"a\":{]}", "{a:1}", "{'a':1}", "{\"a\" 1}", "[]",
        "{\"a\":1 2}", "{\"a\":\"b\" \"c\"}", "{\"a\":[1 2]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_error_t e;
        json_t *j = json_loads(docs[i], JSON_ALLOW_NUL, &e);
        int jansson_ok = j && json_is_object(j);
        json_decref(j);
        struct got g = { 0 };
        int rc = decode(PYSB_BODY_JSON, docs[i], strlen(docs[i]), 0, &g, NULL, 0);
        int rc1 = decode(PYSB_BODY_JSON, docs[i], strlen(docs[i]), 1, &g, NULL, 0);
        if ((rc == 0) != jansson_ok || rc != rc1)
            fail_msg("%s: bodydec %d/%d, jansson %s", docs[i], rc, rc1,
                     jansson_ok ? "accepts" : "refuses");
    }
    /* A byte order mark before the object is skipped (RFC 8259 allows it;
     * jansson refuses it), anywhere else it is invalid, and so is half
     * of one. */
    assert_int_equal(both(PYSB_BODY_JSON, "\xef\xbb\xbf{\"code\": \"x\"}", "code=s:x\n"), 0);
    char err[256];
    struct got g = { 0 };
    assert_int_equal(decode(PYSB_BODY_JSON, "\xef\xbb{}", 5, 0, &g, err, sizeof err), 400);
    assert_string_equal(err, "invalid JSON at line 1, column 1: a broken byte order mark");
    assert_int_equal(decode(PYSB_BODY_JSON, " \xef\xbb\xbf{}", 6, 0, &g, NULL, 0), 400);
    assert_int_equal(decode(PYSB_BODY_JSON, "{\xef\xbb\xbf}", 5, 0, &g, NULL, 0), 400);
    assert_int_equal(decode(PYSB_BODY_JSON, "\xef\xbb\xbf\xef\xbb\xbf{}", 8, 1, &g, NULL, 0), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_json_validity),
        cmocka_unit_test(test_json_containers_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
