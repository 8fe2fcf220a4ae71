#!/bin/bash
# demo.sh — `make demo`: a throwaway httpd on 127.0.0.1 with the module and
# the playground page. Stays in the foreground; Ctrl-C (or `make
# demo-stop` from another terminal) stops it cleanly.
#   DEMO_PORT (default 8080), DEMO_MPM (event), DEMO_DIR (/tmp/pysandbox-demo),
#   DEMO_DETACH=1 to return once it is up; DEMO_TLS=1 serves HTTPS with
#   HTTP/2 as well, on DEMO_TLS_PORT (8443), with a self-signed certificate
#   made for the demo (scripts/httpd.sh, conf/httpd-tls.conf.in).
set -eu
cd "$(dirname "$0")/.."
port=${DEMO_PORT:-8080}
dir=${DEMO_DIR:-/tmp/pysandbox-demo}
tls_port=""
[ "${DEMO_TLS:-0}" = 1 ] && tls_port=${DEMO_TLS_PORT:-8443}
case "${1:-start}" in
stop)
    scripts/httpd.sh stop "$dir"
    echo "pysandbox demo stopped"
    exit 0 ;;
esac
if [ -s "$dir/httpd.pid" ] && kill -0 "$(cat "$dir/httpd.pid")" 2>/dev/null; then
    echo "pysandbox demo: already running (pid $(cat "$dir/httpd.pid")); make demo-stop first" >&2
    exit 1
fi
for p in $port $tls_port; do
    if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $p))" 2>/dev/null; then
        echo "pysandbox demo: port $p is taken; try: make demo DEMO_PORT=8081 (DEMO_TLS_PORT=8444)" >&2
        exit 1
    fi
done
if [ -n "$tls_port" ] && [ "${DEMO_MPM:-event}" = prefork ]; then
    echo "pysandbox demo: mod_http2 does not serve prefork: HTTPS answers with HTTP/1.1 only" >&2
fi
rm -rf "$dir"
mkdir -p "$dir"
HTTPD_TLS_PORT=$tls_port scripts/httpd.sh start "$dir" "$port" "${DEMO_MPM:-event}"
url="http://127.0.0.1:$port"
cat <<MSG

  mod_pysandbox demo is running: $url/   (playground)
  handler: $url/run        logs: $dir/error.log, $dir/access.log

  Try:
    curl -s $url/run --data-urlencode 'code=print("hello from the sandbox")'
    curl -s $url/run -d format=json --data-urlencode 'code=import os; print(os.getuid())'
    curl -s '$url/run?user_script=print("hello%20CGI!")'

MSG
if [ -n "$tls_port" ]; then
    tls="https://127.0.0.1:$tls_port"
    cat <<MSG
  HTTPS with HTTP/2: $tls/   (self-signed: accept the browser's warning, curl -k)
    certificate $dir/tls.crt, $(openssl x509 -in "$dir/tls.crt" -noout -fingerprint -sha256)
    curl -sk --http2 $tls/run --data-urlencode 'code=print("hello over h2")' -w '%{http_version}\n'

MSG
fi
cat <<MSG
  Stop: Ctrl-C here, or: make demo-stop

MSG
[ "${DEMO_DETACH:-0}" = 1 ] && exit 0
trap 'echo; scripts/httpd.sh stop "$dir"; echo "pysandbox demo stopped"; exit 0' INT TERM
pid=$(cat "$dir/httpd.pid")
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
