/* test_multipart.c — the multipart/form-data parser: bodies as curl 7.88,
 * Python requests and Chromium send them, every syntax rule, every error
 * path, the limits, and robustness (every prefix and many one-byte
 * mutations of real bodies).
 *
 * Contract: each body is copied into a heap buffer of exactly its length
 * before parsing, so an out-of-bounds read shows under valgrind/ASan; on
 * success every slice must lie inside that buffer (or the part's own
 * decode buffers) and no part's data may contain the delimiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "multipart.h"

#define MAXP 16

typedef struct {
    char       *buf;
    size_t      len;
    int         n;
    const char *err;
    pysb_mpart  parts[MAXP];
} result;

static pysb_slice S(const char *s)
{
    pysb_slice r = { s, strlen(s) };
    return r;
}

static int in_range(const void *p, size_t n, const void *lo, size_t lolen)
{
    const char *c = p, *b = lo;
    return c >= b && n <= lolen && (size_t)(c - b) <= lolen - n;
}

/* Every slice of every part lies in the body or the part's own buffers;
 * data never contains CRLF "--" boundary. */
static void check_parts(const char *buf, size_t len, const pysb_mpart *parts,
                        int n, pysb_slice b)
{
    char delim[4 + PYSB_MPART_BOUNDARY_MAX];

    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, b.ptr, b.len);
    for (int i = 0; i < n; i++) {
        const pysb_mpart *p = &parts[i];
        assert_non_null(p->name.ptr);
        assert_true(in_range(p->name.ptr, p->name.len, buf, len)
                    || in_range(p->name.ptr, p->name.len, p->name_buf,
                                sizeof p->name_buf));
        if (p->filename.ptr)
            assert_true(in_range(p->filename.ptr, p->filename.len, buf, len)
                        || in_range(p->filename.ptr, p->filename.len,
                                    p->filename_buf, sizeof p->filename_buf));
        if (p->content_type.ptr)
            assert_true(in_range(p->content_type.ptr, p->content_type.len,
                                 buf, len));
        assert_non_null(p->data.ptr);
        assert_true(in_range(p->data.ptr, p->data.len, buf, len));
        assert_null(memmem(p->data.ptr, p->data.len, delim, 4 + b.len));
    }
}

static void run_max(result *r, const char *body, size_t len, const char *b,
                    int max)
{
    pysb_slice bs = S(b);

    memset(r, 0, sizeof *r);
    r->buf = malloc(len ? len : 1);
    assert_non_null(r->buf);
    memcpy(r->buf, body, len);
    r->len = len;
    r->err = NULL;
    r->n = pysb_multipart_parse(r->buf, len, bs, r->parts, max, &r->err);
    if (r->n >= 0) {
        assert_true(r->n <= max);
        check_parts(r->buf, len, r->parts, r->n, bs);
    } else {
        assert_non_null(r->err);
        assert_memory_equal(r->err, "multipart: ", 11);
        assert_null(strchr(r->err, '\n'));
    }
}

static void done(result *r)
{
    free(r->buf);
    r->buf = NULL;
}

#define RUN(r, lit, b)       run_max((r), (lit), sizeof(lit) - 1, (b), MAXP)

static void assert_slice_n(pysb_slice s, const char *exp, size_t n)
{
    assert_non_null(s.ptr);
    if (s.len != n)
        fail_msg("slice length %zu, expected %zu ('%.*s' vs '%.*s')",
                 s.len, n, (int)s.len, s.ptr, (int)n, exp);
    if (n)
        assert_memory_equal(s.ptr, exp, n);
}

static void assert_slice(pysb_slice s, const char *exp)
{
    size_t n = strlen(exp);

    assert_non_null(s.ptr);
    if (s.len != n || memcmp(s.ptr, exp, n) != 0)
        fail_msg("slice '%.*s', expected '%s'", (int)s.len, s.ptr, exp);
}

static void expect_error(const char *body, size_t len, const char *b,
                         const char *msg)
{
    result r;

    run_max(&r, body, len, b, MAXP);
    if (r.n != -1)
        fail_msg("parsed %d parts, expected error '%s'", r.n, msg);
    assert_string_equal(r.err, msg);
    done(&r);
}
#define EXPECT_ERR(lit, b, msg) expect_error((lit), sizeof(lit) - 1, (b), (msg))

/* ---- real bodies ---- */

/* curl 7.88.1: curl -F code=@prog.py -F stdin=@input.txt -F cpu_time=2
 *              -F format=json  (captured from the wire) */
#define CURL1_CT "multipart/form-data; boundary=------------------------8c83f6d04f0fae24"
#define CURL1_B  "------------------------8c83f6d04f0fae24"
static const char curl1[] =
    "--------------------------8c83f6d04f0fae24\r\n"
    "Content-Disposition: form-data; name=\"code\"; filename=\"prog.py\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "import sys\n"
    "print(\"hi\")\r\n"
    "x = \"--not a boundary\"\n"
    "\r\n"
    "--------------------------8c83f6d04f0fae24\r\n"
    "Content-Disposition: form-data; name=\"stdin\"; filename=\"input.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line1\n"
    "line2\n"
    "\r\n"
    "--------------------------8c83f6d04f0fae24\r\n"
    "Content-Disposition: form-data; name=\"cpu_time\"\r\n"
    "\r\n"
    "2\r\n"
    "--------------------------8c83f6d04f0fae24\r\n"
    "Content-Disposition: form-data; name=\"format\"\r\n"
    "\r\n"
    "json\r\n"
    "--------------------------8c83f6d04f0fae24--\r\n";

