/* parent.c — the launcher's life in the httpd parent, and the stop notice
 * in each child.
 *
 * Contract: see parent.h. */
#include "httpd/parent.h"

#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"
#include "apr_strings.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "httpd/conf.h"
#include "httpd/workercount.h"
#include "src/launcher.h"
#include "src/wire.h"

APLOG_USE_MODULE(pysandbox);

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

/* ---- processes of ours that are no launcher of this generation --------- */

/* A launcher replaced by a graceful restart, or a supervisor whose launcher
 * died (the parent is their subreaper: see pysb_post_config). Each is
 * registered as an other child, so that the MPM's reaping knows it
 * (instead of logging AH00488 "long lost child came home!"). The list
 * lives in the process pool: a restart unloads and reloads this module, so
 * neither its statics nor a registration in a pool that outlives pconf
 * (whose callback would point into the old mapping) can carry it; each
 * generation registers every entry again in its pconf. */
#define MAX_RETIRED 1024
typedef struct {
    int n;
    struct { pid_t pid; int launcher; } v[MAX_RETIRED];
} retired_list;

static retired_list *retired;      /* in the process pool */
static apr_pool_t *generation;     /* this generation's pconf */

static void adopt_orphans(void);

static int retired_find(pid_t pid)
{
    for (int i = 0; retired && i < retired->n; i++)
        if (retired->v[i].pid == pid)
            return i;
    return -1;
}

static void retired_maintenance(int reason, void *data, apr_wait_t status)
{
    (void)status;
    apr_proc_t *proc = data;
    if (reason != APR_OC_REASON_DEATH && reason != APR_OC_REASON_LOST)
        return; /* still running, or pconf going: the next generation has it */
    int i = retired_find(proc->pid), launcher = 0;
    if (i >= 0) {
        launcher = retired->v[i].launcher;
        retired->v[i] = retired->v[--retired->n];
    }
    apr_proc_other_child_unregister(proc);
    if (launcher)
        adopt_orphans();
}

static void register_retired(pid_t pid)
{
    apr_proc_t *proc = apr_pcalloc(generation, sizeof *proc);
    proc->pid = pid;
    apr_proc_other_child_register(proc, retired_maintenance, proc, NULL, generation);
}

/* Note pid as ours; register it now when this generation runs (now = 0
 * while pconf is being cleared: the next post_config does it). */
static void retire(pid_t pid, int launcher, int now)
{
    if (!retired || retired_find(pid) >= 0)
        return;
    if (retired->n == MAX_RETIRED) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, log_server,
                     "PYSB: %d retired processes known already; %d will be reaped "
                     "as a stranger", MAX_RETIRED, (int)pid);
        return;
    }
    retired->v[retired->n].pid = pid;
    retired->v[retired->n++].launcher = launcher;
    if (now && generation)
        register_retired(pid);
}

/* The list of the process pool, made on the first generation. */
static void retired_attach(server_rec *s, apr_pool_t *pconf)
{
    static const char key[] = "pysandbox-retired";
    void *v = NULL;
    apr_pool_userdata_get(&v, key, s->process->pool);
    if (!v) {
        v = apr_pcalloc(s->process->pool, sizeof(retired_list));
        apr_pool_userdata_set(v, key, apr_pool_cleanup_null, s->process->pool);
    }
    retired = v;
    generation = pconf;
    apr_pool_cleanup_register(pconf, &generation, ap_pool_cleanup_set_null,
                              apr_pool_cleanup_null);
    for (int i = 0; i < retired->n; i++)
        register_retired(retired->v[i].pid);
}

/* The supervisors of a launcher that died are our children now (the
 * kernel reparents them before their launcher becomes a zombie, so they
 * are all there when its death is reaped): registered, they are reaped
 * quietly when their runs end. */
static void adopt_orphans(void)
{
    DIR *d = opendir("/proc");
    if (!d) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), log_server,
                     "PYSB: /proc: orphaned supervisors are reaped, but not known by name");
        return;
    }
    pid_t me = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end, path[64], buf[256];
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        /* "pid (comm) state ppid …"; comm may hold anything, so from the
         * last ')' */
        char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
        long ppid;
        if (!open_paren || !close_paren || close_paren < open_paren ||
            sscanf(close_paren + 1, " %*c %ld", &ppid) != 1 || ppid != me)
            continue;
        *close_paren = '\0';
        /* Supervisors, and fork servers (warm runs), which finish their
         * runs in flight after their launcher is gone. */
        if (!strcmp(open_paren + 1, "pysb-run") || !strcmp(open_paren + 1, "pysb-forkserver"))
            retire((pid_t)pid, 0, 1);
    }
    closedir(d);
}

/* The socket of this generation's launcher. */
static const char *launcher_socket;

const char *pysb_launcher_socket(void)
{
    return launcher_socket;
}

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
        adopt_orphans();
        /* Restart unless httpd itself is on its way down. */
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS &&
            mpm_state == AP_MPMQ_STOPPING)
            break;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ls->s,
                     "PYSB: launcher %d ended (wait status 0x%x), restarting",
                     (int)ls->proc.pid, (unsigned)status);
        ls->cfg.restarted = 1; /* counted as such on the status page */
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
        /* Still our child until it has gone: the next generation (if
         * any) registers it, to reap it quietly. */
        if (ls->running)
            retire(ls->proc.pid, 1, 0);
        ls->running = 0;
        break;
    default:
        break;
    }
}

