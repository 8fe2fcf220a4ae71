#!/usr/bin/env bats
# install.bats — `make install` and `make uninstall` into a DESTDIR staging
# root (never the machine's own /usr or /etc): what goes where, with which
# mode, said on the way; an edited pysandbox.conf kept (the new one as
# .dist); uninstall removes what it installed, keeps an edited conf, and
# refuses while the module is enabled.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
LIBEXEC=$(apxs -q LIBEXECDIR)

setup() {
    D=$(mktemp -d /tmp/pysb-install.XXXXXX)
    MODS="$D/etc/apache2/mods-available"
    SO="$D$LIBEXEC/mod_pysandbox.so"
    EXT="$D$LIBEXEC/_pysandbox.abi3.so"
    BIN="$D/usr/local/bin/pysandbox-run"
}

teardown() { rm -rf -- "$D"; }

fail() { echo "FAIL: $*" >&2; printf '%s\n' "$output" >&2; return 1; }

mk() { run make -s -C "$ROOT" "$1" DESTDIR="$D"; }

@test "make install: module, warm runs' extension, a2enmod files and pysandbox-run, each named as installed" {
    mk install
    [ "$status" = 0 ] || fail "exit $status"
    [ "$(stat -c %a "$SO")" = 644 ] || fail "module mode"
    cmp -s "$SO" "$ROOT/build/mod_pysandbox.so" || fail "module differs"
    # next to the module, where it looks for it; root's alone
    [ "$(stat -c %a:%u "$EXT")" = 644:0 ] || fail "extension mode"
    cmp -s "$EXT" "$ROOT/build/_pysandbox.abi3.so" || fail "extension differs"
    [[ $output == *"installed $EXT"* ]] || fail "not said: the extension"
    [ "$(stat -c %a "$BIN")" = 755 ] || fail "pysandbox-run mode"
    "$BIN" --help | grep -q '^usage: pysandbox-run' || fail "pysandbox-run does not run"
    for f in pysandbox.load pysandbox.conf; do
        cmp -s "$MODS/$f" "$ROOT/conf/$f" || fail "$f differs"
        [ "$(stat -c %a "$MODS/$f")" = 644 ] || fail "$f mode"
        [[ $output == *"installed $MODS/$f"* ]] || fail "not said: $f"
    done
    [[ $output == *"installed $SO"* && $output == *"installed $BIN"* ]] || fail "not said"
    [ ! -e "$MODS/pysandbox.conf.dist" ] || fail ".dist without an edit"
}

@test "make install keeps an edited pysandbox.conf and installs the new one as .dist" {
    mk install
    echo "PySandboxMaxRuns 3" >> "$MODS/pysandbox.conf"
    cp "$MODS/pysandbox.conf" "$BATS_TEST_TMPDIR/edited"
    mk install
    [ "$status" = 0 ] || fail "exit $status"
    cmp -s "$MODS/pysandbox.conf" "$BATS_TEST_TMPDIR/edited" || fail "the edit was overwritten"
    cmp -s "$MODS/pysandbox.conf.dist" "$ROOT/conf/pysandbox.conf" || fail ".dist is not the new one"
    [[ $output == *"kept your edited $MODS/pysandbox.conf; the new one is $MODS/pysandbox.conf.dist"* ]] ||
        fail "not said"
    # the unedited .load is simply replaced
    [[ $output == *"installed $MODS/pysandbox.load"* ]] || fail ".load"
    [ ! -e "$MODS/pysandbox.load.dist" ] || fail ".load.dist"
    # and stays kept on the next install: still an edit of what we wrote
    mk install
    cmp -s "$MODS/pysandbox.conf" "$BATS_TEST_TMPDIR/edited" || fail "overwritten the second time"
}

@test "make install replaces an unedited conf of an earlier install, and an edited one found without a record is kept" {
    mk install
    # An earlier release's conf, untouched since its install wrote it.
    echo "# an older pysandbox.conf" > "$MODS/pysandbox.conf"
    sed -i "s|^[0-9a-f]* $MODS/pysandbox.conf\$|$(sha256sum "$MODS/pysandbox.conf" | cut -d' ' -f1) $MODS/pysandbox.conf|" \
        "$D/var/lib/mod_pysandbox/installed"
    mk install
    cmp -s "$MODS/pysandbox.conf" "$ROOT/conf/pysandbox.conf" || fail "not replaced"
    [ ! -e "$MODS/pysandbox.conf.dist" ] || fail ".dist for an unedited file"
    # No record (an install by an older Makefile): anything else is an edit.
    rm "$D/var/lib/mod_pysandbox/installed"
    echo "# mine" > "$MODS/pysandbox.conf"
    mk install
    [ "$(cat "$MODS/pysandbox.conf")" = "# mine" ] || fail "overwritten"
    [ -e "$MODS/pysandbox.conf.dist" ] || fail "no .dist"
}

@test "make uninstall removes what install put there, says so, keeps an edited conf" {
    mk install
    mk uninstall
    [ "$status" = 0 ] || fail "exit $status"
    for f in "$SO" "$EXT" "$BIN" "$MODS/pysandbox.load" "$MODS/pysandbox.conf"; do
        [ ! -e "$f" ] || fail "$f left"
        [[ $output == *"removed $f"* ]] || fail "not said: $f"
    done
    [ ! -e "$D/var/lib/mod_pysandbox" ] || fail "record left"

    mk install
    echo "PySandboxMaxRuns 3" >> "$MODS/pysandbox.conf"
    mk install                      # leaves a .dist
    mk uninstall
    [ "$status" = 0 ] || fail "exit $status"
    grep -q 'PySandboxMaxRuns 3' "$MODS/pysandbox.conf" || fail "the edited conf was removed"
    [[ $output == *"kept your edited $MODS/pysandbox.conf"* ]] || fail "not said"
    [ ! -e "$MODS/pysandbox.conf.dist" ] && [ ! -e "$SO" ] && [ ! -e "$MODS/pysandbox.load" ] ||
        fail "left: $(find "$D" -type f)"
}

@test "make uninstall refuses while the module is enabled" {
    mk install
    mkdir -p "$D/etc/apache2/mods-enabled"
    ln -s ../mods-available/pysandbox.load "$D/etc/apache2/mods-enabled/pysandbox.load"
    mk uninstall
    [ "$status" != 0 ] || fail "uninstall went ahead"
    [[ $output == *"a2dismod pysandbox"* ]] || fail "does not say what to do"
    [ -e "$SO" ] && [ -e "$MODS/pysandbox.load" ] || fail "removed something"
}

@test "the installed pysandbox.load names the module where it was installed, also off Debian's module directory" {
    run env DESTDIR="$D" LIBEXECDIR=/opt/pysb-modules "$ROOT/scripts/install.sh" install
    [ "$status" = 0 ] || fail "exit $status"
    [ -e "$D/opt/pysb-modules/mod_pysandbox.so" ] || fail "no module in the given LIBEXECDIR"
    grep -qx 'LoadModule pysandbox_module /opt/pysb-modules/mod_pysandbox.so' "$MODS/pysandbox.load" ||
        fail "the .load says: $(cat "$MODS/pysandbox.load")"
    # and uninstall takes the generated .load for its own
    run env DESTDIR="$D" LIBEXECDIR=/opt/pysb-modules "$ROOT/scripts/install.sh" uninstall
    [ "$status" = 0 ] || fail "uninstall: exit $status"
    [ ! -e "$MODS/pysandbox.load" ] || fail "uninstall kept the .load as an edit"
}
