#!/usr/bin/env bats
# contract_<mpm>.bats — the HTTP contract of DESIGN §4 against a real httpd:
# encodings, formats, status codes, verdicts, streaming, client disconnect,
# access-log notes, directive merging, load and leaks.
#
# One file, three variants: contract_event.bats is the file,
# contract_prefork.bats and contract_h2.bats symlinks to it; the variant is
# the part of the file name after "contract_": an MPM, or h2 (the event
# MPM, every request over HTTPS with HTTP/2; see e2e_start).

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#contract_}
case $MPM in
    event) RUN_UID_FIRST=601000 ;;
    prefork) RUN_UID_FIRST=601010 ;;
    h2) RUN_UID_FIRST=601100 ;;
    *) RUN_UID_FIRST=601020 ;;   # worker, if ever linked
esac
load helpers

# A directory the runs of /nest/inner may read (PySandboxReadOnlyPath).
setup_file() {
    # not under /tmp: a run's scratch directory hides the host's /tmp
    RO=$(mktemp -d /var/tmp/pysb-e2e-ro.XXXXXX)
    chmod 755 "$RO"
    echo "secret in the inner read-only path" > "$RO/inner.txt"
    chmod 644 "$RO/inner.txt"
    export RO
    DOC_FILE=$(ls /usr/share/doc/*/copyright 2>/dev/null | head -n 1)
    export DOC_FILE
    e2e_start "$MPM" "
<Location /noget>
    SetHandler pysandbox
    Require all granted
    PySandboxAllowGet Off
</Location>
<Location /small>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxCodeSize 1K
    PySandboxMaxStdinSize 1K
    LimitRequestBody 8192
</Location>
<Location /tiny>
    SetHandler pysandbox
    Require all granted
    LimitRequestBody 1000
</Location>
<Location /lax>
    SetHandler pysandbox
    Require all granted
    PySandboxUnknownFields ignore
</Location>
<Location /nest>
    SetHandler pysandbox
    Require all granted
    PySandboxCPUTime 2 4
    PySandboxReadOnlyPath /usr/share/doc
</Location>
<Location /nest/inner>
    PySandboxMemory 64M 128M
    PySandboxReadOnlyPath $RO
</Location>
"
    export RUN="$URL/run"
}

teardown_file() {
    local rc=0
    e2e_stop || rc=1
    rm -rf -- "${RO:-/nonexistent}"
    return "$rc"
}

has_run_python() { uid_procs | grep -q python3; }
no_run_procs() { [ -z "$(run_procs)" ]; }

# The limits reach the run: RLIMIT_AS is the memory limit, RLIMIT_CPU the
# CPU limit's backstop, rounded up + 1 s (1.5 s -> 3, 5 s -> 6; the
# supervisor stops the run at the exact figure).
ECHO_LIMITS='import sys, resource
data = sys.stdin.read()
print("IN:" + data.upper())
print("AS", resource.getrlimit(resource.RLIMIT_AS)[0])
print("CPU", resource.getrlimit(resource.RLIMIT_CPU)[0])'

# ---- 1. encodings ---------------------------------------------------------

@test "[$MPM] urlencoded: code, stdin, cpu_time, memory, format" {
    req "$RUN" --data-urlencode "code=$ECHO_LIMITS" --data-urlencode 'stdin=hello & world=1%' \
        -d cpu_time=1.5 -d memory=64M -d format=json
    expect_code 200
    expect_run_id
    expect_json '.status == "ok" and .stdout == "IN:HELLO & WORLD=1%\nAS 67108864\nCPU 3\n"'
    expect_json '.limits.cpu_time == 1.5 and .limits.memory == 67108864'
}

@test "[$MPM] multipart: code and stdin as file parts, format as a field" {
    printf '%s\n' "$ECHO_LIMITS" > "$BATS_TEST_TMPDIR/prog.py"
    printf 'line one\nline two é\n' > "$BATS_TEST_TMPDIR/in.txt"
    req "$RUN" -F "code=@$BATS_TEST_TMPDIR/prog.py" -F "stdin=@$BATS_TEST_TMPDIR/in.txt" -F format=json
    expect_code 200
    expect_run_id
    expect_json '.status == "ok" and .stdout == "IN:LINE ONE\nLINE TWO É\n\nAS 268435456\nCPU 6\n"'
    # a plain (non-file) part for the code, stdin as a file part
    req "$RUN" -F 'code=print(input()[::-1])' -F "stdin=@$BATS_TEST_TMPDIR/in.txt" -F format=json
    expect_code 200
    expect_json '.status == "ok" and .stdout == "eno enil\n"'
}

@test "[$MPM] multipart: limits as fields (cpu_time, memory)" {
    printf '%s\n' "$ECHO_LIMITS" > "$BATS_TEST_TMPDIR/prog.py"
    printf 'line one\n' > "$BATS_TEST_TMPDIR/in.txt"
    req "$RUN" -F "code=@$BATS_TEST_TMPDIR/prog.py" -F "stdin=@$BATS_TEST_TMPDIR/in.txt" \
        -F cpu_time=1.5 -F memory=64M -F format=json
    expect_code 200
    expect_json '.status == "ok" and .stdout == "IN:LINE ONE\n\nAS 67108864\nCPU 3\n"'
    expect_json '.limits.cpu_time == 1.5 and .limits.memory == 67108864'
}

@test "[$MPM] JSON body: code, stdin, cpu_time as a number, memory as a string, format" {
    jq -n --arg code "$ECHO_LIMITS" \
        '{code: $code, stdin: "json \"in\"\n", cpu_time: 1.5, memory: "64M", format: "json"}' \
        > "$BATS_TEST_TMPDIR/req.json"
    req "$RUN" -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/req.json"
    expect_code 200
    expect_run_id
    expect_json '.status == "ok" and .stdout == "IN:JSON \"IN\"\n\nAS 67108864\nCPU 3\n"'
    expect_json '.limits.cpu_time == 1.5 and .limits.memory == 67108864'
}

@test "[$MPM] JSON body: limits as integers (cpu_time: 2, memory: 100663296)" {
    jq -n '{code: "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])", cpu_time: 2, memory: 100663296, format: "json"}' \
        > "$BATS_TEST_TMPDIR/req.json"
    req "$RUN" -H 'Content-Type: application/json; charset=utf-8' --data-binary "@$BATS_TEST_TMPDIR/req.json"
    expect_code 200
    expect_json '.status == "ok" and .stdout == "100663296\n" and .limits.memory == 100663296 and .limits.cpu_time == 2'
}

@test "[$MPM] JSON body: numbers below 1 and with exponents are the form's decimals" {
    # {"cpu_time": 0.5}, 1e-07, 2.5e0 and 6.7108864e7 as a form sends them
    req "$RUN" -H 'Content-Type: application/json' \
        -d '{"code": "print(1)", "format": "json", "cpu_time": 0.5, "wall_time": 2.5e0, "memory": 6.7108864e7}'
    expect_code 200
    expect_json '.status == "ok" and .limits.cpu_time == 0.5 and .limits.wall_time == 2.5 and .limits.memory == 67108864'
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "format": "json", "cpu_time": 1e-07}'
    expect_code 200
    expect_json '.limits.cpu_time == 1e-07'
    local json_status
    json_status=$(jq -r .status "$RESP_B")
    req "$RUN" -d 'code=print(1)' -d format=json -d cpu_time=0.0000001
    expect_code 200
    expect_json ".limits.cpu_time == 1e-07 and .status == \"$json_status\""
    # and what the form refuses, JSON refuses the same way
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "cpu_time": 0}'
    expect_refusal 400 'cpu_time must be above 0'
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "cpu_time": 1e300}'
    expect_refusal 400 'cpu_time'
}

@test "[$MPM] raw text/x-python and text/plain bodies, other fields from the query string" {
    local ct
    for ct in text/x-python 'text/plain; charset=utf-8'; do
        req "$RUN?stdin=raw%20in&format=json&cpu_time=1.5&memory=64M" -H "Content-Type: $ct" \
            --data-binary "$ECHO_LIMITS"
        expect_code 200
        expect_run_id
        expect_json '.status == "ok" and .stdout == "IN:RAW IN\nAS 67108864\nCPU 3\n"'
        expect_json '.limits.cpu_time == 1.5 and .limits.memory == 67108864'
    done
}

@test "[$MPM] classic GET ?user_script=print(\"hello CGI!\") answers the output then OK" {
    # as a browser sends it: only the space escaped
    req -g "$RUN?user_script=print(\"hello%20CGI!\")"
    expect_code 200
    expect_run_id
    expect_header Content-Type '^text/plain; charset=utf-8$'
    [ "$(sed -n 1p "$RESP_B")" = "hello CGI!" ] || fail "first line is not hello CGI!"
    [ "$(sed -n 2p "$RESP_B")" = "OK" ] || fail "second line is not OK"
    expect_text_report OK
    # and fully escaped, with stdin
    req -G "$RUN" --data-urlencode 'user_script=print("hello", input())' --data-urlencode 'stdin=CGI!'
    expect_code 200
    [ "$(sed -n 1p "$RESP_B")" = "hello CGI!" ] || fail "first line is not hello CGI!"
    expect_text_report OK
}

@test "[$MPM] GET refused with 405 and Allow: POST where PySandboxAllowGet is Off" {
    req -G "$URL/noget" --data-urlencode 'user_script=print("hello CGI!")'
    expect_refusal 405 'PySandboxAllowGet'
    expect_header Allow '^POST$'
    body_lacks "hello CGI!"
    # the same Location runs it over POST
    req "$URL/noget" --data-urlencode 'code=print("hello CGI!")'
    expect_code 200
    [ "$(sed -n 1p "$RESP_B")" = "hello CGI!" ] || fail "POST did not run"
}

@test "[$MPM] HEAD never starts a run: 405 with Allow, at a GET Location too" {
    # a link checker probing a classic GET URL: the GET would run it
    req -I -g "$RUN?user_script=print(1)"
    expect_code 405
    expect_run_id
    expect_header Allow '^GET, POST$'
    local rid line
    rid=$(header X-PySandbox-Run-Id)
    line=$(access_line " $rid ") || fail "no access log line for $rid"
    [[ $line == *'"HEAD /run?user_script=print(1) '*' 405 '*' refused '* ]] ||
        fail "not logged as a refused HEAD: $line"
    [[ $line == *' wall=- cpu=- '* ]] || fail "a run happened: $line"
    req -I "$URL/noget?user_script=print(1)"
    expect_code 405
    expect_run_id
}

# ---- 2. formats -----------------------------------------------------------

@test "[$MPM] text: the output, then OK / elapsed time / memory usage / cpu usage" {
    req "$RUN" --data-urlencode 'code=print("line 1"); print("line 2")' -d format=text
    expect_code 200
    expect_header Content-Type '^text/plain; charset=utf-8$'
    expect_run_id
    [ "$(wc -l < "$RESP_B")" = 6 ] || fail "expected 2 lines of output and 4 of report"
    [ "$(head -n 2 "$RESP_B")" = $'line 1\nline 2' ] || fail "output lines"
    expect_text_report OK
    # output without a final newline: the report still starts on its own line
    req "$RUN" --data-urlencode 'code=print("abc", end="")'
    expect_code 200
    [ "$(head -n 2 "$RESP_B")" = $'abc\nOK' ] || fail "report not on its own line"
    expect_text_report OK
}

@test "[$MPM] text: stdout and stderr interleaved in arrival order" {
    req "$RUN" --data-urlencode 'code=import sys, time
print("out1", flush=True); time.sleep(0.15)
print("err1", file=sys.stderr, flush=True); time.sleep(0.15)
print("out2", flush=True)'
    expect_code 200
    [ "$(head -n 3 "$RESP_B")" = $'out1\nerr1\nout2' ] || fail "not in arrival order"
    expect_text_report OK
}

@test "[$MPM] json: every field of DESIGN §4 with its JSON type; headers match the body" {
    req "$RUN" --data-urlencode 'code=import sys; print("x"); print("e", file=sys.stderr)' -d format=json
    expect_code 200
    expect_header Content-Type '^application/json'
    expect_json '(.status | type) == "string" and (.message | type) == "string"'
    expect_json '(.exit_code | type) == "number" and has("signal") and (.signal == null or (.signal | type) == "string")'
    expect_json '(.stdout | type) == "string" and (.stderr | type) == "string"'
    expect_json '(.stdout_truncated | type) == "boolean" and (.stderr_truncated | type) == "boolean"'
    expect_json '[.wall_time, .cpu_time, .user_time, .system_time, .memory_kb] | all(type == "number")'
    expect_json '(.limits | type) == "object"'
    expect_json '[.limits.cpu_time, .limits.wall_time, .limits.memory, .limits.output, .limits.processes] | all(type == "number")'
    expect_json '(.run_id | type) == "string"'
    # and the values
    expect_json '.status == "ok" and .message == "OK" and .exit_code == 0 and .signal == null'
    expect_json '.stdout == "x\n" and .stderr == "e\n" and .stdout_truncated == false and .stderr_truncated == false'
    expect_json '.memory_kb > 0 and .wall_time > 0 and .wall_time < 5 and .cpu_time >= 0'
    expect_json '.limits == (.limits + {cpu_time: 5, wall_time: 10, memory: 268435456, output: 1048576, processes: 1})'
    [ "$(header X-PySandbox-Status)" = "$(jq -r .status "$RESP_B")" ] || fail "X-PySandbox-Status differs from .status"
    [ "$(header X-PySandbox-Run-Id)" = "$(jq -r .run_id "$RESP_B")" ] || fail "X-PySandbox-Run-Id differs from .run_id"
    expect_run_id
    # a verdict other than ok: the header follows
    req "$RUN" --data-urlencode 'code=import sys; sys.exit(4)' -d format=json
    expect_code 200
    expect_header X-PySandbox-Status '^nonzero_exit$'
    [ "$(header X-PySandbox-Run-Id)" = "$(jq -r .run_id "$RESP_B")" ] || fail "X-PySandbox-Run-Id differs from .run_id"
}

@test "[$MPM] format chosen by Accept; format= overrides Accept; q=0 excludes" {
    local code='print("hi")'
    req "$RUN" -H 'Accept: application/json' --data-urlencode "code=$code"
    expect_header Content-Type '^application/json'
    expect_json '.stdout == "hi\n"'
    req "$RUN" -H 'Accept: application/x-ndjson' --data-urlencode "code=$code"
    expect_header Content-Type '^application/x-ndjson'
    req "$RUN" -H 'Accept: text/event-stream' --data-urlencode "code=$code"
    expect_header Content-Type '^text/event-stream'
    req "$RUN" -H 'Accept: text/html, application/json;q=0.9' --data-urlencode "code=$code"
    expect_header Content-Type '^application/json'
    req "$RUN" -H 'Accept: application/json;q=0, text/plain' --data-urlencode "code=$code"
    expect_header Content-Type '^text/plain'
    # format= wins over Accept, both ways
    req "$RUN" -H 'Accept: application/json' --data-urlencode "code=$code" -d format=text
    expect_header Content-Type '^text/plain'
    expect_text_report OK
    req "$RUN" -H 'Accept: text/plain' --data-urlencode "code=$code" -d format=json
    expect_header Content-Type '^application/json'
    expect_json '.status == "ok"'
    # no format, no Accept: the Location's default (text)
    req "$RUN" -H 'Accept:' --data-urlencode "code=$code"
    expect_header Content-Type '^text/plain'
    expect_text_report OK
    # a major type's wildcard chooses within it; */* is the default's
    req "$RUN" -H 'Accept: application/*' --data-urlencode "code=$code"
    expect_header Content-Type '^application/json'
    expect_json '.stdout == "hi\n"'
    req "$RUN" -H 'Accept: text/*;q=0.5, application/x-ndjson;q=0.4' --data-urlencode "code=$code"
    expect_header Content-Type '^text/plain'
    req "$RUN" -H 'Accept: */*' --data-urlencode "code=$code"
    expect_header Content-Type '^text/plain'
}

@test "[$MPM] ndjson: stdout/stderr objects, then one exit object without stdout/stderr" {
    req "$RUN" --data-urlencode 'code=import sys; print("a"); print("b", file=sys.stderr); sys.exit(2)' -d format=ndjson
    expect_code 200
    expect_header Content-Type '^application/x-ndjson'
    expect_run_id
    jq -e -s 'length >= 3' "$RESP_B" >/dev/null || fail "not a stream of JSON objects"
    [ "$(jq -r -s '[.[] | select(.stream == "stdout") | .data] | add' "$RESP_B")" = a ] || fail "stdout objects"
    [ "$(jq -r -s '[.[] | select(.stream == "stderr") | .data] | add' "$RESP_B")" = b ] || fail "stderr objects"
    jq -e -s '.[-1] | .stream == "exit" and .status == "nonzero_exit" and .exit_code == 2
              and (has("stdout") | not) and (has("stderr") | not) and (.run_id | type) == "string"' \
        "$RESP_B" >/dev/null || fail "last line is not the exit object"
    [ "$(jq -r -s '.[-1].run_id' "$RESP_B")" = "$(header X-PySandbox-Run-Id)" ] || fail "run id differs"
}

@test "[$MPM] sse: stdout/stderr events with JSON strings, then an exit event" {
    req "$RUN" --data-urlencode 'code=import sys; print("a"); print("b", file=sys.stderr)' -d format=sse
    expect_code 200
    expect_header Content-Type '^text/event-stream'
    expect_run_id
    # each event: "event: NAME" then "data: JSON"
    local events
    events=$(awk '/^event: /{e=$2; next} /^data: /{sub(/^data: /, ""); print e "\t" $0}' "$RESP_B")
    [ "$(awk -F'\t' '$1 == "stdout" {print $2}' <<<"$events" | jq -r -s 'add')" = a ] || fail "stdout events"
    [ "$(awk -F'\t' '$1 == "stderr" {print $2}' <<<"$events" | jq -r -s 'add')" = b ] || fail "stderr events"
    tail -n 1 <<<"$events" | cut -f2 | jq -e '.status == "ok" and .message == "OK"' >/dev/null ||
        fail "the last event is not exit with the result"
    [ "$(tail -n 1 <<<"$events" | cut -f1)" = exit ] || fail "the last event is not named exit"
}

# A program that prints a whole report of its own: safeexec's words, as a
# reader of the text format would take them.
FAKE_REPORT='import sys, time
print("OK\nelapsed time: 0.001 seconds\nmemory usage: 1 kbytes\ncpu usage: 0.001 seconds", flush=True)
time.sleep(0.3)
sys.exit(3)'

@test "[$MPM] text: a fake report printed by the program does not change the verdict trailers" {
    req "$RUN" --data-urlencode "code=$FAKE_REPORT"
    expect_code 200
    # the fake is in the body (that is the point), before the real report
    [ "$(head -n 1 "$RESP_B")" = OK ] || fail "the fake report is not the body's start"
    expect_text_report 'Command exited with non-zero status (3)'
    # the headers went out with the first output, before the verdict was
    # known: the verdict is in the trailers, announced by Trailer
    expect_header Trailer 'X-PySandbox-Status'
    [ -z "$(header_only X-PySandbox-Status)" ] || fail "a status header before the run ended"
    [ "$(trailer X-PySandbox-Status)" = nonzero_exit ] || fail "trailer X-PySandbox-Status: '$(trailer X-PySandbox-Status)'"
    [ "$(trailer X-PySandbox-Exit-Code)" = 3 ] || fail "trailer X-PySandbox-Exit-Code"
    [ -z "$(trailer X-PySandbox-Signal)" ] || fail "a signal trailer for an exit"
    # seconds to the ms, at least the program's 0.3 s sleep (a loaded
    # machine may start it slowly: no tight upper bound)
    [[ $(trailer X-PySandbox-Wall-Time) =~ ^[0-9]+\.[0-9]{3}$ ]] && fgt "$(trailer X-PySandbox-Wall-Time)" 0.299 &&
        fgt 5 "$(trailer X-PySandbox-Wall-Time)" || fail "trailer X-PySandbox-Wall-Time: $(trailer X-PySandbox-Wall-Time)"
    [[ $(trailer X-PySandbox-CPU-Time) =~ ^[0-9]+\.[0-9]{3}$ ]] || fail "trailer X-PySandbox-CPU-Time"
    [[ $(trailer X-PySandbox-Memory-KB) =~ ^[1-9][0-9]+$ ]] || fail "trailer X-PySandbox-Memory-KB"
    # the real report's numbers are the trailers'
    [ "$(tail -n 1 "$RESP_B")" = "cpu usage: $(trailer X-PySandbox-CPU-Time) seconds" ] ||
        fail "cpu trailer differs from the report"
    # a signal, and the other formats
    req "$RUN" -d format=ndjson --data-urlencode 'code=import os; print("x", flush=True); os.kill(os.getpid(), 9)'
    expect_code 200
    [ "$(trailer X-PySandbox-Status)" = signal ] && [ "$(trailer X-PySandbox-Signal)" = SIGKILL ] &&
        [ -z "$(trailer X-PySandbox-Exit-Code)" ] || fail "ndjson trailers: $(tr -d '\r' < "$RESP_H")"
    req "$RUN" -d format=sse --data-urlencode 'code=print("OK")'
    [ "$(trailer X-PySandbox-Status)" = ok ] && [ "$(trailer X-PySandbox-Exit-Code)" = 0 ] ||
        fail "sse trailers"
    # json is written whole at the end: the headers carry the verdict
    req "$RUN" -d format=json --data-urlencode 'code=import sys; sys.exit(4)'
    [ "$(header_only X-PySandbox-Status)" = nonzero_exit ] && [ "$(header_only X-PySandbox-Exit-Code)" = 4 ] ||
        fail "json: the verdict headers"
}

# The last response announces trailers (Trailer) exactly when it has them.
trailers_as_announced() {
    local what=$1 announced cl
    announced=$(header_only Trailer)
    cl=$(header_only Content-Length)
    if [ -n "$announced" ]; then
        [ -z "$cl" ] || { fail "$what: Trailer announced on a response with Content-Length $cl"; return 1; }
        [ -n "$(trailer X-PySandbox-Status)" ] || { fail "$what: Trailer announced, no trailers came"; return 1; }
    else
        [ -z "$(trailer X-PySandbox-Status)" ] || { fail "$what: trailers without a Trailer header"; return 1; }
    fi
}

@test "[$MPM] Trailer is announced exactly on the responses that carry trailers" {
    local slow='import time; print(1, flush=True); time.sleep(0.3)'
    # json written whole: Content-Length, the verdict in the headers alone
    req "$RUN" -d format=json --data-urlencode 'code=import sys; sys.exit(2)'
    expect_code 200
    [ -n "$(header_only Content-Length)" ] || fail "json: no Content-Length"
    [ -z "$(header_only Trailer)" ] || fail "json: Trailer announced: $(header_only Trailer)"
    [ "$(header_only X-PySandbox-Status)" = nonzero_exit ] || fail "json: the verdict headers"
    trailers_as_announced json
    # quick answers (whole or streamed, as the run's timing makes them)
    req "$RUN" --data-urlencode 'code=print(1)'
    expect_code 200
    trailers_as_announced "quick text"
    req "$RUN" -d format=ndjson --data-urlencode 'code=print(1)'
    trailers_as_announced "quick ndjson"
    # streamed: announced, and the trailers come
    req "$RUN" --data-urlencode "code=$slow"
    expect_code 200
    expect_header Trailer 'X-PySandbox-Status'
    trailers_as_announced "streamed text"
    # a json object sent in pieces: headers and trailers both
    req "$RUN" -d format=json --data-urlencode 'code=print("x" * 200000)'
    expect_code 200
    expect_header Trailer 'X-PySandbox-Status'
    [ "$(header_only X-PySandbox-Status)" = ok ] || fail "large json: the verdict headers"
    trailers_as_announced "large json"
    [ "$E2E_TRANSPORT" = h2 ] && return 0
    # HTTP/1.0: never chunked, so never announced
    req --http1.0 "$RUN" --data-urlencode "code=$slow"
    expect_code 200
    [ -z "$(header_only Trailer)" ] || fail "HTTP/1.0: Trailer announced: $(header_only Trailer)"
    trailers_as_announced "HTTP/1.0"
}

@test "[$MPM] text: the trailers are on the wire (the chunked body's last chunk, or HTTP/2 trailers)" {
    local raw="$BATS_TEST_TMPDIR/raw"
    if [ "$E2E_TRANSPORT" = h2 ]; then
        curl -s -v -o /dev/null "$RUN" --data-urlencode "code=$FAKE_REPORT" 2> "$raw"
        # after the DATA, a HEADERS frame: curl -v prints it once the body
        # is in, as received trailer lines
        grep -q '^< x-pysandbox-status: nonzero_exit' "$raw" || fail "no HTTP/2 trailer: $(cat "$raw")"
    else
        curl -s --raw "$RUN" --data-urlencode "code=$FAKE_REPORT" > "$raw"
        # the last chunk, then the trailer lines, then the empty line
        local end
        end=$(tail -c 300 "$raw" | tr -d '\r')
        [[ $end == *$'\n0\nX-PySandbox-Status: nonzero_exit\nX-PySandbox-Exit-Code: 3\nX-PySandbox-Wall-Time: '* ]] ||
            fail "no trailer after the last chunk: $(tail -c 300 "$raw" | od -c | tail -n 12)"
        [ "$(tail -c 4 "$raw" | od -An -c | tr -d ' ')" = '\r\n\r\n' ] || fail "the chunked body does not end with CRLF CRLF"
    fi
}

@test "[$MPM] json: output bytes that are not UTF-8 become U+FFFD" {
    req "$RUN" --data-urlencode 'code=import sys
sys.stdout.buffer.write(b"a\xffb\xc3\n"); sys.stdout.flush()
sys.stderr.buffer.write(b"\xfe\xfdz\n"); sys.stderr.flush()
print("é€")' -d format=json
    expect_code 200
    expect_json '.stdout == "a\ufffdb\ufffd\né€\n"'
    expect_json '(.stderr | startswith("\ufffd")) and (.stderr | endswith("z\n"))'
}

@test "[$MPM] ndjson: a UTF-8 character cut between two output chunks is not replaced" {
    req "$RUN" -d format=ndjson -d output=4M --data-urlencode 'code=import sys; sys.stdout.write("é" * 300000)'
    expect_code 200
    jq -e -s '([.[] | select(.stream == "stdout") | .data] | add) == ("é" * 300000)' "$RESP_B" >/dev/null ||
        fail "the stdout objects do not add up to 300000 é"
    jq -e -s '.[-1].status == "ok" and .[-1].stdout_bytes == 600000' "$RESP_B" >/dev/null || fail "exit object"
}

@test "[$MPM] keep-alive: three runs on one connection" {
    local out="$BATS_TEST_TMPDIR/ka"
    curl -sS --max-time 20 -o "$out.1" "$RUN" -d 'code=print(1)' \
        --next "${CURL_T[@]}" --max-time 20 -o "$out.2" "$RUN" -d 'code=print(2)' -d format=json \
        --next "${CURL_T[@]}" --max-time 20 -o "$out.3" -w '%{num_connects}' "$RUN" -d 'code=print(3)' > "$out.n" ||
        fail "curl failed"
    [ "$(head -n 2 "$out.1")" = $'1\nOK' ] || fail "first: $(cat "$out.1")"
    jq -e '.stdout == "2\n"' "$out.2" >/dev/null || fail "second: $(cat "$out.2")"
    [ "$(head -n 2 "$out.3")" = $'3\nOK' ] || fail "third: $(cat "$out.3")"
    [ "$(cat "$out.n")" = 0 ] || fail "the third request opened a new connection"
}

@test "[$MPM] X-PySandbox-Run-Id on every answer, a fresh one each time" {
    local ids=()
    req "$RUN" -d 'code=print(1)'; expect_code 200; ids+=("$(header X-PySandbox-Run-Id)")
    req "$RUN" -d 'stdin=no code'; expect_code 400; ids+=("$(header X-PySandbox-Run-Id)")
    req -X DELETE "$RUN"; expect_code 405; ids+=("$(header X-PySandbox-Run-Id)")
    req "$RUN" -H 'Content-Type: image/png' --data-binary 'x'; expect_code 415; ids+=("$(header X-PySandbox-Run-Id)")
    req "$URL/small" -d "code=$(head -c 2000 /dev/zero | tr '\0' '#')"; expect_code 413; ids+=("$(header X-PySandbox-Run-Id)")
    local id
    for id in "${ids[@]}"; do
        [[ $id =~ $UUID_RE ]] || fail "not a run id: '$id'"
    done
    [ "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 5 ] || fail "run ids repeat: ${ids[*]}"
}

# ---- 3. status codes ------------------------------------------------------

@test "[$MPM] 400: missing code, one line naming the field" {
    req "$RUN" -d 'stdin=hello'
    expect_refusal 400 'code'
    req "$RUN" -H 'Content-Type: application/json' -d '{"stdin": "x"}'
    expect_refusal 400 'code'
}

@test "[$MPM] 400: bad numbers (cpu_time=abc, memory=12Q, wall_time=-1)" {
    req "$RUN" -d 'code=print(1)' -d cpu_time=abc
    expect_refusal 400 'cpu_time'
    req "$RUN" -d 'code=print(1)' -d memory=12Q
    expect_refusal 400 'memory'
    req "$RUN" -d 'code=print(1)' -d wall_time=-1
    expect_refusal 400 'wall_time'
}

@test "[$MPM] 400: a limit above the Location's maximum names the maximum" {
    req "$RUN" -d 'code=print(1)' -d cpu_time=11
    expect_refusal 400 'cpu_time.*maximum.* 10( |$)'
    req "$RUN" -d 'code=print(1)' -d wall_time=21
    expect_refusal 400 'wall_time.*maximum.* 20( |$)'
    req "$RUN" -d 'code=print(1)' -d memory=1G
    expect_refusal 400 'memory.*maximum.*512M'
    req "$RUN" -d 'code=print(1)' -d output=5M
    expect_refusal 400 'output.*maximum.*4M'
    # the maximum itself is fine
    req "$RUN" -d 'code=print(1)' -d cpu_time=10 -d format=json
    expect_code 200
    expect_json '.status == "ok" and .limits.cpu_time == 10'
}

@test "[$MPM] 400: invalid JSON, a JSON body that is not an object, a field of the wrong type" {
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)",'
    expect_refusal 400 'JSON'
    req "$RUN" -H 'Content-Type: application/json' -d '["print(1)"]'
    expect_refusal 400 'object'
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": 12}'
    expect_refusal 400 'code'
    # args is an array in JSON: one string is the wrong type
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "args": "a b"}'
    expect_refusal 400 '^pysandbox: JSON field args has the wrong type$'
    # a limit too long to be any number is a bad number, as one that fits
    req "$RUN" -d 'code=print(1)' -d "cpu_time=$(printf '1%.0s' {1..300})"
    expect_refusal 400 'cpu_time of 300 bytes is longer than any value it can have'
    # a byte order mark before the object is skipped (RFC 8259 allows it)
    printf '\xef\xbb\xbf{"code": "print(6 * 7)", "format": "json"}' > "$BATS_TEST_TMPDIR/bom.json"
    req "$RUN" -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/bom.json"
    expect_code 200
    expect_json '.stdout == "42\n"'
}

