/* test_result.c — unit tests of src/result.c: every classifier rule and its
 * precedence, status names and safeexec's words, the text report line by
 * line, and the JSON object (parsed back: keys, order, types, presence).
 *
 * Wait statuses are built by hand: W_EXITCODE(code, 0) for an exit, the bare
 * signal number for a death by signal. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "payload.h"
#include "render.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD "\xEF\xBF\xBD"
/* A literal and its length, NULs included. */
#define S(lit) lit, sizeof(lit) - 1

/* ---- classification ------------------------------------------------- */

#define MiB (1024 * 1024)

static pysb_observed exited(int code)
{
    pysb_observed o = {
        .wait_status = W_EXITCODE(code, 0),
        .have_status = 1,
        .cpu_sec = 0.2,
        .cpu_limit_sec = 5.0,
        .mem_limit = 256 * MiB,
    };
    return o;
}

static pysb_observed signaled(int sig)
{
    pysb_observed o = exited(0);
    o.wait_status = sig;
    return o;
}

static pysb_result classify(const pysb_observed *o)
{
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = (pysb_status)-1;
    r.exit_code = 12345;
    r.signal = 12345;
    pysb_classify(o, &r);
    return r;
}

static void test_classify_exit(void **state)
{
    (void)state;
    pysb_observed o = exited(0);
    pysb_result r = classify(&o);
    assert_int_equal(r.status, PYSB_OK);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.signal, 0);

    o = exited(1);
    r = classify(&o);
    assert_int_equal(r.status, PYSB_NONZERO_EXIT);
    assert_int_equal(r.exit_code, 1);
    assert_int_equal(r.signal, 0);

    o = exited(255);
    r = classify(&o);
    assert_int_equal(r.status, PYSB_NONZERO_EXIT);
    assert_int_equal(r.exit_code, 255);
}

/* memory_limit comes from the kernel's facts alone: an allocation that
 * RLIMIT_AS refused, or a peak within PYSB_MEM_PEAK_SLACK of the limit;
 * and only for a run that did not end ok. */
static void test_classify_memory(void **state)
{
    (void)state;
    pysb_observed o = exited(1);
    o.mem_refused = 1;
    pysb_result r = classify(&o);
    assert_int_equal(r.status, PYSB_MEMORY_LIMIT);
    assert_int_equal(r.exit_code, 1);
    assert_int_equal(r.signal, 0);

    o = signaled(SIGABRT);
    o.mem_peak_vm = 256 * MiB - MiB + 4096;
    r = classify(&o);
    assert_int_equal(r.status, PYSB_MEMORY_LIMIT);
    assert_int_equal(r.signal, SIGABRT);
    o.mem_peak_vm = 256 * MiB - MiB;          /* not within the slack */
    assert_int_equal(classify(&o).status, PYSB_SIGNAL);

    o = signaled(SIGSEGV);
    o.mem_refused = 3;
    assert_int_equal(classify(&o).status, PYSB_MEMORY_LIMIT);

    /* Ran into the limit, caught it, ended well: ok. */
    o = exited(0);
    o.mem_refused = 5;
    o.mem_peak_vm = 256 * MiB;
    assert_int_equal(classify(&o).status, PYSB_OK);

    /* No facts (not watched): never memory_limit. */
    o = exited(1);
    o.mem_limit = 0;
    o.mem_peak_vm = 300 * MiB;
    assert_int_equal(classify(&o).status, PYSB_NONZERO_EXIT);
}

static void test_classify_signal(void **state)
{
    (void)state;
    pysb_observed o = signaled(SIGSEGV);
    pysb_result r = classify(&o);
    assert_int_equal(r.status, PYSB_SIGNAL);
    assert_int_equal(r.signal, SIGSEGV);
    assert_int_equal(r.exit_code, -1);

    o = signaled(SIGKILL);
    r = classify(&o);
    assert_int_equal(r.status, PYSB_SIGNAL);
    assert_int_equal(r.signal, SIGKILL);

    /* SIGXCPU is a signal like any other: a program can send it itself. */
    o = signaled(SIGXCPU);
    o.cpu_sec = 0.02;
    r = classify(&o);
    assert_int_equal(r.status, PYSB_SIGNAL);
    assert_int_equal(r.signal, SIGXCPU);
}

