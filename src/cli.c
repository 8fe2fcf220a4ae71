/* cli.c — pysandbox-run: run Python code (or, with --exec, one program)
 * under the same confinement the module uses, with safeexec's flags and
 * words.
 *
 * Contract: usage and input errors print one line and exit 2 before
 * anything runs; a run prints its report (safeexec words, or with --json
 * the JSON result object) to stderr, --report-fd N or where --json-to
 * says, and exits 0 for OK, 1 for any other verdict. The program's stdout
 * and stderr are relayed live to ours, except with --json-to stdout: then
 * our stdout carries the JSON object alone (the output is inside it). Must
 * run as root.
 *
 * --warm runs the code the way PySandboxStart warm does: a private fork
 * server (warm.h) of the interpreter, with the --preload modules imported,
 * is started for this run and the run is forked from it, every layer
 * applied after the fork; a server that cannot start is one line and exit
 * 2, and a warm run that cannot start is internal_error (never a silent
 * cold run: the flag is for tests and measurements). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runlimits.h"
#include "bootstrap.h"
#include "netns.h"
#include "render.h"
#include "result.h"
#include "root.h"
#include "scratch.h"
#include "supervise.h"
#include "utf8.h"
#include "warm.h"

#define MAX_CODE (64u << 20)
#define MAX_RO   32
#define MAX_FILES 64
#define MAX_ARGS  256
#define MAX_LIST 64    /* preloads; interpreter flags */

/* Where the fork server's extension is looked for when --extension is not
 * given: next to this binary (the build tree), then where make install
 * puts it, next to the module (the Makefile passes apxs's LIBEXECDIR). */
#ifndef PYSB_EXTENSION_PATH
#define PYSB_EXTENSION_PATH "/usr/lib/apache2/modules/_pysandbox.abi3.so"
#endif

static const char usage_text[] =
    "usage: pysandbox-run [options] (-c CODE | FILE.py | - | --exec PROG [ARGS...])\n"
    "  --cpu S  --clock S  --mem KB  --output SIZE  --scratch SIZE  --nproc N  --threads N\n"
    "  --fsize KB  --nfile N  --stack KB  --uid N  --gid N  --ro PATH\n"
    "  --interpreter PATH  --python-flags \"-I -S\"  --stdin-file F  --file NAME=PATH\n"
    "  --arg A  --python-path DIR  --site-packages  --waive-landlock\n"
    "  --warm  --preload \"MODULE ...\"  --extension PATH  --repeat N\n"
    "  --netns shared|per-run  --netns-path PATH\n"
    "  --json  --json-to stdout|stderr|fd:N  --report-fd N  --help\n";

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

/* The program's output: relayed live (unless quiet) and, for --json, kept
 * by the json renderer, which writes the report into `report` at the end. */
struct sink {
    int quiet;
    pysb_render *json;          /* NULL without --json */
    pysb_render *text;          /* the text report (files, then safeexec's) */
    FILE *report;
};

static int report_write(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    return s->report && fwrite(p, 1, n, s->report) == n ? 0 : -1;
}

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
    if (!s->quiet)
        (void)write_all(stream == PYSB_STDOUT ? 1 : 2, buf, len);
    return s->json ? pysb_render_output(s->json, stream, buf, len) : 0;
}