@test "[$MPM] 400: code that is not UTF-8 (raw, urlencoded); code with a NUL (urlencoded, JSON), said as such" {
    printf 'print(1)\n# \xff\xfe\n' > "$BATS_TEST_TMPDIR/bad.py"
    req "$RUN" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/bad.py"
    expect_refusal 400 'UTF-8'
    req "$RUN" -d 'code=print(1)%0A%23%FF'
    expect_refusal 400 'UTF-8'
    # a NUL is valid UTF-8; the refusal names it
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)\u0000"}'
    expect_refusal 400 'NUL byte \(at byte 8\)'
    req "$RUN" -d 'code=print(1)%00'
    expect_refusal 400 'NUL byte'
}

@test "[$MPM] 400: unknown format; a refusal in json format is a JSON object" {
    req "$RUN" -d 'code=print(1)' -d format=xml
    expect_refusal 400 'format'
    req "$RUN" -d 'code=print(1)' -d cpu_time=abc -d format=json
    expect_code 400
    expect_run_id
    expect_header Content-Type '^application/json'
    expect_one_line
    expect_json '.status == 400 and (.error | test("cpu_time"))'
    req "$RUN?x=%zz" -d 'code=print(1)'
    expect_refusal 400 'escape'
}

@test "[$MPM] a refusal found while reading the body is in the format the request asked for" {
    # a field of the wrong type, before and after the format key
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": 12, "format": "json"}'
    expect_code 400
    expect_header Content-Type '^application/json'
    expect_json '.status == 400 and (.error | test("code"))'
    req "$RUN" -H 'Content-Type: application/json' -d '{"format": "json", "code": 12}'
    expect_code 400
    expect_json '.status == 400 and (.error | test("code"))'
    # JSON that does not parse: Accept says
    req "$RUN" -H 'Content-Type: application/json' -H 'Accept: application/json' -d '{"code": "print(1)",'
    expect_code 400
    expect_json '.status == 400 and (.error | test("JSON"))'
    # a body too large for the Location, format in the query string
    head -c 70000 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/over.py"
    req "$URL/small?format=json" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/over.py"
    expect_code 413
    expect_json '.status == 413 and (.error | test("larger"))'
    # an unsupported type, a multipart body without its boundary, a method
    req "$RUN?format=ndjson" -H 'Content-Type: application/xml' -d '<code/>'
    expect_code 415
    expect_json '.status == 415'
    req "$RUN" -H 'Accept: application/json' -H 'Content-Type: multipart/form-data' -d 'x'
    expect_code 400
    expect_json '.status == 400'
    req -X PUT -H 'Accept: application/json' "$RUN" -d 'code=print(1)'
    expect_code 405
    expect_json '.status == 405'
    # and without any ask, still text
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": 12}'
    expect_refusal 400 '^pysandbox: JSON field code has the wrong type$'
}

