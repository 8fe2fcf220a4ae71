#!/usr/bin/env bats
# run.bats — how code gets in and output gets out: -c, FILE.py, -, --exec,
# stdin, stream separation, the report, argv, tracebacks.

UID_BASE=600100
load helpers

@test "run: -c CODE prints on stdout, status ok, exit 0" {
    sb -c 'print("hello from -c")'
    expect_verdict ok
    out_is "hello from -c"
    jcheck '.message == "OK" and .exit_code == 0 and .signal == null'
    jcheck '.stdout == "hello from -c\n" and .stderr == ""'
    no_leftovers
}

@test "run: the seed scenario (--exec python3 -c, text report on stderr)" {
    # Exactly the command of the issue; uid 65534 is fixed by it, so the
    # leftover check is skipped (other runs may use 65534 concurrently).
    sb_raw --cpu 6 --clock 4 --mem 250000 --uid 65534 \
        --exec /usr/bin/python3 -c "print('hello world')"
    expect_status 0
    [ "$sb_out" = "hello world" ] || fail "stdout is not 'hello world'"
    local l1 l2 l3 l4
    l1=$(sed -n 1p "$SB_ERR"); l2=$(sed -n 2p "$SB_ERR")
    l3=$(sed -n 3p "$SB_ERR"); l4=$(sed -n 4p "$SB_ERR")
    [ "$l1" = "OK" ] || fail "first report line is not OK: '$l1'"
    [[ "$l2" =~ ^elapsed\ time:\ [0-9]+(\.[0-9]+)?\ seconds$ ]] || fail "bad line 2: '$l2'"
    [[ "$l3" =~ ^memory\ usage:\ [0-9]+\ kbytes$ ]] || fail "bad line 3: '$l3'"
    [[ "$l4" =~ ^cpu\ usage:\ [0-9]+(\.[0-9]+)?\ seconds$ ]] || fail "bad line 4: '$l4'"
    [ "$(wc -l <"$SB_ERR")" -eq 4 ] || fail "stderr has more than the 4 report lines"
}

@test "run: text report goes to --report-fd N when asked, not to stderr" {
    run bash -c 'timeout 30 "$1" --uid "$2" --gid "$2" --report-fd 5 -c "import sys; print(\"O\"); print(\"E\", file=sys.stderr)" \
        >"$3/o" 2>"$3/e" 5>"$3/r"' _ "$PYSB_RUN" "$TEST_UID" "$BATS_TEST_TMPDIR"
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/o")" = "O" ]
    [ "$(cat "$BATS_TEST_TMPDIR/e")" = "E" ]
    [ "$(sed -n 1p "$BATS_TEST_TMPDIR/r")" = "OK" ]
    grep -qE '^elapsed time: [0-9.]+ seconds$' "$BATS_TEST_TMPDIR/r"
    no_leftovers
}

