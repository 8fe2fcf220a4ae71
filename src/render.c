/* render.c — the four response formats, through a sink.
 *
 * Contract: see render.h. A renderer keeps what its format needs between
 * calls: json the whole output of each stream (capped upstream by the
 * run's output limit) as it came, in a membuf (its pages go back to the
 * kernel after), ndjson/sse up to three bytes per stream of a character
 * still to be completed, text whether the output ended in a newline.
 *
 * json writes its object in pieces: the result object dumped with empty
 * strings for stdout and stderr, split at them, and each stream's string
 * between, made JSON_SLICE bytes of output at a time (U+FFFD-cleaned,
 * escaped by jansson as a string of its own, a character cut at a slice's
 * end carried to the next). The bytes are those of the whole object dumped
 * at once, and a run's output costs the worker its raw size once plus a
 * few slices, not the escaped string's (up to 6x) several times over. */
#include "render.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "membuf.h"
#include "payload.h"
#include "utf8.h"

/* ---- formats ------------------------------------------------------------ */

static const struct {
    const char *name, *mime;
} formats[PYSB_FMT_COUNT] = {
    [PYSB_FMT_TEXT]   = { "text",   "text/plain; charset=utf-8" },
    [PYSB_FMT_JSON]   = { "json",   "application/json" },
    [PYSB_FMT_NDJSON] = { "ndjson", "application/x-ndjson" },
    [PYSB_FMT_SSE]    = { "sse",    "text/event-stream" },
};

const char *pysb_format_name(pysb_format f)
{
    return f >= 0 && f < PYSB_FMT_COUNT ? formats[f].name : "text";
}

const char *pysb_format_mime(pysb_format f)
{
    return f >= 0 && f < PYSB_FMT_COUNT ? formats[f].mime : formats[0].mime;
}

int pysb_format_from_name(const char *s, size_t len)
{
    for (int f = 0; f < PYSB_FMT_COUNT; f++)
        if (strlen(formats[f].name) == len && !strncasecmp(s, formats[f].name, len))
            return f;
    return -1;
}

int pysb_format_streams(pysb_format f)
{
    return f == PYSB_FMT_NDJSON || f == PYSB_FMT_SSE;
}

int pysb_format_from_accept(const char *accept)
{
    /* In the order a wildcard of their major type prefers them: a whole
     * answer before a stream. */
    static const struct { const char *type; pysb_format fmt; } known[] = {
        { "application/json", PYSB_FMT_JSON }, { "text/plain", PYSB_FMT_TEXT },
        { "application/x-ndjson", PYSB_FMT_NDJSON }, { "text/event-stream", PYSB_FMT_SSE },
    };
    enum { N = sizeof known / sizeof *known };
    /* Per format, as RFC 9110 12.5.1 has it: the q of the most specific
     * range that matches it (2 the type itself, 1 its major type's
     * wildcard; the wildcard of all types matches all alike, so it leaves
     * the choice to the caller), and that range's place in the header for
     * a tie. */
    int spec[N], pos[N];
    double qs[N];
    for (int k = 0; k < N; k++) {
        spec[k] = -1;
        pos[k] = 0;
        qs[k] = 0.0;
    }
    int item_no = 0;
    for (const char *item = accept; item && *item; item_no++) {
        size_t len = strcspn(item, ",");
        const char *semi = memchr(item, ';', len);
        size_t tlen = semi ? (size_t)(semi - item) : len;
        double q = 1.0;
        char type[64], params[64];
        size_t n = 0;
        /* The type with every blank dropped, as apr_collapse_spaces did. */
        for (size_t i = 0; i < tlen && n + 1 < sizeof type; i++)
            if (item[i] != ' ' && item[i] != '\t')
                type[n++] = item[i];
        type[n] = '\0';
        if (semi) {
            size_t plen = len - tlen;
            if (plen >= sizeof params)
                plen = sizeof params - 1;
            memcpy(params, semi, plen);
            params[plen] = '\0';
            const char *qp = strstr(params, "q=");
            if (qp)
                q = strtod(qp + 2, NULL);
        }
        const char *slash = strchr(type, '/');
        int major_wild = slash && slash != type && !strcmp(slash, "/*");
        for (int k = 0; k < N; k++) {
            int sp = !strcasecmp(type, known[k].type) ? 2
                     : major_wild && !strncasecmp(type, known[k].type, (size_t)(slash - type) + 1)
                         ? 1 : -1;
            if (sp > spec[k]) {
                spec[k] = sp;
                qs[k] = q;
                pos[k] = item_no;
            }
        }
        item += len + (item[len] == ',');
    }
    int best = -1;
    for (int k = 0; k < N; k++) {
        if (spec[k] < 1 || qs[k] <= 0.0)
            continue;
        if (best < 0 || qs[k] > qs[best] ||
            (qs[k] == qs[best] && (spec[k] > spec[best] ||
                                   (spec[k] == spec[best] && pos[k] < pos[best]))))
            best = k;
    }
    return best < 0 ? -1 : (int)known[best].fmt;
}

