/* jobecache.h — the file cache of the Jobe API (PUT/HEAD files/ID and a
 * run's file_list): one directory, a size cap, least recently used files
 * evicted first.
 *
 * Contract: a file is DIR/ID (ID [A-Za-z0-9]{1,200}: no path can be
 * formed from it). A put writes a temporary file in DIR (O_EXCL, 0600) and
 * renames it over DIR/ID, so a reader sees the old file or the new one,
 * never a part; then, holding an exclusive flock on DIR/.lock (waited for
 * 5 s at most: EBUSY), once the costs add up to more than the cap it
 * deletes the least recently used files until they are 7/8 of it at most
 * (never the one just put), and temporary files of writers that died
 * more than an hour ago. A file costs its size in whole 4 KiB blocks, at
 * least one (what it takes on disk, an inode with it): empty files are
 * not free, so the cache holds at most cap / 4 KiB files. "Used" is the file's mtime: set by the put and by every
 * hit of pysb_jobe_cache_has and pysb_jobe_cache_read (atime is not
 * reliable under relatime). Every httpd child shares the directory; the
 * lock serializes evictions between them. The directory belongs to the
 * httpd User, mode 0700: runs have their own uids (and Landlock), so no run
 * can reach it. No Apache headers. */
#ifndef PYSB_JOBECACHE_H
#define PYSB_JOBECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "membuf.h"

/* 0 when dir may become the cache: missing, empty, or a cache already
 * (its .lock); -1 with a reason for a file, or a directory of something
 * else (the cache would take it over: owner, mode, eviction). */
int pysb_jobe_cache_check(const char *dir, char *err, size_t errlen);

/* Makes dir (and no parent) if missing, mode 0700, owned by uid:gid, after
 * pysb_jobe_cache_check. For the httpd parent (root) at start. Returns 0,
 * or -1 with a reason. Only files named as Jobe's ids (letters and digits)
 * are ever counted or evicted. */
int pysb_jobe_cache_prepare(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen);

#define PYSB_JOBE_CACHE_BLOCK 4096u

/* What a file of size bytes costs against the cap. */
uint64_t pysb_jobe_cache_cost(uint64_t size);

/* Stores data as file id. Returns 0; -1 with errno EFBIG when its cost is
 * over cap (nothing stored), EBUSY when the lock stayed taken, or another
 * errno when writing failed. */
int pysb_jobe_cache_put(const char *dir, uint64_t cap, const char *id, const void *data,
                        size_t len);

/* 1 when file id is cached (its use noted), 0 when not. */
int pysb_jobe_cache_has(const char *dir, const char *id);

/* The same with its size: 0 with *size set, -1 (errno ENOENT when it is
 * not cached). */
int pysb_jobe_cache_stat(const char *dir, const char *id, uint64_t *size);

/* The contents of file id appended to out, at most max bytes (its use
 * noted). Returns 0; -1 with errno ENOENT when it is not cached, EFBIG
 * when it is larger than max, or what reading said. */
int pysb_jobe_cache_read(const char *dir, const char *id, size_t max, pysb_membuf *out);

/* What the cache's files cost now (not the lock or temporaries). */
uint64_t pysb_jobe_cache_usage(const char *dir);

#endif