/* A file the run left in out/: into the report. */
static int file_out(void *ctx, const pysb_out_file *f)
{
    struct sink *s = ctx;
    return pysb_render_file(s->json ? s->json : s->text, f);
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

/* "64K", "16M": our units, not safeexec's. */
static uint64_t size(const char *flag, const char *v)
{
    uint64_t n;
    const char *err;
    if (pysb_parse_size(v, &n, &err) < 0)
        die("%s %s: %s", flag, v, err);
    return n;
}

/* safeexec's KB units, checked for overflow before scaling. */
static uint64_t kbytes(const char *flag, const char *v)
{
    return number(flag, v, 0, UINT64_MAX / 1024) * 1024;
}

/* ---- the steps of main ------------------------------------------------- */

/* Network namespace: the shared pinned one, falling back silently to one
 * per run unless shared was asked for explicitly. */
enum netns_mode { NETNS_AUTO, NETNS_SHARED, NETNS_PER_RUN };

struct opts {
    pysb_limits lim;
    uid_t uid;
    gid_t gid;
    int uid_given, gid_given;
    const char *interp;
    const char *code_arg, *file, *stdin_file;
    const char *ro[MAX_RO + 1];
    size_t n_ro;
    const char *file_specs[MAX_FILES];  /* NAME=PATH of each --file */
    size_t n_files;
    const char *args_v[MAX_ARGS + 1];   /* --arg, in order */
    size_t n_args;
    const char *pypath[MAX_RO + 1];     /* --python-path, in order */
    size_t n_pypath;
    int site;                           /* --site-packages */
    int warm;                   /* --warm: forked from a fork server */
    const char *preload[MAX_LIST + 1];
    size_t n_preload;
    const char *flags[MAX_LIST + 1];  /* the interpreter's (-I -S) */
    size_t n_flags;
    const char *extension;
    unsigned repeat;            /* --repeat N: the same run N times */
    int json, report_fd, waive;
    int json_stdout;            /* --json-to stdout: the JSON alone there */
    const char *report_flag;    /* how report_fd was chosen, for messages */
    enum netns_mode netns;
    const char *netns_path;
    char **exec_argv;
    char **args;                /* argv split at '=' (freed at the end) */
};

/* "--flag=value" becomes "--flag" "value", up to --exec, after which
 * everything belongs to the program. */
static char **split_args(int argc, char **argv, int *n)
{
    char **args = calloc((size_t)argc * 2 + 1, sizeof *args);
    if (!args)
        die("out of memory");
    *n = 0;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!strcmp(argv[i], "--exec")) {
            while (i < argc)
                args[(*n)++] = argv[i++];
            break;
        }
        if (!strncmp(argv[i], "--", 2) && eq) {
            *eq = '\0';
            args[(*n)++] = argv[i];
            args[(*n)++] = eq + 1;
        } else {
            args[(*n)++] = argv[i];
        }
    }
    return args;
}

/* --json-to stdout|stderr|fd:N: the JSON report, and where it goes. */
static void json_to(struct opts *o, const char *v)
{
    o->json = 1;
    o->report_flag = "--json-to";
    o->json_stdout = !strcmp(v, "stdout");
    if (o->json_stdout)
        o->report_fd = 1;
    else if (!strcmp(v, "stderr"))
        o->report_fd = 2;
    else if (!strncmp(v, "fd:", 3))
        o->report_fd = (int)number("--json-to fd:", v + 3, 1, 1 << 20);
    else
        die("--json-to %s: expected stdout, stderr or fd:N", v);
}

/* Words of v (split at blanks and commas, written into v) appended to
 * list. */
static void words(const char *flag, char *v, const char **list, size_t *n)
{
    for (char *save = NULL, *w = strtok_r(v, " \t,", &save); w;
         w = strtok_r(NULL, " \t,", &save)) {
        if (*n == MAX_LIST)
            die("%s: at most %d", flag, MAX_LIST);
        list[(*n)++] = w;
    }
}

/* One option at args[*i] (taking its value too). Returns 1 at --exec or
 * --help (nothing more to parse), else 0. */
