#!/usr/bin/env bats
# prefork.bats — the streaming promises again under the prefork MPM (the
# other files use event): framing, interleaving, early first event, a
# character cut between writes, a big line.

MPM=prefork
load helpers

setup_file() { stream_setup_file; }
teardown_file() { stream_teardown_file; }

@test "prefork: ndjson and sse framing, stdout/stderr interleaving kept" {
    local code='import sys, time
for i in range(6):
    sys.stdout.write("o%d\n" % i); sys.stdout.flush(); time.sleep(0.04)
    sys.stderr.write("e%d\n" % i); sys.stderr.flush(); time.sleep(0.04)'
    local merged='[.[] | select(.stream != "exit")]
        | reduce .[] as $e ([]; if length > 0 and .[-1].stream == $e.stream
                                 then .[-1].data += $e.data else . + [$e] end)'
    local want='[range(6) as $i | {stream: "stdout", data: "o\($i)\n"}, {stream: "stderr", data: "e\($i)\n"}]'
    post p_nd ndjson "$code"
    events p_nd ndjson
    evcheck p_nd "($merged) == $want and .[-1].status == \"ok\""
    post p_ss sse "$code"
    events p_ss sse
    evcheck p_ss "($merged) == $want and .[-1].status == \"ok\""
}

@test "prefork: the first event arrives while the program sleeps" {
    curl -sS -N --max-time "$CURL_MAX" -o "$T/pf.body" "$BASE/run" -d format=sse \
        --data-urlencode 'code=import time
print("early", flush=True)
time.sleep(4)
print("late")' &
    BG_PIDS+=($!)
    # looked at once the early event is there (4 s before the late one)
    wait_for 3.5 grep -q '^data: "early' "$T/pf.body" || true
    cp "$T/pf.body" "$T/pf_snap.body" 2>/dev/null || : >"$T/pf_snap.body"
    wait "${BG_PIDS[0]}"
    grep -q '^data: "early' "$T/pf_snap.body" || { show "$T/pf_snap.body"; fail "no early event within 3.5 s"; }
    ! grep -q '^event: exit' "$T/pf_snap.body" || fail "exit already there with the early event"
    events pf sse
    evcheck pf "$(joined stdout) == \"early\\nlate\\n\""
}

@test "prefork: a character cut between writes arrives whole; 1 MiB line complete" {
    post pe ndjson 'import sys, time
sys.stdout.buffer.write(b"\xe2\x82"); sys.stdout.flush(); time.sleep(0.3)
sys.stdout.buffer.write(b"\xac")'
    events pe ndjson
    evcheck pe "$(joined stdout) == \"€\""
    post pb sse 'print("0123456789abcdef" * 65536)' -d output=4M
    events pb sse
    evcheck pb "$(joined stdout) == (\"0123456789abcdef\" * 65536 + \"\\n\") and .[-1].stdout_bytes == 1048577"
}
