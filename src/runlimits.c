/* runlimits.c — engine defaults, parsers for the sizes and durations admins and
 * users write, and the range check every run's limits go through.
 *
 * Contract: parsers read plain ASCII decimal only (their own scanner, not
 * strtod, so locale, hex, exponents, "inf" and "nan" can never slip in), take
 * no sign and no surrounding blanks, and fail with a static one-line reason.
 * Sizes are exact: "1.5K" is 1536 and a fraction of a byte is rounded down.
 * pysb_limits_validate names the first field out of range with its bounds. */
#include "runlimits.h"

#include <stdio.h>
#include <string.h>

void pysb_limits_default(pysb_limits *l)
{
    memset(l, 0, sizeof *l);
    l->cpu_sec = 5.0;
    l->wall_sec = 10.0;
    l->memory_bytes = 256ULL << 20;
    l->output_bytes = 1ULL << 20;
    l->processes = 1;
    l->threads = 16;
    l->fsize_bytes = 8ULL << 20;
    l->nofile = 64;
    l->stack_bytes = 8ULL << 20;
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

static int size_out_of_range(const char *field, uint64_t v, uint64_t min,
                             uint64_t max, char *err, size_t errlen)
{
    char lo[32], hi[32];

    if (v >= min && v <= max)
        return 0;
    pysb_format_size(min, lo, sizeof lo);
    pysb_format_size(max, hi, sizeof hi);
    snprintf(err, errlen, "%s must be between %s and %s", field, lo, hi);
    return 1;
}

static int count_out_of_range(const char *field, unsigned v, unsigned min,
                              unsigned max, char *err, size_t errlen)
{
    if (v >= min && v <= max)
        return 0;
    snprintf(err, errlen, "%s must be between %u and %u", field, min, max);
    return 1;
}

static int seconds_out_of_range(const char *field, double v, double max,
                                char *err, size_t errlen)
{
    /* Written so that NaN fails too. */
    if (v > 0 && v <= max)
        return 0;
    snprintf(err, errlen, "%s must be > 0 and at most %g seconds", field, max);
    return 1;
}

int pysb_limits_validate(const pysb_limits *l, char *err, size_t errlen)
{
    char scratch[8];

    /* Callers may pass no buffer when only the verdict matters. */
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (seconds_out_of_range("cpu_time", l->cpu_sec, PYSB_MAX_CPU_SEC,
                             err, errlen) ||
        seconds_out_of_range("wall_time", l->wall_sec, PYSB_MAX_WALL_SEC,
                             err, errlen) ||
        size_out_of_range("memory", l->memory_bytes, PYSB_MIN_MEMORY,
                          PYSB_MAX_MEMORY, err, errlen) ||
        size_out_of_range("output", l->output_bytes, 1, PYSB_MAX_OUTPUT,
                          err, errlen) ||
        count_out_of_range("processes", l->processes, 1, PYSB_MAX_TASKS,
                           err, errlen) ||
        count_out_of_range("threads", l->threads, 1, PYSB_MAX_TASKS,
                           err, errlen) ||
        size_out_of_range("fsize", l->fsize_bytes, 1, PYSB_MAX_FSIZE,
                          err, errlen) ||
        /* CPython opens a few files of its own before user code runs. */
        count_out_of_range("nofile", l->nofile, 8, PYSB_MAX_NOFILE,
                           err, errlen) ||
        size_out_of_range("stack", l->stack_bytes, PYSB_MIN_STACK,
                          PYSB_MAX_STACK, err, errlen))
        return -1;
    err[0] = '\0';
    return 0;
}
