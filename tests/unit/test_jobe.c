/* test_jobe.c — unit tests of src/jobe.c: routes, Jobe's error texts for
 * every refusal of a run_spec, parameters against a Location's bounds
 * (cputime refused above the maximum, the others clamped), sh's words,
 * interpreter flags, the outcome of every verdict, the result object,
 * Jobe's escaping and strict base64. The run's program is checked with
 * the real interpreter: its compile report is byte for byte what
 * `python3 -m py_compile` prints for the same file, and the program runs
 * with the argv Jobe's command line gives. */
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "jobe.h"
#include "utf8.h"

#define PYTHON "/usr/bin/python3"

/* A Location as the e2e tests' /jobe: CPU 5 up to 20, wall up to 40,
 * memory 256M up to 512M, output 1M up to 4M, processes 1, threads 16. */
static pysb_location location(void)
{
    pysb_location l;
    memset(&l, 0, sizeof l);
    pysb_limits_default(&l.def);
    pysb_limits_default(&l.max);
    l.max.cpu_sec = 20;
    l.max.wall_sec = 40;
    l.max.memory_bytes = 512ULL << 20;
    l.max.output_bytes = 4ULL << 20;
    l.max_code = 64 * 1024;
    l.max_stdin = 1024 * 1024;
    return l;
}

static char why[1024];

static int parse(const char *body, pysb_jobe_run *run)
{
    pysb_location l = location();
    return pysb_jobe_parse_run(body, strlen(body), &l, run, why, sizeof why);
}

static void parse_ok(const char *body, pysb_jobe_run *run)
{
    int rc = parse(body, run);
    if (rc)
        fail_msg("%s: %d %s", body, rc, why);
}

/* The status and text of a body that is refused. */
static void refused(const char *body, int status, const char *text)
{
    pysb_jobe_run run;
    int rc = parse(body, &run);
    pysb_jobe_run_free(&run);
    if (rc != status || strcmp(why, text))
        fail_msg("%s\n  -> %d \"%s\"\n  expected %d \"%s\"", body, rc, why, status, text);
}

static void test_routes(void **state)
{
    (void)state;
    char id[PYSB_JOBE_ID_MAX + 1];
    assert_int_equal(pysb_jobe_route_of("/jobe/index.php/restapi/languages", id),
                     PYSB_JOBE_LANGUAGES);
    assert_int_equal(pysb_jobe_route_of("/jobe/restapi/languages", id), PYSB_JOBE_LANGUAGES);
    assert_int_equal(pysb_jobe_route_of("/jobe/index.php/restapi/runs/", id), PYSB_JOBE_RUNS);
    assert_int_equal(pysb_jobe_route_of("/jobe/index.php/restapi/runs//", id), PYSB_JOBE_RUNS);
    assert_int_equal(pysb_jobe_route_of("/jobe/restapi/files/abc123", id), PYSB_JOBE_FILE);
    assert_string_equal(id, "abc123");
    assert_int_equal(pysb_jobe_route_of("/jobe/restapi/files/abc123/", id), PYSB_JOBE_FILE);
    static const char *const none[] = {
        "/jobe/index.php/restapi/", "/jobe/index.php/restapi/run", "/jobe/restapi/runs/1",
        "/jobe/restapi/files/", "/jobe/restapi/files/a-b", "/jobe/restapi/files/a/b",
        "/jobe/restapi/files/../x", "/jobe/languages", "/jobe/restapi/Languages", "",
    };
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        if (pysb_jobe_route_of(none[i], id) != PYSB_JOBE_NO_ROUTE)
            fail_msg("%s has a route", none[i]);
    char longid[300] = "/j/restapi/files/";
    memset(longid + strlen(longid), 'a', PYSB_JOBE_ID_MAX + 1);
    assert_int_equal(pysb_jobe_route_of(longid, id), PYSB_JOBE_NO_ROUTE);
}

static void test_string_body(void **state)
{
    (void)state;
    size_t n;
    char *s = pysb_jobe_string("Language 'x/y' is \"not\" known\n", &n);
    assert_string_equal(s, "\"Language 'x/y' is \\\"not\\\" known\\n\"");
    assert_int_equal(n, strlen(s));
    free(s);
    s = pysb_jobe_string("r\xc3\xb4le", &n);
    assert_string_equal(s, "\"r\xc3\xb4le\"");   /* unescaped, as Jobe */
    free(s);
}

