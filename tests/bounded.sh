#!/bin/bash
# bounded.sh TEST [ARGS...]: runs one test script of `make check` with a
# time limit, so that a test that hangs fails on its own instead of holding
# the whole suite until CI's limit ends it without a word. The limit is
# STRATA_TEST_TIMEOUT seconds (default 1500: the slowest test, t0600, takes
# about 12 minutes on 2 cores). On expiry the script gets SIGTERM (its
# cleanup trap stops what it started), SIGKILL 60 s later, and the TAP
# stream ends with a "Bail out!" line that names it.
limit=${STRATA_TEST_TIMEOUT:-1500}
timeout -k 60 "$limit" "$@"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "Bail out! $1 did not finish within $limit s (STRATA_TEST_TIMEOUT, tests/bounded.sh)"
fi
exit "$rc"
