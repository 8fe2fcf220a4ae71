/* scratch.c — the run's private tmpfs: made detached by the supervisor,
 * attached by the reaper inside the run, freed with its last fd.
 *
 * Contract: see scratch.h. Why the supervisor makes it (fsopen/fsmount)
 * and not a mount(2) in the reaper: an fd of the supervisor's outlives the
 * run's mount namespace, so what the run left can be read after the kernel
 * has reaped every process of it (nobody left to race with), and the
 * tmpfs never appears in the host's mount table — a supervisor that dies
 * frees it by dying. */
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mime.h"
#include "utf8.h"

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "scratch: %s: %s", what, strerror(errno));
    return -1;
}

uint64_t pysb_scratch_inodes(uint64_t size)
{
    uint64_t n = size / (16u << 10);
    return n < 64 ? 64 : n;
}

int pysb_scratch_files_fit(uint64_t size, size_t n_files, uint64_t page_total)
{
    return page_total <= size && n_files + 3 <= pysb_scratch_inodes(size);
}

uint64_t pysb_scratch_file_pages(uint64_t len)
{
    const uint64_t page = 4096;
    return (len + page - 1) / page * page;
}

static int set_key(int fs, const char *key, uint64_t value, char *err, size_t errlen)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)value);
    if (fsconfig(fs, FSCONFIG_SET_STRING, key, num, 0) < 0)
        return fail(err, errlen, key);
    return 0;
}

/* A directory of the root owned by the run, and a detached tree of it:
 * same superblock (so the same size and inode caps), same mount flags. */
static int subtree(int root, const char *name, uid_t uid, gid_t gid, char *err,
                   size_t errlen)
{
    if (mkdirat(root, name, 0700) < 0 ||
        fchownat(root, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return fail(err, errlen, name);
    int fd = open_tree(root, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "open_tree");
    return fd;
}

int pysb_scratch_create(uint64_t size, uid_t uid, gid_t gid, int with_shm,
                        pysb_scratch *s, char *err, size_t errlen)
{
    *s = PYSB_SCRATCH_NONE;
    int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0)
        return fail(err, errlen, "fsopen tmpfs");
    int rc = -1;
    if (set_key(fs, "size", size, err, errlen) < 0 ||
        set_key(fs, "nr_inodes", pysb_scratch_inodes(size), err, errlen) < 0)
        goto out;
    if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0) {
        fail(err, errlen, "mode");
        goto out;
    }
    /* Run data never reaches a swap device (6.4+); an older kernel
     * refuses the key and the run goes on without it. */
    (void)fsconfig(fs, FSCONFIG_SET_FLAG, "noswap", NULL, 0);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        fail(err, errlen, "creating the tmpfs");
        goto out;
    }
    /* noexec: the one layer against ld.so and dlopen of a written file
     * (Landlock does not govern mmap(PROT_EXEC)). */
    s->root = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                               MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW);
    if (s->root < 0) {
        fail(err, errlen, "fsmount");
        goto out;
    }
    if ((s->work = subtree(s->root, "work", uid, gid, err, errlen)) < 0 ||
        (with_shm && (s->shm = subtree(s->root, "shm", uid, gid, err, errlen)) < 0))
        goto out;
    rc = 0;
out:
    close(fs);
    if (rc < 0)
        pysb_scratch_close(s);
    return rc;
}

const char *pysb_file_name_check(const char *name, size_t len)
{
    if (len == 0)
        return "empty name";
    if (len > PYSB_FILE_NAME_MAX)
        return "name longer than 128 bytes";
    if (!pysb_utf8_valid(name, len))
        return "name not valid UTF-8";
    if (name[0] == '.')
        return "name starts with a dot";
    if (len == 3 && !memcmp(name, "out", 3))
        return "\"out\" is the output folder";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/')
            return "name contains a slash";
        if (c == '\\')
            return "name contains a backslash";
        if (pysb_utf8_control_at(name, len, i))
            return "name contains a control character";
    }
    return NULL;
}

int pysb_in_files_have(const pysb_in_file *files, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(files[i].name) == len && !memcmp(files[i].name, name, len))
            return 1;
    return 0;
}

/* openat2 below dir that follows no link of any kind and leaves neither
 * the directory nor the mount. */
static int open_beneath(int dir, const char *name, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .mode = mode,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV |
                   RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, dir, name, &how, sizeof how);
}

