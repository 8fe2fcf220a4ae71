/* fields.c — request fields to a run request, within a Location's bounds.
 *
 * Contract: see fields.h. The field names of the limits are the keys of the
 * limits table, so a limit added there is a request field without an edit
 * here. Reasons quote the value as sent; values are parsed from a NUL-ended
 * copy (a NUL inside one is refused by name). */
#include "fields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "infiles.h"
#include "scratch.h"
#include "utf8.h"

void pysb_fields_init(pysb_fields *f)
{
    memset(f, 0, sizeof *f);
}

/* The per-request row named name, or NULL. */
static const pysb_limit_def *request_limit(const char *name, size_t len)
{
    const pysb_limit_def *d = pysb_limit_find(name, len);
    return d && (d->flags & PYSB_LIMIT_PER_REQUEST) ? d : NULL;
}

static int is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* The field a name sets, or NULL for a name that is no field. */
static pysb_field *slot_of(pysb_fields *f, const char *name, size_t name_len)
{
    const pysb_limit_def *d;
    /* user_script: the classic form's name for the program. */
    if (is(name, name_len, "code") || is(name, name_len, "user_script"))
        return &f->code;
    if (is(name, name_len, "stdin"))
        return &f->stdin_data;
    if (is(name, name_len, "format"))
        return &f->format;
    if (is(name, name_len, "info"))
        return &f->info;
    if (is(name, name_len, "files"))
        return &f->files;
    if (is(name, name_len, "args"))
        return &f->args;
    if ((d = request_limit(name, name_len)) != NULL)
        return &f->limit[d - pysb_limit_table];
    return NULL;
}

int pysb_fields_set(pysb_fields *f, const char *name, size_t name_len,
                    const char *value, size_t len)
{
    pysb_field *slot = slot_of(f, name, name_len);
    if (!slot) {
        if (!f->has_unknown) {
            /* Quoted in a one-line reason: printable ASCII, cut short. */
            size_t n = name_len < sizeof f->unknown - 1 ? name_len : sizeof f->unknown - 1;
            for (size_t i = 0; i < n; i++)
                f->unknown[i] = name[i] >= 0x20 && name[i] < 0x7f && name[i] != '"'
                                    ? name[i] : '?';
            f->unknown[n] = '\0';
            f->has_unknown = 1;
        }
        return 0;
    }
    *slot = (pysb_field){ value, len, 1, 0 };
    return 1;
}

int pysb_fields_set_oversize(pysb_fields *f, const char *name, size_t name_len, size_t size)
{
    if (!pysb_fields_set(f, name, name_len, "", 0))
        return 0;
    slot_of(f, name, name_len)->over = size;
    return 1;
}

size_t pysb_fields_cap(const pysb_location *loc, const char *name, size_t name_len)
{
    if (is(name, name_len, "code") || is(name, name_len, "user_script"))
        return (size_t)loc->max_code;
    if (is(name, name_len, "stdin"))
        return (size_t)loc->max_stdin;
    if (is(name, name_len, "files"))
        return (size_t)pysb_files_cap(loc);
    if (is(name, name_len, "args"))
        return PYSB_INPUTS_ARG_BYTES * 6 + 4 * PYSB_INPUTS_ARGS + 2;  /* \uXXXX, "", */
    return pysb_fields_known(name, name_len) ? PYSB_FIELD_VALUE_MAX : 0;
}

uint64_t pysb_files_cap(const pysb_location *loc)
{
    /* base64 (4/3, and its padding), a name and its quoting per file */
    return (uint64_t)loc->max_files * ((loc->max_file_size + 2) / 3 * 4 + 8 * PYSB_FILE_NAME_MAX + 32) + 2;
}

int pysb_fields_names(const pysb_fields *f, const pysb_location *loc, char *why,
                      size_t whylen)
{
    if (!f->has_unknown || loc->ignore_unknown)
        return 0;
    char limits[128] = "";
    for (size_t i = 0, n = 0; i < pysb_limit_count; i++)
        if (pysb_limit_table[i].flags & PYSB_LIMIT_PER_REQUEST)
            n += (size_t)snprintf(limits + n, n < sizeof limits ? sizeof limits - n : 0, ", %s",
                                  pysb_limit_table[i].key);
    snprintf(why, whylen, "unknown field \"%s\" (the fields are code or user_script, "
             "stdin%s, format, info, files, args)", f->unknown, limits);
    return 400;
}

