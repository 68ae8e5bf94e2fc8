#!/bin/bash
# `strata analyze` end to end on the scan test image (tests/build-images.sh:
# Debian packages, python dist-info/egg-info, ruby gems, Debian jars, a fat
# jar nesting two of them, a real `npm ci` tree, planted fake credentials),
# pulled from a real registry. Every answer is compared with a truth worked
# out independently from `umoci unpack` of the same image by
# tests/analyze-truth.py (dpkg-query, email.parser, npm ls, zipfile, the
# layer tars) and tests/data/secrets-planted.tsv. Then the other formats,
# the same tree as a directory, memoization (scan again, then scan2 which
# shares all of scan's layers), `strata run`, and the errors.
. "$(dirname "$0")/lib.sh"
need_cmd umoci skopeo jq python3 dpkg-query sha256sum npm
"$STRATA" analyze --help 2>&1 | grep -q 'usage: strata analyze' || skip_all "this strata has no analyze command"
test_images
if ! jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index("scan2")' \
	"$IMAGES/index.json" >/dev/null; then
	echo "# the scan test image was not built; $STRATA_TEST_CACHE/images-scan.log says:"
	tail -20 "$STRATA_TEST_CACHE/images-scan.log" 2>/dev/null | sed 's/^/#   /'
	grep -q '^SKIP:' "$STRATA_TEST_CACHE/images-scan.log" 2>/dev/null &&
		skip_all "$(grep '^SKIP:' "$STRATA_TEST_CACHE/images-scan.log" | head -1)"
	exit 99
fi
TRUTH_PY=$TEST_SRCDIR/analyze-truth.py
PLANTED=$TEST_SRCDIR/data/secrets-planted.tsv
start_registry
push_image scan || exit 99
push_image scan2 || exit 99
REF=$REGISTRY/strata/scan
REF2=$REGISTRY/strata/scan2

# --- the truth ----------------------------------------------------------------
U=$TMP/unpack-scan
umoci unpack --image "$IMAGES:scan" "$U" >/dev/null 2>&1 || { echo "# umoci unpack scan failed"; exit 99; }
python3 "$TRUTH_PY" truth "$U/rootfs" >"$TMP/truth.json" 2>"$TMP/truth.err" ||
	{ echo "# analyze-truth.py truth failed:"; sed 's/^/#   /' "$TMP/truth.err"; exit 99; }
python3 "$TRUTH_PY" layers "$IMAGES" scan >"$TMP/layers.tsv" || { echo "# analyze-truth.py layers failed"; exit 99; }
note "truth: $(jq -r '[(.deb|length), (.python|length), (.npm|length), (.maven|length), (.gem|length)] |
	"\(.[0]) deb, \(.[1]) python, \(.[2]) npm, \(.[3]) maven, \(.[4]) gem"' "$TMP/truth.json")"
