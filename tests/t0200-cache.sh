#!/bin/bash
# The store as a cache: a budget honoured after every pull, LRU eviction,
# pins of mounted images, re-fetch of evicted layers, stats that agree with
# the disk and with the pulls and mounts done, rmi + gc, pinned content over
# budget, concurrent pulls fetching each blob once, and maintenance under
# concurrent readers.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci skopeo jq python3
test_images
MiB=$((1024 * 1024))

# make_random_layout DIR N: an OCI layout of N one-layer images r1..rN, each
# a 20 MiB file of deterministic random bytes (incompressible, no dedup).
# DIR/sums lists "tag diff_id sha256-of-the-file".
make_random_layout() {
	python3 - "$TEST_SRCDIR" "$1" "$2" <<'PY'
import hashlib, random, sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
out, n = sys.argv[2], int(sys.argv[3])
sums = []
with Layout(out) as lay:
    for i in range(1, n + 1):
        payload = random.Random(i).randbytes(20 << 20)
        diff = lay.image(f"r{i}", {f"data/r{i}.bin": payload})
        sums.append(f"r{i} {diff} {hashlib.sha256(payload).hexdigest()}")
open(out + '/sums', 'w').write("\n".join(sums) + "\n")
PY
}
R=$TMP/rand
make_random_layout "$R" 6 || exit 99
diff_of() { awk -v t="$1" '$1 == t { print $2 }' "$R/sums"; }
sum_of() { awk -v t="$1" '$1 == t { print $3 }' "$R/sums"; }
store_du() { du -s --block-size=1 --exclude=daemon.log --exclude=strata.sock "${1:-$STRATA_STORE}" | cut -f1; }
layer_state() { "$STRATA" cache ls --json | jq -r --arg d "$1" '.[] | select(.layer_id == $d) | .state'; }
stop_store_daemon() { # the daemon of $STRATA_STORE, so that it reads a new budget
	local pid; pid=$(curl -s --max-time 5 --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version | jq -r .pid)
	[ -n "$pid" ] && [ "$pid" != null ] || return 0
	kill -TERM "$pid"; for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
}

# --- a budget honoured after every pull -------------------------------------
export STRATA_STORE=$TMP/budget STRATA_CACHE_MAX_SIZE=120M
budget=$((120 * MiB))
total_pulled=0
for ref in "oci:$IMAGES:base" "oci:$IMAGES:app" "oci:$R:r1" "oci:$R:r2" "oci:$R:r3" "oci:$R:r4"; do
	"$STRATA" pull -q "$ref" >"$TMP/pull.out" 2>&1 || { not_ok "pull $ref under a 120M budget"; sed 's/^/#   /' "$TMP/pull.out"; continue; }
	used=$(store_du)
	if [ "$used" -le "$budget" ]; then ok "after pulling ${ref##*:}: store $used bytes <= budget $budget"
	else not_ok "after pulling ${ref##*:}: store $used bytes <= budget $budget"; fi
done
evicted=$("$STRATA" cache ls --json | jq '[.[] | select(.state == "evicted")] | length')
note "layers evicted: $evicted; stats: $("$STRATA" cache stats --json | jq -c '{stored_bytes, evictions, bytes_evicted, budget}')"
check "the sequence really exceeded the budget (some layer evicted)" test "$evicted" -gt 0
is "stats report the budget" "$("$STRATA" cache stats --json | jq .budget)" "$budget"
is "the most recent pull is kept" "$(layer_state "$(diff_of r4)")" complete
unlisted=0
for img in $("$STRATA" images --json | jq -r '.[].digest'); do
	for l in $("$STRATA" inspect --json "$img" | jq -r '.layers[].diff_id'); do
		[ -n "$(layer_state "$l")" ] || unlisted=$((unlisted + 1))
	done
done
is "every layer of every stored image is still listed, evicted or not" "$unlisted" 0

# stats against the disk (chunk files + index; RocksDB's own files differ a little)
st=$("$STRATA" cache stats --json | jq .stored_bytes); used=$(store_du)
tol=$(( used / 10 > 2 * MiB ? used / 10 : 2 * MiB ))
note "stats stored_bytes $st, du $used, tolerance $tol (10% or 2 MiB)"
check "stats stored_bytes agrees with du of the store (allocated blocks)" test $(( st > used ? st - used : used - st )) -le "$tol"