int pysb_fields_known(const char *name, size_t name_len)
{
    pysb_fields probe;
    return slot_of(&probe, name, name_len) != NULL;
}

int pysb_fields_numeric(const char *name, size_t name_len)
{
    return request_limit(name, name_len) != NULL;
}

/* Decimal exponents pysb_fields_number_text writes out in full. */
#define NUMBER_EXP_MAX 40

int pysb_fields_number_text(double v, char *buf, size_t len)
{
    char e[40];
    int prec = 1;
    /* The shortest %e that reads back as v: its digits and exponent. */
    for (; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", prec - 1, v);
    char *x = strchr(e, 'e');
    long exp = x ? strtol(x + 1, NULL, 10) : 0;
    if (!x || !isfinite(v) || exp > NUMBER_EXP_MAX || exp < -NUMBER_EXP_MAX ||
        len < 2 * NUMBER_EXP_MAX + 24) {
        snprintf(buf, len, "%.17g", v);
        return -1;
    }
    char digits[24];
    size_t nd = 0;
    for (const char *p = e; p < x; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    size_t n = 0;
    if (v < 0)
        buf[n++] = '-';
    if (exp < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (long i = -1; i > exp; i--)
            buf[n++] = '0';
        memcpy(buf + n, digits, nd);
        n += nd;
    } else {
        /* exp + 1 digits before the point, zeros if the digits run out */
        for (long i = 0; i <= exp; i++)
            buf[n++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)exp + 1 < nd) {
            buf[n++] = '.';
            memcpy(buf + n, digits + exp + 1, nd - (size_t)exp - 1);
            n += nd - (size_t)exp - 1;
        }
    }
    buf[n] = '\0';
    return 0;
}

int pysb_fields_format(const pysb_fields *f, const pysb_location *loc, const char *accept,
                       pysb_format *out, char *why, size_t whylen)
{
    *out = loc->default_format;
    if (f->format.set) {
        int fmt = pysb_format_from_name(f->format.data, f->format.len);
        if (fmt < 0) {
            snprintf(why, whylen, "format must be one of text, json, ndjson, sse");
            return 400;
        }
        *out = fmt;
        return 0;
    }
    int fmt = pysb_format_from_accept(accept);
    if (fmt >= 0)
        *out = fmt;
    return 0;
}

/* info=0 (false, no, off) asks for no description, as a switch would. */
static int says_no(const pysb_field *v)
{
    static const char *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (v->len == strlen(no[i]) && !strncasecmp(v->data, no[i], v->len))
            return 1;
    return 0;
}

int pysb_fields_wants_info(const pysb_fields *f, const char *accept)
{
    if (f->info.set)
        return !says_no(&f->info);
    return !f->code.set && accept && strstr(accept, "application/json");
}

/* One limit field into *l, checked against the Location's maximum. */
static int request_one(const pysb_field *v, const pysb_limit_def *d, const pysb_limits *max,
                       pysb_limits *l, char *why, size_t whylen)
{
    const char *err = "contains a NUL byte";
    char *text = malloc(v->len + 1), bound[48];
    int status = 0;

    if (!text) {
        snprintf(why, whylen, "%s: out of memory", d->key);
        return 400;
    }
    memcpy(text, v->data, v->len);
    text[v->len] = '\0';
    if (memchr(v->data, '\0', v->len) || pysb_limit_parse(d, text, l, &err) < 0) {
        snprintf(why, whylen, "%s: %s", d->key, err);
        status = 400;
    } else if (d->kind == PYSB_LIMIT_SECONDS && !(pysb_limit_seconds(l, d) > 0)) {
        snprintf(why, whylen, "%s must be above 0", d->key);
        status = 400;
    } else if (pysb_limit_compare(l, max, d) > 0) {
        pysb_limit_format(max, d, bound, sizeof bound);
        snprintf(why, whylen, "%s %s is above this location's maximum of %s", d->key, text,
                 bound);
        status = 400;
    }
    free(text);
    return status;
}

int pysb_fields_request(const pysb_fields *f, const pysb_location *loc,
                        pysb_run_request *out, char *why, size_t whylen)
{
    const pysb_field *code = &f->code, *in = &f->stdin_data;

    memset(out, 0, sizeof *out);
    if (!code->set) {
        snprintf(why, whylen, "no code: send the program as the field \"code\"");
        return 400;
    }
    /* over: the size of a value its reader counted but did not keep */
    size_t code_len = code->over ? code->over : code->len;
    size_t in_len = in->over ? in->over : in->len;
    if (code_len > loc->max_code) {
        snprintf(why, whylen, "code of %lu bytes is over this location's %lu",
                 (unsigned long)code_len, (unsigned long)loc->max_code);
        return 413;
    }
    if (in->set && in_len > loc->max_stdin) {
        snprintf(why, whylen, "stdin of %lu bytes is over this location's %lu",
                 (unsigned long)in_len, (unsigned long)loc->max_stdin);
        return 413;
    }
    /* A bad number, however long (DESIGN §4): 400, as one that fits. */
    for (size_t i = 0; i < pysb_limit_count && i < PYSB_FIELDS_LIMIT_MAX; i++)
        if (f->limit[i].over) {
            snprintf(why, whylen, "%s of %lu bytes is longer than any value it can have",
                     pysb_limit_table[i].key, (unsigned long)f->limit[i].over);
            return 400;
        }
    if (!pysb_utf8_valid(code->data, code->len)) {
        snprintf(why, whylen, "the code is not valid UTF-8 text");
        return 400;
    }
    /* A NUL is valid UTF-8, but no Python source may hold one. */
    const char *nul = memchr(code->data, '\0', code->len);
    if (nul) {
        snprintf(why, whylen, "the code holds a NUL byte (at byte %lu): Python source cannot",
                 (unsigned long)(nul - code->data));
        return 400;
    }
    out->limits = loc->def;
    for (size_t i = 0; i < pysb_limit_count && i < PYSB_FIELDS_LIMIT_MAX; i++) {
        int status;
        /* Empty is not given: what an empty input of a form sends. */
        if (f->limit[i].set && f->limit[i].len > 0 &&
            (status = request_one(&f->limit[i], &pysb_limit_table[i], &loc->max,
                                  &out->limits, why, whylen)) != 0)
            return status;
    }
    if (pysb_limits_validate(&out->limits, why, whylen) < 0)
        return 400;
    out->code = code->data;
    out->code_len = code->len;
    out->stdin_data = in->set ? in->data : NULL;
    out->stdin_len = in->set ? in->len : 0;
    return 0;
}

/* A limit's value as JSON: seconds real, sizes and counts integers. */
static json_t *limit_value(const pysb_limits *l, const pysb_limit_def *d)
{
    return d->kind == PYSB_LIMIT_SECONDS ? json_real(pysb_limit_seconds(l, d))
                                         : json_integer((json_int_t)pysb_limit_amount(l, d));
}

char *pysb_location_info(const pysb_location *loc)
{
    json_t *o = json_object();
    int bad = !o;

    for (size_t i = 0; !bad && i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (!(d->flags & PYSB_LIMIT_SHOWN))
            continue;
        json_t *v = !(d->flags & PYSB_LIMIT_PER_REQUEST)
                        ? limit_value(&loc->def, d)
                        : json_pack("{s:o, s:o}", "default", limit_value(&loc->def, d),
                                    "max", limit_value(&loc->max, d));
        bad |= json_object_set_new(o, d->key, v);
    }
    json_t *formats = json_array();
    for (int fmt = 0; formats && fmt < PYSB_FMT_COUNT; fmt++)
        bad |= json_array_append_new(formats, json_string(pysb_format_name(fmt)));
    if (!bad)
        bad |= json_object_set_new(o, "max_code_size", json_integer((json_int_t)loc->max_code)) |
               json_object_set_new(o, "max_stdin_size", json_integer((json_int_t)loc->max_stdin)) |
               json_object_set_new(o, "max_files", json_integer((json_int_t)loc->max_files)) |
               json_object_set_new(o, "max_file_size",
                                   json_integer((json_int_t)loc->max_file_size)) |
               json_object_set_new(o, "allow_get", json_boolean(loc->allow_get)) |
               json_object_set_new(o, "default_format",
                                   json_string(pysb_format_name(loc->default_format))) |
               json_object_set_new(o, "formats", formats);
    else
        json_decref(formats);
    json_t *pre = json_array();
    for (size_t i = 0; pre && loc->preload && loc->preload[i]; i++)
        bad |= json_array_append_new(pre, json_string(loc->preload[i]));
    if (!bad)
        bad |= json_object_set_new(o, "start", json_string(loc->warm ? "warm" : "cold")) |
               json_object_set_new(o, "preload", pre);
    else
        json_decref(pre);
    char *j = bad ? NULL
                  : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    return j;
}
