#!/usr/bin/env bats
# verdicts.bats — the exit event's statistics, and verdicts seen through
# the streaming formats: output printed before the stop is streamed, the
# exit event names the verdict, the output cap keeps exactly its bytes.

load helpers

setup_file() { stream_setup_file; }
teardown_file() { stream_teardown_file; }

@test "${T2}the exit event carries every statistic, with sane types and values" {
    post st ndjson 'x = sum(i * i for i in range(300000)); print(x)' \
        -d cpu_time=4 -d wall_time=6 -d memory=200M -d output=64K
    events st ndjson
    evcheck st '.[-1] | (.wall_time | type) == "number" and (.cpu_time | type) == "number"
        and (.user_time | type) == "number" and (.system_time | type) == "number"
        and (.memory_kb | type) == "number" and (.memory_kb | floor) == .memory_kb'
    evcheck st '.[-1] | .wall_time > 0 and .cpu_time > 0 and .wall_time < 6 and .memory_kb > 1000
        and .user_time >= 0 and .system_time >= 0
        and ((.user_time + .system_time) - .cpu_time | fabs) < 0.01'
    evcheck st '.[-1].limits == {"cpu_time": 4, "wall_time": 6, "memory": 209715200, "output": 65536, "processes": 1, "threads": 16, "scratch": 16777216, "output_files": 8388608}'
    evcheck st '.[-1] | (.run_id | test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"))
        and .status == "ok" and .message == "OK" and .exit_code == 0 and .signal == null
        and .stdout_truncated == false and .stderr_truncated == false
        and .stdout_bytes == 17 and .stderr_bytes == 0'
    evcheck st "$(joined stdout) == \"$(python3 -c 'print(sum(i * i for i in range(300000)))')\\n\""
    # The same set of statistics in sse.
    post st2 sse 'print(1)'
    events st2 sse
    evcheck st2 '.[-1] | has("wall_time") and has("cpu_time") and has("user_time") and has("system_time")
        and has("memory_kb") and has("limits") and has("run_id") and has("exit_code") and has("signal")
        and has("stdout_bytes") and has("stderr_bytes") and has("stdout_truncated") and has("stderr_truncated")
        and has("message") and has("status")'
}

@test "${T2}cpu_limit through ndjson: output before the loop streamed, Time Limit Exceeded" {
    post cpu ndjson 'import sys
print("spinning", flush=True)
print("on stderr too", file=sys.stderr, flush=True)
while True:
    pass' -d cpu_time=1
    events cpu ndjson
    evcheck cpu "$(joined stdout) == \"spinning\\n\" and $(joined stderr) == \"on stderr too\\n\""
    evcheck cpu '.[-1] | .status == "cpu_limit" and .message == "Time Limit Exceeded" and .exit_code == null'
    evcheck cpu '.[-1] | .cpu_time > 0.7 and .cpu_time < 3 and .wall_time < 5 and .limits.cpu_time == 1'
}

@test "${T2}cpu_limit through sse, with every catchable signal ignored" {
    post cpu2 sse 'import signal
for s in range(1, signal.NSIG):
    try:
        signal.signal(s, signal.SIG_IGN)
    except (OSError, ValueError, RuntimeError):
        pass
print("ignoring", flush=True)
while True:
    pass' -d cpu_time=1
    events cpu2 sse
    evcheck cpu2 "$(joined stdout) == \"ignoring\\n\""
    evcheck cpu2 '.[-1] | .status == "cpu_limit" and .wall_time < 5'
}

@test "${T2}wall_limit through ndjson: the early output arrives, then the verdict" {
    post wall ndjson 'import time
print("sleeping", flush=True)
time.sleep(30)' -d wall_time=1
    events wall ndjson
    evcheck wall "$(joined stdout) == \"sleeping\\n\""
    evcheck wall '.[-1] | .status == "wall_limit" and .wall_time >= 0.9 and .wall_time < 4 and .signal == "SIGKILL"'
}

