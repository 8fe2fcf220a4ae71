/* payload_admit.c — what the admission frames carry: the worker's ADMIT
 * (who asks, with which share and which patience) and the launcher's
 * answers QUEUED, BUSY and TOO_MANY.
 *
 * Contract (details in payload.h): as SPEC's, the decoders are strict
 * (unknown or duplicate keys, wrong types, out-of-range values are errors)
 * and the encoders check what the decoders check. A client key is
 * printable ASCII only, so it is safe in logs, HTML-escaped pages and
 * Prometheus labels once escaped there. */
#include "payload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const char *const refuse_names[PYSB_REFUSE_COUNT] = {
    [PYSB_REFUSE_SLOTS] = "slots",
    [PYSB_REFUSE_QUEUE_FULL] = "queue_full",
    [PYSB_REFUSE_QUEUE_TIMEOUT] = "queue_timeout",
    [PYSB_REFUSE_CLIENT] = "client_limit",
};

const char *pysb_refuse_name(pysb_refuse_reason r)
{
    return r >= 0 && r < PYSB_REFUSE_COUNT ? refuse_names[r] : "slots";
}

/* ---- shared pieces ---- */

/* Every key of o is one of keys (NULL-terminated). */
static int only_keys(json_t *o, const char *const *keys, const char *what, char *err,
                     size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        size_t i;
        for (i = 0; keys[i]; i++)
            if (!strcmp(key, keys[i]))
                break;
        if (!keys[i])
            return pysb_reason(err, errlen, "%s: unknown key \"%.40s\"", what, key);
    }
    return 0;
}

/* An optional (absent: 0) or required integer key in [lo, hi]. */
static int get_uint(json_t *o, const char *key, int required, unsigned long long lo,
                    unsigned long long hi, unsigned *out, const char *what, char *err,
                    size_t errlen)
{
    json_t *v = json_object_get(o, key);
    json_int_t n;
    *out = 0;
    if (!v)
        return required ? pysb_reason(err, errlen, "%s: missing key \"%s\"", what, key) : 0;
    if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
        (unsigned long long)n < lo || (unsigned long long)n > hi)
        return pysb_reason(err, errlen, "%s: %s must be an integer in %llu..%llu", what, key,
                           lo, hi);
    *out = (unsigned)n;
    return 0;
}

static int check_client(const char *c, size_t len, char *err, size_t errlen)
{
    if (len > PYSB_CLIENT_KEY_MAX)
        return pysb_reason(err, errlen, "ADMIT: client is longer than %d bytes",
                           PYSB_CLIENT_KEY_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)c[i] < 0x20 || (unsigned char)c[i] > 0x7e)
            return pysb_reason(err, errlen, "ADMIT: client must be printable ASCII");
    return 0;
}

static int check_admit(const pysb_admit *a, char *err, size_t errlen)
{
    if (!memchr(a->run_id, '\0', sizeof a->run_id) ||
        pysb_check_run_id("ADMIT: run_id", a->run_id, err, errlen) < 0)
        return -1;
    if (!memchr(a->client, '\0', sizeof a->client) ||
        check_client(a->client, strlen(a->client), err, errlen) < 0)
        return -1;
    if (a->per_client > PYSB_PER_CLIENT_MAX || a->queue_timeout_ms > PYSB_QUEUE_MS_MAX ||
        a->waited_ms > PYSB_QUEUE_MS_MAX)
        return pysb_reason(err, errlen, "ADMIT: a number out of range");
    return 0;
}

/* json_dumps of o, which it takes; NULL (ENOMEM) when anything failed. */
static char *dump(json_t *o)
{
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!out)
        errno = ENOMEM;
    return out;
}

/* ---- ADMIT ---- */

char *pysb_admit_encode(const pysb_admit *a, char *err, size_t errlen)
{
    if (check_admit(a, err, errlen) < 0) {
        errno = EINVAL;
        return NULL;
    }
    return dump(json_pack("{s:s, s:s, s:I, s:I, s:I}", "run_id", a->run_id, "client",
                          a->client, "per_client", (json_int_t)a->per_client,
                          "queue_timeout_ms", (json_int_t)a->queue_timeout_ms, "waited_ms",
                          (json_int_t)a->waited_ms));
}

