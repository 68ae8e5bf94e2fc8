#!/bin/bash
# Signed values (memo.redis_hmac_key_file): a node with the fleet's key
# believes only values signed under it. Values written without a key, or
# under another key, are refused and counted, and the analysis is made
# afresh; a node without a key refuses signed values (it cannot check
# them). A key file others can read, or one too short, keeps the daemon
# from starting, with one line saying why.
. "$(dirname "$0")/lib.sh"
need_cmd skopeo jq curl openssl redis-server redis-cli
need_fuse
test_images
start_registry
push_image app || exit 99
start_redis
REF=$REGISTRY/strata/app

on() { local n=$1; shift; STRATA_STORE="$TMP/$n" STRATA_MEMO_REDIS=$REDIS_URL "$STRATA" "$@"; }
metric() { metric_of "$TMP/$1" "$2"; }
drained() { shared_memo_drained "$TMP/$1"; }
# refused_all NODE REASON WHAT: NODE refused values for REASON, and every
# value it asked Redis for was refused or not there.
refused_all() {
	local n=$1 reason=$2 what=$3 r
	r=$(metric "$n" "strata_shared_memo_rejected_total{reason=\"$reason\"}")
	check "$n refused $what ($r, $reason)" test "$r" -gt 0
	is "every value $n asked for was refused or not there" "$((r + $(metric "$n" strata_shared_memo_misses_total)))" "$asked"
}
answers() { jq -cS '{distro, packages, secrets, files}' "$1" | sha256sum | cut -c1-16; }
(umask 077; openssl rand -hex 32 >"$TMP/k1"; openssl rand -hex 32 >"$TMP/k2")

# --- a node without a key writes unsigned values -------------------------------------------
check "node p (no key): analyze app" on p analyze "$REF" -o "$TMP/p.json"
check "node p: written" drained p
# What a node asks of Redis, for this image: p's misses (Redis was empty).
asked=$(metric p strata_shared_memo_misses_total)
note "node p asked Redis for $asked values"
report_key=$(redis_cli --scan --pattern 'strata:report:*')

# --- key 1 refuses them --------------------------------------------------------------------------
export STRATA_MEMO_REDIS_HMAC_KEY_FILE=$TMP/k1
check "node s1 (key 1): analyze app" on s1 analyze "$REF" -o "$TMP/s1.json"
is "s1 did not believe p's unsigned report" "$(jq -r .stats.report_cached "$TMP/s1.json")" false
is "s1 made the same report" "$(answers "$TMP/s1.json")" "$(answers "$TMP/p.json")"
refused_all s1 unsigned "p's unsigned values"
is "and took no value of p's" "$(metric s1 strata_shared_memo_hits_total)" 0
is "cache stats says the values are signed" "$(on s1 cache stats --json | jq .shared_memo.signed)" true
check "node s1: written, signed" drained s1
is "the report in Redis is now signed (flag 2)" \
	"$(redis_cli --raw GETRANGE "$report_key" 6 6 | head -c1 | od -An -tu1 | tr -d ' \n')" "$(printf '%d' $((2 | 1)))"

# --- key 1 believes key 1 --------------------------------------------------------------------------
check "node s3 (key 1): analyze app" on s3 analyze "$REF" -o "$TMP/s3.json"
is "s3 answers from s1's signed report" "$(jq -r .stats.report_cached "$TMP/s3.json")" true
is "with s1's answers" "$(answers "$TMP/s3.json")" "$(answers "$TMP/s1.json")"
is "nothing refused" "$(metric s3 strata_shared_memo_rejected_total)" 0

# --- key 2 refuses key 1's ---------------------------------------------------------------------------
export STRATA_MEMO_REDIS_HMAC_KEY_FILE=$TMP/k2
check "node s2 (key 2): analyze app" on s2 analyze "$REF" -o "$TMP/s2.json"
is "s2 did not believe the report signed under key 1" "$(jq -r .stats.report_cached "$TMP/s2.json")" false
is "s2 made the same report" "$(answers "$TMP/s2.json")" "$(answers "$TMP/p.json")"
refused_all s2 signature "the values signed under key 1"
check "node s2: written" drained s2

# --- a forger who knows the format but not the key ----------------------------------------------------
# Flip the body of the signed report and recompute nothing: refused.
redis_cli EVAL "local v = redis.call('GET', KEYS[1])
return redis.call('SET', KEYS[1], string.sub(v, 1, 60) .. string.char((string.byte(v, 61) + 1) % 256) .. string.sub(v, 62))" \
	1 "$report_key" >/dev/null
check "node s4 (key 2): analyze app" on s4 analyze "$REF" -o "$TMP/s4.json"
is "a changed signed report is not believed" "$(jq -r .stats.report_cached "$TMP/s4.json")" false
is "it is counted" "$(metric s4 'strata_shared_memo_rejected_total{reason="signature"}')" 1

# --- without a key, signed values cannot be checked ------------------------------------------------
unset STRATA_MEMO_REDIS_HMAC_KEY_FILE
check "node p2 (no key): analyze app" on p2 analyze "$REF" -o "$TMP/p2.json"
is "p2 did not believe signed values" "$(jq -r .stats.report_cached "$TMP/p2.json")" false
refused_all p2 unverifiable "the signed values"

# --- keys that cannot be used ---------------------------------------------------------------------------
openssl rand -hex 32 >"$TMP/loose"
chmod 0644 "$TMP/loose"
fails_with "a key file others can read: the daemon does not start" "readable or writable by others" \
	env STRATA_STORE="$TMP/x1" STRATA_MEMO_REDIS="$REDIS_URL" STRATA_MEMO_REDIS_HMAC_KEY_FILE="$TMP/loose" \
	"$STRATA" images
printf 'short\n' >"$TMP/short"
chmod 0600 "$TMP/short"
fails_with "a key of 5 bytes: the daemon does not start" "at least 32" \
	env STRATA_STORE="$TMP/x2" STRATA_MEMO_REDIS="$REDIS_URL" STRATA_MEMO_REDIS_HMAC_KEY_FILE="$TMP/short" \
	"$STRATA" images
done_testing
