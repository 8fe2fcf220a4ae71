# bench/scratch.py RUN [N] — paired p50/p10 of `RUN --scratch 16M -c pass` against
# `--scratch 0`, interleaved (issue 10: scratch set-up may add at most 0.3 ms).
import subprocess, sys, time, statistics
run = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
uid = "677990"
t = {"16M": [], "0": []}
for i in range(n):
    for s in ("16M", "0") if i % 2 else ("0", "16M"):
        t0 = time.perf_counter()
        subprocess.run([run, "--uid", uid, "--scratch", s, "-c", "pass"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t[s].append(time.perf_counter() - t0)
d = [a - b for a, b in zip(t["16M"], t["0"])]
for k, v in t.items():
    v = sorted(v); print(f"scratch {k}: p10 {v[len(v)//10]*1e3:.2f} ms p50 {statistics.median(v)*1e3:.2f} ms")
print(f"paired difference p50 {statistics.median(d)*1e3:+.3f} ms (n={n})")
