/* policy.c — the seccomp allow-list of a confined run.
 *
 * Contract: pysb_policy_table is the whole policy, one line a system call.
 * ALLOW: what CPython 3, its stdlib (threads, select, time, random, ctypes
 * loading) and the bootstrap use. DENY (EPERM): calls refused on purpose,
 * listed so that the policy reads as a statement and the unit tests can
 * check it. SPECIAL: allowed only with certain arguments (clone, fork,
 * ioctl, prctl, socketpair; and, against channels between runs and kernel
 * memory outside the limits, fcntl, flock, fadvise64, preadv2/pwritev2,
 * madvise, setsockopt, prlimit64, futex; rt_sigaction, for the CPU count
 * — each rule says why). The table
 * per family, with the reason each call is allowed, is in the README.
 * Every int argument is compared as the int the kernel takes (masked to 32
 * bits), so junk above it cannot slip past a rule. Everything else fails
 * with ENOSYS, so libc falls back
 * gracefully and a program never dies (losing buffered output) just for
 * probing a call. Foreign ABIs (i386 via int 0x80, x32) kill the process:
 * libseccomp sends every non-native architecture, x32 numbers included, to
 * the bad-arch action. */
#include "policy.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>

#define A(n) { #n, PYSB_RULE_ALLOW }
#define D(n) { #n, PYSB_RULE_DENY }
#define S(n) { #n, PYSB_RULE_SPECIAL }
#define W(n) { #n, PYSB_RULE_SCRATCH }
#define X(n) { #n, PYSB_RULE_NOTSUP }

