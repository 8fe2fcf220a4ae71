#!/usr/bin/env bats
# bytes.bats — what the program's bytes become in ndjson and sse events:
# bytes that are not UTF-8 arrive as U+FFFD, NUL as \u0000, a character
# cut between two writes arrives whole, and big outputs (one 1 MiB line,
# 100 000 tiny lines) arrive complete.

load helpers

setup_file() { stream_setup_file; }
teardown_file() { stream_teardown_file; }

@test "${T2}a byte that is not UTF-8 arrives as U+FFFD, NUL as \\u0000 (ndjson)" {
    post bad_nd ndjson 'import sys
sys.stdout.buffer.write(b"a\xffb")
sys.stdout.flush()
sys.stdout.buffer.write(b"|c\x00d")
sys.stderr.buffer.write(b"e\xfe\x00f")'
    events bad_nd ndjson
    evcheck bad_nd "$(joined stdout) == \"a\\ufffdb|c\\u0000d\""
    evcheck bad_nd "$(joined stderr) == \"e\\ufffd\\u0000f\""
    # On the wire NUL is the escape \u0000, never a raw NUL byte.
    grep -qF '\u0000' "$T/bad_nd.body" || { show "$T/bad_nd.body"; fail "no \\u0000 escape on the wire"; }
    [ "$(tr -cd '\000' <"$T/bad_nd.body" | wc -c)" -eq 0 ] || fail "raw NUL byte in the body"
    # The byte counts are of what the program wrote.
    evcheck bad_nd '.[-1].stdout_bytes == 7 and .[-1].stderr_bytes == 4'
}

@test "${T2}a byte that is not UTF-8 arrives as U+FFFD, NUL as \\u0000 (sse)" {
    post bad_ss sse 'import sys
sys.stdout.buffer.write(b"a\xffb\x00c")'
    events bad_ss sse
    evcheck bad_ss "$(joined stdout) == \"a\\ufffdb\\u0000c\""
    grep -q '^data: .*\\u0000' "$T/bad_ss.body" || { show "$T/bad_ss.body"; fail "no \\u0000 escape"; }
    [ "$(tr -cd '\000' <"$T/bad_ss.body" | wc -c)" -eq 0 ] || fail "raw NUL byte in the body"
}

SPLIT_EURO='import sys, time
sys.stdout.buffer.write(b"price: \xe2\x82"); sys.stdout.flush()
time.sleep(0.3)
sys.stdout.buffer.write(b"\xac!\n"); sys.stdout.flush()'

@test "${T2}a 3-byte character split across two writes with a sleep arrives as one € (ndjson)" {
    post eu_nd ndjson "$SPLIT_EURO"
    events eu_nd ndjson
    evcheck eu_nd "$(joined stdout) == \"price: €!\\n\""
    evcheck eu_nd "[.[] | select(.data) | .data | test(\"\\ufffd\")] | any | not"
    # It was written in two pieces: the first part arrived before the €.
    evcheck eu_nd '[.[] | select(.stream == "stdout") | .data] | .[0] | startswith("price:")'
    evcheck eu_nd '[.[] | select(.stream == "stdout") | .data | select(test("€"))] | length == 1'
}

@test "${T2}a 3-byte character split across two writes with a sleep arrives as one € (sse)" {
    post eu_ss sse "$SPLIT_EURO"
    events eu_ss sse
    evcheck eu_ss "$(joined stdout) == \"price: €!\\n\""
    ! grep -q $'\xef\xbf\xbd' "$T/eu_ss.body" || fail "U+FFFD on the wire"
    ! grep -qi 'ufffd' "$T/eu_ss.body" || fail "escaped U+FFFD on the wire"
}

@test "${T2}a 4-byte character in three writes, and cuts on both streams at once, arrive whole" {
    post cut4 ndjson 'import sys, time
o, e = sys.stdout.buffer, sys.stderr.buffer
o.write(b"\xf0\x9f"); o.flush(); time.sleep(0.15)
o.write(b"\x98"); o.flush(); time.sleep(0.15)
o.write(b"\x80\n"); o.flush()
o.write(b"A\xe2\x82"); e.write(b"B\xc3"); o.flush(); e.flush(); time.sleep(0.15)
e.write(b"\xa9"); e.flush(); time.sleep(0.15)
o.write(b"\xac"); o.flush()'
    events cut4 ndjson
    evcheck cut4 "$(joined stdout) == \"😀\\nA€\""
    evcheck cut4 "$(joined stderr) == \"Bé\""
    evcheck cut4 '.[-1].stdout_bytes == 9 and .[-1].stderr_bytes == 3'
}

