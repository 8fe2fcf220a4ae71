#!/usr/bin/env bats
# config.bats — configuration errors fail `apache2 -t` with one clear line
# naming the problem (DESIGN §5). Configurations are generated from
# conf/httpd-test.conf.in as scripts/httpd.sh does, and never started.

RUN_UID_FIRST=601060
load helpers

# gen_conf EXTRA_TEXT: $CONF_DIR/httpd.conf from the template.
gen_conf() {
    CONF_DIR="$BATS_TEST_TMPDIR/srv"
    mkdir -p "$CONF_DIR/run"
    sed -e "s|@DIR@|$CONF_DIR|g" -e "s|@PORT@|1|g" -e "s|@MPM@|event|g" \
        -e "s|@MODULE@|$E2E_ROOT/build/mod_pysandbox.so|g" -e "s|@WWW@|$E2E_ROOT/conf/www|g" \
        -e "s|@LOGLEVEL@|info|g" -e "s|@UID_FIRST@|600000|g" -e "s|@UID_LAST@|600999|g" \
        "$E2E_ROOT/conf/httpd-test.conf.in" > "$CONF_DIR/httpd.conf.tmp"
    python3 - "$CONF_DIR/httpd.conf.tmp" "$1" <<'PY'
import sys
p, extra = sys.argv[1], sys.argv[2]
s = open(p).read()
assert "@EXTRA@" in s
open(p, "w").write(s.replace("@EXTRA@", extra))
PY
    mv "$CONF_DIR/httpd.conf.tmp" "$CONF_DIR/httpd.conf"
}

# conf_test EXTRA_TEXT: apache2 -t on it; $status, $output, $lines.
conf_test() {
    gen_conf "$1"
    run timeout "${CONF_TEST_TIMEOUT:-20}" "$APACHE2" -t -d "$CONF_DIR" -f "$CONF_DIR/httpd.conf"
    # -t never starts anything
    [ -z "$(ls "$CONF_DIR"/run/pysandbox.*.sock 2>/dev/null)" ] || fail "apache2 -t created a launcher socket"
    [ ! -e "$CONF_DIR/httpd.pid" ] || fail "apache2 -t wrote a pid file"
}

