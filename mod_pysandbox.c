/* mod_pysandbox.c — the Apache glue: directives, the launcher's life in
 * the httpd parent, and the handler that turns a request into a run and
 * the run into a response (DESIGN §2, §4, §5).
 *
 * Contract: workers never fork. A request is parsed (urlencoded through
 * ap_parse_form_data, multipart, JSON through jansson, raw text/x-python,
 * GET ?user_script= when allowed), its limits checked against the
 * Location's maximums, and sent as frames (src/wire.h) to the launcher's
 * socket; the frames that come back are streamed to the client as text,
 * json, ndjson or sse. A client that goes away closes the connection to
 * the run's supervisor, which kills the run. Every failure is logged with
 * a PYSB tag and mapped to one status: 400/405/413/415 for the request,
 * 503 + Retry-After when no run slot or no launcher, 500 only for a
 * genuine internal failure; a run that happened is 200 whatever its
 * verdict. */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"
#include "util_script.h"

#include "apr_strings.h"
#include "apr_buckets.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "src/clock.h"
#include "src/fields.h"
#include "src/form.h"
#include "src/launcher.h"
#include "src/runlimits.h"
#include "src/multipart.h"
#include "src/payload.h"
#include "src/render.h"
#include "src/result.h"
#include "src/session.h"
#include "src/supervise.h"
#include "src/utf8.h"
#include "src/wire.h"

module AP_MODULE_DECLARE_DATA pysandbox_module;
APLOG_USE_MODULE(pysandbox);

#define UNSET (-1)
#define MAX_PARTS 32
#define CONNECT_RETRY_MS 1000
#define SEND_TIMEOUT_MS 10000
/* Beyond the run's own wall limit, how long a worker waits for RESULT. */
#define RESULT_GRACE_SEC 15


/* ---- configuration ---------------------------------------------------- */

typedef struct {
    apr_array_header_t *interp;     /* const char *, argv; NULL: unset */
    pysb_limits def, max;           /* limits the Location sets ... */
    unsigned limits_set;            /* ... bit i: row i of pysb_limit_table */
    apr_int64_t max_code, max_stdin;
    apr_array_header_t *ro_paths;   /* const char *; NULL: unset */
    int allow_get;
    int default_format;
} dir_conf;

typedef struct {
    const char *socket_path;        /* NULL: DefaultRuntimeDir default */
    int max_runs;                   /* 0: 2 × CPUs */
    int range_set;
    apr_int64_t uid_first, uid_last;
} srv_conf;

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    (void)dir;
    dir_conf *c = apr_pcalloc(p, sizeof *c);
    c->allow_get = c->default_format = UNSET;
    c->max_code = c->max_stdin = UNSET;
    return c;
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    dir_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof *c);
    c->interp = add->interp ? add->interp : base->interp;
    /* Each limit as a whole (default and maximum), from the inner scope
     * when it sets it. */
    c->def = base->def;
    c->max = base->max;
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (!(add->limits_set & (1u << i)))
            continue;
        pysb_limit_copy(&c->def, &add->def, d);
        pysb_limit_copy(&c->max, &add->max, d);
    }
    c->limits_set = base->limits_set | add->limits_set;
    c->max_code = add->max_code != UNSET ? add->max_code : base->max_code;
    c->max_stdin = add->max_stdin != UNSET ? add->max_stdin : base->max_stdin;
    /* Read-only paths accumulate from the outer scope inwards. */
    if (base->ro_paths && add->ro_paths)
        c->ro_paths = apr_array_append(p, base->ro_paths, add->ro_paths);
    else
        c->ro_paths = add->ro_paths ? add->ro_paths : base->ro_paths;
    c->allow_get = add->allow_get != UNSET ? add->allow_get : base->allow_get;
    c->default_format = add->default_format != UNSET ? add->default_format
                                                     : base->default_format;
    return c;
}

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(srv_conf));
}

/* The effective values of a Location, defaults filled in. */
typedef struct {
    const char *const *argv;
    const char *const *ro_paths;
    pysb_location loc;
} effective;

static const char *const default_argv[] = { "/usr/bin/python3", "-I", "-S", NULL };

static void effective_conf(apr_pool_t *p, const dir_conf *c, effective *e)
{
    if (c->interp) {
        const char **argv = apr_pcalloc(p, (c->interp->nelts + 1) * sizeof *argv);
        memcpy(argv, c->interp->elts, c->interp->nelts * sizeof *argv);
        e->argv = argv;
    } else {
        e->argv = default_argv;
    }
    if (c->ro_paths) {
        const char **ro = apr_pcalloc(p, (c->ro_paths->nelts + 1) * sizeof *ro);
        memcpy(ro, c->ro_paths->elts, c->ro_paths->nelts * sizeof *ro);
        e->ro_paths = ro;
    } else {
        e->ro_paths = NULL;
    }
    pysb_location *l = &e->loc;
    pysb_limits_default(&l->def);
    pysb_limits_default(&l->max);
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (!(c->limits_set & (1u << i)))
            continue;
        pysb_limit_copy(&l->def, &c->def, d);
        pysb_limit_copy(&l->max, &c->max, d);
    }
    l->max_code = c->max_code != UNSET ? (apr_uint64_t)c->max_code : 64 * 1024;
    l->max_stdin = c->max_stdin != UNSET ? (apr_uint64_t)c->max_stdin : 1024 * 1024;
    l->allow_get = c->allow_get == 1;
    l->default_format = c->default_format != UNSET ? c->default_format : PYSB_FMT_TEXT;
}

/* ---- directives ------------------------------------------------------- */

/* Every interpreter the configuration names (plus the default): the
 * launcher compiles the bootstrap once for each. Rebuilt per reading. */
static apr_array_header_t *configured_interpreters;

static int pysb_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog, (void)ptemp;
    configured_interpreters = apr_array_make(pconf, 4, sizeof(const char *));
    APR_ARRAY_PUSH(configured_interpreters, const char *) = default_argv[0];
    return OK;
}

