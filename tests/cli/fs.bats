#!/usr/bin/env bats
# fs.bats — Landlock: nothing outside the interpreter's own files is readable
# or writable. Every denial is paired with a control that performs the same
# action without the sandbox (as root, and where it matters as the same uid,
# so the denial cannot come from file permissions alone).

UID_BASE=600300
load helpers
# Runs without a scratch directory: nothing at all is writable, and the
# host's /tmp (where the fixtures are) is not hidden. scratch.bats covers
# runs with one.
SB_ARGS=(--scratch 0)

# Denied by Landlock (EACCES) or, for calls the seccomp allow-list leaves
# out (mkdir, unlink, rename, symlink, link, truncate...), by seccomp (EPERM).
expect_eperm_or_eacces() {
    grep -qxE 'DENIED PermissionError (1|13)' "$SB_OUT" || fail "not denied with EPERM/EACCES"
}

teardown() {
    [ -z "${SUBMOUNT:-}" ] || umount -l "$SUBMOUNT" 2>/dev/null || true
    common_teardown
}

setup() {
    common_setup
    make_world_dir
    # A file every uid may read and write (DAC-wise).
    WFILE="$WDIR/data.txt"
    printf 'original content\n' >"$WFILE"
    chmod 0666 "$WFILE"
}

@test "fs: writing a new file in /tmp is denied (control: allowed)" {
    local target="/tmp/pysb-cli-w-$TEST_UID-$$"
    CLEANUP_PATHS+=("$target")
    local code; code=$(guard "open('$target', 'w').write('x')")
    sb -c "$code"
    expect_verdict ok
    out_is_denied w
    [ ! -e "$target" ] || fail "file was created"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    rm -f "$target"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: creating a file in a world-writable directory is denied (control as same uid: allowed)" {
    local code; code=$(guard "open('$WDIR/new.txt', 'x').write('x')")
    sb -c "$code"
    expect_verdict ok
    out_is_denied w
    [ ! -e "$WDIR/new.txt" ] || fail "file was created"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: overwriting a world-writable file is denied (control as same uid: allowed)" {
    local code; code=$(guard "open('$WFILE', 'w').write('pwned')")
    sb -c "$code"
    expect_verdict ok
    out_is_denied w
    [ "$(cat "$WFILE")" = "original content" ] || fail "file changed"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: appending to a world-writable file is denied (control: allowed)" {
    local code; code=$(guard "open('$WFILE', 'a').write('more')")
    sb -c "$code"
    expect_verdict ok
    out_is_denied w
    [ "$(cat "$WFILE")" = "original content" ] || fail "file changed"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: truncating a world-writable file is denied (control: allowed)" {
    local code; code=$(guard "os.truncate('$WFILE', 0)")
    sb -c "$code"
    expect_verdict ok
    expect_eperm_or_eacces
    [ "$(cat "$WFILE")" = "original content" ] || fail "file changed"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: creating a directory is denied (control: allowed)" {
    local code; code=$(guard "os.mkdir('$WDIR/subdir')")
    sb -c "$code"
    expect_verdict ok
    expect_eperm_or_eacces
    [ ! -e "$WDIR/subdir" ] || fail "directory was created"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: mkdir in /tmp is denied (control: allowed)" {
    local target="/tmp/pysb-cli-d-$TEST_UID-$$"
    CLEANUP_PATHS+=("$target")
    local code; code=$(guard "os.mkdir('$target')")
    sb -c "$code"
    expect_verdict ok
    expect_eperm_or_eacces
    [ ! -e "$target" ] || fail "directory was created"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: chmod of a test-created 0666 file is denied (control: allowed)" {
    local code; code=$(guard "os.chmod('$WFILE', 0o777)")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED PermissionError (1|13)$' "$SB_OUT" || fail "chmod not denied"
    [ "$(stat -c %a "$WFILE")" = 666 ] || fail "mode changed"
    plain "$code"
    expect_output '^ALLOWED$'
    [ "$(stat -c %a "$WFILE")" = 777 ] || { echo "control did not chmod" >&2; return 1; }
    no_leftovers
}