manifest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="scan") | .digest' "$IMAGES/index.json")
mblob=$IMAGES/blobs/sha256/${manifest#sha256:}
diff_ids=$(jq -c '.rootfs.diff_ids' "$IMAGES/blobs/sha256/$(jq -r '.config.digest | sub("sha256:"; "")' "$mblob")")

sum_opened() { jq '[.stats.analyzers[]?.opened // 0] | add // 0' "$1"; }
# check_py "description" SUBCOMMAND ARGS...: analyze-truth.py check-*, its output as notes.
check_py() {
	local what=$1; shift
	if python3 "$TRUTH_PY" "$@" >"$TMP/py.out" 2>&1; then
		ok "$what"; sed 's/^/#   /' "$TMP/py.out" | head -12
	else
		not_ok "$what"; sed 's/^/#   /' "$TMP/py.out" | head -40
	fi
}

# --- 1. a cold analysis of the image --------------------------------------------
R=$TMP/scan.json
t0=$EPOCHREALTIME
check "analyze REF --format json -o FILE (pulls the image)" "$STRATA" analyze "$REF" --format json -o "$R"
note "cold analysis took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
jq -e . "$R" >/dev/null 2>&1 || { not_ok "the report is JSON"; done_testing; }
# -o to a device or a FIFO writes into it: no file is renamed over it.
check "-o /dev/null" "$STRATA" analyze "$REF" --analyzers packages -o /dev/null
check "/dev/null is still the device" test -c /dev/null
mkfifo "$TMP/report.fifo"
cat "$TMP/report.fifo" >"$TMP/from-fifo.json" &
reader=$!
check "-o FIFO" "$STRATA" analyze "$REF" --analyzers packages -o "$TMP/report.fifo"
# That reader alone: a bare wait would wait for the registry too.
wait "$reader"
check "the report came through the FIFO" jq -e '.packages | length > 0' "$TMP/from-fifo.json"
check "which is still a FIFO" test -p "$TMP/report.fifo"
is "schema" "$(jq -r .schema "$R")" strata-report/1
is "tool" "$(jq -r '.tool.name' "$R")" strata
check "created is an RFC 3339 UTC time" jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\\.[0-9]+)?Z$")' "$R"
is "image.ref is the reference asked for" "$(jq -r .image.ref "$R")" "$REF"
is "image.digest is the manifest's digest" "$(jq -r .image.digest "$R")" "$manifest"
is "image.layers are the config's diff_ids" "$(jq -c .image.layers "$R")" "$diff_ids"
is "distro equals /etc/os-release" "$(jq -cS .distro "$R")" "$(jq -cS .distro "$TMP/truth.json")"
is "distro is debian 12" "$(jq -r '"\(.distro.id)/\(.distro.version_id)"' "$R")" debian/12
check "every analyzer is listed with a version" \
	jq -e '[.analyzers[].name] as $n | all("dpkg","rpm","apk","npm","python","gem","java","nuget","secrets"; . as $a | $n | index($a) != null) and all(.analyzers[]; (.version|type) == "number")' "$R"
is "a cold report is not cached" "$(jq -r .stats.report_cached "$R")" false
cold_opened=$(sum_opened "$R")
note "stats: $(jq -c '.stats | {entries, seconds, opened: ([.analyzers[].opened] | add)}' "$R")"

# The pull scanned every text file of up to 1 MiB and every binary file for
# secrets (pull.prescan_secrets): the cold analysis found those results in
# the memo, and opened for secrets only the text contents over 1 MiB.
big=$(python3 - "$U/rootfs" <<'PY'
import hashlib, os, stat, sys
seen = set()
for d, _, names in os.walk(sys.argv[1]):
    for n in names:
        p = os.path.join(d, n)
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and st.st_size > 1 << 20:
            with open(p, "rb") as f:
                data = f.read()
            if b"\0" not in data[:8192]:
                seen.add(hashlib.sha256(data).digest())
print(len(seen))
PY
)
is "secrets prescan: the cold analysis read only the $big text contents over 1 MiB for secrets" \
	"$(jq -r '.stats.analyzers.secrets | "\(.opened) \(.memo_hits > 0)"' "$R")" "$big true"
# And it left one summary per layer (the secrets analyzer's records for all
# of the layer's files in one memo entry): "found" holds the contents with
# secrets that the layer introduced — those the report shows, and no other
# content the merged tree shows (a later layer may delete a file: .env.old)
# — and "unscanned" the text contents over 1 MiB.
rules=$(jq -r '.analyzers[] | select(.name == "secrets") | .config' "$R")
for l in $(jq -r '.image.layers[]' "$R"); do
	curl -s --unix-socket "$STRATA_STORE/strata.sock" -X POST http://strata/v1/analysis/lookup \
		-d "{\"keys\": [\"secrets@1+$rules/layer/$l\"]}" | jq -c '.results[]' >"$TMP/summary.json"
	is "secrets prescan: layer ${l:7:12}'s summary names the contents with secrets, no other shown one" \
		"$(jq -c --arg l "$l" --slurpfile s "$TMP/summary.json" '($s[0].found | keys) as $got |
			[.files[] | {path, sha256}] as $f | [.secrets[] | select(.layer == $l) | .path as $p |
			$f[] | select(.path == $p) | .sha256] | unique as $want |
			{missing: ($want - $got), shown_without: (($got - $want) - (($got - $want) - [$f[].sha256]))}' "$R")" \
		'{"missing":[],"shown_without":[]}'
	jq -r '.found | length' "$TMP/summary.json" >>"$TMP/found.n"