/* curl 7.88.1: -F 'user_script=print(1)' -F 'stdin=' -F memory=64M
 *   -F 'file=@prog.py;type=text/x-python;filename=a"b\c.py'
 * ('"' is sent as %22, the backslash bare) */
#define CURL2_B "------------------------577991e20883836b"
static const char curl2[] =
    "--------------------------577991e20883836b\r\n"
    "Content-Disposition: form-data; name=\"user_script\"\r\n"
    "\r\n"
    "print(1)\r\n"
    "--------------------------577991e20883836b\r\n"
    "Content-Disposition: form-data; name=\"stdin\"\r\n"
    "\r\n"
    "\r\n"
    "--------------------------577991e20883836b\r\n"
    "Content-Disposition: form-data; name=\"memory\"\r\n"
    "\r\n"
    "64M\r\n"
    "--------------------------577991e20883836b\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a%22b\\c.py\"\r\n"
    "Content-Type: text/x-python\r\n"
    "\r\n"
    "import sys\n"
    "print(\"hi\")\r\n"
    "x = \"--not a boundary\"\n"
    "\r\n"
    "--------------------------577991e20883836b--\r\n";

/* Python requests 2.34: files={"code": ("prog.py", f)},
 * data={"stdin": "1 2\n", "wall_time": "5"} */
#define REQ_B "5b916cc007fb72f38789233275600be5"
static const char requests_body[] =
    "--5b916cc007fb72f38789233275600be5\r\n"
    "Content-Disposition: form-data; name=\"stdin\"\r\n"
    "\r\n"
    "1 2\n"
    "\r\n"
    "--5b916cc007fb72f38789233275600be5\r\n"
    "Content-Disposition: form-data; name=\"wall_time\"\r\n"
    "\r\n"
    "5\r\n"
    "--5b916cc007fb72f38789233275600be5\r\n"
    "Content-Disposition: form-data; name=\"code\"; filename=\"prog.py\"\r\n"
    "\r\n"
    "import sys\n"
    "print(\"hi\")\r\n"
    "x = \"--not a boundary\"\n"
    "\r\n"
    "--5b916cc007fb72f38789233275600be5--\r\n";

/* Chromium: a <form enctype=multipart/form-data> with a textarea (newlines
 * normalised to CRLF), an empty <input type=file>, a file with a UTF-8
 * name, and a select. */
#define CHROME_CT "multipart/form-data; boundary=----WebKitFormBoundaryq8Tz3pWZK7NxL2bF"
#define CHROME_B  "----WebKitFormBoundaryq8Tz3pWZK7NxL2bF"
static const char chrome[] =
    "------WebKitFormBoundaryq8Tz3pWZK7NxL2bF\r\n"
    "Content-Disposition: form-data; name=\"code\"\r\n"
    "\r\n"
    "print(\"h\xc3\xa9llo\")\r\nprint(input())\r\n"
    "------WebKitFormBoundaryq8Tz3pWZK7NxL2bF\r\n"
    "Content-Disposition: form-data; name=\"stdin\"; filename=\"\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "\r\n"
    "------WebKitFormBoundaryq8Tz3pWZK7NxL2bF\r\n"
    "Content-Disposition: form-data; name=\"extra\"; filename=\"pr\xc3\xb6gram.py\"\r\n"
    "Content-Type: text/x-python\r\n"
    "\r\n"
    "pass\n"
    "\r\n"
    "------WebKitFormBoundaryq8Tz3pWZK7NxL2bF\r\n"
    "Content-Disposition: form-data; name=\"format\"\r\n"
    "\r\n"
    "json\r\n"
    "------WebKitFormBoundaryq8Tz3pWZK7NxL2bF--\r\n";

static const char prog_py[] =
    "import sys\nprint(\"hi\")\r\nx = \"--not a boundary\"\n";

static void t_curl_files(void **state)
{
    result r;
    pysb_slice b;
    const char *err = NULL;

    (void)state;
    assert_int_equal(pysb_multipart_boundary(CURL1_CT, &b, &err), 0);
    assert_slice(b, CURL1_B);
    RUN(&r, curl1, CURL1_B);
    assert_int_equal(r.n, 4);
    assert_slice(r.parts[0].name, "code");
    assert_true(pysb_mpart_name_is(&r.parts[0], "code"));
    assert_slice(r.parts[0].filename, "prog.py");
    assert_slice(r.parts[0].content_type, "application/octet-stream");
    assert_slice(r.parts[0].data, prog_py);
    assert_slice(r.parts[1].name, "stdin");
    assert_slice(r.parts[1].filename, "input.txt");
    assert_slice(r.parts[1].content_type, "text/plain");
    assert_slice(r.parts[1].data, "line1\nline2\n");
    assert_slice(r.parts[2].name, "cpu_time");
    assert_null(r.parts[2].filename.ptr);
    assert_null(r.parts[2].content_type.ptr);
    assert_slice(r.parts[2].data, "2");
    assert_slice(r.parts[3].name, "format");
    assert_slice(r.parts[3].data, "json");
    /* zero-copy: slices point into the buffer given */
    assert_ptr_equal(r.parts[0].name.ptr, strstr(r.buf, "code\""));
    done(&r);
}

