/* result.c — the verdict of a run and its renderings (DESIGN §4).
 *
 * Contract: pysb_classify maps what the supervisor observed to one status
 * with fixed precedence (internal error, output cap, wall clock, then the
 * wait status); it touches only status, exit_code and signal. The renderers
 * write safeexec's words and the one-line JSON object; they never fail on
 * odd bytes: invalid UTF-8 becomes U+FFFD exactly as Python's
 * decode('utf-8', 'replace') does, NUL stays (\u0000 in JSON). */
#include "result.h"
#include "utf8.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---- classification ------------------------------------------------- */

/* The RLIMIT_CPU hard limit (soft + 1 s) ends a run with SIGKILL; CPU time
 * accounting is tick-grained, so allow a little slack below the limit. */
#define CPU_KILL_SLACK 0.05

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* The last line of the tail holding anything but blanks. */
static const char *last_nonempty_line(const char *t, size_t len,
                                      size_t *line_len)
{
    size_t end = len;

    while (end > 0) {
        size_t start = end;
        while (start > 0 && t[start - 1] != '\n')
            start--;
        for (size_t i = start; i < end; i++) {
            if (!is_blank(t[i])) {
                *line_len = end - start;
                return t + start;
            }
        }
        end = start ? start - 1 : 0;
    }
    return NULL;
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Python's uncaught MemoryError ends its traceback with "MemoryError" or
 * "MemoryError: …". */
static int tail_ends_in_memory_error(const pysb_observed *o)
{
    size_t n = 0;
    const char *line;

    if (!o->stderr_tail)
        return 0;
    line = last_nonempty_line(o->stderr_tail, o->stderr_tail_len, &n);
    return line && starts_with(line, n, "MemoryError");
}

/* Failures of the allocator that do not reach Python's MemoryError: the
 * interpreter aborting at startup, a C extension, glibc's malloc. */
static int tail_mentions_memory_failure(const pysb_observed *o)
{
    static const char *const words[] = {
        "memory allocation failed",
        "Cannot allocate memory",
        "out of memory",
    };

    if (tail_ends_in_memory_error(o))
        return 1;
    if (!o->stderr_tail)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (memmem(o->stderr_tail, o->stderr_tail_len, words[i],
                   strlen(words[i])))
            return 1;
    }
    return 0;
}

static pysb_status classify_signal(const pysb_observed *o, int sig)
{
    if (sig == SIGXCPU)
        return PYSB_CPU_LIMIT;
    if (sig == SIGKILL && o->cpu_limit_sec > 0 &&
        o->cpu_sec >= o->cpu_limit_sec - CPU_KILL_SLACK)
        return PYSB_CPU_LIMIT;
    if ((sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS ||
         sig == SIGKILL) && tail_mentions_memory_failure(o))
        return PYSB_MEMORY_LIMIT;
    return PYSB_SIGNAL;
}

void pysb_classify(const pysb_observed *o, pysb_result *r)
{
    int ws = o->wait_status;

    /* Report what the wait status says even when a rule above it decides
     * the verdict: "wall_limit" with signal SIGKILL is the truth. */
    r->exit_code = -1;
    r->signal = 0;
    if (o->have_status) {
        if (WIFSIGNALED(ws))
            r->signal = WTERMSIG(ws);
        else if (WIFEXITED(ws))
            r->exit_code = WEXITSTATUS(ws);
    }

    if (o->internal_error)
        r->status = PYSB_INTERNAL_ERROR;
    else if (o->killed_output)
        r->status = PYSB_OUTPUT_LIMIT;
    else if (o->killed_wall)
        r->status = PYSB_WALL_LIMIT;
    else if (!o->have_status)
        r->status = PYSB_INTERNAL_ERROR;    /* nothing known of the program */
    else if (WIFSIGNALED(ws))
        r->status = classify_signal(o, WTERMSIG(ws));
    else if (WIFEXITED(ws))
        r->status = WEXITSTATUS(ws) == 0 ? PYSB_OK
                  : tail_ends_in_memory_error(o) ? PYSB_MEMORY_LIMIT
                  : PYSB_NONZERO_EXIT;
    else
        r->status = PYSB_INTERNAL_ERROR;    /* stopped/continued: not an end */
}

