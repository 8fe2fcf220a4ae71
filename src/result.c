/* result.c — the verdict of a run and its words (DESIGN §4).
 *
 * Contract: pysb_classify maps what the supervisor and the kernel observed
 * to one status with fixed precedence (internal error, output cap, wall
 * clock, CPU, exit 0, memory, the wait status); it touches only status,
 * exit_code and signal. The words are
 * safeexec's; signal names are fixed ASCII, never localised. */
#include "result.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---- classification ------------------------------------------------- */

/* The rules, in this order (README "Verdicts"). Only what the supervisor
 * and the kernel saw counts: nothing the program prints, and no signal it
 * sends itself, decides.
 *
 *   internal_error  a layer failed, the supervisor did, or no wait status
 *   output_limit    the supervisor stopped it at the output cap
 *   wall_limit      the supervisor stopped it at the wall clock
 *   cpu_limit       the supervisor stopped it because the CPU of all its
 *                   tasks reached the limit, or it ended (any way, exit 0
 *                   included) having used more CPU than the limit: exact
 *                   figures, so no tolerance either way
 *   ok              exit status 0
 *   memory_limit    it ended otherwise and the kernel refused it memory: a
 *                   watched allocation over the address-space limit, or a
 *                   peak address space within PYSB_MEM_PEAK_SLACK of it
 *   nonzero_exit / signal   everything else, as the wait status says
 *
 * SIGXCPU means nothing on its own: RLIMIT_CPU is a backstop above the
 * limit, and when it fires the CPU used is over the limit anyway. */
static int ran_out_of_memory(const pysb_observed *o)
{
    if (o->mem_refused > 0)
        return 1;
    return o->mem_limit > PYSB_MEM_PEAK_SLACK &&
           o->mem_peak_vm > o->mem_limit - PYSB_MEM_PEAK_SLACK;
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
    else if (o->stop == PYSB_STOP_CPU ||
             (o->cpu_limit_sec > 0 && o->cpu_sec > o->cpu_limit_sec))
        r->status = PYSB_CPU_LIMIT;
    else if (!o->have_status)
        r->status = PYSB_INTERNAL_ERROR;    /* nothing known of the program */
    else if (!WIFEXITED(ws) && !WIFSIGNALED(ws))
        r->status = PYSB_INTERNAL_ERROR;    /* stopped/continued: not an end */
    else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        r->status = PYSB_OK;
    else if (ran_out_of_memory(o))
        r->status = PYSB_MEMORY_LIMIT;
    else
        r->status = WIFSIGNALED(ws) ? PYSB_SIGNAL : PYSB_NONZERO_EXIT;
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
