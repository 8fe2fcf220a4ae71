/* landlock.h — the Landlock ruleset of a confined run, at the best ABI the
 * kernel offers.
 *
 * Contract: pysb_landlock_apply restricts the calling thread (after
 * no_new_privs) to: read+execute on the given executables (the interpreter
 * and its ELF loader), read-only on the given paths (files or directories),
 * read/write on /dev/null, read on /dev/urandom, read/write without
 * execute on the writable directories (the run's scratch: files and
 * directories made, renamed, removed; never symlinks, devices, FIFOs or
 * sockets); every other file-system
 * right the ABI knows is denied. ABI >= 4: all TCP bind/connect denied.
 * ABI >= 6: signals and abstract Unix sockets scoped to the run.
 * The path lists are computed by the parent (pysb_interp_paths), so the
 * child only opens and adds them. */
#ifndef PYSB_LANDLOCK_H
#define PYSB_LANDLOCK_H

#include <stddef.h>

#define PYSB_MAX_PATHS 96

typedef struct pysb_path_set {
    const char *exec[8];            /* read + execute */
    size_t      n_exec;
    const char *ro[PYSB_MAX_PATHS]; /* read-only: files or directories */
    int         ro_optional[PYSB_MAX_PATHS]; /* skip when missing */
    size_t      n_ro;
    const char *loader;             /* PT_INTERP as written (symlinks and
                                       all), or NULL for a static binary */
    const char *rw[2];              /* writable directories (the scratch) */
    size_t      n_rw;
    char        storage[8192];      /* the strings above point in here */
    size_t      used;
} pysb_path_set;

/* Highest Landlock ABI of this kernel, 0 when Landlock is unavailable. */
int pysb_landlock_abi(void);

/* Fill set with what running interp needs: its real path and ELF loader
 * (execute), its standard library, the loader's library directory, the
 * loader cache, the C.UTF-8 locale; then ro_paths (NULL-terminated, may be
 * NULL), which must exist. Returns 0, or -1 with a reason. */
int pysb_interp_paths(const char *interp, const char *const *ro_paths,
                      pysb_path_set *set, char *err, size_t errlen);

/* Each of paths (NULL-terminated, may be NULL) as a read-only path that
 * must exist, as pysb_interp_paths takes ro_paths. Returns 0, or -1. */
int pysb_paths_add_ro(pysb_path_set *set, const char *const *paths, char *err,
                      size_t errlen);

/* A writable directory (read, write, make and remove files and
 * directories, no execute). Returns 0, or -1 with a reason. */
int pysb_path_add_rw(pysb_path_set *set, const char *path, char *err,
                     size_t errlen);

/* Restrict the calling thread. *abi_out receives the ABI used. Returns 0,
 * or -1 with a reason naming the step that failed. */
int pysb_landlock_apply(const pysb_path_set *set, int *abi_out, char *err,
                        size_t errlen);

#endif