# --- LRU: the least recently used image goes, not the first pulled ----------
stop_store_daemon
export STRATA_STORE=$TMP/lru STRATA_CACHE_MAX_SIZE=50M
check "pull A (r1)" "$STRATA" pull -q "oci:$R:r1"
note "waiting 61 s: last use is recorded at most once a minute"
sleep 61
check "pull B (r2)" "$STRATA" pull -q "oci:$R:r2"
sleep 2
mkdir -p "$TMP/mA"
check "mount A" "$STRATA" mount --no-pull "oci:$R:r1" "$TMP/mA"
check "read A" sh -c "cat '$TMP/mA/data/r1.bin' >/dev/null"
check "umount A" "$STRATA" umount "$TMP/mA"
check "pull C (r3) over the budget" "$STRATA" pull -q "oci:$R:r3"
"$STRATA" cache ls >"$TMP/lru.ls"; sed 's/^/#   /' "$TMP/lru.ls"
is "B, least recently used, is evicted" "$(layer_state "$(diff_of r2)")" evicted
is "A, used after B, is kept" "$(layer_state "$(diff_of r1)")" complete
is "C is kept" "$(layer_state "$(diff_of r3)")" complete

# --- pinned content alone over the budget ----------------------------------
mkdir -p "$TMP/mC"
check "mount A" "$STRATA" mount --no-pull "oci:$R:r1" "$TMP/mA"
check "mount C" "$STRATA" mount --no-pull "oci:$R:r3" "$TMP/mC"
check "prune --all while A and C are mounted" "$STRATA" cache prune --all
is "mounted A survives prune --all" "$(layer_state "$(diff_of r1)")" complete
is "A's bytes are exact after prune --all" "$(sha256sum <"$TMP/mA/data/r1.bin" | cut -c1-64)" "$(sum_of r1)"
is "C's bytes are exact after prune --all" "$(sha256sum <"$TMP/mC/data/r3.bin" | cut -c1-64)" "$(sum_of r3)"
fails_with "a pull over a budget that pinned content fills" "cache budget 50.0 MiB exceeded" \
	"$STRATA" pull -q "oci:$R:r4"
check "the error names what is pinned" grep -q "pinned" "$TMP/fw.err"
check "cache verify is clean afterwards" "$STRATA" cache verify
check "umount A" "$STRATA" umount "$TMP/mA"
check "umount C" "$STRATA" umount "$TMP/mC"

# --- an evicted image comes back -------------------------------------------
is "B is still evicted" "$(layer_state "$(diff_of r2)")" evicted
mkdir -p "$TMP/mB"
check "mount of evicted B fetches it again" "$STRATA" mount "oci:$R:r2" "$TMP/mB"
is "B's bytes are exact" "$(sha256sum <"$TMP/mB/data/r2.bin" 2>&1 | cut -c1-64)" "$(sum_of r2)"
check "umount B" "$STRATA" umount "$TMP/mB"
check "prune --all evicts everything unmounted" "$STRATA" cache prune --all
is "A is evicted now" "$(layer_state "$(diff_of r1)")" evicted
out=$("$STRATA" pull "oci:$R:r1" 2>&1 | tail -3)
is "pull of evicted A fetches its layer" "$("$STRATA" inspect --json "oci:$R:r1" >/dev/null; layer_state "$(diff_of r1)")" complete
check "and A mounts with exact bytes" "$STRATA" mount --no-pull "oci:$R:r1" "$TMP/mA"
is "A's bytes after re-pull" "$(sha256sum <"$TMP/mA/data/r1.bin" | cut -c1-64)" "$(sum_of r1)"
check "umount A" "$STRATA" umount "$TMP/mA"
stop_store_daemon

# --- hits and misses, counted by hand; rmi + gc --------------------------
export STRATA_STORE=$TMP/counts
unset STRATA_CACHE_MAX_SIZE
"$STRATA" pull -q "oci:$IMAGES:base"            # 1 miss
"$STRATA" pull -q "oci:$IMAGES:app"             # 1 hit (base's layer), 3 misses
mkdir -p "$TMP/mApp"
"$STRATA" mount --no-pull "oci:$IMAGES:app" "$TMP/mApp"   # 4 hits
"$STRATA" umount "$TMP/mApp"
"$STRATA" pull -q "oci:$IMAGES:app"             # up to date: 4 hits
"$STRATA" pull -q "oci:$IMAGES:rebuilt"         # 1 miss
is "cache_misses counts the layers fetched" "$("$STRATA" cache stats --json | jq .cache_misses)" 5
is "cache_hits counts the layers found stored" "$("$STRATA" cache stats --json | jq .cache_hits)" 9
is "record_count counts the stored layers" "$("$STRATA" cache stats --json | jq .record_count)" 5
before=$(store_du)
check "pull r5" "$STRATA" pull -q "oci:$R:r5"
check "rmi r5" "$STRATA" rmi "oci:$R:r5"
"$STRATA" cache gc --json >"$TMP/gc.out" 2>&1; note "$(jq -c . "$TMP/gc.out")"
after=$(store_du)
note "store before r5 $before, after rmi + gc $after"
check "rmi then gc frees r5's space (the store is no bigger than before r5, within 2 MiB)" \
	test "$after" -le $((before + 2 * MiB))
