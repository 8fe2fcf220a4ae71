/* payload.c — what the frames carry, the request's side: the SPEC a worker
 * sends and the STARTED a supervisor answers, and the limits object that
 * SPEC and RESULT share. The RESULT object is payload_result.c's.
 *
 * Contract (details in payload.h): the decoders are strict (unknown or
 * duplicate keys, wrong types, out-of-range values are errors) and the
 * encoders check exactly what the decoders check, so a bad spec is caught
 * on the side that built it. Reasons are one line of printable ASCII. */
#include "payload.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "infiles.h"     /* PYSB_INPUTS_ARG_BYTES */
#include "supervise.h"   /* PYSB_WAIVE_LANDLOCK, PYSB_SHARED_NETNS */
#include "utf8.h"
#include "wire.h"

/* Whatever a request may send as args must reach the run. */
_Static_assert(PYSB_WIRE_ARG_MAX >= PYSB_INPUTS_ARG_BYTES, "one arg may be all of them");
_Static_assert(PYSB_INPUTS_ARG_BYTES * 6 + 4 * PYSB_WIRE_ARGS_MAX + 4096 <= (192u << 10),
               "args at their worst, escaped, fit the SPEC frame with the rest");

/* ---- the limits object (SPEC and RESULT), from the one table ---- */

static json_t *json_seconds(double x)
{
    return json_real(isfinite(x) ? x : 0.0);
}

/* json_int_t is long long: larger counts are clamped, not wrapped. */
json_t *pysb_json_count(uint64_t n)
{
    return json_integer(n > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)n);
}

