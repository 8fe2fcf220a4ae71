/* session.h — the conversation between an httpd worker and the supervisor
 * of its run, both halves, over one connected stream socket (wire.h frames
 * it, payload.h gives the frames their content).
 *
 * Contract, in order:
 *
 *   worker                         launcher / supervisor
 *   SPEC, CODE, STDIN*, START  →
 *                              ←   BUSY or ERROR, then close   (refused)
 *                              ←   STARTED                     (forked)
 *                              ←   STDOUT/STDERR*, as the program writes
 *                              ←   RESULT (or ERROR), then close
 *
 * A worker that closes its end at any point has its run killed (the
 * supervisor watches the socket). Each half checks the other's order: a
 * frame out of place is a protocol error, never guessed at. The supervisor
 * half takes the run itself as a function, so the conversation can be
 * tested over a socketpair without root, a launcher or httpd. No Apache
 * headers. */
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
} pysb_session_request;

/* ---- the worker's half ---- */

/* Sends SPEC, CODE, STDIN (in frames of the largest allowed size) and
 * START, each frame within timeout_ms. Returns 0, or -1 with errno:
 * EINVAL/EMSGSIZE when the spec cannot be encoded (err says why), EPIPE or
 * ECONNRESET when the peer closed (it may have said BUSY first: read on),
 * ETIMEDOUT, or what the socket said. */
int pysb_session_send(int fd, const pysb_session_request *req, int timeout_ms,
                      char *err, size_t errlen);

typedef enum pysb_event_type {
    PYSB_EV_BUSY = 1,       /* all run slots taken; the launcher closes */
    PYSB_EV_ERROR,          /* the request was refused: text says why */
    PYSB_EV_STARTED,        /* the run is starting: run_id, uid */
    PYSB_EV_OUTPUT,         /* stream, data/len */
    PYSB_EV_RESULT,         /* result: the run is over */
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
} pysb_event;

/* The worker's reading state. Fields are private. */
typedef struct pysb_session {
    pysb_decoder d;
    int          fd;
    int          started, ended;
    char         error[192];
} pysb_session;

void pysb_session_init(pysb_session *s, int fd);
void pysb_session_free(pysb_session *s);

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

/* ---- the supervisor's half ---- */

typedef struct pysb_session_bounds {
    uint32_t max_code;          /* bytes of a CODE frame accepted */
    uint64_t max_stdin;         /* bytes of all STDIN frames together */
    int      timeout_ms;        /* for the whole request */
} pysb_session_bounds;

/* Reads SPEC, CODE, STDIN*, START within the bounds. Returns 1 with *req
 * set (release it with pysb_session_request_free), 0 when the worker left
 * before START (nobody to answer), or -1 with a one-line reason in err to
 * send back as ERROR. */
int pysb_session_receive(int fd, const pysb_session_bounds *b,
                         pysb_session_request *req, char *err, size_t errlen);
void pysb_session_request_free(pysb_session_request *req);

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

#endif
