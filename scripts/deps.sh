#!/bin/sh
# deps.sh — install the Debian packages the build, the tests and the demo
# need, only those missing. Idempotent and quiet when nothing is missing.
# Usage: scripts/deps.sh [build|test|demo|bench]
set -eu
want="gcc make pkg-config libseccomp-dev libjansson-dev"
case "${1:-build}" in
  build) ;;
  test)  want="$want libcmocka-dev bats jq curl apache2 apache2-dev procps" ;;
  demo)  want="$want apache2 apache2-dev curl" ;;
  bench) want="$want hyperfine wrk apache2 apache2-dev curl jq" ;;
  fuzz)  want="$want clang libclang-rt-14-dev" ;;
esac
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "pysandbox: missing packages:$missing (run as root, or apt-get install them)" >&2
  exit 1
fi
echo "pysandbox: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null >/dev/null
apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null
