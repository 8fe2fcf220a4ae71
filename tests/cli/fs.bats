#!/usr/bin/env bats
# fs.bats — Landlock: nothing outside the interpreter's own files is readable
# or writable. Every denial is paired with a control that performs the same
# action without the sandbox (as root, and where it matters as the same uid,
# so the denial cannot come from file permissions alone).

UID_BASE=600300
load helpers

# Denied by Landlock (EACCES) or, for calls the seccomp allow-list leaves
# out (mkdir, unlink, rename, symlink, link, truncate...), by seccomp (EPERM).
expect_eperm_or_eacces() {
    grep -qxE 'DENIED PermissionError (1|13)' "$SB_OUT" || fail "not denied with EPERM/EACCES"
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
    out_is "DENIED PermissionError 13"
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
    out_is "DENIED PermissionError 13"
    [ ! -e "$WDIR/new.txt" ] || fail "file was created"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: overwriting a world-writable file is denied (control as same uid: allowed)" {
    local code; code=$(guard "open('$WFILE', 'w').write('pwned')")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
    [ "$(cat "$WFILE")" = "original content" ] || fail "file changed"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: appending to a world-writable file is denied (control: allowed)" {
    local code; code=$(guard "open('$WFILE', 'a').write('more')")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
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
    out_is "DENIED PermissionError 13"
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
    out_is "DENIED PermissionError 13"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: reading a world-readable test file is denied (control as same uid: allowed)" {
    local code; code=$(guard "assert open('$WFILE').read() == 'original content\\n'")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: listing /root is denied (control: allowed)" {
    local code; code=$(guard "os.listdir('/root')")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
    plain "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}

@test "fs: listing / and /etc is denied (control as same uid: allowed)" {
    local code; code=$(guard "os.listdir('/')
os.listdir('/etc')")
    sb -c "$code"
    expect_verdict ok
    out_is "DENIED PermissionError 13"
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
    out_is "FD -1 13"
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
    out_is "FD -1 13"
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
    [ "$sb_out" = "original content
WRITE DENIED PermissionError 13" ] || fail "unexpected"
    no_leftovers
}

@test "fs: --waive-landlock keeps Landlock when the kernel has it" {
    local code; code=$(guard "open('/etc/passwd').read()")
    sb --waive-landlock -c "$code"
    expect_verdict ok
    jcheck '.landlock_abi >= 1'
    out_is "DENIED PermissionError 13"
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
    out_is "DENIED PermissionError 13"
    plain_as_uid "$code"
    expect_output '^ALLOWED$'
    no_leftovers
}
