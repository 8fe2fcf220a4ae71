#!/usr/bin/env bats
# warm.bats — warm runs (pysandbox-run --warm, issue 9): what only a run
# forked from a fork server can get wrong. Every other CLI suite also runs
# whole in warm mode (tests/run-all.sh, PYSB_TEST_START=warm); this file
# holds the tests of the fork server itself: no state crosses runs of one
# server, preloads are imported once and refused when anyone but root
# could have planted them, numpy works in the child, the limits and the
# exec ban bite, and a server killed under load costs only the run in
# flight. Each test has a control that shows it can fail (a cold run, or
# the same code outside).

UID_BASE=601900   # tests 1..99 use uids 601901..601999
load helpers

PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The tests of preloads from a site directory use a venv of $PY made under
# /run (root's, 0755) with --without-pip: its site-packages ($SITE) is the
# one site directory the venv's interpreter ($VPY, a symlink to $PY) adds
# with -I, and nothing else on the machine imports from it. (Not a bind
# mount over the system's site directory in a private mount namespace: the
# minimal root's templates cannot be pinned from inside one.)
#
# make_probe_site: that venv, holding the package pysbprobe — at import it
# opens a file and keeps it, and it has a mutable global; nobody but root
# can write any of it. Sets PROBE (the tree), SITE and VPY.
make_probe_site() {
    PROBE=$(mktemp -d /run/pysb-warm-test.XXXXXX)
    CLEANUP_PATHS+=("$PROBE")
    chmod 0755 "$PROBE"
    "$PY" -m venv --without-pip "$PROBE/venv" || { fail "python3 -m venv failed"; return 1; }
    VPY=$PROBE/venv/bin/python3
    SITE=$PROBE/venv/lib/python$PYVER/site-packages
    mkdir -m 0755 "$SITE/pysbprobe"
    cat >"$SITE/pysbprobe/__init__.py" <<'EOF'
import os
state = []
log = open("/etc/hostname")
pid_at_import = os.getpid()
EOF
    chmod 0644 "$SITE/pysbprobe/__init__.py"
}

# in_venv ARGS...: the CLI with the venv's interpreter and -I.
in_venv() {
    "$PYSB_RUN" --interpreter "$VPY" --python-flags -I "$@"
}

# venv_refused PRELOAD REASON MARKER: a warm run of the venv preloading
# PRELOAD is refused with REASON and MARKER (what the planted code would
# make) does not exist; venv_served PRELOAD MARKER: it serves, and MARKER
# appears (the control: the planted code can run).
venv_refused() {
    in_venv --uid "$TEST_UID" --warm --preload "$1" \
        -c 'print("RAN")' >"$SB_OUT" 2>"$SB_ERR" && fail "accepted: $2"
    grep -qF "refused: $2" "$SB_ERR" || fail "$(cat "$SB_ERR")"
    [ ! -e "$3" ] || fail "it ran as root before the refusal: $2"
}
venv_served() {
    in_venv --uid "$TEST_UID" --warm --preload "$1" \
        -c 'print("RAN")' >"$SB_OUT" 2>"$SB_ERR" || fail "control refused: $(cat "$SB_ERR")"
    [ -e "$2" ] || fail "control: the planted code did not run"
}

# same_warm_and_cold CODE: CODE runs ok warm and cold, with the same output.
same_warm_and_cold() {
    sb --warm -c "$1"
    expect_verdict ok
    local warm=$sb_out
    sb -c "$1"
    expect_verdict ok
    [ "$warm" = "$sb_out" ] || fail "warm $warm vs cold $sb_out"
}

@test "warm: a run is forked from the server with everything a cold run has (sys.modules, path, argv, orig_argv, flags, signals, environment, cwd, ids)" {
    local probe='import os, sys, signal
print(sorted(sys.modules)); print(sys.path, sys.argv, sys.orig_argv, sys.flags, os.getcwd())
print([signal.getsignal(s) for s in range(1, signal.NSIG) if s not in (9, 19, 32, 33)])
print(os.getuid(), os.getgid(), os.getgroups(), os.getpid(), os.getppid(), sorted(os.environ.items()))
print(__name__, __file__, [k for k in globals() if not k.startswith("__")])'
    sb -c "$probe"
    expect_verdict ok
    local cold=$sb_out
    sb --warm -c "$probe"
    expect_verdict ok
    jcheck '.start == "warm"'
    [ "$sb_out" = "$cold" ] || fail "warm and cold runs differ:
$(diff <(echo "$cold") <(echo "$sb_out"))"
    sb -c 'print(1)'
    jcheck '.start == "cold"'
    no_leftovers
}

