#!/usr/bin/env bats
# channels.bats — runs cannot observe or signal each other (or the host)
# through shared kernel objects (issue 8, point 3). Each channel is tried
# twice with the same pair of programs: as a control, two unsandboxed
# /usr/bin/python3 -I -S processes under two uids, which shows the channel
# exists on this kernel; then as two concurrent sandboxed runs under the
# same two uids. The receiver prints what it saw ("RESULT … OPEN" or
# "… CLOSED"); the sender acts at a shared instant T0 + t.
#
# uids: the receiver is the test's uid, the sender that uid + 50.

UID_BASE=606000   # tests 1..49; senders 606051..606099
load helpers
# The shared files of these channels are host files under /tmp, which a
# scratch directory would hide: runs without one (scratch.bats shows two
# runs' scratch directories share nothing).
SB_ARGS=(--scratch 0)

# One copy of this file at a time on the host: its controls open the very
# channels the file shows closed (a shared futex on a page of libc, locks
# on host files), and make test runs the cold and the warm pass side by
# side, so the other pass's control would wake this one's receiver. The
# lock is held by bats' process for the file, from setup_file to
# teardown_file.
setup_file() {
    exec {CHANNELS_LOCK}>/tmp/pysb-test-channels.lock
    flock -x "$CHANNELS_LOCK"
}
teardown_file() { exec {CHANNELS_LOCK}>&-; }

setup() {
    common_setup
    SENDER_UID=$((TEST_UID + 50))
}

teardown() {
    local p
    for p in $(pgrep -U "$SENDER_UID" 2>/dev/null; pgrep -u "$SENDER_UID" 2>/dev/null); do
        kill -KILL "$p" 2>/dev/null || true
    done
    common_teardown
}

# The programs' common start: raw system calls through ctypes, and at(t),
# which sleeps until the shared instant T0 + t (T0 is put in by `channel`).
PRE='import os, sys, time, ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *a):
    a = [ctypes.c_long(x) if isinstance(x, int) else x for x in a]
    r = libc.syscall(ctypes.c_long(nr), *a)
    return r, (ctypes.get_errno() if r < 0 else 0)
T0 = @T0@
def at(t):
    d = T0 + t - time.time()
    if d > 0:
        time.sleep(d)
'

# start_one SANDBOXED UID CODE OUT [CLI ARGS…]: in the background.
start_one() {
    local boxed=$1 uid=$2 code=$3 out=$4
    shift 4
    if [ "$boxed" = 1 ]; then
        timeout -k 2 15 "$PYSB_RUN" --uid "$uid" --gid "$uid" --clock 6 "${SB_ARGS[@]}" "$@" -c "$code" \
            >"$out" 2>&1 3>&- &
    else
        timeout -k 2 15 setpriv --reuid="$uid" --regid="$uid" --clear-groups \
            "$PY" -I -S -c "$code" >"$out" 2>&1 3>&- &
    fi
    BG_PIDS+=($!)
}

# channel SANDBOXED RECEIVER SENDER [CLI ARGS…]: both at once (SENDER may
# be "" when the harness acts itself, see HOST_ACT); sets $result to the
# receiver's RESULT line, $recv_out and $send_out to what each printed.
HOST_ACT=
channel() {
    local boxed=$1 recv=$2 send=$3
    shift 3
    local t0 ro="$BATS_TEST_TMPDIR/recv.$boxed" so="$BATS_TEST_TMPDIR/send.$boxed"
    t0=$(awk "BEGIN{printf \"%.3f\", $(now) + 0.8}")
    BG_PIDS=()
    start_one "$boxed" "$TEST_UID" "${PRE//@T0@/$t0}$recv" "$ro" "$@"
    local rp=$!
    : >"$so"
    [ -z "$send" ] || start_one "$boxed" "$SENDER_UID" "${PRE//@T0@/$t0}$send" "$so" "$@"
    [ -z "$HOST_ACT" ] || "$HOST_ACT" "$t0"
    local p
    for p in "${BG_PIDS[@]}"; do wait "$p" || true; done
    recv_out=$(cat "$ro")
    send_out=$(cat "$so")
    result=$(grep -m1 '^RESULT' "$ro" || true)
}

