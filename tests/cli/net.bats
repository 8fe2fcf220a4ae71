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
    # gone before the listener starts: its shell truncates the file only
    # once it runs, and a second listener of a test would otherwise be
    # taken as started by the first one's port
    rm -f "$portfile"
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
    # waited for (the listener logs it a moment later; a loaded machine may
    # take more than a fixed pause)
    local i
    for i in $(seq 100); do grep -q ACCEPT "$LOG" && break; sleep 0.05; done
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
    local i
    for i in $(seq 100); do grep -q DATAGRAM "$LOG" && break; sleep 0.05; done
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

# --- The shared network namespace (src/netns.c) -----------------------------
# By default every run enters one empty namespace pinned at
# /run/pysandbox/netns instead of creating its own. These tests pin theirs
# under a private directory (--netns-path) and unmount it in teardown.

NETNS_PATHS=()

teardown() {
    local p i
    for p in "${NETNS_PATHS[@]}"; do
        for i in 1 2 3 4 5 6 7 8; do
            findmnt -rn -M "$p" >/dev/null 2>&1 || break
            umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || break
        done
    done
    common_teardown
}

# new_nspath — a fresh private directory (root, 0700); sets $NSDIR and
# $NSP (the namespace path inside it, not created).
new_nspath() {
    NSDIR=$(mktemp -d /tmp/pysb-netns-test.XXXXXX)
    NSP="$NSDIR/netns"
    CLEANUP_PATHS+=("$NSDIR")
    NETNS_PATHS+=("$NSP")
}

# ns_of PATH — "net:[inode]", as readlink /proc/PID/ns/net shows it.
ns_of() { echo "net:[$(stat -L -c %i "$1")]"; }

# runs_netns N ARGS... — start N overlapping sandboxed one-second sleeps
# with ARGS (the test's uid, --nproc 10 so they may overlap), print the
# distinct network namespaces their programs are in, read from outside with
# readlink /proc/PID/ns/net (the sandbox itself cannot see /proc), then wait
# for them; fails unless every run ends OK. Reports go to runs.report, so
# runs.err holds only what the CLI itself said.
runs_netns() {
    local n=$1 i p seen rc=0
    shift
    local pids=()
    for i in $(seq "$n"); do
        "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --nproc 10 \
            --report-fd 3 "$@" -c 'import time; time.sleep(1)' \
            >/dev/null 2>>"$BATS_TEST_TMPDIR/runs.err" \
            3>>"$BATS_TEST_TMPDIR/runs.report" </dev/null &
        pids+=($!)
    done
    for i in $(seq 150); do
        [ "$(pgrep -c -u "$TEST_UID" -x python3 || true)" -ge "$n" ] && break
        sleep 0.02
    done
    seen=$(for p in $(pgrep -u "$TEST_UID" -x python3); do
               readlink "/proc/$p/ns/net"
           done | sort -u)
    for p in "${pids[@]}"; do
        wait "$p" || rc=1
    done
    [ "$rc" = 0 ] || { echo "a run failed:" >&2; cat "$BATS_TEST_TMPDIR/runs.err" >&2; }
    echo "$seen"
    return "$rc"
}

# only_lo_down PATH — the pinned namespace holds lo, down, and nothing else.
only_lo_down() {
    local links
    links=$(nsenter --net="$1" ip -o link show)
    if [ "$(wc -l <<<"$links")" != 1 ] || ! grep -qE '^1: lo: .* state DOWN ' <<<"$links"; then
        echo "FAIL: $1 is not an empty namespace:" >&2
        echo "$links" >&2
        return 1
    fi
}

# tcp_denied ARGS... — the sandbox (with ARGS) cannot connect to a live
# 127.0.0.1 listener, which a plain connection reaches.
tcp_denied() {
    start_listener "$LISTENER"
    local code='import socket
try:
    socket.create_connection(("127.0.0.1", '"$PORT"'), timeout=3)
    print("CONNECTED")
except OSError as e:
    print("DENIED", type(e).__name__, e.errno)'
    sb "$@" --clock 10 -c "$code"
    expect_verdict ok
    grep -qE '^DENIED ' "$SB_OUT" || { fail "connect not denied with $*"; return 1; }
    sleep 0.2
    ! grep -q ACCEPT "$LOG" || { fail "the listener accepted a connection from the sandbox ($*)"; return 1; }
    plain "$code"
    expect_output '^CONNECTED$'
}

@test "netns: by default a run pins /run/pysandbox/netns, an nsfs mount holding only lo, down" {
    sb -c 'print("hi")'
    expect_verdict ok
    out_is hi
    [ "$(stat -f -c %T /run/pysandbox/netns)" = nsfs ] || fail "/run/pysandbox/netns is not an nsfs mount"
    findmnt -rn -M /run/pysandbox/netns >/dev/null || fail "/run/pysandbox/netns is not a mount point"
    [ "$(stat -c '%u %a' /run/pysandbox)" = "0 700" ] || fail "/run/pysandbox is $(stat -c '%u %a' /run/pysandbox), not root 700"
    only_lo_down /run/pysandbox/netns
    no_leftovers
}

@test "netns: a missing directory is created 0700 and the run's programs sit in the pinned namespace" {
    new_nspath
    NSP="$NSDIR/sub/netns"
    NETNS_PATHS+=("$NSP")
    local seen
    seen=$(runs_netns 1 --netns shared --netns-path "$NSP")
    [ "$(stat -c '%u %a' "$NSDIR/sub")" = "0 700" ] || fail "directory is $(stat -c '%u %a' "$NSDIR/sub")"
    [ "$(stat -f -c %T "$NSP")" = nsfs ] || fail "$NSP is not an nsfs mount"
    [ "$seen" = "$(ns_of "$NSP")" ] || fail "the run was in '$seen', the pinned namespace is $(ns_of "$NSP")"
    [ "$seen" != "$(readlink /proc/self/ns/net)" ] || fail "the run was in the host's namespace"
    only_lo_down "$NSP"
    no_leftovers
}

