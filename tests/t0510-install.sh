#!/bin/bash
# t0510-install: `make install DESTDIR=...` puts every file an operator needs
# in its usual place under the configured prefix: the binary, every man page,
# the example configuration, the systemd unit (with the binary's real path)
# and the bash completion; and the installed binary runs.
. "$(dirname "$0")/lib.sh"

need_cmd make
top=${TEST_BUILDDIR:-$(dirname "$0")}/..
[ -f "$top/Makefile" ] || skip_all "no configured build tree at $top"
prefix=$(sed -n 's/^prefix = //p' "$top/Makefile")
sysconfdir=$(sed -n 's/^sysconfdir = //p' "$top/Makefile" | sed "s|\${prefix}|$prefix|")
[ -n "$prefix" ] || skip_all "cannot read prefix from $top/Makefile"
dest=$TMP/root
if make -C "$top" install DESTDIR="$dest" >"$TMP/install.log" 2>&1; then
	ok "make install DESTDIR=..."
else
	not_ok "make install DESTDIR=..."; tail -20 "$TMP/install.log" | sed 's/^/#   /'
	done_testing
fi
note "prefix $prefix, sysconfdir $sysconfdir"

check "the binary: $prefix/bin/strata" test -x "$dest$prefix/bin/strata"
is "the installed binary runs" "$("$dest$prefix/bin/strata" --version)" "$("$STRATA" --version)"
for page in $(cd "$TEST_SRCDIR/../man" && ls); do
	section=${page##*.}
	check "man page $page in man$section" test -s "$dest$prefix/share/man/man$section/$page"
done
check "the example configuration: $sysconfdir/strata/strata.conf.example" \
	cmp -s "$TEST_SRCDIR/../contrib/strata.conf.example" "$dest$sysconfdir/strata/strata.conf.example"
unit=$dest$prefix/lib/systemd/system/strata.service
check "the systemd unit: $prefix/lib/systemd/system/strata.service" test -s "$unit"
is "the unit runs the installed binary" "$(sed -n 's/^ExecStart=//p' "$unit")" "$prefix/bin/strata serve"
is "no @placeholder@ is left in the unit" "$(grep -c '@[a-z]*@' "$unit")" 0
check "the bash completion: $prefix/share/bash-completion/completions/strata" \
	cmp -s "$TEST_SRCDIR/../contrib/bash-completion/strata" "$dest$prefix/share/bash-completion/completions/strata"
is "nothing is installed outside DESTDIR's prefix and sysconfdir" \
	"$(cd "$dest" && find . -type f | grep -v "^\.$prefix/" | grep -v "^\.$sysconfdir/" | head -5)" ""

if make -C "$top" uninstall DESTDIR="$dest" >"$TMP/uninstall.log" 2>&1; then
	is "make uninstall removes every file again" "$(find "$dest" -type f | head -5)" ""
else
	not_ok "make uninstall"; tail -10 "$TMP/uninstall.log" | sed 's/^/#   /'
fi
done_testing