# expect_channel RECEIVER SENDER [CLI ARGS…]: open unsandboxed, closed in
# the sandbox. The control may take up to five tries: on a machine shared
# with other work, host-wide figures (task counts, free blocks) move for
# other reasons too, and one clear showing proves the channel exists. The
# sandbox gets one try, and must be closed.
expect_channel() {
    local try
    for try in 1 2 3 4 5; do
        channel 0 "$@"
        [[ $result == *OPEN* ]] && break
    done
    if [[ $result != *OPEN* ]]; then
        echo "FAIL: the control does not show the channel: '$result'" >&2
        echo "receiver: $recv_out" >&2
        echo "sender: $send_out" >&2
        return 1
    fi
    local control=$result
    channel 1 "$@"
    if [[ $result != *CLOSED* ]]; then
        echo "FAIL: open between two runs: '$result' (control: '$control')" >&2
        echo "receiver: $recv_out" >&2
        echo "sender: $send_out" >&2
        return 1
    fi
    echo "# control: $control" >&3
    echo "# sandbox: $result" >&3
}

# A file of the test's own, under a directory both runs may read (--ro).
shared_file() {
    make_world_dir
    chmod 0755 "$WDIR"
    SHARED="$WDIR/shared.py"
    head -c 65536 /dev/urandom | base64 > "$SHARED"
    chmod 0644 "$SHARED"
    sync "$SHARED"  # dirty pages cannot be evicted
}

@test "channel dnotify: F_NOTIFY on a readable directory is refused, so a run is not signalled when another reads there (control: signalled)" {
    local d=/usr/lib/python3.11/json
    local recv='import fcntl
hits = [0]
signal.signal(signal.SIGIO, lambda *a: hits.__setitem__(0, hits[0] + 1))
try:
    fd = os.open("'$d'", os.O_RDONLY)
    fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)
    print("armed")
except OSError as e:
    print("F_NOTIFY refused", e.errno)
at(1.5)
print("RESULT signals=%d" % hits[0], "OPEN" if hits[0] else "CLOSED")'
    local send='at(0.5)
for i in range(20):
    with open("'$d'/decoder.py", "rb") as f:
        f.read(100)
    time.sleep(0.02)'
    expect_channel "$recv" "$send"
}

@test "channel page cache: posix_fadvise(DONTNEED) and preadv2(RWF_NOWAIT) are refused, so a run can neither evict a file nor see that another read it (control: it can)" {
    shared_file
    local recv='fd = os.open("'$SHARED'", os.O_RDONLY)
def probe():
    try:
        os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)
        return "cached"
    except BlockingIOError:
        return "evicted"
    except OSError as e:
        return "probe-refused-%d" % e.errno
try:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    ev = "ok"
except OSError as e:
    ev = "refused-%d" % e.errno
first = probe()
at(1.0)
p = probe()
print("RESULT evict", ev, "then", first, "after the other read:", p,
      "OPEN" if ev == "ok" and first == "evicted" and p == "cached" else "CLOSED")'
    local send='at(0.5)
with open("'$SHARED'", "rb") as f:
    f.read()'
    expect_channel "$recv" "$send" --ro "$WDIR"
}

