/* root.c — the run's minimal root: templates pinned once per path set,
 * entered per run.
 *
 * Contract: see root.h. The supervisor plans a root (what to bind, which
 * symlink hops to recreate: that needs a walk of the bound trees, done
 * here, before the fork) and a child of nspin's builds it in a mount
 * namespace of its own: a tmpfs over PYSB_ROOT_DIR (in that namespace
 * only: no staging directory on the host, and nothing beneath it may be a
 * source), the mirrored paths, pivot_root, the old root detached. */
#include "root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "nspin.h"

#define KEY_MAX   PYSB_ROOT_KEY_MAX
#define CHANGED_WHILE_BUILT "root: a path changed while its root was built"
#define BUILD_TRIES 3
#define MAX_OBJS  (PYSB_MAX_PATHS + 16)
#define MAX_DEPS  32   /* hop directories whose mtime the key follows (Debian has 2) */
#define MAX_LINKS 16   /* symlinks followed on one path, as the kernel's 40 is more than any install needs */

/* ---- the plan ---------------------------------------------------------- */

struct plan {
    const char *objs[MAX_OBJS];     /* mirrored and bound, directories first */
    size_t      n_objs;
    char        bound[MAX_OBJS][PATH_MAX]; /* their real paths */
    size_t      n_bound;
    char      **hops;               /* mirrored as symlinks only (malloc'd) */
    size_t      n_hops, cap_hops;
    char        deps[MAX_DEPS][PATH_MAX];  /* where the hops come from */
    size_t      n_deps;
    const char *inputs;             /* the key's inputs, checked once bound */
};

/* p equals one of the bound paths or lies beneath one. */
static int under(char (*list)[PATH_MAX], size_t n, const char *p)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(list[i]);
        if (!strncmp(p, list[i], l) && (p[l] == '/' || p[l] == '\0' || l == 1))
            return 1;
    }
    return 0;
}

static int forbidden(const char *p)
{
    static const char *const places[] = { "/proc", "/dev", PYSB_ROOT_BASE };
    if (!strcmp(p, "/"))
        return 1;
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        size_t l = strlen(places[i]);
        if (!strncmp(p, places[i], l) && (p[l] == '/' || p[l] == '\0'))
            return 1;
    }
    return 0;
}

int pysb_root_refuses(const char *path)
{
    char real[PATH_MAX];
    return forbidden(path) || (realpath(path, real) && forbidden(real));
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Lexical normalisation of an absolute path: "//", "." and ".." folded.
 * Right for paths whose components are no symlinks (the walk below gives
 * physical paths). */
static void normalise(const char *in, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = in; *p;) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            out[o] = '\0';
        } else if (!(n == 1 && p[0] == '.') && o + 1 + n < len) {
            out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
            out[o] = '\0';
        }
        p += n;
    }
    if (o == 0 && len > 1) {
        out[0] = '/';
        out[1] = '\0';
    }
}

static struct plan *walking;    /* nftw has no context argument */

/* A symlink inside a bound tree whose way leaves the bound paths and comes
 * back into them: its hops must exist in the root too. */
static int find_hop(const char *path, const struct stat *sb, int type, struct FTW *f)
{
    (void)sb, (void)f;
    struct plan *pl = walking;
    if (type != FTW_SL)
        return 0;
    char real[PATH_MAX], target[PATH_MAX], joined[2 * PATH_MAX], abs[PATH_MAX];
    if (!realpath(path, real) || !under(pl->bound, pl->n_bound, real))
        return 0; /* dangling, or leading out of what the run may see */
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    if (target[0] == '/') {
        snprintf(joined, sizeof joined, "%s", target);
    } else {
        snprintf(joined, sizeof joined, "%s", path);
        char *slash = strrchr(joined, '/');
        snprintf(slash + 1, sizeof joined - (size_t)(slash + 1 - joined), "%s", target);
    }
    normalise(joined, abs, sizeof abs);
    if (under(pl->bound, pl->n_bound, abs))
        return 0; /* resolves inside a bind by itself */
    for (size_t i = 0; i < pl->n_hops; i++)
        if (!strcmp(pl->hops[i], abs))
            return 0;
    if (pl->n_hops == pl->cap_hops) {
        size_t cap = pl->cap_hops ? 2 * pl->cap_hops : 64;
        char **h = realloc(pl->hops, cap * sizeof *h);
        if (!h)
            return -1;
        pl->hops = h;
        pl->cap_hops = cap;
    }
    if (!(pl->hops[pl->n_hops] = strdup(abs)))
        return -1;
    pl->n_hops++;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", abs);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    for (size_t i = 0; i < pl->n_deps; i++)
        if (!strcmp(pl->deps[i], dir))
            return 0;
    if (pl->n_deps < MAX_DEPS) /* beyond: its hops are made, but not followed by the key */
        snprintf(pl->deps[pl->n_deps++], PATH_MAX, "%s", dir);
    return 0;
}

