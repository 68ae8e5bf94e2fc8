#!/bin/bash
# t0520-quickstart: README's quick start on a fresh minimal Debian. A
# `debootstrap --variant=minbase bookworm` chroot with no sudo in it gets a
# clean `git archive` of this checkout; the README's two commands, read from
# README.md's "Quick start" block, run in it as root: the first must install,
# build and do the main job (pull, mount, analyze), the second, bounded by
# STRATA_CHECK_TESTS to the unit tests and one integration test, must end
# with "N passed, 0 failed, 0 skipped". Every command a test asks for must
# be there after setup. A user without sudo is told in one line what to run
# as root; a user with sudo (a sudoers entry the test adds) runs both
# commands, setup installing a package through sudo.
#
# The chroot runs in a mount and PID namespace of its own: /proc, /sys, a
# small /dev with /dev/fuse, a tmpfs /tmp, the test images
# ($STRATA_TEST_CACHE, so they are not rebuilt) and the host's apt archives
# (so that packages are not downloaded again) are mounted there, and when a
# command ends every process it left (the strata daemon) is killed and every
# mount goes with the namespace. Apt in the chroot uses the host's sources
# and proxy settings.
#
# Cached in $STRATA_TEST_CACHE: the debootstrap result, and the system as
# the first command's package installation left it (installing ~600
# packages takes minutes), keyed on that base, tests/setup.sh and
# tests/as-root.sh: a change to either installs from the fresh system
# again, and so does STRATA_QUICKSTART_FRESH=1. Both are rebuilt when a
# month old.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "making a chroot needs root"
[ -z "${STRATA_TEST_SANITIZED:-}" ] || skip_all "the quick start builds and tests its own strata, not this sanitizer build"
need_cmd debootstrap git unshare chroot tar flock
SRC=$(cd "$TEST_SRCDIR/.." && pwd)
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || skip_all "$SRC is not a git checkout"
test_images  # current for this checkout, so the chroot's runs reuse them

# --- README.md's commands -----------------------------------------------------------
readme_cmds() {
	sed -n '/^## Quick start/,/^## /p' "$SRC/README.md" | sed -n '/^```sh$/,/^```$/{/^```/d;p}'
}
is "README's quick start is two commands" "$(readme_cmds | wc -l)" 2
CMD1=$(readme_cmds | sed -n 1p)
CMD2=$(readme_cmds | sed -n 2p)
note "quick start: '$CMD1', '$CMD2'"
is ".ci/run runs the README's second command" "$(sed -n 's/^exec //p' "$SRC/.ci/run")" "$CMD2"
BOUND="unit tests/t0010-pull-registry.sh"
# As a user: t0010 compares with `umoci unpack`, which a user cannot run
# without --rootless; t0420 has checks of its own for a user.
BOUND_USER="unit tests/t0420-secrets-cache.sh"

# --- the systems, cached -------------------------------------------------------------
SUITE=bookworm
ARCH=$(dpkg --print-architecture)
MIRROR=http://deb.debian.org/debian
# What each tarball depends on; bump the first word when its recipe changes.
KEY=$(printf '%s\n' rootfs-1 "$SUITE" minbase "$ARCH" "$MIRROR" \
	"$(dpkg-query -W -f='${Version}' debootstrap)" | sha256sum | cut -c1-16)
