/* jobe.h — SetHandler pysandbox-jobe: Jobe's REST API (issue 13) for
 * Moodle CodeRunner on the module's own run path.
 *
 * Contract: GET …/restapi/languages, POST …/restapi/runs, PUT and HEAD
 * …/restapi/files/ID, under the Location ("/jobe/index.php/restapi/…" and
 * "/jobe/restapi/…"); anything else 404 with the body "" as Jobe. With
 * PySandboxJobeApiKey set, every request needs one of its keys in
 * X-API-KEY (403 "Missing API key" / "Unknown API key"). A run is an
 * ordinary run of the Location (its limits, interpreter, read-only paths;
 * the launcher, the same supervisor and confinement) of the program
 * src/jobe.c makes, collected (httpd/relay.c) and answered as Jobe's
 * result object; no run slot → 200 with outcome 21. Error bodies are JSON
 * strings with Jobe's texts (src/jobe.h). The file cache is
 * src/jobecache.h, in the Location's PySandboxJobeFileCache. */
#ifndef PYSB_HTTPD_JOBE_H
#define PYSB_HTTPD_JOBE_H

#include "httpd.h"

/* The handler: DECLINED unless r->handler is "pysandbox-jobe". */
int pysb_jobe_handler(request_rec *r);

/* post_config: every file cache directory made for the User (0700). */
int pysb_jobe_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);

/* child_init: glibc raises its mmap threshold to the largest block freed
 * so far (up to 32 MiB); blocks below it then come from the heap and stay
 * in the worker when freed. A run_spec's sourcecode and input (jansson's
 * strings and its lexer's buffer, their copies) are such blocks, so eight
 * largest POSTs at once left a worker 55 MB larger each round. A fixed
 * threshold (which also ends the adjustment) maps every block of 128K and
 * more on its own and returns it when freed, in the whole child. */
void pysb_jobe_child_init(apr_pool_t *pchild, server_rec *s);

#endif
