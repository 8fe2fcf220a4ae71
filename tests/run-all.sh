#!/bin/bash
# run-all.sh — run every test suite (unit, CLI, e2e, the streaming
# formats, make install/uninstall, the browser page) as TAP, the CLI, e2e
# and stream suites twice: cold (every Location says PySandboxStart cold;
# the CLI's default) and warm (PYSB_TEST_START=warm: the module's default,
# the CLI with --warm; issue 9; the CLI's warm.bats is warm in both).
# Print each suite's result and its wall seconds, and end with one line
# "N passed, M failed". Exit status 0 only when nothing failed.
#
# Four lanes at once (PYSB_TEST_LANES=4, the default; 1: one suite after
# another): the cold pass and the warm pass side by side, the warm one with
# every uid block moved by 10000 (PYSB_TEST_UID_SHIFT), and each pass in
# two lanes that share no uid: lane A the CLI and the lighter e2e files
# (the CLI and demo suites both use 600000-600999, so one after the
# other), lane B the heavier e2e files (contract, memory, jobe, queue,
# launcher: blocks of their own), then the stream suite (603000-603999).
# The suites mostly wait (clocks, trickled bodies, httpds starting), so
# four lanes on two cores take little more than the longest one.
#
# The heavy files' variants (an _event file's _prefork and _h2 symlinks:
# the same tests under the prefork MPM, or over HTTPS with HTTP/2) are
# shared out between the passes: the _event file runs in both, its
# _prefork copy in the cold pass, its _h2 copy in the warm pass (a
# browser's combination), and queue_prefork.bats in both (the queue
# across prefork's processes). What a variant changes is the worker's side
# (MPM, protocol), which a pass's mode does not touch, so every suite still
# runs in both modes and every variant once, without the two-by-three
# product that put the heavy lanes near CI's budget. The stream suite
# still runs all its variants (prefork, HTTP/2) in both passes. fair.bats,
# whose figure is a ratio of latencies, runs alone after them, cold then
# warm; then install and the browser. Results are printed in a fixed order
# once all lanes are done.
set -u
cd "$(dirname "$0")/.."
out=build/test-logs
mkdir -p "$out"
pass=0 fail=0 skip=0

# count_tap FILE: add the file's TAP results to the totals
count_tap() {
    local p f s
    s=$(grep -ciE '^ok .*# skip' "$1" || true)
    f=$(grep -cE '^not ok ' "$1" || true)
    p=$(grep -E '^ok ' "$1" | grep -vic '# skip' || true)
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    printf '%-28s %4d passed, %d failed%s%s\n' "$2" "$p" "$f" \
        "$([ "$s" -gt 0 ] && echo ", $s skipped")" "${3:+ ($3 s)}"
    [ "$f" -eq 0 ] || failures "$1"
}

# failures FILE: each failed test's line and the first lines of what it
# said (bats' "# " lines after it), so that a CI log that shows only this
# summary still tells why
failures() {
    awk '/^not ok /   { print "    " $0; said = 0; inside = 1; next }
         /^(ok|not ok) / { inside = 0 }
         inside && /^# / && !/^# \(/ && said < 6 { print "      " substr($0, 1, 400); said++ }
         !/^# / { inside = 0 }' "$1"
}

