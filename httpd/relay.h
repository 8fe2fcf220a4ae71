/* relay.h — a checked request to the launcher, and the run back to the
 * client (DESIGN §2, §4).
 *
 * Contract: connects to the launcher's socket (retrying for a moment: it
 * may be restarting), sends the run (src/session), and relays what comes
 * back through the format's renderer (src/render) into httpd's output
 * filters, polling the supervisor's socket, the client and this child's
 * stop pipe together. The client is watched by connection kind: on
 * HTTP/1.x its socket (a hang-up, or input that ends when read through the
 * connection's filters: EOF, a TLS close_notify; bytes of a next request
 * are left for it and do not blind the watch), on an HTTP/2 stream the
 * stream's abort flag (a reset, or the connection's end). A client that
 * leaves, or an immediate stop of httpd, closes the connection to the
 * supervisor, which kills the run at once. A run whose end cannot be learnt (the supervisor vanished
 * mid-run, no result in time, a protocol error) ends as internal_error in
 * the format at hand. Refusals (no launcher, all slots busy, the launcher
 * said no, the supervisor gone before the run started) are recorded with
 * pysb_fail/pysb_unavailable for the handler to write. */
#ifndef PYSB_HTTPD_RELAY_H
#define PYSB_HTTPD_RELAY_H

#include "httpd/request.h"
#include "src/membuf.h"
#include "src/result.h"

/* OK once the run's response is written (or the client left), else a
 * refusal's status. */
int pysb_relay_run(pysb_req *x);

/* A run whose output and verdict are the caller's to answer with (the
 * Jobe API), not streamed to the client: the same conversation, the same
 * watch of the client, no response written. */
typedef struct pysb_collected {
    pysb_membuf out, err;       /* stdout and stderr as relayed, within
                                   the run's output cap */
    pysb_result res;            /* the verdict; internal_error when the
                                   run's end could not be learnt or the
                                   client left */
    /* The caller's, kept: when set, called once a run slot is held and
     * before the run is sent, to fill in x->run's code (what only a run
     * that goes ahead needs in memory, e.g. a Jobe run's files); OK, or a
     * refusal recorded with pysb_fail (the slot is then given back). */
    int  (*on_slot)(pysb_req *x, void *ctx);
    void  *on_slot_ctx;
} pysb_collected;

/* OK once c->res is set (c's buffers live until the request's end), else a
 * refusal's status (recorded with pysb_fail/pysb_unavailable, as for
 * pysb_relay_run: 503 when no run slot or no launcher, 500; or what
 * on_slot refused with). */
int pysb_relay_collect(pysb_req *x, pysb_collected *c);

#endif
