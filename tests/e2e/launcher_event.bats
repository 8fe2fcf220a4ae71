#!/usr/bin/env bats
# launcher_<mpm>.bats — the launcher's life (DESIGN §2): unreachable socket,
# kill -9 with runs in flight, graceful restart with a run in flight, stop.
# The tests run in order against one httpd; the last ones stop it.
#
# launcher_event.bats is the file, launcher_prefork.bats a symlink to it;
# the MPM is the part of the file name after "launcher_".

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#launcher_}
case $MPM in
    event) RUN_UID_FIRST=601020 ;;
    prefork) RUN_UID_FIRST=601030 ;;
    *) RUN_UID_FIRST=601050 ;;
esac
load helpers

setup_file() {
    e2e_start "$MPM"
    export RUN="$URL/run"
    LAUNCHER0=$(launcher_pid)
    export LAUNCHER0
}

teardown_file() { e2e_stop; }

# bg_req PREFIX CURL_ARGS…: a request in the background; the body goes to
# PREFIX.b, the HTTP status (000 if curl failed) to PREFIX.c.
bg_req() {
    local p=$1
    shift
    # exec: the pid kept is curl's own, so killing it drops the connection
    { exec curl -s --max-time 20 -o "$p.b" -w '%{http_code}' "$@" > "$p.c"; } 3>&- &
    BG_PIDS+=("$!")
}

has_n_runs() { [ "$(n_run_pythons)" -ge "$1" ]; }
no_run_procs() { [ -z "$(run_procs)" ]; }
one_launcher() { [ "$(pysb_procs pysb-launcher | wc -l)" = 1 ]; }

# hello_ok: one hello request answered 200 ok.
hello_ok() {
    REQ_MAX=5 req "$RUN" -d format=json --data-urlencode 'code=print("hello")'
    [ "$HTTP_CODE" = 200 ] && jq -e '.status == "ok" and .stdout == "hello\n"' "$RESP_B" >/dev/null
}

@test "[$MPM] the launcher: a child of the httpd parent, root, listening on a 0600 socket of the User" {
    local lpid sock
    lpid=$(launcher_pid)
    [ -n "$lpid" ] || fail "no pysb-launcher child of $(httpd_parent)"
    [ "$(ps -o user= -p "$lpid")" = root ] || fail "launcher not root"
    sock=$(socket_files)
    [ "$(wc -w <<<"$sock")" = 1 ] || fail "socket files: $sock"
    [ "$(stat -c '%a %U' "$sock")" = "600 www-data" ] || fail "socket mode/owner: $(stat -c '%a %U' "$sock")"
    hello_ok || fail "hello"
}

@test "[$MPM] 503 with Retry-After while the launcher's socket is unreachable" {
    local sock t0
    sock=$(socket_files)
    [ -n "$sock" ] || fail "no socket"
    mv "$sock" "$sock.away"
    t0=$(now)
    req "$RUN" --data-urlencode 'code=print("hello")'
    mv "$sock.away" "$sock"
    expect_refusal 503 'unavailable'
    expect_header Retry-After '^[0-9]+$'
    note "[$MPM] 503 after $(elapsed "$t0") s of retrying"
    mv "$sock" "$sock.away"
    req "$RUN" -d format=json --data-urlencode 'code=print("hello")'
    mv "$sock.away" "$sock"
    expect_code 503
    expect_run_id
    expect_header Retry-After '^[0-9]+$'
    expect_json '.status == 503 and (.error | test("unavailable"))'
    grep -q ' 503 [0-9]* unavailable ' "$H/access.log" || fail "access log has no 503 ... unavailable line"
    # back in place: served again
    hello_ok || fail "not served once the socket is back"
}

@test "[$MPM] kill -9 of the launcher: runs in flight end cleanly, new runs served within 2 s" {
    local lpid t0 t_ok i n=3 out
    lpid=$(launcher_pid)
    for i in $(seq 1 $n); do
        bg_req "$BATS_TEST_TMPDIR/inflight.$i" "$RUN" -d format=json \
            --data-urlencode 'code=import time; time.sleep(1); print("done")'
    done
    wait_until 3 has_n_runs "$n" || fail "the $n runs did not start: $(run_procs)"
    local sups
    sups=$(pysb_procs pysb-run)
    [ "$(wc -w <<<"$sups")" = "$n" ] || fail "supervisors: $sups"
    kill -KILL "$lpid"
    t0=$(now)
    until hello_ok; do
        fgt "$(elapsed "$t0")" 4 && break
        sleep 0.05
    done
    t_ok=$(elapsed "$t0")
    note "[$MPM] kill -9 of the launcher -> first 200 after ${t_ok} s"
    hello_ok || fail "no run served 4 s after the launcher was killed"
    fgt 2 "$t_ok" || fail "first new run served only after ${t_ok} s"
    # the runs in flight: each answered, 200 with its result or a clean error
    local bad="" c
    for i in "${BG_PIDS[@]}"; do wait "$i" || true; done
    for i in $(seq 1 $n); do
        out="$BATS_TEST_TMPDIR/inflight.$i"
        c=$(cat "$out.c")
        case $c in
        200) jq -e '(.status == "ok" and .stdout == "done\n") or .status == "internal_error"' "$out.b" >/dev/null ||
                 bad+=" #$i:200:$(head -c 300 "$out.b")" ;;
        500|503) ;;
        *) bad+=" #$i:HTTP-$c" ;;
        esac
        note "[$MPM] run in flight #$i: HTTP $c $(jq -r .status "$out.b" 2>/dev/null)"
    done
    [ -z "$bad" ] || fail "runs in flight:$bad"
    local lnew
    lnew=$(launcher_pid)
    [ -n "$lnew" ] && [ "$lnew" != "$lpid" ] || fail "launcher $lpid -> '$lnew'"
    wait_until 2 proc_gone "$lpid" || fail "the killed launcher $lpid is still there"
    one_launcher || fail "launchers: $(pysb_procs pysb-launcher)"
    grep -q "launcher $lpid ended.*restarting" "$H/error.log" || fail "no restart in the error log"
    wait_no_runs 5 || fail "run processes left"
    [ -z "$(zombies)" ] || fail "zombies: $(zombies)"
    # the orphaned supervisors were reaped (by the httpd parent, their
    # subreaper), not left as zombies of an init that may never reap them
    local p left=""
    for p in $sups; do
        wait_until 3 eval "! ps -p $p >/dev/null" || left+=" $(ps -o pid=,ppid=,stat=,comm= -p "$p")"
    done
    [ -z "$left" ] || fail "supervisors of the killed launcher not reaped:$left"
}