/* ---- names and words ------------------------------------------------ */

const char *pysb_status_name(pysb_status s)
{
    switch (s) {
    case PYSB_OK:             return "ok";
    case PYSB_NONZERO_EXIT:   return "nonzero_exit";
    case PYSB_SIGNAL:         return "signal";
    case PYSB_CPU_LIMIT:      return "cpu_limit";
    case PYSB_WALL_LIMIT:     return "wall_limit";
    case PYSB_MEMORY_LIMIT:   return "memory_limit";
    case PYSB_OUTPUT_LIMIT:   return "output_limit";
    case PYSB_INTERNAL_ERROR: return "internal_error";
    }
    return "internal_error";
}

/* Indexed by the <signal.h> macros, so the numbering follows the
 * architecture; a table because strsignal() is localised and sigabbrev_np()
 * needs glibc 2.32. */
static const char *const signal_names[32] = {
    [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT",
    [SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
    [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",       [SIGKILL] = "SIGKILL",
    [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
    [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
    [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
    [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",
    [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG",       [SIGXCPU] = "SIGXCPU",
    [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
    [SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO",       [SIGPWR] = "SIGPWR",
    [SIGSYS] = "SIGSYS",
};

const char *pysb_signal_name(int sig)
{
    if (sig < 1 || sig >= (int)(sizeof signal_names / sizeof signal_names[0]))
        return NULL;
    return signal_names[sig];
}

/* A name for any signal number, for the message and the JSON: real-time
 * signals have none in the table but can still end a program. */
static void signal_label(int sig, char *buf, size_t len)
{
    const char *name = pysb_signal_name(sig);

    if (name)
        snprintf(buf, len, "%s", name);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, len, "SIG%d", sig);
}

void pysb_status_message(const pysb_result *r, char *buf, size_t len)
{
    char name[32];

    if (len == 0)
        return;
    switch (r->status) {
    case PYSB_OK:
        snprintf(buf, len, "OK");
        break;
    case PYSB_NONZERO_EXIT:
        snprintf(buf, len, "Command exited with non-zero status (%d)",
                 r->exit_code);
        break;
    case PYSB_SIGNAL:
        signal_label(r->signal, name, sizeof name);
        snprintf(buf, len, "Command terminated by signal (%d: %s)",
                 r->signal, name);
        break;
    case PYSB_CPU_LIMIT:
    case PYSB_WALL_LIMIT:
        snprintf(buf, len, "Time Limit Exceeded");
        break;
    case PYSB_MEMORY_LIMIT:
        snprintf(buf, len, "Memory Limit Exceeded");
        break;
    case PYSB_OUTPUT_LIMIT:
        snprintf(buf, len, "Output Limit Exceeded");
        break;
    case PYSB_INTERNAL_ERROR:
    default:
        snprintf(buf, len, "Internal Error");
        break;
    }
}

int pysb_format_report(const pysb_result *r, char *buf, size_t len)
{
    char msg[128];

    pysb_status_message(r, msg, sizeof msg);
    return snprintf(buf, len,
                    "%s\n"
                    "elapsed time: %.3f seconds\n"
                    "memory usage: %ld kbytes\n"
                    "cpu usage: %.3f seconds\n",
                    msg, r->wall_sec, r->memory_kb, r->cpu_sec);
}

void pysb_render_report(const pysb_result *r, FILE *out)
{
    char buf[512];

    pysb_format_report(r, buf, sizeof buf);
    fputs(buf, out);
}

/* ---- JSON ----------------------------------------------------------- */

/* Times are reported to the millisecond; more digits would be noise.
 * Done without libm (round) so users of the library need no -lm. */
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

static json_t *json_seconds(double x)
{
    return json_real(isfinite(x) ? x : 0.0);
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

/* json_int_t is long long: larger counts are clamped, not wrapped. */
static json_t *json_count(uint64_t n)
{
    return json_integer(n > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)n);
}

static json_t *limits_object(const pysb_limits *l)
{
    json_t *o = json_object();
    int bad = 0;

    if (!o)
        return NULL;
    bad |= json_object_set_new(o, "cpu_time", json_seconds(l->cpu_sec));
    bad |= json_object_set_new(o, "wall_time", json_seconds(l->wall_sec));
    bad |= json_object_set_new(o, "memory", json_count(l->memory_bytes));
    bad |= json_object_set_new(o, "output", json_count(l->output_bytes));
    bad |= json_object_set_new(o, "processes", json_integer(l->processes));
    bad |= json_object_set_new(o, "threads", json_integer(l->threads));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *pysb_render_json(const pysb_result *r,
                       const char *out, size_t out_len,
                       const char *err, size_t err_len)
{
    json_t *o = json_object();
    char msg[128], sig[32];
    char *text = NULL;
    int bad = 0;

    if (!o)
        return NULL;
    pysb_status_message(r, msg, sizeof msg);

    /* json_object_set_new takes ownership even on failure and refuses a
     * NULL value, so one flag catches every allocation failure. */
    bad |= json_object_set_new(o, "status",
                               json_string(pysb_status_name(r->status)));
    bad |= json_object_set_new(o, "message", json_string(msg));
    bad |= json_object_set_new(o, "exit_code", r->exit_code >= 0
                               ? json_integer(r->exit_code) : json_null());
    if (r->signal > 0) {
        signal_label(r->signal, sig, sizeof sig);
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
                               json_count(r->bytes[PYSB_STDOUT]));
    bad |= json_object_set_new(o, "stderr_bytes",
                               json_count(r->bytes[PYSB_STDERR]));
    bad |= json_object_set_new(o, "wall_time", json_real(round_ms(r->wall_sec)));
    bad |= json_object_set_new(o, "cpu_time", json_real(round_ms(r->cpu_sec)));
    bad |= json_object_set_new(o, "user_time", json_real(round_ms(r->user_sec)));
    bad |= json_object_set_new(o, "system_time",
                               json_real(round_ms(r->system_sec)));
    bad |= json_object_set_new(o, "memory_kb", json_integer(r->memory_kb));
    bad |= json_object_set_new(o, "limits", limits_object(&r->limits));
    bad |= json_object_set_new(o, "run_id",
                               json_bytes(r->run_id,
                                          strnlen(r->run_id,
                                                  sizeof r->run_id)));
    bad |= json_object_set_new(o, "landlock_abi",
                               json_integer(r->landlock_abi));
    if (r->status == PYSB_INTERNAL_ERROR && r->error[0])
        bad |= json_object_set_new(o, "error",
                                   json_bytes(r->error,
                                              strnlen(r->error,
                                                      sizeof r->error)));

    /* 15 digits: shortest text for ms-rounded times and typed limits
     * ("0.1", not jansson's default "0.10000000000000001"). */
    if (!bad)
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                 JSON_REAL_PRECISION(15));
    json_decref(o);
    return text;
}

/* ---- parsing a result back ------------------------------------------ */

int pysb_status_from_name(const char *name, pysb_status *out)
{
    for (int st = PYSB_OK; st <= PYSB_INTERNAL_ERROR; st++)
        if (!strcmp(pysb_status_name((pysb_status)st), name)) {
            *out = (pysb_status)st;
            return 0;
        }
    return -1;
}

static int signal_from_label(const char *label)
{
    for (int sig = 1; sig < (int)(sizeof signal_names / sizeof signal_names[0]); sig++)
        if (signal_names[sig] && !strcmp(signal_names[sig], label))
            return sig;
    int n;
    if (sscanf(label, "SIGRTMIN+%d", &n) == 1 && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
        return SIGRTMIN + n;
    if (sscanf(label, "SIG%d", &n) == 1 && n > 0 && n < 128)
        return n;
    return -1;
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
    r->signal = json_is_string(sig) ? signal_from_label(json_string_value(sig)) : 0;
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
    get_text(o, "run_id", r->run_id, sizeof r->run_id);
    get_text(o, "error", r->error, sizeof r->error);
    if (json_is_object(lim)) {
        r->limits.cpu_sec = get_real(lim, "cpu_time");
        r->limits.wall_sec = get_real(lim, "wall_time");
        r->limits.memory_bytes = get_count(lim, "memory");
        r->limits.output_bytes = get_count(lim, "output");
        r->limits.processes = (unsigned)get_count(lim, "processes");
        r->limits.threads = (unsigned)get_count(lim, "threads");
    }
    json_decref(o);
    return rc;
}
