/* statuspage.c — the status snapshot as HTML, Prometheus text, health,
 * and mod_status lines.
 *
 * Contract: see statuspage.h. Pages are written with open_memstream; the
 * snapshot is read with jansson, each number through one getter that
 * yields 0 for what is missing. */
#include "statuspage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "stats.h"

/* ---- the request's format ---- */

/* 1 when key appears in the query as a whole "&"-separated item, bare or
 * with "=value". */
static int query_has(const char *query, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        if ((len == n || (len > n && p[n] == '=')) && !strncmp(p, key, n))
            return 1;
        p += len + (p[len] == '&');
    }
    return 0;
}

pysb_statuspage_fmt pysb_statuspage_format(const char *query, const char *accept)
{
    if (query_has(query, "health"))
        return PYSB_SP_HEALTH;
    if (query_has(query, "json"))
        return PYSB_SP_JSON;
    if (query_has(query, "metrics"))
        return PYSB_SP_METRICS;
    /* Prometheus asks for text/plain; version=0.0.4 (among others). */
    for (const char *p = accept; p && (p = strcasestr(p, "text/plain")); p += 10) {
        size_t len = strcspn(p, ",");
        const char *v = strstr(p, "version=0.0.4");
        if (v && (size_t)(v - p) < len)
            return PYSB_SP_METRICS;
    }
    return PYSB_SP_HTML;
}

/* ---- reading the snapshot ---- */

