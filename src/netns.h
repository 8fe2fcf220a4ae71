/* netns.h — one empty network namespace, pinned at a path, shared by runs.
 *
 * Contract: pysb_netns_enter_shared moves the calling process (root,
 * single-threaded) into the network namespace bind-mounted at path,
 * creating and pinning a fresh one first when none is there (as
 * `ip netns add` does; concurrent first callers are serialised by an flock
 * on "<path>.lock"). It enters only a namespace it can trust: the directory
 * holding path belongs to root and is writable by root alone, the file is
 * an nsfs mount of a network namespace owned by our user namespace, and,
 * once inside, the only interface is "lo", down. Otherwise it returns -1
 * with a one-line reason in err and leaves the caller in the namespace it
 * started in, so the caller can fall back to a namespace of its own.
 *
 * Why share one: a new network namespace per run costs ~0.4 ms in clone()
 * plus a teardown in a kernel worker. An empty one shared by all runs is
 * as good as a fresh one because runs cannot create sockets (seccomp),
 * cannot use TCP (Landlock ABI >= 4) and have abstract Unix sockets scoped
 * (Landlock ABI >= 6); the module's launcher does the same in memory. */
#ifndef PYSB_NETNS_H
#define PYSB_NETNS_H

#include <stddef.h>

#define PYSB_NETNS_DEFAULT_PATH "/run/pysandbox/netns"

/* path NULL means PYSB_NETNS_DEFAULT_PATH. Returns 0 once inside, -1 with
 * err set otherwise. The directory of path is created 0700 if missing
 * (its parent must exist). */
int pysb_netns_enter_shared(const char *path, char *err, size_t errlen);

#endif
