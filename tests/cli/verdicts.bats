#!/usr/bin/env bats
# verdicts.bats — verdicts come from what the supervisor and the kernel
# observe, never from what the program prints or does to itself (issue 8,
# point 4): forged memory and CPU verdicts, fractional CPU limits enforced
# at the fraction over every thread and process, memory bombs of many
# shapes all memory_limit, and the memory watch's cost bounded.

UID_BASE=606100   # tests 1..49; the bombs also use 606151..606199
load helpers

# within A B: |A - B| <= 0.05 (seconds)
within() { awk -v a="$1" -v b="$2" 'BEGIN{d = a - b; if (d < 0) d = -d; exit !(d <= 0.05)}'; }

expect_cpu_near() {
    local got
    got=$(jget .cpu_time)
    within "$got" "$1" || fail "cpu_time $got is not within 50 ms of the limit $1"
    echo "# --cpu $1: cpu_time $got, wall $(jget .wall_time)" >&3
}

# --- forgeries -------------------------------------------------------------

@test "forged: MemoryError written to stderr, then exit 1, is nonzero_exit" {
    sb -c 'import sys
sys.stderr.write("Traceback (most recent call last):\n  File \"main.py\", line 1\nMemoryError\n")
sys.exit(1)'
    expect_verdict nonzero_exit
    jcheck '.exit_code == 1'
    no_leftovers
}

@test "forged: \"out of memory\" then a SIGKILL of itself is signal SIGKILL" {
    sb -c 'import os, sys
sys.stderr.write("Fatal Python error: out of memory\nCannot allocate memory\n")
sys.stderr.flush()
os.kill(os.getpid(), 9)'
    expect_verdict signal
    jcheck '.signal == "SIGKILL"'
    no_leftovers
}

@test "forged: \"Fatal Python error: MemoryError\" then abort() is signal SIGABRT" {
    sb -c 'import os, sys
sys.stderr.write("Fatal Python error: MemoryError\n")
sys.stderr.flush()
os.abort()'
    expect_verdict signal
    jcheck '.signal == "SIGABRT"'
    no_leftovers
}

@test "forged: a SIGXCPU sent to itself after 0.02 s of CPU is signal SIGXCPU, not cpu_limit" {
    sb --cpu 2 -c 'import os, signal, time
t = time.process_time()
while time.process_time() - t < 0.02:
    pass
os.kill(os.getpid(), signal.SIGXCPU)'
    expect_verdict signal
    jcheck '.signal == "SIGXCPU" and .cpu_time < 1'
    no_leftovers
}

@test "real: a MemoryError caught, then exit 1, is memory_limit (the kernel refused the allocation); caught, then exit 0, is ok" {
    local code='import sys
try:
    x = bytearray(10**9)
except MemoryError:
    print("caught", flush=True)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else EXIT)'
    sb --mem 65536 -c "${code//EXIT/1}"
    expect_verdict memory_limit
    out_has caught
    jcheck '.exit_code == 1'
    sb --mem 65536 -c "${code//EXIT/0}"
    expect_verdict ok
    out_has caught
    no_leftovers
}

@test "real: a MemoryError caught, then abort(), is memory_limit (the peak at the abort)" {
    sb --mem 65536 -c 'import os
a = []
try:
    while True:
        a.append(bytearray(10**5))
except MemoryError:
    pass
os.abort()'
    expect_verdict memory_limit
    jcheck '.signal == "SIGABRT"'
    no_leftovers
}