@test "${T2}a character cut by the end of the output becomes U+FFFD before the exit event" {
    post tail_nd ndjson 'import sys; sys.stdout.buffer.write(b"ok\xe2\x82")'
    events tail_nd ndjson
    evcheck tail_nd "$(joined stdout) | test(\"^ok\\ufffd+\$\")"
    post tail_ss sse 'import sys, time; sys.stdout.buffer.write(b"ok\xe2\x82"); sys.stdout.flush(); time.sleep(0.2); sys.stdout.buffer.write(b"\xff")'
    events tail_ss sse
    evcheck tail_ss "$(joined stdout) | test(\"^ok\\ufffd+\$\")"
}

LINE_1M='import sys
sys.stdout.write("0123456789abcdef" * 65536 + "\n")'

@test "${T2}one 1 MiB line (output=4M) arrives complete (ndjson)" {
    post big_nd ndjson "$LINE_1M" -d output=4M
    events big_nd ndjson
    evcheck big_nd "$(joined stdout) == (\"0123456789abcdef\" * 65536 + \"\\n\")"
    evcheck big_nd '.[-1] | .status == "ok" and .stdout_bytes == 1048577 and .stdout_truncated == false and .limits.output == 4194304'
}

@test "${T2}one 1 MiB line (output=4M) arrives complete (sse)" {
    post big_ss sse "$LINE_1M" -d output=4M
    events big_ss sse
    evcheck big_ss "$(joined stdout) | length == 1048577"
    evcheck big_ss "$(joined stdout) == (\"0123456789abcdef\" * 65536 + \"\\n\")"
    evcheck big_ss '.[-1] | .status == "ok" and .stdout_bytes == 1048577'
}

@test "${T2}a 1 MiB line of non-ASCII characters, cut anywhere by the pipes, arrives whole" {
    # 2-, 3- and 4-byte characters: the pipe and frame boundaries fall
    # inside characters many times; none may become U+FFFD.
    post bigu_nd ndjson 'import sys
sys.stdout.write("é€😀" * 116508 + "\n")' -d output=4M
    events bigu_nd ndjson
    evcheck bigu_nd "$(joined stdout) == (\"é€😀\" * 116508 + \"\\n\")"
    evcheck bigu_nd '.[-1].stdout_bytes == 1048573'
}

HUNDRED_K='for i in range(100000):
    print(i)'

@test "${T2}100 000 tiny lines arrive complete (ndjson)" {
    post lines_nd ndjson "$HUNDRED_K"
    events lines_nd ndjson
    evcheck lines_nd "$(joined stdout) == ([range(100000) | tostring + \"\\n\"] | add)"
    evcheck lines_nd '.[-1] | .status == "ok" and .stdout_bytes == 588890'
}

@test "${T2}100 000 tiny lines arrive complete (sse)" {
    post lines_ss sse "$HUNDRED_K"
    events lines_ss sse
    evcheck lines_ss "$(joined stdout) == ([range(100000) | tostring + \"\\n\"] | add)"
    evcheck lines_ss '.[-1] | .status == "ok" and .stdout_bytes == 588890'
}

@test "${T2}a trailing byte that can never start a character is not held back" {
    # 0xff cannot begin a UTF-8 sequence: its U+FFFD must go out at once,
    # not wait for the next output 4 s later.
    curl -sS -N --max-time "$CURL_MAX" -o "$T/ff.body" "$BASE/run" -d format=ndjson \
        --data-urlencode $'code=import sys, time\nsys.stdout.buffer.write(b"A\\xff"); sys.stdout.flush()\ntime.sleep(4)\nprint("B")' &
    BG_PIDS+=("$!")
    wait_for 3.5 grep -qF $'A\xef\xbf\xbd' "$T/ff.body" || true
    cp "$T/ff.body" "$T/ff.snap" 2>/dev/null || : >"$T/ff.snap"
    wait "${BG_PIDS[-1]}"
    grep -qF $'A\xef\xbf\xbd' "$T/ff.snap" || { show "$T/ff.snap"; fail "U+FFFD held back"; }
    ! grep -q '"B' "$T/ff.snap" || fail "the snapshot was taken too late to tell"
}
