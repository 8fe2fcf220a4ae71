#!/usr/bin/env bats
# memory_<mpm>.bats — no request body makes the httpd workers grow without
# bound, and what a body costs is returned after it (issue 8 point 1).
#
# For every encoding, eight clients at once send a worst-case body as
# large as the Location accepts (tests/tools/bodymem.py: a JSON array of a
# million zeros or empty objects or strings, a million keys, a million
# nested arrays; a form of a million empty pairs; multipart of thousands
# of tiny parts; the largest raw body; the largest valid body of each
# encoding, its stdin all escapes). The private memory of all workers
# together may grow by less than 50 MB while they are served, and must be
# back within 5 MB of rest a moment after. Before the bodies were decoded
# as they arrive (src/bodydec) this was 0.6-4 GB, most of it kept.
#
# One file, two MPMs (memory_prefork.bats is a symlink).

MPM=${BATS_TEST_FILENAME##*/}
MPM=${MPM%.bats}
MPM=${MPM#memory_}
case $MPM in
    event) RUN_UID_FIRST=601140 ;;
    *) RUN_UID_FIRST=601150 ;;
esac
load helpers

BODYMEM="$E2E_ROOT/tests/tools/bodymem.py"
PEAK_MAX_KB=$((50 * 1024))
AFTER_MAX_KB=$((5 * 1024))

setup_file() {
    e2e_start "$MPM" "PySandboxMaxRuns 8"
    export RUN="$URL/run"
}

teardown_file() { e2e_stop; }

# bodies KIND… WANT_CODE: each KIND measured; every answer WANT_CODE.
bodies() {
    local want=${*: -1} kinds line kind peak after codes
    kinds=$(IFS=,; echo "${*:1:$#-1}")
    run python3 "$BODYMEM" --url "$RUN" --parent "$E2E_PARENT" --kinds "$kinds" --settle 0.5
    [ "$status" = 0 ] || fail "bodymem: $output"
    while read -r line; do
        kind=$(jq -r .kind <<<"$line")
        peak=$(jq -r .peak_added_kb <<<"$line")
        after=$(jq -r .after_added_kb <<<"$line")
        codes=$(jq -r '.codes | unique | map(tostring) | join(",")' <<<"$line")
        note "[$MPM] $kind ($(jq -r .bytes <<<"$line") bytes) x8: +$peak KB at the peak, +$after KB after, HTTP $codes"
        [ "$codes" = "$want" ] || fail "$kind: HTTP $codes, expected $want"
        [ "$peak" -lt "$PEAK_MAX_KB" ] || fail "$kind: workers grew by $peak KB"
        [ "$after" -lt "$AFTER_MAX_KB" ] || fail "$kind: $after KB still held after the requests"
    done <<<"$output"
}

@test "[$MPM] JSON of a million tiny values (zeros, objects, strings, keys): refused at 4096, workers flat" {
    bodies json-zeros json-objects json-strings json-keys 413
}

@test "[$MPM] JSON nested a million deep: refused at level 5, workers flat" {
    bodies json-nested 400
}

@test "[$MPM] forms of a million pairs: refused at 4096, workers flat" {
    bodies form-empty form-pairs 413
}

@test "[$MPM] multipart of thousands of tiny parts, the largest raw body: workers flat" {
    bodies multipart-parts 400
    bodies raw-code 413
}

@test "[$MPM] the largest valid body of each encoding runs; what it held is returned" {
    bodies json-escaped form-escaped multipart-big 200
}
