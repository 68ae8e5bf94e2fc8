# srccopy.sh: sourced by the scripts that build strata a second time, out of
# tree (tests/sanitize.sh, tests/fuzz/run-fuzz.sh). A source tree that is
# itself configured (config.status at the top) cannot host a VPATH build, so
# its files are then copied to BUILD/src, their times kept: a build that
# follows rebuilds only what changed. Git's list of them; outside a git
# checkout (a tarball), all of it, then distclean.
#
#   srccopy NAME SRC BUILD    sets CONF_SRC to the tree to configure from;
#                             returns 1 (with a line "NAME: error: ...") on failure
srccopy() {
	local name=$1 src=$2 build=$3
	CONF_SRC=$src
	if [ -f "$src/config.status" ]; then
		echo "$name: $src is configured in tree; building from a copy in $build/src"
		rm -rf "$build/src"
		mkdir -p "$build/src"
		if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
			(cd "$src" && git ls-files -z --cached --others --exclude-standard |
				grep -zv "^$(basename "$build")/" |
				tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$build/src") ||
				{ echo "$name: error: copying the sources failed" >&2; return 1; }
		else
			# Not a git checkout (a tarball, a git archive): all of it, cleaned.
			(cd "$src" && tar --exclude="./$(basename "$build")" -cf - .) | tar -xf - -C "$build/src" &&
				make -C "$build/src" distclean >"$build/distclean.log" 2>&1 ||
				{ echo "$name: error: copying the sources failed (see $build/distclean.log)" >&2; return 1; }
		fi
		CONF_SRC=$build/src
	fi
	if [ ! -x "$CONF_SRC/configure" ]; then
		(cd "$CONF_SRC" && autoreconf -fi) >"$build/autoreconf.log" 2>&1 ||
			{ tail -20 "$build/autoreconf.log"; echo "$name: error: autoreconf failed" >&2; return 1; }
	fi
	return 0
}