@test "[$MPM] 400: an unknown field in any encoding names it and lists the fields; nothing runs" {
    local known='code or user_script, stdin, cpu_time, wall_time, memory, output, format, info, files, args'
    wait_no_runs 5
    # urlencoded (a typo of cpu_time)
    req "$RUN" -d 'code=print(1)' -d cpu_limit=1
    expect_refusal 400 "^pysandbox: unknown field \"cpu_limit\" \\(the fields are $known\\)$"
    # multipart: an extra part
    req "$RUN" -F 'code=print(1)' -F timeout=5
    expect_refusal 400 'unknown field "timeout"'
    # a JSON key, whatever its value
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "data": {"a.txt": "x"}}'
    expect_refusal 400 'unknown field "data"'
    # the query string, with a raw body and with GET
    req "$RUN?argv=1" -H 'Content-Type: text/x-python' --data-binary 'print(1)'
    expect_refusal 400 'unknown field "argv"'
    req -G "$RUN" --data-urlencode 'user_script=print(1)' -d t=x
    expect_refusal 400 'unknown field "t"'
    # in the format asked for
    req "$RUN" -d 'code=print(1)' -d format=json -d cpu=1
    expect_code 400
    expect_json '.status == 400 and .error == "unknown field \"cpu\" (the fields are '"$known"')"'
    [ -z "$(run_procs)" ] || fail "something ran: $(run_procs)"
}