# The pull left analysis results for r5's contents (the secrets prescan): gc
# drops those no stored layer holds, keeps the others, and a gc after it
# finds nothing more; the stored images' results still answer an analysis.
check "gc drops the analysis results of r5's contents" jq -e '.memo_results_removed > 0' "$TMP/gc.out"
is "a second gc drops no analysis result" "$("$STRATA" cache gc --json | jq .memo_results_removed)" 0
check "analyze app after gc" "$STRATA" analyze --analyzers secrets "oci:$IMAGES:app" -o "$TMP/app.json"
is "its secrets results all come from the memo (kept by gc): no file opened" \
	"$(jq -c '.stats.analyzers.secrets | [.opened, .memo_hits == .claimed]' "$TMP/app.json")" '[0,true]'
rules=$(jq -r '.analyzers[] | select(.name == "secrets") | .config' "$TMP/app.json")
kept=0
for l in $(jq -r '.image.layers[]' "$TMP/app.json"); do
	curl -s --unix-socket "$STRATA_STORE/strata.sock" -X POST http://strata/v1/analysis/lookup \
		-d "{\"keys\": [\"secrets@1+$rules/layer/$l\"]}" | jq -e '.results | length == 1' >/dev/null &&
		kept=$((kept + 1))
done
is "gc kept the layer summary of each of app's layers" "$kept" "$(jq '.image.layers | length' "$TMP/app.json")"
stop_store_daemon

# --- two concurrent pulls of one image fetch each blob once ----------------
start_registry
push_image app || exit 99
export STRATA_STORE=$TMP/concurrent
: >"$REGISTRY_LOG.mark"; start_line=$(wc -l <"$REGISTRY_LOG")
"$STRATA" pull -q "$REGISTRY/strata/app" >"$TMP/p1.out" 2>&1 & p1=$!
"$STRATA" pull -q "$REGISTRY/strata/app" >"$TMP/p2.out" 2>&1 & p2=$!
rc1=0; wait $p1 || rc1=$?; rc2=0; wait $p2 || rc2=$?
is "both concurrent pulls succeed" "$rc1 $rc2" "0 0"
multi=0
for blob in $(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/strata/app" | jq -r '.layers[].digest'); do
	n=$(tail -n +"$((start_line + 1))" "$REGISTRY_LOG" | grep -c "\"GET /v2/strata/app/blobs/$blob")
	note "GETs of ${blob:7:12}: $n"
	[ "$n" -eq 1 ] || multi=1
done
is "each layer blob was fetched once" "$multi" 0

# --- prune, gc and verify while 8 readers read a mount --------------------
mkdir -p "$TMP/mR"
check "pull base too" "$STRATA" pull -q "$REGISTRY/strata/app"
check "mount app" "$STRATA" mount "$REGISTRY/strata/app" "$TMP/mR"
rm -rf "$TMP/unpack"; umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1
python3 "$TEST_SRCDIR/random-reads.py" "$TMP/mR" "$TMP/unpack/rootfs" 8 1500 >"$TMP/readers.out" 2>&1 &
readers=$!
loops=0 cmd_fail=0
while kill -0 $readers 2>/dev/null; do
	for c in "cache prune --all" "cache gc" "cache verify"; do
		"$STRATA" $c >"$TMP/maint.out" 2>&1 || { cmd_fail=1; note "$c failed: $(tail -1 "$TMP/maint.out")"; }
	done
	loops=$((loops + 1))
done
rc=0; wait $readers || rc=$?
note "maintenance loops during the readers: $loops"
is "8 readers x 1500 random reads: no error, byte-exact, during prune/gc/verify" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/readers.out"
is "prune, gc and verify all succeeded meanwhile" "$cmd_fail" 0
check "umount" "$STRATA" umount "$TMP/mR"
done_testing
