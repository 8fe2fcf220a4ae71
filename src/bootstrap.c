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
 * sys.argv[1:], and prints tracebacks with source lines (put into
 * linecache from the module's __loader__ before a traceback is printed:
 * linecache would read a file main.py in the working directory first, an
 * input file or one the program wrote; its lines as linecache reads a
 * file, split at \n, \r\n and \r alone and ending in \n, the last one too:
 * traceback's carets count on it, and splitlines() would also split at
 * \f, \x1c-\x1e, \x85, U+2028/9, which end no line of Python) minus the
 * bootstrap's own frames.
 * A UTF-8 byte-order mark before the code is dropped, as python3 file.py
 * does (a byte compare: decode('utf-8-sig') imports a codec, 0.2 ms).
 * After an uncaught exception's traceback it writes one line on fd 8, the
 * report pipe (confine.h), "Type\tline\tlimit\n": only when fd 8 is still
 * the pipe it found at start and from the program's own process (not a
 * forked child ending through here); the supervisor reads it as a label
 * (supervise.c take_report), never as part of the verdict. Imports go
 * through a PathFinder that names what is missing instead of failing
 * silently: a name found under a sys.path entry the sandbox cannot read
 * (the finder skips those without a word, and a readable fragment further
 * on would become an empty namespace package), or a top-level package of
 * which only a fragment (no __init__.py) is in the standard library's own
 * dist-packages or site-packages (Debian's numpy, its site directories
 * off). The finder's class is made with the definitions (a warm run's
 * server makes it once: a class made in the run cost 0.1-0.2 ms of page
 * faults); each run installs it with an empty cache of unreadable
 * directories.
 * With MPLBACKEND=module://_pysb_mpl (a run with a scratch) matplotlib's
 * backend is a module made here, Agg once first touched (nothing is
 * imported before), whose show() saves every open figure as
 * out/figure-N.png (the next N whose name the program has not taken) and
 * closes it; figures still open when the program ends are saved so too
 * (also after an exception; not from forked children). A figure with
 * nothing drawn on it (plt.gcf() after a show) is not saved, nor one the
 * program saved itself to a file (savefig; a buffer does not count): its
 * file is the program's; nor one of another backend (matplotlib.use("Agg"):
 * the program keeps its figures itself). The canvas is Agg's, marked when
 * it prints to a file; matplotlib makes its figure managers from it, as
 * nothing else is exported. A failure to save is one line on stderr,
 * never the verdict.
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
 * its default hook from _thread at import), so they show source lines.
 *
 * The end is the interpreter's own, but for the teardown of its modules:
 * the exit code from SystemExit as Python computes it, non-daemon threads
 * joined, atexit handlers run, the program's globals cleared and
 * collected (its objects' __del__ run), stdout and stderr flushed (exit
 * 120 when stdout cannot be, as Python does), then _exit. What is skipped
 * is the decref of every module's objects: in a warm run those are the
 * fork server's, and touching them copies every page of its heap (8 ms of
 * page faults a run with numpy preloaded); in a cold run it is time too.
 * Both modes end alike, so their verdicts and output agree. The gc and
 * atexit modules of the end are sys.modules' when there (the program's,
 * whatever it did to them), else a fork server's (globals _pysb_gc and
 * _pysb_atexit, imported in the server: the same collector and, from
 * CPython 3.10, the same exit functions; before 3.10 atexit keeps them per
 * module, and a never-imported one has none), else imported then. */