/* cpu_limit: the supervisor stopped it at the limit, or it ended in any
 * way with more CPU than the exact limit; at or under it, the end decides. */
static void test_classify_cpu(void **state)
{
    (void)state;
    pysb_observed o = signaled(SIGKILL);
    o.stop = PYSB_STOP_CPU;
    o.cpu_sec = 4.999;                      /* the figure lags a little */
    pysb_result r = classify(&o);
    assert_int_equal(r.status, PYSB_CPU_LIMIT);
    assert_int_equal(r.signal, SIGKILL);

    o = exited(0);
    o.cpu_limit_sec = 0.5;
    o.cpu_sec = 0.501;
    r = classify(&o);
    assert_int_equal(r.status, PYSB_CPU_LIMIT);
    assert_int_equal(r.exit_code, 0);
    o.cpu_sec = 0.5;
    assert_int_equal(classify(&o).status, PYSB_OK);
    o = exited(2);
    o.cpu_limit_sec = 0.5;
    o.cpu_sec = 0.7;
    assert_int_equal(classify(&o).status, PYSB_CPU_LIMIT);
    o = signaled(SIGXCPU);                  /* the backstop, over the limit */
    o.cpu_limit_sec = 0.5;
    o.cpu_sec = 2.01;
    assert_int_equal(classify(&o).status, PYSB_CPU_LIMIT);

    /* Before memory: a run over its CPU that also ran out of memory. */
    o = exited(1);
    o.cpu_limit_sec = 0.5;
    o.cpu_sec = 0.7;
    o.mem_refused = 1;
    assert_int_equal(classify(&o).status, PYSB_CPU_LIMIT);

    /* No limit given: never. */
    o = exited(0);
    o.cpu_limit_sec = 0;
    o.cpu_sec = 9;
    assert_int_equal(classify(&o).status, PYSB_OK);
}

static void test_classify_precedence(void **state)
{
    (void)state;
    /* 1. internal error beats everything: a layer that failed, a run the
     * supervisor cancelled or failed at. */
    pysb_observed o = signaled(SIGXCPU);
    o.layer_failed = 1;
    o.stop = PYSB_STOP_OUTPUT;
    o.mem_refused = 1;
    pysb_result r = classify(&o);
    assert_int_equal(r.status, PYSB_INTERNAL_ERROR);
    assert_int_equal(r.signal, SIGXCPU);    /* still reported */
    o.layer_failed = 0;
    o.stop = PYSB_STOP_CANCELLED;
    assert_int_equal(classify(&o).status, PYSB_INTERNAL_ERROR);
    o.stop = PYSB_STOP_FAILED;
    assert_int_equal(classify(&o).status, PYSB_INTERNAL_ERROR);

    /* 2. output cap beats the wait status. */
    o.stop = PYSB_STOP_OUTPUT;
    assert_int_equal(classify(&o).status, PYSB_OUTPUT_LIMIT);

    /* 3. wall clock beats the CPU and the wait status. */
    o = signaled(SIGKILL);
    o.stop = PYSB_STOP_WALL;
    o.cpu_sec = 6.0;                        /* would be cpu_limit otherwise */
    r = classify(&o);
    assert_int_equal(r.status, PYSB_WALL_LIMIT);
    assert_int_equal(r.signal, SIGKILL);
    assert_int_equal(r.exit_code, -1);

    o = exited(3);
    o.stop = PYSB_STOP_WALL;
    r = classify(&o);
    assert_int_equal(r.status, PYSB_WALL_LIMIT);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.signal, 0);

    /* 4. no status: internal error, nothing reported from wait_status. */
    o = exited(0);
    o.have_status = 0;
    o.wait_status = SIGKILL;
    r = classify(&o);
    assert_int_equal(r.status, PYSB_INTERNAL_ERROR);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.signal, 0);

    /* But a stop of the supervisor's with no status is still that stop. */
    o.stop = PYSB_STOP_WALL;
    assert_int_equal(classify(&o).status, PYSB_WALL_LIMIT);
    o.stop = PYSB_STOP_OUTPUT;
    assert_int_equal(classify(&o).status, PYSB_OUTPUT_LIMIT);
    o.stop = PYSB_STOP_CPU;
    assert_int_equal(classify(&o).status, PYSB_CPU_LIMIT);

    /* A later stop only replaces an earlier one when it ranks higher: the
     * order of pysb_stop is the precedence. */
    assert_true(PYSB_STOP_CPU < PYSB_STOP_WALL && PYSB_STOP_WALL < PYSB_STOP_OUTPUT &&
                PYSB_STOP_OUTPUT < PYSB_STOP_CANCELLED);

    /* A stopped child is not an end. */
    o = exited(0);
    o.wait_status = W_STOPCODE(SIGSTOP);
    assert_int_equal(classify(&o).status, PYSB_INTERNAL_ERROR);
}