@test "warm: no state crosses runs of one server: a monkey-patched preload, sys.modules, globals, a preload's open file and its globals, random" {
    make_probe_site
    local code='import json, sys, random, os, pysbprobe
try:
    pysbprobe.log.seek(0)
    inherited = "SERVER FD USABLE"
except OSError as e:
    inherited = e.errno
seen = [getattr(json, "_mark", None), json.dumps is None, "planted" in sys.modules,
        globals().get("G"), pysbprobe.state, inherited]
print("SEEN", seen, flush=True)
print("RAND", random.random(), os.urandom(8).hex(), flush=True)
json._mark = 1; json.dumps = None; sys.modules["planted"] = json; G = 1
pysbprobe.state.append("x"); pysbprobe.log = None
random.seed(0)'
    in_venv --uid "$TEST_UID" --json-to stdout --warm --repeat 3 \
        --preload "json random pysbprobe" -c "$code" >"$SB_OUT" 2>"$SB_ERR" ||
        fail "exit $?"
    [ "$(jq -s 'length' "$SB_OUT")" = 3 ] || fail "not 3 reports"
    jq -e -s 'all(.status == "ok" and .start == "warm")' "$SB_OUT" >/dev/null || fail "a run failed"
    # Every run sees the preloads exactly as the server imported them.
    local seen; seen=$(jq -r '.stdout' "$SB_OUT" | grep '^SEEN' | sort -u)
    # The preload's file object is there, its descriptor is not: the reaper
    # closed every descriptor of the server (EBADF, 9).
    [ "$seen" = "SEEN [None, False, False, None, [], 9]" ] || fail "state crossed runs: $seen"
    # random was reseeded in each child (its at-fork hook), and after
    # seed(0) the next run is not the seed(0) sequence.
    local rands; rands=$(jq -r '.stdout' "$SB_OUT" | grep '^RAND')
    [ "$(sort -u <<<"$rands" | wc -l)" = 3 ] || fail "random or urandom repeated: $rands"
    local seeded; seeded=$("$PY" -c 'import random; random.seed(0); print(random.random())')
    ! grep -qF "$seeded" <<<"$rands" || fail "a run saw the previous run's seed(0)"
    # The control: within one run the same mutations are visible.
    in_venv --uid "$TEST_UID" --json-to stdout --warm \
        --preload "json pysbprobe" \
        -c 'import json, pysbprobe; json._mark = 1; pysbprobe.state.append(1); import json as j; print(j._mark, pysbprobe.state)' \
        >"$SB_OUT" 2>"$SB_ERR"
    jq -e '.stdout == "1 [1]\n"' "$SB_OUT" >/dev/null || fail "control: $(cat "$SB_OUT")"
    no_leftovers
}

@test "warm: a preload is imported once, in the server: used by the run without reading its files (control: cold cannot import it)" {
    make_probe_site
    local code='import sys, os
print("pysbprobe" in sys.modules)
import pysbprobe
print(pysbprobe.pid_at_import != os.getpid())'
    in_venv --uid "$TEST_UID" --json-to stdout --warm \
        --preload pysbprobe -c "$code" >"$SB_OUT" 2>"$SB_ERR" || fail "exit $?"
    jq -e '.status == "ok" and .stdout == "True\nTrue\n"' "$SB_OUT" >/dev/null || fail "$(cat "$SB_OUT")"
    # Cold, the run has Landlock's view: the site tree is not readable.
    in_venv --uid "$TEST_UID" --json-to stdout \
        -c "$code" >"$SB_OUT" 2>"$SB_ERR" || true
    jq -e '.status == "nonzero_exit" and (.stderr | test("ModuleNotFoundError|PermissionError"))' \
        "$SB_OUT" >/dev/null || fail "control: $(cat "$SB_OUT")"
    no_leftovers
}

