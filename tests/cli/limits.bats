#!/usr/bin/env bats
# limits.bats — verdicts: ok, nonzero_exit, signal, cpu_limit, wall_limit,
# memory_limit, output_limit; partial output on every stop; the rlimits the
# program actually has.

UID_BASE=600200
load helpers

IGNORE_ALL='import signal
n = 0
for s in range(1, signal.NSIG):
    try:
        signal.signal(s, signal.SIG_IGN)
        n += 1
    except (OSError, ValueError, RuntimeError):
        pass
print("IGNORED", n, flush=True)
'

@test "verdict ok: status ok, message OK, exit status 0" {
    sb -c 'print("fine")'
    expect_verdict ok
    jcheck '.message == "OK" and .exit_code == 0 and .signal == null'
    no_leftovers
}

@test "verdict nonzero_exit: sys.exit(3)" {
    sb -c 'import sys; print("bye"); sys.exit(3)'
    expect_verdict nonzero_exit
    jcheck '.exit_code == 3 and .signal == null'
    jcheck '.message == "Command exited with non-zero status (3)"'
    out_is "bye"
    no_leftovers
}

@test "verdict nonzero_exit: exit(3) as written in the issue (site's exit builtin)" {
    # The interpreter runs with -S, which drops site's exit()/quit(); the
    # issue's example uses exit(3), so the bootstrap must provide them.
    sb -c 'print("bye"); exit(3)'
    expect_verdict nonzero_exit
    jcheck '.exit_code == 3 and .message == "Command exited with non-zero status (3)"'
    no_leftovers
}

@test "verdict nonzero_exit: text report says Command exited with non-zero status (3)" {
    sb_raw --uid "$TEST_UID" --gid "$TEST_GID" -c 'import sys; sys.exit(3)'
    expect_status 1
    [ "$(sed -n 1p "$SB_ERR")" = "Command exited with non-zero status (3)" ] || fail "bad report"
    no_leftovers
}

@test "verdict signal: os.kill(os.getpid(), 9)" {
    sb -c 'import os; print("dying", flush=True); os.kill(os.getpid(), 9)'
    expect_verdict signal
    jcheck '.signal == "SIGKILL" and .exit_code == null'
    jcheck '.message == "Command terminated by signal (9: SIGKILL)"'
    out_is "dying"
    no_leftovers
}

@test "verdict signal: SIGSEGV via ctypes" {
    sb -c 'import ctypes; ctypes.string_at(0)'
    expect_verdict signal
    jcheck '.signal == "SIGSEGV" and .message == "Command terminated by signal (11: SIGSEGV)"'
    no_leftovers
}

@test "verdict cpu_limit: infinite loop with --cpu 1" {
    sb --cpu 1 --clock 10 -c 'while True: pass'
    expect_verdict cpu_limit
    jcheck '.message == "Time Limit Exceeded"'
    jcheck '.cpu_time >= 0.9 and .wall_time < 5'
    no_leftovers
}

@test "verdict cpu_limit: text report says Time Limit Exceeded" {
    sb_raw --uid "$TEST_UID" --gid "$TEST_GID" --cpu 1 --clock 10 -c 'while True: pass'
    expect_status 1
    [ "$(sed -n 1p "$SB_ERR")" = "Time Limit Exceeded" ] || fail "bad report"
    grep -qE '^cpu usage: [0-9.]+ seconds$' "$SB_ERR" || fail "no cpu usage line"
    no_leftovers
}

@test "verdict cpu_limit: still cpu_limit, and quick, when every catchable signal is ignored" {
    sb --cpu 1 --clock 20 -c "$IGNORE_ALL"'
while True: pass'
    expect_verdict cpu_limit
    out_has "IGNORED"
    jcheck '.message == "Time Limit Exceeded"'
    awk "BEGIN{exit !($SB_SECS < 6)}" || fail "took $SB_SECS s (the clock was 20)"
    no_leftovers
}

@test "verdict cpu_limit: decimal --cpu 0.5" {
    sb --cpu 0.5 --clock 10 -c 'while True: pass'
    expect_verdict cpu_limit
    awk "BEGIN{exit !($SB_SECS < 5)}" || fail "took $SB_SECS s"
    no_leftovers
}

@test "verdict wall_limit: time.sleep(100) with --clock 1" {
    sb --clock 1 -c 'import time; time.sleep(100)'
    expect_verdict wall_limit
    jcheck '.message == "Time Limit Exceeded"'
    jcheck '.wall_time >= 0.9 and .wall_time < 5'
    awk "BEGIN{exit !($SB_SECS < 5)}" || fail "took $SB_SECS s"
    no_leftovers
}

@test "verdict wall_limit: sleeping with every catchable signal ignored" {
    sb --clock 1 -c "$IGNORE_ALL"'
import time
time.sleep(100)'
    expect_verdict wall_limit
    out_has "IGNORED"
    jcheck '.wall_time < 5'
    awk "BEGIN{exit !($SB_SECS < 5)}" || fail "took $SB_SECS s"
    no_leftovers
}

