/* bootstrap.c — the Python that reads a run's program from its code pipe
 * and runs it as __main__, and its compilation ahead of time.
 *
 * Contract: see bootstrap.h. The cache is the launcher's: filled once at
 * start (one compiler process per interpreter, as the first uid of the
 * range, never as root), read by every run's supervisor after the fork. */
#include "bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "confine.h"   /* pysb_child_env */

/* Reads the run's header and then the program from fd 3 (bootstrap.h),
 * runs it as __main__ from "main.py" with the header's arguments as
 * sys.argv[1:], and prints tracebacks with source lines (linecache asks
 * the module's __loader__ for the text) minus the bootstrap's own frames.
 * A UTF-8 byte-order mark before the code is dropped, as python3 file.py
 * does (a byte compare: decode('utf-8-sig') imports a codec, 0.2 ms).
 * After an uncaught exception's traceback it writes one line on fd 8, the
 * report pipe (confine.h), "Type\tline\tlimit\n": only when fd 8 is still
 * the pipe it found at start and from the program's own process (not a
 * forked child ending through here); the supervisor reads it as a label
 * (supervise.c take_report), never as part of the verdict.
 *
 * Every line here is compiled on every run, so it is kept short.
 *
 * exec() of the text, not compile(text, "main.py"): compile() first checks
 * whether its argument is an AST, which builds every AST class (0.6 ms, a
 * third of the sandbox's whole cost per run). The name comes instead from a
 * one-shot trace hook that renames the module's code object, nested code
 * included, before its first line runs.
 *
 * The interpreter runs with -u (added by pysb_run): -I ignores
 * PYTHONUNBUFFERED, and a run killed at a limit must keep everything it
 * printed. exit() and quit() exist as with site (-S drops them). Threads'
 * uncaught exceptions go through the traceback module too (threading takes
 * its default hook from _thread at import), so they show source lines. */
const char pysb_bootstrap[] =
    "import sys\n"
    "def _exit(code=None):\n"
    "    raise SystemExit(code)\n"
    "__builtins__.exit = __builtins__.quit = _exit\n"
    "def _thread_hook(a):\n"
    "    if a.exc_type is not SystemExit:\n"
    "        import traceback\n"
    "        print('Exception in thread %s:' % (a.thread.name if a.thread else '?'), file=sys.stderr)\n"
    "        traceback.print_exception(a.exc_type, a.exc_value, a.exc_traceback)\n"
    "__import__('_thread')._excepthook = _thread_hook\n"
    "def _report(e, tb, rep):\n"
    "    import posix\n"
    "    try:\n"
    "        s = posix.fstat(8)\n"
    "        if (s.st_dev, s.st_ino, posix.getpid()) != rep:\n"
    "            return\n"
    "        t = type(e)\n"
    "        name = t.__qualname__ if t.__module__ == 'builtins' else t.__module__ + '.' + t.__qualname__\n"
    "        line = e.lineno if isinstance(e, SyntaxError) and e.filename == 'main.py' else 0\n"
    "        while tb:\n"
    "            if tb.tb_frame.f_code.co_filename == 'main.py':\n"
    "                line = tb.tb_lineno\n"
    "            tb = tb.tb_next\n"
    "        lim, x, n = '', e, 0\n"
    "        while x is not None and n < 8 and not lim:\n"
    "            if isinstance(x, RuntimeError) and str(x).startswith(\"can't start new thread\"):\n"
    "                lim = 'threads'\n"
    "            elif isinstance(x, BlockingIOError) and x.errno == 11:\n"
    "                lim = 'processes'\n"
    "            x, n = x.__context__, n + 1\n"
    "        posix.write(8, ('%s\\t%s\\t%s\\n' % (name, line or '', lim)).encode())\n"
    "    except BaseException:\n"
    "        pass\n"
    "def _main():\n"
    "    import posix\n"
    "    try:\n"
    "        s = posix.fstat(8)\n"
    "        rep = (s.st_dev, s.st_ino, posix.getpid())\n"
    "    except OSError:\n"
    "        rep = None\n"
    "    with open(3, 'rb') as f:\n"
    "        head = f.read(int.from_bytes(f.read(4), 'little')).split(b'\\0')\n"
    "        text = f.read()\n"
    "    if text[:3] == b'\\xef\\xbb\\xbf':\n"
    "        text = text[3:]\n"
    "    text = text.decode()\n"
    "    main = type(sys)('__main__')\n"
    "    main.__file__ = 'main.py'\n"
    "    main.__loader__ = type(sys.implementation)(get_source=lambda name: text)\n"
    "    main.__builtins__ = __builtins__\n"
    "    sys.modules['__main__'] = main\n"
    "    sys.argv[:] = ['main.py'] + [h[1:].decode() for h in head if h[:1] == b'a']\n"
    "    def name_it(frame, event, arg):\n"
    "        sys.settrace(None)\n"
    "        __import__('_imp')._fix_co_filename(frame.f_code, 'main.py')\n"
    "    try:\n"
    "        sys.settrace(name_it)\n"
    "        exec(text, main.__dict__)\n"
    "    except SystemExit:\n"
    "        raise\n"
    "    except BaseException as e:\n"
    "        sys.settrace(None)\n"
    "        if isinstance(e, SyntaxError) and e.filename == '<string>':\n"
    "            e.filename = 'main.py'\n"
    "        tb = e.__traceback__\n"
    "        while tb and tb.tb_frame.f_code.co_filename != 'main.py':\n"
    "            tb = tb.tb_next\n"
    "        try:\n"
    "            import traceback\n"
    "            traceback.print_exception(type(e), e, tb)\n"
    "        except BaseException:\n"
    "            sys.__excepthook__(type(e), e, tb)\n"
    "        if rep:\n"
    "            _report(e, tb, rep)\n"
    "        sys.exit(1)\n"
    "    finally:\n"
    "        sys.settrace(None)\n"
    "_main()\n";

