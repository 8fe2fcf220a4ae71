#!/usr/bin/env bats
# disconnect_<mpm>.bats — a client that leaves always has its run killed at
# once (within 200 ms, even when the program prints nothing), however it
# leaves: FIN, TCP reset, half-close, a TLS close_notify, with stray or
# pipelined bytes after its request, after Expect: 100-continue, on a
# kept-alive connection; and what HTTP/2 the MPM serves. (Streams of one
# HTTP/2 connection: h2_streams.bats.)
#
# One file, two MPMs (disconnect_prefork.bats is a symlink). The httpd
# serves HTTP/1.1 and h2c on its plain port and HTTPS on a TLS port
# (h2 and http/1.1; under prefork mod_http2 stays inactive, and only h2c by
# prior knowledge is still served over HTTP/2). The clients are
# tests/tools/netclient.py (see disconnect.bash).

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#disconnect_}
case $MPM in
    event) RUN_UID_FIRST=601110 ;;
    *) RUN_UID_FIRST=601120 ;;
esac
load helpers
load disconnect

setup_file() {
    e2e_start "$MPM+tls" "PySandboxMaxRuns 10"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

# ---- HTTP/1.1, plain and TLS ------------------------------------------------

@test "[$MPM] HTTP/1.1: FIN, TCP reset and half-close each kill a silent run at once" {
    local s
    for s in h1-fin h1-reset h1-half-close; do
        leave "$s"; gone_fast "$s"
        leave_tls "$s"; gone_fast "$s (TLS)"
    done
}

@test "[$MPM] HTTP/1.1: one stray byte after the request, then the close, still kills the run" {
    leave h1-extra-byte; gone_fast "extra byte, FIN"
    leave_tls h1-extra-byte; gone_fast "extra byte, FIN (TLS)"
}

@test "[$MPM] HTTP/1.1: a pipelined next request, then the close, still kills the run" {
    leave h1-pipelined; gone_fast "pipelined request, FIN"
    leave_tls h1-pipelined; gone_fast "pipelined request, FIN (TLS)"
}

# attack-1 F4: 200 KB after the request fill the server's receive window;
# unread, they kept the client's FIN out and the run lived its whole wall
# clock (8 s of sleep). They are now read and dropped once more than 32 KiB
# wait, and the connection closes after the response.
@test "[$MPM] HTTP/1.1: 200 KB pipelined after the request (over the receive window), then the close, still kills the run" {
    leave h1-bigpipe; gone_fast "200 KB pipelined, FIN"
    leave_tls h1-bigpipe; gone_fast "200 KB pipelined, FIN (TLS)"
}

@test "[$MPM] HTTP/1.1: a client that pipelines 200 KB and stays gets its whole response, then the connection closes" {
    run python3 - "$PORT" <<'PY'
import socket, sys, time, urllib.parse
port = int(sys.argv[1])
body = urllib.parse.urlencode({"code": "import time\ntime.sleep(1)\nprint('done')\n"}).encode()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
time.sleep(0.3)
s.settimeout(2.0)
sent = 0
try:
    while sent < 200000:
        sent += s.send(b"X" * (200000 - sent))
except socket.timeout:
    pass
s.settimeout(10)
d = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    d += c
# the server closed (EOF before the timeout): the dropped bytes are no request
print(sent, d.startswith(b"HTTP/1.1 200"), b"\ndone\n" in d and b"\nOK\n" in d, "closed")
PY
    note "[$MPM] sent, 200, output and OK, closed: $output"
    [ "$status" = 0 ] && [ "$output" = "200000 True True closed" ] || fail "$output"
}

@test "[$MPM] HTTP/1.1: after Expect: 100-continue, and on a kept-alive connection" {
    leave h1-expect; gone_fast "Expect: 100-continue, FIN"
    leave_tls h1-expect; gone_fast "Expect: 100-continue, FIN (TLS)"
    leave h1-keepalive; gone_fast "second request of a connection, FIN"
    leave_tls h1-keepalive; gone_fast "second request of a connection, FIN (TLS)"
}

@test "[$MPM] HTTPS/1.1: a TLS close_notify alone (TCP kept open) kills the run" {
    leave_tls h1-close-notify; gone_fast "close_notify"
}

@test "[$MPM] HTTP/1.1: curl killed mid-run (plain, TLS)" {
    curl_killed "$PLAIN_URL"
    curl_killed "$URL"
}

@test "[$MPM] a loop of fire-and-forget clients (request, stray byte, close) does not hold the slots" {
    # Ten slots; thirty clients that each leave right after their run has
    # started. Were their runs left to their 30 s, the service would stay
    # at 503.
    wait_no_runs 5
    run python3 "$NETCLIENT" h1-fire --n 30 --port "$PORT" --uids "$RUN_UID_FIRST-$RUN_UID_LAST"
    [ "$status" = 0 ] || fail "fire: $output"
    # gone long before their 30 s (3 s: the last one's kill on a loaded machine)
    wait_no_runs 3 || fail "runs of clients that left are still alive"
    local i
    for i in 1 2 3; do
        req "$RUN" -d format=json --data-urlencode 'code=print("served")'
        expect_code 200
        expect_json '.status == "ok" and .stdout == "served\n"'
    done
}

@test "[$MPM] the HTTP/2 this MPM serves: event h2 (ALPN), h2c, Upgrade; prefork h2c only; resets watched" {
    if [ "$MPM" = event ]; then
        req "$RUN" -d format=json --data-urlencode 'code=print("tls")'
        expect_code 200
        [ "$HTTP_VERSION" = 2 ] && expect_json '.stdout == "tls\n"' || fail "TLS: HTTP/$HTTP_VERSION"
        # Upgrade: mod_http2 upgrades requests without a body only
        req --http2 -G "$PLAIN_URL/run" --data-urlencode 'user_script=print("upgraded")'
        expect_code 200
        [ "$HTTP_VERSION" = 2 ] && [ "$(head -n 1 "$RESP_B")" = upgraded ] ||
            fail "Upgrade: HTTP/$HTTP_VERSION"
    else
        # mod_http2 is inactive under prefork (AH10034): ALPN gives HTTP/1.1
        req --http2 "$RUN" -d format=json --data-urlencode 'code=print("tls")'
        expect_code 200
        [ "$HTTP_VERSION" = 1.1 ] && expect_json '.stdout == "tls\n"' ||
            fail "ALPN chose HTTP/$HTTP_VERSION under prefork"
    fi
    # h2c by prior knowledge: served by both (mod_http2 does not check the
    # MPM for it), and a stream reset there is noticed too
    req --http2-prior-knowledge "$PLAIN_URL/run" -d format=json --data-urlencode 'code=print("h2c")'
    expect_code 200
    [ "$HTTP_VERSION" = 2 ] && expect_json '.stdout == "h2c\n"' || fail "h2c: HTTP/$HTTP_VERSION"
    leave h2-cancel; gone_fast "h2c stream reset"
}
