/* runlimits.h — the resource limits of one run, the one table that names
 * them, and the parsing and validation of the values admins and users write
 * for them.
 *
 * Contract: sizes are bytes (suffixes K, M, G, powers of 1024; KB-style
 * "250000" stays bytes here — the CLI converts safeexec's KB units itself);
 * durations are seconds with decimals. Parsers never accept trailing junk,
 * negative numbers, NaN/inf or overflow. Validation rejects 0 and absurd
 * values with a one-line reason. No Apache headers: shared by the CLI, the
 * module and the unit tests. */
#ifndef PYSB_RUNLIMITS_H
#define PYSB_RUNLIMITS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pysb_limits {
    double   cpu_sec;       /* CPU seconds (RLIMIT_CPU soft; hard = +1 s) */
    double   wall_sec;      /* wall clock, enforced by the supervisor */
    uint64_t memory_bytes;  /* address space (RLIMIT_AS) */
    uint64_t output_bytes;  /* stdout+stderr bytes kept; more stops the run */
    unsigned processes;     /* processes of the run; 1 = fork is denied */
    unsigned threads;       /* threads of the run (all processes together) */
    uint64_t fsize_bytes;   /* RLIMIT_FSIZE */
    unsigned nofile;        /* RLIMIT_NOFILE */
    uint64_t stack_bytes;   /* RLIMIT_STACK */
    uint64_t scratch_bytes; /* the private tmpfs of the run; 0: none */
    uint64_t out_files_bytes; /* files of out/ returned, all together */
} pysb_limits;

/* Bounds applied by pysb_limits_validate (inclusive). */
#define PYSB_MAX_CPU_SEC     86400.0
#define PYSB_MAX_WALL_SEC    86400.0
#define PYSB_MIN_MEMORY      (16ULL << 20)      /* CPython cannot start below */
#define PYSB_MAX_MEMORY      (1ULL << 40)
#define PYSB_MAX_OUTPUT      (1ULL << 32)
#define PYSB_MAX_TASKS       4096U
#define PYSB_MAX_NOFILE      65536U
#define PYSB_MIN_STACK       (64ULL << 10)
#define PYSB_MAX_STACK       (1ULL << 30)
#define PYSB_MAX_FSIZE       (1ULL << 40)
#define PYSB_MAX_SCRATCH     (16ULL << 30)     /* tmpfs pages are RAM */
#define PYSB_MAX_OUT_FILES   (16ULL << 20)     /* they travel in one frame each */

/* The one table of limits: every place that names a limit (validation, the
 * SPEC and RESULT payloads, request fields, ?info=1, the Location's
 * directives) walks it. Adding a limit is a field above and one row in
 * runlimits.c (plus a directive in httpd/conf.c if a Location sets it). */
typedef enum pysb_limit_kind {
    PYSB_LIMIT_SECONDS,     /* double; valid when > min (0) and <= max */
    PYSB_LIMIT_BYTES,       /* uint64_t; valid in [min, max] */
    PYSB_LIMIT_COUNT,       /* unsigned; valid in [min, max] */
} pysb_limit_kind;

enum {
    /* A request may ask for it, in a field of its name, up to the
     * Location's maximum (directive "default [max]"). */
    PYSB_LIMIT_PER_REQUEST = 1 << 0,
    /* In a result's "limits" object and in ?info=1. */
    PYSB_LIMIT_SHOWN       = 1 << 1,
};

typedef struct pysb_limit_def {
    const char     *key;        /* JSON key, request field, name in messages */
    pysb_limit_kind kind;
    size_t          offset;     /* of its field in pysb_limits */
    double          min, max;   /* bounds of pysb_limits_validate */
    double          def;        /* the engine default */
    unsigned        flags;      /* PYSB_LIMIT_* */
} pysb_limit_def;

extern const pysb_limit_def pysb_limit_table[];
extern const size_t pysb_limit_count;

/* The row named key[0..len), or NULL. */
const pysb_limit_def *pysb_limit_find(const char *key, size_t len);

/* A field through its row: seconds as double, bytes and counts as
 * uint64_t. pysb_limit_set_amount returns -1 (and sets nothing) for a count
 * above UINT_MAX, which a cast would wrap into range. */
double pysb_limit_seconds(const pysb_limits *l, const pysb_limit_def *d);
uint64_t pysb_limit_amount(const pysb_limits *l, const pysb_limit_def *d);
void pysb_limit_set_seconds(pysb_limits *l, const pysb_limit_def *d, double v);
int pysb_limit_set_amount(pysb_limits *l, const pysb_limit_def *d, uint64_t v);

/* The row's field of src into dst, the rest of dst unchanged. */
void pysb_limit_copy(pysb_limits *dst, const pysb_limits *src, const pysb_limit_def *d);

/* Parses text as the row's kind (a duration, a size, a whole number) into
 * its field of *l. Returns 0, or -1 with *err a static reason. Bounds are
 * not checked here (pysb_limit_check does). */
int pysb_limit_parse(const pysb_limit_def *d, const char *text, pysb_limits *l,
                     const char **err);

/* -1, 0 or 1 as the field of a is below, equal to or above that of b. */
int pysb_limit_compare(const pysb_limits *a, const pysb_limits *b,
                       const pysb_limit_def *d);

/* The field for a message: "2.5 seconds", "256M", "16". */
void pysb_limit_format(const pysb_limits *l, const pysb_limit_def *d, char *buf,
                       size_t len);

/* The field within its row's bounds? 0, or -1 with a one-line reason in err
 * (may be NULL), e.g. "memory must be between 16M and 1T". */
int pysb_limit_check(const pysb_limits *l, const pysb_limit_def *d, char *err,
                     size_t errlen);

/* The engine defaults (DESIGN §5), the table's def column. */
void pysb_limits_default(pysb_limits *l);

/* "123", "64K", "1.5M", "2G" (case-insensitive, optional trailing "B" or
 * "iB": "64KB", "64KiB"). Returns 0, or -1 with *err a static reason. */
int pysb_parse_size(const char *s, uint64_t *out, const char **err);

/* "5", "0.5", "2.25s", "1500ms". Returns 0, or -1 with *err. */
int pysb_parse_duration(const char *s, double *out, const char **err);

/* Plain decimal unsigned integer in [min, max]. */
int pysb_parse_uint(const char *s, unsigned long long min,
                    unsigned long long max, unsigned long long *out,
                    const char **err);

/* Every field in range (pysb_limit_check, table order). Returns 0, or -1
 * with the first failing field's reason in err (may be NULL). */
int pysb_limits_validate(const pysb_limits *l, char *err, size_t errlen);

/* Human form of a size for messages: "256M", "1536K", "1000". */
void pysb_format_size(uint64_t bytes, char *buf, size_t len);

#endif