static int parse_option(struct opts *o, int n, char **args, int *i)
{
    const char *a = args[*i];
    pysb_limits *lim = &o->lim;
#define IS(name) (!strcmp(a, name))
#define VALUE need(n, args, i, a)
    if (IS("--cpu")) lim->cpu_sec = duration(a, VALUE);
    else if (IS("--clock")) lim->wall_sec = duration(a, VALUE);
    else if (IS("--mem")) lim->memory_bytes = kbytes(a, VALUE);
    else if (IS("--fsize")) lim->fsize_bytes = kbytes(a, VALUE);
    else if (IS("--stack")) lim->stack_bytes = kbytes(a, VALUE);
    else if (IS("--output")) lim->output_bytes = size(a, VALUE);
    else if (IS("--scratch")) lim->scratch_bytes = size(a, VALUE);
    else if (IS("--nproc")) lim->processes = (unsigned)number(a, VALUE, 1, PYSB_MAX_TASKS);
    else if (IS("--threads")) lim->threads = (unsigned)number(a, VALUE, 1, PYSB_MAX_TASKS);
    else if (IS("--nfile")) lim->nofile = (unsigned)number(a, VALUE, 1, PYSB_MAX_NOFILE);
    else if (IS("--uid")) o->uid = (uid_t)number(a, VALUE, 1, 0xfffffffeu), o->uid_given = 1;
    else if (IS("--gid")) o->gid = (gid_t)number(a, VALUE, 1, 0xfffffffeu), o->gid_given = 1;
    else if (IS("--report-fd")) {
        o->report_fd = (int)number(a, VALUE, 1, 1 << 20);
        o->report_flag = "--report-fd";
    }
    else if (IS("--json-to")) json_to(o, VALUE);
    else if (IS("--interpreter")) o->interp = VALUE;
    else if (IS("--stdin-file")) o->stdin_file = VALUE;
    else if (IS("--ro")) {
        if (o->n_ro == MAX_RO)
            die("--ro: at most %d paths", MAX_RO);
        o->ro[o->n_ro++] = VALUE;
    }
    else if (IS("--file")) {
        if (o->n_files == MAX_FILES)
            die("--file: at most %d files", MAX_FILES);
        o->file_specs[o->n_files++] = VALUE;
    }
    else if (IS("--arg")) {
        if (o->n_args == MAX_ARGS)
            die("--arg: at most %d arguments", MAX_ARGS);
        const char *arg = VALUE;
        /* sys.argv holds str: bytes that are not UTF-8 would end the run in
         * the bootstrap, not in the program */
        if (!pysb_utf8_valid(arg, strlen(arg)))
            die("--arg: not UTF-8");
        o->args_v[o->n_args++] = arg;
    }
    else if (IS("--python-path")) {
        if (o->n_pypath == MAX_RO)
            die("--python-path: at most %d directories", MAX_RO);
        o->pypath[o->n_pypath++] = VALUE;
    }
    else if (IS("--site-packages")) o->site = 1;
    else if (IS("--json")) o->json = 1;
    else if (IS("--warm")) o->warm = 1;
    else if (IS("--preload")) words(a, (char *)VALUE, o->preload, &o->n_preload);
    else if (IS("--python-flags")) {
        o->n_flags = 0;
        words(a, (char *)VALUE, o->flags, &o->n_flags);
        for (size_t k = 0; k < o->n_flags; k++)
            if (o->flags[k][0] != '-' || !strcmp(o->flags[k], "-c") || !strcmp(o->flags[k], "-m"))
                die("--python-flags %s: only interpreter options (not -c, -m or a file)",
                    o->flags[k]);
    }
    else if (IS("--extension")) o->extension = VALUE;
    else if (IS("--repeat")) o->repeat = (unsigned)number(a, VALUE, 1, 100000);
    else if (IS("--waive-landlock")) o->waive = 1;
    else if (IS("--netns")) {
        const char *val = VALUE;
        if (!strcmp(val, "shared")) o->netns = NETNS_SHARED;
        else if (!strcmp(val, "per-run")) o->netns = NETNS_PER_RUN;
        else die("--netns %s: expected shared or per-run", val);
    }
    else if (IS("--netns-path")) {
        o->netns_path = VALUE;
        if (o->netns_path[0] != '/')
            die("--netns-path %s: an absolute path is required", o->netns_path);
    }
    else if (IS("-h") || IS("--help")) {
        fputs(usage_text, stdout);
        exit(0);
    }
    else if (IS("-c")) o->code_arg = VALUE;
    else if (IS("--exec")) {
        if (*i + 1 >= n)
            die("--exec needs a program");
        o->exec_argv = args + *i + 1;
        return 1;
    }
    else if (IS("-") || a[0] != '-') {
        if (o->file)
            die("only one program file may be given");
        o->file = a;
    }
    else die("unknown option %s (see --help)", a);
#undef IS
#undef VALUE
    return 0;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    pysb_limits_default(&o->lim);
    o->uid = 65534;
    o->gid = 65534;
    o->interp = "/usr/bin/python3";
    o->report_fd = 2;
    o->report_flag = "--report-fd";
    o->netns = NETNS_AUTO;
    o->netns_path = PYSB_NETNS_DEFAULT_PATH;
    o->flags[o->n_flags++] = "-I";
    o->flags[o->n_flags++] = "-S";
    int n;
    o->args = split_args(argc, argv, &n);
    for (int i = 0; i < n; i++)
        if (parse_option(o, n, o->args, &i))
            break;
}

