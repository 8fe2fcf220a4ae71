#!/usr/bin/env python3
"""bench/jobe_perf.py — the burst and sustained measurement Jobe's own
client makes with `testsubmit.py --perf`, as our own code, against the
module's Jobe API (POST /jobe/index.php/restapi/runs) and, with the same
program and the same procedure, against its own /run endpoint.

The procedure (the one testsubmit.py --perf describes; written here anew):
- burst: n = 1, 2, 4, …: n threads started together, one request each on a
  new connection; the burst is OK when every answer is correct; its rate
  is n / (time from the first start to the last answer). It stops at the
  first burst with a wrong answer (or at --max-burst). "Maximum burst" is
  the last OK n; "best rate" the best OK rate.
- sustained: from half the best burst rate, rounds of window × rate
  requests started 1/rate s apart; a round is OK when every answer is; the
  rate then goes up by 1 (below 10) or by 20 %; it stops at the first round
  with a wrong answer (or at --max-rate). "Sustained rate" is the last OK.
  One addition of ours: when the very first round fails (half a burst's
  rate is often more than a server sustains; testsubmit.py then reports
  no rate at all), the start is halved until a round passes, then it climbs
  as above.
A correct answer: /jobe — HTTP 200, outcome 15, stdout "Hello world!\\n";
/run — HTTP 200, JSON status "ok", stdout "Hello world!\\n". Outcome 21 (or
a 503) is wrong, as in testsubmit.py; a refused connection is wrong here
(testsubmit.py's threads die on it and count as right).

Usage: bench/jobe_perf.py --port PORT [--host H] [--window S]
       [--max-burst N] [--max-rate R] [--endpoint jobe|run|both]
Prints one summary line per endpoint, and JSON with --json.
"""
import argparse
import http.client
import json
import threading
import time

PROGRAM = 'print("Hello world!")\n'


def post(host, port, endpoint):
    """One request on a new connection: True when the answer is correct."""
    if endpoint == "jobe":
        path = "/jobe/index.php/restapi/runs/"
        body = json.dumps({"run_spec": {"language_id": "python3", "sourcecode": PROGRAM,
                                        "sourcefilename": "test.py"}})
    else:
        path = "/run"
        body = json.dumps({"code": PROGRAM, "format": "json"})
    try:
        c = http.client.HTTPConnection(host, port, timeout=60)
        c.request("POST", path, body, {"Content-Type": "application/json; charset=utf-8",
                                       "Accept": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status != 200:
            return False
        o = json.loads(data)
        if endpoint == "jobe":
            return o.get("outcome") == 15 and o.get("stdout") == "Hello world!\n"
        return o.get("status") == "ok" and o.get("stdout") == "Hello world!\n"
    except (OSError, ValueError, http.client.HTTPException):
        return False


def round_of(host, port, endpoint, n, spacing):
    """n requests, started spacing s apart: (all correct, elapsed s)."""
    ok = [False] * n

    def one(i):
        ok[i] = post(host, port, endpoint)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for i, t in enumerate(threads):
        if spacing:
            delay = t0 + i * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        t.start()
    for t in threads:
        t.join()
    return all(ok), time.monotonic() - t0, ok.count(False)


def measure(host, port, endpoint, window, max_burst, max_rate):
    burst_ok, best_rate, n, bursts = 0, 0.0, 1, []
    while n <= max_burst:
        good, el, bad = round_of(host, port, endpoint, n, 0)
        bursts.append({"n": n, "ok": good, "rate": round(n / el, 1), "wrong": bad})
        if not good:
            break
        burst_ok, best_rate = n, max(best_rate, n / el)
        n *= 2
    rate = max(1, int(best_rate * 0.5))
    sustained, rounds = 0, []
    while rate <= max_rate:
        good, el, bad = round_of(host, port, endpoint, max(1, int(window * rate)), 1.0 / rate)
        rounds.append({"rate": rate, "ok": good, "wrong": bad})
        if not good and not sustained and rate > 1:
            rate //= 2          # the start was too high: halve it
            continue
        if not good:
            break
        sustained = rate
        rate = rate + 1 if rate < 10 else int(rate * 1.2)
    return {"endpoint": endpoint, "max_burst": burst_ok, "best_burst_rate": round(best_rate, 1),
            "sustained_rate": sustained, "bursts": bursts, "rounds": rounds}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--max-burst", type=int, default=64)
    ap.add_argument("--max-rate", type=int, default=200)
    ap.add_argument("--endpoint", choices=["jobe", "run", "both"], default="both")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    results = []
    for ep in (["jobe", "run"] if a.endpoint == "both" else [a.endpoint]):
        r = measure(a.host, a.port, ep, a.window, a.max_burst, a.max_rate)
        results.append(r)
        print("%-5s max burst %3d jobs (best burst rate %.1f jobs/s), sustained %d jobs/s "
              "(window %g s; bursts %s; rounds %s)"
              % ("/" + ep, r["max_burst"], r["best_burst_rate"], r["sustained_rate"], a.window,
                 " ".join("%d:%s" % (b["n"], "ok" if b["ok"] else "FAIL(%d)" % b["wrong"])
                          for b in r["bursts"]),
                 " ".join("%d:%s" % (x["rate"], "ok" if x["ok"] else "FAIL(%d)" % x["wrong"])
                          for x in r["rounds"])), flush=True)
    if a.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
