/* payload_status.c — the launcher's snapshot for the status page.
 *
 * Contract: see payload_status.h. Counters are read once each (atomic
 * loads), so a snapshot is consistent per counter, not across them: a
 * run may be counted as admitted a moment before its verdict exists. */
#include "payload_status.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Builds an object from a format and its values; on any failure the
 * whole snapshot fails (NULL propagates through json_pack's "o"). */

static json_t *hist_json(const pysb_hist *shared)
{
    pysb_hist h;
    if (shared)
        pysb_stats_hist_copy(shared, &h);
    else
        memset(&h, 0, sizeof h);
    json_t *b = json_array();
    for (size_t i = 0; b && i < PYSB_HIST_BUCKETS; i++) {
        json_t *le = i < PYSB_HIST_BUCKETS - 1 ? json_integer(pysb_hist_bounds[i]) : json_null();
        if (json_array_append_new(b, json_pack("[o, o]", le, pysb_json_count(h.count[i]))) < 0) {
            json_decref(b);
            b = NULL;
        }
    }
    return json_pack("{s:o, s:o, s:f, s:f, s:o}", "count", pysb_json_count(pysb_hist_total(&h)),
                     "sum", pysb_json_count(h.sum_ms), "p50", pysb_hist_quantile(&h, 0.5),
                     "p99", pysb_hist_quantile(&h, 0.99), "buckets", b);
}

static json_t *entries_json(const pysb_status_entry *e, size_t n, int running)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n && i < PYSB_STATUS_LIST_MAX; i++) {
        json_t *o = running
            ? json_pack("{s:s, s:s, s:I, s:I, s:I}", "run_id", e[i].run_id, "client",
                        e[i].client, "age_ms", (json_int_t)e[i].age_ms, "pid",
                        (json_int_t)e[i].pid, "uid", (json_int_t)e[i].uid)
            : json_pack("{s:s, s:s, s:I, s:I}", "run_id", e[i].run_id, "client", e[i].client,
                        "age_ms", (json_int_t)e[i].age_ms, "position",
                        (json_int_t)e[i].position);
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *fork_servers_json(const pysb_status_in *in)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < in->fork_servers_len && i < PYSB_STATUS_LIST_MAX; i++) {
        const pysb_status_fork_server *fs = &in->fork_servers[i];
        json_t *k = fs->key ? json_loads(fs->key, 0, NULL) : NULL;
        json_t *argv = json_array_get(k, 0), *pre = json_array_get(k, 1),
               *ro = json_array_get(k, 2);
        /* copies (or empty lists): they outlive k */
        json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:I, s:o}", "pid",
                              (json_int_t)fs->pid, "state", fs->state ? fs->state : "cold",
                              "argv", argv ? json_deep_copy(argv) : json_array(), "preload",
                              pre ? json_deep_copy(pre) : json_array(), "ro_paths",
                              ro ? json_deep_copy(ro) : json_array(),
                              "uptime_s",
                              (json_int_t)(fs->started ? in->now - fs->started : 0),
                              "restarts", pysb_json_count(fs->restarts));
        json_decref(k);
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static uint64_t counter(const pysb_stats_file *f, pysb_counter c)
{
    return f ? __atomic_load_n(&f->counter[c], __ATOMIC_RELAXED) : 0;
}

static json_t *totals_json(const pysb_stats_file *f)
{
    json_t *v = json_object();
    for (int st = 0; v && st < PYSB_STATS_VERDICTS; st++)
        if (pysb_stats_status_known(st) &&
            json_object_set_new(v, pysb_status_name((pysb_status)st),
                                pysb_json_count(f ? __atomic_load_n(&f->verdict[st],
                                                                    __ATOMIC_RELAXED)
                                                  : 0)) < 0) {
            json_decref(v);
            v = NULL;
        }
    uint64_t slots = counter(f, PYSB_C_REFUSED_SLOTS), full = counter(f, PYSB_C_REFUSED_FULL),
             timeout = counter(f, PYSB_C_REFUSED_TIMEOUT),
             client = counter(f, PYSB_C_REFUSED_CLIENT);
    return json_pack("{s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:o, s:o}", "admitted",
                     pysb_json_count(counter(f, PYSB_C_ADMITTED)), "waited",
                     pysb_json_count(counter(f, PYSB_C_WAITED)), "left_queue",
                     pysb_json_count(counter(f, PYSB_C_LEFT_QUEUE)), "verdicts", v, "refused",
                     "slots", pysb_json_count(slots), "queue_full", pysb_json_count(full),
                     "queue_timeout", pysb_json_count(timeout), "client_limit",
                     pysb_json_count(client), "503", pysb_json_count(slots + full + timeout),
                     "429", pysb_json_count(client));
}

char *pysb_status_encode(const pysb_status_in *in, size_t *len)
{
    const pysb_stats_file *f = in->stats ? in->stats->f : NULL;
    int64_t created = f ? f->created : in->now;
    int64_t started = f ? __atomic_load_n(&f->launcher_started, __ATOMIC_RELAXED) : in->now;
    uint64_t starts = counter(f, PYSB_C_LAUNCHER_STARTS);
    json_t *o = json_pack(
        "{s:i, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:o, s:o}, s:o, "
        "s:{s:I, s:I, s:I, s:I}, s:f, s:o, s:o, s:o, s:o, s:o}",
        "version", 1,
        "server", "started", (json_int_t)created, "uptime_s", (json_int_t)(in->now - created),
        "launcher", "pid", (json_int_t)in->launcher_pid, "started", (json_int_t)started,
        "uptime_s", (json_int_t)(in->now - started), "starts", pysb_json_count(starts),
        "restarts", pysb_json_count(counter(f, PYSB_C_LAUNCHER_RESTARTS)),
        "fork_servers", fork_servers_json(in),
        "slots", "max_runs", (json_int_t)in->max_runs, "running", (json_int_t)in->n_running,
        "queue_size", (json_int_t)in->queue_size, "queued", (json_int_t)in->n_queued,
        "drain_per_s", in->drain_per_s,
        "running", entries_json(in->running, in->running_len, 1),
        "queued", entries_json(in->queued, in->queued_len, 0),
        "totals", totals_json(f),
        "queue_wait_ms", hist_json(f ? &f->queue_wait : NULL),
        "run_wall_ms", hist_json(f ? &f->run_wall : NULL));
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
                  : NULL;
    json_decref(o);
    if (out)
        *len = strlen(out);
    return out;
}