@test "[$MPM] PySandboxUnknownFields ignore: extra inputs of a form are ignored" {
    req "$URL/lax" -d format=json -d 'code=print(1)' -d submit=Run -d cpu_limit=1
    expect_code 200
    expect_json '.status == "ok" and .stdout == "1\n" and .limits.cpu_time == 5'
    req "$URL/lax?x=1" -H 'Content-Type: application/json' -d '{"code": "print(2)", "format": "json", "extra": []}'
    expect_code 200
    expect_json '.stdout == "2\n"'
}

@test "[$MPM] 405 with Allow for PUT and DELETE" {
    local m
    for m in PUT DELETE; do
        req -X "$m" "$RUN" -d 'code=print(1)'
        expect_refusal 405 "$m"
        expect_header Allow 'POST'
    done
}

@test "[$MPM] 413: code over PySandboxMaxCodeSize, stdin over PySandboxMaxStdinSize" {
    head -c 2048 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/big.py"
    req "$URL/small" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/big.py"
    expect_refusal 413 'code of 2048 bytes.* 1024'
    req "$URL/small" --data-urlencode "code@$BATS_TEST_TMPDIR/big.py"
    expect_refusal 413 'code of 2048 bytes.* 1024'
    req "$URL/small" -d 'code=print(1)' --data-urlencode "stdin@$BATS_TEST_TMPDIR/big.py"
    expect_refusal 413 'stdin of 2048 bytes.* 1024'
    # just under: runs
    head -c 1000 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/ok.py"
    req "$URL/small" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/ok.py"
    expect_code 200
    expect_text_report OK
}

