#!/bin/bash
# t0510-install: `make install DESTDIR=...` puts every file an operator needs
# in its usual place under the configured prefix: the strata command, the
# helper programs it runs (the daemon, the analysis) in PKGLIBEXECDIR, every
# man page, the example configuration, the systemd unit (with the daemon
# program's real path) and the bash completion; the installed command runs,
# loads no library but libc and jansson, finds the installed helpers from
# where it is (DESTDIR included), and says so in one line when they are
# missing.
. "$(dirname "$0")/lib.sh"

need_cmd make jq curl
top=${TEST_BUILDDIR:-$(dirname "$0")}/..
[ -f "$top/Makefile" ] || skip_all "no configured build tree at $top"
# make expands ${prefix} and friends as the install rules do. Not as a
# sub-make of `make -j2 check`: with its MAKEFLAGS, make announces the
# directory it enters whatever --no-print-directory says.
mkvar() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top" --no-print-directory -f Makefile -f - print-var VAR="$1" <<'MK'
print-var:
	@echo $($(VAR))
MK
}
prefix=$(mkvar prefix)
sysconfdir=$(mkvar sysconfdir)
libexec=$(mkvar pkglibexecdir)
[ -n "$prefix" ] && [ -n "$libexec" ] || skip_all "cannot read prefix from $top/Makefile"
dest=$TMP/root
if make -C "$top" install DESTDIR="$dest" >"$TMP/install.log" 2>&1; then
	ok "make install DESTDIR=..."
else
	not_ok "make install DESTDIR=..."; tail -20 "$TMP/install.log" | sed 's/^/#   /'
	done_testing
fi
note "prefix $prefix, sysconfdir $sysconfdir, helpers in $libexec"

bin=$dest$prefix/bin/strata
check "the command: $prefix/bin/strata" test -x "$bin"
is "the installed command runs" "$("$bin" --version)" "$("$STRATA" --version)"
for helper in strata-serve strata-analyze; do
	check "the helper program $libexec/$helper" test -x "$dest$libexec/$helper"
done
is "nothing but strata in $prefix/bin" "$(cd "$dest$prefix/bin" && ls)" strata
# What every command pays before it says a word: no RocksDB, libcurl,
# libarchive, OpenSSL or libstdc++ in the command itself.
# A sanitizer build adds the sanitizers' runtimes and what they need.
runtime=()
[ -n "${STRATA_TEST_SANITIZED:-}" ] && runtime=(-e libasan -e libubsan -e libm -e libgcc_s -e libstdc++)
if command -v ldd >/dev/null 2>&1; then
	is "the command loads only libc and jansson" \
		"$(ldd "$bin" | awk '{ print $1 }' | sed 's|.*/||; s|\.so.*||' | grep -v -x -e linux-vdso -e ld-linux-x86-64 \
			-e ld-linux-aarch64 -e libc -e libjansson "${runtime[@]}" | tr '\n' ' ')" ""
else
	skip "ldd is not installed"
fi

# The installed command runs the installed helpers, found from where it is.
export STRATA_STORE=$TMP/istore
check "the installed command starts the installed daemon" "$bin" images
ipid=$(curl -s --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version | jq -r .pid)
at_exit "kill -TERM $ipid"
is "that daemon runs $libexec/strata-serve" "$(readlink "/proc/$ipid/exe")" "$dest$libexec/strata-serve"
kill -TERM "$ipid"
for _ in $(seq 100); do running "$ipid" || break; sleep 0.1; done
mkdir -p "$TMP/rootfs/etc"
echo 'ID=strata-test' >"$TMP/rootfs/etc/os-release"
echo 'id: 42' >"$TMP/rootfs/etc/notes"
check "the installed command analyzes with the installed strata-analyze" \
	"$bin" analyze --analyzers files "$TMP/rootfs" -o "$TMP/report.json"
is "its report lists the directory's files" "$(jq -r '[.files[].path] | join(" ")' "$TMP/report.json")" \
	"/etc /etc/notes /etc/os-release"

# Without its helpers (a copy of the command alone), a command that needs
# one fails in one line naming the program and where it was looked for.
mkdir -p "$TMP/alone"
cp "$STRATA" "$TMP/alone/strata"
if [ -e "$libexec/strata-serve" ]; then
	skip "strata is installed in $libexec on this machine: a lone command finds its helpers there"
else
	fails_with "a lone strata cannot serve" "cannot run strata-serve: no executable '$libexec/strata-serve'" \
		"$TMP/alone/strata" --store "$TMP/alone-store" serve
	fails_with "a lone strata cannot analyze" "cannot run strata-analyze: no executable '$libexec/strata-analyze'" \
		"$TMP/alone/strata" analyze "$TMP/rootfs"
	fails_with "a lone strata cannot start a daemon" "cannot run strata-serve: no executable '$libexec/strata-serve'" \
		env STRATA_STORE="$TMP/alone-store" "$TMP/alone/strata" images
fi
for page in $(cd "$TEST_SRCDIR/../man" && ls); do
	section=${page##*.}
	check "man page $page in man$section" test -s "$dest$prefix/share/man/man$section/$page"
done
check "the example configuration: $sysconfdir/strata/strata.conf.example" \
	cmp -s "$TEST_SRCDIR/../contrib/strata.conf.example" "$dest$sysconfdir/strata/strata.conf.example"
unit=$dest$prefix/lib/systemd/system/strata.service
check "the systemd unit: $prefix/lib/systemd/system/strata.service" test -s "$unit"
is "the unit runs the installed daemon program" "$(sed -n 's/^ExecStart=//p' "$unit")" "$libexec/strata-serve serve"
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
