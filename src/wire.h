/* wire.h — the framed messages between an httpd worker and the launcher, and
 * then between that worker and the run's supervisor (same connection).
 *
 * Contract: a frame is an 8-byte header then its payload.
 *
 *     byte 0     'P' (0x50)  magic
 *     byte 1     1           protocol version
 *     byte 2     type        one of PYSB_FRAME_* below
 *     byte 3     0           reserved, must be 0
 *     bytes 4..7 length      payload bytes, unsigned 32-bit big-endian
 *
 * Every type has its own maximum payload length (table below). A receiver
 * rejects a bad magic, version or reserved byte, an unknown type or a length
 * over the type's maximum as a protocol error as soon as the offending
 * header byte has arrived — never after buffering the payload — and the
 * connection is then useless: errors are sticky, there is no resync.
 *
 *   worker → launcher/supervisor            max payload
 *     SPEC    = 1   JSON run spec (below)      192 KiB (args: 16 KiB, each
 *                   byte up to 6 escaped)
 *     CODE    = 2   program source bytes        16 MiB
 *     STDIN   = 3   stdin chunk, may repeat      1 MiB each
 *     START   = 4   empty: request complete      0
 *     ADMIT   = 5   JSON: asks for a run slot    1 KiB
 *     STATUS_GET = 6  empty: asks for a snapshot 0
 *     FILE    = 7   an input file: a 1-byte name   16 MiB
 *                   length, the name, the bytes; may repeat
 *   launcher/supervisor → worker
 *     BUSY    = 16  no slot: JSON {"retry_after":N,"reason":…} or empty
 *                                                1 KiB
 *     STARTED = 17  JSON {"run_id":"…","uid":N}  4 KiB
 *     STDOUT  = 18  output bytes                64 KiB each
 *     STDERR  = 19  output bytes                64 KiB each
 *     RESULT  = 20  the result object (payload.h), no stdout/stderr
 *                                               64 KiB
 *     ERROR   = 21  one line: why the request was refused   4 KiB
 *     QUEUED  = 22  JSON {"position":N,"queued":M}          256
 *     GO      = 23  empty: admitted, send the request       0
 *     TOO_MANY = 24 the client holds its share: JSON as BUSY 1 KiB
 *     STATUS  = 25  JSON snapshot (payload_status.h)      256 KiB
 *     OUTFILE = 26  a file the run left in out/: a 4-byte big-endian
 *                   length, that much JSON {"name","size","type",
 *                   "attachment"} or {"name","size","dropped"}, the
 *                   bytes; may repeat, before RESULT   16 MiB + 4 KiB
 *
 * A conversation: the worker sends ADMIT; the launcher answers BUSY or
 * TOO_MANY and closes, or QUEUED and keeps it waiting, or forks a
 * supervisor that says GO; the worker then sends SPEC, CODE,
 * (STDIN|FILE)*, START, and the supervisor STARTED, STDOUT/STDERR in
 * arrival order, RESULT (or ERROR), and closes. A worker of an older build
 * that starts with SPEC is served as before (BUSY, or a supervisor and
 * STARTED). STATUS_GET is answered with STATUS. That order is session.h's
 * (every half, checked); this file only frames.
 *
 * The payloads are payload.h's (SPEC, STARTED, RESULT, ADMIT, QUEUED,
 * BUSY/TOO_MANY) and payload_status.h's (STATUS).
 *
 * Senders use MSG_NOSIGNAL on sockets; on other fds the process must ignore
 * SIGPIPE. A send that fails half-way leaves the stream unusable: close it.
 * No Apache headers: shared by the module, the launcher and the tests. */
#ifndef PYSB_WIRE_H
#define PYSB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PYSB_WIRE_MAGIC       0x50
#define PYSB_WIRE_VERSION     1
#define PYSB_WIRE_HDR_LEN     8
#define PYSB_WIRE_MAX_PAYLOAD ((16u << 20) + 4096)  /* the largest of any type (OUTFILE) */
#define PYSB_WIRE_READ_CHUNK  (64u << 10)  /* one pysb_decoder_read */
#define PYSB_FRAME_TYPE_END   27           /* every type number is below */

enum pysb_frame_type {
    PYSB_FRAME_SPEC    = 1,
    PYSB_FRAME_CODE    = 2,
    PYSB_FRAME_STDIN   = 3,
    PYSB_FRAME_START   = 4,
    PYSB_FRAME_ADMIT   = 5,
    PYSB_FRAME_STATUS_GET = 6,
    PYSB_FRAME_FILE    = 7,
    PYSB_FRAME_BUSY    = 16,
    PYSB_FRAME_STARTED = 17,
    PYSB_FRAME_STDOUT  = 18,
    PYSB_FRAME_STDERR  = 19,
    PYSB_FRAME_RESULT  = 20,
    PYSB_FRAME_ERROR   = 21,
    PYSB_FRAME_QUEUED  = 22,
    PYSB_FRAME_GO      = 23,
    PYSB_FRAME_TOO_MANY = 24,
    PYSB_FRAME_STATUS  = 25,
    PYSB_FRAME_OUTFILE = 26,
};

/* "SPEC", "STDOUT", …; NULL for a type that is not in the protocol. */
const char *pysb_frame_type_name(int type);

/* 1 when type is one of PYSB_FRAME_*, else 0. */
int pysb_frame_type_known(int type);

/* The type's maximum payload length. Returns 0 for an unknown type, which
 * is also the true maximum of START, STATUS_GET and GO: tell them apart with
 * pysb_frame_type_known. */
size_t pysb_frame_max_len(int type);

