#!/usr/bin/env bats
# fair.bats — PySandboxMaxRunsPerClient and PySandboxClientKey (DESIGN §2
# "Admission"): one client holds at most n slots and n queue places, then
# 429 with Retry-After; a client is its address (127.0.0.2 is another
# client than 127.0.0.1 on loopback), REMOTE_USER, or a header; and a
# flooding client does not raise another's p50 by more than 2×, while
# without a share it does (the flood is tools/loadgen.py); a client's
# further runs are niced only while another client is there.

RUN_UID_FIRST=601240
load helpers

setup_file() {
    e2e_start event "PySandboxMaxRuns 4
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
<Location /fair>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxRunsPerClient 2
</Location>
<Location /open>
    SetHandler pysandbox
    Require all granted
</Location>
<Location /byheader>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxRunsPerClient 1
    PySandboxClientKey header X-Forwarded-For
</Location>
<Location /byuser>
    SetHandler pysandbox
    AuthType Basic
    AuthName sandbox
    AuthUserFile passwd
    Require valid-user
    PySandboxMaxRunsPerClient 1
    PySandboxClientKey user
</Location>
<Location /status>
    SetHandler pysandbox-status
    Require all granted
</Location>"
    python3 -c 'import crypt' 2>/dev/null || true
    # two users, password "pw" (htpasswd's {SHA} form, no apache2-utils needed)
    local h
    h=$(printf pw | openssl dgst -sha1 -binary | base64)
    printf 'ann:{SHA}%s\nbob:{SHA}%s\n' "$h" "$h" > "$H/passwd"
    export LOADGEN="$E2E_ROOT/tools/loadgen.py"
}

teardown_file() { e2e_stop; }

json() { curl -s --max-time 5 "$URL/status?json"; }
running_is() { [ "$(json | jq .slots.running)" -ge "$1" ]; }
queued_is() { [ "$(json | jq .slots.queued)" -ge "$1" ]; }

# holds_share VALUE: a client of /byheader (X-Forwarded-For: VALUE) in
# its one slot (a 4 s run: it outlasts the checks made while it is held,
# on a loaded machine too) and its one queue place.
holds_share() {
    bg_req "$BATS_TEST_TMPDIR/s$RANDOM" "$URL/byheader" -H "X-Forwarded-For: $1" \
        --data-urlencode 'code=import time; time.sleep(4)'
    wait_until 3 running_is 1 || fail "not running"
    bg_req "$BATS_TEST_TMPDIR/s$RANDOM" "$URL/byheader" -H "X-Forwarded-For: $1" \
        --data-urlencode 'code=print(2)'
    wait_until 3 queued_is 1 || fail "the same client did not wait: $(json)"
}

@test "429 beyond a client's share of 2 slots and 2 places; another address is served at once" {
    local i code
    # the first two hold the share's slots for 4 s, past every check below
    # on a loaded machine; the two queued behind them (they are sent once
    # those run) are short
    for i in 1 2 3 4; do
        code='import time; time.sleep(4)'
        [ "$i" -gt 2 ] && code="print($i)"
        bg_req "$BATS_TEST_TMPDIR/f$i" --interface 127.0.0.2 "$URL/fair" --data-urlencode "code=$code"
        [ "$i" = 2 ] && { wait_until 3 running_is 2 || fail "not running: $(json)"; }
    done
    wait_until 3 queued_is 2 || fail "not waiting: $(json)"
    # the fifth from 127.0.0.2: over both, refused at once
    req --interface 127.0.0.2 "$URL/fair" --data-urlencode 'code=print(5)'
    expect_refusal 429 'holds its share of 2 run slots \(PySandboxMaxRunsPerClient\)'
    expect_header Retry-After '^[1-9][0-9]*$'
    # another client, from 127.0.0.1: two slots are free for it
    local t0
    t0=$(now)
    req "$URL/fair" -d format=json --data-urlencode 'code=print("other")'
    expect_code 200
    expect_json '.stdout == "other\n"'
    # not queued behind the flood (a slot of its would free after 4 s)
    fgt 2 "$(elapsed "$t0")" || fail "the other client waited $(elapsed "$t0") s"
    json | jq -e '[.running[].client] | (map(select(. == "ip:127.0.0.2")) | length) == 2' >/dev/null ||
        fail "runs: $(json | jq -c .running)"
    bg_wait
    for i in 1 2 3 4; do
        [ "$(cat "$BATS_TEST_TMPDIR/f$i.c")" = 200 ] || fail "flood request $i: HTTP $(cat "$BATS_TEST_TMPDIR/f$i.c")"
    done
}