@test "[$MPM] 413: a body over LimitRequestBody" {
    head -c 9000 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/huge.py"
    req "$URL/small" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/huge.py"
    expect_code 413
    req "$URL/small" --data-urlencode "code@$BATS_TEST_TMPDIR/huge.py"
    expect_code 413
    req "$URL/small" -F "code=@$BATS_TEST_TMPDIR/huge.py"
    expect_code 413
}

@test "[$MPM] 413: a Content-Length over what the Location can accept, refused before the body is read" {
    # /small accepts 1K of code + 1K of stdin (+ 64K for field names); no
    # LimitRequestBody on /run, so this is the module's own check.
    head -c 70000 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/over.py"
    req "$URL/small" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/over.py"
    expect_refusal 413 'request body of 70000 bytes is larger than this location accepts'
    # A Content-Length far above what is sent: over HTTP/2 that is a
    # malformed request (RFC 9113 §8.1.1), which mod_http2 resets itself.
    [ "$E2E_TRANSPORT" = h2 ] && return 0
    req "$RUN" -H 'Content-Type: text/x-python' -H 'Content-Length: 999999999' --data-binary 'print(1)'
    expect_refusal 413 '999999999'
}

@test "[$MPM] 413 over LimitRequestBody carries X-PySandbox-Run-Id and a one-line reason" {
    head -c 9000 /dev/zero | tr '\0' '#' > "$BATS_TEST_TMPDIR/huge.py"
    req "$URL/small" -H 'Content-Type: text/x-python' --data-binary "@$BATS_TEST_TMPDIR/huge.py"
    expect_refusal 413 'larger'
}

