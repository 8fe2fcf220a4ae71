# helpers.bash — shared helpers of the end-to-end tests: a real, throwaway
# Apache httpd with mod_pysandbox (scripts/httpd.sh), driven with curl and
# checked with jq.
#
# Load with `load helpers` after setting, at the top of the .bats file:
#   RUN_UID_FIRST   first uid of the file's own PySandboxUserRange (a block
#                   of RUN_UID_COUNT ids). Blocks live in 601000-601299,
#                   outside 600000-600999 on purpose: the CLI suite
#                   (600100-600999) and any httpd of the benchmarks with
#                   the default range (600000-600999, handed out
#                   round-robin) may run at the same time on a developer's
#                   machine, and a private block is what makes "no process
#                   of this file's runs is left" an exact check.
#
# Conventions:
#   e2e_start MPM [EXTRA]  (setup_file) start one httpd in a fresh mktemp
#                   directory on a free port; EXTRA is config text appended
#                   to conf/httpd-test.conf.in (the PySandboxUserRange line
#                   is added here). Exports H (its directory), PORT, URL.
#                   MPM is event or prefork; MPM+tls adds a TLS port (HTTPS
#                   with HTTP/2 and HTTP/1.1, a certificate made by
#                   openssl) and points URL there, with curl made to trust
#                   it by a .curlrc in CURL_HOME (so even curl in a
#                   subprocess does); h2 is event+tls with every request
#                   over HTTP/2 (the .curlrc adds --http2, and every
#                   expect_code checks the answer came over HTTP/2).
#                   PLAIN_URL is then the plain port, TLS_PORT the TLS one;
#                   CURL_T holds the .curlrc's options again for a transfer
#                   after curl's --next (a .curlrc applies to the first
#                   only). HTTP_PROTO is the request's protocol as the
#                   access log shows it.
#   e2e_stop        (teardown_file) stop it, then fail unless nothing of it
#                   is left: no process of the uid block, no launcher or
#                   supervisor of this httpd, no socket file, no crash in
#                   the error log. Leftovers are killed by pid afterwards.
#   req CURL_ARGS… URL  one request, bounded (--max-time $REQ_MAX, default
#                   25 s); sets $HTTP_CODE, $RESP_BODY, $RESP_H/$RESP_B (files).
#   expect_code N / expect_header NAME ERE / expect_json JQ / body_has S
#   header NAME / header_only NAME / trailer NAME  a field of the last
#                   response (headers and trailers, the last value wins) /
#                   its headers alone / its trailers alone
#   expect_run_id   X-PySandbox-Run-Id is a UUID
#   expect_one_line the body is exactly one non-empty line
#   run_procs       the processes of this httpd's runs still alive (uid
#                   block + supervisors), one per line; empty = none.
#   launcher_pid    the pysb-launcher child of the httpd parent.
#
# Processes are only ever signalled by pid, found by their uid block, or by
# being children of this file's httpd parent, or (supervisors orphaned by a
# launcher's death) by having this httpd's error log as their stderr.

E2E_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# PYSB_TEST_UID_SHIFT moves every uid block of the suites (CLI, e2e,
# stream, browser) by that many ids, so two checkouts can run their tests
# at once without sharing run uids (tests/run-all.sh passes it on).
[ -n "${RUN_UID_FIRST:-}" ] && RUN_UID_FIRST=$((RUN_UID_FIRST + ${PYSB_TEST_UID_SHIFT:-0}))
HTTPD_SH="$E2E_ROOT/scripts/httpd.sh"
APACHE2=/usr/sbin/apache2
: "${RUN_UID_COUNT:=10}"
: "${REQ_MAX:=25}"
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

# A launcher socket left after stop fails teardown_file (set to 1 to only
# note it, e.g. while investigating a regression).
: "${E2E_KNOWN_BUG_SOCKET_LEFT:=0}"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b - a}'; }
# fgt A B: A > B (floats)
fgt() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a > b)}'; }

note() { echo "# $*" >&3; }

# ---- the server ---------------------------------------------------------

e2e_require() {
    local missing=""
    for c in curl jq "$APACHE2" python3; do
        command -v "$c" >/dev/null 2>&1 || missing+=" $c"
    done
    [ -z "$missing" ] || { echo "e2e: missing:$missing" >&2; return 1; }
    [ -f "$E2E_ROOT/build/mod_pysandbox.so" ] ||
        { echo "e2e: build/mod_pysandbox.so not built (run make)" >&2; return 1; }
    [ -n "${RUN_UID_FIRST:-}" ] || { echo "e2e: RUN_UID_FIRST not set" >&2; return 1; }
}

