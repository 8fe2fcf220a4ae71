/* netns.c — the shared, pinned, empty network namespace.
 *
 * Contract: see netns.h. Every name below the checked directory is
 * resolved relative to its descriptor with O_NOFOLLOW, so nothing but root
 * can redirect us once the directory passed its check; creation happens
 * under an exclusive flock so that two first runs do not pin two
 * namespaces on top of each other. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The directory, created 0700 if missing. Root-owned and writable by root
 * alone, or refused: whoever may write it may swap the pinned file. */
static int open_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return fail(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return fail(err, errlen, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fail(err, errlen, "%s: fstat: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        fail(err, errlen, "%s: must be owned by root and not writable by "
             "group or others", dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 with *out set when name is an nsfs mount, 0 when it is missing or
 * anything else (a stale file left by an unmount, a symlink), -1 on error.
 * O_NONBLOCK: a FIFO planted there must not hang us. */
static int open_pinned(int dirfd, const char *name, const char *path, int *out,
                       char *err, size_t errlen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            return 0;
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    }
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0) {
        fail(err, errlen, "%s: fstatfs: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (sf.f_type != NSFS_MAGIC) {
        close(fd);
        return 0;
    }
    *out = fd;
    return 1;
}

/* Pin a fresh network namespace on dir/name, as `ip netns add` does: a
 * child unshares one and bind-mounts its /proc/self/ns/net onto the file,
 * which keeps the namespace alive after the child is gone. The target is
 * the new file's own descriptor (through /proc/self/fd), not a path. */
static int pin_new(int dirfd, const char *name, const char *path,
                   char *err, size_t errlen)
{
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return fail(err, errlen, "%s: removing the stale file: %s", path,
                    strerror(errno));
    int ffd = openat(dirfd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
    if (ffd < 0)
        return fail(err, errlen, "%s: create: %s", path, strerror(errno));
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        fail(err, errlen, "pipe2: %s", strerror(errno));
        close(ffd);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char msg[256] = "";
        char target[64];
        close(p[0]);
        snprintf(target, sizeof target, "/proc/self/fd/%d", ffd);
        if (unshare(CLONE_NEWNET) < 0)
            snprintf(msg, sizeof msg, "unshare(CLONE_NEWNET): %s", strerror(errno));
        else if (mount("/proc/self/ns/net", target, NULL, MS_BIND, NULL) < 0)
            snprintf(msg, sizeof msg, "mount: %s", strerror(errno));
        if (msg[0] && write(p[1], msg, strlen(msg)) < 0)
            _exit(2);
        _exit(msg[0] ? 1 : 0);
    }
    int fork_errno = errno;
    close(p[1]);
    close(ffd);
    if (pid < 0) {
        close(p[0]);
        return fail(err, errlen, "fork: %s", strerror(fork_errno));
    }
    char msg[256];
    ssize_t n;
    do
        n = read(p[0], msg, sizeof msg - 1);
    while (n < 0 && errno == EINTR);
    close(p[0]);
    int status;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return fail(err, errlen, "waitpid: %s", strerror(errno));
    if (n > 0) {
        msg[n] = '\0';
        return fail(err, errlen, "%s: pinning a namespace: %s", path, msg);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(err, errlen, "%s: pinning a namespace: child failed "
                    "(wait status 0x%x)", path, (unsigned)status);
    return 0;
}

/* Inode identity of two namespace files: 1 same, 0 not, -1 error. */
static int same_ns(int fd, const char *other)
{
    struct stat a, b;
    if (fstat(fd, &a) < 0 || stat(other, &b) < 0)
        return -1;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Inside the namespace: "lo" is the only interface, down and without an
 * address, i.e. exactly what a fresh namespace holds. Anything else means
 * someone set it up for another purpose: not ours to use. */
static int check_empty(const char *path, char *err, size_t errlen)
{
    struct ifaddrs *ifa;
    if (getifaddrs(&ifa) < 0)
        return fail(err, errlen, "%s: getifaddrs: %s", path, strerror(errno));
    int rc = 0;
    for (struct ifaddrs *i = ifa; i && rc == 0; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0)
            rc = fail(err, errlen, "%s: not empty: has interface %s", path,
                      i->ifa_name);
        else if (i->ifa_flags & IFF_UP)
            rc = fail(err, errlen, "%s: not empty: lo is up", path);
        else if (i->ifa_addr && i->ifa_addr->sa_family != AF_PACKET)
            rc = fail(err, errlen, "%s: not empty: lo has an address", path);
    }
    freeifaddrs(ifa);
    return rc;
}

/* setns into fd, verified; on refusal the caller is put back where it
 * was. */
static int enter(int fd, const char *path, char *err, size_t errlen)
{
    int t = ioctl(fd, NS_GET_NSTYPE);
    if (t < 0)
        return fail(err, errlen, "%s: NS_GET_NSTYPE: %s", path, strerror(errno));
    if (t != CLONE_NEWNET)
        return fail(err, errlen, "%s: not a network namespace", path);
    /* Owned by another user namespace, it could be reconfigured by
     * whoever holds privileges there after we checked it. */
    int ufd = ioctl(fd, NS_GET_USERNS);
    if (ufd < 0)
        return fail(err, errlen, "%s: NS_GET_USERNS: %s", path, strerror(errno));
    int ours = same_ns(ufd, "/proc/self/ns/user");
    int saved = errno;
    close(ufd);
    if (ours < 0)
        return fail(err, errlen, "%s: comparing user namespaces: %s", path,
                    strerror(saved));
    if (!ours)
        return fail(err, errlen, "%s: owned by another user namespace", path);

    int back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (back < 0)
        return fail(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
    if (setns(fd, CLONE_NEWNET) < 0) {
        fail(err, errlen, "%s: setns: %s", path, strerror(errno));
        close(back);
        return -1;
    }
    int rc = check_empty(path, err, errlen);
    if (rc < 0 && setns(back, CLONE_NEWNET) < 0) {
        /* The message stays the refusal; a caller falling back to a new
         * namespace per run is safe from any namespace. */
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0,
                 " (and returning failed: %s)", strerror(errno));
    }
    close(back);
    return rc;
}

int pysb_netns_enter_shared(const char *path, char *err, size_t errlen)
{
    if (!path)
        path = PYSB_NETNS_DEFAULT_PATH;
    char dir[PATH_MAX], name[NAME_MAX + 1], lock[NAME_MAX + 1];
    const char *slash = strrchr(path, '/');
    if (path[0] != '/' || !slash[1] || !strcmp(slash + 1, ".") ||
        !strcmp(slash + 1, ".."))
        return fail(err, errlen, "%s: an absolute path to a file is required", path);
    size_t dlen = slash == path ? 1 : (size_t)(slash - path);
    if (dlen >= sizeof dir ||
        (size_t)snprintf(name, sizeof name, "%s", slash + 1) >= sizeof name ||
        (size_t)snprintf(lock, sizeof lock, "%s.lock", slash + 1) >= sizeof lock)
        return fail(err, errlen, "%s: path too long", path);
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';

    int dirfd = open_dir(dir, err, errlen);
    if (dirfd < 0)
        return -1;
    int nsfd = -1;
    int found = open_pinned(dirfd, name, path, &nsfd, err, errlen);
    if (found == 0) {
        /* Missing or stale: create under the lock, re-checking first, as
         * the holder before us may just have pinned one. */
        int lfd = openat(dirfd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lfd < 0) {
            fail(err, errlen, "%s/%s: %s", dir, lock, strerror(errno));
            found = -1;
        } else {
            int l;
            do
                l = flock(lfd, LOCK_EX);
            while (l < 0 && errno == EINTR);
            if (l < 0) {
                fail(err, errlen, "%s/%s: flock: %s", dir, lock, strerror(errno));
                found = -1;
            } else {
                found = open_pinned(dirfd, name, path, &nsfd, err, errlen);
                if (found == 0 && pin_new(dirfd, name, path, err, errlen) == 0) {
                    found = open_pinned(dirfd, name, path, &nsfd, err, errlen);
                    if (found == 0)
                        found = fail(err, errlen, "%s: not an nsfs mount after "
                                     "pinning", path);
                } else if (found == 0) {
                    found = -1;
                }
            }
            close(lfd); /* releases the lock */
        }
    }
    close(dirfd);
    if (found < 0)
        return -1;
    int rc = enter(nsfd, path, err, errlen);
    close(nsfd);
    return rc;
}
