/* test_policy.c — the seccomp table says what DESIGN §3 says, builds, and
 * does what it says when loaded: each behaviour check runs in a forked
 * child that loads the real filter and reports through its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sched.h>
#include <cmocka.h>

#include "policy.h"

static const pysb_syscall_rule *find(const char *name)
{
    for (const pysb_syscall_rule *r = pysb_policy_table; r->name; r++)
        if (!strcmp(r->name, name))
            return r;
    return NULL;
}

static void test_no_duplicates(void **state)
{
    (void)state;
    for (const pysb_syscall_rule *a = pysb_policy_table; a->name; a++)
        for (const pysb_syscall_rule *b = a + 1; b->name; b++)
            if (!strcmp(a->name, b->name))
                fail_msg("%s listed twice", a->name);
}

static void test_design_denials_listed(void **state)
{
    (void)state;
    static const char *const denied[] = {
        "socket", "connect", "bind", "ptrace", "process_vm_readv", "unshare",
        "setns", "keyctl", "add_key", "request_key", "bpf", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "userfaultfd",
        "perf_event_open", "mount", "umount2", "pivot_root", "fsopen",
        "init_module", "finit_module", "delete_module", "shmget", "semget",
        "msgget", "mq_open", "symlink", "mknod", "chown", "kexec_load",
        "reboot", "setuid", "seccomp", "sysinfo", "statfs", "fstatfs",
        "mincore", "get_robust_list", "setsid", "memfd_create", "setxattr", NULL,
    };
    for (int i = 0; denied[i]; i++) {
        const pysb_syscall_rule *r = find(denied[i]);
        if (!r || r->kind != PYSB_RULE_DENY)
            fail_msg("%s must be listed as denied", denied[i]);
    }
}

static void test_needed_calls_allowed(void **state)
{
    (void)state;
    static const char *const allowed[] = {
        "read", "write", "openat", "close", "mmap", "munmap", "brk",
        "exit_group", "getrandom",
        "clock_nanosleep", "newfstatat", "lseek", "wait4", NULL,
    };
    for (int i = 0; allowed[i]; i++) {
        const pysb_syscall_rule *r = find(allowed[i]);
        if (!r || r->kind != PYSB_RULE_ALLOW)
            fail_msg("%s must be allowed", allowed[i]);
    }
    static const char *const special[] = { "clone", "clone3", "fork", "vfork",
                                           "ioctl", "prctl", "socketpair", "fcntl",
                                           "flock", "fadvise64", "preadv2", "pwritev2",
                                           "madvise", "setsockopt", "prlimit64",
                                           "futex", "execve", "execveat", "rt_sigaction",
                                           NULL };
    for (int i = 0; special[i]; i++) {
        const pysb_syscall_rule *r = find(special[i]);
        if (!r || r->kind != PYSB_RULE_SPECIAL)
            fail_msg("%s must have an argument rule", special[i]);
    }
}

static void test_names_resolve(void **state)
{
    (void)state;
    /* Names that x86_64 does not have; any other miss is a typo. */
    static const char *const foreign[] = { NULL };
    for (const pysb_syscall_rule *r = pysb_policy_table; r->name; r++) {
        int known = 0;
        for (int i = 0; foreign[i]; i++)
            known |= !strcmp(foreign[i], r->name);
        if (!known && seccomp_syscall_resolve_name(r->name) < 0)
            fail_msg("%s does not resolve on this architecture", r->name);
    }
}

static void test_builds(void **state)
{
    (void)state;
    char err[256];
    for (unsigned flags = 0; flags < PYSB_POLICY_VARIANTS; flags++) {
        scmp_filter_ctx ctx = pysb_policy_build(flags, err, sizeof err);
        assert_non_null(ctx);
        int fd = open("/dev/null", O_WRONLY);
        assert_true(fd >= 0);
        assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
        close(fd);
        seccomp_release(ctx);
    }
}

/* The program embedded at build time is what the table compiles to now. */
static void test_prebuilt_is_current(void **state)
{
    (void)state;
    char err[256];
    for (unsigned flags = 0; flags < PYSB_POLICY_VARIANTS; flags++) {
        pysb_bpf fresh, built = pysb_policy_prebuilt(flags);
        assert_int_equal(pysb_policy_compile(flags, &fresh, err, sizeof err), 0);
        assert_int_equal(fresh.len, built.len);
        assert_memory_equal(fresh.insns, built.insns, fresh.len * sizeof *fresh.insns);
        free((void *)fresh.insns);
    }
    assert_int_not_equal(pysb_policy_prebuilt(0).len, 0);
}

