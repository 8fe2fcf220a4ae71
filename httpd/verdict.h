/* verdict.h — a run's verdict where the program cannot write it: HTTP
 * trailers, and response headers when the run ended before any of the
 * response went out (DESIGN §4; issue 8 point 5).
 *
 * Contract: a program can print anything, a whole fake text report
 * included, but not the response's header fields: those come from the
 * supervisor's RESULT alone. pysb_verdict_open, when a run starts (before
 * the response's headers), inserts a filter that announces the fields in
 * a Trailer header when the headers go out, if the response will carry
 * trailers, and, on an HTTP/1.1 connection, one that writes
 * r->trailers_out into the last chunk of a chunked response (httpd 2.4's
 * chunk filter writes no trailers; mod_http2 sends r->trailers_out as
 * HTTP/2 trailers itself). pysb_verdict_set, at the end, puts the verdict
 * fields (src/render: X-PySandbox-Status, -Exit-Code or -Signal,
 * -Wall-Time, -CPU-Time, -Memory-KB) into r->trailers_out and, when no
 * byte of the response has gone out yet, into its headers too. Trailers,
 * and the Trailer header, are on exactly the responses streamed without a
 * Content-Length, chunked over HTTP/1.1 or over HTTP/2; one written whole
 * before its headers went out (json, a quick run) has a Content-Length
 * and the verdict in its headers alone, and an HTTP/1.0 one (or one on a
 * connection httpd will close unchunked) has none. */
#ifndef PYSB_HTTPD_VERDICT_H
#define PYSB_HTTPD_VERDICT_H

#include "httpd.h"

#include "src/result.h"

void pysb_verdict_open(request_rec *r);
void pysb_verdict_set(request_rec *r, const pysb_result *res);

/* The HTTP/1.1 trailer filter, registered once (register_hooks). */
void pysb_verdict_register(void);

#endif