@test "[$MPM] 413 over LimitRequestBody without a Content-Length: the module's one line, in the format asked for" {
    # curl -T - sends a body of unknown length: chunked over HTTP/1.1, a
    # stream without content-length over HTTP/2. httpd's input filter
    # finds the limit passed while the body is read.
    local f="$BATS_TEST_TMPDIR/huge.py" form="$BATS_TEST_TMPDIR/huge.form" rid line
    head -c 9000 /dev/zero | tr '\0' '#' > "$f"
    req -X POST "$URL/small" -H 'Content-Type: text/x-python' -T - < "$f"
    expect_refusal 413 '^pysandbox: request body larger than this location accepts \(LimitRequestBody 8192 bytes\)$'
    expect_header Content-Type '^text/plain'
    rid=$(header X-PySandbox-Run-Id)
    line=$(access_line " $rid ") || fail "no access log line for $rid"
    [[ $line == *' 413 '*' refused '* ]] || fail "not logged as refused: $line"
    # the format: ?format=, Accept, and a format field before the limit
    req -X POST "$URL/small?format=json" -H 'Content-Type: text/x-python' -T - < "$f"
    expect_code 413
    expect_run_id
    expect_json '.status == 413 and (.error | test("LimitRequestBody 8192"))'
    req -X POST "$URL/small" -H 'Accept: application/json' -H 'Content-Type: text/x-python' -T - < "$f"
    expect_code 413
    expect_json '.status == 413'
    { printf 'format=json&code='; cat "$f"; } > "$form"
    req -X POST "$URL/small" -H 'Content-Type: application/x-www-form-urlencoded' -T - < "$form"
    expect_code 413
    expect_run_id
    expect_json '.status == 413 and (.error | test("LimitRequestBody"))'
    # a JSON body sent whole to a limit under one read's 8 KiB (the read
    # took the format field and the byte over the limit together, and
    # httpd refused it all, contract9 F3)
    python3 -c "import json; print(json.dumps({'code': '1', 'format': 'json', 'stdin': 'a' * 5000}))" \
        > "$BATS_TEST_TMPDIR/huge.json"
    req "$URL/tiny" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
        --data-binary @"$BATS_TEST_TMPDIR/huge.json"
    expect_code 413
    expect_json '.status == 413 and (.error | test("LimitRequestBody 1000"))'
    # httpd's AP_FILTER_ERROR is not logged as if it were an errno
    ! grep -qF -- '(-102)' "$H/error.log" || fail "AP_FILTER_ERROR logged: $(grep -F -- '(-102)' "$H/error.log" | tail -n 1)"
}

@test "[$MPM] 415 for an unsupported Content-Type" {
    req "$RUN" -H 'Content-Type: application/xml' -d '<code>print(1)</code>'
    expect_refusal 415 'application/xml'
    req "$RUN" -H 'Content-Type: image/png' --data-binary 'print(1)'
    expect_refusal 415 'image/png'
    # the one line names every type accepted, text/plain (DESIGN §4) too
    body_has 'text/plain'
    req "$RUN" -H 'Content-Type: text/plain' --data-binary 'print(1)'
    expect_code 200
}

# ---- 4. verdicts ----------------------------------------------------------

@test "[$MPM] verdict ok, as the run's own uid from the configured range, no groups" {
    req "$RUN" -d format=json --data-urlencode 'code=import os
print(os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())'
    expect_code 200
    expect_json '.status == "ok" and .exit_code == 0'
    local uid euid gid egid groups
    read -r uid euid gid egid groups < <(jq -r .stdout "$RESP_B")
    [ "$uid" -ge "$RUN_UID_FIRST" ] && [ "$uid" -le "$RUN_UID_LAST" ] ||
        fail "uid $uid outside PySandboxUserRange $RUN_UID_FIRST-$RUN_UID_LAST"
    [ "$euid" = "$uid" ] && [ "$gid" = "$uid" ] && [ "$egid" = "$uid" ] && [ "$groups" = "[]" ] ||
        fail "ids: $uid $euid $gid $egid $groups"
}

@test "[$MPM] verdict nonzero_exit: exit code and report" {
    req "$RUN" -d format=json --data-urlencode 'code=import sys; print("bye"); sys.exit(3)'
    expect_code 200
    expect_json '.status == "nonzero_exit" and .exit_code == 3 and .signal == null'
    expect_json '.message == "Command exited with non-zero status (3)" and .stdout == "bye\n"'
    req "$RUN" --data-urlencode 'code=import sys; print("bye"); sys.exit(3)'
    expect_code 200
    [ "$(head -n 1 "$RESP_B")" = bye ] || fail "output lost"
    expect_text_report 'Command exited with non-zero status (3)'
}

@test "[$MPM] verdict signal: os.kill(os.getpid(), 9) is SIGKILL" {
    req "$RUN" -d format=json --data-urlencode 'code=import os; print("dying", flush=True); os.kill(os.getpid(), 9)'
    expect_code 200
    expect_json '.status == "signal" and .signal == "SIGKILL" and .exit_code == null'
    expect_json '.message == "Command terminated by signal (9: SIGKILL)" and .stdout == "dying\n"'
    req "$RUN" --data-urlencode 'code=import os; os.kill(os.getpid(), 9)'
    expect_code 200
    expect_text_report 'Command terminated by signal (9: SIGKILL)'
}

