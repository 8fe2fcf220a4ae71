#!/usr/bin/env bats
# balancer.bats — scale-out behind httpd's own mod_proxy_balancer (README
# "More than one machine"), for real: a front httpd running
# conf/examples/balancer.conf (its check interval and retry shortened) and
# three backend httpds with mod_pysandbox (2 run slots and 4 queue places
# each, so that one can be filled from outside), all on loopback. A mixed
# load through the front is answered by all three; streams stay live
# through the proxy; the client's address reaches the backends; a backend
# whose queue is full answers one 503 with its Retry-After and is left
# alone for retry= while the others serve; one backend stopped under load
# loses nothing but the requests in flight on it (a clear 502/503), the
# health check takes it out, and once restarted it takes load again.

RUN_UID_FIRST=601250     # backends: 601250-601279, ten uids each
RUN_UID_COUNT=30
load helpers

# backend_start N: backend N (1..3) in $BALANCER/bN on a free port.
backend_start() {
    local n=$1 d="$BALANCER/b$1" first=$((RUN_UID_FIRST + (n - 1) * 10)) port
    mkdir -p "$d"
    [ -s "$d/port" ] || "$HTTPD_SH" free-port > "$d/port"
    port=$(cat "$d/port")
    # the pass's mode, as e2e_start sets it: cold says so, warm is the default
    local start=""
    e2e_warm || start=$'<Location />\n    PySandboxStart cold\n</Location>'
    cat > "$d/extra.conf" <<EOF
$start
PySandboxUserRange $first $((first + 9))
PySandboxMaxRuns 2
PySandboxQueueSize 4
PySandboxQueueTimeout 30
LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so
<Location /pysandbox-status>
    SetHandler pysandbox-status
    Require ip 127.0.0.1
</Location>
EOF
    "$HTTPD_SH" start "$d" "$port" event "$d/extra.conf" >"$d/start.log" 2>&1 3>&- ||
        { cat "$d/start.log" >&2; return 1; }
}

backend_stop() { "$HTTPD_SH" stop "$BALANCER/b$1" >/dev/null 2>&1 3>&- || true; }

# The front: a minimal httpd, the backends defined, the example included.
front_start() {
    local d="$BALANCER/front" n
    mkdir -p "$d/run"
    "$HTTPD_SH" free-port > "$d/port"
    sed -e 's/hcinterval=5/hcinterval=1/g' -e 's/retry=5/retry=1/g' \
        "$E2E_ROOT/conf/examples/balancer.conf" > "$d/balancer.conf"
    {
        echo "ServerRoot \"$d\""
        echo "ServerName 127.0.0.1"
        echo "Listen 127.0.0.1:$(cat "$d/port")"
        echo "PidFile \"$d/httpd.pid\""
        echo "DefaultRuntimeDir \"$d/run\""
        echo "ErrorLog \"$d/error.log\""
        # proxy:debug for AH10123, each election's member, busy and lbstatus
        echo "LogLevel info proxy:debug"
        echo "Mutex file:$d/run default"
        echo "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so"
        echo "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so"
        echo "User www-data"
        echo "Group www-data"
        echo "LogFormat \"%h \\\"%r\\\" %>s %{BALANCER_WORKER_NAME}e\" front"
        echo "CustomLog \"$d/access.log\" front"
        for n in 1 2 3; do
            echo "Define PYSB_BACKEND$n http://127.0.0.1:$(cat "$BALANCER/b$n/port")"
        done
        echo "Include \"$d/balancer.conf\""
        # to watch the members' state (not part of the example)
        echo "LoadModule status_module /usr/lib/apache2/modules/mod_status.so"
        echo "LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so"
        echo "<Location /balancer-manager>"
        echo "    SetHandler balancer-manager"
        echo "    Require ip 127.0.0.1"
        echo "</Location>"
    } > "$d/httpd.conf"
    "$APACHE2" -t -d "$d" -f "$d/httpd.conf" >"$d/start.log" 2>&1 || { cat "$d/start.log" >&2; return 1; }
    "$APACHE2" -d "$d" -f "$d/httpd.conf" -k start 3>&- || return 1
    FRONT="http://127.0.0.1:$(cat "$d/port")"
    wait_until 5 eval "curl -s -o /dev/null '$FRONT/'" || return 1
}

setup_file() {
    e2e_require || return 1
    export RUN_UID_FIRST RUN_UID_LAST=$((RUN_UID_FIRST + RUN_UID_COUNT - 1))
    BALANCER=$(mktemp -d /tmp/pysb-balancer.XXXXXX)
    chmod 755 "$BALANCER"   # www-data walks to each server's pages
    export BALANCER
    local n
    for n in 1 2 3; do backend_start "$n" || return 1; done
    front_start || return 1
    export FRONT LOADGEN="$E2E_ROOT/tools/loadgen.py"
    # the health checks have seen every member up
    sleep 1.2
}

