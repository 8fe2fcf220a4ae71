#!/usr/bin/env bats
# framing.bats — the ndjson and sse formats on the wire (DESIGN §4): line
# and event framing, the headers, how the format is chosen (format=,
# Accept, the Location's default), SSE over GET (the EventSource path), and
# ?info=1 (the Location's limits for pages).

load helpers

# Two more Locations: other limits (so ?info=1 is seen to be per Location)
# and a default format of ndjson.
EXTRA='<Location /tight>
    SetHandler pysandbox
    Require all granted
    PySandboxCPUTime 1.5 3
    PySandboxWallTime 4 8
    PySandboxMemory 64M 128M
    PySandboxOutputLimit 10K 100K
    PySandboxMaxCodeSize 16K
    PySandboxMaxStdinSize 2K
</Location>
<Location /nd>
    SetHandler pysandbox
    Require all granted
    PySandboxDefaultFormat ndjson
</Location>'

setup_file() { stream_setup_file "$EXTRA"; }
teardown_file() { stream_teardown_file; }

BOTH='import sys
print("to stdout")
print("to stderr", file=sys.stderr)
print("é ✓ 😀")'

@test "${T2}ndjson: every line is one JSON object with stream stdout|stderr|exit, exit last" {
    post nd ndjson "$BOTH"
    events nd ndjson
    evcheck nd "$(joined stdout) == \"to stdout\\né ✓ 😀\\n\""
    evcheck nd "$(joined stderr) == \"to stderr\\n\""
    evcheck nd '.[-1] | .status == "ok" and .exit_code == 0'
    # The exit line is a plain object, not an array or a nested "exit" key.
    evcheck nd '.[-1] | has("status") and has("run_id") and (has("stdout") | not) and (has("stderr") | not)'
}

@test "${T2}the run's mode is the pass's: cold says so, the warm pass (the default) forks every run" {
    local want=cold
    [ "${PYSB_TEST_START:-cold}" = warm ] && want=warm
    post mode ndjson 'print(1)'
    events mode ndjson
    evcheck mode ".[-1] | .status == \"ok\" and .start == \"$want\""
    post modesse sse 'print(1)'
    events modesse sse
    evcheck modesse ".[-1] | .status == \"ok\" and .start == \"$want\""
}

@test "${T2}ndjson: headers (Content-Type, no-cache, run id of the exit event)" {
    post ndh ndjson 'print(1)'
    events ndh ndjson
    [[ "$(header ndh Content-Type)" == application/x-ndjson* ]] || fail "Content-Type: $(header ndh Content-Type)"
    [ "$(header ndh Cache-Control)" = no-cache ] || fail "Cache-Control: $(header ndh Cache-Control)"
    local id
    id=$(header ndh X-PySandbox-Run-Id)
    [[ "$id" =~ ^[0-9a-f-]{36}$ ]] || fail "X-PySandbox-Run-Id: '$id'"
    evcheck ndh ".[-1].run_id == \"$id\""
}

@test "${T2}sse: events have event: stdout|stderr|exit and a JSON data: line, blank-line separated" {
    post ss sse "$BOTH"
    events ss sse
    evcheck ss "$(joined stdout) == \"to stdout\\né ✓ 😀\\n\""
    evcheck ss "$(joined stderr) == \"to stderr\\n\""
    evcheck ss '.[-1] | .status == "ok" and .exit_code == 0 and (has("stdout") | not)'
    # Raw form: every line is event:, data: or empty, and the events pair up.
    run awk '
        /^event: (stdout|stderr|exit)$/ { if (state != 0) bad = 1; state = 1; next }
        /^data: / { if (state != 1) bad = 1; state = 2; next }
        /^$/ { if (state != 2) bad = 1; state = 0; n++; next }
        { bad = 1 }
        END { if (state != 0 || bad || n < 3) exit 1 }' "$T/ss.body"
    [ "$status" -eq 0 ] || { show "$T/ss.body"; fail "raw SSE layout is off"; }
}

