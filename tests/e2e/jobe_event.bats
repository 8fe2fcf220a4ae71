#!/usr/bin/env bats
# jobe.bats — SetHandler pysandbox-jobe (issue 13) against a real httpd,
# as Moodle CodeRunner and Jobe's own test client call it: every endpoint
# under both URL forms, every outcome code the module produces (11 12 13
# 15 17 19 20 21), Jobe's error texts (unknown language, missing fields,
# cputime over the maximum), the file cache (PUT, HEAD, LRU eviction,
# atomic writes, out of every run's reach), X-API-KEY refusals.
# Our own tests of the behaviour Jobe's testsubmit.py checks; no Jobe code.
#
# One file, two transports: jobe_event.bats (HTTP/1.1), jobe_h2.bats (a
# symlink: every request over HTTP/2 with TLS).

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#jobe_}
case $MPM in
    event) RUN_UID_FIRST=601400 ;;
    *) RUN_UID_FIRST=601410 ;;
esac
load helpers

setup_file() {
    # Two run slots server-wide: the overload test fills them; a request
    # waits for one 1.5 s at most here (Jobe waits about 10 s).
    e2e_start "$MPM" "PySandboxMaxRuns 2
<Location /jobe>
    SetHandler pysandbox-jobe
    Require all granted
    PySandboxQueueTimeout 1.5
    PySandboxCPUTime 5 20
    PySandboxWallTime 10 40
    PySandboxMemory 256M 512M
    PySandboxOutputLimit 1M 4M
    PySandboxJobeFileCache @DIR@/jobe-files 64K
</Location>
<Location /jobenoscratch>
    SetHandler pysandbox-jobe
    Require all granted
    PySandboxScratch 0
    PySandboxJobeFileCache @DIR@/jobe-files 64K
</Location>
<Location /jobekey>
    SetHandler pysandbox-jobe
    Require all granted
    PySandboxJobeApiKey 2AAA7A5415B4A9B394B54BF1D2E9D second-key
    PySandboxJobeFileCache @DIR@/jobe-files 64K
</Location>"
    export API="$URL/jobe/index.php/restapi" KAPI="$URL/jobekey/index.php/restapi"
}

teardown_file() { e2e_stop; }

# run_spec JSON_OF_RUN_SPEC: POST it to runs.
post_run() {
    req "$API/runs/" -H 'Content-Type: application/json; charset=utf-8' \
        -H 'Accept: application/json' -d "{\"run_spec\": $1}" "${@:2}"
}

# py SOURCE [PARAMETERS_JSON] [EXTRA_RUN_SPEC_JSON]: a python3 run.
py() {
    local spec
    spec=$(jq -nc --arg s "$1" --argjson p "${2:-{\}}" --argjson x "${3:-{\}}" \
        '{language_id: "python3", sourcecode: $s, sourcefilename: "test.py", parameters: $p} + $x')
    post_run "$spec"
}

expect_outcome() {
    expect_code 200 || return 1
    expect_json ".outcome == $1" || return 1
    expect_json '(keys_unsorted == ["run_id","outcome","cmpinfo","stdout","stderr"]) and .run_id == null'
}

# An error answer of Jobe's: status and a JSON string body.
expect_jobe_error() {
    expect_code "$1" || return 1
    expect_header Content-Type '^application/json'
    jq -e --arg want "$2" '. == $want' "$RESP_B" >/dev/null ||
        fail "body is $(cat "$RESP_B"), expected $(jq -n --arg w "$2" '$w')"
}

# fill_slots SECONDS: both run slots taken by runs that sleep that long
# (in the background; wait_spawned waits for them).
fill_slots() {
    local i
    for i in 1 2; do
        spawn curl -s --max-time 20 -o /dev/null "$API/runs" \
            -d "{\"run_spec\": {\"language_id\": \"python3\", \"sourcecode\": \"import time; time.sleep($1)\"}}"
    done
    wait_until 5 eval '[ "$(uid_procs | grep -c python3)" -ge 2 ]' || fail "the two runs did not start"
}

