#!/bin/bash
# bench/warm_timeline.sh — where a warm run's wall time goes, step by step,
# without tracing every system call: uprobes at the step boundaries of the
# extension (reaper, confinement, seccomp), the CLI (pysb_run, warm_start)
# and the interpreter (PyOS_AfterFork_Child's return), the sched fork/exit
# tracepoints, and a handful of syscall tracepoints that mark the bootstrap
# (its first getpid, the code pipe's first read on fd 3, the program's first
# write on fd 1, exit_group; the reaper's kill(-1); the fork server's wait4).
# Runs N warm runs of CODE (default print(1)) through the CLI, then prints
# the median, p25 and p75 of every step over the complete runs
# (bench/warm_timeline.py). Probes are removed afterwards; they are
# system-wide on the binaries' paths, so use a build of your own.
# getppid() calls put into the Python (a local edit) show up as markers.
# Usage: [BUILD=dir] [BENCH_UID=uid] [CODE=...] bench/warm_timeline.sh [N [CLI args...]]
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/warm_timeline.sh: run as root" >&2; exit 2; }
n=${1:-300}; shift || true
bd=$(realpath "${BUILD:-build}")
so=$bd/_pysandbox.abi3.so cli=$bd/pysandbox-run
py=$(realpath /usr/bin/python3)
uid=${BENCH_UID:-$((600050 + ${PYSB_TEST_UID_SHIFT:-0}))}
out=$(mktemp -d)
cleanup() { perf probe -q -d 'probe_*:*' 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
for f in pysb_reaper_main pysb_root_enter pysb_root_enter%return pysb_confine_fds \
         pysb_confine_ids pysb_confine_nnp pysb_landlock_apply pysb_landlock_apply%return \
         pysb_memwatch_install pysb_memwatch_install%return pysb_policy_install \
         pysb_policy_install%return after_child; do
    perf probe -q -x "$so" "$f"
done
perf probe -q -x "$py" 'PyOS_AfterFork_Child%return'
for f in pysb_warm_start pysb_warm_start%return pysb_run pysb_run%return; do
    perf probe -q -x "$cli" "$f"
done
perf record -q -o "$out/data" -e 'probe_*:*' \
    -e syscalls:sys_enter_clone -e sched:sched_process_fork -e sched:sched_process_exit \
    -e syscalls:sys_enter_exit_group -e syscalls:sys_enter_getpid \
    -e syscalls:sys_enter_write --filter 'fd == 1' -e syscalls:sys_enter_read --filter 'fd == 3' \
    -e syscalls:sys_enter_wait4 -e syscalls:sys_enter_kill -e syscalls:sys_enter_getppid -a -- \
    "$cli" --uid "$uid" --warm --repeat "$n" "$@" -c "${CODE:-print(1)}" >/dev/null 2>&1
perf script -i "$out/data" --ns -F comm,pid,tid,time,event,trace 2>/dev/null >"$out/txt"
python3 bench/warm_timeline.py "$out/txt"
