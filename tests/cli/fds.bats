#!/usr/bin/env bats
# fds.bats — the program sees fds 0, 1, 2 (pipes) and, in a code run, the
# bootstrap's report pipe on 8 (write-only) and nothing else: not the code
# pipe, not the tool's report fd, not fds the tool inherited.

UID_BASE=600900
load helpers

SCAN='import os, stat
fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
print("FDS", fds)
import fcntl
if 8 in fds:
    print("8", stat.S_ISFIFO(os.fstat(8).st_mode), fcntl.fcntl(8, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY)'

@test "fds: no fd above 2 but the write-only report pipe on 8 is open in the program (tool has fds 5 and 7 open too)" {
    sb -c "$SCAN" 5</dev/null 7</dev/null
    expect_verdict ok
    out_is "FDS [8]
8 True True"
    no_leftovers
}

@test "fds: control: plain python3 -c does see an inherited fd 5" {
    run timeout 20 "$PY" -c "$SCAN" 5</dev/null
    [ "$status" -eq 0 ]
    grep -qE '^FDS \[.*\b5\b.*\]$' <<<"$output" || { echo "control: fd 5 not seen: $output" >&2; return 1; }
}

@test "fds: FILE.py and - modes leak no fd either" {
    local f="$BATS_TEST_TMPDIR/scan.py"
    printf '%s\n' "$SCAN" >"$f"
    sb "$f" 7</dev/null
    expect_verdict ok
    out_is "FDS [8]
8 True True"
    sb - <"$f" 7</dev/null
    expect_verdict ok
    out_is "FDS [8]
8 True True"
    no_leftovers
}

@test "fds: --exec mode leaks no fd either" {
    sb --exec /usr/bin/python3 -I -S -c "$SCAN" 7</dev/null
    expect_verdict ok
    out_is "FDS []"
    no_leftovers
}

@test "fds: 0, 1 and 2 are pipes (also with --stdin-file)" {
    local in="$BATS_TEST_TMPDIR/in.txt"
    echo data >"$in"
    local code='import os, stat
print([stat.S_ISFIFO(os.fstat(i).st_mode) for i in (0, 1, 2)])'
    sb --stdin-file "$in" -c "$code"
    expect_verdict ok
    out_is "[True, True, True]"
    sb -c "$code" </dev/null
    expect_verdict ok
    out_is "[True, True, True]"
    no_leftovers
}
