/* workercount.h — the 503s httpd's children make themselves (the launcher
 * cannot be reached or does not answer), which never reach the launcher's
 * counters, for the status page.
 *
 * Contract: pysb_workercount_attach (post_config, in the parent) makes one
 * anonymous shared counter the first time, in the process pool, and finds
 * it again in every later generation: every child of every generation
 * counts into it (it is mapped before they are forked), a graceful restart
 * keeps it, a stop ends it with the parent. Without it (its creation
 * failed: logged) counting is a no-op and the total reads 0. */
#ifndef PYSB_HTTPD_WORKERCOUNT_H
#define PYSB_HTTPD_WORKERCOUNT_H

#include "httpd.h"

void pysb_workercount_attach(server_rec *s);
void pysb_workercount_unavailable(void);
apr_uint64_t pysb_workercount_unavailable_total(void);

#endif
