# helpers.bash — shared helpers of the pysandbox-run integration tests.
#
# Load with `load helpers`. Each .bats file sets UID_BASE (a distinct block of
# 100 ids inside 600100-600999, or 606000-606199 for the files of issue 8:
# channels, verdicts; 606300-606399: a second run of an attacks.bats test;
# 601900-601999: warm.bats, issue 9) before loading; every test then runs the
# sandbox as uid/gid UID_BASE + BATS_TEST_NUMBER, so leftover processes of a
# test can be found afterwards with pgrep -U/-u and nothing else shares it.
#
# Conventions:
#   sb ARGS...        run pysandbox-run --uid U --gid U --json --report-fd 3
#                     "${SB_ARGS[@]}" ARGS (a file sets SB_ARGS=(--scratch 0)
#                     when its tests mean a run with nothing writable); sets $status, $SB_OUT, $SB_ERR (files), $REPORT
#                     (the JSON file), $sb_out/$sb_err (their text), and
#                     $SB_SECS (how long the CLI took).
#   plain CODE        run CODE with /usr/bin/python3 -I -S -c, as root,
#                     outside any sandbox (the control of a denial test);
#                     sets $status and $output like bats' run.
#   plain_as_uid CODE the same, but as the test's uid/gid with no groups
#                     (shows a denial is not just file permissions).
#   jcheck EXPR       jq -e EXPR on the report, dumps everything on failure.
#   no_leftovers      no process of the test's uid exists (fails otherwise).

PYSB_RUN="${PYSB_RUN:-$BATS_TEST_DIRNAME/../../build/pysandbox-run}"
PY=/usr/bin/python3
SB_ARGS=()

# Test's uid/gid: set by common_setup from UID_BASE + BATS_TEST_NUMBER.
TEST_UID=
TEST_GID=

# Upper bound on any single CLI invocation, whatever the limits say.
: "${SB_TIMEOUT:=40}"

common_setup() {
    TEST_UID=$(( ${UID_BASE:-600000} + ${PYSB_TEST_UID_SHIFT:-0} + BATS_TEST_NUMBER ))
    TEST_GID=$TEST_UID
    BG_PIDS=()
    CLEANUP_PATHS=()
    if [ ! -x "$PYSB_RUN" ]; then
        echo "pysandbox-run not found or not executable at $PYSB_RUN (run make, or set PYSB_RUN)" >&2
        return 1
    fi
    REPORT="$BATS_TEST_TMPDIR/report.json"
    SB_OUT="$BATS_TEST_TMPDIR/sb.stdout"
    SB_ERR="$BATS_TEST_TMPDIR/sb.stderr"
}

common_teardown() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for p in "${CLEANUP_PATHS[@]}"; do
        rm -rf -- "$p"
    done
    # Never leave sandbox processes behind, even when a test failed: kill
    # them by pid (found by the test's own uid, which nothing else uses).
    [ -n "$TEST_UID" ] || return 0
    local pids
    pids=$(pgrep -U "$TEST_UID" 2>/dev/null; pgrep -u "$TEST_UID" 2>/dev/null) || true
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null || true
    done
}

setup() { common_setup; }
teardown() { common_teardown; }

# Time in seconds (float) since the epoch.
now() { date +%s.%N; }

# The mode of every code run of the suites: PYSB_TEST_START=warm (set by
# tests/run-all.sh for the second pass) adds --warm to each sb call that
# runs code (--exec runs stay cold), and sb then checks the run really was
# forked from the fork server. Tests that need a mode of their own ask
# for it themselves; warm_mode says which one the suite runs in.
warm_mode() { [ "${PYSB_TEST_START:-cold}" = warm ]; }

