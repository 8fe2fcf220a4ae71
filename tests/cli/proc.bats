#!/usr/bin/env bats
# proc.bats — processes and threads: no fork by default, no exec of anything
# but the interpreter, fork bombs and daemons contained, nothing left behind,
# threads work within their limit, signals do not leave the run.

UID_BASE=600500
load helpers

@test "proc: subprocess.run(['/bin/true']) is denied by default (control: allowed)" {
    local code='import subprocess
try:
    r = subprocess.run(["/bin/true"])
    print("RAN", r.returncode)
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED (PermissionError|BlockingIOError|OSError) [0-9]+$' "$SB_OUT" || fail "subprocess not denied"
    plain "$code"
    expect_output '^RAN 0$'
    no_leftovers
}

@test "proc: os.fork() is denied by default (control: allowed)" {
    local code='import os
try:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    print("FORKED")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED (PermissionError|BlockingIOError|OSError) [0-9]+$' "$SB_OUT" || fail "fork not denied"
    plain "$code"
    expect_output '^FORKED$'
    no_leftovers
}

@test "proc: with --nproc 5, fork works and the child's exit status is seen" {
    sb --nproc 5 -c 'import os
pid = os.fork()
if pid == 0:
    os._exit(7)
_, st = os.waitpid(pid, 0)
print("CHILD EXIT", os.waitstatus_to_exitcode(st))'
    expect_verdict ok
    out_is "CHILD EXIT 7"
    no_leftovers
}

@test "proc: os.execv('/bin/sh') is denied even with --nproc 10 (control: runs)" {
    local code='import os
try:
    os.execv("/bin/sh", ["sh", "-c", "echo hi"])
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb --nproc 10 -c "$code"
    expect_verdict ok
    # Warm: seccomp refuses every execve outright (EPERM), before the path
    # is even looked up.
    if warm_mode; then out_is "DENIED PermissionError 1"; else out_is_denied; fi
    plain "$code"
    expect_output '^hi$'
    no_leftovers
}

@test "proc: subprocess of /bin/true is denied even with --nproc 10 (control: runs)" {
    local code='import subprocess
try:
    r = subprocess.run(["/bin/true"])
    print("RAN", r.returncode)
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb --nproc 10 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED (PermissionError (1|13)|FileNotFoundError 2)$' "$SB_OUT" || fail "exec not denied"
    plain "$code"
    expect_output '^RAN 0$'
    no_leftovers
}

@test "proc: execve via ctypes of /usr/bin/env is denied (control: runs)" {
    local code='import ctypes
libc = ctypes.CDLL(None, use_errno=True)
argv = (ctypes.c_char_p * 3)(b"env", b"true", None)
envp = (ctypes.c_char_p * 1)(None)
r = libc.execve(b"/usr/bin/env", argv, envp)
print("EXECVE", r, ctypes.get_errno())'
    sb --nproc 10 -c "$code"
    expect_verdict ok
    grep -qE '^EXECVE -1 (1|13|2)$' "$SB_OUT" || fail "execve not denied"
    plain "$code"
    [ "$status" -eq 0 ] && [ -z "$output" ] || { echo "control: env did not run: $output" >&2; return 1; }
    no_leftovers
}

@test "proc: fork bomb with --nproc 20 --clock 3 is contained, nothing left" {
    sb --nproc 20 --clock 3 -c 'import os
print("START", flush=True)
while True:
    try:
        os.fork()
    except OSError:
        pass'
    jcheck '.status != "internal_error"'
    jcheck '.status | IN("ok","nonzero_exit","signal","cpu_limit","wall_limit","memory_limit","output_limit")'
    [ "$status" -eq 1 ] || fail "expected exit status 1"
    out_has "START"
    awk "BEGIN{exit !($SB_SECS < 10)}" || fail "took $SB_SECS s"
    no_leftovers
}

DAEMON='import os, sys, time
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
    except OSError:
        pass
    if os.fork() == 0:
        if CLOSE_FDS:
            fd = os.open("/dev/null", os.O_RDWR)
            for i in (0, 1, 2):
                os.dup2(fd, i)
        time.sleep(100)
        os._exit(0)
    os._exit(0)
os.waitpid(pid, 0)
print("PARENT DONE", flush=True)
sys.exit(0)'

@test "proc: a daemonised grandchild (double fork, fds closed) does not outlive the run" {
    sb --nproc 10 --clock 20 -c "CLOSE_FDS = True
$DAEMON"
    expect_verdict ok
    out_is "PARENT DONE"
    awk "BEGIN{exit !($SB_SECS < 8)}" || fail "took $SB_SECS s"
    no_leftovers
}