@test "${T2}sse: headers (text/event-stream, no-cache, X-Accel-Buffering, run id)" {
    post ssh sse 'print(1)'
    events ssh sse
    [[ "$(header ssh Content-Type)" == text/event-stream* ]] || fail "Content-Type: $(header ssh Content-Type)"
    [ "$(header ssh Cache-Control)" = no-cache ] || fail "Cache-Control: $(header ssh Cache-Control)"
    [ "$(header ssh X-Accel-Buffering)" = no ] || fail "X-Accel-Buffering: $(header ssh X-Accel-Buffering)"
    evcheck ssh ".[-1].run_id == \"$(header ssh X-PySandbox-Run-Id)\""
}

@test "${T2}a run with no output at all: only the exit event (ndjson and sse)" {
    post q1 ndjson 'pass'
    events q1 ndjson
    evcheck q1 'length == 1 and .[0].stdout_bytes == 0 and .[0].stderr_bytes == 0'
    post q2 sse 'pass'
    events q2 sse
    evcheck q2 'length == 1 and .[0].status == "ok"'
}

@test "${T2}format= selects ndjson or sse (form field, any case; JSON body; query string)" {
    post f1 ndjson 'print("x")'
    [[ "$(header f1 Content-Type)" == application/x-ndjson* ]] || fail "format=ndjson: $(header f1 Content-Type)"
    events f1 ndjson
    post f2 SSE 'print("x")'
    [[ "$(header f2 Content-Type)" == text/event-stream* ]] || fail "format=SSE: $(header f2 Content-Type)"
    events f2 sse
    req f3 "$BASE/run" -H 'Content-Type: application/json' -d '{"code": "print(\"x\")", "format": "sse"}'
    [ "$HTTP_CODE" = 200 ] || fail "JSON body: HTTP $HTTP_CODE"
    events f3 sse
    req f4 "$BASE/run?format=ndjson" -H 'Content-Type: text/x-python' --data-binary 'print("x")'
    [ "$HTTP_CODE" = 200 ] || fail "text/x-python: HTTP $HTTP_CODE"
    events f4 ndjson
    for n in f1 f2 f3 f4; do evcheck $n "$(joined stdout) == \"x\\n\""; done
}

@test "${T2}Accept: text/event-stream selects sse, application/x-ndjson selects ndjson" {
    req a1 "$BASE/run" -H 'Accept: text/event-stream' --data-urlencode 'code=print("a")'
    [[ "$(header a1 Content-Type)" == text/event-stream* ]] || fail "Accept sse: $(header a1 Content-Type)"
    events a1 sse
    req a2 "$BASE/run" -H 'Accept: application/x-ndjson' --data-urlencode 'code=print("a")'
    [[ "$(header a2 Content-Type)" == application/x-ndjson* ]] || fail "Accept ndjson: $(header a2 Content-Type)"
    events a2 ndjson
    # Types we do not serve are skipped; q=0 excludes one.
    req a3 "$BASE/run" -H 'Accept: text/html, application/x-ndjson, text/event-stream' \
        --data-urlencode 'code=print("a")'
    [[ "$(header a3 Content-Type)" == application/x-ndjson* ]] || fail "Accept list: $(header a3 Content-Type)"
    req a4 "$BASE/run" -H 'Accept: text/event-stream;q=0, application/x-ndjson' \
        --data-urlencode 'code=print("a")'
    [[ "$(header a4 Content-Type)" == application/x-ndjson* ]] || fail "Accept q=0: $(header a4 Content-Type)"
    events a4 ndjson
}

