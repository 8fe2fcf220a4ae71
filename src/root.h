/* root.h — the run's minimal root: what the run may see of the file system
 * is exactly what Landlock lets it read.
 *
 * Contract: a template root is a read-only tmpfs holding read-only
 * (nosuid, nodev, noatime) bind mounts of exactly the paths of the run's
 * Landlock set — the interpreter and its ELF loader, their libraries, the
 * standard library, the loader cache, the locale, the admin's read-only
 * paths — with the symlinks that lead to them (argv0's, the loader's as
 * written, merged-/usr's /lib) recreated as the same symlinks, and the
 * symlink hops that symlinks inside the bound trees pass through on the
 * way back into them (Debian's /etc/alternatives, for BLAS), recreated as
 * symlinks only: never a bind of anything else. Empty directories /dev,
 * /proc and /tmp are mount points (/tmp: for a run's scratch space). Host
 * paths outside the set do not exist for the run: stat, access, readlink,
 * statx of /etc/passwd or /home give ENOENT, where Landlock alone gave
 * EACCES and leaked existence, size, owner and times.
 *
 * pysb_root_open (the supervisor: root, in the host's mount namespace)
 * returns a descriptor of a mount namespace whose root is the template for
 * this path set. Templates are pinned at PYSB_ROOT_DIR/<hash>.ns (nsfs),
 * with the key they were built from in <hash>.key: the paths and each
 * one's device, inode and type (a bind shows changes to the contents of
 * what it binds; a replaced file is another inode), and the directories
 * the hops came from with their mtime; a template whose key no longer
 * matches (an upgraded interpreter, a new loader cache, alternatives
 * switched) is rebuilt. Building one costs 0.1–0.5 s, once per
 * path set (the walk for hops), under an flock; using one costs a key
 * check of a few stats. At most PYSB_ROOT_MAX templates are kept, the
 * oldest removed first.
 *
 * pysb_root_enter (the reaper, root, before the id change, in a process
 * with no mount namespace of its own yet — a reaper cloned without
 * CLONE_NEWNS, or the forked child of a warm-run server; it needs no exec)
 * joins the template's namespace, unshares a private copy of it (a dozen
 * mounts, not the host's table), mounts a tmpfs of its own on /dev with
 * the run's own null and urandom nodes (no device inode is shared between
 * runs, so no lock on one is a channel), read-only afterwards, and the
 * procfs of the run's pid namespace on /proc, and goes to /.
 *
 * Paths under /dev (the run gets its own nodes; they are left out),
 * /proc, /run/pysandbox (our own state) and / itself, or symlinks to
 * them, cannot be read-only paths of a root. Binds are recursive, with
 * read-only, nosuid, nodev and noatime applied to every mount of each
 * (mount_setattr AT_RECURSIVE; without it, 5.12-, the bind is not
 * recursive). */
#ifndef PYSB_ROOT_H
#define PYSB_ROOT_H

#include <stddef.h>

#include "landlock.h"

#define PYSB_ROOT_BASE "/run/pysandbox"
#define PYSB_ROOT_DIR  PYSB_ROOT_BASE "/roots"
#define PYSB_ROOT_MAX  64

/* Returns the namespace's descriptor (close-on-exec), or -1 with a reason
 * ("root: …"). argv0: the interpreter as the run names it. */
int pysb_root_open(const pysb_path_set *set, const char *argv0, char *err,
                   size_t errlen);

/* pysb_root_open, and the text of the template's key (at most
 * PYSB_ROOT_KEY_MAX bytes with its NUL) in key_text, for
 * pysb_root_current: a process that keeps the descriptor (a warm-run
 * server) asks it before each run whether the template is still the one
 * a cold run would get. */
#define PYSB_ROOT_KEY_MAX 16384
int pysb_root_open_keyed(const pysb_path_set *set, const char *argv0, char *key_text,
                         size_t key_len, char *err, size_t errlen);

/* 1 when every path of key_text still has the identity recorded there
 * (device, inode, type; the hop directories' mtime): the template is
 * current. 0 when one was replaced: a cold run would now build or use
 * another template. A few stats. */
int pysb_root_current(const char *key_text);

int pysb_root_enter(int ns_fd, char *err, size_t errlen);

/* 1 when path, as given or resolved, is / or lies under /proc, /dev or
 * PYSB_ROOT_BASE: no read-only path of a run (callers check the admin's
 * paths with it up front: the CLI's --ro, PySandboxReadOnlyPath). */
int pysb_root_refuses(const char *path);

#endif