/* ---- the renderers ------------------------------------------------------ */

struct pysb_render {
    pysb_format format;
    pysb_sink   sink;
    int         failed;          /* the sink failed: write nothing more */
    int         any_output;      /* text */
    int         last_nl;         /* text: the output ended in a newline */
    char        carry[2][4];     /* ndjson/sse: a character's first bytes */
    size_t      carry_len[2];
    pysb_membuf out[2];          /* json: all output per stream */
    json_t     *files;           /* json: the files' objects; text: NULL */
    char       *text_files;      /* text: their lines */
    size_t      text_files_len;
};

/* json: the raw bytes of output escaped at a time (at most 6x that once
 * escaped, 3x once cleaned). */
#define JSON_SLICE 16384

pysb_render *pysb_render_new(pysb_format f, const pysb_sink *sink)
{
    pysb_render *r = calloc(1, sizeof *r);
    if (r) {
        r->format = f;
        r->sink = *sink;
    }
    return r;
}

void pysb_render_free(pysb_render *r)
{
    if (!r)
        return;
    pysb_membuf_free(&r->out[0]);
    pysb_membuf_free(&r->out[1]);
    json_decref(r->files);
    free(r->text_files);
    free(r);
}

static int put(pysb_render *r, const char *p, size_t n)
{
    if (r->failed)
        return -1;
    if (n > 0 && r->sink.write(r->sink.ctx, p, n) < 0)
        r->failed = 1;
    return r->failed ? -1 : 0;
}

/* A JSON value and the text around it, in one write (one event is one
 * write: a client never sees half of it for long). Takes v. */
static int put_json(pysb_render *r, const char *before, json_t *v, size_t flags,
                    const char *after)
{
    char *j = v ? json_dumps(v, flags) : NULL;
    json_decref(v);
    if (!j)
        return -1;
    size_t nb = strlen(before), nj = strlen(j), na = strlen(after);
    char *line = malloc(nb + nj + na);
    if (!line) {
        free(j);
        return -1;
    }
    memcpy(line, before, nb);
    memcpy(line + nb, j, nj);
    memcpy(line + nb + nj, after, na);
    free(j);
    int rc = put(r, line, nb + nj + na);
    free(line);
    return rc;
}

int pysb_render_open(pysb_render *r)
{
    if (pysb_format_streams(r->format) && r->sink.flush && !r->failed)
        r->sink.flush(r->sink.ctx);
    return r->failed ? -1 : 0;
}

static int keep(pysb_render *r, int stream, const char *p, size_t n)
{
    return pysb_membuf_append(&r->out[stream], p, n);
}

/* The inside of the JSON string of buf (no quotes), written slice by
 * slice: as jansson escapes the whole string, in bounded memory. */
