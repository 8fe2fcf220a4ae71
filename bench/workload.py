# bench/workload.py RUN [N] — issue 10's programs through pysandbox-run
# (--site-packages, the matplotlib recipe) against the same programs run
# bare with /usr/bin/python3 -I (site on), interleaved; p50 of N each.
import subprocess, sys, time, statistics
run = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 15
uid = "677989"
progs = {
    "numpy": "import numpy; print(numpy.arange(10).sum())",
    "plot": "import matplotlib; matplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.plot([1, 2, 3]); plt.savefig('/dev/null', format='png')",
}
sb = [run, "--uid", uid, "--site-packages", "--ro", "/usr/share/matplotlib", "--ro",
      "/etc/matplotlibrc", "--mem", "1000000", "--cpu", "20", "--clock", "40", "-c"]
bare = ["/usr/bin/python3", "-I", "-c"]
for name, code in progs.items():
    t = {"sandbox": [], "bare": []}
    for i in range(n):
        for k, cmd in (("sandbox", sb), ("bare", bare)) if i % 2 else (("bare", bare), ("sandbox", sb)):
            t0 = time.perf_counter()
            subprocess.run(cmd + [code], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t[k].append(time.perf_counter() - t0)
    print(f"{name}: bare p50 {statistics.median(t['bare'])*1e3:.1f} ms, "
          f"sandbox p50 {statistics.median(t['sandbox'])*1e3:.1f} ms (n={n})")