@test "[$MPM] graceful restart with a run in flight: new runs are served while it runs; it completes with its output" {
    local lpid parent out="$BATS_TEST_TMPDIR/graceful.out" t0 t_ok
    lpid=$(launcher_pid)
    parent=$(httpd_parent)
    : > "$out"
    spawn curl -sN --max-time 30 -o "$out" "$RUN" \
        --data-urlencode 'code=import time; print("before", flush=True); time.sleep(8); print("after")'
    wait_until 3 grep -q before "$out" || fail "the run did not start"
    "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "apache2 -k graceful failed"
    t0=$(now)
    # the old launcher goes, a new one comes
    wait_until 3 eval '[ -n "$(launcher_pid)" ] && [ "$(launcher_pid)" != "$lpid" ]' ||
        fail "no new launcher after the graceful restart"
    # The new generation serves at once, not when the old one's runs are
    # over (its launcher once waited for them, in flock on the stats file,
    # and every request meanwhile got 503): a new run ends while the old
    # one still sleeps.
    until hello_ok; do
        fgt "$(elapsed "$t0")" 6 && break
        sleep 0.05
    done
    t_ok=$(elapsed "$t0")
    hello_ok || fail "no run served after the graceful restart"
    ! grep -q after "$out" || fail "the first new run came only after the old generation's run ended (${t_ok} s)"
    note "[$MPM] graceful restart -> first 200 after ${t_ok} s, the old run still in flight"
    wait "${BG_PIDS[0]}" || fail "the run in flight failed (curl $?)"
    [ "$(head -n 2 "$out")" = $'before\nafter' ] || fail "output of the run in flight: $(cat "$out")"
    RESP_B=$out expect_text_report OK
    [ "$(httpd_parent)" = "$parent" ] || fail "the parent changed"
    wait_until 2 one_launcher || fail "launchers: $(pysb_procs pysb-launcher)"
    wait_until 2 proc_gone "$lpid" || fail "the old launcher $lpid is still there"
    wait_no_runs 5 || fail "run processes left"
    [ -z "$(zombies)" ] || fail "zombies: $(zombies)"
    ! ps -p "$lpid" >/dev/null || fail "the old launcher $lpid was not reaped"
    # the old launcher and its supervisor are reaped as known children,
    # without AH00488 (event) / AH00167 (prefork)
    sleep 1.2
    ! grep -q 'long lost child came home' "$H/error.log" ||
        fail "$(grep 'long lost child' "$H/error.log")"
}

@test "[$MPM] stop with a run in flight: no launcher, supervisor, run process or parent is left" {
    local parent lpid t0 secs
    parent=$(httpd_parent)
    lpid=$(launcher_pid)
    spawn curl -s --max-time 30 -o /dev/null "$RUN" --data-urlencode 'code=import time; time.sleep(30)'
    wait_until 3 has_n_runs 1 || fail "the run did not start"
    [ -n "$(pysb_procs pysb-run)" ] || fail "no supervisor seen (the check would prove nothing)"
    # what scripts/httpd.sh stop does, without its SIGKILL after 10 s
    t0=$(now)
    kill -TERM "$parent"
    wait_until 20 parent_gone "$parent" || fail "the parent still runs 20 s after SIGTERM"
    secs=$(elapsed "$t0")
    echo "$secs" > "$H/stop-secs"
    note "[$MPM] stop with a run in flight took $secs s"
    wait_until 3 no_httpd_procs || fail "left after stop: $(list_httpd_procs)"
    wait_until 2 proc_gone "$lpid" || fail "the launcher $lpid still runs"
    wait "${BG_PIDS[0]}" || true
}

@test "[$MPM] stop with a run in flight is prompt (under 3 s)" {
    [ -s "$H/stop-secs" ] || skip "the stop test did not run"
    fgt 3 "$(cat "$H/stop-secs")" || fail "stop took $(cat "$H/stop-secs") s"
}

@test "[$MPM] stop: the socket file is removed and the parent exits cleanly" {
    [ -z "$(socket_files)" ] || fail "socket left: $(socket_files)"
}