const char pysb_bootstrap[] =
    "import sys\n"
    "def _exit(code=None):\n"
    "    raise SystemExit(code)\n"
    "__builtins__.exit = __builtins__.quit = _exit\n"
    "def _source():\n"
    "    try:\n"
    "        t = sys.modules['__main__'].__loader__.get_source('main.py')\n"
    "        l = __import__('io').StringIO(t, None).readlines()\n"
    "        if l and not l[-1].endswith('\\n'):\n"
    "            l[-1] += '\\n'\n"
    "        __import__('linecache').cache['main.py'] = (len(t), None, l, 'main.py')\n"
    "    except BaseException:\n"
    "        pass\n"
    "def _thread_hook(a):\n"
    "    if a.exc_type is not SystemExit:\n"
    "        _source()\n"
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
    "def _guard():\n"
    "    import posix\n"
    "    from importlib.machinery import PathFinder\n"
    "    shut = {}\n"
    "    def closed(d):\n"
    "        if d not in shut:\n"
    "            try:\n"
    "                posix.close(posix.open(d, posix.O_RDONLY | posix.O_DIRECTORY))\n"
    "                shut[d] = False\n"
    "            except OSError as e:\n"
    "                shut[d] = e.errno == 13\n"
    "        return shut[d]\n"
    "    def there(d, n):\n"
    "        for x in (d + '/' + n, d + '/' + n + '.py'):\n"
    "            try:\n"
    "                posix.stat(x)\n"
    "                return x\n"
    "            except OSError:\n"
    "                pass\n"
    "    class Guard(PathFinder):\n"
    "        @classmethod\n"
    "        def find_spec(cls, name, path=None, target=None):\n"
    "            spec = PathFinder.find_spec(name, path, target)\n"
    "            if spec is not None and spec.origin is not None:\n"
    "                return spec\n"
    "            n = name.rpartition('.')[2]\n"
    "            for d in path or sys.path:\n"
    "                x = isinstance(d, str) and closed(d) and there(d, n)\n"
    "                if x:\n"
    "                    raise ModuleNotFoundError('%s: %s is not readable in the sandbox: add %s with PySandboxReadOnlyPath (--ro) or PySandboxPythonPath (--python-path)' % (name, x, d), name=name)\n"
    "            if spec is not None and path is None:\n"
    "                import os\n"
    "                lib = os.path.dirname(os.__file__)\n"
    "                parts = list(spec.submodule_search_locations or ())\n"
    "                if parts and all(os.path.dirname(p) in (lib + '/dist-packages', lib + '/site-packages') for p in parts):\n"
    "                    raise ModuleNotFoundError('%s: only a fragment of it, %s (no __init__.py), is in the sandbox: the package is installed elsewhere; PySandboxSitePackages On (--site-packages) or PySandboxPythonPath (--python-path) add it' % (name, parts[0]), name=name)\n"
    "            return spec\n"
    "    def install():\n"
    "        shut.clear()\n"
    "        sys.meta_path[:] = [Guard if m is PathFinder else m for m in sys.meta_path]\n"
    "        return Guard.find_spec.__func__.__code__\n"
    "    return install\n"
    "_guard = _guard()\n"
    "def _figures(out):\n"
    "    n = [0]\n"
    "    def save(*args, **kwargs):\n"
    "        h = sys.modules.get('matplotlib._pylab_helpers')\n"
    "        if not h or not h.Gcf.get_all_fig_managers():\n"
    "            return\n"
    "        import os\n"
    "        os.makedirs(out, exist_ok=True)\n"
    "        for m in h.Gcf.get_all_fig_managers():\n"
    "            c = m.canvas\n"
    "            if not getattr(c, '_pysb_ours', False) or c._pysb_saved or len(c.figure.get_children()) < 2:\n"
    "                continue\n"
    "            n[0] += 1\n"
    "            while os.path.lexists('%s/figure-%d.png' % (out, n[0])):\n"
    "                n[0] += 1\n"
    "            try:\n"
    "                m.canvas.figure.savefig('%s/figure-%d.png' % (out, n[0]))\n"
    "            except Exception as e:\n"
    "                print('pysandbox: figure-%d.png not saved: %r' % (n[0], e), file=sys.stderr)\n"
    "        h.Gcf.destroy_all()\n"
    "    mod = type(sys)('_pysb_mpl')\n"
    "    def agg(name):\n"
    "        import matplotlib.backends.backend_agg as a\n"
    "        class FigureCanvas(a.FigureCanvasAgg):\n"
    "            _pysb_ours, _pysb_saved = True, False\n"
    "            def print_figure(self, *args, **kwargs):\n"
    "                if args and isinstance(args[0], (str, bytes, __import__('os').PathLike)):\n"
    "                    self._pysb_saved = True\n"
    "                return super().print_figure(*args, **kwargs)\n"
    "        FigureCanvas.__module__, FigureCanvas.__qualname__ = '_pysb_mpl', 'FigureCanvas'\n"
    "        mod.FigureCanvas = FigureCanvas\n"
    "        for k, v in vars(a).items():\n"
    "            if not k.startswith('__') and k not in ('show', 'new_figure_manager', 'new_figure_manager_given_figure'):\n"
    "                mod.__dict__.setdefault(k, v)\n"
    "        if name in mod.__dict__:\n"
    "            return mod.__dict__[name]\n"
    "        raise AttributeError(name)\n"
    "    mod.__getattr__ = agg\n"
    "    mod.show = save\n"
    "    sys.modules['_pysb_mpl'] = mod\n"
    "    return save\n"
    "def _main():\n"
    "    import posix\n"
    "    me = posix.getpid()\n"
    "    figures = posix.environ.get(b'MPLBACKEND') == b'module://_pysb_mpl' and _figures('out')\n"
    "    try:\n"
    "        s = posix.fstat(8)\n"
    "        rep = (s.st_dev, s.st_ino, posix.getpid())\n"
    "    except OSError:\n"
    "        rep = None\n"
    "    b = []\n"
    "    while True:\n"
    "        x = posix.read(3, 65536)\n"
    "        if not x:\n"
    "            break\n"
    "        b.append(x)\n"
    "    posix.close(3)\n"
    "    b = b''.join(b)\n"
    "    n = int.from_bytes(b[:4], 'little') + 4\n"
    "    head, text = b[4:n].split(b'\\0'), b[n:]\n"
    "    if text[:3] == b'\\xef\\xbb\\xbf':\n"
    "        text = text[3:]\n"
    "    text = text.decode()\n"
    "    main = type(sys)('__main__')\n"
    "    main.__file__ = 'main.py'\n"
    "    main.__loader__ = type(sys.implementation)(get_source=lambda name: text)\n"
    "    main.__builtins__ = __builtins__\n"
    "    sys.modules['__main__'] = main\n"
    "    sys.argv[:] = ['main.py'] + [h[1:].decode() for h in head if h[:1] == b'a']\n"
    "    sys.path[:0] = [h[1:].decode() for h in head if h[:1] == b'p']\n"
    "    sys.path += [h[1:].decode() for h in head if h[:1] == b'e']\n"
    "    guard = _guard()\n"
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
    "            tb = tb.tb_next\n"    "        t = tb\n"
    "        while t and t.tb_next:\n"
    "            if t.tb_next.tb_frame.f_code is guard:\n"
    "                t.tb_next = t.tb_next.tb_next\n"
    "            else:\n"
    "                t = t.tb_next\n"
    "        _source()\n"
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
    "        if figures and posix.getpid() == me:\n"
    "            try:\n"
    "                figures()\n"
    "            except BaseException as e:\n"
    "                print('pysandbox: figures not saved: %r' % e, file=sys.stderr)\n"
    "def _end_module(name):\n"
    "    if name in sys.modules:\n"
    "        return sys.modules[name]\n"
    "    return globals().get('_pysb_' + name) or __import__(name)\n"
    "def _finish():\n"
    "    code = 0\n"
    "    try:\n"
    "        _main()\n"
    "    except SystemExit as e:\n"
    "        c = e.code\n"
    "        if c is None:\n"
    "            code = 0\n"
    "        elif isinstance(c, int):\n"
    "            code = c & 0xff if -2**63 <= c < 2**63 else 255\n"
    "        else:\n"
    "            try:\n"
    "                print(c, file=sys.stderr)\n"
    "            except BaseException:\n"
    "                pass\n"
    "            code = 1\n"
    "    t = sys.modules.get('threading')\n"
    "    try:\n"
    "        if t is not None:\n"
    "            t._shutdown()\n"
    "        _end_module('atexit')._run_exitfuncs()\n"
    "        m = sys.modules.get('__main__')\n"
    "        if m is not None:\n"
    "            m.__dict__.clear()\n"
    "        _end_module('gc').collect()\n"
    "    except BaseException:\n"
    "        pass\n"
    "    try:\n"
    "        sys.stdout.flush()\n"
    "    except BaseException:\n"
    "        code = 120\n"
    "    try:\n"
    "        sys.stderr.flush()\n"
    "    except BaseException:\n"
    "        pass\n"
    "    __import__('posix')._exit(code)\n"
    "_finish()\n";

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