const pysb_syscall_rule pysb_policy_table[] = {
    /* descriptors and reading */
    A(read), A(write), A(readv), A(writev), A(pread64), A(pwrite64),
    A(preadv), A(pwritev), S(preadv2), S(pwritev2), A(lseek), A(close),
    A(close_range), A(dup), A(dup2), A(dup3), A(pipe), A(pipe2), S(fcntl),
    S(flock), A(fsync), A(fdatasync), A(sendfile), A(splice), A(tee),
    A(copy_file_range), S(fadvise64), A(readahead),
    /* opening and inspecting files: Landlock decides which ones */
    A(open), A(openat), A(openat2), A(stat), A(fstat), A(lstat),
    A(newfstatat), A(statx), A(access), A(faccessat), A(faccessat2),
    A(readlink), A(readlinkat), A(getdents), A(getdents64), A(getcwd),
    A(chdir), A(fchdir), A(umask),
    /* free blocks and inodes of host file systems, live: host writes */
    D(statfs), D(fstatfs),
    /* changing the file system: with a scratch directory, inside it
     * (Landlock grants nothing else; chmod needs ownership, which the run
     * has nowhere else; shutil.copy2 and tarfile set modes and times);
     * without one refused here and by Landlock */
    W(mkdir), W(mkdirat), W(rmdir), W(unlink), W(unlinkat), W(rename),
    W(renameat), W(renameat2), W(link), W(linkat), W(chmod), W(fchmod),
    W(fchmodat), W(fchmodat2), W(truncate), W(ftruncate), W(fallocate),
    W(utime), W(utimes), W(utimensat), W(futimesat),
    /* never: links that resolve elsewhere, device nodes and FIFOs,
     * ownership, extended attributes, handles */
    D(symlink), D(symlinkat), D(chown), D(fchown), D(lchown), D(fchownat),
    D(mknod), D(mknodat), D(setxattr), D(lsetxattr), D(fsetxattr),
    D(removexattr), D(lremovexattr), D(fremovexattr), D(chroot),
    D(name_to_handle_at), D(open_by_handle_at),
    /* reading xattrs: "none here" (shutil.copy2 takes EOPNOTSUPP so) */
    X(listxattr), X(llistxattr), X(flistxattr), X(getxattr), X(lgetxattr),
    X(fgetxattr),
    /* memory */
    A(mmap), A(munmap), A(mprotect), A(mremap), A(brk), S(madvise),
    A(msync),
    D(mincore), /* page-cache residency of mapped files: what others read */
    D(mbind), D(set_mempolicy), D(migrate_pages), D(move_pages),
    D(process_madvise), D(userfaultfd), D(memfd_secret),
    D(memfd_create), /* a file outside every mount's noexec: no new programs */
    /* signals and timers */
    S(rt_sigaction), A(rt_sigprocmask), A(rt_sigreturn), A(rt_sigpending),
    A(rt_sigsuspend), A(rt_sigtimedwait), A(rt_sigqueueinfo),
    A(rt_tgsigqueueinfo), A(sigaltstack), A(kill), A(tgkill), A(tkill),
    A(pause), A(alarm), A(setitimer), A(getitimer), A(timer_create),
    A(timer_settime), A(timer_gettime), A(timer_getoverrun),
    A(timer_delete), A(signalfd4), A(timerfd_create), A(timerfd_settime),
    A(timerfd_gettime),
    /* time */
    A(clock_gettime), A(clock_getres), A(clock_nanosleep), A(nanosleep),
    A(gettimeofday), A(time), A(times),
    D(settimeofday), D(clock_settime), D(clock_adjtime), D(adjtimex),
    /* who am I, what may I use */
    A(getpid), A(getppid), A(gettid), A(getuid), A(geteuid), A(getgid),
    A(getegid), A(getgroups), A(getresuid), A(getresgid), A(getpgrp),
    A(getpgid), A(getsid), A(getpriority), A(getrlimit), S(prlimit64),
    A(getrusage), A(uname), A(sched_getaffinity),
    D(sysinfo), /* host-wide task count, free memory, load: others' activity */
    A(sched_yield), A(sched_getparam), A(sched_getscheduler),
    A(sched_get_priority_max), A(sched_get_priority_min), A(getcpu),
    A(capget), A(getrandom),
    D(setuid), D(setgid), D(setreuid), D(setregid), D(setresuid),
    D(setresgid), D(setgroups), D(setfsuid), D(setfsgid), D(capset),
    D(setpriority), D(sched_setaffinity), D(sched_setscheduler),
    D(sched_setparam), D(sched_setattr),
    /* threads and the end of a task */
    S(futex), A(set_robust_list), D(get_robust_list), A(set_tid_address),
    A(rseq), A(arch_prctl), A(exit), A(exit_group), A(wait4), A(waitid),
    A(restart_syscall), A(setpgid), /* job control inside the run */
    /* A new session is a new scheduling autogroup at nice 0 (a kernel
     * with CONFIG_SCHED_AUTOGROUP), in which the nice the launcher gave a
     * client's further runs weighs nothing against other groups: one call
     * would undo the fairness. The run starts in a session of its own
     * (pysb_confine_fds) and needs no other. */
    D(setsid),
    /* waiting on descriptors */
    A(poll), A(ppoll), A(select), A(pselect6), A(epoll_create),
    A(epoll_create1), A(epoll_ctl), A(epoll_wait), A(epoll_pwait),
    A(epoll_pwait2), A(eventfd), A(eventfd2),
    /* sockets: a connected stream pair between the run's own processes
     * is harmless (see add_special); creating, binding or connecting a
     * socket is not */
    S(socketpair), A(sendmsg), A(recvmsg), A(sendto), A(recvfrom),
    A(shutdown), A(getsockopt), S(setsockopt), A(getsockname),
    A(getpeername),
    D(socket), D(connect), D(bind), D(listen), D(accept), D(accept4),
    D(sendmmsg), D(recvmmsg),
    /* programs: Landlock grants execute on the interpreter alone (warm
     * runs, which never need a program, are refused both: see
     * PYSB_POLICY_NO_EXEC) */
    S(execve), S(execveat),
    /* processes, with argument checks */
    S(clone), S(clone3), S(fork), S(vfork), S(ioctl), S(prctl),
    /* other tasks, namespaces, the kernel itself */
    D(ptrace), D(process_vm_readv), D(process_vm_writev), D(pidfd_getfd),
    D(kcmp), D(unshare), D(setns), D(keyctl), D(add_key), D(request_key),
    D(bpf), D(io_uring_setup), D(io_uring_enter), D(io_uring_register),
    D(perf_event_open), D(fanotify_init), D(mount), D(umount2),
    D(pivot_root), D(fsopen), D(fsconfig), D(fsmount), D(fspick),
    D(move_mount), D(open_tree), D(mount_setattr), D(init_module),
    D(finit_module), D(delete_module), D(kexec_load), D(kexec_file_load),
    D(reboot), D(swapon), D(swapoff), D(acct), D(sethostname),
    D(setdomainname), D(iopl), D(ioperm), D(personality), D(quotactl),
    D(quotactl_fd), D(lookup_dcookie), D(syslog), D(vhangup), D(seccomp),
    D(landlock_create_ruleset), D(landlock_add_rule),
    D(landlock_restrict_self), D(uselib), D(ustat), D(sysfs), D(_sysctl),
    D(nfsservctl),
    /* System V IPC and POSIX message queues */
    D(shmget), D(shmat), D(shmdt), D(shmctl), D(semget), D(semop),
    D(semtimedop), D(semctl), D(msgget), D(msgsnd), D(msgrcv), D(msgctl),
    D(mq_open), D(mq_unlink), D(mq_timedsend), D(mq_timedreceive),
    D(mq_notify), D(mq_getsetattr),
    { NULL, PYSB_RULE_ALLOW },
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
                  CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* ioctls a program may make on its pipes: isatty, sizes, blocking mode. */
static const unsigned long allowed_ioctls[] = {
    TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
};

/* prctl options that only read, or name a thread. */
static const int allowed_prctls[] = {
    PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
    PR_CAPBSET_READ, PR_GET_SECCOMP, PR_GET_PDEATHSIG, PR_GET_TIMERSLACK,
    PR_GET_THP_DISABLE,
#ifdef PR_SET_VMA
    PR_SET_VMA,
#endif
};

/* fcntl commands CPython, its stdlib and sqlite use on their own
 * descriptors. Left out: F_GETLK and F_OFD_GETLK (they show other
 * processes' locks on shared files), F_NOTIFY (dnotify: a signal whenever
 * anybody reads a watched directory), F_SETLEASE/F_GETLEASE, F_SETOWN(_EX)
 * and F_SETSIG (signals for I/O), F_SETPIPE_SZ (up to pipe-max-size of
 * kernel memory per pipe, outside every limit), seals and write hints.
 * The set-lock commands stay: a write lock needs a descriptor open for
 * writing, and no inode a run can open for writing is shared with another
 * run (its pipes, its own /dev nodes), so read locks are all a run can
 * take on a shared file, and they never conflict with each other. */
static const unsigned allowed_fcntls[] = {
    F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_SETLK, F_SETLKW,
    F_OFD_SETLK, F_OFD_SETLKW, F_DUPFD_CLOEXEC, F_GETPIPE_SZ,
};

/* madvise advice about the caller's own pages. Left out: MADV_COLD and
 * MADV_PAGEOUT (push shared page cache out: eviction of what other runs
 * read), MADV_MERGEABLE/UNMERGEABLE (KSM merges pages across processes: a
 * timing channel), MADV_REMOVE, MADV_HWPOISON, MADV_SOFT_OFFLINE. */
static const unsigned allowed_madvise[] = {
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
    MADV_FREE, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
    MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK,
    22 /* MADV_POPULATE_READ */, 23 /* MADV_POPULATE_WRITE */,
    25 /* MADV_COLLAPSE */, 102 /* MADV_GUARD_INSTALL */, 103 /* MADV_GUARD_REMOVE */,
};

/* Socket options at SOL_SOCKET a program may set on its socket pairs
 * (AF_UNIX has no others). Left out: SO_SNDBUF and SO_RCVBUF (and their
 * FORCE forms): each socket could then queue twice net.core.wmem_max of
 * kernel memory, outside every limit (241 MiB for 30 pairs here). */
static const unsigned allowed_sockopts[] = {
    SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_PASSCRED, SO_RCVLOWAT,
    SO_SNDLOWAT, 20 /* SO_RCVTIMEO_OLD */, 21 /* SO_SNDTIMEO_OLD */,
    66 /* SO_RCVTIMEO_NEW */, 67 /* SO_SNDTIMEO_NEW */,
};

/* Each value a rule that allows the call when argument arg, taken as the
 * int the kernel takes it for (high 32 bits ignored), equals it. */
static int allow_each(scmp_filter_ctx ctx, int nr, const char *name, unsigned arg,
                      const unsigned *values, size_t n, char *err, size_t errlen);

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
               const struct scmp_arg_cmp *args, const char *name, char *err,
               size_t errlen)
{
    int rc = seccomp_rule_add_exact_array(ctx, action, nr, n, args);
    /* libseccomp refuses a rule equal to the default action (-EACCES):
     * the call already gets that answer. */
    if (rc == -EACCES && action == SCMP_ACT_ERRNO(ENOSYS))
        return 0;
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: rule for %s: %s", name, strerror(-rc));
        return -1;
    }
    return 0;
}

