/* utf8.c — the one UTF-8 module (Unicode's Table 3-7, the maximal-subpart
 * rule of U+FFFD substitution).
 *
 * Contract: see utf8.h. Pure functions of their bytes; no allocation but
 * the sanitizer's result. */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the sequence at s[0..len): > 0 a valid character of that many
 * bytes; < 0 an invalid maximal subpart of -n bytes (one U+FFFD). The
 * ranges are Unicode's Table 3-7, which excludes overlongs, surrogates and
 * code points above U+10FFFF by the second byte already. */
static int utf8_step(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    int need;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return -1;          /* stray continuation byte, C0/C1, F5..FF */
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= len || s[i] < lo || s[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

int pysb_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;

    while (i < len) {
        int n = utf8_step(s + i, len - i);
        if (n < 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

static const char replacement[3] = { '\xEF', '\xBF', '\xBD' };

char *pysb_utf8_sanitize(const char *buf, size_t len, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t need = 0, i = 0, o = 0;
    char *out;

    /* Measure first: the output is rarely bigger, so no 3x allocation. */
    while (i < len) {
        int n = utf8_step(s + i, len - i);
        if (n > 0) {
            need += (size_t)n;
            i += (size_t)n;
        } else {
            if (need > SIZE_MAX - 4)
                return NULL;
            need += sizeof replacement;
            i += (size_t)-n;
        }
    }
    out = malloc(need + 1);
    if (!out)
        return NULL;
    for (i = 0; i < len;) {
        int n = utf8_step(s + i, len - i);
        if (n > 0) {
            memcpy(out + o, buf + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        } else {
            memcpy(out + o, replacement, sizeof replacement);
            o += sizeof replacement;
            i += (size_t)-n;
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

size_t pysb_utf8_incomplete_tail(const char *buf, size_t len)
{
    /* Look back at most 3 bytes for the lead byte of the last sequence. */
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)buf[len - back];
        if ((c & 0xC0) == 0x80)
            continue;
        /* Bytes that never start a sequence (C0, C1, F5-FF) are invalid
         * now: nothing to wait for. */
        size_t need = c >= 0xF5 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3
                    : c >= 0xC2 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

size_t pysb_utf8_control_at(const char *buf, size_t len, size_t i)
{
    unsigned char c = (unsigned char)buf[i];
    if (c < 0x20 || c == 0x7f)
        return 1;
    if (c == 0xc2 && i + 1 < len && (unsigned char)buf[i + 1] >= 0x80 &&
        (unsigned char)buf[i + 1] <= 0x9f)
        return 2;
    return 0;
}
