/* jobe_program.c — the Python program of a Jobe run (jobe.h): the source
 * and its files written into the working directory, py_compile's report
 * first on stdout, then the source run as Jobe's command line runs it;
 * base64 both ways (into the program; PHP's strict decoding of PUT's
 * file_contents).
 *
 * Contract: see jobe.h. */
#include "jobe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the program ---------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends base64 of p[0..n) to o (room for 4 * (n + 2) / 3 bytes). */
static size_t put_b64(char *o, const unsigned char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        o[k++] = b64[v >> 18 & 63];
        o[k++] = b64[v >> 12 & 63];
        o[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        o[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    return k;
}

/* Compiled as Jobe's `python3 -m py_compile FILE` would (the same texts
 * for errors and warnings), the verdict of that written first on stdout,
 * then run as `python3 [flags] FILE ARGS…` would run it. @…@ are filled in
 * by pysb_jobe_program; a2b decodes what they carry. The working
 * directory joins sys.path only after the compile report: a support file
 * named like a module the check imports (traceback, linecache, ...) must
 * not run before the report and forge it (attack-jobe). Imports write no
 * __pycache__ beside the support files: Jobe runs python3 -B (its default
 * interpreterargs -BE), and a program listing its directory sees only the
 * files it was given. Its __main__ has the names a script's has
 * (__annotations__ {}, and for a file __file__ and __cached__ None). */
static const char program[] =
    "def _pysb_jobe(a2b=__import__('binascii').a2b_base64):\n"
    "    import sys, warnings\n"
    "    src = a2b(b'@SRC@')\n"
    "    fn, *args = a2b(b'@ARGV@').decode('utf-8', 'surrogateescape').split('\\0')\n"
    "    cc = @CC@\n"
    "    opt = @OPT@\n"
    "    out = sys.stdout.buffer\n"
    "    def put(b):\n"
    "        while b:\n"
    "            b = b[out.write(b) or 0:]\n"
    "        out.flush()\n"
    "    here = None\n"
    "    try:\n"
    "        with open(fn, 'wb') as f:\n"
    "            f.write(src)\n"
    "        here = __import__('posix').getcwd()\n"
    "    except OSError:\n"
    "        pass\n"
    "    files = [@FILES@]\n"
    "    if files and here is None:\n"
    "        put(b'\\0PYSB-JOBE no scratch\\n')\n"
    "        return\n"
    "    for name, data in files:\n"
    "        with open(a2b(name).decode(), 'wb') as f:\n"
    "            f.write(a2b(data))\n"
    "    path = sys.path[:]\n"
    "    sys.path[:] = [p for p in path if p not in ('', '.', here)]\n"
    "    lines = src.decode('utf-8', 'replace').splitlines()\n"
    "    ws, err, code = [], '', None\n"
    "    try:\n"
    "        with warnings.catch_warnings(record=True) as ws:\n"
    "            code = compile(src, fn, 'exec', dont_inherit=True, optimize=opt)\n"
    "    except SyntaxError as e:\n"
    "        if type(e) is SyntaxError:\n"
    "            import traceback\n"
    "            err = ''.join(traceback.format_exception_only(SyntaxError, e))\n"
    "        else:\n"
    "            err = 'Sorry: %s: %s' % (type(e).__name__, e)\n"
    "    except Exception as e:\n"
    "        err = 'Sorry: %s: %s' % (type(e).__name__, e)\n"
    "    err = ''.join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno,\n"
    "                  lines[w.lineno - 1] if 0 < w.lineno <= len(lines) else '')\n"
    "                  for w in ws) + err\n"
    "    if err:\n"
    "        put(b'\\0PYSB-JOBE compile error\\n' + err.encode('utf-8', 'surrogateescape'))\n"
    "        return\n"
    "    put(b'\\0PYSB-JOBE compiled\\n')\n"
    "    sys.dont_write_bytecode = True\n"
    "    sys.path[:] = path\n"
    "    if here is not None:\n"
    "        sys.path.insert(0, here)\n"
    "    for o in [@WOPTS@]:\n"
    "        try:\n"
    "            warnings._setoption(a2b(o).decode())\n"
    "        except warnings._OptionError as e:\n"
    "            print('Invalid -W option ignored:', e, file=sys.stderr)\n"
    "    m = type(sys)('__main__')\n"
    "    m.__builtins__ = __builtins__\n"
    "    m.__annotations__ = {}\n"
    "    if cc is None:\n"
    "        text = src.decode('utf-8', 'replace')\n"
    "        m.__file__ = fn\n"
    "        m.__cached__ = None\n"
    "        m.__loader__ = type(sys.implementation)(get_source=lambda name: text)\n"
    "    sys.modules['__main__'] = m\n"
    "    sys.argv[:] = (['-c'] if cc is not None else []) + [fn] + args\n"
    "    try:\n"
    "        if cc is not None:\n"
    "            code = compile(cc, '<string>', 'exec', dont_inherit=True, optimize=opt)\n"
    "        exec(code, m.__dict__)\n"
    "    except SystemExit:\n"
    "        raise\n"
    "    except BaseException as e:\n"
    "        import traceback\n"
    "        traceback.print_exception(type(e), e, e.__traceback__.tb_next)\n"
    "        sys.exit(1)\n"
    "_pysb_jobe()\n";

/* dst += the part of the template up to the next @NAME@; returns the
 * template after it, or NULL at its end. */
static const char *copy_to_hole(char **dst, const char *tpl)
{
    const char *h = strchr(tpl, '@');
    size_t n = h ? (size_t)(h - tpl) : strlen(tpl);
    memcpy(*dst, tpl, n);
    *dst += n;
    return h ? strchr(h + 1, '@') + 1 : NULL;
}

static void put_bytes_expr(char **o, const char *p, size_t n)
{
    *o += put_b64(*o, (const unsigned char *)p, n);
}

char *pysb_jobe_program(const pysb_jobe_run *run, size_t *len)
{
    /* argv: the file name, then the arguments, NUL-separated. */
    size_t argv_len = strlen(run->filename);
    for (size_t i = 0; i < run->nargs; i++)
        argv_len += 1 + strlen(run->args[i]);
    size_t extra = run->ccode ? strlen(run->ccode) : 0;
    for (size_t i = 0; i < run->nwopts; i++)
        extra += strlen(run->wopts[i]) + 8;
    for (size_t i = 0; i < run->nfiles; i++)
        extra += strlen(run->files[i].name) + run->files[i].len + 16;
    size_t cap = sizeof program + 4 * (run->source_len + argv_len + extra) / 3 + 64 +
                 16 * run->nwopts + 16 * run->nfiles;
    char *buf = malloc(cap), *o = buf;
    char *argv = malloc(argv_len + 1);
    if (!buf || !argv) {
        free(buf);
        free(argv);
        return NULL;
    }
    size_t k = (size_t)sprintf(argv, "%s", run->filename);
    for (size_t i = 0; i < run->nargs; i++)
        k += (size_t)sprintf(argv + k, "%c%s", '\0', run->args[i]);
    const char *t = program;
    for (int hole = 0; t; hole++) {
        const char *name = strchr(t, '@');
        t = copy_to_hole(&o, t);
        if (!t)
            break;
        if (!strncmp(name, "@SRC@", 5))
            put_bytes_expr(&o, run->source, run->source_len);
        else if (!strncmp(name, "@ARGV@", 6))
            put_bytes_expr(&o, argv, argv_len);
        else if (!strncmp(name, "@CC@", 4) && !run->ccode)
            o += sprintf(o, "None");
        else if (!strncmp(name, "@CC@", 4)) {
            o += sprintf(o, "a2b(b'");
            put_bytes_expr(&o, run->ccode, strlen(run->ccode));
            o += sprintf(o, "').decode()");
        } else if (!strncmp(name, "@OPT@", 5))
            o += sprintf(o, "%d", run->optimize);
        else if (!strncmp(name, "@FILES@", 7))
            for (size_t i = 0; i < run->nfiles; i++) {
                o += sprintf(o, "%s(b'", i ? ", " : "");
                put_bytes_expr(&o, run->files[i].name, strlen(run->files[i].name));
                o += sprintf(o, "', b'");
                put_bytes_expr(&o, run->files[i].data, run->files[i].len);
                o += sprintf(o, "')");
            }
        else if (!strncmp(name, "@WOPTS@", 7))
            for (size_t i = 0; i < run->nwopts; i++) {
                o += sprintf(o, "%sb'", i ? ", " : "");
                put_bytes_expr(&o, run->wopts[i], strlen(run->wopts[i]));
                o += sprintf(o, "'");
            }
    }
    free(argv);
    *o = '\0';
    *len = (size_t)(o - buf);
    return buf;
}

/* ---- base64, PHP's strict way -------------------------------------------- */

long pysb_jobe_base64(const char *in, size_t n, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0, sixtets = 0, pad = 0;
    long k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        const char *at;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !c || !(at = strchr(b64, c)))
            return -1;      /* data after padding, or not base64 */
        acc = acc << 6 | (uint32_t)(at - b64);
        bits += 6;
        sixtets++;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
        }
    }
    if (sixtets % 4 == 1)
        return -1;          /* a lone sixtet is no byte */
    if (pad && (sixtets + pad) % 4 != 0)
        return -1;          /* padding of the wrong length */
    return k;
}
