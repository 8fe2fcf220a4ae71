#!/usr/bin/env bats
# busy.bats — PySandboxMaxRuns (server-wide, hence its own httpd): 503 with
# Retry-After when every run slot is taken, slots given back when runs end,
# one uid per live run; a burst of 503s logged at info, with one counted
# warning per process rather than an error line each.

RUN_UID_FIRST=601040
load helpers

setup_file() {
    e2e_start event "PySandboxMaxRuns 2
PySandboxQueueTimeout 0"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

# bg_req PREFIX CURL_ARGS…: body to PREFIX.b, HTTP status to PREFIX.c.
bg_req() {
    local p=$1
    shift
    # exec: the pid kept is curl's own, so killing it drops the connection
    { exec curl -s --max-time 20 -o "$p.b" -w '%{http_code}' "$@" > "$p.c"; } 3>&- &
    BG_PIDS+=("$!")
}

has_n_runs() { [ "$(n_run_pythons)" -ge "$1" ]; }

@test "two runs fill PySandboxMaxRuns 2: the third request is 503 with Retry-After" {
    local i
    for i in 1 2; do
        bg_req "$BATS_TEST_TMPDIR/slot$i" "$RUN" -d format=json \
            --data-urlencode 'code=import os, time; print(os.getuid(), flush=True); time.sleep(4)'
    done
    wait_until 3 has_n_runs 2 || fail "the two runs did not start: $(run_procs)"
    req "$RUN" --data-urlencode 'code=print("third")'
    expect_refusal 503 'busy'
    expect_header Retry-After '^[0-9]+$'
    body_lacks third
    req "$RUN" -d format=json --data-urlencode 'code=print("third")'
    expect_code 503
    expect_run_id
    expect_header Retry-After '^[0-9]+$'
    expect_json '.status == 503 and (.error | test("busy"))'
    local rid line
    rid=$(header X-PySandbox-Run-Id)
    line=$(access_line " $rid ") || fail "no access log line for $rid"
    [[ $line == *'" 503 '*' unavailable '* ]] || fail "access log: $line"
    # the two runs were not disturbed, and had distinct uids of the range
    for i in "${BG_PIDS[@]}"; do wait "$i" || true; done
    for i in 1 2; do
        [ "$(cat "$BATS_TEST_TMPDIR/slot$i.c")" = 200 ] || fail "run $i: HTTP $(cat "$BATS_TEST_TMPDIR/slot$i.c")"
        jq -e '.status == "ok"' "$BATS_TEST_TMPDIR/slot$i.b" >/dev/null || fail "run $i: $(cat "$BATS_TEST_TMPDIR/slot$i.b")"
    done
    local u1 u2
    u1=$(jq -r .stdout "$BATS_TEST_TMPDIR/slot1.b"); u2=$(jq -r .stdout "$BATS_TEST_TMPDIR/slot2.b")
    [ "$u1" != "$u2" ] || fail "two live runs shared uid $u1"
    for i in $u1 $u2; do
        [ "$i" -ge "$RUN_UID_FIRST" ] && [ "$i" -le "$RUN_UID_LAST" ] || fail "uid $i outside the range"
    done
    # slots given back
    req "$RUN" -d format=json --data-urlencode 'code=print("third")'
    expect_code 200
    expect_json '.status == "ok" and .stdout == "third\n"'
}

@test "a burst over PySandboxMaxRuns: 200s and 503s only, then every slot is free again" {
    local i n200=0 n503=0 c
    # 2 s runs: all ten requests are in before the first two end, even when
    # starting ten curls takes a loaded machine most of a second
    for i in $(seq 1 10); do
        bg_req "$BATS_TEST_TMPDIR/burst$i" "$RUN" -d format=json \
            --data-urlencode 'code=import time; time.sleep(2); print("ok")'
    done
    for i in "${BG_PIDS[@]}"; do wait "$i" || true; done
    for i in $(seq 1 10); do
        c=$(cat "$BATS_TEST_TMPDIR/burst$i.c")
        case $c in
        200) n200=$((n200 + 1))
             jq -e '.status == "ok"' "$BATS_TEST_TMPDIR/burst$i.b" >/dev/null || fail "burst $i: $(cat "$BATS_TEST_TMPDIR/burst$i.b")" ;;
        503) n503=$((n503 + 1)) ;;
        *) fail "burst $i: HTTP $c" ;;
        esac
    done
    note "burst of 10 with 2 slots: $n200 served, $n503 busy"
    [ "$n200" -ge 2 ] && [ "$n503" -ge 1 ] || fail "$n200 served, $n503 busy"
    wait_no_runs 5 || fail "run processes left"
    # no slot leaked: two at once still fit, many times over
    BG_PIDS=()
    for i in 1 2 3 4 5 6; do
        bg_req "$BATS_TEST_TMPDIR/pair$i" "$RUN" -d format=json --data-urlencode 'code=import time; time.sleep(0.2)'
        if [ $((i % 2)) = 0 ]; then
            wait "${BG_PIDS[-1]}" "${BG_PIDS[-2]}" || true
            # supervisors gone and reaped by the launcher before the next pair
            wait_no_runs 3 || fail "run processes left"
            sleep 0.1
        fi
    done
    for i in 1 2 3 4 5 6; do
        [ "$(cat "$BATS_TEST_TMPDIR/pair$i.c")" = 200 ] || fail "pair request $i: HTTP $(cat "$BATS_TEST_TMPDIR/pair$i.c") (slot leaked?)"
    done
}

