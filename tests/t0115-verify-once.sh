#!/bin/bash
# A mount hashes a chunk file the first time it reads it and then trusts it
# while the file is unchanged (same inode, size and ctime): a verified file
# reads the same bytes again from a fresh mount, and a byte flipped in it
# afterwards is still found, by the next read (EIO) and by cache verify.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci jq
test_images
A="oci:$IMAGES:app"
check "pull app" "$STRATA" pull -q "$A"
mkdir -p "$TMP/m"

# The 5 MiB random file is stored raw: its first chunk file starts with its
# first bytes.
victim=opt/strata/random-5M
umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1
want=$(sha256sum <"$TMP/unpack/rootfs/$victim" | cut -d' ' -f1)
head -c 4096 "$TMP/unpack/rootfs/$victim" >"$TMP/prefix"
first=
for f in $(find "$STRATA_STORE/chunks" -type f -size +12k); do
	cmp -s -n 4096 "$TMP/prefix" "$f" && first=$f
done
check "found the first chunk file of $victim" test -n "$first"
# Files are trusted only once their ctime is 2 s old.
sleep 3

read_victim() { sha256sum <"$TMP/m/$victim" 2>"$TMP/read.err" | cut -d' ' -f1; }
check "mount app" "$STRATA" mount --no-pull "$A" "$TMP/m"
is "the first read (hashes every chunk) gives the file's bytes" "$(read_victim)" "$want"
check "umount" "$STRATA" umount "$TMP/m"
check "mount app again" "$STRATA" mount --no-pull "$A" "$TMP/m"
is "a read from a fresh mount (verified chunk files) gives the same bytes" "$(read_victim)" "$want"
check "umount" "$STRATA" umount "$TMP/m"

# Flip a byte of the verified file: its ctime changes, so it is hashed again.
chmod u+w "$first"
b=$(od -An -tu1 -j 100 -N1 "$first" | tr -d ' ')
printf "\\$(printf '%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$first" bs=1 seek=100 conv=notrunc 2>/dev/null
check "mount app after the flip" "$STRATA" mount --no-pull "$A" "$TMP/m"
rc=0; cat "$TMP/m/$victim" >/dev/null 2>"$TMP/eio.err" || rc=$?
check "reading the file fails" test "$rc" -ne 0
check "with EIO" grep -q "Input/output error" "$TMP/eio.err"
check "the daemon logged the chunk as corrupt" grep -q "$(basename "$first").*corrupt" "$STRATA_STORE/daemon.log"
check "other files still read" sha256sum "$TMP/m/usr/bin/ls"
check "umount" "$STRATA" umount "$TMP/m"
rc=0; "$STRATA" cache verify >"$TMP/verify.out" 2>/dev/null || rc=$?
is "cache verify exits 1" "$rc" 1
check "naming the flipped chunk" grep -q "^corrupt chunk .*$(basename "$first")" "$TMP/verify.out"
done_testing
