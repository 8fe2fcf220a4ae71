# helpers.bash — shared helpers of the streaming-format tests (ndjson, sse)
# against a real httpd with mod_pysandbox.
#
# Load with `load helpers`. Each .bats file calls stream_setup_file from its
# setup_file (one throwaway httpd per file, on a free loopback port, MPM from
# STREAM_MPM or the file's MPM variable, default event) and
# stream_teardown_file from teardown_file (stops it by pid, keeps its logs
# under build/test-logs/stream/).
#
# Transport: a file whose name starts with h2_ (a symlink to one of the
# others: h2_framing.bats -> framing.bats) runs the same tests over HTTPS
# with HTTP/2: the httpd gets a TLS port (scripts/httpd.sh, HTTPD_TLS_PORT),
# BASE points there, every curl is switched to --http2 --insecure by a
# .curlrc (CURL_HOME), and every req/post checks that HTTP/2 answered.
#
# Conventions (T is the test's own temporary directory):
#   post NAME FMT CODE [CURL ARGS...]
#                     POST code (urlencoded) with format=FMT to /run; the body
#                     goes to $T/NAME.body, headers to $T/NAME.hdr, the HTTP
#                     status to $HTTP_CODE; fails unless it is 200.
#   req NAME [CURL ARGS...]
#                     any curl request; same files, no status check.
#   events NAME FMT   checks the framing of $T/NAME.body (ndjson or sse) line
#                     by line and writes one normalised event per line to
#                     $T/NAME.ev: {"stream":"stdout"|"stderr","data":STRING}
#                     or {"stream":"exit", ...the exit object}.
#   evcheck NAME JQ   jq -s -e JQ over $T/NAME.ev (the array of events);
#                     dumps the events on failure.
#   header NAME H     value of header H in $T/NAME.hdr (last one, no CR).
#   joined STREAM     jq expression: the concatenated data of STREAM events.

STREAM_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# The suite's runs have uids of their own (603000-603999, moved by
# PYSB_TEST_UID_SHIFT), so it can run beside the CLI suite, whose files
# use 600000-600999 (tests/run-all.sh's lanes).
export HTTPD_UID_FIRST=603000
HTTPD_SH="$STREAM_ROOT/scripts/httpd.sh"
STREAM_LOGS="$STREAM_ROOT/build/test-logs/stream"

# Upper bound on any single request, whatever the run's limits say.
: "${CURL_MAX:=40}"