/* Child side: load the filter, then run one check. Exit 0 = as expected. */
static void *thread_fn(void *arg) { return arg; }

static int check(const char *what)
{
    errno = 0;
    if (!strcmp(what, "getpid"))
        return syscall(SYS_getpid) > 0 ? 0 : 1;
    if (!strcmp(what, "socket"))
        return syscall(SYS_socket, 2, 1, 0) == -1 && errno == EPERM ? 0 : 1;
    if (!strcmp(what, "unlisted"))   /* pkey_alloc is in neither list */
        return syscall(SYS_pkey_alloc, 0, 0) == -1 && errno == ENOSYS ? 0 : 1;
    if (!strcmp(what, "memfd-denied"))
        return syscall(SYS_memfd_create, "x", 0) == -1 && errno == EPERM ? 0 : 1;
    /* A bad descriptor: EBADF from the kernel when the call gets through,
     * EPERM from the filter when it does not; nothing is created. */
    if (!strcmp(what, "scratch-calls-denied"))
        return syscall(SYS_mkdirat, -1, "x", 0700) == -1 && errno == EPERM &&
               syscall(SYS_unlinkat, -1, "x", 0) == -1 && errno == EPERM &&
               syscall(SYS_ftruncate, -1, 0) == -1 && errno == EPERM ? 0 : 1;
    if (!strcmp(what, "scratch-calls-allowed"))
        return syscall(SYS_mkdirat, -1, "x", 0700) == -1 && errno == EBADF &&
               syscall(SYS_renameat, -1, "x", -1, "y") == -1 && errno == EBADF &&
               syscall(SYS_ftruncate, -1, 0) == -1 && errno == EBADF &&
               syscall(SYS_fchmod, -1, 0600) == -1 && errno == EBADF ? 0 : 1;
    if (!strcmp(what, "never-with-scratch"))
        return syscall(SYS_symlinkat, "a", -1, "b") == -1 && errno == EPERM &&
               syscall(SYS_mknodat, -1, "f", 010600, 0) == -1 && errno == EPERM &&
               syscall(SYS_fchown, -1, 0, 0) == -1 && errno == EPERM &&
               syscall(SYS_fsetxattr, -1, "user.a", "b", 1, 0) == -1 && errno == EPERM ? 0 : 1;
    if (!strcmp(what, "xattr-notsup"))
        return syscall(SYS_getxattr, "/", "user.a", NULL, 0) == -1 && errno == EOPNOTSUPP &&
               syscall(SYS_flistxattr, 0, NULL, 0) == -1 && errno == EOPNOTSUPP ? 0 : 1;
    /* rt_sigaction(SIGCHLD): changing it is refused where a run may fork
     * (an ignored SIGCHLD makes the kernel reap children whose CPU then
     * counts nowhere), also with junk above the int; asking is not; other
     * signals are free. The raw call: glibc's sigaction adds SA_RESTORER. */
    if (!strcmp(what, "sigchld-fixed") || !strcmp(what, "sigchld-free")) {
        struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; }
            ign = { SIG_IGN, 0, NULL, 0 }, old;
        const long JUNK_SIG = 0x100000000L;
        int query = syscall(SYS_rt_sigaction, SIGCHLD, NULL, &old, 8) == 0;
        int other = syscall(SYS_rt_sigaction, SIGUSR1, &ign, NULL, 8) == 0 &&
                    syscall(SYS_rt_sigaction, SIGPIPE, &ign, NULL, 8) == 0 &&
                    syscall(SYS_rt_sigaction, 65, &ign, NULL, 8) == -1 &&
                    errno == EINVAL; /* no signal 65: the kernel's answer */
        if (!strcmp(what, "sigchld-free"))
            return query && other && syscall(SYS_rt_sigaction, SIGCHLD, &ign, NULL, 8) == 0
                       ? 0 : 1;
        return query && other &&
               syscall(SYS_rt_sigaction, SIGCHLD, &ign, NULL, 8) == -1 && errno == EPERM &&
               syscall(SYS_rt_sigaction, JUNK_SIG | SIGCHLD, &ign, NULL, 8) == -1 &&
               errno == EPERM && signal(SIGCHLD, SIG_IGN) == SIG_ERR && errno == EPERM &&
               signal(SIGCHLD, SIG_DFL) == SIG_ERR ? 0 : 1;
    }
    if (!strcmp(what, "fork-denied"))
        return syscall(SYS_fork) == -1 && errno == EAGAIN ? 0 : 1;
    if (!strcmp(what, "clone-fork-denied"))
        return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) == -1 && errno == EAGAIN ? 0 : 1;
    if (!strcmp(what, "clone3-enosys"))
        return syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS ? 0 : 1;
    if (!strcmp(what, "clone-newns"))
        return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) == -1 ? 0 : 1;
    if (!strcmp(what, "thread")) {
        pthread_t t;
        void *res;
        if (pthread_create(&t, NULL, thread_fn, (void *)what) != 0)
            return 1;
        return pthread_join(t, &res) == 0 && res == what ? 0 : 1;
    }
    if (!strcmp(what, "fork-allowed")) {
        pid_t p = fork();
        if (p == 0)
            _exit(7);
        int st;
        return p > 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 7 ? 0 : 1;
    }
    if (!strcmp(what, "socketpair-stream")) {
        int sv[2];
        return syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0 ? 0 : 1;
    }
    if (!strcmp(what, "socketpair-dgram")) {
        int sv[2];
        return syscall(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, sv) == -1 && errno == EPERM ? 0 : 1;
    }
    if (!strcmp(what, "socketpair-inet")) {
        int sv[2];
        return syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv) == -1 && errno == EPERM ? 0 : 1;
    }
    if (!strcmp(what, "unshare"))
        return syscall(SYS_unshare, CLONE_NEWNET) == -1 && errno == EPERM ? 0 : 1;
    if (!strcmp(what, "ptrace"))
        return syscall(SYS_ptrace, 0, 0, 0, 0) == -1 && errno == EPERM ? 0 : 1;
    if (!strcmp(what, "tiocsti")) {
        char c = 'x';
        return ioctl(0, TIOCSTI, &c) == -1 && errno == ENOSYS ? 0 : 1;
    }
    if (!strcmp(what, "tcgets")) {
        struct termios t;
        /* allowed: a pipe answers ENOTTY, not the filter's ENOSYS */
        return ioctl(0, TCGETS, &t) == -1 && errno == ENOTTY ? 0 : 1;
    }
    if (!strcmp(what, "prctl-seccomp"))
        return prctl(PR_SET_SECCOMP, 2, 0, 0, 0) == -1 && errno == ENOSYS ? 0 : 1;
    /* the argument rules: what a program needs passes, the channels and
     * the kernel-memory knobs do not; junk above an int argument changes
     * nothing (the kernel ignores it, so must the filter) */
    const long JUNK = 0x100000000L;
    int pfd[2];
    if (!strcmp(what, "fcntl")) {
        if (pipe(pfd) < 0)
            return 1;
        return syscall(SYS_fcntl, pfd[0], F_GETFD) >= 0 &&
               syscall(SYS_fcntl, pfd[0], F_DUPFD_CLOEXEC, 10) >= 10 &&
               syscall(SYS_fcntl, pfd[0], F_GETPIPE_SZ) > 0 &&
               syscall(SYS_fcntl, pfd[0], F_SETPIPE_SZ, 1 << 20) == -1 && errno == ENOSYS &&
               syscall(SYS_fcntl, pfd[0], JUNK | F_SETPIPE_SZ, 1 << 20) == -1 && errno == ENOSYS &&
               syscall(SYS_fcntl, 0, F_NOTIFY, 0) == -1 && errno == ENOSYS &&
               syscall(SYS_fcntl, 0, F_GETLK, 0) == -1 && errno == ENOSYS &&
               syscall(SYS_fcntl, 0, F_OFD_GETLK, 0) == -1 && errno == ENOSYS &&
               syscall(SYS_fcntl, 0, F_SETSIG, 0) == -1 && errno == ENOSYS ? 0 : 1;
    }
    if (!strcmp(what, "flock"))
        return syscall(SYS_flock, 0, LOCK_EX) == -1 && errno == ENOSYS &&
               syscall(SYS_flock, 0, LOCK_EX | LOCK_NB) == -1 && errno == ENOSYS &&
               syscall(SYS_flock, 0, JUNK | LOCK_EX) == -1 && errno == ENOSYS &&
               syscall(SYS_flock, 0, LOCK_SH | LOCK_NB) == 0 &&
               syscall(SYS_flock, 0, LOCK_UN) == 0 ? 0 : 1;
    if (!strcmp(what, "fadvise"))
        return syscall(SYS_fadvise64, 0, 0, 0, POSIX_FADV_DONTNEED) == -1 && errno == ENOSYS &&
               syscall(SYS_fadvise64, 0, 0, 0, JUNK | POSIX_FADV_DONTNEED) == -1 &&
               errno == ENOSYS &&
               syscall(SYS_fadvise64, 0, 0, 0, POSIX_FADV_WILLNEED) == -1 && errno == ESPIPE
                   ? 0 : 1;
    if (!strcmp(what, "rwf")) {
        char b[8];
        struct iovec v = { b, sizeof b };
        int null = open("/dev/null", O_RDWR);
        return null >= 0 &&
               syscall(SYS_preadv2, null, &v, 1, 0, 0, 8 /* RWF_NOWAIT */) == -1 &&
               errno == ENOSYS &&
               syscall(SYS_pwritev2, null, &v, 1, 0, 0, 8) == -1 && errno == ENOSYS &&
               syscall(SYS_preadv2, null, &v, 1, 0, 0, 0) == 0 &&
               syscall(SYS_pwritev2, null, &v, 1, 0, 0, 0) == (long)sizeof b ? 0 : 1;
    }
    if (!strcmp(what, "madvise")) {
        void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return m != MAP_FAILED && madvise(m, 4096, MADV_DONTNEED) == 0 &&
               syscall(SYS_madvise, m, 4096, 21 /* MADV_PAGEOUT */) == -1 && errno == ENOSYS &&
               syscall(SYS_madvise, m, 4096, 12 /* MADV_MERGEABLE */) == -1 &&
               errno == ENOSYS ? 0 : 1;
    }
    if (!strcmp(what, "setsockopt")) {
        int sv[2], one = 1, big = 1 << 22;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            return 1;
        return setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0 &&
               syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == -1 &&
               errno == ENOSYS &&
               syscall(SYS_setsockopt, sv[0], JUNK | SOL_SOCKET, SO_SNDBUF, &big,
                       sizeof big) == -1 && errno == ENOSYS &&
               syscall(SYS_setsockopt, sv[0], SOL_SOCKET, JUNK | SO_RCVBUF, &big,
                       sizeof big) == -1 && errno == ENOSYS ? 0 : 1;
    }
    if (!strcmp(what, "prlimit")) {
        struct rlimit rl;
        return getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
               syscall(SYS_prlimit64, getppid(), RLIMIT_NOFILE, NULL, &rl) == -1 &&
               errno == EPERM ? 0 : 1;
    }
    if (!strcmp(what, "host-counters")) {
        struct sysinfo si;
        char b[128];
        return syscall(SYS_sysinfo, &si) == -1 && errno == EPERM &&
               syscall(SYS_statfs, "/", b) == -1 && errno == EPERM &&
               syscall(SYS_fstatfs, 0, b) == -1 && errno == EPERM &&
               syscall(SYS_mincore, &si, 4096, b) == -1 && errno == EPERM ? 0 : 1;
    }
    if (!strcmp(what, "setsid")) {
        /* a forked child leads no group, so only the filter can refuse */
        pid_t sid = getsid(0);
        return getpgid(0) != getpid() && syscall(SYS_setsid) == -1 && errno == EPERM &&
               getsid(0) == sid ? 0 : 1;
    }
    static unsigned word;  /* a private anonymous page: no other process */
    if (!strcmp(what, "futex-shared-wake-denied"))
        return syscall(SYS_futex, &word, FUTEX_WAKE, 1, 0, 0, 0) == -1 && errno == ENOSYS &&
               syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0) == 0 &&
               syscall(SYS_futex, &word, FUTEX_WAIT, 1, 0, 0, 0) == -1 && errno == EAGAIN
                   ? 0 : 1;
    if (!strcmp(what, "futex-shared-wake-allowed"))
        return syscall(SYS_futex, &word, FUTEX_WAKE, 1, 0, 0, 0) == 0 ? 0 : 1;
    /* execve of a missing file: ENOENT when the filter lets it through,
     * EPERM when it refuses it (a warm run's). */
    if (!strcmp(what, "exec-allowed") || !strcmp(what, "exec-denied")) {
        char *const argv[] = { "/nonexistent/pysb", NULL };
        int want = what[5] == 'a' ? ENOENT : EPERM;
        int a = execve(argv[0], argv, NULL) < 0 && errno == want;
        int b = syscall(SYS_execveat, AT_FDCWD, argv[0], argv, NULL, 0) < 0 && errno == want;
        return a && b ? 0 : 1;
    }
    if (!strcmp(what, "x32"))
        syscall(0x40000000 | SYS_getpid);  /* must not return */
    if (!strcmp(what, "i386")) {
        long ret;
        /* getpid (20) through the 32-bit entry */
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    }
    return 2;
}

