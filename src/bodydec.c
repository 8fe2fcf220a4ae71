/* bodydec.c — urlencoded and JSON bodies, decoded as they arrive.
 *
 * Contract: see bodydec.h. Both decoders are byte-at-a-time state machines
 * (the state between two chunks is a handful of integers), writing the
 * decoded bytes of the current top-level name and value through one path
 * (put) that keeps what the cap allows and counts the rest. */
#include "bodydec.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "membuf.h"

/* Distinct kept names a body may carry (the fields with a cap, twice over). */
#define SLOTS 32
/* Nesting a JSON body may ever have, whatever max_depth says. */
#define DEPTH_MAX 16

typedef struct slot {
    char        name[PYSB_BODY_NAME_MAX];
    size_t      name_len;
    pysb_membuf buf;
    int         seen;               /* given in this body (JSON: twice is refused) */
} slot;

/* Where decoded bytes go. */
enum target { T_NONE, T_NAME, T_VALUE };

/* What JSON expects next, outside a token. */
enum expect {
    E_TOP, E_KEY_OR_CLOSE, E_KEY, E_COLON, E_VALUE, E_VALUE_OR_CLOSE, E_COMMA_OR_CLOSE, E_END,
};

/* The token being read. */
enum lexeme { LX_NONE, LX_STRING, LX_NUMBER, LX_LITERAL };

/* Number grammar: after what. */
enum num { N_START, N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

struct pysb_bodydec {
    pysb_body_kind kind;
    pysb_body_sink sink;
    size_t         max_values, values;
    int            max_depth;
    int            status;
    char           err[200];
    slot           slots[SLOTS];
    int            nslots;

    /* the current top-level name and value */
    char           name[PYSB_BODY_NAME_MAX];
    size_t         name_len;        /* whole length; only the first bytes kept */
    enum target    target;
    slot          *cur;             /* where the value is kept, or NULL */
    size_t         cap, vlen;       /* its cap; its decoded length so far */
    pysb_value_kind vkind;
    int            raw;             /* a kept container: its bytes as sent */

    /* form */
    int            in_value;        /* past the '=' */
    int            pct;             /* 0, or 1/2 after '%' and one hex digit */
    int            hex;
    int            pair;            /* the pair has begun */

