#!/bin/bash
# check.sh: the whole test suite, from a fresh checkout: installs what is
# needed, builds, runs `make check`, every fuzz target for FUZZ_SECONDS, and
# the whole suite again on a sanitizer build (tests/sanitize.sh), and ends
# with one summary line "N passed, N failed, N skipped" counted over every
# TAP result of the three.
#
# A test that skips fails the run unless its reason is one that this machine
# cannot change (ALLOWED_SKIPS below): a tool that setup.sh could have
# installed is never one. The offending skips are listed.
#
# As root (CI) everything runs. As a user, installing packages and building
# the test images go through sudo (tests/as-root.sh; without sudo, one line
# says what to run as root), the suite runs as that user, and the tests that
# need root skip: the summary line says how many, and that the run was not
# a root one. (The suite is written for root: some tests fail as a user.)
#
# STRATA_CHECK_TESTS='unit tests/tNNNN-x.sh ...' runs only those tests (the
# word "unit" stands for every unit test), without the fuzz targets and the
# sanitizer pass: a bounded run. STRATA_NO_SANITIZE=1 leaves out the
# sanitizer pass alone.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/as-root.sh

bash tests/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
# The suite's tests build them on demand as root; a user's run needs them
# first, or every test that pulls an image would skip.
if [ "$(id -u)" -ne 0 ]; then
	build_images check >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi

# Skip reasons that are about the environment, not about what setup.sh
# installs or what the test could do here (an extended regex each).
ALLOWED_SKIPS=(
	# check_rss: a sanitizer build's memory is shadow memory and quarantine.
	"in a sanitizer build, whose memory is not the product's"
	# t0420: a read-only cache directory does not stop root.
	"read-only: root writes anyway"
	# t0520: the quick start builds its own strata; nothing of it is sanitized.
	"not this sanitizer build"
)
# A user's run: what needs root cannot run.
[ "$(id -u)" -ne 0 ] && ALLOWED_SKIPS+=("needs? root")

tests=()
if [ -n "${STRATA_CHECK_TESTS:-}" ]; then
	for t in $STRATA_CHECK_TESTS; do
		if [ "$t" = unit ]; then tests+=('$(UNIT_TESTS)'); else tests+=("$t"); fi
	done
	echo "check: only $STRATA_CHECK_TESTS (STRATA_CHECK_TESTS): no fuzz targets, no sanitizer pass"
	make -j2 check TESTS="${tests[*]}" >make-check.log 2>&1
else
	make -j2 check >make-check.log 2>&1
fi
rc=$?
grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):' make-check.log | grep -v '^PASS' || true
for log in $(find tests -name '*.log' ! -name 'test-suite.log' 2>/dev/null); do
	if grep -E '^(not ok|Bail out)' "$log" | grep -qv '# TODO'; then
		echo "=== $log"
		grep -E '^(not ok|#)' "$log" | head -60
	fi
done
sed -n '/^=====/,$p' make-check.log | grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' || tail -30 make-check.log

count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" make-check.log | tail -1; }
pass=$(count PASS); fail=$(count FAIL); err=$(count ERROR); xpass=$(count XPASS); skip=$(count SKIP)
xfail=$(count XFAIL)
failed=$(( ${fail:-0} + ${err:-0} + ${xpass:-0} ))
if [ -z "$pass" ]; then
	tail -40 make-check.log
	failed=$((failed + 1))
fi
# Every skipped result, whole test or one check: "TEST [N] # SKIP reason".
skips=$(sed -n 's/^SKIP: //p' make-check.log)

# Every parser of untrusted input under libFuzzer for a bounded time (TAP).
if [ ${#tests[@]} -eq 0 ]; then
	FUZZ_SECONDS=${FUZZ_SECONDS:-10}
	make fuzz FUZZ_SECONDS="$FUZZ_SECONDS" >fuzz.log 2>&1
	fuzz_rc=$?
	grep -E '^(ok|not ok) ' fuzz.log
	grep -A30 '^not ok' fuzz.log | head -60
	fuzz_pass=$(grep -c '^ok ' fuzz.log)
	fuzz_fail=$(grep -c '^not ok ' fuzz.log)
	if [ "$fuzz_rc" -ne 0 ] && [ "$fuzz_fail" -eq 0 ]; then
		tail -20 fuzz.log
		fuzz_fail=1
	fi
	pass=$(( ${pass:-0} + fuzz_pass ))
	failed=$(( failed + fuzz_fail ))
fi
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1

# The whole suite again on an ASan/UBSan/LSan build (tests/sanitize.sh);
# STRATA_NO_SANITIZE=1 leaves it out of a quick local run.
if [ -z "${STRATA_NO_SANITIZE:-}" ] && [ ${#tests[@]} -eq 0 ]; then
	echo "sanitize: the whole suite on a sanitizer build (tests/sanitize.sh)"
	bash tests/sanitize.sh >sanitize.log 2>&1
	san_rc=$?
	grep -E '^(sanitize|FAIL|ERROR|XPASS|===)' sanitize.log | grep -v '^sanitize: SKIP' | head -80
	read -r s_pass s_fail s_skip s_known < <(sed -n \
		's/^sanitize: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped, \([0-9]*\) known bugs$/\1 \2 \3 \4/p' \
		sanitize.log | tail -1)
	[ -z "${s_pass:-}" ] && { tail -30 sanitize.log; s_fail=1; }
	[ "$san_rc" -ne 0 ] && [ "${s_fail:-0}" -eq 0 ] && s_fail=1
	pass=$((pass + ${s_pass:-0}))
	failed=$((failed + ${s_fail:-0}))
	skip=$(( ${skip:-0} + ${s_skip:-0} ))
	xfail=$(( ${xfail:-0} + ${s_known:-0} ))
	skips+=$'\n'$(sed -n 's/^sanitize: SKIP: /sanitizer build: /p' sanitize.log)
fi

# Skips whose reason is not on the allow-list fail the run.
allowed=$(printf '%s\n' "${ALLOWED_SKIPS[@]}" | grep -v '^$')
bad=$(printf '%s\n' "$skips" | grep -v '^$' | grep -vEf <(printf '%s\n' "$allowed") || true)
nbad=$(printf '%s' "$bad" | grep -c '^' || true)
if [ "$nbad" -gt 0 ]; then
	echo "=== $nbad skipped, but should run here (install what they need in tests/setup.sh, or fix the test):"
	printf '%s\n' "$bad" | sed 's/^/  /'
	failed=$((failed + nbad))
fi
as_user=""
if [ "$(id -u)" -ne 0 ]; then
	nroot=$(printf '%s\n' "$skips" | grep -cE 'needs? root' || true)
	as_user=" (run as $(id -un), not root: $nroot of the skipped need root; run as root for the whole suite)"
fi

known=""
[ "${xfail:-0}" -gt 0 ] && known=", ${xfail} known bugs (TAP TODO, listed above as XFAIL)"
echo "${pass:-0} passed, $failed failed, ${skip:-0} skipped$known$as_user"
[ "$failed" -eq 0 ]
