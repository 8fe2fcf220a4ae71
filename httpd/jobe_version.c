/* jobe_version.c — the version of each configured interpreter, for the
 * Jobe API's GET languages, learnt by the httpd parent at start.
 *
 * Contract: see jobe_version.h. */
#include "httpd/jobe_version.h"

#include "http_log.h"
#include "apr_strings.h"
#include "unixd.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd/conf.h"
#include "src/clock.h"

APLOG_USE_MODULE(pysandbox);

#define MAX_VERSIONS 16
#define VERSION_TIMEOUT_MS 10000

typedef struct {
    char of[256];
    char version[32];
} known_version;

static pthread_mutex_t version_lock = PTHREAD_MUTEX_INITIALIZER;
static known_version versions[MAX_VERSIONS];

int pysb_jobe_version_ok(const char *v)
{
    return v[0] && strspn(v, "0123456789.") == strlen(v);
}

void pysb_jobe_remember_version(const char *interp, const char *v)
{
    pthread_mutex_lock(&version_lock);
    for (size_t i = 0; i < MAX_VERSIONS; i++) {
        if (!versions[i].of[0] || !strcmp(versions[i].of, interp)) {
            apr_cpystrn(versions[i].of, interp, sizeof versions[i].of);
            apr_cpystrn(versions[i].version, v, sizeof versions[i].version);
            break;
        }
    }
    pthread_mutex_unlock(&version_lock);
}

int pysb_jobe_recall_version(const char *interp, char *buf, size_t len)
{
    int known = 0;
    pthread_mutex_lock(&version_lock);
    for (size_t i = 0; i < MAX_VERSIONS && versions[i].of[0] && !known; i++)
        if (!strcmp(versions[i].of, interp)) {
            apr_cpystrn(buf, versions[i].version, len);
            known = 1;
        }
    pthread_mutex_unlock(&version_lock);
    return known;
}

/* The child's exit statuses before the interpreter runs. */
#define EXIT_SETUP 125
#define EXIT_EXEC  126

/* In the parent: interp's version printed by a run of it as uid:gid, in
 * buf. 0, or -1 with why set. */
static int ask_version(const char *interp, uid_t uid, gid_t gid, char *buf, size_t len,
                       char *why, size_t whylen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe2: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        char *const argv[] = { (char *)interp, "-I", "-S", "-c", PYSB_JOBE_VERSION_CODE, NULL };
        char *const envp[] = { NULL };
        int null = open("/dev/null", O_RDWR);
        /* Nothing of the parent's but the three: its listeners and logs
         * are not the interpreter's. */
        if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0 ||
            close_range(3, ~0u, 0) < 0 || setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
            setuid(uid) < 0 || chdir("/") < 0)
            _exit(EXIT_SETUP);
        execve(interp, argv, envp);
        _exit(EXIT_EXEC);
    }
    close(p[1]);
    size_t got = 0;
    int e = 0;
    double until = pysb_monotonic() + VERSION_TIMEOUT_MS / 1000.0;
    for (;;) {
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        int left = (int)((until - pysb_monotonic()) * 1000);
        int n = left > 0 ? poll(&pf, 1, left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = 1;
            if (n == 0)
                snprintf(why, whylen, "no answer within %d s", VERSION_TIMEOUT_MS / 1000);
            else
                snprintf(why, whylen, "poll: %s", strerror(errno));
            break;
        }
        ssize_t r = read(p[0], buf + got, len - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (got += (size_t)r) >= len - 1)
            break;
    }
    close(p[0]);
    if (e)
        kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[got] = '\0';
    if (got && buf[got - 1] == '\n')
        buf[got - 1] = '\0';
    if (e)
        return -1;
    if (WIFSIGNALED(st))
        snprintf(why, whylen, "it died of signal %d", WTERMSIG(st));
    else if (WEXITSTATUS(st) == EXIT_SETUP)
        snprintf(why, whylen, "the child could not become the User");
    else if (WEXITSTATUS(st) == EXIT_EXEC)
        snprintf(why, whylen, "the User cannot execute it");
    else if (WEXITSTATUS(st) != 0)
        snprintf(why, whylen, "it exited %d", WEXITSTATUS(st));
    else if (!pysb_jobe_version_ok(buf))
        snprintf(why, whylen, "it printed no version");
    else
        return 0;
    return -1;
}

void pysb_jobe_learn_versions(apr_pool_t *ptemp, server_rec *s)
{
    const char **interps = pysb_configured_interpreters(ptemp);
    pthread_mutex_lock(&version_lock);
    memset(versions, 0, sizeof versions);
    pthread_mutex_unlock(&version_lock);
    for (size_t i = 0; interps && interps[i]; i++) {
        char v[32], why[128];
        if (ask_version(interps[i], ap_unixd_config.user_id, ap_unixd_config.group_id, v,
                        sizeof v, why, sizeof why) == 0)
            pysb_jobe_remember_version(interps[i], v);
        else
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "PYSB: jobe: could not ask %s for its version at start (%s); GET "
                         "languages will learn it by a run", interps[i], why);
    }
}
