#!/usr/bin/env bats
# verdicts.bats — over HTTP, through the launcher's supervisors: verdicts
# come from what the supervisor and the kernel saw (issue 8, point 4): a
# forged memory verdict is not believed, a fractional CPU limit bites at
# the fraction, a memory bomb is memory_limit.

RUN_UID_FIRST=606200
load helpers

setup_file() {
    # /hidden: every run is an internal_error (its read-only path is under
    # the scratch's /tmp, which would hide it)
    e2e_start event "<Location /hidden>
    SetHandler pysandbox
    Require all granted
    PySandboxReadOnlyPath /tmp
</Location>"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

@test "over HTTP: MemoryError on stderr then exit 1 is nonzero_exit; a real bomb is memory_limit" {
    req "$RUN" -d format=json --data-urlencode $'code=import sys\nsys.stderr.write("MemoryError\\n")\nsys.exit(1)'
    expect_code 200
    expect_json '.status == "nonzero_exit" and .exit_code == 1'
    req "$RUN" -d format=json -d memory=64M --data-urlencode $'code=a = []\nwhile True: a.append(bytearray(10**6))'
    expect_code 200
    expect_json '.status == "memory_limit" and .message == "Memory Limit Exceeded"'
}

@test "over HTTP: cpu_time=0.3 stops a busy loop within 50 ms of 0.3 s, with 4 threads too" {
    local threads
    for threads in 1 4; do
        req "$RUN" -d format=json -d cpu_time=0.3 --data-urlencode "code=import threading
def spin():
    while True:
        pass
for _ in range($threads - 1):
    threading.Thread(target=spin, daemon=True).start()
spin()"
        expect_code 200
        expect_json '.status == "cpu_limit" and .cpu_time >= 0.25 and .cpu_time <= 0.35'
        note "$threads thread(s): cpu_time $(jq .cpu_time "$RESP_B")"
    done
}

@test "over HTTP: an internal_error is a run's verdict, 200 in json, ndjson, sse and text alike, its reason in the result and the error log" {
    req "$URL/hidden" -d format=json --data-urlencode 'code=print("never")'
    expect_code 200
    expect_json '.status == "internal_error" and .message == "Internal Error" and (.error | test("hidden by the run.s scratch directory"))'
    expect_header X-PySandbox-Status '^internal_error$'
    body_lacks never
    local f
    for f in ndjson sse; do
        req "$URL/hidden" -d format=$f --data-urlencode 'code=print("never")'
        expect_code 200
        grep -q '"status":"internal_error"' "$RESP_B" || fail "$f: $(cat "$RESP_B")"
    done
    req "$URL/hidden" -d format=text --data-urlencode 'code=print("never")'
    expect_code 200
    grep -qx 'Internal Error' "$RESP_B" || fail "text: $(cat "$RESP_B")"
    grep -q '\[pysandbox:error\].*internal error: .*hidden by the run.s scratch directory' "$H/error.log" ||
        fail "not in the error log"
}
