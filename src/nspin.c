/* nspin.c — namespaces pinned on files in a root-only directory.
 *
 * Contract: see nspin.h. */
#include "nspin.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

int pysb_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int pysb_pin_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return pysb_errf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return pysb_errf(err, errlen, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        pysb_errf(err, errlen, "%s: fstat: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        pysb_errf(err, errlen, "%s: must be owned by root and not writable by "
                  "group or others", dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* O_NONBLOCK: a FIFO planted there must not hang us. */
int pysb_pin_open(int dirfd, const char *name, const char *path, int *out,
                  char *err, size_t errlen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            return 0;
        return pysb_errf(err, errlen, "%s: %s", path, strerror(errno));
    }
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0) {
        pysb_errf(err, errlen, "%s: fstatfs: %s", path, strerror(errno));
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

int pysb_pin_lock(int dirfd, const char *lockname, const char *path, char *err,
                  size_t errlen)
{
    int lfd = openat(dirfd, lockname, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lfd < 0)
        return pysb_errf(err, errlen, "%s lock %s: %s", path, lockname, strerror(errno));
    int l;
    do
        l = flock(lfd, LOCK_EX);
    while (l < 0 && errno == EINTR);
    if (l < 0) {
        pysb_errf(err, errlen, "%s lock %s: flock: %s", path, lockname, strerror(errno));
        close(lfd);
        return -1;
    }
    return lfd;
}

/* The child: prepare, say so (an empty message is success), then wait to
 * be killed once its namespace is pinned. */
static __attribute__((noreturn)) void pin_child(int w, pysb_pin_prepare_fn prepare,
                                                void *arg)
{
    char msg[256] = "";
    if (prepare(arg, msg, sizeof msg) < 0 && !msg[0])
        snprintf(msg, sizeof msg, "preparing the namespace failed");
    char ok = 0;
    ssize_t n = msg[0] ? write(w, msg, strlen(msg)) : write(w, &ok, 1);
    (void)n;
    for (;;)
        pause();
}

int pysb_pin_new(int dirfd, const char *name, const char *path, const char *kind,
                 pysb_pin_prepare_fn prepare, void *arg, char *err, size_t errlen)
{
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return pysb_errf(err, errlen, "%s: removing the stale file: %s", path, strerror(errno));
    int ffd = openat(dirfd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
    if (ffd < 0)
        return pysb_errf(err, errlen, "%s: create: %s", path, strerror(errno));
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        pysb_errf(err, errlen, "pipe2: %s", strerror(errno));
        close(ffd);
        unlinkat(dirfd, name, 0);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        pin_child(p[1], prepare, arg);
    }
    int fork_errno = errno;
    close(p[1]);
    int rc = -1;
    if (pid < 0) {
        pysb_errf(err, errlen, "fork: %s", strerror(fork_errno));
        goto done;
    }
    char msg[256];
    ssize_t n;
    do
        n = read(p[0], msg, sizeof msg - 1);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        pysb_errf(err, errlen, "%s: the namespace's child died (%s)", path,
                  n < 0 ? strerror(errno) : "no word");
    } else if (n > 1 || msg[0]) {
        msg[n] = '\0';
        pysb_errf(err, errlen, "%s: %s", path, msg);
    } else {
        char src[64], target[64];
        snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, kind);
        snprintf(target, sizeof target, "/proc/self/fd/%d", ffd);
        if (mount(src, target, NULL, MS_BIND, NULL) < 0)
            pysb_errf(err, errlen, "%s: pinning %s: %s", path, src, strerror(errno));
        else
            rc = 0;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
done:
    close(p[0]);
    close(ffd);
    if (rc < 0)
        unlinkat(dirfd, name, 0);
    return rc;
}
