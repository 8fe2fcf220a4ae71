#!/usr/bin/env bats
# h2_streams.bats — streams of HTTP/2 connections (the event MPM; HTTPS with
# ALPN, and h2c on the plain port): a stream reset by the client
# (RST_STREAM CANCEL, what a browser's aborted fetch sends) or the
# connection's end (FIN, TCP reset, curl killed) kills each affected run
# within 200 ms even when it prints nothing; the connection serves the next
# stream; with several streams on one connection, cancelling one kills its
# run only and the others end with their full output.

RUN_UID_FIRST=601130
load helpers
load disconnect

setup_file() {
    # no wait queue: a request finding the slots busy is refused at once
    # (the queue itself is tests/e2e/queue_*.bats)
    e2e_start h2 "PySandboxMaxRuns 10
PySandboxQueueTimeout 0"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

@test "[h2] a stream reset (RST_STREAM CANCEL) kills its silent run; the connection goes on" {
    leave_tls h2-cancel; gone_fast "h2 stream reset"
    leave h2-cancel; gone_fast "h2c stream reset"
}

@test "[h2] the connection's end (FIN, TCP reset) kills every silent run on it" {
    leave_tls h2-fin; gone_fast "h2 connection FIN, 2 streams"
    leave_tls h2-reset; gone_fast "h2 connection reset, 2 streams"
    leave h2-fin; gone_fast "h2c connection FIN, 2 streams"
}

@test "[h2] curl --http2 killed mid-run" {
    curl_killed "$URL"
}

@test "[h2] 1 of 2 streams on a connection cancelled: only its run dies, the other ends whole" {
    leave_tls h2-cancel-one --n 2; gone_fast "1 of 2 streams reset"
    [ "$(jq -r .finished <<<"$OUT")" = 1 ] || fail "$OUT"
}

@test "[h2] 1 of 8 streams on a connection cancelled: the 7 others end with full output" {
    leave_tls h2-cancel-one --n 8; gone_fast "1 of 8 streams reset"
    [ "$(jq -r .finished <<<"$OUT")" = 7 ] || fail "$OUT"
}

@test "[h2] every run slot busy: 503 with Retry-After, a clean HTTP/2 answer, in the format asked" {
    local i
    wait_no_runs 5
    for i in $(seq 1 10); do
        spawn curl -s -o /dev/null --max-time 20 "$RUN" --data-urlencode 'code=import time; time.sleep(3)'
    done
    wait_until 10 all_slots_taken || fail "the ten runs did not start: $(run_procs)"
    req "$RUN" --data-urlencode 'code=print("eleventh")'
    expect_refusal 503 'busy'
    expect_header Retry-After '^[0-9]+$'
    req "$RUN" -d format=json --data-urlencode 'code=print("eleventh")'
    expect_code 503
    expect_json '.status == 503 and (.error | test("busy"))'
    [ -z "$(grep 'not closed cleanly\|RST' "$RESP_B.err")" ] || fail "curl: $(cat "$RESP_B.err")"
}

all_slots_taken() { [ "$(uid_procs | grep -c python3)" -ge 10 ]; }
