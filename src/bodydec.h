/* bodydec.h — request bodies decoded as they arrive, for the two
 * encodings whose size and shape a client chooses freely:
 * application/x-www-form-urlencoded and application/json.
 *
 * Contract: one pass over the bytes as they come, with no allocation per
 * element, keeping only what a field can use: the decoded value of each
 * top-level name whose cap (asked of the owner) is above 0, up to that
 * cap, in a buffer of its own mapping (membuf.h: freed memory goes back
 * to the kernel). A value over its cap is decoded to its end but not
 * kept: the owner is told its whole length (over), so it can refuse it
 * with the exact size. A name with cap 0 (no field) costs nothing but
 * its first 64 bytes, kept to name it in a refusal.
 *
 * Form: '&'-separated name=value pairs, '+' and %XX decoded (as form.h);
 * a malformed escape is refused (400). JSON (RFC 8259, UTF-8): the body
 * must be one object; its members are the fields; strings are decoded
 * (escapes, surrogate pairs; \u0000 allowed, the fields refuse NUL where
 * it matters), numbers kept as their text, true/false/null reported by
 * kind; a top-level container is reported by kind, its contents checked,
 * and kept as its JSON text as sent (up to the cap) when its name has a
 * cap (issue 10's files and args), else dropped. The owner refuses what a
 * field cannot be. Both count values (a form's pairs; every JSON value,
 * containers included) against max_values and JSON nesting against
 * max_depth: past either the body is refused at once (413, 400), before
 * it is all read. A known (cap > 0) top-level JSON key given twice is
 * refused (400). Refusals come as an HTTP status and a one-line reason.
 * A finished field's value stays valid until pysb_bodydec_free; one given
 * again replaces it (the same buffer is reused). No Apache headers. */
#ifndef PYSB_BODYDEC_H
#define PYSB_BODYDEC_H

#include <stddef.h>

typedef enum pysb_body_kind { PYSB_BODY_FORM, PYSB_BODY_JSON } pysb_body_kind;

/* What a top-level value was. A form's values are strings. */
typedef enum pysb_value_kind {
    PYSB_VAL_STRING, PYSB_VAL_NUMBER, PYSB_VAL_TRUE, PYSB_VAL_FALSE, PYSB_VAL_NULL,
    PYSB_VAL_OBJECT, PYSB_VAL_ARRAY,
} pysb_value_kind;

typedef struct pysb_body_sink {
    /* Bytes a value of this top-level name may keep; 0: none. name_len
     * may exceed what is passed (a name longer than 64 bytes is cut):
     * then the name is no field, whatever its start. */
    size_t (*cap)(void *ctx, const char *name, size_t name_len);
    /* A finished top-level field. value is never NULL; over is 0, or the
     * whole decoded length of a value that exceeded its cap (value is
     * then "", len 0). */
    void (*field)(void *ctx, const char *name, size_t name_len, pysb_value_kind kind,
                  const char *value, size_t len, size_t over);
    void *ctx;
} pysb_body_sink;

/* Names are kept up to this many bytes. */
#define PYSB_BODY_NAME_MAX 64

typedef struct pysb_bodydec pysb_bodydec;

/* NULL when out of memory. sink is copied. */
pysb_bodydec *pysb_bodydec_new(pysb_body_kind kind, const pysb_body_sink *sink,
                               size_t max_values, int max_depth);

/* More of the body: 0, or a refusal's HTTP status (400, 413; 500 when out
 * of memory), after which the decoder takes nothing more. */
int pysb_bodydec_feed(pysb_bodydec *d, const char *p, size_t n);

/* The body ended: 0, or a refusal's status (a JSON body cut short). */
int pysb_bodydec_end(pysb_bodydec *d);

/* The reason of the refusal, "" if none. */
const char *pysb_bodydec_error(const pysb_bodydec *d);

/* Frees the decoder and every value it kept. */
void pysb_bodydec_free(pysb_bodydec *d);

#endif