STREAM_TRANSPORT=h1
case ${BATS_TEST_FILENAME##*/} in h2_*) STREAM_TRANSPORT=h2 ;; esac
# The label of the transport, for test names.
[ "$STREAM_TRANSPORT" = h2 ] && T2="[h2] " || T2=""

# stream_setup_file [EXTRA_CONF_TEXT] — start this file's httpd.
stream_setup_file() {
    local extra_text=${1:-} extra="" try
    if [ ! -f "$STREAM_ROOT/build/mod_pysandbox.so" ]; then
        echo "build/mod_pysandbox.so is missing: run make" >&2
        return 1
    fi
    # Not under BATS_RUN_TMPDIR: that is 0700 and www-data must reach
    # DIR/run (the launcher's socket) and DIR/www.
    SRV_DIR=$(mktemp -d /tmp/pysb-stream.XXXXXX)
    chmod 755 "$SRV_DIR"
    # The run mode (issue 9): warm is the module's default; the cold pass
    # says cold for every Location that does not say otherwise, the warm
    # one (PYSB_TEST_START=warm, tests/run-all.sh) leaves the default.
    local start=$'<Location />\n    PySandboxStart cold\n</Location>'
    [ "${PYSB_TEST_START:-cold}" = warm ] && start=""
    extra="$SRV_DIR/extra.conf"
    printf '%s\n%s\n' "$start" "$extra_text" >"$extra"
    # A free port can be taken between free-port and Listen: try again.
    for try in 1 2 3; do
        PORT=$("$HTTPD_SH" free-port)
        TLS_PORT=""
        [ "$STREAM_TRANSPORT" = h2 ] && TLS_PORT=$("$HTTPD_SH" free-port)
        if [ "$PORT" != "$TLS_PORT" ] && HTTPD_TLS_PORT=$TLS_PORT \
           "$HTTPD_SH" start "$SRV_DIR" "$PORT" "${STREAM_MPM:-${MPM:-event}}" $extra >&2; then
            break
        fi
        "$HTTPD_SH" stop "$SRV_DIR" || true
        [ "$try" -lt 3 ] || return 1
    done
    BASE="http://127.0.0.1:$PORT"
    if [ "$STREAM_TRANSPORT" = h2 ]; then
        BASE="https://127.0.0.1:$TLS_PORT"
        mkdir -p "$SRV_DIR/curl"
        printf -- '--http2\n--insecure\n' > "$SRV_DIR/curl/.curlrc"
        export CURL_HOME="$SRV_DIR/curl"
    fi
    export SRV_DIR PORT BASE
    stream_warm_up
}

# Warm pass: /run's fork server is started by its first request (which
# runs cold); one request, not counted by any test, and READY in the log
# before the tests start, so that they run warm from the first.
stream_warm_up() {
    [ "${PYSB_TEST_START:-cold}" = warm ] || return 0
    curl -sS --max-time 10 -o /dev/null "$BASE/run" --data-urlencode 'user_script=pass' \
        2>/dev/null || true
    local i
    for i in $(seq 50); do
        grep -q "fork server [0-9]* ready" "$SRV_DIR/error.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "warm pass: no fork server ready in 5 s" >&2
}

stream_teardown_file() {
    [ -n "${SRV_DIR:-}" ] || return 0
    "$HTTPD_SH" stop "$SRV_DIR" || true
    mkdir -p "$STREAM_LOGS"
    local base
    base=$(basename "$BATS_TEST_FILENAME" .bats)
    cp "$SRV_DIR/error.log" "$STREAM_LOGS/$base.error.log" 2>/dev/null || true
    cp "$SRV_DIR/access.log" "$STREAM_LOGS/$base.access.log" 2>/dev/null || true
    rm -rf -- "$SRV_DIR"
}

setup() {
    T=$BATS_TEST_TMPDIR
    BG_PIDS=()
}

teardown() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

fail() {
    echo "FAIL: $*" >&2
    return 1
}

# show FILE — the first bytes of a file, for diagnostics.
show() {
    echo "--- $1 ($(wc -c <"$1" 2>/dev/null || echo 0) bytes), first 3000:" >&2
    head -c 3000 "$1" >&2 2>/dev/null
    echo >&2
}

req() {
    local name=$1 rc=0 got version
    shift
    got=$(curl -sS --max-time "$CURL_MAX" -o "$T/$name.body" -D "$T/$name.hdr" \
        -w '%{http_code} %{http_version}' "$@") || rc=$?
    read -r HTTP_CODE version <<<"$got"
    if [ "$rc" -ne 0 ]; then
        fail "curl exited $rc for $name: $*"
        return 1
    fi
    if [ "$STREAM_TRANSPORT" = h2 ] && [ "$version" != 2 ]; then
        fail "$name: answered over HTTP/$version, not HTTP/2"
        return 1
    fi
}

post() {
    local name=$1 fmt=$2 code=$3
    shift 3
    req "$name" "$BASE/run" --data-urlencode "format=$fmt" --data-urlencode "code=$code" "$@" \
        || return 1
    if [ "$HTTP_CODE" != 200 ]; then
        fail "HTTP $HTTP_CODE for $name (want 200)"
        show "$T/$name.body"
        return 1
    fi
}

header() {
    awk -v h="$2" 'BEGIN { h = tolower(h) }
        { sub(/\r$/, "") }
        tolower(substr($0, 1, length(h) + 1)) == h ":" { v = substr($0, length(h) + 2); sub(/^[ \t]+/, "", v) }
        END { print v }' "$T/$1.hdr"
}

# The ndjson framing, line by line: each line one JSON object whose
# "stream" is stdout, stderr or exit; output events carry exactly a string
# "data". -R makes jq parse each line on its own, so an object spread over
# two lines, or two on one line, fails.
NDJSON_JQ='
  . as $line
  | if $line == "" then error("empty line in the ndjson stream") else . end
  | ([fromjson?] | if length == 0 then error("line is not JSON: " + ($line[:200] | tojson)) else .[0] end)
  | if type != "object" then error("line is not a JSON object: " + ($line[:200] | tojson)) else . end
  | if (.stream == "stdout" or .stream == "stderr" or .stream == "exit") | not
      then error("bad stream: " + ($line[:200] | tojson)) else . end
  | if .stream != "exit" and ((keys != ["data", "stream"]) or (.data | type) != "string")
      then error("bad output event: " + ($line[:200] | tojson)) else . end'

# The SSE framing: events separated by one blank line, each exactly an
# "event:" line (stdout, stderr or exit) and a "data:" line whose value
# parses as JSON: a string for output, an object for exit.
SSE_JQ='
  if length == 0 then error("empty SSE body") else . end
  | if (endswith("\n\n") | not) then error("the SSE body does not end with a blank line") else . end
  | .[:-2] | split("\n\n")[]
  | . as $ev | split("\n") as $l
  | if ($l | length) != 2
      then error("event is not exactly an event: line and a data: line: " + ($ev[:300] | tojson)) else . end
  | if ($l[0] | test("^event: ?(stdout|stderr|exit)$") | not)
      then error("bad event line: " + ($l[0][:200] | tojson)) else . end
  | ($l[0] | sub("^event: ?"; "")) as $name
  | if ($l[1] | test("^data: ?") | not) then error("bad data line: " + ($l[1][:200] | tojson)) else . end
  | ($l[1] | sub("^data: ?"; "")) as $d
  | ([$d | fromjson?] | if length == 0 then error("data is not JSON: " + ($d[:200] | tojson)) else .[0] end) as $data
  | if $name == "exit" then
      (if ($data | type) != "object" then error("exit data is not an object") else {stream: "exit"} + $data end)
    else
      (if ($data | type) != "string" then error("output data is not a JSON string: " + ($d[:200] | tojson))
       else {stream: $name, data: $data} end)
    end'

events() {
    local name=$1 fmt=$2 body="$T/$1.body" ev="$T/$1.ev"
    if [ ! -s "$body" ]; then
        fail "$name: empty body"
        return 1
    fi
    # Bytes the program wrote that are not UTF-8 must be U+FFFD by now.
    if ! iconv -f UTF-8 -t UTF-8 "$body" >/dev/null 2>&1; then
        fail "$name: the $fmt body is not valid UTF-8"
        show "$body"
        return 1
    fi
    if [ -n "$(tail -c 1 "$body" | tr -d '\n')" ]; then
        fail "$name: the $fmt body does not end with a newline"
        show "$body"
        return 1
    fi
    if grep -q $'\r' "$body"; then
        fail "$name: CR in the $fmt body"
        return 1
    fi
    # jq 1.6 exits 0 when only an earlier input failed: judge by stderr too.
    local rc=0 jqerr="$T/$name.jqerr"
    case "$fmt" in
    ndjson) jq -R -c "$NDJSON_JQ" "$body" >"$ev" 2>"$jqerr" || rc=$? ;;
    sse) jq -R -s -c "$SSE_JQ" "$body" >"$ev" 2>"$jqerr" || rc=$? ;;
    *) fail "events: unknown format $fmt"; return 1 ;;
    esac
    if [ "$rc" -ne 0 ] || [ -s "$jqerr" ]; then
        fail "$name: $fmt framing check failed (jq exit $rc)"
        head -c 2000 "$jqerr" >&2
        show "$body"
        return 1
    fi
    # Exactly one exit event, and it is the last.
    if ! jq -s -e '(map(select(.stream == "exit")) | length) == 1 and .[-1].stream == "exit"' \
            "$ev" >/dev/null; then
        fail "$name: not exactly one exit event at the end"
        show "$body"
        return 1
    fi
}