static void t_curl_fields(void **state)
{
    result r;

    (void)state;
    RUN(&r, curl2, CURL2_B);
    assert_int_equal(r.n, 4);
    assert_slice(r.parts[0].name, "user_script");
    assert_slice(r.parts[0].data, "print(1)");
    assert_slice(r.parts[1].name, "stdin");
    assert_slice(r.parts[1].data, "");
    assert_slice(r.parts[2].data, "64M");
    /* a bare backslash is literal; curl's %22 is the quote it stands for */
    assert_slice(r.parts[3].filename, "a\"b\\c.py");
    assert_slice(r.parts[3].content_type, "text/x-python");
    assert_slice(r.parts[3].data, prog_py);
    done(&r);
}

static void t_python_requests(void **state)
{
    result r;

    (void)state;
    RUN(&r, requests_body, REQ_B);
    assert_int_equal(r.n, 3);
    assert_slice(r.parts[0].name, "stdin");
    assert_slice(r.parts[0].data, "1 2\n");
    assert_slice(r.parts[1].name, "wall_time");
    assert_slice(r.parts[1].data, "5");
    assert_slice(r.parts[2].name, "code");
    assert_slice(r.parts[2].filename, "prog.py");
    assert_null(r.parts[2].content_type.ptr);
    assert_slice(r.parts[2].data, prog_py);
    done(&r);
}

static void t_chromium(void **state)
{
    result r;
    pysb_slice b;

    (void)state;
    assert_int_equal(pysb_multipart_boundary(CHROME_CT, &b, NULL), 0);
    assert_slice(b, CHROME_B);
    RUN(&r, chrome, CHROME_B);
    assert_int_equal(r.n, 4);
    assert_slice(r.parts[0].data, "print(\"h\xc3\xa9llo\")\r\nprint(input())");
    /* empty file input: a file part with an empty name and no data */
    assert_slice(r.parts[1].name, "stdin");
    assert_non_null(r.parts[1].filename.ptr);
    assert_int_equal(r.parts[1].filename.len, 0);
    assert_slice(r.parts[1].content_type, "application/octet-stream");
    assert_int_equal(r.parts[1].data.len, 0);
    assert_slice(r.parts[2].filename, "pr\xc3\xb6gram.py");
    assert_slice(r.parts[2].data, "pass\n");
    assert_slice(r.parts[3].data, "json");
    done(&r);
}

/* ---- Content-Type / boundary ---- */

static void expect_boundary(const char *ct, const char *exp)
{
    pysb_slice b = { NULL, 0 };
    const char *err = NULL;

    if (pysb_multipart_boundary(ct, &b, &err) != 0)
        fail_msg("'%s': %s", ct, err);
    assert_slice(b, exp);
    assert_true(b.ptr >= ct && b.ptr + b.len <= ct + strlen(ct));
}

static void expect_boundary_err(const char *ct, const char *msg)
{
    pysb_slice b = { NULL, 0 };
    const char *err = NULL;

    if (pysb_multipart_boundary(ct, &b, &err) != -1)
        fail_msg("'%s' accepted as '%.*s'", ct ? ct : "(null)",
                 (int)b.len, b.ptr);
    assert_string_equal(err, msg);
}

static void t_boundary_ok(void **state)
{
    char ct[200];

    (void)state;
    expect_boundary("multipart/form-data; boundary=abc", "abc");
    expect_boundary("multipart/form-data;boundary=abc", "abc");
    expect_boundary("multipart/form-data; boundary=\"----abc\"; charset=utf-8",
                    "----abc");
    expect_boundary("Multipart/Form-Data ;  BOUNDARY = xyz ; Charset=UTF-8",
                    "xyz");
    expect_boundary("  multipart/form-data; charset=utf-8; BoUnDaRy=\"q\"  ", "q");
    expect_boundary("multipart/form-data; boundary=\"a b c\"", "a b c");
    expect_boundary("multipart/form-data; boundary=a=b:c/d?e,f(g)h'+_.-", "a=b:c/d?e,f(g)h'+_.-");
    expect_boundary("multipart/form-data; foo=\"a;boundary=zz\"; boundary=real",
                    "real");
    expect_boundary("multipart/form-data; foo=\"x\\\"; boundary=zz\"; boundary=real",
                    "real");
    expect_boundary("multipart/form-data;; boundary=x;", "x");
    expect_boundary("multipart/form-data; boundary=1", "1");
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%.*s", 70,
             "0123456789012345678901234567890123456789012345678901234567890123456789");
    expect_boundary(ct, "0123456789012345678901234567890123456789012345678901234567890123456789");
}

