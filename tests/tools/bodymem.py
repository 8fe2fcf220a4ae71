#!/usr/bin/env python3
"""bodymem.py — what worst-case request bodies cost the httpd workers, for
tests/e2e/memory_<variant>.bats and the figures in bench/RESULTS.md.

For each body kind, --n clients (curl processes) send one such body each at
once, every one of them as large as the Location accepts (its cap for the
encoding, from ?info=1's max_code_size and max_stdin_size, as
httpd/request.c computes it), or --size bytes, and built to make a parser
allocate per element: a JSON array of a million zeros, objects, empty
strings, keys, a million nested arrays; a form of a million empty pairs;
multipart of thousands of tiny parts; a raw body of the largest size; and
the largest bodies a run can take in each encoding (the whole stdin as
JSON \u0001 escapes, as form %01 escapes, as a multipart file part, as the
same multipart sent chunked). The output side too: output-json-ctrl and
output-json-ffff are small form bodies of a run that prints the Location's
largest output (?info=1's output max) of \x01 (six bytes once escaped in
JSON) or \xff (not UTF-8: U+FFFD, three bytes) and asks for format=json,
whose whole output is written at the end. With --slow S each body trickles in over S
seconds (curl --limit-rate), so that all of them are held half-read at
once (not the output-* kinds: the rate would slow their answers too).

Two measures, over every worker of the httpd whose parent pid is given (the
launcher and its supervisors are not workers and are left out):
- private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup),
  summed, at rest, at the peak (sampled every 20 ms) and --settle seconds
  after the last answer (while more than 1 MB stays, twice more 0.5 s
  apart: the least);
- RSS: each worker's peak is reset (clear_refs 5) at rest, and its VmHWM
  afterwards less its VmRSS at rest is what it grew to at worst; the sum of
  these is an upper bound of the total added at any one moment (a worker
  born meanwhile counts its whole VmHWM). VmRSS again after --settle (and,
  while more than 1 MB stays, twice more 0.5 s apart: the least).

With --rounds R each kind is sent R times over: the peaks are the highest
of any round, what stays after is the last round's (what a request leaves
behind) and the first round's (cold_*: what the first big bodies leave in
httpd's per-thread allocators, which keep up to MaxMemFree each).

Prints one JSON line per kind: {"kind", "bytes", "codes", "versions" (the
HTTP status and version of each answer, or "reset" and "0"), "sizes" (the
bytes of each response body),
"rest_kb", "peak_added_kb", "after_added_kb", "cold_after_added_kb",
"rss_rest_kb", "hwm_added_kb", "rss_after_added_kb",
"cold_rss_after_added_kb", "workers", "seconds"}.

usage: bodymem.py --url URL/run --parent PID [--kinds a,b] [--n 8]
                  [--settle 1] [--slow S] [--rounds R] [--size N] [--curl=ARG]...
"""
import argparse, concurrent.futures, json, os, ssl, subprocess, sys, tempfile, threading, time, urllib.parse, urllib.request


def private_kb(pid):
    kb = 0
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith(('Private_Clean:', 'Private_Dirty:')):
                    kb += int(line.split()[1])
    except OSError:
        return 0
    return kb


def status_kb(pid, field):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_hwm(pid):
    """VmHWM back to the present VmRSS (proc(5), clear_refs: 5)."""
    try:
        with open('/proc/%d/clear_refs' % pid, 'w') as f:
            f.write('5')
    except OSError:
        pass


def workers(parent):
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index('(') + 1:st.rindex(')')]
        ppid = int(st[st.rindex(')') + 2:].split()[1])
        if ppid == parent and comm not in ('pysb-launcher', 'pysb-run'):
            out.append(int(d))
    return out


def total_kb(parent):
    return sum(private_kb(p) for p in workers(parent))


def caps(url):
    info = json.load(urllib.request.urlopen(url + '?info=1', timeout=10,
                                            context=ssl._create_unverified_context()))
    both = info['max_code_size'] + info['max_stdin_size']
    # as body_cap() in httpd/request.c: the encoded size of everything
    return {'form': both * 3 + 65536, 'json': both * 6 + 65536, 'multipart': both + 65536,
            'raw': both + 65536, 'stdin': info['max_stdin_size'],
            'output': info['output']['max']}