    /* json */
    enum expect    expect;
    enum lexeme    lex;
    int            depth;
    char           stack[DEPTH_MAX + 1];    /* 'o' or 'a' per level */
    int            esc;             /* after '\' */
    int            udigits;         /* hex digits of \u still to come (0: not in one) */
    unsigned       uval, hi;        /* the \u value; a high surrogate waiting */
    int            want_low;        /* 1: '\' of its low half, 2: its 'u' */
    int            u8need;          /* continuation bytes still to come */
    unsigned char  u8lo, u8hi;      /* the next one's range */
    enum num       num;
    const char    *word;            /* the literal being matched */
    int            wpos;
    long           line, col;
    int            bom;             /* bytes of a leading byte order mark read;
                                       3 once past where one may be */
};

static int fail(pysb_bodydec *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(pysb_bodydec *d, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    d->status = status;
    return status;
}

static int bad_json(pysb_bodydec *d, const char *what)
{
    return fail(d, 400, "invalid JSON at line %ld, column %ld: %s", d->line, d->col, what);
}

pysb_bodydec *pysb_bodydec_new(pysb_body_kind kind, const pysb_body_sink *sink,
                               size_t max_values, int max_depth)
{
    pysb_bodydec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->kind = kind;
    d->sink = *sink;
    d->max_values = max_values;
    d->max_depth = max_depth < DEPTH_MAX ? max_depth : DEPTH_MAX;
    d->expect = E_TOP;
    d->line = 1;
    return d;
}

void pysb_bodydec_free(pysb_bodydec *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nslots; i++)
        pysb_membuf_free(&d->slots[i].buf);
    free(d);
}

const char *pysb_bodydec_error(const pysb_bodydec *d)
{
    return d->err;
}

/* ---- the current name and value ------------------------------------------ */

static int count_value(pysb_bodydec *d)
{
    if (++d->values <= d->max_values)
        return 0;
    return fail(d, 413, d->kind == PYSB_BODY_FORM ? "form body of more than %zu fields"
                                                  : "JSON body of more than %zu values",
                d->max_values);
}

/* Bytes of the current value, kept while they fit its cap. */
static int keep(pysb_bodydec *d, const char *p, size_t n)
{
    if (d->cur && d->vlen + n <= d->cap && pysb_membuf_append(&d->cur->buf, p, n) < 0)
        return fail(d, 500, "out of memory decoding the body");
    d->vlen += n;
    return 0;
}

/* Decoded bytes of the name or the value; inside a container that is a
 * top-level value (JSON depth > 1), nothing decoded is kept (a kept
 * container keeps its raw bytes instead, json_feed). */
static int put(pysb_bodydec *d, const char *p, size_t n)
{
    if (d->depth > 1)
        return 0;
    if (d->target == T_NAME) {
        for (size_t i = 0; i < n && d->name_len + i < sizeof d->name; i++)
            d->name[d->name_len + i] = p[i];
        d->name_len += n;
    } else if (d->target == T_VALUE) {
        return keep(d, p, n);
    }
    return 0;
}

static int put1(pysb_bodydec *d, char c)
{
    return put(d, &c, 1);
}

static void begin_name(pysb_bodydec *d)
{
    d->name_len = 0;
    d->target = T_NAME;
}

/* The value of the name just read starts: where it is kept, if anywhere.
 * Returns 0, or 400 for a known JSON key given again. */
static int begin_value(pysb_bodydec *d, pysb_value_kind kind)
{
    size_t kept = d->name_len < sizeof d->name ? d->name_len : sizeof d->name;
    d->cap = d->sink.cap(d->sink.ctx, d->name, d->name_len);
    if (d->name_len > sizeof d->name)
        d->cap = 0;             /* cut: no field has such a name */
    d->cur = NULL;
    d->vlen = 0;
    d->vkind = kind;
    d->target = T_VALUE;
    if (d->cap == 0)
        return 0;
    slot *s = NULL;
    for (int i = 0; i < d->nslots && !s; i++)
        if (d->slots[i].name_len == kept && !memcmp(d->slots[i].name, d->name, kept))
            s = &d->slots[i];
    if (!s) {
        if (d->nslots == SLOTS)
            return fail(d, 400, "more than %d distinct fields", SLOTS);
        s = &d->slots[d->nslots++];
        memcpy(s->name, d->name, kept);
        s->name_len = kept;
    } else if (s->seen && d->kind == PYSB_BODY_JSON) {
        return fail(d, 400, "invalid JSON: the key \"%.*s\" is given twice", (int)kept, d->name);
    }
    s->seen = 1;
    s->buf.len = 0;             /* a value given again replaces the last */
    d->cur = s;
    return 0;
}

static void end_value(pysb_bodydec *d)
{
    size_t kept = d->name_len < sizeof d->name ? d->name_len : sizeof d->name;
    int over = d->cur && d->vlen > d->cap;
    const char *v = d->cur && !over ? pysb_membuf_data(&d->cur->buf) : "";
    size_t len = d->cur && !over ? d->cur->buf.len : 0;
    d->sink.field(d->sink.ctx, d->name, d->name_len > kept ? d->name_len : kept, d->vkind, v,
                  len, over ? d->vlen : 0);
    d->target = T_NONE;
    d->cur = NULL;
    d->raw = 0;
}

/* ---- application/x-www-form-urlencoded ------------------------------------ */

static int form_end_pair(pysb_bodydec *d)
{
    if (d->pct)
        return fail(d, 400, "malformed %%-escape in the form body");
    if (!d->pair)
        return 0;               /* "a=1&&b=2": an empty pair is none */
    if (!d->in_value && begin_value(d, PYSB_VAL_STRING))
        return d->status;
    end_value(d);
    d->pair = d->in_value = 0;
    return 0;
}

static int form_feed(pysb_bodydec *d, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '&') {
            if (form_end_pair(d))
                return d->status;
            continue;
        }
        if (!d->pair) {
            if (count_value(d))
                return d->status;
            d->pair = 1;
            begin_name(d);
        }
        if (d->pct) {
            int h = pysb_form_hexval(c);
            if (h < 0)
                return fail(d, 400, "malformed %%-escape in the form body");
            if (d->pct == 1) {
                d->hex = h;
                d->pct = 2;
                continue;
            }
            d->pct = 0;
            if (put1(d, (char)(d->hex * 16 + h)))
                return d->status;
        } else if (c == '%') {
            d->pct = 1;
        } else if (c == '=' && !d->in_value) {
            d->in_value = 1;
            if (begin_value(d, PYSB_VAL_STRING))
                return d->status;
        } else {
            /* a run of plain bytes at once */
            size_t j = i;
            while (j < n && p[j] != '&' && p[j] != '%' && p[j] != '+' &&
                   (d->in_value || p[j] != '='))
                j++;
            if (j == i) {       /* '+' */
                if (put1(d, ' '))
                    return d->status;
                continue;
            }
            if (put(d, p + i, j - i))
                return d->status;
            i = j - 1;
        }
    }
    return 0;
}

