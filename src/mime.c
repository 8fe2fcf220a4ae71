/* mime.c — a file's type from its extension, confirmed by its content.
 *
 * Contract: see mime.h. */
#include "mime.h"

#include <string.h>
#include <strings.h>

#include "utf8.h"

static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && name[n - e - 1] == '.' && !strcasecmp(name + n - e, ext);
}

/* UTF-8 without NUL, all of it: a file whose bad bytes come late (or that
 * ends inside a character) is no text to show as one. */
static int looks_text(const unsigned char *h, size_t n)
{
    return !memchr(h, 0, n) && pysb_utf8_valid((const char *)h, n);
}

const char *pysb_guess_mime(const char *name, const unsigned char *data, size_t n,
                            int *attachment)
{
    static const struct {
        const char *ext, *mime, *magic;
        size_t magic_len, magic_off;
        int attach;
    } t[] = {
        { "png", "image/png", "\x89PNG\r\n\x1a\n", 8, 0, 0 },
        { "jpg", "image/jpeg", "\xff\xd8\xff", 3, 0, 0 },
        { "jpeg", "image/jpeg", "\xff\xd8\xff", 3, 0, 0 },
        { "gif", "image/gif", "GIF8", 4, 0, 0 },
        { "webp", "image/webp", "WEBP", 4, 8, 0 },
        { "pdf", "application/pdf", "%PDF-", 5, 0, 1 },
        { "zip", "application/zip", "PK\x03\x04", 4, 0, 1 },
        /* text types: the content must be text */
        { "svg", "image/svg+xml", NULL, 0, 0, 1 },
        { "html", "text/html", NULL, 0, 0, 1 },
        { "htm", "text/html", NULL, 0, 0, 1 },
        { "xml", "application/xml", NULL, 0, 0, 1 },
        { "js", "text/javascript", NULL, 0, 0, 1 },
        { "csv", "text/csv", NULL, 0, 0, 0 },
        { "tsv", "text/tab-separated-values", NULL, 0, 0, 0 },
        { "json", "application/json", NULL, 0, 0, 0 },
        { "txt", "text/plain", NULL, 0, 0, 0 },
        { "md", "text/markdown", NULL, 0, 0, 0 },
        { "py", "text/x-python", NULL, 0, 0, 0 },
        { "log", "text/plain", NULL, 0, 0, 0 },
    };
    /* Once, whatever asks: all of the file is read for it (a binary file
     * fails at its first byte that is no UTF-8). */
    int text = looks_text(data, n);
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (!has_ext(name, t[i].ext))
            continue;
        int ok = t[i].magic ? n >= t[i].magic_off + t[i].magic_len &&
                                  !memcmp(data + t[i].magic_off, t[i].magic, t[i].magic_len)
                            : text;
        if (!ok)
            break;
        *attachment = t[i].attach;
        return t[i].mime;
    }
    if (text) {
        *attachment = 0;
        return "text/plain";
    }
    *attachment = 1;
    return "application/octet-stream";
}