static void test_classify_touches_only_verdict(void **state)
{
    (void)state;
    pysb_result r, before;
    memset(&r, 0x5A, sizeof r);
    r.run_id[0] = 'x';
    memcpy(&before, &r, sizeof r);
    pysb_observed o = exited(1);
    pysb_classify(&o, &r);
    r.status = before.status;
    r.exit_code = before.exit_code;
    r.signal = before.signal;
    assert_memory_equal(&r, &before, sizeof r);
}

/* ---- names and words ------------------------------------------------ */

static void test_status_names_and_messages(void **state)
{
    (void)state;
    static const struct {
        pysb_status s;
        int exit_code, sig;
        const char *name, *message;
    } rows[] = {
        { PYSB_OK, 0, 0, "ok", "OK" },
        { PYSB_NONZERO_EXIT, 1, 0, "nonzero_exit",
          "Command exited with non-zero status (1)" },
        { PYSB_NONZERO_EXIT, 255, 0, "nonzero_exit",
          "Command exited with non-zero status (255)" },
        { PYSB_SIGNAL, -1, SIGKILL, "signal",
          "Command terminated by signal (9: SIGKILL)" },
        { PYSB_SIGNAL, -1, SIGSEGV, "signal",
          "Command terminated by signal (11: SIGSEGV)" },
        { PYSB_SIGNAL, -1, SIGSYS, "signal",
          "Command terminated by signal (31: SIGSYS)" },
        { PYSB_CPU_LIMIT, -1, SIGXCPU, "cpu_limit", "Time Limit Exceeded" },
        { PYSB_WALL_LIMIT, -1, SIGKILL, "wall_limit", "Time Limit Exceeded" },
        { PYSB_MEMORY_LIMIT, 1, 0, "memory_limit", "Memory Limit Exceeded" },
        { PYSB_OUTPUT_LIMIT, -1, SIGKILL, "output_limit",
          "Output Limit Exceeded" },
        { PYSB_INTERNAL_ERROR, -1, 0, "internal_error", "Internal Error" },
    };
    char buf[128];

    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        pysb_result r;
        memset(&r, 0, sizeof r);
        r.status = rows[i].s;
        r.exit_code = rows[i].exit_code;
        r.signal = rows[i].sig;
        assert_string_equal(pysb_status_name(r.status), rows[i].name);
        pysb_status_message(&r, buf, sizeof buf);
        assert_string_equal(buf, rows[i].message);
    }
    /* Out of range enum values are not trusted. */
    assert_string_equal(pysb_status_name((pysb_status)99), "internal_error");

    /* Signals without a table name still get a label. */
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = PYSB_SIGNAL;
    r.signal = SIGRTMIN + 2;
    pysb_status_message(&r, buf, sizeof buf);
    char want[64];
    snprintf(want, sizeof want, "Command terminated by signal (%d: SIGRTMIN+2)",
             SIGRTMIN + 2);
    assert_string_equal(buf, want);

    /* Truncation is safe. */
    r.status = PYSB_MEMORY_LIMIT;
    char small[7];
    pysb_status_message(&r, small, sizeof small);
    assert_string_equal(small, "Memory");
}