/* ---- application/json -------------------------------------------------------- */

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A code point as UTF-8, into the current target. */
static int put_cp(pysb_bodydec *d, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return put(d, b, n);
}

/* A value begins (its first byte seen): counted, and at the top level of
 * the object the field's value. */
static int value_begins(pysb_bodydec *d, pysb_value_kind kind)
{
    if (count_value(d))
        return d->status;
    if (d->depth == 1 && begin_value(d, kind))
        return d->status;
    return 0;
}

/* A value ended: what comes after it. */
static void value_ends(pysb_bodydec *d)
{
    if (d->depth == 1 && d->target == T_VALUE)
        end_value(d);
    d->expect = d->depth == 0 ? E_END : E_COMMA_OR_CLOSE;
}

static int open_container(pysb_bodydec *d, char c)
{
    if (d->expect == E_TOP && c != '{')
        return fail(d, 400, "the JSON body must be an object");
    if (d->depth > 0 && value_begins(d, c == '{' ? PYSB_VAL_OBJECT : PYSB_VAL_ARRAY))
        return d->status;
    /* A top-level field's container with a cap: kept as JSON text. */
    if (d->depth == 1 && d->cur)
        d->raw = 1;
    if (d->depth == 0 && count_value(d))
        return d->status;
    if (d->depth >= d->max_depth)
        return fail(d, 400, "JSON nested deeper than %d levels", d->max_depth);
    d->stack[++d->depth] = c == '{' ? 'o' : 'a';
    d->expect = c == '{' ? E_KEY_OR_CLOSE : E_VALUE_OR_CLOSE;
    return 0;
}

static int close_container(pysb_bodydec *d, char c)
{
    if ((c == '}') != (d->stack[d->depth] == 'o'))
        return bad_json(d, c == '}' ? "'}' closes an array" : "']' closes an object");
    d->depth--;
    value_ends(d);
    return 0;
}

static int string_begins(pysb_bodydec *d)
{
    d->lex = LX_STRING;
    d->esc = d->udigits = d->want_low = 0;
    d->hi = 0;
    d->u8need = 0;
    if (d->expect == E_KEY || d->expect == E_KEY_OR_CLOSE) {
        if (d->depth == 1)
            begin_name(d);
        return 0;
    }
    d->expect = E_VALUE;        /* checked by the caller */
    return value_begins(d, PYSB_VAL_STRING);
}

static void string_ends(pysb_bodydec *d)
{
    d->lex = LX_NONE;
    if (d->expect == E_KEY || d->expect == E_KEY_OR_CLOSE) {
        d->expect = E_COLON;
        if (d->target == T_NAME)
            d->target = T_NONE;
        return;
    }
    value_ends(d);
}

