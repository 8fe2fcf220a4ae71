"""bench/fork_floor.py — the interpreter's part of the floor under a warm
run (see bench/fork_floor.c): a bare interpreter (/usr/bin/python3 -I -S,
as a fork server is) forks N children, in alternating rounds, that
  none:  _exit at once (the fork, the after-fork hooks, the exit);
  plain: exec print(1) in a fresh namespace, flush, _exit;
  boot:  run the module's own bootstrap (its text on stdin) on print(1),
         from a code pipe on fd 3 with a report pipe on fd 8, as a run's
         program does, but with no confinement at all.
Per mode: the median round trip (fork to reaped) and the median of the
child's minor page faults (wait4's ru_minflt: on this machine each costs
microseconds, and they are mostly copy-on-write of the parent's heap).
Usage: fork_floor.py N ROUNDS < bootstrap.py"""
import gc
import os
import sys
import time
from importlib.machinery import PathFinder  # as the fork server has it

n, rounds = int(sys.argv[1]), int(sys.argv[2])
boot = compile(sys.stdin.read(), '<pysandbox>', 'exec')
gc.collect()
gc.freeze()
sys.modules.pop('gc', None)  # as the fork server does
devnull = os.dup2(os.open('/dev/null', os.O_WRONLY), 50)
report = os.pipe()
os.dup2(report[1], 8)


def child(mode):
    os.dup2(devnull, 1)
    if mode == 'plain':
        exec(compile('print(1)', 'main.py', 'exec'), {'__name__': '__main__'})
        sys.stdout.flush()
    elif mode == 'boot':
        exec(boot, {'__name__': '__main__', '__builtins__': __builtins__})
    os._exit(0)


def one(mode):
    times, faults = [], []
    for _ in range(n):
        r, w = os.pipe()
        os.write(w, (0).to_bytes(4, 'little') + b'print(1)')
        os.close(w)
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.dup2(r, 3)
            child(mode)
        os.close(r)
        _, status, ru = os.wait4(pid, 0)
        times.append(time.perf_counter() - t0)
        if status != 0:
            sys.exit('fork_floor.py: %s: the child failed (status %#x)' % (mode, status))
        faults.append(ru.ru_minflt)
    times.sort()
    faults.sort()
    return times[n // 2] * 1000, faults[n // 2]


modes = ('none', 'plain', 'boot')
got = {m: [] for m in modes}
for _ in range(rounds):
    for m in modes:
        got[m].append(one(m))
print('the interpreter, forked, no confinement; median of %d, %d rounds: ms per run (page faults)' % (n, rounds))
for m in modes:
    print('  %-6s %s' % (m, ' '.join('%6.3f (%d)' % x for x in got[m])))
