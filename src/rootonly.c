/* rootonly.c — stat-only checks that a path is root's alone.
 *
 * Contract: see rootonly.h. Paths are walked component by component from
 * "/" with lstat, so a symbolic link anywhere in a path is seen (and its
 * target checked) rather than silently followed; ".." steps back over a
 * component already checked to be a directory. */
#include "rootonly.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 16

/* One entry's own verdict (lstat data). */
static int judge(const char *what, const char *path, const struct stat *st, char *err,
                 size_t errlen)
{
    if (st->st_uid != 0) {
        snprintf(err, errlen, "%s: %s belongs to uid %u, not root", what, path,
                 (unsigned)st->st_uid);
        return -1;
    }
    if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(err, errlen, "%s: %s is writable by its %s", what, path,
                 st->st_mode & S_IWGRP ? "group" : "others");
        return -1;
    }
    return 0;
}

static int walk(const char *what, const char *path, int depth, char *err, size_t errlen)
{
    if (path[0] != '/') {
        snprintf(err, errlen, "%s: %s: not an absolute path", what, path);
        return -1;
    }
    if (depth > MAX_LINKS) {
        snprintf(err, errlen, "%s: %s: too many symbolic links", what, path);
        return -1;
    }
    char cur[PATH_MAX] = "", sticky_err[512] = "";
    size_t len = 0;
    const char *p = path;
    for (;;) {
        struct stat st;
        const char *shown = len ? cur : "/";
        if (lstat(shown, &st) < 0) {
            /* missing: its parent, checked already, decides; a sticky
             * parent others may write lets them create it */
            if (sticky_err[0]) {
                snprintf(err, errlen, "%s", sticky_err);
                return -1;
            }
            return 0;
        }
        int rc = judge(what, shown, &st, err, errlen);
        sticky_err[0] = '\0';
        /* A sticky directory of root's (/tmp) that others may write: none
         * of them can rename or remove what root made in it, so it holds
         * as an ancestor, when the next component exists and is root's
         * (judged in its turn). As the last component it does not. */
        if (rc < 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0) {
            const char *rest = p;
            while (*rest == '/')
                rest++;
            if (!*rest)
                return -1;
            snprintf(sticky_err, sizeof sticky_err, "%s", err);
            rc = 0;
        }
        if (rc < 0)
            return -1;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX], next[PATH_MAX];
            ssize_t n = readlink(cur, target, sizeof target - 1);
            if (n < 0) {
                snprintf(err, errlen, "%s: %s: %s", what, cur, strerror(errno));
                return -1;
            }
            target[n] = '\0';
            /* A relative target is relative to the link's directory. */
            char *slash = strrchr(cur, '/');
            int w = target[0] == '/'
                        ? snprintf(next, sizeof next, "%s%s", target, p)
                        : snprintf(next, sizeof next, "%.*s/%s%s", (int)(slash - cur), cur,
                                   target, p);
            if (w < 0 || (size_t)w >= sizeof next) {
                snprintf(err, errlen, "%s: %s: path too long", what, path);
                return -1;
            }
            return walk(what, next, depth + 1, err, errlen);
        }
        while (*p == '/')
            p++;
        if (!*p)
            return 0;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (len + 1 + n >= sizeof cur) {
            snprintf(err, errlen, "%s: %s: path too long", what, path);
            return -1;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            /* Lexically right here: every component of cur is a real
             * directory (a link would have been resolved above). */
            char *slash = strrchr(cur, '/');
            len = slash ? (size_t)(slash - cur) : 0;
            cur[len] = '\0';
        } else if (!(n == 1 && p[0] == '.')) {
            cur[len++] = '/';
            memcpy(cur + len, p, n);
            len += n;
            cur[len] = '\0';
        }
        p += n;
    }
}

int pysb_root_only(const char *what, const char *path, char *err, size_t errlen)
{
    return walk(what, path, 0, err, errlen);
}

/* nftw has no context argument: the walk's, one at a time. */
static struct {
    const char *what;
    char *err;
    size_t errlen;
} tree;

static int tree_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)f;
    if (type == FTW_NS || type == FTW_DNR) {
        snprintf(tree.err, tree.errlen, "%s: %s: cannot be examined", tree.what, path);
        return -1;
    }
    if (judge(tree.what, path, st, tree.err, tree.errlen) < 0)
        return -1;
    if (type == FTW_SL)
        return walk(tree.what, path, 0, tree.err, tree.errlen) < 0 ? -1 : 0;
    return 0;
}

int pysb_root_only_tree(const char *what, const char *dir, char *err, size_t errlen)
{
    if (walk(what, dir, 0, err, errlen) < 0)
        return -1;
    struct stat st;
    if (lstat(dir, &st) < 0)
        return 0;
    tree.what = what;
    tree.err = err;
    tree.errlen = errlen;
    err[0] = '\0';
    int rc = nftw(dir, tree_entry, 32, FTW_PHYS);
    if (rc != 0 && !err[0])
        snprintf(err, errlen, "%s: %s: %s", what, dir, strerror(errno));
    return rc == 0 ? 0 : -1;
}

int pysb_root_only_entries(const char *what, const char *dir, char *err, size_t errlen)
{
    if (walk(what, dir, 0, err, errlen) < 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* missing (or not a directory): nothing is read from it */
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        rc = judge(what, path, &st, err, errlen);
        if (rc == 0 && S_ISLNK(st.st_mode))
            rc = walk(what, path, 0, err, errlen);
    }
    closedir(d);
    return rc;
}