/* One byte inside a string. */
static int string_byte(pysb_bodydec *d, unsigned char c)
{
    if (d->u8need) {
        if (c < d->u8lo || c > d->u8hi)
            return bad_json(d, "invalid UTF-8 in a string");
        d->u8lo = 0x80;
        d->u8hi = 0xBF;
        d->u8need--;
        return put1(d, (char)c);
    }
    if (d->want_low == 1) {
        if (c != '\\')
            return bad_json(d, "a high surrogate without its low half");
        d->want_low = 2;
        return 0;
    }
    if (d->want_low == 2) {
        if (c != 'u')
            return bad_json(d, "a high surrogate without its low half");
        d->want_low = 0;
        d->udigits = 4;
        d->uval = 0;
        return 0;
    }
    if (d->udigits) {
        int h = pysb_form_hexval((char)c);
        if (h < 0)
            return bad_json(d, "invalid \\u escape");
        d->uval = d->uval * 16 + (unsigned)h;
        if (--d->udigits)
            return 0;
        unsigned u = d->uval;
        if (d->hi) {
            if (u < 0xDC00 || u > 0xDFFF)
                return bad_json(d, "a high surrogate without its low half");
            unsigned cp = 0x10000 + ((d->hi - 0xD800) << 10) + (u - 0xDC00);
            d->hi = 0;
            return put_cp(d, cp);
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
            d->hi = u;
            d->want_low = 1;
            return 0;
        }
        if (u >= 0xDC00 && u <= 0xDFFF)
            return bad_json(d, "a low surrogate alone");
        return put_cp(d, u);
    }
    if (d->esc) {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        d->esc = 0;
        if (c == 'u') {
            d->udigits = 4;
            d->uval = 0;
            return 0;
        }
        const char *e = c ? memchr(from, c, sizeof from - 1) : NULL;
        if (!e)
            return bad_json(d, "invalid escape in a string");
        return put1(d, to[e - from]);
    }
    if (c == '"') {
        string_ends(d);
        return 0;
    }
    if (c == '\\') {
        d->esc = 1;
        return 0;
    }
    if (c < 0x20)
        return bad_json(d, "a control character in a string");
    if (c >= 0x80) {
        /* the first byte of a sequence: how many follow, and the range of
         * the next one (no overlongs, no surrogates, nothing past U+10FFFF) */
        d->u8lo = 0x80;
        d->u8hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            d->u8need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            d->u8need = 2;
            if (c == 0xE0)
                d->u8lo = 0xA0;
            if (c == 0xED)
                d->u8hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            d->u8need = 3;
            if (c == 0xF0)
                d->u8lo = 0x90;
            if (c == 0xF4)
                d->u8hi = 0x8F;
        } else {
            return bad_json(d, "invalid UTF-8 in a string");
        }
    }
    return put1(d, (char)c);
}

/* One byte of a number; returns 1 when c is not part of it (the number
 * ended before c), 0 when taken, or a status. */
static int number_byte(pysb_bodydec *d, char c)
{
    enum num n = d->num;
    int digit = c >= '0' && c <= '9';
    enum num next;
    if (c == '-' && n == N_START)
        next = N_MINUS;
    else if (digit)
        next = n == N_START || n == N_MINUS ? (c == '0' ? N_ZERO : N_INT)
             : n == N_ZERO  ? N_ZERO   /* checked below */
             : n == N_INT   ? N_INT
             : n == N_DOT || n == N_FRAC ? N_FRAC
             : N_EXP;
    else if (c == '.' && (n == N_ZERO || n == N_INT))
        next = N_DOT;
    else if ((c == 'e' || c == 'E') && (n == N_ZERO || n == N_INT || n == N_FRAC))
        next = N_E;
    else if ((c == '+' || c == '-') && n == N_E)
        next = N_ESIGN;
    else {
        if (n != N_ZERO && n != N_INT && n != N_FRAC && n != N_EXP)
            return bad_json(d, "a malformed number");
        d->lex = LX_NONE;
        value_ends(d);
        return 1;
    }
    if (digit && n == N_ZERO)
        return bad_json(d, "a number with a leading zero");
    d->num = next;
    return put1(d, c) ? d->status : 0;
}

