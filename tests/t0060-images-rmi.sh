#!/bin/bash
# images, inspect and rmi: listing, removal of an image and of the layers
# and chunks only it used, and clear errors for what is not stored.
. "$(dirname "$0")/lib.sh"
need_cmd umoci skopeo jq
test_images
start_registry
for t in base app; do push_image "$t" || exit 99; done
push_image base strata/base-alias || exit 99

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

fails_with "--platform that the stored image is not for" "the image is for linux/amd64, not linux/arm64" \
	"$STRATA" pull --platform linux/arm64 "$REGISTRY/strata/base"
fails_with "--platform that a registry image is not for" "not linux/s390x" \
	"$STRATA" pull --platform linux/s390x "$REGISTRY/strata/base-alias"
check "--platform with uname's name for the architecture" "$STRATA" pull -q --platform linux/x86_64 "$REGISTRY/strata/base"

# Two names for one image: rmi of one name only untags, as docker rmi does.
check "pull base under a second name" "$STRATA" pull -q "$REGISTRY/strata/base-alias"
is "both names point at one image" "$("$STRATA" images --json | jq '.[0].names | length')" 2
"$STRATA" rmi "$REGISTRY/strata/base-alias" >"$TMP/untag.out"
check "rmi of one of two names untags" grep -q "^untagged" "$TMP/untag.out"
is "the image keeps its other name" "$("$STRATA" images --json | jq -r '.[0].names | join(",")')" \
	"$REGISTRY/strata/base:latest"

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
