/* warm_wire.h — the messages between a fork server and the processes that
 * use it: the launcher (or the CLI) that owns it, and a run's supervisor.
 *
 * Contract: every message is one SOCK_SEQPACKET datagram holding one of
 * the fixed-size structs below, so it arrives whole or not at all, and
 * many supervisors may send on the same control socket at once. Both ends
 * are root on the same machine, started from the same build (the
 * extension and the engine come from one make), so the structs go as they
 * are in memory, with a magic and a version checked on every message.
 *
 *   control socket (a socketpair made by the owner; the fork server has one
 *   end as fd 3, the owner and every supervisor it forks the other):
 *     server     → owner  : READY, or REFUSED + why (once, after the preloads)
 *     supervisor → server : RUN  + SCM_RIGHTS [reply, stdin, stdout, stderr,
 *                                              code, status, report(, watch)
 *                                              (, scratch(, shm))]
 *     owner      → server : PING + SCM_RIGHTS [reply]
 *   reply channel (a socketpair made by the supervisor per run, or by the
 *   owner per PING):
 *     server → supervisor : STARTED + SCM_RIGHTS [the reaper's pidfd]
 *                         | REFUSED (nothing ran: the run may go cold)
 *     server → supervisor : ENDED {wait status, rusage} of the reaper
 *     server → owner      : PONG {runs in flight, runs served}
 *     the supervisor hangs up: it is gone, and the server kills the run
 *
 * Code, stdin and output never pass through the fork server: it holds the
 * pipe descriptors (and the scratch's detached trees) only long enough to
 * clone the reaper, which puts them on fds 0-8 exactly as a cold reaper
 * does. */
#ifndef PYSB_WARM_WIRE_H
#define PYSB_WARM_WIRE_H

#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runlimits.h"

#define PYSB_FS_MAGIC   0x57425350u /* "PSBW" */
#define PYSB_FS_VERSION 2

enum {
    PYSB_FS_RUN = 1,
    PYSB_FS_PING = 2,
    PYSB_FS_READY = 10,
    PYSB_FS_STARTED = 11,
    PYSB_FS_REFUSED = 12,
    PYSB_FS_ENDED = 13,
    PYSB_FS_PONG = 14,
};

/* The descriptors that come with a RUN, in this order; those of the
 * optional slots (from PYSB_FS_FD_WATCH on) only when the request's `has`
 * says so, the others closing up. */
enum {
    PYSB_FS_FD_REPLY, PYSB_FS_FD_STDIN, PYSB_FS_FD_STDOUT, PYSB_FS_FD_STDERR,
    PYSB_FS_FD_CODE, PYSB_FS_FD_STATUS, PYSB_FS_FD_REPORT, PYSB_FS_FD_WATCH,
    PYSB_FS_FD_SCRATCH, PYSB_FS_FD_SHM, PYSB_FS_NFDS
};
enum {
    PYSB_FS_HAS_WATCH   = 1 << 0,   /* the memory watch's socket */
    PYSB_FS_HAS_SCRATCH = 1 << 1,   /* the scratch's work/ tree */
    PYSB_FS_HAS_SHM     = 1 << 2,   /* its shm/ tree (with SCRATCH only) */
};

typedef struct pysb_fs_request {
    uint32_t    magic;
    uint16_t    version, kind;
    uint32_t    uid, gid;
    int32_t     nice;          /* the run's scheduling priority */
    uint32_t    has;           /* PYSB_FS_HAS_*: the optional descriptors */
    pysb_limits limits;        /* memory_bytes as asked: the server adds the
                                  preloaded state (pysb_fs_reply.as_limit) */
    char        run_id[40];
} pysb_fs_request;

typedef struct pysb_fs_reply {
    uint32_t magic;
    uint16_t version, kind;
    int32_t  pid;              /* STARTED, ENDED: the reaper (host pid) */
    int32_t  wait_status;      /* ENDED: of the reaper, as wait4 gave it */
    int32_t  error;            /* REFUSED: an errno value, or 0 */
    uint32_t in_flight;        /* PONG: runs alive on this server */
    uint64_t as_limit;         /* STARTED: RLIMIT_AS given to the run */
    uint64_t rss_base;         /* STARTED: bytes resident in a bare
                                  interpreter (the server before preloads) */
    uint64_t served;           /* PONG: runs started since the server began */
    struct rusage ru;          /* ENDED: of the reaper and all it reaped */
    char     text[200];        /* REFUSED: why */
} pysb_fs_reply;

typedef struct pysb_fs_ready {
    uint32_t magic;
    uint16_t version, kind;    /* READY, or REFUSED (the server then exits) */
    int32_t  pid;
    uint32_t threads;          /* tasks in /proc/self/task: must be 1 */
    uint32_t extra_fds;        /* descriptors left open by the preloads */
    uint64_t vmsize_base;      /* bytes of address space before the preloads */
    uint64_t vmsize;           /* ... after them */
    uint64_t rss_base, rss;    /* bytes resident, the same two moments */
    char     python[48];       /* the interpreter's version, "3.11.2" */
    char     text[200];        /* REFUSED: why */
} pysb_fs_ready;

/* The descriptors a received datagram carried (SCM_RIGHTS), in order:
 * the first max into fds, any beyond closed. Returns how many were kept.
 * Both ends use it, so a descriptor is never left open by either. */
static inline int pysb_fs_take_fds(struct msghdr *mh, int *fds, int max)
{
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (n < max)
                fds[n++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

#endif
