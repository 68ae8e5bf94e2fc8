#!/bin/bash
# t0610-disk-full: the store on a small tmpfs. A small image fits; an image
# that does not fit fails with one line that says no space is left and names
# the store; the store stays consistent, the stored image still mounts and
# reads exactly, gc and rmi + gc give the space back, the store takes new
# pulls, and a daemon restarted on a full store starts. Twice: once with
# chunk files filling the disk, once with the index (RocksDB) filling it.
# STRATA_DISK_FULL_SIZE (default 48m) is the size of the tmpfs.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd jq python3 mountpoint pgrep
[ "$(id -u)" -eq 0 ] || skip_all "mounting a tmpfs needs root"

SIZE=${STRATA_DISK_FULL_SIZE:-48m}
mkdir -p "$TMP/mnt"
# lib.sh's stop_daemons unmounts everything below $TMP, the tmpfs too, and
# would leave the daemon running on a detached store: stop it first.
daemon_pid() { pgrep -f -- "--store $STRATA_STORE (--config [^ ]+ )?-v+ serve\$"; }
stop_daemon() {
	local p; p=$(daemon_pid)
	[ -n "$p" ] || return 0
	kill -TERM $p
	for _ in $(seq 100); do running "$p" || return 0; sleep 0.1; done
	note "daemon $p still runs 10 s after SIGTERM: SIGKILL"
	kill -KILL $p
	# Until it is gone: its store lock goes with it.
	for _ in $(seq 100); do running "$p" || return 0; sleep 0.1; done
}
release_store() { # unmounts what a scenario left and its tmpfs
	"$STRATA" umount "$TMP/mnt" >/dev/null 2>&1
	stop_daemon
	mountpoint -q "$STRATA_STORE" && { umount "$STRATA_STORE" || umount -l "$STRATA_STORE"; }
}
at_exit release_store

# Three images in one OCI layout: "small" (about 7 MiB: 300 text files, two
# 2 MiB random files, a symlink), "big" (64 MiB of random bytes in four
# files, far more than the tmpfs holds) and "many" (47 MiB in 48,000 files of
# 1 KiB), and "tiny" (one file). OUT/small.sums lists each file's path and
# sha256.
OUT=$TMP/images
python3 - "$TEST_SRCDIR" "$OUT" <<'PY' || exit 99
import hashlib, random, sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
out = sys.argv[2]
rng = random.Random(610)
words = [b"store", b"chunk", b"layer", b"tmpfs", b"quota", b"inode", b"block", b"extent"]
small = {}
for i in range(300):
    small[f"srv/text/t{i:03d}.txt"] = b"".join(b" ".join(rng.choice(words) for _ in range(10)) + b"\n"
                                             for _ in range(rng.randrange(20, 400)))
small["srv/bin/r1"] = rng.randbytes(2 << 20)
small["srv/bin/r2"] = rng.randbytes(2 << 20)
big = {f"data/big{i}": rng.randbytes(16 << 20) for i in range(4)}
# 48,000 files of 1 KiB: chunks that small live in the index, so this one
# fills the disk through RocksDB's log and tables rather than chunk files.
many = {f"meta/{i // 1000:02d}/m{i:05d}": rng.randbytes(1024) for i in range(48000)}
tiny = {"tiny/hello": b"hello from a store that was full\n"}
with Layout(out) as lay:
    lay.image("small", small, links=[("srv/link", "bin/r1")])
    lay.image("big", big)
    lay.image("many", many)
    lay.image("tiny", tiny)
with open(out + '/small.sums', 'w') as f:
    for p in sorted(small):
        f.write(f"{p}\t{hashlib.sha256(small[p]).hexdigest()}\n")
PY
SMALL=oci:$OUT:small
# sums DIR: "path<TAB>sha256" of every regular file under DIR, sorted.
sums() {
	python3 - "$1" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
out = []
for d, _, names in os.walk(root):
    for n in names:
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            out.append("%s\t%s" % (os.path.relpath(p, root), hashlib.sha256(open(p, 'rb').read()).hexdigest()))
print("\n".join(sorted(out)))
PY
}
want_sums=$(sort "$OUT/small.sums")
used_kib() { df -k --output=used "$STRATA_STORE" | tail -1 | tr -d ' '; }
avail_kib() { df -k --output=avail "$STRATA_STORE" | tail -1 | tr -d ' '; }