static int put_json_chars(pysb_render *r, const char *buf, size_t len)
{
    for (size_t pos = 0; pos < len;) {
        size_t n = len - pos;
        if (n > JSON_SLICE) {
            n = JSON_SLICE;
            /* a character cut here is cleaned with its end, next time */
            n -= pysb_utf8_incomplete_tail(buf + pos, n);
        }
        size_t clean_len = n;
        char *clean = NULL;
        if (!pysb_utf8_valid(buf + pos, n) &&
            !(clean = pysb_utf8_sanitize(buf + pos, n, &clean_len)))
            return -1;
        json_t *s = json_stringn(clean ? clean : buf + pos, clean_len);
        free(clean);
        char *j = s ? json_dumps(s, PYSB_RESULT_DUMP_FLAGS | JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        if (!j)
            return -1;
        int rc = put(r, j + 1, strlen(j) - 2);   /* without its quotes */
        free(j);
        if (rc < 0)
            return -1;
        pos += n;
    }
    return 0;
}

/* The json format's line: the object of res with the output of both
 * streams, written in pieces. */
static int put_json_result(pysb_render *r, const pysb_result *res)
{
    json_t *o = json_object();
    if (o && pysb_result_fields(o, res, "", 0, "", 0) < 0) {
        json_decref(o);
        o = NULL;
    }
    if (o && r->files && json_object_set(o, "files", r->files) < 0) {
        json_decref(o);
        o = NULL;
    }
    char *j = o ? json_dumps(o, PYSB_RESULT_DUMP_FLAGS) : NULL;
    json_decref(o);
    if (!j)
        return -1;
    /* A string's quotes inside another string are escaped, so the keys
     * are found as they are: "stdout":"" then "stderr":"" (payload.h's
     * order). Each is written up to its value's opening quote. */
    static const char *const key[2] = { "\"stdout\":\"", "\"stderr\":\"" };
    const char *at = j;
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) {
        const char *k = strstr(at, key[s]);
        if (!k || k[strlen(key[s])] != '"') {
            rc = -1;
            break;
        }
        const char *value = k + strlen(key[s]);
        if (put(r, at, (size_t)(value - at)) < 0 ||
            put_json_chars(r, pysb_membuf_data(&r->out[s]), r->out[s].len) < 0)
            rc = -1;
        at = value;                 /* the closing quote, and on */
    }
    if (rc == 0 && (put(r, at, strlen(at)) < 0 || put(r, "\n", 1) < 0))
        rc = -1;
    free(j);
    return rc;
}

/* One ndjson/sse output event of carry + p, all of it when final, else up
 * to the last complete character. */
static int event(pysb_render *r, int stream, const char *p, size_t n, int final)
{
    size_t total = r->carry_len[stream] + n;
    char *all = malloc(total + 1);
    if (!all)
        return -1;
    memcpy(all, r->carry[stream], r->carry_len[stream]);
    memcpy(all + r->carry_len[stream], p, n);
    size_t out = final ? total : total - pysb_utf8_incomplete_tail(all, total);
    r->carry_len[stream] = total - out;
    memcpy(r->carry[stream], all + out, total - out);
    int rc = 0;
    if (out > 0) {
        size_t clean_len;
        char *clean = pysb_utf8_sanitize(all, out, &clean_len);
        json_t *s = clean ? json_stringn(clean, clean_len) : NULL;
        free(clean);
        const char *name = stream == PYSB_STDOUT ? "stdout" : "stderr";
        if (r->format == PYSB_FMT_NDJSON) {
            json_t *o = s ? json_pack("{s:s, s:o}", "stream", name, "data", s) : NULL;
            rc = put_json(r, "", o, JSON_COMPACT | JSON_PRESERVE_ORDER, "\n");
        } else {
            char before[32];
            snprintf(before, sizeof before, "event: %s\ndata: ", name);
            rc = put_json(r, before, s, JSON_ENCODE_ANY | JSON_COMPACT, "\n\n");
        }
    }
    free(all);
    return rc;
}

int pysb_render_output(pysb_render *r, int stream, const char *p, size_t n)
{
    if (n == 0)
        return r->failed ? -1 : 0;
    switch (r->format) {
    case PYSB_FMT_TEXT:
        r->any_output = 1;
        r->last_nl = p[n - 1] == '\n';
        return put(r, p, n);
    case PYSB_FMT_JSON:
        return keep(r, stream, p, n);
    default:
        return event(r, stream, p, n, 0);
    }
}

