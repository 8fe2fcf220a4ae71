/* mime.h — the type of a file a run left, from its name and its content;
 * never the program's word.
 *
 * Contract: the extension names a candidate type, which the content must
 * confirm (magic bytes for images, PDF, zip; all of it valid UTF-8
 * without NUL for text types); otherwise the file is text/plain (UTF-8
 * text) or application/octet-stream. *attachment is set for every type a
 * browser would run or render as a document of its own (SVG, HTML, XML,
 * JavaScript, PDF, zip, anything unknown): those are served as downloads,
 * never inline. No Apache headers. */
#ifndef PYSB_MIME_H
#define PYSB_MIME_H

#include <stddef.h>

/* data: the whole file, n bytes. */
const char *pysb_guess_mime(const char *name, const unsigned char *data, size_t n,
                            int *attachment);

#endif
