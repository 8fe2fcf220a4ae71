/* bootstrap.h — the Python bootstrap of a code run and its one-time
 * compilation.
 *
 * Contract: a code run execs the interpreter with "-c <bootstrap>"; the
 * bootstrap reads a header (the run's arguments) and the program from fd 3
 * (the code pipe), closes it and runs
 * it as __main__ from "main.py", so tracebacks show source lines. The
 * launcher compiles the bootstrap once per configured interpreter and keeps
 * the marshal data in a cache; a run then gets a tiny stub as its -c
 * argument and the data ahead of its program on the code pipe (0.3 ms less
 * per run), as long as the interpreter binary is the one that compiled it
 * (same device, inode and mtime); the same cache holds its site
 * directories. The header also carries sys.path entries: 'p' prepended
 * (PySandboxPythonPath), 'e' appended (its site directories). No Apache
 * headers. */
#ifndef PYSB_BOOTSTRAP_H
#define PYSB_BOOTSTRAP_H

#include <stddef.h>
#include <sys/types.h>

/* The Python code that reads the program from fd 3 and runs it as
 * __main__ from "main.py". */
extern const char pysb_bootstrap[];

/* What a code run's code pipe carries and its interpreter's -c argument. */
typedef struct pysb_code_pipe {
    const char *data;       /* the pipe's content */
    size_t      len;
    char       *owned;      /* free() this when done (NULL: nothing) */
    const char *arg;        /* the -c argument */
} pysb_code_pipe;

/* What the run's header carries; each a NULL-terminated list (or NULL) of
 * strings without NUL. */
typedef struct pysb_pipe_header {
    const char *const *args;        /* 'a': sys.argv[1:], in order */
    const char *const *prepend;     /* 'p': before the stdlib on sys.path */
    const char *const *append;      /* 'e': after it */
} pysb_pipe_header;

/* The code pipe: with a compiled blob, a 4-byte little-endian length and
 * the blob first (and a stub as -c; else the bootstrap's source is -c);
 * then the run's header, a 4-byte little-endian length and its items, each
 * a letter, a value and a NUL; then the code. h may be NULL. Returns 0, or
 * -1 when out of memory. */
int pysb_bootstrap_pipe(const char *blob, size_t blob_len, const pysb_pipe_header *h,
                        const char *code, size_t code_len, pysb_code_pipe *out);

/* Compile pysb_bootstrap with interp (run as uid/gid `uid`, -I -S) and
 * return its marshal data in a malloc'd *blob. The data only suits that
 * very binary. Returns 0, or -1 with a reason. */
int pysb_bootstrap_compile(const char *interp, uid_t uid, char **blob,
                           size_t *len, char *err, size_t errlen);

/* The cache (one process's, at most 16 interpreters). add compiles for
 * interp unless it is cached or not there: 1 with *len set, 0 when there
 * was nothing to do, -1 with a reason. cached gives the blob while the
 * binary is unchanged: 1, else 0 (the run compiles its own). */
int pysb_bootstrap_cache_add(const char *interp, uid_t uid, size_t *len, char *err,
                             size_t errlen);
int pysb_bootstrap_cached(const char *interp, const char **blob, size_t *len);

/* The interpreter's own system site directories (site.getsitepackages()
 * that exist, real paths), asked of it as uid with -I -S: NUL-separated in
 * a malloc'd *dirs of *len bytes. Returns 0, or -1 with a reason. The
 * cache asks it with the compilation; pysb_site_cached gives them (1) while
 * the binary is unchanged, else 0. */
int pysb_site_dirs(const char *interp, uid_t uid, char **dirs, size_t *len, char *err,
                   size_t errlen);
int pysb_site_cached(const char *interp, const char **dirs, size_t *len);

#endif
