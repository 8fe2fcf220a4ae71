/* jobe_result.c — what a Jobe request is answered with (jobe.h): JSON
 * strings, the outcome of a run from its verdict, the result object,
 * Jobe's escaping of streams that are not UTF-8, the overload and
 * languages bodies.
 *
 * Contract: see jobe.h. */
#include "jobe.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "utf8.h"

/* ---- JSON texts --------------------------------------------------------- */

/* Jobe's encoder: compact, slashes and non-ASCII as they are. */
static char *dump(json_t *v, size_t *len)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (s && len)
        *len = strlen(s);
    return s;
}

char *pysb_jobe_string(const char *text, size_t *len)
{
    return dump(json_string(text), len);
}

/* ---- the result ----------------------------------------------------------- */

#define MARK_LEN(m) (sizeof(m) - 1)

static int starts(const char *p, size_t n, const char *mark, size_t mlen)
{
    return n >= mlen && !memcmp(p, mark, mlen);
}

int pysb_jobe_outcome(const pysb_result *res, const char *out, size_t out_len,
                      const char *err, size_t err_len)
{
    (void)err;
    int ran = starts(out, out_len, PYSB_JOBE_MARK_RUN, MARK_LEN(PYSB_JOBE_MARK_RUN));
    if (res->status == PYSB_INTERNAL_ERROR)
        return PYSB_JOBE_INTERNAL_ERROR;
    if (starts(out, out_len, PYSB_JOBE_MARK_CMPINFO, MARK_LEN(PYSB_JOBE_MARK_CMPINFO)))
        return PYSB_JOBE_COMPILE_ERROR;
    if (starts(out, out_len, PYSB_JOBE_MARK_NO_DIR, MARK_LEN(PYSB_JOBE_MARK_NO_DIR)))
        return PYSB_JOBE_INTERNAL_ERROR;
    switch (res->status) {
    case PYSB_CPU_LIMIT:
    case PYSB_WALL_LIMIT:
        return PYSB_JOBE_TIME_LIMIT;
    case PYSB_MEMORY_LIMIT:
        return PYSB_JOBE_MEMORY_LIMIT;
    case PYSB_SIGNAL:
        if (res->signal == SIGSYS)
            return PYSB_JOBE_ILLEGAL_SYSCALL;
        return ran ? PYSB_JOBE_RUNTIME_ERROR : PYSB_JOBE_INTERNAL_ERROR;
    case PYSB_OUTPUT_LIMIT:
        return PYSB_JOBE_RUNTIME_ERROR;
    default:
        /* Ended by itself: our program always writes its marker first, so
         * an end without one is a failure of ours, not the source's. */
        if (!ran)
            return PYSB_JOBE_INTERNAL_ERROR;
        return err_len ? PYSB_JOBE_RUNTIME_ERROR : PYSB_JOBE_SUCCESS;
    }
}

char *pysb_jobe_escape(const char *p, size_t n, size_t *olen)
{
    char *o;
    if (pysb_utf8_valid(p, n)) {
        o = malloc(n + 1);
        if (o) {
            memcpy(o, p, n);
            o[n] = '\0';
            *olen = n;
        }
        return o;
    }
    o = malloc(4 * n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c > 0x7e)
            k += (size_t)sprintf(o + k, "\\x%02x", c);
        else
            o[k++] = (char)c;
    }
    o[k] = '\0';
    *olen = k;
    return o;
}

/* A stream for the object: a character cut by the output cap dropped,
 * then Jobe's escaping. */
static json_t *stream_json(const char *p, size_t n, int truncated)
{
    if (truncated)
        n -= pysb_utf8_incomplete_tail(p, n);
    size_t len;
    char *s = pysb_jobe_escape(p, n, &len);
    json_t *v = s ? json_stringn(s, len) : NULL;
    free(s);
    return v;
}

static json_t *result_object(json_t *run_id, int outcome, json_t *cmpinfo, json_t *out,
                             json_t *err)
{
    json_t *o = json_object();
    if (o && run_id && cmpinfo && out && err &&
        json_object_set_new(o, "run_id", run_id) == 0 &&
        json_object_set_new(o, "outcome", json_integer(outcome)) == 0 &&
        json_object_set_new(o, "cmpinfo", cmpinfo) == 0 &&
        json_object_set_new(o, "stdout", out) == 0 && json_object_set_new(o, "stderr", err) == 0)
        return o;
    json_decref(o);
    return NULL;
}

/* stderr with the supervisor's word added where Jobe's runguard adds its
 * own (a signal, the output cap). */
static json_t *stderr_json(const pysb_result *res, const char *err, size_t err_len)
{
    char note[160] = "", sig[32];
    if (res->status == PYSB_SIGNAL) {
        pysb_signal_label(res->signal, sig, sizeof sig);
        snprintf(note, sizeof note, "pysandbox: the program was terminated by signal %d (%s)\n",
                 res->signal, sig);
    } else if (res->status == PYSB_OUTPUT_LIMIT) {
        char sz[32];
        pysb_format_size(res->limits.output_bytes, sz, sizeof sz);
        snprintf(note, sizeof note,
                 "pysandbox: output limit exceeded (stdout and stderr together: %s), "
                 "the program was stopped\n", sz);
    }
    size_t keep = res->truncated[1] ? err_len - pysb_utf8_incomplete_tail(err, err_len) : err_len;
    size_t nl = keep && err[keep - 1] != '\n' && note[0];
    char *all = malloc(keep + nl + strlen(note) + 1);
    if (!all)
        return NULL;
    memcpy(all, err, keep);
    if (nl)
        all[keep] = '\n';
    memcpy(all + keep + nl, note, strlen(note) + 1);
    json_t *v = stream_json(all, keep + nl + strlen(note), 0);
    free(all);
    return v;
}

char *pysb_jobe_result(const pysb_result *res, const char *out, size_t out_len,
                       const char *err, size_t err_len, size_t *len)
{
    int outcome = pysb_jobe_outcome(res, out, out_len, err, err_len);
    const char *cmp = "";
    size_t cmp_len = 0;
    if (outcome == PYSB_JOBE_COMPILE_ERROR) {
        cmp = out + MARK_LEN(PYSB_JOBE_MARK_CMPINFO);
        cmp_len = out_len - MARK_LEN(PYSB_JOBE_MARK_CMPINFO);
        out_len = 0;
    } else if (starts(out, out_len, PYSB_JOBE_MARK_RUN, MARK_LEN(PYSB_JOBE_MARK_RUN))) {
        out += MARK_LEN(PYSB_JOBE_MARK_RUN);
        out_len -= MARK_LEN(PYSB_JOBE_MARK_RUN);
    } else {
        out_len = 0;        /* nothing of the source ran */
    }
    if (outcome == PYSB_JOBE_INTERNAL_ERROR)
        out_len = 0;
    json_t *e = outcome == PYSB_JOBE_RUNTIME_ERROR || outcome == PYSB_JOBE_SUCCESS
                    ? stderr_json(res, err, err_len)
                    : json_string("");
    json_t *o = result_object(json_null(), outcome, stream_json(cmp, cmp_len, res->truncated[0]),
                              stream_json(out, out_len, res->truncated[0]), e);
    return dump(o, len);
}

char *pysb_jobe_overload(size_t *len)
{
    return dump(result_object(json_string("0"), PYSB_JOBE_OVERLOAD, json_string(""),
                              json_string(""), json_string("")),
                len);
}

char *pysb_jobe_languages(const char *version, size_t *len)
{
    return dump(json_pack("[[ss]]", "python3", version), len);
}