json_t *pysb_limits_json(const pysb_limits *l, unsigned flags)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (flags && !(d->flags & flags))
            continue;
        json_t *v = d->kind == PYSB_LIMIT_SECONDS ? json_seconds(pysb_limit_seconds(l, d))
                                                  : pysb_json_count(pysb_limit_amount(l, d));
        if (json_object_set_new(o, d->key, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The SPEC's limits: every key of the table, nothing else, each typed. */
static int parse_limits(json_t *o, pysb_limits *l, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    if (!json_is_object(o))
        return pysb_reason(err, errlen, "limits must be an object");
    json_object_foreach(o, key, v) {
        if (!pysb_limit_find(key, strlen(key)))
            return pysb_reason(err, errlen, "unknown key \"limits.%.40s\"", key);
    }
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        json_int_t n;

        v = json_object_get(o, d->key);
        if (!v)
            return pysb_reason(err, errlen, "missing key \"limits.%s\"", d->key);
        if (d->kind == PYSB_LIMIT_SECONDS) {
            if (!json_is_number(v))
                return pysb_reason(err, errlen, "limits.%s must be a number", d->key);
            pysb_limit_set_seconds(l, d, json_number_value(v));
            continue;
        }
        if (!json_is_integer(v) || (n = json_integer_value(v)) < 0)
            return pysb_reason(err, errlen,
                               "limits.%s must be a non-negative integer", d->key);
        if (pysb_limit_set_amount(l, d, (uint64_t)n) < 0)
            return pysb_reason(err, errlen, "limits.%s is too large", d->key);
    }
    return 0;
}

/* ---- JSON checks shared by encoders and decoders ---- */

#define SPEC_FLAGS (PYSB_WAIVE_LANDLOCK | PYSB_SHARED_NETNS | PYSB_SITE_PACKAGES)

int pysb_check_run_id(const char *what, const char *id, char *err, size_t errlen)
{
    size_t len = strlen(id);

    if (len == 0 || len > PYSB_WIRE_RUN_ID_MAX)
        return pysb_reason(err, errlen, "%s must be 1..%d characters", what,
                           PYSB_WIRE_RUN_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return pysb_reason(err, errlen, "%s may only contain A-Z a-z 0-9 -",
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
        return pysb_reason(err, errlen, "%s[%zu] must not be empty", what, index);
    if (len > PYSB_WIRE_STR_MAX)
        return pysb_reason(err, errlen, "%s[%zu] is longer than %d bytes", what,
                           index, PYSB_WIRE_STR_MAX);
    if (!pysb_utf8_valid(s, len))
        return pysb_reason(err, errlen, "%s[%zu] is not valid UTF-8", what, index);
    return 0;
}

/* Absolute, and no "." or ".." component: a launcher may then compare a
 * path against its configured ones as a string, and "/usr/lib/../../etc"
 * cannot pass for something under /usr/lib. */
static int check_path(const char *what, size_t index, const char *s,
                      char *err, size_t errlen)
{
    if (s[0] != '/')
        return pysb_reason(err, errlen, "%s[%zu] must be an absolute path", what,
                           index);
    for (const char *p = s; *p;) {
        size_t seg;

        while (*p == '/')
            p++;
        seg = strcspn(p, "/");
        if ((seg == 1 && p[0] == '.') ||
            (seg == 2 && p[0] == '.' && p[1] == '.'))
            return pysb_reason(err, errlen,
                               "%s[%zu] must not contain . or .. components", what,
                               index);
        p += seg;
    }
    return 0;
}

/* A list of at most PYSB_WIRE_RO_PATHS_MAX paths (v may be NULL). */
static int check_paths(const char *what, const char **v, char *err, size_t errlen)
{
    for (size_t n = 0; v && v[n]; n++) {
        if (n == PYSB_WIRE_RO_PATHS_MAX)
            return pysb_reason(err, errlen, "%s must have at most %d entries", what,
                               PYSB_WIRE_RO_PATHS_MAX);
        if (check_string(what, n, v[n], err, errlen) < 0 ||
            check_path(what, n, v[n], err, errlen) < 0)
            return -1;
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
        return pysb_reason(err, errlen, "run_id must be 1..%d characters",
                           PYSB_WIRE_RUN_ID_MAX);
    if (s->run_id[0] && pysb_check_run_id("run_id", s->run_id, err, errlen) < 0)
        return -1;

    if (!s->argv || !s->argv[0])
        return pysb_reason(err, errlen, "interpreter must have 1..%d arguments",
                           PYSB_WIRE_ARGV_MAX);
    for (n = 0; s->argv[n]; n++) {
        if (n == PYSB_WIRE_ARGV_MAX)
            return pysb_reason(err, errlen, "interpreter must have 1..%d arguments",
                               PYSB_WIRE_ARGV_MAX);
        if (check_string("interpreter", n, s->argv[n], err, errlen) < 0)
            return -1;
    }
    if (check_path("interpreter", 0, s->argv[0], err, errlen) < 0)
        return -1;

    if (check_paths("ro_paths", s->ro_paths, err, errlen) < 0 ||
        check_paths("python_path", s->python_path, err, errlen) < 0)
        return -1;

    size_t arg_bytes = 0;
    for (n = 0; s->args && s->args[n]; n++) {
        if (n == PYSB_WIRE_ARGS_MAX)
            return pysb_reason(err, errlen, "args must have at most %d entries",
                               PYSB_WIRE_ARGS_MAX);
        size_t len = strlen(s->args[n]);
        if (len > PYSB_WIRE_ARG_MAX || !pysb_utf8_valid(s->args[n], len))
            return pysb_reason(err, errlen, "args[%zu] must be UTF-8 of at most %d bytes",
                               n, PYSB_WIRE_ARG_MAX);
        /* All a request may send (infiles.h), whoever wrote the SPEC. */
        if ((arg_bytes += len) > PYSB_INPUTS_ARG_BYTES)
            return pysb_reason(err, errlen, "args must be at most %d bytes in all",
                               PYSB_INPUTS_ARG_BYTES);
    }

    for (n = 0; s->preload && s->preload[n]; n++) {
        const char *m = s->preload[n];
        if (n == PYSB_WIRE_PRELOAD_MAX)
            return pysb_reason(err, errlen, "preload must have at most %d entries",
                               PYSB_WIRE_PRELOAD_MAX);
        if (check_string("preload", n, m, err, errlen) < 0)
            return -1;
        /* A dotted module name, nothing a shell or a path could read. */
        int ok = m[0] == '_' || ((m[0] | 32) >= 'a' && (m[0] | 32) <= 'z');
        for (const char *c = m; ok && *c; c++)
            ok = *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
                 ((*c | 32) >= 'a' && (*c | 32) <= 'z');
        if (!ok)
            return pysb_reason(err, errlen, "preload[%zu] is not a module name", n);
    }
    if (n > 0 && !s->warm)
        return pysb_reason(err, errlen, "preload needs \"start\": \"warm\"");

    if (s->flags < 0 || (s->flags & ~SPEC_FLAGS) != 0)
        return pysb_reason(err, errlen, "flags has unknown bits 0x%x",
                           (unsigned)s->flags & ~(unsigned)SPEC_FLAGS);

    if (pysb_limits_validate(&s->limits, why, sizeof why) < 0)
        return pysb_reason(err, errlen, "limits: %s", why);
    return 0;
}


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
        (s->args && s->args[0] && json_object_set_new(o, "args", string_array(s->args)) < 0) ||
        (s->python_path && s->python_path[0] &&
         json_object_set_new(o, "python_path", string_array(s->python_path)) < 0) ||
        (s->warm && json_object_set_new(o, "start", json_string("warm")) < 0) ||
        (s->preload && s->preload[0] &&
         json_object_set_new(o, "preload", string_array(s->preload)) < 0) ||
        json_object_set_new(o, "limits", pysb_limits_json(&s->limits, 0)) < 0)
        goto nomem;
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!out)
        goto nomem;
    len = strlen(out);
    if (len > pysb_frame_max_len(PYSB_FRAME_SPEC)) {
        pysb_reason(err, errlen, "spec too long: %zu > %zu bytes", len,
                    pysb_frame_max_len(PYSB_FRAME_SPEC));
        free(out);
        errno = EMSGSIZE;
        return NULL;
    }
    return out;

nomem:
    json_decref(o);
    pysb_reason(err, errlen, "out of memory");
    errno = ENOMEM;
    return NULL;
}

/* ---- SPEC decoding ---- */


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
        return pysb_reason(err, errlen, "%s must be an array of strings", what);
    n = json_array_size(a);
    if (n < min || n > max)
        return min > 0
            ? pysb_reason(err, errlen, "%s must have %zu..%zu arguments", what,
                          min, max)
                          : pysb_reason(err, errlen, "%s must have at most %zu entries", what,
                          max);
    v = calloc(n + 1, sizeof *v);
    if (!v)
        return pysb_reason(err, errlen, "out of memory");
    for (i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e)) {
            pysb_reason(err, errlen, "%s[%zu] must be a string", what, i);
            goto fail;
        }
        /* jansson refuses \u0000 unless asked; keep that a hard rule. */
        if (strlen(json_string_value(e)) != json_string_length(e)) {
            pysb_reason(err, errlen, "%s[%zu] contains NUL", what, i);
            goto fail;
        }
        v[i] = strdup(json_string_value(e));
        if (!v[i]) {
            pysb_reason(err, errlen, "out of memory");
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
    free_strings(s->args);
    free_strings(s->python_path);
    s->python_path = NULL;
    free_strings(s->preload);
    s->preload = NULL;
    s->argv = NULL;
    s->ro_paths = NULL;
    s->args = NULL;
}

