/* scratch.h — a run's private scratch directory: an empty tmpfs, capped in
 * bytes and inodes, that is the run's working directory and its /tmp (and,
 * for a run of several processes, its /dev/shm).
 *
 * Contract: the supervisor (root, before the run exists) makes the tmpfs
 * as a *detached* mount (fsopen/fsmount: never attached in the host's
 * mount namespace) and cuts detached sub-trees of it: work/ (the run's
 * /tmp) and, when asked, shm/ (its /dev/shm). The reaper, in the run's own
 * mount namespace after its mounts are made private, attaches them
 * (pysb_scratch_attach). The supervisor keeps the root's fd: after the
 * reaper is reaped — no process of the run left — it may read what the
 * run left, and closing that fd frees the tmpfs, whatever happens to the
 * supervisor (a crash closes it too). Mount flags: nosuid, nodev, noexec,
 * nosymfollow (noswap where the kernel knows it). No Apache headers. */
#ifndef PYSB_SCRATCH_H
#define PYSB_SCRATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "landlock.h"

#define PYSB_SCRATCH_DIR "/tmp"      /* where work/ appears in the run */
#define PYSB_FILE_NAME_MAX 128       /* bytes of an input file's name */
#define PYSB_SCRATCH_SHM "/dev/shm"  /* where shm/ appears */

typedef struct pysb_scratch {
    int root;   /* the tmpfs root (the supervisor's), or -1 */
    int work;   /* detached tree of work/, for the reaper, or -1 */
    int shm;    /* detached tree of shm/, or -1 */
} pysb_scratch;

#define PYSB_SCRATCH_NONE ((pysb_scratch){ -1, -1, -1 })

/* Inodes of a scratch of `size` bytes: one per 16 KiB, at least 64. */
uint64_t pysb_scratch_inodes(uint64_t size);

/* What a file of len bytes takes of the tmpfs: whole 4 KiB pages. */
uint64_t pysb_scratch_file_pages(uint64_t len);

/* 1 when n_files input files taking page_total (the sum of their
 * pysb_scratch_file_pages) fit a scratch of `size`: its bytes, and its
 * inodes beside the root, work/ and out/. Files that fit by bytes but not
 * by pages were an internal error at the put, not a 413 (attack-work F7). */
int pysb_scratch_files_fit(uint64_t size, size_t n_files, uint64_t page_total);

/* Makes the tmpfs (size bytes, pysb_scratch_inodes(size) inodes), work/
 * (and shm/ when with_shm) mode 0700 owned by uid:gid. Every fd is
 * close-on-exec. Returns 0, or -1 with a reason ("scratch: ...") and
 * nothing left open. */
int pysb_scratch_create(uint64_t size, uid_t uid, gid_t gid, int with_shm,
                        pysb_scratch *s, char *err, size_t errlen);

/* NULL when name is fine for a file of the scratch, else why not: 1 to
 * PYSB_FILE_NAME_MAX bytes of UTF-8, no '/' or '\\', no control
 * character, not starting with '.' (no ".", "..", hidden names), not
 * "out" (the output folder). */
const char *pysb_file_name_check(const char *name, size_t len);

/* A file written into the run's scratch directory before it starts. */
typedef struct pysb_in_file {
    const char *name;       /* pysb_file_name_check's rules, NUL-ended */
    const char *data;
    size_t      len;
} pysb_in_file;

/* 1 when one of the n files is named name (len bytes): each name may be
 * given once. */
int pysb_in_files_have(const pysb_in_file *files, size_t n, const char *name, size_t len);

/* One input file into work/ before the run: a new file (never through a
 * symlink, never replacing one), mode 0644, owned by uid:gid. Returns 0,
 * or -1 with a reason; errno ENOSPC when the scratch is full, EEXIST for
 * a name given twice. */
int pysb_scratch_put(const pysb_scratch *s, const char *name, const void *data,
                     size_t len, uid_t uid, gid_t gid, char *err, size_t errlen);

/* In the reaper, as root in the run's private mount namespace: work at
 * PYSB_SCRATCH_DIR, shm (>= 0) at PYSB_SCRATCH_SHM, both fds closed, and
 * the working directory PYSB_SCRATCH_DIR. Allocates nothing. Returns 0,
 * or -1 with a reason. */
int pysb_scratch_attach(int work, int shm, char *err, size_t errlen);

/* One of the n read-only paths (n SIZE_MAX: until a NULL) that the
 * scratch would hide (at or under PYSB_SCRATCH_DIR, or PYSB_SCRATCH_SHM
 * with shm): the run could not reach it. 0, or -1 with a reason. Checked
 * before anything runs: by the supervisor for the spec's lists in both
 * modes, then for the whole path set by the cold supervisor or the fork
 * server (the interpreter's own paths too). */
int pysb_scratch_hides(const char *const *paths, size_t n, int shm, char *err,
                       size_t errlen);

/* The scratch's directories (PYSB_SCRATCH_DIR, and PYSB_SCRATCH_SHM with
 * shm) as set's writable ones, for Landlock. 0, or -1 with a reason. */
int pysb_scratch_grant(pysb_path_set *set, int shm, char *err, size_t errlen);

/* One file the run left in its out/ folder. data is NULL when it is not
 * returned, and dropped says why. */
typedef struct pysb_out_file {
    const char *name;        /* relative to out/, "plots/a.png"; may hold any
                                byte but '/' as a separator and NUL */
    uint64_t    size;
    const char *mime;        /* mime.h: from the name and the content */
    int         attachment;  /* serve as a download, never inline */
    const char *data;
    const char *dropped;
} pysb_out_file;
typedef int (*pysb_file_fn)(void *ctx, const pysb_out_file *f);

#define PYSB_OUT_FILES_MAX 64     /* files listed, returned or not (and one
                                     entry more saying where the list stops) */
#define PYSB_OUT_DEPTH     3      /* folders below out/ */

/* After the run — only once no process of it is left — every regular file
 * under work/out/ (sorted by name, folders up to PYSB_OUT_DEPTH deep), read
 * as root through the kept root with openat2 RESOLVE_BENEATH|NO_SYMLINKS|
 * NO_XDEV|NO_MAGICLINKS and O_NOFOLLOW|O_NONBLOCK: a symlink, a FIFO, a
 * device cannot be followed or block. Files are returned while their sizes
 * add up to at most cap bytes; the others, non-regular entries and names
 * that are not fine (pysb_file_name_check) are listed as dropped; hidden
 * ones (a leading dot) are skipped. The walk is bounded whatever the
 * scratch's size: the first 1024 names of a folder by name (past them
 * one dropped entry, before the folder's files, names the folder), 256 entries opened in all (the
 * 257th is listed dropped, the walk ends there). fn is called for each in order; a
 * non-zero return stops. Returns the count listed, or -1 with a reason. */
int pysb_scratch_collect(const pysb_scratch *s, uint64_t cap, pysb_file_fn fn, void *ctx,
                         char *err, size_t errlen);

/* Closes what is still open; the tmpfs goes with its last fd. */
void pysb_scratch_close(pysb_scratch *s);

#endif