@test "PySandboxClientKey header: the last item of the header names the client" {
    bg_req "$BATS_TEST_TMPDIR/h1" "$URL/byheader" -H "X-Forwarded-For: 203.0.113.9, 10.0.0.1" \
        --data-urlencode 'code=import time; time.sleep(4)'
    wait_until 3 running_is 1 || fail "not running"
    json | jq -e '.running[0].client == "header:10.0.0.1"' >/dev/null || fail "$(json | jq -c .running)"
    bg_req "$BATS_TEST_TMPDIR/h2" "$URL/byheader" -H "X-Forwarded-For: 10.0.0.1" \
        --data-urlencode 'code=print(2)'
    wait_until 3 queued_is 1 || fail "the same client did not wait: $(json)"
    # the same address, another header value: another client, one share each
    req "$URL/byheader" -H "X-Forwarded-For: 10.0.0.2" --data-urlencode 'code=print(3)'
    expect_code 200
    req "$URL/byheader" -H "X-Forwarded-For: 198.51.100.1,10.0.0.1" --data-urlencode 'code=print(4)'
    expect_code 429
    bg_wait
}

@test "PySandboxClientKey header: a request without the header, or with it empty, is its address (contract8)" {
    bg_req "$BATS_TEST_TMPDIR/n1" "$URL/byheader" --data-urlencode 'code=import time; time.sleep(4)'
    wait_until 3 running_is 1 || fail "not running"
    json | jq -e '.running[0].client == "ip:127.0.0.1"' >/dev/null || fail "$(json | jq -c .running)"
    bg_req "$BATS_TEST_TMPDIR/n2" "$URL/byheader" -H "X-Forwarded-For:" --data-urlencode 'code=print(2)'
    wait_until 3 queued_is 1 || fail "the same address did not wait: $(json)"
    json | jq -e '.queued[0].client == "ip:127.0.0.1"' >/dev/null || fail "$(json | jq -c .queued)"
    req "$URL/byheader" --data-urlencode 'code=print(3)'
    expect_code 429
    bg_wait
}

@test "PySandboxClientKey header: values that differ past 121 bytes, or only in non-ASCII bytes, are two clients" {
    local long1 long2
    long1="$(printf 'a%.0s' $(seq 1 200))1"
    long2="$(printf 'a%.0s' $(seq 1 200))2"
    # the same client's third is 429; the other long value is another
    # client with a share of its own
    holds_share "$long1"
    # a readable head, then a hash of the whole value; at most 128 bytes
    json | jq -e '.running[0].client | test("^header:a+~[0-9a-f]{16}$") and length <= 128' >/dev/null ||
        fail "$(json | jq -c .running)"
    req "$URL/byheader" -H "X-Forwarded-For: $long1" --data-urlencode 'code=print(3)'
    expect_code 429
    req "$URL/byheader" -H "X-Forwarded-For: $long2" --data-urlencode 'code=print(4)'
    expect_code 200
    # nobody can send the hashed key itself (as the status page shows it)
    # and be taken for that client: a value with a '~' is hashed as well
    local shown
    shown=$(json | jq -r '.running[0].client')
    req "$URL/byheader" -H "X-Forwarded-For: ${shown#header:}" --data-urlencode 'code=print(5)'
    expect_code 200
    bg_wait
    holds_share $'caf\xc3\xa9'
    req "$URL/byheader" -H $'X-Forwarded-For: caf\xc3\xb1' --data-urlencode 'code=print(6)'
    expect_code 200
    bg_wait
}

@test "PySandboxClientKey user: REMOTE_USER names the client" {
    bg_req "$BATS_TEST_TMPDIR/u1" -u ann:pw "$URL/byuser" --data-urlencode 'code=import time; time.sleep(4)'
    wait_until 3 running_is 1 || fail "not running"
    json | jq -e '.running[0].client == "user:ann"' >/dev/null || fail "$(json | jq -c .running)"
    bg_req "$BATS_TEST_TMPDIR/u2" -u ann:pw "$URL/byuser" --data-urlencode 'code=print(2)'
    wait_until 3 queued_is 1 || fail "ann's second did not wait"
    req -u ann:pw "$URL/byuser" --data-urlencode 'code=print(3)'
    expect_code 429
    req -u bob:pw "$URL/byuser" --data-urlencode 'code=print(4)'
    expect_code 200
    bg_wait
}

