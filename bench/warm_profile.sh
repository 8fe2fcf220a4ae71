#!/bin/bash
# bench/warm_profile.sh — where a warm hello-world run's time goes (issue 9),
# measured: `perf record -a` (every CPU) while one pysandbox-run process
# runs `print(1)` N times warm on one fork server (--warm --repeat N),
# then the CPU time per run of each process kind, by the name it runs
# under:
#   python3          the program: the fork server's image, confined, into
#                    the bootstrap and user code; split into user space
#                    (the interpreter) and kernel (copy-on-write faults of
#                    the inherited heap, the address space torn down at
#                    exit, the seccomp program loaded and compiled)
#   pysb-reaper      pid 1 of the run's namespaces: cloned from the server,
#                    minimal root, scratch, rlimits, ids, Landlock; forks
#                    the program, waits, reports
#   pysb-forkserver  the server: takes the request, clones the reaper
#   pysandbox-run    the supervisor (here the CLI): pipes, clocks, verdict
# plus the kernel functions that cost the program most. Over HTTP add the
# httpd worker, the launcher and a per-run supervisor (bench/http.sh).
# Usage: bench/warm_profile.sh [RUNS]   (default 300; root; needs perf)
set -eu
cd "$(dirname "$0")/.."
n=${1:-300}
[ "$(id -u)" = 0 ] || { echo "bench/warm_profile.sh: run as root" >&2; exit 2; }
command -v perf >/dev/null || { echo "bench/warm_profile.sh: needs perf (apt-get install linux-perf)" >&2; exit 2; }
make -s all
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
uid=${BENCH_UID:-$((600050 + ${PYSB_TEST_UID_SHIFT:-0}))}
hz=4000
t0=$(date +%s.%N)
perf record -q -F "$hz" -a -g -o "$out/perf.data" -- \
    build/pysandbox-run --uid "$uid" --warm --repeat "$n" --json-to fd:9 -c 'print(1)' \
    9>"$out/r.json" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
t1=$(date +%s.%N)
warm=$(jq -s '[.[] | select(.start == "warm" and .status == "ok")] | length' "$out/r.json")
perf report -i "$out/perf.data" --no-children --sort comm -q -g none -F overhead,sample,comm \
    2>/dev/null > "$out/comm"
perf report -i "$out/perf.data" --no-children --comm python3 --sort dso -q -g none \
    -F overhead,sample,dso 2>/dev/null > "$out/dso"
perf report -i "$out/perf.data" --children --comm python3 --sort sym -q -g none \
    2>/dev/null > "$out/sym"
echo "bench/warm_profile.sh $n at $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores"
echo "$n runs in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') s ($warm warm and ok), perf at $hz Hz on every CPU"
echo
echo "CPU ms per run, by process:"
awk -v n="$n" -v hz="$hz" '$3 ~ /^(python3|pysb-reaper|pysb-forkserver|pysandbox-run|swapper)$/ {
    printf "  %-16s %6.3f ms%s\n", $3, $2 / hz * 1000 / n, $3 == "swapper" ? "  (idle)" : "" }' "$out/comm"
prog=$(awk '$3 == "python3" { print $2 }' "$out/comm")
user=$(awk '$3 ~ /^python3/ { s += $2 } END { print s + 0 }' "$out/dso")
awk -v n="$n" -v hz="$hz" -v p="${prog:-0}" -v u="$user" 'BEGIN {
    printf "  program: user %.3f ms, kernel %.3f ms\n", u / hz * 1000 / n, (p - u) / hz * 1000 / n }'
echo
echo "the program's kernel time, the largest parts (ms per run, with callees; they overlap):"
total=$(awk '{ s += $2 } END { print s + 0 }' "$out/comm")
awk -v n="$n" -v hz="$hz" -v t="$total" '
    $3 == "[k]" && $4 ~ /^(do_wp_page|do_exit|do_seccomp|asm_exc_page_fault|filemap_map_pages|tlb_finish_mmu|bpf_int_jit_compile)$/ {
        sub("%", "", $1); printf "  %-22s %6.3f ms\n", $4, $1 / 100 * t / hz * 1000 / n }' "$out/sym"
