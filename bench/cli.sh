#!/bin/bash
# bench/cli.sh — cost of the sandbox per run: pysandbox-run -c 'print(1)'
# against bare /usr/bin/python3 -I -S -c 'print(1)', measured in the same
# hyperfine run (the machines are noisy: only the difference and the ratio
# mean anything). Prints a summary and, with --record, appends it to
# bench/RESULTS.md.
# Usage: bench/cli.sh [--record] [RUNS]
set -eu
cd "$(dirname "$0")/.."
record=0
[ "${1:-}" = --record ] && { record=1; shift; }
runs=${1:-300}
[ "$(id -u)" = 0 ] || { echo "bench/cli.sh: run as root" >&2; exit 2; }
command -v hyperfine >/dev/null || scripts/deps.sh bench
make -s all
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sandboxed="build/pysandbox-run -c 'print(1)'"
engine_only="build/pysandbox-run --exec /usr/bin/python3 -I -S -c 'print(1)'"
bare="/usr/bin/python3 -I -S -c 'print(1)'"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$out/h.json" \
    "$bare" "$sandboxed" "$engine_only" >/dev/null
summary=$(jq -r '
  .results as $r
  | ($r[0].median * 1000) as $b | ($r[1].median * 1000) as $s | ($r[2].median * 1000) as $e
  | "bare python3 -I -S:      median \($b * 100 | round / 100) ms\n" +
    "pysandbox-run -c:        median \($s * 100 | round / 100) ms  (+\(($s - $b) * 100 | round / 100) ms, ratio \($s / $b * 100 | round / 100))\n" +
    "pysandbox-run --exec:    median \($e * 100 | round / 100) ms  (+\(($e - $b) * 100 | round / 100) ms, ratio \($e / $b * 100 | round / 100))"
' "$out/h.json")
echo "$summary"
if [ "$record" = 1 ]; then
    {
        echo
        echo "### bench/cli.sh — $(date -u +%Y-%m-%d) — $(uname -r), $(nproc) cores"
        echo
        echo "Command: \`bench/cli.sh --record $runs\` (hyperfine, $runs runs each, medians)"
        echo
        echo '```'
        echo "$summary"
        echo '```'
    } >> bench/RESULTS.md
fi
