#!/usr/bin/env bats
# badinput.bats — bad usage or input: exit status 2, exactly one line on
# stderr, nothing on stdout, no crash, nothing run.

UID_BASE=600700
load helpers

# bad ARGS... — the CLI refuses ARGS the documented way.
bad() {
    sb_raw "$@" </dev/null
    if [ "$status" -ge 128 ]; then
        fail "crashed or was killed (exit status $status)"
        return 1
    fi
    expect_status 2
    [ -z "$sb_out" ] || { fail "stdout is not empty"; return 1; }
    local n; n=$(wc -l <"$SB_ERR")
    if [ "$n" -ne 1 ] || [ -z "$(tr -d '\n' <"$SB_ERR")" ]; then
        fail "stderr is not exactly one line (has $n newline(s))"
        return 1
    fi
    awk "BEGIN{exit !($SB_SECS < 5)}" || { fail "took $SB_SECS s"; return 1; }
    no_leftovers
}

@test "badinput: unknown flag" {
    bad --uid "$TEST_UID" --frobnicate -c 'print(1)'
}

@test "badinput: --cpu abc" {
    bad --uid "$TEST_UID" --cpu abc -c 'print(1)'
}

@test "badinput: --cpu 0" {
    bad --uid "$TEST_UID" --cpu 0 -c 'print(1)'
}

@test "badinput: --cpu 1e9" {
    bad --uid "$TEST_UID" --cpu 1e9 -c 'print(1)'
}

@test "badinput: --cpu nan and --cpu inf" {
    bad --uid "$TEST_UID" --cpu nan -c 'print(1)'
    bad --uid "$TEST_UID" --cpu inf -c 'print(1)'
}

@test "badinput: --cpu with trailing junk (5x)" {
    bad --uid "$TEST_UID" --cpu 5x -c 'print(1)'
}

@test "badinput: --clock -1 and --clock 0" {
    bad --uid "$TEST_UID" --clock -1 -c 'print(1)'
    bad --uid "$TEST_UID" --clock 0 -c 'print(1)'
}

@test "badinput: --mem 0" {
    bad --uid "$TEST_UID" --mem 0 -c 'print(1)'
}

@test "badinput: --mem -5" {
    bad --uid "$TEST_UID" --mem -5 -c 'print(1)'
}

@test "badinput: --mem below what CPython needs (1 KB)" {
    bad --uid "$TEST_UID" --mem 1 -c 'print(1)'
}

@test "badinput: --mem overflowing 64 bits" {
    bad --uid "$TEST_UID" --mem 99999999999999999999999 -c 'print(1)'
}

@test "badinput: --nproc 0" {
    bad --uid "$TEST_UID" --nproc 0 -c 'print(1)'
}

@test "badinput: --output 0 and --output 1Q" {
    bad --uid "$TEST_UID" --output 0 -c 'print(1)'
    bad --uid "$TEST_UID" --output 1Q -c 'print(1)'
}

@test "badinput: --uid abc and --uid -1" {
    bad --uid abc -c 'print(1)'
    bad --uid -1 -c 'print(1)'
}

@test "badinput: --uid 0" {
    bad --uid 0 -c 'print(1)'
}

@test "badinput: missing value for a flag (--cpu at the end)" {
    bad --uid "$TEST_UID" -c 'print(1)' --cpu
}

@test "badinput: -c without code" {
    bad --uid "$TEST_UID" -c
}

@test "badinput: no program at all" {
    bad --uid "$TEST_UID"
}

@test "badinput: missing file" {
    bad --uid "$TEST_UID" "$BATS_TEST_TMPDIR/does-not-exist.py"
}

@test "badinput: --stdin-file missing" {
    bad --uid "$TEST_UID" --stdin-file "$BATS_TEST_TMPDIR/nope.txt" -c 'print(1)'
}

@test "badinput: missing interpreter (--interpreter /nonexistent)" {
    bad --uid "$TEST_UID" --interpreter /nonexistent -c 'print(1)'
}

@test "badinput: --exec of a missing program" {
    bad --uid "$TEST_UID" --exec /nonexistent/prog
}

@test "badinput: code file that is not UTF-8" {
    local f="$BATS_TEST_TMPDIR/bad.py"
    printf '\xff\xfeprint(1)\n' >"$f"
    bad --uid "$TEST_UID" "$f"
}

@test "badinput: -c code that is not UTF-8" {
    bad --uid "$TEST_UID" -c $'print("\xff\xfe")'
}

@test "badinput: code on stdin that is not UTF-8" {
    local f="$BATS_TEST_TMPDIR/bad.py"
    printf 'print(1)\n\xc3\x28\n' >"$f"
    sb_raw --uid "$TEST_UID" - <"$f"
    expect_status 2
    [ -z "$sb_out" ] || fail "stdout is not empty"
    [ "$(wc -l <"$SB_ERR")" -eq 1 ] || fail "stderr is not one line"
    no_leftovers
}

@test "badinput: --ro of a missing path" {
    bad --uid "$TEST_UID" --ro /nonexistent/dir -c 'print(1)'
}

@test "badinput: --ro of /, /proc, /dev, /run/pysandbox, or a symlink to one of them (no part of a run's root)" {
    local p
    for p in / /proc /proc/self /dev /dev/shm /run/pysandbox; do
        bad --uid "$TEST_UID" --ro "$p" -c 'print(1)'
        grep -q "cannot be read-only paths" "$SB_ERR" || fail "--ro $p: $(cat "$SB_ERR")"
    done
    ln -s /proc "$BATS_TEST_TMPDIR/proc-link"
    bad --uid "$TEST_UID" --ro "$BATS_TEST_TMPDIR/proc-link" -c 'print(1)'
    grep -q "cannot be read-only paths" "$SB_ERR" || fail "a symlink to /proc: $(cat "$SB_ERR")"
}

@test "badinput: --report-fd of a closed descriptor" {
    bad --uid "$TEST_UID" --report-fd 9 -c 'print(1)'
}

@test "badinput: --interpreter or --exec of a non-executable file" {
    bad --uid "$TEST_UID" --interpreter /etc/passwd -c 'print(1)'
    bad --uid "$TEST_UID" --exec /etc/passwd
}

@test "badinput: --threads 0, --nfile 0, --stack 1" {
    bad --uid "$TEST_UID" --threads 0 -c 'print(1)'
    bad --uid "$TEST_UID" --nfile 0 -c 'print(1)'
    bad --uid "$TEST_UID" --stack 1 -c 'print(1)'
}

@test "badinput: two programs (-c and a file)" {
    bad --uid "$TEST_UID" -c 'print(1)' "$BATS_TEST_TMPDIR/x.py"
}