/* Everything checked before anything runs: exit 2 with one line if not. */
static void check_opts(struct opts *o)
{
    char err[256];
    struct stat st;
    if (o->uid_given && !o->gid_given)
        o->gid = (gid_t)o->uid; /* one identity per run, as the module does */
    if (!!o->code_arg + !!o->file + !!o->exec_argv != 1)
        die("give exactly one of -c CODE, FILE.py, - or --exec PROG (see --help)");
    if (pysb_limits_validate(&o->lim, err, sizeof err) < 0)
        die("%s", err);
    if (o->warm && o->exec_argv)
        die("--warm runs Python code: not with --exec");
    if (o->n_preload && !o->warm)
        die("--preload needs --warm");
    if (geteuid() != 0)
        die("must run as root (it changes uids and creates namespaces)");
    if (o->report_fd != 2 && fcntl(o->report_fd, F_GETFD) < 0)
        die("%s %s%d: not an open descriptor", o->report_flag,
            !strcmp(o->report_flag, "--json-to") ? "fd:" : "", o->report_fd);

    const char *prog = o->exec_argv ? o->exec_argv[0] : o->interp;
    if (prog[0] != '/')
        die("%s: an absolute path is required", prog);
    if (stat(prog, &st) < 0)
        die("%s: %s", prog, strerror(errno));
    if (!S_ISREG(st.st_mode) || access(prog, X_OK) < 0)
        die("%s: not an executable file", prog);
    for (size_t i = 0; i < o->n_pypath; i++) {
        if (o->pypath[i][0] != '/')
            die("--python-path %s: an absolute path is required", o->pypath[i]);
        if (stat(o->pypath[i], &st) < 0 || !S_ISDIR(st.st_mode))
            die("--python-path %s: %s", o->pypath[i], errno ? strerror(errno) : "not a directory");
    }
    for (size_t i = 0; i < o->n_ro; i++) {
        if (o->ro[i][0] != '/')
            die("--ro %s: an absolute path is required", o->ro[i]);
        if (stat(o->ro[i], &st) < 0)
            die("--ro %s: %s", o->ro[i], strerror(errno));
        if (pysb_root_refuses(o->ro[i]))
            die("--ro %s: /, /proc, /dev and /run/pysandbox cannot be read-only paths of a run",
                o->ro[i]);
    }
}