@test "${T2}output_limit through ndjson: exactly the kept bytes are streamed" {
    post out ndjson 'import sys, time
print("start", flush=True)
sys.stdout.write("x" * 5000); sys.stdout.flush()
print("never")
time.sleep(5)' -d output=1000
    events out ndjson
    evcheck out "$(joined stdout) == \"start\\n\" + \"x\" * 994"
    evcheck out '.[-1] | .status == "output_limit" and .message == "Output Limit Exceeded"
        and .stdout_bytes == 1000 and .stdout_truncated == true and .stderr_truncated == false
        and .limits.output == 1000 and .wall_time < 4'
}

@test "${T2}output_limit through sse: the cap counts stdout and stderr together" {
    post out2 sse 'import sys, time
for i in range(100):
    sys.stdout.write("o" * 10); sys.stdout.flush()
    sys.stderr.write("e" * 10); sys.stderr.flush()
    time.sleep(0.005)
time.sleep(5)' -d output=333
    events out2 sse
    evcheck out2 '.[-1] | .status == "output_limit" and .stdout_bytes + .stderr_bytes == 333
        and (.stdout_truncated or .stderr_truncated)'
    evcheck out2 "($(joined stdout) | length) == .[-1].stdout_bytes and ($(joined stderr) | length) == .[-1].stderr_bytes"
    evcheck out2 "$(joined stdout) | test(\"^o+\$\")"
    evcheck out2 "$(joined stderr) | test(\"^e+\$\")"
}

@test "${T2}memory_limit through ndjson" {
    post mem ndjson 'print("allocating", flush=True)
blocks = []
while True:
    blocks.append(bytearray(8 * 1024 * 1024))' -d memory=64M
    events mem ndjson
    evcheck mem "$(joined stdout) == \"allocating\\n\""
    evcheck mem '.[-1] | .status == "memory_limit" and .message == "Memory Limit Exceeded" and .limits.memory == 67108864'
    evcheck mem "$(joined stderr) | test(\"MemoryError\")"
}

@test "${T2}nonzero_exit through sse: the message names the status" {
    post nz sse 'import sys; sys.stderr.write("bad\n"); sys.exit(42)'
    events nz sse
    evcheck nz '.[-1] | .status == "nonzero_exit" and .exit_code == 42
        and .message == "Command exited with non-zero status (42)"'
    evcheck nz "$(joined stderr) == \"bad\\n\""
}

@test "${T2}a client that hangs up mid-stream gets its run killed at once" {
    local t0 left
    # curl hangs up on an endless, chatty run once it has streamed (killed
    # then, not at a fixed time a loaded machine may reach first).
    curl -sS -N --max-time 20 -o "$T/hup.body" "$BASE/run" -d format=ndjson -d wall_time=20 \
        --data-urlencode 'code=import time
while True:
    print("tick", flush=True)
    time.sleep(0.1)' &
    local hup=$!
    BG_PIDS+=("$hup")
    wait_for 10 grep -q '"data":"tick' "$T/hup.body" || true
    kill -TERM "$hup" 2>/dev/null || true
    wait "$hup" 2>/dev/null || true
    grep -q '"data":"tick' "$T/hup.body" || { show "$T/hup.body"; fail "nothing streamed before the hang-up"; }
    ! grep -q '"stream":"exit"' "$T/hup.body" || fail "the run ended by itself?"
    t0=$(now)
    for _ in $(seq 1 40); do
        left=$(sandbox_procs)
        [ -z "$left" ] && break
        sleep 0.05
    done
    [ -z "$left" ] || fail "run processes still there 2 s after the hang-up:
$left"
    # The access log notes it as cancelled.
    for _ in $(seq 1 40); do
        grep -q ' cancelled ' "$SRV_DIR/access.log" && break
        sleep 0.05
    done
    grep -q ' cancelled ' "$SRV_DIR/access.log" || { tail -n 3 "$SRV_DIR/access.log" >&2; fail "no cancelled note"; }
}

@test "${T2}no run process is left behind by this file's runs" {
    local left
    left=$(sandbox_procs)
    [ -z "$left" ] || fail "processes in the run uid range remain:
$left"
}