done
note "contents with secrets in the layer summaries: $(paste -sd+ "$TMP/found.n" | bc) (the report's files with secrets: $(jq '[.secrets[].path] | unique | length' "$R"), plus the deleted .env.old)"
is "and every content it could not scan was a text file over 1 MiB" \
	"$(for l in $(jq -r '.image.layers[]' "$R"); do curl -s --unix-socket "$STRATA_STORE/strata.sock" -X POST \
		http://strata/v1/analysis/lookup -d "{\"keys\": [\"secrets@1+$rules/layer/$l\"]}" |
		jq '.results[].unscanned | length'; done | awk '{ n += $1 } END { print n }')" "$big"
NP=$TMP/noprescan.json
check "with pull.prescan_secrets=false, a cold analysis in a store of its own" \
	env STRATA_STORE="$TMP/store-noprescan" STRATA_PULL_PRESCAN_SECRETS=false \
	"$STRATA" analyze "$REF" --format json -o "$NP"
all=$(jq '[.files[] | select(.type == "file" and .size > 0) | .sha256] | unique | length' "$R")
is "it read every content for secrets ($all)" "$(jq '.stats.analyzers.secrets.opened' "$NP")" "$all"
is "and reports the same secrets as the prescan" "$(jq -c '[.secrets[]] | sort_by(.path, .line, .rule)' "$NP")" \
	"$(jq -c '[.secrets[]] | sort_by(.path, .line, .rule)' "$R")"

check_py "deb packages equal dpkg-query's (name, version, architecture)" check-packages deb "$R" "$TMP/truth.json"
check_py "python packages equal the dist-info/egg-info metadata" check-packages python "$R" "$TMP/truth.json"
check_py "npm packages equal npm ls --all (name, version, directory; scoped too)" check-packages npm "$R" "$TMP/truth.json"
check_py "gems equal the specifications/*.gemspec files" check-packages gem "$R" "$TMP/truth.json"
check_py "maven: each jar with pom.properties (nested ones too) is exactly its pom rows, with its path" \
	check-packages maven "$R" "$TMP/truth.json"
check "the fat jar's nested jars name the nesting" jq -e '[.packages[] | select(.type == "maven" and
	(.path == "/opt/scan/fat.jar!/BOOT-INF/lib/commons-lang3-3.12.0.jar" and .group == "org.apache.commons" and .name == "commons-lang3")
	or (.path == "/opt/scan/fat.jar!/BOOT-INF/lib/commons-io-2.11.0.jar" and .group == "commons-io" and .name == "commons-io"))] | length == 2' "$R"
check_py "deb dependencies: dpkg-query's Pre-Depends and Depends, first installed alternative or provider" \
	check-edges deb "$R" "$TMP/truth.json"
check_py "npm dependencies: the package.json paths npm ls resolved" check-edges npm "$R" "$TMP/truth.json"
is "the fat jar contains its nested jars" \
	"$(jq -c '.packages as $p | [.packages[] | select(.type == "maven" and .path == "/opt/scan/fat.jar") |
		(.contains // [])[] | $p[.].name] | sort' "$R")" '["commons-io","commons-lang3"]'
is "no unresolved dependency but typeprof's vscode extension (not installed: a manifest inside a gem)" \
	"$(jq -c '[.packages[] | select(.unresolved_dependencies) | "\(.type) \(.name): \(.unresolved_dependencies | join(","))"]' "$R")" \
	'["npm ruby-typeprof: vscode-languageclient"]'
check "rack, from ruby-rack, is a gem" jq -e 'any(.packages[]; .type == "gem" and .name == "rack" and
	(.path | startswith("/usr/share/rubygems-integration/all/specifications/rack-")))' "$R"
# The purl spec leaves ':' unencoded (its own example: pkg:deb/debian/attr@1:2.4.47-2%2Bb1).
is "deb purls are pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12[&upstream=SOURCE[@VERSION]], percent-encoded (first 3 that are not)" \
	"$(jq -r '[.packages[] | select(.type == "deb") | ("pkg:deb/debian/" + (.name | @uri) + "@" + (.version | @uri | gsub("%3A"; ":")) +
	"?arch=" + (.architecture | @uri) + "&distro=debian-12" + (if .source then "&upstream=" + ((.source +
	(if .source_version then "@" + .source_version else "" end)) | @uri | gsub("%3A"; ":")) else "" end)) as $want |
	select(.purl != $want) | "\(.purl) (want \($want))"] | .[:3][]' "$R")" ""