# sb ARGS... — the sandbox, JSON report on fd 3 into $REPORT.
sb() {
    local t0 t1 mode=()
    if warm_mode && ! printf '%s\n' "$@" | grep -qxF -- --exec; then
        mode=(--warm)
    fi
    rm -f "$REPORT" "$SB_OUT" "$SB_ERR"
    t0=$(now)
    status=0
    timeout -k 5 "$SB_TIMEOUT" "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" \
        --json --report-fd 3 "${mode[@]}" "${SB_ARGS[@]}" "$@" \
        >"$SB_OUT" 2>"$SB_ERR" 3>"$REPORT" || status=$?
    t1=$(now)
    SB_SECS=$(awk "BEGIN{print $t1 - $t0}")
    sb_out=$(cat "$SB_OUT")
    sb_err=$(cat "$SB_ERR")
    if [ ${#mode[@]} -gt 0 ] && [ -s "$REPORT" ] &&
       ! jq -e '.start == "warm"' "$REPORT" >/dev/null 2>&1; then
        fail "PYSB_TEST_START=warm, but the run did not start warm"
        return 1
    fi
    return 0
}

# sb_raw ARGS... — the CLI as given (no uid, no JSON), stdout/stderr to
# files; for the text report and bad-input tests. Stdin is /dev/null unless
# the caller redirects it.
sb_raw() {
    local t0 t1
    rm -f "$SB_OUT" "$SB_ERR"
    t0=$(now)
    status=0
    timeout -k 5 "$SB_TIMEOUT" "$PYSB_RUN" "$@" >"$SB_OUT" 2>"$SB_ERR" || status=$?
    t1=$(now)
    SB_SECS=$(awk "BEGIN{print $t1 - $t0}")
    sb_out=$(cat "$SB_OUT")
    sb_err=$(cat "$SB_ERR")
    return 0
}

dump() {
    {
        echo "--- exit status: $status (took ${SB_SECS:-?} s)"
        echo "--- stdout:"; head -c 4000 "$SB_OUT" 2>/dev/null; echo
        echo "--- stderr:"; head -c 4000 "$SB_ERR" 2>/dev/null; echo
        echo "--- report (stdout/stderr cut to 300 chars):"
        if [ -s "$REPORT" ]; then
            jq -c '(.stdout, .stderr) |= (if type == "string" and length > 300 then .[:300] + "…" else . end)' \
                "$REPORT" 2>/dev/null || head -c 2000 "$REPORT"
        fi
    } >&2
}

fail() {
    echo "FAIL: $*" >&2
    dump
    return 1
}

# jcheck EXPR — the JSON report satisfies the jq expression.
jcheck() {
    if [ ! -s "$REPORT" ]; then
        fail "no JSON report written (checking: $1)"
        return 1
    fi
    if ! jq -e "$1" "$REPORT" >/dev/null 2>&1; then
        fail "jq check failed: $1"
        return 1
    fi
}

# jget EXPR — raw value from the report.
jget() { jq -r "$1" "$REPORT"; }

# expect_status N — the CLI's exit status.
expect_status() {
    if [ "$status" != "$1" ]; then
        fail "expected exit status $1, got $status"
        return 1
    fi
}

# expect_verdict STATUS — JSON status, and the exit status that goes with it.
expect_verdict() {
    jcheck ".status == \"$1\""
    if [ "$1" = ok ]; then expect_status 0; else expect_status 1; fi
}

# out_has STRING / out_is STRING / err_has STRING — on the relayed streams.
out_has() {
    grep -qF -- "$1" "$SB_OUT" || { fail "stdout lacks: $1"; return 1; }
}
out_lacks() {
    ! grep -qF -- "$1" "$SB_OUT" || { fail "stdout unexpectedly has: $1"; return 1; }
}
out_is() {
    [ "$sb_out" = "$1" ] || { fail "stdout is not exactly: $1"; return 1; }
}
err_has() {
    grep -qF -- "$1" "$SB_ERR" || { fail "stderr lacks: $1"; return 1; }
}

# no_leftovers — no process runs with the test's uid (real or effective).
no_leftovers() {
    local uid="${1:-$TEST_UID}" left
    left=$(ps -e -o pid=,ruid=,euid=,args= | awk -v u="$uid" '$2 == u || $3 == u')
    if [ -n "$left" ]; then
        fail "processes of uid $uid left after the CLI returned:
$left"
        return 1
    fi
}

# plain CODE [ARGS...] — the control: same code, no sandbox, as root.
plain() {
    local code="$1"; shift
    run timeout -k 2 20 "$PY" -I -S -c "$code" "$@"
}

# plain_as_uid CODE — the control as the test's uid, no groups, no sandbox.
plain_as_uid() {
    local code="$1"; shift
    run timeout -k 2 20 setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups \
        "$PY" -I -S -c "$code" "$@"
}

# has_denied NAME [ERRNOS] — the sandbox's stdout has the line "NAME DENIED
# <OSError type> <errno>" for a file-system denial: Landlock's EACCES, or
# ENOENT when the host path does not exist in the run's minimal root (it
# is as closed: the run cannot even see it); ERRNOS "w" also accepts EROFS,
# a write refused by the root's read-only mounts before Landlock is asked.
has_denied() {
    local re='(PermissionError 13|FileNotFoundError 2)'
    [ "${2:-}" = w ] && re='(PermissionError 13|FileNotFoundError 2|OSError 30)'
    grep -qxE -- "$1 DENIED $re" "$SB_OUT" || { fail "stdout lacks a denial of $1"; return 1; }
}

# out_is_denied [w] — stdout is exactly one such denial (the guard's line).
out_is_denied() {
    local re='DENIED (PermissionError 13|FileNotFoundError 2)'
    [ "${1:-}" = w ] && re='DENIED (PermissionError 13|FileNotFoundError 2|OSError 30)'
    [[ $sb_out =~ ^$re$ ]] || { fail "stdout is not one denial: $sb_out"; return 1; }
}

# expect_output_line REGEX — a line of $output (from run/plain) matches.
expect_output() {
    if ! grep -qE -- "$1" <<<"$output"; then
        echo "FAIL: control output does not match /$1/ (status $status):" >&2
        echo "$output" >&2
        return 1
    fi
}

# A directory every uid may enter and write (DAC-wise), so that a denial
# inside it can only come from the sandbox. Sets $WDIR.
make_world_dir() {
    WDIR=$(mktemp -d /tmp/pysb-cli-test.XXXXXX)
    chmod 0777 "$WDIR"
    CLEANUP_PATHS+=("$WDIR")
}

# The snippet wrapper: run BODY (indented by the caller as one statement
# block) and print ALLOWED, or DENIED <type> <errno> on OSError.
guard() {
    printf 'import os, sys\ntry:\n%s\n    print("ALLOWED", flush=True)\nexcept OSError as e:\n    print("DENIED", type(e).__name__, e.errno, flush=True)\n' "$(sed 's/^/    /' <<<"$1")"
}
