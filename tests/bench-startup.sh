#!/bin/bash
# bench-startup.sh: how fast the commands that do not analyze start and
# answer (`strata --version`, `mounts`, `images`, `cache stats`, `umount`)
# and how long `strata mount` of a stored image takes to the first `ls` of
# it returning, with hyperfine (warm: the daemon runs, the image is stored),
# against what the same work costs without strata: a small C program
# (/bin/true), the same request made by curl on the daemon's socket, and
# `ls` of a plain directory. Prints a markdown report for BENCHMARKS.md.
# Not a test: it checks only that every command succeeds.
#
# Each command is measured by one hyperfine call per round (BENCH_RUNS
# rounds, default 5, at least 3; hyperfine -w 3 -r BENCH_HYPERFINE_RUNS,
# default 30, each), the commands of strata and the references taking
# turns within a round; a figure is the median and the minimum of all runs
# of all rounds. With BASELINE=/path/to/another/build/strata, that build
# (with a store and daemon of its own, the same image stored) takes its
# turn beside strata: before and after in one run.
#
# The profile printed with it: the shared libraries each program loads,
# the dynamic loader's start-up cycles (LD_DEBUG=statistics), and `mount`
# and `ls` timed apart over BENCH_RUNS x 5 cycles.
#
# The image is tests/build-images.sh's `base` (Debian bookworm minbase,
# one layer, 6,666 entries), pulled from its OCI layout. Needs /dev/fuse,
# hyperfine, jq and curl (and the test images).
# Usage: [BASELINE=DIR/strata] tests/bench-startup.sh [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
HRUNS=${BENCH_HYPERFINE_RUNS:-30}
[ "$RUNS" -ge 3 ] 2>/dev/null || { echo "bench-startup: BENCH_RUNS must be 3 or more" >&2; exit 2; }
for c in hyperfine jq curl fusermount3; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-startup: '$c' is not installed" >&2; exit 77; }
done
[ -c /dev/fuse ] || { echo "bench-startup: no /dev/fuse" >&2; exit 77; }
[ -x "$STRATA" ] || { echo "bench-startup: '$STRATA' is not built (run make at the top)" >&2; exit 77; }
BASELINE=${BASELINE:-}
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "bench-startup: BASELINE '$BASELINE' is not executable" >&2; exit 2; }

say() { echo "bench-startup: $*" >&2; }

say "building (or reusing) the test images"
test_images
REF=oci:$IMAGES:base
mkdir -p "$TMP/plain"
for i in $(seq 20); do : >"$TMP/plain/f$i"; done

# One store, daemon and mount point per build under test: S (strata) and B
# (the baseline).
setup_side() { # NAME BINARY
	local store=$TMP/store-$1
	STRATA_STORE=$store "$2" -q pull "$REF" || { say "$2: pull failed"; exit 1; }
	mkdir -p "$TMP/mnt-$1"
	at_exit "STRATA_STORE=$store $2 umount $TMP/mnt-$1"
}
sides=(S)
setup_side S "$STRATA"
if [ -n "$BASELINE" ]; then
	sides+=(B)
	setup_side B "$BASELINE"