static void test_shape(void **state)
{
    (void)state;
    const char *ok = "{\"run_spec\":{\"file_list\":[[\"a\",\"b\"]],\"s\":\"[[[[[[[[[[,,,,\"}}";
    assert_true(pysb_jobe_shape_ok(ok, strlen(ok), 10, 4));
    assert_false(pysb_jobe_shape_ok(ok, strlen(ok), 5, 4));
    assert_false(pysb_jobe_shape_ok(ok, strlen(ok), 10, 3));
    char deep[64];
    memset(deep, '[', sizeof deep);
    assert_false(pysb_jobe_shape_ok(deep, sizeof deep, 4096, 8));
    const char *esc = "[\"\\\"[[[[[[[[[\"]";   /* an escaped quote stays in the string */
    assert_true(pysb_jobe_shape_ok(esc, strlen(esc), 10, 1));
}

#define SPEC(x) "{\"run_spec\": {" x "}}"
#define PY3 "\"language_id\": \"python3\", "

static void test_refusals(void **state)
{
    (void)state;
    refused("", 400, "Non-JSON post data received");
    refused(" \n", 400, "Non-JSON post data received");
    refused("null", 400, "Non-JSON post data received");
    refused("[1]", 400, "Non-JSON post data received");
    refused("\"x\"", 400, "Non-JSON post data received");
    refused("{", 500, "Server exception (Failed to parse JSON string. Error: Syntax error)");
    refused("{\"a\": \"\xff\"}", 500, "Server exception (Failed to parse JSON string. Error: "
                                      "Malformed UTF-8 characters, possibly incorrectly encoded)");
    refused("{}", 500, "Server exception (Undefined property: stdClass::$run_spec)");
    refused("{\"run_spec\": null}", 400, "No run_spec attribute found in post data");
    refused("{\"run_spec\": [1]}", 400, "No run_spec attribute found in post data");
    refused(SPEC(PY3 "\"sourcefilename\": \"t.py\""), 400,
            "run_spec is missing the required attribute 'sourcecode'");
    refused(SPEC("\"sourcecode\": \"x\""), 400,
            "run_spec is missing the required attribute 'language_id'");
    refused(SPEC("\"language_id\": null, \"sourcecode\": \"x\""), 400,
            "run_spec is missing the required attribute 'language_id'");
    /* sourcecode is looked for first, as Jobe does */
    refused(SPEC("\"sourcefilename\": \"t.py\""), 400,
            "run_spec is missing the required attribute 'sourcecode'");
    refused(SPEC("\"language_id\": \"nosuchlanguage\", \"sourcecode\": \"x\""), 400,
            "Language 'nosuchlanguage' is not known");
    refused(SPEC("\"language_id\": \"C\", \"sourcecode\": \"x\""), 400,
            "Language 'c' is not known");
    /* compared whole, not as a C string (attack-jobe F4) */
    refused(SPEC("\"language_id\": \"python3\\u0000x\", \"sourcecode\": \"x\""), 400,
            "Language 'python3' is not known");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"cputime\": 21}"), 400,
            "cputime exceeds maximum allowed on this Jobe server (20 secs)");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"cputime\": \"151\"}"), 400,
            "cputime exceeds maximum allowed on this Jobe server (20 secs)");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"cputime\": 0}"), 400,
            "cputime must be more than 0 seconds");
    static const char *const bad_names[] = { "a/b", ".hidden", "-x", "a:b", "a\\u0001", "a*",
                                             "a'b", "a b(" };
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        char body[256];
        snprintf(body, sizeof body, SPEC(PY3 "\"sourcecode\": \"x\", \"sourcefilename\": \"%s\""),
                 bad_names[i]);
        refused(body, 400, "The sourcefilename for the run_spec is illegal");
    }
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"sourcefilename\": 5"), 400,
            "The sourcefilename for the run_spec is illegal");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": [[\"abc\", \"../x\"]]"), 400,
            "Invalid file specifier: Array\n(\n    [0] => abc\n    [1] => ../x\n)\n");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": [[\"abcdefgh\", \"../x\"]]"), 400,
            "Invalid file specifier: Array\n(\n    [0] => abcdefgh\n    [1] => ../x\n)\n");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": [[\"abcdefgh\", \"..\"]]"), 400,
            "Invalid file specifier: Array\n(\n    [0] => abcdefgh\n    [1] => ..\n)\n");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": [\"abcdefgh\"]"), 400,
            "Invalid file specifier: abcdefgh");
    /* a long entry is shown cut short, never in the middle of a character
     * (attack3: the JSON string of the reason could not be made) */
    for (int align = 0; align < 3; align++) {
        char name[1200] = "", body[1600];
        for (int i = 0; i < align; i++)
            strcat(name, "x");
        for (int i = 0; i < 300; i++)
            strcat(name, "\xe2\x82\xac");
        strcat(name, "/");
        snprintf(body, sizeof body,
                 SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": [[\"abcdefgh\", \"%s\"]]"),
                 name);
        pysb_jobe_run run;
        assert_int_equal(parse(body, &run), 400);
        pysb_jobe_run_free(&run);
        assert_true(pysb_utf8_valid(why, strlen(why)));
        assert_non_null(strstr(why, "Invalid file specifier: Array"));
    }
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": \"abcdefgh\""), 400,
            "file_list must be a list of [file_id, file_name] pairs");
    refused(SPEC(PY3 "\"sourcecode\": [1]"), 400, "sourcecode must be a string");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"runargs\": \"a\"}"), 400,
            "runargs must be a list of strings");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"runargs\": [\"$HOME\"]}"), 400,
            "runargs: '$' would be acted on by a shell, and no shell is run here (quote it)");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"interpreterargs\": [\"-m\", "
                     "\"pdb\"]}"),
            400, "interpreterargs: '-m' is not supported by this server (it accepts "
                 "-B -E -I -O -OO -q -s -u -W arg -c code)");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"interpreterargs\": [\"x.py\"]}"),
            400, "interpreterargs: 'x.py' is not supported by this server (it accepts "
                 "-B -E -I -O -OO -q -s -u -W arg -c code)");
    refused(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"interpreterargs\": [\"-c\"]}"),
            400, "interpreterargs: -c needs an argument");
    /* sizes: the Location's code and stdin sizes */
    char *big = malloc(70 * 1024);
    int n = sprintf(big, "{\"run_spec\": {" PY3 "\"sourcecode\": \"");
    memset(big + n, 'x', 65 * 1024);
    strcpy(big + n + 65 * 1024, "\"}}");
    refused(big, 413, "sourcecode is larger than this server accepts (64K)");
    free(big);
    /* a body whose shape no run needs */
    char *wide = malloc(3 * 5000 + 64);
    n = sprintf(wide, "{\"run_spec\": {" PY3 "\"sourcecode\": \"x\", \"a\": [");
    for (int i = 0; i < 5000; i++)
        n += sprintf(wide + n, "%s0", i ? "," : "");
    strcpy(wide + n, "]}}");
    refused(wide, 413, "the run_spec has more values or levels than a run needs");
    free(wide);
}