@test "fs: chmod of a file owned by the run's own uid is denied (control as that uid: allowed)" {
    # File permissions allow this one (the run's uid owns the file): only the
    # sandbox can refuse it.
    chown "$TEST_UID:$TEST_GID" "$WFILE"
    local code; code=$(guard "os.chmod('$WFILE', 0o600)")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED PermissionError (1|13)$' "$SB_OUT" || fail "chmod not denied"
    [ "$(stat -c %a "$WFILE")" = 666 ] || fail "mode changed to $(stat -c %a "$WFILE")"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: unlink and rename of a world-writable file are denied (control as same uid: allowed)" {
    local code; code=$(guard "os.rename('$WFILE', '$WDIR/renamed.txt')")
    sb -c "$code"
    expect_verdict ok
    expect_eperm_or_eacces
    code=$(guard "os.unlink('$WFILE')")
    sb -c "$code"
    expect_verdict ok
    expect_eperm_or_eacces
    [ -e "$WFILE" ] || fail "file is gone"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: symlink and hard link creation are denied (control: allowed)" {
    local code; code=$(guard "os.symlink('/etc/passwd', '$WDIR/link')")
    sb -c "$code"
    expect_verdict ok
    expect_eperm_or_eacces
    code=$(guard "os.link('$WFILE', '$WDIR/hard')")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED PermissionError (1|13)$' "$SB_OUT" || fail "link not denied"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: mkfifo is denied (control: allowed)" {
    local code; code=$(guard "os.mkfifo('$WDIR/fifo')")
    sb -c "$code"
    expect_verdict ok
    grep -qE '^DENIED PermissionError (1|13)$' "$SB_OUT" || fail "mkfifo not denied"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: reading /etc/passwd is denied (control: allowed)" {
    local code; code=$(guard "print(open('/etc/passwd').read()[:4])")
    sb -c "$code"
    expect_verdict ok
    out_is_denied
    plain "$code"
    expect_output '^ALLOWED$'
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: reading /etc/shadow is denied (control: allowed for root)" {
    local code; code=$(guard "open('/etc/shadow').read()")
    sb -c "$code"
    expect_verdict ok
    out_is_denied
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: reading a world-readable test file is denied (control as same uid: allowed)" {
    local code; code=$(guard "assert open('$WFILE').read() == 'original content\\n'")
    sb -c "$code"
    expect_verdict ok
    out_is_denied
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: listing /root is denied (control: allowed)" {
    local code; code=$(guard "os.listdir('/root')")
    sb -c "$code"
    expect_verdict ok
    out_is_denied
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: listing / and /etc is denied (control as same uid: allowed)" {
    local code; code=$(guard "os.listdir('/')
os.listdir('/etc')")
    sb -c "$code"
    expect_verdict ok
    out_is_denied
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: open via ctypes (bypassing Python) is still denied by Landlock" {
    local code='import ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open(b"/etc/passwd", 0)
print("FD", fd, ctypes.get_errno() if fd < 0 else 0)'
    sb -c "$code"
    expect_verdict ok
    [[ $sb_out =~ ^FD\ -1\ (13|2)$ ]] || fail "not denied (EACCES, or ENOENT in the run's root)"
    plain "$code"
    expect_output '^FD [0-9]+ 0$'
    no_leftovers
}

@test "fs: ctypes openat with O_CREAT in /tmp is denied (control: allowed)" {
    local target="/tmp/pysb-cli-c-$TEST_UID-$$"
    CLEANUP_PATHS+=("$target")
    local code='import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.openat(-100, b"'"$target"'", os.O_WRONLY | os.O_CREAT, 0o666)
print("FD", fd, ctypes.get_errno() if fd < 0 else 0)'
    sb -c "$code"
    expect_verdict ok
    [[ $sb_out =~ ^FD\ -1\ (13|30)$ ]] || fail "not denied (EACCES, or EROFS in the run's read-only root)"
    [ ! -e "$target" ] || fail "file was created"
    plain "$code"
    expect_output '^FD [0-9]+ 0$'
    no_leftovers
}

@test "fs: what must work: the stdlib imports, /dev/null read+write, /dev/urandom read" {
    sb -c 'import json, collections, re, random, decimal, datetime
with open("/dev/null", "w") as f:
    f.write("x")
with open("/dev/null") as f:
    assert f.read() == ""
with open("/dev/urandom", "rb") as f:
    assert len(f.read(16)) == 16
print("WORKS", json.dumps([random.random() < 2]))'
    expect_verdict ok
    out_is "WORKS [true]"
    no_leftovers
}

@test "fs: /dev/urandom is not writable" {
    local code; code=$(guard "open('/dev/urandom', 'wb').write(b'x')")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: the interpreter's own files are not writable (control: allowed for root)" {
    # Root may open the stdlib for writing; the sandbox may only read it.
    local lib; lib=$("$PY" -I -S -c 'import os; print(os.__file__)')
    local code; code=$(guard "open('$lib', 'r+b').close()")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: --ro PATH makes a directory readable, still not writable" {
    local code='import os
print(open("'"$WFILE"'").read().strip())
try:
    open("'"$WFILE"'", "w")
    print("WRITE ALLOWED")
except OSError as e:
    print("WRITE DENIED", type(e).__name__, e.errno)'
    sb --ro "$WDIR" -c "$code"
    expect_verdict ok
    # the bind of an --ro path is read-only (EROFS) before Landlock (EACCES)
    [[ $sb_out == "original content"$'\n'"WRITE DENIED PermissionError 13" ||
       $sb_out == "original content"$'\n'"WRITE DENIED OSError 30" ]] || fail "unexpected"
    no_leftovers
}

@test "fs: an --ro file replaced on the host (a new inode renamed over it, as upgrades do) is what the next run reads: the root's template follows it; a change in place shows at once" {
    local f="$WDIR/data.txt"
    echo "version 1" >"$f"; chmod 644 "$f"
    local code='print(open("'"$f"'").read().strip())'
    sb --ro "$f" -c "$code"
    expect_verdict ok
    out_is "version 1"
    echo "version 2" >"$f.new"; chmod 644 "$f.new"; mv "$f.new" "$f"
    sb --ro "$f" -c "$code"
    expect_verdict ok
    out_is "version 2"
    echo "version 3" >"$f"    # the same inode, rewritten
    sb --ro "$f" -c "$code"
    expect_verdict ok
    out_is "version 3"
    no_leftovers
}

@test "fs: the mounts of the run's root are read-only, nosuid, nodev and noatime, every one of them, a mount beneath an --ro directory too (seen from outside, in the run's /proc/PID/mountinfo)" {
    # a writable tmpfs mounted beneath the --ro directory on the host
    SUBMOUNT="$WDIR/sub"
    mkdir "$SUBMOUNT"
    mount -t tmpfs -o size=64k,mode=0777 pysb-test-sub "$SUBMOUNT"
    echo inside >"$SUBMOUNT/f"; chmod 666 "$SUBMOUNT/f"
    local code='import time; print(open("'"$SUBMOUNT"'/f").read().strip(), flush=True); time.sleep(3)'
    timeout -k 2 20 "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" "${SB_ARGS[@]}" --ro "$WDIR" -c "$code" \
        >"$BATS_TEST_TMPDIR/out" 2>/dev/null 3>&- &
    BG_PIDS+=($!)
    local i pid=
    for i in $(seq 50); do
        grep -q inside "$BATS_TEST_TMPDIR/out" 2>/dev/null && pid=$(pgrep -u "$TEST_UID" -n) && break
        sleep 0.1
    done
    [ -n "$pid" ] || fail "the run did not start"
    local mi; mi=$(cat "/proc/$pid/mountinfo")
    # / is the root's tmpfs; every bind (ext4 here, anything not tmpfs/proc)
    # is ro,nosuid,nodev,noatime; $WDIR and the stdlib are there, /home is not
    awk '$5 == "/" && $0 ~ / - tmpfs / && $6 ~ /^ro,/ {ok=1} END {exit !ok}' <<<"$mi" ||
        fail "/ is not a read-only tmpfs"
    local binds; binds=$(awk '$0 !~ / - (tmpfs|proc) /' <<<"$mi")
    [ -n "$binds" ] || fail "no binds"
    while read -r line; do
        [[ $(awk '{print $6}' <<<"$line") =~ ^ro,nosuid,nodev,noatime ]] || fail "not ro,nosuid,nodev,noatime: $line"
    done <<<"$binds"
    awk -v d="$WDIR" '$5 == d {ok=1} END {exit !ok}' <<<"$mi" || fail "$WDIR is not bound"
    awk -v d="$SUBMOUNT" '$5 == d && $6 ~ /^ro,nosuid,nodev,noatime/ {ok=1} END {exit !ok}' <<<"$mi" ||
        fail "the mount beneath $WDIR is not ro,nosuid,nodev,noatime in the run: $(grep -F "$SUBMOUNT" <<<"$mi")"
    awk '$5 == "/usr/lib/python3.11" {ok=1} END {exit !ok}' <<<"$mi" || fail "the stdlib is not bound"
    ! awk '{print $5}' <<<"$mi" | grep -qE '^/(home|etc/passwd|run)' || fail "a host path is mounted"
    wait "${BG_PIDS[0]}" || true
    no_leftovers
}

@test "fs: --waive-landlock keeps Landlock when the kernel has it" {
    local code; code=$(guard "open('/etc/passwd').read()")
    sb --waive-landlock -c "$code"
    expect_verdict ok
    jcheck '.landlock_abi >= 1'
    out_is_denied
    no_leftovers
}

@test "fs: /proc and /sys are not readable (control as same uid: allowed)" {
    local code; code=$(guard "open('/proc/self/status').read()")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    code=$(guard "open('/sys/kernel/mm/transparent_hugepage/enabled').read()")
    sb -c "$code"
    expect_verdict ok
    out_is_denied
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}
