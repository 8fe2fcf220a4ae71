#!/usr/bin/env bats
# h2_streams.bats — streams of HTTP/2 connections (the event MPM; HTTPS with
# ALPN, and h2c on the plain port): a stream reset by the client
# (RST_STREAM CANCEL, what a browser's aborted fetch sends) or the
# connection's end (FIN, TCP reset, curl killed) kills each affected run
# within 200 ms even when it prints nothing; the connection serves the next
# stream; with several streams on one connection, cancelling one kills its
# run only and the others end with their full output. And h2c on the plain
# port (prior knowledge, Upgrade): every format, encoding and refusal.

RUN_UID_FIRST=601130
load helpers
load disconnect

setup_file() {
    # no wait queue: a request finding the slots busy is refused at once
    # (the queue itself is tests/e2e/queue_*.bats)
    e2e_start h2 "PySandboxMaxRuns 10
PySandboxQueueTimeout 0
<Location /small>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxCodeSize 1K
</Location>"
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
        # held past the checks below however slowly ten runs start on a
        # loaded machine; ended by dropping their connections
        spawn curl -s -o /dev/null --max-time 20 "$RUN" --data-urlencode 'code=import time; time.sleep(15)'
    done
    wait_until 10 all_slots_taken || fail "the ten runs did not start: $(run_procs)"
    req "$RUN" --data-urlencode 'code=print("eleventh")'
    expect_refusal 503 'busy'
    expect_header Retry-After '^[0-9]+$'
    req "$RUN" -d format=json --data-urlencode 'code=print("eleventh")'
    expect_code 503
    expect_json '.status == 503 and (.error | test("busy"))'
    [ -z "$(grep 'not closed cleanly\|RST' "$RESP_B.err")" ] || fail "curl: $(cat "$RESP_B.err")"
    for i in "${BG_PIDS[@]}"; do kill_tree "$i"; wait "$i" 2>/dev/null || true; done
    BG_PIDS=()
    wait_no_runs 5 || fail "the held runs outlived their dropped connections: $(run_procs)"
}

all_slots_taken() { [ "$(n_run_pythons)" -ge 10 ]; }

# h2c: the plain port, by prior knowledge (any request) and by Upgrade
# (mod_http2 upgrades requests without a body only). expect_code checks
# each answer came over HTTP/2.
@test "[h2] h2c by prior knowledge: every format, encoding and refusal is a clean HTTP/2 answer" {
    local P=(--http2-prior-knowledge) U="$PLAIN_URL/run"
    req "${P[@]}" "$U" --data-urlencode 'code=print("hi")'
    expect_code 200; expect_text_report OK; [ "$(head -n 1 "$RESP_B")" = hi ] || fail "text"
    req "${P[@]}" "$U" -d format=json --data-urlencode 'code=print("hi")'
    expect_code 200; expect_json '.status == "ok" and .stdout == "hi\n"'
    req "${P[@]}" "$U" -d format=ndjson --data-urlencode 'code=print("hi")'
    expect_code 200
    [ "$(head -n 1 "$RESP_B" | jq -r .stream)" = stdout ] &&
        [ "$(tail -n 1 "$RESP_B" | jq -r '.stream + " " + .status')" = "exit ok" ] || fail "ndjson"
    req "${P[@]}" "$U" -d format=sse --data-urlencode 'code=print("hi")'
    expect_code 200; grep -qx 'event: exit' "$RESP_B" || fail "sse"
    req "${P[@]}" "$U?info=1"
    expect_code 200; expect_json '.max_code_size > 0'
    # the other encodings: multipart, JSON, a raw body, a GET
    req "${P[@]}" "$U" -F format=json -F 'code=print("mp")'
    expect_code 200; expect_json '.stdout == "mp\n"'
    req "${P[@]}" "$U" -H 'Content-Type: application/json' -d '{"code":"print(\"js\")","format":"json"}'
    expect_code 200; expect_json '.stdout == "js\n"'
    req "${P[@]}" "$U?format=json" -H 'Content-Type: text/x-python' --data-binary 'print("raw")'
    expect_code 200; expect_json '.stdout == "raw\n"'
    req "${P[@]}" -G "$U" -d format=json --data-urlencode 'user_script=print("get")'
    expect_code 200; expect_json '.stdout == "get\n"'
    # the refusals
    req "${P[@]}" "$U" -d format=text
    expect_refusal 400 'code'
    req "${P[@]}" -X PUT "$U" --data-urlencode 'code=print(1)'
    expect_refusal 405 'PUT'
    head -c 2048 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/big.py"
    req "${P[@]}" "$PLAIN_URL/small" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/big.py"
    expect_refusal 413 'code of 2048 bytes'
    req "${P[@]}" "$U" -H 'Content-Type: application/xml' -d '<code>print(1)</code>'
    expect_refusal 415 'application/xml'
}

@test "[h2] h2c by Upgrade (GET): text, json, ndjson, sse and ?info=1 over HTTP/2" {
    local f
    for f in text json ndjson sse; do
        req --http2 -G "$PLAIN_URL/run" -d "format=$f" --data-urlencode 'user_script=print("up")'
        expect_code 200
        grep -q 'up' "$RESP_B" || fail "$f: no output"
    done
    req --http2 "$PLAIN_URL/run?info=1"
    expect_code 200; expect_json '.max_code_size > 0'
}