/* The value at a dotted path, or NULL. */
static json_t *at(json_t *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static double num(json_t *o, const char *path)
{
    json_t *v = at(o, path);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void html_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* "3 d 4 h", "12 min 5 s", "42 s". */
static void duration(FILE *f, double s)
{
    long t = (long)s;
    if (t >= 86400)
        fprintf(f, "%ld d %ld h", t / 86400, t % 86400 / 3600);
    else if (t >= 3600)
        fprintf(f, "%ld h %ld min", t / 3600, t % 3600 / 60);
    else if (t >= 60)
        fprintf(f, "%ld min %ld s", t / 60, t % 60);
    else
        fprintf(f, "%ld s", t);
}

/* ---- HTML ---- */

static void html_list(FILE *f, json_t *list, int running)
{
    size_t i;
    json_t *e;
    if (!json_array_size(list)) {
        fputs("<p>none</p>\n", f);
        return;
    }
    fputs(running ? "<table><tr><th>run id</th><th>client</th><th>age</th><th>pid</th>"
                    "<th>uid</th></tr>\n"
                  : "<table><tr><th>position</th><th>run id</th><th>client</th>"
                    "<th>waiting</th></tr>\n",
          f);
    json_array_foreach(list, i, e) {
        fputs("<tr>", f);
        if (!running)
            fprintf(f, "<td>%.0f</td>", num(e, "position"));
        fputs("<td><code>", f);
        html_escaped(f, str(e, "run_id"));
        fputs("</code></td><td>", f);
        html_escaped(f, str(e, "client"));
        fprintf(f, "</td><td>%.1f s</td>", num(e, "age_ms") / 1000);
        if (running)
            fprintf(f, "<td>%.0f</td><td>%.0f</td>", num(e, "pid"), num(e, "uid"));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* A JSON list of strings, blank-separated, escaped ("—" when empty). */
static void html_words(FILE *f, json_t *list)
{
    size_t i;
    json_t *w;
    if (!json_array_size(list))
        fputs("&mdash;", f);
    json_array_foreach(list, i, w) {
        if (i)
            fputc(' ', f);
        html_escaped(f, json_is_string(w) ? json_string_value(w) : "?");
    }
}

static void html_fork_servers(FILE *f, json_t *list)
{
    size_t i;
    json_t *e;
    if (!json_array_size(list)) {
        fputs("<p>none (no warm run asked for one yet)</p>\n", f);
        return;
    }
    fputs("<table><tr><th>pid</th><th>state</th><th>interpreter</th><th>preload</th>"
          "<th>read-only paths</th><th>up</th><th>restarts</th></tr>\n", f);
    json_array_foreach(list, i, e) {
        fprintf(f, "<tr><td>%.0f</td><td>", num(e, "pid"));
        html_escaped(f, str(e, "state"));
        fputs("</td><td><code>", f);
        html_words(f, at(e, "argv"));
        fputs("</code></td><td>", f);
        html_words(f, at(e, "preload"));
        fputs("</td><td>", f);
        html_words(f, at(e, "ro_paths"));
        fputs("</td><td>", f);
        duration(f, num(e, "uptime_s"));
        fprintf(f, "</td><td>%.0f</td></tr>\n", num(e, "restarts"));
    }
    fputs("</table>\n", f);
}

/* How many fork servers are in a state. */
static unsigned fork_servers_in(json_t *o, const char *state)
{
    size_t i;
    json_t *e;
    unsigned n = 0;
    json_array_foreach(at(o, "fork_servers"), i, e)
        n += !strcmp(str(e, "state"), state);
    return n;
}

static void render_html(FILE *f, json_t *o, const char *why)
{
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
          "<title>mod_pysandbox status</title>\n<style>body{font-family:sans-serif;"
          "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
          "padding:.2em .6em;text-align:left}th{background:#eee}</style></head><body>\n"
          "<h1>mod_pysandbox status</h1>\n", f);
    if (!o) {
        fputs("<p><strong>The launcher could not be asked: ", f);
        html_escaped(f, why ? why : "no answer");
        fputs("</strong></p>\n</body></html>\n", f);
        return;
    }
    fprintf(f, "<p>Runs: <strong>%.0f</strong> of %.0f slots in use, <strong>%.0f</strong> "
               "waiting (at most %.0f); %.2f runs ended per second lately.</p>\n",
            num(o, "slots.running"), num(o, "slots.max_runs"), num(o, "slots.queued"),
            num(o, "slots.queue_size"), num(o, "drain_per_s"));
    fprintf(f, "<p>Server up ");
    duration(f, num(o, "server.uptime_s"));
    fprintf(f, "; launcher pid %.0f, up ", num(o, "launcher.pid"));
    duration(f, num(o, "launcher.uptime_s"));
    fprintf(f, ", %.0f start(s), %.0f restart(s) after a crash.", num(o, "launcher.starts"),
            num(o, "launcher.restarts"));
    fputs("</p>\n<h2>In flight</h2>\n", f);
    html_list(f, at(o, "running"), 1);
    fputs("<h2>Waiting</h2>\n", f);
    html_list(f, at(o, "queued"), 0);
    fputs("<h2>Fork servers (warm runs)</h2>\n", f);
    html_fork_servers(f, at(o, "fork_servers"));
    fputs("<h2>Since start</h2>\n<table><tr><th>verdict</th><th>runs</th></tr>\n", f);
    const char *key;
    json_t *v;
    json_object_foreach(at(o, "totals.verdicts"), key, v)
        fprintf(f, "<tr><td>%s</td><td>%.0f</td></tr>\n", key,
                json_is_number(v) ? json_number_value(v) : 0);
    fprintf(f, "</table>\n<p>Admitted %.0f (%.0f after waiting); %.0f left while waiting. "
               "Refused: %.0f &times; 503 (%.0f queue full, %.0f waited too long, %.0f could "
               "not wait, %.0f the launcher unavailable), %.0f &times; 429 (over a client's "
               "share).</p>\n",
            num(o, "totals.admitted"), num(o, "totals.waited"), num(o, "totals.left_queue"),
            num(o, "totals.503"), num(o, "totals.refused.queue_full"),
            num(o, "totals.refused.queue_timeout"), num(o, "totals.refused.slots"),
            num(o, "totals.refused.unavailable"), num(o, "totals.429"));
    fprintf(f, "<table><tr><th></th><th>p50</th><th>p99</th><th>count</th></tr>\n"
               "<tr><td>queue wait</td><td>%.1f ms</td><td>%.1f ms</td><td>%.0f</td></tr>\n"
               "<tr><td>run wall time</td><td>%.1f ms</td><td>%.1f ms</td><td>%.0f</td></tr>\n"
               "</table>\n",
            num(o, "queue_wait_ms.p50"), num(o, "queue_wait_ms.p99"),
            num(o, "queue_wait_ms.count"), num(o, "run_wall_ms.p50"), num(o, "run_wall_ms.p99"),
            num(o, "run_wall_ms.count"));
    fputs("<p>Also as <a href=\"?json\">JSON</a> and <a href=\"?metrics\">Prometheus "
          "metrics</a>.</p>\n</body></html>\n", f);
}

/* ---- Prometheus ---- */

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(FILE *f, json_t *o, const char *path, const char *name, const char *help)
{
    metric(f, name, "histogram", help);
    json_t *b = at(o, path), *e;
    size_t i;
    double cum = 0;
    json_array_foreach(at(b, "buckets"), i, e) {
        json_t *le = json_array_get(e, 0), *n = json_array_get(e, 1);
        cum += json_is_number(n) ? json_number_value(n) : 0;
        if (json_is_number(le))
            fprintf(f, "%s_bucket{le=\"%g\"} %.0f\n", name, json_number_value(le) / 1000, cum);
    }
    /* %.15g, not %g: six digits would round a busy server's sum */
    fprintf(f, "%s_bucket{le=\"+Inf\"} %.0f\n%s_sum %.15g\n%s_count %.0f\n", name, cum, name,
            num(b, "sum") / 1000, name, num(b, "count"));
}

static void render_metrics(FILE *f, json_t *o)
{
    metric(f, "pysandbox_up", "gauge", "1 when the launcher answered the status request.");
    fprintf(f, "pysandbox_up %d\n", o ? 1 : 0);
    if (!o)
        return;
    metric(f, "pysandbox_runs_total", "counter", "Runs ended since httpd started, by verdict.");
    const char *key;
    json_t *v;
    json_object_foreach(at(o, "totals.verdicts"), key, v)
        fprintf(f, "pysandbox_runs_total{status=\"%s\"} %.0f\n", key,
                json_is_number(v) ? json_number_value(v) : 0);
    metric(f, "pysandbox_refused_total", "counter",
           "Requests refused without a run, by reason and HTTP status.");
    static const char *const reasons[][2] = {
        { "queue_full", "503" }, { "queue_timeout", "503" }, { "slots", "503" },
        { "unavailable", "503" }, { "client_limit", "429" },
    };
    char path[64];
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++) {
        snprintf(path, sizeof path, "totals.refused.%s", reasons[i][0]);
        fprintf(f, "pysandbox_refused_total{reason=\"%s\",code=\"%s\"} %.0f\n", reasons[i][0],
                reasons[i][1], num(o, path));
    }
    static const char *const counters[][3] = {
        { "pysandbox_admitted_total", "totals.admitted", "Requests given a run slot." },
        { "pysandbox_waited_total", "totals.waited", "Requests given a slot after waiting." },
        { "pysandbox_left_queue_total", "totals.left_queue",
          "Requests whose client left while waiting." },
        { "pysandbox_launcher_starts_total", "launcher.starts", "Launchers started." },
        { "pysandbox_launcher_restarts_total", "launcher.restarts",
          "Launchers restarted after one died." },
    };
    for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
        metric(f, counters[i][0], "counter", counters[i][2]);
        fprintf(f, "%s %.0f\n", counters[i][0], num(o, counters[i][1]));
    }
    static const char *const gauges[][3] = {
        { "pysandbox_runs_in_flight", "slots.running", "Runs holding a slot now." },
        { "pysandbox_run_slots", "slots.max_runs", "PySandboxMaxRuns." },
        { "pysandbox_queue_length", "slots.queued", "Requests waiting for a slot now." },
        { "pysandbox_queue_size", "slots.queue_size", "PySandboxQueueSize." },
        { "pysandbox_drain_rate", "drain_per_s", "Runs ended per second, recently." },
        { "pysandbox_start_time_seconds", "server.started", "When httpd started (Unix time)." },
        { "pysandbox_launcher_start_time_seconds", "launcher.started",
          "When the launcher started (Unix time)." },
        { "pysandbox_launcher_pid", "launcher.pid", "The launcher's process id." },
    };
    for (size_t i = 0; i < sizeof gauges / sizeof *gauges; i++) {
        metric(f, gauges[i][0], "gauge", gauges[i][2]);
        /* %.15g: exact for pids and Unix times (%g rounded a start
         * time to 1.79615e+09, up to 83 minutes off) */
        fprintf(f, "%s %.15g\n", gauges[i][0], num(o, gauges[i][1]));
    }
    metric(f, "pysandbox_fork_servers", "gauge",
           "Fork servers (warm runs) by state: ready, starting, cold (cannot serve now).");
    static const char *const states[] = { "ready", "starting", "cold" };
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        fprintf(f, "pysandbox_fork_servers{state=\"%s\"} %u\n", states[i],
                fork_servers_in(o, states[i]));
    metric(f, "pysandbox_fork_server_restarts_total", "counter",
           "Fork servers started again after one died, since the launcher started.");
    size_t i;
    json_t *e;
    double restarts = 0;
    json_array_foreach(at(o, "fork_servers"), i, e)
        restarts += num(e, "restarts");
    fprintf(f, "pysandbox_fork_server_restarts_total %.0f\n", restarts);
    histogram(f, o, "queue_wait_ms", "pysandbox_queue_wait_seconds",
              "Time admitted runs waited for a slot.");
    histogram(f, o, "run_wall_ms", "pysandbox_run_wall_seconds", "Wall-clock time of runs.");
}

/* ---- the pages ---- */

char *pysb_statuspage_add_unavailable(const char *json, unsigned long long n)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    json_t *totals = json_object_get(o, "totals");
    json_t *refused = json_object_get(totals, "refused");
    json_t *all = json_object_get(totals, "503");
    char *out = NULL;
    if (json_is_object(refused) && json_is_integer(all) &&
        json_object_set_new(refused, "unavailable", json_integer((json_int_t)n)) == 0 &&
        json_object_set_new(totals, "503",
                            json_integer(json_integer_value(all) + (json_int_t)n)) == 0)
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

char *pysb_statuspage_render(pysb_statuspage_fmt fmt, const char *json, const char *why,
                             size_t *len, const char **mime, int *status)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        json_decref(o);
        return NULL;
    }
    *status = o ? 200 : 503;
    switch (fmt) {
    case PYSB_SP_JSON:
        *mime = "application/json";
        if (o)
            fprintf(f, "%s\n", json);
        else {
            json_t *e = json_pack("{s:s, s:i}", "error", why ? why : "no answer", "status", 503);
            char *t = e ? json_dumps(e, JSON_COMPACT) : NULL;
            fprintf(f, "%s\n", t ? t : "{}");
            free(t);
            json_decref(e);
        }
        break;
    case PYSB_SP_METRICS:
        *mime = "text/plain; version=0.0.4; charset=utf-8";
        *status = 200;
        render_metrics(f, o);
        break;
    case PYSB_SP_HEALTH:
        *mime = "text/plain; charset=utf-8";
        fprintf(f, o ? "ok\n" : "unavailable: %s\n", why ? why : "no answer");
        break;
    default:
        *mime = "text/html; charset=utf-8";
        render_html(f, o, why);
    }
    json_decref(o);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

