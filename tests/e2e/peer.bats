#!/usr/bin/env bats
# peer.bats — who may talk to the launcher: its socket is mode 0600 and
# owned by httpd's User, and a peer that gets past the file permissions
# with another uid (CAP_DAC_OVERRIDE) is still refused by SO_PEERCRED;
# garbage on the socket is refused with a one-line ERROR, and none of it
# disturbs service.

RUN_UID_FIRST=601060
load helpers

setup_file() {
    e2e_start event
    export RUN="$URL/run"
    SOCK=$(socket_files)
    export SOCK
}

teardown_file() { e2e_stop; }

# connect_as USER_ARGS… -- PY: run python3 as another identity, with the
# socket path in $SOCK; prints what the snippet prints.
py_connect='import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("CONNECT", type(e).__name__); sys.exit(0)
s.settimeout(3)
try:
    s.sendall(sys.argv[2].encode())
    data = s.recv(4096)
    print("RECV", len(data), data[8:].decode(errors="replace"))
except OSError as e:
    print("RECV", type(e).__name__)'

# py_spec_first: python that defines whole(code, **spec_keys), which sends
# what a worker of an older build sends (SPEC first, then CODE and START,
# all in one write) as the User would, and returns every byte that comes
# back until the launcher or supervisor closes.
py_spec_first='import json, socket, struct, sys
def frame(t, p):
    return struct.pack(">BBBBI", 0x50, 1, t, 0, len(p)) + p
def whole(code, **keys):
    spec = dict(keys, interpreter=["/usr/bin/python3", "-I", "-S"], ro_paths=[], flags=0,
                limits={"cpu_time": 1, "wall_time": 2, "memory": 268435456, "output": 1048576,
                        "processes": 1, "threads": 16, "fsize": 8388608, "nofile": 64,
                        "stack": 8388608, "scratch": 16777216, "output_files": 8388608})
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(10)
    s.sendall(frame(1, json.dumps(spec).encode()) + frame(2, code) + frame(4, b""))
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            return data
        data += d
'

@test "the socket is a 0600 socket owned by the httpd User" {
    [ -n "$SOCK" ] || fail "no socket in $H/run"
    [ "$(stat -c '%F %a %U' "$SOCK")" = "socket 600 www-data" ] \
        || fail "socket is $(stat -c '%F %a %U' "$SOCK")"
}

@test "another uid cannot even connect (file permissions)" {
    run setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -I -S -c "$py_connect" "$SOCK" x
    [ "$output" = "CONNECT PermissionError" ] || fail "got: $output"
    # control: the User itself connects
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$py_connect" "$SOCK" x
    [[ "$output" == RECV* ]] || fail "the User could not connect: $output"
}

@test "another uid past the file permissions is refused by SO_PEERCRED" {
    local before after
    before=$(grep -c 'refused a connection from uid 65534' "$H/error.log" || true)
    run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override \
        --ambient-caps=+dac_override /usr/bin/python3 -I -S -c "$py_connect" "$SOCK" x
    # connected (the capability got it through the 0600), then closed at
    # once: EOF, a reset since the peer had sent a byte nobody read, or a
    # broken pipe when the close came before the send
    [[ "$output" =~ ^RECV\ (0\ |ConnectionResetError|BrokenPipeError)$ ]] || fail "got: $output"
    after=$(grep -c 'refused a connection from uid 65534' "$H/error.log" || true)
    [ "$after" -gt "$before" ] || fail "no refusal logged"
}

@test "garbage from the User is refused with an ERROR frame, and service goes on" {
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$py_connect" "$SOCK" "GET / HTTP/1.0"
    [[ "$output" == "RECV "*"bad magic"* || "$output" == "RECV "*"reading the request"* ]] \
        || fail "got: $output"
    req "$RUN" --data-urlencode 'code=print("still here")'
    expect_code 200
    body_has "still here"
}

@test "a whole request whose SPEC has no run_id is refused with an ERROR frame naming it" {
    local frames="$py_spec_first"'data = whole(b"print(1)")
print("TYPE", data[2] if len(data) > 2 else "none", data[8:].decode(errors="replace"))'
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$frames" "$SOCK"
    [ "$output" = "TYPE 21 SPEC without run_id" ] || fail "got: $output"
    grep -q 'request refused: SPEC without run_id' "$H/error.log" || fail "not logged"
    req "$RUN" --data-urlencode 'code=print("still here")'
    expect_code 200
}

