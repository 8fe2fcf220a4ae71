/* jobe.c — Jobe's REST API without Apache, its requests: routes, the
 * body's shape, run_spec read into a run (Jobe's error texts), sh's word
 * splitting of runargs and interpreterargs. The run's program is
 * jobe_program.c, its answer jobe_result.c.
 *
 * Contract: see jobe.h. The texts of Jobe's errors are quoted from its
 * behaviour (notes/jobe.md §1, §6); nothing of Jobe's code is used. */
#include "jobe.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "utf8.h"

/* ---- routes --------------------------------------------------------------- */

static int alnum_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isascii((unsigned char)s[i]) || !isalnum((unsigned char)s[i]))
            return 0;
    return n > 0;
}

pysb_jobe_route pysb_jobe_route_of(const char *path, char id[PYSB_JOBE_ID_MAX + 1])
{
    const char *p = path ? strstr(path, "/restapi/") : NULL;
    id[0] = '\0';
    if (!p)
        return PYSB_JOBE_NO_ROUTE;
    p += strlen("/restapi/");
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    if (n == strlen("languages") && !strncmp(p, "languages", n))
        return PYSB_JOBE_LANGUAGES;
    if (n == strlen("runs") && !strncmp(p, "runs", n))
        return PYSB_JOBE_RUNS;
    if (n > 6 && !strncmp(p, "files/", 6) && n - 6 <= PYSB_JOBE_ID_MAX &&
        alnum_run(p + 6, n - 6)) {
        memcpy(id, p + 6, n - 6);
        id[n - 6] = '\0';
        return PYSB_JOBE_FILE;
    }
    return PYSB_JOBE_NO_ROUTE;
}

/* ---- the body's shape ---------------------------------------------------- */

int pysb_jobe_shape_ok(const char *p, size_t n, size_t max_values, int max_depth)
{
    size_t values = 1;
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return 0;
            __attribute__((fallthrough)); /* the container's first value */
        case ',':
            if (++values > max_values)
                return 0;
            break;
        case ']':
        case '}':
            depth--;
            break;
        }
    }
    return 1;
}

/* ---- run_spec ------------------------------------------------------------- */

static int fail(char *why, size_t whylen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t whylen, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    /* A reason cut short (a long file_list entry shown) must not end in
     * part of a character: it becomes a JSON string (attack3). */
    size_t n = strlen(why);
    why[n - pysb_utf8_incomplete_tail(why, n)] = '\0';
    return status;
}

/* A value PHP would take as a string: a string, or a number's text. NULL
 * for anything else. malloc'd. */
static char *stringish(json_t *v, size_t *len)
{
    char *s = NULL;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        s = malloc(*len + 1);
        if (s) {
            memcpy(s, json_string_value(v), *len);
            s[*len] = '\0';
        }
        return s;
    }
    if (json_is_integer(v) || json_is_real(v)) {
        s = json_dumps(v, JSON_ENCODE_ANY);
        if (s)
            *len = strlen(s);
    }
    return s;
}

/* A numeric parameter: a JSON number, or a string that is all a number
 * (PHP's is_numeric). 1 with *out, else 0 (Jobe then keeps its default). */
static int numeric(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (end == s || *end || errno || !isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* Jobe's rule: nothing replaced by its filter, no leading dot or dash. */
static int legal_filename(const char *s, size_t n)
{
    static const char bad[] = "<>:\"/|?*#[]@!$&'()+,;={}^~`";
    if (n == 0 || n > 255 || s[0] == '.' || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == 0xa0 || c == 0xad || strchr(bad, c))
            return 0;
    }
    return 1;
}

/* [A-Za-z0-9._-]+ with at least one letter or digit (Jobe's file_name). */
static int legal_file_name(const char *s, size_t n)
{
    int alnum = 0;
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isascii(c) && isalnum(c))
            alnum = 1;
        else if (c != '.' && c != '_' && c != '-')
            return 0;
    }
    return alnum;
}

