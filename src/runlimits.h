/* runlimits.h — the resource limits of one run, and the parsing and validation
 * of the values admins and users write for them.
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

/* The engine defaults (DESIGN §5). */
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

/* Every field in range. Returns 0, or -1 with a one-line reason in err
 * naming the field, e.g. "memory must be between 16M and 1T". */
int pysb_limits_validate(const pysb_limits *l, char *err, size_t errlen);

/* Human form of a size for messages: "256M", "1536K", "1000". */
void pysb_format_size(uint64_t bytes, char *buf, size_t len);

#endif
