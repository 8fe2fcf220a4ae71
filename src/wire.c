/* wire.c — frames between worker, launcher and supervisor: header codec,
 * complete sends and the incremental decoder. What the payloads mean is
 * payload.c's.
 *
 * Contract (details in wire.h): a header is judged byte by byte as it
 * arrives, so a peer that is not speaking this protocol, or announces more
 * than the type allows, is refused before a single payload byte is kept.
 * Decoder errors are sticky. Reasons are one line of printable ASCII. */
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"

/* ---- frame types ---- */

static const struct {
    const char *name;
    uint32_t    max;
} frame_types[PYSB_FRAME_TYPE_END] = {
    [PYSB_FRAME_SPEC]    = { "SPEC",    192u << 10 },
    [PYSB_FRAME_CODE]    = { "CODE",    16u << 20 },
    [PYSB_FRAME_STDIN]   = { "STDIN",   1u << 20 },
    [PYSB_FRAME_START]   = { "START",   0 },
    [PYSB_FRAME_ADMIT]   = { "ADMIT",   1u << 10 },
    [PYSB_FRAME_STATUS_GET] = { "STATUS_GET", 0 },
    [PYSB_FRAME_FILE]    = { "FILE",    16u << 20 },
    [PYSB_FRAME_BUSY]    = { "BUSY",    1u << 10 },
    [PYSB_FRAME_STARTED] = { "STARTED", 4u << 10 },
    [PYSB_FRAME_STDOUT]  = { "STDOUT",  64u << 10 },
    [PYSB_FRAME_STDERR]  = { "STDERR",  64u << 10 },
    [PYSB_FRAME_RESULT]  = { "RESULT",  64u << 10 },
    [PYSB_FRAME_ERROR]   = { "ERROR",   4u << 10 },
    [PYSB_FRAME_QUEUED]  = { "QUEUED",  256 },
    [PYSB_FRAME_GO]      = { "GO",      0 },
    [PYSB_FRAME_TOO_MANY] = { "TOO_MANY", 1u << 10 },
    [PYSB_FRAME_STATUS]  = { "STATUS",  256u << 10 },
    [PYSB_FRAME_OUTFILE] = { "OUTFILE", (16u << 20) + 4096 },
};

int pysb_frame_type_known(int type)
{
    return type >= 0 && type < PYSB_FRAME_TYPE_END &&
           frame_types[type].name != NULL;
}

const char *pysb_frame_type_name(int type)
{
    return pysb_frame_type_known(type) ? frame_types[type].name : NULL;
}

size_t pysb_frame_max_len(int type)
{
    return pysb_frame_type_known(type) ? frame_types[type].max : 0;
}

/* ---- reasons ---- */

/* Every reason may quote peer bytes (a JSON key, a parser message); keep it
 * one line of printable ASCII so it is safe in logs and HTTP headers. */
static void ascii_line(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f)
            *s = '?';
    }
}

int pysb_reason(char *err, size_t errlen, const char *fmt, ...)
                {
                if (err && errlen > 0) {
                va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        ascii_line(err);
    }
    return -1;
}

/* ---- header ---- */

void pysb_wire_header(uint8_t hdr[PYSB_WIRE_HDR_LEN], int type, uint32_t len)
{
    hdr[0] = PYSB_WIRE_MAGIC;
    hdr[1] = PYSB_WIRE_VERSION;
    hdr[2] = (uint8_t)type;
    hdr[3] = 0;
    hdr[4] = (uint8_t)(len >> 24);
    hdr[5] = (uint8_t)(len >> 16);
    hdr[6] = (uint8_t)(len >> 8);
    hdr[7] = (uint8_t)len;
}

/* Judges the first `have` (<= 8) header bytes, so a decoder can refuse a
 * stream at its first wrong byte. When all 8 are there and fine, sets
 * *type and *len. max[] is the per-type payload cap in force (NULL: the
 * protocol's own). */
static int check_header(const uint8_t *p, size_t have, const uint32_t *max,
                        int *type, uint32_t *len, char *err, size_t errlen)
{
    if (have >= 1 && p[0] != PYSB_WIRE_MAGIC)
        return pysb_reason(err, errlen, "bad magic byte 0x%02x (want 0x%02x)",
                           p[0], PYSB_WIRE_MAGIC);
    if (have >= 2 && p[1] != PYSB_WIRE_VERSION)
        return pysb_reason(err, errlen, "unsupported protocol version %u (want %u)",
                           p[1], PYSB_WIRE_VERSION);
    if (have >= 3 && !pysb_frame_type_known(p[2]))
        return pysb_reason(err, errlen, "unknown frame type %u", p[2]);
    if (have >= 4 && p[3] != 0)
        return pysb_reason(err, errlen, "reserved header byte is 0x%02x (must be 0)",
                           p[3]);
    if (have >= PYSB_WIRE_HDR_LEN) {
        uint32_t l = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
                     (uint32_t)p[6] << 8 | (uint32_t)p[7];
        uint32_t m = max ? max[p[2]] : frame_types[p[2]].max;
        if (l > m)
            return pysb_reason(err, errlen, "frame type %s too long: %" PRIu32
                               " > %" PRIu32, frame_types[p[2]].name, l, m);
        *type = p[2];
        *len = l;
    }
    return 0;
}

