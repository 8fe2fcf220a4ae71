#!/bin/bash
# run-all.sh — run every test suite (unit, CLI, e2e when present, the
# streaming formats, make install/uninstall, the browser page) as TAP, the
# CLI, e2e and stream suites a second time with every run warm
# (PYSB_TEST_START=warm: forked from a fork server, issue 9; the CLI's
# warm.bats is warm in both passes),
# print each suite's result and end with one line "N passed, M failed".
# Exit status 0 only when nothing failed.
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
    printf '%-28s %4d passed, %d failed%s\n' "$2" "$p" "$f" \
        "$([ "$s" -gt 0 ] && echo ", $s skipped")"
    [ "$f" -eq 0 ] || grep -E '^not ok ' "$1" | sed 's/^/    /'
}

# A suite that dies before printing its plan counts as one failure.
run_suite() {
    local name=$1; shift
    local log="$out/${name//\//_}.tap" errf="$out/${name//\//_}.err"
    "$@" >"$log" 2>"$errf" </dev/null
    local rc=$?
    count_tap "$log" "$name"
    if [ "$rc" -ne 0 ] && ! grep -qE '^not ok ' "$log"; then
        echo "    $name exited $rc with no failing test: counted as a failure (see $errf)"
        tail -n 5 "$errf" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}

for t in build/test_*; do
    [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit/$(basename "$t")" "$t"
done
for f in tests/cli tests/e2e tests/stream tests/install; do
    [ -d "$f" ] && ls "$f"/*.bats >/dev/null 2>&1 || continue
    run_suite "$f" bats --tap "$f"
    if [ "$f" = tests/cli ]; then
        PYSB_TEST_START=warm run_suite "tests/cli (warm)" \
            bats --tap $(ls tests/cli/*.bats | grep -v '/warm\.bats$')
    elif [ "$f" = tests/e2e ] || [ "$f" = tests/stream ]; then
        PYSB_TEST_START=warm run_suite "$f (warm)" bats --tap "$f"
    fi
done
# The playground in headless Chromium: node's test runner, top-level tests
# only, so its "ok"/"not ok" lines are counted like bats'.
if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
    run_suite tests/browser node --test --test-reporter=tap tests/browser/*.test.mjs
fi
echo "${pass} passed, ${fail} failed$([ "$skip" -gt 0 ] && echo ", ${skip} skipped")"
[ "$fail" -eq 0 ]
