#!/bin/bash
# build-images.sh: builds strata's test images from real Debian packages
# (debootstrap, apt, umoci, skopeo) into one OCI image layout and prints that
# layout's absolute path on stdout; everything else goes to stderr. The layout
# is cached in $STRATA_TEST_CACHE (default /var/cache/strata-tests) and
# rebuilt only when this script's sha256 changes. Needs root and the Debian
# archive; takes a few minutes from scratch.
#
# Tags (all layers gzip unless said):
#   base      one layer: `debootstrap --variant=minbase bookworm`, apt lists
#             and caches removed, no resolv.conf/hostname from the build host.
#   app       base + 3 layers:
#     1. apt-get install --no-install-recommends python3-six libjs-jquery
#        ruby-rack libcommons-lang3-java (python3 dist-packages, a JS library,
#        a gem with a gemspec, a jar with META-INF/maven/**/pom.properties),
#        apt lists and caches cleaned in the same layer.
#     2. "edits" (umoci-generated diff), everything new lives in /opt/strata:
#        - deleted files in /usr/share/doc (whiteouts .wh.<name>) and the whole
#          directory /usr/share/doc/python3-six (one whiteout for a directory)
#        - /etc/skel emptied and refilled (umoci writes per-file whiteouts)
#        - directory replaced by a file: /usr/share/doc/libjs-jquery
#        - file replaced by a directory: /etc/debian_version/ (holds "version")
#        - hardlinks: opt/strata/hl-a = opt/strata/hl-b = usr/local/share/hl-c
#        - symlinks: link-escape -> ../../../../../../../../etc/shadow,
#          link-abs -> /usr/bin/env, link-dangling -> /nonexistent/target,
#          link-loop -> link-loop
#        - fifo opt/strata/fifo, char device opt/strata/null (c 1 3)
#        - setuid (4755) copy of /bin/true: opt/strata/setuid-true
#        - opt/strata/xattr with user.strata="hello" (if umoci keeps it;
#          otherwise it is moved into layer 3)
#        - odd names in opt/strata/odd: "with space", "ünïcødé-文件.txt",
#          "-leading-dash"; an empty file opt/strata/empty
#        - opt/strata/random-5M: 5 MiB of deterministic pseudo-random bytes,
#          random-5M-edited: the same with 16 bytes inserted at 2 MiB
#     3. hand-made with GNU tar + `umoci raw add-layer`:
#        etc/apt/apt.conf.d/.wh..wh..opq (opaque directory) and
#        etc/apt/apt.conf.d/99strata; opt/strata/xattr-tar with user.strata
#   rebuilt   base's rootfs with every mtime set to 2024-01-01 UTC, repacked
#             as one layer: same file contents, different layer digest.
#   app-zstd  app recompressed by skopeo (via an uncompressed dir: copy): all
#             layers tar+zstd, same diff_ids as app.
set -euo pipefail

log() { echo "build-images: $*" >&2; }
die() { echo "build-images: error: $*" >&2; exit 1; }

for tool in dpkg debootstrap umoci skopeo jq flock chroot mknod setfattr getfattr openssl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: building test images needs root" >&2; exit 1; }

export TZ=UTC LC_ALL=C.UTF-8
CACHE=${STRATA_TEST_CACHE:-/var/cache/strata-tests}
MIRROR=http://deb.debian.org/debian
SUITE=bookworm
PACKAGES="python3-six libjs-jquery ruby-rack libcommons-lang3-java"

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
OUT=$CACHE/images
STAMP=$CACHE/images.sha256
# The downloaded minbase packages are kept across rebuilds (delete the file to
# refresh them); apt in the chroot always fetches current package lists.
DEBTAR=$CACHE/debootstrap-$SUITE-minbase.tgz
ARCH=$(dpkg --print-architecture)
SELF_SUM=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-64)

# One builder at a time; parallel tests wait here and then reuse its result.
exec 9>"$CACHE/lock"
flock -w 1800 9 || die "timed out waiting for $CACHE/lock"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SELF_SUM" ] && [ -f "$OUT/index.json" ]; then
	echo "$OUT"
	exit 0
