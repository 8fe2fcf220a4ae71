#!/usr/bin/env bats
# order.bats — streaming proper: events come in the order the program wrote
# them (stdout and stderr interleaved), the first event reaches the client
# while the program still runs, and the exit event is the json format's
# result without stdout/stderr.

load helpers

setup_file() { stream_setup_file; }
teardown_file() { stream_teardown_file; }

# stdout and stderr alternately, each write flushed, a pause between
# writes so that the order of arrival is the order of writing.
ALTERNATE='import sys, time
for i in range(12):
    sys.stdout.write("out %d\n" % i); sys.stdout.flush()
    time.sleep(0.04)
    sys.stderr.write("err %d\n" % i); sys.stderr.flush()
    time.sleep(0.04)'

# Adjacent events of one stream merged: the run's interleaving.
MERGED='[.[] | select(.stream != "exit")]
    | reduce .[] as $e ([]; if length > 0 and .[-1].stream == $e.stream
                             then .[-1].data += $e.data else . + [$e] end)'
WANT='[range(12) as $i | {stream: "stdout", data: "out \($i)\n"}, {stream: "stderr", data: "err \($i)\n"}]'

check_alternate() {
    local n=$1
    evcheck "$n" "$(joined stdout) == ([range(12) | \"out \\(.)\\n\"] | add)"
    evcheck "$n" "$(joined stderr) == ([range(12) | \"err \\(.)\\n\"] | add)"
    evcheck "$n" "($MERGED) == $WANT"
    evcheck "$n" '.[-1].status == "ok" and .[-1].stdout_bytes == 74 and .[-1].stderr_bytes == 74'
}

@test "${T2}ndjson: stdout and stderr events keep the program's interleaving" {
    post alt_nd ndjson "$ALTERNATE"
    events alt_nd ndjson
    check_alternate alt_nd
}

@test "${T2}sse: stdout and stderr events keep the program's interleaving" {
    post alt_ss sse "$ALTERNATE"
    events alt_ss sse
    check_alternate alt_ss
}

# 4 s: "early" reaches the client, on a loaded machine too, long before
# the sleep ends (the tests wait for it, then look)
SLOW='import time
print("early", flush=True)
time.sleep(4)
print("late")'

@test "${T2}the first event arrives before the program ends (curl -N, ndjson and sse)" {
    local t0 t_snap t1 rc_nd=0 rc_ss=0
    t0=$(now)
    curl -sS -N --max-time "$CURL_MAX" -o "$T/slow_nd.body" "$BASE/run" \
        -d format=ndjson --data-urlencode "code=$SLOW" &
    local pid_nd=$!
    curl -sS -N --max-time "$CURL_MAX" -o "$T/slow_ss.body" "$BASE/run" \
        -d format=sse --data-urlencode "code=$SLOW" &
    local pid_ss=$!
    BG_PIDS+=("$pid_nd" "$pid_ss")
    wait_for 3.5 grep -q early "$T/slow_nd.body" || true
    wait_for 3.5 grep -q early "$T/slow_ss.body" || true
    # What the client holds once "early" is there, while the program sleeps.
    cp "$T/slow_nd.body" "$T/snap_nd.body" 2>/dev/null || : >"$T/snap_nd.body"
    cp "$T/slow_ss.body" "$T/snap_ss.body" 2>/dev/null || : >"$T/snap_ss.body"
    t_snap=$(now)
    wait "$pid_nd" || rc_nd=$?
    wait "$pid_ss" || rc_ss=$?
    t1=$(now)
    [ "$rc_nd" -eq 0 ] && [ "$rc_ss" -eq 0 ] || fail "curl failed: ndjson $rc_nd, sse $rc_ss"
    fcmp "$(awk "BEGIN{print $t_snap - $t0}")" '<' 3.9 || fail "the snapshot was too late to tell"
    fcmp "$(awk "BEGIN{print $t1 - $t0}")" '>=' 3.9 || fail "the runs ended before the program's 4 s sleep"

    # The snapshots: the early output and nothing else yet.
    grep -q '^{"stream":"stdout","data":"early' "$T/snap_nd.body" \
        || { show "$T/snap_nd.body"; fail "ndjson: no stdout event at ~1 s"; }
    ! grep -q '"stream":"exit"' "$T/snap_nd.body" || fail "ndjson: exit already at ~1 s"
    ! grep -q late "$T/snap_nd.body" || fail "ndjson: late output already at ~1 s"
    grep -q '^event: stdout$' "$T/snap_ss.body" && grep -q '^data: "early' "$T/snap_ss.body" \
        || { show "$T/snap_ss.body"; fail "sse: no stdout event at ~1 s"; }
    ! grep -q '^event: exit' "$T/snap_ss.body" || fail "sse: exit already at ~1 s"

    # The whole streams are complete and well framed.
    events slow_nd ndjson
    events slow_ss sse
    for n in slow_nd slow_ss; do
        evcheck $n "$(joined stdout) == \"early\\nlate\\n\" and .[-1].status == \"ok\""
        evcheck $n '.[-1].wall_time >= 1.9'
    done
}

@test "${T2}a silent stream's headers arrive at once, before any output (ndjson and sse)" {
    # The relay flushes before it waits, not after each frame: a stream
    # that opened must be on the wire while the program is still silent.
    local fmt
    for fmt in ndjson sse; do
        curl -sS -N --max-time "$CURL_MAX" -o "$T/silent_$fmt.body" \
            -w '%{http_code} %{time_starttransfer} %{time_total}\n' "$BASE/run" -d format=$fmt \
            --data-urlencode 'code=import time; time.sleep(2); print("late")' > "$T/silent_$fmt.w" &
        BG_PIDS+=($!)
    done
    for p in "${BG_PIDS[@]}"; do wait "$p"; done
    for fmt in ndjson sse; do
        read -r code first total < "$T/silent_$fmt.w"
        [ "$code" = 200 ] || fail "$fmt: HTTP $code"
        fcmp "$total" '>=' 1.9 || fail "$fmt: the run ended before its 2 s sleep ($total s)"
        fcmp "$first" '<' 1.5 || fail "$fmt: first byte after $first s, the program was silent for 2 s"
        grep -q late "$T/silent_$fmt.body" || fail "$fmt: no output"
    done
}