evcheck() {
    local name=$1 expr=$2
    if ! jq -s -e "$expr" "$T/$name.ev" >/dev/null; then
        fail "$name: check failed: $expr"
        echo "--- events (data cut to 200 chars):" >&2
        jq -c 'if .data then .data |= .[:200] else . end' "$T/$name.ev" 2>/dev/null | head -n 60 >&2
        return 1
    fi
}

# jq expression over the array of events: all of STREAM's data joined.
joined() {
    printf '([.[] | select(.stream == "%s") | .data] | add // "")' "$1"
}

# exit event of NAME, compact JSON.
exit_of() { jq -c 'select(.stream == "exit")' "$T/$1.ev"; }

# now — seconds since the epoch, float.
now() { date +%s.%N; }

# fcmp A OP B — float comparison with awk (OP one of < <= > >=).
fcmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }

# wait_for SECS CMD… — CMD retried every 50 ms until it succeeds (0) or
# SECS have passed (1): a condition waited for, not a fixed pause that a
# loaded machine may outrun.
wait_for() {
    local secs=$1 t0
    shift
    t0=$(now)
    until "$@"; do
        fcmp "$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b - a}')" '>' "$secs" && return 1
        sleep 0.05
    done
}

# sandbox_procs — processes whose real or effective uid is in the suite's
# PySandboxUserRange.
sandbox_procs() {
    local a=$((HTTPD_UID_FIRST + ${PYSB_TEST_UID_SHIFT:-0})) b=$((HTTPD_UID_FIRST + 999 + ${PYSB_TEST_UID_SHIFT:-0}))
    ps -e -o pid=,ruid=,euid=,args= | awk -v a="$a" -v b="$b" '($2 >= a && $2 <= b) || ($3 >= a && $3 <= b)'
}
