#!/usr/bin/env bats
# net.bats — no network: a TCP listener on 127.0.0.1 owned by the test is
# reachable without the sandbox and unreachable from inside it.

UID_BASE=600400
load helpers

# A listener that writes its port, then one "ACCEPT" line per connection to
# $LOG; it exits by itself after 60 s and teardown kills it by pid.
LISTENER='import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
s.settimeout(60)
log = open(sys.argv[1], "a")
print(s.getsockname()[1], flush=True)
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    log.write("ACCEPT\n"); log.flush()
    c.close()'

UDP_LISTENER='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(60)
log = open(sys.argv[1], "a")
print(s.getsockname()[1], flush=True)
while True:
    try:
        d, _ = s.recvfrom(100)
    except socket.timeout:
        break
    log.write("DATAGRAM\n"); log.flush()'

start_listener() {
    LOG="$BATS_TEST_TMPDIR/listener.log"
    : >"$LOG"
    local portfile="$BATS_TEST_TMPDIR/port"
    "$PY" -I -S -c "$1" "$LOG" >"$portfile" 2>"$BATS_TEST_TMPDIR/listener.err" 3>&- &
    BG_PIDS+=($!)
    local i
    for i in $(seq 50); do
        [ -s "$portfile" ] && break
        sleep 0.1
    done
    PORT=$(cat "$portfile")
    [ -n "$PORT" ] || { echo "listener did not start" >&2; return 1; }
}

@test "net: TCP connect to a 127.0.0.1 listener is denied (control: connects)" {
    start_listener "$LISTENER"
    local code='import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(("127.0.0.1", '"$PORT"'))
    print("CONNECTED")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb --clock 10 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED (PermissionError|OSError|ConnectionRefusedError) [0-9]+$' "$SB_OUT" || fail "connect not denied"
    sleep 0.2
    ! grep -q ACCEPT "$LOG" || fail "the listener accepted a connection from the sandbox"
    plain "$code"
    expect_output '^CONNECTED$'
    sleep 0.2
    grep -q ACCEPT "$LOG" || { echo "control connection not seen by the listener" >&2; return 1; }
    no_leftovers
}

@test "net: TCP connect denied even with processes allowed (--nproc 10)" {
    start_listener "$LISTENER"
    local code='import socket
try:
    socket.create_connection(("127.0.0.1", '"$PORT"'), timeout=3)
    print("CONNECTED")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb --nproc 10 --clock 10 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || fail "connect not denied"
    plain "$code"
    expect_output '^CONNECTED$'
    no_leftovers
}

@test "net: socket() itself is denied, with the exact error (control: allowed)" {
    local code; code=$(guard "import socket
socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED PermissionError (1|13)$' "$SB_OUT" || fail "socket() not denied with EPERM/EACCES"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "net: UDP sendto a 127.0.0.1 listener is denied (control: delivered)" {
    start_listener "$UDP_LISTENER"
    local code='import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"hello", ("127.0.0.1", '"$PORT"'))
    print("SENT")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb --clock 10 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || fail "sendto not denied"
    sleep 0.2
    ! grep -q DATAGRAM "$LOG" || fail "the listener got a datagram from the sandbox"
    plain "$code"
    expect_output '^SENT$'
    sleep 0.3
    grep -q DATAGRAM "$LOG" || { echo "control datagram not seen" >&2; return 1; }
    no_leftovers
}

@test "net: IPv6 and AF_UNIX sockets are denied (control: allowed)" {
    local code; code=$(guard "import socket
socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || fail "AF_INET6 not denied"
    plain "$code"
    expect_output '^ALLOWED$'
    code=$(guard "import socket
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || fail "AF_UNIX not denied"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "net: binding a TCP port is denied (control: allowed)" {
    local code; code=$(guard "import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
s.close()")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || fail "bind not denied"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "net: an abstract unix socket of the host is unreachable (control: connects)" {
    local name="pysb-cli-test-$$-$TEST_UID"
    local srv='import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1]); s.listen(4); s.settimeout(60)
print("UP", flush=True)
while True:
    try:
        c, _ = s.accept(); c.close()
    except socket.timeout:
        break'
    "$PY" -I -S -c "$srv" "$name" >"$BATS_TEST_TMPDIR/up" 3>&- &
    BG_PIDS+=($!)
    local i
    for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/up" ] && break; sleep 0.1; done
    local code='import socket
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0'"$name"'")
    print("CONNECTED")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || fail "abstract socket connect not denied"
    plain "$code"
    expect_output '^CONNECTED$'
    no_leftovers
}