static const char *set_interpreter(cmd_parms *cmd, void *dv, int argc,
                                   char *const argv[])
{
    dir_conf *c = dv;
    struct stat st;
    if (argc < 1)
        return "PySandboxInterpreter needs a path";
    if (argc > PYSB_WIRE_ARGV_MAX - 2)
        return "PySandboxInterpreter: too many arguments";
    if (argv[0][0] != '/')
        return apr_psprintf(cmd->pool, "PySandboxInterpreter %s: an absolute path is required", argv[0]);
    if (stat(argv[0], &st) != 0)
        return apr_psprintf(cmd->pool, "PySandboxInterpreter %s: %s", argv[0], strerror(errno));
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
        return apr_psprintf(cmd->pool, "PySandboxInterpreter %s: not an executable file", argv[0]);
    c->interp = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (int i = 0; i < argc; i++)
        APR_ARRAY_PUSH(c->interp, const char *) = apr_pstrdup(cmd->pool, argv[i]);
    if (configured_interpreters)
        APR_ARRAY_PUSH(configured_interpreters, const char *) =
            APR_ARRAY_IDX(c->interp, 0, const char *);
    return NULL;
}

static const char *parse_size_arg(cmd_parms *cmd, const char *arg, apr_uint64_t *out)
{
    const char *err;
    uint64_t v;
    if (pysb_parse_size(arg, &v, &err) < 0)
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, arg, err);
    *out = v;
    return NULL;
}

/* A limit's value as the directive gave it; counts within the table's
 * bounds already. */
static const char *limit_arg(cmd_parms *cmd, const pysb_limit_def *d, const char *a1,
                             const char *a2, const char *arg, pysb_limits *into)
{
    const char *err = NULL;
    unsigned long long n;
    apr_uint64_t v = 0;
    switch (d->kind) {
    case PYSB_LIMIT_SECONDS:
        if (pysb_limit_parse(d, arg, into, &err) < 0)
            return apr_psprintf(cmd->pool, "%s %s%s%s: %s", cmd->cmd->name, a1,
                                a2 ? " " : "", a2 ? a2 : "", err);
        return NULL;
    case PYSB_LIMIT_COUNT:
        if (pysb_parse_uint(arg, (unsigned long long)d->min, (unsigned long long)d->max, &n,
                            &err) < 0)
            return apr_psprintf(cmd->pool, "%s %s: %s (%llu to %llu)", cmd->cmd->name, arg,
                                err, (unsigned long long)d->min, (unsigned long long)d->max);
        pysb_limit_set_amount(into, d, n);
        return NULL;
    case PYSB_LIMIT_BYTES:
        if ((err = parse_size_arg(cmd, arg, &v)) == NULL)
            pysb_limit_set_amount(into, d, v);
        return err;
    }
    return "unknown kind of limit";
}

/* The default at or above the table's minimum, the maximum at or below its
 * maximum (the default is then checked against the maximum). */
static const char *limit_bounds(cmd_parms *cmd, const pysb_limit_def *d,
                                const pysb_limits *def, const pysb_limits *max)
{
    char lo[32], hi[32];
    if (d->kind == PYSB_LIMIT_SECONDS) {
        if (!(pysb_limit_seconds(def, d) > d->min) || pysb_limit_seconds(max, d) > d->max)
            return apr_psprintf(cmd->pool, "%s: seconds must be > 0 and at most %g",
                                cmd->cmd->name, d->max);
    } else if (d->kind == PYSB_LIMIT_BYTES) {
        if (pysb_limit_amount(def, d) < (uint64_t)d->min ||
            pysb_limit_amount(max, d) > (uint64_t)d->max) {
            pysb_format_size((uint64_t)d->min, lo, sizeof lo);
            pysb_format_size((uint64_t)d->max, hi, sizeof hi);
            return apr_psprintf(cmd->pool, "%s: sizes must be between %s and %s",
                                cmd->cmd->name, lo, hi);
        }
    }
    return NULL;
}

/* PySandboxCPUTime and its kind: "default [max]" for a limit a request may
 * ask for, one value for the others. cmd->info: the limit's key. */
static const char *set_limit(cmd_parms *cmd, void *dv, const char *a1, const char *a2)
{
    dir_conf *c = dv;
    const char *key = cmd->info;
    const pysb_limit_def *d = pysb_limit_find(key, strlen(key));
    pysb_limits def = c->def, max = c->max;
    const char *err = limit_arg(cmd, d, a1, a2, a1, &def);
    if (!err)
        err = limit_arg(cmd, d, a1, a2, a2 ? a2 : a1, &max);
    if (!err)
        err = limit_bounds(cmd, d, &def, &max);
    if (err)
        return err;
    if (pysb_limit_compare(&def, &max, d) > 0)
        return apr_psprintf(cmd->pool, "%s: the default %s is above the maximum %s",
                            cmd->cmd->name, a1, a2);
    c->def = def;
    c->max = max;
    c->limits_set |= 1u << (d - pysb_limit_table);
    return NULL;
}

static const char *set_limit1(cmd_parms *cmd, void *dv, const char *arg)
{
    return set_limit(cmd, dv, arg, NULL);
}

static const char *set_max_size(cmd_parms *cmd, void *dv, const char *arg)
{
    dir_conf *c = dv;
    int is_code = cmd->info == (void *)0;
    apr_uint64_t v = 0;
    const char *err = parse_size_arg(cmd, arg, &v);
    if (err)
        return err;
    /* The wire caps one CODE frame; stdin travels in chunks but the
     * supervisor holds all of it in memory. */
    apr_uint64_t hi = is_code ? pysb_frame_max_len(PYSB_FRAME_CODE) : (64u << 20);
    if (v < 1 || v > hi) {
        char his[32];
        pysb_format_size(hi, his, sizeof his);
        return apr_psprintf(cmd->pool, "%s: must be between 1 and %s", cmd->cmd->name, his);
    }
    *(is_code ? &c->max_code : &c->max_stdin) = (apr_int64_t)v;
    return NULL;
}