/* The program: -c, a file, or our stdin; must be UTF-8. */
static char *load_code(const struct opts *o, size_t *len)
{
    char *code = NULL;
    *len = 0;
    if (o->code_arg) {
        code = strdup(o->code_arg);
        *len = strlen(o->code_arg);
        if (!code)
            die("out of memory");
        /* Out of our command line (and so of the reaper's, a fork of us):
         * the code is not for ps to show. */
        memset((char *)o->code_arg, ' ', *len);
    } else if (o->file && !strcmp(o->file, "-")) {
        code = read_code(0, "standard input", len);
    } else if (o->file) {
        int fd = open(o->file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("%s: %s", o->file, strerror(errno));
        code = read_code(fd, o->file, len);
        close(fd);
    }
    if (code && !pysb_utf8_valid(code, *len))
        die("%s: the code is not valid UTF-8", o->file ? o->file : "-c");
    return code;
}

/* Each --file NAME=PATH read whole; NAME checked as the module checks it. */
static pysb_in_file *load_files(const struct opts *o)
{
    pysb_in_file *f = calloc(o->n_files + 1, sizeof *f);
    if (!f)
        die("out of memory");
    for (size_t i = 0; i < o->n_files; i++) {
        const char *eq = strchr(o->file_specs[i], '=');
        if (!eq)
            die("--file %s: expected NAME=PATH", o->file_specs[i]);
        size_t nlen = (size_t)(eq - o->file_specs[i]);
        const char *why = pysb_file_name_check(o->file_specs[i], nlen);
        if (why)
            die("--file %.*s: %s", (int)nlen, o->file_specs[i], why);
        if (pysb_in_files_have(f, i, o->file_specs[i], nlen))
            die("--file %.*s: given twice", (int)nlen, o->file_specs[i]);
        char *name = strndup(o->file_specs[i], nlen);
        int fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
        if (!name || fd < 0)
            die("--file %s: %s", eq + 1, name ? strerror(errno) : "out of memory");
        f[i].name = name;
        f[i].data = read_code(fd, eq + 1, &f[i].len);
        close(fd);
    }
    return f;
}

/* The program's stdin: --stdin-file, else ours (none when the code came
 * from ours). */
static int open_stdin(const struct opts *o)
{
    if (o->stdin_file) {
        int fd = open(o->stdin_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("--stdin-file %s: %s", o->stdin_file, strerror(errno));
        return fd;
    }
    return o->file && !strcmp(o->file, "-") ? -1 : 0;
}

/* Last, after every input check: entering changes our own network
 * namespace, which nothing above needs. Returns the run's flags. */
static int enter_netns(const struct opts *o)
{
    char err[256];
    int flags = o->waive ? PYSB_WAIVE_LANDLOCK : 0;
    if (o->netns != NETNS_PER_RUN) {
        if (pysb_netns_enter_shared(o->netns_path, err, sizeof err) == 0)
            flags |= PYSB_SHARED_NETNS;
        else if (o->netns == NETNS_SHARED)
            die("--netns shared: %s", err);
    }
    return flags;
}

/* --warm: this run's own fork server. */
struct warm_cli {
    pysb_fs_handle h;
    pysb_warm_target t;
    const char *ro[3 * MAX_RO + 1];   /* the server's read-only paths */
};

/* The last line the server wrote before it gave up (its log pipe). */
static void last_log_line(int fd, char *line, size_t len)
{
    char buf[8192];
    size_t got = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    while (got < sizeof buf - 1 && poll(&p, 1, 2000) > 0) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        got--;
    buf[got] = '\0';
    char *nl = strrchr(buf, '\n');
    if (snprintf(line, len, "%s", nl ? nl + 1 : buf) >= (int)len)
        strcpy(line + len - 4, "...");
}

/* The extension: --extension, else next to this binary, else installed. */
static void find_extension(const struct opts *o, char *path, size_t len)
{
    if (o->extension) {
        snprintf(path, len, "%s", o->extension);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(path, len, "%s/_pysandbox.abi3.so", self) < (int)len &&
                access(path, R_OK) == 0)
                return;
        }
    }
    snprintf(path, len, "%s", PYSB_EXTENSION_PATH);
}

/* Starts the server (in our network namespace, which its runs share) and
 * waits for READY. */