static int allow_each(scmp_filter_ctx ctx, int nr, const char *name, unsigned arg,
                      const unsigned *values, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        struct scmp_arg_cmp a[] = {
            { arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, values[i] },
        };
        if (add(ctx, SCMP_ACT_ALLOW, nr, 1, a, name, err, errlen) < 0)
            return -1;
    }
    return 0;
}

#define N(a) (sizeof (a) / sizeof *(a))

static int add_special(scmp_filter_ctx ctx, const char *name, int nr,
                       unsigned flags, char *err, size_t errlen)
{
    const int allow_fork = !!(flags & PYSB_POLICY_FORK);
    const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
    /* A process a run of one may not have: what the kernel says at
     * RLIMIT_NPROC, so Python raises BlockingIOError and the report can
     * name the process limit. */
    const uint32_t no_process = SCMP_ACT_ERRNO(EAGAIN);
    if (!strcmp(name, "execve") || !strcmp(name, "execveat"))
        /* A warm run is a fork of an interpreter that is running already:
         * it never needs a program, so none, the interpreter included. */
        return add(ctx, flags & PYSB_POLICY_NO_EXEC ? deny : SCMP_ACT_ALLOW, nr, 0, NULL,
                   name, err, errlen);
    if (!strcmp(name, "clone")) {
        /* A thread never carries namespace flags. */
        struct scmp_arg_cmp thread[] = {
            SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_THREAD | NS_FLAGS, CLONE_THREAD),
        };
        if (add(ctx, SCMP_ACT_ALLOW, nr, 1, thread, name, err, errlen) < 0)
            return -1;
        struct scmp_arg_cmp proc[] = {
            SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_THREAD | NS_FLAGS, 0),
        };
        /* The two rules are disjoint; a clone asking for a namespace
         * matches neither and gets the default ENOSYS. */
        return add(ctx, allow_fork ? SCMP_ACT_ALLOW : no_process, nr, 1, proc, name,
                   err, errlen);
    }
    if (!strcmp(name, "clone3"))
        /* Its flags sit behind a pointer seccomp cannot read: ENOSYS makes
         * glibc fall back to clone, whose flags it can. */
        return add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0, NULL, name, err, errlen);
    if (!strcmp(name, "fork") || !strcmp(name, "vfork"))
        return add(ctx, allow_fork ? SCMP_ACT_ALLOW : no_process, nr, 0, NULL, name,
                   err, errlen);
    if (!strcmp(name, "socketpair")) {
        /* Only AF_UNIX stream and seqpacket pairs: a datagram socket can
         * sendto()/sendmsg() any socket file the uid may write (/dev/log),
         * and sendmsg's address sits behind a pointer seccomp cannot
         * read. Stream pairs refuse an address, seqpacket ones ignore it. */
        static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
        for (size_t i = 0; i < 2; i++) {
            struct scmp_arg_cmp a[] = {
                SCMP_A0_64(SCMP_CMP_EQ, AF_UNIX),
                SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xf, (uint64_t)types[i]),
            };
            if (add(ctx, SCMP_ACT_ALLOW, nr, 2, a, name, err, errlen) < 0)
                return -1;
        }
        struct scmp_arg_cmp dgram[] = {
            SCMP_A0_64(SCMP_CMP_EQ, AF_UNIX),
            SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM),
        };
        struct scmp_arg_cmp other_family[] = { SCMP_A0_64(SCMP_CMP_NE, AF_UNIX) };
        if (add(ctx, deny, nr, 1, other_family, name, err, errlen) < 0)
            return -1;
        return add(ctx, deny, nr, 2, dgram, name, err, errlen);
    }
    if (!strcmp(name, "ioctl")) {
        for (size_t i = 0; i < sizeof allowed_ioctls / sizeof *allowed_ioctls; i++) {
            struct scmp_arg_cmp a[] = {
                SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, allowed_ioctls[i]),
            };
            if (add(ctx, SCMP_ACT_ALLOW, nr, 1, a, name, err, errlen) < 0)
                return -1;
        }
        return 0; /* other requests fall to the default below */
    }
    if (!strcmp(name, "prctl")) {
        for (size_t i = 0; i < sizeof allowed_prctls / sizeof *allowed_prctls; i++) {
            struct scmp_arg_cmp a[] = {
                SCMP_A0_64(SCMP_CMP_EQ, (uint64_t)allowed_prctls[i]),
            };
            if (add(ctx, SCMP_ACT_ALLOW, nr, 1, a, name, err, errlen) < 0)
                return -1;
        }
        /* Becoming non-dumpable (what an extension of the interpreter may
         * do after exec), never the reverse. */
        struct scmp_arg_cmp nodump[] = {
            SCMP_A0_64(SCMP_CMP_EQ, PR_SET_DUMPABLE),
            SCMP_A1_64(SCMP_CMP_EQ, 0),
        };
        return add(ctx, SCMP_ACT_ALLOW, nr, 2, nodump, name, err, errlen);
    }
    if (!strcmp(name, "fcntl"))
        return allow_each(ctx, nr, name, 1, allowed_fcntls, N(allowed_fcntls), err, errlen);
    if (!strcmp(name, "madvise"))
        return allow_each(ctx, nr, name, 2, allowed_madvise, N(allowed_madvise), err, errlen);
    if (!strcmp(name, "flock")) {
        /* Shared locks and unlocking: flock ignores the open mode, so an
         * exclusive lock on a shared read-only file would be a channel. */
        static const unsigned ops[] = { LOCK_SH, LOCK_SH | LOCK_NB, LOCK_UN, LOCK_UN | LOCK_NB };
        return allow_each(ctx, nr, name, 1, ops, N(ops), err, errlen);
    }
    if (!strcmp(name, "fadvise64")) {
        /* Hints about the caller's own reading; not DONTNEED (it evicts the
         * page cache other runs and the host read) nor NOREUSE. A value
         * with junk above the int is larger, so refused too. */
        struct scmp_arg_cmp a[] = { SCMP_A3_64(SCMP_CMP_LE, POSIX_FADV_WILLNEED) };
        return add(ctx, SCMP_ACT_ALLOW, nr, 1, a, name, err, errlen);
    }
    if (!strcmp(name, "preadv2") || !strcmp(name, "pwritev2")) {
        /* No flags: RWF_NOWAIT probes page-cache residency (what other
         * runs have read), RWF_DONTCACHE evicts. */
        struct scmp_arg_cmp a[] = { SCMP_A5_64(SCMP_CMP_EQ, 0) };
        return add(ctx, SCMP_ACT_ALLOW, nr, 1, a, name, err, errlen);
    }
    if (!strcmp(name, "setsockopt")) {
        for (size_t i = 0; i < N(allowed_sockopts); i++) {
            struct scmp_arg_cmp a[] = {
                SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, SOL_SOCKET),
                SCMP_A2_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, allowed_sockopts[i]),
            };
            if (add(ctx, SCMP_ACT_ALLOW, nr, 2, a, name, err, errlen) < 0)
                return -1;
        }
        return 0;
    }
    if (!strcmp(name, "prlimit64")) {
        /* Its own limits only (glibc's getrlimit and setrlimit pass pid
         * 0), not the reaper's, whose uid it shares. */
        struct scmp_arg_cmp self[] = { SCMP_A0_64(SCMP_CMP_EQ, 0) };
        struct scmp_arg_cmp other[] = { SCMP_A0_64(SCMP_CMP_NE, 0) };
        if (add(ctx, SCMP_ACT_ALLOW, nr, 1, self, name, err, errlen) < 0)
            return -1;
        return add(ctx, deny, nr, 1, other, name, err, errlen);
    }
    if (!strcmp(name, "rt_sigaction")) {
        /* A child whose parent ignores SIGCHLD (or sets SA_NOCLDWAIT) is
         * reaped by the kernel, which adds its CPU to nobody's children
         * times: neither the supervisor's count of the tree nor the
         * reaper's rusage would see it, and short-lived children could
         * burn the wall clock on every CPU past the CPU limit. So a run
         * that may fork cannot change SIGCHLD's disposition (asking for it
         * is fine); every other signal is its own business. A run of one
         * process has no children: it keeps the plain call. The signal is
         * the int the kernel takes: "any other" is written as "one of its
         * 32 bits differs from SIGCHLD's", disjoint from the two SIGCHLD
         * rules. */
        if (!allow_fork)
            return add(ctx, SCMP_ACT_ALLOW, nr, 0, NULL, name, err, errlen);
        for (unsigned bit = 0; bit < 32; bit++) {
            uint32_t m = 1u << bit;
            struct scmp_arg_cmp other[] = {
                SCMP_A0_64(SCMP_CMP_MASKED_EQ, m, (SIGCHLD & m) ^ m),
            };
            if (add(ctx, SCMP_ACT_ALLOW, nr, 1, other, name, err, errlen) < 0)
                return -1;
        }
        struct scmp_arg_cmp query[] = {
            SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, SIGCHLD),
            SCMP_A1_64(SCMP_CMP_EQ, 0),
        };
        if (add(ctx, SCMP_ACT_ALLOW, nr, 2, query, name, err, errlen) < 0)
            return -1;
        struct scmp_arg_cmp change[] = {
            SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, SIGCHLD),
            SCMP_A1_64(SCMP_CMP_NE, 0),
        };
        return add(ctx, deny, nr, 2, change, name, err, errlen);
    }
    if (!strcmp(name, "futex")) {
        /* A shared futex on a page of a file has the same key, (inode,
         * offset), in every process that maps it: a wake on a word of
         * libc's text reaches a waiter in any other run. A single-process
         * run has no use for shared wakes (its futexes are private, or
         * keyed by its own memory); of the shared operations it keeps the
         * waits, which glibc's pthread_join makes (the kernel's wake at
         * thread exit is shared). A multi-process run needs them for
         * process-shared semaphores and mutexes: it keeps every operation
         * (what that leaves open, README "What a run can still see"). */
        if (allow_fork)
            return add(ctx, SCMP_ACT_ALLOW, nr, 0, NULL, name, err, errlen);
        struct scmp_arg_cmp priv[] = {
            SCMP_A1_64(SCMP_CMP_MASKED_EQ, FUTEX_PRIVATE_FLAG, FUTEX_PRIVATE_FLAG),
        };
        if (add(ctx, SCMP_ACT_ALLOW, nr, 1, priv, name, err, errlen) < 0)
            return -1;
        static const unsigned waits[] = { FUTEX_WAIT, FUTEX_WAIT_BITSET };
        for (size_t i = 0; i < N(waits); i++) {
            struct scmp_arg_cmp a[] = {
                SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffu & ~(unsigned)FUTEX_CLOCK_REALTIME,
                           waits[i]),
            };
            if (add(ctx, SCMP_ACT_ALLOW, nr, 1, a, name, err, errlen) < 0)
                return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "seccomp: no special rule for %s", name);
    return -1;
}

