#!/usr/bin/env bats
# workload.bats — real Python work over HTTP (issue 10): each run's private
# scratch directory (PySandboxScratch), input files and args, through a
# real httpd and curl.

RUN_UID_FIRST=607200
load helpers

setup_file() {
    e2e_start event '
PySandboxMaxRuns 4
<Location /small>
    SetHandler pysandbox
    Require all granted
    PySandboxScratch 1M
</Location>
<Location /none>
    SetHandler pysandbox
    Require all granted
    PySandboxScratch 0
</Location>
<Location /cap>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxFiles 1
</Location>
<Location /sci>
    SetHandler pysandbox
    Require all granted
    PySandboxSitePackages On
    PySandboxReadOnlyPath /usr/share/matplotlib /etc/matplotlibrc
    PySandboxMemory 1G
    PySandboxCPUTime 20
    PySandboxWallTime 40
</Location>
<Location /smallout>
    SetHandler pysandbox
    Require all granted
    PySandboxMaxOutputFiles 10K
</Location>
<Location /tiny>
    SetHandler pysandbox
    Require all granted
    PySandboxScratch 64K
</Location>
<Location /short>
    SetHandler pysandbox
    Require all granted
    PySandboxWallTime 2
</Location>
<Location /pp>
    SetHandler pysandbox
    Require all granted
    PySandboxPythonPath /usr/lib/python3/dist-packages
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
    # EROFS: the minimal root's /tmp is a read-only mount point (EACCES by Landlock without it)
    expect_json '.stdout == "/\nDENIED 30\n" or .stdout == "/\nDENIED 13\n"'
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

# ---- input files and args (issue 10 point 3) ----

@test "files in over HTTP: -F data.csv=@file, a part named files, JSON text and base64, args repeated and as a JSON array" {
    printf 'a,b\n1,2\n' > "$BATS_TEST_TMPDIR/data.csv"
    printf '\x00\x01\xff' > "$BATS_TEST_TMPDIR/blob.bin"
    local code='import sys, os
print(sys.argv[1:])
for n in sorted(os.listdir(".")):
    st = os.stat(n)
    print(n, st.st_size, oct(st.st_mode & 0o777), st.st_uid == os.getuid(), open(n, "rb").read()[:8])'
    req "$RUN" -F format=json -F "code=$code" -F "data.csv=@$BATS_TEST_TMPDIR/data.csv" \
        -F "files=@$BATS_TEST_TMPDIR/blob.bin" -F args=one -F 'args=two words' -F args=
    expect_code 200
    expect_json '.status == "ok"'
    expect_json '.stdout | startswith("[\u0027one\u0027, \u0027two words\u0027, \u0027\u0027]\n")'
    expect_json '.stdout | contains("blob.bin 3 0o644 True b\u0027\\x00\\x01\\xff\u0027")'
    expect_json '.stdout | contains("data.csv 8 0o644 True b\u0027a,b\\n1,2\\n\u0027")'
    req "$RUN" -H 'Content-Type: application/json' -d "$(jq -n --arg c "$code" \
        '{code: $c, format: "json", args: ["x", "ü"], files: {"t.txt": "héllo\n", "b.bin": {base64: "AAH/"}}}')"
    expect_code 200
    expect_json '.stdout | startswith("[\u0027x\u0027, \u0027ü\u0027]\n")'
    expect_json '.stdout | contains("b.bin 3 0o644 True b\u0027\\x00\\x01\\xff\u0027")'
    expect_json '.stdout | contains("t.txt 7 ")'
    # base64 as base64(1) and MIME write it, in lines of 76 columns
    head -c 200 /dev/urandom > "$BATS_TEST_TMPDIR/w.bin"
    req "$RUN" -H 'Content-Type: application/json' -d "$(jq -n --arg b "$(base64 "$BATS_TEST_TMPDIR/w.bin")" \
        '{code: "import hashlib; print(hashlib.sha256(open(\"w.bin\", \"rb\").read()).hexdigest())",
          format: "json", files: {"w.bin": {base64: ($b + "\r\n")}}}')"
    expect_code 200
    expect_json ".stdout == \"$(sha256sum < "$BATS_TEST_TMPDIR/w.bin" | cut -d' ' -f1)\\n\""
    req "$RUN" --data-urlencode 'code=import sys; print(sys.argv)' -d args=a -d args=b -d format=json
    expect_json '.stdout == "[\u0027main.py\u0027, \u0027a\u0027, \u0027b\u0027]\n"'
    # query fields apply to POSTs, body fields win: the body's args replace
    # the query's (form and JSON), and without body args the query's stand
    req "$RUN?args=q1&args=q2" --data-urlencode 'code=import sys; print(sys.argv)' -d args=r -d format=json
    expect_json '.stdout == "[\u0027main.py\u0027, \u0027r\u0027]\n"'
    req "$RUN?args=q" -H 'Content-Type: application/json' \
        -d '{"code": "import sys; print(sys.argv)", "args": ["j"], "format": "json"}'
    expect_json '.stdout == "[\u0027main.py\u0027, \u0027j\u0027]\n"'
    req "$RUN?args=q" --data-urlencode 'code=import sys; print(sys.argv)' -d format=json
    expect_json '.stdout == "[\u0027main.py\u0027, \u0027q\u0027]\n"'
    # a part's name as browsers and curl escape it (" as %22) is the name
    req "$RUN" -F format=json --form-string 'code=import os; print(os.listdir("."))' \
        -F "q\"uote.csv=@$BATS_TEST_TMPDIR/data.csv"
    expect_json '.stdout == "[\u0027q\"uote.csv\u0027]\n"'
    # one argument may be all 16 KiB a request may send, control characters
    # (six bytes each on the wire) included; a byte more is 413
    local big ctl
    big=$(head -c 16384 /dev/zero | tr '\0' x)
    req "$RUN" --data-urlencode 'code=import sys; print(len(sys.argv[1]), set(sys.argv[1]))' \
        --data-urlencode "args=$big" -d format=json
    expect_code 200
    expect_json '.stdout == "16384 {\u0027x\u0027}\n"'
    ctl=$(head -c 16384 /dev/zero | tr '\0' '\001')
    req "$RUN" --data-urlencode 'code=import sys; print(len(sys.argv[1]), set(sys.argv[1]))' \
        --data-urlencode "args=$ctl" -d format=json
    expect_code 200
    expect_json '.stdout == "16384 {\u0027\\x01\u0027}\n"'
    req "$RUN" --data-urlencode 'code=print(1)' --data-urlencode "args=${big}x" -d format=json
    expect_code 413
    expect_json '.error | test("16384")'
}

@test "files in over HTTP, attacks: hostile names are refused with 400 (slash, .., dot-names, control characters, out, too long, twice); nothing is written outside the scratch" {
    local name
    for name in '../../etc/x' '/etc/passwd' 'a/b' '..' '.bashrc' 'out' $'a\nb' 'a\\b' "$(printf 'x%.0s' {1..129})"; do
        req "$RUN" -H 'Content-Type: application/json' -d "$(jq -n --arg n "$name" '{code: "print(1)", files: {($n): "x"}}')"
        expect_code 400
        body_has "input file"
    done
    # the reason names what is wrong with the name
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "files": {"a\\b": "x"}}'
    expect_code 400
    body_has "backslash"
    printf 'x' > "$BATS_TEST_TMPDIR/f"
    req "$RUN" -F 'code=print(1)' -F "files=@$BATS_TEST_TMPDIR/f;filename=../evil" 
    expect_code 400
    req "$RUN" -F 'code=print(1)' -F "a.txt=@$BATS_TEST_TMPDIR/f" -F "files=@$BATS_TEST_TMPDIR/f;filename=a.txt"
    expect_code 400
    body_has "given twice"
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "files": {"x": {"base64": "!!"}}}'
    expect_code 400
    body_has "base64"
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "args": ["a\u0000b"]}'
    expect_code 400
    req "$RUN" -H 'Content-Type: application/json' -d '{"code": "print(1)", "args": [1]}'
    expect_code 400
    req "$RUN" -F 'code=print(1)' -F 'files=not a file part'
    expect_code 400
    [ ! -e /etc/x ] && [ ! -e "$BATS_TEST_TMPDIR/evil" ] || fail "a file was written outside the scratch"
}

