/* memwatch.h — the kernel's facts about a run's address space, for the
 * memory_limit verdict: allocations the address-space limit refuses, and
 * the peak virtual size of each process as it fails.
 *
 * Contract: the program's side (pysb_memwatch_install, in the program's
 * process before the main seccomp filter, which refuses seccomp(); it
 * needs no_new_privs, not an exec, so a forked child of a warm-run server
 * calls it the same way) stacks a small seccomp filter that sends these
 * calls to a listener as SECCOMP_RET_USER_NOTIF: an anonymous, accessible
 * mmap of more than PYSB_MEMWATCH_MIN bytes, an mremap to more than that,
 * exit_group with a non-zero status, and tgkill(…, SIGABRT) (abort()).
 * Every other call it allows (the main filter still decides, and ERRNO
 * there beats USER_NOTIF here, so nothing is widened). A run that succeeds
 * and allocates nothing big makes no notification at all: CPython's
 * arenas are exactly PYSB_MEMWATCH_MIN. The listener descriptor goes to
 * the supervisor over a unix socket (SCM_RIGHTS).
 *
 * The supervisor's side answers each notification with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE — the kernel then makes the call and
 * enforces RLIMIT_AS itself: nothing is decided here, so the TOCTOU of
 * user notification does not matter (the arguments are values, not
 * pointers) — after reading the caller's total_vm (/proc/PID/statm), or
 * at exit_group and abort its VmPeak (/proc/PID/status). It counts a
 * watched allocation that the kernel's own test (total_vm + new pages >
 * RLIMIT_AS) will refuse, against the configured limit (a limit the
 * program lowered itself does not count), and keeps the highest peak seen.
 * The program cannot forge these: they are the kernel's numbers at the
 * moment of the call.
 *
 * A program can make notifications on purpose (mmap and munmap 2 MiB in a
 * loop); after PYSB_MEMWATCH_FREE of them each further one is answered no
 * sooner than PYSB_MEMWATCH_SPACING after the previous one: the program
 * waits, and the supervisor stays at about 2 % of a CPU.
 *
 * Why this shape: RLIMIT_AS failures leave no counter anywhere, and the
 * peak VM is gone with the process. Small allocations are not watched
 * (too many): one that fails means the process already had more than
 * limit − MIN mapped, which its peak at exit shows; glibc falls back from
 * a failed brk to an mmap of 1 MiB. PROT_NONE reservations (thread stacks,
 * malloc arenas) are left out on purpose: a refused reservation is not a
 * program running out of memory. */
#ifndef PYSB_MEMWATCH_H
#define PYSB_MEMWATCH_H

#include <stddef.h>
#include <stdint.h>

#define PYSB_MEMWATCH_MIN     (1u << 20)
#define PYSB_MEMWATCH_FREE    4096
#define PYSB_MEMWATCH_SPACING 0.001   /* seconds */

/* Program side: install the filter and send its listener on sock (closed
 * either way). Returns 0, or -1 with a reason (memwatch: …). */
int pysb_memwatch_install(int sock, char *err, size_t errlen);

typedef struct pysb_memwatch {
    int      sock;          /* our end of the socket, -1 once the fd came */
    int      listener;      /* -1 until received, and after the end */
    uint64_t limit;         /* the run's configured RLIMIT_AS, bytes */
    uint64_t refused;       /* watched allocations the limit refuses */
    uint64_t peak_vm;       /* highest VmPeak/total_vm seen, bytes */
    uint64_t notifications;
    double   next_at;       /* throttled: no answer before this (monotonic) */
    double   busy_sec;      /* supervisor time spent answering */
    void    *req, *resp;
    size_t   req_size, resp_size;
} pysb_memwatch;

/* Supervisor side. init takes sock; -1 (sock closed) when the kernel has
 * no user notification: the run then goes unwatched, and memory_limit is
 * never reported. */
int  pysb_memwatch_init(pysb_memwatch *m, int sock, uint64_t limit);
/* sock readable: take the listener (or note that none will come). */
void pysb_memwatch_take(pysb_memwatch *m);
/* 1 when the listener should be polled now; otherwise *wait_sec (if
 * shorter) is lowered to when it should be again. */
int  pysb_memwatch_ready(const pysb_memwatch *m, double now, double *wait_sec);
/* listener readable (or hung up): answer one notification. */
void pysb_memwatch_answer(pysb_memwatch *m, short revents);
void pysb_memwatch_close(pysb_memwatch *m);

#endif