scmp_filter_ctx pysb_policy_build(unsigned flags, char *err, size_t errlen)
{
    /* Unknown calls: ENOSYS, the answer of a kernel that lacks them. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    if (!ctx) {
        snprintf(err, errlen, "seccomp: seccomp_init failed");
        return NULL;
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: bad-arch action: %s", strerror(-rc));
        goto fail;
    }
    /* A binary tree over syscall numbers instead of a linear list: every
     * system call the program makes runs the filter, and CPython's
     * start-up alone makes about a thousand. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: optimize: %s", strerror(-rc));
        goto fail;
    }
    for (const pysb_syscall_rule *r = pysb_policy_table; r->name; r++) {
        int nr = seccomp_syscall_resolve_name(r->name);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue; /* not a call of this architecture (e.g. _sysctl) */
        if (r->kind == PYSB_RULE_SPECIAL) {
            if (add_special(ctx, r->name, nr, flags, err, errlen) < 0)
                goto fail;
            continue;
        }
        uint32_t action = SCMP_ACT_ERRNO(EPERM);
        if (r->kind == PYSB_RULE_ALLOW ||
            (r->kind == PYSB_RULE_SCRATCH && (flags & PYSB_POLICY_SCRATCH)))
            action = SCMP_ACT_ALLOW;
        else if (r->kind == PYSB_RULE_NOTSUP)
            action = SCMP_ACT_ERRNO(EOPNOTSUPP);
        if (add(ctx, action, nr, 0, NULL, r->name, err, errlen) < 0)
            goto fail;
    }
    return ctx;