static void test_signal_names(void **state)
{
    (void)state;
    assert_string_equal(pysb_signal_name(1), "SIGHUP");
    assert_string_equal(pysb_signal_name(SIGKILL), "SIGKILL");
    assert_string_equal(pysb_signal_name(SIGSEGV), "SIGSEGV");
    assert_string_equal(pysb_signal_name(SIGXCPU), "SIGXCPU");
    assert_string_equal(pysb_signal_name(SIGXFSZ), "SIGXFSZ");
    assert_string_equal(pysb_signal_name(SIGPIPE), "SIGPIPE");
    assert_string_equal(pysb_signal_name(31), "SIGSYS");
    assert_null(pysb_signal_name(0));
    assert_null(pysb_signal_name(-1));
    assert_null(pysb_signal_name(32));
    assert_null(pysb_signal_name(64));
    assert_null(pysb_signal_name(1 << 30));
    for (int s = 1; s <= 31; s++) {
        const char *n = pysb_signal_name(s);
        if (!n || strncmp(n, "SIG", 3) != 0)
            fail_msg("signal %d has no name", s);
        for (int t = 1; t < s; t++)
            if (strcmp(n, pysb_signal_name(t)) == 0)
                fail_msg("signals %d and %d both named %s", t, s, n);
    }
}

/* ---- text report ---------------------------------------------------- */

