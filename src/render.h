/* render.h — the response formats of a run (DESIGN §4): their names, MIME
 * types and Accept negotiation, one renderer per format writing through a
 * sink, refusals in each format, and safeexec's text report.
 *
 * Contract:
 *   text    the program's bytes as they come (stdout and stderr in arrival
 *           order), then a newline if the output did not end in one, then
 *           the report (pysb_format_report);
 *   json    nothing until the end, then one line: the result object with
 *           stdout and stderr (payload.h);
 *   ndjson  {"stream":"stdout"|"stderr","data":"…"} lines as output comes,
 *           then {"stream":"exit",…the result object without the output};
 *   sse     "event: stdout|stderr\ndata: <JSON string>\n\n" as output
 *           comes, then "event: exit\ndata: <result object>\n\n"; a
 *           request that has to wait for a run slot first gets
 *           "event: queued\ndata: {"position":N,"queued":M}\n\n" (its
 *           headers go out then: an EventSource sees no status code), and
 *           if the wait ends without a run, "event: busy\ndata:
 *           {"error":…,"status":503,"retry_after":S}\n\n" ends it.
 * text, json and ndjson send nothing while a request waits: their
 * headers go out when the run starts, and a refusal is a real 503/429.
 * A character cut between two chunks waits in the renderer for its end
 * (ndjson, sse); bytes that are not UTF-8 become U+FFFD, NUL \u0000. Every
 * JSON text is built with jansson. Renderers never flush: the sink's
 * owner decides when (the module flushes before it waits for more); a
 * renderer only hints, through flush, that a stream has opened and its
 * headers should go out. No Apache headers. */
#ifndef PYSB_RENDER_H
#define PYSB_RENDER_H

#include <stddef.h>
#include <stdio.h>

#include "result.h"
#include "scratch.h"

typedef enum pysb_format {
    PYSB_FMT_TEXT = 0,
    PYSB_FMT_JSON,
    PYSB_FMT_NDJSON,
    PYSB_FMT_SSE,
    PYSB_FMT_COUNT
} pysb_format;

const char *pysb_format_name(pysb_format f);     /* "ndjson" */
const char *pysb_format_mime(pysb_format f);     /* "application/x-ndjson" */

/* "json" (any case) → PYSB_FMT_JSON; -1 for a name that is not a format. */
int pysb_format_from_name(const char *s, size_t len);

/* The format an Accept header asks for: each served type gets the q of
 * the most specific range that names it (the type, or its major type's
 * wildcard, "application/" or "text/" and a star: json before ndjson, text
 * before sse), the highest q wins, on a tie the type named itself, then
 * the first listed; q=0 excludes; the wildcard of all types and types we
 * do not serve leave it to the caller: -1. */
int pysb_format_from_accept(const char *accept);

/* 1 for the formats whose response starts when the run starts (ndjson,
 * sse): their headers go out at once. */
int pysb_format_streams(pysb_format f);

/* Where a renderer writes. write returns 0, or -1 when the bytes cannot be
 * delivered (the client left): the renderer then stops writing. flush may
 * be NULL. */
typedef struct pysb_sink {
    int  (*write)(void *ctx, const char *p, size_t n);
    void (*flush)(void *ctx);
    void  *ctx;
} pysb_sink;

typedef struct pysb_render pysb_render;

/* A renderer of format f into sink (copied). NULL when out of memory. */
pysb_render *pysb_render_new(pysb_format f, const pysb_sink *sink);
void pysb_render_free(pysb_render *r);

/* The run started: streaming formats hint a flush (headers now). */
int pysb_render_open(pysb_render *r);

/* A chunk of the program's output, stream PYSB_STDOUT or PYSB_STDERR. */
int pysb_render_output(pysb_render *r, int stream, const char *p, size_t n);

/* Waiting for a slot, at position of queued: sse says so (and hints a
 * flush); 1 when it wrote something, 0 for the other formats. */
int pysb_render_queued(pysb_render *r, unsigned position, unsigned queued);

/* The wait ended without a run, after pysb_render_queued wrote: the sse
 * busy event. */
int pysb_render_busy(pysb_render *r, int status, const char *why, unsigned retry_after);

/* The end: held bytes, then the verdict in the format's words. */
int pysb_render_result(pysb_render *r, const pysb_result *res);

/* A file the run left in out/ (after its output, before the result):
 * json keeps it for the result's "files" array ({"name", "size", "type",
 * "attachment", "base64"}, or {"name", "size", "dropped"}); ndjson writes
 * {"stream":"file", …} and sse an event "file" with that object at once;
 * text lists "file: NAME (SIZE bytes, TYPE)" (or "dropped: why") before the
 * report. Names are made valid UTF-8 (U+FFFD), and printable in text. */
int pysb_render_file(pysb_render *r, const pysb_out_file *f);
/* Each returns 0, or -1 when the sink failed or memory ran out. */

/* A refusal (the run never happened) in format f: "pysandbox: WHY\n" as
 * text/plain for text, {"error":WHY,"status":N} and a newline as
 * application/json for the others. Returns a malloc'd body (*len without
 * the NUL), NULL when out of memory; *mime is its Content-Type. */
char *pysb_render_refusal(pysb_format f, int status, const char *why, size_t *len,
                          const char **mime);

/* The verdict as HTTP fields, for where the program's output cannot reach
 * (response headers, HTTP trailers): X-PySandbox-Status (the status name),
 * X-PySandbox-Exit-Code or X-PySandbox-Signal (whichever ended the
 * program; neither when it never ran), X-PySandbox-Wall-Time,
 * X-PySandbox-CPU-Time (seconds, as the report prints them) and
 * X-PySandbox-Memory-KB. Values are plain ASCII tokens. Returns how many
 * of out are filled. PYSB_VERDICT_FIELD_NAMES lists every name, for a
 * Trailer header. */
#define PYSB_VERDICT_FIELDS 5
#define PYSB_VERDICT_FIELD_NAMES                                                    \
    "X-PySandbox-Status, X-PySandbox-Exit-Code, X-PySandbox-Signal, "                \
    "X-PySandbox-Wall-Time, X-PySandbox-CPU-Time, X-PySandbox-Memory-KB"
typedef struct pysb_verdict_field {
    const char *name;
    char        value[32];
} pysb_verdict_field;
int pysb_render_verdict_fields(const pysb_result *r, pysb_verdict_field out[PYSB_VERDICT_FIELDS]);

/* The text report: the message line then elapsed/memory/cpu lines (and
 * for an internal error with a reason, an "error: …" line), into buf
 * (NUL-terminated; returns what snprintf does; 768 bytes always hold it)
 * or out. */
int pysb_format_report(const pysb_result *r, char *buf, size_t len);
void pysb_render_report(const pysb_result *r, FILE *out);

#endif