static const char *add_ro_path(cmd_parms *cmd, void *dv, const char *arg)
{
    dir_conf *c = dv;
    struct stat st;
    if (arg[0] != '/' || strstr(arg, "/../") || strstr(arg, "/./"))
        return apr_psprintf(cmd->pool, "PySandboxReadOnlyPath %s: an absolute, normalised path is required", arg);
    if (stat(arg, &st) != 0)
        return apr_psprintf(cmd->pool, "PySandboxReadOnlyPath %s: %s", arg, strerror(errno));
    if (!c->ro_paths)
        c->ro_paths = apr_array_make(cmd->pool, 4, sizeof(const char *));
    if (c->ro_paths->nelts >= PYSB_WIRE_RO_PATHS_MAX)
        return "PySandboxReadOnlyPath: too many paths";
    APR_ARRAY_PUSH(c->ro_paths, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_allow_get(cmd_parms *cmd, void *dv, int on)
{
    (void)cmd;
    ((dir_conf *)dv)->allow_get = on;
    return NULL;
}

static const char *set_default_format(cmd_parms *cmd, void *dv, const char *arg)
{
    int f = pysb_format_from_name(arg, strlen(arg));
    if (f < 0)
        return apr_psprintf(cmd->pool, "PySandboxDefaultFormat %s: one of text, json, ndjson, sse", arg);
    ((dir_conf *)dv)->default_format = f;
    return NULL;
}

static const char *set_socket(cmd_parms *cmd, void *dv, const char *arg)
{
    (void)dv;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err)
        return err;
    srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    sc->socket_path = ap_runtime_dir_relative(cmd->pool, arg);
    if (!sc->socket_path || strlen(sc->socket_path) + 24 >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return apr_psprintf(cmd->pool, "PySandboxSocket %s: path too long for a Unix socket", arg);
    return NULL;
}

static const char *set_max_runs(cmd_parms *cmd, void *dv, const char *arg)
{
    (void)dv;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    unsigned long long n;
    if (err)
        return err;
    if (pysb_parse_uint(arg, 1, 100000, &n, &err) < 0)
        return apr_psprintf(cmd->pool, "PySandboxMaxRuns %s: %s (1 to 100000)", arg, err);
    srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    sc->max_runs = (int)n;
    return NULL;
}

static const char *set_user_range(cmd_parms *cmd, void *dv, const char *a1,
                                  const char *a2)
{
    (void)dv;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    unsigned long long first, last;
    if (err)
        return err;
    if (pysb_parse_uint(a1, 0, 0xfffffffeu, &first, &err) < 0 ||
        pysb_parse_uint(a2, 0, 0xfffffffeu, &last, &err) < 0)
        return apr_psprintf(cmd->pool, "PySandboxUserRange %s %s: %s", a1, a2, err);
    if (first == 0)
        return "PySandboxUserRange: the range must not contain uid 0";
    if (first > last)
        return apr_psprintf(cmd->pool, "PySandboxUserRange: first %s is above last %s", a1, a2);
    srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    sc->range_set = 1;
    sc->uid_first = (apr_int64_t)first;
    sc->uid_last = (apr_int64_t)last;
    return NULL;
}

static const command_rec pysb_cmds[] = {
    AP_INIT_TAKE_ARGV("PySandboxInterpreter", set_interpreter, NULL, OR_ALL,
                      "interpreter path and its flags (default /usr/bin/python3 -I -S)"),
    /* One line per limit of the table a Location sets (cmd->info: its
     * key); TAKE12 for those a request may ask for. */
    AP_INIT_TAKE12("PySandboxCPUTime", set_limit, "cpu_time", OR_ALL,
                   "default [max] CPU seconds"),
    AP_INIT_TAKE12("PySandboxWallTime", set_limit, "wall_time", OR_ALL,
                   "default [max] wall-clock seconds"),
    AP_INIT_TAKE12("PySandboxMemory", set_limit, "memory", OR_ALL,
                   "default [max] address space (K/M/G)"),
    AP_INIT_TAKE12("PySandboxOutputLimit", set_limit, "output", OR_ALL,
                   "default [max] bytes of stdout+stderr"),
    AP_INIT_TAKE1("PySandboxProcesses", set_limit1, "processes", OR_ALL,
                  "processes a run may have (1 = no fork)"),
    AP_INIT_TAKE1("PySandboxThreads", set_limit1, "threads", OR_ALL,
                  "threads a run may have"),
    AP_INIT_TAKE1("PySandboxMaxCodeSize", set_max_size, (void *)0, OR_ALL,
                  "largest program accepted"),
    AP_INIT_TAKE1("PySandboxMaxStdinSize", set_max_size, (void *)1, OR_ALL,
                  "largest stdin accepted"),
    AP_INIT_ITERATE("PySandboxReadOnlyPath", add_ro_path, NULL, OR_ALL,
                    "extra paths a run may read"),
    AP_INIT_FLAG("PySandboxAllowGet", set_allow_get, NULL, OR_ALL,
                 "accept GET ?user_script=..."),
    AP_INIT_TAKE1("PySandboxDefaultFormat", set_default_format, NULL, OR_ALL,
                  "text, json, ndjson or sse"),
    AP_INIT_TAKE1("PySandboxSocket", set_socket, NULL, RSRC_CONF,
                  "the launcher's socket (default DefaultRuntimeDir/pysandbox.<pid>.sock)"),
    AP_INIT_TAKE1("PySandboxMaxRuns", set_max_runs, NULL, RSRC_CONF,
                  "concurrent runs, server-wide (default 2 x CPUs)"),
    AP_INIT_TAKE2("PySandboxUserRange", set_user_range, NULL, RSRC_CONF,
                  "first last uid given to runs (default 600000 600999)"),
    { NULL },
};

/* ---- the launcher in the httpd parent --------------------------------- */

typedef struct {
    apr_pool_t *pool;               /* pconf */
    server_rec *s;
    pysb_launcher_config cfg;
    apr_proc_t proc;
    int running;
} launcher_state;

static server_rec *log_server;

static void launcher_log(int level, int errnum, const char *msg)
{
    static const int levels[] = { APLOG_ERR, APLOG_WARNING, APLOG_INFO, APLOG_DEBUG };
    int lv = level >= 0 && level <= PYSB_LOG_DEBUG ? levels[level] : APLOG_ERR;
    ap_log_error(APLOG_MARK, lv, errnum ? APR_FROM_OS_ERROR(errnum) : APR_SUCCESS,
                 log_server, "PYSB launcher: %s", msg);
}

static void launcher_maintenance(int reason, void *data, apr_wait_t status);

/* This generation's launcher, for the monitor hook; NULL once pconf goes. */
static launcher_state *current_launcher;

static apr_status_t start_launcher(launcher_state *ls)
{
    pid_t pid = fork();
    if (pid < 0) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, ls->s, "PYSB: fork of the launcher failed");
        return rv;
    }
    if (pid == 0)
        pysb_launcher_main(&ls->cfg);
    ls->proc.pid = pid;
    ls->running = 1;
    apr_proc_other_child_register(&ls->proc, launcher_maintenance, ls, NULL, ls->pool);
    return APR_SUCCESS;
}