@test "[$MPM] verdict cpu_limit: an infinite loop with cpu_time=1; access log notes" {
    req "$RUN" -H "X-Test-Tag: cpu$$" -d format=json -d cpu_time=1 --data-urlencode 'code=print("spin", flush=True)
while True: pass'
    expect_code 200
    expect_json '.status == "cpu_limit" and .message == "Time Limit Exceeded"'
    expect_json '.cpu_time >= 0.9 and .cpu_time < 3 and .wall_time < 6 and .stdout == "spin\n"'
    expect_json '.limits.cpu_time == 1'
    local rid line
    rid=$(header X-PySandbox-Run-Id)
    line=$(access_line " $rid ") || fail "no access log line for run $rid"
    [[ $line =~ \"POST\ /run\ $HTTP_PROTO\"\ 200\ [0-9]+\ cpu_limit\ $rid\ wall=[0-9]+\ cpu=([0-9]+)\ mem=[1-9][0-9]*\ tag=cpu$$$ ]] ||
        fail "access log line: $line"
    [ "${BASH_REMATCH[1]}" -ge 900 ] || fail "cpu note ${BASH_REMATCH[1]} ms < 900"
}

@test "[$MPM] verdict wall_limit: time.sleep(100) with wall_time=1, output before it kept" {
    local t0
    t0=$(now)
    req "$RUN" -d format=json -d wall_time=1 --data-urlencode 'code=import time
print("zz", flush=True)
time.sleep(100)'
    expect_code 200
    expect_json '.status == "wall_limit" and .message == "Time Limit Exceeded"'
    expect_json '.wall_time >= 0.9 and .wall_time < 3 and .stdout == "zz\n" and .limits.wall_time == 1'
    fgt 4 "$(elapsed "$t0")" || fail "the answer took $(elapsed "$t0") s"
}

@test "[$MPM] verdict memory_limit: a memory bomb with memory=64M" {
    req "$RUN" -d format=json -d memory=64M --data-urlencode 'code=a = []
while True:
    a.append(bytearray(10 ** 7))'
    expect_code 200
    expect_json '.status == "memory_limit" and .message == "Memory Limit Exceeded"'
    expect_json '.limits.memory == 67108864 and .memory_kb < 70000'
    req "$RUN" -d memory=64M --data-urlencode 'code=x = bytearray(10 ** 9)'
    expect_code 200
    expect_text_report 'Memory Limit Exceeded'
}

@test "[$MPM] verdict output_limit: a flood with output=10K keeps exactly 10240 bytes" {
    req "$RUN" -d format=json -d output=10K --data-urlencode 'code=while True: print("x" * 1000)'
    expect_code 200
    expect_json '.status == "output_limit" and .message == "Output Limit Exceeded"'
    expect_json '.stdout_bytes == 10240 and (.stdout | length) == 10240 and .stdout_truncated == true'
    expect_json '.limits.output == 10240'
    # text: 10240 bytes of output, a newline, the report
    req "$RUN" -d output=10K --data-urlencode 'code=while True: print("x" * 1000)'
    expect_code 200
    expect_text_report 'Output Limit Exceeded'
    [ "$(head -n -4 "$RESP_B" | wc -c)" = 10241 ] || fail "text output is $(head -n -4 "$RESP_B" | wc -c) bytes, not 10240 + newline"
}

DENIALS='import os, socket, subprocess
def t(name, f):
    try:
        f()
        print(name, "ALLOWED", flush=True)
    except OSError as e:
        print(name, "DENIED", type(e).__name__, flush=True)
def fork():
    if os.fork() == 0:
        os._exit(0)
t("read", lambda: open("/etc/passwd").read())
t("socket", lambda: socket.socket())
t("connect", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2).close())
t("subprocess", lambda: subprocess.run(["/bin/true"]))
t("fork", fork)'

@test "[$MPM] inside a run: file read and network are denied (PermissionError), subprocess and fork refused at the process limit (BlockingIOError)" {
    local code=${DENIALS//PORT/$PORT}
    # control: the same program outside the sandbox is allowed everything
    run timeout 10 python3 -I -S -c "$code"
    [ "$status" = 0 ] && [ "$(grep -c ALLOWED <<<"$output")" = 5 ] || fail "control: $output"
    req "$RUN" -d format=json --data-urlencode "code=$code"
    expect_code 200
    expect_json '.status == "ok"'
    # /etc/passwd is not even there in the run's minimal root: ENOENT
    expect_json '.stdout == "read DENIED FileNotFoundError\nsocket DENIED PermissionError\nconnect DENIED PermissionError\nsubprocess DENIED BlockingIOError\nfork DENIED BlockingIOError\n"'
}

@test "[$MPM] inside a run: the minimal root — host paths are absent (stat, access, readlink), what it holds but Landlock does not grant is EACCES, the Location's read-only path is there (control: the host's)" {
    [ -n "$DOC_FILE" ] || skip "no /usr/share/doc/*/copyright on this machine"
    local code="import os
def t(name, f):
    try:
        f(); print(name, 'ALLOWED')
    except OSError as e:
        print(name, 'DENIED', e.errno)
t('stat /etc/passwd', lambda: os.stat('/etc/passwd'))
t('stat $RO', lambda: os.stat('$RO'))
t('readlink /bin', lambda: os.readlink('/bin'))
t('access /home', lambda: os.access('/home', os.F_OK) or os.stat('/home'))
t('stat /run/pysandbox', lambda: os.stat('/run/pysandbox'))
t('stat python3.11/../python3', lambda: os.stat('/usr/lib/python3.11/../python3'))
t('list /', lambda: os.listdir('/'))
t('read $DOC_FILE', lambda: open('$DOC_FILE').read())"
    run timeout 10 python3 -I -S -c "$code"
    [ "$status" = 0 ] && [ "$(grep -c ALLOWED <<<"$output")" = 8 ] || fail "control: $output"
    req "$URL/nest" -d format=json --data-urlencode "code=$code"
    expect_code 200
    expect_json '.status == "ok"'
    expect_json '.stdout == "stat /etc/passwd DENIED 2\nstat '"$RO"' DENIED 2\nreadlink /bin DENIED 2\naccess /home DENIED 2\nstat /run/pysandbox DENIED 2\nstat python3.11/../python3 DENIED 2\nlist / DENIED 13\nread '"$DOC_FILE"' ALLOWED\n"'
}

# ---- 5. streaming ---------------------------------------------------------

@test "[$MPM] streaming: text, ndjson and sse output reach the client while the program runs" {
    # 4 s: three runs started at once on a loaded machine still print
    # "first" well before their sleep ends
    local prog='import time; print("first", flush=True); time.sleep(4); print("second")'
    local d="$BATS_TEST_TMPDIR" t0 tfirst f i=0
    : > "$d/stream.text"; : > "$d/stream.ndjson"; : > "$d/stream.sse"
    t0=$(now)
    for f in text ndjson sse; do
        spawn curl -sN --max-time 15 -o "$d/stream.$f" "$RUN" -d format=$f --data-urlencode "code=$prog"
    done
    for f in text ndjson sse; do
        wait_until 3.5 grep -q first "$d/stream.$f" || fail "$f: no 'first' after 3.5 s"
    done
    tfirst=$(elapsed "$t0")
    for f in text ndjson sse; do
        ! grep -q second "$d/stream.$f" || fail "$f: 'second' already there at ${tfirst} s: not streamed"
        kill -0 "${BG_PIDS[$i]}" 2>/dev/null || fail "$f: curl already finished at ${tfirst} s"
        i=$((i + 1))
    done
    for i in 0 1 2; do wait "${BG_PIDS[$i]}" || fail "curl failed"; done
    [ "$(head -n 2 "$d/stream.text")" = $'first\nsecond' ] || fail "text output: $(cat "$d/stream.text")"
    RESP_B=$d/stream.text expect_text_report OK
    [ "$(jq -r -s '[.[] | select(.stream == "stdout") | .data] | add' "$d/stream.ndjson")" = $'first\nsecond' ] ||
        fail "ndjson: $(cat "$d/stream.ndjson")"
    jq -e -s '.[-1].stream == "exit" and .[-1].status == "ok"' "$d/stream.ndjson" >/dev/null || fail "ndjson exit"
    grep -q '^event: exit$' "$d/stream.sse" || fail "sse: no exit event"
    note "[$MPM] first bytes after ${tfirst} s, whole answers after $(elapsed "$t0") s"
}

# ---- 6. client disconnect -------------------------------------------------

@test "[$MPM] client disconnect: the run is killed at once, logged as cancelled" {
    local tag="disc$$x$RANDOM" t0 lat line
    wait_no_runs 5
    # the client leaves once the run is there (not at a fixed time, which a
    # loaded machine may reach before the run starts)
    spawn curl -s --max-time 20 -o /dev/null "$RUN" -H "X-Test-Tag: $tag" --data-urlencode 'code=import time; time.sleep(30)'
    wait_until 5 has_run_python || fail "the run did not start within 5 s"
    kill -TERM "${BG_PIDS[0]}"       # curl's own pid: the disconnect
    wait "${BG_PIDS[0]}" || true
    t0=$(now)
    wait_until 1.5 no_run_procs || fail "run processes left 1.5 s after the disconnect: $(run_procs)"
    lat=$(elapsed "$t0")
    note "[$MPM] disconnect -> no run process: ${lat} s"
    line=$(access_line " tag=$tag$") || fail "no access log line for $tag"
    [[ $line == *" cancelled "* ]] || fail "access log: $line"
}

# ---- 9. directive merging -------------------------------------------------

@test "[$MPM] nested Locations: ?info=1 of the inner one merges the outer limits" {
    req "$URL/nest/inner?info=1"
    expect_code 200
    expect_run_id
    expect_json '.cpu_time == {default: 2, max: 4}'
    expect_json '.memory == {default: 67108864, max: 134217728}'
    expect_json '.wall_time == {default: 10, max: 10}'
    req "$URL/nest?info=1"
    expect_json '.cpu_time == {default: 2, max: 4} and .memory == {default: 268435456, max: 268435456}'
    req "$RUN?info=1"
    expect_json '.cpu_time == {default: 5, max: 10} and .memory == {default: 268435456, max: 536870912}'
    expect_json '.output == {default: 1048576, max: 4194304} and .allow_get == true'
    # and a run under the inner Location gets both
    req "$URL/nest/inner" -d format=json -d 'code=import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])'
    expect_json '.status == "ok" and .limits.cpu_time == 2 and .limits.memory == 67108864 and .stdout == "67108864\n"'
    req "$URL/nest/inner" -d 'code=print(1)' -d cpu_time=5
    expect_refusal 400 'maximum of 4 '
}

@test "[$MPM] nested Locations: PySandboxReadOnlyPath accumulates outer and inner paths" {
    [ -n "$DOC_FILE" ] || skip "no /usr/share/doc/*/copyright on this machine"
    local code="
for p in ['$DOC_FILE', '$RO/inner.txt']:
    try:
        open(p).read(); print('READ')
    except OSError as e:
        print('DENIED', type(e).__name__)"
    req "$URL/nest/inner" -d format=json --data-urlencode "code=$code"
    expect_json '.stdout == "READ\nREAD\n"'
    # a path of no Location's is not in the run's root at all (ENOENT)
    req "$URL/nest" -d format=json --data-urlencode "code=$code"
    expect_json '.stdout == "READ\nDENIED FileNotFoundError\n"'
    req "$RUN" -d format=json --data-urlencode "code=$code"
    expect_json '.stdout == "DENIED FileNotFoundError\nDENIED FileNotFoundError\n"'
}

# ---- 10. access log -------------------------------------------------------

@test "[$MPM] access log: a run's line has its status, run id, wall, cpu and memory" {
    local rid line
    req "$RUN" -H "X-Test-Tag: log$$" -d format=json --data-urlencode 'code=import sys; sum(range(10**6)); sys.exit(5)'
    expect_code 200
    rid=$(header X-PySandbox-Run-Id)
    line=$(access_line " $rid ") || fail "no access log line for $rid"
    [[ $line =~ \"POST\ /run\ $HTTP_PROTO\"\ 200\ [0-9]+\ nonzero_exit\ $rid\ wall=([0-9]+)\ cpu=([0-9]+)\ mem=([0-9]+)\ tag=log$$$ ]] ||
        fail "access log line: $line"
    local wall=${BASH_REMATCH[1]} cpu=${BASH_REMATCH[2]} mem=${BASH_REMATCH[3]}
    [ "$wall" -ge 1 ] && [ "$cpu" -ge 1 ] && [ "$mem" -gt 1000 ] || fail "notes: wall=$wall cpu=$cpu mem=$mem"
    # the notes are the JSON's numbers
    [ "$mem" = "$(jq -r .memory_kb "$RESP_B")" ] || fail "mem note $mem differs from memory_kb"
    jq -e --argjson w "$wall" '((.wall_time * 1000) - $w) | (if . < 0 then -. else . end) <= 1.5' "$RESP_B" >/dev/null ||
        fail "wall note $wall ms differs from wall_time"
}

# ---- 11. load -------------------------------------------------------------

@test "[$MPM] load: 64 concurrent mixed requests, each 200 (right verdict) or 503" {
    local dir="$BATS_TEST_TMPDIR/load" lpid
    mkdir -p "$dir"
    lpid=$(launcher_pid)
    cat > "$dir/one.sh" <<'EOF'
#!/bin/bash
# one.sh URL N DIR: request N of the mix
kinds=(hello loop mem fork flood)
k=${kinds[$(($2 % 5))]}
case $k in
hello) code='print("hello")'; extra=() ;;
loop) code='while True: pass'; extra=(-d cpu_time=1) ;;
mem) code=$'a = []\nwhile True:\n    a.append(bytearray(10 ** 7))'; extra=(-d memory=64M) ;;
fork) code=$'import os\nwhile True: os.fork()'; extra=() ;;
flood) code='while True: print("x" * 1000)'; extra=(-d output=10K) ;;
esac
c=$(curl -s --max-time 40 -D "$3/$2.h" -o "$3/$2.b" -w '%{http_code}' "$1" -d format=json \
    --data-urlencode "code=$code" "${extra[@]}")
