/* nspin.h — namespaces pinned on files in a root-only directory, shared
 * by runs: the CLI's empty network namespace (netns.h) and the template
 * roots of runs (root.h).
 *
 * Contract: every name below the checked directory is resolved relative
 * to its descriptor with O_NOFOLLOW, so nothing but root can redirect us
 * once the directory passed its check. pysb_pin_dir opens the directory,
 * creating it 0700 when missing (its parent must exist), and refuses one
 * that is not root's or that group or others may write: whoever may write
 * it may swap a pinned file. pysb_pin_open opens a pinned file only when it
 * is an nsfs mount (a stale file left by an unmount, a symlink, a FIFO are
 * "not there"). pysb_pin_lock takes an exclusive flock on a lock file of
 * the directory: creation happens under it, so that two first callers do
 * not pin two namespaces on top of each other. pysb_pin_new forks a child
 * that runs prepare (which unshares the namespace and sets it up), then
 * bind-mounts the child's /proc/PID/ns/<kind> onto a fresh file, as
 * `ip netns add` does; the namespace then lives on after the child is gone.
 * Each returns -1 with a one-line reason in err on failure. */
#ifndef PYSB_NSPIN_H
#define PYSB_NSPIN_H

#include <stddef.h>

/* A one-line reason into err (as vsnprintf); returns -1. Shared by the
 * users of pins, whose every failure is such a line. */
int pysb_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int pysb_pin_dir(const char *dir, char *err, size_t errlen);

/* 1 with *fd set when dir/name is an nsfs mount, 0 when it is missing or
 * anything else, -1 on error. path: for messages. */
int pysb_pin_open(int dirfd, const char *name, const char *path, int *fd,
                  char *err, size_t errlen);

/* The lock's descriptor (close it to release), or -1. */
int pysb_pin_lock(int dirfd, const char *lockname, const char *path, char *err,
                  size_t errlen);

/* In the child: set up the namespace to pin; 0, or -1 with a reason. */
typedef int (*pysb_pin_prepare_fn)(void *arg, char *err, size_t errlen);

/* kind: "net", "mnt", … (the name under /proc/PID/ns). A stale file of
 * that name is replaced. */
int pysb_pin_new(int dirfd, const char *name, const char *path, const char *kind,
                 pysb_pin_prepare_fn prepare, void *arg, char *err, size_t errlen);

#endif
