/* jobe.h — Jobe's REST API (issue 13, github.com/trampgeek/jobe) without
 * Apache: the routes, a run_spec read into a run, the program that runs
 * it, and the run's verdict as Jobe's result object.
 *
 * Contract:
 * - Routes: "…/restapi/languages", "…/restapi/runs", "…/restapi/files/ID"
 *   (ID [A-Za-z0-9]{1,200}) under any prefix ("/jobe/index.php" or
 *   "/jobe"), trailing slashes ignored, as Jobe's router does.
 * - Every error body is a JSON string (Jobe's encoding), with Jobe's texts
 *   where Jobe has one ("Language 'x' is not known").
 * - A run_spec becomes a pysb_jobe_run: limits from the Location's
 *   defaults and Jobe's parameters (cputime in s, above the Location's
 *   maximum refused with Jobe's 400; memorylimit MB, numprocs, disklimit
 *   MB, streamsize MB clamped to the Location's maxima, as Jobe caps none of
 *   them), the wall clock 2 × cputime (Jobe's runguard) within the
 *   Location's maximum, runargs and interpreterargs split with sh's word
 *   rules (Jobe hands them to sh -c; no shell runs here, so a character
 *   that would make sh expand or redirect is refused), a safe subset of
 *   interpreter flags.
 * - The program (pysb_jobe_program) is ordinary code for the module's run
 *   path: it writes the source (as sourcefilename) and the file_list's
 *   files into its working directory when that is writable (the run's
 *   scratch directory; a file_list without one is answered "no scratch"),
 *   with that directory first on sys.path as `python3 FILE` would have it;
 *   it compiles the source under its sourcefilename as Jobe's py_compile
 *   step does, writes a marker as the first bytes of stdout — "compiled",
 *   or "compile error" followed by py_compile's text — and only then runs
 *   the source with sys.argv as Jobe's command line gives it. The marker
 *   comes before any of the source's own bytes, so a program cannot forge
 *   a compile error nor hide one.
 * - pysb_jobe_result maps the run's verdict (src/result.c, kernel facts)
 *   to Jobe's outcome: 11 compile error, 12 runtime error (stderr not
 *   empty, a signal, the output cap), 13 time (CPU or wall), 15 success
 *   (stderr empty; the exit status is ignored, as Jobe does), 17 memory,
 *   19 illegal system call (SIGSYS), 20 internal error; 21 is
 *   pysb_jobe_overload (a file_list in a run without a scratch directory
 *   is 20 too: the server cannot place the files). stderr is "" for 11, 13, 17, 19, 20, 21 (CodeRunner
 *   counts any stderr as a runtime error). A stream that is not UTF-8 is
 *   escaped byte by byte as Jobe does (\xNN).
 * No Apache headers. */
#ifndef PYSB_JOBE_H
#define PYSB_JOBE_H

#include <stddef.h>

#include "fields.h"
#include "result.h"
#include "runlimits.h"

typedef enum pysb_jobe_route {
    PYSB_JOBE_NO_ROUTE = 0,
    PYSB_JOBE_LANGUAGES,
    PYSB_JOBE_RUNS,
    PYSB_JOBE_FILE,
} pysb_jobe_route;

#define PYSB_JOBE_ID_MAX 200

/* The route of a decoded request path; for PYSB_JOBE_FILE the id is
 * copied into id (NUL-terminated). */
pysb_jobe_route pysb_jobe_route_of(const char *path, char id[PYSB_JOBE_ID_MAX + 1]);

/* text as a JSON string: a malloc'd body with its length, NULL when out of
 * memory. */
char *pysb_jobe_string(const char *text, size_t *len);

/* A body no bigger in values and nesting than a run_spec needs: 1 when it
 * has at most max_values JSON values and max_depth levels, else 0 (it is
 * then refused before a parser builds it). Not a validator. */
int pysb_jobe_shape_ok(const char *p, size_t n, size_t max_values, int max_depth);
#define PYSB_JOBE_MAX_VALUES 4096
#define PYSB_JOBE_MAX_DEPTH  8

/* One file_list entry: a file of the cache and its name in the run; its
 * contents are the caller's to fill in (not owned) before
 * pysb_jobe_program. */
typedef struct pysb_jobe_file {
    char        id[PYSB_JOBE_ID_MAX + 1];
    char        name[256];
    const char *data;
    size_t      len;
} pysb_jobe_file;