@test "files in over HTTP: PySandboxMaxFiles and PySandboxMaxFileSize caps are 413, files at a location without a scratch 400" {
    head -c $((1024 * 1024 + 1)) /dev/zero > "$BATS_TEST_TMPDIR/big"
    req "$RUN" -F 'code=print(1)' -F "big.bin=@$BATS_TEST_TMPDIR/big"
    expect_code 413
    body_has "big.bin"
    local args=() i
    for i in $(seq 17); do args+=(-F "f$i.txt=@$BATS_TEST_TMPDIR/f"); done
    printf 'x' > "$BATS_TEST_TMPDIR/f"
    req "$RUN" -F 'code=print(1)' "${args[@]}"
    expect_code 413
    body_has "more than 16 input files"
    req "$URL/cap" -F 'code=print(1)' -F "a=@$BATS_TEST_TMPDIR/f" -F "b=@$BATS_TEST_TMPDIR/f"
    expect_code 413
    req "$URL/none" -F 'code=print(1)' -F "a=@$BATS_TEST_TMPDIR/f"
    expect_code 400
    body_has "scratch"
    # input files larger than the scratch itself: refused, never half-written
    head -c $((700 * 1024)) /dev/zero > "$BATS_TEST_TMPDIR/700k"
    req "$URL/small" -F 'code=print(1)' -F "a=@$BATS_TEST_TMPDIR/700k" -F "b=@$BATS_TEST_TMPDIR/700k"
    expect_code 413
    # every number in its place (apr has no %zu: review-ops #10)
    body_has "input files (2 of them, 1433600 bytes, 1433600 in the tmpfs's 4K pages) are larger than the scratch directory (1048576 bytes, 64 inodes with its own 3)"
    head -c 600000 /dev/zero > "$BATS_TEST_TMPDIR/600k"
    req "$URL/small" -F 'code=print(1)' -F "a=@$BATS_TEST_TMPDIR/600k" -F "b=@$BATS_TEST_TMPDIR/600k"
    expect_code 413
    body_has "input files (2 of them, 1200000 bytes, 1204224 in the tmpfs's 4K pages) are larger than the scratch directory (1048576 bytes, 64 inodes with its own 3)"
    # fit by bytes, not by the tmpfs's pages: 15 files of 4097 bytes are
    # 61455 bytes but 30 pages (120K) of a 64K scratch: 413, not an
    # internal error (attack-work F7); 15 of 4096 bytes fit
    head -c 4097 /dev/zero > "$BATS_TEST_TMPDIR/p4097"
    head -c 4096 /dev/zero > "$BATS_TEST_TMPDIR/p4096"
    args=()
    for i in $(seq 15); do args+=(-F "p$i=@$BATS_TEST_TMPDIR/p4097"); done
    req "$URL/tiny" -F 'code=print(1)' "${args[@]}"
    expect_code 413
    body_has "input files (15 of them, 61455 bytes, 122880 in the tmpfs's 4K pages) are larger than the scratch directory (65536 bytes, 64 inodes with its own 3)"
    args=()
    for i in $(seq 15); do args+=(-F "p$i=@$BATS_TEST_TMPDIR/p4096"); done
    req "$URL/tiny" -F format=json --form-string 'code=import os; print(len(os.listdir()))' "${args[@]}"
    expect_code 200
    expect_json '.status == "ok" and .stdout == "15\n"'
}

