#!/usr/bin/env python3
"""loadgen.py — a load generator for mod_pysandbox: many clients POSTing
programs, each waiting for its answer before it sends the next (a closed
loop, as people and test suites do), or one burst of simultaneous requests.
Used by the tests (fairness, the balancer) and by bench/ (the classroom
burst, the soak mix).

Every request is JSON format; an answer is *correct* when it is a 200 whose
result has the status and stdout its program should give. Prints one JSON
object: counts by HTTP status, correct answers, latency percentiles (ms,
of all answers and of the correct ones), requests and correct requests per
second, the last answer's time since the start, the Retry-After values
seen.

  loadgen.py URL --clients N --duration S [--mix NAME | --code CODE]
  loadgen.py URL --burst N [--mix NAME | --code CODE]

  --source IP      bind the clients' sockets to IP (127.0.0.2 is another
                   client than 127.0.0.1 on loopback)
  --header K:V     an extra request header (repeatable)
  --requests N     each client sends N requests, then stops (not --duration)
  --pause-429 MS   after a 429, a client waits MS before its next request
                   (default 0: a flood that respects nothing)
  --keepalive      reuse each client's connection (default: a new one per
                   request, Connection: close)
  --log FILE       one line per request: its start and end (seconds since
                   the start) and its HTTP status (0: no answer)
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def cpu_program(seconds, marker):
    return ("import time\nt = time.process_time()\n"
            f"while time.process_time() - t < {seconds}: pass\nprint({marker!r})\n")


# name: [(weight, code, expected status, expected stdout or None)]
MIXES = {
    # hello world
    "hello": [(1, 'print("hello world")\n', "ok", "hello world\n")],
    # the classroom's program: 0.2 s of CPU
    "classroom": [(1, cpu_program(0.2, "done"), "ok", "done\n")],
    # a short CPU-bound program (the fairness test's)
    "short": [(1, cpu_program(0.05, "done"), "ok", "done\n")],
    # the soak: what a class or a public playground sends, by weight
    "soak": [
        (40, 'print("hello world")\n', "ok", "hello world\n"),
        (25, "s = 0\nfor i in range(200000): s += i\nprint(s)\n", "ok", "19999900000\n"),
        (20, cpu_program(0.2, "done"), "ok", "done\n"),
        (5, cpu_program(1.0, "long"), "ok", "long\n"),
        (5, 'raise ValueError("a mistake")\n', "nonzero_exit", ""),
        (5, 'print("x" * 100000)\n', "ok", "x" * 100000 + "\n"),
    ],
}


def percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (k - lo), 2)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {}
        self.lat = []
        self.ok_lat = []
        self.correct = 0
        self.retry_after = {}
        self.last = 0.0
        self.errors = {}
        self.log = []
        self.bad = []
        self.wrong = {}

    def add(self, code, ms, correct, retry_after, t, body=b""):
        with self.lock:
            self.log.append((t - ms / 1000, t, code))
            if code == 200 and not correct:
                # what the wrong answers were: a run stopped at its wall
                # clock is not the same as a wrong output
                try:
                    st = json.loads(body).get("status", "?")
                except ValueError:
                    st = "not JSON"
                self.wrong[st] = self.wrong.get(st, 0) + 1
                if len(self.bad) < 3:
                    self.bad.append(body[:300].decode("utf-8", "replace"))
            self.codes[code] = self.codes.get(code, 0) + 1
            self.lat.append(ms)
            if correct:
                self.correct += 1
                self.ok_lat.append(ms)
            if retry_after is not None:
                self.retry_after[retry_after] = self.retry_after.get(retry_after, 0) + 1
            self.last = max(self.last, t)

    def error(self, what):
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def one_request(conn_box, target, mix, headers, source, keepalive, timeout):
    """Returns (HTTP status or 0, correct, Retry-After or None, the
    exception's name or None, the body)."""
    weights = [m[0] for m in mix]
    _, code, want_status, want_out = random.choices(mix, weights)[0]
    body = urllib.parse.urlencode({"code": code, "format": "json"})
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers)
    if not keepalive:
        h["Connection"] = "close"
    if conn_box[0] is None:
        conn_box[0] = http.client.HTTPConnection(
            target.hostname, target.port or 80, timeout=timeout,
            source_address=(source, 0) if source else None)
    conn = conn_box[0]
    try:
        conn.request("POST", target.path or "/", body, h)
        resp = conn.getresponse()
        data = resp.read()
        ra = resp.getheader("Retry-After")
        if not keepalive or resp.getheader("Connection", "").lower() == "close":
            conn.close()
            conn_box[0] = None
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        conn_box[0] = None
        return 0, False, None, type(e).__name__, b""
    correct = False
    if resp.status == 200:
        try:
            o = json.loads(data)
            correct = o.get("status") == want_status and (
                want_out is None or o.get("stdout") == want_out)
        except ValueError:
            pass
    return resp.status, correct, int(ra) if ra and ra.isdigit() else None, None, data