/* A 4-byte little-endian length. */
static void put_len(char *p, size_t n)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(unsigned char)(n >> (8 * i));
}

/* With a precompiled bootstrap the code pipe starts with its marshal data,
 * after a 4-byte little-endian length; the bootstrap then reads the rest. */
static const char stub[] =
    "import marshal\n"
    "_f = open(3, 'rb', buffering=0, closefd=False)\n"
    "exec(marshal.loads(_f.read(int.from_bytes(_f.read(4), 'little'))))\n";

int pysb_bootstrap_pipe(const char *blob, size_t blob_len, const char *const *args,
                        const char *code, size_t code_len, pysb_code_pipe *out)
{
    int with_blob = blob && blob_len > 0 && blob_len < (1u << 30);
    size_t head = 0;
    for (size_t i = 0; args && args[i]; i++)
        head += 1 + strlen(args[i]) + 1;
    if (head >= (1u << 30))
        return -1;
    size_t total = (with_blob ? 4 + blob_len : 0) + 4 + head + code_len;
    char *buf = malloc(total ? total : 1), *p = buf;
    if (!buf)
        return -1;
    if (with_blob) {
        put_len(p, blob_len);
        memcpy(p + 4, blob, blob_len);
        p += 4 + blob_len;
    }
    put_len(p, head);
    p += 4;
    for (size_t i = 0; args && args[i]; i++) {
        size_t n = strlen(args[i]);
        *p++ = 'a';
        memcpy(p, args[i], n);
        p += n;
        *p++ = '\0';
    }
    memcpy(p, code, code_len);
    out->data = out->owned = buf;
    out->len = total;
    out->arg = with_blob ? stub : pysb_bootstrap;
    return 0;
}

/* ---- compiling it once ------------------------------------------------ */

/* The compiler: interp reading the bootstrap's source on stdin and writing
 * its marshal data on stdout. Returns its pid, with *in_w and *out_r our
 * ends of its pipes, or -1 with a reason. */
