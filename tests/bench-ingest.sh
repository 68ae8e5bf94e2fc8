#!/bin/bash
# bench-ingest.sh: measures strata's ingest against what users run instead,
# on the same blob on the same machine in one run, and prints a markdown
# report for BENCHMARKS.md. Not a test: it asserts nothing and prints ratios.
#
#   1. cold `strata pull` of the `base` test image (one gzip layer) from a
#      loopback registry, into a fresh store each run. The pull runs in the
#      store daemon (`strata serve`), which `strata images` starts before the
#      clock starts; its start-up is timed separately. The daemon is stopped
#      after each run;
#   2. `tar -xzf` of the same layer blob into a fresh directory (as root, so
#      that ownership is applied, as strata records it), with and without a
#      `sync` after it;
#   3. `umoci unpack` of the same image from the OCI layout;
#   4. peak RSS: the daemon's VmHWM (/proc/PID/status, read right after the
#      pull, where the ingest runs) and the client's (/usr/bin/time -f %M);
#   5. store size after pulling base, app, rebuilt and app-zstd, against the
#      sum of their distinct compressed layer blobs.
#
# BENCH_IMAGE=big times the layer of tests/make-bigimage.py instead of
# `base`: 465 MiB of tar in one 465 MiB gzip layer of mixed content (text
# and random small files, one 256 MiB incompressible file), the issue's
# "large mixed layer"; BENCH_SIZE=0 skips the store-size section.
# BASELINE=DIR/strata adds another build's cold pull to every round (its
# own fresh store each run), for a before/after taken in one session.
#
# Each timing is the median of BENCH_RUNS runs (default 5, at least 3),
# after one untimed warm-up run of each tool so that every tool reads the
# blob from the page cache. `sync` runs before every timed run, so that no
# tool pays for the previous one's writeback. Needs root, docker-registry,
# skopeo, umoci, jq, curl and GNU time. Usage: tests/bench-ingest.sh [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
[ "$RUNS" -ge 3 ] 2>/dev/null || { echo "bench-ingest: BENCH_RUNS must be 3 or more" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-ingest: run as root (tar and umoci must apply ownership)" >&2; exit 77; }
for c in umoci skopeo jq curl docker-registry tar findmnt; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-ingest: '$c' is not installed" >&2; exit 77; }
done
[ -x /usr/bin/time ] || { echo "bench-ingest: /usr/bin/time is missing (apt-get install time)" >&2; exit 77; }
[ -x "$STRATA" ] || { echo "bench-ingest: '$STRATA' is not built (run make at the top)" >&2; exit 77; }

say() { echo "bench-ingest: $*" >&2; }

test_images
IMAGE=${BENCH_IMAGE:-base}
LAYOUT=$IMAGES
if [ "$IMAGE" = big ]; then
	LAYOUT=$("$TEST_SRCDIR/make-bigimage.py" "$STRATA_TEST_CACHE/bigimage") || { say "make-bigimage.py failed"; exit 99; }
elif [ "$IMAGE" != base ]; then
	say "BENCH_IMAGE must be base or big"; exit 2
fi
start_registry
# --preserve-digests: without it skopeo substitutes blobs the registry
# already has with the same diff_id, and app-zstd would arrive as app's gzip.
for t in base app rebuilt app-zstd; do
	skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$IMAGES:$t" \
		"docker://$REGISTRY/strata/$t:latest" >"$TMP/skopeo.log" 2>&1 ||
		{ say "cannot push $t to the registry:"; cat "$TMP/skopeo.log" >&2; exit 99; }
done
if [ "$IMAGE" = big ]; then
	skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$LAYOUT:big" \
		"docker://$REGISTRY/strata/big:latest" >"$TMP/skopeo.log" 2>&1 ||
		{ say "cannot push big to the registry:"; cat "$TMP/skopeo.log" >&2; exit 99; }
fi

# The base image's layer blob, from the OCI layout.
manifest_of() { # TAG -> path of the manifest blob in $IMAGES
	local d
	d=$(jq -r --arg t "$1" '.manifests[] |
		select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$LAYOUT/index.json")
	echo "$LAYOUT/blobs/sha256/${d#sha256:}"
}
BASE_MANIFEST=$(manifest_of "$IMAGE")
[ "$(jq '.layers | length' "$BASE_MANIFEST")" -eq 1 ] || { say "$IMAGE does not have one layer"; exit 99; }
BLOB_DIGEST=$(jq -r '.layers[0].digest' "$BASE_MANIFEST")
BLOB_TYPE=$(jq -r '.layers[0].mediaType' "$BASE_MANIFEST")
BLOB=$LAYOUT/blobs/sha256/${BLOB_DIGEST#sha256:}
BLOB_SIZE=$(stat -c %s "$BLOB")
case $BLOB_TYPE in *gzip) ;; *) say "$IMAGE's layer is $BLOB_TYPE, not gzip"; exit 99 ;; esac
TAR_SIZE=$(gzip -dc "$BLOB" | wc -c)
ENTRIES=$(tar -tzf "$BLOB" | wc -l)

# timed_run NAME PREP CMD...: PREP (a shell snippet, untimed) then CMD,
# timed with the shell's clock; appends seconds to $TMP/NAME.times and the
# peak RSS (KiB) of CMD to $TMP/NAME.rss. A failing CMD stops the benchmark.
timed_run() {
	local name=$1 prep=$2; shift 2
	eval "$prep"
	sync
	local t0=$EPOCHREALTIME
	if ! /usr/bin/time -f %M -o "$TMP/rss.out" "$@" >"$TMP/run.out" 2>&1; then
		say "$name failed: $*"
		sed 's/^/    /' "$TMP/run.out" | tail -5 >&2
		exit 1
	fi
	local t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$TMP/$name.times"
	tail -1 "$TMP/rss.out" >>"$TMP/$name.rss"
}

# The store daemon of $STORE_DIR: its pid, or nothing when none answers.
daemon_pid() {
	curl -s --max-time 5 --unix-socket "$STORE_DIR/strata.sock" http://strata/v1/version 2>/dev/null |
		jq -r '.pid // empty' 2>/dev/null
}
stop_daemon() { # PID: SIGTERM, then wait for it to exit (10 s at most)
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	say "daemon $pid did not stop on SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null
}
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; } # PID -> KiB