static int make_plan(struct plan *pl, const pysb_path_set *set, const char *argv0,
                     char *err, size_t errlen)
{
    const char *all[MAX_OBJS];
    size_t n = 0;
    all[n++] = argv0;
    if (set->loader)
        all[n++] = set->loader;
    for (size_t i = 0; i < set->n_exec && n < MAX_OBJS; i++)
        all[n++] = set->exec[i];
    for (size_t i = 0; i < set->n_ro && n < MAX_OBJS; i++) {
        const char *p = set->ro[i];
        if (set->ro_optional[i] && !strncmp(p, "/dev/", 5))
            continue; /* the system's /dev/urandom: the run gets its own node */
        if (pysb_root_refuses(p))
            return pysb_errf(err, errlen, "root: %s cannot be a read-only path of a run", p);
        if (set->ro_optional[i] && access(p, F_OK) != 0)
            continue;
        all[n++] = p;
    }
    /* Directories first, outer ones before inner: a path beneath a bound
     * directory is visible already and gets no mount of its own. */
    pl->n_objs = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t start = pl->n_objs;
        for (size_t i = 0; i < n; i++)
            if (is_dir(all[i]) == (pass == 0))
                pl->objs[pl->n_objs++] = all[i];
        for (size_t i = start + 1; i < pl->n_objs; i++)
            for (size_t j = i; j > start && strlen(pl->objs[j]) < strlen(pl->objs[j - 1]); j--) {
                const char *t = pl->objs[j];
                pl->objs[j] = pl->objs[j - 1];
                pl->objs[j - 1] = t;
            }
    }
    pl->n_bound = 0;
    for (size_t i = 0; i < pl->n_objs; i++) {
        if (!realpath(pl->objs[i], pl->bound[pl->n_bound]))
            return pysb_errf(err, errlen, "root: %s: %s", pl->objs[i], strerror(errno));
        if (forbidden(pl->bound[pl->n_bound])) /* the interpreter's own, resolved */
            return pysb_errf(err, errlen, "root: %s (%s) cannot be in a run's root",
                             pl->objs[i], pl->bound[pl->n_bound]);
        pl->n_bound++;
    }
    pl->n_hops = pl->n_deps = 0;
    walking = pl;   /* the supervisor is single-threaded */
    int rc = 0;
    size_t i = 0;
    for (; rc == 0 && i < pl->n_bound; i++)
        if (is_dir(pl->bound[i]))
            rc = nftw(pl->bound[i], find_hop, 32, FTW_PHYS | FTW_MOUNT);
    walking = NULL;
    if (rc != 0)    /* nftw's own failure (errno), or find_hop's out of memory */
        return pysb_errf(err, errlen, "root: walking %s: %s", pl->bound[i - 1],
                         errno ? strerror(errno) : "failed");
    return 0;
}

/* ---- the key ------------------------------------------------------------- */

/* What path is now. For the inputs (what is bound): the object's device,
 * inode and type — a replaced file or directory (an upgrade renames a new
 * one in) is another inode, while a change inside a bound directory or to
 * a bound file's contents is visible through the bind anyway, so neither
 * needs a new template. For the directories the hops came from (with_time):
 * their mtime too, as a symlink replaced there changes it. */
