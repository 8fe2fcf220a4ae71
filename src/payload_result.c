/* payload_result.c — the result object: the RESULT frame's payload, the
 * json format's response, and (without the output) the exit event of
 * ndjson/sse.
 *
 * Contract (details in payload.h): the writer never fails on odd bytes:
 * output that is not UTF-8 becomes U+FFFD exactly as Python's
 * decode('utf-8', 'replace') does, NUL stays (\u0000); times are rounded
 * to the millisecond. The reader is the writer's inverse for every field
 * but the output, and lenient about what it does not need. */
#include "payload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Times are reported to the millisecond; more digits would be noise.
 * Half away from zero, by hand: the same on every libm. */
static double round_ms(double x)
{
    if (!isfinite(x))
        return 0.0;         /* jansson refuses NaN and inf */
    if (x > 1e15 || x < -1e15)
        return x;
    double ms = x * 1000.0;
    long long k = (long long)(ms < 0 ? ms - 0.5 : ms + 0.5);
    return (double)k / 1000.0;
}


/* A JSON string of arbitrary bytes: valid UTF-8 as is, the rest through
 * the sanitizer. */
static json_t *json_bytes(const char *buf, size_t len)
{
    if (pysb_utf8_valid(buf, len))
        return json_stringn(buf, len);

    size_t clean_len;
    char *clean = pysb_utf8_sanitize(buf, len, &clean_len);
    if (!clean)
        return NULL;
    json_t *j = json_stringn(clean, clean_len);
    free(clean);
    return j;
}



int pysb_result_fields(json_t *o, const pysb_result *r, const char *out,
                       size_t out_len, const char *err, size_t err_len)
{
    char msg[128], sig[32];
    int bad = 0;

    pysb_status_message(r, msg, sizeof msg);

    /* json_object_set_new takes ownership even on failure and refuses a
     * NULL value, so one flag catches every allocation failure. */
    bad |= json_object_set_new(o, "status",
                               json_string(pysb_status_name(r->status)));
    bad |= json_object_set_new(o, "message", json_string(msg));
    bad |= json_object_set_new(o, "exit_code", r->exit_code >= 0
                               ? json_integer(r->exit_code) : json_null());
    if (r->signal > 0) {
        pysb_signal_label(r->signal, sig, sizeof sig);
        bad |= json_object_set_new(o, "signal", json_string(sig));
    } else {
        bad |= json_object_set_new(o, "signal", json_null());
    }
    if (out)
        bad |= json_object_set_new(o, "stdout", json_bytes(out, out_len));
    if (err)
        bad |= json_object_set_new(o, "stderr", json_bytes(err, err_len));
    bad |= json_object_set_new(o, "stdout_truncated",
                               json_boolean(r->truncated[PYSB_STDOUT]));
    bad |= json_object_set_new(o, "stderr_truncated",
                               json_boolean(r->truncated[PYSB_STDERR]));
    bad |= json_object_set_new(o, "stdout_bytes",
                               pysb_json_count(r->bytes[PYSB_STDOUT]));
    bad |= json_object_set_new(o, "stderr_bytes",
                               pysb_json_count(r->bytes[PYSB_STDERR]));
    bad |= json_object_set_new(o, "wall_time", json_real(round_ms(r->wall_sec)));
    bad |= json_object_set_new(o, "cpu_time", json_real(round_ms(r->cpu_sec)));
    bad |= json_object_set_new(o, "user_time", json_real(round_ms(r->user_sec)));
    bad |= json_object_set_new(o, "system_time",
                               json_real(round_ms(r->system_sec)));
    bad |= json_object_set_new(o, "memory_kb", json_integer(r->memory_kb));
    bad |= json_object_set_new(o, "limits", pysb_limits_json(&r->limits, PYSB_LIMIT_SHOWN));
    bad |= json_object_set_new(o, "run_id",
                               json_bytes(r->run_id,
                                          strnlen(r->run_id,
                                                  sizeof r->run_id)));
    bad |= json_object_set_new(o, "landlock_abi",
                               json_integer(r->landlock_abi));
    if (r->exception[0]) {
        bad |= json_object_set_new(o, "exception", json_bytes(r->exception,
                                                             strnlen(r->exception,
                                                                     sizeof r->exception)));
        if (r->exception_line > 0)
            bad |= json_object_set_new(o, "exception_line", json_integer(r->exception_line));
    }
    if (r->limit_reached[0])
        bad |= json_object_set_new(o, "limit_reached",
                                   json_bytes(r->limit_reached,
                                              strnlen(r->limit_reached, sizeof r->limit_reached)));
    bad |= json_object_set_new(o, "start", json_string(r->warm ? "warm" : "cold"));
    if (r->status == PYSB_INTERNAL_ERROR && r->error[0])
        bad |= json_object_set_new(o, "error",
                                   json_bytes(r->error,
                                              strnlen(r->error,
                                                      sizeof r->error)));
    return bad ? -1 : 0;
}

