/* admit.c — a request's ADMIT: run id, client key, share, queue timeout.
 *
 * Contract: see admit.h. */
#include "httpd/admit.h"

#include "apr_strings.h"
#include "apr_network_io.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* "ip:…" of an address as text: IPv6 cut to its /64. */
static void ip_key(const char *ip, char *out, size_t len)
{
    struct in6_addr a6;
    if (!ip)
        ip = "";
    if (strchr(ip, ':') && inet_pton(AF_INET6, ip, &a6) == 1) {
        char text[INET6_ADDRSTRLEN];
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof text);
            snprintf(out, len, "ip:%s", text);
            return;
        }
        memset(&a6.s6_addr[8], 0, 8);
        inet_ntop(AF_INET6, &a6, text, sizeof text);
        snprintf(out, len, "ip:%s/64", text);
        return;
    }
    snprintf(out, len, "ip:%s", ip);
}

/* The last item of a list ("client, proxy1, proxy2" → "proxy2"),
 * trimmed; "" when there is nothing. */
static void last_item(const char *v, char *out, size_t len)
{
    const char *p = strrchr(v, ',');
    p = p ? p + 1 : v;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    snprintf(out, len, "%.*s", (int)n, p);
}

void pysb_admit_fill(const pysb_req *x, pysb_admit *a)
{
    request_rec *r = x->r;
    memset(a, 0, sizeof *a);
    apr_cpystrn(a->run_id, x->run_id, sizeof a->run_id);
    a->per_client = x->e.per_client;
    a->queue_timeout_ms = x->e.queue_timeout_ms;
    char item[PYSB_CLIENT_KEY_MAX + 1];
    const char *h;
    if (x->e.client_key == PYSB_KEY_USER && r->user && *r->user)
        snprintf(a->client, sizeof a->client, "user:%.123s", r->user);
    else if (x->e.client_key == PYSB_KEY_HEADER && x->e.client_header &&
             (h = apr_table_get(r->headers_in, x->e.client_header)) &&
             (last_item(h, item, sizeof item), *item))
        snprintf(a->client, sizeof a->client, "header:%.121s", item);
    else
        ip_key(r->useragent_ip, a->client, sizeof a->client);
    /* The launcher takes printable ASCII only: anything else becomes '?'. */
    for (char *p = a->client; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
}