/* An entry as PHP's print_r shows it, for Jobe's "Invalid file specifier". */
static void print_r(json_t *v, char *buf, size_t len)
{
    size_t n;
    char *s;
    if (!json_is_array(v)) {
        s = json_is_object(v) ? strdup("stdClass Object") : stringish(v, &n);
        snprintf(buf, len, "%s", s ? s : "");
        free(s);
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "Array\n(\n");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        s = json_is_array(e) ? strdup("Array") : stringish(e, &n);
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used, "    [%zu] => %s\n", i,
                                     s ? s : "");
        free(s);
    }
    if (used < len)
        snprintf(buf + used, len - used, ")\n");
    size_t cut = strlen(buf);
    buf[cut - pysb_utf8_incomplete_tail(buf, cut)] = '\0';
}

static int read_files(json_t *list, pysb_jobe_run *run, char *why, size_t whylen)
{
    size_t i;
    json_t *e;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return fail(why, whylen, 400, "file_list must be a list of [file_id, file_name] pairs");
    if (json_array_size(list) > PYSB_JOBE_MAX_FILES)
        return fail(why, whylen, 413, "file_list has more than %d files", PYSB_JOBE_MAX_FILES);
    json_array_foreach(list, i, e) {
        json_t *id = json_array_get(e, 0), *name = json_array_get(e, 1);
        size_t n = json_is_array(e) ? json_array_size(e) : 0;
        const char *ids = json_string_value(id), *names = json_string_value(name);
        if ((n != 2 && n != 3) || !ids || !names || json_string_length(id) < 8 ||
            json_string_length(id) > PYSB_JOBE_ID_MAX ||
            !alnum_run(ids, json_string_length(id)) ||
            !legal_file_name(names, json_string_length(name))) {
            char shown[512];
            print_r(e, shown, sizeof shown);
            return fail(why, whylen, 400, "Invalid file specifier: %s", shown);
        }
        pysb_jobe_file *f = &run->files[run->nfiles++];
        snprintf(f->id, sizeof f->id, "%s", ids);
        snprintf(f->name, sizeof f->name, "%s", names);
    }
    return 0;
}

/* Each element of a list of strings (or numbers) split into words. */
static int split_list(json_t *list, const char *what, char **words, size_t *nw,
                      size_t max, char *why, size_t whylen)
{
    size_t i;
    json_t *e;
    if (!json_is_array(list))
        return fail(why, whylen, 400, "%s must be a list of strings", what);
    json_array_foreach(list, i, e) {
        size_t n;
        char *s = stringish(e, &n), reason[160];
        if (!s)
            return fail(why, whylen, 400, "%s must be a list of strings", what);
        int rc = pysb_jobe_split(s, n, words, nw, max, reason, sizeof reason);
        free(s);
        if (rc < 0)
            return fail(why, whylen, 400, "%s: %s", what, reason);
    }
    return 0;
}

#define FLAGS_ALLOWED "-B -E -I -O -OO -q -s -u -W arg -c code"

/* interpreterargs: the flags that mean something for one run, in cold and
 * warm runs alike; everything else refused by name. */
