/* supervise.h — run one program under full confinement and watch it.
 *
 * Contract: pysb_run forks the confined child (pid 1 of new pid/net/ipc/uts
 * namespaces, a tiny reaper that forks the program itself) — or, for a
 * warm run (spec->warm), has a fork server clone it (warm.h), falling back
 * to a cold run with fresh pipes when that fails before anything ran —
 * feeds it code and stdin through pipes, relays its stdout/stderr to the
 * sink as they appear, enforces the wall clock, the exact CPU limit over
 * every task of the run (runcpu.h) and the output cap, answers the memory
 * watch (memwatch.h), kills the whole run on every stop (the reaper's
 * SIGUSR1, then SIGKILL from outside, both through its pidfd), and fills
 * the result from the reaper's own report of the run's rusage, the same
 * in both modes (wait4, or the fork server's, only when the reaper could
 * not report); the verdict is pysb_classify's, from what it and the
 * kernel saw. It returns only when no process of the run is left. It must
 * be called by root in a single-threaded process (the CLI, or a per-run
 * supervisor forked by the launcher). It changes SIGPIPE to ignored. */
#ifndef PYSB_SUPERVISE_H
#define PYSB_SUPERVISE_H

#include <stddef.h>
#include <sys/types.h>

#include "runlimits.h"
#include "result.h"
#include "scratch.h"

enum {
    PYSB_WAIVE_LANDLOCK = 1 << 0, /* run without Landlock if unavailable */
    PYSB_SHARED_NETNS   = 1 << 1, /* caller already sits in an empty netns */
    PYSB_SITE_PACKAGES  = 1 << 2, /* the launcher: append the interpreter's
                                     site directories (site_paths) */
};

typedef struct pysb_run_spec {
    /* Interpreter argv (argv[0] is the path, NULL-terminated). With code
     * set, the bootstrap "-c <bootstrap>" is appended and the code goes
     * through a pipe; with code NULL, argv runs as given (--exec). */
    const char *const *argv;
    const char *code;
    size_t      code_len;
    /* Program stdin: the bytes in stdin_data, then whatever stdin_fd gives
     * until EOF (-1: none). Pumped through a pipe by the supervisor. */
    const char *stdin_data;
    size_t      stdin_len;
    int         stdin_fd;
    /* Closed or hung up (client gone): the run is killed at once.
     * -1: none. */
    int         watch_fd;
    pysb_limits limits;
    uid_t       uid;
    gid_t       gid;
    const char *const *ro_paths;  /* extra read-only paths, NULL-terminated */
    /* Read-only too, and on sys.path of a code run: python_path before
     * the standard library, in order (PySandboxPythonPath), site_paths
     * after it (the interpreter's site directories). NULL-terminated, may
     * be NULL; directories that must exist. */
    const char *const *python_path;
    const char *const *site_paths;
    int         flags;
    const char *run_id;           /* copied into the result; may be NULL */
    /* The bootstrap already compiled by this interpreter (bootstrap.h), or
     * NULL: it is then compiled from source on every run, about 0.3 ms. */
    const char *bootstrap_blob;
    size_t      bootstrap_blob_len;
    /* sys.argv[1:] of a code run (NULL-terminated, may be NULL): through
     * the code pipe, never the interpreter's argv (not in /proc). */
    const char *const *args;
    /* Input files, written into the scratch (which they need) before the
     * run exists; n_files 0: none. */
    const pysb_in_file *files;
    size_t      n_files;
    /* Called after the run (with pysb_run's ctx) for each file it left in
     * out/ of its scratch (scratch.h pysb_scratch_collect, within
     * limits.out_files_bytes), before pysb_run returns. NULL: none. */
    pysb_file_fn file_out;
    /* Warm: the fork server to ask first (warm.h); NULL: a cold run. Only
     * code runs go warm. */
    const struct pysb_warm_target *warm;
} pysb_run_spec;

/* Called for each chunk of output kept under the cap, in arrival order.
 * Return 0 to go on, -1 to stop the run (e.g. the client went away), or
 * PYSB_SINK_TIMEOUT when the chunk could not be delivered before the run's
 * wall clock ran out (a slow reader): the run ends as wall_limit. The
 * sink must bound its own blocking by that clock; the supervisor cannot
 * watch it while the sink holds it. */
#define PYSB_SINK_TIMEOUT (-2)
typedef int (*pysb_output_fn)(void *ctx, int stream, const char *buf,
                              size_t len);

/* Returns 0 when the run happened (whatever its verdict, see r->status),
 * -1 when it could not be started at all (r->error says why; r->status is
 * then PYSB_INTERNAL_ERROR too). */
int pysb_run(const pysb_run_spec *spec, pysb_output_fn out, void *ctx,
             pysb_result *r);

#endif