@test "verdict wall_limit: blocked reading stdin forever" {
    # The tool's stdin is a pipe that never ends while the run lasts.
    local fifo="$BATS_TEST_TMPDIR/fifo"
    mkfifo "$fifo"
    sleep 30 >"$fifo" 3>&- &
    BG_PIDS+=($!)
    sb --clock 1 -c 'import sys; sys.stdin.read()' <"$fifo"
    expect_verdict wall_limit
    awk "BEGIN{exit !($SB_SECS < 5)}" || fail "took $SB_SECS s"
    no_leftovers
}

@test "verdict memory_limit: appending 10 MB strings forever (default 256M)" {
    sb -c 'a = []
while True:
    a.append(" " * 10**7)'
    expect_verdict memory_limit
    jcheck '.message == "Memory Limit Exceeded"'
    no_leftovers
}

@test "verdict memory_limit: bytearray(10**10)" {
    sb -c 'b = bytearray(10**10)'
    expect_verdict memory_limit
    jcheck '.message == "Memory Limit Exceeded"'
    no_leftovers
}

@test "verdict memory_limit: text report says Memory Limit Exceeded" {
    sb_raw --uid "$TEST_UID" --gid "$TEST_GID" -c 'b = bytearray(10**10)'
    expect_status 1
    grep -qx "Memory Limit Exceeded" "$SB_ERR" || fail "bad report"
    no_leftovers
}

@test "verdict memory_limit: --mem is honoured (100 MB fails under 65536 KB, fine under default)" {
    sb --mem 65536 -c 'b = bytearray(100 * 2**20); print("ALLOC")'
    expect_verdict memory_limit
    out_lacks "ALLOC"
    sb -c 'b = bytearray(100 * 2**20); print("ALLOC")'
    expect_verdict ok
    out_is "ALLOC"
    no_leftovers
}

@test "verdict output_limit: print flood with --output 10K keeps exactly 10240 bytes" {
    sb --output 10K --clock 10 -c 'while True: print("x" * 1000)'
    expect_verdict output_limit
    jcheck '.message == "Output Limit Exceeded"'
    jcheck '.stdout_truncated == true'
    jcheck '(.stdout | length) == 10240'
    jcheck '.stdout_bytes >= 10240'
    # The kept bytes are the first ones produced.
    local expect="$BATS_TEST_TMPDIR/expect"
    "$PY" -I -S -c 'import sys; sys.stdout.write((("x" * 1000 + "\n") * 11)[:10240])' >"$expect"
    jq -j .stdout "$REPORT" | cmp - "$expect" || fail "JSON stdout is not the first 10240 bytes"
    [ "$(stat -c %s "$SB_OUT")" -eq 10240 ] || fail "relayed stdout is $(stat -c %s "$SB_OUT") bytes"
    cmp "$SB_OUT" "$expect" || fail "relayed stdout is not the first 10240 bytes"
    no_leftovers
}

@test "verdict output_limit: the cap counts stderr too" {
    sb --output 10K --clock 10 -c 'import sys
while True:
    sys.stdout.write("o" * 100 + "\n")
    sys.stderr.write("e" * 100 + "\n")'
    expect_verdict output_limit
    jcheck '.stdout_truncated or .stderr_truncated'
    jcheck '((.stdout | length) + (.stderr | length)) == 10240'
    local total=$(( $(stat -c %s "$SB_OUT") + $(stat -c %s "$SB_ERR") ))
    [ "$total" -eq 10240 ] || fail "relayed $total bytes"
    no_leftovers
}

@test "verdict output_limit: output of exactly the limit is not over it" {
    sb --output 10K -c 'import sys; sys.stdout.write("y" * 10239 + "\n")'
    expect_verdict ok
    jcheck '.stdout_truncated == false and (.stdout | length) == 10240'
    no_leftovers
}

@test "partial output survives the cpu limit" {
    sb --cpu 1 --clock 10 -c 'print("before", flush=True)
while True: pass'
    expect_verdict cpu_limit
    out_is "before"
    jcheck '.stdout == "before\n"'
    no_leftovers
}

@test "partial output survives the wall limit" {
    sb --clock 1 -c 'import sys, time
print("before")
sys.stderr.write("err-before\n")
time.sleep(100)'
    expect_verdict wall_limit
    out_is "before"
    err_has "err-before"
    jcheck '.stdout == "before\n" and .stderr == "err-before\n"'
    no_leftovers
}

@test "partial output survives the memory limit" {
    sb -c 'print("before", flush=True)
a = []
while True:
    a.append(" " * 10**7)'
    expect_verdict memory_limit
    out_has "before"
    jcheck '.stdout == "before\n"'
    no_leftovers
}

