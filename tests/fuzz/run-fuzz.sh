#!/bin/bash
# run-fuzz.sh: builds every libFuzzer target (the build `./configure
# --enable-fuzz CC=clang` makes: clang, -fsanitize=fuzzer,address,undefined,
# the targets as programs of Makefile.am) in a build directory outside the
# source tree and runs each one for SECONDS on a copy of its seed corpus, as
# many at once as there are cores (JOBS). Prints TAP, one line per target;
# exits 1 on any crash, leak, timeout or out-of-memory and names the
# reproducer (the input libFuzzer saved) and how to replay it.
#
#   tests/fuzz/run-fuzz.sh [SECONDS [TARGET...]]     SECONDS default 60
#   FUZZ_BUILD=DIR (default ${TMPDIR:-/tmp}/strata-fuzz-$UID)
#   FUZZ_CC=COMPILER (default clang)
#
# Replay one input: $FUZZ_BUILD/obj/tests/fuzz/fuzz-<target> FILE
set -uo pipefail

SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ=$SRC/tests/fuzz
BUILD=${FUZZ_BUILD:-${TMPDIR:-/tmp}/strata-fuzz-$(id -u)}
CC=${FUZZ_CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Targets: every tests/fuzz/fuzz-<target>.c that carries a line
#   /* fuzz-target: <name in TAP> <-max_len> */
# so that adding a target touches no shared list.
TARGETS=$(for f in "$FUZZ"/fuzz-*.c; do
	t=$(basename "$f" .c); t=${t#fuzz-}
	sed -n 's|^/\* fuzz-target: \([^ ]*\) \([0-9]*\) \*/$|'"$t"':\1:\2|p' "$f" | head -1
done)

die() { echo "Bail out! run-fuzz: $*"; exit 1; }
command -v "$CC" >/dev/null || die "$CC is not installed"
case "$BUILD" in "$SRC"/*) die "FUZZ_BUILD must be outside the source tree" ;; esac
mkdir -p "$BUILD" || die "cannot create $BUILD"

# The fuzz build: configured once (again when configure changes), then
# rebuilt as the sources change.
. "$SRC/tests/srccopy.sh"
srccopy run-fuzz "$SRC" "$BUILD" >"$BUILD/copy.log" 2>&1 || { cat "$BUILD/copy.log"; die "cannot prepare the sources"; }
mkdir -p "$BUILD/obj"
build_log=$BUILD/build.log
if [ ! -f "$BUILD/obj/config.status" ] || [ "$CONF_SRC/configure" -nt "$BUILD/obj/config.status" ]; then
	(cd "$BUILD/obj" && "$CONF_SRC/configure" --enable-fuzz CC="$CC" CFLAGS="-g -O1") >"$build_log" 2>&1 ||
		{ tail -30 "$build_log"; die "configure --enable-fuzz CC=$CC failed (see $build_log)"; }
fi
make -C "$BUILD/obj" -j"$JOBS" fuzz-targets >>"$build_log" 2>&1 ||
	{ grep -E 'error|Error' "$build_log" | head -30; die "building the fuzz targets with $CC failed (see $build_log)"; }

n=0 failed=0
want=" $* "
selected=""
for t in $TARGETS; do
	name=${t%%:*}
	[ $# -eq 0 ] || [[ $want == *" $name "* ]] || continue
	selected="$selected $t"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || die "no such target: $*"
echo "1..$n"

# fuzz-ingest's store: on tmpfs when there is one (it fsyncs every layer).
shm=/dev/shm; [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$shm/strata-fuzz.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$scratch"' EXIT

# run_target I NAME FN MAXLEN: one target's TAP line (and its diagnosis)
# into $BUILD/tap-I, so that targets can run side by side.
run_target() {
	local i=$1 name=$2 fn=$3 maxlen=$4 out=$BUILD/tap-$1
	local bin=$BUILD/obj/tests/fuzz/fuzz-$name corpus=$BUILD/corpus/$name arts=$BUILD/artifacts/$name
	local log=$BUILD/fuzz-$name.log rc runs repro what
	# Work on a copy: new corpus entries never land in the source tree.
	rm -rf "$corpus" "$arts"
	mkdir -p "$corpus" "$arts"
	[ -d "$FUZZ/corpus/$name" ] && cp "$FUZZ/corpus/$name"/* "$corpus"/ 2>/dev/null
	(cd "$BUILD" && STRATA_FUZZ_TMP=$scratch ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
		"$bin" -max_total_time="$SECONDS_EACH" -max_len="$maxlen" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$arts/" "$corpus" >"$log" 2>&1)
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	repro=$(ls "$arts"/* 2>/dev/null | head -1)
	if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
		echo "ok $i - fuzz $fn: ${runs:-?} runs, no finding" >"$out"
	else
		what=$(grep -m1 -oE '(ERROR|WARNING): (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)[^:]*: [a-z-]+|runtime error: .*|deadly signal|fuzz-[a-z-]+: .*' "$log" | head -1)
		{
			echo "not ok $i - fuzz $fn: ${what:-exit $rc} after ${runs:-?} runs"
			echo "#   reproducer: ${repro:-none saved}"
			[ -n "$repro" ] && echo "#   replay: $bin $repro"
			echo "#   log: $log"
			grep -E '^ *#[0-9]+ |ERROR|runtime error|SUMMARY' "$log" | head -25 | sed 's/^/#   /'
		} >"$out"
	fi
}

# One target per core at a time: each still gets a whole core for SECONDS.
rm -f "$BUILD"/tap-*
i=0
for t in $selected; do
	IFS=: read -r name fn maxlen <<<"$t"
	i=$((i + 1))
	if [ ! -x "$BUILD/obj/tests/fuzz/fuzz-$name" ]; then
		echo "not ok $i - fuzz $fn: does not build (tests/fuzz/fuzz-$name is not in Makefile.am's FUZZ_TARGETS)" \
			>"$BUILD/tap-$i"
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
	run_target "$i" "$name" "$fn" "$maxlen" &
done
wait
for ((k = 1; k <= i; k++)); do
	cat "$BUILD/tap-$k" 2>/dev/null || echo "not ok $k - fuzz: no result"
done
grep -q '^not ok' "$BUILD"/tap-* 2>/dev/null && failed=1
exit "$failed"
