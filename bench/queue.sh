#!/bin/bash
# bench/queue.sh — people wait rather than fail (DESIGN §7, issue 11): the
# classroom burst (30 students press Run at once on a 0.2 s program) and
# the soak (32 clients in a closed loop on a mix of programs), each against
# the default configuration and against an unlimited pool (a slot for
# every request at once: PySandboxMaxRuns 64, no queue) in the same run,
# plus the sizing of PySandboxMaxRuns: 1x, 2x (the default) and 4x the
# cores, with the soak. Every server is up for the whole run; the loads
# take turns in rounds, so the machine's noise falls on all of them.
#
# A request is correct when it is a 200 whose result has the status and
# output its program should give (tools/loadgen.py; --mix classroom and
# --mix soak list the programs). Figures: counts by HTTP status, correct
# req/s, latency p50/p99 of every answer, and for the burst the time of
# its last answer. Targets (issue 11): the burst gets 0 × 503 and its last
# answer within (30 × 0.2 s) / cores + 1 s; the soak with the default queue
# gets < 1 % 503 and at least 90 % of the unlimited pool's correct req/s.
#
# Usage: bench/queue.sh [--record] [--soak S] [--rounds N] [--no-sizing]
#   --soak S      seconds of each soak (default 20)
#   --rounds N    rounds of everything (default 2)
#   --no-sizing   skip the 1x and 4x soaks
#   --record      append the summary and the command to bench/RESULTS.md
# Run uids: 600000 + PYSB_TEST_UID_SHIFT onwards, 100 per server.
set -eu
cd "$(dirname "$0")/.."
cmd="bench/queue.sh"
for a in "$@"; do cmd="$cmd $(printf %q "$a")"; done
usage() { sed -n '/^# Usage:/,/^#   --record/s/^# \{0,1\}//p' "$0"; }
record=0 soak=20 rounds=2 sizing=1
while [ $# -gt 0 ]; do
    case $1 in
        --record) record=1 ;;
        --no-sizing) sizing=0 ;;
        --soak) soak=${2:-}; shift ;;
        --rounds) rounds=${2:-}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench/queue.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$soak$rounds" in *[!0-9]*|'') echo "bench/queue.sh: --soak and --rounds take whole numbers" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "bench/queue.sh: run as root (httpd and the module's launcher)" >&2; exit 2; }
for t in jq curl python3 /usr/sbin/apache2; do
    command -v "$t" >/dev/null || { scripts/deps.sh bench; break; }
done
make -s all

cores=$(nproc)
uid0=$((600000 + ${PYSB_TEST_UID_SHIFT:-0}))
top=""
cleanup() {
    [ -n "$top" ] || return 0
    local d
    for d in "$top"/*/; do scripts/httpd.sh stop "$d" >/dev/null 2>&1 || true; done
    rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
top=$(mktemp -d /tmp/pysb-queuebench.XXXXXX)
chmod 755 "$top"

# server NAME INDEX EXTRA-LINES: an httpd with the module, its port in NAME/port.
declare -A url
server() {
    local name=$1 i=$2 extra=$3 d="$top/$1" port
    mkdir -p "$d"
    printf 'PySandboxUserRange %d %d\n%s\n' "$((uid0 + i * 100))" "$((uid0 + i * 100 + 99))" \
        "$extra" > "$d/extra.conf"
    port=$(scripts/httpd.sh free-port)
    PYSB_LOGLEVEL=warn scripts/httpd.sh start "$d" "$port" event "$d/extra.conf" >/dev/null
    url[$name]="http://127.0.0.1:$port/run"
}
# The template's Location /run is the test one; the defaults are what an
# installation has (no PySandbox* line but the uid range).
server default 0 ""
server unlimited 1 "PySandboxMaxRuns 64
PySandboxQueueSize 0"
# The same pool with a wall clock its runs never meet: the unlimited pool
# above answers more requests a second partly because its 1 s programs,
# sharing the cores 32 ways, fail at the 10 s wall clock and free the CPU
# for short ones; this one lets every program finish, as the queue does.
server unlimited_nowall 4 "PySandboxMaxRuns 64
PySandboxQueueSize 0
<Location /run>
    PySandboxWallTime 60 60
</Location>"
configs="default unlimited unlimited_nowall"
if [ "$sizing" = 1 ]; then
    server x1 2 "PySandboxMaxRuns $cores"
    server x4 3 "PySandboxMaxRuns $((4 * cores))"
    configs="$configs x1 x4"
fi

load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench/queue.sh: $cores cores; default = PySandboxMaxRuns $((2 * cores)), queue" \
     "$((32 * cores)) places, 10 s; $rounds round(s), soak ${soak} s" >&2
: > "$top/results"
# cpu_ticks CONFIG: CPU ticks (1/100 s) of the server's launcher and all it
# reaped (a cold run's CPU, once its supervisor is reaped), and of its fork
# servers and all they reaped (a warm run's: its reaper is the server's).
cpu_ticks() {
    local l p t=0
    l=$(ps --ppid "$(cat "$top/$1/httpd.pid")" -o pid=,comm= | awk '$2 == "pysb-launcher" {print $1}')
    for p in $l $(ps --ppid "$l" -o pid=,comm= | awk '$2 == "pysb-forkserver" {print $1}'); do
        t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
# load KIND CONFIG ROUND: one measurement, appended to results as JSON.
load() {
    local kind=$1 c=$2 r=$3 out t0 t1 c0 c1
    c0=$(cpu_ticks "$c"); t0=$(date +%s.%N)
    if [ "$kind" = burst ]; then
        out=$(python3 tools/loadgen.py "${url[$c]}" --burst 30 --mix classroom)
    else
        out=$(python3 tools/loadgen.py "${url[$c]}" --clients 32 --duration "$soak" --mix soak)
    fi
    sleep 1   # the last runs end, the drain rate settles
    c1=$(cpu_ticks "$c"); t1=$(date +%s.%N)
    # cores: the runs' CPU seconds per second of the load (and the second after)
    out=$(jq -c --arg k "$kind" --arg c "$c" --argjson r "$r" \
        --argjson cores "$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / 100 / (e - s) }')" \
        '. + {kind: $k, config: $c, round: $r, cores: $cores}' <<<"$out")
    echo "$out" >> "$top/results"
    jq -r '"  \(.kind) \(.config): \(.codes), \(.correct_per_s) correct/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, last \(.last_answer_s) s, cores \(.cores)"' <<<"$out" >&2
}
# warm-up: page cache, worker threads, compiled bootstraps
for c in $configs; do python3 tools/loadgen.py "${url[$c]}" --clients 4 --requests 3 >/dev/null; done
for r in $(seq 1 "$rounds"); do
    for c in default unlimited; do load burst "$c" "$r"; done
    set -- $configs
    [ $((r % 2)) = 0 ] && set -- $(printf '%s\n' $configs | tac)
    for c in "$@"; do load soak "$c" "$r"; done
done

# Medians over the rounds (p99: the worst round).
summary=$(jq -s --argjson cores "$cores" '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def pct(n; d): if d == 0 then 0 else (n / d * 1000 | round / 10) end;
  group_by(.kind + " " + .config) | map({
    kind: .[0].kind, config: .[0].config, rounds: length,
    requests: (map(.requests) | add),
    c200: (map(.codes."200" // 0) | add), c503: (map(.codes."503" // 0) | add),
    c429: (map(.codes."429" // 0) | add), correct: (map(.correct) | add),
    wall: (map(.incorrect_by_status.wall_limit // 0) | add),
    correct_per_s: (map(.correct_per_s) | med), p50: (map(.p50_ms) | med),
    cores: (map(.cores) | med * 100 | round / 100),
    p99: (map(.p99_ms) | max), last: (map(.last_answer_s) | max)
  }) | map(. + {pct503: pct(.c503; .requests)})' "$top/results")

table=$(jq -r '
  (["load", "config", "requests", "200", "503", "429", "503_%", "wrong", "wall_limit", "correct/s", "p50_ms", "p99_ms", "last_s", "cores"] | @tsv),
  (.[] | [.kind, .config, .requests, .c200, .c503, .c429, .pct503, (.c200 - .correct), .wall, .correct_per_s,
          (.p50 | round), (.p99 | round), .last, .cores] | @tsv)' <<<"$summary" | column -t -s "$(printf '\t')")
get() { jq -r --arg k "$1" --arg c "$2" ".[] | select(.kind == \$k and .config == \$c) | .$3" <<<"$summary"; }
limit=$(awk -v c="$cores" 'BEGIN { printf "%.1f", 30 * 0.2 / c + 1 }')
b503=$(get burst default c503); blast=$(get burst default last)
s503=$(get soak default pct503)
ratio=$(awk -v a="$(get soak default correct_per_s)" -v b="$(get soak unlimited correct_per_s)" \
        'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
ratio_nowall=$(awk -v a="$(get soak default correct_per_s)" -v b="$(get soak unlimited_nowall correct_per_s)" \
        'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }
checks="classroom burst, default: $b503 x 503, last answer after $blast s   (target 0 and <= $limit s: $(verdict "$b503 == 0 && $blast <= $limit"))
soak, default: $s503 % 503                                   (target < 1 %: $(verdict "$s503 < 1"))
soak, default / unlimited correct req/s: $ratio            (target >= 0.90: $(verdict "$ratio >= 0.9"))
soak, default / unlimited that lets every program finish (60 s wall clock): $ratio_nowall   (information)"
if [ "$sizing" = 1 ]; then
    checks="$checks
sizing (soak correct req/s): 1x $(get soak x1 correct_per_s), 2x $(get soak default correct_per_s), 4x $(get soak x4 correct_per_s)"
fi

report="### bench/queue.sh — $(date +%F) — $(uname -r), $cores cores

Load average before and after: $load0, $(cut -d' ' -f1-3 /proc/loadavg) (cores in the table: the runs' CPU seconds per second of each load, from its launcher's reaped children).

Command: \`$cmd\` (tools/loadgen.py; burst: 30 simultaneous 0.2 s CPU programs; soak: 32 closed-loop clients, ${soak} s, the soak mix; $rounds round(s), alternating; medians of the rounds, p99 and last answer the worst round; requests and status counts summed; wrong: 200s whose run did not give its program's answer, wall_limit: those of them stopped at the run's wall clock)

\`\`\`
$table

$checks
\`\`\`"
echo
echo "$report"
if [ "$record" = 1 ]; then
    printf '\n%s\n' "$report" >> bench/RESULTS.md
    echo "(appended to bench/RESULTS.md)" >&2
fi