static void launcher_maintenance(int reason, void *data, apr_wait_t status)
{
    launcher_state *ls = data;
    int mpm_state;
    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        ls->running = 0;
        apr_proc_other_child_unregister(ls);
        /* Restart unless httpd itself is on its way down. */
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS &&
            mpm_state == AP_MPMQ_STOPPING)
            break;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ls->s,
                     "PYSB: launcher %d ended (wait status 0x%x), restarting",
                     (int)ls->proc.pid, (unsigned)status);
        start_launcher(ls);
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(ls);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* pconf is going: httpd stops or restarts. The launcher exits on
         * SIGTERM; runs in flight finish under their supervisors. */
        if (ls->running && kill(ls->proc.pid, SIGTERM) < 0 && errno != ESRCH)
            ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), ls->s,
                         "PYSB: could not signal launcher %d", (int)ls->proc.pid);
        ls->running = 0;
        break;
    default:
        break;
    }
}

static const char *socket_path_of(apr_pool_t *p, const srv_conf *sc)
{
    return sc->socket_path ? sc->socket_path
                           : ap_runtime_dir_relative(p, apr_psprintf(p, "pysandbox.%ld.sock",
                                                                    (long)getpid()));
}

static int effective_max_runs(const srv_conf *sc)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return sc->max_runs ? sc->max_runs : (int)(cpus > 0 ? 2 * cpus : 2);
}

static void uid_range_of(const srv_conf *sc, uid_t *first, uid_t *last)
{
    *first = sc->range_set ? (uid_t)sc->uid_first : 600000;
    *last = sc->range_set ? (uid_t)sc->uid_last : 600999;
}

/* Checks that need the whole configuration; they run under apache2 -t. */
static int pysb_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf, (void)plog, (void)ptemp;
    srv_conf *sc = ap_get_module_config(s->module_config, &pysandbox_module);
    uid_t first, last;
    uid_range_of(sc, &first, &last);
    uid_t user = ap_unixd_config.user_id;
    gid_t group = ap_unixd_config.group_id;
    if (user >= first && user <= last) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PYSB: PySandboxUserRange %u-%u contains httpd's User (uid %u)",
                     (unsigned)first, (unsigned)last, (unsigned)user);
        return !OK;
    }
    if (group >= first && group <= last) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PYSB: PySandboxUserRange %u-%u contains httpd's Group (gid %u); runs use gid = uid",
                     (unsigned)first, (unsigned)last, (unsigned)group);
        return !OK;
    }
    unsigned long span = (unsigned long)(last - first) + 1;
    if (span < (unsigned long)effective_max_runs(sc)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PYSB: PySandboxUserRange %u-%u holds %lu uids, fewer than PySandboxMaxRuns %d",
                     (unsigned)first, (unsigned)last, span, effective_max_runs(sc));
        return !OK;
    }
    return OK;
}

/* On pconf: when httpd finally exits (not on a restart, when the new
 * launcher has already renamed its socket over the old one), remove the
 * socket. pconf's cleanups run before mod_so unloads the module. */
static apr_status_t unlink_socket(void *data)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_EXITING)
        unlink((const char *)data);
    return APR_SUCCESS;
}

static int pysb_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    (void)plog, (void)ptemp;
    /* httpd reads its configuration twice at start-up; the first pass
     * only checks it. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    log_server = s;
    srv_conf *sc = ap_get_module_config(s->module_config, &pysandbox_module);
    launcher_state *ls = apr_pcalloc(pconf, sizeof *ls);
    ls->pool = pconf;
    ls->s = s;
    ls->cfg.socket_path = socket_path_of(pconf, sc);
    ls->cfg.lease_dir = ap_runtime_dir_relative(pconf, "pysandbox-uids");
    ls->cfg.peer_uid = ap_unixd_config.user_id;
    ls->cfg.peer_gid = ap_unixd_config.group_id;
    ls->cfg.parent = getpid();
    ls->cfg.max_runs = (unsigned)effective_max_runs(sc);
    uid_range_of(sc, &ls->cfg.uid_first, &ls->cfg.uid_last);
    ls->cfg.max_code = (uint32_t)pysb_frame_max_len(PYSB_FRAME_CODE);
    ls->cfg.max_stdin = 64u << 20;
    ls->cfg.log = launcher_log;
    if (configured_interpreters) {
        const char **list = apr_pcalloc(pconf, (configured_interpreters->nelts + 1) * sizeof *list);
        memcpy(list, configured_interpreters->elts,
               configured_interpreters->nelts * sizeof *list);
        ls->cfg.interpreters = list;
    }
    /* Resolve the socket path for the workers (they read sc). */
    sc->socket_path = ls->cfg.socket_path;

    apr_pool_cleanup_register(pconf, ls->cfg.socket_path, unlink_socket,
                              apr_pool_cleanup_null);
    current_launcher = ls;
    apr_pool_cleanup_register(pconf, &current_launcher, ap_pool_cleanup_set_null,
                              apr_pool_cleanup_null);
    if (start_launcher(ls) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    return OK;
}

