#!/bin/bash
# bench-lazy.sh: what an image costs when the cache does not hold it, and
# prints a markdown report for BENCHMARKS.md. Not a test: it asserts only
# that each way reads the same bytes.
#
# The image is tests/make-bigimage.py's `big` (one gzip layer, 50,001
# entries, one 256 MiB random file), served by docker-registry behind the
# counting proxy (tests/registry-proxy.py), which logs every blob byte it
# sends. Three ways, each in a fresh store, runs interleaved:
#   full    `strata pull` (no budget), then mount;
#   mapped  `strata pull` into a 64 MiB budget: every byte is fetched once
#           and checked, the layer keeps its map only (the evicted state);
#           then the daemon restarts with a budget that holds the image
#           (a node's budget holds what it reads; under a budget smaller
#           than what a whole-tree read touches, eviction drops a mapped
#           layer's chunks together and spans come back again and again,
#           see RELIABILITY.md), and reads fetch chunks by Range;
#   esgz    the same image made eStargz (tests/make-estargz.sh, the
#           upstream estargz library), `strata pull --lazy`: never pulled.
# For each: the pull (time, bytes), mount to the first `ls` (time), one
# small file read (time, bytes), every file read (time, bytes). Then the
# map's size per GB of layer (cache ls: map_size, checkpoint_size), and
# the pull's time with checkpoints every 4M against every 1G (about none).
# Each figure is the median of BENCH_RUNS runs (default 3; CK_RUNS for the
# ingest comparison, default BENCH_RUNS). Needs root,
# /dev/fuse, docker-registry, skopeo, go (make-estargz.sh), jq, curl.
# Usage: tests/bench-lazy.sh [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-3}
[ "$RUNS" -ge 1 ] 2>/dev/null || { echo "bench-lazy: BENCH_RUNS must be 1 or more" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-lazy: run as root" >&2; exit 77; }
for c in python3 jq curl skopeo docker-registry fusermount3; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-lazy: '$c' is not installed" >&2; exit 77; }
done
[ -c /dev/fuse ] || { echo "bench-lazy: no /dev/fuse" >&2; exit 77; }
[ -x "$STRATA" ] || { echo "bench-lazy: '$STRATA' is not built (run make at the top)" >&2; exit 77; }
say() { echo "bench-lazy: $*" >&2; }

say "building (or reusing) the big image and its eStargz form"
LAYOUT=$("$TEST_SRCDIR/make-bigimage.py" "$STRATA_TEST_CACHE/bigimage") || { say "make-bigimage.py failed"; exit 99; }
"$TEST_SRCDIR/make-estargz.sh" "$LAYOUT" big "$TMP/esgz" >/dev/null 2>"$TMP/esgz.log" ||
	{ say "make-estargz.sh failed"; tail -5 "$TMP/esgz.log" >&2; exit 99; }
MANIFEST=$LAYOUT/blobs/sha256/$(jq -r '.manifests[0].digest' "$LAYOUT/index.json" | cut -d: -f2)
BLOB_SIZE=$(jq -r '.layers[0].size' "$MANIFEST")
EMAN=$TMP/esgz/blobs/sha256/$(jq -r '.manifests[0].digest' "$TMP/esgz/index.json" | cut -d: -f2)
EBLOB_SIZE=$(jq -r '.layers[0].size' "$EMAN")

start_registry
for x in "oci:$LAYOUT:big strata/big" "oci:$TMP/esgz:big strata/esgz"; do
	set -- $x
	skopeo copy --quiet --preserve-digests --dest-tls-verify=false "$1" "docker://$REGISTRY/$2:latest" \
		>"$TMP/skopeo.log" 2>&1 || { say "skopeo copy failed"; tail -5 "$TMP/skopeo.log" >&2; exit 99; }
done
start_proxy counter "$REGISTRY"
mark() { wc -l <"$PROXY_LOG"; }
served() { tail -n +"$(( $1 + 1 ))" "$PROXY_LOG" | jq -s '[.[] | select(.method == "GET" and (.path | test("/blobs/"))) | .length // 0] | add // 0'; }

MNT=$TMP/mnt
mkdir -p "$MNT"
daemon_pid() { curl -s --max-time 5 --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version | jq -r '.pid // empty'; }
stop_daemon() {
	local pid; pid=$(daemon_pid)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid"
	for _ in $(seq 100); do running "$pid" || return 0; sleep 0.1; done
	kill -KILL "$pid"
}
# rec NAME VALUE: appends VALUE to NAME's samples.
rec() { echo "$2" >>"$TMP/$1.v"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }'; }
median() {
	[ -s "$TMP/$1.v" ] || { echo "-"; return; }
	sort -g "$TMP/$1.v" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
msv() { awk -v s="$(median "$1")" 'BEGIN { printf "%.1f", s * 1000 }'; }
secv() { awk -v s="$(median "$1")" 'BEGIN { printf "%.2f", s }'; }
mbv() { awk -v b="$(median "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }
kbv() { awk -v b="$(median "$1")" 'BEGIN { printf "%.1f", b / 1e3 }'; }

# The small file: a text-like file of a few KiB, from the listing of the layer.
SMALL=
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# way NAME RUN: one run of one way in a fresh store.
way() {
	local name=$1 run=$2 m t
	export STRATA_STORE=$TMP/store-$name-$run
	unset STRATA_CACHE_MAX_SIZE
	local ref=$PROXY/strata/big pullargs=(pull -q)
	case $name in
	mapped) export STRATA_CACHE_MAX_SIZE=64M ;;
	esgz) ref=$PROXY/strata/esgz; pullargs=(pull -q --lazy) ;;
	esac
	"$STRATA" images >/dev/null # the daemon starts outside the clock
	m=$(mark); t=$(now)
	"$STRATA" "${pullargs[@]}" "$ref" || { say "$name: pull failed"; exit 1; }
	rec "$name.pull.s" "$(since "$t")"; rec "$name.pull.b" "$(served "$m")"
	if [ "$name" = mapped ]; then
		rec map.size "$("$STRATA" cache ls --json | jq '.[0].map_size')"
		rec map.ckpt "$("$STRATA" cache ls --json | jq '.[0].checkpoint_size')"
		rec map.usize "$("$STRATA" cache ls --json | jq '.[0].size')"
		rec map.state "$("$STRATA" cache ls --json | jq -r '.[0].state')"
	fi
	if [ "$name" = mapped ]; then
		stop_daemon
		export STRATA_CACHE_MAX_SIZE=2G
		"$STRATA" images >/dev/null
	fi
	m=$(mark); t=$(now)
	"$STRATA" mount --no-pull "$ref" "$MNT" || { say "$name: mount failed"; exit 1; }
	ls "$MNT" >/dev/null
	rec "$name.ls.s" "$(since "$t")"; rec "$name.ls.b" "$(served "$m")"
	if [ -z "$SMALL" ]; then
		SMALL=$(cd "$MNT" && find . -type f -size -16k -size +1k | sort | sed -n 100p)
		say "small file: $SMALL"
	fi
	m=$(mark); t=$(now)
	sha256sum "$MNT/$SMALL" | cut -c1-64 >>"$TMP/small.sums"
	rec "$name.small.s" "$(since "$t")"; rec "$name.small.b" "$(served "$m")"
	m=$(mark); t=$(now)
	(cd "$MNT" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$TMP/tree-$name.sums"
	rec "$name.tree.s" "$(since "$t")"; rec "$name.tree.b" "$(served "$m")"
	rec "$name.peak" "$("$STRATA" cache stats --json | jq .stored_bytes)"
	"$STRATA" umount "$MNT" || { say "$name: umount failed"; exit 1; }
	stop_daemon
	rm -rf "$STRATA_STORE"
}

for run in $(seq "$RUNS"); do
	for w in full mapped esgz; do
		say "run $run: $w"
		way "$w" "$run"
	done
done
cmp -s "$TMP/tree-full.sums" "$TMP/tree-mapped.sums" || { say "full and mapped trees differ"; exit 1; }
[ "$(sort -u "$TMP/small.sums" | wc -l)" -eq 1 ] || { say "the small file read differently"; exit 1; }

# Ingest with checkpoints every 4M against every 1G (one, at the start).
for run in $(seq "${CK_RUNS:-$RUNS}"); do
	for iv in 4M 1G; do
		export STRATA_STORE=$TMP/store-ck-$iv-$run STRATA_PULL_CHECKPOINT_INTERVAL=$iv
		unset STRATA_CACHE_MAX_SIZE
		"$STRATA" images >/dev/null
		t=$(now)
		"$STRATA" pull -q "$REGISTRY/strata/big" || { say "pull failed"; exit 1; }
		rec "ck$iv.s" "$(since "$t")"
		stop_daemon
		rm -rf "$STRATA_STORE"
	done
done
unset STRATA_PULL_CHECKPOINT_INTERVAL
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

cat <<EOF
Image: \`big\` from \`tests/make-bigimage.py\`: one gzip layer of $(awk -v b="$BLOB_SIZE" 'BEGIN { printf "%.1f", b / 1e6 }') MB
($(awk -v b="$(median map.usize)" 'BEGIN { printf "%.1f", b / 1e6 }') MB of tar, $(wc -l <"$TMP/tree-full.sums") regular files); its eStargz
form (tests/make-estargz.sh, the upstream estargz library) is $(awk -v b="$EBLOB_SIZE" 'BEGIN { printf "%.1f", b / 1e6 }') MB.
docker-registry on loopback behind tests/registry-proxy.py, which counts
the blob bytes sent (and costs CPU of its own). Median of $RUNS runs, each
way in a fresh store; "mapped" pulls into a 64 MiB budget, so the layer
keeps its map only (state \`$(median map.state 2>/dev/null || true)\`), then reads with a budget of 2 GiB
(the daemon restarted). Small file: \`$SMALL\`. Ingest: median of ${CK_RUNS:-$RUNS} runs.
Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), shared;
load average $LOAD_BEFORE before, $LOAD_AFTER after.

| | full pull + mount | evicted (map kept) | eStargz, never pulled |
|---|---|---|---|
| pull: time | $(secv full.pull.s) s | $(secv mapped.pull.s) s | $(secv esgz.pull.s) s (--lazy) |
| pull: bytes fetched | $(mbv full.pull.b) MB | $(mbv mapped.pull.b) MB | $(mbv esgz.pull.b) MB |
| mount to first \`ls\` | $(msv full.ls.s) ms | $(msv mapped.ls.s) ms | $(msv esgz.ls.s) ms |
| ... bytes fetched | $(median full.ls.b) | $(median mapped.ls.b) | $(median esgz.ls.b) |
| one small file: time | $(msv full.small.s) ms | $(msv mapped.small.s) ms | $(msv esgz.small.s) ms |
| ... bytes fetched | $(kbv full.small.b) KB | $(kbv mapped.small.b) KB | $(kbv esgz.small.b) KB |
| every file: time | $(secv full.tree.s) s | $(secv mapped.tree.s) s | $(secv esgz.tree.s) s |
| ... bytes fetched | $(mbv full.tree.b) MB | $(mbv mapped.tree.b) MB | $(mbv esgz.tree.b) MB |
| store after the reads | $(mbv full.peak) MB | $(mbv mapped.peak) MB | $(mbv esgz.peak) MB |

The map kept for the evicted layer: $(mbv map.size) MB in the index (file entries, chunk
references with their places, checkpoints), $(awk -v m="$(median map.size)" -v u="$(median map.usize)" 'BEGIN { printf "%.1f", m / u * 1e3 }') MB per GB of
layer; of it the checkpoints (every 4 MiB, a packed 32 KiB window each):
$(mbv map.ckpt) MB, $(awk -v m="$(median map.ckpt)" -v u="$(median map.usize)" 'BEGIN { printf "%.1f", m / u * 1e3 }') MB per GB.

Ingest (a whole pull straight from the registry, no proxy) with a checkpoint every 4 MiB:
$(secv ck4M.s) s; every 1 GiB (one checkpoint, at the start): $(secv ck1G.s) s
($(awk -v a="$(median ck4M.s)" -v b="$(median ck1G.s)" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }') %).

Command: \`BENCH_RUNS=$RUNS CK_RUNS=${CK_RUNS:-$RUNS} tests/bench-lazy.sh\`
EOF