/* Writes the 8 header bytes. No checks: pysb_wire_send does those. */
void pysb_wire_header(uint8_t hdr[PYSB_WIRE_HDR_LEN], int type, uint32_t len);

/* Reads a complete header. Returns 0 with *type and *len set, or -1 with a
 * one-line reason in err (may be NULL) when the header is not valid
 * (magic, version, reserved byte, unknown type, length over the type's
 * maximum). */
int pysb_wire_header_parse(const uint8_t hdr[PYSB_WIRE_HDR_LEN], int *type,
                           uint32_t *len, char *err, size_t errlen);

/* Sends one frame, header and payload, completely: loops over partial
 * writes and EINTR, and when the fd says EAGAIN polls it for POLLOUT.
 * timeout_ms bounds the whole frame (< 0: no bound). On a socket the bound
 * holds even when the fd is blocking (each send is MSG_DONTWAIT); on a pipe
 * it holds only when the fd is O_NONBLOCK. payload may be NULL when len is 0.
 * Returns 0, or -1 with errno:
 *   EINVAL     unknown type, or NULL payload with len > 0
 *   EMSGSIZE   len over the type's maximum (nothing written)
 *   EPIPE      the peer is gone (no SIGPIPE on sockets)
 *   ETIMEDOUT  timeout_ms elapsed (part of the frame may have been written)
 *   anything sendmsg/writev/poll report. */
int pysb_wire_send_timeout(int fd, int type, const void *payload, size_t len,
                           int timeout_ms);

/* pysb_wire_send_timeout without a bound. */
int pysb_wire_send(int fd, int type, const void *payload, size_t len);

/* A frame handed out by the decoder. payload points into the decoder and is
 * valid until the next call on that decoder; a NUL byte follows it (not
 * counted in len), so text payloads without inner NULs are C strings. */
typedef struct pysb_frame {
    int         type;
    uint32_t    len;
    const char *payload;    /* never NULL, "" for an empty frame */
} pysb_frame;

/* Incremental decoder: bytes in (feed or read), frames out (next).
 * Fields are private; declare it anywhere, pysb_decoder_init it, and
 * pysb_decoder_free it. Memory: the decoder holds the unconsumed bytes only.
 * Draining with next after each read keeps that below one frame of the
 * longest allowed type plus its header plus one PYSB_WIRE_READ_CHUNK; feed
 * refuses (ENOBUFS) to hold more than PYSB_WIRE_HDR_LEN +
 * PYSB_WIRE_MAX_PAYLOAD + PYSB_WIRE_READ_CHUNK undrained bytes. */
typedef struct pysb_decoder {
    char    *buf;           /* [start, end) unconsumed, cap allocated */
    size_t   start, end, cap;
    size_t   nul_at;        /* where the NUL after the last payload sits */
    char     nul_saved;     /* the byte it replaced */
    int      nul_set;
    int      failed;        /* sticky protocol error */
    uint32_t max[PYSB_FRAME_TYPE_END];  /* per-type maximum payload */
    char     error[128];
} pysb_decoder;

void pysb_decoder_init(pysb_decoder *d);
void pysb_decoder_free(pysb_decoder *d);   /* then init again to reuse */

/* Lowers the maximum payload this decoder accepts for one type, e.g. a
 * launcher's CODE cap at the configured code size, so an over-long frame is
 * refused from its header instead of being buffered. Never raises it.
 * Returns 0, or -1 with EINVAL for an unknown type. */
int pysb_decoder_set_max(pysb_decoder *d, int type, uint32_t max);

/* Copies n bytes in. Returns 0, or -1 with errno: ENOMEM; ENOBUFS when
 * too much is undrained (the decoder is unchanged, drain with next and
 * retry); EPROTO when the decoder is already in error; EINVAL for NULL
 * data with n > 0. Frames are checked by next, not here. */
int pysb_decoder_feed(pysb_decoder *d, const void *data, size_t n);

/* One read(2) of up to PYSB_WIRE_READ_CHUNK bytes from fd into the decoder
 * (retrying EINTR). Returns the count read, 0 at EOF, or -1 with errno
 * (EAGAIN on a non-blocking fd with nothing to read; EPROTO when in error;
 * ENOBUFS when undrained; ENOMEM; whatever read reports). */
ssize_t pysb_decoder_read(pysb_decoder *d, int fd);

/* Returns 1 with *out set when a whole frame is buffered, 0 when more
 * bytes are needed, -1 (errno EPROTO) on a protocol error — then and
 * forever after; pysb_decoder_error says why. */
int pysb_decoder_next(pysb_decoder *d, pysb_frame *out);

/* Why the decoder failed, e.g. "unknown frame type 9" or "frame type STDOUT
 * too long: 70000 > 65536"; "" when it has not. */
const char *pysb_decoder_error(const pysb_decoder *d);

/* Bytes received but not yet handed out as frames: 0 at EOF means the peer
 * stopped cleanly between frames. */
size_t pysb_decoder_pending(const pysb_decoder *d);

/* Blocking convenience: next, reading from fd (polling when it would
 * block) until a frame is ready. timeout_ms bounds the whole wait (< 0: no
 * bound). Returns 1 with *out set; 0 at EOF between frames; -1 with errno:
 * EPROTO (protocol error, see pysb_decoder_error), ECONNRESET (EOF inside a
 * frame), ETIMEDOUT, or what read/poll report. */
int pysb_wire_recv(int fd, pysb_decoder *d, pysb_frame *out, int timeout_ms);

/* A one-line reason into err (may be NULL): printf, then every byte that
 * is not printable ASCII becomes '?', so a reason that quotes peer bytes is
 * safe in logs and HTTP headers. Returns -1, for "return pysb_reason(…)". */
int pysb_reason(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