# make_venv: a venv of /usr/bin/python3 under /run (root's, 0755: a fork
# server imports only what nobody but root could have written), its
# site-packages holding modules only its interpreter with site (-I, no -S)
# can import: pysbconfonly (nothing), pysbconfthr (leaves a second thread),
# pysbconfslow (sleeps 45 s). Sets VENV (removed by teardown), VPY.
make_venv() {
    VENV=$(mktemp -d /run/pysb-conf-test.XXXXXX)
    chmod 0755 "$VENV"
    /usr/bin/python3 -m venv --without-pip "$VENV/venv" || { fail "python3 -m venv failed"; return 1; }
    VPY=$VENV/venv/bin/python3
    local site
    site=$(echo "$VENV"/venv/lib/python3.*/site-packages)
    echo 'x = 1' > "$site/pysbconfonly.py"
    printf 'import threading, time\nthreading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n' \
        > "$site/pysbconfthr.py"
    printf 'import time\ntime.sleep(45)\n' > "$site/pysbconfslow.py"
    chmod 0644 "$site"/*.py
}

teardown() {
    [ -z "${VENV:-}" ] || rm -rf -- "$VENV"
}

conf_dump() {
    echo "--- apache2 -t exit status $status, output:" >&2
    printf '%s\n' "$output" >&2
}

# expect_conf_error ERE: exit status ≠ 0, exactly one line matches ERE, and
# at most one other line (httpd's "Syntax error on line N" or
# "Configuration check failed").
expect_conf_error() {
    [ "$status" != 0 ] || { conf_dump; echo "FAIL: apache2 -t accepted it" >&2; return 1; }
    local n
    n=$(printf '%s\n' "$output" | grep -cE -- "$1" || true)
    [ "$n" = 1 ] || { conf_dump; echo "FAIL: $n lines match /$1/" >&2; return 1; }
    [ "${#lines[@]}" -le 2 ] || { conf_dump; echo "FAIL: ${#lines[@]} lines of output" >&2; return 1; }
}

@test "a valid configuration passes apache2 -t" {
    conf_test "PySandboxUserRange 601060 601069
PySandboxMaxRuns 4
<Location /x>
    SetHandler pysandbox
    PySandboxInterpreter /usr/bin/python3 -I -S
    PySandboxCPUTime 1.5 3
    PySandboxWallTime 2 4
    PySandboxMemory 128M 256M
    PySandboxOutputLimit 64K 1M
    PySandboxProcesses 1
    PySandboxThreads 8
    PySandboxMaxCodeSize 16K
    PySandboxMaxStdinSize 64K
    PySandboxReadOnlyPath /usr/share/doc
    PySandboxAllowGet Off
    PySandboxDefaultFormat json
    PySandboxUnknownFields ignore
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "valid config rejected"; }
    [[ $output == *"Syntax OK"* ]] || { conf_dump; fail "no Syntax OK"; }
}

@test "PySandboxUserRange containing uid 0" {
    conf_test "PySandboxUserRange 0 1000"
    expect_conf_error '^PySandboxUserRange.*uid 0'
}

@test "PySandboxUserRange containing httpd's User (www-data, uid 33)" {
    conf_test "PySandboxUserRange 30 40"
    expect_conf_error "PySandboxUserRange 30-40 contains httpd's User \\(uid 33\\)"
}

@test "PySandboxUserRange with first above last, or fewer uids than PySandboxMaxRuns" {
    conf_test "PySandboxUserRange 601069 601060"
    expect_conf_error '^PySandboxUserRange.*601069.*above.*601060'
    conf_test "PySandboxUserRange 601060 601061
PySandboxMaxRuns 4"
    expect_conf_error 'PySandboxUserRange 601060-601061 holds 2 uids, fewer than PySandboxMaxRuns 4'
}

@test "PySandboxInterpreter missing" {
    conf_test "<Location /x>
    PySandboxInterpreter /nonexistent/python3
</Location>"
    expect_conf_error '^PySandboxInterpreter /nonexistent/python3: No such file or directory$'
}

@test "PySandboxInterpreter not executable (mode 644), a directory, a relative path" {
    local f="$BATS_TEST_TMPDIR/python3"
    cp /usr/bin/python3 "$f"
    chmod 644 "$f"
    conf_test "<Location /x>
    PySandboxInterpreter $f -I -S
</Location>"
    expect_conf_error "^PySandboxInterpreter $f: not an executable file\$"
    conf_test "<Location /x>
    PySandboxInterpreter /usr/bin
</Location>"
    expect_conf_error '^PySandboxInterpreter /usr/bin: not an executable file$'
    conf_test "<Location /x>
    PySandboxInterpreter python3
</Location>"
    expect_conf_error '^PySandboxInterpreter python3: an absolute path is required$'
}

@test "PySandboxInterpreter takes only interpreter options: -c, -m, a script, -h, a -W category that imports a module, a bad --check-hash-based-pycs fail with one line" {
    # each would run instead of every request's program, answering "ok"
    # whatever code was sent (review-ops #9)
    local a w
    for a in "-c print(1)|-c" "-Ic print(1)|-Ic" "-m this|-m" "-I /etc/passwd|/etc/passwd" \
             "-|-" "-- x|--" "-V|-V" "--help|--help" "-W|-W" \
             "-W ignore::unittest.__main__.X|-W ignore::unittest.__main__.X" \
             "-I -Wignore::this.X|-Wignore::this.X" \
             "--check-hash-based-pycs=always|--check-hash-based-pycs=always" \
             "--check-hash-based-pycs bogus|--check-hash-based-pycs bogus"; do
        w=${a#*|}
        conf_test "<Location /x>
    PySandboxInterpreter /usr/bin/python3 ${a%|*}
</Location>"
        expect_conf_error "^PySandboxInterpreter /usr/bin/python3: only interpreter options may follow the path \(not -c, -m or a script\): ${w}: " ||
            return 1
    done
    conf_test "<Location /x>
    PySandboxInterpreter /usr/bin/python3 -I -S -B -W ignore -W ignore::DeprecationWarning -Xfrozen_modules=off -X dev -OO --check-hash-based-pycs never
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "refused options"; }
}

@test "PySandboxCPUTime / PySandboxWallTime with the default above the maximum" {
    conf_test "PySandboxCPUTime 10 5"
    expect_conf_error '^PySandboxCPUTime: the default 10 is above the maximum 5$'
    conf_test "<Location /x>
    PySandboxWallTime 30 20
</Location>"
    expect_conf_error '^PySandboxWallTime: the default 30 is above the maximum 20$'
    conf_test "PySandboxCPUTime abc"
    expect_conf_error '^PySandboxCPUTime abc: '
}

@test "PySandboxMemory with a malformed size, or out of range; PySandboxOutputLimit min > max" {
    conf_test "PySandboxMemory 12Q"
    expect_conf_error '^PySandboxMemory 12Q: not a size'
    conf_test "PySandboxMemory 1K"
    expect_conf_error '^PySandboxMemory: sizes must be between'
    conf_test "PySandboxOutputLimit 2M 1M"
    expect_conf_error '^PySandboxOutputLimit: the default 2M is above the maximum 1M$'
}

@test "other directives: missing read-only path, unknown format, out-of-range counts" {
    conf_test "PySandboxReadOnlyPath /nonexistent/dir"
    expect_conf_error '^PySandboxReadOnlyPath /nonexistent/dir: No such file or directory$'
    conf_test "PySandboxReadOnlyPath usr/share"
    expect_conf_error '^PySandboxReadOnlyPath usr/share: an absolute, normalised path is required$'
    conf_test "PySandboxReadOnlyPath /proc"
    expect_conf_error '^PySandboxReadOnlyPath /proc: /, /proc, /dev and /run/pysandbox cannot be read-only paths of a run$'
    conf_test "PySandboxReadOnlyPath /dev/shm"
    expect_conf_error '^PySandboxReadOnlyPath /dev/shm: /, /proc, /dev and /run/pysandbox cannot be read-only paths of a run$'
    conf_test "PySandboxDefaultFormat xml"
    expect_conf_error '^PySandboxDefaultFormat xml: one of text, json, ndjson, sse$'
    conf_test "PySandboxMaxRuns 0"
    expect_conf_error '^PySandboxMaxRuns 0: '
    # the bounds printed as numbers (apr_psprintf has no %llu: review-ops #10)
    conf_test "PySandboxProcesses 0"
    expect_conf_error '^PySandboxProcesses 0: .* \(1 to 4096\)$'
    conf_test "PySandboxProcesses 100000"
    expect_conf_error '^PySandboxProcesses 100000: .* \(1 to 4096\)$'
    conf_test "<Location /x>
    PySandboxThreads 0
</Location>"
    expect_conf_error '^PySandboxThreads 0: .* \(1 to 4096\)$'
    conf_test "PySandboxMaxCodeSize 0"
    expect_conf_error '^PySandboxMaxCodeSize: must be between 1 and '
}

@test "server-wide directives are refused inside a Location" {
    conf_test "<Location /x>
    PySandboxMaxRuns 4
</Location>"
    expect_conf_error 'PySandboxMaxRuns.*not allowed'
}

@test "server-wide directives are refused inside a VirtualHost, with one line saying why" {
    local d
    for d in "PySandboxSocket /tmp/pysb-x.sock" "PySandboxMaxRuns 4" "PySandboxUserRange 601060 601069"; do
        conf_test "<VirtualHost *:*>
    ServerName v.test
    $d
</VirtualHost>"
        expect_conf_error "^${d%% *} cannot be set in a <VirtualHost>: one launcher serves every virtual host" ||
            return 1
    done
    # inside a Location of a VirtualHost: httpd's own line says so
    conf_test "<VirtualHost *:*>
    <Location /x>
        PySandboxMaxRuns 4
    </Location>
</VirtualHost>"
    expect_conf_error '^PySandboxMaxRuns not allowed in <Location> context'
}

@test "Location-scope directives in VirtualHosts pass apache2 -t" {
    conf_test "PySandboxUserRange 601060 601069
<VirtualHost *:*>
    ServerName v.test
    PySandboxDefaultFormat json
    PySandboxCPUTime 2 4
    <Location /x>
        SetHandler pysandbox
        PySandboxMemory 64M 128M
        PySandboxReadOnlyPath /usr/share/doc
    </Location>
</VirtualHost>"
    [ "$status" = 0 ] || { conf_dump; fail "valid config rejected"; }
    [[ $output == *"Syntax OK"* ]] || { conf_dump; fail "no Syntax OK"; }
}

@test "PySandboxUnknownFields takes reject or ignore" {
    conf_test "PySandboxUnknownFields drop"
    expect_conf_error '^PySandboxUnknownFields drop: reject or ignore$'
}

@test "the admission directives: valid values pass, bad ones fail with one line" {
    conf_test "PySandboxUserRange 601060 601069
PySandboxQueueSize 0
<Location /x>
    SetHandler pysandbox
    PySandboxQueueTimeout 2.5
    PySandboxMaxRunsPerClient 2
    PySandboxClientKey header X-Forwarded-For
</Location>
<Location /y>
    PySandboxQueueTimeout 0
    PySandboxMaxRunsPerClient off
    PySandboxClientKey user
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "valid config rejected"; }
    conf_test "PySandboxQueueTimeout soon"
    expect_conf_error '^PySandboxQueueTimeout soon: '
    conf_test "PySandboxQueueTimeout 3601"
    expect_conf_error '^PySandboxQueueTimeout 3601: at most 3600 seconds$'
    conf_test "PySandboxMaxRunsPerClient 0"
    expect_conf_error '^PySandboxMaxRunsPerClient 0: .*\(off, or 1 to 100000\)$'
    conf_test "PySandboxClientKey cookie"
    expect_conf_error '^PySandboxClientKey cookie: ip, user or header NAME$'
    conf_test "PySandboxClientKey header"
    expect_conf_error '^PySandboxClientKey header: ip, user or header NAME$'
    conf_test "PySandboxQueueSize -1"
    expect_conf_error '^PySandboxQueueSize -1: '
    conf_test "<VirtualHost *:*>
    ServerName v.test
    PySandboxQueueSize 4
</VirtualHost>"
    expect_conf_error '^PySandboxQueueSize cannot be set in a <VirtualHost>'
}

@test "PySandboxJobeFileCache and PySandboxJobeApiKey: bad values fail apache2 -t with one line" {
    conf_test "<Location /jobe>
    SetHandler pysandbox-jobe
    PySandboxJobeFileCache $BATS_TEST_TMPDIR/jobe-files 64M
    PySandboxJobeApiKey 2AAA7A5415B4A9B394B54BF1D2E9D other
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "valid config rejected"; }
    conf_test "PySandboxJobeFileCache jobe-files 64M"
    expect_conf_error '^PySandboxJobeFileCache jobe-files: an absolute, normalised path is required$'
    conf_test "PySandboxJobeFileCache /tmp/../x 64M"
    expect_conf_error 'an absolute, normalised path is required$'
    conf_test "PySandboxJobeFileCache /no/such/parent/jobe 64M"
    expect_conf_error '^PySandboxJobeFileCache /no/such/parent/jobe: its parent directory /no/such/parent does not exist$'
    conf_test "PySandboxJobeFileCache $BATS_TEST_TMPDIR/j 5G"
    expect_conf_error 'the size may be 4G at most$'
    conf_test "PySandboxJobeFileCache $BATS_TEST_TMPDIR/j 4095"
    expect_conf_error 'the size must be at least 4K \(a file costs 4K at least\)$'
    conf_test "<Location /a>
    PySandboxJobeFileCache $BATS_TEST_TMPDIR/j 1M
</Location>
<Location /b>
    PySandboxJobeFileCache $BATS_TEST_TMPDIR/j 8M
</Location>"
    expect_conf_error "^PySandboxJobeFileCache $BATS_TEST_TMPDIR/j: named elsewhere with another size; one directory has one size\$"
    conf_test "PySandboxJobeFileCache $BATS_TEST_TMPDIR/j lots"
    expect_conf_error '^PySandboxJobeFileCache'
    # someone's directory or a file is never taken over (contract9 F2);
    # an empty directory is fine
    mkdir -p "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/empty"
    echo keep > "$BATS_TEST_TMPDIR/theirs/important.txt"
    conf_test "PySandboxJobeFileCache $BATS_TEST_TMPDIR/theirs 1M"
    expect_conf_error "^PySandboxJobeFileCache $BATS_TEST_TMPDIR/theirs: $BATS_TEST_TMPDIR/theirs exists, is not empty and is not a Jobe file cache \\(not 0700 with a .lock\\): name a new or empty directory\$"
    conf_test "PySandboxJobeFileCache $BATS_TEST_TMPDIR/theirs/important.txt 1M"
    expect_conf_error "^PySandboxJobeFileCache $BATS_TEST_TMPDIR/theirs/important.txt: $BATS_TEST_TMPDIR/theirs/important.txt exists and is not a directory\$"
    conf_test "PySandboxJobeFileCache $BATS_TEST_TMPDIR/empty 1M"
    [ "$status" = 0 ] || { conf_dump; fail "an empty directory rejected"; }
    conf_test "PySandboxJobeApiKey 'a b'"
    expect_conf_error '^PySandboxJobeApiKey: a key is printable ASCII without spaces$'
}

@test "PySandboxStart takes cold or warm, PySandboxPreload module names: anything else fails with one line" {
    conf_test "<Location /x>
    PySandboxStart lukewarm
</Location>"
    expect_conf_error 'PySandboxStart lukewarm: expected cold or warm'
    conf_test "<Location /x>
    PySandboxPreload json os;rm
</Location>"
    expect_conf_error 'PySandboxPreload os;rm: not a module name'
    conf_test "<Location /x>
    PySandboxStart warm
    PySandboxPreload json re collections.abc
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "refused a valid one"; }
}

@test "PySandboxPreload of a module the fork server cannot import fails configtest with the server's one line" {
    conf_test "<Location /x>
    PySandboxStart warm
    PySandboxPreload json no_such_module_pysb
</Location>"
    expect_conf_error 'PySandboxPreload no_such_module_pysb: refused: no_such_module_pysb: cannot be imported by /usr/bin/python3: ModuleNotFoundError'
    # with the section's own interpreter: numpy needs site (no -S)
    /usr/bin/python3 -I -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    conf_test "<Location /x>
    PySandboxInterpreter /usr/bin/python3 -I -S
    PySandboxPreload numpy
</Location>"
    expect_conf_error 'PySandboxPreload numpy: refused: numpy: cannot be imported'
    conf_test "<Location /x>
    PySandboxInterpreter /usr/bin/python3 -I
    PySandboxPreload numpy
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "refused numpy with site"; }
}

@test "the Apache side formats only with conversions apr knows (no %zu, %llu, %lld, %jd…)" {
    # apr_psprintf and ap_log_*error print "%zu" as is and leave its
    # argument to the next conversion: every later number is shifted (the
    # 413 of input files), a later %s dereferences a number (review-ops #10)
    run python3 "$E2E_ROOT/tests/tools/aprfmt.py" "$E2E_ROOT"/httpd/*.[ch] "$E2E_ROOT/mod_pysandbox.c"
    [ "$status" = 0 ] || { printf '%s\n' "$output" >&2; fail "format strings apr cannot print"; }
}

@test "PySandboxPreload is checked with the interpreter a Location inherits: the main server's, its VirtualHost's, an outer Location's" {
    # (review-ops #3: each of these was refused, checked with the default)
    make_venv
    conf_test "PySandboxInterpreter $VPY -I
<Location /x>
    SetHandler pysandbox
    PySandboxPreload pysbconfonly
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "main server's interpreter ignored"; }
    conf_test "<VirtualHost *:*>
    ServerName v.test
    PySandboxInterpreter $VPY -I
    <Location /x>
        SetHandler pysandbox
        PySandboxPreload pysbconfonly
    </Location>
</VirtualHost>"
    [ "$status" = 0 ] || { conf_dump; fail "the VirtualHost's interpreter ignored"; }
    conf_test "<Location /a>
    SetHandler pysandbox
    PySandboxInterpreter $VPY -I
</Location>
<Location /a/b>
    PySandboxPreload json pysbconfonly
</Location>"
    [ "$status" = 0 ] || { conf_dump; fail "the outer Location's interpreter ignored"; }
    # no interpreter that can import it: one line naming the one tried, flags too
    conf_test "<Location /x>
    PySandboxPreload pysbconfonly
</Location>"
    expect_conf_error '^PySandboxPreload pysbconfonly: refused: pysbconfonly: cannot be imported by /usr/bin/python3: ModuleNotFoundError.* \(interpreter /usr/bin/python3 -I -S\)$'
    # ... or every one tried, the most likely first
    conf_test "PySandboxInterpreter $VPY -I -S
<Location /x>
    PySandboxPreload pysbconfonly
</Location>"
    expect_conf_error "^PySandboxPreload pysbconfonly: refused: pysbconfonly: cannot be imported by $VPY: ModuleNotFoundError.* \\(interpreter $VPY -I -S; nor with /usr/bin/python3 -I -S\\)\$"
    # the section's own interpreter, when set there, is the only one
    conf_test "PySandboxInterpreter $VPY -I
<Location /x>
    PySandboxInterpreter /usr/bin/python3 -I
    PySandboxPreload pysbconfonly
</Location>"
    expect_conf_error '^PySandboxPreload pysbconfonly: refused: .* \(interpreter /usr/bin/python3 -I\)$'
}

@test "a refused PySandboxPreload's configtest line carries the server's reason: a second thread; a 30 s timeout says so" {
    # (review-ops #6: the lines were "OSError: " and a raw byte)
    make_venv
    conf_test "<Location /x>
    PySandboxInterpreter $VPY -I
    PySandboxPreload pysbconfthr
</Location>"
    expect_conf_error "^PySandboxPreload pysbconfthr: refused: 2 threads after the preloads \\(must be 1\\) \\(interpreter $VPY -I\\)\$"
    local t0
    t0=$(now)
    CONF_TEST_TIMEOUT=60 conf_test "<Location /x>
    PySandboxInterpreter $VPY -I
    PySandboxPreload pysbconfslow
</Location>"
    expect_conf_error "^PySandboxPreload pysbconfslow: timed out: the fork server was not ready within 30 s \\(importing pysbconfslow took longer\\), killed \\(interpreter $VPY -I\\)\$"
    fgt "$(elapsed "$t0")" 29 && ! fgt "$(elapsed "$t0")" 40 || fail "took $(elapsed "$t0") s"
    # the check killed the server: nothing of it is left (its argv names
    # this test's own venv: the other pass may be checking its own)
    ! pgrep -f "$VPY" >/dev/null || fail "the checked server is still alive"
}

@test "PySandboxSocket in a missing directory fails configtest with one line; a relative path is relative to DefaultRuntimeDir" {
    # (review-ops #4: it passed, and the launcher then failed to bind at
    # every restart, every request a 503)
    conf_test "PySandboxSocket /nonexistent/dir/x.sock"
    expect_conf_error '^PySandboxSocket /nonexistent/dir/x.sock: its directory /nonexistent/dir: No such file or directory$'
    conf_test "PySandboxSocket /etc/passwd/x.sock"
    expect_conf_error '^PySandboxSocket /etc/passwd/x.sock: its directory /etc/passwd is not a directory$'
    # the template's DefaultRuntimeDir is $CONF_DIR/run
    conf_test "PySandboxSocket sub/x.sock"
    expect_conf_error "^PySandboxSocket sub/x.sock: its directory $BATS_TEST_TMPDIR/srv/run/sub: No such file or directory\$"
    mkdir -p "$BATS_TEST_TMPDIR/srv/run/sub"
    conf_test "PySandboxSocket sub/x.sock"
    [ "$status" = 0 ] || { conf_dump; fail "refused a socket in an existing directory"; }
    conf_test "PySandboxSocket $BATS_TEST_TMPDIR/x.sock"
    [ "$status" = 0 ] || { conf_dump; fail "refused an absolute path"; }
}

@test "PySandboxSocket naming a directory or a file that is no socket fails configtest with one line; a stale socket passes (contract8)" {
    # (it passed, and the launcher then failed to rename its socket onto a
    # directory at every restart, once a second, every request a 503; a
    # regular file there it would have replaced)
    mkdir -p "$BATS_TEST_TMPDIR/srv/run/isdir"
    conf_test "PySandboxSocket isdir"
    expect_conf_error "^PySandboxSocket isdir: $BATS_TEST_TMPDIR/srv/run/isdir is a directory, not a socket\$"
    touch "$BATS_TEST_TMPDIR/srv/run/file"
    conf_test "PySandboxSocket file"
    expect_conf_error "^PySandboxSocket file: $BATS_TEST_TMPDIR/srv/run/file exists and is not a socket\$"
    # a socket left by a launcher that died with httpd is taken over
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
        "$BATS_TEST_TMPDIR/srv/run/stale.sock"
    conf_test "PySandboxSocket stale.sock"
    [ "$status" = 0 ] || { conf_dump; fail "refused a stale socket"; }
}