# strata_run NAME: a fresh store; its daemon started by `strata images` (timed
# into $TMP/NAME.start), then the timed pull as timed_run does it. Appends the
# daemon's VmHWM (KiB) right after the pull to $TMP/NAME.dhwm, then stops it.
strata_run() {
	local name=$1 bin=${2:-$STRATA} pid t0 t1
	set_aside "$STORE_DIR"
	export STRATA_STORE=$STORE_DIR
	t0=$EPOCHREALTIME
	"$bin" images >/dev/null 2>"$TMP/images.err" || { say "strata images failed:"; cat "$TMP/images.err" >&2; exit 1; }
	t1=$EPOCHREALTIME
	pid=$(daemon_pid)
	[ -n "$pid" ] || { say "no daemon answers on $STORE_DIR/strata.sock"; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$TMP/$name.start"
	timed_run "$name" : "$bin" "${PULL_CMD[@]:1}"
	[ "$(daemon_pid)" = "$pid" ] || { say "the pull was not served by daemon $pid"; exit 1; }
	hwm "$pid" >>"$TMP/$name.dhwm"
	stop_daemon "$pid"
}

median() { # FILE
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
maxof() { sort -g "$1" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
kib2mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
runs() { sort -g "$1" | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 }'; } # FILE

STORE_DIR=$TMP/bench-store
X_DIR=$TMP/bench-extract
REF=$REGISTRY/strata/$IMAGE
PULL_CMD=("$STRATA" -q pull "$REF")
TAR_CMD=(tar -xzf "$BLOB" -C "$X_DIR")
TARSYNC_CMD=(sh -c 'tar -xzf "$1" -C "$2" && sync' sh "$BLOB" "$X_DIR")
UMOCI_CMD=(umoci unpack --image "$LAYOUT:$IMAGE" "$X_DIR/bundle")

# The last run's tree or store is moved aside, not deleted, and all of them
# go with TMP at the end: on ext4 creating files right after deleting
# thousands scans past the recently freed inodes, which slowed whichever
# tool ran next (tar took 1.7 s on a fresh disk, 5 s after a deletion).
set_aside() { [ ! -e "$1" ] || mv "$1" "$TMP/aside.$((++ASIDE))"; }
ASIDE=0
FRESH_DIR='set_aside "$X_DIR"; mkdir -p "$X_DIR"'
FRESH_BUNDLE='set_aside "$X_DIR"; mkdir -p "$X_DIR"'

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "warming up (one untimed run of each)"
for name in strata tar tarsync umoci; do
	case $name in
	strata) strata_run warm; [ -z "$BASELINE" ] || strata_run warm "$BASELINE" ;;
	tar) timed_run warm "$FRESH_DIR" "${TAR_CMD[@]}" ;;
	tarsync) timed_run warm "$FRESH_DIR" "${TARSYNC_CMD[@]}" ;;
	umoci) timed_run warm "$FRESH_BUNDLE" "${UMOCI_CMD[@]}" ;;
	esac
done