def client(args, target, mix, stats, clock, start_gate):
    conn_box = [None]
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    start_gate.wait()
    t0, stop_at = clock["t0"], clock["stop_at"]
    n = 0
    while True:
        if args.requests is not None and n >= args.requests:
            break
        if stop_at is not None and time.monotonic() >= stop_at:
            break
        t = time.monotonic()
        code, correct, ra, err, body = one_request(conn_box, target, mix, headers, args.source,
                                                   args.keepalive, args.timeout)
        now = time.monotonic()
        if err:
            stats.error(err)
        stats.add(code, (now - t) * 1000, correct, ra, now - t0, body)
        n += 1
        if code == 429 and args.pause_429:
            time.sleep(args.pause_429 / 1000)
    if conn_box[0] is not None:
        conn_box[0].close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--burst", type=int)
    ap.add_argument("--mix", default="hello", choices=sorted(MIXES))
    ap.add_argument("--code")
    ap.add_argument("--source")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--pause-429", type=float, default=0)
    ap.add_argument("--keepalive", action="store_true")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log")
    args = ap.parse_args()
    random.seed(args.seed)
    mix = [(1, args.code, "ok", None)] if args.code else MIXES[args.mix]
    if args.burst:
        args.clients, args.requests, args.duration = args.burst, 1, None
    elif args.duration is None and args.requests is None:
        ap.error("give --duration, --requests or --burst")
    target = urllib.parse.urlsplit(args.url)
    stats = Stats()
    gate = threading.Event()
    clock = {}
    threads = [threading.Thread(target=client, daemon=True,
                                args=(args, target, mix, stats, clock, gate))
               for _ in range(args.clients)]
    for th in threads:
        th.start()
    # Every client ready, then all at once (a burst is simultaneous).
    t0 = clock["t0"] = time.monotonic()
    clock["stop_at"] = t0 + args.duration if args.duration else None
    gate.set()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    total = sum(stats.codes.values())
    out = {
        "requests": total,
        "codes": {str(k): v for k, v in sorted(stats.codes.items())},
        "correct": stats.correct,
        "seconds": round(elapsed, 3),
        "req_per_s": round(total / elapsed, 2) if elapsed else None,
        "correct_per_s": round(stats.correct / elapsed, 2) if elapsed else None,
        "last_answer_s": round(stats.last, 3),
        "p50_ms": percentile(stats.lat, 0.5),
        "p90_ms": percentile(stats.lat, 0.9),
        "p99_ms": percentile(stats.lat, 0.99),
        "max_ms": round(max(stats.lat), 2) if stats.lat else None,
        "correct_p50_ms": percentile(stats.ok_lat, 0.5),
        "correct_p99_ms": percentile(stats.ok_lat, 0.99),
        "retry_after": {str(k): v for k, v in sorted(stats.retry_after.items())},
        "errors": stats.errors,
        "incorrect_200s": stats.bad,
        "incorrect_by_status": stats.wrong,
    }
    if args.log:
        with open(args.log, "w") as f:
            for a, b, c in sorted(stats.log):
                f.write(f"{a:.3f} {b:.3f} {c}\n")
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
