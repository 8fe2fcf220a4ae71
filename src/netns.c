/* netns.c — the shared, pinned, empty network namespace.
 *
 * Contract: see netns.h. The directory, the pinned file and creation
 * under a lock are nspin.h's; here: what a trustworthy shared network
 * namespace is, and entering it. */
#include "netns.h"
#include "nspin.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* In pysb_pin_new's child: the namespace to pin, fresh and empty. */
static int new_netns(void *arg, char *err, size_t errlen)
{
    (void)arg;
    if (unshare(CLONE_NEWNET) < 0)
        return pysb_errf(err, errlen, "unshare(CLONE_NEWNET): %s", strerror(errno));
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
        return pysb_errf(err, errlen, "%s: getifaddrs: %s", path, strerror(errno));
    int rc = 0;
    for (struct ifaddrs *i = ifa; i && rc == 0; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0)
            rc = pysb_errf(err, errlen, "%s: not empty: has interface %s", path,
                           i->ifa_name);
        else if (i->ifa_flags & IFF_UP)
            rc = pysb_errf(err, errlen, "%s: not empty: lo is up", path);
        else if (i->ifa_addr && i->ifa_addr->sa_family != AF_PACKET)
            rc = pysb_errf(err, errlen, "%s: not empty: lo has an address", path);
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
        return pysb_errf(err, errlen, "%s: NS_GET_NSTYPE: %s", path, strerror(errno));
    if (t != CLONE_NEWNET)
        return pysb_errf(err, errlen, "%s: not a network namespace", path);
    /* Owned by another user namespace, it could be reconfigured by
     * whoever holds privileges there after we checked it. */
    int ufd = ioctl(fd, NS_GET_USERNS);
    if (ufd < 0)
        return pysb_errf(err, errlen, "%s: NS_GET_USERNS: %s", path, strerror(errno));
    int ours = same_ns(ufd, "/proc/self/ns/user");
    int saved = errno;
    close(ufd);
    if (ours < 0)
        return pysb_errf(err, errlen, "%s: comparing user namespaces: %s", path,
                         strerror(saved));
    if (!ours)
        return pysb_errf(err, errlen, "%s: owned by another user namespace", path);

    int back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (back < 0)
        return pysb_errf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
    if (setns(fd, CLONE_NEWNET) < 0) {
        pysb_errf(err, errlen, "%s: setns: %s", path, strerror(errno));
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
        return pysb_errf(err, errlen, "%s: an absolute path to a file is required", path);
    size_t dlen = slash == path ? 1 : (size_t)(slash - path);
    if (dlen >= sizeof dir ||
        (size_t)snprintf(name, sizeof name, "%s", slash + 1) >= sizeof name ||
        (size_t)snprintf(lock, sizeof lock, "%s.lock", slash + 1) >= sizeof lock)
        return pysb_errf(err, errlen, "%s: path too long", path);
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';

    int dirfd = pysb_pin_dir(dir, err, errlen);
    if (dirfd < 0)
        return -1;
    int nsfd = -1;
    int found = pysb_pin_open(dirfd, name, path, &nsfd, err, errlen);
    if (found == 0) {
        /* Missing or stale: create under the lock, re-checking first, as
         * the holder before us may just have pinned one. */
        int lfd = pysb_pin_lock(dirfd, lock, path, err, errlen);
        if (lfd < 0) {
            found = -1;
        } else {
            found = pysb_pin_open(dirfd, name, path, &nsfd, err, errlen);
            if (found == 0 &&
                pysb_pin_new(dirfd, name, path, "net", new_netns, NULL, err, errlen) == 0) {
                found = pysb_pin_open(dirfd, name, path, &nsfd, err, errlen);
                if (found == 0)
                    found = pysb_errf(err, errlen, "%s: not an nsfs mount after "
                                      "pinning", path);
            } else if (found == 0) {
                found = -1;
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
