/* conf.c — directives, the per-directory and per-server records, their
 * merging, and the effective values.
 *
 * Contract: see conf.h. */
#include "httpd/conf.h"

#include "http_core.h"
#include "http_log.h"
#include "apr_strings.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/payload.h"
#include "src/render.h"
#include "src/infiles.h"
#include "src/jobecache.h"
#include "src/scratch.h"
#include "src/root.h"
#include "src/warm.h"
#include "src/wire.h"



void *pysb_create_dir_conf(apr_pool_t *p, char *dir)
{
    (void)dir;
    pysb_dir_conf *c = apr_pcalloc(p, sizeof *c);
    c->allow_get = c->default_format = c->ignore_unknown = c->site_packages = PYSB_UNSET;
    c->max_code = c->max_stdin = c->queue_timeout_ms = PYSB_UNSET;
    c->max_files = c->max_file_size = PYSB_UNSET;
    c->per_client = c->client_key = PYSB_UNSET;
    c->start = PYSB_UNSET;
    return c;
}

/* The request-size caps when no scope sets them. */
#define DEFAULT_MAX_CODE (64 * 1024)
#define DEFAULT_MAX_STDIN (1024 * 1024)
#define DEFAULT_MAX_FILES 16
#define DEFAULT_MAX_FILE_SIZE (1024 * 1024)

/* A line of an .htaccess: its cmd->override is the AllowOverride classes
 * alone (server/config.c's ap_parse_htaccess), while the main
 * configuration has RSRC_CONF at top level and ACCESS_CONF in sections
 * (<Directory>, <Location>, <Files>, <If>; those inside an .htaccess keep
 * its classes). */
static int from_htaccess(const cmd_parms *cmd)
{
    return !(cmd->override & (RSRC_CONF | ACCESS_CONF));
}

/* A directive of the main configuration only, met in an .htaccess: httpd
 * lets AllowOverrideList name any directive of a section context
 * (ACCESS_CONF) for .htaccess, whatever its own override classes, so the
 * handlers of those directives refuse it themselves (attack-today F2);
 * server-only ones (RSRC_CONF) httpd keeps out of the list itself
 * (AH02304). */
static const char *not_in_htaccess(cmd_parms *cmd)
{
    return apr_pstrcat(cmd->pool, cmd->cmd->name,
                       " is not allowed in .htaccess (main configuration only, "
                       "AllowOverrideList included)", NULL);
}

/* An .htaccess can lower a limit, never raise it: its value is clamped to
 * the maximum of the configuration it merges into (the enclosing
 * <Directory>s, the virtual host, the main server; the table's default
 * where none of them sets it). httpd's directory walk merges the matching
 * <Directory> sections and .htaccess files among themselves first and the
 * result onto the server's configuration last, so a merge may not yet
 * know the real ceiling: when its base does not set the limit (or set it
 * from another .htaccess), the merged scope keeps the mark and what the
 * .htaccess asked for, takes the table's default as a safe value for now,
 * and the next merge onto a scope that sets the limit clamps the request
 * again, to that scope's maximum (contract9 F1: an enclosing <Directory>
 * with any directive of the module let an .htaccess raise the server's
 * caps back to the defaults). A value clamped by a scope the admin wrote
 * carries no mark: merged once more, onto the configuration before the
 * walk, it stays (attack-today F4). */

/* v = min(v, cap) on one row. */
static void limit_min(pysb_limits *v, const pysb_limits *cap, const pysb_limit_def *d)
{
    if (pysb_limit_compare(v, cap, d) > 0)
        pysb_limit_copy(v, cap, d);
}

static void merge_limit(pysb_dir_conf *c, const pysb_dir_conf *base, const pysb_dir_conf *add,
                        size_t i, const pysb_limits *dflt)
{
    const pysb_limit_def *d = &pysb_limit_table[i];
    unsigned bit = 1u << i;
    if (!(add->limits_set & bit)) {
        /* the base's row as it is (c starts as a copy), mark included */
        c->htaccess_limits |= base->htaccess_limits & bit;
        pysb_limit_copy(&c->ht_def, &base->ht_def, d);
        pysb_limit_copy(&c->ht_max, &base->ht_max, d);
        return;
    }
    if (!(add->htaccess_limits & bit)) {
        pysb_limit_copy(&c->def, &add->def, d);
        pysb_limit_copy(&c->max, &add->max, d);
        return;
    }
    pysb_limits req_def = add->ht_def, req_max = add->ht_max;
    int resolved = (base->limits_set & bit) && !(base->htaccess_limits & bit);
    const pysb_limits *ceiling = resolved ? &base->max : dflt;
    if (!resolved && (base->limits_set & bit))
        limit_min(&req_max, &base->ht_max, d);
    limit_min(&req_def, &req_max, d);
    pysb_limit_copy(&c->max, &req_max, d);
    limit_min(&c->max, ceiling, d);
    pysb_limit_copy(&c->def, &req_def, d);
    limit_min(&c->def, &c->max, d);
    if (!resolved) {
        c->htaccess_limits |= bit;
        pysb_limit_copy(&c->ht_def, &req_def, d);
        pysb_limit_copy(&c->ht_max, &req_max, d);
    }
}

/* The same rule for one request-size cap. */
static apr_int64_t merge_size(pysb_dir_conf *c, const pysb_dir_conf *base,
                              const pysb_dir_conf *add, int which, apr_int64_t bv,
                              apr_int64_t av, apr_int64_t dflt)
{
    unsigned bit = 1u << which;
    if (av == PYSB_UNSET) {
        c->htaccess_sizes |= base->htaccess_sizes & bit;
        c->ht_size[which] = base->ht_size[which];
        return bv;
    }
    if (!(add->htaccess_sizes & bit))
        return av;
    apr_int64_t req = add->ht_size[which], ceiling = dflt;
    int resolved = bv != PYSB_UNSET && !(base->htaccess_sizes & bit);
    if (resolved)
        ceiling = bv;
    else if (bv != PYSB_UNSET && base->ht_size[which] < req)
        req = base->ht_size[which];
    if (!resolved) {
        c->htaccess_sizes |= bit;
        c->ht_size[which] = req;
    }
    return req < ceiling ? req : ceiling;
}