wait_spawned() {
    local p
    for p in "${BG_PIDS[@]}"; do wait "$p"; done
    BG_PIDS=()
}

b64() { printf '%s' "$1" | base64 -w0; }
# put_random ID BYTES: PUT a file of that many random bytes.
put_random() {
    head -c "$2" /dev/urandom | base64 -w0 | jq -Rc '{file_contents: .}' > "$BATS_TEST_TMPDIR/$1.json"
    req -X PUT "$API/files/$1" --data-binary "@$BATS_TEST_TMPDIR/$1.json"
}
put_file() { req -X PUT "$API/files/$1" -H 'Content-Type: application/json' \
    -d "{\"file_contents\": \"$(b64 "$2")\"}"; }

@test "[$MPM] GET languages, both URL forms: python3 and the sandboxed interpreter's version" {
    local v
    v=$(/usr/bin/python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    req "$API/languages"
    expect_code 200
    expect_header Content-Type '^application/json'
    [ "$RESP_BODY" = "[[\"python3\",\"$v\"]]" ] || fail "languages: $RESP_BODY"
    req "$URL/jobe/restapi/languages/"
    expect_code 200
    [ "$RESP_BODY" = "[[\"python3\",\"$v\"]]" ] || fail "languages: $RESP_BODY"
}

@test "[$MPM] no such route or method: 404 with the body \"\" as Jobe" {
    local u
    for u in "$API/" "$API/run" "$API/runs/1" "$URL/jobe/languages" "$API/files/"; do
        req "$u"
        expect_jobe_error 404 ""
    done
    req "$API/runs"                                 # GET runs
    expect_jobe_error 404 ""
    req -X POST "$API/files/abcdefgh" -d x          # POST files
    expect_jobe_error 404 ""
    req "$API/files/abcdefgh"                       # GET files
    expect_jobe_error 404 ""
    req -X PUT "$API/files/a-b" -d '{"file_contents": ""}'
    expect_jobe_error 404 ""
    req -X DELETE "$API/files/abcdefgh"
    expect_jobe_error 404 ""
    req -I "$API/languages"                         # HEAD languages
    expect_code 404
}

@test "[$MPM] outcome 15: hello world, stdin, both URL forms, a trailing slash, python as an alias" {
    py 'print("Hello world!")'
    expect_outcome 15
    expect_json '.stdout == "Hello world!\n" and .stderr == "" and .cmpinfo == ""'
    py 'print(input())
print(input())' '{}' '{"input": "Line1\nLine2\n"}'
    expect_outcome 15
    expect_json '.stdout == "Line1\nLine2\n"'
    req "$URL/jobe/restapi/runs" -d '{"run_spec": {"language_id": "Python", "sourcecode": "print(3)"}}'
    expect_outcome 15
    expect_json '.stdout == "3\n"'
    # UTF-8 output as it is; a stream that is not UTF-8 escaped as Jobe does
    py 'print("Un rôle délétère")'
    expect_json '.stdout == "Un rôle délétère\n"'
    py 'import sys; sys.stdout.buffer.write(b"\x01\x06\xc0\xc9")'
    expect_outcome 15
    expect_json '.stdout == "\\x01\\x06\\xc0\\xc9"'
    # the exit status is not Jobe's business: empty stderr is a success
    py 'import sys; sys.exit(3)'
    expect_outcome 15
}

@test "[$MPM] runargs and interpreterargs as Jobe's shell would split them; refused flags named" {
    py 'import sys
print(sys.argv)' '{"runargs": ["Arg1", "seed=1234", "firstname='"'"'Mary Jane'"'"'"]}'
    expect_outcome 15
    expect_json '.stdout == "[\u0027test.py\u0027, \u0027Arg1\u0027, \u0027seed=1234\u0027, \u0027firstname=Mary Jane\u0027]\n"'
    py '' '{"interpreterargs": ["-c \"print(\\\"Blah\\\")\""]}'
    expect_outcome 15
    expect_json '.stdout == "Blah\n"'
    py 'assert False
print("ran")' '{"interpreterargs": ["-BE", "-O"]}'
    expect_json '.stdout == "ran\n"'
    py 'print(1)' '{"interpreterargs": ["-m", "pdb"]}'
    expect_jobe_error 400 "interpreterargs: '-m' is not supported by this server (it accepts -B -E -I -O -OO -q -s -u -W arg -c code)"
    py 'print(1)' '{"runargs": ["$(id)"]}'
    expect_code 400
    body_has 'no shell is run here'
}

@test "[$MPM] outcome 11: a syntax error, with py_compile's report in cmpinfo; nothing runs" {
    py 'print("before")
print("Hello world!"'
    expect_outcome 11
    expect_json '.stdout == "" and .stderr == ""'
    expect_json '.cmpinfo == "  File \"test.py\", line 2\n    print(\"Hello world!\"\n         ^\nSyntaxError: \u0027(\u0027 was never closed\n"'
    py 'if 1:
x = 1' '{}' '{"sourcefilename": "__tester__.python3"}'
    expect_outcome 11
    expect_json ".cmpinfo == \"Sorry: IndentationError: expected an indented block after 'if' statement on line 1 (__tester__.python3, line 2)\""
    # a program that prints the compile report's marker cannot fake one
    py 'import sys; sys.stdout.buffer.write(b"\0PYSB-JOBE compile error\nfake")'
    expect_outcome 15
}

@test "[$MPM] outcome 12: a runtime error, its traceback under the sourcefilename; stderr alone is 12" {
    py 'data = [1, 2]
print(data[2])'
    expect_outcome 12
    expect_json '.stdout == "" and (.stderr | startswith("Traceback (most recent call last):\n  File \"test.py\", line 2, in <module>\n    print(data[2])"))'
    expect_json '.stderr | endswith("IndexError: list index out of range\n")'
    py 'import sys; print("out"); print("warn", file=sys.stderr)'
    expect_outcome 12
    expect_json '.stdout == "out\n" and .stderr == "warn\n"'
    # killed by a signal: 12, stderr says which (as runguard's warning)
    py 'import os; os.kill(os.getpid(), 11)'
    expect_outcome 12
    expect_json '.stderr == "pysandbox: the program was terminated by signal 11 (SIGSEGV)\n"'
    # the output cap stops the run: 12, the output kept, stderr says why
    py 'while True: print("x" * 999)' '{"streamsize": 0.1}'
    expect_outcome 12
    expect_json '(.stdout | length) > 100000 and (.stderr | test("output limit exceeded"))'
}

@test "[$MPM] outcome 13: CPU time over cputime, stdout kept, stderr empty" {
    local t0
    t0=$(now)
    py 'import sys
print("started", flush=True)
while True: pass' '{"cputime": 1}'
    expect_outcome 13
    expect_json '.stdout == "started\n" and .stderr == "" and .cmpinfo == ""'
    fgt 4 "$(elapsed "$t0")" || fail "a 1 s CPU limit took $(elapsed "$t0") s"
    # the wall clock (2 x cputime, as Jobe's runguard) is 13 too
    py 'import time; time.sleep(30)' '{"cputime": 1}'
    expect_outcome 13
}

@test "[$MPM] outcome 17: the memory limit (memorylimit MB, clamped to the Location's maximum)" {
    py 'x = bytearray(300 * 1024 * 1024)' '{"memorylimit": 100}'
    expect_outcome 17
    expect_json '.stderr == ""'
    # 300 MB fits under the Location's 512M when asked for
    py 'x = bytearray(300 * 1024 * 1024); print(len(x))' '{"memorylimit": 200000}'
    expect_outcome 15
    py 'x = []
while True: x.append(bytearray(10**6))'
    expect_outcome 17
}

@test "[$MPM] outcome 19: an illegal system call (a 32-bit int 0x80 dies of SIGSYS in the filter)" {
    py 'import ctypes, mmap
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))  # mov eax, 20 (getpid); int 0x80; ret
f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
print("pid", f())'
    expect_outcome 19
    expect_json '.stderr == ""'
}