teardown_file() {
    local n left rc=0
    "$HTTPD_SH" stop "$BALANCER/front" >/dev/null 2>&1 3>&- || true
    for n in 1 2 3; do backend_stop "$n"; done
    wait_until 5 eval '[ -z "$(uid_procs)" ]' || true
    left=$(uid_procs)
    if [ -n "$left" ]; then
        echo "run processes left: $left" >&2
        for n in $(echo "$left" | awk '{print $1}'); do kill -KILL "$n" 2>/dev/null || true; done
        rc=1
    fi
    for n in 1 2 3; do
        [ -z "$(ls "$BALANCER/b$n"/run/pysandbox.*.sock 2>/dev/null)" ] || { echo "socket left in b$n" >&2; rc=1; }
    done
    [ "$rc" = 0 ] && [ -z "${PYSB_E2E_KEEP:-}" ] && rm -rf "$BALANCER"
    return "$rc"
}

# served_by N: requests backend N's access log has for /run.
served_by() { cat "$BALANCER/b$1/access.log" 2>/dev/null | grep -c '"POST /run' || true; }
backend_url() { echo "http://127.0.0.1:$(cat "$BALANCER/b$1/port")"; }

@test "a mixed load through the front: every answer correct, all three backends serve" {
    local before=() n
    for n in 1 2 3; do before[$n]=$(served_by "$n"); done
    python3 "$LOADGEN" "$FRONT/run" --mix soak --clients 9 --duration 5 > "$BATS_TEST_TMPDIR/load.json"
    note "through the front: $(jq -c '{requests, codes, correct, correct_per_s, p50_ms, p99_ms}' "$BATS_TEST_TMPDIR/load.json")"
    jq -e '.requests > 20 and .correct == .requests and .codes == {"200": .requests}' \
        "$BATS_TEST_TMPDIR/load.json" >/dev/null || fail "$(cat "$BATS_TEST_TMPDIR/load.json")"
    for n in 1 2 3; do
        [ "$(served_by "$n")" -gt "${before[$n]}" ] || fail "backend $n served nothing"
    done
}