@test "${T2}text output is streamed too: a flushed line before a sleep arrives early" {
    # The same promise for curl's default format, as a control that the
    # timing check above measures the module and not curl.
    curl -sS -N --max-time "$CURL_MAX" -o "$T/slow_tx.body" "$BASE/run" \
        --data-urlencode "code=$SLOW" &
    BG_PIDS+=($!)
    wait_for 3.5 grep -qx early "$T/slow_tx.body" || { show "$T/slow_tx.body"; fail "text: no early line within 3.5 s"; }
    ! grep -qx late "$T/slow_tx.body" || { show "$T/slow_tx.body"; fail "text: late already there: not streamed"; }
    wait "${BG_PIDS[0]}"
    grep -qx OK "$T/slow_tx.body" || { show "$T/slow_tx.body"; fail "text: no report"; }
}

# Fields of the exit event that must equal the json result's.
SAME='["status", "message", "exit_code", "signal", "stdout_bytes", "stderr_bytes",
       "stdout_truncated", "stderr_truncated", "limits"]'

# compare_with_json NAME CODE [CURL ARGS] — runs CODE as json, ndjson and
# sse; the exit events equal the json result on $SAME, have its keys minus
# stdout/stderr, and the streamed data joined equals its stdout/stderr.
compare_with_json() {
    local n=$1 code=$2 fmt
    shift 2
    post "${n}_js" json "$code" "$@"
    jq -e 'type == "object" and has("stdout") and has("status")' "$T/${n}_js.body" >/dev/null \
        || { show "$T/${n}_js.body"; fail "json result"; }
    for fmt in ndjson sse; do
        post "${n}_$fmt" "$fmt" "$code" "$@"
        events "${n}_$fmt" "$fmt"
        jq -n -e --slurpfile ev "$T/${n}_$fmt.ev" --slurpfile js "$T/${n}_js.body" --argjson same "$SAME" '
            ($js[0]) as $j | ($ev | map(select(.stream == "exit"))[0]) as $x
            | all($same[]; . as $k | $x[$k] == $j[$k])
              and ($x | del(.stream) | keys) == ($j | del(.stdout, .stderr) | keys)
              and ([$ev[] | select(.stream == "stdout") | .data] | add // "") == $j.stdout
              and ([$ev[] | select(.stream == "stderr") | .data] | add // "") == $j.stderr
              and $x.run_id != $j.run_id' >/dev/null || {
            echo "--- json:" >&2; jq -c '.stdout |= .[:300] | .stderr |= .[:300]' "$T/${n}_js.body" >&2
            echo "--- $fmt events:" >&2; jq -c 'if .data then .data |= .[:300] else . end' "$T/${n}_$fmt.ev" >&2
            fail "$n: the $fmt exit event differs from the json result"
            return 1
        }
    done
}

@test "${T2}exit event == json result (ok, both streams, non-ASCII and a bad byte)" {
    compare_with_json ok 'import sys
print("hello é ✓")
sys.stdout.flush()
sys.stdout.buffer.write(b"raw \xff byte\n")
print("warn", file=sys.stderr)'
    evcheck ok_ndjson '.[-1].status == "ok" and .[-1].stdout_bytes == 24 and .[-1].stderr_bytes == 5'
}

@test "${T2}exit event == json result (nonzero_exit with a traceback)" {
    compare_with_json nz 'print("before")
raise ValueError("boom")'
    evcheck nz_sse '.[-1].status == "nonzero_exit" and .[-1].exit_code == 1'
    evcheck nz_sse "$(joined stderr) | test(\"ValueError: boom\")"
}

@test "${T2}exit event == json result (sys.exit(3))" {
    compare_with_json ex 'import sys; print("bye"); sys.exit(3)'
    evcheck ex_ndjson '.[-1] | .status == "nonzero_exit" and .exit_code == 3 and .signal == null'
}

@test "${T2}exit event == json result (killed by a signal)" {
    compare_with_json sg 'import os; print("x", flush=True); os.kill(os.getpid(), 9)'
    evcheck sg_ndjson '.[-1] | .status == "signal" and .signal == "SIGKILL" and .exit_code == null'
}

@test "${T2}exit event == json result (output_limit, with asked-for limits)" {
    # The program outlives the cap (it sleeps), so the kill is certain and
    # exit_code/signal do not depend on who was faster.
    compare_with_json ol 'import time
print("y" * 500, flush=True)
time.sleep(5)' -d output=100 -d cpu_time=3 -d memory=128M
    evcheck ol_sse '.[-1] | .status == "output_limit" and .stdout_truncated == true and .stdout_bytes == 100'
    evcheck ol_sse '.[-1] | .signal == "SIGKILL" and .exit_code == null and .wall_time < 4'
    evcheck ol_sse '.[-1].limits | .output == 100 and .cpu_time == 3 and .memory == 134217728'
}

@test "${T2}exit event == json result (stdin given, read back)" {
    compare_with_json in 'import sys; data = sys.stdin.read(); print(len(data), data.upper(), end="")' \
        --data-urlencode $'stdin=abc\ndef\n'
    evcheck in_ndjson "$(joined stdout) == \"8 ABC\\nDEF\\n\""
}
