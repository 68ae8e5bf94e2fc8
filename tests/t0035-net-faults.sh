#!/bin/bash
# t0035-net-faults: pulls through tests/registry-proxy.py, a proxy on
# loopback between strata and a registry that injects network faults: cuts
# at random (seeded) and fixed offsets inside blobs, Range requests answered
# with the whole blob, a stall mid-blob, 500s, 429s and 503s with
# Retry-After, corrupted bytes, more failures than registry.retries allows,
# and a registry that goes away. Each pull goes to a fresh store; one that
# survives must leave a complete image (cache verify clean, the files equal a
# pull straight from the registry), one that cannot must fail with one clear
# line and store nothing. The last line counts the cases.
. "$(dirname "$0")/lib.sh"

need_cmd docker-registry skopeo python3 curl jq
[ -x "$STRATA" ] || skip_all "strata is not built ($STRATA)"
test_images
start=$SECONDS
# The seed of the random offsets: set STRATA_TEST_SEED to repeat a run.
SEED=${STRATA_TEST_SEED:-35}
# Blob bodies under 1 MB (the image configurations) are spared random faults,
# which are meant for layers: a cut configuration is fetched again whole, and
# eight cuts in a row would exhaust registry.retries.
MIN=1000000

# pull STORE [VAR=VALUE...] COMMAND...: runs COMMAND on its own store, so
# that no case is satisfied by what an earlier one stored.
pull() {
	local store=$1; shift
	env STRATA_STORE="$TMP/stores/$store" "$@"
}

# retire STORE: stops STORE's daemon as soon as its case is done, without
# waiting, rather than leaving a dozen for lib.sh's cleanup to stop in turn.
retire() {
	local pid
	pid=$(curl -s --max-time 5 --unix-socket "$TMP/stores/$1/strata.sock" http://strata/v1/version |
		jq -r .pid 2>/dev/null)
	[ -n "$pid" ] && [ "$pid" != null ] && kill -TERM "$pid" 2>/dev/null
	return 0
}

# listed STORE REF: strata images in STORE shows REF.
listed() {
	STRATA_STORE="$TMP/stores/$1" "$STRATA" images | grep -qF "$2"
}

# faults KIND: how many answers in PROXY_LOG had the fault KIND (cut, stall...).
faults() { grep -c "\"fault\": \"$1 at " "$PROXY_LOG"; }
# answered STATUS: how many requests in PROXY_LOG were answered with STATUS.
answered() { grep -c "\"status\": $1," "$PROXY_LOG"; }

# waits STATUS: for each answer with STATUS in PROXY_LOG, the seconds until
# the next request for the same path ("none" if there was none).
waits() {
	jq -rs --argjson s "$1" '
		group_by(.path)[] | sort_by(.time) as $r |
		range(0; $r | length) as $i | select($r[$i].status == $s) |
		if $r[$i + 1] then (($r[$i + 1].time - $r[$i].time) * 1000 | round) / 1000 | tostring
		else "none" end' "$PROXY_LOG" | xargs
}
# at_least MIN "LIST": every number in the blank-separated LIST is at least
# MIN (and there is one).
at_least() {
	[ -n "$2" ] && tr ' ' '\n' <<<"$2" |
		awk -v m="$1" '$1 == "none" || $1 + 0 < m + 0 {bad = 1} END {exit bad}'
}

