#!/bin/bash
# Identical content is stored once: a rebuilt image (same files, new mtimes,
# new layer digest) adds almost nothing; a zstd copy of an image pulled
# after the gzip one fetches nothing; the store is smaller than the blobs.
. "$(dirname "$0")/lib.sh"
need_cmd umoci skopeo jq
test_images
start_zstd_registry
start_registry
for t in base rebuilt app; do push_image "$t" || exit 99; done

# The store's size with its index compacted (cache gc does that and drops
# nothing here): without it the figure holds whatever RocksDB's log and
# compactions hold at that moment, which a slower (sanitized) daemon once
# made 6 MB where a plain one made 2.
du_store() { "$STRATA" cache gc >/dev/null && du -sb "$STRATA_STORE" | cut -f1; }

check "pull base" "$STRATA" pull -q "$REGISTRY/strata/base"
size_base=$(du_store)
check "pull rebuilt" "$STRATA" pull -q "$REGISTRY/strata/rebuilt"
size_rebuilt=$(du_store)
grow=$((size_rebuilt - size_base))
note "store: $size_base bytes after base, +$grow after rebuilt"
if [ "$grow" -lt $((size_base / 10)) ]; then ok "rebuilt adds under 10% of base to the store"; else
	not_ok "rebuilt adds under 10% of base to the store ($grow of $size_base)"; fi

"$STRATA" inspect --json "$REGISTRY/strata/rebuilt" >"$TMP/rebuilt.json"
new=$(jq '.layers[0].stored_bytes' "$TMP/rebuilt.json")
shared=$(jq '.layers[0].shared_bytes' "$TMP/rebuilt.json")
note "rebuilt layer: $new bytes new chunks, $shared bytes shared"
if [ "$new" -lt $((shared / 100)) ]; then ok "rebuilt's chunks were nearly all stored already"; else
	not_ok "rebuilt's chunks were nearly all stored already ($new new, $shared shared)"; fi
d1=$("$STRATA" inspect --json "$REGISTRY/strata/base" | jq -r '.layers[0].digest')
d2=$(jq -r '.layers[0].digest' "$TMP/rebuilt.json")
check "and its layer digest differs from base's" test "$d1" != "$d2"

check "pull app" "$STRATA" pull -q "$REGISTRY/strata/app"
before=$(grep -c '"GET /v2/.*/blobs/' "$ZREGISTRY_LOG")
check "pull app-zstd" "$STRATA" pull -q "$ZREGISTRY/strata/app-zstd"
after=$(grep -c '"GET /v2/.*/blobs/' "$ZREGISTRY_LOG")
is "app-zstd (same diff_ids as app) fetches only its config" "$((after - before))" 1
check "app-zstd's layers really are zstd" jq -e 'all(.layers[]; .media_type | endswith("zstd"))' \
	<("$STRATA" inspect --json "$ZREGISTRY/strata/app-zstd")

# Store size against the compressed blobs of the same four images.
blobs=0
for r in base rebuilt app; do
	n=$("$STRATA" inspect --json "$REGISTRY/strata/$r" | jq '[.layers[].compressed_size] | add')
	blobs=$((blobs + n))
done
for r in app-zstd; do
	n=$("$STRATA" inspect --json "$ZREGISTRY/strata/$r" | jq '[.layers[].compressed_size] | add')
	blobs=$((blobs + n))
done
store=$(du_store)
note "store $store bytes; compressed layer blobs $blobs bytes; ratio $(awk "BEGIN{printf \"%.2f\", $store/$blobs}")"
if [ "$store" -le $((blobs / 2)) ]; then ok "the store is at most half the size of the blobs it holds"; else
	not_ok "the store is at most half the size of the blobs it holds"; fi

# A fresh store pulls the zstd image directly, byte-exact.
export STRATA_STORE="$TMP/store2"
check "a fresh store pulls app-zstd" "$STRATA" pull -q "$ZREGISTRY/strata/app-zstd"
rm -rf "$TMP/unpack"
umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1
tree_listing "$TMP/unpack/rootfs" >"$TMP/want"
"$STRATA" inspect --files "$ZREGISTRY/strata/app-zstd" >"$TMP/got"
check "zstd layers ingest to the exact tree of app (umoci cannot read zstd)" cmp "$TMP/want" "$TMP/got"
done_testing