/* Bytes of one letter's items; with dst, written there. */
static size_t put_items(char *dst, char letter, const char *const *v)
{
    size_t n = 0;
    for (size_t i = 0; v && v[i]; i++) {
        size_t len = strlen(v[i]);
        if (dst) {
            dst[n] = letter;
            memcpy(dst + n + 1, v[i], len);
            dst[n + 1 + len] = '\0';
        }
        n += 1 + len + 1;
    }
    return n;
}

int pysb_bootstrap_pipe(const char *blob, size_t blob_len, const pysb_pipe_header *h,
                        const char *code, size_t code_len, pysb_code_pipe *out)
{
    static const pysb_pipe_header none;
    if (!h)
        h = &none;
    int with_blob = blob && blob_len > 0 && blob_len < (1u << 30);
    size_t head = put_items(NULL, 'a', h->args) + put_items(NULL, 'p', h->prepend) +
                  put_items(NULL, 'e', h->append);
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
    p += put_items(p, 'a', h->args);
    p += put_items(p, 'p', h->prepend);
    p += put_items(p, 'e', h->append);
    memcpy(p, code, code_len);
    out->data = out->owned = buf;
    out->len = total;
    out->arg = with_blob ? stub : pysb_bootstrap;
    return 0;
}

/* ---- compiling it once ------------------------------------------------ */

