#!/usr/bin/env bats
# queue_<mpm>.bats — the wait queue (DESIGN §2 "Admission", §7): requests
# that find every run slot busy wait, in arrival order, up to
# PySandboxQueueTimeout, at most PySandboxQueueSize of them, then 503 with
# a Retry-After from the drain rate; a client that leaves while waiting
# leaves the queue at once; sse says "queued" first, the other formats
# send nothing until the run starts. The launcher owns the queue, so it
# holds across every worker process of either MPM.
#
# queue_event.bats is the file, queue_prefork.bats a symlink to it; the
# MPM is the part of the file name after "queue_".

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#queue_}
case $MPM in
    event) RUN_UID_FIRST=601200 ;;
    *) RUN_UID_FIRST=601210 ;;
esac
load helpers

setup_file() {
    e2e_start "$MPM" "PySandboxMaxRuns 2
PySandboxQueueSize 4
CustomLog queue.log \"%{pysandbox-run-id}n %>s queue=%{pysandbox-queue-ms}n %{X-Who}i\"
<Location /run>
    PySandboxClientKey header X-Who
</Location>
<Location /short>
    SetHandler pysandbox
    Require all granted
    PySandboxQueueTimeout 1
</Location>
<Location /status>
    SetHandler pysandbox-status
    Require all granted
</Location>"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

has_n_runs() { [ "$(n_run_pythons)" -ge "$1" ]; }
status_json() { curl -s --max-time 5 "$URL/status?json"; }
queued_now() { status_json | jq -r .slots.queued; }
queued_is() { [ "$(queued_now)" = "$1" ]; }

# fill_slots SECONDS: both run slots taken by sleepers, for that long.
# A hold that must outlast checks whose time depends on the machine's
# speed is long (15 s) and ended with end_fill once they are done.
fill_slots() {
    local i
    FILL_PIDS=()
    for i in 1 2; do
        bg_req "$BATS_TEST_TMPDIR/fill$i.$RANDOM" "$RUN" -H "X-Who: filler" \
            --data-urlencode "code=import time; time.sleep($1)"
        FILL_PIDS+=("${BG_PIDS[-1]}")
    done
    wait_until 3 has_n_runs 2 || fail "the slots were not filled: $(run_procs)"
}

# end_fill: the fillers' connections dropped, so their runs are killed and
# the slots free (for the waiters behind them).
end_fill() {
    local p
    for p in "${FILL_PIDS[@]}"; do kill_tree "$p"; done
    for p in "${FILL_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# queue_line RUN_ID: the request's line of queue.log (written after the
# response: wait for it).
queue_line() { wait_until 3 grep -q "^$1 " "$H/queue.log" && grep "^$1 " "$H/queue.log"; }
verdicts() { status_json | jq '[.totals.verdicts[]] | add'; }

@test "[$MPM] a burst of 6 over 2 slots: every request served, none refused, the waits logged" {
    local i t0 c waited=0 ms rid
    t0=$(now)
    for i in $(seq 1 6); do
        bg_req "$BATS_TEST_TMPDIR/b$i" "$RUN" -H "X-Who: burst" -d format=json \
            --data-urlencode 'code=import time; time.sleep(1); print("ok")'
    done
    bg_wait
    note "[$MPM] 6 × 1 s over 2 slots: the last answer after $(elapsed "$t0") s"
    for i in $(seq 1 6); do
        c=$(cat "$BATS_TEST_TMPDIR/b$i.c")
        [ "$c" = 200 ] || fail "request $i: HTTP $c $(cat "$BATS_TEST_TMPDIR/b$i.b")"
        jq -e '.status == "ok"' "$BATS_TEST_TMPDIR/b$i.b" >/dev/null || fail "request $i: $(cat "$BATS_TEST_TMPDIR/b$i.b")"
        rid=$(awk 'tolower($1) == "x-pysandbox-run-id:" {print $2}' "$BATS_TEST_TMPDIR/b$i.h" | tr -d '\r')
        ms=$(queue_line "$rid" | sed -n 's/.* queue=\([0-9]*\) .*/\1/p')
        [ -n "$ms" ] || fail "no queue= for $rid: $(cat "$H/queue.log")"
        [ "$ms" -ge 300 ] && waited=$((waited + 1))
    done
    # two ran at once, two waited a round, two waited two rounds (1 s
    # rounds: a loaded machine that is slow to send the six still leaves
    # the later four waiting well over 0.3 s)
    [ "$waited" -ge 3 ] || fail "only $waited of 6 waited ≥ 0.3 s: $(cat "$H/queue.log")"
    ! grep -q ' 503 ' "$H/access.log" || fail "a 503: $(grep ' 503 ' "$H/access.log")"
}

@test "[$MPM] a request that finds a slot free logs pysandbox-queue-ms 0 (contract8)" {
    # README: "how long the request waited for a run slot; 0 when one was
    # free" (it was the ADMIT's round trip and the supervisor's fork: 1-3 ms)
    # Two at a time over the two slots, as a page and its second tab.
    local i rid ms all=""
    for i in $(seq 1 6); do
        bg_req "$BATS_TEST_TMPDIR/f$i" "$RUN" -H "X-Who: pair$i" --data-urlencode 'code=pass'
        [ $((i % 2)) = 0 ] && bg_wait
    done
    for i in $(seq 1 6); do
        [ "$(cat "$BATS_TEST_TMPDIR/f$i.c")" = 200 ] || fail "request $i: $(cat "$BATS_TEST_TMPDIR/f$i.b")"
        rid=$(awk 'tolower($1) == "x-pysandbox-run-id:" {print $2}' "$BATS_TEST_TMPDIR/f$i.h" | tr -d '\r')
        ms=$(queue_line "$rid" | sed -n 's/.* queue=\([0-9-]*\) .*/\1/p')
        all+=" $ms"
    done
    [ "$all" = " 0 0 0 0 0 0" ] || fail "queue-ms with a slot free:$all"
}

@test "[$MPM] waiters are served in arrival order (the status page lists them so)" {
    local i
    fill_slots 15
    for i in 1 2 3 4; do
        bg_req "$BATS_TEST_TMPDIR/o$i" "$RUN" -H "X-Who: w$i" \
            --data-urlencode 'code=import time; print(time.time()); time.sleep(0.3)'
        wait_until 3 queued_is "$i" || fail "waiter $i not queued: $(status_json)"
    done
    local order
    order=$(status_json | jq -r '[.queued[] | "\(.position):\(.client)"] | join(" ")')
    [ "$order" = "1:header:w1 2:header:w2 3:header:w3 4:header:w4" ] || fail "queue: $order"
    end_fill
    bg_wait
    local s
    for i in 1 2 3 4; do
        [ "$(cat "$BATS_TEST_TMPDIR/o$i.c")" = 200 ] || fail "waiter $i: HTTP $(cat "$BATS_TEST_TMPDIR/o$i.c")"
        s[$i]=$(head -n 1 "$BATS_TEST_TMPDIR/o$i.b")
    done
    # two slots: w1 and w2 start together, w3 and w4 after them
    for i in 3 4; do
        fgt "${s[$i]}" "${s[1]}" && fgt "${s[$i]}" "${s[2]}" ||
            fail "waiter $i started at ${s[$i]}, before w1 ${s[1]} or w2 ${s[2]}"
    done
}

@test "[$MPM] PySandboxQueueTimeout: 503 after the wait, with a Retry-After and the reason" {
    fill_slots 15
    local t0 secs
    t0=$(now)
    req "$URL/short" --data-urlencode 'code=print("late")'
    secs=$(elapsed "$t0")
    expect_refusal 503 'stayed busy for 1 s \(PySandboxQueueTimeout\)'
    expect_header Retry-After '^[1-9][0-9]*$'
    fgt "$secs" 0.9 && fgt 2.5 "$secs" || fail "refused after $secs s, not about 1 s"
    local rid
    rid=$(header X-PySandbox-Run-Id)
    queue_line "$rid" | grep -qE ' 503 queue=(9[0-9][0-9]|1[0-9]{3}) ' ||
        fail "queue log: $(queue_line "$rid")"
    body_lacks late
    end_fill
    bg_wait
}

@test "[$MPM] a client that leaves while waiting leaves the queue at once, and its code never runs" {
    # 4 s: still held when the leaver is queued and gone on a loaded
    # machine; they end by themselves (their verdicts are counted below)
    fill_slots 4
    local before t0 ran
    before=$(status_json | jq .totals.left_queue)
    ran=$(verdicts)
    spawn curl -s --max-time 20 -o /dev/null "$RUN" -H "X-Who: leaver" \
        --data-urlencode 'code=open("/dev/null").close(); print("never")'
    wait_until 3 queued_is 1 || fail "not queued: $(status_json)"
    kill -TERM "${BG_PIDS[-1]}"
    t0=$(now)
    wait_until 2 queued_is 0 || fail "still queued after the client left: $(status_json)"
    note "[$MPM] left the queue $(elapsed "$t0") s after the client"
    fgt 0.5 "$(elapsed "$t0")" || fail "the queue took $(elapsed "$t0") s to notice"
    [ "$(status_json | jq .totals.left_queue)" = $((before + 1)) ] || fail "left_queue: $(status_json | jq .totals)"
    grep -q 'client went away, left the queue' "$H/error.log" || fail "no log line"
    bg_wait
    wait_no_runs 5 || fail "runs left"
    # it never ran: the two fillers have verdicts, the leaver none
    [ "$(verdicts)" = $((ran + 2)) ] || fail "runs with a verdict: $ran -> $(verdicts)"
}

@test "[$MPM] waiters survive a launcher crash whose replacement comes late: they ask the next launcher and are served, none gets 503" {
    fill_slots 4
    local i lpid parent t0 secs
    for i in 1 2 3; do
        bg_req "$BATS_TEST_TMPDIR/k$i" "$RUN" -H "X-Who: w$i" -d format=json \
            --data-urlencode "code=print('served $i')"
    done
    # a fourth waiter whose client leaves while its worker tries to reach
    # the next launcher: noticed at once, not at the end of the retries
    curl -s --max-time 20 -o /dev/null "$RUN" -H "X-Who: w4" --data-urlencode "code=print('w4')" 3>&- &
    local leaver=$!
    wait_until 3 queued_is 4 || fail "4 not queued: $(status_json)"
    lpid=$(launcher_pid)
    parent=$(httpd_parent)
    local left0 reask0
    left0=$(grep -c 'client went away, left the queue' "$H/error.log" || true)
    reask0=$(grep -c 'the launcher went away while it waited; asking again' "$H/error.log" || true)
    # The parent restarts a dead launcher on its once-a-second maintenance
    # tick, after 0-1 s; held stopped, it restarts it after 2 s at least,
    # so the waiters must try to reach the next one for more than a second.
    kill -STOP "$parent"
    kill -KILL "$lpid"
    t0=$(now)
    sleep 0.5
    kill "$leaver"
    wait "$leaver" || true
    local noticed=0 left_at
    wait_until 1 eval '[ "$(grep -c "client went away, left the queue" "$H/error.log")" -gt '"$left0"' ]' &&
        noticed=1
    left_at=$(elapsed "$t0")
    sleep "$(awk -v e="$left_at" 'BEGIN{d = 2 - e; print (d > 0 ? d : 0)}')"
    kill -CONT "$parent"
    [ "$noticed" = 1 ] || fail "the leaver's worker did not notice while retrying"
    bg_wait
    secs=$(elapsed "$t0")
    note "[$MPM] launcher killed, restarted 2 s late: the waiters answered after $secs s; a leaver noticed after $left_at s"
    for i in 1 2 3; do
        [ "$(cat "$BATS_TEST_TMPDIR/k$i.c")" = 200 ] ||
            fail "waiter $i: HTTP $(cat "$BATS_TEST_TMPDIR/k$i.c") $(cat "$BATS_TEST_TMPDIR/k$i.b")"
        jq -e --arg o "served $i" '.status == "ok" and .stdout == $o + "\n"' "$BATS_TEST_TMPDIR/k$i.b" >/dev/null ||
            fail "waiter $i: $(cat "$BATS_TEST_TMPDIR/k$i.b")"
    done
    fgt "$secs" 2 || fail "answered after $secs s, before the launcher could be back"
    [ "$(grep -c 'the launcher went away while it waited; asking again' "$H/error.log")" -ge $((reask0 + 3)) ] ||
        fail "no re-ask in the error log"
    wait_until 3 eval '[ -n "$(launcher_pid)" ] && [ "$(launcher_pid)" != '"$lpid"' ]' ||
        fail "no new launcher"
}

@test "[$MPM] a hung launcher (SIGSTOP): 503 with Retry-After after about 5 s, in the format asked, never a 500; served again once it goes on" {
    local lpid t0 secs
    lpid=$(launcher_pid)
    [ -n "$lpid" ] || fail "no launcher"
    kill -STOP "$lpid"
    t0=$(now)
    bg_req "$BATS_TEST_TMPDIR/hung" "$RUN" -d format=json --data-urlencode 'code=print("hung")'
    req "$RUN" --data-urlencode 'code=print("hung")'
    secs=$(elapsed "$t0")
    bg_wait
    kill -CONT "$lpid"
    note "[$MPM] a stopped launcher: 503 after $secs s"
    [ "$(cat "$BATS_TEST_TMPDIR/hung.c")" = 503 ] ||
        fail "json: HTTP $(cat "$BATS_TEST_TMPDIR/hung.c"): $(cat "$BATS_TEST_TMPDIR/hung.b")"
    jq -e '.status == 503 and (.error | test("not answering"))' "$BATS_TEST_TMPDIR/hung.b" >/dev/null ||
        fail "json body: $(cat "$BATS_TEST_TMPDIR/hung.b")"
    grep -qi '^Retry-After: [0-9]' "$BATS_TEST_TMPDIR/hung.h" || fail "json: no Retry-After"
    expect_refusal 503 'not answering'
    expect_header Retry-After '^[0-9]+$'
    body_lacks hung
    fgt "$secs" 3 || fail "refused after $secs s: before the launcher had time to answer"
    ! fgt "$secs" 15 || fail "refused only after $secs s"
    ! grep -q '\[pysandbox:error\].*no result' "$H/error.log" || fail "logged as a run without a result"
    # the launcher answers again: served (it went on with the two ADMITs
    # whose workers left; their runs never start)
    req "$RUN" -d format=json --data-urlencode 'code=print("after")'
    expect_code 200
    expect_json '.status == "ok" and .stdout == "after\n"'
}

@test "[$MPM] PySandboxQueueSize: the fifth waiter is refused at once, Retry-After from the drain rate" {
    fill_slots 15
    local i
    for i in 1 2 3 4; do
        bg_req "$BATS_TEST_TMPDIR/q$i" "$RUN" -H "X-Who: q$i" \
            --data-urlencode 'code=import time; time.sleep(1)'
    done
    wait_until 3 queued_is 4 || fail "4 not queued: $(status_json)"
    local t0
    t0=$(now)
    req "$RUN" -H "X-Who: fifth" --data-urlencode 'code=print(5)'
    fgt 0.5 "$(elapsed "$t0")" || fail "the refusal took $(elapsed "$t0") s"
    expect_refusal 503 'the queue is full'
    # five ahead of it, runs of about a second on two slots: not 1 s
    expect_header Retry-After '^([2-9]|[1-9][0-9]+)$'
    note "[$MPM] queue full: Retry-After $(header Retry-After)"
    end_fill
    bg_wait
    for i in 1 2 3 4; do
        [ "$(cat "$BATS_TEST_TMPDIR/q$i.c")" = 200 ] || fail "waiter $i: HTTP $(cat "$BATS_TEST_TMPDIR/q$i.c")"
    done
    [ "$(status_json | jq .totals.refused.queue_full)" -ge 1 ] || fail "$(status_json | jq .totals)"
}

@test "[$MPM] sse: a queued event while waiting, then the run; ndjson and json: nothing until the run starts" {
    # 4 s: the ndjson request below is sent well before they end, on a
    # loaded machine too; they end by themselves (it waits for them)
    fill_slots 4
    local out="$BATS_TEST_TMPDIR/sse.out"
    spawn curl -sN --max-time 20 -o "$out" "$RUN" -H "X-Who: sse" -d format=sse \
        --data-urlencode 'code=print("ran")'
    wait_until 3 grep -q '^event: queued' "$out" || fail "no queued event while waiting: $(cat "$out")"
    grep -A1 '^event: queued' "$out" | grep -qE '^data: \{"position":1,"queued":1\}$' ||
        fail "queued event: $(cat "$out")"
    ! grep -q 'event: stdout' "$out" || fail "ran while waiting?"
    # ndjson waits silently: its first byte (the headers) comes with the
    # run, after the fillers' 4 s
    local nd="$BATS_TEST_TMPDIR/nd" code first
    read -r code first < <(curl -s --max-time 20 -o "$nd.b" -w '%{http_code} %{time_starttransfer}\n' \
        "$RUN" -H "X-Who: nd" -d format=ndjson --data-urlencode 'code=print("ran")')
    [ "$code" = 200 ] || fail "ndjson: HTTP $code"
    fgt "$first" 0.7 || fail "ndjson's first byte after $first s: sent while waiting?"
    [ "$(head -n 1 "$nd.b" | jq -r .stream)" = stdout ] || fail "ndjson: $(cat "$nd.b")"
    bg_wait
    # print may reach the stream as one write ("ran\n") or two ("ran", "\n")
    grep -q '^data: "ran' "$out" || fail "sse: $(cat "$out")"
    grep -q '^event: exit' "$out" || fail "sse: $(cat "$out")"
}

@test "[$MPM] sse: a wait that ends without a run ends the stream with a busy event" {
    fill_slots 15
    local out="$BATS_TEST_TMPDIR/sse2.out"
    req "$URL/short" -N -d format=sse --data-urlencode 'code=print("late")'
    expect_code 200
    grep -q '^event: queued' "$RESP_B" || fail "no queued event"
    grep -A1 '^event: busy' "$RESP_B" | sed -n 's/^data: //p' |
        jq -e '.status == 503 and .retry_after >= 1 and (.error | test("PySandboxQueueTimeout"))' >/dev/null ||
        fail "no busy event: $RESP_BODY"
    ! grep -q '^event: exit' "$RESP_B" || fail "an exit event for a run that never was"
    # ndjson: a real 503
    req "$URL/short" -d format=ndjson --data-urlencode 'code=print("late")'
    expect_code 503
    expect_header Retry-After '^[0-9]+$'
    expect_json '.status == 503'
    end_fill
    bg_wait
}

# CPU ticks (1/100 s) of the launcher and of every httpd child.
cpu_ticks() {
    local p t=0
    for p in $(launcher_pid) $(worker_pids); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

@test "[$MPM] waiting costs no CPU: four waiters for two seconds, launcher and workers nearly idle" {
    fill_slots 15
    local i t0 t1
    for i in 1 2 3 4; do
        bg_req "$BATS_TEST_TMPDIR/w$i" "$RUN" -H "X-Who: idle$i" --data-urlencode 'code=print(1)'
    done
    wait_until 3 queued_is 4 || fail "not queued: $(status_json)"
    t0=$(cpu_ticks)
    sleep 2
    t1=$(cpu_ticks)
    note "[$MPM] 4 waiters × 2 s: $((t1 - t0)) ticks of launcher and workers"
    # a busy loop would burn 200 ticks a second; allow the status request
    [ $((t1 - t0)) -le 10 ] || fail "$((t1 - t0)) ticks in 2 s of waiting"
    end_fill
    bg_wait
    for i in 1 2 3 4; do
        [ "$(cat "$BATS_TEST_TMPDIR/w$i.c")" = 200 ] || fail "waiter $i: HTTP $(cat "$BATS_TEST_TMPDIR/w$i.c")"
    done
}
