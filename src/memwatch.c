/* memwatch.c — address-space facts through seccomp user notification.
 *
 * Contract: see memwatch.h. The filter is written by hand (26
 * instructions, one compare chain), not by libseccomp: it is tiny, it
 * must be loaded before the main filter, and it only ever answers ALLOW
 * or USER_NOTIF. */
#include "memwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)

int pysb_memwatch_install(int sock, char *err, size_t errlen)
{
    /* Jump offsets count the instructions after the jump itself. */
    struct sock_filter f[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 23),  /* → 25 */
        /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 4, 0),   /* → 8 */
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 5, 0),         /* → 10 */
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mremap, 12, 0),      /* → 18 */
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_tgkill, 15, 0),      /* → 22 */
        /* 7 */ BPF_JUMP(BPF_JMP | BPF_JA, 17, 0, 0),                          /* → 25 */
        /* exit_group: only a failing status needs the peak */
        /* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
        /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 15, 14),                /* 25 : 24 */
        /* mmap: length (args[1]) over MIN … */
        /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(1)),
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),                /* hi: → 14 */
        /* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
        /* 13 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, PYSB_MEMWATCH_MIN, 0, 11), /* : → 25 */
        /* … anonymous (flags, args[3]) … */
        /* 14 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(3)),
        /* 15 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 0, 9),   /* : → 25 */
        /* … and accessible (prot, args[2]) */
        /* 16 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
        /* 17 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_READ | PROT_WRITE | PROT_EXEC, 6, 7),
        /* mremap: new length (args[2]) over MIN */
        /* 18 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(2)),
        /* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4),                /* hi: → 24 */
        /* 20 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
        /* 21 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, PYSB_MEMWATCH_MIN, 2, 3), /* 24 : 25 */
        /* tgkill(tgid, tid, SIGABRT): abort(), e.g. a fatal MemoryError */
        /* 22 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
        /* 23 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGABRT, 0, 1),
        /* 24 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        /* 25 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof *f, .filter = f };
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener < 0) {
        snprintf(err, errlen, "memwatch: seccomp listener: %s", strerror(errno));
        close(sock);
        return -1;
    }
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    char byte = 'L';
    struct iovec iov = { &byte, 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &listener, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(listener);
    close(sock);
    if (n != 1) {
        snprintf(err, errlen, "memwatch: sending the listener: %s", strerror(saved));
        return -1;
    }
    return 0;
}

int pysb_memwatch_init(pysb_memwatch *m, int sock, uint64_t limit)
{
    memset(m, 0, sizeof *m);
    m->sock = sock;
    m->listener = -1;
    m->limit = limit;
    struct seccomp_notif_sizes sz;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
        pysb_memwatch_close(m);
        return -1;
    }
    /* The kernel may know larger structs than our headers. */
    m->req_size = sz.seccomp_notif > sizeof(struct seccomp_notif)
                      ? sz.seccomp_notif : sizeof(struct seccomp_notif);
    m->resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
                       ? sz.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
    m->req = calloc(1, m->req_size);
    m->resp = calloc(1, m->resp_size);
    if (!m->req || !m->resp) {
        pysb_memwatch_close(m);
        return -1;
    }
    return 0;
}

void pysb_memwatch_take(pysb_memwatch *m)
{
    char byte, cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n = recvmsg(m->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
        memcpy(&m->listener, CMSG_DATA(c), sizeof(int));
        if (fcntl(m->listener, F_SETFL, O_NONBLOCK) < 0) {
            close(m->listener);
            m->listener = -1;
        }
    }
    close(m->sock); /* one descriptor per run, or EOF: done either way */
    m->sock = -1;
}

int pysb_memwatch_ready(const pysb_memwatch *m, double now, double *wait_sec)
{
    if (m->listener < 0)
        return 0;
    if (m->notifications < PYSB_MEMWATCH_FREE || now >= m->next_at)
        return 1;
    if (m->next_at - now < *wait_sec)
        *wait_sec = m->next_at - now;
    return 0;
}

/* total_vm of /proc/PID/statm (pages), or VmPeak of /proc/PID/status. */
static int read_vm(unsigned pid, int peak, uint64_t *bytes)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%u/%s", pid, peak ? "status" : "statm");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (!peak) {
        *bytes = strtoull(buf, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
        return 0;
    }
    char *p = strstr(buf, "\nVmPeak:");
    if (!p)
        return -1;
    *bytes = strtoull(p + 8, NULL, 10) * 1024;
    return 0;
}

static void end_listener(pysb_memwatch *m)
{
    close(m->listener);
    m->listener = -1;
}

/* What one notification says, from /proc while the caller waits for us. */
static void record(pysb_memwatch *m, const struct seccomp_notif *req)
{
    const struct seccomp_data *d = &req->data;
    uint64_t vm = 0, grow = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
    int failing_end = d->nr == __NR_exit_group || d->nr == __NR_tgkill;
    if (read_vm(req->pid, failing_end, &vm) < 0)
        return;
    /* A pid that ended and was reused while we read would give a stranger's
     * figures: keep them only if the request is still pending. */
    uint64_t id = req->id;
    if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
        return;
    if (vm > m->peak_vm)
        m->peak_vm = vm;
    if (d->nr == __NR_mmap)
        grow = (d->args[1] + page - 1) / page * page;
    else if (d->nr == __NR_mremap && d->args[2] > d->args[1])
        grow = (d->args[2] - d->args[1] + page - 1) / page * page;
    /* The kernel's own test (may_expand_vm): total_vm + new pages over
     * RLIMIT_AS, against the configured limit. */
    if (grow && (grow > m->limit || vm > m->limit - grow))
        m->refused++;
}

void pysb_memwatch_answer(pysb_memwatch *m, short revents)
{
    struct seccomp_notif *req = m->req;
    struct seccomp_notif_resp *resp = m->resp;
    double t0 = pysb_monotonic();
    memset(req, 0, m->req_size);
    if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
        /* ENOENT: the caller died meanwhile. Anything else, or a hang-up
         * with nothing pending (every task of the filter is gone): done. */
        if (errno != EAGAIN && errno != EINTR && errno != ENOENT)
            end_listener(m);
        else if ((revents & POLLHUP) && !(revents & POLLIN))
            end_listener(m);
        return;
    }
    m->notifications++;
    record(m, req);
    memset(resp, 0, m->resp_size);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
        end_listener(m);
    double t1 = pysb_monotonic();
    m->busy_sec += t1 - t0;
    if (m->notifications >= PYSB_MEMWATCH_FREE)
        m->next_at = t1 + PYSB_MEMWATCH_SPACING;
}

void pysb_memwatch_close(pysb_memwatch *m)
{
    if (m->sock >= 0)
        close(m->sock);
    if (m->listener >= 0)
        close(m->listener);
    m->sock = m->listener = -1;
    free(m->req);
    free(m->resp);
    m->req = m->resp = NULL;
}
