/* infiles.h — a request's input files and arguments (issue 10 point 3),
 * whatever encoding brought them, checked against a Location's caps.
 *
 * Contract: files come as (name, bytes) pairs — a multipart part — or as
 * the text of a JSON object {"name": "text", "name": {"base64": "..."}};
 * arguments one at a time — a repeated form field — or as the text of a
 * JSON array of strings. Each is copied (the request's buffers may go
 * before the run is sent), its name checked by pysb_file_name_check's
 * rules, no name twice; more than max_files files or a file over
 * max_file_size is 413, a bad name, a bad argument (NUL, not UTF-8) or a
 * malformed JSON shape 400, each with a one-line reason naming it. At most
 * PYSB_INPUTS_ARGS arguments of PYSB_INPUTS_ARG_BYTES bytes in all. No
 * Apache headers. */
#ifndef PYSB_INFILES_H
#define PYSB_INFILES_H

#include <stddef.h>
#include <stdint.h>

#include "supervise.h"   /* pysb_in_file */

#define PYSB_INPUTS_FILES     64      /* the most a Location may allow */
#define PYSB_INPUTS_ARGS      64
#define PYSB_INPUTS_ARG_BYTES 16384

typedef struct pysb_inputs {
    pysb_in_file files[PYSB_INPUTS_FILES];
    size_t       n_files;
    const char  *args[PYSB_INPUTS_ARGS + 1];    /* NULL-terminated */
    size_t       n_args, arg_bytes;
    unsigned     max_files;
    uint64_t     max_file_size;
} pysb_inputs;

/* Empty, with the Location's caps (max_files at most PYSB_INPUTS_FILES). */
void pysb_inputs_init(pysb_inputs *in, unsigned max_files, uint64_t max_file_size);

/* One file. Returns 0, or 400/413 with a reason; ENOMEM is 500. */
int pysb_inputs_file(pysb_inputs *in, const char *name, size_t name_len, const char *data,
                     size_t len, char *why, size_t whylen);

/* One argument. Returns 0, or 400/413 with a reason. */
int pysb_inputs_arg(pysb_inputs *in, const char *arg, size_t len, char *why, size_t whylen);

/* The JSON text of "files" (an object) or "args" (an array). Returns 0,
 * or 400/413 with a reason. */
int pysb_inputs_json_files(pysb_inputs *in, const char *json, size_t len, char *why,
                           size_t whylen);
int pysb_inputs_json_args(pysb_inputs *in, const char *json, size_t len, char *why,
                          size_t whylen);

/* Frees every copy. */
void pysb_inputs_free(pysb_inputs *in);
/* Forgets the arguments given so far (the files stay). */
void pysb_inputs_drop_args(pysb_inputs *in);

#endif