@test "run: stdout and stderr reach the right streams (relayed and in JSON)" {
    sb -c 'import sys
print("OUT-MARK-1")
sys.stderr.write("ERR-MARK-2\n")
print("OUT-MARK-3")'
    expect_verdict ok
    [ "$sb_out" = "OUT-MARK-1
OUT-MARK-3" ] || fail "stdout wrong"
    [ "$sb_err" = "ERR-MARK-2" ] || fail "stderr wrong"
    jcheck '.stdout == "OUT-MARK-1\nOUT-MARK-3\n" and .stderr == "ERR-MARK-2\n"'
    jcheck '.stdout_bytes == 22 and .stderr_bytes == 11'
    jcheck '.stdout_truncated == false and .stderr_truncated == false'
    no_leftovers
}

@test "run: FILE.py runs the file's code" {
    local f="$BATS_TEST_TMPDIR/prog.py"
    printf 'x = 6\nprint("file says", x * 7)\n' >"$f"
    sb "$f"
    expect_verdict ok
    out_is "file says 42"
    no_leftovers
}

@test "run: - reads the code from stdin; program stdin is then empty" {
    sb - <<<'import sys
print("stdin code ran")
print("stdin:", repr(sys.stdin.read()))'
    expect_verdict ok
    [ "$sb_out" = "stdin code ran
stdin: ''" ] || fail "unexpected output"
    no_leftovers
}

@test "run: - with --stdin-file feeds input() and sys.stdin.read()" {
    local in="$BATS_TEST_TMPDIR/input.txt"
    printf 'first line\nsecond\nthird\n' >"$in"
    sb --stdin-file "$in" - <<<'import sys
a = input()
rest = sys.stdin.read()
print("A=" + a)
print("REST=" + repr(rest))'
    expect_verdict ok
    [ "$sb_out" = "A=first line
REST='second\nthird\n'" ] || fail "unexpected output"
    no_leftovers
}

@test "run: -c with --stdin-file feeds input()" {
    local in="$BATS_TEST_TMPDIR/input.txt"
    printf '21\n' >"$in"
    sb --stdin-file "$in" -c 'print(int(input()) * 2)'
    expect_verdict ok
    out_is "42"
    no_leftovers
}

@test "run: -c takes the program's stdin from the tool's stdin" {
    sb -c 'import sys; print("GOT", repr(sys.stdin.read()))' <<<"piped input"
    expect_verdict ok
    out_is "GOT 'piped input\n'"
    no_leftovers
}

@test "run: input() at EOF raises EOFError (stdin empty, not a hang)" {
    sb --clock 5 -c 'try:
    input()
except EOFError:
    print("EOF")' </dev/null
    expect_verdict ok
    out_is "EOF"
    no_leftovers
}

@test "run: sys.argv is ['main.py'] (code not in argv)" {
    sb -c 'import sys; print(sys.argv)'
    expect_verdict ok
    out_is "['main.py']"
    no_leftovers
}

@test "run: the code text is not visible in ps while the program runs" {
    local marker="CODEMARK_$(printf 'q%.0s' {1..40})_$$_$RANDOM"
    local f="$BATS_TEST_TMPDIR/prog.py"
    printf '# %s\nimport time\nprint("READY", flush=True)\ntime.sleep(4)\nprint("%s"[:3])\n' \
        "$marker" "$marker" >"$f"
    # Control: a plain python3 -c with the marker in its code shows it in ps.
    timeout 10 "$PY" -I -S -c "import time; '$marker'; time.sleep(3)" 3>&- &
    BG_PIDS+=($!)
    local psout i
    for i in $(seq 100); do
        psout=$(ps -eo args)
        grep -qF -- "$marker" <<<"$psout" && break
        sleep 0.05
    done
    grep -qF -- "$marker" <<<"$psout" || { echo "control: marker not in ps" >&2; return 1; }
    kill "${BG_PIDS[0]}"; wait "${BG_PIDS[0]}" 2>/dev/null || true

    timeout 20 "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --clock 10 "$f" \
        >"$SB_OUT" 2>"$SB_ERR" 3>&- &
    local cli=$!
    BG_PIDS+=($cli)
    local i
    for i in $(seq 100); do
        grep -q READY "$SB_OUT" 2>/dev/null && break
        sleep 0.1
    done
    grep -q READY "$SB_OUT" || fail "program never printed READY"
    # The program is running now, as the test uid.
    pgrep -u "$TEST_UID" >/dev/null || fail "no process of uid $TEST_UID while it sleeps"
    psout=$(ps -eo args)
    ! grep -qF -- "$marker" <<<"$psout" || fail "code visible in ps: $(grep -F -- "$marker" <<<"$psout")"
    local p
    for p in $(pgrep -u "$TEST_UID"); do
        ! tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF "$marker" || fail "marker in /proc/$p/cmdline"
    done
    wait "$cli" || fail "CLI exit status $?"
    out_has "COD"
    no_leftovers
}

@test "run: with -c, the code is not in the interpreter's cmdline" {
    local marker="INLINEMARK_$$_$RANDOM"
    timeout 20 "$PYSB_RUN" --uid "$TEST_UID" --gid "$TEST_GID" --clock 10 \
        -c "import time
print('READY', flush=True)
time.sleep(3)
'$marker'" >"$SB_OUT" 2>"$SB_ERR" 3>&- &
    local cli=$!
    BG_PIDS+=($cli)
    local i
    for i in $(seq 100); do
        grep -q READY "$SB_OUT" 2>/dev/null && break
        sleep 0.1
    done
    grep -q READY "$SB_OUT" || fail "program never printed READY"
    # The tool's own argv holds the code here (the user typed it), and so may
    # a forked, not exec'd, helper of the tool; the interpreter's must not.
    local pids p found=0
    pids=$(pgrep -u "$TEST_UID") || fail "no process of uid $TEST_UID"
    for p in $pids; do
        [[ "$(readlink "/proc/$p/exe")" == */python3* ]] || continue
        found=1
        ! tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF "$marker" || fail "marker in the interpreter's /proc/$p/cmdline"
    done
    [ "$found" = 1 ] || fail "no interpreter process of uid $TEST_UID found"
    wait "$cli" || fail "CLI exit status $?"
    no_leftovers
}

@test "run: a traceback names main.py, the line, and shows the source line" {
    sb -c 'x = 1
def boom():
    return 1 / 0  # the-offending-line
y = 2
boom()'
    expect_verdict nonzero_exit
    jcheck '.exit_code == 1'
    err_has 'File "main.py", line 5, in <module>'
    err_has 'File "main.py", line 3, in boom'
    err_has 'return 1 / 0  # the-offending-line'
    err_has 'ZeroDivisionError: division by zero'
    jcheck '.stderr | contains("File \"main.py\", line 3, in boom")'
    no_leftovers
}

@test "run: a traceback's carets are under the expression also on a last line without a newline (as python3 FILE.py)" {
    # A browser's textarea sends no final newline: linecache gives every
    # line one (updatecache), and traceback's caret columns count on it.
    sb -c 'x = 0
x/0'
    expect_verdict nonzero_exit
    grep -qx '    x/0' "$SB_ERR" || fail "no source line: $(cat "$SB_ERR")"
    grep -qx '    ~^~' "$SB_ERR" || fail "carets not under x/0: $(cat -A "$SB_ERR")"
    # what a browser's form posts: CRLF line ends
    sb -c $'x = 0\r\ny = x/0\r\n'
    grep -qx '    y = x/0' "$SB_ERR" || fail "no source line: $(cat -A "$SB_ERR")"
    grep -qx '        ~^~' "$SB_ERR" || fail "carets not under x/0 (CRLF): $(cat -A "$SB_ERR")"
    no_leftovers
}

@test "run: a traceback shows the line it names when the code holds a form feed or U+2028, which end no line of Python" {
    sb -c $'s = "a\u2028b"  # \f\nt = 1/0\n'
    expect_verdict nonzero_exit
    err_has 'File "main.py", line 2, in <module>'
    grep -qx '    t = 1/0' "$SB_ERR" || fail "not line 2's source: $(cat -A "$SB_ERR")"
    no_leftovers
}

@test "run: a main.py in the working directory (an input file, or one the program writes) does not replace a traceback's source lines, in the main thread or another" {
    local decoy="$BATS_TEST_TMPDIR/decoy.py"
    printf 'DECOY-1\nDECOY-2\nDECOY-3\nDECOY-4\nDECOY-5\n' >"$decoy"
    sb --file "main.py=$decoy" -c 'import threading
def boom():
    return 1 / 0  # the-thread-line
threading.Thread(target=boom).start()
raise ValueError("main-marker")  # the-main-line'
    expect_verdict nonzero_exit
    err_has 'return 1 / 0  # the-thread-line'
    err_has 'raise ValueError("main-marker")  # the-main-line'
    ! grep -q DECOY "$SB_ERR" || fail "the decoy's lines in the traceback: $(cat "$SB_ERR")"
    sb -c 'open("main.py", "w").write("DECOY\n" * 5)
x = 1
raise KeyError("k")  # the-written-line'
    expect_verdict nonzero_exit
    err_has 'raise KeyError("k")  # the-written-line'
    ! grep -q DECOY "$SB_ERR" || fail "the written file's lines in the traceback: $(cat "$SB_ERR")"
    no_leftovers
}

@test "run: a traceback from FILE.py also names main.py" {
    local f="$BATS_TEST_TMPDIR/anything.py"
    printf 'a = 1\nraise ValueError("boom-marker")\n' >"$f"
    sb "$f"
    expect_verdict nonzero_exit
    err_has 'File "main.py", line 2'
    err_has 'raise ValueError("boom-marker")'
    err_has 'ValueError: boom-marker'
    no_leftovers
}

@test "run: a SyntaxError names main.py and the line" {
    sb -c 'print("never printed")
x = (1,
y = 3 +'
    expect_verdict nonzero_exit
    jcheck '.exit_code == 1'
    err_has 'File "main.py", line'
    err_has 'SyntaxError'
    out_lacks "never printed"
    no_leftovers
}

@test "run: UTF-8 code and output round-trip" {
    sb -c 'print("héllo ✓ 日本")'
    expect_verdict ok
    out_is "héllo ✓ 日本"
    jcheck '.stdout == "héllo ✓ 日本\n"'
    no_leftovers
}

@test "run: non-UTF-8 output is relayed raw and becomes U+FFFD in JSON" {
    sb -c 'import sys; sys.stdout.buffer.write(b"a\xffb\n")'
    expect_verdict ok
    [ "$(od -An -tx1 "$SB_OUT" | tr -d ' \n')" = "61ff620a" ] || fail "raw bytes not relayed"
    jcheck '.stdout == "a\ufffdb\n"'
    no_leftovers
}

@test "run: JSON report is exactly one line with the specified fields" {
    sb -c 'print(1)'
    expect_verdict ok
    [ "$(wc -l <"$REPORT")" -eq 1 ] || fail "JSON report is not one line"
    jcheck 'has("status") and has("message") and has("exit_code") and has("signal")
        and has("stdout") and has("stderr") and has("stdout_truncated")
        and has("stderr_truncated") and has("stdout_bytes") and has("stderr_bytes")
        and has("wall_time") and has("cpu_time") and has("user_time")
        and has("system_time") and has("memory_kb") and has("limits")
        and has("run_id") and has("landlock_abi")'
    jcheck '(.wall_time|type) == "number" and (.cpu_time|type) == "number"
        and (.user_time|type) == "number" and (.system_time|type) == "number"
        and (.memory_kb|type) == "number" and .memory_kb > 0
        and .wall_time > 0 and .wall_time < 10'
    jcheck '(.run_id|type) == "string" and (.run_id|length) > 0'
    jcheck '.limits | has("cpu_time") and has("wall_time") and has("memory")
        and has("output") and has("processes") and has("threads")'
    jcheck 'has("error") | not'
    no_leftovers
}

@test "run: JSON limits reflect the flags" {
    sb --cpu 2 --clock 7 --nproc 3 --threads 5 --output 64K --mem 131072 -c 'pass'
    expect_verdict ok
    jcheck '.limits.cpu_time == 2 and .limits.wall_time == 7'
    jcheck '.limits.processes == 3 and .limits.threads == 5'
    jcheck '.limits.output == 65536'
    # --mem is KB on the command line; the JSON, like the HTTP API, speaks bytes.
    jcheck '.limits.memory == 134217728'
    no_leftovers
}

@test "run: landlock_abi is at least 1 on this kernel" {
    sb -c 'pass'
    expect_verdict ok
    jcheck '(.landlock_abi|type) == "number" and .landlock_abi >= 1'
    no_leftovers
}

@test "run: --exec runs the program itself with its arguments" {
    sb --exec /usr/bin/python3 -I -S -c 'import sys; print(sys.argv[1:])' one 'two words'
    expect_verdict ok
    out_is "['one', 'two words']"
    no_leftovers
}

@test "run: each run gets a distinct run_id" {
    sb -c 'pass'
    local a; a=$(jget .run_id)
    sb -c 'pass'
    local b; b=$(jget .run_id)
    [ -n "$a" ] && [ "$a" != "$b" ] || fail "run ids not distinct: $a / $b"
}

@test "run: empty code is ok" {
    sb -c ''
    expect_verdict ok
    [ ! -s "$SB_OUT" ] || fail "unexpected output"
    no_leftovers
}

@test "run: a 300 KB program file runs (code never goes through argv)" {
    local f="$BATS_TEST_TMPDIR/big.py"
    "$PY" -I -S -c 'print("x = \"" + "a" * 300000 + "\"\nprint(len(x))")' >"$f"
    sb "$f"
    expect_verdict ok
    out_is "300000"
    no_leftovers
}

@test "run: 5 MB of stdin the program never reads does not block the run" {
    local in="$BATS_TEST_TMPDIR/big.in"
    head -c 5000000 /dev/zero >"$in"
    sb --clock 5 --stdin-file "$in" -c 'print("hi")'
    expect_verdict ok
    out_is "hi"
    sb --clock 5 --stdin-file "$in" -c 'import sys; print(len(sys.stdin.buffer.read()))'
    expect_verdict ok
    out_is "5000000"
    no_leftovers
}

@test "run: 500 KB of output under the cap is relayed whole" {
    sb -c 'import sys; sys.stdout.write("z" * 500000)'
    expect_verdict ok
    [ "$(stat -c %s "$SB_OUT")" -eq 500000 ] || fail "relayed $(stat -c %s "$SB_OUT") bytes"
    jcheck '.stdout_bytes == 500000 and .stdout_truncated == false and (.stdout | length) == 500000'
    no_leftovers
}

@test "run: the tool's stdout closing early (| head -1) ends the run promptly" {
    run bash -c 'timeout 30 "$1" --uid "$2" --gid "$2" --clock 20 -c "while True: print(1)" 2>/dev/null | head -1; echo "rc=${PIPESTATUS[0]}"' \
        _ "$PYSB_RUN" "$TEST_UID"
    [ "${lines[0]}" = "1" ] || { echo "$output" >&2; return 1; }
    [ "${lines[1]}" = "rc=1" ] || { echo "expected exit status 1 (not a SIGPIPE death or a timeout): $output" >&2; return 1; }
    no_leftovers
}

@test "run: --json without --report-fd puts one JSON line on stderr after the program's stderr" {
    sb_raw --uid "$TEST_UID" --gid "$TEST_GID" --json \
        -c 'import sys; print("o"); print("e", file=sys.stderr)'
    expect_status 0
    out_is "o"
    [ "$(wc -l <"$SB_ERR")" -eq 2 ] || fail "stderr should be the program's line and the JSON line"
    [ "$(sed -n 1p "$SB_ERR")" = "e" ] || fail "program's stderr not first"
    sed -n 2p "$SB_ERR" | jq -e '.status == "ok" and .stderr == "e\n" and .stdout == "o\n"' >/dev/null \
        || fail "second stderr line is not the JSON result"
    no_leftovers
}

@test "run: --json-to stdout puts the JSON object alone on stdout, for | jq; nothing of the program is relayed" {
    sb_raw --uid "$TEST_UID" --gid "$TEST_GID" --json-to stdout \
        -c 'import sys; print("o"); print("e", file=sys.stderr); sys.exit(3)'
    expect_status 1
    [ "$(wc -l <"$SB_OUT")" -eq 1 ] || fail "stdout should be one line: the JSON object"
    jq -e '.status == "nonzero_exit" and .exit_code == 3 and .stdout == "o\n" and .stderr == "e\n"' \
        "$SB_OUT" >/dev/null || fail "stdout is not the JSON result"
    [ ! -s "$SB_ERR" ] || fail "stderr should be empty"
    # the whole point: a pipe into jq
    run bash -c '"$1" --uid "$2" --gid "$2" --json-to stdout -c "print(42)" | jq -r .stdout' _ \
        "$PYSB_RUN" "$TEST_UID"
    [ "$status" = 0 ] && [ "$output" = 42 ] || fail "jq got: $output"
    no_leftovers
}

@test "run: --json-to stderr is --json; --json-to fd:N writes it to descriptor N" {
    sb_raw --uid "$TEST_UID" --gid "$TEST_GID" --json-to stderr \
        -c 'import sys; print("o"); print("e", file=sys.stderr)'
    expect_status 0
    out_is "o"
    [ "$(sed -n 1p "$SB_ERR")" = "e" ] || fail "program's stderr not first"
    sed -n 2p "$SB_ERR" | jq -e '.status == "ok" and .stdout == "o\n"' >/dev/null ||
        fail "second stderr line is not the JSON result"
    run bash -c 'timeout 30 "$1" --uid "$2" --gid "$2" --json-to fd:5 \
        -c "import sys; print(\"O\"); print(\"E\", file=sys.stderr)" 5>"$3" 2>"$3.err"' _ \
        "$PYSB_RUN" "$TEST_UID" "$BATS_TEST_TMPDIR/j"
    [ "$status" = 0 ] || fail "exit $status"
    [ "$output" = O ] || fail "stdout: $output"
    [ "$(cat "$BATS_TEST_TMPDIR/j.err")" = E ] || fail "stderr: $(cat "$BATS_TEST_TMPDIR/j.err")"
    jq -e '.status == "ok" and .stdout == "O\n" and .stderr == "E\n"' "$BATS_TEST_TMPDIR/j" >/dev/null ||
        fail "fd 5: $(cat "$BATS_TEST_TMPDIR/j")"
    no_leftovers
}

@test "run: --json-to takes stdout, stderr or fd:N of an open descriptor, else exit 2 with one line" {
    local v
    for v in pipe fd: fd:x fd:0 fd:9 ''; do
        sb_raw --uid "$TEST_UID" --json-to "$v" -c 'print(1)'
        expect_status 2
        [ "$(wc -l <"$SB_ERR")" -eq 1 ] || fail "--json-to '$v': not one line"
        grep -q '^pysandbox-run: --json-to' "$SB_ERR" || fail "--json-to '$v': $(cat "$SB_ERR")"
        [ ! -s "$SB_OUT" ] || fail "--json-to '$v': something ran"
    done
}