static void start_warm(const struct opts *o, const char *const *interp_argv,
                       struct warm_cli *w)
{
    char err[256], ext[PATH_MAX], line[512];
    find_extension(o, ext, sizeof ext);
    int lp[2];
    if (pipe2(lp, O_CLOEXEC) < 0)
        die("--warm: pipe: %s", strerror(errno));
    const pysb_fs_spec fs = {
        .argv = interp_argv, .ext_path = ext, .preload = o->preload, .ro_paths = w->ro,
        .waive_landlock = o->waive, .log_fd = lp[1],
    };
    if (pysb_fs_spawn(&fs, &w->h, err, sizeof err) < 0)
        die("--warm: %s", err);
    close(lp[1]);
    pysb_fs_ready ready;
    int rc = pysb_fs_wait_ready(&w->h, 60000, &ready, err, sizeof err);
    if (rc != 1) {
        kill(w->h.pid, SIGKILL);
        last_log_line(lp[0], line, sizeof line);
        waitpid(w->h.pid, NULL, 0);
        die("--warm: the fork server did not start: %s%s%s", rc == 0 ? "no READY in 60 s" : err,
            line[0] ? ": " : "", line);
    }
    /* Nothing reads its log from here on: a line it writes later fails
     * (EPIPE), harmlessly. */
    close(lp[0]);
    w->t = (pysb_warm_target){
        .ctl = w->h.ctl,
        .preload_bytes = o->n_preload && ready.vmsize > ready.vmsize_base
                             ? ready.vmsize - ready.vmsize_base : 0,
    };
}

/* After each run: a run that went cold says so (one line), and a server
 * that died is started again for the next one. */
static void keep_warm(const struct opts *o, const char *const *interp_argv,
                      const pysb_result *r, struct warm_cli *w)
{
    int st;
    pid_t gone = waitpid(w->h.pid, &st, WNOHANG);
    if (!r->warm || gone == w->h.pid)
        fprintf(stderr, "pysandbox-run: %s%s\n", r->warm ? "" : "the run went cold: ",
                gone == w->h.pid ? "the fork server died; starting a new one"
                                 : "the fork server did not take it");
    if (gone != w->h.pid)
        return;
    close(w->h.ctl);
    w->h.pid = -1;
    start_warm(o, interp_argv, w);
}

/* The control socket's end stops the server once the run is gone; it is
 * waited for (2 s, then killed) so that nothing is left behind. */
static void stop_warm(struct warm_cli *w)
{
    if (w->h.pid < 0)
        return;
    close(w->h.ctl);
    for (int i = 0; i < 200; i++) {
        if (waitpid(w->h.pid, NULL, WNOHANG) == w->h.pid)
            return;
        usleep(10000);
    }
    kill(w->h.pid, SIGKILL);
    waitpid(w->h.pid, NULL, 0);
}

