#!/bin/bash
# Mount every test image and compare the mounted tree with `umoci unpack` of
# the same image, line for line: path, type, mode, owner, size, mtime, link
# target, sha256. Then the xattrs, hardlinks, mount options, statfs, and
# eight concurrent readers of random ranges.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci skopeo jq getfattr python3 findmnt
test_images
start_zstd_registry
start_registry
for t in base app rebuilt; do push_image "$t" || exit 99; done
ref_of() { if [ "$1" = app-zstd ]; then echo "$ZREGISTRY/strata/$1"; else echo "$REGISTRY/strata/$1"; fi; }

for t in base app rebuilt app-zstd; do
	mkdir -p "$TMP/mnt-$t"
	check "mount $t (pulling it first)" "$STRATA" mount "$(ref_of "$t")" "$TMP/mnt-$t"
done

for t in base app rebuilt app-zstd; do
	src=$t; [ "$t" = app-zstd ] && src=app  # umoci cannot read zstd; same diff_ids as app
	rm -rf "$TMP/unpack-$src"
	[ -d "$TMP/unpack-$src" ] || umoci unpack --image "$IMAGES:$src" "$TMP/unpack-$src" >/dev/null 2>&1
	tree_listing_full "$TMP/unpack-$src/rootfs" >"$TMP/want-$t"
	tree_listing_full "$TMP/mnt-$t" >"$TMP/got-$t"
	if cmp -s "$TMP/want-$t" "$TMP/got-$t"; then
		ok "$t: the mounted tree equals umoci unpack ($(wc -l <"$TMP/got-$t") entries)"
	else
		not_ok "$t: the mounted tree equals umoci unpack"
		diff "$TMP/want-$t" "$TMP/got-$t" | head -20 | sed 's/^/#   /'
	fi
done

M=$TMP/mnt-app
U=$TMP/unpack-app/rootfs
# The lister those comparisons use agrees with find(1) and sha256sum on the
# edits layer's directories (every entry type, odd names, hardlinks, setuid).
find_listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%T@\t%l\n' | LC_ALL=C sort) |
	while IFS=$'\t' read -r p y m u g s t l; do
		if [ "$y" = f ]; then h=$(sha256sum <"$1/$p" | cut -c1-64); else h=-; [ "$y" = d ] && s=-; fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$y" "$m" "$u" "$g" "$s" "$t" "${l:--}" "$h"
	done
}
for sub in opt etc; do
	is "tests/tree-listing.py equals find and sha256sum on $sub" \
		"$(tree_listing_full "$U/$sub" | md5sum)" "$(find_listing "$U/$sub" | md5sum)"
done
# Digests recorded at ingest, as xattrs nobody lists.
f=usr/bin/python3.11
is "user.strata.sha256 is the file's sha256" \
	"$(getfattr --absolute-names --only-values -n user.strata.sha256 "$M/$f" 2>&1)" "$(sha256sum <"$U/$f" | cut -c1-64)"
is "user.strata.sha1 is the file's sha1" \
	"$(getfattr --absolute-names --only-values -n user.strata.sha1 "$M/$f" 2>&1)" "$(sha1sum <"$U/$f" | cut -c1-40)"
is "user.strata.md5 is the file's md5" \
	"$(getfattr --absolute-names --only-values -n user.strata.md5 "$M/$f" 2>&1)" "$(md5sum <"$U/$f" | cut -c1-32)"
layer=$(getfattr --absolute-names --only-values -n user.strata.layer "$M/$f" 2>&1)
check "user.strata.layer names a layer of the image" \
	bash -c "'$STRATA' inspect --json '$(ref_of app)' | jq -e --arg l '$layer' 'any(.layers[]; .diff_id == \$l)'"
base_layer=$("$STRATA" inspect --json "$(ref_of base)" | jq -r '.layers[0].diff_id')
is "a file of the base layer names the base layer" \
	"$(getfattr --absolute-names --only-values -n user.strata.layer "$M/usr/bin/ls" 2>&1)" "$base_layer"
is "listxattr shows only the image's own xattrs" \
	"$(getfattr --absolute-names -d -m - "$M/opt/strata/xattr" 2>/dev/null | grep -v '^#' | grep .)" \
	"$(getfattr --absolute-names -d -m - "$U/opt/strata/xattr" 2>/dev/null | grep -v '^#' | grep .)"
is "no strata xattr on a directory" "$(getfattr --absolute-names --only-values -n user.strata.sha256 "$M/usr" 2>&1 | grep -c 'No such attribute')" 1
# The whole tree in pages of user.strata.tree.<start>.
out=$(python3 "$TEST_SRCDIR/tree-xattr.py" "$M" 2>&1)
check "user.strata.tree.N: every entry, digests and targets as per file, pages in and out of order ($out)" \
	test "$(echo "$out" | grep -c '^tree')" = 1
check "the tree takes more than one page" bash -c "echo '$out' | grep -Eq 'in ([2-9]|[1-9][0-9]+) pages'"

# Hardlinks: one inode, the right link count.
ino_a=$(stat -c %i "$M/opt/strata/hl-a"); ino_b=$(stat -c %i "$M/opt/strata/hl-b"); ino_c=$(stat -c %i "$M/usr/local/share/hl-c")
check "hardlinks share one inode number" test "$ino_a" = "$ino_b" -a "$ino_b" = "$ino_c"
is "with the right link count" "$(stat -c %h "$M/opt/strata/hl-a")" "$(stat -c %h "$U/opt/strata/hl-a")"
is "devices show their numbers" "$(stat -c '%F %t %T' "$M/opt/strata/null")" "$(stat -c '%F %t %T' "$U/opt/strata/null")"
is "st_blocks of a file is that of its size" "$(stat -c %b "$M/opt/strata/random-5M")" $(( (5 * 1024 * 1024 + 511) / 512 ))

# Mount options and statfs.
opts=$(findmnt -n -o OPTIONS --target "$M")
check "mounted read-only" grep -qw ro <<<"$opts"
check "nosuid" grep -qw nosuid <<<"$opts"
check "nodev" grep -qw nodev <<<"$opts"
check "fsname names strata and the image" grep -q "^strata:" <<<"$(findmnt -n -o SOURCE --target "$M")"
check "statfs answers" stat -f "$M"
fails_with "writing is refused" "Read-only file system" touch "$M/newfile"

# The daemon keeps serving every other command while images are mounted.
is "mounts lists the four mounts" "$("$STRATA" mounts --json | jq length)" 4
check "mounts --json has mount point, ref, digest and since" \
	bash -c "'$STRATA' mounts --json | jq -e 'all(.[]; .mountpoint and .ref and (.digest|startswith(\"sha256:\")) and .since)'"
check "images works while mounted" "$STRATA" images
check "inspect works while mounted" "$STRATA" inspect "$(ref_of base)"

# Eight concurrent readers of random ranges of random files get the unpacked bytes.
check "8 concurrent readers x 300 random reads are byte-exact" \
	python3 "$TEST_SRCDIR/random-reads.py" "$M" "$U" 8 300

# Unmount: the mount point is empty again and mounts forgets it.
for t in base app rebuilt app-zstd; do
	check "umount $t" "$STRATA" umount "$TMP/mnt-$t"
done
is "nothing is mounted any more" "$("$STRATA" mounts --json | jq length)" 0
is "the mount point is an empty directory again" "$(ls -A "$TMP/mnt-app" | wc -l)" 0
check "a stored image mounts again" "$STRATA" mount --no-pull "$(ref_of base)" "$TMP/mnt-base"
check "and unmounts" "$STRATA" umount "$TMP/mnt-base"
done_testing