# A suite that dies before printing its plan counts as one failure.
# run_suite NAME CMD...: run and count; start_suite: run only (its exit
# status kept next to its log), count_suite NAME: count one that ran.
start_suite() {
    local name=$1; shift
    local log="$out/${name//\//_}.tap" errf="$out/${name//\//_}.err"
    local t0=$SECONDS
    "$@" >"$log" 2>"$errf" </dev/null
    echo $? >"$out/${name//\//_}.rc"
    echo $((SECONDS - t0)) >"$out/${name//\//_}.secs"
}
count_suite() {
    local name=$1
    local log="$out/${name//\//_}.tap" errf="$out/${name//\//_}.err"
    local rc; rc=$(cat "$out/${name//\//_}.rc" 2>/dev/null || echo 1)
    count_tap "$log" "$name" "$(cat "$out/${name//\//_}.secs" 2>/dev/null)"
    if [ "$rc" -ne 0 ] && ! grep -qE '^not ok ' "$log"; then
        echo "    $name exited $rc with no failing test: counted as a failure (see $errf)"
        tail -n 5 "$errf" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}
run_suite() {
    start_suite "$@"
    count_suite "$1"
}

# in_mode MODE CMD...: CMD in the pass's mode (warm: PYSB_TEST_START=warm and
# every uid block moved by 10000, so the two passes can run at once).
in_mode() {
    local mode=$1; shift
    if [ "$mode" = warm ]; then
        PYSB_TEST_START=warm PYSB_TEST_UID_SHIFT=$((${PYSB_TEST_UID_SHIFT:-0} + 10000)) "$@"
    else
        PYSB_TEST_START=cold "$@"
    fi
}

# The suites of a lane (A or B) in one mode; the name suffix " (warm)".
# The warm pass takes the CLI files in reverse order, so that a file is not
# run by both passes at the same moment (channels.bats also waits for the
# other's copy: its controls open host channels on purpose).
cli_files() {
    if [ "$1" = warm ]; then ls tests/cli/*.bats | grep -v '/warm\.bats$' | tac; else ls tests/cli/*.bats; fi
}
heavy=$(ls tests/e2e/{contract,memory,jobe,queue,launcher}_*.bats)
light=$(ls tests/e2e/*.bats | grep -vxF "$heavy" | grep -v '/fair\.bats$')
# heavy_files MODE: the heavy files of a pass (the variants shared out as
# said above).
heavy_files() {
    if [ "$1" = warm ]; then
        echo "$heavy" | grep -v -e '_prefork\.bats$' -e '^$'
        echo "$heavy" | grep -x 'tests/e2e/queue_prefork\.bats'
    else
        echo "$heavy" | grep -v '_h2\.bats$'
    fi
}
lane() {
    local mode=$1 which=$2 sfx=""
    [ "$mode" = warm ] && sfx=" (warm)"
    if [ "$which" = A ]; then
        in_mode "$mode" start_suite "tests/cli$sfx" bats --tap --timing $(cli_files "$mode")
        in_mode "$mode" start_suite "tests/e2e, light$sfx" bats --tap --timing $light
    else
        in_mode "$mode" start_suite "tests/e2e, heavy$sfx" bats --tap --timing $(heavy_files "$mode")
        in_mode "$mode" start_suite "tests/stream$sfx" bats --tap --timing tests/stream/*.bats
    fi
}
suites=("tests/cli" "tests/stream" "tests/e2e, light" "tests/e2e, heavy" "tests/e2e/fair.bats")

for t in build/test_*; do
    [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit/$(basename "$t")" "$t"
done
if [ "${PYSB_TEST_LANES:-4}" = 1 ]; then
    for mode in cold warm; do
        lane "$mode" A
        lane "$mode" B
    done
else
    lanes=()
    for mode in cold warm; do
        for which in A B; do
            lane "$mode" "$which" &
            lanes+=("$!")
        done
    done
    wait "${lanes[@]}"
fi
in_mode cold start_suite tests/e2e/fair.bats bats --tap --timing tests/e2e/fair.bats
in_mode warm start_suite "tests/e2e/fair.bats (warm)" bats --tap --timing tests/e2e/fair.bats
for name in "${suites[@]}"; do
    count_suite "$name"
    count_suite "$name (warm)"
done
[ -d tests/install ] && run_suite tests/install bats --tap --timing tests/install
# The playground in headless Chromium: node's test runner, top-level tests
# only, so its "ok"/"not ok" lines are counted like bats'.
if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
    run_suite tests/browser node --test --test-reporter=tap tests/browser/*.test.mjs
fi
echo "${pass} passed, ${fail} failed$([ "$skip" -gt 0 ] && echo ", ${skip} skipped")"
[ "$fail" -eq 0 ]