fi
bin_of() { if [ "$1" = S ]; then echo "$STRATA"; else echo "$BASELINE"; fi; }
label_of() { if [ "$1" = S ]; then echo strata; else echo baseline; fi; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# hyperfine once: NAME PREPARE CMD [CLEANUP]. Appends every run's seconds
# to NAME.t.
hf() {
	local name=$1 prep=$2 cmd=$3 args=(-N -w 3 -r "$HRUNS" --export-json "$TMP/hf.json" --style none)
	[ -n "$prep" ] && args+=(--prepare "$prep")
	[ -n "${4:-}" ] && args+=(--cleanup "$4")
	hyperfine "${args[@]}" "$cmd" >/dev/null 2>"$TMP/hf.err" ||
		{ say "hyperfine failed on: $cmd"; tail -5 "$TMP/hf.err" >&2; exit 1; }
	jq -r '.results[0].times[]' "$TMP/hf.json" >>"$TMP/$name.t"
}

# The commands, as NAME|PREPARE|COMMAND[|CLEANUP] with @S@ for the binary
# and @M@ for its mount point; hyperfine runs with STRATA_STORE set.
COMMANDS=(
	'version||@S@ --version'
	'mounts||@S@ mounts'
	'images||@S@ images'
	'stats||@S@ cache stats'
	"umount|@S@ mount --no-pull $REF @M@|@S@ umount @M@"
	"mountls|sh -c '@S@ umount @M@ 2>/dev/null; true'|sh -c '@S@ mount --no-pull $REF @M@ && exec ls @M@'|@S@ umount @M@"
)
REFERENCES=(
	'true||/bin/true'
	"curl||curl -s --unix-socket $TMP/store-S/strata.sock http://strata/v1/mounts"
	"lsplain||sh -c 'true && exec ls $TMP/plain'"
)
for ((round = 1; round <= RUNS; round++)); do
	say "round $round of $RUNS"
	for c in "${COMMANDS[@]}"; do
		IFS='|' read -r name prep cmd clean <<<"$c"
		for side in "${sides[@]}"; do
			b=$(bin_of "$side")
			m=$TMP/mnt-$side
			sub() { sed "s|@S@|$b|g; s|@M@|$m|g" <<<"$1"; }
			STRATA_STORE=$TMP/store-$side hf "$side-$name" "$(sub "$prep")" "$(sub "$cmd")" "$(sub "$clean")"
		done
	done
	for c in "${REFERENCES[@]}"; do
		IFS='|' read -r name prep cmd <<<"$c"
		hf "R-$name" "" "$cmd"
	done
done

# mount and ls apart, for the profile.
for side in "${sides[@]}"; do
	b=$(bin_of "$side")
	for ((i = 1; i <= RUNS * 5; i++)); do
		t0=$EPOCHREALTIME
		STRATA_STORE=$TMP/store-$side "$b" mount --no-pull "$REF" "$TMP/mnt-$side"
		t1=$EPOCHREALTIME
		ls "$TMP/mnt-$side" >/dev/null
		t2=$EPOCHREALTIME
		STRATA_STORE=$TMP/store-$side "$b" umount "$TMP/mnt-$side"
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/$side-mountonly.t"
		awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/$side-lsonly.t"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

ms() { # NAME -> "median / min" in ms
	sort -g "$TMP/$1.t" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f / %.1f", m * 1000, v[1] * 1000 }'
}
med() { sort -g "$TMP/$1.t" | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
nlibs() { ldd "$1" 2>/dev/null | grep -c '=>\|ld-linux'; }
ldcycles() { LD_DEBUG=statistics "$1" --version 2>&1 >/dev/null | sed -n 's/.*total startup time in dynamic loader: \([0-9]*\) cycles.*/\1/p' | head -1; }
helper_of() { # BINARY NAME -> the helper program beside it or in its libexec
	local d; d=$(dirname "$1")
	[ -x "$d/$2" ] && echo "$d/$2"
}

cat <<EOF
### Start-up and mount to first \`ls\` ($(date +%Y-%m-%d))

Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM,
Linux $(uname -r). Load average before: $LOAD_BEFORE; after: $LOAD_AFTER.
Versions: $("$STRATA" --version), $(hyperfine --version).

Image: \`base\` (one layer, 6,666 entries) pulled from the OCI layout; the daemon runs and the
image is stored before the clock (warm). Each figure is the median / minimum, in ms, of
$RUNS rounds of $HRUNS hyperfine runs (after 3 warm-up runs), commands taking turns within a
round$([ -n "$BASELINE" ] && echo "; the baseline is \`$BASELINE\` with a store and daemon of its own").

| what | strata (ms) |$([ -n "$BASELINE" ] && echo " baseline (ms) |") target |
| --- | ---: |$([ -n "$BASELINE" ] && echo " ---: |") --- |
EOF
row() { # LABEL NAME TARGET
	printf '| %s | %s |' "$1" "$(ms "S-$2")"
	[ -n "$BASELINE" ] && printf ' %s |' "$(ms "B-$2")"
	printf ' %s |\n' "$3"
}
row '`strata --version`' version ''
row '`strata mounts`' mounts 'at most 5 ms'
row '`strata images`' images 'at most 5 ms'
row '`strata cache stats`' stats 'at most 5 ms'
row '`strata umount MNT` (mounted by `--prepare`)' umount 'at most 5 ms'
row '`strata mount --no-pull REF MNT && ls MNT` (`sh -c`)' mountls 'at most 15 ms'
printf '| of which `strata mount` / `ls`, timed apart (%d cycles) | %s / %s |' $((RUNS * 5)) \
	"$(ms S-mountonly)" "$(ms S-lsonly)"
[ -n "$BASELINE" ] && printf ' %s / %s |' "$(ms B-mountonly)" "$(ms B-lsonly)"
printf ' |\n'
cat <<EOF

| reference | median / min (ms) |
| --- | ---: |
| a small C program, \`/bin/true\` | $(ms R-true) |
| the request of \`strata mounts\` made by curl, \`curl -s --unix-socket SOCK http://strata/v1/mounts\` | $(ms R-curl) |
| \`sh -c 'true && exec ls DIR'\`, DIR a plain directory of 20 files | $(ms R-lsplain) |

| ratio (medians) | strata |$([ -n "$BASELINE" ] && echo " baseline |")
| --- | ---: |$([ -n "$BASELINE" ] && echo " ---: |")
EOF
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { printf "%.2f", a / b }'; }
printf '| `strata mounts` / `/bin/true` | %s |' "$(ratio S-mounts R-true)"
[ -n "$BASELINE" ] && printf ' %s |' "$(ratio B-mounts R-true)"
printf '\n| `strata mounts` / curl, the same request | %s |' "$(ratio S-mounts R-curl)"
[ -n "$BASELINE" ] && printf ' %s |' "$(ratio B-mounts R-curl)"
printf '\n'
cat <<EOF

Profile: what each program loads before it says a word (\`ldd\`; \`LD_DEBUG=statistics\`
of \`--version\`, the dynamic loader's start-up in CPU cycles):

| program | shared libraries | ld.so start-up (cycles) |
| --- | ---: | ---: |
EOF
for side in "${sides[@]}"; do
	b=$(bin_of "$side")
	printf '| %s `%s` | %s | %s |\n' "$(label_of "$side")" "$(basename "$b")" "$(nlibs "$b")" "$(ldcycles "$b")"
	for h in strata-serve strata-analyze; do
		p=$(helper_of "$b" "$h")
		[ -n "$p" ] && printf '| %s `%s` | %s | %s |\n' "$(label_of "$side")" "$h" "$(nlibs "$p")" "$(ldcycles "$p")"
	done
done
cat <<EOF

Produced by \`tests/bench-startup.sh\` (BENCH_RUNS=$RUNS, BENCH_HYPERFINE_RUNS=$HRUNS). Commands, in full
(S is \`$STRATA\`, run with STRATA_STORE=STORE, MNT its mount point):

\`\`\`
S -q pull $REF                           # once, untimed; starts the daemon
hyperfine -N -w 3 -r $HRUNS 'S --version'
hyperfine -N -w 3 -r $HRUNS 'S mounts'
hyperfine -N -w 3 -r $HRUNS 'S images'
hyperfine -N -w 3 -r $HRUNS 'S cache stats'
hyperfine -N -w 3 -r $HRUNS --prepare 'S mount --no-pull $REF MNT' 'S umount MNT'
hyperfine -N -w 3 -r $HRUNS --prepare "sh -c 'S umount MNT 2>/dev/null; true'" --cleanup 'S umount MNT' \\
    "sh -c 'S mount --no-pull $REF MNT && exec ls MNT'"
hyperfine -N -w 3 -r $HRUNS /bin/true
hyperfine -N -w 3 -r $HRUNS 'curl -s --unix-socket STORE/strata.sock http://strata/v1/mounts'
hyperfine -N -w 3 -r $HRUNS "sh -c 'true && exec ls DIR'"
\`\`\`
EOF
