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
 * trimmed: its start, and its length in *n (0 when there is nothing). */
static const char *last_item(const char *v, size_t *n)
{
    const char *p = strrchr(v, ',');
    p = p ? p + 1 : v;
    while (*p == ' ' || *p == '\t')
        p++;
    *n = strlen(p);
    while (*n && (p[*n - 1] == ' ' || p[*n - 1] == '\t'))
        (*n)--;
    return p;
}

/* "kind:value" as the launcher takes a key: printable ASCII, at most
 * PYSB_CLIENT_KEY_MAX bytes. A value that does not fit so (longer, or
 * with other bytes: a long user id, a name in UTF-8) keeps a readable
 * head and ends in "~" and a 64-bit FNV-1a hash of all of it, so that
 * two such clients are two keys, not one cut-off or '?'-ed key. A value
 * with a '~' is hashed too: no plain value can be another's hashed key
 * (attack-today F3: copied from the status page, it took that share). */
static void client_key(char *out, size_t len, const char *kind, const char *v, size_t n)
{
    int plain = strlen(kind) + 1 + n <= PYSB_CLIENT_KEY_MAX;
    for (size_t i = 0; plain && i < n; i++)
        plain = (unsigned char)v[i] >= 0x20 && (unsigned char)v[i] <= 0x7e && v[i] != '~';
    if (plain) {
        snprintf(out, len, "%s:%.*s", kind, (int)n, v);
        return;
    }
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)v[i]) * 1099511628211ULL;
    size_t head = PYSB_CLIENT_KEY_MAX - strlen(kind) - 1 - 17;
    if (head > n)
        head = n;
    int k = snprintf(out, len, "%s:%.*s", kind, (int)head, v);
    for (char *p = out + strlen(kind) + 1; p < out + k; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    snprintf(out + k, len - (size_t)k, "~%016llx", (unsigned long long)h);
}

void pysb_admit_fill(const pysb_req *x, pysb_admit *a)
{
    request_rec *r = x->r;
    memset(a, 0, sizeof *a);
    apr_cpystrn(a->run_id, x->run_id, sizeof a->run_id);
    a->per_client = x->e.per_client;
    a->queue_timeout_ms = x->e.queue_timeout_ms;
    const char *h, *item;
    size_t n = 0;
    if (x->e.client_key == PYSB_KEY_USER && r->user && *r->user)
        client_key(a->client, sizeof a->client, "user", r->user, strlen(r->user));
    else if (x->e.client_key == PYSB_KEY_HEADER && x->e.client_header &&
             (h = apr_table_get(r->headers_in, x->e.client_header)) &&
             (item = last_item(h, &n), n))
        client_key(a->client, sizeof a->client, "header", item, n);
    else
        ip_key(r->useragent_ip, a->client, sizeof a->client);
}
