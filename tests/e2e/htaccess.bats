#!/usr/bin/env bats
# htaccess.bats — what an .htaccess may do to a Location's limits
# (review-ops #2): any AllowOverride class lets it write the limit
# directives, so the merge clamps them to the enclosing main configuration:
# an .htaccess lowers a limit, never raises it (the table's defaults when
# nothing encloses it), with AllowOverride Indexes as with All; the
# fairness directives (PySandboxQueueTimeout, PySandboxMaxRunsPerClient,
# PySandboxClientKey) are main-configuration only: 500 with httpd's "not
# allowed here". One httpd (event MPM), .htaccess files under /tmp.

RUN_UID_FIRST=601280
load helpers

# ht DIR LINE…: DIR under $HT with an .htaccess of those lines.
ht() {
    local d=$HT/$1
    shift
    mkdir -p -m 0755 "$d"
    printf '%s\n' "$@" > "$d/.htaccess"
    chmod 0644 "$d/.htaccess"
}

setup_file() {
    # (under /tmp: www-data must reach them)
    HT=$(mktemp -d /tmp/pysb-e2e-htaccess.XXXXXX)
    export HT
    chmod 0755 "$HT"
    local raise=('PySandboxMemory 1T 1T' 'PySandboxScratch 16G' 'PySandboxCPUTime 86400 86400'
                 'PySandboxWallTime 86400 86400' 'PySandboxOutputLimit 4G 4G'
                 'PySandboxProcesses 64' 'PySandboxThreads 4096' 'PySandboxMaxOutputFiles 16M'
                 'PySandboxMaxCodeSize 1M' 'PySandboxMaxStdinSize 64M' 'PySandboxMaxFiles 64'
                 'PySandboxMaxFileSize 8M')
    mkdir -m 0755 "$HT/idx" "$HT/all" "$HT/admin" "$HT/big" "$HT/list"
    ht idx/raise "${raise[@]}"
    ht admin/raise "${raise[@]}"
    ht admin/lower 'PySandboxMemory 64M 100M' 'PySandboxScratch 1M' 'PySandboxCPUTime 1 2' \
        'PySandboxMaxCodeSize 4K' 'PySandboxMaxFiles 2'
    # the default raised up to the administrator's maximum: what a request may ask anyway
    ht admin/default 'PySandboxCPUTime 3'
    # under an administrator's limits above the defaults: an .htaccess
    # value between is kept, one above is the administrator's maximum
    ht big/between 'PySandboxMemory 300M 400M' 'PySandboxProcesses 3' 'PySandboxCPUTime 8 9' \
        'PySandboxMaxCodeSize 256K'
    ht big/same 'PySandboxProcesses 4'
    ht big/raise "${raise[@]}"
    # AllowOverrideList names directives for .htaccess whatever their own
    # contexts: the main-configuration-only ones still refuse
    local main_only=('PySandboxQueueTimeout 0' 'PySandboxReadOnlyPath /etc'
                     'PySandboxInterpreter /usr/bin/python3 -I' 'PySandboxStart cold'
                     'PySandboxPreload json' 'PySandboxMaxRunsPerClient 1'
                     'PySandboxClientKey header X-A' 'PySandboxPythonPath /srv'
                     'PySandboxSitePackages On')
    local l
    for l in "${main_only[@]}"; do ht "list/${l%% *}" "$l"; done
    ht all/queue 'PySandboxQueueTimeout 3600'
    ht all/share 'PySandboxMaxRunsPerClient off'
    ht all/key 'PySandboxClientKey header X-Anything'
    ht all/limits 'PySandboxWallTime 4'
    ht all/jobekey 'PySandboxJobeApiKey a-key'
    ht all/jobecache "PySandboxJobeFileCache $HT/cache 1M"
    # what grants no resources stays allowed (README)
    ht all/grants 'PySandboxAllowGet On' 'PySandboxDefaultFormat json' 'PySandboxUnknownFields ignore'
    # AllowOverride None with a limit named in AllowOverrideList: read, and clamped
    mkdir -m 0755 "$HT/only"
    ht only/raise 'PySandboxCPUTime 50 60' 'PySandboxMemory 1G'
    ht list/PySandboxJobeApiKey 'PySandboxJobeApiKey a-key'
    # nested .htaccess files: the inner one is clamped by the outer one and
    # by what encloses both (contract9 F1)
    ht all/nest 'PySandboxCPUTime 99 99' 'PySandboxMaxCodeSize 1M'
    ht all/nest/inner 'PySandboxCPUTime 50 50' 'PySandboxMaxCodeSize 512K'
    # under a virtual host's limits, in a <Directory> with a directive of
    # the module that is no limit (contract9 F1: the host's caps were lost)
    mkdir -m 0755 "$HT/vh"
    ht vh/raise 'PySandboxCPUTime 99 99' 'PySandboxMaxCodeSize 1M' 'PySandboxMemory 1T 1T'
    ht vh/lower 'PySandboxCPUTime 1 2' 'PySandboxMaxCodeSize 4K'
    e2e_start event "LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
Alias /ht \"$HT\"
<Directory \"$HT\">
    SetHandler pysandbox
    Require all granted
</Directory>
<Directory \"$HT/idx\">
    AllowOverride Indexes
</Directory>
<Directory \"$HT/all\">
    AllowOverride All
</Directory>
<Directory \"$HT/admin\">
    AllowOverride AuthConfig
    PySandboxMemory 128M 256M
    PySandboxScratch 2M
    PySandboxCPUTime 2 3
    PySandboxMaxCodeSize 8K
    PySandboxMaxFiles 4
</Directory>
<Directory \"$HT/list\">
    AllowOverride None
    AllowOverrideList PySandboxQueueTimeout PySandboxReadOnlyPath PySandboxInterpreter PySandboxStart PySandboxPreload PySandboxMaxRunsPerClient PySandboxClientKey PySandboxPythonPath PySandboxSitePackages PySandboxJobeApiKey
</Directory>
<Directory \"$HT/only\">
    AllowOverride None
    AllowOverrideList PySandboxCPUTime PySandboxMemory
</Directory>
<Directory \"$HT/big\">
    AllowOverride AuthConfig
    PySandboxMemory 512M 1G
    PySandboxProcesses 4
    PySandboxCPUTime 10 20
    PySandboxMaxCodeSize 512K
</Directory>
<Directory \"$HT/vh\">
    AllowOverride All
    PySandboxAllowGet On
</Directory>
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost *:*>
    ServerName limited.test
    PySandboxCPUTime 3 7
    PySandboxMaxCodeSize 20K
</VirtualHost>"
}