fi

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() {
	local m
	# Unmount anything left under WORK (deepest first) before deleting it.
	for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r); do umount -l "$m" || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
exec </dev/null

L=$WORK/layout
t0=$SECONDS

# --- base -------------------------------------------------------------------
if [ ! -f "$DEBTAR" ]; then
	log "downloading $SUITE minbase packages (cached in $DEBTAR)"
	debootstrap --variant=minbase --make-tarball="$WORK/debootstrap.tgz" \
		"$SUITE" "$WORK/dbs" "$MIRROR" >&2
	mv "$WORK/debootstrap.tgz" "$DEBTAR"
	rm -rf "$WORK/dbs"
fi

umoci init --layout "$L"
umoci new --image "$L:base"
umoci config --image "$L:base" --os linux --architecture "$ARCH" \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.cmd /bin/bash --no-history
umoci unpack --image "$L:base" "$WORK/base" >&2
log "debootstrap $SUITE minbase"
debootstrap --variant=minbase --unpack-tarball="$DEBTAR" "$SUITE" "$WORK/base/rootfs" "$MIRROR" >&2
R=$WORK/base/rootfs
# Leave nothing of the build host or of the package download in the image.
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
	"$R"/var/log/* "$R/etc/resolv.conf" "$R/etc/hostname" "$R/debootstrap"
mkdir -p "$R/var/lib/apt/lists/partial"
umoci repack --image "$L:base" --history.created_by "debootstrap --variant=minbase $SUITE" "$WORK/base" >&2

# --- rebuilt: same files, new mtimes, new layer digest ------------------------
umoci new --image "$L:rebuilt"
umoci config --image "$L:rebuilt" --os linux --architecture "$ARCH" \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.cmd /bin/bash --no-history
umoci unpack --image "$L:rebuilt" "$WORK/rebuilt" >&2
rmdir "$WORK/rebuilt/rootfs"
mv "$R" "$WORK/rebuilt/rootfs"
find "$WORK/rebuilt/rootfs" -mindepth 1 -exec touch -h -d '2024-01-01 00:00:00' {} +
umoci repack --image "$L:rebuilt" --history.created_by "touch -h -d 2024-01-01 on every entry" \
	"$WORK/rebuilt" >&2
rm -rf "$WORK/base" "$WORK/rebuilt"

# --- app layer 1: real packages -------------------------------------------------
log "installing $PACKAGES"
umoci unpack --image "$L:base" "$WORK/app" >&2
R=$WORK/app/rootfs
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
inchroot() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
		LC_ALL=C chroot "$R" "$@"
}
ok=1
{ inchroot apt-get -q update && inchroot apt-get -q install -y --no-install-recommends $PACKAGES &&
	inchroot apt-get clean; } >&2 || ok=0
umount "$R/proc"
[ "$ok" -eq 1 ] || die "apt-get in the chroot failed"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
	"$R"/var/cache/debconf/*-old "$R"/var/log/apt "$R/etc/resolv.conf"
mkdir -p "$R/var/lib/apt/lists/partial"
find "$R"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
umoci repack --refresh-bundle --image "$L:app" \
	--history.created_by "apt-get install --no-install-recommends $PACKAGES" "$WORK/app" >&2

# --- app layer 2: edits ---------------------------------------------------------
log "edits layer"
S=$R/opt/strata
mkdir -p "$S/odd" "$R/usr/local/share"
# Whiteouts: single files, then a whole directory.
rm -f "$R"/usr/share/doc/ruby-rack/changelog.Debian.gz "$R"/usr/share/doc/libcommons-lang3-java/copyright
rm -rf "$R/usr/share/doc/python3-six"
# Every file of /etc/skel replaced: umoci writes one whiteout per old file.
rm -rf "$R"/etc/skel/.[!.]* "$R"/etc/skel/*
echo "# strata test skeleton" >"$R/etc/skel/.profile-strata"
# Directory replaced by a file, file replaced by a directory.
rm -rf "$R/usr/share/doc/libjs-jquery"
echo "was a directory" >"$R/usr/share/doc/libjs-jquery"
ver=$(cat "$R/etc/debian_version")
rm "$R/etc/debian_version"
mkdir "$R/etc/debian_version"
echo "$ver" >"$R/etc/debian_version/version"
# Hardlinks: two names in one directory, one more across directories.
echo "one inode, three names" >"$S/hl-a"
ln "$S/hl-a" "$S/hl-b"
ln "$S/hl-a" "$R/usr/local/share/hl-c"
# Symlinks that must resolve inside the image root, or not at all.
ln -s ../../../../../../../../etc/shadow "$S/link-escape"
ln -s /usr/bin/env "$S/link-abs"
ln -s /nonexistent/target "$S/link-dangling"
ln -s link-loop "$S/link-loop"
mkfifo "$S/fifo"
mknod "$S/null" c 1 3
cp "$R/bin/true" "$S/setuid-true"
chmod 4755 "$S/setuid-true"
echo "has an xattr" >"$S/xattr"
setfattr -n user.strata -v hello "$S/xattr"
echo space >"$S/odd/with space"
echo utf8 >"$S/odd/ünïcødé-文件.txt"
echo dash >"$S/odd/-leading-dash"
: >"$S/empty"
# Deterministic pseudo-random bytes, so rebuilds give the same chunks.
{ openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:strata-tests </dev/zero 2>/dev/null || :; } |
	head -c 5242880 >"$S/random-5M"
[ "$(stat -c %s "$S/random-5M")" -eq 5242880 ] || die "openssl gave no random bytes"
{ head -c 2097152 "$S/random-5M"; printf '0123456789abcdef'; tail -c +2097153 "$S/random-5M"; } \
	>"$S/random-5M-edited"
umoci repack --refresh-bundle --image "$L:app" --history.created_by "strata test edits" \
	"$WORK/app" >&2

# Does umoci keep user.* xattrs? If not, the hand-made layer carries one.
edits_blob=$(jq -r '.layers[-1].digest' "$L/blobs/sha256/$(jq -r \
	'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="app") | .digest' \
	"$L/index.json" | cut -d: -f2)" | cut -d: -f2)
if tar --xattrs --xattrs-include='*' -xzf "$L/blobs/sha256/$edits_blob" -C "$WORK" opt/strata/xattr &&
	[ "$(getfattr --absolute-names --only-values -n user.strata "$WORK/opt/strata/xattr" 2>/dev/null)" = hello ]; then
	log "umoci kept the user.* xattr"
else
	log "umoci dropped the user.* xattr; it is in the hand-made layer only"
fi
rm -rf "$WORK/opt"

# --- app layer 3: hand-made (opaque directory, xattr through GNU tar) -----------
H=$WORK/handmade
mkdir -p "$H/etc/apt/apt.conf.d" "$H/opt/strata"
: >"$H/etc/apt/apt.conf.d/.wh..wh..opq"
echo 'APT::Install-Recommends "false";' >"$H/etc/apt/apt.conf.d/99strata"
echo "xattr from GNU tar" >"$H/opt/strata/xattr-tar"
setfattr -n user.strata -v hello "$H/opt/strata/xattr-tar"
chmod 0755 "$H/etc" "$H/etc/apt" "$H/etc/apt/apt.conf.d" "$H/opt" "$H/opt/strata"
chmod 0644 "$H/etc/apt/apt.conf.d/99strata" "$H/etc/apt/apt.conf.d/.wh..wh..opq" "$H/opt/strata/xattr-tar"
tar --xattrs --xattrs-include='user.*' --format=posix --numeric-owner --owner=0 --group=0 \
	--sort=name --mtime='2024-06-01 00:00:00' -C "$H" \
	-cf "$WORK/handmade.tar" etc/apt/apt.conf.d opt/strata
umoci raw add-layer --image "$L:app" \
	--history.created_by "hand-made: opaque etc/apt/apt.conf.d, xattr via GNU tar" "$WORK/handmade.tar"
rm -rf "$WORK/app" "$H" "$WORK/handmade.tar"

# --- app-zstd -------------------------------------------------------------------
log "recompressing app with zstd"
# skopeo 1.9 keeps already-compressed layers as they are even with
# --dest-compress-format zstd, so decompress into a dir: copy first.
skopeo copy --quiet --dest-decompress "oci:$L:app" "dir:$WORK/app-plain" >&2
skopeo copy --quiet --dest-compress-format zstd "dir:$WORK/app-plain" "oci:$L:app-zstd" >&2
rm -rf "$WORK/app-plain"

# --- verify ---------------------------------------------------------------------
manifest_of() {
	jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t)
		| .digest' "$L/index.json"
}
for tag in base app rebuilt app-zstd; do
	m=$(manifest_of "$tag")
	[ -n "$m" ] || die "tag '$tag' missing from the layout"
	mf=$L/blobs/sha256/${m#sha256:}
	n=$(jq '.layers | length' "$mf")
	types=$(jq -r '[.layers[].mediaType | sub(".*\\.tar"; "tar")] | unique | join(",")' "$mf")
	case $tag in
	app-zstd) [ "$types" = "tar+zstd" ] || die "app-zstd has layers of type '$types', want tar+zstd" ;;
	*) [ "$types" = "tar+gzip" ] || die "$tag has layers of type '$types', want tar+gzip" ;;
	esac
	if [ "$tag" = app-zstd ] && ! umoci unpack --image "$L:$tag" "$WORK/verify" >/dev/null 2>&1; then
		# umoci before 0.4.8 cannot read zstd; check the frames instead.
		for b in $(jq -r '.layers[].digest | sub("sha256:"; "")' "$mf"); do
			zstd -tq "$L/blobs/sha256/$b" || die "app-zstd layer $b is not valid zstd"
		done
	elif [ "$tag" != app-zstd ]; then
		umoci unpack --image "$L:$tag" "$WORK/verify" >/dev/null || die "umoci unpack of '$tag' failed"
	fi
	if [ "$tag" = app ]; then
		V=$WORK/verify/rootfs
		[ "$(ls -A "$V/etc/apt/apt.conf.d")" = 99strata ] || die "app: etc/apt/apt.conf.d is not opaque"
		[ "$(stat -c %h "$V/opt/strata/hl-a")" -eq 3 ] || die "app: hardlinks lost"
		[ -f "$V/usr/share/doc/libjs-jquery" ] && [ -d "$V/etc/debian_version" ] &&
			[ ! -e "$V/usr/share/doc/python3-six" ] && [ -u "$V/opt/strata/setuid-true" ] &&
			[ -p "$V/opt/strata/fifo" ] && [ -c "$V/opt/strata/null" ] ||
			die "app: the edits layer did not unpack as intended"
		[ "$(getfattr --absolute-names --only-values -n user.strata "$V/opt/strata/xattr-tar")" = hello ] ||
			die "app: xattr from the hand-made layer lost"
	fi
	rm -rf "$WORK/verify"
	log "$tag: manifest $m, $n layer(s), $types"
done
diff_ids() {
	local m; m=$(manifest_of "$1")
	jq -c '.rootfs.diff_ids' "$L/blobs/sha256/$(jq -r '.config.digest | sub("sha256:"; "")' \
		"$L/blobs/sha256/${m#sha256:}")"
}
[ "$(diff_ids app)" = "$(diff_ids app-zstd)" ] || die "app-zstd does not hold app's layers"
[ "$(jq -r '.layers[0].digest' "$L/blobs/sha256/$(manifest_of base | cut -d: -f2)")" != \
	"$(jq -r '.layers[0].digest' "$L/blobs/sha256/$(manifest_of rebuilt | cut -d: -f2)")" ] ||
	die "rebuilt has the same layer digest as base"

# --- publish --------------------------------------------------------------------
chmod -R a+rX "$L"  # umoci writes index.json 0600; tests may run as other users
rm -f "$STAMP"
if [ -e "$OUT" ]; then mv "$OUT" "$WORK/old-images"; fi
mv "$L" "$OUT"
echo "$SELF_SUM" >"$STAMP"
log "done in $((SECONDS - t0))s: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
