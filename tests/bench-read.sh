#!/bin/bash
# bench-read.sh: the read path of a strata mount against the same bytes read
# natively from the file system the store lives on, in one run, as markdown
# for BENCHMARKS.md. Not a test: it asserts only that every side reads the
# same bytes, and prints ratios.
#
# The file is big/random-256M of tests/make-bigimage.py's `big` image (256
# MiB of incompressible bytes: its chunks are stored raw, in chunk files).
# The native side is that file extracted by tar next to the store. Measured,
# in rounds that interleave the sides (the first side rotates per round):
#   1. first sequential read, `dd bs=1M`, after `echo 3 >drop_caches` and
#      (strata) a fresh mount, so the kernel's pages of the chunk files and
#      of the mount, and the mount's chunk cache, are all cold;
#   2. re-read, the same dd right after (the kernel's page cache);
#   3. 4 KiB random reads (fio, psync, one job, the same offsets on every
#      side), cold as in 1, and warm (after the whole file was read once).
# With BASELINE=OTHER/strata a second build is measured in the same rounds,
# with a store and daemon of its own (before/after in one run). The store
# daemons run throughout, so what a daemon keeps outside a mount (its
# RocksDB block cache, its table of verified chunk files) stays warm; the
# first round of each side is listed apart in the "all runs" table.
# BENCH_PERF=1 adds a perf profile of the daemon over one more first read
# on each strata side. Needs root (drop_caches), /dev/fuse, python3, jq, tar,
# dd, fio, curl; perf for BENCH_PERF=1.
# Usage: [BENCH_RUNS=5] [BASELINE=DIR/strata] [BENCH_PERF=1] tests/bench-read.sh [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
RAND_MB=${BENCH_RAND_MB:-32}
[ "$RUNS" -ge 3 ] 2>/dev/null || { echo "bench-read: BENCH_RUNS must be 3 or more" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-read: run as root (drop_caches)" >&2; exit 77; }
for c in python3 jq curl tar dd fio findmnt cmp; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-read: '$c' is not installed" >&2; exit 77; }
done
[ -n "${BENCH_PERF:-}" ] && ! command -v perf >/dev/null 2>&1 && { echo "bench-read: 'perf' is not installed" >&2; exit 77; }
[ -c /dev/fuse ] || { echo "bench-read: no /dev/fuse" >&2; exit 77; }
[ -x "$STRATA" ] || { echo "bench-read: '$STRATA' is not built (run make at the top)" >&2; exit 77; }
[ -z "${BASELINE:-}" ] || [ -x "$BASELINE" ] || { echo "bench-read: BASELINE '$BASELINE' is not executable" >&2; exit 2; }

say() { echo "bench-read: $*" >&2; }

say "building (or reusing) the big image"
LAYOUT=$("$TEST_SRCDIR/make-bigimage.py" "$STRATA_TEST_CACHE/bigimage") || { say "make-bigimage.py failed"; exit 99; }
REF=oci:$LAYOUT:big
MANIFEST=$LAYOUT/blobs/sha256/$(jq -r '.manifests[0].digest' "$LAYOUT/index.json" | cut -d: -f2)
BLOB=$LAYOUT/blobs/sha256/$(jq -r '.layers[0].digest' "$MANIFEST" | cut -d: -f2)
REL=big/random-256M

# Sides: native, strata, and base when BASELINE is set.
SIDES=(native strata)
declare -A BIN=([strata]=$STRATA)
if [ -n "${BASELINE:-}" ]; then SIDES+=(base); BIN[base]=$BASELINE; fi
NATIVE=$TMP/native
mkdir -p "$NATIVE"
for s in "${SIDES[@]}"; do [ "$s" = native ] || mkdir -p "$TMP/$s.mnt"; done

store_of() { echo "$TMP/$1.store"; }
sx() { local s=$1; shift; STRATA_STORE=$(store_of "$s") "${BIN[$s]}" "$@"; }
daemon_pid() {
	curl -s --max-time 5 --unix-socket "$(store_of "$1")/strata.sock" http://strata/v1/version 2>/dev/null |
		jq -r '.pid // empty' 2>/dev/null
}
# The daemon's CPU time (user + system, in clock ticks) so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(daemon_pid "$1")/stat"; }
path_of() { if [ "$1" = native ]; then echo "$NATIVE/$REL"; else echo "$TMP/$1.mnt/$REL"; fi; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
up() { [ "$1" = native ] || sx "$1" mount --no-pull "$REF" "$TMP/$1.mnt" || { say "$1: mount failed"; exit 1; }; }
down() { [ "$1" = native ] || sx "$1" umount "$TMP/$1.mnt" || { say "$1: umount failed"; exit 1; }; }
for s in "${SIDES[@]}"; do
	[ "$s" = native ] || at_exit "findmnt -n '$TMP/$s.mnt' >/dev/null && { sx $s umount '$TMP/$s.mnt' || umount -l '$TMP/$s.mnt'; }"
	[ "$s" = native ] || at_exit "p=\$(daemon_pid $s); [ -n \"\$p\" ] && kill -TERM \$p"
done

# seconds NAME CMD...: appends CMD's wall time to $TMP/NAME.t.
seconds() {
	local name=$1; shift
	local t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$TMP/cmd.err" || { say "$name failed: $*"; tail -5 "$TMP/cmd.err" >&2; exit 1; }
	local t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/$name.t"
}
# fio_iops NAME FILE: 4 KiB random reads of RAND_MB MiB; IOPS to $TMP/NAME.t.
fio_iops() {
	fio --name=rand --filename="$2" --readonly --rw=randread --bs=4k --ioengine=psync --invalidate=0 \
		--randrepeat=1 --norandommap --io_size="${RAND_MB}m" --output-format=json >"$TMP/fio.json" 2>"$TMP/cmd.err" ||
		{ say "fio on $2 failed"; tail -5 "$TMP/cmd.err" >&2; exit 1; }
	jq -r '.jobs[0].read.iops' "$TMP/fio.json" >>"$TMP/$1.t"
}
median() {
	sort -g "$TMP/$1.t" | awk '{ v[NR] = $1 } END {
		if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
gbps() { awk -v s="$(median "$1")" -v b="$SIZE" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }
kiops() { awk -v s="$(median "$1")" 'BEGIN { printf "%.1f", s / 1000 }'; }
# ratio of throughputs: for times, native/side; for IOPS, side/native.
tratio() { awk -v a="$(median "$2")" -v b="$(median "$1")" 'BEGIN { printf "%.2f", a / b }'; }
iratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { printf "%.2f", a / b }'; }
allg() { awk -v b="$SIZE" '{ printf "%s%.2f", (NR > 1 ? ", " : ""), b / $1 / 1e9 }' "$TMP/$1.t"; }
alli() { awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1000 }' "$TMP/$1.t"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- set-up --------------------------------------------------------------------
say "extracting $REL next to the stores"
tar -xzf "$BLOB" -C "$NATIVE" "$REL" && sync || { say "tar failed"; exit 1; }
SIZE=$(stat -c %s "$NATIVE/$REL")
for s in "${SIDES[@]}"; do
	[ "$s" = native ] && continue
	say "$s: pulling $REF into a fresh store"
	sx "$s" -q pull "$REF" || { say "$s: pull failed"; exit 1; }
	[ -n "$(daemon_pid "$s")" ] || { say "$s: no daemon"; exit 1; }
	up "$s"
	cmp "$NATIVE/$REL" "$(path_of "$s")" || { say "$s: the mount's bytes differ from the native file"; exit 1; }
	down "$s"
done

# --- rounds --------------------------------------------------------------------
n=${#SIDES[@]}
for ((i = 0; i < RUNS; i++)); do
	say "round $((i + 1)) of $RUNS"
	for ((k = 0; k < n; k++)); do
		s=${SIDES[$(((i + k) % n))]}
		f=$(path_of "$s")
		drop_caches; up "$s"
		[ "$s" = native ] || c0=$(cpu_ticks "$s")
		seconds "$s.first" dd if="$f" of=/dev/null bs=1M
		[ "$s" = native ] || echo $(($(cpu_ticks "$s") - c0)) >>"$TMP/$s.cpu.t"
		seconds "$s.reread" dd if="$f" of=/dev/null bs=1M
		down "$s"
		drop_caches; up "$s"
		fio_iops "$s.rcold" "$f"
		cat "$f" >/dev/null
		fio_iops "$s.rwarm" "$f"
		down "$s"
	done
done

# --- profiles ------------------------------------------------------------------
PROFILES=
if [ -n "${BENCH_PERF:-}" ]; then
	for s in "${SIDES[@]}"; do
		[ "$s" = native ] && continue
		say "$s: profiling a first read"
		drop_caches; up "$s"
		perf record -q -g -p "$(daemon_pid "$s")" -o "$TMP/$s.perf" 2>/dev/null &
		perf_pid=$!
		sleep 0.5
		dd if="$(path_of "$s")" of=/dev/null bs=1M 2>/dev/null
		kill -INT "$perf_pid"; wait "$perf_pid"
		down "$s"
		PROFILES+=$'\n'"$s: \`perf record -g -p DAEMON\` over one first read; self time by symbol, then"
		PROFILES+=" the system calls with what they call (children):"$'\n\n```\n'
		PROFILES+=$(perf report -i "$TMP/$s.perf" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
			grep -v '^#' | grep '%' | head -15 | sed 's/  */ /g; s/ - - *$//')
		PROFILES+=$'\n---\n'
		PROFILES+=$(perf report -i "$TMP/$s.perf" --children --sort symbol --stdio -g none 2>/dev/null |
			grep -v '^#' | grep '%' | grep -E 'sys_|_copy_to_iter|copy_folio|ext4_lookup|page_cache_ra|sha256|ZSTD|memmove|exc_page_fault' |
			head -16 | sed 's/  */ /g; s/ - - *$//')
		PROFILES+=$'\n```\n'
	done
fi

# Disk and memory, for what the native figures stand against.
drop_caches
seconds disk dd if="$NATIVE/$REL" of=/dev/null bs=4M iflag=direct
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------
FS=$(findmnt -n -o FSTYPE,SOURCE -T "$TMP" | tr -s ' ')
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
label() { case $1 in native) echo "native ($FS)" ;; strata) echo "strata ($STRATA)" ;; base) echo "baseline ($BASELINE)" ;; esac; }
cat <<EOF
### Read path: a 256 MiB file through a mount vs the same bytes on disk ($(date -u +%Y-%m-%d))

Machine: $(nproc) CPUs ($CPU), $MEM RAM, Linux $(uname -r); store, mount points and native
file on $FS. Load average before: $LOAD_BEFORE; after: $LOAD_AFTER.
Versions: $("$STRATA" --version)$([ -n "${BASELINE:-}" ] && echo ", baseline $("$BASELINE" --version)"), $(fio --version).

File: \`$REL\` of \`big\` (tests/make-bigimage.py), $SIZE bytes, incompressible (raw chunks in
chunk files). Medians of $RUNS rounds; in each round every side runs once, the first side
rotating. First read: \`sync; echo 3 >/proc/sys/vm/drop_caches\`, a fresh mount, \`dd bs=1M\`;
re-read: the same dd again. Random: fio, 4 KiB \`randread\`, psync, one job, ${RAND_MB} MiB of
reads at the same offsets on every side; cold as the first read, warm after \`cat\` of the
whole file. Ratio = the side's throughput / native's (higher is better).

| side | first read (GB/s) | ratio | re-read (GB/s) | ratio | 4 KiB random, cold (kIOPS) | ratio | 4 KiB random, warm (kIOPS) | ratio |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
for s in "${SIDES[@]}"; do
	echo "| $(label "$s") | $(gbps "$s.first") | $(tratio "$s.first" native.first) | $(gbps "$s.reread") | $(tratio "$s.reread" native.reread) | $(kiops "$s.rcold") | $(iratio "$s.rcold" native.rcold) | $(kiops "$s.rwarm") | $(iratio "$s.rwarm" native.rwarm) |"
done
cat <<EOF
| target (strata / native) | | at least 0.8 | | at least 0.8 | | at least 0.5 | | |

The disk itself: \`dd bs=4M iflag=direct\` of the native file (no page cache) $(gbps disk) GB/s.
The daemon's CPU time for one first read (user + system, median):$(for s in "${SIDES[@]}"; do
	[ "$s" = native ] || printf ' %s %.2f s;' "$s" "$(awk -v t="$(median "$s.cpu")" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')"; done)

All rounds, in order (GB/s; kIOPS):

| side | first read | re-read | random cold | random warm |
| --- | --- | --- | --- | --- |
EOF
for s in "${SIDES[@]}"; do
	echo "| $s | $(allg "$s.first") | $(allg "$s.reread") | $(alli "$s.rcold") | $(alli "$s.rwarm") |"
done
cat <<EOF
$PROFILES
Produced by \`tests/bench-read.sh\` (BENCH_RUNS=$RUNS${BASELINE:+, BASELINE=$BASELINE}${BENCH_PERF:+, BENCH_PERF=1}). Commands, in full
(F is the native file or the file in a side's mount, MNT the side's mount point):

\`\`\`
tar -xzf $BLOB -C NATIVE $REL
STRATA_STORE=STORE strata -q pull $REF                    # one fresh store per strata side
sync; echo 3 >/proc/sys/vm/drop_caches; strata mount --no-pull $REF MNT
dd if=F of=/dev/null bs=1M                                # first read
dd if=F of=/dev/null bs=1M                                # re-read
strata umount MNT; sync; echo 3 >/proc/sys/vm/drop_caches; strata mount --no-pull $REF MNT
fio --name=rand --filename=F --readonly --rw=randread --bs=4k --ioengine=psync --invalidate=0 \\
    --randrepeat=1 --norandommap --io_size=${RAND_MB}m --output-format=json      # cold
cat F >/dev/null
fio ... (the same)                                        # warm
dd if=NATIVE/$REL of=/dev/null bs=4M iflag=direct          # the disk, once
\`\`\`
EOF
