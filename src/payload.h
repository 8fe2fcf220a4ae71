/* payload.h — the payloads of the frames (wire.h frames them): SPEC from
 * the worker, STARTED and RESULT from the supervisor (payload.c and
 * payload_result.c); ADMIT from the worker, QUEUED, BUSY and TOO_MANY
 * from the launcher (payload_admit.c). STATUS is payload_status.h's.
 *
 * The SPEC payload is one JSON object, strictly checked (unknown keys, wrong
 * types, duplicate keys and out-of-range values are refused):
 *
 *   {"run_id": "…",                     optional, 1..36 of [A-Za-z0-9-]
 *    "interpreter": ["/abs/path", …],   required, 1..32 non-empty strings
 *    "ro_paths": ["/abs/path", …],      optional, 0..64 absolute paths
 *    "flags": N,                        optional, PYSB_WAIVE_LANDLOCK |
 *                                       PYSB_SHARED_NETNS, nothing else
 *    "start": "warm"|"cold",            optional (cold), PySandboxStart
 *    "preload": ["module", …],          optional, 0..32 module names
 *                                       ([A-Za-z_][A-Za-z0-9_.]*), warm only
 *    "limits": {"cpu_time": s, "wall_time": s,          (JSON numbers)
 *               "memory": B, "output": B, "processes": N, "threads": N,
 *               "fsize": B, "nofile": N, "stack": B}}   (JSON integers)
 *                                       required, every key, in the ranges
 *                                       of pysb_limits_validate
 *
 * Paths (argv[0], ro_paths) must be absolute with no "." or ".." component,
 * so a launcher can compare them with its configured set as strings. Strings
 * are at most PYSB_WIRE_STR_MAX bytes (an entry of "args" PYSB_WIRE_ARG_MAX)
 * and never contain NUL. Code and stdin
 * never travel in the spec.
 *
 * STARTED is {"run_id":"…","uid":N}. RESULT is the result object of
 * DESIGN §4 (pysb_result_to_json) without stdout and stderr.
 * No Apache headers: shared by the module, the launcher and the tests. */
#ifndef PYSB_PAYLOAD_H
#define PYSB_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "result.h"
#include "runlimits.h"

/* ---- the SPEC payload ---- */

#define PYSB_WIRE_RUN_ID_MAX   36
#define PYSB_WIRE_ARGV_MAX     32
#define PYSB_WIRE_RO_PATHS_MAX 64
#define PYSB_WIRE_ARGS_MAX     64     /* entries of "args" (sys.argv[1:]) */
#define PYSB_WIRE_PRELOAD_MAX  32
#define PYSB_WIRE_STR_MAX      4095   /* bytes of one interpreter argument,
                                         path or module name */
#define PYSB_WIRE_ARG_MAX      16384  /* bytes of one of "args": all a request
                                         may send (infiles.h) in one */

typedef struct pysb_wire_spec {
    pysb_limits  limits;
    char         run_id[PYSB_WIRE_RUN_ID_MAX + 1];   /* "" when none */
    const char **argv;      /* interpreter argv, NULL-terminated, 1..32 */
    const char **ro_paths;  /* NULL-terminated; may be NULL when encoding,
                               never NULL after a successful decode */
    int          flags;     /* PYSB_WAIVE_LANDLOCK | PYSB_SHARED_NETNS |
                               PYSB_SITE_PACKAGES */
    const char **python_path; /* PySandboxPythonPath, NULL-terminated paths as
                               ro_paths; may be NULL (also after decoding) */
    const char **args;      /* sys.argv[1:], NULL-terminated: UTF-8, no NUL,
                               may be empty strings; NULL when encoding: none;
                               never NULL after a successful decode */
    int          warm;      /* "start": "warm" (PySandboxStart warm) */
    const char **preload;   /* module names (PySandboxPreload), NULL-
                               terminated; NULL or empty: none */
} pysb_wire_spec;

/* The spec as one line of JSON (malloc'd; caller frees), checked as
 * strictly as the decoder will check it and no longer than the SPEC
 * maximum. Returns NULL with errno EINVAL and a reason in err (may be NULL)
 * when the spec is not valid, EMSGSIZE when too long, ENOMEM. */
char *pysb_spec_encode(const pysb_wire_spec *s, char *err, size_t errlen);

/* Parses a SPEC payload into *s. Returns 0 (release s with
 * pysb_wire_spec_free), or -1 with a one-line reason in err and nothing
 * left allocated in *s. */
int pysb_spec_decode(const char *json, size_t len, pysb_wire_spec *s,
                     char *err, size_t errlen);

/* Frees what pysb_spec_decode allocated, and zeroes argv and ro_paths.
 * Only for decoded specs: encoders fill their own arrays. */
void pysb_wire_spec_free(pysb_wire_spec *s);

/* ---- the STARTED payload ---- */

/* {"run_id":"…","uid":N}: run_id as in the spec (required), uid 1..2^32-2.
 * encode returns malloc'd JSON or NULL (EINVAL, ENOMEM). */
char *pysb_started_encode(const char *run_id, uid_t uid);
int pysb_started_decode(const char *json, size_t len,
                        char run_id[PYSB_WIRE_RUN_ID_MAX + 1], uid_t *uid,
                        char *err, size_t errlen);