/* Runs in the httpd parent about once a second: a launcher that could not
 * be restarted (its fork failed) is tried again, so a passing shortage of
 * memory or pids does not leave the service down for good. */
static int pysb_monitor(apr_pool_t *p, server_rec *s)
{
    (void)p, (void)s;
    int mpm_state;
    launcher_state *ls = current_launcher;
    if (!ls || ls->running)
        return DECLINED;
    if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS &&
        mpm_state == AP_MPMQ_STOPPING)
        return DECLINED;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ls->s, "PYSB: no launcher running, starting one");
    start_launcher(ls);
    return DECLINED;
}

/* ---- the child: waking workers when httpd stops ---------------------- */

/* Written once when this child is told to stop at once (not gracefully):
 * every worker waiting on a run also polls the read end, so none of them
 * sits out httpd's shutdown timeout. A graceful stop or restart lets runs
 * finish. */
static int stop_pipe[2] = { -1, -1 };

static void pysb_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                     "PYSB: pipe for stop notices; runs will not end early on stop");
        stop_pipe[0] = stop_pipe[1] = -1;
    }
}

static void pysb_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    if (!graceful && stop_pipe[1] >= 0) {
        /* EAGAIN means it was written already: nothing to add. */
        ssize_t n = write(stop_pipe[1], "!", 1);
        (void)n;
    }
}

/* ---- the request ------------------------------------------------------ */

typedef struct {
    request_rec *r;
    effective e;
    pysb_fields f;
    pysb_run_request run;
    const char *run_id;
    int format;
    /* streaming state */
    int conn;
    int client_fd;
    int headers_out;                  /* something was sent to the client */
    int client_gone;
    pysb_render *render;              /* the response in its format */
} req_ctx;

static void set_field(req_ctx *x, const char *name, apr_size_t name_len,
                      const char *data, apr_size_t len)
{
    /* Names that are no field (submit buttons and the like) are ignored. */
    pysb_fields_set(&x->f, name, name_len, data, len);
}

/* A one-line refusal: the body is the reason (JSON for the JSON-ish
 * formats), the status the caller's. */
static int refuse(req_ctx *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(req_ctx *x, int status, const char *fmt, ...)
{
    request_rec *r = x->r;
    va_list ap;
    va_start(ap, fmt);
    const char *why = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_INFO, 0, r,
                  "PYSB: %d %s", status, why);
    r->status = status;
    apr_table_setn(r->notes, "pysandbox-status", status >= 500 ? "unavailable" : "refused");
    const char *mime;
    size_t len;
    char *body = pysb_render_refusal(x->format, status, why, &len, &mime);
    ap_set_content_type(r, mime);
    if (body)
        ap_rwrite(body, (int)len, r);
    free(body);
    return OK;
}

/* The whole body, up to cap bytes. */
static int read_body(request_rec *r, apr_size_t cap, char **out, apr_size_t *out_len)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_size_t len = 0, alloc = 16384;
    char *buf = apr_palloc(r->pool, alloc + 1);
    int seen_eos = 0;
    do {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, "PYSB: reading the request body");
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b))
                continue;
            const char *data;
            apr_size_t n;
            rv = apr_bucket_read(b, &data, &n, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, "PYSB: reading the request body");
                return HTTP_BAD_REQUEST;
            }
            if (len + n > cap) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (len + n > alloc) {
                while (alloc < len + n)
                    alloc *= 2;
                char *nb = apr_palloc(r->pool, alloc + 1);
                memcpy(nb, buf, len);
                buf = nb;
            }
            memcpy(buf + len, data, n);
            len += n;
        }
        apr_brigade_cleanup(bb);
    } while (!seen_eos);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return OK;
}

/* Fields of a raw query string: decoded copies in r->pool. */
static int parse_query(req_ctx *x, const char *q)
{
    const char *cur = q, *end = q + strlen(q), *n, *v;
    size_t nl, vl;
    while (pysb_form_next(&cur, end, &n, &nl, &v, &vl)) {
        char *name = apr_palloc(x->r->pool, nl + 1), *val = apr_palloc(x->r->pool, vl + 1);
        size_t dn, dv;
        if (pysb_form_decode(n, nl, name, &dn) < 0 || pysb_form_decode(v, vl, val, &dv) < 0)
            return -1;
        name[dn] = val[dv] = '\0';
        set_field(x, name, dn, val, dv);
    }
    return 0;
}

static int parse_urlencoded(req_ctx *x, apr_size_t cap)
{
    request_rec *r = x->r;
    apr_array_header_t *pairs = NULL;
    int rc = ap_parse_form_data(r, NULL, &pairs, -1, cap);
    if (rc != OK)
        return rc;
    for (int i = 0; pairs && i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_brigade_length(pair->value, 1, &len);
        apr_size_t size = (apr_size_t)len;
        char *buf = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, buf, &size);
        buf[size] = '\0';
        set_field(x, pair->name, strlen(pair->name), buf, size);
    }
    return OK;
}