echo "$2 $k $c" > "$3/$2.res"
EOF
    local t0
    t0=$(now)
    seq 0 63 | xargs -P 64 -I{} bash "$dir/one.sh" "$RUN" {} "$dir" 3>&-
    note "[$MPM] 64 requests in $(elapsed "$t0") s"
    local n ok=0 busy=0 bad=""
    for n in $(seq 0 63); do
        read -r _ k c < "$dir/$n.res" || { bad+=" #$n:no-result"; continue; }
        case $c in
        200)
            local want
            case $k in
            hello) want=ok ;; loop) want=cpu_limit ;; mem) want=memory_limit ;;
            fork) want=nonzero_exit ;; flood) want=output_limit ;;
            esac
            jq -e --arg w "$want" '.status == $w' "$dir/$n.b" >/dev/null ||
                bad+=" #$n:$k:$(jq -r .status "$dir/$n.b" 2>/dev/null)"
            ok=$((ok + 1)) ;;
        503)
            grep -qi '^Retry-After:' "$dir/$n.h" && grep -qi '^X-PySandbox-Run-Id:' "$dir/$n.h" ||
                bad+=" #$n:503-without-headers"
            busy=$((busy + 1)) ;;
        *) bad+=" #$n:$k:HTTP-$c" ;;
        esac
    done
    note "[$MPM] 200: $ok, 503: $busy"
    [ -z "$bad" ] || fail "unexpected answers:$bad"
    [ "$ok" -ge 4 ] || fail "only $ok runs served"
    wait_no_runs 10 || fail "run processes left after the load"
    [ -z "$(zombies)" ] || fail "zombies: $(zombies)"
    [ "$(launcher_pid)" = "$lpid" ] || fail "the launcher changed: $lpid -> $(launcher_pid)"
    req "$RUN" -d format=json --data-urlencode 'code=print("still here")'
    expect_code 200
    expect_json '.status == "ok" and .stdout == "still here\n"'
}

# ---- 12. leaks ------------------------------------------------------------

@test "[$MPM] no fd leak in the httpd parent or the launcher over 50 requests" {
    local parent lpid p0 l0 p1 l1 i
    parent=$(httpd_parent)
    lpid=$(launcher_pid)
    for i in 1 2 3; do req "$RUN" -d 'code=print(1)'; done
    wait_no_runs 5
    p0=$(fd_count "$parent"); l0=$(fd_count "$lpid")
    for i in $(seq 1 50); do
        case $((i % 10)) in
        0) curl -s -o /dev/null --max-time 10 "$RUN" -d 'code=print(1)' -d cpu_time=abc ;;
        5) curl -s -o /dev/null --max-time 10 "$RUN" -d format=json -d 'code=import sys; sys.exit(1)' ;;
        7) curl -s -o /dev/null --max-time 10 "$RUN" -d format=ndjson -d 'code=print(2)' ;;
        *) curl -s -o /dev/null --max-time 10 "$RUN" -d 'code=print(1)' ;;
        esac
    done
    wait_no_runs 5
    p1=$(fd_count "$parent"); l1=$(fd_count "$lpid")
    note "[$MPM] fds: httpd parent $p0 -> $p1, launcher $l0 -> $l1"
    [ "$(launcher_pid)" = "$lpid" ] || fail "the launcher changed"
    [ "$p1" -le $((p0 + 2)) ] || fail "httpd parent fds grew: $p0 -> $p1"
    [ "$l1" -le $((l0 + 2)) ] || fail "launcher fds grew: $l0 -> $l1"
    [ -z "$(zombies)" ] || fail "zombies: $(zombies)"
}