static void test_run_defaults(void **state)
{
    (void)state;
    pysb_jobe_run run;
    pysb_location l = location();
    parse_ok(SPEC("\"language_id\": \"Python3\", \"sourcecode\": \"print(1)\", "
                                "\"parameters\": [], \"debug\": 1, \"jobeserver\": \"x\""),
                           &run);
    assert_string_equal(run.source, "print(1)");
    assert_string_equal(run.filename, "prog.py");
    assert_string_equal(run.input, "");
    assert_int_equal(run.nargs, 0);
    assert_null(run.ccode);
    assert_true(run.limits.cpu_sec == l.def.cpu_sec);
    assert_true(run.limits.wall_sec == 2 * l.def.cpu_sec);
    assert_int_equal(run.limits.memory_bytes, l.def.memory_bytes);
    assert_int_equal(run.limits.output_bytes, l.def.output_bytes);
    pysb_jobe_run_free(&run);
    /* python is an alias; a number as sourcecode is its text, as PHP's */
    parse_ok(SPEC("\"language_id\": \"python\", \"sourcecode\": 42, "
                                "\"input\": \"0\", \"sourcefilename\": \"__tester__.python3\""),
                           &run);
    assert_string_equal(run.source, "42");
    assert_string_equal(run.input, "0");
    assert_string_equal(run.filename, "__tester__.python3");
    pysb_jobe_run_free(&run);
}