# Interleaved, so that a slow phase of the machine hits every tool alike.
for ((i = 1; i <= RUNS; i++)); do
	say "run $i of $RUNS"
	strata_run strata
	[ -z "$BASELINE" ] || strata_run baseline "$BASELINE"
	timed_run tar "$FRESH_DIR" "${TAR_CMD[@]}"
	timed_run tarsync "$FRESH_DIR" "${TARSYNC_CMD[@]}"
	timed_run umoci "$FRESH_BUNDLE" "${UMOCI_CMD[@]}"
	say "run $i: strata $(tail -1 "$TMP/strata.times") s, tar $(tail -1 "$TMP/tar.times") s," \
		"tar/strata $(ratio "$(tail -1 "$TMP/tar.times")" "$(tail -1 "$TMP/strata.times")")," \
		"daemon VmHWM $(kib2mib "$(tail -1 "$TMP/strata.dhwm")") MiB"
	[ -z "$BASELINE" ] || say "run $i: baseline $(tail -1 "$TMP/baseline.times") s," \
		"tar/baseline $(ratio "$(tail -1 "$TMP/tar.times")" "$(tail -1 "$TMP/baseline.times")")," \
		"daemon VmHWM $(kib2mib "$(tail -1 "$TMP/baseline.dhwm")") MiB"
done
rm -rf "$X_DIR"

# The last strata run's store must hold the image, or the timings mean nothing.
got=$(STRATA_STORE=$STORE_DIR "$STRATA" inspect --json "$REF" | jq -r '.layers[0].diff_id')
pid=$(daemon_pid); [ -z "$pid" ] || stop_daemon "$pid"
want=$(jq -r '.rootfs.diff_ids[0]' "$LAYOUT/blobs/sha256/$(jq -r '.config.digest' "$BASE_MANIFEST" | cut -d: -f2)")
[ "$got" = "$want" ] || { say "the pulled image's layer is '$got', want '$want'"; exit 1; }

T_STRATA=$(median "$TMP/strata.times")
T_TAR=$(median "$TMP/tar.times")
T_TARSYNC=$(median "$TMP/tarsync.times")
T_UMOCI=$(median "$TMP/umoci.times")
T_START=$(median "$TMP/strata.start")
DHWM_MED=$(median "$TMP/strata.dhwm")
DHWM_MAX=$(maxof "$TMP/strata.dhwm")
RSS_MED=$(median "$TMP/strata.rss")
RSS_MAX=$(maxof "$TMP/strata.rss")

# Store size after the four images, against their distinct layer blobs as
# the registry served them (what strata recorded from the manifests).
TAGS="base app rebuilt app-zstd"
if [ "${BENCH_SIZE:-1}" != 0 ]; then
say "pulling base, app, rebuilt and app-zstd into one store"
set_aside "$STORE_DIR"
export STRATA_STORE=$STORE_DIR
for t in $TAGS; do
	"$STRATA" -q pull "$REGISTRY/strata/$t" || { say "pull $t failed"; exit 1; }
done
BLOBS_SUM=$(for t in $TAGS; do "$STRATA" inspect --json "$REGISTRY/strata/$t"; done |
	jq -s '[.[].layers[] | {digest, compressed_size}] | unique_by(.digest) | map(.compressed_size) | add')
BLOBS_N=$(for t in $TAGS; do "$STRATA" inspect --json "$REGISTRY/strata/$t"; done |
	jq -s '[.[].layers[].digest] | unique | length')
pid=$(daemon_pid); [ -z "$pid" ] || stop_daemon "$pid"
STORE_B=$(du -sb "$STORE_DIR" | cut -f1)
STORE_ALLOC=$(du -s --block-size=1 "$STORE_DIR" | cut -f1)
CHUNK_FILES=$(find "$STORE_DIR/chunks" -type f | wc -l)
fi

# --- report -------------------------------------------------------------------
FS=$(findmnt -n -o FSTYPE -T "$TMP")
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cat <<EOF
### Ingest: one gzip layer, cold pull vs extraction ($(date -u +%Y-%m-%d))

Machine: $(nproc) CPUs ($CPU), $MEM RAM, Linux $(uname -r), store and
extraction directories on $FS ($TMP). Load average before the runs: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg).
Versions: $("$STRATA" --version), $(tar --version | head -1), umoci $(umoci --version | awk '{ print $NF }').

