"""bench/warm_timeline.py TXT: the steps of warm runs from bench/warm_timeline.sh's
perf script output (see there): per step, the median, p25 and p75 in ms over
the complete runs; getppid() markers, when there are, as times after
PyOS_AfterFork_Child's return; page faults per step when the recording had
exceptions:page_fault_user/kernel."""
import re, sys, statistics as st
pat = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s?(.*)$')
ev = []
for line in open(sys.argv[1]):
    m = pat.match(line)
    if not m: continue
    comm, pid, tid, t, e, rest = m.groups()
    ev.append((float(t)*1000, comm, int(pid), e.split(':',1)[1], rest))
runs = []; cur = None; fs = None
role = {}   # pid -> (run, 'R'|'P')
def mark(run, k, t):
    if k not in run: run[k] = t
for t, comm, pid, e, rest in ev:
    if e == 'pysb_run' and comm == 'pysandbox-run':
        cur = {'C0': t}; runs.append(cur); continue
    if cur is None: continue
    if e == 'pysb_warm_start': mark(cur, 'C1', t)
    elif e == 'pysb_warm_start__return': mark(cur, 'C2', t)
    elif e == 'pysb_run__return': mark(cur, 'C3', t)
    elif e == 'sys_enter_clone' and comm == 'pysb-forkserver' and pid not in role: mark(cur, 'F0', t)
    elif e == 'sched_process_fork':
        d = dict(x.split('=') for x in rest.split() if '=' in x)
        p, c = int(d['pid']), int(d['child_pid'])
        if d['comm'] == 'pysb-forkserver' and p not in role: fs = p; role[c] = (cur, 'R'); mark(cur, 'F1', t)
        elif p in role and role[p][1] == 'R': role[c] = (role[p][0], 'P'); mark(role[p][0], 'R9', t)
    elif pid in role:
        run, r = role[pid]
        k = {('R','pysb_reaper_main'):'R0',('R','pysb_root_enter'):'R1',('R','pysb_root_enter__return'):'R2',
             ('R','pysb_confine_fds'):'R3',('R','pysb_confine_ids'):'R4',('R','pysb_confine_nnp'):'R5',
             ('R','pysb_landlock_apply'):'R6',('R','pysb_landlock_apply__return'):'R7',('R','sys_enter_clone'):'R8',
             ('R','sys_enter_kill'):'R10',('R','sys_enter_exit_group'):'R11',('R','sched_process_exit'):'R12',
             ('P','pysb_memwatch_install'):'P0',('P','pysb_memwatch_install__return'):'P1',
             ('P','pysb_policy_install'):'P2',('P','pysb_policy_install__return'):'P3',('P','after_child'):'P4',
             ('P','PyOS_AfterFork_Child__return'):'P5',('P','sys_enter_getpid'):'P6',('P','sys_enter_read'):'P7',
             ('P','sys_enter_write'):'P8',('P','sys_enter_exit_group'):'P9',('P','sched_process_exit'):'P10',
             ('P','sys_enter_getppid'):None}.get((r, e))
        if e == 'sys_enter_getppid':
            run.setdefault('marks', []).append(t)
        elif k: mark(run, k, t)
    elif pid == fs and e == 'sys_enter_wait4' and 'R12' in cur: mark(cur, 'F2', t)
    # fault counting
    if e in ('page_fault_user','page_fault_kernel') and pid in role:
        run, r = role[pid]; run.setdefault('faults', []).append((t, r))
for i in range(len(runs)-1):
    runs[i]['N0'] = runs[i+1]['C0']
order = [('C0','C1','CLI: pysb_run -> warm_start (pipes, scratch?)'),
 ('C1','F0','CLI send RUN -> fork server clone() entry'),
 ('F0','F1','clone(): copy of the server (reaper)'),
 ('F1','R0','reaper scheduled, into pysb_reaper_main'),
 ('R0','R1','reaper: pdeathsig, reset_signals, name'),
 ('R1','R2','reaper: root_enter'),
 ('R2','R3','-'),
 ('R3','R4','reaper: fds, uts, coredump, rlimits'),
 ('R4','R5','reaper: ids, pdeathsig'),
 ('R5','R6','reaper: nnp'),
 ('R6','R7','reaper: landlock_apply'),
 ('R7','R8','reaper: sigaction -> fork() entry'),
 ('R8','R9','fork(): copy of the reaper (program)'),
 ('R9','P0','program scheduled .. memwatch_install entry (born rusage, report)'),
 ('P0','P1','program: memwatch filter install + send listener'),
 ('P1','P2','program: warm_program signals, mask, name, mallopt'),
 ('P2','P3','program: main seccomp filter install'),
 ('P3','P4','program: close status, return to serve()'),
 ('P4','P5','program: PyOS_AfterFork_Child'),
 ('P5','P6','program: serve() env tuple .. warm script tail .. bootstrap defs .. _main getpid'),
 ('P6','P7','bootstrap: fstat(8), open(3) .. first read'),
 ('P7','P8','bootstrap: read, decode, __main__, _guard, exec(compile) .. print'),
 ('P8','P9','bootstrap: after print .. _finish .. exit_group'),
 ('P9','P10','program: exit_group -> sched_process_exit'),
 ('P10','R10','program exit (mm teardown etc.) -> reaper kill(-1)'),
 ('R10','R11','reaper: reap rest, rusage, report'),
 ('R11','R12','reaper: exit_group -> sched_process_exit'),
 ('R12','F2','reaper exit -> fork server wait4'),
 ('F2','C3','fork server ENDED -> CLI pysb_run return'),
 ('C3','N0','CLI: report JSON, next run'),
 ('C0','N0','TOTAL per run'),
]
good = [r for r in runs[1:-1] if all(k in r for a,b,_ in order for k in (a,b))]
print(f'{len(good)} complete runs of {len(runs)}')
print(f"{'from':>4} {'to':>4} {'med ms':>7} {'p25':>6} {'p75':>6}  what")
for a,b,what in order:
    v = [r[b]-r[a] for r in good]
    q = st.quantiles(v, n=4)
    print(f'{a:>4} {b:>4} {st.median(v):7.3f} {q[0]:6.3f} {q[2]:6.3f}  {what}')
if any('marks' in r for r in good):
    n = max(len(r.get('marks',[])) for r in good)
    print('getppid markers (from P5):')
    for i in range(n):
        v = [r['marks'][i]-r['P5'] for r in good if len(r.get('marks',[]))>i]
        w = [r['marks'][i]-(r['marks'][i-1] if i else r['P5']) for r in good if len(r.get('marks',[]))>i]
        print(f'  mark {i}: {st.median(v):.3f} ms after P5, +{st.median(w):.3f} ms')
    v=[r['P9']-r['marks'][-1] for r in good if r.get('marks')]
    print(f'  last mark -> exit_group: {st.median(v):.3f}')
if any('faults' in r for r in good):
    print('faults per phase (median):')
    for a,b,what in order[:-1]:
        v=[sum(1 for t,_ in r.get('faults',[]) if r[a]<=t<r[b]) for r in good]
        if st.median(v): print(f'  {a}->{b} {st.median(v):5.0f}  {what}')
