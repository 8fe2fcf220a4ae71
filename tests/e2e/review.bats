#!/usr/bin/env bats
# review.bats — regressions from the code review: a NUL in a limit field,
# a client that reads slowly, urlencoded bodies that grow in transit, and
# PySandboxMaxRuns held across a launcher restart (its own httpd: the
# limit is server-wide).

RUN_UID_FIRST=601070
load helpers

setup_file() {
    e2e_start event "PySandboxMaxRuns 2"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

@test "a NUL byte in a limit field is a 400, in every encoding, and the server lives on" {
    req "$RUN" --data-urlencode 'code=print(1)' --data 'cpu_time=1%00'
    expect_refusal 400 'cpu_time'
    req "$RUN" -H 'Content-Type: application/json' -d '{"code":"print(1)","memory":"1\u0000"}'
    expect_refusal 400 'memory'
    printf '1\0' > "$BATS_TEST_TMPDIR/nul.txt"
    req "$RUN" -F 'code=print(1)' -F "wall_time=<$BATS_TEST_TMPDIR/nul.txt"
    expect_refusal 400 'wall_time'
    ! grep -q 'Segmentation fault' "$H/error.log" || fail "a child crashed"
    req "$RUN" --data-urlencode 'code=print("alive")'
    expect_code 200
    body_has alive
}

@test "a client that reads slowly cannot stretch a run past its wall clock" {
    local t0 out="$BATS_TEST_TMPDIR/slow.out"
    t0=$(now)
    curl -s --max-time 40 --limit-rate 2k -o "$out" "$RUN" -d wall_time=2 -d output=4M -d format=text \
        --data-urlencode $'code=import sys\nwhile True: sys.stdout.write("x" * 1000 + "\\n")' 3>&- &
    BG_PIDS+=("$!")
    # The run itself must be gone a little after its 2 s, whatever curl does.
    sleep 2
    wait_until 6 no_run_procs || fail "run processes alive $(elapsed "$t0") s after start: $(uid_procs)"
    note "run gone after $(elapsed "$t0") s (wall_time 2)"
}

no_run_procs() { [ -z "$(uid_procs)" ]; }

@test "urlencoded stdin within PySandboxMaxStdinSize is accepted though %-escapes triple it" {
    head -c 400000 /dev/zero | tr '\0' '\001' > "$BATS_TEST_TMPDIR/in.bin"
    req "$RUN" -d format=json --data-urlencode 'code=import sys; print(len(sys.stdin.buffer.read()))' \
        --data-urlencode "stdin@$BATS_TEST_TMPDIR/in.bin"
    expect_code 200
    expect_json '.status == "ok" and .stdout == "400000\n"'
}

@test "PySandboxMaxRuns holds across a graceful restart (runs of the old launcher count)" {
    local i
    for i in 1 2; do
        # 7 s: still running after the graceful restart and the 1.5 s look
        # below, however long the restart takes on a loaded machine
        curl -s --max-time 20 -o "$BATS_TEST_TMPDIR/r$i" "$RUN" -d wall_time=10 \
            --data-urlencode 'code=import time; time.sleep(7)' 3>&- &
        BG_PIDS+=("$!")
    done
    wait_until 5 two_runs || fail "the two runs did not start: $(run_procs)"
    "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "graceful restart failed"
    # The new launcher answers at once (it once could not, till the old
    # runs ended: every request a 503); the old runs hold both uid leases,
    # so a third run waits for one of them instead of starting beside them.
    curl -s --max-time 20 -o "$BATS_TEST_TMPDIR/r3" -w '%{http_code}' "$RUN" \
        --data-urlencode 'code=print("third")' > "$BATS_TEST_TMPDIR/r3.code" 3>&- &
    local third=$!
    sleep 1.5
    [ "$(n_run_pythons)" -le 2 ] || fail "more than PySandboxMaxRuns runs at once: $(run_procs)"
    ! grep -q third "$BATS_TEST_TMPDIR/r3" || fail "the third ran beside the old launcher's two"
    wait "$third" || fail "the third request failed (curl $?)"
    [ "$(cat "$BATS_TEST_TMPDIR/r3.code")" = 200 ] && grep -q third "$BATS_TEST_TMPDIR/r3" ||
        fail "the third: HTTP $(cat "$BATS_TEST_TMPDIR/r3.code"): $(cat "$BATS_TEST_TMPDIR/r3")"
    wait "${BG_PIDS[@]}" || true
    grep -q 'OK' "$BATS_TEST_TMPDIR/r1" || fail "first run did not finish: $(cat "$BATS_TEST_TMPDIR/r1")"
    req "$RUN" --data-urlencode 'code=print("after")'
    expect_code 200
    body_has after
}

two_runs() { [ "$(n_run_pythons)" -ge 2 ]; }

@test "the launcher compiled the bootstrap once; runs still show main.py tracebacks with source lines" {
    grep -q 'bootstrap compiled for /usr/bin/python3' "$H/error.log" || fail "no compiled bootstrap"
    req "$RUN" --data-urlencode $'code=def f():\n    return 1/0\nf()'
    expect_code 200
    body_has 'File "main.py", line 2, in f'
    body_has 'return 1/0'
    body_has 'ZeroDivisionError'
    req "$RUN" -d format=json --data-urlencode $'code=import sys\nprint(sys.argv, __name__, __file__)'
    expect_json '.status == "ok" and .stdout == "['"'"'main.py'"'"'] __main__ main.py\n"'
}
