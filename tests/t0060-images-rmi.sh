#!/bin/bash
# images, inspect and rmi: listing, removal of an image and of the layers
# and chunks only it used, and clear errors for what is not stored.
. "$(dirname "$0")/lib.sh"
need_cmd umoci skopeo jq
test_images
start_registry
for t in base app; do push_image "$t" || exit 99; done

is "images on an empty store is an empty list" "$("$STRATA" images --json)" "[]"
check "images on an empty store prints a header" "$STRATA" images
fails_with "inspect of an image not stored" "is not stored" "$STRATA" inspect "$REGISTRY/strata/base"

"$STRATA" pull -q "$REGISTRY/strata/base" "$REGISTRY/strata/app"
is "two images listed" "$("$STRATA" images --json | jq length)" 2
"$STRATA" images >"$TMP/images.txt"
check "the table names both" grep -q "strata/app:latest" "$TMP/images.txt"
digest=$("$STRATA" inspect --json "$REGISTRY/strata/app" | jq -r .digest)
check "inspect by digest" "$STRATA" inspect "$digest"
check "inspect by a short digest prefix" "$STRATA" inspect "${digest:7:12}"
check "inspect by name@digest" "$STRATA" inspect "$REGISTRY/strata/app@$digest"

"$STRATA" inspect --files "$REGISTRY/strata/base" >"$TMP/base-before"
check "rmi app" "$STRATA" rmi "$REGISTRY/strata/app"
is "one image left" "$("$STRATA" images --json | jq -r '.[].names[0]')" "$REGISTRY/strata/base:latest"
"$STRATA" inspect --files "$REGISTRY/strata/base" >"$TMP/base-after"
check "base's files are untouched by removing app" cmp "$TMP/base-before" "$TMP/base-after"

chunks_before=$(find "$STRATA_STORE/chunks" -type f | wc -l)
check "rmi base" "$STRATA" rmi "$REGISTRY/strata/base"
chunks_after=$(find "$STRATA_STORE/chunks" -type f | wc -l)
note "chunk files: $chunks_before before, $chunks_after after"
is "removing the last image removes its chunk files" "$chunks_after" 0
is "no images left" "$("$STRATA" images --json)" "[]"
fails_with "rmi of an image not stored" "is not stored" "$STRATA" rmi "$REGISTRY/strata/base"
fails_with "a malformed reference" "invalid reference" "$STRATA" inspect "UPPER/Case"

rc=0; "$STRATA" frobnicate >/dev/null 2>&1 || rc=$?
is "an unknown command exits 2" "$rc" 2
rc=0; "$STRATA" pull >/dev/null 2>&1 || rc=$?
is "pull without a reference exits 2" "$rc" 2
check "pull after rmi works again" "$STRATA" pull -q "$REGISTRY/strata/base"
"$STRATA" inspect --files "$REGISTRY/strata/base" >"$TMP/base-again"
check "with the same files" cmp "$TMP/base-before" "$TMP/base-again"
done_testing