int pysb_render_queued(pysb_render *r, unsigned position, unsigned queued)
{
    if (r->format != PYSB_FMT_SSE)
        return 0;
    json_t *o = json_pack("{s:I, s:I}", "position", (json_int_t)position, "queued",
                          (json_int_t)queued);
    if (put_json(r, "event: queued\ndata: ", o, JSON_COMPACT | JSON_PRESERVE_ORDER, "\n\n") < 0)
        return -1;
    pysb_render_open(r);
    return 1;
}

int pysb_render_busy(pysb_render *r, int status, const char *why, unsigned retry_after)
{
    json_t *o = json_pack("{s:s, s:i, s:I}", "error", why, "status", status, "retry_after",
                          (json_int_t)retry_after);
    return put_json(r, "event: busy\ndata: ", o, JSON_COMPACT | JSON_PRESERVE_ORDER, "\n\n");
}

static char *base64(const char *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)p[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)p[i + 2];
        *o++ = a[v >> 18];
        *o++ = a[(v >> 12) & 63];
        *o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? a[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* The file as a JSON object; with stream set, {"stream":"file", …}. */
static json_t *file_json(const pysb_out_file *f, int stream)
{
    size_t nl;
    char *name = pysb_utf8_sanitize(f->name, strlen(f->name), &nl);
    json_t *o = json_object();
    int bad = !name || !o;
    if (!bad && stream)
        bad |= json_object_set_new(o, "stream", json_string("file"));
    if (!bad)
        bad |= json_object_set_new(o, "name", json_stringn(name, nl)) |
               json_object_set_new(o, "size", json_integer((json_int_t)f->size));
    free(name);
    if (!bad && f->data) {
        char *b = base64(f->data, (size_t)f->size);
        bad |= !b || json_object_set_new(o, "type", json_string(f->mime)) |
                   json_object_set_new(o, "attachment", json_boolean(f->attachment)) |
                   json_object_set_new(o, "base64", json_string(b));
        free(b);
    } else if (!bad) {
        bad |= json_object_set_new(o, "dropped", json_string(f->dropped ? f->dropped : ""));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* text: one line per file, names with control characters (C0, DEL, C1)
 * as '?'. */
static int text_file(pysb_render *r, const pysb_out_file *f)
{
    size_t nl;
    char *name = pysb_utf8_sanitize(f->name, strlen(f->name), &nl);
    if (!name)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < nl;) {
        size_t k = pysb_utf8_control_at(name, nl, i);
        name[j++] = k ? '?' : name[i];
        i += k ? k : 1;
    }
    name[j] = '\0';
    char line[1024];
    int n = f->data ? snprintf(line, sizeof line, "file: %s (%llu bytes, %s)\n", name,
                               (unsigned long long)f->size, f->mime)
                    : snprintf(line, sizeof line, "file: %s (%llu bytes) dropped: %s\n", name,
                               (unsigned long long)f->size, f->dropped ? f->dropped : "");
    free(name);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    char *nb = realloc(r->text_files, r->text_files_len + len + 1);
    if (!nb)
        return -1;
    memcpy(nb + r->text_files_len, line, len);
    r->text_files = nb;
    r->text_files_len += len;
    return 0;
}

int pysb_render_file(pysb_render *r, const pysb_out_file *f)
{
    json_t *o;
    switch (r->format) {
    case PYSB_FMT_TEXT:
        return text_file(r, f);
    case PYSB_FMT_JSON:
        if (!r->files && !(r->files = json_array()))
            return -1;
        return (o = file_json(f, 0)) && json_array_append_new(r->files, o) == 0 ? 0 : -1;
    case PYSB_FMT_NDJSON:
        for (int s = 0; s < 2; s++)
            if (event(r, s, "", 0, 1) < 0)
                return -1;
        return put_json(r, "", file_json(f, 1), JSON_COMPACT | JSON_PRESERVE_ORDER, "\n");
    default:
        for (int s = 0; s < 2; s++)
            if (event(r, s, "", 0, 1) < 0)
                return -1;
        return put_json(r, "event: file\ndata: ", file_json(f, 0),
                        JSON_COMPACT | JSON_PRESERVE_ORDER, "\n\n");
    }
}

int pysb_render_result(pysb_render *r, const pysb_result *res)
{
    char report[768];
    json_t *o;

    switch (r->format) {
    case PYSB_FMT_TEXT:
        pysb_format_report(res, report, sizeof report);
        if (r->any_output && !r->last_nl && put(r, "\n", 1) < 0)
            return -1;
        if (r->text_files && put(r, r->text_files, r->text_files_len) < 0)
            return -1;
        return put(r, report, strlen(report));
    case PYSB_FMT_JSON:
        return put_json_result(r, res);
    default:
        for (int s = 0; s < 2; s++)
            if (event(r, s, "", 0, 1) < 0)
                return -1;
        if (r->format == PYSB_FMT_NDJSON) {
            o = json_pack("{s:s}", "stream", "exit");
            if (o && pysb_result_fields(o, res, NULL, 0, NULL, 0) < 0) {
                json_decref(o);
                o = NULL;
            }
            return put_json(r, "", o, PYSB_RESULT_DUMP_FLAGS, "\n");
        }
        o = json_object();
        if (o && pysb_result_fields(o, res, NULL, 0, NULL, 0) < 0) {
            json_decref(o);
            o = NULL;
        }
        return put_json(r, "event: exit\ndata: ", o, PYSB_RESULT_DUMP_FLAGS, "\n\n");
    }
}

/* ---- refusals and the report -------------------------------------------- */

char *pysb_render_refusal(pysb_format f, int status, const char *why, size_t *len,
                          const char **mime)
{
    char *body = NULL;
    if (f == PYSB_FMT_TEXT) {
        size_t n = strlen(why);
        body = malloc(n + 13);
        if (body)
            snprintf(body, n + 13, "pysandbox: %s\n", why);
        *mime = formats[PYSB_FMT_TEXT].mime;
    } else {
        /* json_pack refuses a reason that is not UTF-8: then "{}". */
        json_t *o = json_pack("{s:s, s:i}", "error", why, "status", status);
        char *j = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        size_t n = j ? strlen(j) : 2;
        body = malloc(n + 2);
        if (body)
            snprintf(body, n + 2, "%s\n", j ? j : "{}");
        free(j);
        *mime = formats[PYSB_FMT_JSON].mime;
    }
    *len = body ? strlen(body) : 0;
    return body;
}

int pysb_render_verdict_fields(const pysb_result *r, pysb_verdict_field out[PYSB_VERDICT_FIELDS])
{
    int n = 0;
    out[n].name = "X-PySandbox-Status";
    snprintf(out[n++].value, sizeof out->value, "%s", pysb_status_name(r->status));
    if (r->signal) {
        out[n].name = "X-PySandbox-Signal";
        pysb_signal_label(r->signal, out[n++].value, sizeof out->value);
    } else if (r->exit_code >= 0) {
        out[n].name = "X-PySandbox-Exit-Code";
        snprintf(out[n++].value, sizeof out->value, "%d", r->exit_code);
    }
    out[n].name = "X-PySandbox-Wall-Time";
    snprintf(out[n++].value, sizeof out->value, "%.3f", r->wall_sec);
    out[n].name = "X-PySandbox-CPU-Time";
    snprintf(out[n++].value, sizeof out->value, "%.3f", r->cpu_sec);
    out[n].name = "X-PySandbox-Memory-KB";
    snprintf(out[n++].value, sizeof out->value, "%ld", r->memory_kb);
    return n;
}

int pysb_format_report(const pysb_result *r, char *buf, size_t len)
{
    char msg[128];

    pysb_status_message(r, msg, sizeof msg);
    /* An internal error says why, as json's "error" does, on a line after
     * safeexec's four, so that what parses those finds them in place. */
    int why = r->status == PYSB_INTERNAL_ERROR && r->error[0];
    return snprintf(buf, len,
                    "%s\n"
                    "elapsed time: %.3f seconds\n"
                    "memory usage: %ld kbytes\n"
                    "cpu usage: %.3f seconds\n"
                    "%s%s%s",
                    msg, r->wall_sec, r->memory_kb, r->cpu_sec,
                    why ? "error: " : "", why ? r->error : "", why ? "\n" : "");
}

void pysb_render_report(const pysb_result *r, FILE *out)
{
    char buf[768];

    pysb_format_report(r, buf, sizeof buf);
    fputs(buf, out);
}
