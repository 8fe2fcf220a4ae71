/* policy.h — the seccomp allow-list of a confined run (libseccomp).
 *
 * Contract: one readable table (policy.c) names every system call CPython
 * and the bootstrap need, and every call denied on purpose. Calls in neither
 * list fail with ENOSYS (so libc falls back and buffered output survives);
 * deliberate denials fail with EPERM; foreign ABIs (i386, x32) kill the
 * process. Process creation is allowed only when the run may have more
 * than one process; threads (clone with CLONE_THREAD) always are. Calls
 * that change a file system (mkdir, unlink, rename, truncate, chmod, ...)
 * only when the run has a scratch directory, the one place Landlock lets
 * it write; symlinks, device nodes, FIFOs, ownership and xattrs never. */
#ifndef PYSB_POLICY_H
#define PYSB_POLICY_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stddef.h>

typedef enum pysb_rule_kind {
    PYSB_RULE_ALLOW,      /* allowed with any arguments */
    PYSB_RULE_DENY,       /* EPERM */
    PYSB_RULE_SPECIAL,    /* argument filters, see policy.c */
    PYSB_RULE_SCRATCH,    /* changes a file system: allowed with a scratch
                           * directory (Landlock confines it there), else
                           * EPERM */
    PYSB_RULE_NOTSUP,     /* EOPNOTSUPP: what callers take for "none" */
} pysb_rule_kind;

/* What a run may do beyond the base policy (pysb_policy_* flags). */
enum {
    PYSB_POLICY_FORK    = 1 << 0, /* process creation (processes > 1) */
    PYSB_POLICY_SCRATCH = 1 << 1, /* the PYSB_RULE_SCRATCH calls */
    PYSB_POLICY_NO_EXEC = 1 << 2, /* execve and execveat refused (EPERM): a
                                     warm run, forked from a running
                                     interpreter, never needs a program */
    PYSB_POLICY_VARIANTS = 8,     /* prebuilt programs, one per flag set */
};

typedef struct pysb_syscall_rule {
    const char     *name;
    pysb_rule_kind  kind;
} pysb_syscall_rule;

/* The table, terminated by a NULL name. Exposed for the unit tests. */
extern const pysb_syscall_rule pysb_policy_table[];

/* Build the filter (not loaded) for flags (PYSB_POLICY_*). Returns NULL
 * with a reason in err on failure. */
scmp_filter_ctx pysb_policy_build(unsigned flags, char *err, size_t errlen);

/* Build and load into the calling thread (needs no_new_privs). */
int pysb_policy_load(unsigned flags, char *err, size_t errlen);

/* A compiled filter: what the kernel loads. */
typedef struct pysb_bpf {
    const struct sock_filter *insns;
    unsigned short len;
} pysb_bpf;

/* The filter compiled at build time from the same table (build/gen/
 * policy_bpf.c, written by tools/gen_policy): libseccomp needs about a
 * millisecond to build and compile it, which every run would pay. The unit
 * tests check it equals a fresh compilation. */
pysb_bpf pysb_policy_prebuilt(unsigned flags);

/* Compile the table now into a malloc'd program (free insns with free()).
 * Returns 0, or -1 with a reason. */
int pysb_policy_compile(unsigned flags, pysb_bpf *out, char *err, size_t errlen);

/* Load a compiled filter into the calling thread (needs no_new_privs).
 * Async-signal-safe: fit for the child between fork and exec. */
int pysb_policy_install(const pysb_bpf *prog, char *err, size_t errlen);

#endif
