#!/usr/bin/env python3
"""bodymem.py — what worst-case request bodies cost the httpd workers, for
tests/e2e/memory_<mpm>.bats and the numbers in the notes.

For each body kind it measures the private memory (Private_Clean +
Private_Dirty of /proc/PID/smaps_rollup) summed over every worker of the
httpd whose parent pid is given (the launcher and its supervisors are not
workers and are left out): at rest, the peak while --n clients send one
such body each at once (sampled every 20 ms), and again --settle seconds
after the last answer. Prints one JSON line per kind:
{"kind", "bytes", "codes", "rest_kb", "peak_added_kb", "after_added_kb"}.

Each body is as large as the Location accepts (its cap for the encoding,
from ?info=1's max_code_size and max_stdin_size, as httpd/request.c
computes it), or --size bytes, and built to make a parser allocate per
element: a JSON array of a million zeros, objects, empty strings, keys, a
million nested arrays; a form of a million empty pairs; multipart of
thousands of tiny parts; a raw body of the largest size; and the largest
bodies a run can take in each encoding (the whole stdin as JSON \u0001
escapes, as form %01 escapes, as a multipart file part).

usage: bodymem.py --url URL/run --parent PID [--kinds a,b] [--n 8] [--settle 1]
"""
import argparse, concurrent.futures, json, os, sys, threading, time, urllib.parse, urllib.request, http.client


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
    info = json.load(urllib.request.urlopen(url + '?info=1', timeout=10))
    both = info['max_code_size'] + info['max_stdin_size']
    # as body_cap() in httpd/request.c: the encoded size of everything
    return {'form': both * 3 + 65536, 'json': both * 6 + 65536, 'multipart': both + 65536,
            'raw': both + 65536, 'stdin': info['max_stdin_size']}


def json_list(item, size):
    n = (size - 10) // (len(item) + 1)
    return b'{"x":[' + b','.join([item] * n) + b']}'


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
        'multipart-big': ('multipart/form-data; boundary=B', lambda: (
            b'--B\r\nContent-Disposition: form-data; name="code"\r\n\r\n'
            b'import sys; print(len(sys.stdin.read()))\r\n'
            b'--B\r\nContent-Disposition: form-data; name="stdin"; filename="in"\r\n'
            b'Content-Type: application/octet-stream\r\n\r\n'
            + b'\x01' * min(cap['stdin'], ms - 400) + b'\r\n--B--\r\n')),
        'raw-code': ('text/x-python', lambda: b'#' * rs),
    }


def post(url, ctype, body):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        c.request('POST', u.path, body=body, headers={'Content-Type': ctype,
                                                      'Connection': 'close'})
        r = c.getresponse()
        r.read()
        return r.status
    except OSError as e:
        return repr(e)
    finally:
        c.close()


def measure(url, parent, ctype, body, n, settle):
    # a few small requests first, so each worker has its usual heap
    for _ in range(4):
        post(url, 'application/x-www-form-urlencoded', b'info=1')
    time.sleep(0.3)
    rest = total_kb(parent)
    peak = [rest]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], total_kb(parent))
            time.sleep(0.02)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        codes = list(ex.map(lambda _: post(url, ctype, body), range(n)))
    time.sleep(settle)
    stop.set()
    t.join()
    after = total_kb(parent)
    return dict(codes=codes, rest_kb=rest, peak_added_kb=peak[0] - rest,
                after_added_kb=after - rest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--parent', type=int, required=True)
    ap.add_argument('--kinds', default='')
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--size', type=int, default=0)
    ap.add_argument('--settle', type=float, default=1.0)
    a = ap.parse_args()
    all_bodies = bodies(caps(a.url), a.size)
    kinds = a.kinds.split(',') if a.kinds else list(all_bodies)
    for k in kinds:
        ctype, make = all_bodies[k]
        body = make()
        r = measure(a.url, a.parent, ctype, body, a.n, a.settle)
        print(json.dumps(dict(kind=k, bytes=len(body), **r)), flush=True)


if __name__ == '__main__':
    sys.exit(main())
