/* wire.c — frames between worker, launcher and supervisor: header codec,
 * complete sends, the incremental decoder, and the SPEC/STARTED JSON.
 *
 * Contract (details in wire.h): a header is judged byte by byte as it
 * arrives, so a peer that is not speaking this protocol, or announces more
 * than the type allows, is refused before a single payload byte is kept.
 * Decoder errors are sticky. The JSON decoders are strict (unknown or
 * duplicate keys, wrong types, out-of-range values are errors) and the
 * encoders check exactly what the decoders check, so a bad spec is caught
 * on the side that built it. Reasons are one line of printable ASCII. */
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

#include <jansson.h>

#include "clock.h"
#include "supervise.h"   /* PYSB_WAIVE_LANDLOCK, PYSB_SHARED_NETNS */
#include "utf8.h"

/* ---- frame types ---- */

static const struct {
    const char *name;
    uint32_t    max;
} frame_types[PYSB_FRAME_TYPE_END] = {
    [PYSB_FRAME_SPEC]    = { "SPEC",    64u << 10 },
    [PYSB_FRAME_CODE]    = { "CODE",    16u << 20 },
    [PYSB_FRAME_STDIN]   = { "STDIN",   1u << 20 },
    [PYSB_FRAME_START]   = { "START",   0 },
    [PYSB_FRAME_BUSY]    = { "BUSY",    0 },
    [PYSB_FRAME_STARTED] = { "STARTED", 4u << 10 },
    [PYSB_FRAME_STDOUT]  = { "STDOUT",  64u << 10 },
    [PYSB_FRAME_STDERR]  = { "STDERR",  64u << 10 },
    [PYSB_FRAME_RESULT]  = { "RESULT",  64u << 10 },
    [PYSB_FRAME_ERROR]   = { "ERROR",   4u << 10 },
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

static int failf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(char *err, size_t errlen, const char *fmt, ...)
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
        return failf(err, errlen, "bad magic byte 0x%02x (want 0x%02x)",
                     p[0], PYSB_WIRE_MAGIC);
    if (have >= 2 && p[1] != PYSB_WIRE_VERSION)
        return failf(err, errlen, "unsupported protocol version %u (want %u)",
                     p[1], PYSB_WIRE_VERSION);
    if (have >= 3 && !pysb_frame_type_known(p[2]))
        return failf(err, errlen, "unknown frame type %u", p[2]);
    if (have >= 4 && p[3] != 0)
        return failf(err, errlen, "reserved header byte is 0x%02x (must be 0)",
                     p[3]);
    if (have >= PYSB_WIRE_HDR_LEN) {
        uint32_t l = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
                     (uint32_t)p[6] << 8 | (uint32_t)p[7];
        uint32_t m = max ? max[p[2]] : frame_types[p[2]].max;
        if (l > m)
            return failf(err, errlen, "frame type %s too long: %" PRIu32
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

/* ---- JSON checks shared by encoders and decoders ---- */

#define SPEC_FLAGS (PYSB_WAIVE_LANDLOCK | PYSB_SHARED_NETNS)

static int check_run_id(const char *what, const char *id, char *err,
                        size_t errlen)
{
    size_t len = strlen(id);

    if (len == 0 || len > PYSB_WIRE_RUN_ID_MAX)
        return failf(err, errlen, "%s must be 1..%d characters", what,
                     PYSB_WIRE_RUN_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return failf(err, errlen, "%s may only contain A-Z a-z 0-9 -",
                         what);
    }
    return 0;
}

/* what and index name the element in the reason, e.g. "ro_paths[3]". */
static int check_string(const char *what, size_t index, const char *s,
                        char *err, size_t errlen)
{
    size_t len = strlen(s);

    if (len == 0)
        return failf(err, errlen, "%s[%zu] must not be empty", what, index);
    if (len > PYSB_WIRE_STR_MAX)
        return failf(err, errlen, "%s[%zu] is longer than %d bytes", what,
                     index, PYSB_WIRE_STR_MAX);
    if (!pysb_utf8_valid(s, len))
        return failf(err, errlen, "%s[%zu] is not valid UTF-8", what, index);
    return 0;
}

/* Absolute, and no "." or ".." component: a launcher may then compare a
 * path against its configured ones as a string, and "/usr/lib/../../etc"
 * cannot pass for something under /usr/lib. */
static int check_path(const char *what, size_t index, const char *s,
                      char *err, size_t errlen)
{
    if (s[0] != '/')
        return failf(err, errlen, "%s[%zu] must be an absolute path", what,
                     index);
    for (const char *p = s; *p;) {
        size_t seg;

        while (*p == '/')
            p++;
        seg = strcspn(p, "/");
        if ((seg == 1 && p[0] == '.') ||
            (seg == 2 && p[0] == '.' && p[1] == '.'))
            return failf(err, errlen,
                         "%s[%zu] must not contain . or .. components", what,
                         index);
        p += seg;
    }
    return 0;
}

/* Everything about a spec that is not JSON structure; run by the encoder
 * on what the caller built and by the decoder on what it parsed. */
static int check_spec(const pysb_wire_spec *s, char *err, size_t errlen)
{
    char why[200];
    size_t n;

    if (memchr(s->run_id, '\0', sizeof s->run_id) == NULL)
        return failf(err, errlen, "run_id must be 1..%d characters",
                     PYSB_WIRE_RUN_ID_MAX);
    if (s->run_id[0] && check_run_id("run_id", s->run_id, err, errlen) < 0)
        return -1;

    if (!s->argv || !s->argv[0])
        return failf(err, errlen, "interpreter must have 1..%d arguments",
                     PYSB_WIRE_ARGV_MAX);
    for (n = 0; s->argv[n]; n++) {
        if (n == PYSB_WIRE_ARGV_MAX)
            return failf(err, errlen, "interpreter must have 1..%d arguments",
                         PYSB_WIRE_ARGV_MAX);
        if (check_string("interpreter", n, s->argv[n], err, errlen) < 0)
            return -1;
    }
    if (check_path("interpreter", 0, s->argv[0], err, errlen) < 0)
        return -1;

    for (n = 0; s->ro_paths && s->ro_paths[n]; n++) {
        if (n == PYSB_WIRE_RO_PATHS_MAX)
            return failf(err, errlen, "ro_paths must have at most %d entries",
                         PYSB_WIRE_RO_PATHS_MAX);
        if (check_string("ro_paths", n, s->ro_paths[n], err, errlen) < 0 ||
            check_path("ro_paths", n, s->ro_paths[n], err, errlen) < 0)
            return -1;
    }

    if (s->flags < 0 || (s->flags & ~SPEC_FLAGS) != 0)
        return failf(err, errlen, "flags has unknown bits 0x%x",
                     (unsigned)s->flags & ~(unsigned)SPEC_FLAGS);

    if (pysb_limits_validate(&s->limits, why, sizeof why) < 0)
        return failf(err, errlen, "limits: %s", why);
    return 0;
}

/* The limits object: key, JSON kind, and where the value goes. */
enum limit_kind { SECONDS, BYTES, COUNT };

static const struct {
    const char     *key;
    enum limit_kind kind;
    size_t          off;
} limit_keys[] = {
    { "cpu_time",  SECONDS, offsetof(pysb_limits, cpu_sec) },
    { "wall_time", SECONDS, offsetof(pysb_limits, wall_sec) },
    { "memory",    BYTES,   offsetof(pysb_limits, memory_bytes) },
    { "output",    BYTES,   offsetof(pysb_limits, output_bytes) },
    { "processes", COUNT,   offsetof(pysb_limits, processes) },
    { "threads",   COUNT,   offsetof(pysb_limits, threads) },
    { "fsize",     BYTES,   offsetof(pysb_limits, fsize_bytes) },
    { "nofile",    COUNT,   offsetof(pysb_limits, nofile) },
    { "stack",     BYTES,   offsetof(pysb_limits, stack_bytes) },
};
#define N_LIMIT_KEYS (sizeof limit_keys / sizeof limit_keys[0])

/* ---- SPEC encoding ---- */

static json_t *string_array(const char **v)
{
    json_t *a = json_array();

    if (!a)
        return NULL;
    for (size_t i = 0; v && v[i]; i++) {
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *limits_object(const pysb_limits *l)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    for (size_t i = 0; i < N_LIMIT_KEYS; i++) {
        const char *field = (const char *)l + limit_keys[i].off;
        json_t *v = NULL;
        double sec;
        uint64_t bytes;
        unsigned count;

        /* memcpy: the table knows each field's type only by its kind. */
        switch (limit_keys[i].kind) {
        case SECONDS:
            memcpy(&sec, field, sizeof sec);
            v = json_real(sec);
            break;
        case BYTES:   /* validated: far below 2^63 */
            memcpy(&bytes, field, sizeof bytes);
            v = json_integer((json_int_t)bytes);
            break;
        case COUNT:
            memcpy(&count, field, sizeof count);
            v = json_integer(count);
            break;
        }
        if (json_object_set_new(o, limit_keys[i].key, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

char *pysb_spec_encode(const pysb_wire_spec *s, char *err, size_t errlen)
{
    json_t *o;
    char *out = NULL;
    size_t len;

    if (check_spec(s, err, errlen) < 0) {
        errno = EINVAL;
        return NULL;
    }
    o = json_object();
    if (!o ||
        (s->run_id[0] &&
         json_object_set_new(o, "run_id", json_string(s->run_id)) < 0) ||
        json_object_set_new(o, "interpreter", string_array(s->argv)) < 0 ||
        json_object_set_new(o, "ro_paths", string_array(s->ro_paths)) < 0 ||
        json_object_set_new(o, "flags", json_integer(s->flags)) < 0 ||
        json_object_set_new(o, "limits", limits_object(&s->limits)) < 0)
        goto nomem;
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!out)
        goto nomem;
    len = strlen(out);
    if (len > pysb_frame_max_len(PYSB_FRAME_SPEC)) {
        failf(err, errlen, "spec too long: %zu > %zu bytes", len,
              pysb_frame_max_len(PYSB_FRAME_SPEC));
        free(out);
        errno = EMSGSIZE;
        return NULL;
    }
    return out;

nomem:
    json_decref(o);
    failf(err, errlen, "out of memory");
    errno = ENOMEM;
    return NULL;
}

/* ---- SPEC decoding ---- */

static int parse_limits(json_t *o, pysb_limits *l, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    if (!json_is_object(o))
        return failf(err, errlen, "limits must be an object");
    json_object_foreach(o, key, v) {
        size_t i;
        for (i = 0; i < N_LIMIT_KEYS; i++)
            if (strcmp(key, limit_keys[i].key) == 0)
                break;
        if (i == N_LIMIT_KEYS)
            return failf(err, errlen, "unknown key \"limits.%.40s\"", key);
    }
    for (size_t i = 0; i < N_LIMIT_KEYS; i++) {
        char *field = (char *)l + limit_keys[i].off;
        const char *k = limit_keys[i].key;
        json_int_t n;

        v = json_object_get(o, k);
        if (!v)
            return failf(err, errlen, "missing key \"limits.%s\"", k);
        if (limit_keys[i].kind == SECONDS) {
            if (!json_is_number(v))
                return failf(err, errlen, "limits.%s must be a number", k);
            double sec = json_number_value(v);
            memcpy(field, &sec, sizeof sec);
            continue;
        }
        if (!json_is_integer(v) || (n = json_integer_value(v)) < 0)
            return failf(err, errlen,
                         "limits.%s must be a non-negative integer", k);
        if (limit_keys[i].kind == BYTES) {
            uint64_t bytes = (uint64_t)n;
            memcpy(field, &bytes, sizeof bytes);
        } else {
            unsigned count = (unsigned)n;
            /* Above UINT_MAX a cast would wrap into range: refuse here. */
            if ((unsigned long long)n > UINT_MAX)
                return failf(err, errlen, "limits.%s is too large", k);
            memcpy(field, &count, sizeof count);
        }
    }
    return 0;
}

static void free_strings(const char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free((void *)v[i]);
    free((void *)v);
}

/* A JSON array of strings as a malloc'd NULL-terminated vector. */
static int parse_strings(json_t *a, const char *what, size_t min, size_t max,
                         const char ***out, char *err, size_t errlen)
{
    size_t n, i;
    const char **v;

    if (!json_is_array(a))
        return failf(err, errlen, "%s must be an array of strings", what);
    n = json_array_size(a);
    if (n < min || n > max)
        return min > 0
            ? failf(err, errlen, "%s must have %zu..%zu arguments", what,
                    min, max)
            : failf(err, errlen, "%s must have at most %zu entries", what,
                    max);
    v = calloc(n + 1, sizeof *v);
    if (!v)
        return failf(err, errlen, "out of memory");
    for (i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e)) {
            failf(err, errlen, "%s[%zu] must be a string", what, i);
            goto fail;
        }
        /* jansson refuses \u0000 unless asked; keep that a hard rule. */
        if (strlen(json_string_value(e)) != json_string_length(e)) {
            failf(err, errlen, "%s[%zu] contains NUL", what, i);
            goto fail;
        }
        v[i] = strdup(json_string_value(e));
        if (!v[i]) {
            failf(err, errlen, "out of memory");
            goto fail;
        }
    }
    *out = v;
    return 0;

fail:
    free_strings(v);
    return -1;
}

void pysb_wire_spec_free(pysb_wire_spec *s)
{
    free_strings(s->argv);
    free_strings(s->ro_paths);
    s->argv = NULL;
    s->ro_paths = NULL;
}

/* Loads a JSON object strictly: duplicate keys are an error (which of two
 * values would the launcher believe?), NUL inside strings too. */
static json_t *load_object(const char *json, size_t len, const char *what,
                           char *err, size_t errlen)
{
    json_error_t je;
    json_t *root;

    if (!json) {
        failf(err, errlen, "%s is empty", what);
        return NULL;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        failf(err, errlen, "%s is not valid JSON: %s (at byte %d)", what,
              je.text, je.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        failf(err, errlen, "%s is not a JSON object", what);
        return NULL;
    }
    return root;
}

/* A run id given as a JSON string: checked, then copied. */
static int parse_run_id(json_t *v, char *dst, char *err, size_t errlen)
{
    const char *s;

    if (!json_is_string(v))
        return failf(err, errlen, "run_id must be a string");
    s = json_string_value(v);
    if (json_string_length(v) != strlen(s))
        return failf(err, errlen, "run_id may only contain A-Z a-z 0-9 -");
    if (check_run_id("run_id", s, err, errlen) < 0)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int pysb_spec_decode(const char *json, size_t len, pysb_wire_spec *s,
                     char *err, size_t errlen)
{
    static const char *const keys[] = {
        "run_id", "interpreter", "ro_paths", "flags", "limits",
    };
    const char *key;
    json_t *root, *v;

    memset(s, 0, sizeof *s);
    root = load_object(json, len, "spec", err, errlen);
    if (!root)
        return -1;
    json_object_foreach(root, key, v) {
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (i == sizeof keys / sizeof keys[0]) {
            failf(err, errlen, "unknown key \"%.40s\"", key);
            goto fail;
        }
    }

    v = json_object_get(root, "limits");
    if (!v) {
        failf(err, errlen, "missing key \"limits\"");
        goto fail;
    }
    if (parse_limits(v, &s->limits, err, errlen) < 0)
        goto fail;

    v = json_object_get(root, "interpreter");
    if (!v) {
        failf(err, errlen, "missing key \"interpreter\"");
        goto fail;
    }
    if (parse_strings(v, "interpreter", 1, PYSB_WIRE_ARGV_MAX, &s->argv,
                      err, errlen) < 0)
        goto fail;

    v = json_object_get(root, "ro_paths");
    if (v) {
        if (parse_strings(v, "ro_paths", 0, PYSB_WIRE_RO_PATHS_MAX,
                          &s->ro_paths, err, errlen) < 0)
            goto fail;
    } else {
        /* Never NULL after decoding: pysb_run_spec wants a list. */
        s->ro_paths = calloc(1, sizeof *s->ro_paths);
        if (!s->ro_paths) {
            failf(err, errlen, "out of memory");
            goto fail;
        }
    }

    v = json_object_get(root, "run_id");
    if (v && parse_run_id(v, s->run_id, err, errlen) < 0)
        goto fail;

    v = json_object_get(root, "flags");
    if (v) {
        json_int_t f;
        if (!json_is_integer(v) || (f = json_integer_value(v)) < 0 ||
            f > INT_MAX) {
            failf(err, errlen, "flags must be a non-negative integer");
            goto fail;
        }
        s->flags = (int)f;
    }

    if (check_spec(s, err, errlen) < 0)
        goto fail;
    json_decref(root);
    return 0;

fail:
    json_decref(root);
    pysb_wire_spec_free(s);
    return -1;
}

/* ---- STARTED ---- */

#define UID_MAX_VALID 4294967294ULL   /* (uid_t)-1 means "no change" */

char *pysb_started_encode(const char *run_id, uid_t uid)
{
    json_t *o;
    char *out;

    if (!run_id || check_run_id("run_id", run_id, NULL, 0) < 0 || uid == 0 ||
        (unsigned long long)uid > UID_MAX_VALID) {
        errno = EINVAL;
        return NULL;
    }
    o = json_object();
    if (!o || json_object_set_new(o, "run_id", json_string(run_id)) < 0 ||
        json_object_set_new(o, "uid", json_integer((json_int_t)uid)) < 0) {
        json_decref(o);
        errno = ENOMEM;
        return NULL;
    }
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!out)
        errno = ENOMEM;
    return out;
}

int pysb_started_decode(const char *json, size_t len,
                        char run_id[PYSB_WIRE_RUN_ID_MAX + 1], uid_t *uid,
                        char *err, size_t errlen)
{
    const char *key;
    json_t *root, *v;
    json_int_t u;
    int rc = -1;

    root = load_object(json, len, "STARTED", err, errlen);
    if (!root)
        return -1;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "run_id") != 0 && strcmp(key, "uid") != 0) {
            failf(err, errlen, "unknown key \"%.40s\"", key);
            goto out;
        }
    }
    v = json_object_get(root, "run_id");
    if (!v) {
        failf(err, errlen, "missing key \"run_id\"");
        goto out;
    }
    if (parse_run_id(v, run_id, err, errlen) < 0)
        goto out;
    v = json_object_get(root, "uid");
    if (!v) {
        failf(err, errlen, "missing key \"uid\"");
        goto out;
    }
    if (!json_is_integer(v) || (u = json_integer_value(v)) < 1 ||
        (unsigned long long)u > UID_MAX_VALID) {
        failf(err, errlen, "uid must be an integer in 1..%llu", UID_MAX_VALID);
        goto out;
    }
    *uid = (uid_t)u;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