@test "proc: a daemonised grandchild holding stdout does not keep the run alive" {
    sb --nproc 10 --clock 20 -c "CLOSE_FDS = False
$DAEMON"
    expect_verdict ok
    out_is "PARENT DONE"
    awk "BEGIN{exit !($SB_SECS < 8)}" || fail "took $SB_SECS s (the run waited for the grandchild)"
    no_leftovers
}

@test "proc: threading works with default limits (4 threads)" {
    sb -c 'import threading
res = []
lock = threading.Lock()
def work(i):
    s = sum(range(100000 * (i + 1)))
    with lock:
        res.append(i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("THREADS", sorted(res))'
    expect_verdict ok
    out_is "THREADS [0, 1, 2, 3]"
    no_leftovers
}

@test "proc: threads are capped by --threads, the default 16 included (control: 40 threads start)" {
    local code='import threading, time
ev = threading.Event()
ts = []
try:
    for i in range(40):
        t = threading.Thread(target=ev.wait, args=(5,))
        t.start()
        ts.append(t)
    print("STARTED", len(ts))
except RuntimeError as e:
    print("LIMITED", len(ts))
ev.set()
for t in ts: t.join()'
    # exactly --threads besides the main thread, at the default memory
    # limit: the cap is --threads, not the address space (glibc's
    # per-thread arenas stopped the 7th before MALLOC_ARENA_MAX=1); the
    # default 16 all start, the 17th is refused
    sb -c "$code"
    expect_verdict ok
    out_is "LIMITED 16"
    sb --threads 8 -c "$code"
    expect_verdict ok
    grep -qE '^LIMITED 8$' "$SB_OUT" || fail "--threads 8 did not allow exactly 8 threads besides the main one"
    plain "$code"
    expect_output '^STARTED 40$'
    no_leftovers
}

@test "proc: signals cannot reach a process of the same uid outside the run" {
    setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups sleep 30 3>&- &
    local victim=$!
    BG_PIDS+=($victim)
    # the victim is the test uid's (setpriv has switched) before it is aimed at
    local i
    for i in $(seq 100); do
        [ "$(ps -o uid= -p "$victim" | tr -d ' ')" = "$TEST_UID" ] && break
        sleep 0.05
    done
    [ "$(ps -o uid= -p "$victim" | tr -d ' ')" = "$TEST_UID" ] || fail "the victim $victim never ran as uid $TEST_UID"
    local code='import os, signal
try:
    os.kill('"$victim"', 0)
    print("REACHED")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb --nproc 5 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED (ProcessLookupError|PermissionError) [0-9]+$' "$SB_OUT" || fail "signal reached the outside"
    sb --nproc 5 -c 'import os, signal
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
print("DONE")'
    kill -0 "$victim" 2>/dev/null || fail "kill(-1) from the sandbox killed a process outside it"
    plain_as_uid "$code"
    expect_output '^REACHED$'
    kill -KILL "$victim"; wait "$victim" 2>/dev/null || true
    no_leftovers
}

# live_procs UID — processes of UID that are not zombies waiting for init.
live_procs() {
    ps -e -o pid=,ruid=,euid=,stat=,args= | awk -v u="$1" '($2 == u || $3 == u) && $4 !~ /^Z/'
}

@test "proc: killing the tool (SIGTERM, then SIGKILL) kills the run" {
    local sig
    for sig in TERM KILL; do
        "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --clock 20 \
            -c 'import time; print("READY", flush=True); time.sleep(15)' \
            >"$SB_OUT" 2>"$SB_ERR" 3>&- &
        local cli=$!
        BG_PIDS+=($cli)
        local i
        for i in $(seq 100); do grep -q READY "$SB_OUT" && break; sleep 0.05; done
        grep -q READY "$SB_OUT" || fail "program never started"
        kill -"$sig" "$cli"
        wait "$cli" 2>/dev/null || true
        for i in $(seq 50); do [ -z "$(live_procs "$TEST_UID")" ] && break; sleep 0.1; done
        [ -z "$(live_procs "$TEST_UID")" ] || fail "after SIG$sig to the tool, the run lives on:
$(live_procs "$TEST_UID")"
    done
}

@test "proc: concurrent runs with distinct uids do not disturb each other" {
    local i pids=()
    for i in 0 1 2 3; do
        local u=$((TEST_UID + 50 + i))
        timeout 30 "$PYSB_RUN" --uid "$u" --gid "$u" --json --report-fd 3 \
            -c "import os, time; time.sleep(0.5); print(os.getuid())" \
            >"$BATS_TEST_TMPDIR/out$i" 2>/dev/null 3>"$BATS_TEST_TMPDIR/rep$i" &
        pids+=($!)
    done
    for i in 0 1 2 3; do
        wait "${pids[$i]}" || fail "run $i exit status $?"
        [ "$(cat "$BATS_TEST_TMPDIR/out$i")" = "$((TEST_UID + 50 + i))" ] || fail "run $i output wrong"
        jq -e '.status == "ok"' "$BATS_TEST_TMPDIR/rep$i" >/dev/null || fail "run $i not ok"
        no_leftovers $((TEST_UID + 50 + i))
    done
}

@test "proc: a run started niced keeps that nice, its new session's scheduling group too" {
    [ -e /proc/self/autogroup ] || skip "no scheduling autogroups in this kernel"
    nice -n 7 timeout 30 "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" \
        -c 'import time; print("READY", flush=True); time.sleep(2)' >"$SB_OUT" 2>/dev/null 3>&- &
    BG_PIDS+=($!)
    local i p=""
    for i in $(seq 100); do grep -q READY "$SB_OUT" && break; sleep 0.05; done
    p=$(ps -e -o pid=,ruid=,comm= | awk -v u="$TEST_UID" '$2 == u && $3 == "python3" {print $1}')
    [ -n "$p" ] || fail "no program of uid $TEST_UID"
    [ "$(ps -o ni= -p "$p" | tr -d ' ')" = 7 ] || fail "nice $(ps -o ni= -p "$p")"
    # without the autogroup's nice the run would weigh as a nice-0 group
    grep -q ' nice 7$' "/proc/$p/autogroup" || fail "autogroup: $(cat "/proc/$p/autogroup")"
    # and not niced: nothing changes
    grep -q ' nice 0$' /proc/self/autogroup || skip "this shell's own group is niced"
}

# autogroup_after_setsid SANDBOXED: a program started at nice 7 calls
# os.setsid() and says so; prints the nice of the scheduling autogroup its
# process is in, read from outside (/proc/PID/autogroup), and its output.
autogroup_after_setsid() {
    local code='import os, time
try:
    os.setsid()
    print("SETSID ok", flush=True)
except OSError as e:
    print("SETSID refused", e.errno, flush=True)
time.sleep(3)'
    : >"$SB_OUT"
    if [ "$1" = 1 ]; then
        nice -n 7 timeout 30 "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --nproc "$2" \
            -c "$code" >"$SB_OUT" 2>/dev/null 3>&- &
    else
        nice -n 7 timeout 30 setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups \
            "$PY" -I -S -c "$code" >"$SB_OUT" 2>/dev/null 3>&- &
    fi
    BG_PIDS+=($!)
    local i p=""
    for i in $(seq 100); do grep -q SETSID "$SB_OUT" && break; sleep 0.05; done
    p=$(ps -e -o pid=,ruid=,comm= | awk -v u="$TEST_UID" '$2 == u && $3 == "python3" {print $1}')
    [ -n "$p" ] || { echo "no program of uid $TEST_UID"; return; }
    echo "$(sed -n 's/.* nice \(-\?[0-9]*\)$/\1/p' "/proc/$p/autogroup") $(ps -o ni= -p "$p" | tr -d ' ') $(cat "$SB_OUT")"
    kill -KILL "$p" 2>/dev/null || true
    wait "${BG_PIDS[-1]}" || true
}

@test "proc: a niced run cannot leave its niced scheduling autogroup by os.setsid(), with one process or several (control: setsid gives a nice-0 group)" {
    [ -e /proc/self/autogroup ] || skip "no scheduling autogroups in this kernel"
    local r
    # control: the same program unsandboxed gets a fresh autogroup at nice 0,
    # where its task nice weighs nothing against other groups
    r=$(autogroup_after_setsid 0)
    echo "# control: autogroup nice, task nice, output: $r" >&3
    [[ $r == "0 7 SETSID ok" ]] || fail "control: $r"
    local n
    for n in 1 4; do
        r=$(autogroup_after_setsid 1 "$n")
        echo "# run --nproc $n: $r" >&3
        [[ $r == "7 7 SETSID refused 1" ]] || fail "--nproc $n: $r"
    done
}