@test "partial output survives SIGKILL" {
    sb -c 'import os
print("before")
os.kill(os.getpid(), 9)'
    expect_verdict signal
    out_is "before"
    no_leftovers
}

@test "rlimits: the program has the limits asked for" {
    sb --cpu 3 --mem 200000 --fsize 100 --nfile 32 --stack 4096 -c 'import resource as r
for name in ("CPU", "AS", "FSIZE", "NOFILE", "STACK", "CORE", "MEMLOCK", "MSGQUEUE", "SIGPENDING"):
    print(name, *r.getrlimit(getattr(r, "RLIMIT_" + name)))'
    expect_verdict ok
    out_has "CPU 4 5"   # a backstop: the limit rounded up + 1 s (the supervisor stops it at 3)
    grep -qE '^AS 204800000 ' "$SB_OUT" || fail "RLIMIT_AS soft is not 200000 KB"
    # the scratch's size when larger: its tmpfs is the real cap on writes
    grep -qE '^FSIZE 16777216 ' "$SB_OUT" || fail "RLIMIT_FSIZE soft is not the scratch's 16M"
    grep -qE '^NOFILE 32 ' "$SB_OUT" || fail "RLIMIT_NOFILE soft is not 32"
    grep -qE '^STACK 4194304 ' "$SB_OUT" || fail "RLIMIT_STACK soft is not 4096 KB"
    out_has "CORE 0 0"
    out_has "MEMLOCK 0 0"
    out_has "MSGQUEUE 0 0"
    out_has "SIGPENDING 64 64"
    sb --scratch 0 --fsize 100 -c 'import resource as r; print(*r.getrlimit(r.RLIMIT_FSIZE))'
    out_is "102400 102400"
    no_leftovers
}

@test "rlimits: --nfile caps open files (control: unsandboxed opens 100)" {
    local code='import os
fds = []
try:
    for i in range(100):
        fds.append(os.open("/dev/null", os.O_RDONLY))
    print("OPENED", len(fds))
except OSError as e:
    print("DENIED", type(e).__name__, e.errno, len(fds))'
    sb --nfile 32 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED OSError 24 ' "$SB_OUT" || fail "expected EMFILE"
    plain "$code"
    expect_output '^OPENED 100$'
    no_leftovers
}

@test "verdict signal: SIGTERM sent to itself" {
    sb -c 'import os, signal; os.kill(os.getpid(), signal.SIGTERM)'
    expect_verdict signal
    jcheck '.signal == "SIGTERM" and .message == "Command terminated by signal (15: SIGTERM)"'
    no_leftovers
}

@test "stats: memory_kb is the program's peak RSS (60 MB touched)" {
    sb -c 'b = bytearray(60 * 2**20)
for i in range(0, len(b), 4096): b[i] = 1
print("done")'
    expect_verdict ok
    jcheck '.memory_kb >= 61440 and .memory_kb < 200000'
    no_leftovers
}

@test "stats: cpu_time counts the program's CPU (0.5 s burnt)" {
    sb -c 'import time
t = time.process_time()
while time.process_time() - t < 0.5: pass'
    expect_verdict ok
    jcheck '.cpu_time >= 0.45 and .cpu_time < 3 and .user_time > 0'
    jcheck '(.cpu_time - .user_time - .system_time | fabs) < 0.01'
    no_leftovers
}

@test "stats: cpu_time and memory_kb survive a stop at the wall limit" {
    # Busy for the whole 1.5 s clock: the program's CPU time must be counted
    # even though the supervisor killed the run from outside. The program
    # prints the CPU time it has used as it goes, so the bound holds on a
    # loaded machine too (CI once gave it 0.42 s of its 1.5 s).
    sb --clock 1.5 --cpu 10 -c 'import time
b = bytearray(60 * 2**20)
for i in range(0, len(b), 4096): b[i] = 1
t = 0
while True:
    c = time.process_time()
    if c - t >= 0.05:
        print(c)
        t = c'
    expect_verdict wall_limit
    jcheck '(.stdout | split("\n") | map(select(length > 0)) | last | tonumber) as $seen
            | $seen >= 0.05 and .cpu_time >= $seen - 0.01'
    jcheck '.memory_kb >= 61440'
    no_leftovers
}

@test "stats: memory_kb survives a stop at the output limit" {
    sb --output 10K -c 'b = bytearray(60 * 2**20)
for i in range(0, len(b), 4096): b[i] = 1
while True: print("x" * 1000)'
    expect_verdict output_limit
    jcheck '.memory_kb >= 61440'
    no_leftovers
}

@test "verdict output_limit: --output in plain bytes (100)" {
    sb --output 100 -c 'print("x" * 200)'
    expect_verdict output_limit
    jcheck '(.stdout | length) == 100 and .stdout_truncated == true and .limits.output == 100'
    [ "$(stat -c %s "$SB_OUT")" -eq 100 ] || fail "relayed $(stat -c %s "$SB_OUT") bytes"
    no_leftovers
}
