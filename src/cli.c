/* cli.c — pysandbox-run: run Python code (or, with --exec, one program)
 * under the same confinement the module uses, with safeexec's flags and
 * words.
 *
 * Contract: usage and input errors print one line and exit 2 before
 * anything runs; a run prints its report (safeexec words, or --json) to
 * stderr or --report-fd and exits 0 for OK, 1 for any other verdict. The
 * program's stdout/stderr are relayed live to ours. Must run as root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runlimits.h"
#include "netns.h"
#include "payload.h"
#include "render.h"
#include "result.h"
#include "supervise.h"
#include "utf8.h"

#define MAX_CODE (64u << 20)
#define MAX_RO   32

static const char usage_text[] =
    "usage: pysandbox-run [options] (-c CODE | FILE.py | - | --exec PROG [ARGS...])\n"
    "  --cpu S  --clock S  --mem KB  --output SIZE  --nproc N  --threads N\n"
    "  --fsize KB  --nfile N  --stack KB  --uid N  --gid N  --ro PATH\n"
    "  --interpreter PATH  --stdin-file F  --waive-landlock\n"
    "  --netns shared|per-run  --netns-path PATH\n"
    "  --json  --report-fd N  --help\n";

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pysandbox-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* Output kept for --json, and relayed live. */
struct sink {
    int json;
    char *buf[2];
    size_t len[2], cap[2];
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int relay(void *ctx, int stream, const char *buf, size_t len)
{
    struct sink *s = ctx;
    /* A closed stdout of ours is no reason to stop the run. */
    (void)write_all(stream == PYSB_STDOUT ? 1 : 2, buf, len);
    if (!s->json)
        return 0;
    if (s->len[stream] + len > s->cap[stream]) {
        size_t cap = s->cap[stream] ? s->cap[stream] : 4096;
        while (cap < s->len[stream] + len)
            cap *= 2;
        char *nb = realloc(s->buf[stream], cap);
        if (!nb)
            return -1;
        s->buf[stream] = nb;
        s->cap[stream] = cap;
    }
    memcpy(s->buf[stream] + s->len[stream], buf, len);
    s->len[stream] += len;
    return 0;
}

static char *read_code(int fd, const char *name, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        die("out of memory");
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_CODE)
                die("%s: code larger than %u MiB", name, MAX_CODE >> 20);
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                die("out of memory");
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("%s: %s", name, strerror(errno));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

static const char *need(int argc, char **argv, int *i, const char *flag)
{
    if (*i + 1 >= argc)
        die("%s needs a value", flag);
    return argv[++*i];
}

static double duration(const char *flag, const char *v)
{
    double d;
    const char *err;
    if (pysb_parse_duration(v, &d, &err) < 0)
        die("%s %s: %s", flag, v, err);
    return d;
}

static unsigned long long number(const char *flag, const char *v,
                                 unsigned long long min, unsigned long long max)
{
    unsigned long long n;
    const char *err;
    if (pysb_parse_uint(v, min, max, &n, &err) < 0)
        die("%s %s: %s", flag, v, err);
    return n;
}

/* safeexec's KB units, checked for overflow before scaling. */
static uint64_t kbytes(const char *flag, const char *v)
{
    return number(flag, v, 0, UINT64_MAX / 1024) * 1024;
}

int main(int argc, char **argv)
{
    pysb_limits lim;
    pysb_limits_default(&lim);
    uid_t uid = 65534;
    gid_t gid = 65534;
    const char *interp = "/usr/bin/python3";
    const char *code_arg = NULL, *file = NULL, *stdin_file = NULL;
    const char *ro[MAX_RO + 1] = { NULL };
    size_t n_ro = 0;
    int json = 0, report_fd = 2, waive = 0, uid_given = 0, gid_given = 0;
    /* Network namespace: the shared pinned one, falling back silently to
     * one per run unless shared was asked for explicitly. */
    enum { NETNS_AUTO, NETNS_SHARED, NETNS_PER_RUN } netns = NETNS_AUTO;
    const char *netns_path = PYSB_NETNS_DEFAULT_PATH;
    char **exec_argv = NULL;

    /* "--flag=value" becomes "--flag" "value", up to --exec, after which
     * everything belongs to the program. */
    char **args = calloc((size_t)argc * 2 + 1, sizeof *args);
    if (!args)
        die("out of memory");
    int n = 0;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!strcmp(argv[i], "--exec")) {
            while (i < argc)
                args[n++] = argv[i++];
            break;
        }
        if (!strncmp(argv[i], "--", 2) && eq) {
            *eq = '\0';
            args[n++] = argv[i];
            args[n++] = eq + 1;
        } else {
            args[n++] = argv[i];
        }
    }
    for (int i = 0; i < n; i++) {
        const char *a = args[i];
#define IS(name) (!strcmp(a, name))
#define VALUE need(n, args, &i, a)
        if (IS("--cpu")) lim.cpu_sec = duration(a, VALUE);
        else if (IS("--clock")) lim.wall_sec = duration(a, VALUE);
        else if (IS("--mem")) lim.memory_bytes = kbytes(a, VALUE);
        else if (IS("--fsize")) lim.fsize_bytes = kbytes(a, VALUE);
        else if (IS("--stack")) lim.stack_bytes = kbytes(a, VALUE);
        else if (IS("--output")) {
            const char *err, *val = VALUE;
            if (pysb_parse_size(val, &lim.output_bytes, &err) < 0)
                die("%s %s: %s", a, val, err);
        }
        else if (IS("--nproc")) lim.processes = (unsigned)number(a, VALUE, 1, PYSB_MAX_TASKS);
        else if (IS("--threads")) lim.threads = (unsigned)number(a, VALUE, 1, PYSB_MAX_TASKS);
        else if (IS("--nfile")) lim.nofile = (unsigned)number(a, VALUE, 1, PYSB_MAX_NOFILE);
        else if (IS("--uid")) uid = (uid_t)number(a, VALUE, 1, 0xfffffffeu), uid_given = 1;
        else if (IS("--gid")) gid = (gid_t)number(a, VALUE, 1, 0xfffffffeu), gid_given = 1;
        else if (IS("--report-fd")) report_fd = (int)number(a, VALUE, 1, 1 << 20);
        else if (IS("--interpreter")) interp = VALUE;
        else if (IS("--stdin-file")) stdin_file = VALUE;
        else if (IS("--ro")) {
            if (n_ro == MAX_RO)
                die("--ro: at most %d paths", MAX_RO);
            ro[n_ro++] = VALUE;
        }
        else if (IS("--json")) json = 1;
        else if (IS("--waive-landlock")) waive = 1;
        else if (IS("--netns")) {
            const char *val = VALUE;
            if (!strcmp(val, "shared")) netns = NETNS_SHARED;
            else if (!strcmp(val, "per-run")) netns = NETNS_PER_RUN;
            else die("--netns %s: expected shared or per-run", val);
        }
        else if (IS("--netns-path")) {
            netns_path = VALUE;
            if (netns_path[0] != '/')
                die("--netns-path %s: an absolute path is required", netns_path);
        }
        else if (IS("-h") || IS("--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        else if (IS("-c")) code_arg = VALUE;
        else if (IS("--exec")) {
            if (i + 1 >= n)
                die("--exec needs a program");
            exec_argv = args + i + 1;
            break;
        }
        else if (IS("-") || a[0] != '-') {
            if (file)
                die("only one program file may be given");
            file = a;
        }
        else die("unknown option %s (see --help)", a);
#undef IS
#undef VALUE
    }
    if (uid_given && !gid_given)
        gid = (gid_t)uid; /* one identity per run, as the module does */
    if (!!code_arg + !!file + !!exec_argv != 1)
        die("give exactly one of -c CODE, FILE.py, - or --exec PROG (see --help)");
    char err[256];
    if (pysb_limits_validate(&lim, err, sizeof err) < 0)
        die("%s", err);
    if (geteuid() != 0)
        die("must run as root (it changes uids and creates namespaces)");
    if (report_fd != 2 && fcntl(report_fd, F_GETFD) < 0)
        die("--report-fd %d: not an open descriptor", report_fd);

    const char *prog = exec_argv ? exec_argv[0] : interp;
    struct stat st;
    if (prog[0] != '/')
        die("%s: an absolute path is required", prog);
    if (stat(prog, &st) < 0)
        die("%s: %s", prog, strerror(errno));
    if (!S_ISREG(st.st_mode) || access(prog, X_OK) < 0)
        die("%s: not an executable file", prog);

    for (size_t i = 0; i < n_ro; i++) {
        if (ro[i][0] != '/')
            die("--ro %s: an absolute path is required", ro[i]);
        if (stat(ro[i], &st) < 0)
            die("--ro %s: %s", ro[i], strerror(errno));
    }

    char *code = NULL;
    size_t code_len = 0;
    if (code_arg) {
        code = strdup(code_arg);
        code_len = strlen(code_arg);
        if (!code)
            die("out of memory");
        /* Out of our command line (and so of the reaper's, a fork of us):
         * the code is not for ps to show. */
        memset((char *)code_arg, ' ', code_len);
    } else if (file && !strcmp(file, "-")) {
        code = read_code(0, "standard input", &code_len);
    } else if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("%s: %s", file, strerror(errno));
        code = read_code(fd, file, &code_len);
        close(fd);
    }
    if (code && !pysb_utf8_valid(code, code_len))
        die("%s: the code is not valid UTF-8", file ? file : "-c");

    int stdin_fd = -1;
    if (stdin_file) {
        stdin_fd = open(stdin_file, O_RDONLY | O_CLOEXEC);
        if (stdin_fd < 0)
            die("--stdin-file %s: %s", stdin_file, strerror(errno));
    } else if (!(file && !strcmp(file, "-"))) {
        stdin_fd = 0; /* the program reads what we are given */
    }

    /* Last, after every input check: entering changes our own network
     * namespace, which nothing above needs. */
    int flags = waive ? PYSB_WAIVE_LANDLOCK : 0;
    if (netns != NETNS_PER_RUN) {
        if (pysb_netns_enter_shared(netns_path, err, sizeof err) == 0)
            flags |= PYSB_SHARED_NETNS;
        else if (netns == NETNS_SHARED)
            die("--netns shared: %s", err);
    }

    const char *interp_argv[] = { interp, "-I", "-S", NULL };
    pysb_run_spec spec = {
        .argv = exec_argv ? (const char *const *)exec_argv : interp_argv,
        .code = code,
        .code_len = code_len,
        .stdin_fd = stdin_fd,
        .watch_fd = -1,
        .limits = lim,
        .uid = uid,
        .gid = gid,
        .ro_paths = ro,
        .flags = flags,
    };
    struct sink sink = { .json = json };
    pysb_result r;
    if (pysb_run(&spec, relay, &sink, &r) < 0 && strstr(r.error, ": not supported"))
        die("%s", r.error);

    FILE *rep = report_fd == 2 ? stderr : fdopen(report_fd, "w");
    if (!rep)
        die("--report-fd %d: %s", report_fd, strerror(errno));
    if (json) {
        char *j = pysb_result_to_json(&r, sink.buf[0] ? sink.buf[0] : "", sink.len[0],
                                   sink.buf[1] ? sink.buf[1] : "", sink.len[1]);
        if (!j)
            die("out of memory");
        fprintf(rep, "%s\n", j);
        free(j);
    } else {
        pysb_render_report(&r, rep);
        if (r.status == PYSB_INTERNAL_ERROR && r.error[0])
            fprintf(rep, "error: %s\n", r.error);
    }
    fflush(rep);
    free(code);
    free(args);
    free(sink.buf[0]);
    free(sink.buf[1]);
    return r.status == PYSB_OK ? 0 : 1;
}