# lock_channel PATH_EXPR OPEN_FLAGS LOCKFN — sets recv and send: the sender
# takes an exclusive LOCKFN lock on the file at 0.5 s and holds it to 1.0 s;
# the receiver tries a non-blocking one every 20 ms and says OPEN when it
# ever found the lock held.
lock_channel() {
    recv='import fcntl
fd = os.open('"$1"', '"$2"')
seen = set()
while time.time() < T0 + 1.5:
    try:
        '"$3"'(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        '"$3"'(fd, fcntl.LOCK_UN)
        seen.add("free")
    except OSError as e:  # held: EAGAIN, or EACCES for lockf (never a seccomp answer)
        seen.add("held" if e.errno in (11, 13) else "refused-%d" % e.errno)
    time.sleep(0.02)
print("RESULT", sorted(seen), "OPEN" if "held" in seen else "CLOSED")'
    send='import fcntl
fd = os.open('"$1"', '"$2"')
at(0.5)
try:
    '"$3"'(fd, fcntl.LOCK_EX)
    print("sender holds")
except OSError as e:
    print("sender refused", e.errno)
at(1.0)'
}

@test "channel flock: an exclusive flock on a shared read-only file is refused, so one run cannot block another's (control: it blocks)" {
    shared_file
    lock_channel "'$SHARED'" os.O_RDONLY fcntl.flock
    expect_channel "$recv" "$send" --ro "$WDIR"
}

@test "channel record locks: F_GETLK and F_OFD_GETLK are refused, so a run cannot see another's read lock on a shared file (control: it sees it)" {
    shared_file
    local recv='import fcntl, struct
fd = os.open("'$SHARED'", os.O_RDONLY)
seen = set()
while time.time() < T0 + 1.5:
    for cmd in (36, fcntl.F_GETLK):  # F_OFD_GETLK, F_GETLK
        try:
            r = fcntl.fcntl(fd, cmd, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
            seen.add("unlocked" if struct.unpack("hhqqi4x", r)[0] == fcntl.F_UNLCK else "locked")
        except OSError as e:
            seen.add("refused-%d" % e.errno)
    time.sleep(0.02)
print("RESULT", sorted(seen), "OPEN" if "locked" in seen else "CLOSED")'
    local send='import fcntl, struct
fd = os.open("'$SHARED'", os.O_RDONLY)
at(0.5)
try:
    fcntl.fcntl(fd, 37, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 0, 0))  # F_OFD_SETLK
    print("sender read-locked")
except OSError as e:
    print("sender refused", e.errno)
at(1.0)'
    expect_channel "$recv" "$send" --ro "$WDIR"
}

# The host's side of the statvfs channel: 16 MB written, synced, removed.
host_writes() {
    local t0=$1 f
    f=$(mktemp /var/tmp/pysb-statvfs.XXXXXX)
    CLEANUP_PATHS+=("$f")
    sleep "$(awk "BEGIN{d = $t0 + 0.5 - $(now); print (d > 0 ? d : 0)}")"
    head -c 16777216 /dev/urandom > "$f"
    sync "$f"
    sleep "$(awk "BEGIN{d = $t0 + 1.0 - $(now); print (d > 0 ? d : 0)}")"
    rm -f "$f"
    sync /var/tmp
}

@test "channel statvfs: statfs is refused, so a run cannot watch the free blocks of host file systems move (control: they move)" {
    local recv='vals = set()
while time.time() < T0 + 1.5:
    try:
        vals.add(os.statvfs("/usr/lib/python3.11").f_bfree)
    except OSError as e:
        vals.add("refused-%d" % e.errno)
    time.sleep(0.02)
nums = [v for v in vals if not isinstance(v, str)]
print("RESULT distinct f_bfree values:", len(nums), sorted(map(str, vals))[:2],
      "OPEN" if len(nums) > 1 else "CLOSED")'
    HOST_ACT=host_writes expect_channel "$recv" ""
}

# A word of libc's text: the same file page in every process that maps
# libc, so a shared futex there has one key for all of them.
FUTEX='SYS_futex = 202
addr = (ctypes.cast(libc.getpid, ctypes.c_void_p).value + 64) & ~3
val = ctypes.c_uint32.from_address(addr).value
'

@test "channel futex: a shared FUTEX_WAKE on a page of libc is refused, so it cannot wake another run waiting there (control: it wakes it)" {
    local recv="$FUTEX"'class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
t = time.time()
r, e = sc(SYS_futex, addr, 0, val, ctypes.byref(TS(1, 500000000)), 0, 0)  # FUTEX_WAIT, shared
woke = r == 0 and time.time() - t < 1.4
print("RESULT wait returned", r, e, "after %.2f s" % (time.time() - t), "OPEN" if woke else "CLOSED")'
    local send="$FUTEX"'at(0.5)
n = 0
for i in range(20):
    r, e = sc(SYS_futex, addr, 1, 1, 0, 0, 0)  # FUTEX_WAKE, shared
    if r < 0:
        print("wake refused", e)
        break
    n += r
    time.sleep(0.01)
print("woke", n)'
    expect_channel "$recv" "$send"
    [[ $send_out == *"wake refused 38"* ]] || fail "the run's wake was not refused: $send_out"
}

@test "channel sysinfo: sysinfo is refused, so a run cannot count the host's tasks while another run starts 120 threads (control: it counts them)" {
    local recv='class SI(ctypes.Structure):
    _fields_ = [("uptime", ctypes.c_long), ("loads", ctypes.c_ulong * 3), ("totalram", ctypes.c_ulong),
                ("freeram", ctypes.c_ulong), ("sharedram", ctypes.c_ulong), ("bufferram", ctypes.c_ulong),
                ("totalswap", ctypes.c_ulong), ("freeswap", ctypes.c_ulong), ("procs", ctypes.c_ushort),
                ("pad", ctypes.c_char * 22)]
def procs():
    si = SI()
    r, e = sc(99, ctypes.byref(si))
    return si.procs if r == 0 else -e
import statistics
def window(a, b):
    v = []
    at(a)
    while time.time() < T0 + b:
        v.append(procs())
        time.sleep(0.01)
    return statistics.median(v)
before, during, after = window(0.1, 0.45), window(0.7, 1.2), window(1.5, 1.9)
print("RESULT tasks before", before, "during", during, "after", after,
      "OPEN" if before > 0 and during - before >= 80 and during - after >= 80 else "CLOSED")'
    local send='import threading
threading.stack_size(256 * 1024)
ev = threading.Event()
at(0.5)
ts = [threading.Thread(target=ev.wait) for i in range(120)]
[t.start() for t in ts]
at(1.35)
ev.set()'
    expect_channel "$recv" "$send" --threads 128
}

@test "channel /dev/null lock: each run has its own /dev/null node, so a write lock on it reaches no other run (control: the host's shared node blocks)" {
    lock_channel '"/dev/null"' os.O_RDWR fcntl.lockf
    expect_channel "$recv" "$send"
    [[ $send_out == *"sender holds"* ]] || fail "the run could not lock its own /dev/null: $send_out"
}

# The host's side of the /dev/null lock: the harness itself (root, the
# host's node) holds a write lock on byte 0 from 0.5 s to 1.0 s.
host_locks_null() {
    "$PY" -I -S -c 'import fcntl, os, time
fd = os.open("/dev/null", os.O_RDWR)
d = '"$1"' + 0.5 - time.time()
time.sleep(max(d, 0))
fcntl.lockf(fd, fcntl.LOCK_EX)
time.sleep(max('"$1"' + 1.0 - time.time(), 0))'
}

@test "channel /dev/null lock with the host: a write lock the host holds on its /dev/null is not seen from a run's own node (control: an unsandboxed process sees it held)" {
    lock_channel '"/dev/null"' os.O_RDWR fcntl.lockf
    HOST_ACT=host_locks_null expect_channel "$recv" ""
}

@test "channel atime: the run's binds are noatime, so reading a file does not tell another run through its access time (control: it does)" {
    shared_file
    # an access time older than the mtime: relatime updates it on the next read
    touch -m -d '1 hour ago' "$SHARED"
    touch -a -d '2 days ago' "$SHARED"
    local recv='before = os.stat("'$SHARED'").st_atime
at(1.0)
after = os.stat("'$SHARED'").st_atime
print("RESULT atime moved by %.0f s" % (after - before), "OPEN" if after > before else "CLOSED")'
    local send='at(0.5)
with open("'$SHARED'", "rb") as f:
    f.read(10)'
    channel 0 "$recv" "$send" --ro "$WDIR"
    [[ $result == *OPEN* ]] || fail "the control does not show the channel: '$result' ($recv_out / $send_out)"
    echo "# control: $result" >&3
    touch -a -d '2 days ago' "$SHARED"
    channel 1 "$recv" "$send" --ro "$WDIR"
    [[ $result == *CLOSED* ]] || fail "open between two runs: '$result' ($recv_out / $send_out)"
    echo "# sandbox: $result" >&3
}