/* Loads a JSON object strictly: duplicate keys are an error (which of two
 * values would the launcher believe?), NUL inside strings too. */
json_t *pysb_load_object(const char *json, size_t len, const char *what, char *err,
                         size_t errlen)
{
    json_error_t je;
    json_t *root;

    if (!json) {
        pysb_reason(err, errlen, "%s is empty", what);
        return NULL;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        pysb_reason(err, errlen, "%s is not valid JSON: %s (at byte %d)", what,
                    je.text, je.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        pysb_reason(err, errlen, "%s is not a JSON object", what);
        return NULL;
    }
    return root;
}

/* A run id given as a JSON string: checked, then copied. */
int pysb_parse_run_id(json_t *v, char *dst, char *err, size_t errlen)
{
    const char *s;

    if (!json_is_string(v))
        return pysb_reason(err, errlen, "run_id must be a string");
    s = json_string_value(v);
    if (json_string_length(v) != strlen(s))
        return pysb_reason(err, errlen, "run_id may only contain A-Z a-z 0-9 -");
    if (pysb_check_run_id("run_id", s, err, errlen) < 0)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int pysb_spec_decode(const char *json, size_t len, pysb_wire_spec *s,
                     char *err, size_t errlen)
{
    static const char *const keys[] = {
        "run_id", "interpreter", "ro_paths", "flags", "limits", "args", "python_path",
        "start", "preload",
    };
    const char *key;
    json_t *root, *v;

    memset(s, 0, sizeof *s);
    root = pysb_load_object(json, len, "spec", err, errlen);
    if (!root)
        return -1;
    json_object_foreach(root, key, v) {
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (i == sizeof keys / sizeof keys[0]) {
            pysb_reason(err, errlen, "unknown key \"%.40s\"", key);
            goto fail;
        }
    }

    v = json_object_get(root, "limits");
    if (!v) {
        pysb_reason(err, errlen, "missing key \"limits\"");
        goto fail;
    }
    if (parse_limits(v, &s->limits, err, errlen) < 0)
        goto fail;

    v = json_object_get(root, "interpreter");
    if (!v) {
        pysb_reason(err, errlen, "missing key \"interpreter\"");
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
            pysb_reason(err, errlen, "out of memory");
            goto fail;
        }
    }

    v = json_object_get(root, "args");
    if (v) {
        if (parse_strings(v, "args", 0, PYSB_WIRE_ARGS_MAX, &s->args, err, errlen) < 0)
            goto fail;
    } else if (!(s->args = calloc(1, sizeof *s->args))) {
        pysb_reason(err, errlen, "out of memory");
        goto fail;
    }

    v = json_object_get(root, "python_path");
    if (v && parse_strings(v, "python_path", 0, PYSB_WIRE_RO_PATHS_MAX, &s->python_path, err,
                           errlen) < 0)
        goto fail;

    v = json_object_get(root, "run_id");
    if (v && pysb_parse_run_id(v, s->run_id, err, errlen) < 0)
        goto fail;

    v = json_object_get(root, "start");
    if (v) {
        const char *st = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(st, "warm") && strcmp(st, "cold")) {
            pysb_reason(err, errlen, "start must be \"warm\" or \"cold\"");
            goto fail;
        }
        s->warm = !strcmp(st, "warm");
    }
    v = json_object_get(root, "preload");
    if (v && parse_strings(v, "preload", 0, PYSB_WIRE_PRELOAD_MAX, &s->preload, err,
                           errlen) < 0)
        goto fail;

    v = json_object_get(root, "flags");
    if (v) {
        json_int_t f;
        if (!json_is_integer(v) || (f = json_integer_value(v)) < 0 ||
            f > INT_MAX) {
            pysb_reason(err, errlen, "flags must be a non-negative integer");
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

    if (!run_id || pysb_check_run_id("run_id", run_id, NULL, 0) < 0 || uid == 0 ||
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

    root = pysb_load_object(json, len, "STARTED", err, errlen);
    if (!root)
        return -1;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "run_id") != 0 && strcmp(key, "uid") != 0) {
            pysb_reason(err, errlen, "unknown key \"%.40s\"", key);
            goto out;
        }
    }
    v = json_object_get(root, "run_id");
    if (!v) {
        pysb_reason(err, errlen, "missing key \"run_id\"");
        goto out;
    }
    if (pysb_parse_run_id(v, run_id, err, errlen) < 0)
        goto out;
    v = json_object_get(root, "uid");
    if (!v) {
        pysb_reason(err, errlen, "missing key \"uid\"");
        goto out;
    }
    if (!json_is_integer(v) || (u = json_integer_value(v)) < 1 ||
        (unsigned long long)u > UID_MAX_VALID) {
        pysb_reason(err, errlen, "uid must be an integer in 1..%llu", UID_MAX_VALID);
        goto out;
    }
    *uid = (uid_t)u;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
