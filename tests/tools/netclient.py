#!/usr/bin/env python3
"""netclient.py — clients that leave in every way a real one can, for the
disconnect tests of mod_pysandbox (tests/e2e/disconnect_*.bats).

Each scenario starts a run that prints nothing for 30 s (or, where said,
runs that finish), makes the client go away in one particular manner, then
scans /proc until no process of the run's uid is left, and prints one JSON
line: {"scenario": ..., "gone_ms": [...], "ok": bool, "detail": ...}.
gone_ms is null for a run still alive after --wait seconds.

HTTP/1.1 (plain or TLS) and HTTP/2 (h2 over TLS with ALPN, or h2c by prior
knowledge) are spoken here with the standard library alone: the HTTP/2
client frames by hand and encodes headers as HPACK literals without
indexing or Huffman (RFC 7541 §6.2.2), which every decoder accepts.

usage: netclient.py SCENARIO --port P [--tls] --uids FIRST-LAST [--n N]
                    [--path /run] [--wait S]
"""
import argparse, json, os, socket, ssl, struct, sys, threading, time, urllib.parse

SILENT = 'import time\ntime.sleep(30)'
# Prints its uid (so the client knows which run is which), then finishes.
FINISHING = 'import os, time\nprint(os.getuid(), flush=True)\ntime.sleep(2)\nprint("end")'

# ---- the runs' processes ----------------------------------------------------

def run_uids(first, last):
    """uids in [first, last] that have a live (non-zombie) process."""
    out = set()
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/status' % d) as f:
                uid = state = None
                for line in f:
                    if line.startswith('State:'):
                        state = line.split()[1]
                    elif line.startswith('Uid:'):
                        uid = int(line.split()[1])
                        break
        except OSError:
            continue
        if uid is not None and first <= uid <= last and state != 'Z':
            out.add(uid)
    return out


class Runs:
    def __init__(self, first, last):
        self.first, self.last = first, last

    def now(self):
        return run_uids(self.first, self.last)

    def new_since(self, before, want=1, timeout=10.0):
        """Wait for `want` uids not in before; returns them (maybe fewer)."""
        end = time.monotonic() + timeout
        while True:
            new = self.now() - before
            if len(new) >= want or time.monotonic() > end:
                return new
            time.sleep(0.002)

    def gone_ms(self, uids, t0, timeout):
        """ms from t0 until none of uids has a process; None if they stay."""
        end = t0 + timeout
        while time.monotonic() < end:
            if not (self.now() & uids):
                return round((time.monotonic() - t0) * 1000, 1)
            time.sleep(0.0005)
        return None

# ---- HTTP/1.1 ------------------------------------------------------------------

class MemTLS:
    """TLS over a connected socket through memory BIOs: the SSL object never
    touches the socket, so a close_notify can be sent on a TCP connection
    that stays open, and one lock can serialise the SSL object between a
    reader thread and a writer (OpenSSL allows no read while another thread
    writes). The certificate is not checked (a test's self-signed one)."""

    def __init__(self, raw, alpn):
        self.raw = raw
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols([alpn])
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname='127.0.0.1')
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.pump()
                self.inc.write(raw.recv(65536))
        self.pump()
        if self.obj.selected_alpn_protocol() != alpn:
            raise RuntimeError('ALPN chose %r, not %s' % (self.obj.selected_alpn_protocol(), alpn))

    def pump(self):
        """What the SSL object wrote, onto the socket."""
        d = self.out.read()
        if d:
            self.raw.sendall(d)

    def write(self, b):
        self.obj.write(b)
        self.pump()

    def feed(self, c):
        """Received bytes in; the plaintext they complete out ('' at a
        close_notify)."""
        self.inc.write(c)
        out = b''
        while True:
            try:
                out += self.obj.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
        self.pump()             # a KeyUpdate or ticket may want an answer
        return out

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self.pump()


class Conn:
    """A TCP connection to the server and the ways to leave it."""

    def __init__(self, port):
        self.raw = socket.create_connection(('127.0.0.1', port))
        # Else Nagle may hold a small last segment (a close_notify) ~40 ms.
        self.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fin(self):
        # A reader thread may sit in recv(): shut down first, or close()
        # sends nothing until it returns.
        self.raw.shutdown(socket.SHUT_RDWR)
        self.raw.close()

    def half_close(self):
        self.raw.shutdown(socket.SHUT_WR)

    def _wake_reader(self):
        pass

    def reset(self):
        self.raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self._wake_reader()
        self.raw.close()

    def close(self):
        try:
            self.raw.close()
        except OSError:
            pass