@test "files in over HTTP: the program owns its copies and may change them; another run does not see them" {
    printf 'v1' > "$BATS_TEST_TMPDIR/s.txt"
    req "$RUN" -F format=json --form-string 'code=open("s.txt", "a").write("+"); print(open("s.txt").read())' -F "s.txt=@$BATS_TEST_TMPDIR/s.txt"
    expect_json '.stdout == "v1+\n"'
    req "$RUN" -d format=json --data-urlencode 'code=import os; print(os.listdir("."))'
    expect_json '.stdout == "[]\n"'
    [ "$(cat "$BATS_TEST_TMPDIR/s.txt")" = v1 ] || fail "the sent file changed"
}

# ---- verdicts people understand (issue 10 point 6) ----

@test "exception over HTTP: json, ndjson and sse carry the exception and its line; a BOM is accepted; a fake traceback on stderr is not read" {
    req "$RUN" -d format=json --data-urlencode $'code=x = 1\n1/0'
    expect_json '.status == "nonzero_exit" and .exception == "ZeroDivisionError" and .exception_line == 2'
    req "$RUN" -d format=ndjson --data-urlencode $'code=import sys\nprint("Traceback\\nMemoryError", file=sys.stderr)\nraise KeyError(5)'
    expect_code 200
    tail -n1 "$RESP_B" | jq -e '.stream == "exit" and .exception == "KeyError" and .exception_line == 3' >/dev/null \
        || fail "ndjson exit event: $(tail -n1 "$RESP_B")"
    req "$RUN" -d format=sse --data-urlencode $'code=\n\nx = ('
    expect_code 200
    grep -A1 '^event: exit' "$RESP_B" | sed -n 's/^data: //p' | jq -e '.exception == "SyntaxError" and .exception_line == 3' >/dev/null \
        || fail "sse exit event: $(cat "$RESP_B")"
    printf '\xef\xbb\xbfprint("bom ok")\n' > "$BATS_TEST_TMPDIR/bom.py"
    req "$RUN" -F format=json -F "code=@$BATS_TEST_TMPDIR/bom.py"
    expect_json '.status == "ok" and .stdout == "bom ok\n"'
    req "$RUN" -d format=json --data-urlencode $'code=import os\nos.fork()'
    expect_json '.limit_reached == "processes"'
}

