/* infiles.c — input files and arguments of a request, copied and checked.
 *
 * Contract: see infiles.h. JSON shapes are read with jansson from the
 * text the body decoder kept (a top-level container's raw bytes). */
#include "infiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "scratch.h"
#include "utf8.h"

void pysb_inputs_init(pysb_inputs *in, unsigned max_files, uint64_t max_file_size)
{
    memset(in, 0, sizeof *in);
    in->max_files = max_files < PYSB_INPUTS_FILES ? max_files : PYSB_INPUTS_FILES;
    in->max_file_size = max_file_size;
}

void pysb_inputs_free(pysb_inputs *in)
{
    for (size_t i = 0; i < in->n_files; i++) {
        free((void *)in->files[i].name);
        free((void *)in->files[i].data);
    }
    for (size_t i = 0; i < in->n_args; i++)
        free((void *)in->args[i]);
    in->n_files = in->n_args = 0;
}

void pysb_inputs_drop_args(pysb_inputs *in)
{
    for (size_t i = 0; i < in->n_args; i++)
        free((void *)in->args[i]);
    in->n_args = 0;
    in->arg_bytes = 0;
    in->args[0] = NULL;
}

/* The name printable in a one-line reason, cut short: control characters
 * and quotes as '?', and valid UTF-8 in the end whatever the name's bytes
 * (a reason is a JSON string: one that is not UTF-8 would leave the error
 * body empty, attack-work F6). A character the cut would split, or bytes
 * that are no character, become '?' too. */
static void quote(char *out, size_t outlen, const char *name, size_t len)
{
    size_t n = 0, i = 0;
    while (i < len && n + 1 < outlen && n < 40) {
        unsigned char c = (unsigned char)name[i];
        size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (k > 1 && i + k <= len && n + k < outlen && n + k <= 40 &&
            pysb_utf8_valid(name + i, k)) {
            memcpy(out + n, name + i, k);
            n += k;
            i += k;
            continue;
        }
        out[n++] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
        i++;
    }
    out[n] = '\0';
}

int pysb_inputs_file(pysb_inputs *in, const char *name, size_t name_len, const char *data,
                     size_t len, char *why, size_t whylen)
{
    char q[48];
    quote(q, sizeof q, name, name_len);
    const char *bad = pysb_file_name_check(name, name_len);
    if (bad) {
        snprintf(why, whylen, "input file \"%s\": %s", q, bad);
        return 400;
    }
    if (in->n_files >= in->max_files) {
        snprintf(why, whylen, "more than %u input files", in->max_files);
        return 413;
    }
    if (len > in->max_file_size) {
        snprintf(why, whylen, "input file \"%s\" of %zu bytes is over this location's %llu",
                 q, len, (unsigned long long)in->max_file_size);
        return 413;
    }
    if (pysb_in_files_have(in->files, in->n_files, name, name_len)) {
        snprintf(why, whylen, "input file \"%s\" given twice", q);
        return 400;
    }
    char *n = strndup(name, name_len), *d = malloc(len ? len : 1);
    if (!n || !d) {
        free(n);
        free(d);
        snprintf(why, whylen, "out of memory");
        return 500;
    }
    memcpy(d, data, len);
    in->files[in->n_files++] = (pysb_in_file){ n, d, len };
    return 0;
}

int pysb_inputs_arg(pysb_inputs *in, const char *arg, size_t len, char *why, size_t whylen)
{
    if (in->n_args == PYSB_INPUTS_ARGS || in->arg_bytes + len > PYSB_INPUTS_ARG_BYTES) {
        snprintf(why, whylen, "args: more than %d arguments or %d bytes", PYSB_INPUTS_ARGS,
                 PYSB_INPUTS_ARG_BYTES);
        return 413;
    }
    if (memchr(arg, '\0', len) || !pysb_utf8_valid(arg, len)) {
        snprintf(why, whylen, "args[%zu] is not UTF-8 text without NUL", in->n_args);
        return 400;
    }
    char *a = strndup(arg, len);
    if (!a) {
        snprintf(why, whylen, "out of memory");
        return 500;
    }
    in->arg_bytes += len;
    in->args[in->n_args++] = a;
    in->args[in->n_args] = NULL;
    return 0;
}