int pysb_admit_decode(const char *json, size_t len, pysb_admit *a, char *err, size_t errlen)
{
    static const char *const keys[] = { "run_id", "client", "per_client",
                                        "queue_timeout_ms", "waited_ms", NULL };
    memset(a, 0, sizeof *a);
    json_t *root = pysb_load_object(json, len, "ADMIT", err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    json_t *v;
    if (only_keys(root, keys, "ADMIT", err, errlen) < 0)
        goto out;
    if (!(v = json_object_get(root, "run_id"))) {
        pysb_reason(err, errlen, "ADMIT: missing key \"run_id\"");
        goto out;
    }
    if (pysb_parse_run_id(v, a->run_id, err, errlen) < 0)
        goto out;
    if ((v = json_object_get(root, "client"))) {
        if (!json_is_string(v)) {
            pysb_reason(err, errlen, "ADMIT: client must be a string");
            goto out;
        }
        size_t n = json_string_length(v);
        if (check_client(json_string_value(v), n, err, errlen) < 0)
            goto out;
        memcpy(a->client, json_string_value(v), n + 1);
    }
    if (get_uint(root, "per_client", 0, 0, PYSB_PER_CLIENT_MAX, &a->per_client, "ADMIT", err,
                 errlen) < 0 ||
        get_uint(root, "queue_timeout_ms", 0, 0, PYSB_QUEUE_MS_MAX, &a->queue_timeout_ms,
                 "ADMIT", err, errlen) < 0 ||
        get_uint(root, "waited_ms", 0, 0, PYSB_QUEUE_MS_MAX, &a->waited_ms, "ADMIT", err,
                 errlen) < 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        memset(a, 0, sizeof *a);
    return rc;
}

/* ---- QUEUED ---- */

char *pysb_queued_encode(unsigned position, unsigned queued)
{
    if (position < 1 || position > queued) {
        errno = EINVAL;
        return NULL;
    }
    return dump(json_pack("{s:I, s:I}", "position", (json_int_t)position, "queued",
                          (json_int_t)queued));
}

int pysb_queued_decode(const char *json, size_t len, unsigned *position, unsigned *queued,
                       char *err, size_t errlen)
{
    static const char *const keys[] = { "position", "queued", NULL };
    json_t *root = pysb_load_object(json, len, "QUEUED", err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    if (only_keys(root, keys, "QUEUED", err, errlen) == 0 &&
        get_uint(root, "position", 1, 1, 0xffffffffu, position, "QUEUED", err, errlen) == 0 &&
        get_uint(root, "queued", 1, 1, 0xffffffffu, queued, "QUEUED", err, errlen) == 0)
        rc = *position <= *queued ? 0
                                  : pysb_reason(err, errlen, "QUEUED: position after the end");
    json_decref(root);
    return rc;
}

/* ---- BUSY and TOO_MANY ---- */

char *pysb_refusal_encode(pysb_refuse_reason reason, unsigned retry_after)
{
    if (reason < 0 || reason >= PYSB_REFUSE_COUNT || retry_after < 1 ||
        retry_after > PYSB_RETRY_AFTER_MAX) {
        errno = EINVAL;
        return NULL;
    }
    return dump(json_pack("{s:I, s:s}", "retry_after", (json_int_t)retry_after, "reason",
                          refuse_names[reason]));
}

int pysb_refusal_decode(const char *json, size_t len, pysb_refuse_reason *reason,
                        unsigned *retry_after, char *err, size_t errlen)
{
    static const char *const keys[] = { "retry_after", "reason", NULL };
    *reason = PYSB_REFUSE_SLOTS;
    *retry_after = 1;
    if (len == 0)
        return 0;
    json_t *root = pysb_load_object(json, len, "refusal", err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    json_t *v;
    if (only_keys(root, keys, "refusal", err, errlen) < 0 ||
        get_uint(root, "retry_after", 1, 1, PYSB_RETRY_AFTER_MAX, retry_after, "refusal", err,
                 errlen) < 0)
        goto out;
    if (!(v = json_object_get(root, "reason")) || !json_is_string(v)) {
        pysb_reason(err, errlen, "refusal: reason must be a string");
        goto out;
    }
    for (int r = 0; r < PYSB_REFUSE_COUNT; r++)
        if (!strcmp(json_string_value(v), refuse_names[r])) {
            *reason = (pysb_refuse_reason)r;
            rc = 0;
        }
    if (rc < 0)
        pysb_reason(err, errlen, "refusal: unknown reason \"%.40s\"", json_string_value(v));
out:
    json_decref(root);
    return rc;
}