static void ident(const char *path, int with_time, char *out, size_t len)
{
    struct statx st;
    if (statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_INO | STATX_MTIME | STATX_BTIME, &st) < 0) {
        snprintf(out, len, "-");
        return;
    }
    unsigned long long dev = makedev(st.stx_dev_major, st.stx_dev_minor);
    if (with_time) {
        snprintf(out, len, "%llx:%llx:%lld.%09u", dev, (unsigned long long)st.stx_ino,
                 (long long)st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec);
        return;
    }
    /* An inode number is reused once its file is gone (rm -rf, then
     * mkdir): the inode's generation (ext4, xfs, btrfs: drawn anew for
     * each inode made) and its birth time, where the file system keeps
     * them, tell the two apart (attack10 A2). */
    unsigned gen = 0;
    if (S_ISDIR(st.stx_mode) || S_ISREG(st.stx_mode)) {
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOATIME | O_CLOEXEC);
        if (fd >= 0) {
            if (ioctl(fd, FS_IOC_GETVERSION, &gen) < 0)
                gen = 0;
            close(fd);
        }
    }
    long long bt = st.stx_mask & STATX_BTIME ? (long long)st.stx_btime.tv_sec : 0;
    unsigned btn = st.stx_mask & STATX_BTIME ? st.stx_btime.tv_nsec : 0;
    snprintf(out, len, "%llx:%llx:%o:%x:%lld.%09u", dev, (unsigned long long)st.stx_ino,
             (unsigned)(st.stx_mode & S_IFMT), gen, bt, btn);
}

static int key_add(char *key, size_t len, size_t *used, const char *tag, const char *path)
{
    char id[96];
    ident(path, tag[0] == 'd', id, sizeof id);
    int n = snprintf(key + *used, len - *used, "%s %s %s\n", tag, path, id);
    if (n < 0 || (size_t)n >= len - *used)
        return -1;
    *used += (size_t)n;
    return 0;
}

/* The inputs: every path of the set, as given, with its identity. */
static int inputs_key(const pysb_path_set *set, const char *argv0, char *key, size_t len)
{
    size_t used = 0;
    int n = snprintf(key, len, "pysb-root 3\n");
    if (n < 0 || (size_t)n >= len)
        return -1;
    used = (size_t)n;
    if (key_add(key, len, &used, "a", argv0) < 0 ||
        (set->loader && key_add(key, len, &used, "l", set->loader) < 0))
        return -1;
    for (size_t i = 0; i < set->n_exec; i++)
        if (key_add(key, len, &used, "x", set->exec[i]) < 0)
            return -1;
    for (size_t i = 0; i < set->n_ro; i++)
        if (strncmp(set->ro[i], "/dev/", 5) && /* not in the root: the run's own nodes */
            key_add(key, len, &used, set->ro_optional[i] ? "o" : "r", set->ro[i]) < 0)
            return -1;
    return 0;
}

/* FNV-1a: a name for the key; the key file itself is what is compared. */
static uint64_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Each line of a key's text ("tag path identity", the path's identity
 * as ident() wrote it; a tag of d: a hop directory, with its mtime) still
 * holds: 1, or 0 at the first that does not, or that is malformed or has
 * a tag not in tags. A "deps" line, the key's divider, is skipped. */
static int lines_current(const char *lines, const char *tags)
{
    for (const char *line = lines; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            return 0;
        size_t len = (size_t)(nl - line);
        if (len == 4 && !strncmp(line, "deps", 4)) {
            line = nl + 1;
            continue;
        }
        char path[PATH_MAX + 96], id[96];
        if (len < 4 || line[1] != ' ' || !strchr(tags, line[0]) || len - 2 >= sizeof path)
            return 0;
        memcpy(path, line + 2, len - 2);
        path[len - 2] = '\0';
        char *sp = strrchr(path, ' ');
        if (!sp)
            return 0;
        *sp = '\0';
        ident(path, line[0] == 'd', id, sizeof id);
        if (strcmp(id, sp + 1))
            return 0;
        line = nl + 1;
    }
    return 1;
}

/* The key file matches: its inputs part is ours, and each directory its
 * hops came from is unchanged. */
