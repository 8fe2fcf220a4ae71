#!/bin/bash
# bench/compare.sh — the per-run cost of a change: two builds of
# pysandbox-run (BEFORE and AFTER, e.g. build/pysandbox-run of two
# checkouts copied aside) against bare /usr/bin/python3 -I -S -c 'print(1)',
# all in the same hyperfine run, -c and --exec forms (the machines are
# noisy: only the differences and ratios mean anything). Runs as
# --uid/--gid UID (default 65534, as the CLI). Prints a summary and, with
# --record "TITLE", appends it to bench/RESULTS.md.
# Usage: bench/compare.sh [--record TITLE] BEFORE AFTER [RUNS] [UID]
set -eu
cd "$(dirname "$0")/.."
title=
[ "${1:-}" = --record ] && { title=$2; shift 2; }
[ $# -ge 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
before=$1 after=$2 runs=${3:-300} uid=${4:-65534}
[ "$(id -u)" = 0 ] || { echo "bench/compare.sh: run as root" >&2; exit 2; }
command -v hyperfine >/dev/null || scripts/deps.sh bench
for b in "$before" "$after"; do
    "$b" --uid "$uid" --gid "$uid" -c pass >/dev/null 2>&1 ||
        { echo "bench/compare.sh: $b does not run" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ids="--uid $uid --gid $uid"
code="-c 'print(1)'"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$out/h.json" \
    -n "bare python3 -I -S" "/usr/bin/python3 -I -S $code" \
    -n "before -c" "$before $ids $code" \
    -n "after -c" "$after $ids $code" \
    -n "before --exec" "$before $ids --exec /usr/bin/python3 -I -S $code" \
    -n "after --exec" "$after $ids --exec /usr/bin/python3 -I -S $code" \
    >/dev/null
summary=$(jq -r '
  def ms: . * 100 | round / 100;
  def sg: (if . >= 0 then "+" else "" end) + tostring;
  def us: . * 1000000 | round | sg;
  .results as $r | ($r[0].median * 1000) as $b
  | ($r[0].command | . + ":" + " " * (22 - length)) + "median \($b | ms) ms",
    ($r[1:][] | (.median * 1000) as $m
     | (.command | . + ":" + " " * (22 - length))
       + "median \($m | ms) ms  (\($m - $b | ms | sg) ms over bare, ratio \($m / $b | ms))"),
    "after - before, -c:     \($r[2].median - $r[1].median | us) us (ratio \($r[2].median / $r[1].median | ms))",
    "after - before, --exec: \($r[4].median - $r[3].median | us) us (ratio \($r[4].median / $r[3].median | ms))"
' "$out/h.json")
echo "$summary"
if [ -n "$title" ]; then
    {
        echo
        echo "### bench/compare.sh — $(date -u +%Y-%m-%d) — $title — $(uname -r), $(nproc) cores"
        echo
        echo "Command: \`bench/compare.sh --record … BEFORE AFTER $runs $uid\`" \
             "(hyperfine, $runs runs each, medians, one hyperfine run)"
        echo
        echo '```'
        echo "$summary"
        echo '```'
    } >> bench/RESULTS.md
fi
