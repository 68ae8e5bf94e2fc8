#!/bin/bash
# sanitize.sh: builds strata a second time with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer (gcc, --enable-sanitizers
# --enable-werror) out of tree, runs the whole test suite on that build, then
# checks that a daemon stopped with SIGTERM reports no leak. Any sanitizer
# report from any process — the CLI, the unit tests or a daemon started in the
# background whose stderr nobody reads — fails the script and is printed.
# tests/check.sh runs it after the plain suite; its last line is
# "sanitize: N passed, N failed, N skipped".
#
#   tests/sanitize.sh [BUILD_DIR]    (default: $SANITIZE_DIR or ./build-san)
#
# Every test runs; the stress tests with a lighter load than on the plain
# build, which runs them whole (a sanitized daemon is several times slower):
# STRATA_CRASH_POINTS=3 kill points (12), STRATA_LOAD_SECONDS=20 (60),
# STRATA_BOMB_SIZE=1 GiB (4 GiB). Memory bounds are skipped with their
# figure (check_rss in tests/lib.sh): shadow memory is not the product's.
#
# A source tree that is itself configured (config.status at the top) cannot
# host a VPATH build, so its files are then copied to BUILD_DIR/src first
# (tests/srccopy.sh).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${SANITIZE_DIR:-$SRC/build-san}}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CC=${CC:-gcc}

die() { echo "sanitize: error: $*" >&2; exit 1; }
mkdir -p "$BUILD" || die "cannot create $BUILD"
BUILD=$(cd "$BUILD" && pwd)
LOGDIR=$BUILD/san-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

. "$SRC/tests/srccopy.sh"
srccopy sanitize "$SRC" "$BUILD" || exit 1
conf_src=$CONF_SRC

mkdir -p "$BUILD/obj"
cd "$BUILD/obj" || die "cd $BUILD/obj"
start=$(date +%s)
if [ ! -f config.status ] || [ "$conf_src/configure" -nt config.status ]; then
	"$conf_src/configure" --enable-sanitizers --enable-werror CC="$CC" >configure.log 2>&1 ||
		{ tail -30 configure.log; die "configure failed (see $BUILD/obj/configure.log)"; }
fi
make -j"$JOBS" >build.log 2>&1 || { grep -E 'error|Error' build.log | head -30; die "build failed"; }

# Any report aborts the process that made it and lands in LOGDIR/<tool>.<pid>
# as well as on its stderr. The daemon inherits these from the CLI that spawns it.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:log_path=$LOGDIR/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$LOGDIR/ubsan"
export LSAN_OPTIONS="log_path=$LOGDIR/lsan"
export STRATA_SAN_LOGS=$LOGDIR STRATA_TEST_SANITIZED=1
export STRATA_CRASH_POINTS=${STRATA_CRASH_POINTS:-3} STRATA_LOAD_SECONDS=${STRATA_LOAD_SECONDS:-20}
export STRATA_BOMB_SIZE=${STRATA_BOMB_SIZE:-$((1 << 30))}

echo "sanitize: make check in $BUILD/obj"
# Every test but those whose time goes to programs that are not strata's:
# Trivy's analyses (t0430; strata's side of it is t0400's) and a chroot's
# package installs and its own unsanitized build (t0520).
LEAVE_OUT="tests/t0430-sbom-peers.sh tests/t0520-quickstart.sh"
# STRATA_SANITIZE_TESTS='tests/tNNNN-x.sh ...' runs only those (a bounded
# check of a fix).
tests=${STRATA_SANITIZE_TESTS:-}
[ -n "$tests" ] || tests=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory print-tests | tr ' ' '\n' | grep -vxF -f <(tr ' ' '\n' <<<"$LEAVE_OUT") | tr '\n' ' ')
[ -n "$tests" ] || die "make print-tests listed no test"
make -j"$JOBS" check TESTS="$tests" >check.log 2>&1
check_rc=$?
grep -E '^(FAIL|ERROR|XPASS):' check.log
grep -E '^SKIP:' check.log | sed 's/^/sanitize: /'
sed -n 's/^# \(TOTAL\|PASS\|SKIP\|FAIL\|ERROR\|XFAIL\|XPASS\): */\1 /p' check.log | tr '\n' ' '; echo
count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" check.log | tail -1; }
n_pass=$(count PASS) n_skip=$(count SKIP) n_xfail=$(count XFAIL) f=$(count FAIL) e=$(count ERROR) x=$(count XPASS)
n_fail=$(( ${f:-0} + ${e:-0} + ${x:-0} ))