/* Fork, load the filter in the child, run the check; return the wait
 * status. The child's stdin is a pipe so the ioctl checks are stable. */
static int run_child(unsigned flags, const char *what)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        dup2(p[0], 0);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            _exit(3);
        /* the prebuilt program is the one runs load */
        pysb_bpf prog = pysb_policy_prebuilt(flags);
        if (pysb_policy_install(&prog, err, sizeof err) != 0)
            _exit(4);
        _exit(check(what));
    }
    close(p[0]);
    close(p[1]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void expect_ok(unsigned flags, const char *what)
{
    int st = run_child(flags, what);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s (policy flags %u): wait status 0x%x", what, flags, st);
}

static void test_behaviour_no_fork(void **state)
{
    (void)state;
    const char *checks[] = { "getpid", "socket", "unlisted", "fork-denied",
                             "clone-fork-denied", "clone3-enosys",
                             "clone-newns", "thread", "unshare", "ptrace",
                             "tiocsti", "tcgets", "prctl-seccomp",
                             "socketpair-stream", "socketpair-dgram",
                             "socketpair-inet", "fcntl", "flock", "fadvise", "rwf",
                             "madvise", "setsockopt", "prlimit", "host-counters",
                             "futex-shared-wake-denied", "setsid", "memfd-denied",
                             "scratch-calls-denied", "never-with-scratch",
                             "xattr-notsup", "exec-allowed", "sigchld-free", NULL };
    for (int i = 0; checks[i]; i++)
        expect_ok(0, checks[i]);
}

static void test_behaviour_scratch(void **state)
{
    (void)state;
    const char *checks[] = { "getpid", "socket", "fork-denied", "memfd-denied",
                             "scratch-calls-allowed", "never-with-scratch",
                             "xattr-notsup", NULL };
    for (int i = 0; checks[i]; i++)
        expect_ok(PYSB_POLICY_SCRATCH, checks[i]);
    const char *with_fork[] = { "fork-allowed", "scratch-calls-allowed",
                                "never-with-scratch", "memfd-denied", NULL };
    for (int i = 0; with_fork[i]; i++)
        expect_ok(PYSB_POLICY_SCRATCH | PYSB_POLICY_FORK, with_fork[i]);
    expect_ok(PYSB_POLICY_FORK, "scratch-calls-denied");
    expect_ok(PYSB_POLICY_FORK, "memfd-denied");
}

/* A warm run's variants: the same rules, exec refused. */
static void test_behaviour_no_exec(void **state)
{
    (void)state;
    const char *checks[] = { "getpid", "socket", "fork-denied", "thread", "fcntl",
                             "exec-denied", NULL };
    for (int i = 0; checks[i]; i++)
        expect_ok(PYSB_POLICY_NO_EXEC, checks[i]);
    const char *fork_checks[] = { "fork-allowed", "thread", "exec-denied", "sigchld-fixed",
                                  NULL };
    for (int i = 0; fork_checks[i]; i++)
        expect_ok(PYSB_POLICY_NO_EXEC | PYSB_POLICY_FORK, fork_checks[i]);
    const char *scratch_checks[] = { "scratch-calls-allowed", "memfd-denied", "exec-denied",
                                     NULL };
    for (int i = 0; scratch_checks[i]; i++)
        expect_ok(PYSB_POLICY_NO_EXEC | PYSB_POLICY_SCRATCH, scratch_checks[i]);
}

static void test_behaviour_fork_allowed(void **state)
{
    (void)state;
    const char *checks[] = { "getpid", "socket", "fork-allowed", "thread",
                             "clone-newns", "unshare", "fcntl", "flock", "setsockopt",
                             "host-counters", "futex-shared-wake-allowed", "setsid",
                             "exec-allowed", "sigchld-fixed", NULL };
    for (int i = 0; checks[i]; i++)
        expect_ok(1, checks[i]);
}

static void test_foreign_abis_killed(void **state)
{
    (void)state;
    const char *checks[] = { "x32", "i386", NULL };
    for (int i = 0; checks[i]; i++) {
        int st = run_child(0, checks[i]);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
            fail_msg("%s: expected death by SIGSYS, wait status 0x%x", checks[i], st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_duplicates),
        cmocka_unit_test(test_design_denials_listed),
        cmocka_unit_test(test_needed_calls_allowed),
        cmocka_unit_test(test_names_resolve),
        cmocka_unit_test(test_builds),
        cmocka_unit_test(test_prebuilt_is_current),
        cmocka_unit_test(test_behaviour_no_fork),
        cmocka_unit_test(test_behaviour_fork_allowed),
        cmocka_unit_test(test_behaviour_scratch),
        cmocka_unit_test(test_behaviour_no_exec),
        cmocka_unit_test(test_foreign_abis_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