static int json_byte(pysb_bodydec *d, char c)
{
    /* A UTF-8 byte order mark before the object (what some editors and
     * Windows tools write): RFC 8259 lets a parser ignore it; it is no
     * column of the text. */
    if (d->bom < 3) {
        static const unsigned char mark[3] = { 0xEF, 0xBB, 0xBF };
        if ((unsigned char)c == mark[d->bom]) {
            d->bom++;
            return 0;
        }
        if (d->bom) {
            d->col = 1;
            return bad_json(d, "a broken byte order mark");
        }
        d->bom = 3;
    }
    if (c == '\n') {
        d->line++;
        d->col = 0;
    }
    d->col++;
    if (d->lex == LX_STRING)
        return string_byte(d, (unsigned char)c);
    if (d->lex == LX_NUMBER) {
        int r = number_byte(d, c);
        if (r != 1)
            return r;
    }
    if (d->lex == LX_LITERAL) {
        if (c != d->word[d->wpos])
            return bad_json(d, "an unknown literal");
        if (!d->word[++d->wpos]) {
            d->lex = LX_NONE;
            value_ends(d);
        }
        return 0;
    }
    if (is_ws(c))
        return 0;
    switch (d->expect) {
    case E_TOP:
        return open_container(d, c);
    case E_END:
        return bad_json(d, "more after the object");
    case E_COLON:
        if (c != ':')
            return bad_json(d, "':' expected after a key");
        d->expect = E_VALUE;
        return 0;
    case E_COMMA_OR_CLOSE:
        if (c == ',') {
            d->expect = d->stack[d->depth] == 'o' ? E_KEY : E_VALUE;
            return 0;
        }
        if (c == '}' || c == ']')
            return close_container(d, c);
        return bad_json(d, "',' or the end of the object or array expected");
    case E_KEY_OR_CLOSE:
        if (c == '}')
            return close_container(d, c);
        /* fall through */
    case E_KEY:
        if (c != '"')
            return bad_json(d, "a key (a string) expected");
        return string_begins(d);
    case E_VALUE_OR_CLOSE:
        if (c == ']')
            return close_container(d, c);
        /* fall through */
    case E_VALUE:
        break;
    }
    /* a value */
    if (c == '{' || c == '[')
        return open_container(d, c);
    if (c == '"')
        return string_begins(d);
    if (c == '-' || (c >= '0' && c <= '9')) {
        if (value_begins(d, PYSB_VAL_NUMBER))
            return d->status;
        d->lex = LX_NUMBER;
        d->num = N_START;
        return number_byte(d, c) == 1 ? bad_json(d, "a malformed number") : d->status;
    }
    static const struct { const char *word; pysb_value_kind kind; } lit[] = {
        { "true", PYSB_VAL_TRUE }, { "false", PYSB_VAL_FALSE }, { "null", PYSB_VAL_NULL },
    };
    for (size_t i = 0; i < sizeof lit / sizeof *lit; i++)
        if (c == lit[i].word[0]) {
            if (value_begins(d, lit[i].kind))
                return d->status;
            d->lex = LX_LITERAL;
            d->word = lit[i].word;
            d->wpos = 1;
            return 0;
        }
    return bad_json(d, "a value expected");
}

static int json_feed(pysb_bodydec *d, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* a run of plain string bytes at once */
        if (d->lex == LX_STRING && !d->esc && !d->udigits && !d->want_low && !d->u8need) {
            size_t j = i;
            while (j < n && p[j] != '"' && p[j] != '\\' && (unsigned char)p[j] >= 0x20 &&
                   (unsigned char)p[j] < 0x80 && p[j] != '\n')
                j++;
            if (j > i) {
                if (put(d, p + i, j - i) || (d->raw && keep(d, p + i, j - i)))
                    return d->status;
                d->col += (long)(j - i);
                i = j - 1;
                continue;
            }
        }
        /* A kept container's bytes as sent, its opening bracket too. */
        int was_raw = d->raw;
        if (was_raw && keep(d, p + i, 1))
            return d->status;
        if (json_byte(d, p[i]))
            return d->status;
        if (!was_raw && d->raw && keep(d, p + i, 1))
            return d->status;
    }
    return 0;
}

/* ---- both --------------------------------------------------------------------- */

int pysb_bodydec_feed(pysb_bodydec *d, const char *p, size_t n)
{
    if (d->status)
        return d->status;
    return d->kind == PYSB_BODY_FORM ? form_feed(d, p, n) : json_feed(d, p, n);
}

int pysb_bodydec_end(pysb_bodydec *d)
{
    if (d->status)
        return d->status;
    if (d->kind == PYSB_BODY_FORM)
        return form_end_pair(d);
    if (d->expect == E_TOP)
        return fail(d, 400, "invalid JSON: the body is empty");
    if (d->expect != E_END)
        return bad_json(d, "the body ends inside the object");
    return 0;
}