# bad_resumes: one line per cut answer in PROXY_LOG that was not followed by
# a request for the same blob asking for the first byte it did not get.
bad_resumes() {
	jq -rs '
		group_by(.path)[] | sort_by(.time) as $r |
		range(0; $r | length) as $i | $r[$i] |
		select((.fault // "") | startswith("cut at ")) |
		(((.range // "bytes=0-") | ltrimstr("bytes=") | rtrimstr("-") | tonumber) +
		 (.fault | split(" ")[2] | tonumber)) as $next |
		select(($r[$i + 1].range // "") != "bytes=\($next)-") |
		"\(.path): cut before byte \($next), then \($r[$i + 1].range // "no request")"' "$PROXY_LOG"
}

n_cases=0 n_survived=0 n_refused=0 n_damaged=0

# verified CASE STORE: cache verify finds STORE clean (the chunks it holds
# hash to their ids). Returns 1 if not.
verified() {
	if pull "$2" "$STRATA" cache verify >"$TMP/verify.out" 2>&1; then
		ok "$1: cache verify is clean"
	else
		not_ok "$1: cache verify is clean"
		sed 's/^/#   /' "$TMP/verify.out" | head -10
		return 1
	fi
}

# complete CASE STORE IMAGE: the image pulled through PROXY into STORE is
# whole: cache verify is clean and its files (paths, modes, owners, sizes,
# sha256s) equal those of the reference pull. Returns 1 if either is not so.
complete() {
	local what=$1 store=$2 image=$3 rc=0
	verified "$what" "$store" || rc=1
	pull "$store" "$STRATA" inspect --files "$PROXY/strata/$image" >"$TMP/got-$store" 2>&1
	if cmp -s "$TMP/want-$image" "$TMP/got-$store"; then
		ok "$what: the files equal the registry's ($(wc -l <"$TMP/got-$store") entries)"
	else
		not_ok "$what: the files equal the registry's"
		diff "$TMP/want-$image" "$TMP/got-$store" | head -10 | sed 's/^/#   /'
		rc=1
	fi
	return $rc
}

# survives CASE STORE IMAGE [VAR=VALUE...]: pulls strata/IMAGE through PROXY
# into a fresh STORE and checks that the image is complete.
survives() {
	local what=$1 store=$2 image=$3; shift 3
	local failed=$tap_failed
	n_cases=$((n_cases + 1))
	check "$what: pull completes" pull "$store" "$@" "$STRATA" pull -q "$PROXY/strata/$image"
	complete "$what" "$store" "$image" || n_damaged=$((n_damaged + 1))
	[ "$tap_failed" -eq "$failed" ] && n_survived=$((n_survived + 1))
	retire "$store"
}

# refused CASE STORE IMAGE MESSAGE [VAR=VALUE...]: the pull through PROXY
# into a fresh STORE fails with one line containing MESSAGE; the image is not
# listed and what the store holds verifies clean.
refused() {
	local what=$1 store=$2 image=$3 want=$4; shift 4
	local failed=$tap_failed
	n_cases=$((n_cases + 1))
	fails_with "$what: the pull fails with one clear line" "$want" \
		pull "$store" "$@" "$STRATA" pull -q "$PROXY/strata/$image"
	cp "$TMP/fw.err" "$TMP/refused.err"
	check "$what: the image is not listed" bash -c "! STRATA_STORE='$TMP/stores/$store' '$STRATA' images | grep -qF '$PROXY/strata/$image'"
	verified "$what" "$store" || n_damaged=$((n_damaged + 1))
	[ "$tap_failed" -eq "$failed" ] && n_refused=$((n_refused + 1))
}

# --- the registry, and the truth: pulls straight from it ----------------------
start_registry
push_image base || exit 99
push_image app || exit 99
check "reference: pull app straight from the registry" pull reference "$STRATA" pull -q "$REGISTRY/strata/app"
check "reference: pull base straight from the registry" pull reference "$STRATA" pull -q "$REGISTRY/strata/base"
for image in app base; do
	pull reference "$STRATA" inspect --files "$REGISTRY/strata/$image" >"$TMP/want-$image" ||
		{ echo "# inspect --files $image failed"; exit 99; }
done
retire reference
note "registry at $REGISTRY; app $(wc -l <"$TMP/want-app") entries, base $(wc -l <"$TMP/want-base"); seed $SEED"

# --- cuts -------------------------------------------------------------------
start_proxy cut "$REGISTRY" --cut-random --cut-count 8 --min-size $MIN --seed "$SEED"
survives "random cuts" cut app
is "random cuts: 8 answers were cut" "$(faults cut)" 8
note "random cuts: $(grep -o '"fault": "cut at [0-9]* of [0-9]*' "$PROXY_LOG" | cut -d' ' -f4,6 | tr ' ' / | xargs)"
check "random cuts: across several layers" \
	test "$(grep '"fault": "cut at' "$PROXY_LOG" | jq -r .path | sort -u | wc -l)" -ge 2
is "random cuts: each cut resumed with Range at the first missing byte" "$(bad_resumes)" ""

start_proxy fixed "$REGISTRY" --cut-after 300000 --cut-count 3
survives "cuts after 300000 bytes" fixed base
n_range=$(grep -c '"range": "bytes=' "$PROXY_LOG")
note "cuts after 300000 bytes: $n_range blob requests resumed with Range"
check "cuts after 300000 bytes: cut transfers were resumed with Range" test "$n_range" -ge 3

start_proxy norange "$REGISTRY" --cut-random --cut-count 3 --min-size $MIN --ignore-range --seed "$SEED"
survives "cuts, Range ignored (200 instead of 206)" norange base
is "cuts, Range ignored: 3 answers were cut" "$(faults cut)" 3
check "cuts, Range ignored: Range requests got the whole blob" \
	test "$(grep '"range": "bytes=' "$PROXY_LOG" | grep -c '"status": 200,')" -ge 1

# --- a stall ----------------------------------------------------------------
# The proxy keeps the connection open and silent for 20 s; with
# registry.stall_timeout at 2 s strata gives up on it long before, and
# resumes where the bytes stopped.
start_proxy stall "$REGISTRY" --stall-after 1000000 --stall-seconds 20 --min-size $MIN
survives "stall mid-blob" stall base STRATA_REGISTRY_STALL_TIMEOUT=2
is "stall mid-blob: one answer stalled" "$(faults stall)" 1
stalled=$(jq -rs '[.[] | select((.fault // "") | startswith("stall at "))][0] as $s |
	[.[] | select(.path == $s.path and .time > $s.time)][0] |
	"\(.range) \(((.time - $s.time) * 10 | round) / 10)"' "$PROXY_LOG")
note "stall mid-blob: resumed with $stalled s after the stalled request"
is "stall mid-blob: resumed with Range at byte 1000000" "${stalled% *}" "bytes=1000000-"
check "stall mid-blob: after the 2 s stall timeout, not the proxy's 20 s" \
	awk -v t="${stalled#* }" 'BEGIN {exit !(t >= 2 && t < 10)}'

# --- error answers ----------------------------------------------------------
start_proxy e500 "$REGISTRY" --fail 2 --fail-status 500
survives "500 x2" e500 base
is "500 x2: the 500s were retried" "$(answered 500)" 2

start_proxy e429 "$REGISTRY" --fail 2 --fail-status 429 --retry-after 1
survives "429 x2 with Retry-After: 1" e429 base
is "429 x2: the 429s were retried" "$(answered 429)" 2
w=$(waits 429)
note "429 x2: retried after $w s"
check "429 x2: each retry waited at least Retry-After (1 s)" at_least 1 "$w"

start_proxy e503 "$REGISTRY" --fail 2 --retry-after 1
survives "503 x2 with Retry-After: 1" e503 base
is "503 x2: the 503s were retried" "$(answered 503)" 2
w=$(waits 503)
note "503 x2: retried after $w s"
check "503 x2: each retry waited at least Retry-After (1 s)" at_least 1 "$w"

# --- corrupted bytes --------------------------------------------------------
start_proxy corrupt "$REGISTRY" --corrupt
refused "corrupted first byte" corrupt base "digest mismatch"
retire corrupt

start_proxy corrupt-layer "$REGISTRY" --corrupt-random --min-size $MIN --seed "$SEED"
refused "corrupted byte inside the layer" corrupt-layer base "digest mismatch"
note "corrupted byte inside the layer: $(jq -r '.fault // empty' "$PROXY_LOG")"
bad_blob=$(grep '"fault": "corrupt' "$PROXY_LOG" | head -1 | jq -r '.path | sub(".*/blobs/"; "")')
check "corrupted byte inside the layer: the layer blob is the one rejected" \
	grep -qF "blob '$bad_blob': digest mismatch" "$TMP/refused.err"
is "corrupted byte inside the layer: no layer is stored" \
	"$(pull corrupt-layer "$STRATA" cache ls --json | jq length)" 0
pull corrupt-layer "$STRATA" cache gc >/dev/null 2>&1
is "corrupted byte inside the layer: after cache gc no chunk is left" \
	"$(find "$TMP/stores/corrupt-layer/chunks" -type f 2>/dev/null | wc -l)" 0
retire corrupt-layer

# --- retries exhausted ------------------------------------------------------
start_proxy exhausted "$REGISTRY" --fail 1000 --fail-status 500
refused "500 more often than registry.retries (3)" exhausted base "HTTP 500" STRATA_REGISTRY_RETRIES=3
check "retries exhausted: the message names the registry" grep -qF "registry '$PROXY'" "$TMP/refused.err"
check "retries exhausted: the message says how often it tried" grep -qF "(after 3 attempts)" "$TMP/refused.err"
is "retries exhausted: 3 attempts reached the registry" "$(answered 500)" 3
w=$(waits 500)
note "retries exhausted: retried after $w s"
check "retries exhausted: it backed off, 0.2 s then 0.4 s" \
	awk -v a="$(cut -d' ' -f1 <<<"$w")" -v b="$(cut -d' ' -f2 <<<"$w")" 'BEGIN {exit !(a >= 0.2 && b >= 0.4)}'
start_proxy healthy "$REGISTRY"
check "retries exhausted: a later pull through a healthy proxy completes" \
	pull exhausted "$STRATA" pull -q "$PROXY/strata/base"
complete "retries exhausted, then healthy" exhausted base || n_damaged=$((n_damaged + 1))
retire exhausted

# --- the registry goes away -------------------------------------------------
start_proxy vanish "$REGISTRY" --vanish-after 20000000
refused "registry gone mid-blob" vanish base "cannot reach registry '$PROXY'" STRATA_REGISTRY_RETRIES=3
is "registry gone mid-blob: it went away 20 MB into the layer" "$(faults vanish)" 1
retire vanish
PROXY=127.0.0.1:$(free_port)
refused "no registry listening" refused base "cannot reach registry '$PROXY'" STRATA_REGISTRY_RETRIES=3
retire refused

note "net-faults: $n_cases fault cases, $n_survived survived (pull completed and verified)," \
	"$n_refused refused with a clear error, $n_damaged stores with damaged content" \
	"(seed $SEED, $((SECONDS - start)) s)"
is "net-faults: every case survived or was refused cleanly" "$((n_survived + n_refused))" "$n_cases"
is "net-faults: no store holds damaged content" "$n_damaged" 0
done_testing