@test "real: a run that fails for another reason near no limit is nonzero_exit (control of the memory rule)" {
    sb --mem 65536 --threads 16 -c 'import threading
x = bytearray(8 * 10**6)
ts = [threading.Thread(target=lambda: None) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
raise ValueError("not memory")'
    expect_verdict nonzero_exit
    err_has "ValueError: not memory"
    no_leftovers
}

# --- fractional CPU limits ---------------------------------------------------

SPIN='import threading, sys
def spin():
    while True:
        pass
for _ in range(THREADS - 1):
    threading.Thread(target=spin, daemon=True).start()
print("SPINNING", flush=True)
spin()'

@test "cpu: --cpu 0.3 stops a busy loop within 50 ms of 0.3 s of CPU" {
    sb --cpu 0.3 --clock 10 -c "${SPIN//THREADS/1}"
    expect_verdict cpu_limit
    expect_cpu_near 0.3
    no_leftovers
}

@test "cpu: --cpu 1.5 stops a busy loop within 50 ms of 1.5 s of CPU" {
    sb --cpu 1.5 --clock 10 -c "${SPIN//THREADS/1}"
    expect_verdict cpu_limit
    expect_cpu_near 1.5
    no_leftovers
}

@test "cpu: --cpu 0.3 with 4 busy threads: all threads count, within 50 ms" {
    sb --cpu 0.3 --clock 10 -c "${SPIN//THREADS/4}"
    expect_verdict cpu_limit
    out_is SPINNING
    expect_cpu_near 0.3
    no_leftovers
}

@test "cpu: --cpu 1.5 with 4 busy threads: all threads count, within 50 ms" {
    sb --cpu 1.5 --clock 10 -c "${SPIN//THREADS/4}"
    expect_verdict cpu_limit
    expect_cpu_near 1.5
    no_leftovers
}

@test "cpu: --cpu 0.5 with 4 busy processes (--nproc 5): every process counts, within 50 ms" {
    sb --cpu 0.5 --clock 10 --nproc 5 -c 'import os
for _ in range(3):
    if os.fork() == 0:
        break
while True:
    pass'
    expect_verdict cpu_limit
    expect_cpu_near 0.5
    no_leftovers
}

@test "cpu: a child that ended and was reaped still counts (--nproc 2, --cpu 0.4: 0.3 s in a child, then the parent spins)" {
    sb --cpu 0.4 --clock 10 --nproc 2 -c 'import os, time
pid = os.fork()
if pid == 0:
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    os._exit(0)
os.waitpid(pid, 0)
print("CHILD DONE", flush=True)
while True:
    pass'
    expect_verdict cpu_limit
    out_is "CHILD DONE"
    expect_cpu_near 0.4
    no_leftovers
}

@test "cpu: children the kernel would reap itself are refused (SIGCHLD ignored, SA_NOCLDWAIT: their CPU would count nowhere), so 20 short children still reach cpu_limit (--nproc 3)" {
    # attack9 F2: with SIGCHLD ignored, 20 children of 0.15 s each (two
    # alive at a time) ran 3 s of CPU under --cpu 1, verdict ok
    sb --cpu 1 --clock 15 --nproc 3 -c 'import ctypes, os, signal, time
try:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("SIG_IGN taken")
except PermissionError:
    print("SIG_IGN refused")
class Act(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_void_p), ("mask", ctypes.c_ulong)]
libc = ctypes.CDLL(None, use_errno=True)
act = Act(0, 2, None, 0)   # SIG_DFL with SA_NOCLDWAIT
r = libc.syscall(13, signal.SIGCHLD, ctypes.byref(act), None, 8)
print("SA_NOCLDWAIT", "taken" if r == 0 else "refused %d" % ctypes.get_errno(), flush=True)
alive = []
for _ in range(20):
    while len(alive) >= 2:
        pid, _ = os.wait()
        alive.remove(pid)
    p = os.fork()
    if p == 0:
        end = time.process_time() + 0.15
        while time.process_time() < end:
            pass
        os._exit(0)
    alive.append(p)
for p in alive:
    os.waitpid(p, 0)
print("ALL DONE")'
    expect_verdict cpu_limit
    out_has "SIG_IGN refused"
    out_has "SA_NOCLDWAIT refused 1"
    out_lacks "ALL DONE"
    expect_cpu_near 1
    no_leftovers
}

@test "cpu: a single-process run may still ignore SIGCHLD (it has no children)" {
    sb -c 'import signal
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
print(signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN)'
    expect_verdict ok
    out_is "True"
}

@test "cpu: a run that ends on its own over its exact limit is cpu_limit; under it, ok" {
    local code='import time
t = time.process_time()
while time.process_time() - t < SECS:
    pass'
    # 0.45 s of work under --cpu 0.4: the supervisor stops it (or it ends over)
    sb --cpu 0.4 -c "${code//SECS/0.45}"
    expect_verdict cpu_limit
    sb --cpu 0.4 -c "${code//SECS/0.2}"
    expect_verdict ok
    jcheck '.cpu_time < 0.4'
    no_leftovers
}

# --- memory bombs ------------------------------------------------------------