int pysb_wire_header_parse(const uint8_t hdr[PYSB_WIRE_HDR_LEN], int *type,
                           uint32_t *len, char *err, size_t errlen)
{
    return check_header(hdr, PYSB_WIRE_HDR_LEN, NULL, type, len, err, errlen);
}

/* ---- waiting ---- */

/* deadline < 0: none. */
static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : pysb_monotonic_ms() + timeout_ms;
}

/* Waits until fd is ready for `events` or reports an error/hang-up (the
 * next I/O call then says which), or the deadline passes (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        int wait = -1, r;

        if (deadline >= 0) {
            int64_t now = pysb_monotonic_ms();
            if (now >= deadline) {
                errno = ETIMEDOUT;
                return -1;
            }
            wait = deadline - now > INT_MAX ? INT_MAX
                                                 : (int)(deadline - now);
        }
        r = poll(&pfd, 1, wait);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            continue;   /* the deadline check above ends it */
        if (pfd.revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
        return 0;
    }
}

/* ---- sending ---- */

int pysb_wire_send_timeout(int fd, int type, const void *payload, size_t len,
                           int timeout_ms)
{
    uint8_t hdr[PYSB_WIRE_HDR_LEN];
    struct iovec iov[2], *v = iov;
    int nv, is_socket = 1;
    int64_t deadline;

    if (!pysb_frame_type_known(type) || (!payload && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (len > pysb_frame_max_len(type)) {
        errno = EMSGSIZE;
        return -1;
    }
    deadline = deadline_after(timeout_ms);

    pysb_wire_header(hdr, type, (uint32_t)len);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = len;
    nv = len > 0 ? 2 : 1;

    while (nv > 0) {
        ssize_t n;

        if (is_socket) {
            /* MSG_NOSIGNAL: a gone peer is EPIPE, never a SIGPIPE that
             * kills an httpd worker. MSG_DONTWAIT: the deadline holds even
             * on a blocking socket. */
            struct msghdr m = { .msg_iov = v, .msg_iovlen = (size_t)nv };
            n = sendmsg(fd, &m,
                        MSG_NOSIGNAL | (deadline >= 0 ? MSG_DONTWAIT : 0));
            if (n < 0 && errno == ENOTSOCK) {
                is_socket = 0;   /* a pipe: callers ignore SIGPIPE */
                continue;
            }
        } else {
            n = writev(fd, v, nv);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(fd, POLLOUT, deadline) < 0)
                    return -1;
                continue;
            }
            return -1;
        }
        if (n == 0) {
            /* Cannot happen with bytes left to write; never spin on it. */
            errno = EIO;
            return -1;
        }
        for (size_t done = (size_t)n; nv > 0;) {
            if (done < v->iov_len) {
                v->iov_base = (char *)v->iov_base + done;
                v->iov_len -= done;
                break;
            }
            done -= v->iov_len;
            v++;
            nv--;
        }
    }
    return 0;
}

int pysb_wire_send(int fd, int type, const void *payload, size_t len)
{
    return pysb_wire_send_timeout(fd, type, payload, len, -1);
}

/* ---- decoder ---- */

/* Most undrained bytes a decoder holds: a maximal frame, its header, and
 * one read's worth of what follows it. */
#define DECODER_BOUND \
    ((size_t)PYSB_WIRE_HDR_LEN + PYSB_WIRE_MAX_PAYLOAD + PYSB_WIRE_READ_CHUNK)
#define DECODER_MIN_CAP   4096
#define DECODER_SHRINK_AT (1u << 20)

void pysb_decoder_init(pysb_decoder *d)
{
    memset(d, 0, sizeof *d);
    for (int t = 0; t < PYSB_FRAME_TYPE_END; t++)
        d->max[t] = frame_types[t].max;
}

void pysb_decoder_free(pysb_decoder *d)
{
    free(d->buf);
    memset(d, 0, sizeof *d);
}

int pysb_decoder_set_max(pysb_decoder *d, int type, uint32_t max)
{
    if (!pysb_frame_type_known(type)) {
        errno = EINVAL;
        return -1;
    }
    if (max < d->max[type])
        d->max[type] = max;
    return 0;
}

/* next() lent out a payload with a NUL written after it; put back the byte
 * that NUL covered (the start of the next frame) before touching the
 * buffer again. */
static void restore_nul(pysb_decoder *d)
{
    if (d->nul_set) {
        d->buf[d->nul_at] = d->nul_saved;
        d->nul_set = 0;
    }
}