is "every package has CPEs, a CPE 2.3 formatted string each" \
	"$(jq '[.packages[] | select(((.cpes // []) | length) == 0 or any(.cpes[]; test("^cpe:2\\.3:a:([^:\\\\]|\\\\.)+(:([^:\\\\]|\\\\.)+){9}$") | not))] | length' "$R")" 0
is "express's CPE is the NVD dictionary's (openjsf), as syft's" \
	"$(jq -r '.packages[] | select(.type == "npm" and .name == "express") | .cpes[0]' "$R")" \
	"cpe:2.3:a:openjsf:express:$(jq -r '.packages[] | select(.type == "npm" and .name == "express") | .version' "$R"):*:*:*:*:node.js:*:*"
is "a scoped npm purl" "$(jq -r '.packages[] | select(.type == "npm" and .name == "@babel/parser") | .purl' "$R")" \
	"pkg:npm/%40babel/parser@7.26.3"
is "a pypi purl is normalized" "$(jq -r '.packages[] | select(.type == "python" and .version == "3.0.1") | .purl' "$R")" \
	"pkg:pypi/charset-normalizer@3.0.1"
is "a maven purl" "$(jq -r '[.packages[] | select(.type == "maven" and .path == "/opt/scan/fat.jar") | .purl][0]' "$R")" \
	"pkg:maven/org.strata.test/strata-scan-app@1.2.3"
is "a gem purl" "$(jq -r '[.packages[] | select(.type == "gem" and .name == "rack") | .purl][0]' "$R")" \
	"pkg:gem/rack@$(jq -r '[.gem[] | select(.name == "rack")][0].version' "$TMP/truth.json")"
layer_of() { awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$TMP/layers.tsv"; }
check "deb packages name the layer of /var/lib/dpkg/status" jq -e --arg l "$(layer_of /var/lib/dpkg/status)" \
	'[.packages[] | select(.type == "deb")] | all(.[]; .layer == $l)' "$R"
check "npm packages name the layer of their package.json" jq -e --arg l "$(layer_of /srv/app/node_modules/express/package.json)" \
	'[.packages[] | select(.type == "npm" and (.path | startswith("/srv/app/node_modules/")))] | length > 70 and all(.[]; .layer == $l)' "$R"
check "licenses where the metadata has one (express: MIT)" \
	jq -e 'any(.packages[]; .type == "npm" and .name == "express" and .license == "MIT" and .licenses == ["MIT"])' "$R"
is "every deb package has licenses, from its copyright file (libstdc++6's through its doc symlink)" \
	"$(jq -c '[.packages[] | select(.type == "deb" and ((.licenses // []) | length) == 0) | .name]' "$R")" '[]'
is "libc6: its free-form copyright file's GNU notices" \
	"$(jq -c '.packages[] | select(.type == "deb" and .name == "libc6") | .licenses' "$R")" \
	'["LGPL-2.1-or-later","GPL-2.0-or-later","BSD-3-Clause"]'
is "apt: its DEP-5 copyright file's License fields" \
	"$(jq -c '.packages[] | select(.type == "deb" and .name == "apt") | .licenses' "$R")" \
	'["GPL-2.0-or-later","GPL-2.0-only","BSD-3-Clause","MIT"]'

check_py "secrets: every planted credential (rule, path, line), no decoy" check-secrets "$R" "$PLANTED"
check "secrets name their layer and severity, and a masked match" jq -e --arg l "$(layer_of /srv/app/.env)" \
	'[.secrets[] | select(.path == "/srv/app/.env")] | length >= 10 and all(.[]; .layer == $l and
	(.severity | IN("CRITICAL","HIGH","MEDIUM","LOW")) and (.title | length > 0) and (.match | contains("*")))' "$R"
# No planted token appears whole anywhere in the report.
python3 - "$U/rootfs" "$PLANTED" "$R" >"$TMP/leak.out" <<'PY'
import re, sys
root, tsv, report = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
n = 0
for row in open(tsv):
    if row.startswith("#") or not row.strip():
        continue
    path, rule, line = row.split("\t")[:3]
    if rule in ("decoy", "deleted"):
        continue
    text = open(root + path, errors="replace").read().split("\n")[int(line) - 1]
    for tok in re.findall(r"[A-Za-z0-9_+/=.-]{20,}", text):
        if len(tok) > 24 and tok in report:
            print("unmasked: %s:%s %s..." % (path, line, tok[:8]))
            n += 1