# victim_p50 LOCATION: p50 (ms) of 8 requests, one after another, from 127.0.0.1.
victim_p50() {
    python3 "$LOADGEN" "$URL/$1" --mix short --requests 8 --source 127.0.0.1 | jq .p50_ms
}

# flood LOCATION SECONDS: 8 connections from 127.0.0.2 in a closed loop
# (a 429 is retried after 50 ms, twenty times sooner than Retry-After asks:
# an unpaced loop on these two cores would measure the flooder's own CPU).
flood() {
    python3 "$LOADGEN" "$URL/$1" --mix short --clients 8 --duration "$2" --source 127.0.0.2 \
        --pause-429 50 > "$BATS_TEST_TMPDIR/flood.$1.json" 3>&- &
    BG_PIDS+=("$!")
    sleep 0.7
}

# ratio LOCATION: victim p50 under flood over alone, alone and flooded
# alternately (three rounds, medians), so drift of the machine's load
# falls on both.
ratio() {
    local base=() flooded=() i
    for i in 1 2 3; do
        base+=("$(victim_p50 "$1")")
        flood "$1" 3
        flooded+=("$(victim_p50 "$1")")
        bg_wait
        BG_PIDS=()
    done
    local b f
    b=$(printf '%s\n' "${base[@]}" | sort -n | sed -n 2p)
    f=$(printf '%s\n' "${flooded[@]}" | sort -n | sed -n 2p)
    echo "$b $f $(awk -v a="$b" -v b="$f" 'BEGIN{printf "%.2f", b / a}')"
}

@test "a flooding client raises another's p50 at most 2x with a share of 2; without one, more" {
    local fair open
    read -r fb ff fr <<<"$(ratio fair)"
    note "PySandboxMaxRunsPerClient 2: victim p50 ${fb} ms alone, ${ff} ms under flood: ${fr}x"
    jq -c '{codes, correct}' "$BATS_TEST_TMPDIR/flood.fair.json" | sed 's/^/# flood: /' >&3
    read -r ob of or <<<"$(ratio open)"
    note "no share:                   victim p50 ${ob} ms alone, ${of} ms under flood: ${or}x"
    # the flood really flooded: its share held, the rest refused
    jq -e '.codes."429" > 20' "$BATS_TEST_TMPDIR/flood.fair.json" >/dev/null || fail "no 429s"
    fgt 2 "$fr" || fail "with a share the victim's p50 rose ${fr}x"
    fgt "$or" 2 || fail "without a share the flood cost the victim only ${or}x: the test proves nothing"
}

# nices_of PREFIX…: the nice each background run printed, sorted, on one line.
nices_of() {
    local p
    for p in "$@"; do jq -r .stdout "$p.b" | tr -d '\n'; echo; done | sort -n | tr '\n' ' '
}

@test "nice: a lone client's parallel runs all keep nice 0; with another client present, its second and third get 10 and 15" {
    # 2 s runs: the three of a client overlap, and the other client's 4 s
    # run is there for all of them, however slowly their requests start
    local nice_code='import os, time; time.sleep(2); print(os.getpriority(os.PRIO_PROCESS, 0))' i
    # the earlier tests' clients count as present for a second after their
    # last run ended
    wait_no_runs 10
    sleep 1.1
    for i in 1 2 3; do
        bg_req "$BATS_TEST_TMPDIR/a$i" "$URL/open" -d format=json --data-urlencode "code=$nice_code"
    done
    bg_wait
    [ "$(nices_of "$BATS_TEST_TMPDIR"/a{1,2,3})" = "0 0 0 " ] ||
        fail "lone client: nices $(nices_of "$BATS_TEST_TMPDIR"/a{1,2,3}) ($(cat "$BATS_TEST_TMPDIR/a1.b"))"
    BG_PIDS=()
    # another client holds a run; then the first starts three
    bg_req "$BATS_TEST_TMPDIR/other" --interface 127.0.0.2 "$URL/open" -d format=json \
        --data-urlencode 'code=import time; time.sleep(4)'
    wait_until 3 eval "[ \"\$(json | jq -r .slots.running)\" = 1 ]" ||
        fail "the other client's run did not start"
    for i in 1 2 3; do
        bg_req "$BATS_TEST_TMPDIR/b$i" "$URL/open" -d format=json --data-urlencode "code=$nice_code"
        sleep 0.1   # one after the other, so their starts are ordered
    done
    bg_wait
    [ "$(nices_of "$BATS_TEST_TMPDIR"/b{1,2,3})" = "0 10 15 " ] ||
        fail "with another client: nices $(nices_of "$BATS_TEST_TMPDIR"/b{1,2,3})"
}