/* Checks that need the whole configuration; they run under apache2 -t. */
int pysb_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf, (void)plog, (void)ptemp;
    pysb_srv_conf *sc = ap_get_module_config(s->module_config, &pysandbox_module);
    uid_t first, last;
    pysb_srv_uid_range(sc, &first, &last);
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
    if (span < (unsigned long)pysb_srv_max_runs(sc)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PYSB: PySandboxUserRange %u-%u holds %lu uids, fewer than PySandboxMaxRuns %d",
                     (unsigned)first, (unsigned)last, span, pysb_srv_max_runs(sc));
        return !OK;
    }
    return OK;
}

/* On pconf: when httpd finally exits (not on a restart, when the new
 * launcher has already renamed its socket over the old one, and keeps the
 * counters), remove the socket and the stats file. pconf's cleanups run
 * before mod_so unloads the module. */
static apr_status_t unlink_at_exit(void *data)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_EXITING)
        unlink((const char *)data);
    return APR_SUCCESS;
}

/* The fork servers' extension: _pysandbox.abi3.so next to this module (the
 * build tree, or where make install puts both); NULL when missing (warm
 * Locations then run cold, and the launcher says so once). */
static const char *extension_path(apr_pool_t *p, server_rec *s)
{
    Dl_info info;
    if (!dladdr((void *)extension_path, &info) || !info.dli_fname)
        return NULL;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return NULL;
    const char *path = apr_psprintf(p, "%.*s/_pysandbox.abi3.so",
                                    (int)(slash - info.dli_fname), info.dli_fname);
    if (access(path, R_OK) != 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "PYSB: no %s: PySandboxStart warm Locations run cold", path);
        return NULL;
    }
    return path;
}

int pysb_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    (void)plog, (void)ptemp;
    /* httpd reads its configuration twice at start-up; the first pass
     * only checks it. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    log_server = s;
    /* Supervisors outlive a launcher that is killed (and one replaced by a
     * graceful restart exits at once): as their subreaper the parent gets
     * and reaps them, where the host's init might never (a container's). */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                     "PYSB: PR_SET_CHILD_SUBREAPER; supervisors of a dead launcher "
                     "are left to init");
    retired_attach(s, pconf);
    pysb_workercount_attach(s);
    pysb_srv_conf *sc = ap_get_module_config(s->module_config, &pysandbox_module);
    launcher_state *ls = apr_pcalloc(pconf, sizeof *ls);
    ls->pool = pconf;
    ls->s = s;
    ls->cfg.socket_path = pysb_srv_socket_path(pconf, sc);
    ls->cfg.lease_dir = ap_runtime_dir_relative(pconf, "pysandbox-uids");
    ls->cfg.peer_uid = ap_unixd_config.user_id;
    ls->cfg.peer_gid = ap_unixd_config.group_id;
    ls->cfg.parent = getpid();
    ls->cfg.max_runs = (unsigned)pysb_srv_max_runs(sc);
    ls->cfg.queue_size = (unsigned)pysb_srv_queue_size(sc);
    /* Named after this parent, as the socket: a graceful restart keeps
     * its counters, a new httpd (the first generation) starts afresh. */
    ls->cfg.stats_path = ap_runtime_dir_relative(
        pconf, apr_psprintf(pconf, "pysandbox.%ld.stats", (long)getpid()));
    if (ap_state_query(AP_SQ_CONFIG_GEN) == 0)
        unlink(ls->cfg.stats_path);
    pysb_srv_uid_range(sc, &ls->cfg.uid_first, &ls->cfg.uid_last);
    ls->cfg.max_code = (uint32_t)pysb_frame_max_len(PYSB_FRAME_CODE);
    ls->cfg.max_stdin = 64u << 20;
    ls->cfg.log = launcher_log;
    ls->cfg.interpreters = pysb_configured_interpreters(pconf);
    ls->cfg.extension = extension_path(pconf, s);
    ls->cfg.preloads = pysb_configured_preloads(pconf);
    ls->cfg.prestart_argv = pysb_default_interpreter();
    /* The workers of every virtual host find the launcher here (set
     * before the children are forked, so they inherit it). */
    launcher_socket = ls->cfg.socket_path;

    apr_pool_cleanup_register(pconf, ls->cfg.socket_path, unlink_at_exit,
                              apr_pool_cleanup_null);
    apr_pool_cleanup_register(pconf, ls->cfg.stats_path, unlink_at_exit,
                              apr_pool_cleanup_null);
    current_launcher = ls;
    apr_pool_cleanup_register(pconf, &current_launcher, ap_pool_cleanup_set_null,
                              apr_pool_cleanup_null);
    apr_pool_cleanup_register(pconf, &launcher_socket, ap_pool_cleanup_set_null,
                              apr_pool_cleanup_null);
    if (start_launcher(ls) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    return OK;
}

/* Runs in the httpd parent about once a second: a launcher that could not
 * be restarted (its fork failed) is tried again, so a passing shortage of
 * memory or pids does not leave the service down for good. */
int pysb_monitor(apr_pool_t *p, server_rec *s)
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

int pysb_stop_fd(void)
{
    return stop_pipe[0];
}

void pysb_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                     "PYSB: pipe for stop notices; runs will not end early on stop");
        stop_pipe[0] = stop_pipe[1] = -1;
    }
}

void pysb_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    if (!graceful && stop_pipe[1] >= 0) {
        /* EAGAIN means it was written already: nothing to add. */
        ssize_t n = write(stop_pipe[1], "!", 1);
        (void)n;
    }
}