static void t_boundary_errors(void **state)
{
    (void)state;
    expect_boundary_err(NULL, "multipart: missing Content-Type");
    expect_boundary_err("", "multipart: not multipart/form-data");
    expect_boundary_err("multipart/mixed; boundary=x", "multipart: not multipart/form-data");
    expect_boundary_err("application/x-www-form-urlencoded", "multipart: not multipart/form-data");
    expect_boundary_err("multipart/form-datax; boundary=x", "multipart: not multipart/form-data");
    expect_boundary_err("multipart; boundary=x", "multipart: not multipart/form-data");
    expect_boundary_err("multipart/form-data", "multipart: missing boundary parameter");
    expect_boundary_err("multipart/form-data; charset=utf-8",
                        "multipart: missing boundary parameter");
    expect_boundary_err("multipart/form-data; boundary=a; Boundary=a",
                        "multipart: duplicate boundary parameter");
    expect_boundary_err("multipart/form-data boundary=a",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary=",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; =x",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary=\"abc",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary=a\x01",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary=\"a\x01" "b\"",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary=a b",
                        "multipart: malformed Content-Type parameters");
    expect_boundary_err("multipart/form-data; boundary=\"\"", "multipart: bad boundary");
    expect_boundary_err("multipart/form-data; boundary=\"ab \"", "multipart: bad boundary");
    expect_boundary_err("multipart/form-data; boundary=\"a\\=b\"", "multipart: bad boundary");
    expect_boundary_err("multipart/form-data; boundary=a\\b", "multipart: bad boundary");
    expect_boundary_err("multipart/form-data; boundary=a*b", "multipart: bad boundary");
    expect_boundary_err("multipart/form-data; boundary=\"a\xc3\xa9\"", "multipart: bad boundary");
    expect_boundary_err("multipart/form-data; boundary="
        "01234567890123456789012345678901234567890123456789012345678901234567890",
        "multipart: bad boundary");
    {
        pysb_slice b;
        assert_int_equal(pysb_multipart_boundary("multipart/form-data; boundary=x",
                                                 NULL, NULL), -1);
        /* err may be NULL */
        assert_int_equal(pysb_multipart_boundary("text/plain", &b, NULL), -1);
    }
}

/* ---- body syntax ---- */

static void t_data_edge_bytes(void **state)
{
    static const char body[] =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"a\"\r\n"
        "\r\n"
        "\r\n\r\n-XyZ-not\n--XyZ\r--XyZ\r\n--XyQ\r\n-XyZ\x00\x01\xff" "a\r\n--Xy"
        "\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"b\"\r\n"
        "\r\n"
        "\r\n"
        "\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"c\"\r\n"
        "\r\n"
        "--XyZ--\r"
        "\r\n"
        "--XyZ--";
    static const char a_data[] =
        "\r\n\r\n-XyZ-not\n--XyZ\r--XyZ\r\n--XyQ\r\n-XyZ\x00\x01\xff" "a\r\n--Xy";
    result r;

    (void)state;
    RUN(&r, body, "XyZ");
    assert_int_equal(r.n, 3);
    assert_slice_n(r.parts[0].data, a_data, sizeof a_data - 1);
    assert_slice(r.parts[1].data, "\r\n");
    /* Data cannot begin with "--XyZ": the header block's last CRLF makes it
     * a delimiter (RFC 2046: a body part's [CRLF *OCTET] is optional), here
     * the close delimiter, and the rest is epilogue. */
    assert_slice(r.parts[2].data, "");
    done(&r);
}

static void t_empty_and_absent_data(void **state)
{
    result r;

    (void)state;
    /* empty data (curl, browsers) and no data at all (headers directly
     * followed by the delimiter: RFC 2046 body-part without [CRLF *OCTET]) */
    RUN(&r, "--b\r\nContent-Disposition: form-data; name=e\r\n\r\n\r\n"
            "--b\r\nContent-Disposition: form-data; name=n\r\n\r\n"
            "--b\r\nContent-Disposition: form-data; name=z\r\n\r\nz\r\n--b--", "b");
    assert_int_equal(r.n, 3);
    assert_int_equal(r.parts[0].data.len, 0);
    assert_int_equal(r.parts[1].data.len, 0);
    assert_slice(r.parts[1].name, "n");
    assert_slice(r.parts[2].data, "z");
    done(&r);

    /* only the close delimiter: no parts */
    RUN(&r, "--b--", "b");
    assert_int_equal(r.n, 0);
    done(&r);
    run_max(&r, "preamble\r\n--b--\r\n", 17, "b", 0);
    assert_int_equal(r.n, 0);
    done(&r);
}

static void t_preamble_epilogue_padding(void **state)
{
    result r;

    (void)state;
    RUN(&r, "This is a preamble --b\r\n--bX is not here\r\nstill preamble"
            "\r\n--b \t \r\nContent-Disposition: form-data; name=x\r\n\r\n1"
            "\r\n--b\t\r\nContent-Disposition: form-data; name=y\r\n\r\n2"
            "\r\n--b--  \r\nepilogue\r\n--b\r\ngarbage --bX\r\n", "b");
    /* CRLF "--b" always starts a delimiter line, even in the preamble:
     * "--bX" there is malformed. */
    assert_int_equal(r.n, -1);
    assert_string_equal(r.err, "multipart: malformed boundary line");
    done(&r);

    RUN(&r, "This is a preamble --b\r\n-b-x\n--b\rstill preamble"
            "\r\n--b \t \r\nContent-Disposition: form-data; name=x\r\n\r\n1"
            "\r\n--b\t\r\nContent-Disposition: form-data; name=y\r\n\r\n2"
            "\r\n--b--  \r\nepilogue\r\n--b\r\ngarbage --bX\r\n", "b");
    assert_int_equal(r.n, 2);
    assert_slice(r.parts[0].data, "1");
    assert_slice(r.parts[1].data, "2");
    done(&r);

    /* CRLF before the first delimiter, epilogue without CRLF */
    RUN(&r, "\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--junk", "b");
    assert_int_equal(r.n, 1);
    done(&r);
}