fail:
    seccomp_release(ctx);
    return NULL;
}

int pysb_policy_load(unsigned flags, char *err, size_t errlen)
{
    scmp_filter_ctx ctx = pysb_policy_build(flags, err, errlen);
    if (!ctx)
        return -1;
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: load: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

int pysb_policy_compile(unsigned flags, pysb_bpf *out, char *err, size_t errlen)
{
    scmp_filter_ctx ctx = pysb_policy_build(flags, err, errlen);
    if (!ctx)
        return -1;
    /* libseccomp 2.5 exports only to a descriptor. */
    int fd = memfd_create("pysb-bpf", MFD_CLOEXEC);
    int rc = -1;
    if (fd < 0) {
        snprintf(err, errlen, "seccomp: memfd_create: %s", strerror(errno));
        goto done;
    }
    int erc = seccomp_export_bpf(ctx, fd);
    if (erc < 0) {
        snprintf(err, errlen, "seccomp: export: %s", strerror(-erc));
        goto done;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
        size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
        snprintf(err, errlen, "seccomp: exported program of %lld bytes", (long long)size);
        goto done;
    }
    struct sock_filter *insns = malloc((size_t)size);
    if (!insns || pread(fd, insns, (size_t)size, 0) != (ssize_t)size) {
        snprintf(err, errlen, "seccomp: reading the program back failed");
        free(insns);
        goto done;
    }
    out->insns = insns;
    out->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return rc;
}

int pysb_policy_install(const pysb_bpf *prog, char *err, size_t errlen)
{
    struct sock_fprog fp = {
        .len = prog->len,
        .filter = (struct sock_filter *)prog->insns,
    };
    if (prog->len == 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0) {
        snprintf(err, errlen, "seccomp: load: %s",
                 prog->len ? strerror(errno) : "empty program");
        return -1;
    }
    return 0;
}
