#!/usr/bin/env bats
# status.bats — SetHandler pysandbox-status: runs in flight and waiting
# (client, age, run id, never code), totals by verdict, 503/429 counts,
# queue wait and run wall percentiles, launcher pid, uptime, restarts; as
# HTML, ?json and Prometheus text (?metrics or Accept: text/plain;
# version=0.0.4), ?health; a section in mod_status's server-status; the
# counters kept across a graceful restart and a killed launcher, the file
# that keeps them removed at stop. The last tests stop the server.

RUN_UID_FIRST=601230
load helpers

setup_file() {
    e2e_start event "PySandboxMaxRuns 2
LoadModule status_module /usr/lib/apache2/modules/mod_status.so
<Location /status>
    SetHandler pysandbox-status
    Require all granted
</Location>
<Location /server-status>
    SetHandler server-status
    Require all granted
</Location>
<Location /nowait>
    SetHandler pysandbox
    Require all granted
    PySandboxQueueTimeout 0
</Location>
<Location /share>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxRunsPerClient 1
</Location>"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

has_n_runs() { [ "$(n_run_pythons)" -ge "$1" ]; }
json() { curl -s --max-time 5 "$URL/status?json"; }
stats_files() { ls "$H"/run/pysandbox.*.stats 2>/dev/null || true; }

@test "?json: runs in flight and waiting with client, age and run id, never their code" {
    local i
    # the two running hold their slots for 6 s, past every check below on
    # a loaded machine; the third, queued once they run, is short
    for i in 1 2; do
        bg_req "$BATS_TEST_TMPDIR/r$i" "$RUN" \
            --data-urlencode 'code=SECRET_MARKER_7f3 = 1
import time; time.sleep(6)'
    done
    wait_until 3 has_n_runs 2 || fail "runs did not start"
    bg_req "$BATS_TEST_TMPDIR/r3" "$RUN" --data-urlencode 'code=SECRET_MARKER_7f3 = 1'
    wait_until 3 eval '[ "$(json | jq .slots.queued)" = 1 ]' || fail "no waiter: $(json)"
    req "$URL/status?json"
    expect_code 200
    expect_header Content-Type '^application/json'
    expect_header Cache-Control 'no-store'
    expect_json '.version == 1 and .slots.max_runs == 2 and .slots.running == 2 and .slots.queued == 1'
    expect_json '[.running[] | select(.client == "ip:127.0.0.1" and .age_ms >= 0 and .pid > 0 and .uid >= '"$RUN_UID_FIRST"')] | length == 2'
    expect_json '.queued[0].position == 1 and .queued[0].client == "ip:127.0.0.1" and (.queued[0].run_id | test("^[0-9a-f-]{36}$"))'
    expect_json '.launcher.pid == '"$(launcher_pid)"' and .launcher.starts >= 1 and .server.uptime_s >= 0'
    # fork servers: one, the default key's, which the launcher starts
    # before it listens (the warm pass's /run runs on it; in the cold pass
    # it waits unused); warm_event.bats has their states and restarts
    local fs; fs=$(pysb_procs pysb-forkserver)
    [ "$(wc -w <<<"$fs")" = 1 ] || fail "not one fork server: $fs"
    expect_json '.fork_servers | length == 1 and .[0].state == "ready" and .[0].pid == '"$fs"' and .[0].argv == ["/usr/bin/python3", "-I", "-S"] and .[0].preload == [] and .[0].restarts == 0'
    body_lacks SECRET_MARKER_7f3
    local rid
    rid=$(jq -r '.running[0].run_id' "$RESP_B")
    # the same in HTML, escaped, and the code nowhere either
    req "$URL/status"
    expect_code 200
    expect_header Content-Type '^text/html'
    body_has "mod_pysandbox status"
    body_has "$rid"
    body_has "<td>ip:127.0.0.1</td>"
    body_lacks SECRET_MARKER_7f3
    req "$URL/status?metrics"
    body_lacks SECRET_MARKER_7f3
    body_lacks "$rid"
    bg_wait
    for i in 1 2 3; do
        [ "$(cat "$BATS_TEST_TMPDIR/r$i.c")" = 200 ] || fail "run $i: HTTP $(cat "$BATS_TEST_TMPDIR/r$i.c")"
    done
}

@test "totals by verdict, 503 and 429 counts, queue wait and run wall percentiles" {
    local before
    before=$(json)
    req "$RUN" --data-urlencode 'code=print(1)'
    req "$RUN" --data-urlencode 'code=raise SystemExit(3)'
    # a 503: both slots held, and this Location does not wait
    local i
    for i in 1 2; do
        bg_req "$BATS_TEST_TMPDIR/h$i" "$URL/share" -H "X-Forwarded-For: x" \
            --data-urlencode 'code=import time; time.sleep(3)'
        sleep 0.1
    done
    wait_until 3 has_n_runs 1 || fail "runs did not start"
    req "$URL/nowait" --data-urlencode 'code=print(2)'
    # a 429: one run of this client at /share, one waiting: a third is over its share
    wait_until 3 eval '[ "$(json | jq .slots.queued)" -ge 1 ]' || true
    req "$URL/share" --data-urlencode 'code=print(3)'
    expect_code 429
    expect_header Retry-After '^[1-9][0-9]*$'
    body_has "PySandboxMaxRunsPerClient"
    bg_wait
    wait_no_runs 5
    req "$URL/status?json"
    jq -n --argjson a "$before" --argjson b "$(cat "$RESP_B")" '
        ($b.totals.verdicts.ok - $a.totals.verdicts.ok) >= 3 and
        ($b.totals.verdicts.nonzero_exit - $a.totals.verdicts.nonzero_exit) == 1 and
        ($b.totals."503" - $a.totals."503") == 1 and ($b.totals.refused.slots - $a.totals.refused.slots) == 1 and
        ($b.totals."429" - $a.totals."429") == 1 and
        $b.queue_wait_ms.count > $a.queue_wait_ms.count and $b.queue_wait_ms.p99 >= $b.queue_wait_ms.p50 and
        $b.run_wall_ms.p50 > 0 and $b.run_wall_ms.p99 >= 900 and
        ([$b.run_wall_ms.buckets[][1]] | add) == $b.run_wall_ms.count' >/dev/null ||
        fail "totals: $(jq -c '{totals, q: .queue_wait_ms.p99, w: .run_wall_ms.p99}' "$RESP_B")"
}

@test "Prometheus text: ?metrics and Accept: text/plain; version=0.0.4, well-formed" {
    req "$URL/status?metrics"
    expect_code 200
    expect_header Content-Type '^text/plain; version=0\.0\.4'
    python3 - "$RESP_B" <<'PY' || fail "not well-formed: $(head -c 600 "$RESP_B")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
typed, seen = {}, set()
sample = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{([a-z_]+="[^"\\]*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')
buckets = {}
for l in lines:
    if l.startswith("# TYPE "):
        _, _, name, t = l.split(" ", 3)
        assert name not in typed, "TYPE twice: " + name
        typed[name] = t
        continue
    if l.startswith("# HELP "):
        continue
    m = sample.match(l)
    assert m, "bad line: " + l
    name = m.group(1)
    base = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
    assert base in typed, "no TYPE for " + name
    seen.add(base)
    if name.endswith("_bucket"):
        le = re.search(r'le="([^"]+)"', l).group(1)
        buckets.setdefault(base, []).append((le, float(m.group(4))))
for b, v in buckets.items():
    counts = [c for _, c in v]
    assert counts == sorted(counts), "buckets not cumulative: " + b
    assert v[-1][0] == "+Inf", "no +Inf bucket: " + b
    count = [l for l in lines if l.startswith(b + "_count ")][0]
    assert float(count.split()[1]) == v[-1][1], "+Inf != _count: " + b
for need in ("pysandbox_up", "pysandbox_runs_total", "pysandbox_refused_total",
             "pysandbox_runs_in_flight", "pysandbox_queue_length",
             "pysandbox_queue_wait_seconds", "pysandbox_run_wall_seconds",
             "pysandbox_launcher_restarts_total"):
    assert need in seen, "missing " + need
assert typed["pysandbox_queue_wait_seconds"] == "histogram"
assert typed["pysandbox_runs_total"] == "counter"
PY
    grep -qx 'pysandbox_up 1' "$RESP_B" || fail "not up"
    grep -qE '^pysandbox_runs_total\{status="ok"\} [1-9]' "$RESP_B" || fail "no ok runs"
    grep -qE '^pysandbox_refused_total\{reason="client_limit",code="429"\} [1-9]' "$RESP_B" || fail "no 429"
    # pids and Unix times exactly as ?json has them (%g once printed a
    # start time as 1.79615e+09)
    local metrics="$BATS_TEST_TMPDIR/metrics"
    cp "$RESP_B" "$metrics"
    req "$URL/status?json"
    local started lstarted lpid
    started=$(jq -r .server.started "$RESP_B")
    lstarted=$(jq -r .launcher.started "$RESP_B")
    lpid=$(jq -r .launcher.pid "$RESP_B")
    grep -qx "pysandbox_start_time_seconds $started" "$metrics" ||
        fail "start time: json $started, metrics $(grep '^pysandbox_start_time_seconds' "$metrics")"
    grep -qx "pysandbox_launcher_start_time_seconds $lstarted" "$metrics" ||
        fail "launcher start: json $lstarted, metrics $(grep '^pysandbox_launcher_start_time_seconds' "$metrics")"
    grep -qx "pysandbox_launcher_pid $lpid" "$metrics" ||
        fail "launcher pid: json $lpid, metrics $(grep '^pysandbox_launcher_pid' "$metrics")"
    # the same by content negotiation, as Prometheus asks
    req "$URL/status" -H 'Accept: text/plain;version=0.0.4;q=0.3,*/*;q=0.1'
    expect_header Content-Type '^text/plain; version=0\.0\.4'
    grep -qx 'pysandbox_up 1' "$RESP_B" || fail "Accept did not give metrics"
    # other methods: 405
    req -X POST "$URL/status"
    expect_code 405
    expect_header Allow '^GET, HEAD$'
    # the module's one line, not httpd's page (contract9 N4)
    [ "$(cat "$RESP_B")" = "pysandbox-status: POST is not allowed here (GET or HEAD)" ] ||
        fail "the 405's body: $(head -c 300 "$RESP_B")"
}

@test "mod_status: a mod_pysandbox section in server-status, and lines in ?auto" {
    req "$URL/server-status"
    expect_code 200
    body_has "<h2>mod_pysandbox</h2>"
    grep -qE 'of 2 run slots in use' "$RESP_B" || fail "no slots line: $(grep -A2 mod_pysandbox "$RESP_B")"
    req "$URL/server-status?auto"
    expect_code 200
    grep -qx 'PySandboxUp: 1' "$RESP_B" || fail "?auto: $(grep PySandbox "$RESP_B")"
    grep -qE '^PySandboxSlots: 2$' "$RESP_B" || fail "?auto: $(grep PySandbox "$RESP_B")"
    grep -qE '^PySandbox429: [1-9]' "$RESP_B" || fail "?auto: $(grep PySandbox "$RESP_B")"
}

@test "counters survive a graceful restart and a killed launcher; restarts counted" {
    local a b c lpid
    a=$(json)
    "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "graceful failed"
    wait_until 5 eval '[ "$(json | jq .launcher.pid)" != "$(jq .launcher.pid <<<"$a")" ] && [ "$(json | jq .launcher.pid)" != null ]' ||
        fail "no new launcher: $(json)"
    req "$RUN" --data-urlencode 'code=print(1)'
    expect_code 200
    b=$(json)
    jq -n --argjson a "$a" --argjson b "$b" '
        $b.totals.verdicts.ok == $a.totals.verdicts.ok + 1 and $b.totals."429" == $a.totals."429" and
        $b.server.started == $a.server.started and $b.launcher.starts == $a.launcher.starts + 1 and
        $b.launcher.restarts == $a.launcher.restarts and
        $b.run_wall_ms.count == $a.run_wall_ms.count + 1' >/dev/null ||
        fail "after a graceful restart: $(jq -c '[.totals.verdicts.ok, .launcher]' <<<"$a") -> $(jq -c '[.totals.verdicts.ok, .launcher]' <<<"$b")"
    lpid=$(jq .launcher.pid <<<"$b")
    kill -KILL "$lpid"
    wait_until 5 eval '[ "$(json | jq .launcher.restarts)" = "$(($(jq .launcher.restarts <<<"$b") + 1))" ]' ||
        fail "restart not counted: $(json | jq -c .launcher)"
    c=$(json)
    [ "$(jq .totals.verdicts.ok <<<"$c")" = "$(jq .totals.verdicts.ok <<<"$b")" ] || fail "counts lost"
    [ "$(jq .launcher.pid <<<"$c")" = "$(launcher_pid)" ] || fail "pid $(jq .launcher.pid <<<"$c") vs $(launcher_pid)"
}

@test "?health: ok while the launcher answers; 503 (and up 0 in metrics) while it cannot" {
    req "$URL/status?health"
    expect_code 200
    [ "$RESP_BODY" = ok ] || fail "health: $RESP_BODY"
    local sock
    sock=$(socket_files)
    mv "$sock" "$sock.away"
    req "$URL/status?health"
    local health=$HTTP_CODE hbody=$RESP_BODY
    req "$URL/status?metrics"
    local mcode=$HTTP_CODE
    grep -qx 'pysandbox_up 0' "$RESP_B"
    local up0=$?
    req "$URL/status?json"
    local jcode=$HTTP_CODE
    mv "$sock.away" "$sock"
    [ "$health" = 503 ] || fail "health while away: $health $hbody"
    [[ $hbody == unavailable* ]] || fail "health body: $hbody"
    [ "$mcode" = 200 ] && [ "$up0" = 0 ] || fail "metrics while away: $mcode, up 0: $up0"
    [ "$jcode" = 503 ] || fail "json while away: $jcode"
    req "$URL/status?health"
    expect_code 200
}

@test "?health stays ok through a graceful restart: the page waits for the new launcher as a run does (contract8)" {
    # A graceful restart replaces the launcher; until the new one listens
    # (a few hundred ms) a run's request tries to reach it for a second and
    # is served. A health check in that gap must not say 503: the
    # balancer's hcfails=1 would take a working member out of rotation.
    local g code bad=""
    for g in 1 2 3; do
        "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "graceful failed"
        for _ in $(seq 1 20); do
            code=$(curl -q -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/status?health")
            [ "$code" = 200 ] || bad+=" $g:$code"
            sleep 0.02
        done
        sleep 1
    done
    [ -z "$bad" ] || fail "?health answered other than 200 after a graceful restart:$bad"
}

@test "the 503s the workers answer alone (no launcher to reach) are counted as unavailable, in json, metrics and HTML, and survive a graceful restart" {
    local a b sock code
    a=$(json)
    sock=$(socket_files)
    mv "$sock" "$sock.away"
    req "$RUN" -d format=json --data-urlencode 'code=print(1)'
    code=$HTTP_CODE
    mv "$sock.away" "$sock"
    [ "$code" = 503 ] || fail "without a launcher socket: HTTP $code"
    b=$(json)
    jq -n --argjson a "$a" --argjson b "$b" '
        $b.totals.refused.unavailable == ($a.totals.refused.unavailable // 0) + 1 and
        $b.totals."503" == $a.totals."503" + 1' >/dev/null ||
        fail "not counted: $(jq -c .totals <<<"$a") -> $(jq -c .totals <<<"$b")"
    local n; n=$(jq .totals.refused.unavailable <<<"$b")
    req "$URL/status?metrics"
    grep -qx "pysandbox_refused_total{reason=\"unavailable\",code=\"503\"} $n" "$RESP_B" ||
        fail "metrics: $(grep refused "$RESP_B")"
    req "$URL/status"
    body_has "$n the launcher unavailable"
    "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "graceful failed"
    wait_until 5 eval '[ "$(json | jq .launcher.pid)" != "$(jq .launcher.pid <<<"$b")" ] && [ "$(json | jq .launcher.pid)" != null ]' ||
        fail "no new launcher: $(json)"
    [ "$(json | jq .totals.refused.unavailable)" = "$n" ] || fail "lost on a graceful restart: $(json | jq -c .totals)"
}

@test "stop removes the stats file (a new httpd starts its counters afresh)" {
    [ -n "$(stats_files)" ] || fail "no stats file while running"
    [ "$(stat -c '%a %U' "$(stats_files)")" = "600 root" ] || fail "stats file: $(stat -c '%a %U' "$(stats_files)")"
    "$HTTPD_SH" stop "$H" 3>&- >/dev/null 2>&1
    wait_until 5 eval '[ -z "$(stats_files)" ]' || fail "left: $(stats_files)"
}
