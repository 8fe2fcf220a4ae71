#!/usr/bin/env bats
# workload.bats — real Python work over HTTP (issue 10): each run's private
# scratch directory (PySandboxScratch), through a real httpd and curl.

RUN_UID_FIRST=607200
load helpers

setup_file() {
    e2e_start event '
<Location /small>
    SetHandler pysandbox
    Require all granted
    PySandboxScratch 1M
</Location>
<Location /none>
    SetHandler pysandbox
    Require all granted
    PySandboxScratch 0
</Location>'
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

@test "scratch over HTTP: tempfile, a file in the cwd and sqlite work; cwd, HOME and TMPDIR are /tmp; the result and ?info=1 say its size" {
    req "$RUN" -d format=json --data-urlencode 'code=import os, tempfile, sqlite3
with tempfile.TemporaryFile() as f:
    f.write(b"abc"); f.seek(0); print(f.read().decode())
open("notes.txt", "w").write("kept"); print(open("notes.txt").read())
c = sqlite3.connect("grades.db"); c.execute("create table g(n)"); c.execute("insert into g values (7)"); c.commit()
print(c.execute("select n from g").fetchone()[0])
print(os.getcwd(), os.environ["HOME"], os.environ["TMPDIR"])'
    expect_code 200
    expect_json '.status == "ok"'
    expect_json '.stdout == "abc\nkept\n7\n/tmp /tmp /tmp\n"'
    expect_json '.limits.scratch == 16777216'
    req "$RUN?info=1"
    expect_code 200
    expect_json '.scratch == 16777216'
}

@test "scratch over HTTP: PySandboxScratch 1M gives ENOSPC to the program, and the verdict stays the program's" {
    req "$URL/small" -d format=json --data-urlencode 'code=try:
    open("big", "wb").write(b"x" * (2 << 20))
except OSError as e:
    print("ERR", e.errno)'
    expect_code 200
    expect_json '.status == "ok"'
    expect_json '.stdout == "ERR 28\n"'
    expect_json '.limits.scratch == 1048576'
}

@test "scratch over HTTP: PySandboxScratch 0 is a run with nothing writable, in /" {
    req "$URL/none" -d format=json --data-urlencode 'code=import os
print(os.getcwd())
try:
    open("/tmp/pysb-e2e-none-" + str(os.getpid()) + "-x", "x")
except OSError as e:
    print("DENIED", e.errno)'
    expect_code 200
    expect_json '.stdout == "/\nDENIED 13\n"'
    expect_json '.limits.scratch == 0'
}

@test "scratch over HTTP: two concurrent runs do not see each other's files, and nothing of a run is left on the host" {
    local tag="pysb-e2e-secret-$$" a="$BATS_TEST_TMPDIR/a.json"
    curl -s --max-time 20 -o "$a" "$RUN" -d format=json --data-urlencode "code=import time
open('$tag', 'w').write('secret'); time.sleep(3); import os; print(os.listdir('.'))" 3>&- &
    BG_PIDS+=("$!")
    sleep 1
    req "$RUN" -d format=json --data-urlencode "code=import os; print(os.listdir('.'), os.path.exists('/tmp/$tag'))"
    expect_json '.stdout == "[] False\n"'
    wait "${BG_PIDS[0]}"
    jq -e --arg t "$tag" '.stdout == "[\u0027" + $t + "\u0027]\n"' "$a" >/dev/null || fail "first run: $(cat "$a")"
    [ ! -e "/tmp/$tag" ] || fail "a run's file is on the host"
    ! grep -q "tmpfs.*pysb\|$tag" /proc/self/mountinfo || fail "a scratch is in the host's mount table"
}
