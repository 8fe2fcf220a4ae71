#!/bin/bash
# bench/cli.sh — cost of the sandbox per run: pysandbox-run -c 'print(1)'
# and --exec of the same interpreter, against bare
# /usr/bin/python3 -I -S -c 'print(1)', measured in the same hyperfine run
# (the machines are noisy: only the difference and the ratio mean
# anything). Each sandboxed form is timed twice: with the default shared,
# pinned network namespace (src/netns.c) and with --netns per-run (a new
# namespace per run, what the default falls back to). Prints a summary
# and, with --record, appends it to bench/RESULTS.md.
# Usage: bench/cli.sh [--record] [RUNS]
set -eu
cd "$(dirname "$0")/.."
record=0
[ "${1:-}" = --record ] && { record=1; shift; }
runs=${1:-300}
[ "$(id -u)" = 0 ] || { echo "bench/cli.sh: run as root" >&2; exit 2; }
command -v hyperfine >/dev/null || scripts/deps.sh bench
make -s all
# The default falls back silently when the shared namespace cannot be
# used; a benchmark of the default must know which one it timed.
build/pysandbox-run --netns shared -c pass 2>/dev/null ||
    { echo "bench/cli.sh: the shared network namespace is unusable:" >&2
      build/pysandbox-run --netns shared -c pass; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
code="-c 'print(1)'"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$out/h.json" \
    -n "bare python3 -I -S" "/usr/bin/python3 -I -S $code" \
    -n "pysandbox-run -c" "build/pysandbox-run $code" \
    -n "pysandbox-run --exec" "build/pysandbox-run --exec /usr/bin/python3 -I -S $code" \
    -n "  -c, --netns per-run" "build/pysandbox-run --netns per-run $code" \
    -n "  --exec, --netns per-run" \
       "build/pysandbox-run --netns per-run --exec /usr/bin/python3 -I -S $code" \
    >/dev/null
summary=$(jq -r '
  def ms: . * 100 | round / 100;
  .results as $r | ($r[0].median * 1000) as $b
  | ($r[0].command | . + ":" + " " * (28 - length)) + "median \($b | ms) ms",
    ($r[1:][] | (.median * 1000) as $m
     | (.command | . + ":" + " " * (28 - length))
       + "median \($m | ms) ms  (+\($m - $b | ms) ms, ratio \($m / $b | ms))"),
    "shared netns saves:          \(($r[3].median - $r[1].median) * 1000 | ms) ms (-c), \(($r[4].median - $r[2].median) * 1000 | ms) ms (--exec)"
' "$out/h.json")
echo "$summary"
if [ "$record" = 1 ]; then
    {
        echo
        echo "### bench/cli.sh — $(date -u +%Y-%m-%d) — $(uname -r), $(nproc) cores"
        echo
        echo "Command: \`bench/cli.sh --record $runs\` (hyperfine, $runs runs each, medians;" \
             "without --netns the runs enter the shared namespace pinned at /run/pysandbox/netns)"
        echo
        echo '```'
        echo "$summary"
        echo '```'
    } >> bench/RESULTS.md
fi