@test "${T2}format= wins over Accept; no format and no Accept: the Location's default" {
    req w1 "$BASE/run" -H 'Accept: text/event-stream' -d format=ndjson --data-urlencode 'code=print(1)'
    [[ "$(header w1 Content-Type)" == application/x-ndjson* ]] || fail "format over Accept: $(header w1 Content-Type)"
    events w1 ndjson
    req w2 "$BASE/run" -H 'Accept: application/x-ndjson' -d format=sse --data-urlencode 'code=print(1)'
    [[ "$(header w2 Content-Type)" == text/event-stream* ]] || fail "format over Accept: $(header w2 Content-Type)"
    events w2 sse
    # /run's default is text; /nd's is ndjson.
    req w3 "$BASE/run" -H 'Accept:' --data-urlencode 'code=print(1)'
    [[ "$(header w3 Content-Type)" == text/plain* ]] || fail "/run default: $(header w3 Content-Type)"
    req w4 "$BASE/nd" -H 'Accept:' --data-urlencode 'code=print(1)'
    [[ "$(header w4 Content-Type)" == application/x-ndjson* ]] || fail "/nd default: $(header w4 Content-Type)"
    events w4 ndjson
    req w5 "$BASE/nd" -H 'Accept: text/event-stream' --data-urlencode 'code=print(1)'
    [[ "$(header w5 Content-Type)" == text/event-stream* ]] || fail "/nd + Accept sse: $(header w5 Content-Type)"
    events w5 sse
}

@test "${T2}an unknown format= is a 400 with a one-line reason, and nothing runs" {
    req bad "$BASE/run" -d format=xml --data-urlencode 'code=print(1)'
    [ "$HTTP_CODE" = 400 ] || fail "HTTP $HTTP_CODE"
    grep -q 'format must be one of' "$T/bad.body" || { show "$T/bad.body"; fail "no reason"; }
    [ "$(wc -l <"$T/bad.body")" -eq 1 ] || fail "reason is not one line"
}

@test "${T2}sse over GET ?format=sse&user_script=… (the EventSource path)" {
    req g1 -G "$BASE/run" -H 'Accept: text/event-stream' --data-urlencode 'format=sse' \
        --data-urlencode 'user_script=import sys
print("via GET")
print("err", file=sys.stderr)'
    [ "$HTTP_CODE" = 200 ] || { show "$T/g1.body"; fail "HTTP $HTTP_CODE"; }
    [[ "$(header g1 Content-Type)" == text/event-stream* ]] || fail "Content-Type: $(header g1 Content-Type)"
    events g1 sse
    evcheck g1 "$(joined stdout) == \"via GET\\n\" and $(joined stderr) == \"err\\n\""
    evcheck g1 '.[-1].status == "ok"'
    # EventSource sends only Accept: text/event-stream, no format field.
    req g2 -G "$BASE/run" -H 'Accept: text/event-stream' --data-urlencode 'user_script=print(2)'
    [ "$HTTP_CODE" = 200 ] || fail "HTTP $HTTP_CODE"
    events g2 sse
    evcheck g2 "$(joined stdout) == \"2\\n\""
    # And ndjson over GET, with limits in the query string.
    req g3 -G "$BASE/run" --data-urlencode 'format=ndjson' --data-urlencode 'cpu_time=2' \
        --data-urlencode 'user_script=print(3)'
    events g3 ndjson
    evcheck g3 ".[-1].limits.cpu_time == 2 and $(joined stdout) == \"3\\n\""
}

