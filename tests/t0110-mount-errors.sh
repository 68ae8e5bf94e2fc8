#!/bin/bash
# A mount's failure paths: bad mount points, an image not stored with
# --no-pull, a missing or corrupt chunk (EIO for that read only), unmount
# while readers are busy, a daemon killed with SIGKILL, /dev/fuse missing.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci jq unshare timeout
test_images
B="oci:$IMAGES:base"
A="oci:$IMAGES:app"
check "pull base and app" "$STRATA" pull -q "$B" "$A"
mkdir -p "$TMP/m1" "$TMP/m2"

fails_with "a mount point that does not exist" "no such directory" "$STRATA" mount "$B" "$TMP/nowhere"
check "mount base" "$STRATA" mount "$B" "$TMP/m1"
fails_with "a mount point that is already a mount" "already a mount point" "$STRATA" mount "$A" "$TMP/m1"
fails_with "--no-pull of an image that is not stored" "is not stored" \
	"$STRATA" mount --no-pull "oci:$IMAGES:rebuilt" "$TMP/m2"
fails_with "umount of a directory that is not mounted" "is not a strata mount point" "$STRATA" umount "$TMP/m2"
fails_with "rmi of a mounted image is refused" "is mounted" "$STRATA" rmi "$B"
mkdir -p "$TMP/tmpfs"
mount -t tmpfs strata-test "$TMP/tmpfs" && at_exit "umount -l '$TMP/tmpfs'"
fails_with "umount refuses a mount that is not strata's" "is not a strata mount point" \
	"$STRATA" umount "$TMP/tmpfs"
check "and leaves it mounted" mountpoint -q "$TMP/tmpfs"
umount "$TMP/tmpfs"

# A chunk file gone: that file's read fails with EIO; everything else reads.
# The 5 MiB random file is incompressible, so its chunks are stored raw: the
# chunk file that starts with the file's first bytes is its first chunk.
victim=opt/strata/random-5M
rm -rf "$TMP/unpack"; umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1
head -c 4096 "$TMP/unpack/rootfs/$victim" >"$TMP/prefix"
big=
for f in $(find "$STRATA_STORE/chunks" -type f -size +12k); do
	cmp -s -n 4096 "$TMP/prefix" "$f" && big=$f
done
check "found the first chunk file of $victim" test -n "$big"
rm -f "$big"
note "removed chunk file ${big#$STRATA_STORE/}"
check "mount app" "$STRATA" mount "$A" "$TMP/m2"
rc=0; cat "$TMP/m2/$victim" >/dev/null 2>"$TMP/eio.err" || rc=$?
check "reading the file with a missing chunk fails" test "$rc" -ne 0
check "with EIO" grep -q "Input/output error" "$TMP/eio.err"
check "other files still read" sha256sum "$TMP/m2/usr/bin/ls"
check "the daemon logged the chunk id" grep -q "$(basename "$big")" "$STRATA_STORE/daemon.log"
check "the daemon is still up" "$STRATA" mounts

# A chunk file with a flipped byte: EIO too (the sha256 of the chunk, or
# zstd's checksum, catches it). Take the last chunk of random-5M-edited and
# read only the file's tail, away from the chunk removed above.
tail -c 4096 "$TMP/unpack/rootfs/opt/strata/random-5M-edited" >"$TMP/suffix"
flip=
for f in $(find "$STRATA_STORE/chunks" -type f -size +12k); do
	[ "$(tail -c 4096 "$f" | cmp -s - "$TMP/suffix" && echo y)" = y ] && flip=$f
done
if [ -n "$flip" ]; then
	chmod u+w "$flip"
	printf '\xff' | dd of="$flip" bs=1 seek=100 conv=notrunc 2>/dev/null
	rc=0; tail -c 4096 "$TMP/m2/opt/strata/random-5M-edited" >/dev/null 2>"$TMP/eio2.err" || rc=$?
	check "reading through a corrupt chunk fails with EIO" grep -q "Input/output error" "$TMP/eio2.err"
	check "the corrupt chunk is logged as corrupt" grep -q "$(basename "$flip").*corrupt\|corrupt.*$(basename "$flip")" "$STRATA_STORE/daemon.log"
else
	not_ok "found the last chunk file of random-5M-edited"
fi

# Unmount while readers are busy does not hang.
( while true; do cat "$TMP/m1/usr/bin/"* >/dev/null 2>&1 || true; done ) &
reader=$!
sleep 0.5
check "umount with busy readers returns" timeout 20 "$STRATA" umount "$TMP/m1"
kill $reader 2>/dev/null; wait $reader 2>/dev/null

# The daemon killed with SIGKILL: the mount point errors instead of hanging,
# umount clears it, and the next mount works.
check "mount base" "$STRATA" mount "$B" "$TMP/m1"
pid=$(curl -s --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version | jq -r .pid)
kill -KILL "$pid"
for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
rc=0; timeout 10 stat "$TMP/m1/usr" >/dev/null 2>"$TMP/dead.err" || rc=$?
check "a dead mount answers with an error, not a hang" test "$rc" -ne 0 -a "$rc" -ne 124
note "  $(head -1 "$TMP/dead.err")"
check "umount clears the dead mount" "$STRATA" umount "$TMP/m1"
check "the mount point is a plain directory again" test -z "$(ls -A "$TMP/m1")"
check "the next mount works" "$STRATA" mount "$B" "$TMP/m1"
check "and reads" sha256sum "$TMP/m1/usr/bin/ls"
"$STRATA" umount "$TMP/m1" "$TMP/m2" >/dev/null 2>&1

# SIGTERM: the daemon unmounts what it serves and exits 0.
check "mount base for the SIGTERM case" "$STRATA" mount "$B" "$TMP/m1"
pid=$(curl -s --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version | jq -r .pid)
kill -TERM "$pid"
for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
check "the daemon exits on SIGTERM" eval "! running $pid"
check "and leaves no mount behind" bash -c "! grep -q ' $TMP/m1 ' /proc/mounts"
check "the next command starts a new daemon" "$STRATA" mounts

# /dev/fuse missing: a new daemon in a mount namespace whose /dev lacks it.
export STRATA_STORE=$TMP/nofuse
"$STRATA" pull -q "$B" >/dev/null 2>&1
stop_daemons
mkdir -p "$TMP/devsave"
cat >"$TMP/nofuse.sh" <<SH
mount --bind /dev "$TMP/devsave"
mount -t tmpfs tmpfs /dev
touch /dev/null && mount --bind "$TMP/devsave/null" /dev/null
exec "$STRATA" mount "$B" "$TMP/m1"
SH
fails_with "/dev/fuse missing gives one clear error" "/dev/fuse" unshare -m --propagation private bash "$TMP/nofuse.sh"
stop_daemons
done_testing