@test "[$MPM] outcome 20: the run's supervisor dies mid-run" {
    spawn bash -c "curl -s --max-time 20 '$API/runs' -d '{\"run_spec\": {\"language_id\": \"python3\", \"sourcecode\": \"import time; time.sleep(10)\"}}' > '$BATS_TEST_TMPDIR/r20'"
    local sup=""
    wait_until 5 eval '[ -n "$(pysb_procs pysb-run)" ]' || fail "no supervisor seen"
    sup=$(pysb_procs pysb-run | head -n1)
    kill -KILL "$sup"
    wait "${BG_PIDS[0]}"
    jq -e '.outcome == 20 and .stdout == "" and .stderr == ""' "$BATS_TEST_TMPDIR/r20" >/dev/null ||
        fail "after the supervisor's death: $(cat "$BATS_TEST_TMPDIR/r20")"
    wait_no_runs 5
}

@test "[$MPM] outcome 21: no run slot within PySandboxQueueTimeout is Jobe's overload, HTTP 200" {
    local i t0
    fill_slots 4
    t0=$(now)
    py 'print("third")'
    expect_code 200
    [ "$RESP_BODY" = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}' ] ||
        fail "overload: $RESP_BODY"
    [ -z "$(header Retry-After)" ] || fail "a Retry-After on a 200"
    # it waited for a slot first (the queue), then gave up
    fgt "$(elapsed "$t0")" 1.3 || fail "answered after $(elapsed "$t0") s, before the queue timeout"
    wait_spawned
    py 'print("after")'
    expect_outcome 15
}

