#!/bin/bash
# run-all.sh — run every test suite (unit, CLI, e2e when present, the
# streaming formats, make install/uninstall, the browser page) as TAP, the
# CLI, e2e and stream suites a second time with every run warm
# (PYSB_TEST_START=warm: forked from a fork server, issue 9; the CLI's
# warm.bats is warm in both passes),
# print each suite's result and end with one line "N passed, M failed".
# Exit status 0 only when nothing failed.
#
# PYSB_TEST_LANES=2 runs the same suites in two lanes at once (the
# results printed in the usual order once both are done): lane 1 the CLI
# and stream suites, then the lighter e2e files; lane 2 the heavier e2e
# files (contract, memory, jobe, queue, launcher); fair.bats, whose figure is a
# ratio of latencies, alone after both. The lanes never share a uid: the
# CLI, stream and demo suites (600000-600999, 601900, 606000-606116,
# 607000-607017, 607100-607306) run one after another in lane 1; the
# heavy e2e files' blocks (601000-601039, 601050-601059, 601100-601109,
# 601140-601179, 601200-601219, 601400-601419) are no other file's; a file's cold and warm passes run
# in one lane, one after the other. Off by default.
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
    [ "$f" -eq 0 ] || grep -E '^not ok ' "$1" | sed 's/^/    /'
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

# A suite's cold pass, then its warm one (the CLI's warm.bats is warm in
# both): with WHAT only run them, with "count" only count them.
both_modes() {
    local what=$1 name=$2; shift 2
    local warm_files=("$@")
    [ "$name" = tests/cli ] && warm_files=($(printf '%s\n' "$@" | grep -v '/warm\.bats$'))
    if [ "$what" = count ]; then
        count_suite "$name"
        count_suite "$name (warm)"
        return
    fi
    start_suite "$name" bats --tap --timing "$@"
    PYSB_TEST_START=warm start_suite "$name (warm)" bats --tap --timing "${warm_files[@]}"
}

for t in build/test_*; do
    [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit/$(basename "$t")" "$t"
done
if [ "${PYSB_TEST_LANES:-1}" = 2 ]; then
    heavy=$(ls tests/e2e/{contract,memory,jobe,queue,launcher}_*.bats)
    light=$(ls tests/e2e/*.bats | grep -vxF "$heavy" | grep -v '/fair\.bats$')
    {
        both_modes run tests/cli tests/cli/*.bats
        both_modes run tests/stream tests/stream/*.bats
        both_modes run "tests/e2e, light" $light
    } &
    lane1=$!
    both_modes run "tests/e2e, heavy" $heavy
    wait "$lane1"
    both_modes run tests/e2e/fair.bats tests/e2e/fair.bats
    for name in tests/cli tests/stream "tests/e2e, light" "tests/e2e, heavy" tests/e2e/fair.bats; do
        both_modes count "$name"
    done
    [ -d tests/install ] && run_suite tests/install bats --tap --timing tests/install
else
for f in tests/cli tests/e2e tests/stream tests/install; do
    [ -d "$f" ] && ls "$f"/*.bats >/dev/null 2>&1 || continue
    run_suite "$f" bats --tap --timing "$f"
    if [ "$f" = tests/cli ]; then
        PYSB_TEST_START=warm run_suite "tests/cli (warm)" \
            bats --tap --timing $(ls tests/cli/*.bats | grep -v '/warm\.bats$')
    elif [ "$f" = tests/e2e ] || [ "$f" = tests/stream ]; then
        PYSB_TEST_START=warm run_suite "$f (warm)" bats --tap --timing "$f"
    fi
done
fi
# The playground in headless Chromium: node's test runner, top-level tests
# only, so its "ok"/"not ok" lines are counted like bats'.
if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
    run_suite tests/browser node --test --test-reporter=tap tests/browser/*.test.mjs
fi
echo "${pass} passed, ${fail} failed$([ "$skip" -gt 0 ] && echo ", ${skip} skipped")"
[ "$fail" -eq 0 ]