@test "streaming through the proxy: the first ndjson line arrives at once, not at the end" {
    python3 - "$FRONT/run" <<'PY' > "$BATS_TEST_TMPDIR/times" || fail "$(cat "$BATS_TEST_TMPDIR/times")"
import http.client, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
code = 'import time\nprint("first", flush=True)\ntime.sleep(1.5)\nprint("second")\n'
t0 = time.monotonic()
c.request("POST", u.path, urllib.parse.urlencode({"code": code, "format": "ndjson"}),
          {"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse()
assert r.status == 200, r.status
for line in r:
    print(f"{time.monotonic() - t0:.3f} {line.decode().strip()}")
PY
    local first last
    first=$(grep '"data":"first' "$BATS_TEST_TMPDIR/times" | cut -d' ' -f1)
    last=$(grep '"stream":"exit"' "$BATS_TEST_TMPDIR/times" | cut -d' ' -f1)
    note "ndjson through the front: first line after ${first} s, exit after ${last} s"
    [ -n "$first" ] && [ -n "$last" ] || fail "lines: $(cat "$BATS_TEST_TMPDIR/times")"
    fgt 0.8 "$first" || fail "the first line took $first s"
    fgt "$last" 1.4 || fail "exit after $last s"
}

@test "the client's address reaches the backend (X-Forwarded-For, mod_remoteip)" {
    spawn curl -s --interface 127.0.0.2 --max-time 20 -o /dev/null "$FRONT/run" \
        --data-urlencode 'code=import time; time.sleep(1.5)'
    local n found=""
    for _ in $(seq 1 40); do
        for n in 1 2 3; do
            curl -s "http://127.0.0.1:$(cat "$BALANCER/b$n/port")/pysandbox-status?json" |
                jq -e '.running[] | select(.client == "ip:127.0.0.2")' >/dev/null && found=$n
        done
        [ -n "$found" ] && break
        sleep 0.05
    done
    [ -n "$found" ] || fail "no backend saw client 127.0.0.2"
    bg_wait
}

@test "one backend full: its 503 takes it out of the front for retry= (a 503 that reaches a client has Retry-After), the others serve" {
    # The front's requests overlap (each sleeps 1 s), so that b1 is
    # elected by its busy count: three at once go to three members, as
    # bybusyness elects the member with the fewest of the front's requests
    # in flight. Quick ones did not overlap on a loaded machine; every
    # election was then a tie, which bybusyness breaks by lbstatus, and in
    # full runs b1 lost 117 of them in a row (not elected, no 503, no
    # AH01174). The rounds also used to wait for the holds (a bare wait).
    local b1 i n
    b1=$(backend_url 1)
    # b1 filled from outside the front: 2 sleepers hold its slots until
    # the front has taken it out (then their clients leave, which ends
    # them), 4 short runs wait behind them (the backends' queue timeout is
    # 30 s), so b1 stays full however long a loaded machine takes, and
    # however long a health check that came first kept it out
    for i in 1 2; do
        bg_req "$BATS_TEST_TMPDIR/d$i" "$b1/run" -d wall_time=20 --data-urlencode 'code=import time; time.sleep(19)'
    done
    local holds=("${BG_PIDS[@]: -2}")
    wait_until 5 eval "[ \"\$(curl -s '$b1/pysandbox-status?json' | jq -r .slots.running)\" = 2 ]" ||
        fail "b1's two slots not taken: $(curl -s "$b1/pysandbox-status?json")"
    for i in 3 4 5 6; do
        bg_req "$BATS_TEST_TMPDIR/d$i" "$b1/run" --data-urlencode 'code=print(1)'
    done
    wait_until 5 eval "[ \"\$(curl -s '$b1/pysandbox-status?json' | jq -r .slots.queued)\" = 4 ]" ||
        fail "b1 not full: $(curl -s "$b1/pysandbox-status?json")"
    local before1
    before1=$(served_by 1)
    # through the front, 3 at a time, until the front took b1 out (10
    # rounds at most, 10 s and more; one is enough)
    local rounds=0
    local round_pids
    for i in $(seq 1 10); do
        round_pids=()
        for n in 1 2 3; do
            curl -s --max-time 20 -D "$BATS_TEST_TMPDIR/f$i.$n.h" -o /dev/null -w '%{http_code}\n' \
                "$FRONT/run" --data-urlencode 'code=import time; time.sleep(1); print(6*7)' > "$BATS_TEST_TMPDIR/f$i.$n.c" 3>&- &
            round_pids+=($!)
        done
        # these three only: a bare wait would wait for the holds too
        wait "${round_pids[@]}"
        rounds=$i
        grep -q "AH01174" "$BALANCER/front/error.log" && break
        sleep 0.2
    done
    local codes c503 c200
    codes=$(cat "$BATS_TEST_TMPDIR"/f*.c | sort | uniq -c | tr -s ' ' | tr '\n' ',')
    c503=$(cat "$BATS_TEST_TMPDIR"/f*.c | grep -c '^503$' || true)
    c200=$(cat "$BATS_TEST_TMPDIR"/f*.c | grep -c '^200$' || true)
    note "$((rounds * 3)) requests through the front while b1 is full: $codes"
    # the holds go: b1 serves its queue
    for i in "${holds[@]}"; do kill_tree "$i"; done
    [ $((c503 + c200)) = $((rounds * 3)) ] || fail "not only 200 and 503: $codes"
    # b1 is tried again once each retry= (1 s here): a 503 a second at most
    # reaches a client; none when the front could send every one of them
    # to another member (maxattempts=2), which is what it is for, so the
    # proof that b1 said 503 is the front's log below
    [ "$c503" -le 4 ] || fail "$c503 × 503"
    for f in "$BATS_TEST_TMPDIR"/f*.c; do
        [ "$(cat "$f")" = 503 ] || continue
        grep -qiE '^Retry-After: [0-9]+' "${f%.c}.h" || fail "a 503 without Retry-After: $(cat "${f%.c}.h")"
    done
    grep -q "AH01174" "$BALANCER/front/error.log" ||
        fail "the front never took b1 out (failonstatus); b1 now: $(curl -s "$b1/pysandbox-status?json" | jq -c .slots); front: $(grep -c . "$BALANCER/front/access.log") requests logged, to b1: $(grep -c "$b1" "$BALANCER/front/access.log"); the front's view of b1 (status, elected, busy): $(curl -s "$FRONT/balancer-manager" | sed 's/<[^>]*>/ /g' | grep -F "$b1" | tr -s ' '); the front's last elections: $(grep AH10123 "$BALANCER/front/error.log" | tail -n 6 | sed 's/^.*selected/selected/'); the front's log: $(grep -v -e AH00 -e AH01 -e AH10123 "$BALANCER/front/error.log" | grep -v ':debug\]' | tail -n 6)"
    bg_wait
    for i in 3 4 5 6; do
        [ "$(cat "$BATS_TEST_TMPDIR/d$i.c")" = 200 ] || fail "direct request $i to b1: HTTP $(cat "$BATS_TEST_TMPDIR/d$i.c")"
    done
    # drained and past retry=: b1 takes requests from the front again
    sleep 1.2
    python3 "$LOADGEN" "$FRONT/run" --mix hello --clients 6 --requests 3 > "$BATS_TEST_TMPDIR/after.json"
    jq -e '.correct == .requests' "$BATS_TEST_TMPDIR/after.json" >/dev/null || fail "$(cat "$BATS_TEST_TMPDIR/after.json")"
    [ "$(served_by 1)" -gt "$before1" ] || fail "b1 served nothing from the front after it drained"
}

@test "one backend stopped under load: only its requests in flight fail (502/503); the check takes it out; restarted, it serves again" {
    local log="$BATS_TEST_TMPDIR/req.log" t_lg stopped_at
    # 9 s of load, b2 stopped after 2 s; the stop's own length (longer on a
    # loaded machine) is measured, not assumed
    t_lg=$(now)
    python3 "$LOADGEN" "$FRONT/run" --mix soak --clients 9 --duration 9 --timeout 20 \
        --log "$log" > "$BATS_TEST_TMPDIR/load.json" 3>&- &
    local lg=$!
    sleep 2
    backend_stop 2
    stopped_at=$(elapsed "$t_lg")
    local served2
    served2=$(served_by 2)
    # the health check marks it failed within its interval (1 s here)
    wait_until 3 eval "curl -s '$FRONT/balancer-manager' | grep -A12 \"127.0.0.1:$(cat "$BALANCER/b2/port")\" | grep -qE 'HcFl|Err'" ||
        fail "the front still has b2 in rotation: $(curl -s "$FRONT/balancer-manager" | sed 's/<[^>]*>/ /g' | grep -E '127.0.0.1' )"
    wait "$lg" || fail "loadgen failed"
    note "with b2 stopped at 2 s (down at ${stopped_at} s): $(jq -c '{requests, codes, correct}' "$BATS_TEST_TMPDIR/load.json")"
    # every failure is a clear 502/503, few (what b2 had in flight: its 2
    # slots and its waiters), and none once b2 had been down 1.5 s (the
    # loadgen's clock starts after ours: its times are no later)
    python3 - "$log" "$stopped_at" <<'PY' || fail "$(cat "$BATS_TEST_TMPDIR/load.json")"
import sys
rows = [l.split() for l in open(sys.argv[1])]
bad = [(float(a), float(b), int(c)) for a, b, c in rows if int(c) != 200]
print("failures:", bad, file=sys.stderr)
assert all(c in (502, 503) for _, _, c in bad), bad
assert len(bad) <= 8, bad
# requests that started 1.5 s after the stop all succeeded
late = [(float(a), int(c)) for a, b, c in rows if float(a) > float(sys.argv[2]) + 1.5]
assert late and all(c == 200 for _, c in late), [r for r in late if r[1] != 200]
PY
    # restarted: the check passes again and it takes load
    backend_start 2 || fail "b2 did not restart"
    wait_until 4 eval "! curl -s '$FRONT/balancer-manager' | grep -A12 \"127.0.0.1:$(cat "$BALANCER/b2/port")\" | grep -qE 'HcFl|Err'" ||
        fail "b2 not back in rotation"
    python3 "$LOADGEN" "$FRONT/run" --mix hello --clients 6 --requests 6 > "$BATS_TEST_TMPDIR/after.json"
    jq -e '.correct == .requests' "$BATS_TEST_TMPDIR/after.json" >/dev/null || fail "$(cat "$BATS_TEST_TMPDIR/after.json")"
    [ "$(served_by 2)" -gt "$served2" ] || fail "b2 served nothing after its restart"
}

@test "every backend down: the front answers 503 at once, never a hang; the first backend back serves" {
    local n t0 code
    for n in 1 2 3; do backend_stop "$n"; done
    t0=$(now)
    code=$(curl -s -o "$BATS_TEST_TMPDIR/down.b" -w '%{http_code}' --max-time 15 "$FRONT/run" \
        -H 'Content-Type: text/x-python' --data-binary 'print("anyone?")')
    [ "$code" = 503 ] || fail "with every backend down: $code $(cat "$BATS_TEST_TMPDIR/down.b")"
    fgt 3 "$(elapsed "$t0")" || fail "answered after $(elapsed "$t0") s"
    backend_start 3 || fail "b3 did not start"
    t0=$(now)
    until code=$(curl -s -o "$BATS_TEST_TMPDIR/back.b" -w '%{http_code}' --max-time 15 "$FRONT/run" \
            -H 'Content-Type: text/x-python' --data-binary 'print("back")') && [ "$code" = 200 ]; do
        fgt "$(elapsed "$t0")" 8 && fail "no answer from the front after b3 came back: $code"
        sleep 0.2
    done
    grep -q '^back$' "$BATS_TEST_TMPDIR/back.b" || fail "$(cat "$BATS_TEST_TMPDIR/back.b")"
    for n in 1 2; do backend_start "$n" || fail "b$n did not restart"; done
}
