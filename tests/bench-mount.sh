#!/bin/bash
# bench-mount.sh: measures a strata mount against the same layer extracted
# with `tar -xzf` into a directory on the same file system, in one run, and
# prints a markdown report for BENCHMARKS.md. Not a test: it asserts only
# that both sides show the same files, and prints ratios.
#
# The image is tests/make-bigimage.py's `big` (one gzip layer, 50,001
# entries, one 256 MiB file), pulled into a fresh store. Measured:
#   1. `strata mount` of the stored image to the first `ls MNT` returning;
#   2. `find DIR -ls`, cold (page cache dropped, fresh mount) and warm;
#   3. `dd` of the 256 MiB file, first read (page cache dropped, fresh
#      mount) and re-read;
#   4. sha256 of every regular file, cold and warm, and the same digests
#      read from the mount's user.strata.sha256 xattrs, with the file bytes
#      the mount served meanwhile (the daemon's strata_mount_read_bytes_total);
#   5. the daemon's peak RSS (VmHWM) after all of it.
# Each figure is the median of BENCH_RUNS runs (default 5, at least 3; the
# mount latency takes at least 5), mount and native runs interleaved. "Cold"
# drops the kernel's caches (echo 3 >/proc/sys/vm/drop_caches) and mounts
# afresh; the store daemon keeps running throughout, so its own caches
# (RocksDB's block cache) are not dropped. Needs root (drop_caches, and
# tar applying ownership), /dev/fuse, fusermount3, python3, jq and curl.
# Usage: tests/bench-mount.sh [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
[ "$RUNS" -ge 3 ] 2>/dev/null || { echo "bench-mount: BENCH_RUNS must be 3 or more" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-mount: run as root (drop_caches, tar ownership)" >&2; exit 77; }
for c in python3 jq curl tar findmnt fusermount3 dd sha256sum; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-mount: '$c' is not installed" >&2; exit 77; }
done
[ -c /dev/fuse ] || { echo "bench-mount: no /dev/fuse" >&2; exit 77; }
[ -x "$STRATA" ] || { echo "bench-mount: '$STRATA' is not built (run make at the top)" >&2; exit 77; }
LAT_RUNS=$((RUNS < 5 ? 5 : RUNS))

say() { echo "bench-mount: $*" >&2; }

say "building (or reusing) the big image"
LAYOUT=$("$TEST_SRCDIR/make-bigimage.py" "$STRATA_TEST_CACHE/bigimage") || { say "make-bigimage.py failed"; exit 99; }
REF=oci:$LAYOUT:big
MANIFEST=$LAYOUT/blobs/sha256/$(jq -r '.manifests[0].digest' "$LAYOUT/index.json" | cut -d: -f2)
BLOB_DIGEST=$(jq -r '.layers[0].digest' "$MANIFEST")
BLOB=$LAYOUT/blobs/sha256/${BLOB_DIGEST#sha256:}
BLOB_SIZE=$(stat -c %s "$BLOB")
BIGFILE_REL=big/random-256M

STORE_DIR=$TMP/store
NATIVE=$TMP/native
MNT=$TMP/mnt
export STRATA_STORE=$STORE_DIR
mkdir -p "$MNT" "$NATIVE"

daemon_pid() {
	curl -s --max-time 5 --unix-socket "$STORE_DIR/strata.sock" http://strata/v1/version 2>/dev/null |
		jq -r '.pid // empty' 2>/dev/null
}
metric() { # NAME -> its value, summed over label sets
	curl -s --max-time 5 --unix-socket "$STORE_DIR/strata.sock" http://strata/metrics |
		awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; } # PID -> KiB
io_read_bytes() { awk '/^read_bytes:/ { print $2 }' "/proc/$1/io"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
do_mount() { "$STRATA" mount --no-pull "$REF" "$MNT" || { say "strata mount failed"; exit 1; }; }
do_umount() { "$STRATA" umount "$MNT" || { say "strata umount failed"; exit 1; }; }
at_exit 'findmnt -n "$MNT" >/dev/null && { "$STRATA" umount "$MNT" || umount -l "$MNT"; }'

# clock NAME CMD...: runs CMD (its output to /dev/null unless CMD redirects
# it), appends its wall time in seconds to $TMP/NAME.t; a failure stops all.
clock() {
	local name=$1; shift
	local t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$TMP/clock.err" || { say "$name failed: $*"; tail -5 "$TMP/clock.err" >&2; exit 1; }
	local t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/$name.t"
}
median() { # NAME
	sort -g "$TMP/$1.t" | awk '{ v[NR] = $1 } END {
		if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ms() { awk -v s="$(median "$1")" 'BEGIN { printf "%.1f", s * 1000 }'; }
sec() { awk -v s="$(median "$1")" 'BEGIN { printf "%.3f", s }'; }
gbps() { awk -v s="$(median "$1")" -v b="$2" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { printf "%.2f", a / b }'; }
allms() { sort -g "$TMP/$1.t" | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 * 1000 }'; }
alls() { sort -g "$TMP/$1.t" | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 }'; }

FIND_CMD=(find DIR -ls)
DD_CMD=(dd if=DIR/$BIGFILE_REL of=/dev/null bs=1M)
HASH_CMD=(sh -c 'find "$1" -type f -print0 | xargs -0 sha256sum' sh DIR)
# Every regular file's user.strata.sha256, as sha256sum prints digests.
XATTR_PY='import os, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if os.path.isfile(p) and not os.path.islink(p):
            out.append("%s  ./%s" % (os.getxattr(p, "user.strata.sha256", follow_symlinks=False).decode(),
                                    os.path.relpath(p, root)))
sys.stdout.write("\n".join(out) + "\n")'
XATTR_CMD=(python3 -c "$XATTR_PY" MNT)

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- set-up: the store and the native tree --------------------------------------
say "starting the store daemon, pulling $REF, extracting the layer"
clock start "$STRATA" images
DPID=$(daemon_pid)
[ -n "$DPID" ] || { say "no daemon answers on $STORE_DIR/strata.sock"; exit 1; }
clock pull "$STRATA" -q pull "$REF"
clock tarx sh -c 'tar -xzf "$1" -C "$2" && sync' sh "$BLOB" "$NATIVE"
ENTRIES=$(find "$NATIVE" -mindepth 1 | wc -l)
FILES=$(find "$NATIVE" -type f | wc -l)
TREE_BYTES=$(du -sb --apparent-size "$NATIVE" | cut -f1)
BIG_SIZE=$(stat -c %s "$NATIVE/$BIGFILE_REL")

# Both sides must show the same tree (names, types, sizes), or nothing compares.
do_mount
(cd "$MNT" && find . -mindepth 1 -printf '%p %y %s %m\n' | sed 's/ d [0-9]* / d - /' | LC_ALL=C sort) >"$TMP/mnt.list"
(cd "$NATIVE" && find . -mindepth 1 -printf '%p %y %s %m\n' | sed 's/ d [0-9]* / d - /' | LC_ALL=C sort) >"$TMP/native.list"
do_umount
cmp -s "$TMP/mnt.list" "$TMP/native.list" || {
	say "the mount and the extracted tree differ:"; diff "$TMP/native.list" "$TMP/mnt.list" | head >&2; exit 1; }

# --- 1. mount to first ls ---------------------------------------------------------
say "mount to first ls ($LAT_RUNS cycles)"
for ((i = 1; i <= LAT_RUNS; i++)); do
	t0=$EPOCHREALTIME
	do_mount
	t1=$EPOCHREALTIME
	ls "$MNT" >/dev/null || { say "ls failed"; exit 1; }
	t2=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/lat.t"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/latmount.t"
	awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/latls.t"
	do_umount
done

# --- 2-4, interleaved -----------------------------------------------------------
for ((i = 1; i <= RUNS; i++)); do
	say "run $i of $RUNS"
	# find -ls
	drop_caches; do_mount
	clock find_mc find "$MNT" -ls
	clock find_mw find "$MNT" -ls
	do_umount
	drop_caches
	clock find_nc find "$NATIVE" -ls
	clock find_nw find "$NATIVE" -ls
	# sequential read of the 256 MiB file
	drop_caches; do_mount
	clock dd_mc dd if="$MNT/$BIGFILE_REL" of=/dev/null bs=1M
	clock dd_mw dd if="$MNT/$BIGFILE_REL" of=/dev/null bs=1M
	do_umount
	drop_caches
	clock dd_nc dd if="$NATIVE/$BIGFILE_REL" of=/dev/null bs=1M
	clock dd_nw dd if="$NATIVE/$BIGFILE_REL" of=/dev/null bs=1M
	# sha256 of every file
	drop_caches; do_mount
	clock hash_mc sh -c 'find "$1" -type f -print0 | xargs -0 sha256sum' sh "$MNT"
	clock hash_mw sh -c 'find "$1" -type f -print0 | xargs -0 sha256sum' sh "$MNT"
	do_umount
	drop_caches
	clock hash_nc sh -c 'find "$1" -type f -print0 | xargs -0 sha256sum' sh "$NATIVE"
	clock hash_nw sh -c 'find "$1" -type f -print0 | xargs -0 sha256sum' sh "$NATIVE"
	# the same digests from the xattrs, cold; no file byte may be read
	drop_caches; do_mount
	rb0=$(metric strata_mount_read_bytes_total); io0=$(io_read_bytes "$DPID")
	clock xattr python3 -c "$XATTR_PY" "$MNT"
	rb1=$(metric strata_mount_read_bytes_total); io1=$(io_read_bytes "$DPID")
	echo $((rb1 - rb0)) >>"$TMP/xattr_rb.t"
	echo $((io1 - io0)) >>"$TMP/xattr_io.t"
	do_umount
done

# The xattr digests must be the files' digests.
do_mount
python3 -c "$XATTR_PY" "$MNT" | LC_ALL=C sort >"$TMP/xattr.sums"
do_umount
(cd "$NATIVE" && find . -type f -print0 | xargs -0 sha256sum) | LC_ALL=C sort >"$TMP/native.sums"
cmp -s "$TMP/xattr.sums" "$TMP/native.sums" || {
	say "user.strata.sha256 differs from sha256sum:"; diff "$TMP/native.sums" "$TMP/xattr.sums" | head >&2; exit 1; }
[ "$(wc -l <"$TMP/xattr.sums")" -eq "$FILES" ] || { say "xattr digests: not one per file"; exit 1; }

[ "$(daemon_pid)" = "$DPID" ] || { say "the daemon changed during the run"; exit 1; }
DHWM=$(hwm "$DPID")
XATTR_RB_MAX=$(sort -g "$TMP/xattr_rb.t" | tail -1)
XATTR_IO_MED=$(median xattr_io)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
kill -TERM "$DPID"
for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done

# --- report -----------------------------------------------------------------------
FS=$(findmnt -n -o FSTYPE -T "$TMP")
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
cat <<EOF
### Mount: 50,000 entries and a 256 MiB file, strata mount vs extracted tree ($(date -u +%Y-%m-%d))

Machine: $(nproc) CPUs ($CPU), $MEM RAM, Linux $(uname -r); store, mount point and
extracted tree on $FS ($TMP). Load average before: $LOAD_BEFORE; after: $LOAD_AFTER.
Versions: $("$STRATA" --version), $(tar --version | head -1), $(sha256sum --version | head -1).

Image: \`big\` from \`tests/make-bigimage.py\`, one gzip layer $BLOB_DIGEST:
$(mib "$BLOB_SIZE") MiB gzip, $ENTRIES entries ($FILES regular files), $(mib "$TREE_BYTES") MiB extracted
(\`du -sb --apparent-size\`), one file of $(mib "$BIG_SIZE") MiB ($BIGFILE_REL). Set-up, timed once:
daemon start on an empty store (\`strata images\`) $(sec start) s; \`strata -q pull $REF\`
$(sec pull) s; \`tar -xzf\` of the same blob, then \`sync\`, $(sec tarx) s.

Each figure is the median of $RUNS runs (mount latency: $LAT_RUNS), strata and native runs
interleaved. Cold: \`sync; echo 3 >/proc/sys/vm/drop_caches\`, then (strata) a fresh
\`strata mount\`; the store daemon runs throughout, so its own caches are not dropped. Warm: the
same command again right after. Ratio = strata time / native time (below the target is good).
GB/s = 10^9 bytes per second.

| what | strata | native | ratio | target |
| --- | ---: | ---: | ---: | --- |
| \`strata mount\` to first \`ls MNT\` returning (ms; all: $(allms lat)) | $(ms lat) | | | < 50 ms |
| of which \`strata mount\` (ms) / \`ls\` (ms) | $(ms latmount) / $(ms latls) | | | |
| \`find DIR -ls\`, cold (s) | $(sec find_mc) | $(sec find_nc) | $(ratio find_mc find_nc) | within 2× |
| \`find DIR -ls\`, warm (s) | $(sec find_mw) | $(sec find_nw) | $(ratio find_mw find_nw) | within 1.2× |
| \`dd\` of the $(mib "$BIG_SIZE") MiB file, first read (GB/s) | $(gbps dd_mc "$BIG_SIZE") | $(gbps dd_nc "$BIG_SIZE") | | > 1 GB/s |
| \`dd\` of the $(mib "$BIG_SIZE") MiB file, re-read (GB/s) | $(gbps dd_mw "$BIG_SIZE") | $(gbps dd_nw "$BIG_SIZE") | | > 5 GB/s |
| sha256 of every file, cold (s) | $(sec hash_mc) | $(sec hash_nc) | $(ratio hash_mc hash_nc) | within 1.5× |
| sha256 of every file, warm (s) | $(sec hash_mw) | $(sec hash_nw) | $(ratio hash_mw hash_nw) | |
| sha256 of every file from \`user.strata.sha256\` xattrs, cold (s) | $(sec xattr) | | $(ratio xattr hash_nc) of native hashing, cold | |
| file bytes served by the mount during the xattr walk (largest of $RUNS) | $XATTR_RB_MAX | | | 0 |
| daemon's storage reads during the xattr walk (\`/proc/PID/io\` read_bytes, median) | $(mib "$XATTR_IO_MED") MiB | | | |
| daemon peak RSS (VmHWM) after all of the above | $(mib $((DHWM * 1024))) MiB | | | |

All runs (s), sorted:

| measure | strata | native |
| --- | --- | --- |
| \`find -ls\` cold | $(alls find_mc) | $(alls find_nc) |
| \`find -ls\` warm | $(alls find_mw) | $(alls find_nw) |
| \`dd\` first read | $(alls dd_mc) | $(alls dd_nc) |
| \`dd\` re-read | $(alls dd_mw) | $(alls dd_nw) |
| sha256, cold | $(alls hash_mc) | $(alls hash_nc) |
| sha256, warm | $(alls hash_mw) | $(alls hash_nw) |
| xattr digests, cold | $(alls xattr) | |

The mount showed the same $ENTRIES names, types, sizes and modes as the extracted tree, and its
$FILES \`user.strata.sha256\` values equal \`sha256sum\` of the extracted files.

Produced by \`tests/bench-mount.sh\` (BENCH_RUNS=$RUNS). Commands, in full (MNT=$MNT,
NATIVE=$NATIVE; DIR is one or the other):

\`\`\`
$TEST_SRCDIR/make-bigimage.py $STRATA_TEST_CACHE/bigimage
STRATA_STORE=$STORE_DIR $STRATA images                  # starts the daemon
$STRATA -q pull $REF
sh -c 'tar -xzf "\$1" -C "\$2" && sync' sh $BLOB $NATIVE
$STRATA mount --no-pull $REF $MNT; ls $MNT; $STRATA umount $MNT
sync; echo 3 >/proc/sys/vm/drop_caches                 # before every cold run
${FIND_CMD[*]}
dd if=DIR/$BIGFILE_REL of=/dev/null bs=1M
sh -c 'find "\$1" -type f -print0 | xargs -0 sha256sum' sh DIR >/dev/null
python3 -c "\$XATTR_PY" MNT >/dev/null                   # os.walk + os.getxattr(p, "user.strata.sha256")
curl -s --unix-socket $STORE_DIR/strata.sock http://strata/metrics   # strata_mount_read_bytes_total, before and after
grep VmHWM /proc/<daemon pid>/status
\`\`\`

where XATTR_PY is:

\`\`\`python
$XATTR_PY
\`\`\`
EOF