static char *report_of(const pysb_result *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    pysb_render_report(r, f);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_report(void **state)
{
    (void)state;
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = PYSB_WALL_LIMIT;
    r.signal = SIGKILL;
    r.exit_code = -1;
    r.wall_sec = 10.0021;
    r.cpu_sec = 0.125;
    r.memory_kb = 12345;
    char *text = report_of(&r);
    assert_string_equal(text, "Time Limit Exceeded\n"
                              "elapsed time: 10.002 seconds\n"
                              "memory usage: 12345 kbytes\n"
                              "cpu usage: 0.125 seconds\n");
    free(text);

    memset(&r, 0, sizeof r);
    r.status = PYSB_NONZERO_EXIT;
    r.exit_code = 2;
    text = report_of(&r);
    assert_string_equal(text, "Command exited with non-zero status (2)\n"
                              "elapsed time: 0.000 seconds\n"
                              "memory usage: 0 kbytes\n"
                              "cpu usage: 0.000 seconds\n");
    free(text);
}

/* ---- JSON ----------------------------------------------------------- */

static pysb_result sample_result(void)
{
    pysb_result r;
    memset(&r, 0, sizeof r);
    r.status = PYSB_OK;
    r.exit_code = 0;
    r.wall_sec = 0.0123456;
    r.cpu_sec = 0.01;
    r.user_sec = 0.0075;
    r.system_sec = 0.1;
    r.memory_kb = 9216;
    r.bytes[PYSB_STDOUT] = 6;
    r.bytes[PYSB_STDERR] = 0;
    r.landlock_abi = 6;
    snprintf(r.run_id, sizeof r.run_id, "run-42");
    pysb_limits_default(&r.limits);
    return r;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    assert_non_null(text);
    /* One line, no trailing newline. */
    assert_null(strchr(text, '\n'));
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (!j)
        fail_msg("JSON does not parse (%s): %s", jerr.text, text);
    assert_true(json_is_object(j));
    return j;
}

static void assert_keys(json_t *j, const char *const *keys, size_t n)
{
    size_t i = 0;
    for (void *it = json_object_iter(j); it;
         it = json_object_iter_next(j, it), i++) {
        const char *k = json_object_iter_key(it);
        if (i >= n || strcmp(k, keys[i]) != 0)
            fail_msg("key #%zu is \"%s\", want \"%s\"", i, k,
                     i < n ? keys[i] : "(end)");
    }
    if (i != n)
        fail_msg("%zu keys, want %zu", i, n);
}

static void test_json_ok(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "status", "message", "exit_code", "signal", "stdout", "stderr",
        "stdout_truncated", "stderr_truncated", "stdout_bytes",
        "stderr_bytes", "wall_time", "cpu_time", "user_time", "system_time",
        "memory_kb", "limits", "run_id", "landlock_abi", "start",
    };
    static const char *const limit_keys[] = {
        "cpu_time", "wall_time", "memory", "output", "processes", "threads",
        "scratch", "output_files",
    };
    pysb_result r = sample_result();
    char *text = pysb_result_to_json(&r, "hello\n", 6, "", 0);
    json_t *j = parse(text);

    assert_keys(j, keys, N_ELEMS(keys));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "OK");
    assert_true(json_is_integer(json_object_get(j, "exit_code")));
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
    assert_true(json_is_null(json_object_get(j, "signal")));
    assert_string_equal(json_string_value(json_object_get(j, "stdout")),
                        "hello\n");
    assert_string_equal(json_string_value(json_object_get(j, "stderr")), "");
    assert_true(json_is_false(json_object_get(j, "stdout_truncated")));
    assert_true(json_is_false(json_object_get(j, "stderr_truncated")));
    assert_int_equal(json_integer_value(json_object_get(j, "stdout_bytes")), 6);
    assert_int_equal(json_integer_value(json_object_get(j, "stderr_bytes")), 0);

    /* Times are reals rounded to the millisecond, printed short. */
    json_t *t = json_object_get(j, "wall_time");
    assert_true(json_is_real(t));
    assert_true(json_real_value(t) == 0.012);
    assert_true(json_real_value(json_object_get(j, "cpu_time")) == 0.01);
    assert_true(json_real_value(json_object_get(j, "user_time")) == 0.008);
    assert_true(json_real_value(json_object_get(j, "system_time")) == 0.1);
    assert_non_null(strstr(text, "\"system_time\":0.1,"));
    assert_non_null(strstr(text, "\"wall_time\":0.012,"));

    assert_int_equal(json_integer_value(json_object_get(j, "memory_kb")), 9216);
    json_t *l = json_object_get(j, "limits");
    assert_true(json_is_object(l));
    assert_keys(l, limit_keys, N_ELEMS(limit_keys));
    assert_true(json_is_real(json_object_get(l, "cpu_time")));
    assert_true(json_real_value(json_object_get(l, "cpu_time")) == 5.0);
    assert_true(json_real_value(json_object_get(l, "wall_time")) == 10.0);
    assert_true(json_is_integer(json_object_get(l, "memory")));
    assert_int_equal(json_integer_value(json_object_get(l, "memory")),
                     256 << 20);
    assert_int_equal(json_integer_value(json_object_get(l, "output")), 1 << 20);
    assert_int_equal(json_integer_value(json_object_get(l, "processes")), 1);
    assert_int_equal(json_integer_value(json_object_get(l, "threads")), 16);
    assert_int_equal(json_integer_value(json_object_get(l, "scratch")), 16 << 20);
    assert_string_equal(json_string_value(json_object_get(j, "run_id")),
                        "run-42");
    assert_int_equal(json_integer_value(json_object_get(j, "landlock_abi")), 6);
    assert_null(json_object_get(j, "error"));

    json_decref(j);
    free(text);
}

