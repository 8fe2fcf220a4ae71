/* result.c — the verdict of a run and its words (DESIGN §4).
 *
 * Contract: pysb_classify maps what the supervisor observed to one status
 * with fixed precedence (internal error, output cap, wall clock, then the
 * wait status, then CPU used over a fractional limit); it touches only
 * status, exit_code and signal. The words are
 * safeexec's; signal names are fixed ASCII, never localised. */
#include "result.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---- classification ------------------------------------------------- */

/* The RLIMIT_CPU hard limit (soft + 1 s) ends a run with SIGKILL; CPU time
 * accounting is tick-grained, so allow a little slack below the limit. */
#define CPU_KILL_SLACK 0.05

/* What RLIMIT_CPU was set to for a limit: whole seconds, rounded up
 * (confine.c does the same), at least one. */
static double cpu_rlimit_sec(double limit)
{
    return fmax(1.0, ceil(limit));
}

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
        o->cpu_sec >= cpu_rlimit_sec(o->cpu_limit_sec) - CPU_KILL_SLACK)
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

    if (o->layer_failed || o->stop >= PYSB_STOP_CANCELLED)
        r->status = PYSB_INTERNAL_ERROR;
    else if (o->stop == PYSB_STOP_OUTPUT)
        r->status = PYSB_OUTPUT_LIMIT;
    else if (o->stop == PYSB_STOP_WALL)
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

    /* RLIMIT_CPU counts whole seconds: a program that ended on its own
     * having used more CPU than a fractional limit still exceeded it. */
    if ((r->status == PYSB_OK || r->status == PYSB_NONZERO_EXIT ||
         r->status == PYSB_SIGNAL) && o->cpu_limit_sec > 0 && o->cpu_sec > o->cpu_limit_sec)
        r->status = PYSB_CPU_LIMIT;
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

void pysb_signal_label(int sig, char *buf, size_t len)
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
        pysb_signal_label(r->signal, name, sizeof name);
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

int pysb_status_from_name(const char *name, pysb_status *out)
{
    for (int st = PYSB_OK; st <= PYSB_INTERNAL_ERROR; st++)
        if (!strcmp(pysb_status_name((pysb_status)st), name)) {
            *out = (pysb_status)st;
            return 0;
        }
    return -1;
}

int pysb_signal_from_label(const char *label)
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
