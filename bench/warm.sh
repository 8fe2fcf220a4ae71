#!/bin/bash
# bench/warm.sh — warm runs against cold ones and the bare interpreter, in
# one go (issue 9), through the CLI's --repeat: one pysandbox-run process
# runs the same program N times, cold (a fresh interpreter each time) or
# warm (forked from one fork server), every layer on in both. Per run:
#   e2e    the CLI's wall time over N runs, less its start-up (the same
#          command with --repeat 1, timed apart), divided by N: spawn,
#          confinement, the program, reaping, the JSON report;
#   wall   the supervisor's wall_time of each run (its JSON), the median;
#   cpu    the run's cpu_time (reaper and program), the median.
# The bare interpreter (python3 -I -S -c 'print(1)') is timed by hyperfine
# in the same script. numpy: `import numpy; print(numpy.arange(10).sum())`
# cold against warm with numpy preloaded (-I, dist-packages read-only).
# Prints a table and the ratios; --record appends them to bench/RESULTS.md.
# Usage: bench/warm.sh [--record] [RUNS]
set -eu
cd "$(dirname "$0")/.."
record=0
[ "${1:-}" = --record ] && { record=1; shift; }
n=${1:-300}
[ "$(id -u)" = 0 ] || { echo "bench/warm.sh: run as root" >&2; exit 2; }
command -v hyperfine >/dev/null || scripts/deps.sh bench
make -s all
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# A run uid no test file uses (600000-600099 is the suites' gap), moved
# like theirs by PYSB_TEST_UID_SHIFT.
uid=${BENCH_UID:-$((600050 + ${PYSB_TEST_UID_SHIFT:-0}))}
NP=(--python-flags -I --ro /usr/lib/python3/dist-packages)

# row NAME RUNS ARGS...: one line of the table (ms).
row() {
    local name=$1 runs=$2; shift 2
    local t0 t1 s0 s1
    s0=$(date +%s.%N)
    build/pysandbox-run --uid "$uid" --json-to stdout --repeat 1 "$@" >/dev/null
    s1=$(date +%s.%N)
    t0=$(date +%s.%N)
    build/pysandbox-run --uid "$uid" --json-to stdout --repeat "$runs" "$@" >"$out/r.json"
    t1=$(date +%s.%N)
    local bad; bad=$(jq -s '[.[] | select(.status != "ok")] | length' "$out/r.json")
    jq -s -r --arg name "$name" --argjson e2e "$(awk -v a="$t0" -v b="$t1" -v c="$s0" -v d="$s1" -v n="$runs" \
            'BEGIN { x = ((b - a) - (d - c)) / (n - 1) * 1000; if (x < 0) x = 0; printf "%.3f", x }')" \
        --argjson bad "$bad" '
        def med: sort | .[length / 2 | floor];
        def ms: . * 1000 | . * 100 | round / 100;
        "\($name | . + " " * (34 - length)) \(length | tostring | " " * (5 - length) + .)" +
        "  \($e2e * 100 | round / 100 | tostring | " " * (8 - length) + .)" +
        "  \(map(.wall_time) | med | ms | tostring | " " * (7 - length) + .)" +
        "  \(map(.cpu_time) | med | ms | tostring | " " * (7 - length) + .)" +
        "  \(map(.start) | unique | join(","))  failed \($bad)"' "$out/r.json"
    echo "$name $(awk -v a="$t0" -v b="$t1" -v c="$s0" -v d="$s1" -v n="$runs" \
        'BEGIN { printf "%.4f", ((b - a) - (d - c)) / (n - 1) * 1000 }')" >>"$out/e2e"
}

hyperfine -N --warmup 20 --runs "$n" --export-json "$out/h.json" \
    -n bare "/usr/bin/python3 -I -S -c 'print(1)'" >/dev/null
bare=$(jq '.results[0].median * 1000' "$out/h.json")
nruns=$(( n / 10 < 20 ? 20 : n / 10 ))
{
echo "bench/warm.sh $n at $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores"
printf 'bare /usr/bin/python3 -I -S -c print(1): median %.2f ms (hyperfine -N, %d runs)\n\n' "$bare" "$n"
echo "program                            runs   e2e ms  wall ms  cpu ms  start"
row "print(1), cold" "$n" -c 'print(1)'
row "print(1), warm" "$n" --warm -c 'print(1)'
row "print(1), cold (again)" "$n" -c 'print(1)'
row "print(1), warm (again)" "$n" --warm -c 'print(1)'
if /usr/bin/python3 -I -c 'import numpy' 2>/dev/null; then
    row "numpy, cold" "$nruns" "${NP[@]}" -c 'import numpy; print(numpy.arange(10).sum())'
    row "numpy, warm, numpy preloaded" "$n" "${NP[@]}" --warm --preload numpy \
        -c 'import numpy; print(numpy.arange(10).sum())'
fi
echo
awk -v bare="$bare" '
    { key = (/numpy/ ? "n" : "") (/warm/ ? "w" : "c"); v[key] += $NF; k[key]++ }
    END {
        w = v["w"] / k["w"]; c = v["c"] / k["c"];
        printf "hello e2e: warm %.2f ms, cold %.2f ms: cold/warm %.2fx; warm/bare %.2f (target <= 1/3: %s)\n",
               w, c, c / w, w / bare, (w / bare <= 1 / 3 ? "met" : "MISSED");
        if (k["nw"]) printf "numpy e2e: warm %.2f ms, cold %.2f ms: %.1fx faster (target >= 10x: %s)\n",
               v["nw"], v["nc"], v["nc"] / v["nw"], (v["nc"] / v["nw"] >= 10 ? "met" : "MISSED");
    }' "$out/e2e"
} | tee "$out/summary"
if [ "$record" = 1 ]; then
    { echo; echo "### bench/warm.sh $n"; echo; echo '```'; cat "$out/summary"; echo '```'; } >>bench/RESULTS.md
fi