class H1(Conn):
    """One HTTP/1.1 connection, plain or TLS (MemTLS)."""

    def __init__(self, port, tls):
        super().__init__(port)
        self.tls = MemTLS(self.raw, 'http/1.1') if tls else None

    def send(self, b):
        if self.tls:
            self.tls.write(b)
        else:
            self.raw.sendall(b)

    def recv_until(self, marker, timeout=10.0):
        """Bytes received until marker is among them (or EOF, or timeout)."""
        self.raw.settimeout(timeout)
        got = b''
        while marker not in got:
            try:
                c = self.raw.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            got += self.tls.feed(c) if self.tls else c
        return got

    def close_notify(self):
        self.tls.close_notify()         # the alert goes out; TCP stays open


def h1_request(code, path, extra_headers=b'', body_fields=None):
    body = urllib.parse.urlencode(dict(body_fields or {}, code=code)).encode()
    head = (b'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            b'Content-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: %d\r\n' % (path.encode(), len(body))) + extra_headers + b'\r\n'
    return head, body

# ---- HTTP/2 --------------------------------------------------------------------

DATA, HEADERS, RST_STREAM, SETTINGS, PING, WINDOW_UPDATE = 0, 1, 3, 4, 6, 8
CANCEL = 8


def hpack_int(n, prefix, flags=0):
    top = (1 << prefix) - 1
    if n < top:
        return bytes([flags | n])
    out = [flags | top]
    n -= top
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def hpack_literal(name, value):
    name, value = name.encode(), value.encode()
    return b'\x00' + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def frame(ftype, flags, sid, payload=b''):
    return struct.pack('>I', len(payload))[1:] + bytes([ftype, flags]) + struct.pack('>I', sid) + payload


class H2(Conn):
    """One HTTP/2 connection; a reader thread collects each stream's
    status, data, end and reset. With TLS (MemTLS) the SSL object is only
    used under self.lock."""

    def __init__(self, port, tls):
        self.authority = '127.0.0.1:%d' % port
        self.scheme = 'https' if tls else 'http'
        super().__init__(port)
        self.lock = threading.Lock()
        self.tls = MemTLS(self.raw, 'h2') if tls else None
        self.streams = {}
        self.next_sid = 1
        self.buf = b''
        self.send(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
                  + frame(SETTINGS, 0, 0, struct.pack('>HI', 4, 1 << 24))    # INITIAL_WINDOW_SIZE
                  + frame(WINDOW_UPDATE, 0, 0, struct.pack('>I', 1 << 30)))
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    def send(self, b):
        with self.lock:
            if self.tls:
                self.tls.write(b)
            else:
                self.raw.sendall(b)

    def _decrypted(self, c):
        """The plaintext of received bytes c."""
        if not self.tls:
            return c
        with self.lock:
            return self.tls.feed(c)

    def _frames(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], 'big')
            if len(self.buf) < 9 + length:
                return
            h, p, self.buf = self.buf[:9], self.buf[9:9 + length], self.buf[9 + length:]
            yield h[3], h[4], int.from_bytes(h[5:9], 'big') & 0x7fffffff, p

    def _read_loop(self):
        try:
            while True:
                c = self.raw.recv(65536)
                if not c:
                    return
                self.buf += self._decrypted(c)
                for ftype, flags, sid, p in self._frames():
                    self._on_frame(ftype, flags, sid, p)
        except (OSError, ssl.SSLError):
            pass

    def _on_frame(self, ftype, flags, sid, p):
        st = self.streams.get(sid)
        if ftype == SETTINGS and not flags & 1:
            self.send(frame(SETTINGS, 1, 0))
        elif ftype == PING and not flags & 1:
            self.send(frame(PING, 1, 0, p))
        elif st is None:
            return
        elif ftype == HEADERS:
            if st['status'] is None:
                # the first header: ':status' from the static table (0x88
                # is 200), as mod_http2 sends it
                st['status'] = 200 if p[:1] == b'\x88' else p[:1].hex()
            st['end'] |= bool(flags & 1)
        elif ftype == DATA:
            st['data'] += p
            st['end'] |= bool(flags & 1)
        elif ftype == RST_STREAM:
            st['rst'] = int.from_bytes(p, 'big')

    def post(self, code, path='/run'):
        sid = self.next_sid
        self.next_sid += 2
        body = urllib.parse.urlencode({'code': code, 'format': 'text'}).encode()
        hdr = (hpack_literal(':method', 'POST') + hpack_literal(':scheme', self.scheme)
               + hpack_literal(':path', path) + hpack_literal(':authority', self.authority)
               + hpack_literal('content-type', 'application/x-www-form-urlencoded')
               + hpack_literal('content-length', str(len(body))))
        self.streams[sid] = dict(status=None, data=bytearray(), end=False, rst=None)
        self.send(frame(HEADERS, 4, sid, hdr) + frame(DATA, 1, sid, body))  # END_HEADERS; END_STREAM
        return sid

    def wait_end(self, sids, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and not all(self.streams[s]['end'] for s in sids):
            time.sleep(0.005)

    def cancel(self, sid):
        self.send(frame(RST_STREAM, 0, sid, struct.pack('>I', CANCEL)))

    def _wake_reader(self):
        self.raw.shutdown(socket.SHUT_RD)       # wakes the reader, sends nothing
        self.reader.join(1)

# ---- scenarios -------------------------------------------------------------------


def h1_silent(a, runs, how):
    """A silent run over HTTP/1.1; then the client leaves as `how` says."""
    c = H1(a.port, a.tls)
    before = runs.now()
    if how == 'keepalive':
        # a whole request and response first, on the same connection
        head, body = h1_request('print("first")', a.path)
        c.send(head + body)
        first = c.recv_until(b'cpu usage:')
        if b'first' not in first or b'\nOK\n' not in first:
            return dict(ok=False, detail='first response: %r' % first[-200:])
    head, body = h1_request(SILENT, a.path,
                            b'Expect: 100-continue\r\n' if how == 'expect' else b'')
    if how == 'expect':
        c.send(head)
        interim = c.recv_until(b'\r\n\r\n')
        if not interim.startswith(b'HTTP/1.1 100'):
            return dict(ok=False, detail='no 100 Continue: %r' % interim[:200])
        c.send(body)
    else:
        c.send(head + body)
    uids = runs.new_since(before)
    if len(uids) != 1:
        return dict(ok=False, detail='the run did not start: %r' % uids)
    if how in ('extra-byte', 'pipelined'):
        # Once the request has been read (and its run started): what looks
        # like the start of a next request, then, a moment later, the end.
        c.send(b'G' if how == 'extra-byte' else b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
        time.sleep(0.05)
    if how == 'bigpipe':
        # More than the server's receive window (tcp_rmem: 128 KiB) after
        # the request: unread, it would close the window, and the FIN
        # would wait behind it for good. As much as goes in 2 s.
        c.raw.settimeout(2.0)
        try:
            c.send(b'X' * 200000)
        except (socket.timeout, BlockingIOError, ssl.SSLError):
            pass
        c.raw.settimeout(None)
    t0 = time.monotonic()
    if how == 'half-close':
        c.half_close()
    elif how == 'close-notify':
        c.close_notify()
    elif how == 'reset':
        c.reset()
    else:
        c.fin()
    ms = runs.gone_ms(uids, t0, a.wait)
    c.close()
    return dict(gone_ms=ms, ok=ms is not None)


def h1_fire(a, runs):
    """--n fire-and-forget clients: each sends its request, then, once its
    run has started (or after 0.3 s, if every slot is taken), one extra
    byte, and closes."""
    for _ in range(a.n):
        c = H1(a.port, a.tls)
        head, body = h1_request(SILENT, a.path)
        before = runs.now()
        c.send(head + body)
        runs.new_since(before, timeout=0.3)
        c.send(b'G')
        time.sleep(0.02)
        c.fin()
    return dict(ok=True)


def h2_silent(a, runs, how):
    """Silent runs on one HTTP/2 connection (1 for a stream reset, 2 for a
    connection's end); then the client leaves as `how` says."""
    c = H2(a.port, a.tls)
    n = 1 if how == 'cancel' else 2
    sids, uids = [], set()
    for _ in range(n):         # one by one, so that each has started
        before = runs.now()
        sids.append(c.post(SILENT, a.path))
        new = runs.new_since(before)
        if len(new) != 1:
            return dict(ok=False, detail='a run did not start: %r' % new)
        uids |= new
    t0 = time.monotonic()
    if how == 'cancel':
        c.cancel(sids[0])
    elif how == 'reset':
        c.reset()
    else:
        c.fin()
    ms = runs.gone_ms(uids, t0, a.wait)
    detail = ''
    ok = ms is not None
    if how == 'cancel' and ok:
        # the connection is still good for another run
        sid = c.post('print("after")', a.path)
        c.wait_end([sid], 10)
        st = c.streams[sid]
        ok = st['end'] and st['status'] == 200 and b'after\nOK\n' in st['data']
        detail = 'next stream: %r' % {k: (bytes(v[-80:]) if k == 'data' else v) for k, v in st.items()}
    c.close()
    return dict(gone_ms=ms, ok=ok, detail=detail)


def h2_cancel_one(a, runs):
    """--n streams on one connection print their uid, sleep 2 s and print
    "end"; one running stream is reset: its run dies at once, the others
    keep running and end with their full output. mod_http2 processes at
    most 6 streams of a fresh connection at once (and raises that as
    streams complete): two short runs first raise it; streams still queued
    when the victim is chosen are waited for, not counted on."""
    c = H2(a.port, a.tls)
    if a.n > 6:
        for _ in range(2):
            time.sleep(0.15)
            w = c.post('pass', a.path)
            c.wait_end([w], 10)
    sids = [c.post(FINISHING, a.path) for _ in range(a.n)]

    def uid_of(sid):
        first = bytes(c.streams[sid]['data']).split(b'\n')[0]
        return int(first) if first.isdigit() else None
    end = time.monotonic() + 10
    while time.monotonic() < end and sum(1 for s in sids if uid_of(s)) < min(a.n, 6):
        time.sleep(0.002)
    running = {s: uid_of(s) for s in sids if uid_of(s)}
    if len(running) < min(a.n, 6):
        return dict(ok=False, detail='only %d streams running' % len(running))
    victim = next(iter(running))
    t0 = time.monotonic()
    c.cancel(victim)
    ms = runs.gone_ms({running[victim]}, t0, a.wait)
    alive = runs.now()
    others_alive = all(u in alive for s, u in running.items() if s != victim)
    rest = [s for s in sids if s != victim]
    c.wait_end(rest, 15)
    full = [s for s in rest if c.streams[s]['end'] and c.streams[s]['rst'] is None
            and c.streams[s]['status'] == 200 and c.streams[s]['data'].endswith(b'\n')
            and b'\nend\nOK\n' in c.streams[s]['data']]
    c.close()
    ok = ms is not None and others_alive and len(full) == len(rest)
    return dict(gone_ms=ms, ok=ok, running=len(running), finished=len(full),
                detail='' if ok else 'others alive at the reset: %s' % others_alive)


SCENARIOS = {
    'h1-fin': lambda a, r: h1_silent(a, r, 'fin'),
    'h1-reset': lambda a, r: h1_silent(a, r, 'reset'),
    'h1-half-close': lambda a, r: h1_silent(a, r, 'half-close'),
    'h1-extra-byte': lambda a, r: h1_silent(a, r, 'extra-byte'),
    'h1-pipelined': lambda a, r: h1_silent(a, r, 'pipelined'),
    'h1-bigpipe': lambda a, r: h1_silent(a, r, 'bigpipe'),
    'h1-expect': lambda a, r: h1_silent(a, r, 'expect'),
    'h1-keepalive': lambda a, r: h1_silent(a, r, 'keepalive'),
    'h1-close-notify': lambda a, r: h1_silent(a, r, 'close-notify'),
    'h1-fire': h1_fire,
    'h2-cancel': lambda a, r: h2_silent(a, r, 'cancel'),
    'h2-fin': lambda a, r: h2_silent(a, r, 'fin'),
    'h2-reset': lambda a, r: h2_silent(a, r, 'reset'),
    'h2-cancel-one': h2_cancel_one,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('scenario', choices=sorted(SCENARIOS))
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--tls', action='store_true')
    ap.add_argument('--uids', required=True, help='FIRST-LAST: the run uids to watch')
    ap.add_argument('--n', type=int, default=1)
    ap.add_argument('--path', default='/run')
    ap.add_argument('--wait', type=float, default=5.0, help='seconds a run may take to go')
    a = ap.parse_args()
    first, last = map(int, a.uids.split('-'))
    try:
        res = SCENARIOS[a.scenario](a, Runs(first, last))
    except Exception as e:          # reported, not raised: the test prints it
        res = dict(ok=False, detail='%s: %s' % (type(e).__name__, e))
    res = dict(scenario=a.scenario, **res)
    print(json.dumps(res))
    return 0 if res['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