/* A JSON value as field text: strings as they are, numbers printed. */
static int json_field(req_ctx *x, const char *key, json_t *v)
{
    pysb_fields probe;
    pysb_fields_init(&probe);
    if (!pysb_fields_set(&probe, key, strlen(key), "", 0))
        return 0;
    int numeric = pysb_fields_numeric(key, strlen(key));
    if (json_is_string(v)) {
        set_field(x, key, strlen(key), json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v) && numeric) {
        const char *s = apr_psprintf(x->r->pool, "%" APR_INT64_T_FMT,
                                     (apr_int64_t)json_integer_value(v));
        set_field(x, key, strlen(key), s, strlen(s));
    } else if (json_is_real(v) && numeric) {
        const char *s = apr_psprintf(x->r->pool, "%.17g", json_real_value(v));
        set_field(x, key, strlen(key), s, strlen(s));
    } else if (!json_is_null(v)) {
        return -1;
    }
    return 0;
}
static apr_status_t json_release(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* Media type of a Content-Type, lower-cased, parameters dropped. */
static char *media_type(apr_pool_t *p, const char *ct)
{
    char *t = apr_pstrdup(p, ct ? ct : "");
    char *semi = strchr(t, ';');
    if (semi)
        *semi = '\0';
    apr_collapse_spaces(t, t);
    ap_str_tolower(t);
    return t;
}

/* Reads and parses the request into x->f. Returns OK or an HTTP status
 * after refuse() has written the response (then it returns DONE-like
 * OK through *done). */
static int parse_request(req_ctx *x, int *done)
{
    request_rec *r = x->r;
    const effective *e = &x->e;
    *done = 1;
    if (r->args && parse_query(x, r->args) < 0)
        return refuse(x, HTTP_BAD_REQUEST, "malformed %%-escape in the query string");
    if (r->method_number == M_GET) {
        *done = 0;
        return OK;
    }
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *mt = media_type(r->pool, ct);
    /* Everything a request may carry, plus room for field names, as it
     * travels: %XX triples a byte, JSON's \u00XX makes six of it. The
     * decoded code and stdin are then held to their own limits. */
    apr_size_t grow = !strcmp(mt, "application/x-www-form-urlencoded") ? 3
                    : !strcmp(mt, "application/json") ? 6 : 1;
    apr_size_t cap = (apr_size_t)((e->loc.max_code + e->loc.max_stdin) * grow + 65536);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared, limit = ap_get_limit_req_body(r);
    /* Refused before reading a byte of it, with our one-line answer: past
     * this point httpd's input filter answers LimitRequestBody itself. */
    if (cl && ap_parse_strict_length(&declared, cl) &&
        ((apr_uint64_t)declared > cap || (limit > 0 && declared > limit))) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return refuse(x, HTTP_REQUEST_ENTITY_TOO_LARGE,
                      "request body of %s bytes is larger than this location accepts (%s)", cl,
                      limit > 0 && declared > limit ? "LimitRequestBody" : "code and stdin sizes");
    }
    if (!strcmp(mt, "application/x-www-form-urlencoded")) {
        int rc = parse_urlencoded(x, cap);
        if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE)
            return refuse(x, rc, "request body larger than this location accepts");
        if (rc != OK)
            return rc >= 400 && rc < 600 ? refuse(x, rc, "malformed form body") : rc;
        *done = 0;
        return OK;
    }
    int json = !strcmp(mt, "application/json");
    int multipart = !strcmp(mt, "multipart/form-data");
    int raw = !strcmp(mt, "text/plain") || !strcmp(mt, "text/x-python") ||
              !strcmp(mt, "application/x-python") || !strcmp(mt, "text/x-script.python");
    if (!json && !multipart && !raw) {
        if (!ct && !ap_request_has_body(r)) {
            *done = 0; /* a bare POST: fields only from the query */
            return OK;
        }
        return refuse(x, HTTP_UNSUPPORTED_MEDIA_TYPE,
                      "unsupported Content-Type %s (use application/x-www-form-urlencoded, "
                      "multipart/form-data, application/json or text/x-python)",
                      ct ? ct : "(none)");
    }
    pysb_slice boundary = { NULL, 0 };
    const char *err;
    if (multipart && pysb_multipart_boundary(ct, &boundary, &err) < 0)
        return refuse(x, HTTP_BAD_REQUEST, "%s", err);
    char *body = NULL;
    apr_size_t len = 0;
    int rc = read_body(r, cap, &body, &len);
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE)
        return refuse(x, rc, "request body larger than this location accepts");
    if (rc != OK)
        return rc; /* the input filters answered already (LimitRequestBody) */
    if (raw) {
        set_field(x, "code", 4, body, len);
    } else if (json) {
        json_error_t jerr;
        json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!o)
            return refuse(x, HTTP_BAD_REQUEST, "invalid JSON at line %d: %s", jerr.line, jerr.text);
        apr_pool_cleanup_register(r->pool, o, json_release, apr_pool_cleanup_null);
        if (!json_is_object(o))
            return refuse(x, HTTP_BAD_REQUEST, "the JSON body must be an object");
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
            if (json_field(x, key, v) < 0)
                return refuse(x, HTTP_BAD_REQUEST, "JSON field %s has the wrong type", key);
    } else {
        pysb_mpart *parts = apr_palloc(r->pool, MAX_PARTS * sizeof *parts);
        int n = pysb_multipart_parse(body, len, boundary, parts, MAX_PARTS, &err);
        if (n < 0)
            return refuse(x, HTTP_BAD_REQUEST, "%s", err);
        for (int i = 0; i < n; i++)
            set_field(x, parts[i].name.ptr, parts[i].name.len, parts[i].data.ptr,
                      parts[i].data.len);
    }
    *done = 0;
    return OK;
}



/* ---- talking to the launcher ------------------------------------------ */

static apr_status_t close_fd_cleanup(void *data)
{
    int *fd = data;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return APR_SUCCESS;
}

static apr_status_t session_cleanup(void *data)
{
    pysb_session_free(data);
    return APR_SUCCESS;
}

/* Connected socket, or -1: the launcher may be restarting, so retry for
 * a moment before giving up. */
static int connect_launcher(request_rec *r, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    apr_cpystrn(sa.sun_path, path, sizeof sa.sun_path);
    int waited = 0, last_errno = 0;
    for (;;) {
        /* Non-blocking: a full backlog answers EAGAIN instead of holding
         * the worker thread; the sends that follow carry their own
         * timeouts. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r, "PYSB: socket");
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        last_errno = errno;
        close(fd);
        if (waited >= CONNECT_RETRY_MS ||
            (last_errno != ENOENT && last_errno != ECONNREFUSED && last_errno != EAGAIN))
            break;
        usleep(50 * 1000);
        waited += 50;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(last_errno), r,
                  "PYSB: cannot reach the launcher at %s", path);
    return -1;
}

/* Returns 0, -2 when the run could not be described (logged), or -1 with
 * errno from the socket. */
static int send_request(req_ctx *x)
{
    pysb_session_request req = {
        .spec = {
            .limits = x->run.limits,
            .argv = (const char **)x->e.argv,
            .ro_paths = (const char **)x->e.ro_paths,
            .flags = 0,
        },
        .code = x->run.code,
        .code_len = x->run.code_len,
        .stdin_data = x->run.stdin_data,
        .stdin_len = x->run.stdin_len,
    };
    apr_cpystrn(req.spec.run_id, x->run_id, sizeof req.spec.run_id);
    char err[256] = "";
    int rc = pysb_session_send(x->conn, &req, SEND_TIMEOUT_MS, err, sizeof err);
    if (rc < 0 && err[0]) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, x->r, "PYSB: encoding the run: %s", err);
        return -2;
    }
    return rc;
}