# Ten shapes: one huge object, many small ones, strings, lists, dicts,
# numpy arrays, a thread, an exit of its own after the failure.
BOMBS=(
'a = []
while True: a.append(bytearray(10**6))'
'x = bytearray(10**9)'
's = "x"
while True: s += s'
'import sys; sys.path.append("/usr/lib/python3/dist-packages"); import numpy as np
x = np.ones(10**9)'
'l = [0] * 10**9'
'd = {}
i = 0
while True:
    d[i] = str(i); i += 1'
'a = []
while True: a.append(b"x" * (1 << 20))'
'import sys; sys.path.append("/usr/lib/python3/dist-packages"); import numpy as np
a = []
while True: a.append(np.zeros(10**6) + 1)'
'import threading
a = []
def f():
    while True: a.append(bytearray(1 << 16))
t = threading.Thread(target=f); t.start(); t.join()
raise SystemExit(1)'
'a = []
while True: a.append([0] * 1000)'
)

# bomb I: run shape I % 10 at 64 MB; prints "I STATUS SIGNAL".
bomb() {
    local i=$1 uid=$2 code
    code=${BOMBS[$((i % ${#BOMBS[@]}))]}
    timeout -k 5 30 "$PYSB_RUN" --uid "$uid" --gid "$uid" --json-to fd:3 --mem 65536 \
        --clock 10 --ro /usr/lib/python3/dist-packages -c "$code" 3>&1 >/dev/null 2>/dev/null |
        jq -r --arg i "$i" '"\($i) \(.status) \(.signal)"'
}
export -f bomb

@test "memory: 50 memory bombs (10 shapes, 64 MB each, 2 at a time) are all memory_limit" {
    [ -d /usr/lib/python3/dist-packages/numpy ] || skip "numpy is not installed for $PY"
    local out="$BATS_TEST_TMPDIR/bombs" i
    export PYSB_RUN
    export BOMBS_DEF
    BOMBS_DEF=$(declare -p BOMBS)
    for i in $(seq 0 49); do
        echo "$i $((TEST_UID + i % 2 * 50))"
    done | xargs -P 2 -n 2 bash -c 'eval "$BOMBS_DEF"; bomb "$@"' _ > "$out"
    local n bad
    n=$(wc -l < "$out")
    bad=$(awk '$2 != "memory_limit"' "$out")
    echo "# $(awk '{print $2}' "$out" | sort | uniq -c | tr '\n' ' ')" >&3
    [ "$n" = 50 ] || fail "$n results: $(cat "$out")"
    [ -z "$bad" ] || fail "not memory_limit: $bad"
    no_leftovers
    no_leftovers $((TEST_UID + 50))
}

@test "memory: a program that makes notifications on purpose (2 MB mmap/munmap in a loop) costs the supervisor little CPU" {
    # --clock 5: the loop outlives the 2 s measured below, however long a
    # loaded machine takes to start it
    timeout -k 5 20 "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --clock 5 --json-to fd:3 -c 'import mmap
print("LOOP", flush=True)
n = 0
while True:
    m = mmap.mmap(-1, 2 << 20)
    m.close()
    n += 1' >"$SB_OUT" 2>"$SB_ERR" 3>"$REPORT" &
    local to=$! cli i
    BG_PIDS+=($to)
    for i in $(seq 1 100); do grep -q LOOP "$SB_OUT" && break; sleep 0.02; done
    cli=$(pgrep -P "$to" -x pysandbox-run) || fail "no pysandbox-run under timeout $to"
    # the CLI is the supervisor: its own CPU (not its children's), 2 s later
    local t0 t1 c0 c1
    t0=$(now)
    c0=$(awk '{print $14 + $15}' "/proc/$cli/stat")
    sleep 2
    c1=$(awk '{print $14 + $15}' "/proc/$cli/stat")
    t1=$(now)
    wait "$to" || true
    local ticks secs
    ticks=$(getconf CLK_TCK)
    secs=$(awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN{print (b - a) / t}')
    echo "# supervisor CPU over $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}') s of the loop: $secs s" >&3
    jcheck '.status == "wall_limit"'
    awk -v s="$secs" 'BEGIN{exit !(s < 0.3)}' || fail "the supervisor used $secs s of CPU in 2 s"
    no_leftovers
}