static int key_matches(int dirfd, const char *name, const char *inputs, char *copy,
                       size_t copy_len)
{
    char buf[KEY_MAX];
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    size_t il = strlen(inputs);
    if ((size_t)n < il || memcmp(buf, inputs, il) || strncmp(buf + il, "deps\n", 5))
        return 0;
    if (copy)
        snprintf(copy, copy_len, "%s", buf);
    return lines_current(buf + il + 5, "d");
}

static int write_key(int dirfd, const char *name, const char *inputs,
                     const struct plan *pl, char *err, size_t errlen)
{
    char tmp[64], buf[KEY_MAX];
    size_t used = (size_t)snprintf(buf, sizeof buf, "%sdeps\n", inputs);
    for (size_t i = 0; i < pl->n_deps && used < sizeof buf; i++)
        if (key_add(buf, sizeof buf, &used, "d", pl->deps[i]) < 0)
            return pysb_errf(err, errlen, "root: key too long");
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return pysb_errf(err, errlen, "root: %s/%s: %s", PYSB_ROOT_DIR, tmp, strerror(errno));
    ssize_t n = write(fd, buf, used);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)used || renameat(dirfd, tmp, dirfd, name) < 0) {
        unlinkat(dirfd, tmp, 0);
        return pysb_errf(err, errlen, "root: writing %s/%s: %s", PYSB_ROOT_DIR, name,
                         strerror(n != (ssize_t)used ? saved : errno));
    }
    return 0;
}

/* ---- building, in the pinning child -------------------------------------- */

#define STAGE PYSB_ROOT_DIR   /* its tmpfs covers the pins in its namespace only */

/* mkdir -p of STAGE+path's parents, then of what: a directory, an empty
 * file (the mount point of a file), or nothing (a symlink comes there). */
enum { POINT_DIR, POINT_FILE, POINT_PARENTS };
static int make_point(const char *full, int what)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", full) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + strlen(STAGE) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (what == POINT_PARENTS)
        return 0;
    if (what == POINT_DIR)
        return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    close(fd);
    return 0;
}

/* A recursive bind, then read-only, nosuid, nodev and noatime on every
 * mount of it (mount_setattr with AT_RECURSIVE, 5.12+): a remount would
 * change the top one only, and leave whatever is mounted beneath a bound
 * directory as it is on the host. Where mount_setattr is missing, the
 * bind is not recursive, so nothing beneath it shows at all. */
static int bind_ro(const char *src, const char *dst, char *err, size_t errlen)
{
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                    MOUNT_ATTR_NOATIME,
        .attr_clr = MOUNT_ATTR__ATIME,
    };
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return pysb_errf(err, errlen, "root: bind %s: %s", src, strerror(errno));
    if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof attr) == 0)
        return 0;
    if (errno != ENOSYS)
        return pysb_errf(err, errlen, "root: read-only %s: %s", src, strerror(errno));
    if (umount2(dst, MNT_DETACH) < 0 || mount(src, dst, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, dst, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOATIME, NULL) < 0)
        return pysb_errf(err, errlen, "root: bind %s: %s", src, strerror(errno));
    return 0;
}

/* Make path resolve in the stage as it does on the host: directories on
 * the way as empty directories, symlinks as the same symlinks (then their
 * targets, and the rest of the path), the object itself bound read-only,
 * unless links_only (a hop: never a new bind). */