@test "a burst of 503s: each logged at info, no error line, one warning server-wide, not per request" {
    local i lines0 errors warns infos n503=0 c
    # the holds outlast the burst even on a loaded CI machine (100 refusals
    # took over 3 s there once, and the late ones were served); they are
    # ended by dropping their connections once the burst is counted
    for i in 1 2; do
        bg_req "$BATS_TEST_TMPDIR/hold$i" "$RUN" --data-urlencode 'code=import time; time.sleep(15)'
    done
    wait_until 3 has_n_runs 2 || fail "the two runs did not start: $(run_procs)"
    lines0=$(wc -l < "$H/error.log")
    for i in $(seq 1 100); do
        c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RUN" -d 'code=print(1)')
        [ "$c" = 503 ] && n503=$((n503 + 1))
    done
    [ "$n503" = 100 ] || fail "$n503 of 100 requests refused while both slots were held"
    # every refusal's info line is in the log (not a fixed pause for them)
    wait_until 5 eval '[ "$(tail -n +"$((lines0 + 1))" "$H/error.log" | grep -c "\[pysandbox:info\].*PYSB: 503 all run slots are busy")" -ge 100 ]' || true
    tail -n +"$((lines0 + 1))" "$H/error.log" > "$BATS_TEST_TMPDIR/burst.log"
    infos=$(grep -c '\[pysandbox:info\].*PYSB: 503 all run slots are busy' "$BATS_TEST_TMPDIR/burst.log" || true)
    errors=$(grep -c '\[pysandbox:error\]' "$BATS_TEST_TMPDIR/burst.log" || true)
    warns=$(grep -c '\[pysandbox:warn\].*refus' "$BATS_TEST_TMPDIR/burst.log" || true)
    note "100 refusals: $infos info lines, $errors error lines, $warns warnings"
    [ "$infos" = 100 ] || fail "$infos info lines for 100 refusals"
    [ "$errors" = 0 ] || fail "error lines: $(grep '\[pysandbox:error\]' "$BATS_TEST_TMPDIR/burst.log" | head -n 3)"
    # the launcher refused them all: it warns once (here or in an earlier
    # test of this file) and counts the rest for its summary a minute
    # later; the workers warn of none of them
    [ "$warns" -le 1 ] || fail "$warns warnings for 100 refusals: $(grep '\[pysandbox:warn\]' "$BATS_TEST_TMPDIR/burst.log" | head -n 3)"
    grep '\[pysandbox:warn\]' "$H/error.log" | grep -q 'PYSB launcher: refusing requests (every slot busy and the request may not wait.*summarised once a minute' ||
        fail "no warning: $(grep '\[pysandbox:warn\]' "$H/error.log" | head -n 3)"
    ! grep -q 'a request refused with 503' "$H/error.log" || fail "a worker warned of a launcher's refusal"
    for i in "${BG_PIDS[@]}"; do kill_tree "$i"; wait "$i" 2>/dev/null || true; done
    BG_PIDS=()
    wait_no_runs 5 || fail "the held runs outlived their dropped connections: $(run_procs)"
}
