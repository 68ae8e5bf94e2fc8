#!/bin/bash
# Pull every test image from a real registry (Debian's docker-registry on
# loopback) and check each against `umoci unpack` of the same image: the
# same files, types, modes, owners, sizes, link targets and sha256s.
. "$(dirname "$0")/lib.sh"
need_cmd umoci skopeo jq
test_images
start_zstd_registry
start_registry

TAGS="base app rebuilt"
for t in $TAGS; do
	check "push $t to the registry" push_image "$t"
done
ref_of() { if [ "$1" = app-zstd ]; then echo "$ZREGISTRY/strata/$1"; else echo "$REGISTRY/strata/$1"; fi; }

for t in $TAGS app-zstd; do
	check "pull $t" "$STRATA" pull -q "$(ref_of "$t")"
done

# umoci cannot read zstd layers; app-zstd has app's diff_ids, so app's tree is its truth.
for t in $TAGS app-zstd; do
	src=$t; [ "$t" = app-zstd ] && src=app
	rm -rf "$TMP/unpack"
	umoci unpack --image "$IMAGES:$src" "$TMP/unpack" >/dev/null 2>&1 || { not_ok "umoci unpack $src"; continue; }
	tree_listing "$TMP/unpack/rootfs" >"$TMP/want-$t"
	"$STRATA" inspect --files "$(ref_of "$t")" >"$TMP/got-$t" 2>"$TMP/err"
	if cmp -s "$TMP/want-$t" "$TMP/got-$t"; then
		ok "$t: file list and sha256s equal umoci unpack ($(wc -l <"$TMP/got-$t") entries)"
	else
		not_ok "$t: file list and sha256s equal umoci unpack"
		diff "$TMP/want-$t" "$TMP/got-$t" | head -20 | sed 's/^/#   /'
		sed 's/^/#   /' "$TMP/err" | head -5
	fi
done

# The layers recorded are the config's diff_ids, in order.
for t in base app; do
	cfg=$(jq -r '.config.digest' "$IMAGES/blobs/sha256/$(jq -r --arg t "$t" \
		'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' \
		"$IMAGES/index.json" | cut -d: -f2)")
	want=$(jq -r '.rootfs.diff_ids[]' "$IMAGES/blobs/sha256/${cfg#sha256:}")
	got=$("$STRATA" inspect --json "$REGISTRY/strata/$t" | jq -r '.layers[].diff_id')
	is "$t: layers are the config's diff_ids" "$got" "$want"
done

# The image has every field inspect promises.
"$STRATA" inspect --json "$REGISTRY/strata/app" >"$TMP/inspect.json"
check "inspect --json has digests, sizes and counts" jq -e '
	(.digest | startswith("sha256:")) and (.config_digest | startswith("sha256:")) and
	(.layers | length >= 2) and
	all(.layers[]; .compressed_size > 0 and .size > 0 and .entries > 0 and .chunks >= 0 and
	    (.stored_bytes | type == "number") and (.shared_bytes | type == "number"))' "$TMP/inspect.json"

# Re-pulling an unchanged tag costs one manifest request and no blob.
before=$(grep -c '"GET /v2/\|"HEAD /v2/' "$REGISTRY_LOG")
"$STRATA" pull "$REGISTRY/strata/app" >"$TMP/repull.out" 2>&1
after=$(grep -c '"GET /v2/\|"HEAD /v2/' "$REGISTRY_LOG")
is "re-pull of an unchanged tag makes exactly one request" "$((after - before))" 1
check "and says it is up to date" grep -q "up to date" "$TMP/repull.out"

# Each blob was fetched once although app and rebuilt share nothing with
# base but app shares base's layer: that layer is fetched once in all.
base_layer=$(jq -r '.layers[0].digest' "$TMP/inspect.json")
is "the shared base layer blob was downloaded once" \
	"$(grep -c "GET /v2/strata/[a-z-]*/blobs/$base_layer" "$REGISTRY_LOG")" 1

is "images lists the four images" "$("$STRATA" images --json | jq length)" 4
done_testing
