/* form.c — splitting and decoding a urlencoded query string.
 *
 * Contract: see form.h. Malformed escapes are an error, not passed
 * through, so "%zz" can never turn into something the program sees. */
#include "form.h"

#include <string.h>

int pysb_form_next(const char **cursor, const char *end, const char **name,
                   size_t *name_len, const char **value, size_t *value_len)
{
    const char *p = *cursor;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop == p) { /* empty pair */
            p = stop + 1;
            continue;
        }
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        *name = p;
        *name_len = (size_t)((eq ? eq : stop) - p);
        *value = eq ? eq + 1 : stop;
        *value_len = eq ? (size_t)(stop - eq - 1) : 0;
        *cursor = amp ? amp + 1 : end;
        return 1;
    }
    *cursor = end;
    return 0;
}

int pysb_form_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int pysb_form_decode(const char *in, size_t len, char *out, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '+') {
            out[o++] = ' ';
        } else if (in[i] == '%') {
            if (len - i < 3)
                return -1; /* truncated escape */
            int h = pysb_form_hexval(in[i + 1]), l = pysb_form_hexval(in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    *out_len = o;
    return 0;
}
