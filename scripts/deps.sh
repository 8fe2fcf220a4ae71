#!/bin/sh
# deps.sh — install the Debian packages the build, the tests and the demo
# need, only those missing (build: what `make all` needs, apxs included).
# Idempotent and quiet when nothing is missing.
# For `test` also Chromium and Node.js (the browser tests) and, when
# tests/browser/node_modules is missing or older than its lock file,
# `npm ci` there (playwright-core only; it never downloads a browser).
# Usage: scripts/deps.sh [build|test|demo|bench]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${1:-build}
want="gcc make pkg-config libseccomp-dev libjansson-dev python3-dev apache2-dev"
case "$profile" in
  build) ;;
  test)  want="$want libcmocka-dev bats jq curl openssl apache2 procps chromium fonts-dejavu-core python3-numpy python3-matplotlib util-linux" ;;
  demo)  want="$want apache2 curl openssl" ;;
  bench) want="$want hyperfine wrk apache2 curl jq" ;;
  fuzz)  want="$want clang libclang-rt-14-dev" ;;
esac
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (the machines have a newer
# one): only a missing node or npm command asks for Debian's.
if [ "$profile" = test ]; then
  command -v node >/dev/null 2>&1 || missing="$missing nodejs"
  command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "pysandbox: missing packages:$missing (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "pysandbox: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null >/dev/null
  apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null
fi
if [ "$profile" = test ]; then
  b="$root/tests/browser"
  if [ ! -d "$b/node_modules" ] || [ "$b/package-lock.json" -nt "$b/node_modules/.package-lock.json" ]; then
    echo "pysandbox: npm ci in tests/browser" >&2
    (cd "$b" && npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null)
  fi
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 20 ] || echo "pysandbox: node $major is older than playwright-core needs (20); the browser tests may fail" >&2
fi
