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

leave_on() {
    local port=$1
    shift
    wait_no_runs 5 || return 1
    OUT=$(python3 "$NETCLIENT" "$@" --port "$port" --uids "$RUN_UID_FIRST-$RUN_UID_LAST" 3>&-) ||
        { fail "$*: $OUT"; return 1; }
    GONE=$(jq -r .gone_ms <<<"$OUT")
}

# gone_fast LABEL: the run went within GONE_MAX_MS.
gone_fast() {
    note "[$MPM] $1: run gone after $GONE ms"
    [ "$GONE" != null ] && fgt "$GONE_MAX_MS" "$GONE" ||
        fail "$1: run gone after $GONE ms (over $GONE_MAX_MS): $OUT"
}

has_run() { [ -n "$(uid_procs)" ]; }
no_runs() { [ -z "$(run_procs)" ]; }