@test "${T2}?info=1 returns the Location's limits (defaults and maximums) as JSON" {
    req i1 "$BASE/run?info=1"
    [ "$HTTP_CODE" = 200 ] || fail "HTTP $HTTP_CODE"
    [[ "$(header i1 Content-Type)" == application/json* ]] || fail "Content-Type: $(header i1 Content-Type)"
    # conf/httpd-test.conf.in: CPU 5 10, wall 10 20, memory 256M 512M, output 1M 4M.
    jq -e '.cpu_time == {"default": 5, "max": 10}
        and .wall_time == {"default": 10, "max": 20}
        and .memory == {"default": 268435456, "max": 536870912}
        and .output == {"default": 1048576, "max": 4194304}
        and .processes == 1 and .threads == 16
        and .max_code_size == 65536 and .max_stdin_size == 1048576
        and .allow_get == true and .default_format == "text"
        and (.formats | sort) == ["json", "ndjson", "sse", "text"]' "$T/i1.body" >/dev/null \
        || { show "$T/i1.body"; fail "info of /run"; }
    req i2 "$BASE/tight?info=1"
    jq -e '.cpu_time == {"default": 1.5, "max": 3}
        and .wall_time == {"default": 4, "max": 8}
        and .memory == {"default": 67108864, "max": 134217728}
        and .output == {"default": 10240, "max": 102400}
        and .max_code_size == 16384 and .max_stdin_size == 2048
        and .allow_get == false' "$T/i2.body" >/dev/null \
        || { show "$T/i2.body"; fail "info of /tight"; }
    req i3 "$BASE/nd?info=1"
    jq -e '.default_format == "ndjson" and .cpu_time.default == 5' "$T/i3.body" >/dev/null \
        || { show "$T/i3.body"; fail "info of /nd"; }
}

@test "${T2}GET /run with Accept: application/json and no code returns the same limits JSON" {
    req j0 "$BASE/run?info=1"
    req j1 "$BASE/run" -H 'Accept: application/json'
    [ "$HTTP_CODE" = 200 ] || fail "HTTP $HTTP_CODE"
    [[ "$(header j1 Content-Type)" == application/json* ]] || fail "Content-Type: $(header j1 Content-Type)"
    cmp -s "$T/j0.body" "$T/j1.body" || { show "$T/j0.body"; show "$T/j1.body"; fail "bodies differ"; }
    # On a Location without PySandboxAllowGet too: reading limits is not a run.
    req j2 "$BASE/tight" -H 'Accept: application/json'
    [ "$HTTP_CODE" = 200 ] || fail "/tight: HTTP $HTTP_CODE"
    jq -e '.cpu_time.max == 3' "$T/j2.body" >/dev/null || { show "$T/j2.body"; fail "/tight info"; }
}

@test "${T2}limits asked for are the exit event's limits; above the maximum is a 400 naming it" {
    post l1 ndjson 'print(1)' -d cpu_time=2.5 -d wall_time=7 -d memory=300M -d output=2M
    events l1 ndjson
    evcheck l1 '.[-1].limits | .cpu_time == 2.5 and .wall_time == 7 and .memory == 314572800 and .output == 2097152 and .processes == 1'
    req l2 "$BASE/run" -d format=ndjson -d cpu_time=11 --data-urlencode 'code=print(1)'
    [ "$HTTP_CODE" = 400 ] || fail "cpu_time=11: HTTP $HTTP_CODE"
    # The refusal comes in JSON for the JSON-ish formats.
    jq -e '.status == 400 and (.error | test("maximum of 10"))' "$T/l2.body" >/dev/null \
        || { show "$T/l2.body"; fail "refusal body"; }
}

@test "${T2}Accept is ranked by q: the highest served type wins, q=0 excludes" {
    req q1 "$BASE/run" -H 'Accept: application/x-ndjson;q=0.5, text/event-stream' --data-urlencode 'code=print(1)'
    [[ "$(header q1 Content-Type)" == text/event-stream* ]] || fail "q ranking: $(header q1 Content-Type)"
    req q2 "$BASE/run" -H 'Accept: text/event-stream;q=0, application/json;q=0.2' --data-urlencode 'code=print(1)'
    [[ "$(header q2 Content-Type)" == application/json* ]] || fail "q=0 exclusion: $(header q2 Content-Type)"
    req q3 "$BASE/run" -H 'Accept: text/event-stream;q=0' --data-urlencode 'code=print(1)'
    [[ "$(header q3 Content-Type)" == text/plain* ]] || fail "all excluded: $(header q3 Content-Type)"
}