static void t_header_syntax(void **state)
{
    result r;

    (void)state;
    RUN(&r, "--b\r\n"
            "X-Ignored: whatever; \"x\r\n"
            "content-disposition:FORM-DATA ;NAME=code;  FileName = \"f.py\" \r\n"
            "CONTENT-TYPE: \t text/x-python; charset=utf-8 \t\r\n"
            "Content-Transfer-Encoding: BINARY\r\n"
            "\r\nx\r\n--b--", "b");
    assert_int_equal(r.n, 1);
    assert_slice(r.parts[0].name, "code");
    assert_slice(r.parts[0].filename, "f.py");
    assert_slice(r.parts[0].content_type, "text/x-python; charset=utf-8");
    done(&r);

    /* filename* is ignored, with or without a filename */
    RUN(&r, "--b\r\nContent-Disposition: form-data; name=\"f\"; "
            "filename*=UTF-8''%C3%A9.py\r\n\r\nx\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"g\"; filename=\"e.py\"; "
            "filename*=UTF-8''%C3%A9.py; name*=x; size=3\r\n\r\nx\r\n--b--", "b");
    assert_int_equal(r.n, 2);
    assert_null(r.parts[0].filename.ptr);
    assert_slice(r.parts[1].filename, "e.py");
    assert_slice(r.parts[1].name, "g");
    done(&r);

    /* empty name and empty Content-Type are kept as given */
    RUN(&r, "--b\r\nContent-Disposition: form-data; name=\"\"\r\nContent-Type:\r\n"
            "\r\nx\r\n--b--", "b");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.parts[0].name.len, 0);
    assert_non_null(r.parts[0].content_type.ptr);
    assert_int_equal(r.parts[0].content_type.len, 0);
    assert_false(pysb_mpart_name_is(&r.parts[0], "x"));
    assert_true(pysb_mpart_name_is(&r.parts[0], ""));
    done(&r);
}

static void t_quoted_escapes(void **state)
{
    result r;
    char body[800], longname[PYSB_MPART_NAME_BUF + 100];
    int n;

    (void)state;
    RUN(&r, "--b\r\nContent-Disposition: form-data; name=\"a\\\"b\"; "
            "filename=\"C:\\dir\\x.py\"\r\n\r\n1\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"c;d\"; "
            "filename=\"x\\\\y\\\".py\"\r\n\r\n2\r\n--b--", "b");
    assert_int_equal(r.n, 2);
    /* old-style \" decodes into the part's buffer */
    assert_slice(r.parts[0].name, "a\"b");
    assert_ptr_equal(r.parts[0].name.ptr, r.parts[0].name_buf);
    /* IE/curl-style bare backslashes: literal, zero-copy */
    assert_slice(r.parts[0].filename, "C:\\dir\\x.py");
    assert_true(in_range(r.parts[0].filename.ptr, 11, r.buf, r.len));
    assert_slice(r.parts[1].name, "c;d");
    assert_true(in_range(r.parts[1].name.ptr, 3, r.buf, r.len));
    assert_slice(r.parts[1].filename, "x\\y\".py");
    assert_ptr_equal(r.parts[1].filename.ptr, r.parts[1].filename_buf);
    done(&r);

    /* a name that only fits undecoded is fine unescaped... */
    memset(longname, 'n', sizeof longname);
    n = snprintf(body, sizeof body, "--b\r\nContent-Disposition: form-data; "
                 "name=\"%.*s\"\r\n\r\nv\r\n--b--", PYSB_MPART_NAME_BUF + 99, longname);
    run_max(&r, body, (size_t)n, "b", MAXP);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.parts[0].name.len, PYSB_MPART_NAME_BUF + 99);
    done(&r);
    /* ...but with an escape it must fit the buffer */
    n = snprintf(body, sizeof body, "--b\r\nContent-Disposition: form-data; "
                 "name=\"\\\"%.*s\"\r\n\r\nv\r\n--b--", PYSB_MPART_NAME_BUF - 2,
                 longname);
    run_max(&r, body, (size_t)n, "b", MAXP);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.parts[0].name.len, PYSB_MPART_NAME_BUF - 1);
    done(&r);
    n = snprintf(body, sizeof body, "--b\r\nContent-Disposition: form-data; "
                 "name=\"\\\"%.*s\"\r\n\r\nv\r\n--b--", PYSB_MPART_NAME_BUF - 1,
                 longname);
    expect_error(body, (size_t)n, "b", "multipart: escaped parameter too long");
    {
        char big[700];
        char fn[300];
        memset(fn, 'f', sizeof fn);
        n = snprintf(big, sizeof big, "--b\r\nContent-Disposition: form-data; "
                     "name=a; filename=\"\\\\%.*s\"\r\n\r\nv\r\n--b--",
                     PYSB_MPART_FILENAME_BUF - 1, fn);
        expect_error(big, (size_t)n, "b", "multipart: escaped parameter too long");
        n = snprintf(big, sizeof big, "--b\r\nContent-Disposition: form-data; "
                     "name=a; filename=\"\\\\%.*s\"\r\n\r\nv\r\n--b--",
                     PYSB_MPART_FILENAME_BUF - 2, fn);
        run_max(&r, big, (size_t)n, "b", MAXP);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.parts[0].filename.len, PYSB_MPART_FILENAME_BUF - 1);
        assert_int_equal(r.parts[0].filename.ptr[0], '\\');
        done(&r);
    }
    /* a trailing backslash escapes the closing quote: unterminated */
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=\"ab\\\"\r\n\r\nv\r\n--b--",
               "b", "multipart: malformed Content-Disposition");
}