void *pysb_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    pysb_dir_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof *c);
    c->interp = add->interp ? add->interp : base->interp;
    c->def = base->def;
    c->max = base->max;
    pysb_limits dflt;
    pysb_limits_default(&dflt);
    for (size_t i = 0; i < pysb_limit_count; i++)
        merge_limit(c, base, add, i, &dflt);
    c->limits_set = base->limits_set | add->limits_set;
    c->max_code = merge_size(c, base, add, PYSB_SIZE_CODE, base->max_code, add->max_code,
                             DEFAULT_MAX_CODE);
    c->max_stdin = merge_size(c, base, add, PYSB_SIZE_STDIN, base->max_stdin, add->max_stdin,
                              DEFAULT_MAX_STDIN);
    c->max_files = merge_size(c, base, add, PYSB_SIZE_FILES, base->max_files, add->max_files,
                              DEFAULT_MAX_FILES);
    c->max_file_size = merge_size(c, base, add, PYSB_SIZE_FILE, base->max_file_size,
                                  add->max_file_size, DEFAULT_MAX_FILE_SIZE);
    /* Read-only paths accumulate from the outer scope inwards. */
    if (base->ro_paths && add->ro_paths)
        c->ro_paths = apr_array_append(p, base->ro_paths, add->ro_paths);
    else
        c->ro_paths = add->ro_paths ? add->ro_paths : base->ro_paths;
    /* sys.path is an order: a Location that sets it sets all of it. */
    c->python_path = add->python_path ? add->python_path : base->python_path;
    c->site_packages = add->site_packages != PYSB_UNSET ? add->site_packages
                                                       : base->site_packages;
    c->allow_get = add->allow_get != PYSB_UNSET ? add->allow_get : base->allow_get;
    c->start = add->start != PYSB_UNSET ? add->start : base->start;
    /* The preload list is taken whole from the innermost scope that sets
     * it: it names one fork server. */
    c->preload = add->preload ? add->preload : base->preload;
    c->default_format = add->default_format != PYSB_UNSET ? add->default_format
                                                     : base->default_format;
    c->ignore_unknown = add->ignore_unknown != PYSB_UNSET ? add->ignore_unknown
                                                     : base->ignore_unknown;
    c->queue_timeout_ms = add->queue_timeout_ms != PYSB_UNSET ? add->queue_timeout_ms
                                                              : base->queue_timeout_ms;
    c->per_client = add->per_client != PYSB_UNSET ? add->per_client : base->per_client;
    /* The key and its header name go together. */
    c->client_key = add->client_key != PYSB_UNSET ? add->client_key : base->client_key;
    c->client_header = add->client_key != PYSB_UNSET ? add->client_header : base->client_header;
    c->jobe_cache = add->jobe_cache ? add->jobe_cache : base->jobe_cache;
    c->jobe_cache_size = add->jobe_cache ? add->jobe_cache_size : base->jobe_cache_size;
    c->jobe_keys = add->jobe_keys ? add->jobe_keys : base->jobe_keys;
    return c;
}

void *pysb_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    pysb_srv_conf *c = apr_pcalloc(p, sizeof *c);
    c->queue_size = PYSB_UNSET;
    return c;
}

/* A virtual host that has any PySandbox* line gets a record of its own;
 * server-scope directives are refused there, so it is the main server's. */
void *pysb_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    (void)addv;
    pysb_srv_conf *c = apr_palloc(p, sizeof *c);
    *c = *(const pysb_srv_conf *)basev;
    return c;
}


static const char *const default_argv[] = { "/usr/bin/python3", "-I", "-S", NULL };

/* pysb_dir_conf's interpreter as a NULL-ended argv in p, or NULL. */
static const char *const *interp_argv(apr_pool_t *p, const apr_array_header_t *interp)
{
    if (!interp)
        return NULL;
    const char **argv = apr_pcalloc(p, (interp->nelts + 1) * sizeof *argv);
    memcpy(argv, interp->elts, interp->nelts * sizeof *argv);
    return argv;
}

void pysb_effective_conf(apr_pool_t *p, const pysb_dir_conf *c, pysb_effective *e)
{
    e->argv = c->interp ? interp_argv(p, c->interp) : default_argv;
    if (c->ro_paths) {
        const char **ro = apr_pcalloc(p, (c->ro_paths->nelts + 1) * sizeof *ro);
        memcpy(ro, c->ro_paths->elts, c->ro_paths->nelts * sizeof *ro);
        e->ro_paths = ro;
    } else {
        e->ro_paths = NULL;
    }
    e->python_path = NULL;
    if (c->python_path) {
        const char **pp = apr_pcalloc(p, (c->python_path->nelts + 1) * sizeof *pp);
        memcpy(pp, c->python_path->elts, c->python_path->nelts * sizeof *pp);
        e->python_path = pp;
    }
    e->site_packages = c->site_packages == 1;
    /* Warm unless asked for cold (issue 9): a Location whose interpreter
     * cannot be served warm runs cold, the launcher says why once. */
    e->warm = c->start != 0;
    /* Preloads belong to a warm Location's server: a cold one inside a
     * warm one has none. */
    const apr_array_header_t *pl = e->warm ? c->preload : NULL;
    const char **pre = apr_pcalloc(p, ((pl ? pl->nelts : 0) + 1) * sizeof *pre);
    if (pl)
        memcpy(pre, pl->elts, pl->nelts * sizeof *pre);
    e->preload = pre;
    pysb_location *l = &e->loc;
    l->warm = e->warm;
    l->preload = e->preload;
    pysb_limits_default(&l->def);
    pysb_limits_default(&l->max);
    for (size_t i = 0; i < pysb_limit_count; i++) {
        const pysb_limit_def *d = &pysb_limit_table[i];
        if (!(c->limits_set & (1u << i)))
            continue;
        pysb_limit_copy(&l->def, &c->def, d);
        pysb_limit_copy(&l->max, &c->max, d);
    }
    l->max_code = c->max_code != PYSB_UNSET ? (apr_uint64_t)c->max_code : DEFAULT_MAX_CODE;
    l->max_stdin = c->max_stdin != PYSB_UNSET ? (apr_uint64_t)c->max_stdin : DEFAULT_MAX_STDIN;
    l->max_files = c->max_files != PYSB_UNSET ? (unsigned)c->max_files : DEFAULT_MAX_FILES;
    l->max_file_size = c->max_file_size != PYSB_UNSET ? (apr_uint64_t)c->max_file_size
                                                      : DEFAULT_MAX_FILE_SIZE;
    l->allow_get = c->allow_get == 1;
    l->default_format = c->default_format != PYSB_UNSET ? c->default_format : PYSB_FMT_TEXT;
    l->ignore_unknown = c->ignore_unknown == 1;
    e->queue_timeout_ms = c->queue_timeout_ms != PYSB_UNSET ? (unsigned)c->queue_timeout_ms
                                                            : PYSB_DEFAULT_QUEUE_TIMEOUT_MS;
    e->per_client = c->per_client != PYSB_UNSET ? (unsigned)c->per_client : 0;
    e->client_key = c->client_key != PYSB_UNSET ? c->client_key : PYSB_KEY_IP;
    e->client_header = c->client_header;
    e->jobe_cache = c->jobe_cache;
    e->jobe_cache_size = c->jobe_cache_size;
    e->jobe_keys = NULL;
    if (c->jobe_keys) {
        const char **k = apr_pcalloc(p, (c->jobe_keys->nelts + 1) * sizeof *k);
        memcpy(k, c->jobe_keys->elts, c->jobe_keys->nelts * sizeof *k);
        e->jobe_keys = k;
    }
}

