/* session.h — the conversation between an httpd worker and the launcher,
 * then the supervisor of its run, every half, over one connected stream
 * socket (wire.h frames it, payload.h gives the frames their content).
 *
 * Contract, in order:
 *
 *   worker                         launcher / supervisor
 *   ADMIT                      →                               (admission)
 *                              ←   BUSY or TOO_MANY, then close (refused:
 *                                  503 / 429, with a Retry-After)
 *                              ←   QUEUED                      (waiting)
 *                              ←   GO                          (forked)
 *   SPEC, CODE, (STDIN|FILE)*, START →                         (the request)
 *                              ←   STARTED, or ERROR and close
 *                              ←   STDOUT/STDERR*, as the program writes
 *                              ←   OUTFILE*, the files it left in out/
 *                              ←   RESULT (or ERROR), then close
 *
 * The launcher reads ADMIT without ever blocking and keeps a waiting
 * worker's connection in its queue; only after GO does the worker send
 * the request, so a large body never sits in a queued socket. A worker of
 * an older build that starts with SPEC gets BUSY, or STARTED from a
 * supervisor at once (no queue). A status page sends STATUS_GET and gets
 * STATUS. A worker that closes its end at any point leaves the queue, or
 * has its run killed (the supervisor watches the socket). Each half checks
 * the other's order: a frame out of place is a protocol error, never
 * guessed at. The supervisor half takes the run itself as a function, so
 * the conversation can be tested over a socketpair without root, a
 * launcher or httpd. No Apache headers. */
#ifndef PYSB_SESSION_H
#define PYSB_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "payload.h"
#include "result.h"
#include "supervise.h"
#include "wire.h"

/* Milliseconds a supervisor waits for a complete request. */
#define PYSB_REQUEST_TIMEOUT_MS 30000

/* What a worker asks for. On the supervisor's side, after
 * pysb_session_receive, code and stdin_data are malloc'd and
 * pysb_session_request_free releases them with the spec. */
typedef struct pysb_session_request {
    pysb_wire_spec spec;
    const char    *code;
    size_t         code_len;
    const char    *stdin_data;   /* may be NULL when stdin_len is 0 */
    size_t         stdin_len;
    pysb_in_file  *files;        /* input files (names checked), n_files */
    size_t         n_files;
} pysb_session_request;

/* Input files a request may carry, whatever a Location allows. */
#define PYSB_SESSION_FILES_MAX 64

/* ---- the worker's half ---- */

/* What pysb_session_connect returns besides a descriptor. */
#define PYSB_CONNECT_UNREACHABLE (-1) /* errno: connect's last answer */
#define PYSB_CONNECT_NO_SOCKET   (-2) /* errno: socket(2)'s */
#define PYSB_CONNECT_GAVE_UP     (-3) /* pause said to stop */

/* A connected, non-blocking, close-on-exec stream socket to the launcher
 * at path. A socket that is missing, refusing or whose backlog is full
 * (ENOENT, ECONNREFUSED, EAGAIN: a launcher restarting, whose successor
 * listens some hundreds of ms later) is tried again every 50 ms until
 * budget_ms have passed; between tries pause(ctx, ms) waits (NULL: a
 * sleep) and returns nonzero to stop trying. Non-blocking: a full backlog
 * answers at once instead of holding the caller. */
int pysb_session_connect(const char *path, int budget_ms, int (*pause)(void *ctx, int ms),
                         void *ctx);

/* Sends SPEC, CODE, STDIN (in frames of the largest allowed size), one
 * FILE per input file and START, each frame within timeout_ms. Returns 0, or -1 with errno:
 * EINVAL/EMSGSIZE when the spec cannot be encoded (err says why), EPIPE or
 * ECONNRESET when the peer closed (it may have said BUSY first: read on),
 * ETIMEDOUT, or what the socket said. */
int pysb_session_send(int fd, const pysb_session_request *req, int timeout_ms,
                      char *err, size_t errlen);

typedef enum pysb_event_type {
    PYSB_EV_BUSY = 1,       /* no slot: reason, retry_after; the launcher closes */
    PYSB_EV_ERROR,          /* the request was refused: text says why */
    PYSB_EV_STARTED,        /* the run is starting: run_id, uid */
    PYSB_EV_OUTPUT,         /* stream, data/len */
    PYSB_EV_RESULT,         /* result: the run is over */
    PYSB_EV_QUEUED,         /* waiting for a slot: position of queued */
    PYSB_EV_GO,             /* admitted: send the request (pysb_session_send) */
    PYSB_EV_TOO_MANY,       /* the client holds its share: retry_after; closes */
    PYSB_EV_FILE,           /* file: one the run left in out/ */
} pysb_event_type;

typedef struct pysb_event {
    pysb_event_type type;
    int             stream;     /* OUTPUT: PYSB_STDOUT or PYSB_STDERR */
    const char     *data;       /* OUTPUT bytes, ERROR text (NUL-ended);
                                   valid until the next call */
    size_t          len;
    char            run_id[PYSB_WIRE_RUN_ID_MAX + 1];   /* STARTED */
    uid_t           uid;                                /* STARTED */
    pysb_result     result;                             /* RESULT */
    unsigned        position, queued;                   /* QUEUED */
    pysb_refuse_reason reason;                          /* BUSY, TOO_MANY */
    unsigned        retry_after;                        /* BUSY, TOO_MANY: s */
    pysb_out_file   file;       /* FILE: strings in the buffers below, data
                                   in the frame; valid until the next call */
    char            file_name[800], file_mime[64], file_dropped[160];
} pysb_event;

/* The worker's reading state. Fields are private. */
typedef struct pysb_session {
    pysb_decoder d;
    int          fd;
    int          admitting;     /* ADMIT sent, no GO yet */
    int          admitted;      /* GO came */
    int          started, ended;
    char         error[192];
} pysb_session;

