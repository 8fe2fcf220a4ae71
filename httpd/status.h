/* status.h — the status page (SetHandler pysandbox-status) and the
 * module's lines in mod_status's server-status (DESIGN §2; README
 * "Watching it").
 *
 * Contract: a GET (or HEAD) asks the launcher for a snapshot over its
 * socket (STATUS_GET, session.h; half a second at most, the launcher
 * answers without waiting; a socket missing or refusing, as between a
 * graceful restart's two launchers, is tried again for a second, as a
 * run's request does) and answers it as HTML, ?json, Prometheus
 * text (?metrics, or Accept: text/plain; version=0.0.4) or ?health
 * (src/statuspage). Other methods: 405. The page shows client keys and
 * run ids, never code: restrict it (Require ip …) like server-status.
 * When mod_status is loaded, its page gains a section (and ?auto lines)
 * from the same snapshot. */
#ifndef PYSB_HTTPD_STATUS_H
#define PYSB_HTTPD_STATUS_H

#include "httpd.h"

/* The handler; DECLINED unless the handler is pysandbox-status. */
int pysb_status_handler(request_rec *r);

/* Hooks into mod_status's optional status_hook (a no-op without it). */
void pysb_status_register(void);

#endif
