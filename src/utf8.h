/* utf8.h — the one UTF-8 module of the engine: what is valid, how invalid
 * bytes become U+FFFD, and where a byte stream may be cut between chunks
 * without splitting a character.
 *
 * Contract: valid means well-formed as Unicode defines it (no overlongs, no
 * surrogates, nothing above U+10FFFF) — exactly what jansson accepts as a
 * string and Python decodes without error. The sanitizer replaces each
 * maximal invalid subpart with one U+FFFD, as Python's
 * bytes.decode('utf-8', 'replace') does; NUL is a valid character. No
 * Apache headers. */
#ifndef PYSB_UTF8_H
#define PYSB_UTF8_H

#include <stddef.h>

/* 1 when buf is entirely valid UTF-8. */
int pysb_utf8_valid(const char *buf, size_t len);

/* Copy of buf with every invalid UTF-8 sequence replaced by U+FFFD.
 * Returns a malloc'd buffer (NUL-terminated, *out_len without it; out_len
 * may be NULL), or NULL when out of memory. */
char *pysb_utf8_sanitize(const char *buf, size_t len, size_t *out_len);

/* The length (1 or 2) of the control character (Unicode's Cc: C0, DEL,
 * C1 U+0080..U+009F) at buf[i], or 0 when there is none there. */
size_t pysb_utf8_control_at(const char *buf, size_t len, size_t i);

/* How many bytes (0..3) at the end of buf begin a character that buf does
 * not finish: a streamer holds them back until the next chunk instead of
 * sending them as U+FFFD. Bytes that can never start a character (C0, C1,
 * F5..FF) and stray continuation bytes are never held. */
size_t pysb_utf8_incomplete_tail(const char *buf, size_t len);

#endif