#define PYSB_JOBE_MAX_FILES 64
#define PYSB_JOBE_FILES_MAX (8u << 20)  /* bytes of one run's files together */
#define PYSB_JOBE_MAX_ARGS  256

/* What a run_spec asks for. Strings are malloc'd (pysb_jobe_run_free). */
typedef struct pysb_jobe_run {
    pysb_limits    limits;
    char          *source;
    size_t         source_len;
    char          *input;           /* "" when none */
    size_t         input_len;
    char           filename[256];   /* sourcefilename, or "prog.py" */
    char          *args[PYSB_JOBE_MAX_ARGS];   /* sys.argv[1:] */
    size_t         nargs;
    char          *ccode;           /* interpreterargs -c CODE, or NULL */
    int            optimize;        /* -O: 1, -OO: 2 */
    char          *wopts[16];       /* -W values */
    size_t         nwopts;
    pysb_jobe_file files[PYSB_JOBE_MAX_FILES];
    size_t         nfiles;
} pysb_jobe_run;

/* The body of POST runs, within the Location: 0 with *run set (release it
 * with pysb_jobe_run_free, also after an error), or Jobe's HTTP status
 * (400, 413, 500) with the text for its JSON-string body in why. */
int pysb_jobe_parse_run(const char *body, size_t len, const pysb_location *loc,
                        pysb_jobe_run *run, char *why, size_t whylen);
void pysb_jobe_run_free(pysb_jobe_run *run);

/* sh's word splitting of one runargs/interpreterargs element (quotes,
 * backslashes, blanks), appending each word to words[*n] (malloc'd) up to
 * max. Returns 0, or -1 with a reason: a character sh would expand or act
 * on outside quotes ($ ` | & ; < > ( ) * ? [ and a leading ~ or #), $ or `
 * inside double quotes, an unterminated quote, too many words, a NUL. */
int pysb_jobe_split(const char *s, size_t n, char **words, size_t *nw, size_t max,
                    char *why, size_t whylen);

/* The Python program of a run (see the contract), malloc'd, *len set;
 * NULL when out of memory. */
char *pysb_jobe_program(const pysb_jobe_run *run, size_t *len);

/* The markers the program writes first on stdout. */
#define PYSB_JOBE_MARK_RUN     "\0PYSB-JOBE compiled\n"
#define PYSB_JOBE_MARK_CMPINFO "\0PYSB-JOBE compile error\n"
#define PYSB_JOBE_MARK_NO_DIR  "\0PYSB-JOBE no scratch\n"

/* Jobe's outcome codes. */
enum {
    PYSB_JOBE_COMPILE_ERROR = 11, PYSB_JOBE_RUNTIME_ERROR = 12,
    PYSB_JOBE_TIME_LIMIT = 13, PYSB_JOBE_SUCCESS = 15, PYSB_JOBE_MEMORY_LIMIT = 17,
    PYSB_JOBE_ILLEGAL_SYSCALL = 19, PYSB_JOBE_INTERNAL_ERROR = 20,
    PYSB_JOBE_OVERLOAD = 21,
};

/* The outcome of a run from its verdict and its two streams as the
 * program's supervisor relayed them (the marker still first in out). */
int pysb_jobe_outcome(const pysb_result *res, const char *out, size_t out_len,
                      const char *err, size_t err_len);

/* The run's result object, {"run_id":null,"outcome":N,"cmpinfo":…,
 * "stdout":…,"stderr":…}, malloc'd with *len; NULL when out of memory. */
char *pysb_jobe_result(const pysb_result *res, const char *out, size_t out_len,
                       const char *err, size_t err_len, size_t *len);

/* The overload result (outcome 21, run_id "0", as Jobe). */
char *pysb_jobe_overload(size_t *len);

/* GET languages: [["python3","<version>"]]. */
char *pysb_jobe_languages(const char *version, size_t *len);

/* Jobe's rewriting of a stream that is not valid UTF-8: every byte below
 * 0x20 but \n \r \t, and above 0x7E, as \xNN; valid UTF-8 is kept as is.
 * malloc'd, NUL-ended, *olen set; NULL when out of memory. */
char *pysb_jobe_escape(const char *p, size_t n, size_t *olen);

/* PHP's strict base64_decode, as Jobe checks file_contents: whitespace
 * skipped, padding optional, any other character, data after padding or a
 * lone final sixtet refused. out needs (n / 4 + 1) * 3 bytes. Returns the
 * decoded length, or -1. */
long pysb_jobe_base64(const char *in, size_t n, unsigned char *out);

#endif
