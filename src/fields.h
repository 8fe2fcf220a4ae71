/* fields.h — the fields of a run request, whatever encoding brought them,
 * checked against what a Location allows, and that Location's description
 * (?info=1).
 *
 * Contract: a request is a set of name/value pairs (DESIGN §4): code (alias
 * user_script), stdin, format, info, files and args (issue 10: their
 * values are infiles.h's), and one field per limit a request may
 * ask for (the rows of the limits table marked per-request: cpu_time,
 * wall_time, memory, output). A later pair of the same name replaces an
 * earlier one (body fields are set after query fields, so they win); an
 * empty limit field is one not given (an HTML form sends its empty inputs
 * so), the Location's default applies. Any
 * other name is refused with 400 (a typo such as cpu_limit=1 would
 * otherwise run with the defaults), unless the Location says to ignore
 * them (PySandboxUnknownFields ignore, for forms with extra inputs).
 * Values are not copied: they must outlive the pysb_fields. Checking gives
 * either a run request within the Location's bounds or an HTTP status (400
 * or 413) with a one-line reason that names the field. No Apache headers:
 * the module's encodings hand their pairs to this file, and the unit tests
 * drive it directly. */
#ifndef PYSB_FIELDS_H
#define PYSB_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "render.h"
#include "runlimits.h"

/* What a Location allows: its limits (default, and the most a request may
 * ask for), the sizes of code and stdin, GET, the default format, and
 * whether names that are no field are refused (the default) or ignored. */
typedef struct pysb_location {
    pysb_limits def, max;
    uint64_t    max_code, max_stdin;
    unsigned    max_files;          /* input files a request may send */
    uint64_t    max_file_size;      /* bytes of each */
    int         allow_get;
    pysb_format default_format;
    int         ignore_unknown;
    int         warm;                 /* PySandboxStart warm */
    const char *const *preload;       /* PySandboxPreload; NULL: none */
} pysb_location;

typedef struct pysb_field {
    const char *data;
    size_t      len;
    int         set;
    size_t      over;   /* 0, or the size of a value too large to be kept
                           (data is then "", len 0) */
} pysb_field;

#define PYSB_FIELDS_LIMIT_MAX 16   /* rows of the limits table, at most */

typedef struct pysb_fields {
    pysb_field code, stdin_data, format, info;
    pysb_field files, args;     /* JSON only: the text of an object, an array
                                   (forms send files as parts, args repeated;
                                   infiles.h takes them) */
    pysb_field limit[PYSB_FIELDS_LIMIT_MAX];    /* by row of pysb_limit_table */
    char       unknown[64];     /* the first name that is no field, printable */
    int        has_unknown;
} pysb_fields;

/* What a checked request asks for. code and stdin point into the fields'
 * values. */
typedef struct pysb_run_request {
    pysb_limits limits;
    const char *code;
    size_t      code_len;
    const char *stdin_data;     /* NULL when no stdin was given */
    size_t      stdin_len;
} pysb_run_request;

void pysb_fields_init(pysb_fields *f);

/* Records name=value. Returns 1 when the name is a field, 0 when it is not
 * (then only the first such name is kept, for pysb_fields_names). */
int pysb_fields_set(pysb_fields *f, const char *name, size_t name_len,
                    const char *value, size_t len);

/* Records name as given with a value of size bytes that its reader did
 * not keep, being over pysb_fields_cap: checking refuses it with 413
 * naming the size. Returns what pysb_fields_set does. */
int pysb_fields_set_oversize(pysb_fields *f, const char *name, size_t name_len, size_t size);

/* The most bytes a value of the field named can need at loc: code
 * max_code, stdin max_stdin, files every file in base64 (pysb_files_cap),
 * args PYSB_INPUTS_ARG_BYTES with JSON's quoting, any other field
 * PYSB_FIELD_VALUE_MAX; 0 for a name that is no field. A body reader
 * keeps no more. */
#define PYSB_FIELD_VALUE_MAX 256
size_t pysb_fields_cap(const pysb_location *loc, const char *name, size_t name_len);
uint64_t pysb_files_cap(const pysb_location *loc);

/* 1 when name is a field. */
int pysb_fields_known(const char *name, size_t name_len);

/* 1 when a JSON number is a fine value for the field named (a limit). */
int pysb_fields_numeric(const char *name, size_t name_len);

/* A JSON number (a double) as the field text a form would send: the
 * shortest decimal that reads back as the same double, in plain notation
 * (0.5, 0.0000001 for 1e-07, 1500 for 1.5e3), never an exponent, which
 * the limit parsers do not take. Returns 0, or -1 when the number is too
 * far from 1 for that (beyond 1e±40) or not finite: then buf holds
 * "%.17g" text, which the parser refuses with its own reason. */
int pysb_fields_number_text(double v, char *buf, size_t len);

/* The response format: the format field, else the Accept header (may be
 * NULL), else the Location's default. Returns 0, or 400 with a reason (an
 * unknown format= names the ones there are) — *out is then the default. */
int pysb_fields_format(const pysb_fields *f, const pysb_location *loc, const char *accept,
                       pysb_format *out, char *why, size_t whylen);

/* Every name a field? 0, or 400 with a reason naming the first that is
 * not and listing those there are — unless the Location ignores them. */
int pysb_fields_names(const pysb_fields *f, const pysb_location *loc, char *why,
                      size_t whylen);

/* A GET that asks for the Location's description rather than a run: info
 * given, or no code and an Accept naming application/json. */
int pysb_fields_wants_info(const pysb_fields *f, const char *accept);

/* The run the fields ask for, within the Location's bounds: 0 with *out
 * set, or 400 (no code, code not UTF-8, a limit that does not parse or is
 * above the Location's maximum) or 413 (code or stdin over the Location's
 * size) with a one-line reason. */
int pysb_fields_request(const pysb_fields *f, const pysb_location *loc,
                        pysb_run_request *out, char *why, size_t whylen);

/* ?info=1: the Location's limits (default and max per request limit, the
 * others as values), sizes, GET, formats — one line of JSON, malloc'd;
 * NULL when out of memory. */
char *pysb_location_info(const pysb_location *loc);

#endif
