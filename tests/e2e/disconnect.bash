# disconnect.bash — helpers of the disconnect tests (disconnect_<mpm>.bats,
# h2_streams.bats), loaded after helpers.bash: the clients of
# tests/tools/netclient.py, each of which starts a run, leaves in one
# manner, and prints one JSON line with how long the run then took to go
# (gone_ms, null if it outlived the wait) and whether everything else held
# (ok).

NETCLIENT="$E2E_ROOT/tests/tools/netclient.py"
# The issue's bound: a run whose client left is gone within this.
GONE_MAX_MS=200

# leave SCENARIO [ARGS…]: the client against the plain port, once no run
# of this file is alive; leave_tls against the TLS port. Sets $OUT (its
# JSON line) and $GONE (ms, or null).
leave() { leave_on "$PORT" "$@"; }
leave_tls() { leave_on "$TLS_PORT" "$@" --tls; }

# A run that went, but later than GONE_MAX_MS, is tried once more: on a
# shared 2-core machine a scheduling stall can delay one; a run that is
# not killed at all (gone_ms null) fails at once.
leave_on() {
    local port=$1 try
    shift
    for try in 1 2; do
        wait_no_runs 5 || return 1
        OUT=$(python3 "$NETCLIENT" "$@" --port "$port" --uids "$RUN_UID_FIRST-$RUN_UID_LAST" 3>&-) ||
            { fail "$*: $OUT"; return 1; }
        GONE=$(jq -r .gone_ms <<<"$OUT")
        [ "$GONE" != null ] && fgt "$GONE_MAX_MS" "$GONE" && return 0
        [ "$GONE" = null ] && return 0
        note "[$MPM] $*: run gone after $GONE ms, over $GONE_MAX_MS: once more"
    done
}

# gone_fast LABEL: the run went within GONE_MAX_MS.
gone_fast() {
    note "[$MPM] $1: run gone after $GONE ms"
    [ "$GONE" != null ] && fgt "$GONE_MAX_MS" "$GONE" ||
        fail "$1: run gone after $GONE ms (over $GONE_MAX_MS): $OUT"
}

# curl_killed URL: a silent run over curl (with the file's .curlrc), curl
# SIGKILLed once the run is there; fails unless the run is gone within 1 s.
curl_killed() {
    local t0
    wait_no_runs 5
    spawn curl -s -o /dev/null "$1/run" --data-urlencode 'code=import time; time.sleep(30)'
    wait_until 5 has_run || { fail "the run did not start ($1)"; return 1; }
    kill -KILL "${BG_PIDS[-1]}"
    t0=$(now)
    wait_until 1 no_runs || { fail "the run outlived curl by 1 s ($1): $(run_procs)"; return 1; }
    note "[$MPM] curl killed ($1): run gone after $(elapsed "$t0") s"
}

has_run() { [ -n "$(uid_procs)" ]; }
no_runs() { [ -z "$(run_procs)" ]; }