def output_run(byte, cap):
    """A form body: a run printing cap bytes (and more: the cap stops it)
    of byte, as format=json."""
    code = ('import sys\nb = %r * 65536\nfor i in range(%d): sys.stdout.buffer.write(b)\n'
            % (byte, cap // 65536 + 2))
    return urllib.parse.urlencode({'code': code, 'format': 'json',
                                   'output': str(cap)}).encode()


def json_list(item, size):
    n = (size - 10) // (len(item) + 1)
    return b'{"x":[' + b','.join([item] * n) + b']}'


def multipart_big(cap, size):
    """The largest multipart body a run can take: its stdin a file part."""
    return (b'--B\r\nContent-Disposition: form-data; name="code"\r\n\r\n'
            b'import sys; print(len(sys.stdin.read()))\r\n'
            b'--B\r\nContent-Disposition: form-data; name="stdin"; filename="in"\r\n'
            b'Content-Type: application/octet-stream\r\n\r\n'
            + b'\x01' * min(cap['stdin'], size - 400) + b'\r\n--B--\r\n')


def bodies(cap, size):
    """{kind: (content type, a function making the body)}: made on demand."""
    def fit(enc):
        return min(size, cap[enc]) if size else cap[enc]
    js, fs, ms, rs = fit('json'), fit('form'), fit('multipart'), fit('raw')
    part = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n'
    return {
        'json-zeros': ('application/json', lambda: json_list(b'0', js)),
        'json-objects': ('application/json', lambda: json_list(b'{}', js)),
        'json-strings': ('application/json', lambda: json_list(b'""', js)),
        'json-keys': ('application/json', lambda: b'{' + b','.join(
            b'"%08x":0' % i for i in range((js - 2) // 13)) + b'}'),
        'json-nested': ('application/json', lambda: b'[' * (js // 2) + b']' * (js // 2)),
        # the largest valid bodies a run can take: the largest stdin, every
        # byte a control character (\u0001: six bytes for one; %01: three)
        'json-escaped': ('application/json', lambda: (
            b'{"code":"import sys; print(len(sys.stdin.read()))","stdin":"'
            + b'\\u0001' * min(cap['stdin'], (js - 64) // 6) + b'"}')),
        'form-empty': ('application/x-www-form-urlencoded', lambda: b'a=&' * (fs // 3)),
        'form-pairs': ('application/x-www-form-urlencoded', lambda: b'a=1&' * (fs // 4)),
        'form-escaped': ('application/x-www-form-urlencoded', lambda: (
            b'code=import+sys%3B+print(len(sys.stdin.read()))&stdin='
            + b'%01' * min(cap['stdin'], (fs - 64) // 3))),
        'multipart-parts': ('multipart/form-data; boundary=B', lambda: (
            part * ((ms - 8) // len(part)) + b'--B--\r\n')),
        'multipart-big': ('multipart/form-data; boundary=B', lambda: multipart_big(cap, ms)),
        # the same, with no Content-Length to size its buffer by
        'multipart-chunked': ('multipart/form-data; boundary=B', lambda: multipart_big(cap, ms)),
        'raw-code': ('text/x-python', lambda: b'#' * rs),
        # the largest output, as one JSON string: escaped six times, U+FFFD
        'output-json-ctrl': ('application/x-www-form-urlencoded',
                             lambda: output_run(b'\x01', cap['output'])),
        'output-json-ffff': ('application/x-www-form-urlencoded',
                             lambda: output_run(b'\xff', cap['output'])),
    }


def post(url, ctype, path, curl_args, seconds=0.0, chunked=False):
    """One POST of the file at path by curl, at a rate that makes it last
    about seconds: (HTTP status or curl's complaint, HTTP version, the
    body's size)."""
    cmd = ['curl', '-q', '-s', '-o', '/dev/null', '-w',
           '%{http_code} %{http_version} %{size_download}',
           '--max-time', '120', '-H', 'Content-Type: ' + ctype, '-H', 'Expect:',
           '--data-binary', '@' + path] + curl_args
    if chunked:
        cmd += ['-H', 'Transfer-Encoding: chunked']
    if seconds > 0:
        cmd += ['--limit-rate', str(max(1024, int(os.path.getsize(path) / seconds)))]
    p = subprocess.run(cmd + [url], capture_output=True, text=True)
    code, version, size = (p.stdout.split(' ') + ['', '', ''])[:3]
    size = int(size) if size.isdigit() else 0
    if code.isdigit() and code != '000':
        return int(code), version, size
    # curl 7.88 loses an HTTP/2 answer that ends before the upload does:
    # mod_http2 follows it with RST_STREAM(NO_ERROR) (RFC 9113 8.1), and
    # curl reports the reset (exit 92) instead of the answer
    return ('reset' if p.returncode == 92 else 'curl exit %d' % p.returncode), version, size


def warm_up(url, a):
    """Small requests, as many at once as measured, so that every worker
    and thread that will serve has its usual heap (and mod_http2 its
    worker threads)."""
    with tempfile.NamedTemporaryFile(prefix='bodymem-') as small:
        small.write(b'info=1')
        small.flush()
        with concurrent.futures.ThreadPoolExecutor(a.n) as ex:
            for _ in range(2):
                list(ex.map(lambda _: post(url, 'application/x-www-form-urlencoded',
                                           small.name, a.curl), range(a.n)))
    time.sleep(0.3)


def one_round(url, parent, ctype, path, a, chunked, slow):
    warm_up(url, a)
    before = workers(parent)
    rest = sum(private_kb(p) for p in before)
    rss_rest = {}
    for p in before:
        reset_hwm(p)
        rss_rest[p] = status_kb(p, 'VmRSS')
    peak, seen = [rest], set(before)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            now = workers(parent)
            seen.update(now)
            peak[0] = max(peak[0], sum(private_kb(p) for p in now))
            time.sleep(0.02)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(a.n) as ex:
        answers = list(ex.map(lambda _: post(url, ctype, path, a.curl, slow, chunked),
                              range(a.n)))
    took = time.monotonic() - t0
    # the peaks, before a worker could go (prefork, event: MaxSpare…)
    hwm = sum(max(0, status_kb(p, 'VmHWM') - rss_rest.get(p, 0)) for p in seen)
    time.sleep(a.settle)
    stop.set()
    t.join()
    # What stays, not what is still being freed: while more than 1 MB is
    # over the rest, sampled twice more 0.5 s apart, the least kept (a
    # request's leftovers stay in every sample; a stream mod_http2 is
    # still tearing down on a busy machine does not).
    after = rss_after = None
    for k in range(3):
        if k:
            time.sleep(0.5)
        now = workers(parent)
        pa = sum(private_kb(p) for p in now)
        ra = sum(status_kb(p, 'VmRSS') - rss_rest.get(p, 0) for p in now)
        after = pa if after is None else min(after, pa)
        rss_after = ra if rss_after is None else min(rss_after, ra)
        if after - rest <= 1024 and rss_after <= 1024:
            break
    return dict(codes=[a[0] for a in answers], versions=[a[1] for a in answers],
                sizes=[a[2] for a in answers],
                rest_kb=rest, peak_added_kb=peak[0] - rest, after_added_kb=after - rest,
                rss_rest_kb=sum(rss_rest.values()), hwm_added_kb=hwm,
                rss_after_added_kb=rss_after, workers=len(seen), seconds=round(took, 2))


def measure(url, parent, ctype, path, a, chunked, output):
    """--rounds rounds: the peaks are the highest of any round; what stays
    after is the last round's (what each request leaves behind), and the
    first round's as cold_* (what the first big bodies leave in httpd's
    per-thread allocators, up to MaxMemFree each, and mod_http2's)."""
    # --limit-rate would slow the download too: an output run's small body
    # is sent at once
    slow = 0.0 if output else a.slow
    rounds = [one_round(url, parent, ctype, path, a, chunked, slow) for _ in range(a.rounds)]
    r = dict(rounds[-1])
    r['codes'] = [c for x in rounds for c in x['codes']]
    r['versions'] = [v for x in rounds for v in x['versions']]
    r['sizes'] = [n for x in rounds for n in x['sizes']]
    for k in ('peak_added_kb', 'hwm_added_kb', 'workers'):
        r[k] = max(x[k] for x in rounds)
    r['cold_after_added_kb'] = rounds[0]['after_added_kb']
    r['cold_rss_after_added_kb'] = rounds[0]['rss_after_added_kb']
    r['seconds'] = max(x['seconds'] for x in rounds)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--parent', type=int, required=True)
    ap.add_argument('--kinds', default='')
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--size', type=int, default=0)
    ap.add_argument('--settle', type=float, default=1.0)
    ap.add_argument('--slow', type=float, default=0.0)
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--curl', action='append', default=[],
                    help='an argument for every curl (--http2, --insecure, ...)')
    a = ap.parse_args()
    all_bodies = bodies(caps(a.url), a.size)
    kinds = a.kinds.split(',') if a.kinds else list(all_bodies)
    for k in kinds:
        ctype, make = all_bodies[k]
        with tempfile.NamedTemporaryFile(prefix='bodymem-') as f:
            f.write(make())
            f.flush()
            r = measure(a.url, a.parent, ctype, f.name, a, k.endswith('-chunked'),
                        k.startswith('output-'))
            print(json.dumps(dict(kind=k, bytes=os.path.getsize(f.name), **r)), flush=True)


if __name__ == '__main__':
    sys.exit(main())