static void test_run_parameters(void **state)
{
    (void)state;
    pysb_jobe_run run;
    pysb_location l = location();
    /* Jobe caps none but cputime: ours are clamped to the Location's */
    parse_ok(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"cputime\": 15, "
                                "\"memorylimit\": 200000, \"numprocs\": 30, \"disklimit\": 20, "
                                "\"streamsize\": 1, \"jobeapikey\": \"k\"}"),
                           &run);
    assert_true(run.limits.cpu_sec == 15);
    assert_true(run.limits.wall_sec == 30);
    assert_int_equal(run.limits.memory_bytes, l.max.memory_bytes);
    assert_int_equal(run.limits.processes, l.max.processes);
    assert_int_equal(run.limits.threads, l.max.threads);
    assert_int_equal(run.limits.fsize_bytes, l.max.fsize_bytes < 20 * 1024000ULL
                                                 ? l.max.fsize_bytes : 20 * 1024000ULL);
    assert_int_equal(run.limits.output_bytes, 2 * 1024000);
    pysb_jobe_run_free(&run);
    /* 20.9 passes (Jobe compares intval) and is held at 20; wall within 40 */
    parse_ok(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"cputime\": "
                                "\"20.9\", \"memorylimit\": 100, \"numprocs\": 1}"),
                           &run);
    assert_true(run.limits.cpu_sec == 20);
    assert_true(run.limits.wall_sec == 40);
    assert_int_equal(run.limits.memory_bytes, 100 * 1024000ULL);
    assert_int_equal(run.limits.threads, 1);
    pysb_jobe_run_free(&run);
    /* 0 MB is Jobe's "no limit": the Location's maximum; tiny is CPython's minimum;
     * a non-number keeps the default (Jobe's anti-injection rule) */
    parse_ok(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"memorylimit\": 0,"
                                " \"cputime\": \"5; rm\"}"),
                           &run);
    assert_int_equal(run.limits.memory_bytes, l.max.memory_bytes);
    assert_true(run.limits.cpu_sec == l.def.cpu_sec);
    pysb_jobe_run_free(&run);
    parse_ok(SPEC(PY3 "\"sourcecode\": \"x\", \"parameters\": {\"memorylimit\": 1}"),
                           &run);
    assert_int_equal(run.limits.memory_bytes, PYSB_MIN_MEMORY);
    pysb_jobe_run_free(&run);
}

static void test_run_args_files(void **state)
{
    (void)state;
    pysb_jobe_run run;
    parse_ok(SPEC(PY3 "\"sourcecode\": \"x\", \"file_list\": [[\"randomid0129798\", \"file1\"],"
                   " [\"0123456789abcdef0123456789abcdef\", \"data.v2_x-y\", \"ignored\"]],"
                   " \"parameters\": {\"runargs\": [\"Arg1\", \"seed=1234\", "
                   "\"username='jsmith'\", \"firstname='Mary Jane'\", \"name='o'\\\\''k'\", 7],"
                   " \"interpreterargs\": [\"-BE\", \"-OO\", \"-W ignore\", "
                   "\"-c \\\"print(\\\\\\\"Blah\\\\\\\")\\\"\"]}"),
              &run);
    assert_int_equal(run.nfiles, 2);
    assert_string_equal(run.files[0].id, "randomid0129798");
    assert_string_equal(run.files[0].name, "file1");
    assert_string_equal(run.files[1].name, "data.v2_x-y");
    assert_int_equal(run.nargs, 6);
    assert_string_equal(run.args[0], "Arg1");
    assert_string_equal(run.args[1], "seed=1234");
    assert_string_equal(run.args[2], "username=jsmith");
    assert_string_equal(run.args[3], "firstname=Mary Jane");
    assert_string_equal(run.args[4], "name=o'k");
    assert_string_equal(run.args[5], "7");
    assert_int_equal(run.optimize, 2);
    assert_int_equal(run.nwopts, 1);
    assert_string_equal(run.wopts[0], "ignore");
    assert_string_equal(run.ccode, "print(\"Blah\")");
    pysb_jobe_run_free(&run);
}

/* sh's words, one element at a time. */
static void words(const char *s, int ok, const char *const *want)
{
    char *w[16];
    size_t n = 0;
    char reason[160] = "";
    int rc = pysb_jobe_split(s, strlen(s), w, &n, 16, reason, sizeof reason);
    if ((rc == 0) != ok)
        fail_msg("%s: %d (%s)", s, rc, reason);
    for (size_t i = 0; ok && want[i]; i++) {
        if (i >= n || strcmp(w[i], want[i]))
            fail_msg("%s: word %zu is \"%s\", not \"%s\"", s, i, i < n ? w[i] : "(none)",
                     want[i]);
        if (!want[i + 1] && n != i + 1)
            fail_msg("%s: %zu words", s, n);
    }
    if (ok && !want[0])
        assert_int_equal(n, 0);
    for (size_t i = 0; i < n; i++)
        free(w[i]);
}

