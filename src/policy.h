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

#endif