void pysb_session_init(pysb_session *s, int fd);
void pysb_session_free(pysb_session *s);

/* Sends ADMIT within timeout_ms: the session then expects QUEUED, GO,
 * BUSY, TOO_MANY or ERROR. Returns 0, or -1 with errno (EINVAL with a
 * reason in err for an admit out of range; what the socket said). */
int pysb_session_admit(pysb_session *s, const pysb_admit *a, int timeout_ms, char *err,
                       size_t errlen);

/* One read of what the socket has. Returns the count, 0 at EOF, or -1
 * with errno (EAGAIN on a non-blocking socket with nothing to read). */
ssize_t pysb_session_read(pysb_session *s);

/* The next event out of what was read: 1 with *ev set, 0 when more bytes
 * are needed, -1 on a protocol error (a bad frame, a frame out of order, a
 * RESULT that does not parse) — then for good; pysb_session_error says why. */
int pysb_session_next(pysb_session *s, pysb_event *ev);
const char *pysb_session_error(const pysb_session *s);

/* 1 once STARTED has come: the run exists. */
int pysb_session_started(const pysb_session *s);

/* 1 once GO has come: the request may be sent. */
int pysb_session_admitted(const pysb_session *s);

/* ---- the status page's half ---- */

/* STATUS_GET, then the STATUS payload within timeout_ms (the socket may be
 * non-blocking): 0 with *json malloc'd and NUL-terminated (caller frees),
 * or -1 with a one-line reason in err. */
int pysb_session_status(int fd, int timeout_ms, char **json, size_t *len, char *err,
                        size_t errlen);

/* ---- the launcher's half: admission, without ever blocking ---- */

typedef enum pysb_hello {
    PYSB_HELLO_ADMIT = 1,   /* *a filled */
    PYSB_HELLO_STATUS,      /* answer with pysb_session_status_reply */
    PYSB_HELLO_SPEC,        /* a worker of an older build: serve it at once,
                               with the decoder that holds its SPEC */
} pysb_hello;

/* What a connection's first frame asks, or -1 with a one-line reason (a
 * frame out of place, an ADMIT that does not parse). */
int pysb_session_hello(const pysb_frame *f, pysb_admit *a, char *err, size_t errlen);

/* The launcher's answers. Each is one small frame sent without waiting
 * (the socket has held nothing else of ours, so it fits); -1 with errno
 * when the worker is gone or stalled: drop it. refuse sends TOO_MANY for
 * PYSB_REFUSE_CLIENT, BUSY otherwise. status_reply sends up to the STATUS
 * maximum, making room in the socket's buffer first. */
int pysb_session_queued(int fd, unsigned position, unsigned queued);
int pysb_session_refuse(int fd, pysb_refuse_reason reason, unsigned retry_after);
int pysb_session_status_reply(int fd, const char *json, size_t len);

/* ---- the supervisor's half ---- */

typedef struct pysb_session_bounds {
    uint32_t max_code;          /* bytes of a CODE frame accepted */
    uint64_t max_stdin;         /* bytes of all STDIN frames together */
    int      timeout_ms;        /* for the whole request */
} pysb_session_bounds;

/* Reads SPEC, CODE, (STDIN|FILE)*, START within the bounds: at most
 * PYSB_SESSION_FILES_MAX files, named by pysb_file_name_check's rules, no
 * name twice, their bytes together within the spec's scratch size. Returns 1 with *req
 * set (release it with pysb_session_request_free), 0 when the worker left
 * before START (nobody to answer), or -1 with a one-line reason in err to
 * send back as ERROR. */
int pysb_session_receive(int fd, const pysb_session_bounds *b,
                         pysb_session_request *req, char *err, size_t errlen);
void pysb_session_request_free(pysb_session_request *req);

/* A pysb_file_fn for the run's spec (file_out), with the output
 * context the run function was given: one OUTFILE frame. */
int pysb_session_relay_file(void *out_ctx, const pysb_out_file *f);

/* The run between STARTED and RESULT: its output goes to out(out_ctx, …),
 * its end into *r. Returns what pysb_run returns. */
typedef int (*pysb_session_run_fn)(void *ctx, const pysb_session_request *req,
                                   pysb_output_fn out, void *out_ctx, pysb_result *r);

/* What became of one served conversation, for the caller's log. */
typedef struct pysb_session_outcome {
    int         refused;        /* ERROR was sent: why says why */
    char        why[256];
    int         ran;            /* the run function was called: result */
    int         worker_gone;    /* the worker left while the run went on */
    pysb_result result;
} pysb_session_outcome;

/* The whole supervisor half on fd: receive, STARTED (with uid), run,
 * RESULT. Returns the exit status for a supervisor process: 0 when the
 * conversation ended as it should (a worker that left is not a failure),
 * 1 when it could not. */
int pysb_session_serve(int fd, uid_t uid, const pysb_session_bounds *b,
                       pysb_session_run_fn run, void *ctx, pysb_session_outcome *out);

/* How a served conversation began, in the launcher. */
typedef struct pysb_session_start {
    int               go;       /* the worker sent ADMIT and waits for GO */
    pysb_decoder     *pending;  /* NULL, or the launcher's decoder, holding
                                   the start of the request: taken over */
    const pysb_frame *first;    /* NULL, or the request's first frame,
                                   already handed out by pending (SPEC) */
} pysb_session_start;

/* The same, after an admission (st may be NULL: as pysb_session_serve). */
int pysb_session_serve_from(int fd, const pysb_session_start *st, uid_t uid,
                            const pysb_session_bounds *b, pysb_session_run_fn run, void *ctx,
                            pysb_session_outcome *out);

#endif