@test "warm: preloads refused in one line, nothing run: group-writable site dir, a planted .pth, a package file of another uid, others-writable extension, missing module" {
    make_probe_site
    chmod g+w "$SITE"
    sb_raw --uid "$TEST_UID" --warm --preload json -c 'print(1)'
    # (the system interpreter, whose site directories are root's, is accepted)
    expect_status 0
    in_venv --uid "$TEST_UID" --warm --preload json \
        -c 'print("RAN")' >"$SB_OUT" 2>"$SB_ERR" && fail "accepted a group-writable sys.path entry"
    [ "$(wc -l <"$SB_ERR")" = 1 ] || fail "not one line: $(cat "$SB_ERR")"
    grep -qF "refused: a site directory: $SITE is writable by its group" "$SB_ERR" ||
        fail "$(cat "$SB_ERR")"
    ! grep -q RAN "$SB_OUT" || fail "code ran"
    chmod g-w "$SITE"

    # A .pth file another user planted in a site directory: site would run
    # its import line as root while the server starts, before any check of
    # the server's own; it is refused before the interpreter starts.
    local marker="$BATS_TEST_TMPDIR/pth-ran"
    echo "import os; open('$marker', 'w')" >"$SITE/planted.pth"
    chown "$TEST_UID" "$SITE/planted.pth"
    venv_refused json "a site directory: $SITE/planted.pth belongs to uid $TEST_UID, not root" "$marker"
    # (the control: root's own .pth does run, so the marker can appear)
    chown 0 "$SITE/planted.pth"
    venv_served json "$marker"
    rm -f "$SITE/planted.pth"

    # A package file of another uid, below a root-only site directory: the
    # server's check when the import finds it, before it runs (so a
    # submodule's file too: attack-warm2 A).
    local ran="$BATS_TEST_TMPDIR/module-ran"
    echo "open('$ran', 'w')" >"$SITE/pysbprobe/sub.py"
    chmod 0644 "$SITE/pysbprobe/sub.py"
    echo "from . import sub" >>"$SITE/pysbprobe/__init__.py"
    chown "$TEST_UID" "$SITE/pysbprobe/__init__.py"
    venv_refused pysbprobe "module pysbprobe: $SITE/pysbprobe/__init__.py belongs to uid $TEST_UID, not root" "$ran"
    chown 0 "$SITE/pysbprobe/__init__.py"
    chown "$TEST_UID" "$SITE/pysbprobe/sub.py"
    venv_refused pysbprobe "module pysbprobe.sub: $SITE/pysbprobe/sub.py belongs to uid $TEST_UID, not root" "$ran"
    # (the control: root's own submodule runs, so the marker can appear)
    chown 0 "$SITE/pysbprobe/sub.py"
    venv_served pysbprobe "$ran"

    # an extension in a directory others may write (not sticky: a sticky
    # one such as /tmp holds above a file of root's)
    mkdir -p "$BATS_TEST_TMPDIR/open"
    chmod 0777 "$BATS_TEST_TMPDIR/open"
    local ext="$BATS_TEST_TMPDIR/open/ext.so"
    cp "$(dirname "$PYSB_RUN")/_pysandbox.abi3.so" "$ext"
    sb_raw --uid "$TEST_UID" --warm --extension "$ext" -c 'print("RAN")'
    expect_status 2
    grep -qE "refused: the extension: .* is writable by its (group|others)" "$SB_ERR" || fail "extension accepted"
    [ "$(wc -l <"$SB_ERR")" = 1 ] || fail "not one line"
    out_lacks RAN

    sb_raw --uid "$TEST_UID" --warm --preload "json no_such_module_pysb" -c 'print("RAN")'
    expect_status 2
    [ "$(wc -l <"$SB_ERR")" = 1 ] || fail "not one line"
    err_has "no_such_module_pysb: cannot be imported by $PY: ModuleNotFoundError"
    out_lacks RAN
    no_leftovers
}

@test "warm: numpy preloaded (one thread): 200x200 matrix product correct in the child, a lazy submodule imports" {
    "$PY" -I -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    sb --warm --preload numpy --python-flags -I --ro /usr/lib/python3/dist-packages -c '
import numpy, threading, os
a = numpy.ones((200, 200)) @ numpy.ones((200, 200))
print(a[0, 0], a.sum(), threading.active_count(), os.environ["OPENBLAS_NUM_THREADS"])
import numpy.polynomial
print(numpy.polynomial.Polynomial([1, 2])(3))'
    expect_verdict ok
    jcheck '.start == "warm"'
    out_is "200.0 8000000.0 1 1
7.0"
    no_leftovers
}