static int read_flags(json_t *list, pysb_jobe_run *run, char *why, size_t whylen)
{
    char *w[64] = { 0 };
    size_t n = 0;
    int rc = split_list(list, "interpreterargs", w, &n, 64, why, whylen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *a = w[i];
        if (a[0] != '-' || !a[1] || a[1] == '-') {
            rc = fail(why, whylen, 400,
                      "interpreterargs: '%s' is not supported by this server (it accepts "
                      FLAGS_ALLOWED ")", a);
            break;
        }
        for (const char *c = a + 1; *c && rc == 0; c++) {
            if (strchr("BEIqsu", *c))
                continue;           /* what a run here is anyway */
            if (*c == 'O') {
                run->optimize += run->optimize < 2;
                continue;
            }
            if (*c != 'W' && *c != 'c') {
                rc = fail(why, whylen, 400,
                          "interpreterargs: '-%c' is not supported by this server (it accepts "
                          FLAGS_ALLOWED ")", *c);
                break;
            }
            const char *val = c[1] ? c + 1 : (i + 1 < n ? w[++i] : NULL);
            if (!val)
                rc = fail(why, whylen, 400, "interpreterargs: -%c needs an argument", *c);
            else if (*c == 'W' && run->nwopts == 16)
                rc = fail(why, whylen, 400, "interpreterargs: too many -W");
            else if (*c == 'W')
                rc = (run->wopts[run->nwopts++] = strdup(val)) ? 0 : 500;
            else if (i + 1 < n)
                rc = fail(why, whylen, 400, "interpreterargs: nothing may follow -c code");
            else {
                free(run->ccode);
                rc = (run->ccode = strdup(val)) ? 0 : 500;
            }
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    return rc == 500 ? fail(why, whylen, 500, "Server exception (out of memory)") : rc;
}

/* A size parameter in Jobe's MB (runguard: 1000 kB) into bytes, clamped. */
static uint64_t clamp_mb(double mb, uint64_t lo, uint64_t hi)
{
    double b = mb * 1024000.0;
    if (b <= (double)lo)
        return lo;
    return b >= (double)hi ? hi : (uint64_t)b;
}

static unsigned clamp_count(double v, unsigned hi)
{
    return v < 1 ? 1 : v >= hi ? hi : (unsigned)v;
}

/* Jobe's parameters over the Location's defaults, within its maxima. */
static int read_params(json_t *p, const pysb_location *loc, pysb_jobe_run *run, char *why,
                       size_t whylen)
{
    pysb_limits *l = &run->limits;
    double v;
    *l = loc->def;
    if (!json_is_object(p))
        p = NULL;           /* [] (PHP's empty array), or nothing */
    if (p && numeric(json_object_get(p, "cputime"), &v)) {
        if (floor(v) > loc->max.cpu_sec)
            return fail(why, whylen, 400,
                        "cputime exceeds maximum allowed on this Jobe server (%g secs)",
                        loc->max.cpu_sec);
        if (!(v > 0))
            return fail(why, whylen, 400, "cputime must be more than 0 seconds");
        l->cpu_sec = v < loc->max.cpu_sec ? v : loc->max.cpu_sec;
    }
    l->wall_sec = 2 * l->cpu_sec < loc->max.wall_sec ? 2 * l->cpu_sec : loc->max.wall_sec;
    if (p && numeric(json_object_get(p, "memorylimit"), &v) && v >= 0)
        l->memory_bytes = v == 0 ? loc->max.memory_bytes
                                 : clamp_mb(v, PYSB_MIN_MEMORY, loc->max.memory_bytes);
    if (p && numeric(json_object_get(p, "numprocs"), &v)) {
        l->processes = clamp_count(v, loc->max.processes);
        l->threads = clamp_count(v, loc->max.threads);
    }
    if (p && numeric(json_object_get(p, "disklimit"), &v)) {
        l->fsize_bytes = v < 0 ? loc->max.fsize_bytes : clamp_mb(v, 1, loc->max.fsize_bytes);
        /* Jobe's disklimit is what a run may write: the largest file, and
         * here the scratch directory too (the file-size limit is never
         * below the scratch's, src/confine.c). */
        if (l->scratch_bytes > l->fsize_bytes)
            l->scratch_bytes = l->fsize_bytes;
    }
    if (p && numeric(json_object_get(p, "streamsize"), &v) && v > 0)
        l->output_bytes = clamp_mb(2 * v, 1, loc->max.output_bytes);
    json_t *a = p ? json_object_get(p, "runargs") : NULL;
    if (a && !json_is_null(a)) {
        int rc = split_list(a, "runargs", run->args, &run->nargs, PYSB_JOBE_MAX_ARGS, why,
                            whylen);
        if (rc)
            return rc;
    }
    a = p ? json_object_get(p, "interpreterargs") : NULL;
    if (a && !json_is_null(a))
        return read_flags(a, run, why, whylen);
    return 0;
}

static int read_spec(json_t *rs, const pysb_location *loc, pysb_jobe_run *run, char *why,
                     size_t whylen)
{
    char sz[32];
    size_t n;
    json_t *src = json_object_get(rs, "sourcecode"), *lang = json_object_get(rs, "language_id");
    if (!src || json_is_null(src))
        return fail(why, whylen, 400, "run_spec is missing the required attribute 'sourcecode'");
    if (!lang || json_is_null(lang))
        return fail(why, whylen, 400, "run_spec is missing the required attribute 'language_id'");
    char *id = stringish(lang, &n);
    if (!id)
        return fail(why, whylen, 400, "language_id must be a string");
    for (char *c = id; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* Its whole length: "python3\u0000x" is no language. */
    int known = strlen(id) == n && (!strcmp(id, "python3") || !strcmp(id, "python"));
    if (!known) {
        fail(why, whylen, 400, "Language '%s' is not known", id);
        free(id);
        return 400;
    }
    free(id);
    if (!(run->source = stringish(src, &run->source_len)))
        return fail(why, whylen, 400, "sourcecode must be a string");
    if (run->source_len > loc->max_code) {
        pysb_format_size(loc->max_code, sz, sizeof sz);
        return fail(why, whylen, 413, "sourcecode is larger than this server accepts (%s)", sz);
    }
    int rc = read_params(json_object_get(rs, "parameters"), loc, run, why, whylen);
    if (rc)
        return rc;
    json_t *fn = json_object_get(rs, "sourcefilename");
    snprintf(run->filename, sizeof run->filename, "prog.py");
    if (fn && !json_is_null(fn) && !(json_is_string(fn) && json_string_length(fn) == 0)) {
        if (!json_is_string(fn) || !legal_filename(json_string_value(fn), json_string_length(fn)))
            return fail(why, whylen, 400, "The sourcefilename for the run_spec is illegal");
        snprintf(run->filename, sizeof run->filename, "%s", json_string_value(fn));
    }
    if ((rc = read_files(json_object_get(rs, "file_list"), run, why, whylen)))
        return rc;
    json_t *in = json_object_get(rs, "input");
    if (!in || json_is_null(in))
        run->input = strdup("");
    else if (!(run->input = stringish(in, &run->input_len)))
        return fail(why, whylen, 400, "input must be a string");
    if (!run->input)
        return fail(why, whylen, 500, "Server exception (out of memory)");
    if (run->input_len > loc->max_stdin) {
        pysb_format_size(loc->max_stdin, sz, sizeof sz);
        return fail(why, whylen, 413, "input is larger than this server accepts (%s)", sz);
    }
    char err[256];
    if (pysb_limits_validate(&run->limits, err, sizeof err) < 0)
        return fail(why, whylen, 400, "parameters: %s", err);
    return 0;
}

int pysb_jobe_parse_run(const char *body, size_t len, const pysb_location *loc,
                        pysb_jobe_run *run, char *why, size_t whylen)
{
    memset(run, 0, sizeof *run);
    why[0] = '\0';
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", body[i]))
        i++;
    if (i == len)
        return fail(why, whylen, 400, "Non-JSON post data received");
    if (!pysb_jobe_shape_ok(body, len, PYSB_JOBE_MAX_VALUES, PYSB_JOBE_MAX_DEPTH))
        return fail(why, whylen, 413, "the run_spec has more values or levels than a run needs");
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return fail(why, whylen, 500, "Server exception (Failed to parse JSON string. Error: %s)",
                    pysb_utf8_valid(body, len)
                        ? "Syntax error"
                        : "Malformed UTF-8 characters, possibly incorrectly encoded");
    int rc;
    json_t *rs = json_object_get(root, "run_spec");
    if (!json_is_object(root))
        rc = fail(why, whylen, 400, "Non-JSON post data received");
    else if (!rs)
        rc = fail(why, whylen, 500, "Server exception (Undefined property: stdClass::$run_spec)");
    else if (!json_is_object(rs))
        rc = fail(why, whylen, 400, "No run_spec attribute found in post data");
    else
        rc = read_spec(rs, loc, run, why, whylen);
    json_decref(root);
    return rc;
}

void pysb_jobe_run_free(pysb_jobe_run *run)
{
    free(run->source);
    free(run->input);
    free(run->ccode);
    for (size_t i = 0; i < run->nargs; i++)
        free(run->args[i]);
    for (size_t i = 0; i < run->nwopts; i++)
        free(run->wopts[i]);
    memset(run, 0, sizeof *run);
}

/* ---- sh's words ---------------------------------------------------------- */

typedef struct {
    char  *buf;
    size_t len, cap;
} word;

static int put_ch(word *w, char c)
{
    if (w->len + 1 >= w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        char *nb = realloc(w->buf, cap);
        if (!nb)
            return -1;
        w->buf = nb;
        w->cap = cap;
    }
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
    return 0;
}

/* A word that exists even if empty ('' or ""). */
static int started(word *w)
{
    if (w->buf)
        return 0;
    if (put_ch(w, 'x') < 0)
        return -1;
    w->len = 0;
    w->buf[0] = '\0';
    return 0;
}

int pysb_jobe_split(const char *s, size_t n, char **words, size_t *nw, size_t max,
                    char *why, size_t whylen)
{
    word w = { 0 };
    int in_word = 0, rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        char c = i < n ? s[i] : ' ';
        if (i < n && c == '\0') {
            rc = fail(why, whylen, -1, "an argument cannot hold a NUL character");
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (!in_word)
                continue;
            if (*nw == max) {
                rc = fail(why, whylen, -1, "more than %zu arguments", max);
                break;
            }
            words[(*nw)++] = w.buf ? w.buf : strdup("");
            if (!words[*nw - 1])
                rc = -1;
            w = (word){ 0 };
            in_word = 0;
        } else if (c == '\'') {
            size_t j = i + 1;
            while (j < n && s[j] != '\'')
                j++;
            if (j == n)
                rc = fail(why, whylen, -1, "a ' is not closed");
            for (size_t k = i + 1; k < j && rc == 0; k++)
                rc = put_ch(&w, s[k]);
            if (rc == 0)
                rc = started(&w);
            in_word = 1;
            i = j;
        } else if (c == '"') {
            size_t j = i + 1;
            for (; rc == 0 && j < n && s[j] != '"'; j++) {
                if (s[j] == '$' || s[j] == '`')
                    rc = fail(why, whylen, -1,
                              "'%c' would be expanded by a shell, and no shell is run here", s[j]);
                else if (s[j] == '\\' && j + 1 < n && strchr("$`\"\\\n", s[j + 1]))
                    j++, rc = s[j] == '\n' ? 0 : put_ch(&w, s[j]);
                else
                    rc = put_ch(&w, s[j]);
            }
            if (rc == 0 && j >= n)
                rc = fail(why, whylen, -1, "a \" is not closed");
            if (rc == 0)
                rc = started(&w);
            in_word = 1;
            i = j;
        } else if (c == '\\') {
            if (i + 1 < n && s[i + 1] != '\n')
                rc = put_ch(&w, s[i + 1]);
            i++;
            in_word = 1;
        } else if (strchr("$`|&;<>()*?[", c) || (!in_word && (c == '~' || c == '#'))) {
            rc = fail(why, whylen, -1,
                      "'%c' would be acted on by a shell, and no shell is run here (quote it)", c);
        } else {
            rc = put_ch(&w, c);
            in_word = 1;
        }
    }
    if (rc && !why[0])
        snprintf(why, whylen, "out of memory");
    free(w.buf);
    return rc ? -1 : 0;
}
