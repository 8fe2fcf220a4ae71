/* jobecache.c — the Jobe file cache: atomic puts, LRU eviction under a
 * lock, hits that note their use.
 *
 * Contract: see jobecache.h. */
#include "jobecache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_PREFIX ".tmp-"
#define STALE_TMP_SEC 3600

int pysb_jobe_cache_prepare(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if ((st.st_uid != uid || st.st_gid != gid) && chown(dir, uid, gid) < 0) {
        snprintf(err, errlen, "cannot give %s to uid %ld: %s", dir, (long)uid, strerror(errno));
        return -1;
    }
    if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot make %s mode 0700: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int path_of(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

typedef struct entry {
    char            name[256];
    struct timespec used;
    uint64_t        size;
} entry;

static int older(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

/* The cached files of dir (dot names aside) into a malloc'd array; stale
 * temporaries are removed on the way. -1 when dir cannot be read. */
static long list(const char *dir, entry **out, uint64_t *total)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 64;
    entry *e = malloc(cap * sizeof *e);
    *total = 0;
    if (!d || !e) {
        if (d)
            closedir(d);
        free(e);
        return -1;
    }
    time_t now = time(NULL);
    struct dirent *de;
    struct stat st;
    while ((de = readdir(d))) {
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (de->d_name[0] == '.') {
            if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) &&
                now - st.st_mtim.tv_sec > STALE_TMP_SEC)
                unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (n == cap) {
            entry *ne = realloc(e, 2 * cap * sizeof *e);
            if (!ne)
                break;
            e = ne;
            cap *= 2;
        }
        snprintf(e[n].name, sizeof e[n].name, "%s", de->d_name);
        e[n].used = st.st_mtim;
        e[n].size = (uint64_t)st.st_size;
        *total += e[n].size;
        n++;
    }
    closedir(d);
    *out = e;
    return (long)n;
}

/* The least recently used files out until the rest fit in cap; keep is
 * never removed. Under the directory's lock. */
static void evict(const char *dir, uint64_t cap, const char *keep)
{
    char lock[PATH_MAX];
    if (path_of(lock, sizeof lock, dir, ".lock") < 0)
        return;
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    entry *e;
    uint64_t total;
    long n = list(dir, &e, &total);
    if (n > 0 && total > cap) {
        qsort(e, (size_t)n, sizeof *e, older);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (long i = 0; i < n && total > cap && dfd >= 0; i++) {
            if (!strcmp(e[i].name, keep))
                continue;
            if (unlinkat(dfd, e[i].name, 0) == 0 || errno == ENOENT)
                total -= e[i].size;
        }
        if (dfd >= 0)
            close(dfd);
    }
    if (n >= 0)
        free(e);
    close(fd);      /* and the lock with it */
}

int pysb_jobe_cache_put(const char *dir, uint64_t cap, const char *id, const void *data,
                        size_t len)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    if (len > cap) {
        errno = EFBIG;
        return -1;
    }
    if (path_of(final, sizeof final, dir, id) < 0 ||
        path_of(tmp, sizeof tmp, dir, TMP_PREFIX "XXXXXX") < 0)
        return -1;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            close(fd);
            unlink(tmp);
            errno = e;
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0 || rename(tmp, final) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    evict(dir, cap, id);
    return 0;
}

int pysb_jobe_cache_has(const char *dir, const char *id)
{
    char path[PATH_MAX];
    struct stat st;
    if (path_of(path, sizeof path, dir, id) < 0 || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
    return 1;
}

int pysb_jobe_cache_read(const char *dir, const char *id, size_t max, pysb_membuf *out)
{
    char path[PATH_MAX];
    struct stat st;
    if (path_of(path, sizeof path, dir, id) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            errno = ENOENT;
        return -1;
    }
    int bad = fstat(fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? ENOENT
                                           : (uint64_t)st.st_size > max ? EFBIG : 0;
    if (bad) {
        int e = bad;
        close(fd);
        errno = e;
        return -1;
    }
    size_t want = (size_t)st.st_size;
    if (pysb_membuf_reserve(out, want + 1) < 0) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, out->p + out->len + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;          /* shorter than it was: what there is */
        got += (size_t)r;
    }
    out->len += got;
    futimens(fd, NULL);
    close(fd);
    return 0;
}

uint64_t pysb_jobe_cache_usage(const char *dir)
{
    entry *e;
    uint64_t total;
    long n = list(dir, &e, &total);
    if (n < 0)
        return 0;
    free(e);
    return total;
}
