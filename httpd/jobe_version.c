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

/* In the parent: interp's version printed by a run of it as uid:gid, in
 * buf. 0, or -1 with errno (ETIMEDOUT after VERSION_TIMEOUT_MS). */
static int ask_version(const char *interp, uid_t uid, gid_t gid, char *buf, size_t len)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        char *const argv[] = { (char *)interp, "-I", "-S", "-c", PYSB_JOBE_VERSION_CODE, NULL };
        char *const envp[] = { NULL };
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0 ||
            setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || chdir("/") < 0)
            _exit(127);
        execve(interp, argv, envp);
        _exit(127);
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
            e = n == 0 ? ETIMEDOUT : errno;
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
    if (!e && (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !pysb_jobe_version_ok(buf)))
        e = ENOEXEC;
    errno = e;
    return e ? -1 : 0;
}

void pysb_jobe_learn_versions(apr_pool_t *ptemp, server_rec *s)
{
    const char **interps = pysb_configured_interpreters(ptemp);
    pthread_mutex_lock(&version_lock);
    memset(versions, 0, sizeof versions);
    pthread_mutex_unlock(&version_lock);
    for (size_t i = 0; interps && interps[i]; i++) {
        char v[32];
        if (ask_version(interps[i], ap_unixd_config.user_id, ap_unixd_config.group_id, v,
                        sizeof v) == 0)
            pysb_jobe_remember_version(interps[i], v);
        else
            ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                         "PYSB: jobe: could not ask %s for its version at start; GET "
                         "languages will learn it by a run", interps[i]);
    }
}