# full_pull LABEL REF: REF does not fit and fails with one clear line.
full_pull() {
	local rc=0
	"$STRATA" pull -q "$2" >"$TMP/full.out" 2>"$TMP/full.err" || rc=$?
	note "$1: strata says: $(cat "$TMP/full.err")"
	note "$1: store after the failure: $(used_kib) KiB used, $(avail_kib) KiB free"
	is "$1: the pull fails" "$([ "$rc" -ne 0 ] && echo failed || echo "exit $rc")" failed
	is "$1: with one line on stderr" "$(wc -l <"$TMP/full.err")" 1
	check "$1: that says no space is left" grep -qi "no space left" "$TMP/full.err"
	check "$1: and names the store" grep -qF "$STRATA_STORE" "$TMP/full.err"
}
# small_reads LABEL: the small image mounts and every file reads exactly.
small_reads() {
	if "$STRATA" mount --no-pull "$SMALL" "$TMP/mnt" >"$TMP/mount.out" 2>&1; then
		is "$1: the small image mounts and every file reads exactly" "$(sums "$TMP/mnt")" "$want_sums"
		is "$1: its symlink is intact" "$(readlink "$TMP/mnt/srv/link")" bin/r1
		"$STRATA" umount "$TMP/mnt" >/dev/null 2>&1
	else
		not_ok "$1: the small image mounts"; sed 's/^/#   /' "$TMP/mount.out"
	fi
}
# must LABEL CMD...: CMD succeeds; its output is shown either way.
must() {
	local what=$1 rc=0; shift
	"$@" >"$TMP/must.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then ok "$what"; else not_ok "$what"; fi
	sed 's/^/#   /' "$TMP/must.out" | head -5
}

# scenario NAME FILLER: a fresh tmpfs store; the small image, then FILLER,
# which does not fit; then everything a full store must still do.
scenario() {
	local name=$1 filler=oci:$OUT:$2
	export STRATA_STORE=$TMP/store-$name
	mkdir -p "$STRATA_STORE"
	mount -t tmpfs -o "size=$SIZE,mode=0700" "strata-$name" "$STRATA_STORE" || { not_ok "$name: mount a tmpfs"; return; }
	note "--- $name: $2 into a tmpfs of $SIZE at $STRATA_STORE"
	check "$name: pull the small image" "$STRATA" pull -q "$SMALL"
	local base_used; base_used=$(used_kib)
	note "$name: after the small image: $base_used KiB used, $(avail_kib) KiB free"
	full_pull "$name" "$filler"

	is "$name: only the small image is listed" "$("$STRATA" images --json 2>&1 | jq -r '.[].names[]' 2>&1)" "$SMALL"
	must "$name: cache verify is clean" "$STRATA" cache verify
	is "$name: no temporary file is left" "$(find "$STRATA_STORE" -name '*.tmp' | wc -l)" 0
	small_reads "$name"

	# The failed pull's leftovers are garbage that gc removes, full disk or not.
	must "$name: gc on the full store" "$STRATA" cache gc
	check "$name: gives the failed pull's space back (within 4 MiB of the small image alone)" \
		test "$(used_kib)" -le $((base_used + 4096))
	must "$name: rmi of the small image" "$STRATA" rmi "$SMALL"
	must "$name: then gc" "$STRATA" cache gc
	note "$name: after rmi + gc: $(used_kib) KiB used, $(avail_kib) KiB free, $(find "$STRATA_STORE/chunks" -type f 2>/dev/null | wc -l) chunk files"
	is "$name: no chunk file is left" "$(find "$STRATA_STORE/chunks" -type f 2>/dev/null | wc -l)" 0
	must "$name: the small image pulls again" "$STRATA" pull -q "$SMALL"

	# Full again; another program takes the last free bytes of the disk;
	# the daemon is restarted on it: it must start and serve what is
	# stored, and gc must work once the other program's file is gone.
	full_pull "$name, again" "$filler"
	dd if=/dev/zero of="$STRATA_STORE/other-program" bs=4k 2>/dev/null
	note "$name: another program filled the rest: $(avail_kib) KiB free"
	stop_daemon
	must "$name: a new daemon starts on the full store" "$STRATA" images
	must "$name: cache verify after the restart" "$STRATA" cache verify
	small_reads "$name, after the restart"
	rm -f "$STRATA_STORE/other-program"
	must "$name: gc after the restart, once the other program's file is gone" "$STRATA" cache gc
	check "$name: gives the failed pull's space back again" test "$(used_kib)" -le $((base_used + 4096))
	must "$name: and the store takes a new pull" "$STRATA" pull -q "oci:$OUT:tiny"
	release_store
}

scenario chunks big    # the chunk files fill the disk
scenario index many    # the index (RocksDB's log and tables) fills it
note "runtime: $SECONDS s"
done_testing
