/* landlock.c — build and apply the Landlock ruleset of a run.
 *
 * Contract: see landlock.h. The uapi header of the build machine may be
 * older than the kernel (Debian 12 ships ABI 2 headers), so the constants
 * and the attribute struct are spelled here and the struct is passed with
 * the size the detected ABI understands. */
#include "landlock.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE     (1ULL << 0)
#define LL_FS_WRITE_FILE  (1ULL << 1)
#define LL_FS_READ_FILE   (1ULL << 2)
#define LL_FS_READ_DIR    (1ULL << 3)
#define LL_FS_REMOVE_DIR  (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_DIR    (1ULL << 7)
#define LL_FS_MAKE_REG    (1ULL << 8)
#define LL_FS_V1_ALL      ((1ULL << 13) - 1)   /* bits 0..12 */
#define LL_FS_REFER       (1ULL << 13)         /* ABI 2 */
#define LL_FS_TRUNCATE    (1ULL << 14)         /* ABI 3 */
#define LL_FS_IOCTL_DEV   (1ULL << 15)         /* ABI 5 */
#define LL_NET_BIND_TCP    (1ULL << 0)         /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)     /* ABI 6 */
#define LL_SCOPE_SIGNAL        (1ULL << 1)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t  parent_fd;
} __attribute__((packed));

int pysb_landlock_abi(void)
{
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
                       LL_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static const char *keep(pysb_path_set *set, const char *s)
{
    size_t n = strlen(s) + 1;
    if (set->used + n > sizeof set->storage)
        return NULL;
    char *p = memcpy(set->storage + set->used, s, n);
    set->used += n;
    return p;
}

static int add_ro(pysb_path_set *set, const char *path, int optional,
                  char *err, size_t errlen)
{
    const char *p = set->n_ro < PYSB_MAX_PATHS ? keep(set, path) : NULL;
    if (!p) {
        snprintf(err, errlen, "landlock: too many read-only paths");
        return -1;
    }
    set->ro_optional[set->n_ro] = optional;
    set->ro[set->n_ro++] = p;
    return 0;
}

int pysb_path_add_rw(pysb_path_set *set, const char *path, char *err,
                     size_t errlen)
{
    const char *p = set->n_rw < sizeof set->rw / sizeof *set->rw ? keep(set, path) : NULL;
    if (!p) {
        snprintf(err, errlen, "landlock: too many writable paths");
        return -1;
    }
    set->rw[set->n_rw++] = p;
    return 0;
}

static int add_exec(pysb_path_set *set, const char *path, char *err,
                    size_t errlen)
{
    const char *p = set->n_exec < sizeof set->exec / sizeof *set->exec
                        ? keep(set, path) : NULL;
    if (!p) {
        snprintf(err, errlen, "landlock: too many executables");
        return -1;
    }
    set->exec[set->n_exec++] = p;
    return 0;
}

/* The PT_INTERP of an ELF64 executable ("/lib64/ld-linux-x86-64.so.2"),
 * or "" for a static one. The kernel opens it for execution, so Landlock
 * must grant it execute too. */
static int elf_interp(const char *path, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "interpreter %s: %s", path, strerror(errno));
        return -1;
    }
    Elf64_Ehdr eh;
    out[0] = '\0';
    int rc = -1;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr)) {
        snprintf(err, errlen, "interpreter %s: not a 64-bit ELF executable", path);
        goto done;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) !=
            (ssize_t)sizeof ph)
            break;
        if (ph.p_type != PT_INTERP)
            continue;
        if (ph.p_filesz == 0 || ph.p_filesz >= outlen ||
            pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz) {
            snprintf(err, errlen, "interpreter %s: bad PT_INTERP", path);
            goto done;
        }
        out[ph.p_filesz - 1] = '\0';
        break;
    }
    rc = 0;
