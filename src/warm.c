/* warm.c — start, ping and use a fork server (see warm.h).
 *
 * Contract: see warm.h. Descriptors are close-on-exec; every wait has a
 * deadline. */
#include "warm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootstrap.h"
#include "clock.h"
#include "confine.h"
#include "rootonly.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* The fork server's program. argv: ext interp waive preloads bootstrap
 * ro_paths… It measures the address space before importing anything (the
 * base every run's limit is counted from), then refuses to go on unless
 * every place the preloads could be imported from is root's alone: each
 * sys.path entry (or, when missing, its nearest existing ancestor) and
 * every directory above it, symbolic links followed, must belong to root
 * and be writable by nobody else, checked with stat alone before the
 * first import (a module planted by another user must never run here, as
 * root). Then it imports the preloads, checks the same of every module
 * file, package directory and mapped shared object they brought, loads
 * the extension by path (sys.path is never touched: runs see a cold run's
 * sys.path), compiles the bootstrap once and runs its definitions (all
 * but its last line, _finish(), which is what a run calls; the run's
 * stack is then a cold run's: <module>, _finish, _main), imports what the
 * bootstrap's end
 * uses (gc, atexit: handed to it as globals _pysb_gc and _pysb_atexit, and
 * out of sys.modules again unless they were there), sets the runs'
 * orig_argv, empties posix.environ, freezes what the collector tracks (so
 * that a run's collections never touch, and copy, the preloaded heap) and
 * serves. All of it is done and kept in the server (the checks' objects are
 * freed there, what runs use are globals never freed): a run that made or
 * freed any of it itself would copy each page of the server's it wrote on
 * (0.9 ms a run of page faults for print(1) before, the imports of gc and
 * atexit at the end most of it). A refusal is one line "refused: …" on
 * stderr and exit 3. In a run's program serve() returns the run's
 * environment (a cold run's, pysb_child_environ: with a scratch HOME and
 * TMPDIR point into it), which becomes posix.environ (os.environ is the
 * same dict); the extension leaves sys.modules and the bootstrap runs in
 * __main__, as a cold run's "-c" bootstrap does. Before the preloads only
 * builtin and frozen modules are used, so sys.modules holds what a cold
 * start has plus the preloads. */
const char pysb_fs_script[] =
    "import sys\n"
    "# stdout and stderr were made on a pipe (fd 5 its other end), so their\n"
    "# streams answer as a run's do (not seekable); the log (fd 4) from here\n"
    "def _pysb_log():\n"
    "    import posix\n"
    "    posix.set_blocking(5, False)\n"
    "    try:\n"
    "        early = posix.read(5, 65536)\n"
    "    except OSError:\n"
    "        early = b''\n"
    "    posix.dup2(4, 1)\n"
    "    posix.dup2(4, 2)\n"
    "    posix.close(4)\n"
    "    posix.close(5)\n"
    "    if early:\n"
    "        posix.write(2, early)\n"
    "_pysb_log()\n"
    "del _pysb_log\n"
    "def _pysb():\n"
    "    import _imp, _frozen_importlib as fi, posix\n"
    "    a = sys.argv\n"
    "    ext, interp, waive, pre, src, ro = a[1], a[2], a[3] == '1', a[4].split(), a[5], tuple(a[6:])\n"
    "    del a[1:]\n"
    "    page = posix.sysconf('SC_PAGE_SIZE')\n"
    "    with open('/proc/self/statm', 'rb') as f:\n"
    "        vms, rss = [int(x) * page for x in f.read().split()[:2]]\n"
    "    seen = set()\n"
    "    class Refusal(OSError):\n"
    "        pass\n"
    "    def sticky_above(st, parts, i):\n"
    "        # as src/rootonly.c: a sticky directory of root's holds above an\n"
    "        # existing entry (root's: judged in its turn), not as the last one\n"
    "        if st.st_mode & 0o171000 != 0o041000 or i >= len(parts):\n"
    "            return False\n"
    "        try:\n"
    "            posix.lstat('/' + '/'.join(parts[:i + 1]))\n"
    "        except OSError:\n"
    "            return False\n"
    "        return True\n"
    "    def safe(p, what, depth=0):\n"
    "        parts = [x for x in p.split('/') if x and x != '.']\n"
    "        cur = ''\n"
    "        for i in range(len(parts) + 1):\n"
    "            cur = '/' + '/'.join(parts[:i])\n"
    "            if cur in seen:\n"
    "                continue\n"
    "            try:\n"
    "                st = posix.lstat(cur)\n"
    "            except OSError:\n"
    "                return\n"
    "            if st.st_uid != 0:\n"
    "                raise Refusal('%s: %s belongs to uid %d, not root' % (what, cur, st.st_uid))\n"
    "            if st.st_mode & 0o170000 == 0o120000:\n"
    "                if depth > 8:\n"
    "                    raise Refusal('%s: %s: too many symbolic links' % (what, cur))\n"
    "                t = posix.readlink(cur)\n"
    "                safe(t if t[:1] == '/' else '/'.join(['', *parts[:i - 1], t]), what, depth + 1)\n"
    "            elif st.st_mode & 0o022 and not sticky_above(st, parts, i):\n"
    "                raise Refusal('%s: %s is writable by its %s' % (what, cur, 'group' if st.st_mode & 0o020 else 'others'))\n"
    "            seen.add(cur)\n"
    "    # the preloads are imported from absolute entries alone: '' and a\n"
    "    # relative one name the current directory, whatever it is then;\n"
    "    # runs get sys.path back as it was (a cold run's)\n"
    "    path = sys.path[:]\n"
    "    sys.path[:] = [p for p in path if isinstance(p, str) and p[:1] == '/']\n"
    "    # and each module's files (source, bytecode, package directory) are\n"
    "    # checked when found, before the module runs: a file of another uid\n"
    "    # inside a root package must not run as root before the refusal\n"
    "    from importlib.machinery import PathFinder\n"
    "    class Checked(PathFinder):\n"
    "        @classmethod\n"
    "        def find_spec(cls, name, path=None, target=None):\n"
    "            spec = PathFinder.find_spec(name, path, target)\n"
    "            if spec is not None:\n"
    "                fs = [spec.origin] + list(spec.submodule_search_locations or ())\n"
    "                try:\n"
    "                    fs.append(spec.cached)\n"
    "                except Exception:\n"
    "                    pass\n"
    "                for f in fs:\n"
    "                    if isinstance(f, str) and f[:1] == '/':\n"
    "                        safe(f, 'module %s' % name)\n"
    "            return spec\n"
    "    finders = sys.meta_path[:]\n"
    "    sys.meta_path[:] = [Checked if m is PathFinder else m for m in finders]\n"
    "    try:\n"
    "        safe(interp, 'the interpreter')\n"
    "        safe(ext, 'the extension')\n"
    "        for p in sys.path if pre else ():\n"
    "            safe(p, 'sys.path entry %s' % p)\n"
    "        for m in pre:\n"
    "            try:\n"
    "                __import__(m)\n"
    "            except Refusal:\n"
    "                raise\n"
    "            except BaseException as e:\n"
    "                raise OSError('%s: cannot be imported by %s: %s: %s' % (m, interp, type(e).__name__, e))\n"
    "        for n, m in list(sys.modules.items()):\n"
    "            for f in [getattr(m, '__file__', None)] + list(getattr(m, '__path__', None) or []):\n"
    "                if isinstance(f, str) and f[:1] == '/':\n"
    "                    safe(f, 'module %s' % n)\n"
    "        with open('/proc/self/maps') as f:\n"
    "            for line in f:\n"
    "                w = line.split(None, 5)\n"
    "                if len(w) == 6 and w[5][:1] == '/':\n"
    "                    safe(w[5].rstrip('\\n'), 'shared object')\n"
    "    except OSError as e:\n"
    "        print('refused: %s' % (e.args[0] if len(e.args) == 1 else e), file=sys.stderr)\n"
    "        raise SystemExit(3)\n"
    "    sys.path[:] = path\n"
    "    sys.meta_path[:] = finders\n"
    "    del Checked\n"
    "    return ext, interp, waive, pre, src, ro, vms, rss\n"
    "_pysb_a = _pysb()\n"
    "del _pysb\n"
    "# what a run needs is made here, once, and kept (globals of the server's\n"
    "# __main__, never freed): whatever a run made or let go of itself (the\n"
    "# checks' objects, the extension's module, the gc and atexit modules the\n"
    "# bootstrap's end uses) would copy each page of the server's it wrote on\n"
    "def _pysb_serve(ext, interp, waive, pre, src, ro, vms, rss):\n"
    "    import _imp, _frozen_importlib as fi, posix\n"
    "    g = globals()\n"
    "    g['_pysb_mod'] = mod = _imp.create_dynamic(fi.ModuleSpec('_pysandbox', None, origin=ext))\n"
    "    sys.modules.pop('_pysandbox', None)\n"
    "    # the bootstrap's definitions run here (functions, exit and quit, the\n"
    "    # threads' hook); a run calls its _finish() (the text's last line)\n"
    "    end = '_finish()\\n'\n"
    "    if not src.endswith('\\n' + end):\n"
    "        raise OSError('the bootstrap does not end with %r' % end)\n"
    "    g['_pysb_boot'] = compile(src[:-len(end)], '<pysandbox>', 'exec')\n"
    "    exec(_pysb_boot, g)\n"
    "    # both out of sys.modules again unless they were there (a cold\n"
    "    # run's sys.modules has neither)\n"
    "    had = 'atexit' in sys.modules\n"
    "    g['_pysb_atexit'] = __import__('atexit')\n"
    "    if not had:\n"
    "        sys.modules.pop('atexit', None)\n"
    "    g['_pysb_gc'] = gc = __import__('gc')\n"
    "    if 'gc' not in pre:\n"
    "        sys.modules.pop('gc', None)\n"
    "    # the runs' command line: a cold run's (the interpreter, its flags,\n"
    "    # -c and the bootstrap), not the server's (before 3.10 there is none)\n"
    "    o = getattr(sys, 'orig_argv', [])\n"
    "    if '-c' in o:\n"
    "        o[o.index('-c') + 1:] = [src]\n"
    "    # each run gets its own environment, serve's answer\n"
    "    posix.environ.clear()\n"
    "    gc.collect()\n"
    "    gc.freeze()\n"
    "    env = mod.serve(3, interp, ro, waive, vms, rss, sys.version.split()[0], bool(pre))\n"
    "    if not env:\n"
    "        raise SystemExit(0)\n"
    "    posix.environ.update(x.split(b'=', 1) for x in env)\n"
    "    # the local time zone as a cold run finds it (serve() made the C\n"
    "    # library look again, inside the run's root), not the server's\n"
    "    tm = sys.modules.get('time')\n"
    "    if tm is not None:\n"
    "        tm.tzset()\n"
    "    # in the run (confined): numpy's global generator was seeded once,\n"
    "    # in the server; each run draws its own, as random's at-fork hook does\n"
    "    mp = sys.modules.get('multiprocessing.process')\n"
    "    if mp is not None:\n"
    "        try:\n"
    "            mp.current_process().authkey = posix.urandom(32)\n"
    "        except BaseException:\n"
    "            pass\n"
    "    npr = sys.modules.get('numpy.random')\n"
    "    if npr is not None:\n"
    "        try:\n"
    "            npr.seed()\n"
    "        except BaseException:\n"
    "            pass\n"
    "_pysb_serve(*_pysb_a)\n"
    "_finish()\n";

/* ---- datagrams with descriptors ------------------------------------------ */

/* One datagram (and at most one passed descriptor) within timeout_ms:
 * its length, 0 at EOF, -1 (ETIMEDOUT when nothing came). */
static ssize_t recv_msg(int fd, void *buf, size_t len, int *passed, int timeout_ms)
{
    int64_t end = pysb_monotonic_ms() + timeout_ms;
    if (passed)
        *passed = -1;
    for (;;) {
        int64_t left = end - pysb_monotonic_ms();
        struct pollfd p = { fd, POLLIN, 0 };
        int rc = poll(&p, 1, left < 0 ? 0 : (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            if (rc == 0)
                errno = ETIMEDOUT;
            return -1;
        }
        union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
        struct iovec iov = { buf, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = u.b, .msg_controllen = sizeof u.b };
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        int got = -1;
        if (n >= 0 && pysb_fs_take_fds(&mh, &got, passed ? 1 : 0) == 1)
            *passed = got;
        return n;
    }
}

/* Sends one datagram with nfds descriptors; a full queue (a busy server)
 * is waited out until timeout_ms. */
static int send_fds(int fd, const void *buf, size_t len, const int *fds, int nfds,
                    int timeout_ms)
{
    union { char b[CMSG_SPACE(sizeof(int) * PYSB_FS_NFDS)]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = { (void *)buf, len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    int64_t end = pysb_monotonic_ms() + timeout_ms;
    for (;;) {
        ssize_t n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)len)
            return 0;
        if (n >= 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
        int64_t left = end - pysb_monotonic_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = { fd, POLLOUT, 0 };
        poll(&p, 1, (int)left);
    }
}

static int header_ok(uint32_t magic, uint16_t version)
{
    return magic == PYSB_FS_MAGIC && version == PYSB_FS_VERSION;
}

/* ---- the owner's side ------------------------------------------------------ */

/* The exec'd argv: the interpreter's, "-u -c script", then the script's. */
static const char **server_argv(const pysb_fs_spec *spec, char **preloads)
{
    size_t argc = 0, npre = 0, nro = 0, len = 1;
    while (spec->argv[argc])
        argc++;
    while (spec->preload && spec->preload[npre])
        len += strlen(spec->preload[npre++]) + 1;
    while (spec->ro_paths && spec->ro_paths[nro])
        nro++;
    char *pre = calloc(1, len);
    const char **argv = calloc(argc + nro + 10, sizeof *argv);
    if (!pre || !argv) {
        free(pre);
        free(argv);
        return NULL;
    }
    for (size_t i = 0; i < npre; i++) {
        strcat(pre, spec->preload[i]);
        strcat(pre, " ");
    }
    size_t k = 0;
    for (size_t i = 0; i < argc; i++)
        argv[k++] = spec->argv[i];
    argv[k++] = "-u";
    argv[k++] = "-c";
    argv[k++] = pysb_fs_script;
    argv[k++] = spec->ext_path;
    argv[k++] = spec->argv[0];
    argv[k++] = spec->waive_landlock ? "1" : "0";
    argv[k++] = pre;
    argv[k++] = pysb_bootstrap;
    for (size_t i = 0; i < nro; i++)
        argv[k++] = spec->ro_paths[i];
    argv[k] = NULL;
    *preloads = pre;
    return argv;
}

/* Does the interpreter start with site (no -S among its flags)? */
static int runs_site(const char *const *argv)
{
    for (size_t i = 1; argv[i]; i++)
        if (argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i], 'S') &&
            !strpbrk(argv[i], "XWc"))
            return 0;
    return 1;
}

/* The site directories the interpreter would add at start: asked of the
 * interpreter itself with -I -S in / (only its standard library runs,
 * checked already, so the answer can be trusted). As root, like the
 * server it precedes: as nobody, any other process of nobody's could stop
 * it and stall the launcher that waits for it, or trace it and forge the
 * answer (attack-warm2 B). NUL-separated into buf; returns the bytes, or
 * -1. */
static ssize_t site_dirs(const char *interp, char *buf, size_t len)
{
    /* site.venv() would process .pth files: the venv's prefix (a
     * pyvenv.cfg beside or above the executable) is found here instead,
     * and its site directories added, with the pyvenv.cfg itself. */
    static const char ask[] =
        "import site, sys, os\n"
        "d = os.path.dirname(os.path.abspath(sys.executable))\n"
        "cfg = [os.path.join(p, 'pyvenv.cfg') for p in (d, os.path.dirname(d))]\n"
        "cfg = [c for c in cfg if os.path.isfile(c)]\n"
        "v = os.path.join(os.path.dirname(d), 'lib', 'python%d.%d' % sys.version_info[:2])\n"
        "dirs = site.getsitepackages() + (site.getsitepackages([os.path.dirname(d)]) +\n"
        "    [os.path.join(v, 'site-packages'), os.path.join(v, 'dist-packages')] if cfg else [])\n"
        "sys.stdout.write('\\0'.join(cfg + dirs))\n";
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(p[1], 1) < 0 || chdir("/") < 0 || close_range(3, ~0U, 0) < 0)
            _exit(126);
        execle(interp, interp, "-I", "-S", "-c", ask, (char *)NULL, pysb_child_env);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    size_t got = 0;
    int64_t end = pysb_monotonic_ms() + 10000;
    for (;;) {
        struct pollfd q = { p[0], POLLIN, 0 };
        int64_t left = end - pysb_monotonic_ms();
        if (got == len || left <= 0 || poll(&q, 1, (int)left) <= 0)
            break;
        ssize_t n = read(p[0], buf + got, len - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(p[0]);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    if (got == len || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return (ssize_t)got;
}

/* Before the server's interpreter runs as root, everything it reads while
 * it starts — before its own checks of sys.path and the preloads can run —
 * must be root's alone (rootonly.h): the interpreter, the extension, the
 * standard library's whole tree, and, when it starts with site, each site
 * directory (a venv's too, and its pyvenv.cfg) and what is directly in it
 * (site reads every .pth file there and runs their import lines). */
static int check_start(const pysb_fs_spec *spec, char *err, size_t errlen)
{
    char real[PATH_MAX], lib[PATH_MAX + 16];
    const char *interp = spec->argv[0];
    if (pysb_root_only("the interpreter", interp, err, errlen) < 0 ||
        pysb_root_only("the extension", spec->ext_path, err, errlen) < 0)
        return -1;
    if (!realpath(interp, real)) {
        snprintf(err, errlen, "the interpreter: %s: %s", interp, strerror(errno));
        return -1;
    }
    /* <prefix>/bin/pythonX.Y → <prefix>/lib/pythonX.Y, as Landlock's set */
    const char *base = strrchr(real, '/') + 1;
    char *s = strrchr(real, '/');
    *s = '\0';
    if ((s = strrchr(real, '/')))
        *s = '\0';
    snprintf(lib, sizeof lib, "%s/lib/%s", real[0] ? real : "", base);
    if (pysb_root_only_tree("the standard library", lib, err, errlen) < 0)
        return -1;
    if (!runs_site(spec->argv))
        return 0;
    char dirs[8192];
    ssize_t n = site_dirs(interp, dirs, sizeof dirs - 1);
    if (n < 0) {
        snprintf(err, errlen, "the interpreter: %s -I -S could not list its site directories",
                 interp);
        return -1;
    }
    dirs[n] = '\0';
    for (char *d = dirs; d < dirs + n; d += strlen(d) + 1)
        if (d[0] && pysb_root_only_entries("a site directory", d, err, errlen) < 0)
            return -1;
    return 0;
}

int pysb_fs_spawn(const pysb_fs_spec *spec, pysb_fs_handle *h, char *err, size_t errlen)
{
    h->pid = -1;
    h->ctl = -1;
    char why[512];
    if (check_start(spec, why, sizeof why) < 0) {
        snprintf(err, errlen, "refused: %s", why);
        return -1;
    }
    char *pre = NULL;
    const char **argv = server_argv(spec, &pre);
    if (!argv) {
        snprintf(err, errlen, "fork server: out of memory");
        return -1;
    }
    int sv[2] = { -1, -1 }, in[2] = { -1, -1 }, early[2] = { -1, -1 };
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(in, O_CLOEXEC) < 0 || pipe2(early, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "fork server: socketpair/pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (sv[i] >= 0)
                close(sv[i]);
            if (in[i] >= 0)
                close(in[i]);
            if (early[i] >= 0)
                close(early[i]);
        }
        free(pre);
        free(argv);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own session; stdin an empty pipe, stdout and stderr the log
         * pipe, the control socket on 3, nothing else. */
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        close(in[1]);
        /* stdout and stderr a pipe while the interpreter starts (its
         * streams cache whether they can seek: a run's are pipes, and the
         * log may be a file), the log on 4 and the pipe's other end on 5
         * (a line written meanwhile waits there) for the script to put
         * in place (pysb_fs_script). Moved up first: the log may be 1 or 2. */
        int log = fcntl(spec->log_fd, F_DUPFD, 10), i0 = fcntl(in[0], F_DUPFD, 10),
            c3 = fcntl(sv[1], F_DUPFD, 10), w = fcntl(early[1], F_DUPFD, 10),
            r = fcntl(early[0], F_DUPFD, 10);
        if (log < 0 || i0 < 0 || c3 < 0 || w < 0 || r < 0 || dup2(i0, 0) < 0 ||
            dup2(w, 1) < 0 || dup2(w, 2) < 0 || dup2(c3, 3) < 0 || dup2(log, 4) < 0 ||
            dup2(r, 5) < 0 || close_range(6, ~0U, 0) < 0)
            _exit(126);
        /* In /: without -I the interpreter puts '' (the directory it was
         * started in: the admin's, for a configtest) first on sys.path,
         * and a module planted there must never be found as root. */
        if (chdir("/") < 0)
            _exit(126);
        execve(argv[0], (char *const *)argv, pysb_child_env);
        dprintf(2, "PYSB forkserver: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int saved = errno;
    close(sv[1]);
    close(in[0]);
    close(in[1]);
    close(early[0]);
    close(early[1]);
    free(pre);
    free(argv);
    if (pid < 0) {
        close(sv[0]);
        snprintf(err, errlen, "fork server: fork: %s", strerror(saved));
        return -1;
    }
    h->pid = pid;
    h->ctl = sv[0];
    return 0;
}

int pysb_fs_wait_ready(const pysb_fs_handle *h, int timeout_ms, pysb_fs_ready *ready,
                  char *err, size_t errlen)
{
    memset(ready, 0, sizeof *ready);
    ssize_t n = recv_msg(h->ctl, ready, sizeof *ready, NULL, timeout_ms);
    if (n < 0 && errno == ETIMEDOUT)
        return 0;
    if (n == (ssize_t)sizeof *ready && header_ok(ready->magic, ready->version)) {
        if (ready->kind == PYSB_FS_READY)
            return 1;
        if (ready->kind == PYSB_FS_REFUSED) {
            ready->text[sizeof ready->text - 1] = '\0';
            snprintf(err, errlen, "%s", ready->text);
            return -1;
        }
    }
    if (n == 0)
        snprintf(err, errlen, "it exited before it was ready");
    else
        snprintf(err, errlen, "no READY: %s", n < 0 ? strerror(errno) : "a bad message");
    return -1;
}

int pysb_fs_ping_send(int ctl, int *chan)
{
    int ch[2];
    *chan = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0)
        return -1;
    pysb_fs_request rq = { .magic = PYSB_FS_MAGIC, .version = PYSB_FS_VERSION,
                           .kind = PYSB_FS_PING };
    int rc = send_fds(ctl, &rq, sizeof rq, &ch[1], 1, 0);
    close(ch[1]);
    if (rc < 0) {
        close(ch[0]);
        return -1;
    }
    *chan = ch[0];
    return 0;
}

int pysb_fs_ping_recv(int chan, int timeout_ms, pysb_fs_reply *pong)
{
    ssize_t n = recv_msg(chan, pong, sizeof *pong, NULL, timeout_ms);
    if (n < 0 && errno == ETIMEDOUT)
        return 0;
    return n == (ssize_t)sizeof *pong && header_ok(pong->magic, pong->version) &&
                   pong->kind == PYSB_FS_PONG ? 1 : -1;
}

/* ---- a run's side ------------------------------------------------------------- */

pid_t pysb_warm_start(const pysb_warm_target *t, const pysb_fs_request *rq,
                      const int child_fds[PYSB_WARM_FDS], int *pidfd, int *chan,
                      pysb_fs_reply *started, char *err, size_t errlen)
{
    *pidfd = -1;
    *chan = -1;
    int timeout = t->timeout_ms > 0 ? t->timeout_ms : 1000;
    int ch[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0) {
        snprintf(err, errlen, "warm: socketpair: %s", strerror(errno));
        return -1;
    }
    /* The fixed slots, then the optional ones that are there, said in has. */
    pysb_fs_request req = *rq;
    int fds[PYSB_FS_NFDS] = { ch[1] }, nfds = 1;
    req.has = 0;
    for (int i = PYSB_FS_FD_STDIN; i < PYSB_FS_NFDS; i++) {
        int fd = child_fds[i - 1];
        if (i >= PYSB_FS_FD_WATCH && fd < 0)
            continue;
        if (i >= PYSB_FS_FD_WATCH)
            req.has |= 1u << (i - PYSB_FS_FD_WATCH);
        fds[nfds++] = fd;
    }
    if (send_fds(t->ctl, &req, sizeof req, fds, nfds, timeout) < 0) {
        snprintf(err, errlen, "warm: sending the run: %s", strerror(errno));
        close(ch[0]);
        close(ch[1]);
        return -1;
    }
    close(ch[1]);
    int pfd;
    ssize_t n = recv_msg(ch[0], started, sizeof *started, &pfd, timeout);
    if (n == (ssize_t)sizeof *started && header_ok(started->magic, started->version) &&
        started->kind == PYSB_FS_STARTED && pfd >= 0) {
        *pidfd = pfd;
        *chan = ch[0];
        return started->pid;
    }
    if (pfd >= 0) {
        /* A reaper we cannot own: killed rather than left. */
        syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
        close(pfd);
    }
    if (n == (ssize_t)sizeof *started && started->kind == PYSB_FS_REFUSED) {
        started->text[sizeof started->text - 1] = '\0';
        snprintf(err, errlen, "warm: refused: %s", started->text);
    } else {
        snprintf(err, errlen, "warm: no answer from the fork server: %s",
                 n < 0 ? strerror(errno) : n == 0 ? "it hung up" : "a bad message");
    }
    close(ch[0]);
    return -1;
}

int pysb_warm_ended(int chan, int timeout_ms, int *wait_status, struct rusage *ru,
                    char *err, size_t errlen)
{
    pysb_fs_reply r;
    ssize_t n = recv_msg(chan, &r, sizeof r, NULL, timeout_ms);
    if (n == (ssize_t)sizeof r && header_ok(r.magic, r.version) && r.kind == PYSB_FS_ENDED) {
        *wait_status = r.wait_status;
        *ru = r.ru;
        return 0;
    }
    snprintf(err, errlen, "fork server lost the run: %s",
             n < 0 ? strerror(errno) : n == 0 ? "it died" : "a bad message");
    return -1;
}