Blob: the \`$IMAGE\` test image's layer ($([ "$IMAGE" = big ] && echo "tests/make-bigimage.py: text and random small files, one 256 MiB random file" || echo "Debian bookworm minbase")), $BLOB_DIGEST:
$(mib "$BLOB_SIZE") MiB gzip, $(mib "$TAR_SIZE") MiB of tar, $ENTRIES entries.
Each time is the median of $RUNS runs (interleaved, after one warm-up run of each; blob in the
page cache; \`sync\` before each run). strata's time is that of \`strata -q pull\`, the client,
with the store daemon that runs the ingest already started (by \`strata images\`, timed apart
below) on a fresh, empty store; it includes the daemon's durability syncs (syncfs and RocksDB
WAL). Plain \`tar -xzf\` and \`umoci unpack\` do not sync. Ratio = reference time / strata time
(above 1: strata is faster).

| what | command | median time (s) | all runs (s) | ratio to strata |
| --- | --- | ---: | --- | ---: |
| strata, cold pull from a loopback registry into an empty store | \`strata -q pull $REF\` | $T_STRATA | $(runs "$TMP/strata.times") | 1.00 |
| tar | \`tar -xzf BLOB -C DIR\` | $T_TAR | $(runs "$TMP/tar.times") | $(ratio "$T_TAR" "$T_STRATA") |
| tar, then sync | \`sh -c 'tar -xzf BLOB -C DIR && sync'\` | $T_TARSYNC | $(runs "$TMP/tarsync.times") | $(ratio "$T_TARSYNC" "$T_STRATA") |
| umoci | \`umoci unpack --image LAYOUT:$IMAGE DIR\` | $T_UMOCI | $(runs "$TMP/umoci.times") | $(ratio "$T_UMOCI" "$T_STRATA") |
$(if [ -n "$BASELINE" ]; then
	T_BASE=$(median "$TMP/baseline.times")
	echo "| baseline build ($BASELINE), same pull, fresh store | \`BASELINE -q pull $REF\` | $T_BASE | $(runs "$TMP/baseline.times") | $(ratio "$T_BASE" "$T_STRATA") |"
fi)

| measure | value |
| --- | ---: |
| tar / strata (target: at least 2) | $(ratio "$T_TAR" "$T_STRATA") |
| umoci / strata | $(ratio "$T_UMOCI" "$T_STRATA") |
| store daemon start on an empty store (\`strata images\`), median of $RUNS runs; all runs (s): $(runs "$TMP/strata.start") | $T_START s |
| daemon peak RSS (VmHWM after the pull), median of $RUNS runs | $(kib2mib "$DHWM_MED") MiB |
| daemon peak RSS (VmHWM after the pull), largest of $RUNS runs (target: under 64 MiB) | $(kib2mib "$DHWM_MAX") MiB |
| client (\`strata -q pull\`) peak RSS, median of $RUNS runs (\`/usr/bin/time -f %M\`) | $(kib2mib "$RSS_MED") MiB |
| client peak RSS, largest of $RUNS runs | $(kib2mib "$RSS_MAX") MiB |
$(if [ -n "$BASELINE" ]; then
	echo "| baseline: tar / baseline | $(ratio "$T_TAR" "$(median "$TMP/baseline.times")") |"
	echo "| baseline: daemon peak RSS, median / largest of $RUNS runs | $(kib2mib "$(median "$TMP/baseline.dhwm")") / $(kib2mib "$(maxof "$TMP/baseline.dhwm")") MiB |"
fi)

EOF
if [ "${BENCH_SIZE:-1}" != 0 ]; then
cat <<EOF
### Store size: base, app, rebuilt, app-zstd ($(date -u +%Y-%m-%d))

| measure | bytes | MiB |
| --- | ---: | ---: |
| distinct compressed layer blobs ($BLOBS_N), sum of sizes | $BLOBS_SUM | $(mib "$BLOBS_SUM") |
| store, \`du -sb\` (apparent size) | $STORE_B | $(mib "$STORE_B") |
| store, \`du -s --block-size=1\` (allocated) | $STORE_ALLOC | $(mib "$STORE_ALLOC") |
| store / blobs, \`du -sb\` (target: at most 0.5) | $(ratio "$STORE_B" "$BLOBS_SUM") | |

The store holds $CHUNK_FILES chunk files beside its index.

EOF
fi
cat <<EOF

Produced by \`tests/bench-ingest.sh\` (BENCH_RUNS=$RUNS). Commands, in full:

\`\`\`
STRATA_STORE=<fresh dir> $STRATA images    # starts the daemon (untimed for the pull)
STRATA_STORE=<same dir> ${PULL_CMD[*]}
grep VmHWM /proc/<daemon pid>/status; kill -TERM <daemon pid>
${TAR_CMD[*]}
sh -c 'tar -xzf "\$1" -C "\$2" && sync' sh $BLOB $X_DIR
${UMOCI_CMD[*]}
/usr/bin/time -f %M <each of the pull, tar and umoci commands>
for t in $TAGS; do strata -q pull $REGISTRY/strata/\$t; done; du -sb \$STRATA_STORE
\`\`\`
EOF
