#!/usr/bin/env bats
# warm_event.bats — PySandboxStart warm and PySandboxPreload over HTTP
# (issue 9): the launcher's fork servers (src/fspool.c). A warm Location's
# runs are forked from a server with the preloads imported, every layer on;
# ?info=1 says the mode; no state crosses requests; a server killed with
# SIGKILL under load costs only the runs in flight (internal_error), is
# restarted once and logged; one that hangs (SIGSTOP) is killed by the
# launcher's ping watchdog and restarted, logged once; one that cannot
# fork (a pids cgroup) sends its runs cold, logged once; the status page
# lists them; a server that cannot serve (a preload that
# cannot be imported with the interpreter a nested Location gives it)
# leaves its Location cold, with one info line (bad directive values and
# preloads refused at configtest: config.bats); a warm run's scratch,
# input files, args, out/ files and exception report answer as a cold
# run's do. One httpd (event MPM).
# Needs python3-numpy (installed by make test).

RUN_UID_FIRST=601190
load helpers

setup_file() {
    # .htaccess directories (under /tmp: www-data must reach them)
    HT=$(mktemp -d /tmp/pysb-e2e-ht.XXXXXX)
    export HT
    chmod 0755 "$HT"
    local d
    for d in ro python site start preload limits; do
        mkdir -m 0755 "$HT/$d"
        echo "SetHandler pysandbox" > "$HT/$d/.htaccess"
    done
    echo "PySandboxReadOnlyPath /srv" >> "$HT/ro/.htaccess"
    echo "PySandboxPythonPath /srv" >> "$HT/python/.htaccess"
    echo "PySandboxSitePackages On" >> "$HT/site/.htaccess"
    echo "PySandboxStart cold" >> "$HT/start/.htaccess"
    echo "PySandboxPreload json" >> "$HT/preload/.htaccess"
    echo "PySandboxWallTime 5" >> "$HT/limits/.htaccess"
    chmod 0644 "$HT"/*/.htaccess
    # /warmro's read-only path, replaced by a test (attack9 F5); not under
    # /tmp, which a run's scratch directory hides
    RO=$(mktemp -d /var/tmp/pysb-e2e-ro.XXXXXX)
    export RO
    chmod 0755 "$RO"
    mkdir -m 0755 "$RO/data"
    echo v1 > "$RO/data/secret.txt"
    chmod 0644 "$RO/data/secret.txt"
    e2e_start event "LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
Alias /ht \"$HT\"
<Directory \"$HT\">
    AllowOverride All
    Require all granted
</Directory>
"'<Location /warm>
    SetHandler pysandbox
    PySandboxStart warm
    PySandboxPreload json random
</Location>
<Location /warm/cold>
    PySandboxStart cold
</Location>
<Location /plain>
    SetHandler pysandbox
    PySandboxStart warm
</Location>
<Location /broken>
    SetHandler pysandbox
    PySandboxStart warm
    PySandboxInterpreter /usr/bin/python3 -I
    PySandboxPreload numpy
</Location>
<Location /broken/sub>
    PySandboxInterpreter /usr/bin/python3 -I -S
</Location>
<Location /status>
    SetHandler pysandbox-status
</Location>'"
<Location /warmro>
    SetHandler pysandbox
    PySandboxStart warm
    PySandboxReadOnlyPath $RO/data
</Location>"
}

teardown_file() {
    [ -n "${HT:-}" ] && rm -rf -- "$HT"
    [ -n "${RO:-}" ] && rm -rf -- "$RO"
    # a server the hang test stopped, if it failed before the launcher killed it
    [ -f "$BATS_FILE_TMPDIR/stopped" ] && kill -CONT "$(cat "$BATS_FILE_TMPDIR/stopped")" 2>/dev/null
    pids_cgroup_gone
    e2e_stop
}

# The cannot-fork test's pids cgroup (cgroup v1): its processes back where
# the server came from, the group removed; also when the test failed.
PIDS_CG=/sys/fs/cgroup/pids/pysb-e2e-warm-$$
pids_cgroup_gone() {
    [ -d "$PIDS_CG" ] || return 0
    local p back
    back=$(cat "$BATS_FILE_TMPDIR/pids_cg_was" 2>/dev/null || echo /sys/fs/cgroup/pids)
    for p in $(cat "$PIDS_CG/cgroup.procs"); do
        echo "$p" > "$back/cgroup.procs" 2>/dev/null || echo "$p" > /sys/fs/cgroup/pids/cgroup.procs
    done
    rmdir "$PIDS_CG"
}

# run_json PATH CODE: one JSON run.
run_json() {
    req --data-urlencode "user_script=$2" -d format=json "$URL$1"
}

# The pid of /warm's fork server (the one preloading json and random),
# from the status page: in the warm pass /run has a server of its own.
warm_server() {
    curl -s --max-time 5 "$URL/status?json" |
        jq -r '[.fork_servers[] | select(.preload == ["json", "random"] and .state == "ready")][0].pid // empty'
}

# /warm's server once it serves: its pid, checked to be this httpd's (else
# why, and 1).
ready_warm_server() {
    warm_ready || { echo "no warm run in 5 s"; return 1; }
    local server; server=$(warm_server)
    [ -n "$server" ] || { echo "no fork server of /warm"; return 1; }
    pysb_procs pysb-forkserver | grep -qx "$server" ||
        { echo "$server is not a fork server of this httpd"; return 1; }
    echo "$server"
}

# until_warm PATH CODE: CODE run at PATH until a run is warm (5 s at
# most); a warm Location's first request may start its server (and run
# cold). The last answer is in RESP_BODY.
until_warm() {
    local i
    for i in $(seq 50); do
        run_json "$1" "$2"
        [ "$(jq -r .start <<<"$RESP_BODY")" = warm ] && return 0
        sleep 0.1
    done
    return 1
}

warm_ready() { until_warm /warm 'pass'; }

@test "warm: ?info=1 says the mode and the preloads; a cold Location inside says cold" {
    req "$URL/warm?info=1"
    expect_code 200
    expect_json '.start == "warm" and .preload == ["json", "random"]'
    req "$URL/warm/cold?info=1"
    expect_json '.start == "cold" and .preload == []'
    req "$URL/run?info=1"
    expect_json '.start == (if env.PYSB_TEST_START == "warm" then "warm" else "cold" end) and .preload == []'
}

@test "warm: the first run after a graceful restart is warm at the default key (its server is ready before the new launcher listens)" {
    local lpid
    lpid=$(launcher_pid)
    "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "apache2 -k graceful failed"
    wait_until 3 eval '[ -n "$(launcher_pid)" ] && [ "$(launcher_pid)" != "$lpid" ]' ||
        fail "no new launcher after the graceful restart"
    # no warm-up: the first request of the new generation
    req "$URL/plain" -d format=json --data-urlencode 'code=print(1)'
    expect_code 200
    expect_json '.status == "ok" and .start == "warm"'
    # the launcher said ready before listening
    local nl
    nl=$(launcher_pid)
    grep "\[pid $nl:" "$H/error.log" | grep -E 'fork server [0-9]+ ready|listening on' | head -n 1 |
        grep -q 'fork server [0-9]* ready' || fail "$(grep "\[pid $nl:" "$H/error.log")"
}

@test "warm: runs are forked from the server with the preloads imported; cold inside stays cold" {
    warm_ready || fail "no warm run in 5 s"
    run_json /warm 'import sys; print("json" in sys.modules, "random" in sys.modules)'
    expect_code 200
    expect_json '.status == "ok" and .start == "warm" and .stdout == "True True\n"'
    run_json /warm/cold 'import sys; print("json" in sys.modules)'
    expect_json '.status == "ok" and .start == "cold" and .stdout == "False\n"'
    grep -q 'PYSB launcher: fork server [0-9]* ready (Python 3' "$H/error.log" ||
        fail "no READY line in the error log"
}

@test "warm: no state crosses requests (monkey-patch, sys.modules, globals, random)" {
    warm_ready || fail "no warm run in 5 s"
    local code='import json, sys, random
print(getattr(json, "_mark", None), json.dumps is None, "planted" in sys.modules, random.random())
json._mark = 1; json.dumps = None; sys.modules["planted"] = 1; random.seed(0)'
    local outs=() i
    for i in 1 2 3; do
        run_json /warm "$code"
        expect_json '.status == "ok" and .start == "warm"'
        outs+=("$(jq -r .stdout <<<"$RESP_BODY")")
    done
    local seen; seen=$(printf '%s\n' "${outs[@]}" | awk '{print $1, $2, $3}' | sort -u)
    [ "$seen" = "None False False" ] || fail "state crossed requests: ${outs[*]}"
    [ "$(printf '%s\n' "${outs[@]}" | sort -u | wc -l)" = 3 ] || fail "random repeated: ${outs[*]}"
}

@test "warm: the layers are on (exec refused even of the interpreter, /etc/shadow closed, no sockets, own uid)" {
    warm_ready || fail "no warm run in 5 s"
    run_json /warm 'import os, sys, socket
def t(f):
    try:
        f(); return "ALLOWED"
    except OSError as e:
        return e.errno
print(t(lambda: os.execv(sys.executable, [sys.executable, "-c", "1"])), t(lambda: open("/etc/shadow")),
      t(lambda: socket.socket()), os.getuid() >= 601190, os.getpid())'
    expect_json '.status == "ok" and .start == "warm"'
    # /etc/shadow: not even there in the run's minimal root (ENOENT)
    expect_json '.stdout == "1 2 1 True 2\n"'
}

@test "warm: scratch, input files, args, out/ files and the exception report are a cold run's (same answer but start)" {
    warm_ready || fail "no warm run in 5 s"
    printf 'a,b\n1,2\n' > "$BATS_TEST_TMPDIR/data.csv"
    local code='import os, sys, json, tempfile
with tempfile.NamedTemporaryFile("w", delete=False) as t:
    t.write("x")
os.makedirs("out", exist_ok=True)
open("out/result.txt", "w").write(open("data.csv").read().upper())
print(json.dumps([os.getcwd(), os.environ["HOME"], os.environ["TMPDIR"], os.path.dirname(t.name),
                  sorted(n for n in os.listdir(".") if n != os.path.basename(t.name)), sys.argv]))
{}["missing"]'
    local loc answers=()
    for loc in /warm /warm/cold; do
        req "$URL$loc" -F format=json -F "code=$code" -F "data.csv=@$BATS_TEST_TMPDIR/data.csv" \
            -F args=one -F 'args=two words'
        expect_code 200
        answers+=("$RESP_BODY")
    done
    jq -e '.start == "warm"' <<<"${answers[0]}" >/dev/null || fail "not warm: ${answers[0]}"
    jq -e '.start == "cold"' <<<"${answers[1]}" >/dev/null || fail "not cold: ${answers[1]}"
    local want='.status == "nonzero_exit" and .exception == "KeyError" and .exception_line == 8
        and (.stdout | fromjson) == ["/tmp", "/tmp", "/tmp", "/tmp", ["data.csv", "out"], ["main.py", "one", "two words"]]
        and (.files | length) == 1 and .files[0].name == "result.txt" and (.files[0].base64 | @base64d) == "A,B\n1,2\n"'
    local a
    for a in "${answers[@]}"; do
        jq -e "$want" <<<"$a" >/dev/null || fail "unexpected: $a"
    done
    # the same answer in both modes but for the mode and the clocks
    local strip='del(.start, .wall_time, .cpu_time, .user_time, .system_time, .memory_kb, .run_id)'
    [ "$(jq -cS "$strip" <<<"${answers[0]}")" = "$(jq -cS "$strip" <<<"${answers[1]}")" ] ||
        fail "warm and cold differ: ${answers[*]}"
}

@test "warm: stdout and stderr are a run's pipes that cannot seek, as cold, though the server's log is a file (attack9 F4)" {
    local code='import sys
print(sys.stdout.seekable(), sys.stderr.seekable(), sys.stdin.seekable())'
    warm_ready || fail "no warm run in 5 s"
    run_json /warm "$code"
    expect_json '.start == "warm" and .stdout == "False False False\n"'
    run_json /warm/cold "$code"
    expect_json '.start == "cold" and .stdout == "False False False\n"'
}

@test "warm: a fork server killed with SIGKILL under load costs only the runs in flight; it is restarted, logged once" {
    local server
    server=$(ready_warm_server) || fail "$server"
    local i
    for i in 1 2 3 4 5 6; do
        { for j in 1 2 3 4 5 6; do
              curl -s --max-time 20 --data-urlencode 'user_script=import time; time.sleep(0.05); print("ran")' \
                  -d format=json "$URL/warm"; echo
          done > "$BATS_TEST_TMPDIR/load.$i"; } 3>&- &
        BG_PIDS+=("$!")
    done
    sleep 0.4
    kill -KILL "$server"
    wait "${BG_PIDS[@]}" 2>/dev/null || true
    BG_PIDS=()
    local all; all=$(cat "$BATS_TEST_TMPDIR"/load.* | grep -v '^$')
    [ "$(wc -l <<<"$all")" = 36 ] || fail "not 36 answers: $all"
    # Only runs, 503s (all slots busy) and internal_errors of the lost runs.
    local lost; lost=$(jq -s '[.[] | select(.status == "internal_error")] | length' <<<"$all")
    jq -e -s 'all(.status == "ok" or .status == 503 or
                  (.status == "internal_error" and (.error | test("fork server lost the run"))))' \
        <<<"$all" >/dev/null || fail "unexpected answers: $all"
    [ "$lost" -le 4 ] || fail "$lost runs lost, more than the 4 slots in flight"
    [ "$(grep -c "fork server $server died of signal 9" "$H/error.log")" = 1 ] || fail "not logged once"
    ! kill -0 "$server" 2>/dev/null || fail "the killed server is still there"
    warm_ready || fail "no warm run after the restart"
    local now; now=$(warm_server)
    [ -n "$now" ] && [ "$now" != "$server" ] || fail "no new server after the restart: $now"
}

@test "warm: a read-only path replaced (moved away, another in its place) is seen by the next run, as cold; the fork server is replaced, logged once, and warm runs see the new tree" {
    local code='import os
d = "'"$RO"'/data"
print(sorted(os.listdir(d)), open(d + "/secret.txt").read().strip())'
    until_warm /warmro "$code"
    jq -e '.start == "warm" and .stdout == "[\u0027secret.txt\u0027] v1\n"' <<<"$RESP_BODY" >/dev/null ||
        fail "before: $RESP_BODY"
    mv "$RO/data" "$RO/withdrawn"
    mkdir -m 0755 "$RO/data"
    echo v2 > "$RO/data/secret.txt"
    chmod 0644 "$RO/data/secret.txt"
    echo withdrawn > "$RO/withdrawn/added-later.txt"
    # the very next run sees the new tree (the old server refused it: cold)
    run_json /warmro "$code"
    jq -e '.status == "ok" and .stdout == "[\u0027secret.txt\u0027] v2\n"' <<<"$RESP_BODY" >/dev/null ||
        fail "the next run: $RESP_BODY"
    wait_until 5 grep -q "stopped: a path of its runs' minimal root was replaced" "$H/error.log" ||
        fail "the replacement was not logged: $(grep -i 'fork server' "$H/error.log" | tail -n 3)"
    until_warm /warmro "$code"
    jq -e '.start == "warm" and .stdout == "[\u0027secret.txt\u0027] v2\n"' <<<"$RESP_BODY" >/dev/null ||
        fail "warm again: $RESP_BODY"
    [ "$(grep -c "minimal root was replaced; starting a new one" "$H/error.log")" = 1 ] ||
        fail "not logged once: $(grep -c "minimal root was replaced; starting" "$H/error.log")"
}

@test "warm: a fork server that hangs (SIGSTOP) is found by the launcher's ping: killed, started again, logged once; every request is served meanwhile" {
    local server
    server=$(ready_warm_server) || fail "$server"
    echo "$server" > "$BATS_FILE_TMPDIR/stopped"
    kill -STOP "$server"
    # Runs go cold after the 1 s a supervisor waits for the server; within
    # 5 s (ping) + 3 s (no answer) the launcher kills it and starts another.
    local i warm=0 t0=$SECONDS
    for i in $(seq 40); do
        run_json /warm 'print("ran")'
        expect_code 200
        expect_json '.status == "ok" and .stdout == "ran\n"'
        if [ "$(jq -r .start <<<"$RESP_BODY")" = warm ]; then warm=1; break; fi
    done
    [ "$warm" = 1 ] || fail "not warm again after $((SECONDS - t0)) s"
    ! kill -0 "$server" 2>/dev/null || fail "the hung server is still there"
    rm -f "$BATS_FILE_TMPDIR/stopped"
    [ "$(grep -c "fork server $server did not answer a ping within 3 s: killed" "$H/error.log")" = 1 ] ||
        fail "not logged once: $(grep "fork server $server" "$H/error.log")"
    ! grep -q "fork server $server died of signal" "$H/error.log" || fail "its death logged twice"
    local now; now=$(warm_server)
    [ -n "$now" ] && [ "$now" != "$server" ] || fail "no new server: $now"
}

@test "warm: a fork server that cannot fork (a pids limit) costs no run: they run cold, one line says so; the limit gone, warm again" {
    [ -f /sys/fs/cgroup/pids/cgroup.procs ] || skip "no cgroup v1 pids controller at /sys/fs/cgroup/pids"
    local server
    server=$(ready_warm_server) || fail "$server"
    # where it was, to put it back
    echo "/sys/fs/cgroup/pids$(awk -F: '$2 == "pids" {print $3}' "/proc/$server/cgroup")" \
        > "$BATS_FILE_TMPDIR/pids_cg_was"
    mkdir "$PIDS_CG"
    echo 1 > "$PIDS_CG/pids.max"
    echo "$server" > "$PIDS_CG/cgroup.procs"
    local i
    for i in 1 2 3; do
        run_json /warm 'print("ran")'
        expect_code 200
        expect_json '.status == "ok" and .start == "cold" and .stdout == "ran\n"'
    done
    [ "$(grep -c "\[pid $server\] PYSB fork server: cannot fork runs (1 since the last such line; they run cold): clone: Resource temporarily unavailable" "$H/error.log")" = 1 ] ||
        fail "not one line: $(grep -c 'cannot fork' "$H/error.log") in the log"
    kill -0 "$server" || fail "the server died"
    pids_cgroup_gone
    warm_ready || fail "no warm run once the server can fork again"
    [ "$(warm_server)" = "$server" ] || fail "not the same server"
}

@test "warm: a server that cannot serve (a preload that cannot be imported) leaves the Location cold, one info line" {
    # configtest checked numpy with the section's "-I"; /broken/sub
    # inherits the preload with "-I -S", where numpy cannot be imported.
    local i
    for i in 1 2 3; do
        run_json /broken/sub 'print("ran")'
        expect_json '.status == "ok" and .start == "cold" and .stdout == "ran\n"'
        sleep 0.2
    done
    grep -q 'refused: numpy: cannot be imported by /usr/bin/python3: ModuleNotFoundError' \
        "$H/error.log" || fail "the reason is not in the error log"
    [ "$(grep -c 'cannot serve warm runs' "$H/error.log")" = 1 ] || fail "not one info line"
}

@test "warm: the status page lists the fork servers: pid, state, key, restarts (JSON, HTML, metrics)" {
    # after the tests above: /warm's server was killed twice (SIGKILL, and
    # the watchdog's of a hung one) and restarted each time, /warmro's
    # replaced once (its read-only path was), /broken/sub's cannot serve
    # (cold, no pid)
    warm_ready || fail "no warm run in 5 s"
    local server; server=$(warm_server)
    req "$URL/status?json"
    expect_code 200
    expect_json '[.fork_servers[] | select(.preload == ["json", "random"])] | length == 1 and .[0].state == "ready" and .[0].pid == '"$server"' and .[0].restarts == 2 and .[0].argv[0] == "/usr/bin/python3" and .[0].uptime_s >= 0'
    expect_json '[.fork_servers[] | select(.argv == ["/usr/bin/python3", "-I", "-S"] and .preload == ["numpy"])] | length == 1 and .[0].state == "cold" and .[0].pid == 0'
    req "$URL/status"
    body_has "<h2>Fork servers (warm runs)</h2>"
    body_has "<tr><td>$server</td><td>ready</td><td><code>/usr/bin/python3 "
    body_has "<td>json random</td>"
    req "$URL/status?metrics"
    body_has 'pysandbox_fork_servers{state="ready"} '
    body_has 'pysandbox_fork_servers{state="cold"} 1'
    body_has 'pysandbox_fork_server_restarts_total 3'
}

@test "warm: the directives that make a fork server's key are not allowed in .htaccess (500, one line each); limits still are" {
    # (an .htaccess author could otherwise start a root server per path
    # set, 32 at most, and send the admin's Locations cold: attack-warm 3)
    local d
    for d in ro:PySandboxReadOnlyPath python:PySandboxPythonPath site:PySandboxSitePackages \
             start:PySandboxStart preload:PySandboxPreload; do
        run_json "/ht/${d%%:*}/x" 'print("ran")'
        expect_code 500
        grep -q "${d#*:} not allowed here" "$H/error.log" || fail "${d#*:}: no line in the error log"
    done
    run_json /ht/limits/x 'print("ran")'
    expect_code 200
    expect_json '.status == "ok" and .stdout == "ran\n" and .limits.wall_time == 5'
}