# e2e_start MPM|MPM+tls|h2 [EXTRA_TEXT]
e2e_start() {
    local mpm=$1 extra=${2:-} try transport=h1
    e2e_require || return 1
    export RUN_UID_FIRST RUN_UID_LAST=$((RUN_UID_FIRST + RUN_UID_COUNT - 1))
    case $mpm in
    h2) transport=h2; mpm=event ;;
    *+tls) transport=tls; mpm=${mpm%+tls} ;;
    esac
    # the file's label: h2, or the MPM
    [ "$transport" = h2 ] && export MPM=h2 || export MPM=$mpm
    export E2E_TRANSPORT=$transport HTTP_PROTO=HTTP/1.1 TLS_PORT=""
    [ "$transport" = h2 ] && HTTP_PROTO=HTTP/2.0
    H=$(mktemp -d /tmp/pysb-e2e.XXXXXX)
    export H
    # Warm is the module's default (issue 9): the cold pass says cold for
    # every Location that does not say otherwise; PYSB_TEST_START=warm
    # (tests/run-all.sh's second pass) leaves the default.
    local start=$'<Location />\n    PySandboxStart cold\n</Location>'
    e2e_warm && start=""
    printf 'PySandboxUserRange %s %s\n%s\n%s\n' "$RUN_UID_FIRST" "$RUN_UID_LAST" "$start" "$extra" \
        > "$H/extra.conf"
    for try in 1 2 3; do
        PORT=$("$HTTPD_SH" free-port)
        [ "$transport" = h1 ] || TLS_PORT=$("$HTTPD_SH" free-port)
        # fd 3 closed: a daemon holding bats' fd 3 would hang the suite.
        if [ "$PORT" != "$TLS_PORT" ] &&
           HTTPD_TLS_PORT=$TLS_PORT "$HTTPD_SH" start "$H" "$PORT" "$mpm" "$H/extra.conf" \
               >"$H/start.log" 2>&1 3>&-; then
            export PORT URL="http://127.0.0.1:$PORT" PLAIN_URL="http://127.0.0.1:$PORT"
            [ "$transport" = h1 ] || URL="https://127.0.0.1:$TLS_PORT"
            e2e_curl_transport "$transport"
            E2E_PARENT=$(cat "$H/httpd.pid")
            export E2E_PARENT
            echo "$E2E_PARENT" > "$H/parents"
            e2e_warm_up
            return 0
        fi
        # a port taken between free-port and Listen: try another one
        "$HTTPD_SH" stop "$H" 3>&- >/dev/null 2>&1 || true
    done
    cat "$H/start.log" >&2
    return 1
}

# The suites' mode: PYSB_TEST_START=warm runs every Location warm.
e2e_warm() { [ "${PYSB_TEST_START:-cold}" = warm ]; }

# Warm mode: the launcher starts the fork server of /run's key on its first
# warm request; one request (not counted by any test) and READY in the log
# before the tests start, so that they run warm from their first request.
e2e_warm_up() {
    e2e_warm || return 0
    curl -q -sS --max-time 10 "${CURL_T[@]}" -o /dev/null "$URL/run" \
        --data-urlencode 'user_script=pass' 2>/dev/null || true
    wait_until 5 grep -q "fork server [0-9]* ready" "$H/error.log" ||
        echo "warm mode: no fork server ready in 5 s" >&2
}

# curl's defaults for the transport: a .curlrc (read by every curl that
# is not given -q first).
e2e_curl_transport() {
    CURL_T=()
    case $1 in
    h2) CURL_T=(--http2 --insecure) ;;
    tls) CURL_T=(--insecure) ;;
    *) return 0 ;;
    esac
    mkdir -p "$H/curl"
    printf '%s\n' "${CURL_T[@]}" > "$H/curl/.curlrc"
    export CURL_HOME="$H/curl"
    # bash cannot export arrays: the file's tests see it through this.
    export CURL_T_LIST="${CURL_T[*]}"
}
read -r -a CURL_T <<<"${CURL_T_LIST:-}"

