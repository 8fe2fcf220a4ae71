#!/bin/bash
# bench/jobe.sh — the burst and sustained measurement of Jobe's
# `testsubmit.py --perf python3` against the module's Jobe API, beside the
# same measurement of its own /run endpoint, in one throwaway httpd (event
# MPM, the default PySandboxMaxRuns: 2 × CPUs), in the same run:
# - bench/jobe_perf.py (ours) measures /jobe and /run with the same
#   program (print("Hello world!")), the same procedure and checks;
# - with --testsubmit PATH, Jobe's own client (not part of this repository:
#   it is GPL; give the path of a copy) is run with --perf python3 too.
# Usage: bench/jobe.sh [--record] [--window S] [--testsubmit PATH]
#   --window S         seconds of each sustained round (default 10)
#   --testsubmit PATH  also run PATH --perf python3 (its window: -w S)
#   --record           append the summary and the command to bench/RESULTS.md
set -eu
cd "$(dirname "$0")/.."
cmd="bench/jobe.sh"
for a in "$@"; do cmd="$cmd $(printf %q "$a")"; done
usage() { sed -n '/^# Usage:/,/^#   --record/s/^# \{0,1\}//p' "$0"; }
record=0 window=10 testsubmit=""
while [ $# -gt 0 ]; do
    case $1 in
        --record) record=1 ;;
        --window) window=${2:-}; shift ;;
        --testsubmit) testsubmit=${2:-}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench/jobe.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$window" in *[!0-9]*|'') echo "bench/jobe.sh: --window takes whole seconds" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "bench/jobe.sh: run as root (httpd and the module's launcher)" >&2; exit 2; }
[ -z "$testsubmit" ] || [ -f "$testsubmit" ] || { echo "bench/jobe.sh: no $testsubmit" >&2; exit 2; }
make -s all

dir=$(mktemp -d /tmp/pysb-bench-jobe.XXXXXX)
cleanup() { scripts/httpd.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
cat > "$dir/extra.conf" <<'EOF'
<Location /jobe>
    SetHandler pysandbox-jobe
    Require all granted
    PySandboxCPUTime 5 50
    PySandboxWallTime 10 100
    PySandboxJobeFileCache @DIR@/jobe-files 16M
</Location>
EOF
port=$(scripts/httpd.sh free-port)
scripts/httpd.sh start "$dir" "$port" event "$dir/extra.conf" >/dev/null
out=$(python3 bench/jobe_perf.py --port "$port" --window "$window")
echo "$out"
ts=""
if [ -n "$testsubmit" ]; then
    ts=$(python3 "$testsubmit" --host 127.0.0.1 --port "$port" --perf -w "$window" python3 2>&1 |
         grep -E 'parallel submits|Maximum burst|rate of|Sustained' || true)
    echo "$ts"
fi
errs=$(grep -E '\[(pysandbox|core|mpm_[a-z]+):(warn|error|crit|alert|emerg)\]' "$dir/error.log" |
       sed -E 's/^\[[^]]*\] //; s/\[pid [^]]*\] //; s/\[client [^]]*\] //; s/run [0-9a-f-]{36}/run <id>/' |
       sort | uniq -c | sort -rn | head -n 5 || true)
summary=$out
if [ -n "$ts" ]; then
    summary+=$'\n'"testsubmit.py --perf -w $window python3 (Jobe's own client and procedure):"$'\n'"$ts"
fi
summary+=$'\n'"error.log, warn and above (count, message):"$'\n'"${errs:-  none}"
if [ "$record" = 1 ]; then
    {
        printf '\n### bench/jobe.sh — %s — %s, %s cores\n\n' "$(date -u +%F)" "$(uname -r)" "$(nproc)"
        printf 'Command: `%s` (event MPM, PySandboxMaxRuns default %s; bench/jobe_perf.py: burst n = 1, 2, 4 … then sustained rounds of %s s, each request a new connection, every answer checked)\n\n' \
            "$cmd" "$((2 * $(nproc)))" "$window"
        printf '```\n%s\n```\n' "$summary"
    } >> bench/RESULTS.md
fi
