/* form.h — the query-string half of application/x-www-form-urlencoded:
 * splitting "a=1&b=2" and decoding '+' and %XX, binary-safe.
 *
 * Contract: request bodies in that encoding are decoded as they arrive
 * (bodydec.h, with the same rules); the query string (GET ?user_script=…,
 * and the limit and format fields that accompany a text/plain body) comes
 * here, because httpd's own ap_args_to_table neither decodes '+' nor keeps
 * lengths. No allocation: the caller decodes into its own buffer. */
#ifndef PYSB_FORM_H
#define PYSB_FORM_H

#include <stddef.h>

/* Next "name=value" pair of the raw query in [*cursor, end): sets the raw
 * (still encoded) name and value slices and advances *cursor. Empty pairs
 * ("a=1&&b=2") are skipped; a pair without '=' has an empty value.
 * Returns 1 for a pair, 0 at the end. */
int pysb_form_next(const char **cursor, const char *end, const char **name,
                   size_t *name_len, const char **value, size_t *value_len);

/* Decodes len bytes of in ('+' → space, %XX → byte) into out, which must
 * hold len bytes; *out_len receives the decoded length (out is not
 * NUL-terminated). Returns 0, or -1 for a malformed escape ("%G1", "%4"). */
int pysb_form_decode(const char *in, size_t len, char *out, size_t *out_len);

/* The value of a hex digit, or -1. */
int pysb_form_hexval(char c);

#endif