static int mirror(char (*bound)[PATH_MAX], size_t *n_bound, const char *path,
                  int depth, int links_only, char *err, size_t errlen)
{
    char cur[PATH_MAX] = "", full[PATH_MAX + sizeof STAGE];
    if (depth > MAX_LINKS)
        return pysb_errf(err, errlen, "root: %s: too many symlinks", path);
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t cl = strlen(cur);
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(cur, '/');
            if (slash)
                *slash = '\0';
            p += n;
            continue;
        }
        if (cl + 1 + n >= sizeof cur)
            return pysb_errf(err, errlen, "root: %s: too long", path);
        cur[cl] = '/';
        memcpy(cur + cl + 1, p, n);
        cur[cl + 1 + n] = '\0';
        p += n;
        if (under(bound, *n_bound, cur))
            return 0; /* a bind above it shows it already */
        struct stat sb;
        if (lstat(cur, &sb) < 0)
            return pysb_errf(err, errlen, "root: %s: %s", cur, strerror(errno));
        snprintf(full, sizeof full, STAGE "%s", cur);
        if (S_ISLNK(sb.st_mode)) {
            char target[PATH_MAX], next[2 * PATH_MAX + 2];
            ssize_t tl = readlink(cur, target, sizeof target - 1);
            if (tl < 0)
                return pysb_errf(err, errlen, "root: readlink %s: %s", cur, strerror(errno));
            target[tl] = '\0';
            struct stat have;
            if (lstat(full, &have) < 0) {
                if (make_point(full, POINT_PARENTS) < 0 || symlink(target, full) < 0)
                    return pysb_errf(err, errlen, "root: symlink %s: %s", full, strerror(errno));
            }
            if (target[0] == '/') {
                snprintf(next, sizeof next, "%s%s", target, p);
            } else {
                char *slash = strrchr(cur, '/');
                *slash = '\0';
                snprintf(next, sizeof next, "%s/%s%s", cur, target, p);
            }
            return mirror(bound, n_bound, next, depth + 1, links_only, err, errlen);
        }
        if (*p && S_ISDIR(sb.st_mode)) {
            if (make_point(full, POINT_DIR) < 0)
                return pysb_errf(err, errlen, "root: mkdir %s: %s", full, strerror(errno));
            continue;
        }
        if (*p)
            return pysb_errf(err, errlen, "root: %s: not a directory", cur);
        if (links_only)
            return 0;
        if (make_point(full, S_ISDIR(sb.st_mode) ? POINT_DIR : POINT_FILE) < 0)
            return pysb_errf(err, errlen, "root: %s: %s", full, strerror(errno));
        if (bind_ro(cur, full, err, errlen) < 0)
            return -1;
        snprintf(bound[(*n_bound)++], PATH_MAX, "%s", cur);
        return 0;
    }
    return 0;
}

