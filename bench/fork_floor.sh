#!/bin/bash
# bench/fork_floor.sh — the floor under a warm run on this machine, with no
# confinement and no HTTP: the process shapes a run could have
# (bench/fork_floor.c) and what the interpreter costs forked, bare or
# running the module's bootstrap (bench/fork_floor.py). What issue 9's
# hello-world targets are measured against: a run can be no cheaper than
# its fork, its copy-on-write faults and its exit.
# Usage: bench/fork_floor.sh [N] [ROUNDS]   (default 300 3; root)
set -eu
cd "$(dirname "$0")/.."
n=${1:-300} rounds=${2:-3}
[ "$(id -u)" = 0 ] || { echo "bench/fork_floor.sh: run as root" >&2; exit 2; }
make -s all
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote src -o "$out/fork_floor" \
    bench/fork_floor.c build/libpysb.a -lseccomp -ljansson -lm
echo "bench/fork_floor.sh $n $rounds at $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores"
"$out/fork_floor" "$n" "$rounds" 4
"$out/fork_floor" --bootstrap > "$out/boot.py"
/usr/bin/python3 -I -S bench/fork_floor.py "$n" "$rounds" < "$out/boot.py"