static void test_split(void **state)
{
    (void)state;
    words("a b\tc\n d", 1, (const char *[]){ "a", "b", "c", "d", NULL });
    words("", 1, (const char *[]){ NULL });
    words("''", 1, (const char *[]){ "", NULL });
    words("a'b c'd \"e f\"", 1, (const char *[]){ "ab cd", "e f", NULL });
    words("\"a\\\"b\\\\c\\d\"", 1, (const char *[]){ "a\"b\\c\\d", NULL });
    words("a\\ b \\$x", 1, (const char *[]){ "a b", "$x", NULL });
    words("'$HOME;|&'", 1, (const char *[]){ "$HOME;|&", NULL });
    words("x=~ a#b", 1, (const char *[]){ "x=~", "a#b", NULL });
    static const char *const refused_words[] = { "$HOME", "a;b", "a|b", "a&", "<x", ">x", "(x)",
                                                 "*", "a?", "[ab]", "`id`", "\"$x\"", "\"`x`\"",
                                                 "~", "#c", "'open", "\"open" };
    for (size_t i = 0; i < sizeof refused_words / sizeof *refused_words; i++)
        words(refused_words[i], 0, NULL);
    char *w[2];
    size_t n = 0;
    char reason[160];
    assert_int_equal(pysb_jobe_split("a b c", 5, w, &n, 2, reason, sizeof reason), -1);
    assert_string_equal(reason, "more than 2 arguments");
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    n = 0;
    assert_int_equal(pysb_jobe_split("a\0b", 3, w, &n, 2, reason, sizeof reason), -1);
    for (size_t i = 0; i < n; i++)
        free(w[i]);
}

/* ---- outcomes ---------------------------------------------------------- */

static pysb_result verdict(pysb_status s, int sig)
{
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = s;
    r.signal = sig;
    pysb_limits_default(&r.limits);
    return r;
}

#define RUN PYSB_JOBE_MARK_RUN
#define CMP PYSB_JOBE_MARK_CMPINFO
#define L(lit) lit, sizeof(lit) - 1

static void test_outcomes(void **state)
{
    (void)state;
    pysb_result r = verdict(PYSB_OK, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN "hi\n"), L("")), 15);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN "hi\n"), L("warning\n")), 12);
    assert_int_equal(pysb_jobe_outcome(&r, L(CMP "  File ..."), L("")), 11);
    /* without the marker our program did not do its part: never a success */
    assert_int_equal(pysb_jobe_outcome(&r, L("hi\n"), L("")), 20);
    assert_int_equal(pysb_jobe_outcome(&r, L("x" RUN), L("")), 20);
    r = verdict(PYSB_NONZERO_EXIT, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("")), 15);  /* Jobe ignores the status */
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("Traceback")), 12);
    r = verdict(PYSB_CPU_LIMIT, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("x")), 13);
    assert_int_equal(pysb_jobe_outcome(&r, L(""), L("")), 13);   /* in the compile */
    r = verdict(PYSB_WALL_LIMIT, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("")), 13);
    r = verdict(PYSB_MEMORY_LIMIT, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("MemoryError")), 17);
    r = verdict(PYSB_SIGNAL, SIGSYS);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("")), 19);
    r = verdict(PYSB_SIGNAL, SIGSEGV);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("")), 12);
    r = verdict(PYSB_OUTPUT_LIMIT, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN "xxxx"), L("")), 12);
    r = verdict(PYSB_INTERNAL_ERROR, 0);
    assert_int_equal(pysb_jobe_outcome(&r, L(RUN), L("")), 20);
    assert_int_equal(pysb_jobe_outcome(&r, L(CMP), L("")), 20);
}

static json_t *result(const pysb_result *r, const char *out, size_t ol, const char *err,
                      size_t el)
{
    size_t n;
    char *s = pysb_jobe_result(r, out, ol, err, el, &n);
    assert_non_null(s);
    /* the keys in Jobe's order */
    const char *k[] = { "\"run_id\":", "\"outcome\":", "\"cmpinfo\":", "\"stdout\":",
                        "\"stderr\":" };
    const char *at = s;
    for (size_t i = 0; i < 5; i++) {
        const char *p = strstr(at, k[i]);
        if (!p)
            fail_msg("%s: no %s after the keys before it", s, k[i]);
        at = p;
    }
    json_t *v = json_loadb(s, n, JSON_ALLOW_NUL, NULL);
    free(s);
    assert_non_null(v);
    assert_int_equal(json_object_size(v), 5);
    assert_true(json_is_null(json_object_get(v, "run_id")));
    return v;
}