int pysb_scratch_put(const pysb_scratch *s, const char *name, const void *data,
                     size_t len, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    const char *why = pysb_file_name_check(name, strlen(name));
    if (why) {
        errno = EINVAL;
        snprintf(err, errlen, "input file: %s", why);
        return -1;
    }
    int dir = open_beneath(s->root, "work", O_PATH | O_DIRECTORY, 0);
    if (dir < 0)
        return fail(err, errlen, "work/");
    int fd = open_beneath(dir, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    int saved = errno;
    close(dir);
    if (fd < 0) {
        errno = saved;
        snprintf(err, errlen, "input file %s: %s", name, strerror(saved));
        return -1;
    }
    for (const char *p = data; len > 0;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            saved = n < 0 ? errno : ENOSPC;
            close(fd);
            errno = saved;
            snprintf(err, errlen, "input file %s: %s", name, strerror(saved));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchown(fd, uid, gid) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return fail(err, errlen, "input file: fchown");
    }
    close(fd);
    return 0;
}

int pysb_scratch_attach(int work, int shm, char *err, size_t errlen)
{
    if (move_mount(work, "", AT_FDCWD, PYSB_SCRATCH_DIR, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return fail(err, errlen, "attaching " PYSB_SCRATCH_DIR);
    close(work);
    if (shm >= 0) {
        if (move_mount(shm, "", AT_FDCWD, PYSB_SCRATCH_SHM, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return fail(err, errlen, "attaching " PYSB_SCRATCH_SHM);
        close(shm);
    }
    if (chdir(PYSB_SCRATCH_DIR) < 0)
        return fail(err, errlen, "chdir " PYSB_SCRATCH_DIR);
    return 0;
}

/* p is dir or below it. */
static int under(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

int pysb_scratch_hides(const char *const *paths, size_t n, int shm, char *err,
                       size_t errlen)
{
    for (size_t i = 0; paths && i < n && paths[i]; i++)
        if (under(paths[i], PYSB_SCRATCH_DIR) || (shm && under(paths[i], PYSB_SCRATCH_SHM))) {
            snprintf(err, errlen, "read-only path %s: hidden by the run's scratch directory "
                                  "(scratch 0 runs without one)", paths[i]);
            return -1;
        }
    return 0;
}

int pysb_scratch_grant(pysb_path_set *set, int shm, char *err, size_t errlen)
{
    if (pysb_path_add_rw(set, PYSB_SCRATCH_DIR, err, errlen) < 0 ||
        (shm && pysb_path_add_rw(set, PYSB_SCRATCH_SHM, err, errlen) < 0))
        return -1;
    return 0;
}

void pysb_scratch_close(pysb_scratch *s)
{
    int *fds[] = { &s->root, &s->work, &s->shm };
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

/* ---- what the run left in out/ ------------------------------------------ */

/* The walk's own bounds, whatever the scratch's size: out/ of a 16G
 * scratch may hold a million inodes, and the walk is root's time after
 * the run's clocks (attack-work F4). Names read of one folder (hidden ones
 * are not kept), and entries opened in all. */
#define NAMES_MAX  1024
#define VISITS_MAX (4 * PYSB_OUT_FILES_MAX)

struct collect {
    uint64_t cap, used;
    unsigned listed, visited;
    int full;           /* PYSB_OUT_FILES_MAX listed and the next one said */
    pysb_file_fn fn;
    void *ctx;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(struct collect *c, const char *name, uint64_t size, const char *data,
                const char *dropped)
{
    pysb_out_file f = { .name = name, .size = size, .data = data, .dropped = dropped };
    f.mime = pysb_guess_mime(name, (const unsigned char *)(data ? data : ""),
                             data ? (size_t)size : 0, &f.attachment);
    c->listed++;
    return c->fn ? c->fn(c->ctx, &f) : 0;
}

/* The names in dir that are not hidden, sorted (malloc'd): the NAMES_MAX
 * first by name when it has more (*more then set), so what is returned
 * does not depend on the order the directory gives (tmpfs: newest first). */
static char **names_of(int dir, size_t *n, int *more)
{
    int fd = fcntl(dir, F_DUPFD_CLOEXEC, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    char **v = NULL;
    size_t cap = 0;
    int sorted = 0;
    *n = 0;
    *more = 0;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and hidden: not output */
        if (*n == NAMES_MAX) {
            /* Full: keep it only if it comes before the last kept. */
            *more = 1;
            if (!sorted) {
                qsort(v, *n, sizeof *v, cmp_names);
                sorted = 1;
            }
            if (strcmp(e->d_name, v[*n - 1]) >= 0)
                continue;
            char *name = strdup(e->d_name);
            if (!name)
                continue;
            size_t lo = 0, hi = *n - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (strcmp(v[mid], name) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            free(v[*n - 1]);
            memmove(v + lo + 1, v + lo, (*n - 1 - lo) * sizeof *v);
            v[lo] = name;
            continue;
        }
        if (*n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if ((v[*n] = strdup(e->d_name)))
            (*n)++;
    }
    closedir(d);
    if (v && !sorted)
        qsort(v, *n, sizeof *v, cmp_names);
    return v;
}

static char *read_whole(int fd, size_t size)
{
    char *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (buf && got != size) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int collect_dir(struct collect *c, int dir, const char *prefix, int depth)
{
    size_t n;
    int more;
    char **names = names_of(dir, &n, &more);
    int rc = 0;
    /* Said first, so that the 64 listed cannot hide it. */
    if (more && c->listed < PYSB_OUT_FILES_MAX && !c->full) {
        char folder[PYSB_OUT_DEPTH * 256 + 300];
        snprintf(folder, sizeof folder, "%s", prefix[0] ? prefix : "./");
        folder[strlen(folder) - 1] = '\0';
        rc = list(c, folder[0] ? folder : ".", 0, NULL,
                  "a folder of more than 1024 names: those after the first 1024 by name "
                  "are not looked at");
    }
    for (size_t i = 0; i < n && rc == 0 && !c->full; i++) {
        char rel[PYSB_OUT_DEPTH * 256 + 300];
        snprintf(rel, sizeof rel, "%s%s", prefix, names[i]);
        /* One entry past the cap names where the list stops, so that what
         * is left out is not left out without a word. */
        if (c->listed >= PYSB_OUT_FILES_MAX) {
            rc = list(c, rel, 0, NULL, "past the 64 files listed: it and what follows it "
                      "by name are left out");
            c->full = 1;
            break;
        }
        if (c->visited++ == VISITS_MAX) {
            rc = list(c, rel, 0, NULL, "past the 256 entries of out/ that are looked at");
            break;
        }
        if (c->visited > VISITS_MAX)
            break;
        const char *bad = pysb_file_name_check(names[i], strlen(names[i]));
        if (bad) {
            rc = list(c, rel, 0, NULL, bad);
            continue;
        }
        int fd = open_beneath(dir, names[i], O_RDONLY | O_NONBLOCK, 0);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            rc = list(c, rel, 0, NULL, "cannot be opened (a symlink?)");
        } else if (S_ISDIR(st.st_mode)) {
            if (depth >= PYSB_OUT_DEPTH) {
                rc = list(c, rel, 0, NULL, "folder too deep");
            } else {
                char sub[sizeof rel + 1];
                snprintf(sub, sizeof sub, "%s/", rel);
                rc = collect_dir(c, fd, sub, depth + 1);
            }
        } else if (!S_ISREG(st.st_mode)) {
            rc = list(c, rel, 0, NULL, "not a regular file");
        } else if ((uint64_t)st.st_size > c->cap - c->used) {
            rc = list(c, rel, (uint64_t)st.st_size, NULL, "over the output files cap");
        } else {
            char *data = read_whole(fd, (size_t)st.st_size);
            if (data)
                c->used += (uint64_t)st.st_size;
            rc = list(c, rel, (uint64_t)st.st_size, data, data ? NULL : "could not be read");
            free(data);
        }
        if (fd >= 0)
            close(fd);
    }
    for (size_t j = 0; j < n; j++)
        free(names[j]);
    free(names);
    return rc;
}

int pysb_scratch_collect(const pysb_scratch *s, uint64_t cap, pysb_file_fn fn, void *ctx,
                         char *err, size_t errlen)
{
    struct collect c = { .cap = cap, .fn = fn, .ctx = ctx };
    int dir = open_beneath(s->root, "work/out", O_RDONLY | O_DIRECTORY, 0);
    if (dir < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return 0; /* no out/ folder (or not one): nothing to return */
        return fail(err, errlen, "out/");
    }
    collect_dir(&c, dir, "", 0);
    close(dir);
    return (int)c.listed;
}