sys.exit(1 if n else 0)
PY
if [ $? -eq 0 ]; then ok "no planted token appears unmasked in the report"; else
	not_ok "no planted token appears unmasked in the report"; sed 's/^/#   /' "$TMP/leak.out"; fi

check_py "files: every entry of the tree (type, mode, owner, size, link); 300 sha256 and layers" \
	check-files "$R" "$U/rootfs" "$TMP/layers.tsv" 300
check_py "file owners: the packages whose info/*.list name each file (links in /bin resolved); none modified" \
	check-owners "$R" "$TMP/truth.json"
check "regular files carry sha1 and md5 too" \
	jq -e '[.files[] | select(.type == "file")] | all(.[]; (.sha1 | length) == 40 and (.md5 | length) == 32)' "$R"
is "/usr/lib/os-release's sha1" "$(jq -r '.files[] | select(.path == "/usr/lib/os-release") | .sha1' "$R")" \
	"$(sha1sum <"$U/rootfs/usr/lib/os-release" | cut -c1-40)"

# --- 2. the other formats ---------------------------------------------------------
npk=$(jq '.packages | length' "$R")
for f in spdx-json cyclonedx-json table; do
	check "--format $f" "$STRATA" analyze "$REF" --format "$f" -o "$TMP/scan.$f"
done
# tests/validate-sbom.py (schema validation) is the judge when it is there.
for f in spdx cyclonedx; do
	if [ -f "$TEST_SRCDIR/validate-sbom.py" ]; then
		if python3 "$TEST_SRCDIR/validate-sbom.py" "$f" "$TMP/scan.$f-json" >"$TMP/val.out" 2>&1; then
			ok "$f-json validates (tests/validate-sbom.py)"
		else
			not_ok "$f-json validates (tests/validate-sbom.py)"; sed 's/^/#   /' "$TMP/val.out" | head -20
		fi
	else
		skip "$f-json validation: tests/validate-sbom.py is not there"
	fi
done
# Every package has a purl; the image itself may have one too (pkg:oci/...).
is "spdx-json holds every package (those with a purl other than pkg:oci)" \
	"$(jq '[.packages[] | select(any(.externalRefs[]?; .referenceType == "purl" and
		(.referenceLocator | startswith("pkg:oci/") | not)))] | length' "$TMP/scan.spdx-json")" "$npk"
is "cyclonedx-json holds every package (components with a purl other than pkg:oci)" \
	"$(jq '[.. | objects | select(has("purl") and has("name") and has("type") and
		(.purl | startswith("pkg:oci/") | not))] | length' "$TMP/scan.cyclonedx-json")" "$npk"
is "spdx-json declares a licence for every deb package (no NOASSERTION)" \
	"$(jq '[.packages[] | select((.comment // "") == "strata package type: deb" and .licenseDeclared == "NOASSERTION")] | length' "$TMP/scan.spdx-json")" 0
is "cyclonedx-json gives every deb component licences" \
	"$(jq '[.components[] | select(any(.properties[]?; .name == "strata:type" and .value == "deb") and ((.licenses // []) | length) == 0)] | length' "$TMP/scan.cyclonedx-json")" 0