# draws_differ PRELOAD WHAT CODE [ARGS...]: CODE run 3 times warm on one
# server that preloads PRELOAD, then 3 times cold (the control), is 3 ok
# runs of that mode each time, printing 3 different lines (WHAT names them).
draws_differ() {
    local preload=$1 what=$2 code=$3 mode want out
    shift 3
    for mode in --warm ""; do
        want=cold
        [ -n "$mode" ] && want=warm
        out=$("$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --json-to stdout $mode --repeat 3 \
            ${mode:+--preload "$preload"} "$@" -c "$code" |
            jq -r 'select(.status == "ok") | .start + " " + (.stdout | rtrimstr("\n"))') ||
            fail "runs failed: $out"
        [ "$(wc -l <<<"$out")" = 3 ] || fail "not 3 runs: $out"
        [ "$(awk '{print $1}' <<<"$out" | sort -u)" = "$want" ] || fail "not $want: $out"
        [ "$(sort -u <<<"$out" | wc -l)" = 3 ] || fail "$what repeated ($want): $out"
    done
}

@test "warm: numpy's global generator differs between runs of one server (it was seeded once, in the server; control: cold)" {
    "$PY" -I -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    draws_differ numpy numpy.random \
        'import numpy; print(numpy.random.rand(), numpy.random.randint(1 << 30))' \
        --python-flags -I --ro /usr/lib/python3/dist-packages
    no_leftovers
}

@test "warm: multiprocessing's authkey differs between runs of one server (control: cold)" {
    draws_differ multiprocessing "the authkey" \
        'import multiprocessing as m; print(m.current_process().authkey.hex())'
    no_leftovers
}