/* ---- the response ----------------------------------------------------- */

static void client_write(req_ctx *x, const char *data, apr_size_t len, int flush)
{
    if (x->client_gone)
        return;
    /* ap_rwrite takes an int. */
    while (len > 0) {
        int n = len > (1u << 30) ? 1 << 30 : (int)len;
        if (ap_rwrite(data, n, x->r) < 0) {
            x->client_gone = 1;
            return;
        }
        data += n;
        len -= (apr_size_t)n;
    }
    if (flush && ap_rflush(x->r) < 0) {
        x->client_gone = 1;
        return;
    }
    x->headers_out = 1;
}

/* The renderer's sink: the client, through httpd's output filters. */
static int sink_write(void *ctx, const char *p, size_t n)
{
    req_ctx *x = ctx;
    client_write(x, p, n, 1);
    return x->client_gone ? -1 : 0;
}

static void sink_flush(void *ctx)
{
    client_write(ctx, NULL, 0, 1);
}

static apr_status_t render_cleanup(void *data)
{
    pysb_render_free(data);
    return APR_SUCCESS;
}

static void on_output(req_ctx *x, int stream, const char *data, apr_size_t len)
{
    if (pysb_render_output(x->render, stream, data, len) < 0)
        x->client_gone = 1;
}

static void set_notes(req_ctx *x, const pysb_result *res)
{
    request_rec *r = x->r;
    apr_table_setn(r->notes, "pysandbox-status", pysb_status_name(res->status));
    apr_table_setn(r->notes, "pysandbox-wall-ms",
                   apr_psprintf(r->pool, "%ld", (long)(res->wall_sec * 1000 + 0.5)));
    apr_table_setn(r->notes, "pysandbox-cpu-ms",
                   apr_psprintf(r->pool, "%ld", (long)(res->cpu_sec * 1000 + 0.5)));
    apr_table_setn(r->notes, "pysandbox-mem-kb", apr_psprintf(r->pool, "%ld", res->memory_kb));
}

static void on_result(req_ctx *x, const pysb_result *res)
{
    request_rec *r = x->r;
    set_notes(x, res);
    if (res->status == PYSB_INTERNAL_ERROR) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: run %s: internal error: %s",
                      x->run_id, res->error);
        if (!x->headers_out)
            r->status = HTTP_INTERNAL_SERVER_ERROR;
    }
    if (x->format == PYSB_FMT_JSON)
        apr_table_setn(r->headers_out, "X-PySandbox-Status", pysb_status_name(res->status));
    if (pysb_render_result(x->render, res) < 0 && !x->client_gone) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: run %s: out of memory rendering it",
                      x->run_id);
        if (!x->headers_out)
            r->status = HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* The client's socket, to notice a disconnect while the run is silent. */
static int client_socket(request_rec *r)
{
    apr_socket_t *csd = ap_get_conn_socket(r->connection);
    apr_os_sock_t fd;
    if (!csd || apr_os_sock_get(&fd, csd) != APR_SUCCESS)
        return -1;
    return fd;
}

/* 1 when the client has hung up; a readable socket with data is a
 * pipelined request, after which the socket tells nothing more. */
static int client_hung_up(req_ctx *x, short revents)
{
    if (revents & (POLLHUP | POLLERR | POLLRDHUP))
        return 1;
    char c;
    ssize_t n = recv(x->client_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    if (n > 0)
        x->client_fd = -1;
    return 0;
}

static int relay_run(req_ctx *x)
{
    request_rec *r = x->r;
    pysb_session *ss = apr_pcalloc(r->pool, sizeof *ss);
    pysb_session_init(ss, x->conn);
    apr_pool_cleanup_register(r->pool, ss, session_cleanup, apr_pool_cleanup_null);
    double deadline = pysb_monotonic() + x->run.limits.wall_sec + RESULT_GRACE_SEC;
    int p_stopping = 0;
    const pysb_sink sink = { sink_write, sink_flush, x };
    x->render = pysb_render_new(x->format, &sink);
    if (!x->render)
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    apr_pool_cleanup_register(r->pool, x->render, render_cleanup, apr_pool_cleanup_null);
    x->client_fd = client_socket(r);
    for (;;) {
        pysb_event ev;
        int rc = pysb_session_next(ss, &ev);
        if (rc < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PYSB: run %s: protocol error: %s",
                          x->run_id, pysb_session_error(ss));
            break;
        }
        if (rc == 1) {
            switch (ev.type) {
            case PYSB_EV_BUSY:
                apr_table_setn(r->err_headers_out, "Retry-After", "1");
                return refuse(x, HTTP_SERVICE_UNAVAILABLE, "all run slots are busy, retry shortly");
            case PYSB_EV_ERROR:
                return refuse(x, HTTP_INTERNAL_SERVER_ERROR, "the launcher refused the run: %s",
                              ev.data);
            case PYSB_EV_STARTED:
                ap_set_content_type(r, pysb_format_mime(x->format));
                if (pysb_format_streams(x->format)) {
                    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
                    if (x->format == PYSB_FMT_SSE)
                        apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
                }
                pysb_render_open(x->render); /* streams: headers now */
                break;
            case PYSB_EV_OUTPUT:
                on_output(x, ev.stream, ev.data, ev.len);
                break;
            case PYSB_EV_RESULT:
                on_result(x, &ev.result);
                return OK;
            }
            if (x->client_gone)
                goto gone;
            continue;
        }
        double left = deadline - pysb_monotonic();
        if (left <= 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "PYSB: run %s: no result %d s after its wall limit", x->run_id,
                          RESULT_GRACE_SEC);
            goto failed;
        }
        struct pollfd p[3] = { { x->conn, POLLIN, 0 }, { stop_pipe[0], POLLIN, 0 },
                               { x->client_fd, POLLIN | POLLRDHUP, 0 } };
        int np = x->client_fd >= 0 ? 3 : 2;
        if (poll(p, (nfds_t)np, (int)(left * 1000) + 1) < 0) {
            if (errno == EINTR)
                continue;
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r, "PYSB: poll");
            goto failed;
        }
        if (np == 3 && p[2].revents && client_hung_up(x, p[2].revents))
            goto gone;
        if (p[1].revents) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "PYSB: run %s: httpd is stopping, run killed", x->run_id);
            p_stopping = 1;
            goto gone;
        }
        if (p[0].revents) {
            ssize_t n = pysb_session_read(ss);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, n < 0 ? APR_FROM_OS_ERROR(errno) : 0, r,
                              "PYSB: run %s: the supervisor went away %s", x->run_id,
                              pysb_session_started(ss) ? "mid-run" : "before starting");
                if (!pysb_session_started(ss)) {
                    apr_table_setn(r->err_headers_out, "Retry-After", "1");
                    return refuse(x, HTTP_SERVICE_UNAVAILABLE, "the sandbox service is unavailable");
                }
                goto failed;
            }
        }
    }
