/* result.h — what one run came to, its verdict, and the words of the HTTP
 * contract for it (DESIGN §4): status names and safeexec's messages. The
 * JSON result object is payload.h's, the text report render.h's.
 *
 * Contract: pysb_classify is a pure function of what the supervisor saw, so
 * the unit tests drive it with every combination. */
#ifndef PYSB_RESULT_H
#define PYSB_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "runlimits.h"

typedef enum pysb_status {
    PYSB_OK = 0,
    PYSB_NONZERO_EXIT,
    PYSB_SIGNAL,
    PYSB_CPU_LIMIT,
    PYSB_WALL_LIMIT,
    PYSB_MEMORY_LIMIT,
    PYSB_OUTPUT_LIMIT,
    PYSB_INTERNAL_ERROR,
} pysb_status;

enum { PYSB_STDOUT = 0, PYSB_STDERR = 1 };

typedef struct pysb_result {
    pysb_status status;
    int      exit_code;        /* valid when !signaled */
    int      signal;           /* terminating signal, 0 if none */
    double   wall_sec, cpu_sec, user_sec, system_sec;
    long     memory_kb;        /* peak RSS of the run */
    uint64_t bytes[2];         /* bytes produced per stream (kept or not) */
    int      truncated[2];     /* stream lost bytes to the output cap */
    int      landlock_abi;     /* ABI applied; 0 if waived */
    int      warm;             /* forked from a fork server (PySandboxStart
                                  warm), else a fresh interpreter */
    char     run_id[40];
    char     error[256];       /* internal_error: which layer and why */
    pysb_limits limits;        /* the limits the run had */
    /* The bootstrap's report of an uncaught exception (a label for people,
     * never part of the verdict): its type ("ZeroDivisionError", module-
     * qualified when not a builtin), the line of main.py it came from (0:
     * unknown), and "threads" or "processes" when it was the refusal of a
     * new thread or process. "" when there was no report. */
    char     exception[96];
    int      exception_line;
    char     limit_reached[16];
} pysb_result;

/* Why the supervisor stopped a run, if it did. When two stops come
 * together the later value in this order wins: it is the classifier's
 * precedence (a cancelled run is an internal error even if it had also
 * overflowed its output). */
typedef enum pysb_stop {
    PYSB_STOP_NONE = 0,
    PYSB_STOP_CPU,          /* the CPU of all its tasks reached the limit */
    PYSB_STOP_WALL,         /* the wall clock ran out, or a reader was too
                               slow to take the output within it */
    PYSB_STOP_OUTPUT,       /* the first byte over the output cap */
    PYSB_STOP_CANCELLED,    /* the client or the output sink went away */
    PYSB_STOP_FAILED,       /* the supervisor itself failed */
} pysb_stop;

/* What the supervisor observed; input of the classifier. */
typedef struct pysb_observed {
    int    wait_status;        /* of the program (not of the reaper) */
    int    have_status;        /* 0 when the program never reported one */
    pysb_stop stop;            /* why the supervisor stopped it */
    int    layer_failed;       /* a confinement layer failed (the reaper said) */
    double cpu_sec;            /* CPU of every task of the run, exact */
    double cpu_limit_sec;      /* the run's CPU limit, exact (0: none) */
    /* The kernel's facts about memory (memwatch.h); 0 when not watched */
    uint64_t mem_limit;        /* the configured address-space limit */
    uint64_t mem_refused;      /* watched allocations RLIMIT_AS refused */
    uint64_t mem_peak_vm;      /* highest VmPeak seen of any process */
} pysb_observed;

/* How close to the limit a process's peak address space must come to
 * count as having run into it: allocations up to this size are not
 * watched one by one (memwatch.h), so one of them that failed shows as a
 * peak this close. */
#define PYSB_MEM_PEAK_SLACK (1u << 20)

/* Verdict, exit code and signal from an observation (DESIGN §4). */
void pysb_classify(const pysb_observed *o, pysb_result *r);

const char *pysb_status_name(pysb_status s);      /* "cpu_limit" */
/* safeexec's words: "OK", "Command exited with non-zero status (1)", … */
void pysb_status_message(const pysb_result *r, char *buf, size_t len);
const char *pysb_signal_name(int sig);            /* "SIGKILL", or NULL */

/* "cpu_limit" → PYSB_CPU_LIMIT. Returns 0, or -1 for an unknown name. */
int pysb_status_from_name(const char *name, pysb_status *out);

/* A name for any signal number, for the message and the JSON: real-time
 * signals have none in the table but can still end a program
 * ("SIGRTMIN+2", else "SIG70"). pysb_signal_from_label inverts it: the
 * number, or -1. */
void pysb_signal_label(int sig, char *buf, size_t len);
int pysb_signal_from_label(const char *label);

#endif