/* ---- directives ------------------------------------------------------- */

/* Every interpreter the configuration names (plus the default): the
 * launcher compiles the bootstrap once for each. Rebuilt per reading. */
static apr_array_header_t *configured_interpreters;
/* ... and each PySandboxInterpreter's whole argv (const char *const *,
 * NULL-ended), the main server's own apart: what a Location may inherit,
 * for the preload check. */
static apr_array_header_t *configured_argvs;
static const char *const *main_server_argv;

const char *const *pysb_default_interpreter(void)
{
    return default_argv;
}

const char **pysb_configured_interpreters(apr_pool_t *p)
{
    if (!configured_interpreters)
        return NULL;
    const char **list = apr_pcalloc(p, (configured_interpreters->nelts + 1) * sizeof *list);
    memcpy(list, configured_interpreters->elts,
           configured_interpreters->nelts * sizeof *list);
    return list;
}

/* Every Jobe file cache directory named (made at start), and its size. */
static apr_array_header_t *jobe_cache_dirs, *jobe_cache_sizes;

const char **pysb_jobe_cache_dirs(apr_pool_t *p)
{
    const char **list = apr_pcalloc(p, ((jobe_cache_dirs ? jobe_cache_dirs->nelts : 0) + 1) *
                                           sizeof *list);
    if (jobe_cache_dirs)
        memcpy(list, jobe_cache_dirs->elts, jobe_cache_dirs->nelts * sizeof *list);
    return list;
}

/* Every module a PySandboxPreload names: the launcher starts fork servers
 * (root) only for preloads among them. Rebuilt per reading. */
static apr_array_header_t *configured_preloads;

const char **pysb_configured_preloads(apr_pool_t *p)
{
    int n = configured_preloads ? configured_preloads->nelts : 0;
    const char **list = apr_pcalloc(p, (n + 1) * sizeof *list);
    if (n)
        memcpy(list, configured_preloads->elts, n * sizeof *list);
    return list;
}

int pysb_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog, (void)ptemp;
    jobe_cache_dirs = apr_array_make(pconf, 2, sizeof(const char *));
    jobe_cache_sizes = apr_array_make(pconf, 2, sizeof(apr_uint64_t));
    configured_preloads = apr_array_make(pconf, 4, sizeof(const char *));
    configured_interpreters = apr_array_make(pconf, 4, sizeof(const char *));
    configured_argvs = apr_array_make(pconf, 4, sizeof(const char *const *));
    main_server_argv = NULL;
    APR_ARRAY_PUSH(configured_interpreters, const char *) = default_argv[0];
    return OK;
}

/* The interpreter's arguments must be options only, parsed as CPython's
 * command line does (letters clustered; -W and -X take the rest of the
 * word or the next one): a -c, a -m, a script or "-" would be run instead
 * of every request's program (the bootstrap's own -c comes after), and
 * -h/-V print and exit. The first offending word, or NULL. */
static const char *interpreter_option_refused(apr_pool_t *p, int argc, char *const argv[])
{
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (w[0] != '-' || !w[1] || !strcmp(w, "--"))
            return apr_psprintf(p, "%s: a script (only options may follow the path)", w);
        if (w[1] == '-') {
            /* the one long option, its value the next word (CPython 3.11
             * knows no "=" form: every run would end in its usage line) */
            if (strcmp(w, "--check-hash-based-pycs"))
                return apr_psprintf(p, "%s: not an option a run can have", w);
            if (++i == argc)
                return apr_psprintf(p, "%s: needs a value", w);
            if (strcmp(argv[i], "default") && strcmp(argv[i], "always") &&
                strcmp(argv[i], "never"))
                return apr_psprintf(p, "%s %s: default, always or never", w, argv[i]);
            continue;
        }
        for (const char *l = w + 1; *l; l++) {
            if (*l == 'c' || *l == 'm')
                return apr_psprintf(p, "%s: -%c would run instead of the program", w, *l);
            if (*l == 'W' || *l == 'X') {
                const char *v = l[1] ? l + 1 : (++i < argc ? argv[i] : NULL);
                if (!v)
                    return apr_psprintf(p, "%s: -%c needs a value", w, *l);
                /* -W action:message:category:module:lineno imports the
                 * module of a dotted category at start: code run before,
                 * and instead of, every request's program */
                const char *cat = *l == 'W' ? strchr(v, ':') : NULL;
                cat = cat ? strchr(cat + 1, ':') : NULL;
                if (cat) {
                    const char *end = strchr(cat + 1, ':');
                    size_t n = end ? (size_t)(end - cat - 1) : strlen(cat + 1);
                    if (memchr(cat + 1, '.', n))
                        return apr_psprintf(p, "%s%s%s: a -W category with a dot names a "
                                            "module, which the interpreter would import at "
                                            "start", w, l[1] ? "" : " ", l[1] ? "" : v);
                }
                break;
            }
            if (!strchr("bBdEiIOPqRsStuvx", *l))
                return apr_psprintf(p, "%s: -%c is not an option a run can have", w, *l);
        }
    }
    return NULL;
}

