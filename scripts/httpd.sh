#!/bin/bash
# httpd.sh — a throwaway Apache httpd with mod_pysandbox on 127.0.0.1, for
# the tests, `make demo` and the benchmarks. Only processes it started are
# ever signalled, by pid.
#
#   scripts/httpd.sh start DIR PORT [MPM] [EXTRA_CONF_FILE]   start, wait until it answers
#                                          (@DIR@ in EXTRA_CONF_FILE is DIR)
#   scripts/httpd.sh stop DIR                                  stop it and wait for it to go
#   scripts/httpd.sh free-port                                 print a free loopback port
#
# With HTTPD_TLS_PORT=N, start also serves HTTPS with HTTP/2 on port N
# (conf/httpd-tls.conf.in), with a self-signed certificate for 127.0.0.1
# and localhost made in DIR (tls.crt, tls.key) unless one is there.
# Runs get the uids HTTPD_UID_FIRST (default 600000) .. +999, moved by
# PYSB_TEST_UID_SHIFT (tests/run-all.sh's passes).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
    local dir=$1 port=$2 mpm=${3:-event} extra=${4:-}
    mkdir -p "$dir/run"
    # www-data must reach the launcher's socket in DIR/run and the pages,
    # wherever the checkout lives (CI may clone under /root): copy them.
    rm -rf "$dir/www"
    cp -r "$root/conf/www" "$dir/www"
    chmod -R a+rX "$dir/www"
    chmod 755 "$dir" "$dir/run"
    local extra_text="" tls_port=${HTTPD_TLS_PORT:-}
    # @DIR@ in the extra text too: a file of the test's own httpd directory
    [ -n "$extra" ] && extra_text=$(sed -e "s|@DIR@|$dir|g" "$extra")
    if [ -n "$tls_port" ]; then
        [ -s "$dir/tls.crt" ] || make_cert "$dir"
        extra_text="$(sed -e "s|@DIR@|$dir|g" -e "s|@TLS_PORT@|$tls_port|g" \
            "$root/conf/httpd-tls.conf.in")
$extra_text"
    fi
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@MPM@|$mpm|g" \
        -e "s|@MODULE@|$root/build/mod_pysandbox.so|g" -e "s|@WWW@|$dir/www|g" \
        -e "s|@LOGLEVEL@|${PYSB_LOGLEVEL:-info}|g" \
        -e "s|@UID_FIRST@|$((${HTTPD_UID_FIRST:-600000} + ${PYSB_TEST_UID_SHIFT:-0}))|g" \
        -e "s|@UID_LAST@|$((${HTTPD_UID_FIRST:-600000} + 999 + ${PYSB_TEST_UID_SHIFT:-0}))|g" \
        "$root/conf/httpd-test.conf.in" > "$dir/httpd.conf.tmp"
    python3 - "$dir/httpd.conf.tmp" "$extra_text" <<'PY'
import sys
p, extra = sys.argv[1], sys.argv[2]
s = open(p).read().replace("@EXTRA@", extra)
open(p, "w").write(s)
PY
    mv "$dir/httpd.conf.tmp" "$dir/httpd.conf"
    /usr/sbin/apache2 -d "$dir" -f "$dir/httpd.conf" -k start
    for _ in $(seq 1 100); do
        if [ -s "$dir/httpd.pid" ] && curl -q -s -o /dev/null "http://127.0.0.1:$port/" &&
           { [ -z "$tls_port" ] || curl -q -sk -o /dev/null "https://127.0.0.1:$tls_port/"; }; then
            # and the launcher's socket is there
            ls "$dir"/run/pysandbox.*.sock >/dev/null 2>&1 && return 0
        fi
        sleep 0.05
    done
    echo "httpd.sh: httpd did not come up on port $port; see $dir/error.log" >&2
    tail -n 20 "$dir/error.log" >&2 || true
    return 1
}

# A self-signed EC certificate (not a CA: mod_ssl would warn AH01906).
make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
        -addext basicConstraints=critical,CA:FALSE \
        -keyout "$1/tls.key" -out "$1/tls.crt" 2>/dev/null
    chmod 600 "$1/tls.key"
}

stop() {
    local dir=$1 pid
    [ -s "$dir/httpd.pid" ] || return 0
    pid=$(cat "$dir/httpd.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    echo "httpd.sh: httpd $pid still running after 10 s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    free-port) free_port ;;
    *) echo "usage: $0 start DIR PORT [MPM] [EXTRA] | stop DIR | free-port" >&2; exit 2 ;;
esac