teardown_file() {
    [ -n "${HT:-}" ] && rm -rf -- "$HT"
    e2e_stop
}

@test ".htaccess under an administrator's limits above the defaults: a value between stays, one above is the administrator's maximum" {
    req "$URL/ht/big/between/x?info=1"
    expect_code 200
    expect_json '.memory == {"default": 314572800, "max": 419430400}'
    expect_json '.processes == 3 and .cpu_time == {"default": 8, "max": 9} and .max_code_size == 262144'
    req "$URL/ht/big/same/x?info=1"
    expect_json '.processes == 4 and .memory.max == 1073741824'
    req "$URL/ht/big/raise/x?info=1"
    expect_json '.memory == {"default": 1073741824, "max": 1073741824} and .processes == 4'
    expect_json '.cpu_time == {"default": 20, "max": 20} and .max_code_size == 524288'
}

@test ".htaccess under AllowOverride Indexes cannot raise any limit above the defaults" {
    req "$URL/ht/idx/raise/x?info=1"
    expect_code 200
    expect_json '.memory == {"default": 268435456, "max": 268435456}'
    expect_json '.cpu_time.max == 5 and .wall_time.max == 10 and .output.max == 1048576'
    expect_json '.scratch == 16777216 and .processes == 1 and .threads == 16 and .output_files == 8388608'
    expect_json '.max_code_size == 65536 and .max_stdin_size == 1048576 and .max_files == 16 and .max_file_size == 1048576'
    # and a run there has them: RLIMIT_AS 256M, 100 MiB (in files of 4 MiB,
    # under the 8M file size limit) do not fit its scratch
    req "$URL/ht/idx/raise/x" -d format=json --data-urlencode 'code=import resource
print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)
try:
    for i in range(25): open("f%d" % i, "wb").write(b"x" * 2**22)
    print("wrote 100 MiB")
except OSError as e:
    print("ERR", e.errno)'
    expect_code 200
    expect_json '.status == "ok" and .limits.memory == 268435456 and .limits.scratch == 16777216'
    expect_json '(.stdout | split("\n")[1]) == "ERR 28"'
    expect_json '(.stdout | split("\n")[0]) == "256"'
    # a request cannot ask past the clamped maximum
    req "$URL/ht/idx/raise/x" -d memory=1G --data-urlencode 'code=print(1)'
    expect_code 400
}

@test ".htaccess under AllowOverride AuthConfig: the administrator's maxima hold; lower values apply" {
    req "$URL/ht/admin/raise/x?info=1"
    expect_code 200
    expect_json '.memory == {"default": 268435456, "max": 268435456}'
    expect_json '.cpu_time == {"default": 3, "max": 3}'
    expect_json '.scratch == 2097152 and .max_code_size == 8192 and .max_files == 4'
    # what the administrator did not set: the defaults
    expect_json '.wall_time.max == 10 and .processes == 1 and .max_stdin_size == 1048576'
    req "$URL/ht/admin/lower/x?info=1"
    expect_code 200
    expect_json '.memory == {"default": 67108864, "max": 104857600}'
    expect_json '.cpu_time == {"default": 1, "max": 2}'
    expect_json '.scratch == 1048576 and .max_code_size == 4096 and .max_files == 2'
    req "$URL/ht/admin/default/x?info=1"
    expect_code 200
    expect_json '.cpu_time == {"default": 3, "max": 3}'
    # the admin's own Directory, no .htaccess: as configured
    req "$URL/ht/admin/x?info=1"
    expect_code 200
    expect_json '.memory == {"default": 134217728, "max": 268435456} and .cpu_time == {"default": 2, "max": 3}'
}