char *pysb_statuspage_modstatus(const char *json, const char *why, int html)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        json_decref(o);
        return NULL;
    }
    if (!o && html) {
        fputs("<hr /><h2>mod_pysandbox</h2>\n<p>The launcher could not be asked: ", f);
        html_escaped(f, why ? why : "no answer");
        fputs("</p>\n", f);
    } else if (!o) {
        fputs("PySandboxUp: 0\n", f);
    } else if (html) {
        fprintf(f, "<hr /><h2>mod_pysandbox</h2>\n<p>%.0f of %.0f run slots in use, %.0f "
                   "waiting; since start %.0f admitted, %.0f &times; 503, %.0f &times; 429; "
                   "queue wait p50 %.1f ms, p99 %.1f ms; run wall p50 %.1f ms, p99 %.1f ms; "
                   "launcher %.0f, %.0f restart(s); %u fork server(s) ready.</p>\n",
                num(o, "slots.running"), num(o, "slots.max_runs"), num(o, "slots.queued"),
                num(o, "totals.admitted"), num(o, "totals.503"), num(o, "totals.429"),
                num(o, "queue_wait_ms.p50"), num(o, "queue_wait_ms.p99"),
                num(o, "run_wall_ms.p50"), num(o, "run_wall_ms.p99"), num(o, "launcher.pid"),
                num(o, "launcher.restarts"), fork_servers_in(o, "ready"));
    } else {
        fprintf(f, "PySandboxUp: 1\nPySandboxRunning: %.0f\nPySandboxSlots: %.0f\n"
                   "PySandboxQueued: %.0f\nPySandboxAdmitted: %.0f\nPySandbox503: %.0f\n"
                   "PySandbox429: %.0f\nPySandboxQueueWaitP99ms: %.1f\n"
                   "PySandboxRunWallP99ms: %.1f\nPySandboxForkServersReady: %u\n",
                num(o, "slots.running"), num(o, "slots.max_runs"), num(o, "slots.queued"),
                num(o, "totals.admitted"), num(o, "totals.503"), num(o, "totals.429"),
                num(o, "queue_wait_ms.p99"), num(o, "run_wall_ms.p99"),
                fork_servers_in(o, "ready"));
    }
    json_decref(o);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