# ---- packages (issue 10 point 1) ----

@test "packages over HTTP: PySandboxSitePackages On runs numpy; matplotlib's recipe saves a PNG; PySandboxPythonPath puts a directory first; without either numpy is not there" {
    req "$URL/sci" -d format=json --data-urlencode 'code=import numpy; print(numpy.arange(10).sum())'
    expect_json '.status == "ok" and .stdout == "45\n"'
    req "$URL/sci" -d format=json --data-urlencode 'code=import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2, 3])
plt.savefig("p.png")
d = open("p.png", "rb").read()
print(d[:4] == b"\x89PNG", len(d) > 5000)'
    expect_json '.status == "ok" and .stdout == "True True\n"'
    req "$URL/pp" -d format=json --data-urlencode 'code=import sys, numpy; print(sys.path[0], numpy.arange(3).sum())'
    expect_json '.stdout == "/usr/lib/python3/dist-packages 3\n"'
    req "$RUN" -d format=json --data-urlencode 'code=import numpy'
    expect_json '.exception == "ModuleNotFoundError"'
}

# ---- files out (issue 10 point 4) ----

PLOT='import matplotlib.pyplot as plt
plt.plot([1, 4, 9], label="squares"); plt.legend(); plt.show()
print("plotted")'

png_ok() { # a JSON file object: a PNG by its header, of a plausible size
    jq -e '.name == "figure-1.png" and .type == "image/png" and .attachment == false and .size > 5000
           and (.base64 | startswith("iVBORw0KGgo")) and ((.base64 | length) >= (.size * 4 / 3 | floor))' >/dev/null
}