/* Makes room for `extra` more bytes after the unconsumed ones, plus the
 * byte next() may overwrite with a NUL. Consumed bytes are dropped first;
 * a buffer left large by a big frame is given back. */
static int make_room(pysb_decoder *d, size_t extra)
{
    size_t pending = d->end - d->start, need;

    if (extra > DECODER_BOUND - pending) {
        errno = ENOBUFS;
        return -1;
    }
    if (d->start > 0) {
        memmove(d->buf, d->buf + d->start, pending);
        d->start = 0;
        d->end = pending;
    }
    need = pending + extra + 1;
    if (need > d->cap) {
        size_t ncap = d->cap > DECODER_MIN_CAP ? d->cap : DECODER_MIN_CAP;
        char *nb;

        while (ncap < need)
            ncap *= 2;
        if (ncap > DECODER_BOUND + 1)
            ncap = DECODER_BOUND + 1;
        nb = realloc(d->buf, ncap);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        d->buf = nb;
        d->cap = ncap;
    } else if (d->cap > DECODER_SHRINK_AT && need <= d->cap / 4) {
        size_t ncap = need * 2 > DECODER_MIN_CAP ? need * 2 : DECODER_MIN_CAP;
        char *nb = realloc(d->buf, ncap);

        if (nb) {   /* failing to shrink is no error: keep the old block */
            d->buf = nb;
            d->cap = ncap;
        }
    }
    return 0;
}

int pysb_decoder_feed(pysb_decoder *d, const void *data, size_t n)
{
    restore_nul(d);
    if (d->failed) {
        errno = EPROTO;
        return -1;
    }
    if (n == 0)
        return 0;
    if (!data) {
        errno = EINVAL;
        return -1;
    }
    if (make_room(d, n) < 0)
        return -1;
    memcpy(d->buf + d->end, data, n);
    d->end += n;
    return 0;
}

ssize_t pysb_decoder_read(pysb_decoder *d, int fd)
{
    size_t chunk = PYSB_WIRE_READ_CHUNK, room;
    ssize_t n;

    restore_nul(d);
    if (d->failed) {
        errno = EPROTO;
        return -1;
    }
    room = DECODER_BOUND - (d->end - d->start);
    if (chunk > room)
        chunk = room;
    if (chunk == 0) {
        errno = ENOBUFS;
        return -1;
    }
    if (make_room(d, chunk) < 0)
        return -1;
    do
        n = read(fd, d->buf + d->end, chunk);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        d->end += (size_t)n;
    return n;
}

int pysb_decoder_next(pysb_decoder *d, pysb_frame *out)
{
    size_t pending, have;
    const uint8_t *p;
    int type = 0;
    uint32_t len = 0;

    restore_nul(d);
    if (d->failed) {
        errno = EPROTO;
        return -1;
    }
    pending = d->end - d->start;
    if (pending == 0)
        return 0;   /* and buf may still be NULL */
    p = (const uint8_t *)d->buf + d->start;
    have = pending < PYSB_WIRE_HDR_LEN ? pending : PYSB_WIRE_HDR_LEN;
    if (check_header(p, have, d->max, &type, &len, d->error,
                     sizeof d->error) < 0) {
        d->failed = 1;
        errno = EPROTO;
        return -1;
    }
    if (pending < PYSB_WIRE_HDR_LEN || pending - PYSB_WIRE_HDR_LEN < len)
        return 0;

    out->type = type;
    out->len = len;
    out->payload = d->buf + d->start + PYSB_WIRE_HDR_LEN;
    d->start += PYSB_WIRE_HDR_LEN + len;
    /* make_room keeps one spare byte past end, so this is in bounds even
     * when the frame ends the buffer. */
    d->nul_at = d->start;
    d->nul_saved = d->buf[d->nul_at];
    d->buf[d->nul_at] = '\0';
    d->nul_set = 1;
    return 1;
}

const char *pysb_decoder_error(const pysb_decoder *d)
{
    return d->error;
}

size_t pysb_decoder_pending(const pysb_decoder *d)
{
    return d->end - d->start;
}

int pysb_wire_recv(int fd, pysb_decoder *d, pysb_frame *out, int timeout_ms)
{
    int64_t deadline;

    deadline = deadline_after(timeout_ms);
    for (;;) {
        int r = pysb_decoder_next(d, out);
        ssize_t n;

        if (r != 0)
            return r;
        /* With a deadline, wait first so a blocking read cannot outlast
         * it; poll then guarantees the read returns at once. */
        if (deadline >= 0 && wait_fd(fd, POLLIN, deadline) < 0)
            return -1;
        n = pysb_decoder_read(d, fd);
        if (n > 0)
            continue;
        if (n == 0) {
            if (pysb_decoder_pending(d) > 0) {
                errno = ECONNRESET;
                return -1;
            }
            return 0;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        if (wait_fd(fd, POLLIN, deadline) < 0)
            return -1;
    }
}