@test ".htaccess under a virtual host's limits, in a <Directory> with a directive of the module: the host's maxima hold (contract9 F1)" {
    req "$URL/ht/vh/raise/x?info=1" -H "Host: limited.test"
    expect_code 200
    expect_json '.cpu_time == {"default": 7, "max": 7} and .max_code_size == 20480'
    expect_json '.memory == {"default": 268435456, "max": 268435456} and .allow_get == true'
    # a body over the host's cap is refused there
    python3 -c "print('#' * 30000); print('print(1)')" > "$BATS_TEST_TMPDIR/big.py"
    req "$URL/ht/vh/raise/x" -H "Host: limited.test" -H 'Content-Type: text/x-python' \
        --data-binary @"$BATS_TEST_TMPDIR/big.py"
    expect_code 413
    req "$URL/ht/vh/lower/x?info=1" -H "Host: limited.test"
    expect_json '.cpu_time == {"default": 1, "max": 2} and .max_code_size == 4096'
    # the other host has no limits of its own: the defaults
    req "$URL/ht/vh/raise/x?info=1"
    expect_json '.cpu_time == {"default": 5, "max": 5} and .max_code_size == 65536'
}

@test "nested .htaccess files: the inner one cannot raise what encloses both (contract9 F1)" {
    req "$URL/ht/all/nest/inner/x?info=1"
    expect_code 200
    expect_json '.cpu_time == {"default": 5, "max": 5} and .max_code_size == 65536'
    req "$URL/ht/all/nest/x?info=1"
    expect_json '.cpu_time == {"default": 5, "max": 5} and .max_code_size == 65536'
    req "$URL/ht/all/nest/inner/x?info=1" -H "Host: limited.test"
    expect_json '.cpu_time == {"default": 7, "max": 7} and .max_code_size == 20480'
}

@test "the fairness directives are not allowed in .htaccess (500, httpd's line), limits still are" {
    local d
    for d in queue:PySandboxQueueTimeout share:PySandboxMaxRunsPerClient key:PySandboxClientKey; do
        req "$URL/ht/all/${d%%:*}/x" -d format=json --data-urlencode 'code=print("ran")'
        expect_code 500
        grep -q "${d#*:} not allowed here" "$H/error.log" || fail "${d#*:}: no line in the error log"
    done
    req "$URL/ht/all/limits/x" -d format=json --data-urlencode 'code=print("ran")'
    expect_code 200
    expect_json '.status == "ok" and .stdout == "ran\n" and .limits.wall_time == 4'
}

@test "AllowOverrideList cannot bring a main-configuration-only directive into .htaccess (500, one line each)" {
    local d
    for d in PySandboxQueueTimeout PySandboxReadOnlyPath PySandboxInterpreter PySandboxStart \
             PySandboxPreload PySandboxMaxRunsPerClient PySandboxClientKey PySandboxPythonPath \
             PySandboxSitePackages PySandboxJobeApiKey; do
        req "$URL/ht/list/$d/x" -d format=json --data-urlencode 'code=print("ran")'
        expect_code 500
        grep -q "$d is not allowed in .htaccess (main configuration only, AllowOverrideList included)" \
            "$H/error.log" || fail "$d: no line in the error log"
    done
}

@test "the Jobe API's directives are not allowed in .htaccess either (500, httpd's line) (contract8)" {
    local d
    for d in jobekey:PySandboxJobeApiKey jobecache:PySandboxJobeFileCache; do
        req "$URL/ht/all/${d%%:*}/x" -d format=json --data-urlencode 'code=print("ran")'
        expect_code 500
        grep -q "${d#*:} not allowed here" "$H/error.log" || fail "${d#*:}: no line in the error log"
    done
}

@test "PySandboxAllowGet, PySandboxDefaultFormat and PySandboxUnknownFields stay allowed in .htaccess (contract8)" {
    req "$URL/ht/all/grants/x?user_script=print(6*7)&submit=Run"
    expect_code 200
    expect_header Content-Type '^application/json'
    expect_json '.status == "ok" and .stdout == "42\n"'
    req "$URL/ht/all/grants/x?info=1"
    expect_json '.allow_get == true and .default_format == "json"'
}

@test "a limit named in AllowOverrideList under AllowOverride None is read, and only lowers (contract8)" {
    req "$URL/ht/only/raise/x?info=1"
    expect_code 200
    expect_json '.cpu_time == {"default": 5, "max": 5} and .memory == {"default": 268435456, "max": 268435456}'
}