/* ---- admission: ADMIT, QUEUED, BUSY and TOO_MANY (payload_admit.c) ----
 *
 * ADMIT {"run_id":"…", "client":"…", "per_client":N, "queue_timeout_ms":N,
 *        "waited_ms":N}: run_id required (as SPEC's), client 0..128 bytes of
 * printable ASCII ("" is one anonymous client), per_client 0..100000 (0:
 * no limit), queue_timeout_ms and waited_ms 0..3600000; the last three
 * optional (0). QUEUED {"position":N,"queued":M}, 1 <= N <= M. BUSY and
 * TOO_MANY {"retry_after":S,"reason":"…"}: S 1..86400 seconds, the
 * reason a PYSB_REFUSE_* name; an empty BUSY (a launcher of an older
 * build) reads as "slots" with 1 s. Decoders are strict like SPEC's. */

#define PYSB_CLIENT_KEY_MAX   128
#define PYSB_PER_CLIENT_MAX   100000
#define PYSB_QUEUE_MS_MAX     3600000u
#define PYSB_RETRY_AFTER_MAX  86400u

typedef struct pysb_admit {
    char     run_id[PYSB_WIRE_RUN_ID_MAX + 1];
    char     client[PYSB_CLIENT_KEY_MAX + 1];   /* who asks: the key of fairness */
    unsigned per_client;        /* slots, and as many queue places, one client may
                                   hold; 0: no limit */
    unsigned queue_timeout_ms;  /* the longest wait for a slot; 0: never wait */
    unsigned waited_ms;         /* waited already, for a launcher that went away */
} pysb_admit;

/* Why a launcher said no. */
typedef enum pysb_refuse_reason {
    PYSB_REFUSE_SLOTS = 0,      /* every slot busy, and this request may not wait */
    PYSB_REFUSE_QUEUE_FULL,     /* every slot busy and every queue place taken */
    PYSB_REFUSE_QUEUE_TIMEOUT,  /* waited its queue timeout without a slot */
    PYSB_REFUSE_CLIENT,         /* the client holds its share (TOO_MANY) */
    PYSB_REFUSE_COUNT
} pysb_refuse_reason;

/* "slots", "queue_full", "queue_timeout", "client_limit". */
const char *pysb_refuse_name(pysb_refuse_reason r);

/* The encoders return malloc'd one-line JSON, or NULL (errno EINVAL with a
 * reason in err for a value out of range, ENOMEM); the decoders 0, or -1
 * with a one-line reason. */
char *pysb_admit_encode(const pysb_admit *a, char *err, size_t errlen);
int pysb_admit_decode(const char *json, size_t len, pysb_admit *a, char *err,
                      size_t errlen);
char *pysb_queued_encode(unsigned position, unsigned queued);
int pysb_queued_decode(const char *json, size_t len, unsigned *position, unsigned *queued,
                       char *err, size_t errlen);
char *pysb_refusal_encode(pysb_refuse_reason reason, unsigned retry_after);
int pysb_refusal_decode(const char *json, size_t len, pysb_refuse_reason *reason,
                        unsigned *retry_after, char *err, size_t errlen);

/* ---- checks the payload files share ---- */

/* A run id: 1..36 of [A-Za-z0-9-]; what names it in the reason. */
int pysb_check_run_id(const char *what, const char *id, char *err, size_t errlen);
/* The same of a JSON string, copied into dst. */
int pysb_parse_run_id(json_t *v, char *dst, char *err, size_t errlen);
/* A JSON object, strictly (duplicate keys and NULs refused); NULL with a
 * reason naming what. */
json_t *pysb_load_object(const char *json, size_t len, const char *what, char *err,
                         size_t errlen);

/* ---- the limits object, of SPEC and RESULT ---- */

/* Every row of the limits table (flags 0), or those with one of flags, in
 * table order: seconds as reals, sizes and counts as integers. NULL when
 * out of memory. */
json_t *pysb_limits_json(const pysb_limits *l, unsigned flags);

/* A count as a JSON integer: above what json_int_t holds, clamped. */
json_t *pysb_json_count(uint64_t n);

/* ---- the RESULT payload, and the json format's object ---- */

/* The JSON result object as a malloc'd string (caller frees), one line.
 * stdout/stderr may be NULL: the fields are then omitted (RESULT frames,
 * exit events). */
char *pysb_result_to_json(const pysb_result *r,
                          const char *out, size_t out_len,
                          const char *err, size_t err_len);

/* The same fields appended to o, in their order (an ndjson exit event
 * puts its "stream" key first). Returns 0, or -1 when out of memory. */
int pysb_result_fields(json_t *o, const pysb_result *r, const char *out,
                       size_t out_len, const char *err, size_t err_len);

/* How a result object is written: one line; 15 digits give the shortest
 * text for ms-rounded times and typed limits ("0.1", not jansson's default
 * "0.10000000000000001"). */
#define PYSB_RESULT_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* The inverse of pysb_result_to_json for every field it writes except
 * stdout/stderr (the supervisor's RESULT frame; the worker renders the
 * response from it). Returns 0, or -1 when json is not a result object. */
int pysb_result_from_json(const char *json, size_t len, pysb_result *r);

#endif