/* interp running prog (-I -S -c), its stdin and stdout our pipes. Returns
 * its pid, with *in_w and *out_r our ends of its pipes, or -1 with a
 * reason. */
static pid_t start_asking(const char *interp, const char *prog, uid_t uid, int *in_w,
                          int *out_r, char *err, size_t errlen)
{
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
        execle(interp, interp, "-I", "-S", "-c", prog, (char *)NULL, pysb_child_env);
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

static void write_input(int fd, const char *input)
{
    size_t src_len = strlen(input), off = 0;
    signal(SIGPIPE, SIG_IGN);
    while (off < src_len) {
        ssize_t n = write(fd, input + off, src_len - off);
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

/* What prog writes, fed input, as uid: 0 with a malloc'd *out (*len
 * bytes, NUL after them), or -1 with a reason naming what. */
static int ask(const char *interp, const char *prog, const char *input, uid_t uid,
               const char *what, char **out, size_t *len, char *err, size_t errlen)
{
    int in_w, out_r, st;
    pid_t pid = start_asking(interp, prog, uid, &in_w, &out_r, err, errlen);
    if (pid < 0)
        return -1;
    write_input(in_w, input);
    size_t got;
    char *buf = read_blob(out_r, &got);
    if (!buf)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    char *nb = buf ? realloc(buf, got + 1) : NULL;
    if (!nb || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, errlen, "bootstrap: %s could not %s (wait status 0x%x)", interp, what,
                 buf ? (unsigned)st : 0u);
        free(nb ? nb : buf);
        return -1;
    }
    nb[got] = '\0';
    *out = nb;
    *len = got;
    return 0;
}

int pysb_bootstrap_compile(const char *interp, uid_t uid, char **blob,
                           size_t *len, char *err, size_t errlen)
{
    static const char gen[] =
        "import marshal, sys\n"
        "sys.stdout.buffer.write(marshal.dumps(compile(sys.stdin.buffer.read(), "
        "'<pysandbox>', 'exec')))\n";
    if (ask(interp, gen, pysb_bootstrap, uid, "compile it", blob, len, err, errlen) < 0)
        return -1;
    if (*len == 0) {
        snprintf(err, errlen, "bootstrap: %s compiled it to nothing", interp);
        free(*blob);
        return -1;
    }
    return 0;
}

int pysb_site_dirs(const char *interp, uid_t uid, char **dirs, size_t *len, char *err,
                   size_t errlen)
{
    /* site's own list, without running site (-S): nothing of the caller's
     * environment, no .pth file, no sitecustomize. */
    static const char prog[] =
        "import site, os, sys\n"
        "for d in site.getsitepackages():\n"
        "    if os.path.isabs(d) and os.path.isdir(d) and '\\n' not in d:\n"
        "        sys.stdout.write(os.path.realpath(d) + '\\n')\n";
    if (ask(interp, prog, "", uid, "list its site directories", dirs, len, err, errlen) < 0)
        return -1;
    for (char *p = *dirs; (p = strchr(p, '\n')); p++)
        *p = '\0';
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
    char *site;             /* its site directories, NUL-separated, or NULL */
    size_t site_len;
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
    char site_err[256];
    if (pysb_site_dirs(interp, uid, &c->site, &c->site_len, site_err, sizeof site_err) < 0)
        c->site = NULL; /* PySandboxSitePackages runs then say so */
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

int pysb_site_cached(const char *interp, const char **dirs, size_t *len)
{
    const char *blob;
    size_t blob_len;
    const struct compiled *c = find(interp);
    if (!pysb_bootstrap_cached(interp, &blob, &blob_len) || !c->site)
        return 0;
    *dirs = c->site;
    *len = c->site_len;
    return 1;
}
