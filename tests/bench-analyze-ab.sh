#!/bin/bash
# bench-analyze-ab.sh: two builds of strata, A and B, on the analyses that
# tests/bench-analyze.sh times, run after one another (A, B, A, B, ...) so
# that both see the same load; prints a markdown table for BENCHMARKS.md.
# Where other work shares the machine, wall times swing with it; the CPU
# each side used (the client's, and the daemon's, which serves the mount)
# and the per-pair ratio B/A swing less. Not a test: it checks nothing.
#
# Each run, with a fresh store for each build: `strata images` (the daemon,
# untimed), then `analyze scan` (cold: the pull is timed), `analyze
# --no-memo scan` (the walk and every analyzer again), `analyze scan2`
# (scan plus one layer, right after scan: the memoized case), all with
# --format json and the files section. Kernel caches are not dropped.
# Usage: BENCH_RUNS=N tests/bench-analyze-ab.sh A_STRATA B_STRATA [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
[ $# -eq 2 ] || { echo "usage: tests/bench-analyze-ab.sh A_STRATA B_STRATA" >&2; exit 2; }
[ "$RUNS" -ge 3 ] 2>/dev/null || { echo "bench-analyze-ab: BENCH_RUNS must be 3 or more" >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2")
for bin in "$A" "$B"; do
	[ -x "$bin" ] || { echo "bench-analyze-ab: '$bin' is not an executable" >&2; exit 2; }
done
for c in jq curl skopeo docker-registry /usr/bin/time; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-analyze-ab: '$c' is not installed" >&2; exit 77; }
done
say() { echo "bench-analyze-ab: $*" >&2; }

say "building (or reusing) the test images"
test_images
start_registry
push_image scan || exit 1
push_image scan2 || exit 1
REF=$REGISTRY/strata/scan
REF2=$REGISTRY/strata/scan2
TCK=$(getconf CLK_TCK)

STORE=
daemon_pid() {
	curl -s --max-time 5 --unix-socket "$STORE/strata.sock" http://strata/v1/version 2>/dev/null | jq -r '.pid // empty' 2>/dev/null
}
stop_daemon() {
	local pid; pid=$(daemon_pid)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid"
	for _ in $(seq 100); do running "$pid" || return 0; sleep 0.1; done
	kill -KILL "$pid"
}
at_exit stop_daemon
cpu_of() { awk -v t="$TCK" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }
# measure SIDE NAME ARGS...: one analysis; appends "wall client daemon" (s)
# to SIDE.NAME.
measure() {
	local side=$1 name=$2; shift 2
	local bin=$A; [ "$side" = b ] && bin=$B
	local d0 t0 t1
	d0=$(cpu_of "$DPID")
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%U %S' -o "$TMP/time.out" "$bin" analyze "$@" --format json -o "$TMP/out.json" \
		2>"$TMP/err" || { say "$side $name failed: $(tail -1 "$TMP/err")"; exit 1; }
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" -v d0="$d0" -v d1="$(cpu_of "$DPID")" \
		'NR == 1 { printf "%.4f %.3f %.3f\n", b - a, $1 + $2, d1 - d0 }' "$TMP/time.out" >>"$TMP/$side.$name"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 1; i <= RUNS; i++)); do
	for side in a b; do
		say "run $i of $RUNS: $side"
		bin=$A; [ "$side" = b ] && bin=$B
		STORE=$TMP/store.$side.$i
		export STRATA_STORE=$STORE
		"$bin" images >/dev/null || { say "the daemon did not start"; exit 1; }
		DPID=$(daemon_pid)
		measure "$side" cold "$REF"
		measure "$side" nomemo --no-memo "$REF"
		measure "$side" scan2 "$REF2"
		stop_daemon
		rm -rf "$STORE"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# col SIDE NAME N: the median of column N.
col() { awk -v n="$3" '{ print $n }' "$TMP/$1.$2" | sort -g | awk '{ v[NR] = $1 } END {
	if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# pair NAME EXPR: the median over runs of EXPR (awk, a and b: the two lines' fields).
pair() { paste -d' ' "$TMP/a.$1" "$TMP/b.$1" | awk "{ print $2 }" | sort -g | awk '{ v[NR] = $1 } END {
	if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cat <<EOF
A: $A ($("$A" --version)); B: $B ($("$B" --version)).
Machine: $(nproc) CPUs, Linux $(uname -r). Load average before: $LOAD_BEFORE; after: $LOAD_AFTER.
Medians of $RUNS runs, A and B alternating, a fresh store each; B/A is the median of the runs' ratios.

| analysis | wall A (s) | wall B (s) | B/A | client CPU A (s) | client CPU B (s) | B/A | client + daemon CPU A (s) | B (s) | B/A |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
for name in cold nomemo scan2; do
	case $name in
	cold) label='cold: pull and analyze `scan`' ;;
	nomemo) label='`--no-memo` on the stored `scan`' ;;
	scan2) label='`scan2` after `scan`' ;;
	esac
	for f in a b; do awk '{ print $2 + $3 }' "$TMP/$f.$name" >"$TMP/$f.$name.total"; done
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
		"$(col a "$name" 1)" "$(col b "$name" 1)" "$(pair "$name" '$4 / $1')" \
		"$(col a "$name" 2)" "$(col b "$name" 2)" "$(pair "$name" '$5 / $2')" \
		"$(col a "$name".total 1)" "$(col b "$name".total 1)" "$(pair "$name" '($5 + $6) / ($2 + $3)')"
done