@test "netns: consecutive runs share the pinned namespace; --netns per-run gives each run its own" {
    new_nspath
    local a b c
    a=$(runs_netns 1 --netns-path "$NSP")
    b=$(runs_netns 1 --netns-path "$NSP")
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$(ns_of "$NSP")" ] ||
        fail "consecutive runs: '$a' then '$b', pinned $(ns_of "$NSP")"
    # Overlapping, so that the kernel cannot hand the same inode number on.
    c=$(runs_netns 2 --netns per-run --netns-path "$NSP")
    [ "$(wc -l <<<"$c")" = 2 ] || fail "two per-run runs were in: $c"
    ! grep -qxF "$a" <<<"$c" || fail "a per-run run was in the pinned namespace"
    ! grep -qxF "$(readlink /proc/self/ns/net)" <<<"$c" || fail "a per-run run was in the host's namespace"
    no_leftovers
}

@test "netns: concurrent first runs pin exactly one namespace and all enter it" {
    new_nspath
    local seen
    seen=$(runs_netns 4 --netns shared --netns-path "$NSP")
    [ "$seen" = "$(ns_of "$NSP")" ] || fail "four runs were in: $seen (pinned $(ns_of "$NSP"))"
    [ "$(findmnt -rn -M "$NSP" | wc -l)" = 1 ] || fail "$(findmnt -rn -M "$NSP" | wc -l) mounts stacked on $NSP"
    no_leftovers
}

@test "netns: TCP connect is denied in both modes (--netns per-run, --netns shared)" {
    new_nspath
    tcp_denied --netns per-run
    tcp_denied --netns shared --netns-path "$NSP"
    no_leftovers
}

@test "netns: a stale plain file or a symlink at the path is replaced by a pinned namespace" {
    new_nspath
    : >"$NSP"
    sb --netns shared --netns-path "$NSP" -c 'print(1)'
    expect_verdict ok
    [ "$(stat -f -c %T "$NSP")" = nsfs ] || fail "stale file not replaced by an nsfs mount"
    umount "$NSP"
    local target="$NSDIR/target"
    echo keep >"$target"
    rm -f "$NSP"
    ln -s "$target" "$NSP"
    sb --netns shared --netns-path "$NSP" -c 'print(1)'
    expect_verdict ok
    [ ! -L "$NSP" ] && [ "$(stat -f -c %T "$NSP")" = nsfs ] || fail "symlink not replaced by an nsfs mount"
    [ "$(cat "$target")" = keep ] && ! findmnt -rn -M "$target" >/dev/null || fail "the symlink's target was touched"
    no_leftovers
}

@test "netns: a directory not root's alone is refused: silent fallback, or exit 2 with --netns shared" {
    new_nspath
    chmod 0770 "$NSDIR"
    sb --netns-path "$NSP" -c 'print(1)'
    expect_verdict ok
    [ ! -e "$NSP" ] || fail "something was created in a group-writable directory"
    [ ! -s "$SB_ERR" ] || fail "the default mode is not silent"
    sb --netns shared --netns-path "$NSP" -c 'print(1)'
    expect_status 2
    [ "$(wc -l <"$SB_ERR")" = 1 ] && err_has "not writable by group or others" || fail "no one-line reason"
    [ ! -s "$REPORT" ] && [ ! -s "$SB_OUT" ] || fail "something ran"
    chmod 0700 "$NSDIR"
    chown 65534 "$NSDIR"
    sb --netns shared --netns-path "$NSP" -c 'print(1)'
    expect_status 2
    err_has "must be owned by root"
    sb --netns shared --netns-path relative/netns -c 'print(1)'
    expect_status 2
    no_leftovers
}

@test "netns: a pinned namespace with an extra interface, or lo up, is refused" {
    new_nspath
    : >"$NSP"
    unshare --net="$NSP" true
    if ! nsenter --net="$NSP" ip link add pysbd0 type dummy 2>/dev/null; then
        nsenter --net="$NSP" ip link add pysbv0 type veth peer name pysbv1 ||
            skip "neither dummy nor veth links can be created here"
    fi
    local seen
    seen=$(runs_netns 1 --netns-path "$NSP")
    [ -n "$seen" ] && [ "$seen" != "$(ns_of "$NSP")" ] || fail "the run entered a namespace with an extra interface"
    [ "$seen" != "$(readlink /proc/self/ns/net)" ] || fail "the fallback ran in the host's namespace"
    [ ! -s "$BATS_TEST_TMPDIR/runs.err" ] || fail "the default mode is not silent: $(cat "$BATS_TEST_TMPDIR/runs.err")"
    sb --netns shared --netns-path "$NSP" -c 'print(1)'
    expect_status 2
    err_has "not empty: has interface pysb"
    [ ! -s "$SB_OUT" ] || fail "something ran"
    # Only lo, but up: not what a fresh namespace holds either.
    umount "$NSP"
    unshare --net="$NSP" ip link set lo up
    sb --netns shared --netns-path "$NSP" -c 'print(1)'
    expect_status 2
    err_has "not empty: lo is up"
    sb --netns-path "$NSP" -c 'print(1)'
    expect_verdict ok
    no_leftovers
}

@test "netns: --netns rejects anything but shared or per-run" {
    sb --netns none -c 'print(1)'
    expect_status 2
    err_has "--netns none: expected shared or per-run"
    [ ! -s "$SB_OUT" ] || fail "something ran"
}