static const char *set_interpreter(cmd_parms *cmd, void *dv, int argc,
                                   char *const argv[])
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    pysb_dir_conf *c = dv;
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
    const char *bad = interpreter_option_refused(cmd->temp_pool, argc, argv);
    if (bad)
        return apr_psprintf(cmd->pool, "PySandboxInterpreter %s: only interpreter options may "
                            "follow the path (not -c, -m or a script): %s", argv[0], bad);
    c->interp = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (int i = 0; i < argc; i++)
        APR_ARRAY_PUSH(c->interp, const char *) = apr_pstrdup(cmd->pool, argv[i]);
    if (configured_interpreters)
        APR_ARRAY_PUSH(configured_interpreters, const char *) =
            APR_ARRAY_IDX(c->interp, 0, const char *);
    if (configured_argvs) {
        const char *const *whole = interp_argv(cmd->pool, c->interp);
        APR_ARRAY_PUSH(configured_argvs, const char *const *) = whole;
        if (!cmd->server->is_virtual && !cmd->path)
            main_server_argv = whole;
    }
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
            return apr_psprintf(cmd->pool, "%s %s: %s (%" APR_UINT64_T_FMT " to %"
                                APR_UINT64_T_FMT ")", cmd->cmd->name, arg, err,
                                (apr_uint64_t)d->min, (apr_uint64_t)d->max);
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
    pysb_dir_conf *c = dv;
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
    unsigned bit = 1u << (d - pysb_limit_table);
    c->limits_set |= bit;
    c->htaccess_limits = from_htaccess(cmd) ? c->htaccess_limits | bit
                                            : c->htaccess_limits & ~bit;
    pysb_limit_copy(&c->ht_def, &def, d);
    pysb_limit_copy(&c->ht_max, &max, d);
    return NULL;
}

static const char *set_limit1(cmd_parms *cmd, void *dv, const char *arg)
{
    return set_limit(cmd, dv, arg, NULL);
}

/* Whether a request-size cap was set by an .htaccess (clamped in the
 * merge), and its value as asked. */
static void mark_size(const cmd_parms *cmd, pysb_dir_conf *c, int which, apr_int64_t v)
{
    c->htaccess_sizes = from_htaccess(cmd) ? c->htaccess_sizes | (1u << which)
                                           : c->htaccess_sizes & ~(1u << which);
    c->ht_size[which] = v;
}

static const char *set_max_size(cmd_parms *cmd, void *dv, const char *arg)
{
    pysb_dir_conf *c = dv;
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
    mark_size(cmd, c, is_code ? PYSB_SIZE_CODE : PYSB_SIZE_STDIN, (apr_int64_t)v);
    return NULL;
}

static const char *set_max_files(cmd_parms *cmd, void *dv, const char *arg)
{
    pysb_dir_conf *c = dv;
    unsigned long long n;
    const char *err;
    if (pysb_parse_uint(arg, 0, PYSB_INPUTS_FILES, &n, &err) < 0)
        return apr_psprintf(cmd->pool, "%s %s: %s (0 to %d)", cmd->cmd->name, arg, err,
                            PYSB_INPUTS_FILES);
    c->max_files = (apr_int64_t)n;
    mark_size(cmd, c, PYSB_SIZE_FILES, (apr_int64_t)n);
    return NULL;
}

static const char *set_max_file_size(cmd_parms *cmd, void *dv, const char *arg)
{
    pysb_dir_conf *c = dv;
    apr_uint64_t v = 0;
    const char *err = parse_size_arg(cmd, arg, &v);
    if (err)
        return err;
    /* One FILE frame holds a file and its name. */
    apr_uint64_t hi = pysb_frame_max_len(PYSB_FRAME_FILE) - 1 - PYSB_FILE_NAME_MAX;
    if (v > hi)
        return apr_psprintf(cmd->pool, "%s: must be at most %lu bytes", cmd->cmd->name,
                            (unsigned long)hi);
    c->max_file_size = (apr_int64_t)v;
    mark_size(cmd, c, PYSB_SIZE_FILE, (apr_int64_t)v);
    return NULL;
}

/* An absolute, normalised path that exists (a directory when dir) onto
 * *list, made on first use. */
