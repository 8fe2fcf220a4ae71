/* jobecache.c — the Jobe file cache: atomic puts, LRU eviction under a
 * lock, hits that note their use.
 *
 * Contract: see jobecache.h. */
#include "jobecache.h"

#include <ctype.h>
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
#define LOCK_WAIT_MS 5000
#define LOCK_POLL_MS 5

static int path_of(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* A name a PUT can have made: Jobe's file ids are ASCII letters and
 * digits. Nothing else in the directory is ever counted or evicted. */
static int cache_name(const char *name)
{
    if (!*name)
        return 0;
    for (; *name; name++)
        if (!isascii((unsigned char)*name) || !isalnum((unsigned char)*name))
            return 0;
    return 1;
}

/* The directory open as fd may become the cache: a cache already (mode
 * 0700 with the .lock every PUT leaves), or empty; owned by uid, or
 * (empty) by root: an admin's mkdir. uid -1 (configtest, which does not
 * know the User yet): any owner, checked again at the start. */
static int check_fd(int fd, const char *dir, long uid, char *err, size_t errlen)
{
    struct stat st, lk;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int owner_ok = uid < 0 || (long)st.st_uid == uid;
    if (fstatat(fd, ".lock", &lk, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(lk.st_mode) &&
        (st.st_mode & 07777) == 0700 && owner_ok)
        return 0;
    int copy = dup(fd);
    DIR *d = copy < 0 ? NULL : fdopendir(copy);
    if (!d) {
        if (copy >= 0)
            close(copy);
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)))
        empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    closedir(d);
    if (!empty) {
        snprintf(err, errlen, "%s exists, is not empty and is not a Jobe file cache (not "
                 "0700 with a .lock%s): name a new or empty directory", dir,
                 uid >= 0 ? " and the User's" : "");
        return -1;
    }
    if (st.st_uid != 0 && !owner_ok) {
        snprintf(err, errlen, "%s is another user's (uid %ld): name a new directory, or one "
                 "of root's", dir, (long)st.st_uid);
        return -1;
    }
    return 0;
}