static void t_duplicates_kept(void **state)
{
    result r;

    (void)state;
    RUN(&r, "--b\r\nContent-Disposition: form-data; name=code\r\n\r\n1\r\n"
            "--b\r\nContent-Disposition: form-data; name=code\r\n\r\n2\r\n--b--", "b");
    assert_int_equal(r.n, 2);
    assert_slice(r.parts[0].data, "1");
    assert_slice(r.parts[1].data, "2");
    done(&r);
}

/* ---- errors ---- */

static void t_errors_delimiters(void **state)
{
    (void)state;
    EXPECT_ERR("", "b", "multipart: boundary not found in body");
    EXPECT_ERR("hello world", "b", "multipart: boundary not found in body");
    EXPECT_ERR("-b\r\n", "b", "multipart: boundary not found in body");
    EXPECT_ERR("--a\r\n", "b", "multipart: boundary not found in body");
    EXPECT_ERR("\n--b\r\n", "b", "multipart: boundary not found in body");
    EXPECT_ERR("--bX\r\n", "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b-\r\n", "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b  --", "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b\rX", "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b\n", "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bb\r\n",
               "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b x\r\n",
               "b", "multipart: malformed boundary line");
    EXPECT_ERR("--b", "b", "multipart: missing closing boundary");
    EXPECT_ERR("--b-", "b", "multipart: missing closing boundary");
    EXPECT_ERR("--b  ", "b", "multipart: missing closing boundary");
    EXPECT_ERR("--b\r", "b", "multipart: missing closing boundary");
    EXPECT_ERR("--b\r\n", "b", "multipart: missing closing boundary");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx", "b",
               "multipart: missing closing boundary");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b", "b",
               "multipart: missing closing boundary");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b\r\n", "b",
               "multipart: missing closing boundary");
    /* LF-only bodies never have a delimiter after the first */
    EXPECT_ERR("--b\nContent-Disposition: form-data; name=a\n\nx\n--b--\n", "b",
               "multipart: malformed boundary line");
}

static void t_errors_headers(void **state)
{
    char body[9000 + 200];
    size_t n;

    (void)state;
    EXPECT_ERR("--b\r\n--b--", "b", "multipart: part headers not terminated");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n--b--", "b",
               "multipart: part headers not terminated");
    /* a boundary containing ':' makes its delimiter line look like a
     * header; it still may not hide inside a header block */
    EXPECT_ERR("--x:y\r\nContent-Disposition: form-data; name=a\r\n--x:y\r\n"
               "Foo: bar\r\n\r\ndata\r\n--x:y--", "x:y",
               "multipart: part headers not terminated");
    EXPECT_ERR("--b\r\nContent-Disposition : form-data; name=a\r\n\r\nx\r\n--b--",
               "b", "multipart: malformed part header line");
    EXPECT_ERR("--b\r\nNoColon\r\n\r\nx\r\n--b--", "b",
               "multipart: malformed part header line");
    EXPECT_ERR("--b\r\n: empty name\r\n\r\nx\r\n--b--", "b",
               "multipart: malformed part header line");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nx\r\n--b--",
               "b", "multipart: malformed part header line");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nx\r\n--b--",
               "b", "multipart: part header lines must end with CRLF");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\rX: y\r\n\r\nx\r\n--b--",
               "b", "multipart: part header lines must end with CRLF");
    EXPECT_ERR("--b\r\nX-A: a\x01" "b\r\nContent-Disposition: form-data; name=a\r\n"
               "\r\nx\r\n--b--", "b", "multipart: control character in part header");
    EXPECT_ERR("--b\r\nX-A: a\0b\r\n\r\nx\r\n--b--", "b",
               "multipart: control character in part header");
    EXPECT_ERR("--b\r\nX-A: \x7f\r\n\r\nx\r\n--b--", "b",
               "multipart: control character in part header");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n"
               "Content-disposition: form-data; name=b\r\n\r\nx\r\n--b--", "b",
               "multipart: duplicate Content-Disposition");
    EXPECT_ERR("--b\r\nContent-Type: a/b\r\nContent-Disposition: form-data; name=a\r\n"
               "content-type: a/b\r\n\r\nx\r\n--b--", "b",
               "multipart: duplicate Content-Type in part");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\neA==\r\n--b--", "b",
               "multipart: unsupported Content-Transfer-Encoding");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n--b--", "b",
               "multipart: unsupported Content-Transfer-Encoding");

    /* header block size: exactly PYSB_MPART_HEADER_BYTES is accepted */
    for (int extra = 0; extra <= 1; extra++) {
        static const char cd[] = "Content-Disposition: form-data; name=a\r\n";
        size_t block = PYSB_MPART_HEADER_BYTES + (size_t)extra;
        size_t filler = block - (sizeof cd - 1) - 2 - 3;   /* "X: " + CRLF */
        result r;

        n = 0;
        memcpy(body + n, "--b\r\n", 5); n += 5;
        memcpy(body + n, cd, sizeof cd - 1); n += sizeof cd - 1;
        memcpy(body + n, "X: ", 3); n += 3;
        memset(body + n, 'v', filler); n += filler;
        memcpy(body + n, "\r\n\r\nd\r\n--b--", 12); n += 12;
        run_max(&r, body, n, "b", MAXP);
        if (extra) {
            assert_int_equal(r.n, -1);
            assert_string_equal(r.err, "multipart: part headers too large");
        } else {
            assert_int_equal(r.n, 1);
            assert_slice(r.parts[0].data, "d");
        }
        done(&r);
    }

    /* header line count: PYSB_MPART_HEADER_LINES accepted, one more not */
    for (int lines = PYSB_MPART_HEADER_LINES; lines <= PYSB_MPART_HEADER_LINES + 1;
         lines++) {
        result r;

        n = 0;
        n += (size_t)sprintf(body + n, "--b\r\nContent-Disposition: form-data; name=a\r\n");
        for (int i = 1; i < lines; i++)
            n += (size_t)sprintf(body + n, "X-%d: y\r\n", i);
        n += (size_t)sprintf(body + n, "\r\nd\r\n--b--");
        run_max(&r, body, n, "b", MAXP);
        if (lines > PYSB_MPART_HEADER_LINES) {
            assert_int_equal(r.n, -1);
            assert_string_equal(r.err, "multipart: too many part header lines");
        } else {
            assert_int_equal(r.n, 1);
        }
        done(&r);
    }
}

