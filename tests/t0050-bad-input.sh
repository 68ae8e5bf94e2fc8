#!/bin/bash
# t0050-bad-input: hostile or broken images (made by make-hostile.py) and
# unreachable or unknown registry references fail with one clear line, and
# nothing of a failed pull becomes visible in the store.
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$STRATA" ] || { echo "# $STRATA is not built"; exit 99; }

OUT=$TMP/hostile
if ! python3 "$TEST_SRCDIR/make-hostile.py" "$OUT" 2>"$TMP/make-hostile.log"; then
	echo "# make-hostile.py failed:"; sed 's/^/#   /' "$TMP/make-hostile.log"; exit 99
fi
sed 's/^/# /' "$TMP/make-hostile.log"

# bad_case NAME WANT [VAR=VALUE...]: pulling oci:$OUT/NAME fails with WANT in a
# one-line error, the image list is unchanged, and inspect finds nothing. The
# variables apply to every command of the case.
bad_case() {
	local name=$1 want=$2; shift 2
	local ref="oci:$OUT/$name:latest"
	if [ ! -d "$OUT/$name" ]; then
		skip "$name: input not generated (see the make-hostile note above)"
		return
	fi
	local before after
	before=$(env "$@" "$STRATA" images 2>&1)
	fails_with "$name: pull fails with '$want'" "$want" env "$@" "$STRATA" pull "$ref"
	after=$(env "$@" "$STRATA" images 2>&1)
	is "$name: no new image is listed" "$after" "$before"
	if env "$@" "$STRATA" inspect "$ref" >"$TMP/inspect.out" 2>&1; then
		not_ok "$name: inspect finds no image"; sed 's/^/#   /' "$TMP/inspect.out" | head -5
	else
		ok "$name: inspect finds no image"
	fi
}

check "images works on an empty store" "$STRATA" images
empty=$("$STRATA" images 2>&1)

bad_case dotdot "escapes the image root"
bad_case dotdot-mid "escapes the image root"
bad_case hardlink-missing "hardlink to missing target"
bad_case corrupt-tar "invalid tar"
bad_case truncated-gzip "truncated"
bad_case corrupt-gzip "corrupt"
bad_case corrupt-zstd "corrupt"
bad_case digest-mismatch "digest mismatch"
bad_case diffid-mismatch "diff_id mismatch"
bad_case manifest-not-json "not JSON"
bad_case manifest-unknown-mediatype "unsupported manifest media type"
bad_case long-name "name too long"
# Limits are read when the store is opened (maybe by a store daemon), so
# these run against stores of their own, opened with the limit in place.
bad_case many-entries "too many entries" \
	STRATA_STORE="$TMP/store-entries" STRATA_LIMITS_MAX_ENTRIES=1000
bad_case gzip-bomb "uncompressed size limit" \
	STRATA_STORE="$TMP/store-bomb" STRATA_LIMITS_MAX_LAYER_SIZE=64M

is "after all failures the image list is still empty" "$("$STRATA" images 2>&1)" "$empty"

# Absolute names are normalised (/etc/x is etc/x), not an error.
check "absolute: pull succeeds" "$STRATA" pull "oci:$OUT/absolute:latest"
check "absolute: inspect finds it" "$STRATA" inspect "oci:$OUT/absolute:latest"
listed=$("$STRATA" images 2>&1)
if [ "$listed" != "$empty" ]; then ok "absolute: the image is listed"; else
	not_ok "absolute: the image is listed"; fi
"$STRATA" inspect --files "oci:$OUT/absolute:latest" >"$TMP/absolute.files" 2>&1
check "absolute: /etc/x is stored as etc/x inside the image" grep -q "^etc/x	f	" "$TMP/absolute.files"

# Registry references: a real registry that lacks the repository or tag, and a
# port where nothing listens.
if command -v docker-registry >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1; then
	start_registry
	if skopeo copy --quiet --dest-tls-verify=false "oci:$OUT/absolute:latest" \
		"docker://$REGISTRY/strata/hostile:latest" >"$TMP/skopeo.log" 2>&1; then
		fails_with "registry: unknown repository is not found" "not found" \
			"$STRATA" pull "$REGISTRY/strata/no-such-repo:latest"
		fails_with "registry: unknown tag is not found" "not found" \
			"$STRATA" pull "$REGISTRY/strata/hostile:no-such-tag"
	else
		sed 's/^/#   /' "$TMP/skopeo.log"
		not_ok "registry: push a test image with skopeo"
	fi
else
	skip "registry: docker-registry or skopeo is not installed"
	skip "registry: docker-registry or skopeo is not installed"
fi
port=$(free_port)
fails_with "registry: unreachable registry" "cannot reach registry" \
	env STRATA_REGISTRY_RETRIES=1 "$STRATA" pull "127.0.0.1:$port/strata/nothing:latest"

# Nothing a failure left behind may show up as an image or a temp file.
is "only the absolute image is listed at the end" "$("$STRATA" images 2>&1)" "$listed"
for store in "$STRATA_STORE" "$TMP/store-entries" "$TMP/store-bomb"; do
	[ -d "$store" ] || continue
	is "no temporary files remain in $(basename "$store")" \
		"$(find "$store" -name '*.tmp' 2>/dev/null | head -5)" ""
done

done_testing
