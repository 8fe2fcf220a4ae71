#!/bin/bash
# install.sh — `make install` and `make uninstall` (the Makefile sets the
# environment): the module and the warm runs' extension into httpd's
# module directory, the a2enmod files
# into mods-available, pysandbox-run into BINDIR, all of it under DESTDIR
# when that is set (a staging root). Every file is named as it goes in or
# out.
#
#   scripts/install.sh install|uninstall
#   DESTDIR  LIBEXECDIR (apxs -q LIBEXECDIR)  APACHE_CONFDIR (/etc/apache2)
#   BINDIR (/usr/local/bin)
#
# A configuration file the administrator has edited is never overwritten or
# removed: `install` puts the new one beside it as NAME.dist and says so,
# `uninstall` leaves it. "Edited" means it differs from what the last
# install wrote, whose checksums are kept in
# DESTDIR/var/lib/mod_pysandbox/installed (without that record, from what
# this tree would install). `uninstall` refuses while the module is
# enabled: httpd would not start without its .so.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
: "${DESTDIR:=}" "${LIBEXECDIR:?LIBEXECDIR is not set (apxs -q LIBEXECDIR)}"
: "${APACHE_CONFDIR:=/etc/apache2}" "${BINDIR:=/usr/local/bin}"
mods="$DESTDIR$APACHE_CONFDIR/mods-available"
enabled="$DESTDIR$APACHE_CONFDIR/mods-enabled/pysandbox.load"
so="$DESTDIR$LIBEXECDIR/mod_pysandbox.so"
ext="$DESTDIR$LIBEXECDIR/_pysandbox.abi3.so"
bin="$DESTDIR$BINDIR/pysandbox-run"
record="$DESTDIR/var/lib/mod_pysandbox/installed"

say() { echo "pysandbox: $*"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

# recorded PATH: the checksum the last install wrote for PATH, or nothing.
recorded() { [ -f "$record" ] && awk -v p="$1" '$2 == p { print $1 }' "$record" || true; }

# conf_src FILE: what is installed as mods-available/FILE: conf/FILE, and
# for the .load the module's real path ($LIBEXECDIR, not Debian's default
# written in conf/pysandbox.load).
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
sed -e "s|/usr/lib/apache2/modules/mod_pysandbox.so|$LIBEXECDIR/mod_pysandbox.so|" \
    "$root/conf/pysandbox.load" > "$gen/pysandbox.load"
cp "$root/conf/pysandbox.conf" "$gen/pysandbox.conf"
conf_src() { echo "$gen/$1"; }

# edited PATH SOURCE: PATH is there and is not what we last put there.
edited() {
    local was
    [ -e "$1" ] || return 1
    was=$(recorded "$1")
    if [ -n "$was" ]; then [ "$(sum "$1")" != "$was" ]; else ! cmp -s "$1" "$2"; fi
}

do_install() {
    local f src dst
    for f in "$root/build/mod_pysandbox.so" "$root/build/_pysandbox.abi3.so" \
             "$root/build/pysandbox-run"; do
        [ -f "$f" ] || { echo "pysandbox: $f is not built (run make)" >&2; exit 1; }
    done
    install -d "$DESTDIR$LIBEXECDIR" "$mods" "$DESTDIR$BINDIR" "$(dirname "$record")"
    install -m 644 "$root/build/mod_pysandbox.so" "$so"
    say "installed $so"
    # The fork servers import it as root: root's, written by root alone.
    install -m 644 "$root/build/_pysandbox.abi3.so" "$ext"
    say "installed $ext"
    install -m 755 "$root/build/pysandbox-run" "$bin"
    say "installed $bin"
    local new_record
    new_record=$(mktemp)
    for f in pysandbox.load pysandbox.conf; do
        src=$(conf_src "$f") dst="$mods/$f"
        if edited "$dst" "$src"; then
            install -m 644 "$src" "$dst.dist"
            say "kept your edited $dst; the new one is $dst.dist"
            # still the last one we wrote: what tells an edit from ours
            if [ -n "$(recorded "$dst")" ]; then
                echo "$(recorded "$dst") $dst" >> "$new_record"
            fi
        else
            install -m 644 "$src" "$dst"
            rm -f "$dst.dist"
            say "installed $dst"
            echo "$(sum "$dst") $dst" >> "$new_record"
        fi
    done
    install -m 644 "$new_record" "$record"
    rm -f "$new_record"
    if [ -z "$DESTDIR" ] && [ ! -e "$enabled" ]; then
        say "enable it with: a2enmod pysandbox && apachectl configtest && systemctl reload apache2"
    fi
}

do_uninstall() {
    local f dst
    if [ -e "$enabled" ] || [ -L "$enabled" ]; then
        echo "pysandbox: the module is enabled ($enabled): run a2dismod pysandbox and restart apache2 first" >&2
        exit 1
    fi
    for f in "$so" "$ext" "$bin"; do
        if [ -e "$f" ]; then rm -f "$f"; say "removed $f"; fi
    done
    for f in pysandbox.load pysandbox.conf; do
        dst="$mods/$f"
        if [ -e "$dst.dist" ]; then rm -f "$dst.dist"; say "removed $dst.dist"; fi
        [ -e "$dst" ] || continue
        if edited "$dst" "$(conf_src "$f")"; then
            say "kept your edited $dst"
        else
            rm -f "$dst"
            say "removed $dst"
        fi
    done
    rm -f "$record"
    rmdir "$(dirname "$record")" 2>/dev/null || true
}

case "${1:-}" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) echo "usage: $0 install|uninstall" >&2; exit 2 ;;
esac