static int build(void *arg, char *err, size_t errlen)
{
    struct plan *pl = arg;
    static char bound[MAX_OBJS][PATH_MAX];
    size_t n_bound = 0;
    if (unshare(CLONE_NEWNS) < 0)
        return pysb_errf(err, errlen, "root: unshare: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return pysb_errf(err, errlen, "root: making mounts private: %s", strerror(errno));
    if (mount("pysb-root", STAGE, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=512k,nr_inodes=4096,mode=0755") < 0)
        return pysb_errf(err, errlen, "root: tmpfs: %s", strerror(errno));
    for (size_t i = 0; i < pl->n_objs; i++)
        if (mirror(bound, &n_bound, pl->objs[i], 0, 0, err, errlen) < 0)
            return -1;
    for (size_t i = 0; i < pl->n_hops; i++)
        if (mirror(bound, &n_bound, pl->hops[i], 0, 1, err, errlen) < 0)
            return -1;
    /* Mount points: the run's /dev and /proc, and /tmp for its scratch. */
    if ((mkdir(STAGE "/dev", 0755) < 0 && errno != EEXIST) ||
        (mkdir(STAGE "/proc", 0555) < 0 && errno != EEXIST) ||
        (mkdir(STAGE "/tmp", 0755) < 0 && errno != EEXIST))
        return pysb_errf(err, errlen, "root: mount points: %s", strerror(errno));
    if (chdir(STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return pysb_errf(err, errlen, "root: pivot_root: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return pysb_errf(err, errlen, "root: read-only: %s", strerror(errno));
    /* The key's identities were taken before the paths were bound by
     * name: one replaced in between would be another tree under this
     * key (attack10 A2). Bound, each must still be what the key says. */
    if (!pysb_root_current(pl->inputs))
        return pysb_errf(err, errlen, "%s", CHANGED_WHILE_BUILT);
    return 0;
}

/* ---- pins ------------------------------------------------------------------ */

/* A namespace descriptor from the pin, if its key matches: 1, 0, -1. */
static int use_pin(int dirfd, const char *ns, const char *key, const char *inputs,
                   int *out, char *key_text, size_t key_len, char *err, size_t errlen)
{
    /* The key first: a builder replaces the pin before the key, so a
     * matching key never goes with an older namespace. */
    if (!key_matches(dirfd, key, inputs, key_text, key_len))
        return 0;
    int fd;
    int rc = pysb_pin_open(dirfd, ns, PYSB_ROOT_DIR, &fd, err, errlen);
    if (rc <= 0)
        return rc;
    if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNS) {
        close(fd);
        return 0;
    }
    *out = fd;
    return 1;
}

static void drop_pin(int dirfd, const char *stem)
{
    char path[PATH_MAX], name[64];
    snprintf(path, sizeof path, PYSB_ROOT_DIR "/%s.ns", stem);
    umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
    snprintf(name, sizeof name, "%s.ns", stem);
    unlinkat(dirfd, name, 0);
    snprintf(name, sizeof name, "%s.key", stem);
    unlinkat(dirfd, name, 0);
}

/* At most PYSB_ROOT_MAX templates: the oldest built goes first. */
static void collect(int dirfd)
{
    for (;;) {
        int copy = dup(dirfd);
        DIR *d = copy < 0 ? NULL : fdopendir(copy);
        if (!d) {
            if (copy >= 0)
                close(copy);
            return;
        }
        rewinddir(d); /* the copy shares the offset of earlier walks */
        struct dirent *e;
        size_t count = 0;
        char oldest[64] = "";
        struct timespec when = { 0, 0 };
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            struct stat st;
            if (l != 20 || strcmp(e->d_name + 16, ".key") ||
                fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            count++;
            if (!oldest[0] || st.st_mtim.tv_sec < when.tv_sec ||
                (st.st_mtim.tv_sec == when.tv_sec && st.st_mtim.tv_nsec < when.tv_nsec)) {
                snprintf(oldest, sizeof oldest, "%.16s", e->d_name);
                when = st.st_mtim;
            }
        }
        closedir(d);
        if (count < PYSB_ROOT_MAX || !oldest[0])
            return;
        drop_pin(dirfd, oldest);
    }
}

static int build_pin(int dirfd, const char *stem, const char *inputs,
                     const pysb_path_set *set, const char *argv0, char *err, size_t errlen)
{
    struct plan *pl = calloc(1, sizeof *pl);
    if (!pl)
        return pysb_errf(err, errlen, "root: out of memory");
    char ns[64], key[64];
    snprintf(ns, sizeof ns, "%s.ns", stem);
    snprintf(key, sizeof key, "%s.key", stem);
    pl->inputs = inputs;
    int rc = make_plan(pl, set, argv0, err, errlen);
    if (rc == 0) {
        drop_pin(dirfd, stem);
        collect(dirfd);
        rc = pysb_pin_new(dirfd, ns, PYSB_ROOT_DIR, "mnt", build, pl, err, errlen);
    }
    if (rc == 0)
        rc = write_key(dirfd, key, inputs, pl, err, errlen);
    for (size_t i = 0; i < pl->n_hops; i++)
        free(pl->hops[i]);
    free(pl->hops);
    free(pl);
    return rc;
}

int pysb_root_open(const pysb_path_set *set, const char *argv0, char *err, size_t errlen)
{
    return pysb_root_open_keyed(set, argv0, NULL, 0, err, errlen);
}

int pysb_root_current(const char *key_text)
{
    /* Every line after the key's first: the inputs, then the hops'
     * directories. */
    const char *line = strchr(key_text, '\n');
    if (!line || strncmp(key_text, "pysb-root ", 10))
        return 0;
    return lines_current(line + 1, "alxrod");
}

static int open_keyed(const pysb_path_set *set, const char *argv0, char *key_text,
                      size_t key_len, char *err, size_t errlen);

int pysb_root_open_keyed(const pysb_path_set *set, const char *argv0, char *key_text,
                         size_t key_len, char *err, size_t errlen)
{
    /* A path replaced while its root was being built: the key is taken
     * anew, and the root built again. */
    int fd = -1;
    for (int i = 0; i < BUILD_TRIES; i++) {
        fd = open_keyed(set, argv0, key_text, key_len, err, errlen);
        if (fd >= 0 || !strstr(err, CHANGED_WHILE_BUILT))
            break;
    }
    return fd;
}

static int open_keyed(const pysb_path_set *set, const char *argv0, char *key_text,
                      size_t key_len, char *err, size_t errlen)
{
    static char inputs[KEY_MAX];
    if (inputs_key(set, argv0, inputs, sizeof inputs) < 0)
        return pysb_errf(err, errlen, "root: too many paths");
    char stem[17], ns[64], key[64];
    snprintf(stem, sizeof stem, "%016llx", (unsigned long long)hash(inputs));
    snprintf(ns, sizeof ns, "%s.ns", stem);
    snprintf(key, sizeof key, "%s.key", stem);
    char why[256];
    int base = pysb_pin_dir(PYSB_ROOT_BASE, why, sizeof why);
    if (base < 0)
        return pysb_errf(err, errlen, "root: %s", why);
    close(base);
    int dirfd = pysb_pin_dir(PYSB_ROOT_DIR, why, sizeof why);
    if (dirfd < 0)
        return pysb_errf(err, errlen, "root: %s", why);
    int fd = -1;
    int rc = use_pin(dirfd, ns, key, inputs, &fd, key_text, key_len, why, sizeof why);
    if (rc == 0) {
        /* Missing or stale: build under the lock, looking again first, as
         * the holder before us may just have built it. */
        int lfd = pysb_pin_lock(dirfd, ".lock", PYSB_ROOT_DIR, why, sizeof why);
        if (lfd < 0) {
            rc = -1;
        } else {
            rc = use_pin(dirfd, ns, key, inputs, &fd, key_text, key_len, why, sizeof why);
            if (rc == 0 && build_pin(dirfd, stem, inputs, set, argv0, why, sizeof why) == 0) {
                rc = use_pin(dirfd, ns, key, inputs, &fd, key_text, key_len, why, sizeof why);
                if (rc == 0)
                    rc = pysb_errf(why, sizeof why, "%s/%s: not usable after building", PYSB_ROOT_DIR, ns);
            } else if (rc == 0) {
                rc = -1;
            }
            close(lfd);
        }
    }
    close(dirfd);
    if (rc < 0)
        return pysb_errf(err, errlen, "%s%s", strncmp(why, "root: ", 6) ? "root: " : "", why);
    return fd;
}

/* ---- entering, in the reaper ------------------------------------------------ */

int pysb_root_enter(int ns_fd, char *err, size_t errlen)
{
    if (setns(ns_fd, CLONE_NEWNS) < 0)
        return pysb_errf(err, errlen, "root: setns: %s", strerror(errno));
    /* A copy of the template's dozen mounts, ours alone. */
    if (unshare(CLONE_NEWNS) < 0)
        return pysb_errf(err, errlen, "root: unshare: %s", strerror(errno));
    if (mount("pysb-dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
              "size=16k,nr_inodes=16,mode=0755") < 0)
        return pysb_errf(err, errlen, "root: /dev: %s", strerror(errno));
    if (mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)) < 0 ||
        mknod("/dev/urandom", S_IFCHR | 0444, makedev(1, 9)) < 0 ||
        chmod("/dev/null", 0666) < 0 || chmod("/dev/urandom", 0444) < 0)
        return pysb_errf(err, errlen, "root: /dev nodes: %s", strerror(errno));
    /* The mount point of a multi-process run's private /dev/shm (scratch.h). */
    if (mkdir("/dev/shm", 0755) < 0)
        return pysb_errf(err, errlen, "root: /dev/shm: %s", strerror(errno));
    if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
        return pysb_errf(err, errlen, "root: /dev read-only: %s", strerror(errno));
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return pysb_errf(err, errlen, "root: mounting the run's /proc: %s", strerror(errno));
    if (chdir("/") < 0)
        return pysb_errf(err, errlen, "root: chdir /: %s", strerror(errno));
    return 0;
}