@test "files out over HTTP: a matplotlib plot comes back as a valid PNG in json, ndjson and sse, and is listed in text" {
    req "$URL/sci" -d format=json --data-urlencode "code=$PLOT"
    expect_json '.status == "ok" and .stdout == "plotted\n" and (.files | length) == 1'
    jq '.files[0]' "$RESP_B" | png_ok || fail "json: no PNG"
    jq -r '.files[0].base64' "$RESP_B" | base64 -d > "$BATS_TEST_TMPDIR/p.png"
    [ "$(head -c 8 "$BATS_TEST_TMPDIR/p.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "decoded file is no PNG"
    req "$URL/sci" -d format=ndjson --data-urlencode "code=$PLOT"
    grep '"stream":"file"' "$RESP_B" | png_ok || fail "ndjson: no file event"
    # the file event comes after the output and before the exit event
    # (a print may come as several stdout chunks: runs of one stream count once)
    [ "$(jq -r .stream "$RESP_B" | uniq | tr '\n' ' ')" = "stdout file exit " ] || fail "ndjson order: $(jq -r .stream "$RESP_B")"
    req "$URL/sci" -d format=sse --data-urlencode "code=$PLOT"
    grep -A1 '^event: file$' "$RESP_B" | sed -n 's/^data: //p' | png_ok || fail "sse: no file event"
    req "$URL/sci" -d format=text --data-urlencode "code=$PLOT"
    grep -qE '^file: figure-1.png \([0-9]+ bytes, image/png\)$' "$RESP_B" || fail "text: $(cat "$RESP_B")"
}

@test "files out over HTTP: PySandboxMaxOutputFiles drops what does not fit and the verdict stays the run's; an SVG is an attachment; hidden files are not returned" {
    req "$URL/smallout" -d format=json --data-urlencode 'code=import os
os.mkdir("out")
open("out/a.txt", "w").write("a" * 8000)
open("out/b.txt", "w").write("b" * 8000)
open("out/c.svg", "w").write("<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
open("out/.secret", "w").write("x")'
    expect_json '.status == "ok" and .limits.output_files == 10240'
    expect_json '[.files[].name] == ["a.txt", "b.txt", "c.svg"]'
    expect_json '.files[1] == {"name": "b.txt", "size": 8000, "dropped": "over the output files cap"}'
    expect_json '.files[2].type == "image/svg+xml" and .files[2].attachment == true'
    # the longest reasons come whole over HTTP as from the CLI (cut to 63
    # bytes once: review-work 2)
    req "$URL/smallout" -d format=json --data-urlencode 'code=import os
os.mkdir("out")
for i in range(66): open("out/f%03d" % i, "w")'
    expect_json '(.files | length) == 65 and .files[64] == {"name": "f064", "size": 0,
                 "dropped": "past the 64 files listed: it and what follows it by name are left out"}'
    req "$URL/smallout" -d format=ndjson --data-urlencode 'code=import os
os.mkdir("out")
for i in range(66): open("out/f%03d" % i, "w")'
    grep '"stream":"file"' "$RESP_B" | tail -n 1 | jq -e '.dropped == "past the 64 files listed: it and what follows it by name are left out"' >/dev/null ||
        fail "ndjson: $(grep '"stream":"file"' "$RESP_B" | tail -n 1)"
}

@test "files out over HTTP: clients that read nothing hold their run slots for the run's wall clock (5 s at least), not 30 s a file (attack-work F9)" {
    # four connections take the four slots, each for a run that leaves 8 MiB
    # in out/, and never read their ndjson answers (4 KiB receive buffers)
    spawn python3 -c '
import socket, sys, time
code = b"import os\nos.makedirs(\"out\")\nfor i in range(8): open(f\"out/f{i}.bin\", \"wb\").write(os.urandom((1 << 20) - 64))\n"
socks = []
for i in range(4):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"POST /short?format=ndjson HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-python\r\nContent-Length: %d\r\n\r\n" % len(code) + code)
    socks.append(s)
time.sleep(25)
' "$PORT"
    sleep 1
    local t0
    t0=$(now)
    # before: each file waited 30 s for its client, so the slots stayed
    # taken and this waited its 10 s in the queue for a 503
    req "$RUN" -d format=json --data-urlencode 'code=print("through")'
    expect_code 200
    expect_json '.stdout == "through\n"'
    fgt 8.5 "$(elapsed "$t0")" || fail "a slot came free after $(elapsed "$t0") s"
    kill "${BG_PIDS[0]}"
}

@test "files out over HTTP: a file whose name is not UTF-8 is listed dropped (U+FFFD for each bad byte) in json and ndjson, not lost (attack-work F1)" {
    local code='import os
os.makedirs("out")
open(b"out/\xc3\x28\xff.txt", "wb").write(b"x")
open("out/ok.txt", "w").write("fine")'
    req "$RUN" -d format=json --data-urlencode "code=$code"
    expect_code 200
    expect_json '.status == "ok"'
    expect_json '[.files[] | select(.dropped) | [.name, .dropped]] == [["\ufffd(\ufffd.txt", "name not valid UTF-8"]]'
    expect_json '[.files[] | select(.name == "ok.txt") | .size] == [4]'
    req "$RUN" -d format=ndjson --data-urlencode "code=$code"
    expect_code 200
    jq -se '[.[] | select(.stream == "file" and .dropped)] | length == 1' "$RESP_B" >/dev/null ||
        fail "ndjson: $(cat "$RESP_B")"
}
