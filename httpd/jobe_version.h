/* jobe_version.h — the interpreters' versions for GET languages.
 *
 * Contract: at start (post_config, before the children are forked, so
 * they inherit the table) the parent runs every configured interpreter as
 * the httpd User with -I -S -c PYSB_JOBE_VERSION_CODE, no environment,
 * stdin and stderr /dev/null, for at most 10 s, and keeps what it prints
 * when that is a version (digits and dots). GET languages then needs no
 * run slot, so a server whose slots are all busy (or a fresh child after a
 * graceful restart) still names its language (attack-jobe F7). The code is
 * ours and the interpreter the admin's; nothing of a request runs here.
 * Workers may remember a version learnt by a run of their own. */
#ifndef PYSB_HTTPD_JOBE_VERSION_H
#define PYSB_HTTPD_JOBE_VERSION_H

#include <stddef.h>

#include "httpd.h"

#define PYSB_JOBE_VERSION_CODE "import sys\nprint('%d.%d.%d' % sys.version_info[:3])\n"

/* post_config: every configured interpreter asked (failures logged). */
void pysb_jobe_learn_versions(apr_pool_t *ptemp, server_rec *s);

/* 1 with interp's version in buf when known, else 0. Thread-safe. */
int pysb_jobe_recall_version(const char *interp, char *buf, size_t len);
void pysb_jobe_remember_version(const char *interp, const char *version);

/* 1 when v looks like a version: digits and dots, not empty. */
int pysb_jobe_version_ok(const char *v);

#endif
