/* _pysandbox.c — _pysandbox, the CPython extension that turns the
 * configured interpreter into a fork server (src/forkserver.h).
 *
 * Contract: built once against CPython's stable ABI (Py_LIMITED_API 3.7,
 * the file _pysandbox.abi3.so), so any CPython from 3.7 on that an
 * administrator configures can load it — whatever Python the module was
 * built against — through nothing but limited-API calls. The engine's
 * confinement (src/) is compiled into it; it links libseccomp, never
 * libpython. One function:
 *
 *   serve(ctl_fd, interp, ro_paths, waive_landlock, vmsize_base, rss_base,
 *         version, preloaded) -> False | tuple of bytes
 *
 * runs the fork server's loop; returns False when the server is told to
 * stop (its runs in flight have ended), and in the program of a run,
 * confined, after PyOS_AfterFork_Child, the environment a cold run of it
 * would have been exec'd with ("KEY=value" entries, non-empty), which is
 * already the process's C environ: the caller puts it into posix.environ
 * (and os.environ), then runs the bootstrap and nothing else. OSError when the server cannot start (more than one
 * thread, no Landlock, ...), after READY said REFUSED.
 *
 * The GIL is never released inside serve(): no other Python thread may run
 * between the fork hooks and the clone, and none exists (checked). The fork
 * protocol is os.fork()'s: PyOS_BeforeFork before the reaper's clone,
 * PyOS_AfterFork_Parent after it, PyOS_AfterFork_Child in the program (the
 * reaper in between never runs Python). */
#define Py_LIMITED_API 0x03070000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "forkserver.h"

static void before_fork(void) { PyOS_BeforeFork(); }
static void after_parent(void) { PyOS_AfterFork_Parent(); }
static void after_child(void) { PyOS_AfterFork_Child(); }

static const pysb_fs_hooks hooks = { before_fork, after_parent, after_child };

/* A copy out of Python's objects: the loop and the children read them
 * without the interpreter. Never freed: they live as long as the server,
 * and a program inherits them harmlessly. */
static char *copy_str(PyObject *o)
{
    PyObject *b = PyUnicode_AsUTF8String(o);
    if (!b)
        return NULL;
    char *s = strdup(PyBytes_AsString(b));
    Py_DECREF(b);
    if (!s)
        PyErr_NoMemory();
    return s;
}

static PyObject *serve(PyObject *self, PyObject *args)
{
    (void)self;
    int ctl, waive, preloaded;
    PyObject *interp, *ro, *version;
    unsigned long long vms, rss;
    if (!PyArg_ParseTuple(args, "iUO!pKKUp", &ctl, &interp, &PyTuple_Type, &ro, &waive,
                          &vms, &rss, &version, &preloaded))
        return NULL;
    Py_ssize_t n = PyTuple_Size(ro);
    const char **paths = calloc((size_t)n + 1, sizeof *paths);
    if (!paths)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++)
        if (!(paths[i] = copy_str(PyTuple_GetItem(ro, i))))
            return NULL;
    pysb_fs_config cfg = {
        .ctl_fd = ctl, .ro_paths = paths, .waive_landlock = waive,
        .vmsize_base = vms, .rss_base = rss, .preloaded = preloaded,
    };
    if (!(cfg.interp = copy_str(interp)) || !(cfg.python = copy_str(version)))
        return NULL;
    char err[256];
    int rc = pysb_fs_serve(&cfg, &hooks, err, sizeof err);
    if (rc < 0) {
        PyErr_Format(PyExc_OSError, "fork server: %s", err);
        return NULL;
    }
    if (rc != 1)
        Py_RETURN_FALSE;
    char *const *env = pysb_fs_run_environ();
    Py_ssize_t k = 0;
    while (env[k])
        k++;
    /* What execve would have given the C library (getenv, a child's). The
     * time zone first: the server read the host's /etc/localtime at its
     * start, unconfined; a cold run finds none in its root (UTC). glibc
     * looks again only when TZ changed since it last looked, so it is
     * changed, then unset with the rest (the script's time.tzset()). */
    setenv("TZ", "UTC0", 1);
    tzset();
    environ = (char **)env;
    PyObject *t = PyTuple_New(k);
    for (Py_ssize_t i = 0; t && i < k; i++) {
        PyObject *b = PyBytes_FromString(env[i]);
        if (!b) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SetItem(t, i, b);
    }
    return t;
}

static PyMethodDef methods[] = {
    { "serve", serve, METH_VARARGS, "Serve warm runs (see _pysandbox.c)." },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pysandbox", "mod_pysandbox's fork server", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pysandbox(void)
{
    return PyModule_Create(&module);
}