static const char *add_path(cmd_parms *cmd, apr_array_header_t **list, const char *arg,
                            int dir)
{
    struct stat st;
    const char *name = cmd->cmd->name;
    if (arg[0] != '/' || strstr(arg, "/../") || strstr(arg, "/./"))
        return apr_psprintf(cmd->pool, "%s %s: an absolute, normalised path is required",
                            name, arg);
    if (stat(arg, &st) != 0)
        return apr_psprintf(cmd->pool, "%s %s: %s", name, arg, strerror(errno));
    if (dir && !S_ISDIR(st.st_mode))
        return apr_psprintf(cmd->pool, "%s %s: not a directory", name, arg);
    if (pysb_root_refuses(arg))
        return apr_psprintf(cmd->pool, "%s %s: /, /proc, /dev and /run/pysandbox cannot be "
                            "read-only paths of a run", name, arg);
    if (!*list)
        *list = apr_array_make(cmd->pool, 4, sizeof(const char *));
    if ((*list)->nelts >= PYSB_WIRE_RO_PATHS_MAX)
        return apr_psprintf(cmd->pool, "%s: too many paths", name);
    APR_ARRAY_PUSH(*list, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *add_ro_path(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    return add_path(cmd, &((pysb_dir_conf *)dv)->ro_paths, arg, 0);
}

static const char *add_python_path(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    return add_path(cmd, &((pysb_dir_conf *)dv)->python_path, arg, 1);
}

static const char *set_site_packages(cmd_parms *cmd, void *dv, int on)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    ((pysb_dir_conf *)dv)->site_packages = on;
    return NULL;
}

static const char *set_start(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    int warm = !strcasecmp(arg, "warm");
    if (!warm && strcasecmp(arg, "cold"))
        return apr_psprintf(cmd->pool, "PySandboxStart %s: expected cold or warm", arg);
    ((pysb_dir_conf *)dv)->start = warm;
    return NULL;
}

/* How long configtest waits for a checked fork server's READY (README). */
#define PRELOAD_CHECK_MS 30000

/* The extension next to this module, or NULL: the preload check needs
 * root (what starts servers) and the extension; without either it is not
 * made (warm Locations then run cold, said at start). */
static const char *preload_check_ext(apr_pool_t *p)
{
    Dl_info info;
    if (geteuid() != 0 || !dladdr((void *)preload_check_ext, &info) || !info.dli_fname ||
        !strrchr(info.dli_fname, '/'))
        return NULL;
    const char *slash = strrchr(info.dli_fname, '/');
    const char *ext = apr_psprintf(p, "%.*s/_pysandbox.abi3.so",
                                   (int)(slash - info.dli_fname), info.dli_fname);
    return access(ext, R_OK) == 0 ? ext : NULL;
}

/* The last line of text[0..n) that starts with "refused: " (the server's
 * own reason, before the traceback of its exit), else its last non-empty
 * line, else NULL; in p. */
static const char *refusal_line(apr_pool_t *p, const char *text, size_t n)
{
    const char *refused = NULL, *last = NULL;
    size_t refused_len = 0, last_len = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && text[j] != '\n')
            j++;
        if (j > i) {
            last = text + i, last_len = j - i;
            if (j - i > 9 && !memcmp(text + i, "refused: ", 9))
                refused = text + i, refused_len = j - i;
        }
        i = j + 1;
    }
    if (refused)
        return apr_pstrndup(p, refused, refused_len);
    return last ? apr_pstrndup(p, last, last_len) : NULL;
}

/* Why a fork server of argv would refuse to serve with preload mod, or
 * NULL when it said READY. The check is the server's own (warm.h): one is
 * started with this preload alone, asked for READY and stopped; it runs
 * nothing else. The reason is its "refused: …" line (the Python side's,
 * or what its READY said), or that it did not answer within
 * PRELOAD_CHECK_MS, or how it ended. */
static const char *preload_refusal(apr_pool_t *p, const char *ext, const char *const *argv,
                                   const char *mod)
{
    int lp[2];
    if (pipe2(lp, O_CLOEXEC) < 0)
        return apr_psprintf(p, "the check could not run: pipe: %s", strerror(errno));
    const char *const pre[] = { mod, NULL };
    const pysb_fs_spec spec = { .argv = argv, .ext_path = ext, .preload = pre, .log_fd = lp[1] };
    pysb_fs_handle h;
    pysb_fs_ready ready;
    char err[512] = "";
    memset(&ready, 0, sizeof ready);
    int rc = pysb_fs_spawn(&spec, &h, err, sizeof err) < 0 ? -1
             : pysb_fs_wait_ready(&h, PRELOAD_CHECK_MS, &ready, err, sizeof err);
    close(lp[1]);
    if (h.pid > 0) {
        close(h.ctl);
        if (rc != 1)
            kill(h.pid, SIGKILL);
        waitpid(h.pid, NULL, 0);
    }
    /* What it wrote, read without waiting: a process the preload started
     * may still hold the pipe. */
    char out[16384];
    size_t n = 0;
    (void)fcntl(lp[0], F_SETFL, O_NONBLOCK);
    for (ssize_t k; n < sizeof out && (k = read(lp[0], out + n, sizeof out - n)) > 0;)
        n += (size_t)k;
    close(lp[0]);
    if (rc == 1)
        return NULL;
    if (rc == 0)
        return apr_psprintf(p, "timed out: the fork server was not ready within %d s "
                            "(importing %s took longer), killed", PRELOAD_CHECK_MS / 1000, mod);
    if (ready.kind == PYSB_FS_REFUSED)
        return apr_psprintf(p, "refused: %s", err);
    const char *line = h.pid > 0 ? refusal_line(p, out, n) : NULL;
    if (line && !strncmp(line, "refused: ", 9))
        return line;
    return line ? apr_psprintf(p, "%s (its last line: %s)", err, line) : apr_pstrdup(p, err);
}

static const char *argv_text(apr_pool_t *p, const char *const *argv)
{
    const char *t = argv[0];
    for (size_t i = 1; argv[i]; i++)
        t = apr_pstrcat(p, t, " ", argv[i], NULL);
    return t;
}

static void add_candidate(apr_array_header_t *cands, apr_pool_t *p, const char *const *argv)
{
    if (!argv)
        return;
    const char *t = argv_text(p, argv);
    for (int i = 0; i < cands->nelts; i++)
        if (!strcmp(argv_text(p, APR_ARRAY_IDX(cands, i, const char *const *)), t))
            return;
    APR_ARRAY_PUSH(cands, const char *const *) = argv;
}

/* The interpreters mod is checked with. The section's own, when set
 * before the directive; else what the Location may inherit, as far as
 * this reading knows: its virtual host's, the main server's, any other
 * configured so far (an enclosing Location's is among them), and the
 * default. A Location's interpreter is only known at request time (the
 * merge of every section that matches), so the check passes when one of
 * them can import mod; a run whose real one cannot goes cold, logged. */
static apr_array_header_t *preload_candidates(cmd_parms *cmd, const pysb_dir_conf *c)
{
    apr_pool_t *p = cmd->temp_pool;
    apr_array_header_t *cands = apr_array_make(p, 4, sizeof(const char *const *));
    if (c->interp) {
        add_candidate(cands, p, interp_argv(p, c->interp));
        return cands;
    }
    const pysb_dir_conf *srv = ap_get_module_config(cmd->server->lookup_defaults,
                                                    &pysandbox_module);
    add_candidate(cands, p, srv ? interp_argv(p, srv->interp) : NULL);
    add_candidate(cands, p, main_server_argv);
    for (int i = configured_argvs->nelts - 1; i >= 0; i--)
        add_candidate(cands, p, APR_ARRAY_IDX(configured_argvs, i, const char *const *));
    add_candidate(cands, p, default_argv);
    return cands;
}