# The daemon's own shutdown path: a SIGTERM must leave nothing leaked.
daemon_rc=0
daemon_check() {
	local tmp store pid log img=${STRATA_TEST_CACHE:-/var/cache/strata-tests}/images
	[ -f "$img/index.json" ] || { echo "sanitize: skip daemon check: no test images in $img"; return 0; }
	[ -c /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1 ||
		{ echo "sanitize: skip daemon check: no FUSE here"; return 0; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-san.XXXXXX")
	store=$tmp/store
	mkdir -p "$tmp/mnt"
	export HOME=$tmp
	unset STRATA_CONFIG DOCKER_CONFIG
	local S="./strata --store $store"
	$S pull "oci:$img:base" >"$tmp/pull.log" 2>&1 || { echo "sanitize: pull failed:"; cat "$tmp/pull.log"; daemon_rc=1; }
	$S mount --no-pull "oci:$img:base" "$tmp/mnt" >"$tmp/mount.log" 2>&1 ||
		{ echo "sanitize: mount failed:"; cat "$tmp/mount.log"; daemon_rc=1; }
	ls "$tmp/mnt/etc" >/dev/null 2>&1 && cat "$tmp/mnt/etc/os-release" >/dev/null 2>&1 ||
		{ echo "sanitize: the mount is not readable"; daemon_rc=1; }
	$S umount "$tmp/mnt" >"$tmp/umount.log" 2>&1 ||
		{ echo "sanitize: umount failed:"; cat "$tmp/umount.log"; daemon_rc=1; }
	pid=$(curl -s --max-time 10 --unix-socket "$store/strata.sock" http://strata/v1/version | jq -r .pid 2>/dev/null)
	if [ -z "$pid" ] || [ "$pid" = null ]; then
		echo "sanitize: no daemon answered on $store/strata.sock"; daemon_rc=1
	else
		kill -TERM "$pid"
		# An exited daemon is init's zombie until reaped: not running.
		running() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
		for _ in $(seq 300); do running "$pid" || break; sleep 0.1; done
		if running "$pid"; then
			echo "sanitize: daemon $pid still runs 30 s after SIGTERM"; kill -KILL "$pid"; daemon_rc=1
		fi
		log=$store/daemon.log
		if grep -qE 'Sanitizer|runtime error:' "$log" 2>/dev/null || ls "$LOGDIR"/*."$pid" >/dev/null 2>&1; then
			echo "sanitize: the daemon reported on exit:"; cat "$log" "$LOGDIR"/*."$pid" 2>/dev/null | head -80
			daemon_rc=1
		else
			echo "sanitize: daemon $pid exited on SIGTERM with no sanitizer report"
		fi
	fi
	grep " $tmp" /proc/mounts | awk '{print $2}' | while read -r m; do fusermount3 -u -z "$m"; done
	rm -rf "$tmp"
}
daemon_check

reports=$(find "$LOGDIR" -type f -size +0 | sort)
# Daemon logs of the test suite are deleted with the tests' temp dirs; catch
# reports that went to stderr only (log_path unusable) in the test logs too.
stray=$(grep -lE '^==[0-9]+==ERROR: (Address|Leak)Sanitizer|runtime error:' $(find tests -name '*.log') 2>/dev/null)
if [ -n "$reports" ] || [ -n "$stray" ]; then
	echo "sanitize: sanitizer reports:"
	for f in $reports $stray; do echo "=== $f"; head -60 "$f"; done
fi
end=$(date +%s)
echo "sanitize: done in $((end - start)) s"
# The daemon check and any report count as one failure each.
[ "$daemon_rc" -ne 0 ] && n_fail=$((n_fail + 1))
[ -n "$reports$stray" ] && n_fail=$((n_fail + 1))
[ "$check_rc" -ne 0 ] && [ "$n_fail" -eq 0 ] && n_fail=1
echo "sanitize: ${n_pass:-0} passed, $n_fail failed, ${n_skip:-0} skipped, ${n_xfail:-0} known bugs"
[ "$check_rc" -eq 0 ] && [ "$daemon_rc" -eq 0 ] && [ -z "$reports" ] && [ -z "$stray" ]
