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
    e2e_start h2 "PySandboxMaxRuns 10"
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
    wait_no_runs 5
    spawn curl -s -o /dev/null "$RUN" --data-urlencode 'code=import time; time.sleep(30)'
    wait_until 5 has_run || fail "the run did not start"
    kill -KILL "${BG_PIDS[-1]}"
    local t0
    t0=$(now)
    wait_until 1 no_runs || fail "the run outlived curl by 1 s: $(run_procs)"
    note "[$MPM] curl --http2 killed: run gone after $(elapsed "$t0") s"
}

@test "[h2] 1 of 2 streams on a connection cancelled: only its run dies, the other ends whole" {
    leave_tls h2-cancel-one --n 2; gone_fast "1 of 2 streams reset"
    [ "$(jq -r .finished <<<"$OUT")" = 1 ] || fail "$OUT"
}

@test "[h2] 1 of 8 streams on a connection cancelled: the 7 others end with full output" {
    leave_tls h2-cancel-one --n 8; gone_fast "1 of 8 streams reset"
    [ "$(jq -r .finished <<<"$OUT")" = 7 ] || fail "$OUT"
}