static const char *add_preload(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    pysb_dir_conf *c = dv;
    int ok = arg[0] == '_' || ((arg[0] | 32) >= 'a' && (arg[0] | 32) <= 'z');
    for (const char *s = arg; ok && *s; s++)
        ok = *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
             ((*s | 32) >= 'a' && (*s | 32) <= 'z');
    if (!ok || strlen(arg) > 200)
        return apr_psprintf(cmd->pool, "PySandboxPreload %s: not a module name", arg);
    if (!c->preload)
        c->preload = apr_array_make(cmd->pool, 4, sizeof(const char *));
    if (c->preload->nelts >= PYSB_WIRE_PRELOAD_MAX)
        return "PySandboxPreload: too many modules";
    const char *ext = preload_check_ext(cmd->temp_pool);
    if (ext) {
        apr_array_header_t *cands = preload_candidates(cmd, c);
        const char *first = NULL, *tried = "";
        for (int i = 0; i < cands->nelts; i++) {
            const char *const *argv = APR_ARRAY_IDX(cands, i, const char *const *);
            const char *why = preload_refusal(cmd->temp_pool, ext, argv, arg);
            if (!why) {
                first = NULL;
                break;
            }
            if (!first)
                first = apr_psprintf(cmd->temp_pool, "%s (interpreter %s", why,
                                     argv_text(cmd->temp_pool, argv));
            else
                tried = apr_pstrcat(cmd->temp_pool, tried, i == 1 ? "; nor with " : ", ",
                                    argv_text(cmd->temp_pool, argv), NULL);
        }
        if (first)
            return apr_psprintf(cmd->pool, "PySandboxPreload %s: %s%s)", arg, first, tried);
    }
    APR_ARRAY_PUSH(c->preload, const char *) = apr_pstrdup(cmd->pool, arg);
    /* Only the configuration the parent reads: an .htaccess parsed per
     * request must not grow the list (its preloads are not configured, so
     * their runs go cold). */
    if (configured_preloads && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM)
        APR_ARRAY_PUSH(configured_preloads, const char *) = APR_ARRAY_IDX(
            c->preload, c->preload->nelts - 1, const char *);
    return NULL;
}

static const char *set_allow_get(cmd_parms *cmd, void *dv, int on)
{
    (void)cmd;
    ((pysb_dir_conf *)dv)->allow_get = on;
    return NULL;
}

static const char *set_unknown_fields(cmd_parms *cmd, void *dv, const char *arg)
{
    int ignore = !strcasecmp(arg, "ignore");
    if (!ignore && strcasecmp(arg, "reject"))
        return apr_psprintf(cmd->pool, "PySandboxUnknownFields %s: reject or ignore", arg);
    ((pysb_dir_conf *)dv)->ignore_unknown = ignore;
    return NULL;
}

static const char *set_default_format(cmd_parms *cmd, void *dv, const char *arg)
{
    int f = pysb_format_from_name(arg, strlen(arg));
    if (f < 0)
        return apr_psprintf(cmd->pool, "PySandboxDefaultFormat %s: one of text, json, ndjson, sse", arg);
    ((pysb_dir_conf *)dv)->default_format = f;
    return NULL;
}

/* PySandboxQueueTimeout seconds: how long a request waits for a slot. */
static const char *set_queue_timeout(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    double sec;
    const char *err;
    if (!strcmp(arg, "0")) {
        ((pysb_dir_conf *)dv)->queue_timeout_ms = 0;
        return NULL;
    }
    if (pysb_parse_duration(arg, &sec, &err) < 0)
        return apr_psprintf(cmd->pool, "PySandboxQueueTimeout %s: %s", arg, err);
    if (sec > PYSB_QUEUE_MS_MAX / 1000)
        return apr_psprintf(cmd->pool, "PySandboxQueueTimeout %s: at most %u seconds", arg,
                            PYSB_QUEUE_MS_MAX / 1000);
    ((pysb_dir_conf *)dv)->queue_timeout_ms = (apr_int64_t)(sec * 1000 + 0.5);
    return NULL;
}

static const char *set_per_client(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    unsigned long long n = 0;
    const char *err;
    if (strcasecmp(arg, "off") && pysb_parse_uint(arg, 1, PYSB_PER_CLIENT_MAX, &n, &err) < 0)
        return apr_psprintf(cmd->pool, "PySandboxMaxRunsPerClient %s: %s (off, or 1 to %d)", arg,
                            err, PYSB_PER_CLIENT_MAX);
    ((pysb_dir_conf *)dv)->per_client = (int)n;
    return NULL;
}

static const char *set_client_key(cmd_parms *cmd, void *dv, const char *kind, const char *name)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    pysb_dir_conf *c = dv;
    int header = !strcasecmp(kind, "header");
    if (header != (name != NULL) ||
        (!header && strcasecmp(kind, "ip") && strcasecmp(kind, "user")))
        return apr_psprintf(cmd->pool, "PySandboxClientKey %s%s%s: ip, user or header NAME", kind,
                            name ? " " : "", name ? name : "");
    c->client_key = header ? PYSB_KEY_HEADER : !strcasecmp(kind, "user") ? PYSB_KEY_USER
                                                                         : PYSB_KEY_IP;
    c->client_header = header ? apr_pstrdup(cmd->pool, name) : NULL;
    return NULL;
}

/* Server-scope directives: the main server's alone, outside any section.
 * There is one launcher per httpd, shared by every virtual host. */