failed:
    /* A run whose end we could not learn: said in the format at hand. */
    {
        pysb_result res;
        memset(&res, 0, sizeof res);
        res.status = PYSB_INTERNAL_ERROR;
        res.exit_code = -1;
        res.limits = x->run.limits;
        apr_cpystrn(res.run_id, x->run_id, sizeof res.run_id);
        apr_cpystrn(res.error, "the run's supervisor failed", sizeof res.error);
        on_result(x, &res);
    }
    return OK;
gone:
    /* The client went away, or httpd is stopping: closing our end makes
     * the supervisor kill the run at once. */
    close_fd_cleanup(&x->conn);
    apr_table_setn(r->notes, "pysandbox-status", "cancelled");
    if (!p_stopping)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PYSB: run %s: client went away, run killed",
                      x->run_id);
    r->connection->aborted = 1;
    return OK;
}

/* GET ?info=1: the effective limits of this Location, for pages. */
static int send_info(req_ctx *x)
{
    char *j = pysb_location_info(&x->e.loc);
    if (!j)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_set_content_type(x->r, "application/json");
    apr_table_setn(x->r->notes, "pysandbox-status", "info");
    ap_rvputs(x->r, j, "\n", NULL);
    free(j);
    return OK;
}

static int pysb_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "pysandbox"))
        return DECLINED;
    dir_conf *dc = ap_get_module_config(r->per_dir_config, &pysandbox_module);
    srv_conf *sc = ap_get_module_config(r->server->module_config, &pysandbox_module);
    req_ctx *x = apr_pcalloc(r->pool, sizeof *x);
    x->r = r;
    x->conn = -1;
    x->client_fd = -1;
    effective_conf(r->pool, dc, &x->e);
    x->format = x->e.loc.default_format;
    pysb_fields_init(&x->f);
    char *run_id = apr_palloc(r->pool, 37);
    pysb_new_run_id(run_id);
    x->run_id = run_id;
    apr_table_setn(r->err_headers_out, "X-PySandbox-Run-Id", run_id);
    apr_table_setn(r->notes, "pysandbox-run-id", run_id);

    r->allowed = (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_POST && r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", x->e.loc.allow_get ? "GET, POST" : "POST, GET");
        return refuse(x, HTTP_METHOD_NOT_ALLOWED, "method %s not allowed (use POST%s)",
                      r->method, x->e.loc.allow_get ? " or GET" : "");
    }
    int done;
    int rc = parse_request(x, &done);
    if (done)
        return rc;
    const char *accept = apr_table_get(r->headers_in, "Accept");
    char why[512];
    pysb_format fmt;
    rc = pysb_fields_format(&x->f, &x->e.loc, accept, &fmt, why, sizeof why);
    x->format = fmt;
    if (rc)
        return refuse(x, rc, "%s", why);
    if (r->method_number == M_GET) {
        if (pysb_fields_wants_info(&x->f, accept))
            return send_info(x);
        if (!x->e.loc.allow_get) {
            apr_table_setn(r->err_headers_out, "Allow", "POST");
            return refuse(x, HTTP_METHOD_NOT_ALLOWED,
                          "GET runs are off here (PySandboxAllowGet); use POST");
        }
    }
    if ((rc = pysb_fields_request(&x->f, &x->e.loc, &x->run, why, sizeof why)) != 0)
        return refuse(x, rc, "%s", why);

    x->conn = connect_launcher(r, sc->socket_path);
    if (x->conn < 0) {
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return refuse(x, HTTP_SERVICE_UNAVAILABLE, "the sandbox service is unavailable, retry shortly");
    }
    apr_pool_cleanup_register(r->pool, &x->conn, close_fd_cleanup, apr_pool_cleanup_null);
    int sent = send_request(x);
    if (sent == -2)
        return refuse(x, HTTP_INTERNAL_SERVER_ERROR, "could not describe the run to the launcher");
    if (sent < 0 && errno != EPIPE && errno != ECONNRESET) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "PYSB: sending the run to the launcher");
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return refuse(x, HTTP_SERVICE_UNAVAILABLE, "the sandbox service is unavailable, retry shortly");
    }
    /* On EPIPE the launcher may have said BUSY and closed: read it. */
    return relay_run(x);
}

static void pysb_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(pysb_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pysb_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pysb_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pysb_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pysb_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(pysb_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(pysb_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA pysandbox_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_srv_conf,
    NULL,
    pysb_cmds,
    pysb_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE,
#endif
};
