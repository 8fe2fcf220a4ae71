/* parent.h — the launcher's life in the httpd parent (DESIGN §2), and the
 * stop notice each httpd child gives its waiting workers.
 *
 * Contract: post_config forks the launcher while httpd is still root (not
 * on the first, checking pass of the start-up) and registers it as an
 * "other child": restarted within a second when it dies, replaced on a
 * graceful restart (runs in flight finish under their supervisors), sent
 * SIGTERM when pconf goes; the monitor hook retries a launcher whose fork
 * failed. The parent is the subreaper of what it starts: a launcher that
 * a graceful restart replaced, and supervisors whose launcher died, stay
 * known children of it until they end, reaped quietly (no AH00488 "long
 * lost child came home!", no zombie left to an init that never reaps).
 * check_config refuses uid ranges that cannot work, under
 * apachectl configtest too. In each child, an immediate stop (not a
 * graceful one) writes a pipe that every worker waiting on a run polls, so
 * no worker sits out httpd's shutdown timeout. */
#ifndef PYSB_HTTPD_PARENT_H
#define PYSB_HTTPD_PARENT_H

#include "httpd.h"
#include "apr_pools.h"

int pysb_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s);
int pysb_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                     server_rec *s);
int pysb_monitor(apr_pool_t *p, server_rec *s);
void pysb_child_init(apr_pool_t *pchild, server_rec *s);
void pysb_child_stopping(apr_pool_t *pchild, int graceful);

/* The launcher's socket path, for the workers of every virtual host; NULL
 * before post_config has run. */
const char *pysb_launcher_socket(void);

/* The read end of this child's stop pipe (readable once an immediate stop
 * is under way), or -1. */
int pysb_stop_fd(void);

#endif