static const char *server_scope(cmd_parms *cmd)
{
    if (cmd->server->is_virtual)
        return apr_psprintf(cmd->pool, "%s cannot be set in a <VirtualHost>: one launcher "
                            "serves every virtual host, set it in the main server "
                            "configuration", cmd->cmd->name);
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_socket(cmd_parms *cmd, void *dv, const char *arg)
{
    (void)dv;
    const char *err = server_scope(cmd);
    if (err)
        return err;
    pysb_srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    /* Relative to DefaultRuntimeDir, as mod_cgid's ScriptSock. */
    sc->socket_path = ap_runtime_dir_relative(cmd->pool, arg);
    if (!sc->socket_path || strlen(sc->socket_path) + 24 >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return apr_psprintf(cmd->pool, "PySandboxSocket %s: path too long for a Unix socket", arg);
    /* The launcher binds it at start and cannot make its directory: a
     * missing one would be a launcher that fails at every restart. */
    const char *slash = strrchr(sc->socket_path, '/');
    const char *dir = slash && slash > sc->socket_path
                          ? apr_pstrndup(cmd->pool, sc->socket_path,
                                         (apr_size_t)(slash - sc->socket_path))
                          : slash ? "/" : ".";
    struct stat st;
    if (stat(dir, &st) != 0)
        return apr_psprintf(cmd->pool, "PySandboxSocket %s: its directory %s: %s", arg, dir,
                            strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return apr_psprintf(cmd->pool, "PySandboxSocket %s: its directory %s is not a "
                            "directory", arg, dir);
    /* The launcher renames its new socket onto the path: a directory
     * there fails at every restart, a file there would be replaced. A
     * socket (one a launcher left) is taken over. */
    if (lstat(sc->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return S_ISDIR(st.st_mode)
                   ? apr_psprintf(cmd->pool, "PySandboxSocket %s: %s is a directory, not a socket",
                                  arg, sc->socket_path)
                   : apr_psprintf(cmd->pool, "PySandboxSocket %s: %s exists and is not a socket",
                                  arg, sc->socket_path);
    return NULL;
}

/* PySandboxJobeFileCache DIR SIZE: an absolute, normalised path whose
 * parent exists (the httpd parent makes DIR itself, 0700 for the User). */
static const char *set_jobe_cache(cmd_parms *cmd, void *dv, const char *dir, const char *size)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    pysb_dir_conf *c = dv;
    struct stat st;
    apr_uint64_t v = 0;
    const char *err = parse_size_arg(cmd, size, &v);
    if (err)
        return err;
    size_t n = strlen(dir);
    if (dir[0] != '/' || n < 2 || dir[n - 1] == '/' || strstr(dir, "/../") ||
        strstr(dir, "/./") || strstr(dir, "//") || (n >= 3 && !strcmp(dir + n - 3, "/..")))
        return apr_psprintf(cmd->pool, "PySandboxJobeFileCache %s: an absolute, normalised "
                            "path is required", dir);
    char *parent = apr_pstrndup(cmd->pool, dir, (apr_size_t)(strrchr(dir, '/') - dir));
    if (stat(parent[0] ? parent : "/", &st) != 0 || !S_ISDIR(st.st_mode))
        return apr_psprintf(cmd->pool, "PySandboxJobeFileCache %s: its parent directory %s "
                            "does not exist", dir, parent);
    char why[PATH_MAX + 160];
    if (pysb_jobe_cache_check(dir, why, sizeof why) < 0)
        return apr_psprintf(cmd->pool, "PySandboxJobeFileCache %s: %s", dir, why);
    if (v < PYSB_JOBE_CACHE_BLOCK)
        return apr_psprintf(cmd->pool, "PySandboxJobeFileCache %s: the size must be at least 4K "
                            "(a file costs 4K at least)", size);
    /* Eviction lists every file under the lock: at 4G of empty files
     * (a million) that is seconds, close to what a PUT waits for it. */
    if (v > ((apr_uint64_t)4 << 30))
        return apr_psprintf(cmd->pool, "PySandboxJobeFileCache %s: the size may be 4G at most",
                            size);
    /* One directory, one size: the smaller would evict for the larger. */
    for (int i = 0; i < jobe_cache_dirs->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(jobe_cache_dirs, i, const char *), dir) &&
            APR_ARRAY_IDX(jobe_cache_sizes, i, apr_uint64_t) != v)
            return apr_psprintf(cmd->pool, "PySandboxJobeFileCache %s: named elsewhere with "
                                "another size; one directory has one size", dir);
    c->jobe_cache = apr_pstrdup(cmd->pool, dir);
    c->jobe_cache_size = v;
    APR_ARRAY_PUSH(jobe_cache_dirs, const char *) = c->jobe_cache;
    APR_ARRAY_PUSH(jobe_cache_sizes, apr_uint64_t) = v;
    return NULL;
}

/* PySandboxJobeApiKey KEY…: the X-API-KEY values accepted here. */
static const char *add_jobe_key(cmd_parms *cmd, void *dv, const char *arg)
{
    if (from_htaccess(cmd))
        return not_in_htaccess(cmd);
    pysb_dir_conf *c = dv;
    if (!*arg || strlen(arg) > 200)
        return "PySandboxJobeApiKey: a key is 1 to 200 characters";
    for (const char *p = arg; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "PySandboxJobeApiKey: a key is printable ASCII without spaces";
    if (!c->jobe_keys)
        c->jobe_keys = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(c->jobe_keys, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_max_runs(cmd_parms *cmd, void *dv, const char *arg)
{
    (void)dv;
    const char *err = server_scope(cmd);
    unsigned long long n;
    if (err)
        return err;
    if (pysb_parse_uint(arg, 1, 100000, &n, &err) < 0)
        return apr_psprintf(cmd->pool, "PySandboxMaxRuns %s: %s (1 to 100000)", arg, err);
    pysb_srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    sc->max_runs = (int)n;
    return NULL;
}

static const char *set_queue_size(cmd_parms *cmd, void *dv, const char *arg)
{
    (void)dv;
    const char *err = server_scope(cmd);
    unsigned long long n;
    if (err)
        return err;
    if (pysb_parse_uint(arg, 0, 100000, &n, &err) < 0)
        return apr_psprintf(cmd->pool, "PySandboxQueueSize %s: %s (0 to 100000)", arg, err);
    pysb_srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    sc->queue_size = (int)n;
    return NULL;
}

static const char *set_user_range(cmd_parms *cmd, void *dv, const char *a1,
                                  const char *a2)
{
    (void)dv;
    const char *err = server_scope(cmd);
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
    pysb_srv_conf *sc = ap_get_module_config(cmd->server->module_config, &pysandbox_module);
    sc->range_set = 1;
    sc->uid_first = (apr_int64_t)first;
    sc->uid_last = (apr_int64_t)last;
    return NULL;
}

const command_rec pysb_cmds[] = {
    /* Not in .htaccess: the launcher runs only interpreters of the main
     * configuration, and a per-request parse would grow its list. */
    AP_INIT_TAKE_ARGV("PySandboxInterpreter", set_interpreter, NULL, RSRC_CONF | ACCESS_CONF,
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
    AP_INIT_TAKE1("PySandboxMaxOutputFiles", set_limit1, "output_files", OR_ALL,
                  "bytes of the files of out/ a run returns, all together"),
    AP_INIT_TAKE1("PySandboxScratch", set_limit1, "scratch", OR_ALL,
                  "size of each run's private scratch directory (0 = none)"),
    AP_INIT_TAKE1("PySandboxMaxCodeSize", set_max_size, (void *)0, OR_ALL,
                  "largest program accepted"),
    AP_INIT_TAKE1("PySandboxMaxStdinSize", set_max_size, (void *)1, OR_ALL,
                  "largest stdin accepted"),
    AP_INIT_TAKE1("PySandboxMaxFiles", set_max_files, NULL, OR_ALL,
                  "input files a request may send (0 = none)"),
    AP_INIT_TAKE1("PySandboxMaxFileSize", set_max_file_size, NULL, OR_ALL,
                  "largest input file accepted"),
    /* Not in .htaccess, these five: they make a fork server's key (a root
     * process each, 32 at most: an .htaccess author could fill them all,
     * attack-warm 3), and the paths are what runs may read of the host. */
    AP_INIT_ITERATE("PySandboxReadOnlyPath", add_ro_path, NULL, RSRC_CONF | ACCESS_CONF,
                    "extra paths a run may read"),
    AP_INIT_ITERATE("PySandboxPythonPath", add_python_path, NULL, RSRC_CONF | ACCESS_CONF,
                    "directories a run may read, first on its sys.path, in order"),
    AP_INIT_FLAG("PySandboxSitePackages", set_site_packages, NULL, RSRC_CONF | ACCESS_CONF,
                 "the interpreter's system site directories, read-only, on sys.path"),
    AP_INIT_TAKE1("PySandboxStart", set_start, NULL, RSRC_CONF | ACCESS_CONF,
                  "warm (forked from a fork server, the default) or cold (a fresh interpreter per run)"),
    AP_INIT_ITERATE("PySandboxPreload", add_preload, NULL, RSRC_CONF | ACCESS_CONF,
                    "modules a warm Location's fork server imports once"),
    AP_INIT_FLAG("PySandboxAllowGet", set_allow_get, NULL, OR_ALL,
                 "accept GET ?user_script=..."),
    AP_INIT_TAKE1("PySandboxUnknownFields", set_unknown_fields, NULL, OR_ALL,
                  "reject (400, the default) or ignore request fields that are no field"),
    AP_INIT_TAKE1("PySandboxDefaultFormat", set_default_format, NULL, OR_ALL,
                  "text, json, ndjson or sse"),
    /* Not in .htaccess, these three: they are the host's fairness policy
     * (an .htaccess could otherwise wait an hour, or name clients by a
     * header it chose; review-ops #2). */
    AP_INIT_TAKE1("PySandboxQueueTimeout", set_queue_timeout, NULL, RSRC_CONF | ACCESS_CONF,
                  "seconds a request waits for a run slot before 503 (default 10; 0: never)"),
    AP_INIT_TAKE1("PySandboxMaxRunsPerClient", set_per_client, NULL, RSRC_CONF | ACCESS_CONF,
                  "run slots, and as many queue places, one client may hold (default off)"),
    AP_INIT_TAKE12("PySandboxClientKey", set_client_key, NULL, RSRC_CONF | ACCESS_CONF,
                   "what names a client: ip (default), user, or header NAME"),
    AP_INIT_TAKE1("PySandboxQueueSize", set_queue_size, NULL, RSRC_CONF,
                  "requests that may wait for a run slot, server-wide (default 16 x MaxRuns)"),
    /* Not in .htaccess: the httpd parent makes the directory at start. */
    AP_INIT_TAKE2("PySandboxJobeFileCache", set_jobe_cache, NULL, RSRC_CONF | ACCESS_CONF,
                  "DIR SIZE: the Jobe API's file cache (PUT/HEAD files, file_list)"),
    AP_INIT_ITERATE("PySandboxJobeApiKey", add_jobe_key, NULL, RSRC_CONF | ACCESS_CONF,
                    "X-API-KEY values the Jobe API accepts (none: no key needed)"),
    AP_INIT_TAKE1("PySandboxSocket", set_socket, NULL, RSRC_CONF,
                  "the launcher's socket (default DefaultRuntimeDir/pysandbox.<pid>.sock)"),
    AP_INIT_TAKE1("PySandboxMaxRuns", set_max_runs, NULL, RSRC_CONF,
                  "concurrent runs, server-wide (default 2 x CPUs)"),
    AP_INIT_TAKE2("PySandboxUserRange", set_user_range, NULL, RSRC_CONF,
                  "first last uid given to runs (default 600000 600999)"),
    { NULL },
};

/* ---- the server's values ----------------------------------------------- */

const char *pysb_srv_socket_path(apr_pool_t *p, const pysb_srv_conf *sc)
{
    return sc->socket_path ? sc->socket_path
                           : ap_runtime_dir_relative(p, apr_psprintf(p, "pysandbox.%ld.sock",
                                                                    (long)getpid()));
}

int pysb_srv_max_runs(const pysb_srv_conf *sc)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return sc->max_runs ? sc->max_runs : (int)(cpus > 0 ? 2 * cpus : 2);
}

int pysb_srv_queue_size(const pysb_srv_conf *sc)
{
    return sc->queue_size != PYSB_UNSET ? sc->queue_size
                                        : PYSB_DEFAULT_QUEUE_PER_RUN * pysb_srv_max_runs(sc);
}

void pysb_srv_uid_range(const pysb_srv_conf *sc, uid_t *first, uid_t *last)
{
    *first = sc->range_set ? (uid_t)sc->uid_first : 600000;
    *last = sc->range_set ? (uid_t)sc->uid_last : 600999;
}