char *pysb_result_to_json(const pysb_result *r,
                          const char *out, size_t out_len,
                          const char *err, size_t err_len)
{
    json_t *o = json_object();
    char *text = NULL;

    if (o && pysb_result_fields(o, r, out, out_len, err, err_len) == 0)
        text = json_dumps(o, PYSB_RESULT_DUMP_FLAGS);
    json_decref(o);
    return text;
}

static double get_real(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static uint64_t get_count(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0
               ? (uint64_t)json_integer_value(v) : 0;
}

static void get_text(json_t *o, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(o, key);
    snprintf(buf, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int pysb_result_from_json(const char *json, size_t len, pysb_result *r)
{
    json_error_t jerr;
    json_t *o = json_loadb(json, len, 0, &jerr);
    memset(r, 0, sizeof *r);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    json_t *status = json_object_get(o, "status");
    json_t *sig = json_object_get(o, "signal");
    json_t *code = json_object_get(o, "exit_code");
    json_t *lim = json_object_get(o, "limits");
    int rc = 0;
    if (!json_is_string(status) ||
        pysb_status_from_name(json_string_value(status), &r->status) < 0 ||
        !json_is_object(lim))
        rc = -1;
    r->exit_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
    r->signal = json_is_string(sig) ? pysb_signal_from_label(json_string_value(sig)) : 0;
    if (r->signal < 0)
        rc = -1;
    r->truncated[PYSB_STDOUT] = json_is_true(json_object_get(o, "stdout_truncated"));
    r->truncated[PYSB_STDERR] = json_is_true(json_object_get(o, "stderr_truncated"));
    r->bytes[PYSB_STDOUT] = get_count(o, "stdout_bytes");
    r->bytes[PYSB_STDERR] = get_count(o, "stderr_bytes");
    r->wall_sec = get_real(o, "wall_time");
    r->cpu_sec = get_real(o, "cpu_time");
    r->user_sec = get_real(o, "user_time");
    r->system_sec = get_real(o, "system_time");
    r->memory_kb = (long)get_count(o, "memory_kb");
    r->landlock_abi = (int)get_count(o, "landlock_abi");
    json_t *start = json_object_get(o, "start");
    r->warm = json_is_string(start) && !strcmp(json_string_value(start), "warm");
    get_text(o, "run_id", r->run_id, sizeof r->run_id);
    get_text(o, "error", r->error, sizeof r->error);
    get_text(o, "exception", r->exception, sizeof r->exception);
    r->exception_line = (int)get_count(o, "exception_line");
    get_text(o, "limit_reached", r->limit_reached, sizeof r->limit_reached);
    for (size_t i = 0; json_is_object(lim) && i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (!(d->flags & PYSB_LIMIT_SHOWN))
            continue;
        if (d->kind == PYSB_LIMIT_SECONDS)
            pysb_limit_set_seconds(&r->limits, d, get_real(lim, d->key));
        else
            pysb_limit_set_amount(&r->limits, d, get_count(lim, d->key));
    }
    json_decref(o);
    return rc;
}