@test "[$MPM] GET languages needs no run slot: fresh children after a graceful restart answer it with every slot busy" {
    local v i t0
    v=$(/usr/bin/python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    "$APACHE2" -d "$H" -f "$H/httpd.conf" -k graceful 3>&- || fail "apache2 -k graceful failed"
    t0=$(now)
    until py 'print(1)' && [ "$HTTP_CODE" = 200 ] && jq -e '.outcome == 15' "$RESP_B" >/dev/null; do
        fgt "$(elapsed "$t0")" 6 && fail "no run served after the graceful restart"
        sleep 0.1
    done
    fill_slots 3
    # the parent learnt the version at start (attack-jobe F7: a child that
    # had to learn it by a run answered [] here)
    for i in 1 2 3; do
        t0=$(now)
        req "$API/languages"
        expect_code 200
        [ "$RESP_BODY" = "[[\"python3\",\"$v\"]]" ] || fail "languages while every slot is busy: $RESP_BODY"
        fgt 1 "$(elapsed "$t0")" || fail "languages took $(elapsed "$t0") s while every slot was busy"
    done
    wait_spawned
}

@test "[$MPM] a request that finds no slot waits for one (the queue) and runs" {
    spawn curl -s --max-time 20 -o /dev/null "$API/runs" \
        -d '{"run_spec": {"language_id": "python3", "sourcecode": "import time; time.sleep(0.6)"}}'
    spawn curl -s --max-time 20 -o /dev/null "$API/runs" \
        -d '{"run_spec": {"language_id": "python3", "sourcecode": "import time; time.sleep(0.6)"}}'
    wait_until 5 eval '[ "$(uid_procs | grep -c python3)" -ge 2 ]' || fail "the two runs did not start"
    py 'print("waited")'
    expect_outcome 15
    expect_json '.stdout == "waited\n"'
}

@test "[$MPM] Jobe's errors: unknown language, missing fields, cputime over the maximum, bad names, JSON" {
    post_run '{"language_id": "nosuchlanguage", "sourcecode": "x", "sourcefilename": "test.py"}'
    expect_jobe_error 400 "Language 'nosuchlanguage' is not known"
    post_run '{"sourcecode": "x", "sourcefilename": "test.py"}'
    expect_jobe_error 400 "run_spec is missing the required attribute 'language_id'"
    post_run '{"language_id": "python3", "sourcefilename": "test.py"}'
    expect_jobe_error 400 "run_spec is missing the required attribute 'sourcecode'"
    py 'print(1)' '{"cputime": 151}'
    expect_jobe_error 400 "cputime exceeds maximum allowed on this Jobe server (20 secs)"
    py 'print(1)' '{}' '{"sourcefilename": "../x.py"}'
    expect_jobe_error 400 "The sourcefilename for the run_spec is illegal"
    py 'print(1)' '{}' '{"file_list": [["abc", "x"]]}'
    expect_jobe_error 400 $'Invalid file specifier: Array\n(\n    [0] => abc\n    [1] => x\n)\n'
    req "$API/runs" -d '{"run_spec": '
    expect_jobe_error 500 "Server exception (Failed to parse JSON string. Error: Syntax error)"
    req "$API/runs" -d ''
    expect_jobe_error 400 "Non-JSON post data received"
    req "$API/runs" -d '{"run_spec": []}'
    expect_jobe_error 400 "No run_spec attribute found in post data"
    local big
    big=$(head -c 70000 /dev/zero | tr '\0' x)
    py "$big"
    expect_jobe_error 413 "sourcecode is larger than this server accepts (64K)"
}

@test "[$MPM] PUT and HEAD files: 404 before, 204 after, Jobe's errors for bad contents" {
    req -I "$API/files/randomid0129798"
    expect_code 404
    put_file randomid0129798 $'The first file\nLine 2'
    expect_code 204
    [ ! -s "$RESP_B" ] || fail "a 204 with a body"
    req -I "$API/files/randomid0129798"
    expect_code 204
    [ "$(cat "$H/jobe-files/randomid0129798")" = $'The first file\nLine 2' ] || fail "stored: $(cat "$H/jobe-files/randomid0129798")"
    req -X PUT "$API/files/badfile1" -d '{"file_contents": "not*base64"}'
    expect_jobe_error 400 "put: contents of file badfile1 are not valid base-64"
    req -X PUT "$API/files/badfile1" -d '{"other": 1}'
    expect_jobe_error 400 "put: missing file_contents parameter"
    req -X PUT "$API/files/badfile1" -d ''
    expect_jobe_error 400 "put: missing file_contents parameter"
    req -I "$API/files/badfile1"
    expect_code 404
    # more than the cache holds: refused, nothing stored
    put_random bigfile1 70000
    expect_jobe_error 413 "put: file bigfile1 is larger than this server's file cache takes (64K)"
    req -I "$API/files/bigfile1"
    expect_code 404
    # an id that is an MD5 (CodeRunner's names) must be the MD5 of the contents
    local good=$'def check(x):\n    return x == 42\n' id
    id=$(printf '%s' "$good" | md5sum | cut -c1-32)
    put_file "$id" "$good"
    expect_code 204
    put_file "$id" 'def check(x): return True'
    expect_jobe_error 400 "put: file $id is named by an MD5 that is not the MD5 of its contents"
    printf '%s' "$good" | cmp -s - "$H/jobe-files/$id" || fail "the cached file was replaced"
    put_file "${id^^}" "$good"
    expect_code 204
    put_file 0123456789abcdef0123456789abcdeg 'any contents: not an MD5'
    expect_code 204
    # a run asking for a file never PUT: 404 before any run slot is taken
    py 'print(1)' '{}' '{"file_list": [["nosuchfileid", "file1"]]}'
    expect_jobe_error 404 "One or more of the specified files is missing/unavailable"
}

@test "[$MPM] the file cache: LRU eviction within its size (a HEAD is a use), atomic, 0700 of the User" {
    local f
    for f in lruaaaa1 lrubbbb1; do
        put_random $f 25000
        expect_code 204
        sleep 0.05
    done
    req -I "$API/files/lruaaaa1"        # a is now the most recently used
    expect_code 204
    put_random lrucccc1 25000
    expect_code 204
    req -I "$API/files/lrubbbb1"
    expect_code 404
    req -I "$API/files/lruaaaa1"
    expect_code 204
    req -I "$API/files/lrucccc1"
    expect_code 204
    local total
    # each file counts in whole 4 KiB blocks, as it takes them on disk
    total=$(find "$H/jobe-files" -maxdepth 1 -type f ! -name '.*' -printf '%s\n' |
        awk '{s += int(($1 > 0 ? $1 : 1) + 4095) / 4096 * 4096} END {print s}')
    [ "$total" -le 65536 ] || fail "the cache holds $total bytes in blocks"
    [ -z "$(find "$H/jobe-files" -name '.tmp-*')" ] || fail "temporaries left: $(ls -a "$H/jobe-files")"
    [ "$(stat -c '%a %U' "$H/jobe-files")" = "700 www-data" ] || fail "cache dir: $(stat -c '%a %U' "$H/jobe-files")"
}

@test "[$MPM] the file cache: empty files are not free (a 64K cache keeps 16 of 40), and a PUT of a whole block fits" {
    local i n
    for i in $(seq -w 1 40); do
        put_file "empty$i" ''
        expect_code 204
    done
    n=$(find "$H/jobe-files" -maxdepth 1 -type f -name 'empty*' | wc -l)
    [ "$n" -le 16 ] || fail "$n empty files kept in a cache of 16 blocks"
    req -I "$API/files/empty40"
    expect_code 204
    # the whole cache in one file: 64K exactly
    put_random wholecache1 65536
    expect_code 204
    req -I "$API/files/empty40"
    expect_code 404
}

@test "[$MPM] a run's files are read once it holds a run slot: one removed while it waits is Jobe's 404" {
    local i
    put_file waitfile01 'x = 1'
    expect_code 204
    fill_slots 1.2
    # the same file named three times, while every slot is busy
    bg_req "$BATS_TEST_TMPDIR/waited" "$API/runs" -d '{"run_spec": {"language_id": "python3", "sourcecode": "print(1)", "file_list": [["waitfile01", "a.py"], ["waitfile01", "b.py"], ["waitfile01", "c.py"]]}}'
    sleep 0.3
    rm "$H/jobe-files/waitfile01"
    wait_spawned
    [ "$(cat "$BATS_TEST_TMPDIR/waited.c")" = 404 ] &&
        [ "$(cat "$BATS_TEST_TMPDIR/waited.b")" = '"One or more of the specified files is missing/unavailable"' ] ||
        fail "a file removed while the run waited: $(cat "$BATS_TEST_TMPDIR/waited.c") $(cat "$BATS_TEST_TMPDIR/waited.b")"
    # and one named three times is written three times
    put_file waitfile01 'x = 1'
    py 'import a, b, c
print(a.x + b.x + c.x)' '{}' '{"file_list": [["waitfile01", "a.py"], ["waitfile01", "b.py"], ["waitfile01", "c.py"]]}'
    expect_outcome 15
    expect_json '.stdout == "3\n"'
}

@test "[$MPM] a file_list on a Location without a scratch directory: outcome 20 at once, no run slot taken" {
    local i t0
    put_file noscratch01 'x = 1'
    expect_code 204
    fill_slots 2
    t0=$(now)
    req "$URL/jobenoscratch/index.php/restapi/runs" \
        -d '{"run_spec": {"language_id": "python3", "sourcecode": "import a", "file_list": [["noscratch01", "a.py"]]}}'
    expect_outcome 20
    fgt 1 "$(elapsed "$t0")" || fail "answered after $(elapsed "$t0") s: it waited for a slot"
    grep -q 'needs a run scratch directory (PySandboxScratch)' "$H/error.log" || fail "not logged"
    wait_spawned
}

@test "[$MPM] disklimit bounds what a run writes (its scratch too); files that would not fit it are 413 before any slot" {
    py 'try:
    open("big", "wb").write(b"x" * (3 << 20))
except OSError as e:
    print(type(e).__name__, e.errno)' '{"disklimit": 1}'
    expect_outcome 15
    expect_json '.stdout | test("^(OSError 28|OSError 27)")'
    py 'open("big", "wb").write(b"x" * (3 << 20)); print("fine")' '{"disklimit": 20}'
    expect_outcome 15
    expect_json '.stdout == "fine\n"'
    # eighteen 60000-byte files (15 pages each) and the source in a scratch
    # of 1 MB (Jobe's: 1000K): refused, nothing run (attack3: the program's ENOSPC was an
    # outcome 20 saying nothing); sixteen fit
    put_random sixtythousand 60000
    expect_code 204
    local list i
    list=$(for i in $(seq 18); do printf '["sixtythousand", "f%02d.bin"]\n' "$i"; done | jq -sc .)
    py 'print(1)' '{"disklimit": 1}' "{\"file_list\": $list}"
    expect_jobe_error 413 "file_list: the files of this run and its source do not fit its scratch directory (1000K)"
    list=$(for i in $(seq 16); do printf '["sixtythousand", "f%02d.bin"]\n' "$i"; done | jq -sc .)
    py 'import os; print(sum(os.path.getsize("f%02d.bin" % i) for i in range(1, 17)))' '{"disklimit": 1}' "{\"file_list\": $list}"
    expect_outcome 15
    expect_json '.stdout == "960000\n"'
}

@test "[$MPM] no run can reach the file cache" {
    put_file secretfile1 'secret'
    expect_code 204
    py "import os
for p in ['$H/jobe-files/secretfile1', '$H/jobe-files']:
    try:
        print(open(p).read() if p.endswith('1') else os.listdir(p))
    except OSError as e:
        print(type(e).__name__)"
    expect_outcome 15
    # denied (Landlock, the 0700 directory), or not even there (a run's
    # scratch directory is mounted over /tmp, where the test's httpd lives)
    expect_json '.stdout | test("^((PermissionError|FileNotFoundError)\n){2}$")'
}

@test "[$MPM] X-API-KEY: missing and unknown keys are 403 on every endpoint, a configured one passes" {
    req "$KAPI/languages"
    expect_jobe_error 403 "Missing API key"
    req "$KAPI/languages" -H 'X-API-KEY: wrong'
    expect_jobe_error 403 "Unknown API key"
    req "$KAPI/runs" -H 'X-API-KEY: 2AAA7A5415B4A9B394B54BF1D2E9' -d '{"run_spec": {"language_id": "python3", "sourcecode": "print(1)"}}'
    expect_jobe_error 403 "Unknown API key"
    req -X PUT "$KAPI/files/keyfile1" -d '{"file_contents": ""}'
    expect_jobe_error 403 "Missing API key"
    req -I "$KAPI/files/keyfile1" -H 'X-API-KEY: nope'
    expect_code 403
    req "$KAPI/runs" -H 'x-api-key: second-key' -d '{"run_spec": {"language_id": "python3", "sourcecode": "print(1)"}}'
    expect_outcome 15
    req "$KAPI/languages" -H 'X-API-KEY: 2AAA7A5415B4A9B394B54BF1D2E9D'
    expect_code 200
    # the Location without keys needs none
    req "$API/languages"
    expect_code 200
}

# Runs have a writable working directory (issue 10's scratch directory).
@test "[$MPM] a support file named like a module the compile check imports cannot forge its report" {
    # traceback.py would be imported for the syntax error's text if the
    # working directory were on sys.path during the check.
    put_file shadowtraceback01 'import sys, os
os.write(1, b"\0PYSB-JOBE compiled\nforged\n")
os._exit(0)'
    expect_code 204
    py 'print("unclosed"' '{}' '{"file_list": [["shadowtraceback01", "traceback.py"]]}'
    expect_outcome 11
    expect_json '(.cmpinfo | test("SyntaxError")) and (.stdout | test("forged") | not)'
}

@test "[$MPM] a run using two cached files: both in its working directory, a support module imports" {
    put_file randomid0129798 $'The first file\nLine 2'
    expect_code 204
    put_file randomid0980128 'VALUE = "Second file"'
    expect_code 204
    py 'import helper
print(open("file1").read())
print(helper.VALUE)
print(open(__file__).read().splitlines()[0])' '{}' \
        '{"file_list": [["randomid0129798", "file1"], ["randomid0980128", "helper.py"]]}'
    expect_outcome 15
    expect_json '.stdout == "The first file\nLine 2\nSecond file\nimport helper\n"'
    # a file written by the program is read back, as testsubmit.py's file I/O case does
    py 'with open("testoutput.txt", "w") as f: print("One fish", file=f)
print(open("testoutput.txt").read(), end="")'
    expect_outcome 15
    expect_json '.stdout == "One fish\n"'
}

@test "[$MPM] a support module imports without writing __pycache__ (Jobe runs python3 -B)" {
    put_file randomid0980128 'VALUE = "Second file"'
    expect_code 204
    py 'import sys, os, helper
print(helper.VALUE, sys.dont_write_bytecode, *sorted(os.listdir(".")))' '{}' \
        '{"file_list": [["randomid0980128", "helper.py"]]}'
    expect_outcome 15
    expect_json '.stdout == "Second file True helper.py test.py\n"'
}

@test "[$MPM] the source runs as python3 FILE's __main__: its names, inspect.getsource" {
    py 'import inspect
def f(x):
    return x + 1
print(__name__, __annotations__, __cached__)
print(inspect.getsource(f), end="")'
    expect_outcome 15
    expect_json '.stdout == "__main__ {} None\ndef f(x):\n    return x + 1\n"'
}

@test "[$MPM] the largest run_specs leave no worker larger (eight at once, three rounds)" {
    # input: a megabyte of \u0001 escapes, the most a body here may carry
    # (two run slots: some may be told 21 after waiting 1.5 s; the bodies
    # were read and parsed all the same)
    # (over plain HTTP/1.1 on both transports: the body is what counts)
    python3 - "$E2E_PARENT" "$PLAIN_URL/jobe/index.php/restapi/runs" "$E2E_ROOT/tests/tools" <<'PY' || fail "workers grew"
import json, sys, threading, time, urllib.parse, http.client
sys.path.insert(0, sys.argv[3])
import bodymem
parent, url = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2])
def total():
    return sum(bodymem.private_kb(p) for p in bodymem.workers(parent))
body = json.dumps({"run_spec": {"language_id": "python3", "input": "\u0001" * (1024 * 1024 - 1),
                   "sourcecode": "import sys; print(len(sys.stdin.read()))"}})
codes = []
def one():
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    c.request("POST", url.path, body, {"Content-Type": "application/json"})
    r = c.getresponse()
    codes.append((r.status, json.loads(r.read()).get("outcome")))
rest = total()
for rnd in range(3):
    ts = [threading.Thread(target=one) for _ in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
time.sleep(1)
grown = total() - rest
print("# rest %d KB, after three rounds +%d KB, answers %s" % (rest, grown, sorted(set(codes))), file=sys.stderr)
sys.exit(0 if grown < 10 * 1024 and (200, 15) in codes and
         set(codes) <= {(200, 15), (200, 21)} else 1)
PY
}