/* The report: safeexec's words, or the JSON result object. */
static void report(const struct opts *o, const pysb_result *r, struct sink *sink)
{
    static FILE *opened;
    if (!opened && o->report_fd > 2)
        opened = fdopen(o->report_fd, "w");
    FILE *rep = o->report_fd == 2 ? stderr : o->report_fd == 1 ? stdout : opened;
    if (!rep)
        die("%s %d: %s", o->report_flag, o->report_fd, strerror(errno));
    if (sink->json) {
        sink->report = rep;
        /* A report nobody reads (a closed pipe) is not worth exit 2. */
        if (pysb_render_result(sink->json, r) < 0 && !ferror(rep))
            die("out of memory");
    } else {
        sink->report = rep;
        /* an internal error's reason included, as over HTTP */
        if (pysb_render_result(sink->text, r) < 0 && !ferror(rep))
            die("out of memory");
    }
    fflush(rep);
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    parse_args(&o, argc, argv);
    check_opts(&o);
    size_t code_len;
    char *code = load_code(&o, &code_len);
    int stdin_fd = open_stdin(&o);
    pysb_in_file *files = load_files(&o);
    if (o.n_files && o.lim.scratch_bytes == 0)
        die("--file needs a scratch directory (--scratch 0 has none)");
    if ((o.n_files || o.n_args) && o.exec_argv)
        die("--file and --arg are for code runs, not --exec");
    /* The interpreter's own site directories, asked of it (as the run's
     * uid, before the netns: nothing of ours it could use). */
    char *site = NULL;
    size_t site_len = 0;
    const char *site_v[MAX_RO + 1] = { NULL };
    if (o.site) {
        char err[256];
        if (pysb_site_dirs(o.interp, o.uid, &site, &site_len, err, sizeof err) < 0)
            die("--site-packages: %s", err);
        size_t n = 0;
        for (size_t off = 0; off < site_len && n < MAX_RO; off += strlen(site + off) + 1)
            site_v[n++] = site + off;
    }
    int flags = enter_netns(&o);

    const char *interp_argv[MAX_LIST + 2] = { o.interp };
    memcpy(interp_argv + 1, o.flags, o.n_flags * sizeof *o.flags);
    struct warm_cli w = { .h = { .pid = -1, .ctl = -1 } };
    if (o.warm) {
        /* Warm runs never get a network namespace of their own: they share
         * their server's, a private empty one unless the shared one is. */
        if (!(flags & PYSB_SHARED_NETNS) && unshare(CLONE_NEWNET) < 0)
            die("--warm: unshare(CLONE_NEWNET): %s", strerror(errno));
        flags |= PYSB_SHARED_NETNS;
        /* The server's read-only paths: the run's, its python path and
         * its site directories (its minimal root and Landlock have them). */
        size_t n = 0;
        for (size_t k = 0; k < o.n_ro; k++)
            w.ro[n++] = o.ro[k];
        for (size_t k = 0; k < o.n_pypath; k++)
            w.ro[n++] = o.pypath[k];
        for (size_t k = 0; site_v[k]; k++)
            w.ro[n++] = site_v[k];
        start_warm(&o, interp_argv, &w);
    }
    pysb_run_spec spec = {
        .argv = o.exec_argv ? (const char *const *)o.exec_argv : interp_argv,
        .code = code,
        .code_len = code_len,
        .stdin_fd = stdin_fd,
        .watch_fd = -1,
        .limits = o.lim,
        .uid = o.uid,
        .gid = o.gid,
        .ro_paths = o.ro,
        .flags = flags,
        .args = o.args_v,
        .python_path = o.pypath,
        .site_paths = site_v,
        .files = files,
        .n_files = o.n_files,
        .file_out = o.exec_argv ? NULL : file_out,
        .warm = o.warm ? &w.t : NULL,
    };
    int all_ok = 1;
    for (unsigned i = 0; i < (o.repeat ? o.repeat : 1); i++) {
        struct sink sink = { .quiet = o.json_stdout };
        const pysb_sink report_sink = { report_write, NULL, &sink };
        if (o.json ? !(sink.json = pysb_render_new(PYSB_FMT_JSON, &report_sink))
                   : !(sink.text = pysb_render_new(PYSB_FMT_TEXT, &report_sink)))
            die("out of memory");
        pysb_result r;
        if (pysb_run(&spec, relay, &sink, &r) < 0 && strstr(r.error, ": not supported"))
            die("%s", r.error);
        if (o.warm)
            keep_warm(&o, interp_argv, &r, &w);
        report(&o, &r, &sink);
        pysb_render_free(sink.json);
        pysb_render_free(sink.text);
        all_ok &= r.status == PYSB_OK;
    }
    stop_warm(&w);
    free(code);
    for (size_t i = 0; i < o.n_files; i++) {
        free((void *)files[i].name);
        free((void *)files[i].data);
    }
    free(files);
    free(site);
    free(o.args);
    return all_ok ? 0 : 1;
}