static void t_errors_disposition(void **state)
{
    static const char *const no_name[] = {
        "--b\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: inline\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name*=utf-8''a\r\n\r\nx\r\n--b--",
    };
    static const char *const syntax[] = {
        "--b\r\nContent-Disposition: \r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: ; name=a\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data name=a\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=a b\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=a/b\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"x\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; =a\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\tb\x01\"\r\n\r\nx\r\n--b--",
    };

    (void)state;
    for (size_t i = 0; i < sizeof no_name / sizeof *no_name; i++)
        expect_error(no_name[i], strlen(no_name[i]), "b",
                     "multipart: part without Content-Disposition form-data name");
    for (size_t i = 0; i < sizeof syntax / sizeof *syntax; i++) {
        result r;
        run_max(&r, syntax[i], strlen(syntax[i]), "b", MAXP);
        if (r.n != -1)
            fail_msg("syntax[%zu] accepted", i);
        /* the last one trips the header check first */
        assert_string_equal(r.err, i + 1 < sizeof syntax / sizeof *syntax
                            ? "multipart: malformed Content-Disposition"
                            : "multipart: control character in part header");
        done(&r);
    }
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a; NAME=a\r\n\r\nx\r\n--b--",
               "b", "multipart: duplicate name or filename parameter");
    EXPECT_ERR("--b\r\nContent-Disposition: form-data; name=a; filename=x; "
               "filename=\"x\"\r\n\r\nx\r\n--b--",
               "b", "multipart: duplicate name or filename parameter");
}

static void t_errors_args(void **state)
{
    pysb_mpart parts[2];
    const char *err = NULL;
    static const char body[] = "--b--";

    (void)state;
    assert_int_equal(pysb_multipart_parse(NULL, 5, S("b"), parts, 2, &err), -1);
    assert_string_equal(err, "multipart: bad arguments");
    assert_int_equal(pysb_multipart_parse(body, 5, S("b"), NULL, 1, &err), -1);
    assert_string_equal(err, "multipart: bad arguments");
    assert_int_equal(pysb_multipart_parse(body, 5, S("b"), parts, -1, &err), -1);
    assert_string_equal(err, "multipart: bad arguments");
    assert_int_equal(pysb_multipart_parse(NULL, 0, S("b"), NULL, 0, &err), -1);
    assert_string_equal(err, "multipart: boundary not found in body");
    assert_int_equal(pysb_multipart_parse(body, 5, S(""), parts, 2, &err), -1);
    assert_string_equal(err, "multipart: bad boundary");
    {
        pysb_slice nb = { NULL, 3 };
        assert_int_equal(pysb_multipart_parse(body, 5, nb, parts, 2, &err), -1);
        assert_string_equal(err, "multipart: bad boundary");
    }
    assert_int_equal(pysb_multipart_parse(body, 5, S("a\\b"), parts, 2, &err), -1);
    assert_string_equal(err, "multipart: bad boundary");
    assert_int_equal(pysb_multipart_parse(body, 5, S("b "), parts, 2, &err), -1);
    assert_string_equal(err, "multipart: bad boundary");
    assert_int_equal(pysb_multipart_parse(body, 5, S(
        "01234567890123456789012345678901234567890123456789012345678901234567890"),
        parts, 2, &err), -1);
    assert_string_equal(err, "multipart: bad boundary");
    /* err may be NULL */
    assert_int_equal(pysb_multipart_parse(body, 5, S(""), parts, 2, NULL), -1);
    assert_int_equal(pysb_multipart_parse(body, 5, S("b"), NULL, 0, NULL), 0);
}