static void test_json_signaled_and_truncated(void **state)
{
    (void)state;
    pysb_result r = sample_result();
    r.status = PYSB_OUTPUT_LIMIT;
    r.signal = SIGKILL;
    r.exit_code = -1;
    r.truncated[PYSB_STDOUT] = 1;
    r.bytes[PYSB_STDOUT] = 5000000000ULL;   /* beyond 32 bits */
    r.limits.cpu_sec = 0.1;
    r.limits.memory_bytes = 1ULL << 40;
    r.run_id[0] = '\0';
    char *text = pysb_result_to_json(&r, "yyyy", 4, "", 0);
    json_t *j = parse(text);

    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "output_limit");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "Output Limit Exceeded");
    assert_true(json_is_null(json_object_get(j, "exit_code")));
    assert_string_equal(json_string_value(json_object_get(j, "signal")),
                        "SIGKILL");
    assert_true(json_is_true(json_object_get(j, "stdout_truncated")));
    assert_true(json_is_false(json_object_get(j, "stderr_truncated")));
    assert_int_equal(json_integer_value(json_object_get(j, "stdout_bytes")),
                     5000000000LL);
    json_t *l = json_object_get(j, "limits");
    assert_true(json_real_value(json_object_get(l, "cpu_time")) == 0.1);
    assert_int_equal(json_integer_value(json_object_get(l, "memory")),
                     1LL << 40);
    assert_string_equal(json_string_value(json_object_get(j, "run_id")), "");
    assert_null(json_object_get(j, "error"));
    json_decref(j);
    free(text);

    /* Plain death by signal. */
    r = sample_result();
    r.status = PYSB_SIGNAL;
    r.signal = SIGSEGV;
    r.exit_code = -1;
    text = pysb_result_to_json(&r, "", 0, "", 0);
    j = parse(text);
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "Command terminated by signal (11: SIGSEGV)");
    assert_string_equal(json_string_value(json_object_get(j, "signal")),
                        "SIGSEGV");
    assert_true(json_is_null(json_object_get(j, "exit_code")));
    json_decref(j);
    free(text);

    /* Nonzero exit: an integer exit code, no signal. */
    r = sample_result();
    r.status = PYSB_NONZERO_EXIT;
    r.exit_code = 3;
    text = pysb_result_to_json(&r, "", 0, "", 0);
    j = parse(text);
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 3);
    assert_true(json_is_null(json_object_get(j, "signal")));
    json_decref(j);
    free(text);
}

static void test_json_exit_event(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "status", "message", "exit_code", "signal",
        "stdout_truncated", "stderr_truncated", "stdout_bytes",
        "stderr_bytes", "wall_time", "cpu_time", "user_time", "system_time",
        "memory_kb", "limits", "run_id", "landlock_abi", "start",
    };
    pysb_result r = sample_result();
    char *text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    json_t *j = parse(text);
    assert_keys(j, keys, N_ELEMS(keys));
    assert_null(json_object_get(j, "stdout"));
    assert_null(json_object_get(j, "stderr"));
    json_decref(j);
    free(text);

    /* Only one stream given. */
    text = pysb_result_to_json(&r, NULL, 0, "e", 1);
    j = parse(text);
    assert_null(json_object_get(j, "stdout"));
    assert_string_equal(json_string_value(json_object_get(j, "stderr")), "e");
    json_decref(j);
    free(text);
}

static void test_json_error_field(void **state)
{
    (void)state;
    pysb_result r = sample_result();
    r.status = PYSB_INTERNAL_ERROR;
    r.exit_code = -1;
    snprintf(r.error, sizeof r.error, "landlock: ruleset: ENOSYS");
    char *text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    json_t *j = parse(text);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "internal_error");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "Internal Error");
    assert_true(json_is_null(json_object_get(j, "exit_code")));
    assert_true(json_is_null(json_object_get(j, "signal")));
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "landlock: ruleset: ENOSYS");
    /* It is the last key. */
    void *it = json_object_iter(j), *last = NULL;
    for (; it; it = json_object_iter_next(j, it))
        last = it;
    assert_string_equal(json_object_iter_key(last), "error");
    json_decref(j);
    free(text);

    /* Empty error: no field. */
    r.error[0] = '\0';
    text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    j = parse(text);
    assert_null(json_object_get(j, "error"));
    json_decref(j);
    free(text);

    /* Error text on another status: not shown. */
    r = sample_result();
    snprintf(r.error, sizeof r.error, "stale");
    text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    j = parse(text);
    assert_null(json_object_get(j, "error"));
    json_decref(j);
    free(text);

    /* Internal error of a program that did exit: exit code kept. */
    r = sample_result();
    r.status = PYSB_INTERNAL_ERROR;
    r.exit_code = 0;
    text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    j = parse(text);
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
    json_decref(j);
    free(text);
}