static const char *field(json_t *v, const char *k)
{
    return json_string_value(json_object_get(v, k));
}

static void test_result_object(void **state)
{
    (void)state;
    pysb_result r = verdict(PYSB_OK, 0);
    json_t *v = result(&r, L(RUN "Hello world!\n"), L(""));
    assert_int_equal(json_integer_value(json_object_get(v, "outcome")), 15);
    assert_string_equal(field(v, "stdout"), "Hello world!\n");
    assert_string_equal(field(v, "stderr"), "");
    assert_string_equal(field(v, "cmpinfo"), "");
    json_decref(v);
    v = result(&r, L(CMP "  File \"t.py\", line 1\nSyntaxError: x\n"), L(""));
    assert_int_equal(json_integer_value(json_object_get(v, "outcome")), 11);
    assert_string_equal(field(v, "cmpinfo"), "  File \"t.py\", line 1\nSyntaxError: x\n");
    assert_string_equal(field(v, "stdout"), "");
    json_decref(v);
    /* 13: stdout kept, stderr emptied (CodeRunner counts stderr as 12) */
    r = verdict(PYSB_CPU_LIMIT, SIGKILL);
    v = result(&r, L(RUN "partial"), L("Traceback\n"));
    assert_int_equal(json_integer_value(json_object_get(v, "outcome")), 13);
    assert_string_equal(field(v, "stdout"), "partial");
    assert_string_equal(field(v, "stderr"), "");
    json_decref(v);
    /* a signal: stderr says so, as runguard's warning does */
    r = verdict(PYSB_SIGNAL, SIGSEGV);
    v = result(&r, L(RUN), L("boom"));
    assert_string_equal(field(v, "stderr"),
                        "boom\npysandbox: the program was terminated by signal 11 (SIGSEGV)\n");
    json_decref(v);
    r = verdict(PYSB_OUTPUT_LIMIT, 0);
    r.truncated[0] = 1;
    v = result(&r, L(RUN "ab\xc3"), L(""));   /* a character cut by the cap is dropped */
    assert_int_equal(json_integer_value(json_object_get(v, "outcome")), 12);
    assert_string_equal(field(v, "stdout"), "ab");
    assert_non_null(strstr(field(v, "stderr"), "output limit exceeded"));
    json_decref(v);
    /* not UTF-8: the whole stream escaped as Jobe does */
    r = verdict(PYSB_OK, 0);
    v = result(&r, L(RUN "\x01\x06\xc0\xc9 r\xc3\xb4le\n"), L(""));
    assert_string_equal(field(v, "stdout"), "\\x01\\x06\\xc0\\xc9 r\\xc3\\xb4le\n");
    json_decref(v);
    v = result(&r, L(RUN "a\0b"), L(""));
    assert_int_equal(json_string_length(json_object_get(v, "stdout")), 3);
    json_decref(v);
    r = verdict(PYSB_INTERNAL_ERROR, 0);
    v = result(&r, L(RUN "x"), L("y"));
    assert_int_equal(json_integer_value(json_object_get(v, "outcome")), 20);
    assert_string_equal(field(v, "stdout"), "");
    assert_string_equal(field(v, "stderr"), "");
    json_decref(v);
}