static pid_t start_compiler(const char *interp, uid_t uid, int *in_w, int *out_r,
                            char *err, size_t errlen)
{
    static const char gen[] =
        "import marshal, sys\n"
        "sys.stdout.buffer.write(marshal.dumps(compile(sys.stdin.buffer.read(), "
        "'<pysandbox>', 'exec')))\n";
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "bootstrap: pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "bootstrap: pipe: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Not as root: the interpreter runs nothing but compile(), but it
         * has no reason to hold privileges while doing so. */
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || setgroups(0, NULL) < 0 ||
            setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
            _exit(126);
        execle(interp, interp, "-I", "-S", "-c", gen, (char *)NULL, pysb_child_env);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        snprintf(err, errlen, "bootstrap: fork: %s", strerror(errno));
        close(in[1]);
        close(out[0]);
        return -1;
    }
    *in_w = in[1];
    *out_r = out[0];
    return pid;
}

static void write_source(int fd)
{
    size_t src_len = strlen(pysb_bootstrap), off = 0;
    signal(SIGPIPE, SIG_IGN);
    while (off < src_len) {
        ssize_t n = write(fd, pysb_bootstrap + off, src_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
}

/* All the compiler writes, within 10 s and 1 MiB: a malloc'd buffer, or
 * NULL (a hung interpreter: runs compile it themselves). */
static char *read_blob(int fd, size_t *got)
{
    size_t cap = 16384;
    char *buf = malloc(cap);
    double deadline = pysb_monotonic() + 10.0;
    *got = 0;
    while (buf) {
        struct pollfd p = { fd, POLLIN, 0 };
        int left = (int)((deadline - pysb_monotonic()) * 1000);
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        if (*got == cap) {
            char *nb = cap < (1u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + *got, cap - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return buf;             /* EOF: all there is */
        }
        *got += (size_t)n;
    }
    close(fd);
    free(buf);
    return NULL;
}

int pysb_bootstrap_compile(const char *interp, uid_t uid, char **blob,
                           size_t *len, char *err, size_t errlen)
{
    int in_w, out_r, st;
    pid_t pid = start_compiler(interp, uid, &in_w, &out_r, err, errlen);
    if (pid < 0)
        return -1;
    write_source(in_w);
    size_t got;
    char *buf = read_blob(out_r, &got);
    if (!buf)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!buf || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || got == 0) {
        snprintf(err, errlen, "bootstrap: %s could not compile it (wait status 0x%x)",
                 interp, buf ? (unsigned)st : 0u);
        free(buf);
        return -1;
    }
    *blob = buf;
    *len = got;
    return 0;
}

/* ---- the cache ---------------------------------------------------------- */

/* One interpreter's compiled bootstrap, and the binary it suits. */
struct compiled {
    const char *path;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    char *blob;
    size_t len;
};
#define MAX_COMPILED 16
static struct compiled compiled[MAX_COMPILED];
static size_t n_compiled;

static const struct compiled *find(const char *interp)
{
    for (size_t i = 0; i < n_compiled; i++)
        if (!strcmp(compiled[i].path, interp))
            return &compiled[i];
    return NULL;
}

int pysb_bootstrap_cache_add(const char *interp, uid_t uid, size_t *len, char *err,
                             size_t errlen)
{
    struct compiled *c = &compiled[n_compiled];
    struct stat st;
    if (n_compiled == MAX_COMPILED || find(interp) || stat(interp, &st) < 0)
        return 0;
    if (pysb_bootstrap_compile(interp, uid, &c->blob, &c->len, err, errlen) < 0)
        return -1;
    c->path = interp;
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->mtime = st.st_mtim;
    n_compiled++;
    *len = c->len;
    return 1;
}

int pysb_bootstrap_cached(const char *interp, const char **blob, size_t *len)
{
    const struct compiled *c = find(interp);
    struct stat st;
    if (!c || stat(interp, &st) != 0 || st.st_dev != c->dev || st.st_ino != c->ino ||
        st.st_mtim.tv_sec != c->mtime.tv_sec || st.st_mtim.tv_nsec != c->mtime.tv_nsec)
        return 0;
    *blob = c->blob;
    *len = c->len;
    return 1;
}
