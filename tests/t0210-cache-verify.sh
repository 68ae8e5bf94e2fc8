#!/bin/bash
# cache verify: a byte flipped in a chunk file and a deleted chunk file are
# found, named, and traced to the layers and images they break (exit 1);
# --repair then a pull gives a clean verify and an exact tree again.
. "$(dirname "$0")/lib.sh"
need_cmd umoci jq
test_images
A="oci:$IMAGES:app"
check "pull app" "$STRATA" pull -q "$A"
check "verify of a fresh store is clean" "$STRATA" cache verify
is "verify --json says clean" "$("$STRATA" cache verify --json | jq -c '{clean, corrupt: (.corrupt|length), missing: (.missing|length)}')" \
	'{"clean":true,"corrupt":0,"missing":0}'
"$STRATA" inspect --files "$A" >"$TMP/files-before"

# Two victims among the large chunk files: one gets a byte flipped, one is deleted.
mapfile -t big < <(find "$STRATA_STORE/chunks" -type f -size +12k | LC_ALL=C sort | head -2)
check "found two chunk files to damage" test "${#big[@]}" -eq 2
flip=${big[0]} gone=${big[1]}
chmod u+w "$flip"
b=$(od -An -tu1 -j 100 -N1 "$flip" | tr -d ' ')
printf "\\$(printf '%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$flip" bs=1 seek=100 conv=notrunc 2>/dev/null
rm -f "$gone"
note "flipped a byte of ${flip#$STRATA_STORE/}, deleted ${gone#$STRATA_STORE/}"

rc=0; "$STRATA" cache verify >"$TMP/verify.out" 2>"$TMP/verify.err" || rc=$?
sed 's/^/#   /' "$TMP/verify.out" | head -20
is "verify exits 1 on a damaged store" "$rc" 1
is "with one line on stderr" "$(wc -l <"$TMP/verify.err")" 1
check "naming the flipped chunk as corrupt" grep -q "^corrupt chunk .*$(basename "$flip")" "$TMP/verify.out"
check "naming the deleted chunk as missing" grep -q "^missing chunk .*$(basename "$gone")" "$TMP/verify.out"
"$STRATA" cache verify --json >"$TMP/verify.json" 2>/dev/null || true
layers=$(jq -r '.layers[]' "$TMP/verify.json")
check "naming the broken layers" test -n "$layers"
all_layers=$("$STRATA" inspect --json "$A" | jq -r '.layers[].diff_id')
bad=0; for l in $layers; do grep -qx "$l" <<<"$all_layers" || bad=1; done
is "the broken layers are layers of app" "$bad" 0
check "naming the broken image" jq -e '.images | any(test("app"))' "$TMP/verify.json"
is "--json reports not clean, not repaired" "$(jq -c '[.clean, .repaired]' "$TMP/verify.json")" '[false,false]'

check "verify --repair" "$STRATA" cache verify --repair
for l in $layers; do
	is "repair evicted broken layer ${l:7:12}" \
		"$("$STRATA" cache ls --json | jq -r --arg d "$l" '.[] | select(.layer_id == $d) | .state')" evicted
done
check "verify after repair is clean" "$STRATA" cache verify
check "pull fetches the evicted layers again" "$STRATA" pull -q "$A"
check "verify after the pull is clean" "$STRATA" cache verify
"$STRATA" inspect --files "$A" >"$TMP/files-after"
check "the tree is the one before the damage" cmp "$TMP/files-before" "$TMP/files-after"

# The tree against umoci unpack: path, type, mode, owner, size, target, sha256.
rm -rf "$TMP/unpack"; umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1
tree_listing "$TMP/unpack/rootfs" >"$TMP/want"
if cmp -s "$TMP/want" "$TMP/files-after"; then
	ok "inspect --files after repair equals umoci unpack ($(wc -l <"$TMP/want") entries)"
else
	not_ok "inspect --files after repair equals umoci unpack"
	diff "$TMP/want" "$TMP/files-after" | head -20 | sed 's/^/#   /'
fi
rc=0; "$STRATA" cache verify --repair >/dev/null 2>&1 || rc=$?
is "verify --repair of a clean store exits 0" "$rc" 0
done_testing