static void test_json_odd_numbers(void **state)
{
    (void)state;
    pysb_result r = sample_result();
    r.wall_sec = NAN;                /* must not break the JSON */
    r.cpu_sec = INFINITY;
    r.user_sec = 1.2345;
    r.system_sec = 2.9996;
    char *text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    json_t *j = parse(text);
    assert_true(json_real_value(json_object_get(j, "wall_time")) == 0.0);
    assert_true(json_real_value(json_object_get(j, "cpu_time")) == 0.0);
    assert_true(json_real_value(json_object_get(j, "user_time")) == 1.235 ||
                json_real_value(json_object_get(j, "user_time")) == 1.234);
    assert_true(json_real_value(json_object_get(j, "system_time")) == 3.0);
    json_decref(j);
    free(text);

    /* run_id filling its array, without a terminating NUL. */
    r = sample_result();
    memset(r.run_id, 'a', sizeof r.run_id);
    text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    j = parse(text);
    assert_int_equal(json_string_length(json_object_get(j, "run_id")),
                     sizeof r.run_id);
    json_decref(j);
    free(text);
}

static void test_json_utf8(void **state)
{
    (void)state;
    pysb_result r = sample_result();
    static const char err[] = "e\0f\xED\xA0\x80";
    char *text = pysb_result_to_json(&r, "\xff", 1, err, sizeof err - 1);
    assert_non_null(text);
    /* jansson writes U+FFFD as raw UTF-8 and NUL as \u0000. */
    assert_non_null(strstr(text, "\"stdout\":\"" FFFD "\""));
    assert_non_null(strstr(text, "\\u0000"));
    json_t *j = parse(text);
    json_t *o = json_object_get(j, "stdout");
    assert_int_equal(json_string_length(o), 3);
    assert_memory_equal(json_string_value(o), "\xEF\xBF\xBD", 3);
    json_t *e = json_object_get(j, "stderr");
    static const char want[] = "e\0f" FFFD FFFD FFFD;
    assert_int_equal(json_string_length(e), sizeof want - 1);
    assert_memory_equal(json_string_value(e), want, sizeof want - 1);
    json_decref(j);
    free(text);

    /* Bytes that are not UTF-8 in the run id and error text too. */
    r.status = PYSB_INTERNAL_ERROR;
    snprintf(r.run_id, sizeof r.run_id, "id\xC0");
    snprintf(r.error, sizeof r.error, "bad \xff");
    text = pysb_result_to_json(&r, NULL, 0, NULL, 0);
    j = parse(text);
    assert_string_equal(json_string_value(json_object_get(j, "run_id")),
                        "id" FFFD);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "bad " FFFD);
    json_decref(j);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_exit),
        cmocka_unit_test(test_classify_memory),
        cmocka_unit_test(test_classify_signal),
        cmocka_unit_test(test_classify_cpu),
        cmocka_unit_test(test_classify_precedence),
        cmocka_unit_test(test_classify_touches_only_verdict),
        cmocka_unit_test(test_status_names_and_messages),
        cmocka_unit_test(test_signal_names),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_json_ok),
        cmocka_unit_test(test_json_signaled_and_truncated),
        cmocka_unit_test(test_json_exit_event),
        cmocka_unit_test(test_json_error_field),
        cmocka_unit_test(test_json_odd_numbers),
        cmocka_unit_test(test_json_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
