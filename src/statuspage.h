/* statuspage.h — the launcher's snapshot (payload_status.h) for people
 * and for machines: an HTML page, the JSON itself, the Prometheus text
 * exposition format (version 0.0.4), a health answer, and the lines the
 * module adds to mod_status's server-status.
 *
 * Contract: the format comes from the query (json, metrics, health) or
 * else Accept (text/plain; version=0.0.4 is Prometheus), else HTML. Every
 * renderer takes the snapshot's JSON text, or NULL when the launcher
 * could not be asked (then: HTML and JSON say so and want 503, Prometheus
 * says pysandbox_up 0 with 200 so a scrape still succeeds, health is
 * 503). Client keys and run ids are escaped for the format (HTML entities,
 * JSON as is); metrics carry no client or run id labels (their number
 * would be unbounded). A snapshot that is not what payload_status.h
 * describes renders what it can: missing numbers are 0. No Apache
 * headers. */
#ifndef PYSB_STATUSPAGE_H
#define PYSB_STATUSPAGE_H

#include <stddef.h>

typedef enum pysb_statuspage_fmt {
    PYSB_SP_HTML = 0,
    PYSB_SP_JSON,
    PYSB_SP_METRICS,
    PYSB_SP_HEALTH,
} pysb_statuspage_fmt;

/* The format a request asks for: query (may be NULL) is the raw query
 * string ("json", "metrics", "health", each alone or as a key among
 * "&"-separated ones), accept the Accept header (may be NULL). */
pysb_statuspage_fmt pysb_statuspage_format(const char *query, const char *accept);

/* The page: malloc'd (*len without the NUL), its Content-Type and HTTP
 * status in *mime and *status; NULL when out of memory. why: when json is
 * NULL, the one-line reason the launcher could not be asked. */
char *pysb_statuspage_render(pysb_statuspage_fmt f, const char *json, const char *why,
                             size_t *len, const char **mime, int *status);

/* The snapshot with the 503s httpd's children made alone (the launcher
 * unreachable or not answering: they never reach its counters) added:
 * totals.refused.unavailable = n, and n more in totals.503. malloc'd JSON,
 * or NULL when json is not an object with totals or out of memory. */
char *pysb_statuspage_add_unavailable(const char *json, unsigned long long n);

/* mod_status: one HTML section (html), or "Key: value" lines for its
 * ?auto form. malloc'd, NULL when out of memory. */
char *pysb_statuspage_modstatus(const char *json, const char *why, int html);

#endif
