/* policy.h — the seccomp allow-list of a confined run (libseccomp).
 *
 * Contract: one readable table (policy.c) names every system call CPython
 * and the bootstrap need, and every call denied on purpose. Calls in neither
 * list fail with ENOSYS (so libc falls back and buffered output survives);
 * deliberate denials fail with EPERM; foreign ABIs (i386, x32) kill the
 * process. Process creation is allowed only when the run may have more
 * than one process; threads (clone with CLONE_THREAD) always are. */
#ifndef PYSB_POLICY_H
#define PYSB_POLICY_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stddef.h>

typedef enum pysb_rule_kind {
    PYSB_RULE_ALLOW,      /* allowed with any arguments */
    PYSB_RULE_DENY,       /* EPERM */
    PYSB_RULE_SPECIAL,    /* argument filters, see policy.c */
} pysb_rule_kind;

typedef struct pysb_syscall_rule {
    const char     *name;
    pysb_rule_kind  kind;
} pysb_syscall_rule;

/* The table, terminated by a NULL name. Exposed for the unit tests. */
extern const pysb_syscall_rule pysb_policy_table[];

/* Build the filter (not loaded). allow_fork: process creation permitted.
 * Returns NULL with a reason in err on failure. */
scmp_filter_ctx pysb_policy_build(int allow_fork, char *err, size_t errlen);

/* Build and load into the calling thread (needs no_new_privs). */
int pysb_policy_load(int allow_fork, char *err, size_t errlen);

/* A compiled filter: what the kernel loads. */
typedef struct pysb_bpf {
    const struct sock_filter *insns;
    unsigned short len;
} pysb_bpf;

/* The filter compiled at build time from the same table (build/gen/
 * policy_bpf.c, written by tools/gen_policy): libseccomp needs about a
 * millisecond to build and compile it, which every run would pay. The unit
 * tests check it equals a fresh compilation. */
pysb_bpf pysb_policy_prebuilt(int allow_fork);

/* Compile the table now into a malloc'd program (free insns with free()).
 * Returns 0, or -1 with a reason. */
int pysb_policy_compile(int allow_fork, pysb_bpf *out, char *err, size_t errlen);

/* Load a compiled filter into the calling thread (needs no_new_privs).
 * Async-signal-safe: fit for the child between fork and exec. */
int pysb_policy_install(const pysb_bpf *prog, char *err, size_t errlen);

#endif
