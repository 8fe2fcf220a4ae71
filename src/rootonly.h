/* rootonly.h — can anyone but root change what a privileged process reads?
 * Stat-only answers, for what a fork server (root) reads before it runs a
 * line of its own: the interpreter, its standard library, its site
 * directories, the extension.
 *
 * Contract: pysb_root_only(path) checks path and every directory above it,
 * symbolic links followed (the link itself and its target, each with its
 * own ancestors): each must belong to root and not be writable by its
 * group or others (a link's own mode means nothing and is not looked at),
 * but for a sticky directory of root's above an existing entry of root's
 * (/tmp/x: the sticky bit keeps others from renaming or removing x).
 * A path that does not exist is judged by its nearest existing ancestor
 * (whoever may write there could create it). pysb_root_only_tree(dir) does
 * the same for dir and then for every entry below it, not following links
 * (a link's target is checked as a path of its own). pysb_root_only_entries
 * checks dir and the entries directly in it only. Each returns 0, or -1
 * with one line in err: "<what>: PATH belongs to uid N, not root" or
 * "<what>: PATH is writable by its group|others". Nothing is opened but
 * directories to list them. No Apache headers. */
#ifndef PYSB_ROOTONLY_H
#define PYSB_ROOTONLY_H

#include <stddef.h>

int pysb_root_only(const char *what, const char *path, char *err, size_t errlen);
int pysb_root_only_tree(const char *what, const char *dir, char *err, size_t errlen);
int pysb_root_only_entries(const char *what, const char *dir, char *err, size_t errlen);

#endif
