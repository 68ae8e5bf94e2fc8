#!/bin/bash
# A fleet shares its analyses through Redis (memo.redis): two stores, each
# with its own daemon, and one real redis-server on loopback. Node A
# analyzes scan; node B, which never pulled it, answers from A's report
# (one manifest request, no layer blob) with A's answers; B's first
# analysis of scan2 (scan's layers plus one) opens only the files of the
# new layer, the rest answered by A's results; what B wrote is used by A
# (scan2's report, and per-file results of scan2's new layer). --no-memo
# uses nothing shared. The tier's metrics and `cache stats` show all of it.
. "$(dirname "$0")/lib.sh"
need_cmd skopeo jq curl redis-server redis-cli
need_fuse
test_images
jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index("scan2")' "$IMAGES/index.json" \
	>/dev/null || skip_all "the scan test images were not built ($STRATA_TEST_CACHE/images-scan.log)"
start_registry
push_image scan || exit 99
push_image scan2 || exit 99
start_redis
REF=$REGISTRY/strata/scan
REF2=$REGISTRY/strata/scan2

# on NODE strata ARGS...: a node of the fleet, with its own store and daemon.
on() { local n=$1; shift; STRATA_STORE="$TMP/$n" STRATA_MEMO_REDIS=$REDIS_URL "$STRATA" "$@"; }
metric() { metric_of "$TMP/$1" "$2"; }
drained() { shared_memo_drained "$TMP/$1"; }
blob_gets() { grep -c '"GET /v2/[^ ]*/blobs/sha256:' "$REGISTRY_LOG"; }
# layer_gets: blob GETs but those of image configs.
layer_gets() { grep '"GET /v2/[^ ]*/blobs/sha256:' "$REGISTRY_LOG" | grep -cvF -f "$TMP/configs"; }
for t in scan scan2; do
	m=$(jq -r --arg t "$t" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$IMAGES/index.json")
	jq -r .config.digest "$IMAGES/blobs/sha256/${m#sha256:}"
done >"$TMP/configs"
manifest_gets() { grep -c '"GET /v2/[^ ]*/manifests/' "$REGISTRY_LOG"; }
opened() { jq "[.stats.analyzers[].opened] | add" "$1"; }
same() { jq -cS 'del(.stats, .created)' "$1" | sha256sum | cut -c1-16; }

# --- 1. node A analyzes scan; its results and report go to Redis -------------------
RA=$TMP/a-scan.json
check "node A: analyze scan" on a analyze "$REF" -o "$RA"
check "node A: its queue drains" drained a
written=$(metric a strata_shared_memo_written_total)
check "node A wrote its results and report to Redis ($written values)" test "$written" -gt 100
is "under strata's prefix, one report" "$(redis_cli --scan --pattern 'strata:report:*' | wc -l)" 1
check "and results" test "$(redis_cli --scan --pattern 'strata:result:*' | wc -l)" -gt 100

# --- 2. node B, which never pulled scan, answers from A's report ---------------------
b0=$(blob_gets) m0=$(manifest_gets)
RB=$TMP/b-scan.json
t0=$EPOCHREALTIME
check "node B: analyze scan" on b analyze "$REF" -o "$RB"
ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
note "node B answered in $ms ms (the daemon started on demand included)"
is "B's report is A's (but for stats and creation time)" "$(same "$RB")" "$(same "$RA")"
is "it says it was a stored report" "$(jq -r .stats.report_cached "$RB")" true
is "B fetched no layer blob" "$(($(blob_gets) - b0))" 0
is "B made one manifest request" "$(($(manifest_gets) - m0))" 1
is "B stored no image" "$(on b images --json | jq length)" 0
is "B counted one shared report hit" "$(metric b 'strata_shared_memo_hits_total{kind="report"}')" 1
# A second time, with the daemon running: the target is 50 ms on loopback.
t0=$EPOCHREALTIME
on b analyze "$REF" -o "$TMP/b-scan-again.json"
ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
note "again, the daemon running: $ms ms"
# The machine running the tests is shared: a bound that holds under load;
# BENCHMARKS.md measures it on a quiet one.
check "in under 2 s ($ms ms; the target, on a quiet machine, is 50 ms)" test "$ms" -lt 2000
is "and the same answers" "$(same "$TMP/b-scan-again.json")" "$(same "$RA")"

# --- 3. B's first analysis of scan2: only the new layer's files are opened -------------
R2B=$TMP/b-scan2.json
check "node B: analyze scan2 (pulls it: scan's layers and one more)" on b analyze "$REF2" -o "$R2B"
is "scan2 is analyzed afresh" "$(jq -r .stats.report_cached "$R2B")" false
new_layer=$(jq -r '.image.layers[-1]' "$R2B")
new_files=$(jq --arg l "$new_layer" '[.files[] | select(.type == "file" and .layer == $l)] | length' "$R2B")
note "opened per analyzer: $(jq -c '.stats.analyzers | map_values(.opened)' "$R2B"); files in the new layer: $new_files"
check "every analyzer opened at most the $new_files files of the new layer" \
	jq -e --argjson n "$new_files" 'all(.stats.analyzers[]; .opened <= $n)' "$R2B"
check "and something was opened (npm's new package)" test "$(opened "$R2B")" -gt 0
check "the package analyzers' results came from A (shared hits)" \
	test "$(metric b 'strata_shared_memo_hits_total{kind="result"}')" -gt 100
is "scan2 has all of scan's packages" \
	"$(jq -c '[.packages[] | select(.path | startswith("/srv/extra/") | not) | [.type, .name, .version, .path]] | sort' "$R2B")" \
	"$(jq -c '[.packages[] | [.type, .name, .version, .path]] | sort' "$RA")"
check "and the new one" jq -e 'any(.packages[]; .type == "npm" and .name == "is-number")' "$R2B"
is "and scan's secrets" "$(jq -c '[.secrets[] | [.rule, .path, .line]] | sort' "$R2B")" \
	"$(jq -c '[.secrets[] | [.rule, .path, .line]] | sort' "$RA")"
check "node B: its queue drains" drained b

# --- 4. what B wrote is used by A ------------------------------------------------------------
b0=$(blob_gets)
R2A=$TMP/a-scan2.json
check "node A: analyze scan2" on a analyze "$REF2" -o "$R2A"
is "A answers from B's report" "$(jq -r .stats.report_cached "$R2A")" true
is "with B's answers" "$(same "$R2A")" "$(same "$R2B")"
is "fetching no layer blob" "$(($(blob_gets) - b0))" 0
# Another analyzer selection: no report, but B's results for the new layer.
b0=$(layer_gets)
check "node A: analyze scan2 --analyzers npm (another configuration: no report)" \
	on a analyze --analyzers npm "$REF2" -o "$TMP/a-scan2-npm.json"
is "it pulled the one layer A lacked" "$(($(layer_gets) - b0))" 1
is "npm opened no file: every result came from B or A's memo" "$(opened "$TMP/a-scan2-npm.json")" 0
check "with is-number, which only B analyzed" \
	jq -e 'any(.packages[]; .type == "npm" and .name == "is-number")' "$TMP/a-scan2-npm.json"

# --- 5. --no-memo uses nothing shared --------------------------------------------------------
b0=$(blob_gets)
check "node C: analyze scan --no-memo" on c analyze --no-memo "$REF" -o "$TMP/c-scan.json"
is "it analyzed afresh" "$(jq -r .stats.report_cached "$TMP/c-scan.json")" false
check "pulling the layers" test "$(($(blob_gets) - b0))" -gt 0
is "and asked the shared memo nothing" \
	"$(metric c strata_shared_memo_hits_total) $(metric c strata_shared_memo_misses_total)" "0 0"
is "its answers are A's" "$(jq -cS '{packages, secrets, distro}' "$TMP/c-scan.json" | sha256sum)" \
	"$(jq -cS '{packages, secrets, distro}' "$RA" | sha256sum)"

# --- 6. what an operator sees ---------------------------------------------------------------
is "the tier is up" "$(metric b strata_shared_memo_up)" 1
for m in strata_shared_memo_misses_total strata_shared_memo_rejected_total strata_shared_memo_errors_total \
	strata_shared_memo_queue_bytes strata_shared_memo_dropped_total strata_shared_memo_request_seconds_count; do
	check "/metrics has $m" sh -c "curl -s --unix-socket '$TMP/b/strata.sock' http://strata/metrics | grep -q '^$m'"
done
on b cache stats >"$TMP/stats.txt"
check "cache stats shows the shared memo" grep -q "^shared memo: redis://127.0.0.1:$REDIS_PORT (up)" "$TMP/stats.txt"
is "cache stats --json: its hits" "$(on b cache stats --json | jq '.shared_memo.hits.result > 100 and .shared_memo.hits.report == 2')" true
done_testing