@test "warm: a module planted in the directory the server is started from is never imported (interpreter without -I; control: the same program imports it)" {
    local d; d=$(mktemp -d /tmp/pysb-plant.XXXXXX)
    CLEANUP_PATHS+=("$d")
    chmod 0777 "$d"
    printf 'import os\nopen(%s, "a").write("ran as %%d\\n" %% os.getuid())\n' "'$d/MARK'" > "$d/json.py"
    chown -R nobody "$d"
    # control: the interpreter started there with -S alone imports it
    (cd "$d" && "$PY" -S -c 'import json') || fail "control: python3 -S failed"
    [ -s "$d/MARK" ] || fail "control: the planted json.py did not run"
    rm -f "$d/MARK"
    (cd "$d" && "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --json-to stdout --warm \
        --python-flags -S --preload json -c 'import json; print(json.dumps([1]))') > "$d/out" ||
        fail "the warm run failed: $(cat "$d/out")"
    [ ! -e "$d/MARK" ] || fail "the planted module ran: $(cat "$d/MARK")"
    jq -e '.status == "ok" and .start == "warm" and .stdout == "[1]\n"' "$d/out" >/dev/null ||
        fail "unexpected: $(cat "$d/out")"
    no_leftovers
}

@test "warm: the memory limit is what the run may allocate beyond the preloads; the threads limit bites" {
    "$PY" -I -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    local pre=(--warm --preload numpy --python-flags -I)
    sb "${pre[@]}" --mem 60000 -c 'x = bytearray(100 << 20)'
    expect_verdict memory_limit
    sb "${pre[@]}" --mem 60000 -c 'x = bytearray(35 << 20); print(len(x))'
    expect_verdict ok
    # memory_kb leaves out the preloaded state: about what a cold run of
    # the same program reports (35 MiB and an interpreter, not numpy's).
    local warm_kb; warm_kb=$(jget .memory_kb)
    sb --mem 60000 -c 'x = bytearray(35 << 20); print(len(x))'
    expect_verdict ok
    local cold_kb; cold_kb=$(jget .memory_kb)
    awk -v w="$warm_kb" -v c="$cold_kb" 'BEGIN { exit !(w > 35 * 1024 && w < c + 8192) }' ||
        fail "memory_kb warm $warm_kb vs cold $cold_kb"
    local threads='import threading, time
ts = [threading.Thread(target=time.sleep, args=(0.3,)) for _ in range(4)]
for t in ts: t.start()
print("STARTED ALL")'
    sb --warm --threads 2 -c "$threads"
    expect_verdict nonzero_exit
    err_has "can't start new thread"
    out_lacks "STARTED ALL"
    sb --warm --threads 8 -c "$threads"
    expect_verdict ok
    out_is "STARTED ALL"
    no_leftovers
}

@test "warm: execve is denied outright, even of the interpreter itself (control: a cold run with processes may exec it)" {
    local code='import os, sys, subprocess
try:
    print(subprocess.run([sys.executable, "-c", "print(2)"], capture_output=True).stdout)
except OSError as e:
    print("SPAWN", e.errno)
if os.fork() == 0:
    try:
        os.execv(sys.executable, [sys.executable, "-c", "print(3)"])
    except OSError as e:
        print("EXEC", e.errno, flush=True)
    os._exit(0)
os.wait()'
    sb --warm --nproc 4 -c "$code"
    expect_verdict ok
    out_is "SPAWN 1
EXEC 1"
    sb --nproc 4 -c "$code"
    expect_verdict ok
    out_is "b'2\n'
3"
    no_leftovers
}

# repeat_in_bg N CODE REPORTS: the CLI running CODE N times warm in the
# background ($CLI), reports into $SB_OUT; once REPORTS are out, $SERVER is
# its fork server.
repeat_in_bg() {
    "$PYSB_RUN" --uid "$TEST_UID" --json-to stdout --warm --repeat "$1" -c "$2" \
        >"$SB_OUT" 2>"$SB_ERR" &
    CLI=$!
    BG_PIDS+=("$CLI")
    SERVER=""
    local i
    for i in $(seq 100); do
        SERVER=$(pgrep -P "$CLI" 2>/dev/null | head -n1)
        [ -n "$SERVER" ] && [ "$(wc -l <"$SB_OUT")" -ge "$3" ] && break
        sleep 0.05
    done
    [ -n "$SERVER" ] || { fail "no fork server under the CLI"; return 1; }
    [ "$(cat /proc/"$SERVER"/comm)" = pysb-forkserver ] || { fail "pid $SERVER is not the server"; return 1; }
}

@test "warm: a fork server killed with SIGKILL under load costs the run in flight only (internal_error), the next runs are served, nothing is left" {
    local n=40
    repeat_in_bg $n 'import time; time.sleep(0.05); print("ran")' 8
    local cli=$CLI server=$SERVER
    kill -KILL "$server"
    wait "$cli" || true
    [ "$(jq -s length "$SB_OUT")" = $n ] || fail "not $n reports: $(cat "$SB_ERR")"
    local failed; failed=$(jq -s '[.[] | select(.status != "ok")] | length' "$SB_OUT")
    [ "$failed" -le 1 ] || fail "$failed runs failed"
    jq -e -s '[.[] | select(.status != "ok")] | all(.status == "internal_error" and (.error | test("fork server")))' \
        "$SB_OUT" >/dev/null || fail "a failed run is not internal_error"
    [ "$(grep -c 'the fork server died; starting a new one' "$SB_ERR")" = 1 ] || fail "$(cat "$SB_ERR")"
    # The runs after the restart are warm again, and all of them ran.
    jq -e -s '.[-1].start == "warm" and ([.[] | select(.status == "ok")] | all(.stdout == "ran\n"))' \
        "$SB_OUT" >/dev/null || fail "not served after the restart"
    ! kill -0 "$server" 2>/dev/null || fail "the killed server is still there"
    [ -z "$(pgrep -P "$cli" 2>/dev/null)" ] || fail "children of the CLI left"
    # The run in flight died with its server (its reaper's PDEATHSIG, then
    # the kernel empties the pid namespace): not the CLI's children, so
    # allowed a moment to be gone.
    local i
    for i in $(seq 40); do
        [ -z "$(pgrep -U "$TEST_UID"; pgrep -u "$TEST_UID")" ] && break
        sleep 0.05
    done
    no_leftovers
}

@test "warm: a fork server that hangs (SIGSTOP) costs no run: they go cold after 1 s, warm again once it runs, nothing left" {
    repeat_in_bg 8 'import time; time.sleep(0.2); print("ran")' 2
    local cli=$CLI server=$SERVER
    kill -STOP "$server"
    sleep 1.5
    kill -CONT "$server"
    wait "$cli" || fail "a run failed: $(cat "$SB_OUT")"
    [ "$(jq -s length "$SB_OUT")" = 8 ] || fail "not 8 reports"
    jq -e -s 'all(.status == "ok" and .stdout == "ran\n")' "$SB_OUT" >/dev/null || fail "a run failed"
    jq -e -s '[.[] | select(.start == "cold")] | length >= 1' "$SB_OUT" >/dev/null ||
        fail "no run went cold while the server was stopped"
    jq -e -s '.[-1].start == "warm"' "$SB_OUT" >/dev/null || fail "not warm again after SIGCONT"
    grep -q 'the run went cold: the fork server did not take it' "$SB_ERR" || fail "$(cat "$SB_ERR")"
    no_leftovers
}

@test "warm: the server is not reachable from a run: not in its pid namespace, none of its descriptors (control: cold sees the same)" {
    local code='import os
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
def exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
print(os.getpid(), [p for p in range(1, 4096) if exists(p)], [fd for fd in range(1024) if is_open(fd)])'
    same_warm_and_cold "$code"
    no_leftovers
}

@test "warm: the time zone is a cold run's (the run looks for /etc/localtime in its root, not the server's host zone); stdout and stderr are pipes that cannot seek (attack9 F3, F4)" {
    command -v strace >/dev/null || skip "no strace"
    local code='import sys, time
print(time.tzname, time.timezone, sys.stdout.seekable(), sys.stderr.seekable())'
    # the server (unconfined) reads the host's zone at its start; the run,
    # forked from it, must look again inside its own root, as a cold
    # interpreter does at its start (a host not in UTC would show it)
    strace -f -qq -e trace=openat -o "$BATS_TEST_TMPDIR/st" \
        "$PYSB_RUN" --warm --uid "$TEST_UID" --gid "$TEST_UID" -c "$code" > "$BATS_TEST_TMPDIR/out" 2>&1 ||
        fail "$(cat "$BATS_TEST_TMPDIR/out")"
    grep -q '"/etc/localtime", O_RDONLY|O_CLOEXEC) = -1 ENOENT' "$BATS_TEST_TMPDIR/st" ||
        fail "the run did not look for the zone in its root: $(grep localtime "$BATS_TEST_TMPDIR/st")"
    same_warm_and_cold "$code"
    no_leftovers
}

@test "warm: a run cannot read what the server keeps of other runs (their reapers' host pids, how many it served) (attack9 F1)" {
    command -v gdb >/dev/null || skip "no gdb"
    local ext="$BATS_TEST_DIRNAME/../../build/_pysandbox.abi3.so" offs served runs
    # where the server's table lies in the extension (its debug info)
    offs=$(gdb -batch -ex 'print (long)&S.served' -ex 'print (long)&S.runs' "$ext" 2>/dev/null |
           awk '{print $3}' | tr '\n' ' ')
    read -r served runs <<<"$offs"
    [ -n "$runs" ] || skip "no debug info in $ext"
    local code="import ctypes, sys
f = sys._getframe()
while f is not None and '_pysb_mod' not in f.f_globals:
    f = f.f_back
mod = f.f_globals['_pysb_mod']
class Dl(ctypes.Structure):
    _fields_ = [('fname', ctypes.c_char_p), ('fbase', ctypes.c_void_p),
                ('sname', ctypes.c_char_p), ('saddr', ctypes.c_void_p)]
ml = ctypes.c_void_p.from_address(id(mod.serve) + 16).value      # PyCFunctionObject.m_ml
meth = ctypes.c_void_p.from_address(ml + 8).value                # PyMethodDef.ml_meth
d = Dl()
assert ctypes.CDLL(None).dladdr(ctypes.c_void_p(meth), ctypes.byref(d))
table = ctypes.c_void_p.from_address(d.fbase + $runs).value
print('served', ctypes.c_uint64.from_address(d.fbase + $served).value,
      'pid', ctypes.c_int.from_address(table).value if table else 0)"
    # the third run of one server: two ran before it
    sb --warm --repeat 3 -c "$code"
    [ "$(grep -c '^served 0 pid 0$' <<<"$sb_out")" = 3 ] || fail "what the runs read: $sb_out"
    no_leftovers
}