BASE=$STRATA_TEST_CACHE/quickstart-$SUITE-minbase-$KEY.tar
SETUP_KEY=$(cat <(echo setup-1 "$KEY") "$SRC/tests/setup.sh" "$SRC/tests/as-root.sh" | sha256sum | cut -c1-16)
READY=$STRATA_TEST_CACHE/quickstart-$SUITE-setup-$SETUP_KEY.tar
current() { [ -f "$1" ] && [ -n "$(find "$1" -mtime -30)" ]; }
make_base() { # one maker at a time; the others wait and use its result
	(
		flock -w 900 8 || exit 1
		current "$BASE" && exit 0
		d=$TMP/debootstrap
		# tests/build-images.sh keeps the minbase packages it downloaded. In a
		# namespace of its own, nothing debootstrap mounts outlives it.
		tgz=$STRATA_TEST_CACHE/debootstrap-$SUITE-minbase.tgz from=()
		[ -f "$tgz" ] && from=(--unpack-tarball="$tgz")
		unshare --mount --propagation private -- debootstrap --variant=minbase "${from[@]}" "$SUITE" "$d" \
			"$MIRROR" >"$TMP/debootstrap.log" 2>&1 || { tail -20 "$TMP/debootstrap.log"; exit 1; }
		rm -rf "$d"/var/lib/apt/lists/* "$d"/var/cache/apt/archives/*.deb "$d/etc/resolv.conf" "$d/etc/hostname"
		tar -C "$d" --numeric-owner -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE" && rm -rf "$d"
	) 8>"$STRATA_TEST_CACHE/quickstart.lock"
}
t0=$SECONDS
check "a minbase $SUITE system ($(basename "$BASE"))" make_base
R=$TMP/root
mkdir -p "$R"
tar -C "$R" --numeric-owner -xf "$BASE" || { not_ok "unpack $BASE"; done_testing; }
note "fresh system ready in $((SECONDS - t0)) s"
check "no sudo on it" test ! -e "$R/usr/bin/sudo"

# Apt reaches Debian's archive as the host's does: its sources, their keys,
# its proxy and validity settings; DNS from the host.
configure_apt() {
	rm -f "$R"/etc/apt/sources.list "$R"/etc/apt/sources.list.d/*
	local f k
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		cp "$f" "$R$f"
		for k in $(sed -n 's/.*[Ss]igned-[Bb]y[:=] *\([^] ]*\).*/\1/p' "$f"); do
			[ -f "$k" ] && [ ! -e "$R$k" ] && mkdir -p "$R$(dirname "$k")" && cp "$k" "$R$k"
		done
	done
	apt-config dump | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' \
		>"$R/etc/apt/apt.conf.d/90host" || :
	cp /etc/resolv.conf /etc/hosts "$R/etc/"
	# The system is thrown away: dpkg need not sync every file.
	echo force-unsafe-io >"$R/etc/dpkg/dpkg.cfg.d/t0520-unsafe-io"
}
configure_apt
U=qs
chroot "$R" useradd -m -s /bin/bash "$U" || { not_ok "useradd $U"; done_testing; }
# The checkout as committed, with uncommitted changes to tracked files.
rev=$(git -C "$SRC" stash create 2>/dev/null) || rev=
note "source: git archive ${rev:-HEAD} of $SRC"
source_for() { # USER: a fresh copy of the source in USER's home
	local h=/root
	[ "$1" = root ] || h=/home/$1
	rm -rf "$R$h/strata"
	git -C "$SRC" archive --prefix=strata/ "${rev:-HEAD}" | tar -C "$R$h" -x
	chroot "$R" chown -R "$1:$1" "$h/strata"
}
source_for "$U"

# in_chroot USER COMMAND: runs COMMAND with bash -c in the chroot as USER
# (root or $U), from that user's copy of the source, in a fresh login-like
# environment; stdout and stderr as they come.
cat >"$TMP/ns.sh" <<'NS'
set -e
R=$1 user=$2 cmd=$3
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=0755 tmpfs "$R/dev"
# Nodes of its own (nothing in the chroot can touch the host's), else binds.
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0 fuse:10:229; do
	IFS=: read -r n major minor <<<"$n"
	mknod -m 0666 "$R/dev/$n" c "$major" "$minor" 2>/dev/null ||
		{ touch "$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n"; }
done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s fd/0 "$R/dev/stdin"; ln -s fd/1 "$R/dev/stdout"; ln -s fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mkdir -p "$R/var/cache/strata-tests"
mount --bind "$STRATA_TEST_CACHE" "$R/var/cache/strata-tests"
mount --bind /var/cache/apt/archives "$R/var/cache/apt/archives"
if [ "$user" = root ]; then home=/root; else home=/home/$user; fi
set +e
chroot --userspec="$user:$user" "$R" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/bash TERM=dumb \
	${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} \
	bash -c "cd ~/strata && $cmd" </dev/null
NS
in_chroot() {
	STRATA_TEST_CACHE=$STRATA_TEST_CACHE unshare --mount --pid --fork --kill-child --propagation private -- \
		bash "$TMP/ns.sh" "$R" "$@"
}
# run_as USER LOG COMMAND: in_chroot, output to $TMP/LOG; sets RC, notes the time taken.
run_as() {
	local t0=$SECONDS
	in_chroot "$1" "$3" >"$TMP/$2" 2>&1
	RC=$?
	note "$1: '$3' exited $RC in $((SECONDS - t0)) s"
}
show() { tail -"${2:-30}" "$TMP/$1" | sed 's/^/#   /'; }
# one_line LOG WANT WHAT: the command failed, and its last line, the only
# one that says what to run as root, holds WANT.
one_line() {
	if [ "$RC" -ne 0 ] && tail -1 "$TMP/$1" | grep -qF -- "$2" && [ "$(grep -c 'as root' "$TMP/$1")" -eq 1 ]; then
		ok "$3"; note "  $(tail -1 "$TMP/$1")"
	else
		not_ok "$3"; echo "#   exit $RC, want non-zero and a last line holding '$2':"; show "$1"
	fi
}
# summary_is LOG REGEX WHAT: LOG's last line, check.sh's summary, matches REGEX.
summary_is() {
	local s; s=$(tail -1 "$TMP/$1")
	if [[ $s =~ $2 ]]; then ok "$3 ($s)"; else not_ok "$3"; echo "#   got: '$s'"; fi
}

# --- a user, no sudo, nothing installed: one line with the apt-get to run ------------
run_as "$U" user-fresh.log "$CMD1"
one_line user-fresh.log "as root, run: apt-get update -qq && apt-get install" \
	"a user without sudo: '$CMD1' says in one line which packages to install as root"
is "and says nothing else" "$(wc -l <"$TMP/user-fresh.log")" 1
suggested=$(sed -n 's/.*--no-install-recommends //p' "$TMP/user-fresh.log")

# --- root, no sudo: the first command --------------------------------------------------
if [ -z "${STRATA_QUICKSTART_FRESH:-}" ] && current "$READY"; then
	t0=$SECONDS
	rm -rf "$R" && mkdir "$R" && tar -C "$R" --numeric-owner -xf "$READY" && configure_apt ||
		{ not_ok "unpack $READY"; done_testing; }
	note "the packages installed by an earlier run of this setup.sh: $(basename "$READY"), in $((SECONDS - t0)) s"
	mkdir -p "$R/home/$U" && chroot "$R" chown "$U:$U" "/home/$U"
	source_for "$U"
fi
source_for root
run_as root demo.log "$CMD1"
is "root: '$CMD1' succeeds" "$RC" 0
[ "$RC" -eq 0 ] || show demo.log
for what in "strata pull" "strata mount" "strata analyze"; do
	check "root: the demo printed '+ .../$what'" grep -q "^+ /root/strata/$what " "$TMP/demo.log"
done
check "root: the image was pulled" grep -qE '^sha256:[0-9a-f]{64} .*: 4 layers' "$TMP/demo.log"
check "root: the mounted image's os-release was read" grep -q '^PRETTY_NAME="Debian GNU/Linux 12' "$TMP/demo.log"
check "root: the analysis listed the image's packages" grep -qE '^PACKAGES \([0-9]+\)' "$TMP/demo.log"
check "root: the store is /var/lib/strata" test -d "$R/var/lib/strata/index"
sed -n 's/^setup: installed .* in \([0-9]*\) s$/\1/p' "$TMP/demo.log" | while read -r s; do
	note "root: packages installed in $s s"
done
is "the packages the user was told to install are installed" \
	"$(chroot "$R" dpkg-query -W -f='${Status}\n' $suggested 2>&1 | grep -cv 'install ok installed')" 0
if [ "$RC" -eq 0 ] && ! current "$READY"; then
	# What setup.sh installed, without what the runs made.
	tar -C "$R" --numeric-owner --exclude=./root/strata --exclude=./var/lib/strata --exclude="./home/$U" \
		--exclude=./root/.cache -cf "$READY.$$.tmp" . && mv "$READY.$$.tmp" "$READY"
	# Another checkout may use another setup.sh: only week-old ones go.
	find "$STRATA_TEST_CACHE" -maxdepth 1 -name "quickstart-$SUITE-setup-*.tar" -mtime +7 -delete
fi

# Every command a test or tests/build-images.sh asks for, after setup.sh.
wanted=$(for f in "$SRC"/tests/t[0-9]*.sh "$SRC"/tests/lib.sh "$SRC"/tests/build-images.sh; do
	sed -n 's/^[[:space:]]*need_cmd \([^;|&]*\).*/\1/p; s/^for tool in \(.*\); do$/\1/p' "$f"
	grep -oE 'command -v [a-z/][a-z0-9/_.+-]*' "$f" | cut -d' ' -f3
done | tr ' ' '\n' | grep -E '^[a-z/][a-z0-9/_.+-]*$' | sort -u)
missing=$(for c in $wanted; do chroot "$R" sh -c "command -v '$c'" >/dev/null 2>&1 || echo "$c"; done)
is "every command the tests ask for is installed ($(echo $wanted | wc -w) of them)" "$(echo $missing)" ""

# --- root: the second command, bounded -----------------------------------------------
run_as root check.log "STRATA_CHECK_TESTS='$BOUND' $CMD2"
is "root: '$CMD2' on $BOUND succeeds" "$RC" 0
summary_is check.log '^([0-9]{3,}) passed, 0 failed, 0 skipped$' "root: it ends with 'N passed, 0 failed, 0 skipped'"
[ "$RC" -eq 0 ] || show check.log 40

# --- a user, no sudo, packages there: one line for the images to build as root --------
# The user's tree is root's, built, configured again for its place.
rm -rf "$R/home/$U/strata"
cp -a "$R/root/strata" "$R/home/$U/strata"
rm -f "$R/home/$U/strata/Makefile" "$R/home/$U/strata/config.status"
chroot "$R" chown -R "$U:$U" "/home/$U/strata"
run_as "$U" user-demo-noimages.log "STRATA_TEST_CACHE=/tmp/no-images $CMD1"
one_line user-demo-noimages.log "as root, run: STRATA_TEST_CACHE=/tmp/no-images bash /home/$U/strata/tests/build-images.sh" \
	"a user without sudo, no images: '$CMD1' says in one line what to run as root"
run_as "$U" user-check-noimages.log "STRATA_TEST_CACHE=/tmp/no-images $CMD2"
one_line user-check-noimages.log "as root, run: STRATA_TEST_CACHE=/tmp/no-images bash /home/$U/strata/tests/build-images.sh" \
	"a user without sudo, no images: '$CMD2' says in one line what to run as root"

# --- a user with sudo: a package to install through it, then both commands -----------
in_chroot root "apt-get install -y -qq --no-install-recommends sudo >/dev/null && apt-get remove -y -qq bc >/dev/null" \
	>"$TMP/sudo.log" 2>&1 || show sudo.log
echo "$U ALL=(ALL) NOPASSWD: ALL" >"$R/etc/sudoers.d/$U"
chmod 0440 "$R/etc/sudoers.d/$U"
run_as "$U" user-check.log "STRATA_CHECK_TESTS='$BOUND_USER' $CMD2"
is "a user with sudo: '$CMD2' on $BOUND_USER succeeds" "$RC" 0
check "a user with sudo: setup installed bc through sudo" \
	grep -q '^setup: installing 1 packages needs root: sudo apt-get' "$TMP/user-check.log"
summary_is user-check.log "^[0-9]{3,} passed, 0 failed, [0-9]+ skipped \\(run as $U, not root: [0-9]+ of the skipped need root" \
	"a user with sudo: the summary says the run was not root's"
[ "$RC" -eq 0 ] || show user-check.log 40
run_as "$U" user-demo.log "$CMD1"
is "a user with sudo: '$CMD1' succeeds" "$RC" 0
[ "$RC" -eq 0 ] || show user-demo.log 3
check "a user with sudo: the image was pulled into ~/.local/share/strata" test -d "$R/home/$U/.local/share/strata/index"
check "a user with sudo: the mounted image was read" grep -q '^PRETTY_NAME="Debian GNU/Linux 12' "$TMP/user-demo.log"
rm -f "$R/etc/sudoers.d/$U"
done_testing