# The processes of this httpd, whatever happened to their parents.
# pysb_procs COMM: pids named COMM whose stderr is this httpd's error log.
pysb_procs() {
    local p
    for p in $(ps -e -o pid=,comm= | awk -v c="$1" '$2 == c {print $1}'); do
        [ "$(readlink "/proc/$p/fd/2" 2>/dev/null)" = "$H/error.log" ] && echo "$p"
    done
    return 0
}

httpd_parent() { cat "$H/httpd.pid" 2>/dev/null; }

# parent_gone PID: no such apache2 process, or only its zombie.
parent_gone() {
    local st
    st=$(ps -o stat=,comm= -p "$1" 2>/dev/null) || return 0
    [[ $st != *apache2* || $st == Z* ]]
}

# proc_gone PID: no such process, or only a zombie (an orphan's zombie
# waits for init).
proc_gone() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    [[ $st == Z* ]]
}

launcher_pid() {
    local pp
    pp=$(httpd_parent) || return 0
    [ -n "$pp" ] || return 0
    ps --ppid "$pp" -o pid=,comm= | awk '$2 == "pysb-launcher" {print $1}'
}

worker_pids() {
    local pp
    pp=$(httpd_parent) || return 0
    ps --ppid "$pp" -o pid=,comm= | awk '$2 != "pysb-launcher" {print $1}'
}

# The run programs (interpreters) of this file's block alive now. Not by
# their command line alone: a warm run's reaper is a copy of the fork
# server, so its command line is the interpreter's too (its name is
# pysb-reaper).
n_run_pythons() {
    ps -e -o ruid=,euid=,comm=,args= |
        awk -v a="$RUN_UID_FIRST" -v b="$RUN_UID_LAST" \
            '(($1 >= a && $1 <= b) || ($2 >= a && $2 <= b)) && $3 != "pysb-reaper" && /python3/' |
        wc -l
}

# Processes whose real or effective uid is in this file's block.
uid_procs() {
    ps -e -o pid=,ruid=,euid=,stat=,args= |
        awk -v a="$RUN_UID_FIRST" -v b="$RUN_UID_LAST" \
            '($2 >= a && $2 <= b) || ($3 >= a && $3 <= b)' | cut -c1-200
}

# Everything of this httpd's runs that is alive: run processes (uid block)
# and supervisors (pysb-run).
run_procs() {
    local p
    uid_procs
    for p in $(pysb_procs pysb-run); do
        echo "$p pysb-run (supervisor) $(ps -o stat= -p "$p" 2>/dev/null)"
    done
}

# wait_no_runs SECONDS: until run_procs is empty; 1 (and the list) if not.
wait_no_runs() {
    local t0 left
    t0=$(now)
    while :; do
        left=$(run_procs)
        [ -z "$left" ] && return 0
        fgt "$(elapsed "$t0")" "$1" && break
        sleep 0.05
    done
    echo "run processes still alive after $1 s:" >&2
    echo "$left" >&2
    return 1
}

# wait_until SECONDS CMD…: poll CMD every 50 ms.
wait_until() {
    local secs=$1 t0
    shift
    t0=$(now)
    until "$@"; do
        fgt "$(elapsed "$t0")" "$secs" && return 1
        sleep 0.05
    done
}

# Zombies whose parent is this httpd's parent, launcher, a worker or a
# supervisor, and that stay zombies for more than 1.5 s (httpd's parent
# reaps its children about once a second: a child it just stopped is a
# zombie for a moment).
zombies() {
    local z1 z2
    z1=$(zombies_now)
    [ -n "$z1" ] || return 0
    sleep 1.5
    z2=$(zombies_now)
    comm -12 <(sort <<<"$z1") <(sort <<<"$z2")
}

zombies_now() {
    local parents
    parents=" $(httpd_parent) $(launcher_pid) $(worker_pids) $(pysb_procs pysb-run) "
    parents=$(echo $parents)
    ps -e -o pid=,ppid=,stat=,comm= | awk -v ps=" $parents " \
        '$3 ~ /^Z/ && index(ps, " " $2 " ") {print}'
}

fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

socket_files() { ls "$H"/run/pysandbox.*.sock 2>/dev/null || true; }

# Stop the httpd, wait for its processes to go; print what is left.
e2e_stop_and_list() {
    "$HTTPD_SH" stop "$H" >/dev/null 2>&1 3>&- || true
    wait_until 5 no_httpd_procs || true
    list_httpd_procs
}