done:
    close(fd);
    return rc;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int pysb_interp_paths(const char *interp, const char *const *ro_paths,
                      pysb_path_set *set, char *err, size_t errlen)
{
    char real[PATH_MAX], loader[PATH_MAX], buf[PATH_MAX + 32];
    memset(set, 0, sizeof *set);
    if (!realpath(interp, real)) {
        snprintf(err, errlen, "interpreter %s: %s", interp, strerror(errno));
        return -1;
    }
    if (access(real, X_OK) != 0) {
        snprintf(err, errlen, "interpreter %s: not executable", interp);
        return -1;
    }
    if (add_exec(set, real, err, errlen) < 0)
        return -1;
    if (elf_interp(real, buf, sizeof buf, err, errlen) < 0)
        return -1;
    if (buf[0]) {
        if (!(set->loader = keep(set, buf))) {
            snprintf(err, errlen, "landlock: too many paths");
            return -1;
        }
        if (!realpath(buf, loader)) {
            snprintf(err, errlen, "ELF loader %s: %s", buf, strerror(errno));
            return -1;
        }
        if (add_exec(set, loader, err, errlen) < 0)
            return -1;
        /* The loader's own directory holds libc and the libraries the
         * interpreter and its extension modules link against. */
        char *slash = strrchr(loader, '/');
        if (slash && slash != loader) {
            *slash = '\0';
            if (add_ro(set, loader, 0, err, errlen) < 0)
                return -1;
        }
    }
    /* <prefix>/bin/pythonX.Y → <prefix>/lib/pythonX.Y (its stdlib and
     * lib-dynload); for other names every <prefix>/lib/python3.* is too
     * broad to guess, so only an exact version name gets its stdlib. */
    const char *base = strrchr(real, '/') + 1;
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", real);
    for (int up = 0; up < 2; up++) {
        char *s = strrchr(prefix, '/');
        if (s && s != prefix)
            *s = '\0';
    }
    if (!strncmp(base, "python", 6)) {
        snprintf(buf, sizeof buf, "%s/lib/%s", prefix, base);
        if (is_dir(buf) && add_ro(set, buf, 0, err, errlen) < 0)
            return -1;
        /* A shared-library build keeps libpythonX.Y.so in <prefix>/lib. */
        snprintf(buf, sizeof buf, "%s/lib/lib%s.so.1.0", prefix, base);
        if (access(buf, R_OK) == 0 && add_ro(set, buf, 0, err, errlen) < 0)
            return -1;
    }
    static const char *const system_ro[] = {
        "/etc/ld.so.cache", "/usr/lib/locale/C.utf8", "/dev/urandom",
    };
    for (size_t i = 0; i < sizeof system_ro / sizeof *system_ro; i++)
        if (add_ro(set, system_ro[i], 1, err, errlen) < 0)
            return -1;
    return pysb_paths_add_ro(set, ro_paths, err, errlen);
}

int pysb_paths_add_ro(pysb_path_set *set, const char *const *paths, char *err,
                      size_t errlen)
{
    for (size_t i = 0; paths && paths[i]; i++) {
        if (paths[i][0] != '/') {
            snprintf(err, errlen, "read-only path %s: not absolute", paths[i]);
            return -1;
        }
        if (access(paths[i], F_OK) != 0) {
            snprintf(err, errlen, "read-only path %s: %s", paths[i], strerror(errno));
            return -1;
        }
        if (add_ro(set, paths[i], 0, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int add_rule(int ruleset, const char *path, uint64_t want,
                    uint64_t handled, int optional, char *err, size_t errlen)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (optional && (errno == ENOENT || errno == ENOTDIR))
            return 0;
        snprintf(err, errlen, "landlock: open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "landlock: stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* Rights on a non-directory must be file rights only. */
    if (!S_ISDIR(st.st_mode))
        want &= LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE |
                LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
    struct ll_path_beneath_attr pb = {
        .allowed_access = want & handled,
        .parent_fd = fd,
    };
    long rc = syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH,
                      &pb, 0);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        snprintf(err, errlen, "landlock: rule for %s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

int pysb_landlock_apply(const pysb_path_set *set, int *abi_out, char *err,
                        size_t errlen)
{
    int abi = pysb_landlock_abi();
    *abi_out = abi;
    if (abi <= 0) {
        snprintf(err, errlen, "landlock: not supported by this kernel");
        return -1;
    }
    struct ll_ruleset_attr attr = { .handled_access_fs = LL_FS_V1_ALL };
    size_t attr_size = sizeof attr.handled_access_fs;
    if (abi >= 2)
        attr.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3)
        attr.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 4) {
        /* No rule for any port: every TCP bind and connect is denied. */
        attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        attr_size = offsetof(struct ll_ruleset_attr, scoped);
    }
    if (abi >= 5)
        attr.handled_access_fs |= LL_FS_IOCTL_DEV;
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        attr_size = sizeof attr;
    }
    int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
    if (ruleset < 0) {
        snprintf(err, errlen, "landlock: create ruleset (ABI %d): %s", abi,
                 strerror(errno));
        return -1;
    }
    const uint64_t h = attr.handled_access_fs;
    const uint64_t read = LL_FS_READ_FILE | LL_FS_READ_DIR;
    int rc = -1;
    for (size_t i = 0; i < set->n_exec; i++)
        if (add_rule(ruleset, set->exec[i], LL_FS_EXECUTE | LL_FS_READ_FILE, h,
                     0, err, errlen) < 0)
            goto done;
    for (size_t i = 0; i < set->n_ro; i++)
        if (add_rule(ruleset, set->ro[i], read, h, set->ro_optional[i], err,
                     errlen) < 0)
            goto done;
    if (add_rule(ruleset, "/dev/null",
                 LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE, h, 0,
                 err, errlen) < 0)
        goto done;
    /* No EXECUTE, no MAKE_SYM/FIFO/SOCK/CHAR/BLOCK; REFER (ABI 2) for
     * renames and links between its own directories. */
    const uint64_t rw = read | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_MAKE_REG |
                        LL_FS_MAKE_DIR | LL_FS_REMOVE_FILE | LL_FS_REMOVE_DIR | LL_FS_REFER;
    for (size_t i = 0; i < set->n_rw; i++)
        if (add_rule(ruleset, set->rw[i], rw, h, 0, err, errlen) < 0)
            goto done;
    if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) {
        snprintf(err, errlen, "landlock: restrict_self: %s", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    close(ruleset);
    return rc;
}