/* ---- JSON ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 as files are sent: padding optional, ASCII whitespace
 * skipped (the 76-column lines of base64(1) and MIME, a final newline),
 * no other character, nothing but padding after padding. Returns the
 * decoded length into out (room for len * 3 / 4 + 3), or -1. */
static long b64_decode(const char *s, size_t len, unsigned char *out)
{
    long n = 0;
    unsigned acc = 0;
    int bits = 0, padded = 0;
    size_t sixtets = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            padded = 1;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || padded)
            return -1;
        sixtets++;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return sixtets % 4 == 1 ? -1 : n;
}

static json_t *load(const char *json, size_t len, int (*is)(const json_t *), const char *what,
                    char *why, size_t whylen)
{
    json_error_t je;
    json_t *v = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v && !strcmp(what, "files") && strstr(je.text, "duplicate object key")) {
        snprintf(why, whylen, "%s: a name given twice", what);
        return NULL;
    }
    if (!v || !is(v)) {
        snprintf(why, whylen, "%s must be %s", what,
                 !strcmp(what, "files") ? "an object of name: text or {\"base64\": ...}"
                                        : "an array of strings");
        json_decref(v);
        return NULL;
    }
    return v;
}

static int is_object(const json_t *v) { return json_is_object(v); }
static int is_array(const json_t *v) { return json_is_array(v); }

/* One member of "files": a string is its text; {"base64": s} its bytes. */
static int json_file(pysb_inputs *in, const char *name, size_t name_len, json_t *v, char *why,
                     size_t whylen)
{
    if (json_is_string(v))
        return pysb_inputs_file(in, name, name_len, json_string_value(v), json_string_length(v),
                                why, whylen);
    json_t *b = json_is_object(v) && json_object_size(v) == 1 ? json_object_get(v, "base64")
                                                              : NULL;
    char q[48];
    quote(q, sizeof q, name, name_len);
    if (!json_is_string(b)) {
        snprintf(why, whylen, "input file \"%s\": a string or {\"base64\": string}", q);
        return 400;
    }
    size_t blen = json_string_length(b);
    unsigned char *buf = malloc(blen / 4 * 3 + 3);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return 500;
    }
    long n = b64_decode(json_string_value(b), blen, buf);
    int rc = n < 0 ? 400
                   : pysb_inputs_file(in, name, name_len, (const char *)buf, (size_t)n, why, whylen);
    if (n < 0)
        snprintf(why, whylen, "input file \"%s\": malformed base64", q);
    free(buf);
    return rc;
}

int pysb_inputs_json_files(pysb_inputs *in, const char *json, size_t len, char *why,
                           size_t whylen)
{
    json_t *o = load(json, len, is_object, "files", why, whylen);
    if (!o)
        return 400;
    const char *name;
    size_t name_len;
    json_t *v;
    int rc = 0;
    json_object_keylen_foreach(o, name, name_len, v) {
        if ((rc = json_file(in, name, name_len, v, why, whylen)) != 0)
            break;
    }
    json_decref(o);
    return rc;
}

int pysb_inputs_json_args(pysb_inputs *in, const char *json, size_t len, char *why,
                          size_t whylen)
{
    json_t *a = load(json, len, is_array, "args", why, whylen);
    if (!a)
        return 400;
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            snprintf(why, whylen, "args[%zu] must be a string", i);
            rc = 400;
            break;
        }
        if ((rc = pysb_inputs_arg(in, json_string_value(v), json_string_length(v), why,
                                  whylen)) != 0)
            break;
    }
    json_decref(a);
    return rc;
}