static void test_fixed_bodies(void **state)
{
    (void)state;
    size_t n;
    char *s = pysb_jobe_overload(&n);
    assert_string_equal(s, "{\"run_id\":\"0\",\"outcome\":21,\"cmpinfo\":\"\",\"stdout\":\"\","
                           "\"stderr\":\"\"}");
    free(s);
    s = pysb_jobe_languages("3.11.2", &n);
    assert_string_equal(s, "[[\"python3\",\"3.11.2\"]]");
    assert_int_equal(n, strlen(s));
    free(s);
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char out[64];
    struct {
        const char *in;
        long len;
        const char *out;
    } cases[] = {
        { "VGhlIGZpcnN0IGZpbGUKTGluZSAy", 21, "The first file\nLine 2" },
        { "YQ==", 1, "a" }, { "YQ", 1, "a" }, { "YWI=", 2, "ab" }, { "YWI", 2, "ab" },
        { "Y W\nI=", 2, "ab" }, { "", 0, "" },
        { "YQ=", -1, NULL }, { "YQ===", -1, NULL }, { "Y", -1, NULL }, { "YQ==YQ==", -1, NULL },
        { "YQ*=", -1, NULL }, { "YWJj\x01", -1, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long n = pysb_jobe_base64(cases[i].in, strlen(cases[i].in), out);
        if (n != cases[i].len || (n > 0 && memcmp(out, cases[i].out, (size_t)n)))
            fail_msg("base64 \"%s\": %ld", cases[i].in, n);
    }
}

/* ---- the program, run by the real interpreter (no sandbox) ------------ */

/* Runs cmd (argv) in directory dir with stdin from in, gives its stdout
 * (malloc'd). */
static char *capture(char *const argv[], const char *dir, const char *in, size_t *len,
                     int *status)
{
    char tmpl[] = "/tmp/test_jobe_in.XXXXXX";
    int infd = mkstemp(tmpl);
    assert_true(infd >= 0);
    assert_int_equal(write(infd, in, strlen(in)), (ssize_t)strlen(in));
    lseek(infd, 0, SEEK_SET);
    unlink(tmpl);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) < 0)
            _exit(126);
        dup2(infd, 0);
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    close(infd);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    *len = 0;
    ssize_t n;
    while ((n = read(p[0], buf + *len, cap - *len - 1)) > 0)
        *len += (size_t)n;
    buf[*len] = '\0';
    close(p[0]);
    waitpid(pid, status, 0);
    return buf;
}

/* What `python3 -m py_compile NAME` writes on stderr for source, in a
 * scratch directory. */
static char *py_compile(const char *name, const char *src, size_t src_len)
{
    char dir[] = "/tmp/test_jobe_pyc.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/%s", dir, name);
    FILE *f = fopen(cmd, "wb");
    fwrite(src, 1, src_len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && %s -m py_compile %s 2>&1 >/dev/null; rm -rf %s", dir,
             PYTHON, name, dir);
    FILE *p = popen(cmd, "r");
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* Our program for a run_spec (files: its file_list's contents in order),
 * run by python3 as the module runs code, in dir. */
static char *run_program_in(const char *dir, const char *body, const char *const *files,
                            const char *in, size_t *len, int *status)
{
    pysb_jobe_run run;
    parse_ok(body, &run);
    for (size_t i = 0; files && i < run.nfiles; i++) {
        run.files[i].data = files[i];
        run.files[i].len = strlen(files[i]);
    }
    size_t plen;
    char *prog = pysb_jobe_program(&run, &plen);
    pysb_jobe_run_free(&run);
    assert_non_null(prog);
    char path[] = "/tmp/test_jobe_prog.XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, prog, plen), (ssize_t)plen);
    close(fd);
    free(prog);
    char *argv[] = { PYTHON, "-I", "-S", "-u", path, NULL };
    char *out = capture(argv, dir, in, len, status);
    unlink(path);
    return out;
}

/* The same in a directory that cannot be written, even by root (a run
 * without scratch). */
static char *run_program(const char *body, const char *in, size_t *len, int *status)
{
    return run_program_in("/proc", body, NULL, in, len, status);
}

static void test_program_compile_report(void **state)
{
    (void)state;
    static const struct {
        const char *json, *raw;
        size_t raw_len;
    } sources[] = {
        { "print(\\\"Hello world!\\\"", "print(\"Hello world!\"", 0 },
        { "if 1:\\nx=1", "if 1:\nx=1", 0 },
        { "if 1:\\n\\tx=1\\n        y=2\\n", "if 1:\n\tx=1\n        y=2\n", 0 },
        { "x = 1\\u0000", "x = 1\0", 6 },
        { "x = 5\\nif x is 1:\\n    pass\\n", "x = 5\nif x is 1:\n    pass\n", 0 },
        { "assert(1, \\\"m\\\")\\n", "assert(1, \"m\")\n", 0 },
        { "x = 1 +\\n", "x = 1 +\n", 0 },
    };
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++) {
        char body[512];
        snprintf(body, sizeof body, SPEC(PY3 "\"sourcefilename\": \"test.py\", \"sourcecode\": "
                                              "\"%s\""), sources[i].json);
        size_t raw_len = sources[i].raw_len ? sources[i].raw_len : strlen(sources[i].raw);
        const char *want = py_compile("test.py", sources[i].raw, raw_len);
        assert_true(want[0] != '\0');
        size_t len;
        int st;
        char *out = run_program(body, "", &len, &st);
        size_t m = sizeof(CMP) - 1;
        if (len < m || memcmp(out, CMP, m) || strcmp(out + m, want))
            fail_msg("source %zu: ours \"%s\"\npy_compile \"%s\"", i, len > m ? out + m : out,
                     want);
        free(out);
    }
}

