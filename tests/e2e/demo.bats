#!/usr/bin/env bats
# demo.bats — `make demo` (scripts/demo.sh) with DEMO_TLS=1: the playground
# and the handler over HTTPS with HTTP/2 on a self-signed certificate made
# for the demo, its URL and fingerprint printed, and over plain HTTP as
# before; `make demo-stop` stops it.

load helpers

setup_file() {
    DEMO_DIR=$(mktemp -d /tmp/pysb-demo.XXXXXX)
    rm -rf "$DEMO_DIR"          # demo.sh makes it afresh
    DEMO_PORT=$("$HTTPD_SH" free-port)
    DEMO_TLS_PORT=$("$HTTPD_SH" free-port)
    until [ "$DEMO_TLS_PORT" != "$DEMO_PORT" ]; do DEMO_TLS_PORT=$("$HTTPD_SH" free-port); done
    export DEMO_DIR DEMO_PORT DEMO_TLS_PORT
}

teardown_file() {
    DEMO_DIR=$DEMO_DIR "$E2E_ROOT/scripts/demo.sh" stop >/dev/null 2>&1 3>&- || true
    rm -rf -- "${DEMO_DIR:-/nonexistent}"
}

@test "make demo DEMO_TLS=1: HTTPS with HTTP/2 on a generated certificate, the URL printed" {
    run env DEMO_TLS=1 DEMO_DETACH=1 "$E2E_ROOT/scripts/demo.sh" 3>&-
    [ "$status" = 0 ] || fail "demo.sh: $output"
    [[ $output == *"https://127.0.0.1:$DEMO_TLS_PORT/"* ]] || fail "no HTTPS URL printed: $output"
    [[ $output == *"Fingerprint="* ]] || fail "no fingerprint printed"
    openssl x509 -in "$DEMO_DIR/tls.crt" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
        fail "the certificate is not for 127.0.0.1"
    run curl -sk --http2 -o /dev/null -w '%{http_version} %{http_code}' "https://127.0.0.1:$DEMO_TLS_PORT/"
    [ "$output" = "2 200" ] || fail "the playground over HTTPS: $output"
    run curl -sk --http2 -w '\n%{http_version}' "https://127.0.0.1:$DEMO_TLS_PORT/run" \
        --data-urlencode 'code=print("hello over h2")'
    [ "$(head -n 1 <<<"$output")" = "hello over h2" ] && [ "$(tail -n 1 <<<"$output")" = 2 ] ||
        fail "a run over h2: $output"
    run curl -s "http://127.0.0.1:$DEMO_PORT/run" --data-urlencode 'code=print("plain")'
    [ "$(head -n 1 <<<"$output")" = plain ] || fail "plain HTTP: $output"
    run env DEMO_DIR="$DEMO_DIR" "$E2E_ROOT/scripts/demo.sh" stop 3>&-
    [ "$status" = 0 ] || fail "demo stop: $output"
    ! curl -sk -o /dev/null "https://127.0.0.1:$DEMO_TLS_PORT/" || fail "still answering after stop"
}
