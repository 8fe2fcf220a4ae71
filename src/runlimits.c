/* runlimits.c — the table of limits, parsers for the sizes and durations
 * admins and users write, and the range check every run's limits go through.
 *
 * Contract: parsers read plain ASCII decimal only (their own scanner, not
 * strtod, so locale, hex, exponents, "inf" and "nan" can never slip in), take
 * no sign and no surrounding blanks, and fail with a static one-line reason.
 * Sizes are exact: "1.5K" is 1536 and a fraction of a byte is rounded down.
 * pysb_limits_validate names the first field out of range with its bounds. */
#include "runlimits.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define ROW(key, kind, field, min, max, def, flags) \
    { key, PYSB_LIMIT_##kind, offsetof(pysb_limits, field), min, max, def, flags }
#define REQ   PYSB_LIMIT_PER_REQUEST
#define SHOWN PYSB_LIMIT_SHOWN

/* Table order is struct order: validation reports the first field out of
 * range, and the JSON objects list the keys in this order. */
const pysb_limit_def pysb_limit_table[] = {
    ROW("cpu_time",  SECONDS, cpu_sec,      0, PYSB_MAX_CPU_SEC,  5,          REQ | SHOWN),
    ROW("wall_time", SECONDS, wall_sec,     0, PYSB_MAX_WALL_SEC, 10,         REQ | SHOWN),
    ROW("memory",    BYTES,   memory_bytes, PYSB_MIN_MEMORY, PYSB_MAX_MEMORY, 256 << 20, REQ | SHOWN),
    ROW("output",    BYTES,   output_bytes, 1, PYSB_MAX_OUTPUT,   1 << 20,    REQ | SHOWN),
    ROW("processes", COUNT,   processes,    1, PYSB_MAX_TASKS,    1,          SHOWN),
    ROW("threads",   COUNT,   threads,      1, PYSB_MAX_TASKS,    16,         SHOWN),
    ROW("fsize",     BYTES,   fsize_bytes,  1, PYSB_MAX_FSIZE,    8 << 20,    0),
    /* CPython opens a few files of its own before user code runs. */
    ROW("nofile",    COUNT,   nofile,       8, PYSB_MAX_NOFILE,   64,         0),
    ROW("stack",     BYTES,   stack_bytes,  PYSB_MIN_STACK, PYSB_MAX_STACK, 8 << 20, 0),
    /* 0: no scratch directory, nothing of the file system writable. */
    ROW("scratch",   BYTES,   scratch_bytes, 0, PYSB_MAX_SCRATCH, 16 << 20,   SHOWN),
    ROW("output_files", BYTES, out_files_bytes, 0, PYSB_MAX_OUT_FILES, 8 << 20, SHOWN),
};
const size_t pysb_limit_count = sizeof pysb_limit_table / sizeof pysb_limit_table[0];

const pysb_limit_def *pysb_limit_find(const char *key, size_t len)
{
    for (size_t i = 0; i < pysb_limit_count; i++)
        if (strlen(pysb_limit_table[i].key) == len &&
            memcmp(pysb_limit_table[i].key, key, len) == 0)
            return &pysb_limit_table[i];
    return NULL;
}

/* memcpy: the table knows each field's type only by its kind. */
double pysb_limit_seconds(const pysb_limits *l, const pysb_limit_def *d)
{
    double v;
    memcpy(&v, (const char *)l + d->offset, sizeof v);
    return v;
}

uint64_t pysb_limit_amount(const pysb_limits *l, const pysb_limit_def *d)
{
    const char *p = (const char *)l + d->offset;
    if (d->kind == PYSB_LIMIT_COUNT) {
        unsigned v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

void pysb_limit_set_seconds(pysb_limits *l, const pysb_limit_def *d, double v)
{
    memcpy((char *)l + d->offset, &v, sizeof v);
}

int pysb_limit_set_amount(pysb_limits *l, const pysb_limit_def *d, uint64_t v)
{
    char *p = (char *)l + d->offset;
    if (d->kind == PYSB_LIMIT_COUNT) {
        if (v > UINT_MAX)
            return -1;
        unsigned u = (unsigned)v;
        memcpy(p, &u, sizeof u);
        return 0;
    }
    memcpy(p, &v, sizeof v);
    return 0;
}

void pysb_limit_copy(pysb_limits *dst, const pysb_limits *src, const pysb_limit_def *d)
{
    if (d->kind == PYSB_LIMIT_SECONDS)
        pysb_limit_set_seconds(dst, d, pysb_limit_seconds(src, d));
    else
        pysb_limit_set_amount(dst, d, pysb_limit_amount(src, d));
}

void pysb_limits_default(pysb_limits *l)
{
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (d->kind == PYSB_LIMIT_SECONDS)
            pysb_limit_set_seconds(l, d, d->def);
        else
            pysb_limit_set_amount(l, d, (uint64_t)d->def);
    }
}

/* Parsers report through this so callers may pass err == NULL. */
static int fail(const char **err, const char *why)
{
    if (err)
        *err = why;
    return -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Accumulates one decimal digit; -1 on uint64 overflow. */
static int add_digit(uint64_t *n, char c)
{
    uint64_t d = (uint64_t)(c - '0');
    if (*n > (UINT64_MAX - d) / 10)
        return -1;
    *n = *n * 10 + d;
    return 0;
}

/* Digits beyond this many after the point cannot change floor(frac * 2^40):
 * any j / 2^k (k <= 40) has at most 40 decimals, so truncating the fraction
 * to 64 digits never moves it across such a boundary. */
#define FRAC_DIGITS_MAX 64

/* floor(0.d1d2...dn * 2^shift), exact: double the decimal fraction shift
 * times in place, each carry out of the first digit being the next bit. */
static uint64_t frac_times_pow2(const char *digits, size_t n, unsigned shift)
{
    unsigned char d[FRAC_DIGITS_MAX];
    uint64_t bits = 0;

    if (n > FRAC_DIGITS_MAX)
        n = FRAC_DIGITS_MAX;
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)(digits[i] - '0');
    for (unsigned s = 0; s < shift; s++) {
        unsigned carry = 0;
        for (size_t i = n; i-- > 0;) {
            unsigned v = d[i] * 2u + carry;
            d[i] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        bits = (bits << 1) | carry;
    }
    return bits;
}

int pysb_parse_size(const char *s, uint64_t *out, const char **err)
{
    static const char bad[] = "not a size (use e.g. 256M)";
    uint64_t whole = 0;
    const char *frac = NULL;
    size_t frac_len = 0;
    unsigned shift = 0;
    const char *p = s;

    if (!s || !*s)
        return fail(err, "empty size (use e.g. 256M)");
    /* A leading digit rules out signs, blanks, "inf", "nan" and ".5". */
    if (!is_digit(*p))
        return fail(err, bad);
    for (; is_digit(*p); p++) {
        if (add_digit(&whole, *p) < 0)
            return fail(err, "size too large");
    }
    if (*p == '.') {
        frac = ++p;
        while (is_digit(*p))
            p++;
        frac_len = (size_t)(p - frac);
        if (frac_len == 0)
            return fail(err, bad);
    }

    switch (ascii_lower(*p)) {
    case 'k': shift = 10; p++; break;
    case 'm': shift = 20; p++; break;
    case 'g': shift = 30; p++; break;
    case 't': shift = 40; p++; break;
    default: break;
    }
    if (shift && ascii_lower(p[0]) == 'i' && ascii_lower(p[1]) == 'b')
        p += 2;
    else if (ascii_lower(*p) == 'b')
        p++;
    if (*p != '\0')
        return fail(err, bad);
    if (frac && !shift)
        return fail(err, "a size in bytes takes no decimals (use e.g. 1.5M)");

    if (shift && whole > (UINT64_MAX >> shift))
        return fail(err, "size too large");
    whole <<= shift;
    if (frac) {
        uint64_t part = frac_times_pow2(frac, frac_len, shift);
        if (part > UINT64_MAX - whole)
            return fail(err, "size too large");
        whole += part;
    }
    *out = whole;
    return 0;
}

/* Exact powers of ten as doubles (10^22 is the last one a double holds). */
static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Significant digits kept: below 2^53, so the mantissa converts exactly and
 * a single division rounds the result correctly. */
#define DURATION_DIGITS_MAX 15

/* Far above any bound validation accepts (callers get that message for
 * plausible typos), low enough that the mantissa never overflows. */
#define DURATION_MAX 1e12

int pysb_parse_duration(const char *s, double *out, const char **err)
{
    static const char bad[] = "not a duration (use e.g. 5, 0.5 or 1500ms)";
    uint64_t mant = 0;
    unsigned sig = 0;       /* significant digits taken into mant */
    unsigned scale = 0;     /* decimals taken into mant */
    int whole_too_big = 0;
    const char *p = s;

    if (!s || !*s)
        return fail(err, "empty duration (use e.g. 5 or 0.5)");
    if (!is_digit(*p))
        return fail(err, bad);
    for (; is_digit(*p); p++) {
        if (mant == 0 && *p == '0')
            continue;               /* leading zeros are not significant */
        if (sig == DURATION_DIGITS_MAX) {
            whole_too_big = 1;
            continue;
        }
        mant = mant * 10 + (uint64_t)(*p - '0');
        sig++;
    }
    if (*p == '.') {
        const char *frac = ++p;
        for (; is_digit(*p); p++) {
            if (sig == DURATION_DIGITS_MAX)
                continue;           /* below the precision of a double */
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant)
                sig++;
            scale++;
        }
        if (p == frac)
            return fail(err, bad);
    }

    if (*p == 's' || *p == 'S') {
        p++;
    } else if (ascii_lower(p[0]) == 'm' && ascii_lower(p[1]) == 's') {
        p += 2;
        scale += 3;
    }
    if (*p != '\0')
        return fail(err, bad);
    if (whole_too_big)
        return fail(err, "duration too large");
    /* Leading zeros of a fraction ("0.000…01") can push scale past the
     * table; they only make the value tinier. */
    double v = (double)mant;
    while (scale > 22) {
        v /= 1e22;
        scale -= 22;
    }
    v /= pow10_exact[scale];
    if (!(v <= DURATION_MAX))
        return fail(err, "duration too large");
    *out = v;
    return 0;
}

int pysb_parse_uint(const char *s, unsigned long long min,
                    unsigned long long max, unsigned long long *out,
                    const char **err)
{
    uint64_t n = 0;
    const char *p = s;

    if (!s || !*s)
        return fail(err, "empty number");
    for (; is_digit(*p); p++) {
        if (add_digit(&n, *p) < 0)
            return fail(err, "number out of range");
    }
    if (p == s || *p != '\0')
        return fail(err, "not a whole number");
    if (n < min || n > max)
        return fail(err, "number out of range");
    *out = n;
    return 0;
}

void pysb_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const struct { unsigned shift; char unit; } units[] = {
        { 40, 'T' }, { 30, 'G' }, { 20, 'M' }, { 10, 'K' },
    };

    if (len == 0)
        return;
    if (bytes != 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            uint64_t mask = (1ULL << units[i].shift) - 1;
            if ((bytes & mask) == 0) {
                snprintf(buf, len, "%llu%c",
                         (unsigned long long)(bytes >> units[i].shift),
                         units[i].unit);
                return;
            }
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

int pysb_limit_parse(const pysb_limit_def *d, const char *text, pysb_limits *l,
                     const char **err)
{
    double sec;
    uint64_t n;
    unsigned long long u;

    switch (d->kind) {
    case PYSB_LIMIT_SECONDS:
        if (pysb_parse_duration(text, &sec, err) < 0)
            return -1;
        pysb_limit_set_seconds(l, d, sec);
        return 0;
    case PYSB_LIMIT_BYTES:
        if (pysb_parse_size(text, &n, err) < 0)
            return -1;
        return pysb_limit_set_amount(l, d, n);
    case PYSB_LIMIT_COUNT:
        if (pysb_parse_uint(text, 0, UINT_MAX, &u, err) < 0)
            return -1;
        return pysb_limit_set_amount(l, d, u);
    }
    return fail(err, "unknown kind of limit");
}

int pysb_limit_compare(const pysb_limits *a, const pysb_limits *b,
                       const pysb_limit_def *d)
{
    if (d->kind == PYSB_LIMIT_SECONDS) {
        double x = pysb_limit_seconds(a, d), y = pysb_limit_seconds(b, d);
        return x < y ? -1 : x > y;
    }
    uint64_t x = pysb_limit_amount(a, d), y = pysb_limit_amount(b, d);
    return x < y ? -1 : x > y;
}

void pysb_limit_format(const pysb_limits *l, const pysb_limit_def *d, char *buf,
                       size_t len)
{
    if (d->kind == PYSB_LIMIT_SECONDS) {
        double sec = pysb_limit_seconds(l, d);
        snprintf(buf, len, "%g second%s", sec, sec == 1 ? "" : "s");
    }
    else if (d->kind == PYSB_LIMIT_BYTES)
        pysb_format_size(pysb_limit_amount(l, d), buf, len);
    else
        snprintf(buf, len, "%llu", (unsigned long long)pysb_limit_amount(l, d));
}

int pysb_limit_check(const pysb_limits *l, const pysb_limit_def *d, char *err,
                     size_t errlen)
{
    char scratch[8], lo[32], hi[32];

    /* Callers may pass no buffer when only the verdict matters. */
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (d->kind == PYSB_LIMIT_SECONDS) {
        double v = pysb_limit_seconds(l, d);
        /* Written so that NaN fails too. */
        if (v > d->min && v <= d->max)
            return 0;
        snprintf(err, errlen, "%s must be > 0 and at most %g seconds", d->key, d->max);
        return -1;
    }
    uint64_t v = pysb_limit_amount(l, d);
    if (v >= (uint64_t)d->min && v <= (uint64_t)d->max)
        return 0;
    if (d->kind == PYSB_LIMIT_BYTES) {
        pysb_format_size((uint64_t)d->min, lo, sizeof lo);
        pysb_format_size((uint64_t)d->max, hi, sizeof hi);
    } else {
        snprintf(lo, sizeof lo, "%llu", (unsigned long long)d->min);
        snprintf(hi, sizeof hi, "%llu", (unsigned long long)d->max);
    }
    snprintf(err, errlen, "%s must be between %s and %s", d->key, lo, hi);
    return -1;
}

int pysb_limits_validate(const pysb_limits *l, char *err, size_t errlen)
{
    for (size_t i = 0; i < pysb_limit_count; i++)
        if (pysb_limit_check(l, &pysb_limit_table[i], err, errlen) < 0)
            return -1;
    if (err && errlen > 0)
        err[0] = '\0';
    return 0;
}