static void test_program_runs(void **state)
{
    (void)state;
    size_t len;
    int st;
    char *out = run_program(SPEC(PY3 "\"sourcefilename\": \"test.py\", \"sourcecode\": "
                                     "\"import sys\\nprint(sys.argv)\\nprint(input())\\n"
                                     "print(__name__, __file__)\", \"parameters\": "
                                     "{\"runargs\": [\"Arg1\", \"x='a b'\"]}"),
                            "Line1\n", &len, &st);
    assert_string_equal(out, RUN "['test.py', 'Arg1', 'x=a b']\nLine1\n__main__ test.py\n");
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(out);
    /* testsubmit.py's interpreterargs case: -c runs instead of the file */
    out = run_program(SPEC(PY3 "\"sourcefilename\": \"test.py\", \"sourcecode\": \"\", "
                               "\"parameters\": {\"interpreterargs\": "
                               "[\"-c \\\"import sys; print(\\\\\\\"Blah\\\\\\\", sys.argv)\\\"\"]}"),
                      "", &len, &st);
    assert_string_equal(out, RUN "Blah ['-c', 'test.py']\n");
    free(out);
    /* -O drops asserts, as python3 -O would */
    out = run_program(SPEC(PY3 "\"sourcecode\": \"assert False\\nprint('ran')\", "
                               "\"parameters\": {\"interpreterargs\": [\"-O\"]}"),
                      "", &len, &st);
    assert_string_equal(out, RUN "ran\n");
    free(out);
    /* a runtime error exits 1 with the traceback of the source alone */
    out = run_program(SPEC(PY3 "\"sourcecode\": \"data = [1, 2]\\nprint(data[2])\""), "", &len,
                      &st);
    assert_string_equal(out, RUN);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    free(out);
    /* SystemExit keeps its code; what the source prints after the marker */
    out = run_program(SPEC(PY3 "\"sourcecode\": \"import sys\\nprint('x')\\nsys.exit(3)\""), "",
                      &len, &st);
    assert_string_equal(out, RUN "x\n");
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    free(out);
    /* a source that prints the compile-error marker cannot fake one */
    out = run_program(SPEC(PY3 "\"sourcecode\": \"import sys\\nsys.stdout.buffer.write("
                               "b'\\\\0PYSB-JOBE compile error\\\\nfake')\""),
                      "", &len, &st);
    pysb_result r = verdict(PYSB_OK, 0);
    assert_int_equal(pysb_jobe_outcome(&r, out, len, "", 0), 15);
    free(out);
}

static void test_program_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_jobe_cwd.XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t len;
    int st;
    static const char *const files[] = { "The first file\nLine 2", "VALUE = 42\n" };
    char *out = run_program_in(
        dir,
        SPEC(PY3 "\"sourcefilename\": \"test.py\", \"sourcecode\": \"import helper\\n"
                 "print(open('file1').read())\\nprint(helper.VALUE)\\nprint(open(__file__).read()"
                 "[:6])\", \"file_list\": [[\"randomid0129798\", \"file1\"], "
                 "[\"randomid0980128\", \"helper.py\"]]"),
        files, "", &len, &st);
    assert_string_equal(out, RUN "The first file\nLine 2\n42\nimport\n");
    free(out);
    /* a file_list where nothing can be written: no scratch, said first */
    out = run_program(SPEC(PY3 "\"sourcecode\": \"print(1)\", \"file_list\": "
                               "[[\"randomid0129798\", \"file1\"]]"),
                      "", &len, &st);
    assert_string_equal(out, PYSB_JOBE_MARK_NO_DIR);
    pysb_result r = verdict(PYSB_OK, 0);
    assert_int_equal(pysb_jobe_outcome(&r, out, len, "", 0), 20);
    free(out);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_string_body),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_run_parameters),
        cmocka_unit_test(test_run_args_files),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_result_object),
        cmocka_unit_test(test_fixed_bodies),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_program_compile_report),
        cmocka_unit_test(test_program_runs),
        cmocka_unit_test(test_program_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
