#!/usr/bin/env bats
# vhost_<mpm>.bats — the module in virtual hosts: name-based ones on the
# test port (told apart by Host:) and an IP-based one on 127.0.0.2, each
# with PySandbox* directives of its own, and the main server's /run seen
# through them. (Before server configs were merged, any PySandbox* line in
# a <VirtualHost> made every run there a 503.)
#
# vhost_event.bats is the file, vhost_prefork.bats a symlink to it; the MPM
# is the part of the file name after "vhost_".

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#vhost_}
case $MPM in
    event) RUN_UID_FIRST=601080 ;;
    *) RUN_UID_FIRST=601090 ;;
esac
load helpers

setup_file() {
    PORT2=$("$HTTPD_SH" free-port)
    export PORT2
    e2e_start "$MPM" "
PySandboxMaxRuns 8
Listen 127.0.0.2:$PORT2
<VirtualHost *:*>
    ServerName a.test
    <Location /va>
        SetHandler pysandbox
        Require all granted
        PySandboxCPUTime 2 3
    </Location>
</VirtualHost>
<VirtualHost *:*>
    ServerName b.test
    PySandboxDefaultFormat json
    <Location /vb>
        SetHandler pysandbox
        Require all granted
        PySandboxWallTime 3 4
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.2:$PORT2>
    ServerName c.test
    <Location /vc>
        SetHandler pysandbox
        Require all granted
        PySandboxMemory 64M 128M
        PySandboxDefaultFormat ndjson
    </Location>
</VirtualHost>"
}

teardown_file() { e2e_stop; }

# run_in HOST URL: a json run of print(HOST) with Host: HOST.
run_in() {
    req "$2" -H "Host: $1" -d format=json --data-urlencode "code=print('$1')"
}

@test "[$MPM] name-based vhost a.test: its own Location, with its own limits" {
    run_in a.test "$URL/va"
    expect_code 200 && expect_run_id
    expect_json '.status == "ok" and .stdout == "a.test\n"'
    expect_json '.limits.cpu_time == 2 and .limits.wall_time == 10'
    req -G "$URL/va" -H 'Host: a.test' -d info=1
    expect_code 200
    expect_json '.cpu_time.default == 2 and .cpu_time.max == 3'
}

@test "[$MPM] name-based vhost b.test: vhost-wide and Location directives merge" {
    # PySandboxDefaultFormat at the vhost's level, the wall time in its
    # Location: no format asked for, so JSON.
    req "$URL/vb" -H 'Host: b.test' --data-urlencode 'code=print("b")'
    expect_code 200
    expect_header Content-Type '^application/json'
    expect_json '.status == "ok" and .stdout == "b\n" and .limits.wall_time == 3'
    # a.test's Location is not b.test's
    req "$URL/va" -H 'Host: b.test' --data-urlencode 'code=print(1)'
    expect_code 404
}

@test "[$MPM] the main server's /run answers in vhosts that have PySandbox lines" {
    local h
    for h in a.test b.test; do
        run_in "$h" "$URL/run"
        expect_code 200 || return 1
        expect_json ".status == \"ok\" and .stdout == \"$h\\n\"" || return 1
        # the main server's limits (the template's /run)
        expect_json '.limits.cpu_time == 5 and .limits.memory == 268435456' || return 1
    done
    # b.test's vhost-wide default format applies to /run there too
    req "$URL/run" -H 'Host: b.test' --data-urlencode 'code=print(2)'
    expect_code 200
    expect_json '.stdout == "2\n"'
}

@test "[$MPM] IP-based vhost on 127.0.0.2: its Location, limits and default format" {
    req "http://127.0.0.2:$PORT2/vc" --data-urlencode 'code=print("c")'
    expect_code 200
    expect_header Content-Type '^application/x-ndjson'
    jq -s -e '.[-1].stream == "exit" and .[-1].status == "ok" and .[-1].limits.memory == 67108864
              and ([.[] | select(.stream == "stdout") | .data] | add) == "c\n"' "$RESP_B" >/dev/null ||
        fail "ndjson events"
    req "http://127.0.0.2:$PORT2/vc" -d format=json -d memory=100M \
        --data-urlencode 'code=print(1)'
    expect_json '.status == "ok" and .limits.memory == 104857600'
    req "http://127.0.0.2:$PORT2/vc" -d format=json -d memory=200M \
        --data-urlencode 'code=print(1)'
    expect_refusal 400 'memory 200M is above this location.s maximum of 128M'
}

@test "[$MPM] runs in every vhost at once share the one launcher" {
    local i
    for i in 1 2 3; do
        spawn curl -s --max-time 20 -o "$BATS_TEST_TMPDIR/a$i" -H 'Host: a.test' "$URL/va" \
            -d format=json --data-urlencode 'code=import time; time.sleep(0.3); print("a")'
        spawn curl -s --max-time 20 -o "$BATS_TEST_TMPDIR/c$i" "http://127.0.0.2:$PORT2/vc" \
            -d format=json --data-urlencode 'code=import time; time.sleep(0.3); print("c")'
    done
    for p in "${BG_PIDS[@]}"; do wait "$p" || true; done
    for i in 1 2 3; do
        jq -e '.status == "ok" and .stdout == "a\n"' "$BATS_TEST_TMPDIR/a$i" >/dev/null ||
            fail "a.test run $i: $(cat "$BATS_TEST_TMPDIR/a$i")"
        jq -e '.status == "ok" and .stdout == "c\n"' "$BATS_TEST_TMPDIR/c$i" >/dev/null ||
            fail "127.0.0.2 run $i: $(cat "$BATS_TEST_TMPDIR/c$i")"
    done
    [ "$(pysb_procs pysb-launcher | wc -l)" = 1 ] || fail "more than one launcher"
}