# hello_py TYPE LEN BYTES: a connection as the User that sends the header
# of a first frame of TYPE declaring LEN payload bytes, then BYTES of them;
# prints the type and text of the first frame that comes back, or what
# the receive raised (the launcher must answer within 3 s).
hello_py='import socket, struct, sys
t, n, k = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(3)
try:
    s.sendall(struct.pack(">BBBBI", 0x50, 1, t, 0, n) + b"x" * k)
except OSError:
    pass
try:
    d = s.recv(4096)
    print("TYPE", d[2] if len(d) > 2 else "none", d[8:].decode(errors="replace"))
except OSError as e:
    print("RECV", type(e).__name__)'

@test "a connection that starts with a CODE header is refused at the header, before any payload" {
    # 16 MiB declared, none sent: the launcher must not wait to buffer it
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$hello_py" "$SOCK" 2 16777216 0
    [ "$output" = "TYPE 21 a connection that starts with CODE" ] || fail "got: $output"
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$hello_py" "$SOCK" 7 1000000 1000
    [ "$output" = "TYPE 21 a connection that starts with FILE" ] || fail "got: $output"
    grep -q 'request refused: a connection that starts with CODE' "$H/error.log" || fail "not logged"
}

@test "a first SPEC over 64 KiB is refused at its header" {
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$hello_py" "$SOCK" 1 100000 0
    [ "$output" = "TYPE 21 a first SPEC of 100000 bytes (at most 65536)" ] || fail "got: $output"
    req "$RUN" --data-urlencode 'code=print("still here")'
    expect_code 200
}

@test "big first frames from many connections keep the launcher's memory bounded" {
    local flood='import os, socket, struct, sys, time
def rss(pid):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
pid = sys.argv[2]
before = rss(pid)
socks, answers = [], {}
for i in range(300):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.setblocking(False)
    # CODE: refused at its header; SPEC: 60 KiB of a 64 KiB one, held
    t, n = (2, 16 << 20) if i % 3 == 0 else (1, 64 << 10)
    try:
        s.sendall(struct.pack(">BBBBI", 0x50, 1, t, 0, n) + b"x" * (60 << 10))
    except OSError:
        pass
    socks.append(s)
time.sleep(1.5)
grown = rss(pid) - before
for s in socks:
    try:
        d = s.recv(64)
        k = d[2] if len(d) > 2 else "eof"
    except BlockingIOError:
        k = "held"
    except OSError as e:
        k = type(e).__name__
    answers[k] = answers.get(k, 0) + 1
print(grown, " ".join("%s=%d" % kv for kv in sorted(answers.items(), key=str)))'
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$flood" "$SOCK" "$(launcher_pid)"
    echo "$output"
    local grown=${output%% *}
    [[ "$grown" =~ ^-?[0-9]+$ ]] || fail "no figure: $output"
    # 100 CODE frames of 16 MiB and 200 SPECs of 64 KiB: at most 4 MiB of
    # SPECs held (the rest refused as the queue full), nothing of the CODEs
    [ "$grown" -lt 16384 ] || fail "the launcher grew by $grown KiB"
    [[ "$output" == *" 21=100"* || "$output" == *"21=100 "* ]] || fail "CODE-first not refused at once: $output"
    [[ "$output" == *"16="* ]] || fail "no SPEC refused as busy beyond the budget: $output"
    [[ "$output" == *"held="* ]] || fail "no SPEC held within the budget: $output"
    req "$RUN" --data-urlencode 'code=print("still here")'
    expect_code 200
    body_has "still here"
}

@test "a worker of an older build (SPEC first, the whole request in one write) is still served" {
    local frames="$py_spec_first"'data = whole(b"print(6 * 7)" + b" " * 200000, run_id="peer-legacy-1")
types, out = [], b""
while len(data) >= 8:
    t, n = data[2], struct.unpack(">I", data[4:8])[0]
    types.append(t)
    if t == 18:
        out += data[8:8 + n]
    data = data[8 + n:]
print("TYPES", types[0], types[-1], "OUT", out.decode().strip())'
    run setpriv --reuid=www-data --regid=www-data --clear-groups /usr/bin/python3 -I -S -c "$frames" "$SOCK"
    [ "$output" = "TYPES 17 20 OUT 42" ] || fail "got: $output"
}