/* dir opened without following a link: a directory, or -1 (errno). */
static int open_dir(const char *dir)
{
    return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int pysb_jobe_cache_check(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(dir, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int fd = S_ISDIR(st.st_mode) ? open_dir(dir) : -1;
    if (fd < 0) {
        snprintf(err, errlen, "%s exists and is not a directory%s", dir,
                 S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
        return -1;
    }
    int rc = check_fd(fd, dir, -1, err, errlen);
    close(fd);
    return rc;
}

int pysb_jobe_cache_prepare(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    struct stat st;
    int made = mkdir(dir, 0700) == 0;
    if (!made && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    /* Everything through one descriptor of the directory itself: a link
     * put in its place meanwhile is never followed (a chown as root). */
    int fd = open_dir(dir);
    if (fd < 0) {
        snprintf(err, errlen, "%s is not a directory%s", dir, errno == ELOOP ? " (a symbolic link)" : "");
        return -1;
    }
    if (!made && check_fd(fd, dir, (long)uid, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0) {
        snprintf(err, errlen, "cannot give %s to uid %ld: %s", dir, (long)uid, strerror(errno));
        close(fd);
        return -1;
    }
    if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0) {
        snprintf(err, errlen, "cannot make %s mode 0700: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    /* Files may have come and gone while httpd was down: the first put
     * counts them again (see the ledger below). */
    int lfd = openat(fd, ".lock", O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (lfd >= 0)
        close(lfd);
    close(fd);
    return 0;
}

uint64_t pysb_jobe_cache_cost(uint64_t size)
{
    uint64_t b = PYSB_JOBE_CACHE_BLOCK;
    return ((size ? size : 1) + b - 1) / b * b;
}

typedef struct entry {
    char            name[256];
    struct timespec used;
    uint64_t        cost;
} entry;

static int older(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

/* The cached files of dir (dot names aside) into a malloc'd array, with
 * the cost of them all; stale temporaries are removed on the way. -1 when
 * dir cannot be read (or memory ran out: a total too small would evict
 * too little). */
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
        if (!cache_name(de->d_name))
            continue;
        if (n == cap) {
            entry *ne = realloc(e, 2 * cap * sizeof *e);
            if (!ne) {
                closedir(d);
                free(e);
                return -1;
            }
            e = ne;
            cap *= 2;
        }
        snprintf(e[n].name, sizeof e[n].name, "%s", de->d_name);
        e[n].used = st.st_mtim;
        e[n].cost = pysb_jobe_cache_cost((uint64_t)st.st_size);
        *total += e[n].cost;
        n++;
    }
    closedir(d);
    *out = e;
    return (long)n;
}

/* The least recently used files out, once the cache costs more than cap,
 * until the rest cost 7/8 of it at most: a full cache then takes an eighth
 * of its size in puts before the next scan, not one scan per put
 * (attack-jobe2 N1: a full 256M cache of empty files was 177 ms a PUT,
 * every one of them under the lock). keep is never removed. Returns what
 * the rest cost, or -1 when dir could not be listed. Under the directory's
 * lock. */
static int64_t evict(const char *dir, uint64_t cap, const char *keep)
{
    entry *e;
    uint64_t total, low = cap - cap / 8;
    long n = list(dir, &e, &total);
    if (n < 0)
        return -1;
    if (total > cap) {
        qsort(e, (size_t)n, sizeof *e, older);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (long i = 0; i < n && total > low && dfd >= 0; i++) {
            if (!strcmp(e[i].name, keep))
                continue;
            if (unlinkat(dfd, e[i].name, 0) == 0 || errno == ENOENT)
                total -= e[i].cost;
        }
        if (dfd >= 0)
            close(dfd);
    }
    free(e);
    return (int64_t)total;
}

/* ---- the ledger ----------------------------------------------------------
 *
 * DIR/.lock holds, besides the lock, what the cache's files cost as of the
 * last put (decimal text), so a put that keeps the cache within its cap
 * needs no scan of the directory: a PUT costs the same with 60,000 files
 * cached as with 6 (attack-jobe F10). An empty or unreadable ledger (the
 * first put, or pysb_jobe_cache_prepare at each start) means "scan". Only
 * puts change what the files cost, and only under the lock; files removed
 * from outside leave the ledger too high, which costs an early scan that
 * puts it right, never an overfull cache. */
static int lock_dir(const char *dir)
{
    char lock[PATH_MAX];
    if (path_of(lock, sizeof lock, dir, ".lock") < 0)
        return -1;
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    /* Not forever: a put that cannot have the lock within LOCK_WAIT_MS
     * fails with EBUSY (the caller's 503) instead of holding its worker. */
    for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += LOCK_POLL_MS) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= LOCK_WAIT_MS) {
            int e = errno == EWOULDBLOCK ? EBUSY : errno;
            close(fd);
            errno = e;
            return -1;
        }
        struct timespec ts = { 0, LOCK_POLL_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
    return fd;
}

static int ledger_read(int fd, uint64_t *total)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || end == buf || *end != '\n')
        return -1;
    *total = v;
    return 0;
}

/* Empties the ledger: the next put scans. A truncate that fails leaves
 * the old figure, which the next scan over the cap puts right. */
static void ledger_forget(int fd)
{
    if (ftruncate(fd, 0) < 0)
        return;
}

static void ledger_write(int fd, uint64_t total)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)total);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        ledger_forget(fd);
}

/* The cost of dir/name as it is now, 0 when it is not a file. */
static uint64_t cost_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? pysb_jobe_cache_cost((uint64_t)st.st_size)
                                                        : 0;
}

int pysb_jobe_cache_put(const char *dir, uint64_t cap, const char *id, const void *data,
                        size_t len)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    if (pysb_jobe_cache_cost(len) > cap) {
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
    if (close(fd) < 0)
        goto fail;
    /* The rename under the lock too, so the ledger sees every change. */
    int lock = lock_dir(dir);
    if (lock < 0)
        goto fail;
    uint64_t replaced = cost_of(final), total;
    if (rename(tmp, final) < 0) {
        int e = errno;
        close(lock);
        errno = e;
        goto fail;
    }
    int known = ledger_read(lock, &total) == 0;
    if (known)
        total = (total > replaced ? total - replaced : 0) + pysb_jobe_cache_cost(len);
    if (!known || total > cap) {
        int64_t left = evict(dir, cap, id);
        known = left >= 0;
        total = known ? (uint64_t)left : 0;
    }
    if (known)
        ledger_write(lock, total);
    else
        ledger_forget(lock);
    close(lock);        /* and the lock with it */
    return 0;
fail:;
    int e = errno;
    unlink(tmp);
    errno = e;
    return -1;
}

int pysb_jobe_cache_stat(const char *dir, const char *id, uint64_t *size)
{
    char path[PATH_MAX];
    struct stat st;
    if (path_of(path, sizeof path, dir, id) < 0 || lstat(path, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = ENOENT;
        return -1;
    }
    utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
    *size = (uint64_t)st.st_size;
    return 0;
}

int pysb_jobe_cache_has(const char *dir, const char *id)
{
    uint64_t size;
    return pysb_jobe_cache_stat(dir, id, &size) == 0;
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