is "spdx-json: one DEPENDS_ON per dependency, one CONTAINS per nested jar" \
	"$(jq -c '[.relationships[] | select(.relationshipType == "DEPENDS_ON")] | length' "$TMP/scan.spdx-json") $(jq -c '[.relationships[] |
		select(.relationshipType == "CONTAINS" and (.spdxElementId | startswith("SPDXRef-Package-maven")))] | length' "$TMP/scan.spdx-json")" \
	"$(jq '[.packages[].dependencies // [] | length] | add' "$R") 2"
is "cyclonedx-json: a dependencies entry per component, the image's and the distribution's" \
	"$(jq -c '[(.dependencies | length), ([.dependencies[].dependsOn | length] | add)]' "$TMP/scan.cyclonedx-json")" \
	"$(jq -c '[(.packages | length) + 2, ([.packages[] | (.dependencies // [] | length) + (.contains // [] | length)] | add) + 1 +
		([.packages[] | select(.type == "deb")] | length) + ([.packages as $p | $p | to_entries[] | .key as $i |
		select(.value.type != "deb" and ([$p[] | (.dependencies // []) + (.contains // []) | index($i)] | map(select(.)) | length) == 0)] | length)]' "$R")"
is "spdx-json: each package's CPEs as SECURITY cpe23Type references" \
	"$(jq '[.packages[].externalRefs[]? | select(.referenceCategory == "SECURITY" and .referenceType == "cpe23Type")] | length' "$TMP/scan.spdx-json")" \
	"$(jq '[.packages[].cpes | length] | add' "$R")"
is "cyclonedx-json: every library component has a cpe" \
	"$(jq '[.components[] | select(.type == "library" and (.cpe | not))] | length' "$TMP/scan.cyclonedx-json")" 0
check "the table shows licences" grep -qE '^deb +libc6 +[^ ]+ +LGPL-2.1-or-later, GPL-2.0-or-later' "$TMP/scan.table"
missing=$(jq -r '[.packages[].name] | unique[]' "$R" | while read -r n; do grep -qF -- "$n" "$TMP/scan.table" || echo "$n"; done)
is "the table names every package" "$missing" ""
check "the table names the planted secrets' files" grep -qF /root/.aws/credentials "$TMP/scan.table"
check "analyze to stdout" sh -c "'$STRATA' analyze '$REF' | jq -e '.schema == \"strata-report/1\"'"

# --- 3. --analyzers -----------------------------------------------------------------
check "--analyzers dpkg: deb packages only, no secrets" sh -c "'$STRATA' analyze --no-memo --analyzers dpkg '$REF' |
	jq -e '(.packages | length) > 100 and all(.packages[]; .type == \"deb\") and (.secrets | length) == 0'"
check "--analyzers packages: no secrets, every type" sh -c "'$STRATA' analyze --no-memo --analyzers packages '$REF' |
	jq -e '(.secrets | length) == 0 and ([.packages[].type] | unique) == [\"deb\",\"gem\",\"maven\",\"npm\",\"python\"]'"

# --- 4. the same tree as a directory ------------------------------------------------
# Lies planted as xattrs, which anyone who can write a directory can set
# (tar --xattrs restores them): a digest on a file, a whole listing on the
# root. Only a FUSE mount's user.strata.* count.
FAKE="$(printf '0%.0s' $(seq 64)) $(printf '0%.0s' $(seq 40)) $(printf '0%.0s' $(seq 32)) sha256:fake"
planted=no
if setfattr -n user.strata.digests -v "$FAKE" "$U/rootfs/etc/debian_version" 2>/dev/null &&
   printf '0 0\000fake-entry\000100644 0 0 1\000' >"$TMP/fake-tree" &&
   setfattr -n user.strata.tree.0 -v "0s$(base64 -w0 <"$TMP/fake-tree")" "$U/rootfs" 2>/dev/null; then
	planted=yes
fi
D=$TMP/dir.json
check "analyze DIR (the unpacked tree)" "$STRATA" analyze "$U/rootfs" --format json -o "$D"
if [ "$planted" = yes ]; then
	is "a DIR's user.strata.digests xattr is not believed: the file is hashed" \
		"$(jq -r '.files[] | select(.path == "/etc/debian_version") | .sha256' "$D")" \
		"$(sha256sum <"$U/rootfs/etc/debian_version" | cut -c1-64)"
	is "a DIR's user.strata.tree.0 xattr is not believed: the tree is walked" \
		"$(jq '[.files[] | select(.path == "/fake-entry")] | length' "$D")" 0
else
	skip "user xattrs cannot be set in $TMP here"
	skip "user xattrs cannot be set in $TMP here"
fi
is "a directory's image is its path" "$(jq -r .image.path "$D")" "$(cd "$U/rootfs" && pwd -P)"
pkgset() { jq -c '[.packages[] | [.type, .name, .version, .path, .purl]] | sort' "$1"; }
if [ "$(pkgset "$D")" = "$(pkgset "$R")" ]; then ok "the directory gives the image's packages"; else
	not_ok "the directory gives the image's packages"
	diff <(pkgset "$R" | jq -c '.[]') <(pkgset "$D" | jq -c '.[]') | head -10 | sed 's/^/#   /'
fi
is "and the image's secrets" "$(jq -c '[.secrets[] | [.rule, .path, .line]] | sort' "$D")" \
	"$(jq -c '[.secrets[] | [.rule, .path, .line]] | sort' "$R")"
check_py "directory files: every entry; 300 sha256, no layer" check-files "$D" "$U/rootfs" - 300
is "no layer on any file or package of a directory" \
	"$(jq '[.files[], .packages[], .secrets[] | select(has("layer"))] | length' "$D")" 0

# --- 5. memoization ---------------------------------------------------------------
check "analyze the same image again" "$STRATA" analyze "$REF" --format json -o "$TMP/again.json"
is "the second report comes from the cache" "$(jq -r .stats.report_cached "$TMP/again.json")" true
is "and opened no file" "$(sum_opened "$TMP/again.json")" 0
is "and says the same" "$(jq -cS '{distro, packages, secrets, files}' "$TMP/again.json" | sha256sum)" \
	"$(jq -cS '{distro, packages, secrets, files}' "$R" | sha256sum)"
is "in the same bytes, but for its stats" "$(grep -v '^  "stats": ' "$TMP/again.json" | sha256sum)" \
	"$(grep -v '^  "stats": ' "$R" | sha256sum)"
check "and writes other formats from it" "$STRATA" analyze "$REF" --format spdx-json -o "$TMP/again.spdx.json"
t0=$EPOCHREALTIME
check "analyze scan2 (scan plus one small layer)" "$STRATA" analyze "$REF2" --format json -o "$TMP/scan2.json"
note "scan2 took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
warm_opened=$(sum_opened "$TMP/scan2.json")
note "files opened: cold scan $cold_opened, scan2 after scan $warm_opened; per analyzer: $(jq -c '.stats.analyzers | map_values(.opened)' "$TMP/scan2.json")"
is "scan2 is analyzed afresh (another manifest)" "$(jq -r .stats.report_cached "$TMP/scan2.json")" false
check "scan2 opens under 5% of the files scan did ($warm_opened of $cold_opened)" \
	test "$cold_opened" -gt 0 -a $((warm_opened * 100)) -lt $((cold_opened * 5))
check "scan2 has the new npm package" jq -e 'any(.packages[]; .type == "npm" and .name == "is-number" and .version == "7.0.0"
	and .path == "/srv/extra/node_modules/is-number/package.json")' "$TMP/scan2.json"
is "and all of scan's packages" \
	"$(jq -c '[.packages[] | select(.path | startswith("/srv/extra/") | not) | [.type, .name, .version, .path]] | sort' "$TMP/scan2.json")" \
	"$(jq -c '[.packages[] | [.type, .name, .version, .path]] | sort' "$R")"
is "and scan's secrets" "$(jq -c '[.secrets[] | [.rule, .path, .line, .layer]] | sort' "$TMP/scan2.json")" \
	"$(jq -c '[.secrets[] | [.rule, .path, .line, .layer]] | sort' "$R")"

# --- 5b. a file changed after its package installed it ------------------------------
# scan plus a layer that rewrites /usr/bin/hostname (which dpkg's md5sums
# knows as bin/hostname: /bin is a link to usr/bin), deletes one of its
# docs and edits a conffile (dpkg's md5sums leave conffiles out).
M=$TMP/mod-layout
skopeo copy --quiet "oci:$IMAGES:scan" "oci:$M:scan" >"$TMP/skopeo.log" 2>&1 || { sed 's/^/#   /' "$TMP/skopeo.log"; exit 99; }
python3 - "$TMP/mod-layer.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, data, mode in (("usr/bin/hostname", b"#!/bin/sh\necho not the real hostname\n", 0o755),
                             ("usr/share/doc/hostname/.wh.changelog.gz", b"", 0o644),
                             ("etc/debian_version", b"12.99 edited\n", 0o644)):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode = len(data), mode
        t.addfile(ti, io.BytesIO(data))
PY
umoci raw add-layer --image "$M:scan" --tag mod "$TMP/mod-layer.tar" >"$TMP/umoci.log" 2>&1 || { sed 's/^/#   /' "$TMP/umoci.log"; exit 99; }
skopeo copy --quiet --dest-tls-verify=false "oci:$M:mod" "docker://$REGISTRY/strata/scan-mod:latest" >"$TMP/skopeo.log" 2>&1 ||
	{ sed 's/^/#   /' "$TMP/skopeo.log"; exit 99; }
MR=$TMP/mod.json
check "analyze scan plus a layer that changes a Debian package's file" \
	"$STRATA" analyze "$REGISTRY/strata/scan-mod" --format json -o "$MR"
is "hostname's modified_files: bin/hostname, as its md5sums name it" \
	"$(jq -c '.packages[] | select(.type == "deb" and .name == "hostname") | .modified_files' "$MR")" '["/bin/hostname"]'
is "no other package has one (a deleted doc, an edited conffile are not modified files)" \
	"$(jq -c '[.packages[] | select(.modified_files) | .name]' "$MR")" '["hostname"]'
is "its file entry: /usr/bin/hostname, owned by hostname, modified" \
	"$(jq -c '.packages as $p | .files[] | select(.modified) | [.path, ([.packages[] | $p[.].name])]' "$MR")" \
	'["/usr/bin/hostname",["hostname"]]'
check "and at most the new layer's two files were opened" test "$(jq '[.stats.analyzers[].opened] | add' "$MR")" -le 2
"$STRATA" analyze "$REGISTRY/strata/scan-mod" --format table -o "$TMP/mod.table"
check "the table lists it under MODIFIED FILES" grep -qE '^hostname +/bin/hostname$' "$TMP/mod.table"
"$STRATA" analyze "$REGISTRY/strata/scan-mod" --format spdx-json -o "$TMP/mod.spdx.json"
is "spdx: the file's comment says so, and hostname CONTAINS it" \
	"$(jq -c '(.packages[] | select(.name == "hostname") | .SPDXID) as $h | (.files[] | select(.fileName == "./usr/bin/hostname")) as $f |
		[($f.comment | test("differs from what package hostname shipped")),
		 any(.relationships[]; .spdxElementId == $h and .relationshipType == "CONTAINS" and .relatedSpdxElement == $f.SPDXID)]' \
		"$TMP/mod.spdx.json")" '[true,true]'

# --- 6. strata run -------------------------------------------------------------------
out=$("$STRATA" run "$REF" -- find {} -name os-release 2>"$TMP/run.err"); rc=$?
is "run: find exits 0" "$rc" 0
mnt=$(printf '%s\n' "$out" | sed -n 's|/etc/os-release$||p' | head -1)
is "run: {} became the mount point" "$(printf '%s\n' "$out" | LC_ALL=C sort | tr '\n' ' ')" "$mnt/etc/os-release $mnt/usr/lib/os-release "
check "run: the mount point is gone afterwards" sh -c "[ -n '$mnt' ] && ! grep -qF ' $mnt ' /proc/mounts"
rc=0; "$STRATA" run "$REF" -- sh -c 'exit 7' || rc=$?
is "run: the command's exit status is strata's" "$rc" 7
out=$("$STRATA" run "$REF" -- sh -c 'cat "$STRATA_ROOT/etc/debian_version"; echo "$STRATA_ROOT"')
is "run: STRATA_ROOT is the mount point" "$(printf '%s\n' "$out" | head -1)" "$(cat "$U/rootfs/etc/debian_version")"
root=$(printf '%s\n' "$out" | tail -1)
check "run: and it is unmounted afterwards" sh -c "[ -n '$root' ] && ! grep -qF ' $root ' /proc/mounts"
rc=0; "$STRATA" run "$REF" -- /nonexistent/command 2>/dev/null || rc=$?
is "run: a command that cannot be run exits 127" "$rc" 127

# --- 7. errors --------------------------------------------------------------------------
fails_with "a nonexistent image is a one-line error" "strata" "$STRATA" analyze "$REGISTRY/strata/nonexistent"
rc=0; "$STRATA" analyze "$REGISTRY/strata/nonexistent" >/dev/null 2>&1 || rc=$?
is "and exits 1" "$rc" 1
for a in "--analyzers bogus" "--format bogus"; do
	rc=0; "$STRATA" analyze $a "$REF" >"$TMP/err.out" 2>"$TMP/err.err" || rc=$?
	is "$a is a usage error (exit 2)" "$rc" 2
	check "$a: the error names it" sh -c "head -1 '$TMP/err.err' | grep -q 'bogus'"
	is "$a: nothing on stdout" "$(wc -c <"$TMP/err.out")" 0
done
rc=0; "$STRATA" analyze "$REF" -o /nonexistent/dir/report.json 2>"$TMP/err.err" || rc=$?
is "an unwritable -o exits 1" "$rc" 1
is "with one line" "$(wc -l <"$TMP/err.err")" 1
done_testing