/* The HTML standard's form escapes in names and filenames, quoted or not:
 * %22, %0D, %0A (either case) decode; any other % stays. */
static void t_form_escapes(void **state)
{
    result r;
    (void)state;
    RUN(&r, "--b\r\nContent-Disposition: form-data; name=\"q%22uote%0d%0A.csv\"; "
            "filename=\"100%25 %22x%22.txt\"\r\n\r\nv\r\n"
            "--b\r\nContent-Disposition: form-data; name=a%22b\r\n\r\nw\r\n--b--", "b");
    assert_int_equal(r.n, 2);
    assert_slice(r.parts[0].name, "q\"uote\r\n.csv");
    assert_slice(r.parts[0].filename, "100%25 \"x\".txt");
    assert_slice(r.parts[1].name, "a\"b");
    done(&r);
}

static void t_max_parts(void **state)
{
    pysb_mpart parts[4];
    const char *err = NULL;

    (void)state;
    for (int max = 0; max <= 4; max++) {
        int n = pysb_multipart_parse(curl1, sizeof curl1 - 1, S(CURL1_B),
                                     max ? parts : NULL, max, &err);
        if (max >= 4) {
            assert_int_equal(n, 4);
        } else {
            assert_int_equal(n, -1);
            assert_string_equal(err, "multipart: too many parts");
        }
    }
}

/* ---- robustness ---- */

typedef struct {
    const char *body;
    size_t      len;
    const char *boundary;
    int         parts;
} sample;

static const sample samples[] = {
    { curl1, sizeof curl1 - 1, CURL1_B, 4 },
    { curl2, sizeof curl2 - 1, CURL2_B, 4 },
    { requests_body, sizeof requests_body - 1, REQ_B, 3 },
    { chrome, sizeof chrome - 1, CHROME_B, 4 },
};

static int same_slice(pysb_slice a, pysb_slice b)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr;
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Every prefix: an error until the close delimiter is complete, then the
 * full result. */
static void t_every_prefix(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof samples / sizeof *samples; s++) {
        const sample *sm = &samples[s];
        char close[80];
        const char *c;
        size_t close_end;
        result full;

        snprintf(close, sizeof close, "\r\n--%s--", sm->boundary);
        c = strstr(sm->body, close);
        assert_non_null(c);
        close_end = (size_t)(c - sm->body) + strlen(close);
        run_max(&full, sm->body, sm->len, sm->boundary, MAXP);
        assert_int_equal(full.n, sm->parts);

        for (size_t k = 0; k <= sm->len; k++) {
            result r;

            run_max(&r, sm->body, k, sm->boundary, MAXP);
            if (k < close_end) {
                if (r.n != -1)
                    fail_msg("sample %zu prefix %zu parsed %d parts", s, k, r.n);
            } else {
                assert_int_equal(r.n, full.n);
                for (int i = 0; i < r.n; i++) {
                    assert_true(same_slice(r.parts[i].name, full.parts[i].name));
                    assert_true(same_slice(r.parts[i].filename, full.parts[i].filename));
                    assert_true(same_slice(r.parts[i].content_type,
                                           full.parts[i].content_type));
                    assert_true(same_slice(r.parts[i].data, full.parts[i].data));
                }
            }
            done(&r);
        }
        done(&full);
    }
}

/* Every byte replaced by each of a set of syntax-relevant values: never a
 * crash, and any success satisfies check_parts (inside run_max). */
static void t_every_mutation(void **state)
{
    static const unsigned char subst[] = {
        0, '\r', '\n', '-', ' ', '\t', '"', '\\', ';', ':', '=', 'a', 0x7f, 0xff,
    };
    char *copy;

    (void)state;
    for (size_t s = 0; s < sizeof samples / sizeof *samples; s++) {
        const sample *sm = &samples[s];

        copy = malloc(sm->len);
        assert_non_null(copy);
        for (size_t k = 0; k < sm->len; k++) {
            for (size_t v = 0; v < sizeof subst; v++) {
                result r;

                memcpy(copy, sm->body, sm->len);
                copy[k] = (char)subst[v];
                run_max(&r, copy, sm->len, sm->boundary, MAXP);
                done(&r);
                /* and with the mutated byte cut off the end */
                run_max(&r, copy, k + 1, sm->boundary, MAXP);
                done(&r);
            }
        }
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_curl_files),
        cmocka_unit_test(t_curl_fields),
        cmocka_unit_test(t_python_requests),
        cmocka_unit_test(t_chromium),
        cmocka_unit_test(t_boundary_ok),
        cmocka_unit_test(t_boundary_errors),
        cmocka_unit_test(t_data_edge_bytes),
        cmocka_unit_test(t_empty_and_absent_data),
        cmocka_unit_test(t_preamble_epilogue_padding),
        cmocka_unit_test(t_header_syntax),
        cmocka_unit_test(t_quoted_escapes),
        cmocka_unit_test(t_duplicates_kept),
        cmocka_unit_test(t_errors_delimiters),
        cmocka_unit_test(t_errors_headers),
        cmocka_unit_test(t_errors_disposition),
        cmocka_unit_test(t_errors_args),
        cmocka_unit_test(t_form_escapes),
        cmocka_unit_test(t_max_parts),
        cmocka_unit_test(t_every_prefix),
        cmocka_unit_test(t_every_mutation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