# Every process of this httpd that could be left: parent(s) seen, launchers,
# supervisors, run uids.
list_httpd_procs() {
    local p
    for p in $(cat "$H/parents" 2>/dev/null); do
        parent_gone "$p" || echo "$p httpd parent still running"
    done
    for p in $(pysb_procs pysb-launcher); do echo "$p pysb-launcher"; done
    for p in $(pysb_procs pysb-run); do echo "$p pysb-run"; done
    for p in $(pysb_procs pysb-forkserver); do echo "$p pysb-forkserver"; done
    uid_procs
}

no_httpd_procs() { [ -z "$(list_httpd_procs)" ]; }

# teardown_file: stop, check, clean up. Fails (after cleaning) on leftovers.
e2e_stop() {
    [ -n "${H:-}" ] && [ -d "$H" ] || return 0
    local left sockets crash rc=0 p
    left=$(e2e_stop_and_list)
    sockets=$(socket_files)
    crash=$(grep -E 'exit signal|Segmentation|AH00052|AH00051|AH00060' "$H/error.log" 2>/dev/null || true)
    if [ -n "$left" ]; then
        echo "leftovers after stopping httpd ($H):" >&2
        echo "$left" >&2
        rc=1
        # clean up by pid: uid block, then this httpd's pysb processes
        for p in $(echo "$left" | awk '{print $1}'); do kill -KILL "$p" 2>/dev/null || true; done
    fi
    if [ -n "$sockets" ]; then
        if [ "$E2E_KNOWN_BUG_SOCKET_LEFT" = 1 ]; then
            note "known module bug: launcher socket left after stop: $sockets"
        else
            echo "socket file(s) left after stop: $sockets" >&2
            rc=1
        fi
    fi
    if [ -n "$crash" ]; then
        echo "crashes in the error log:" >&2
        echo "$crash" >&2
        rc=1
    fi
    if [ "$rc" = 0 ] && [ -z "${PYSB_E2E_KEEP:-}" ]; then
        rm -rf -- "$H"
    else
        echo "httpd directory kept: $H" >&2
    fi
    return "$rc"
}

# ---- requests -----------------------------------------------------------

REQ_N=0
# req CURL_ARGS… URL
req() {
    REQ_N=$((REQ_N + 1))
    RESP_H="$BATS_TEST_TMPDIR/resp.$REQ_N.h"
    RESP_B="$BATS_TEST_TMPDIR/resp.$REQ_N.b"
    REQ_ARGS=("$@")
    local got
    got=$(curl -sS --max-time "$REQ_MAX" -D "$RESP_H" -o "$RESP_B" -w '%{http_code} %{http_version}' "$@" 2>"$RESP_B.err") || true
    read -r HTTP_CODE HTTP_VERSION <<<"$got"
    RESP_BODY=$(cat "$RESP_B" 2>/dev/null) || RESP_BODY=""
    return 0
}

# header NAME: the value in the last header block of the last response
# (its trailers included: curl -D writes them after the headers' blank
# line; the last value wins). header_only NAME: the headers alone;
# trailer NAME: the trailers alone.
header() { field_of "$1" all; }
header_only() { field_of "$1" headers; }
trailer() { field_of "$1" trailers; }

# field_of NAME all|headers|trailers
field_of() {
    awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -v want="$2" '
        /^HTTP\// { delete v; part = "headers"; next }
        { sub(/\r$/, "") }
        $0 == "" { part = "trailers"; next }
        want != "all" && part != want { next }
        { i = index($0, ":"); if (!i) next
          k = tolower(substr($0, 1, i - 1)); x = substr($0, i + 1); sub(/^[ \t]+/, "", x); v[k] = x }
        END { if (n in v) print v[n] }' "$RESP_H"
}

dump() {
    {
        if [ -n "${RESP_H:-}" ]; then
            echo "--- last request: curl ${REQ_ARGS[*]:0:12}"
            echo "--- HTTP status: ${HTTP_CODE:-} (HTTP/${HTTP_VERSION:-?}) $(cat "$RESP_B.err" 2>/dev/null)"
            echo "--- headers:"; tr -d '\r' < "$RESP_H" 2>/dev/null
            echo "--- body (first 2000 bytes):"; head -c 2000 "$RESP_B" 2>/dev/null; echo
        fi
        echo "--- error.log (last 8 lines):"; tail -n 8 "$H/error.log" 2>/dev/null
    } >&2
}

fail() {
    echo "FAIL: $*" >&2
    dump
    return 1
}

# expect_code N: the status; over the h2 transport, and HTTP/2 it was.
expect_code() {
    [ "$HTTP_CODE" = "$1" ] || { fail "expected HTTP $1, got $HTTP_CODE"; return 1; }
    [ "${E2E_TRANSPORT:-h1}" != h2 ] || [ "$HTTP_VERSION" = 2 ] ||
        fail "expected an HTTP/2 answer, got HTTP/$HTTP_VERSION"
}

# expect_header NAME ERE
expect_header() {
    local v
    v=$(header "$1")
    [[ "$v" =~ $2 ]] || fail "header $1 is '$v', expected /$2/"
}

expect_run_id() { expect_header X-PySandbox-Run-Id "$UUID_RE"; }

expect_json() {
    jq -e "$1" "$RESP_B" >/dev/null 2>&1 || fail "jq check failed: $1"
}

body_has() {
    grep -qF -- "$1" "$RESP_B" || fail "body lacks: $1"
}

body_lacks() {
    ! grep -qF -- "$1" "$RESP_B" || fail "body unexpectedly has: $1"
}

expect_one_line() {
    local n
    n=$(wc -l < "$RESP_B")
    [ "$n" = 1 ] && [ -n "$(head -n1 "$RESP_B")" ] ||
        fail "expected a one-line body, got $n line(s)"
}

# An error answer: status, run id, one-line body matching ERE.
# expect_refusal STATUS ERE
expect_refusal() {
    expect_code "$1" || return 1
    expect_run_id || return 1
    expect_one_line || return 1
    grep -qE -- "$2" "$RESP_B" || fail "body does not match /$2/"
}

# The text report of a run: the last four lines are the safeexec report
# whose first line is VERDICT.
expect_text_report() {
    local n
    n=$(wc -l < "$RESP_B")
    [ "$n" -ge 4 ] || { fail "text report too short"; return 1; }
    [ "$(tail -n 4 "$RESP_B" | sed -n 1p)" = "$1" ] || { fail "verdict line is not: $1"; return 1; }
    tail -n 3 "$RESP_B" | sed -n 1p | grep -qE '^elapsed time: [0-9]+\.[0-9]+ seconds$' || { fail "bad elapsed line"; return 1; }
    tail -n 2 "$RESP_B" | sed -n 1p | grep -qE '^memory usage: [0-9]+ kbytes$' || { fail "bad memory line"; return 1; }
    tail -n 1 "$RESP_B" | grep -qE '^cpu usage: [0-9]+\.[0-9]+ seconds$' || { fail "bad cpu line"; return 1; }
}

# access_line ERE [SECONDS]: the access log line matching ERE (the log is
# written after the response, so wait for it).
access_line() {
    local t0 line
    t0=$(now)
    while :; do
        line=$(grep -E -- "$1" "$H/access.log" 2>/dev/null | tail -n 1)
        [ -n "$line" ] && { echo "$line"; return 0; }
        fgt "$(elapsed "$t0")" "${2:-3}" && return 1
        sleep 0.05
    done
}

# Background processes of a test: spawn CMD… runs CMD in the background
# (fd 3 closed, or bats would wait for it) and remembers it; teardown kills
# whatever a test left running, by pid. A file may define its own
# setup/teardown after `load helpers`; all of ours share these.
setup() { BG_PIDS=(); }

# kill_tree PID: SIGKILL to PID and every descendant (a background
# pipeline's pid is its subshell's; the curl inside would outlive it and
# hold its run into the next test).
kill_tree() {
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do kill_tree "$c"; done
    kill -KILL "$1" 2>/dev/null || true
}

teardown() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill_tree "$p"
        wait "$p" 2>/dev/null || true
    done
}

spawn() {
    "$@" 3>&- &
    BG_PIDS+=("$!")
}

# bg_req PREFIX CURL_ARGS…: a request in the background; the body goes to
# PREFIX.b, the HTTP status (000 if curl failed) to PREFIX.c, the headers
# to PREFIX.h, the seconds it took to PREFIX.t.
bg_req() {
    local p=$1
    shift
    { curl -s --max-time 20 -D "$p.h" -o "$p.b" -w '%{http_code} %{time_total}\n' "$@" |
          { read -r c t || true; echo "$c" > "$p.c"; echo "$t" > "$p.t"; }; } 3>&- &
    BG_PIDS+=("$!")
}

# bg_wait: waits for every request bg_req started.
bg_wait() {
    local p
    for p in "${BG_PIDS[@]}"; do wait "$p" || true; done
}
