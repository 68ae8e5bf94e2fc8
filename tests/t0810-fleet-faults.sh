#!/bin/bash
# The shared memo's faults: Redis stopped in the middle of a run, started
# again, made slow (DEBUG SLEEP), full (maxmemory), filled with garbage
# under strata's keys, and a server that does not speak Redis at all.
# Every analysis completes with the report a node without Redis makes; one
# warning per outage, not one per file; the counters move; the tier comes
# back by itself.
. "$(dirname "$0")/lib.sh"
need_cmd skopeo jq curl python3 redis-server redis-cli
need_fuse
test_images
start_registry
for t in app base rebuilt; do push_image "$t" || exit 99; done
start_redis
# A call to Redis gets 200 ms, far below section 2's 4 s sleep; a sanitized
# daemon on a busy machine once took longer than that for a sound read
# (section 3 saw an outage that was not one), so it gets 1 s.
STRATA_MEMO_REDIS_TIMEOUT=200ms
[ -n "${STRATA_TEST_SANITIZED:-}" ] && STRATA_MEMO_REDIS_TIMEOUT=1s
export STRATA_MEMO_REDIS_TIMEOUT STRATA_LOG_LEVEL=info

# on NODE strata ARGS...: a node of the fleet, with its own store and daemon.
on() { local n=$1; shift; STRATA_STORE="$TMP/$n" STRATA_MEMO_REDIS=${URL:-$REDIS_URL} "$STRATA" "$@"; }
metric() { metric_of "$TMP/$1" "$2"; }
drained() { shared_memo_drained "$TMP/$1"; }
warnings() { grep -c 'shared memo redis://.*analyses go on' "$TMP/$1/daemon.log"; }
answers() { jq -cS '{distro, packages, secrets, files}' "$1" | sha256sum | cut -c1-16; }
# analyze NODE IMAGE WHAT: analyzes, and checks the answers against the reference.
analyze() {
	local n=$1 img=$2 what=$3
	check "$what: node $n analyzes $img" on "$n" analyze "$REGISTRY/strata/$img" -o "$TMP/$n-$img.json"
	is "$what: the right report" "$(answers "$TMP/$n-$img.json")" "$(answers "$TMP/ref-$img.json")"
}

# The reference: a node without Redis.
for img in app base rebuilt; do
	STRATA_STORE=$TMP/ref "$STRATA" analyze "$REGISTRY/strata/$img" -o "$TMP/ref-$img.json" ||
		{ echo "# the reference analysis of $img failed"; exit 99; }
done

# --- 1. Redis stopped in the middle of a run, then started again -----------------------
on f1 analyze "$REGISTRY/strata/app" -o "$TMP/f1-app.json" &
job=$!
sleep 1
kill -KILL "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
wait "$job"
is "stopped mid-run: the analysis completed" "$?" 0
is "stopped mid-run: the right report" "$(answers "$TMP/f1-app.json")" "$(answers "$TMP/ref-app.json")"
analyze f1 base "Redis down"
is "one warning for the outage, not one per file or call" "$(warnings f1)" 1
is "the tier is down" "$(metric f1 strata_shared_memo_up)" 0
check "failed calls are counted" test "$(metric f1 strata_shared_memo_errors_total)" -ge 1
check "calls not tried during the outage are counted" test "$(metric f1 strata_shared_memo_skipped_total)" -gt 0
queued=$(metric f1 strata_shared_memo_queue_items)
check "what could not be written waits in the queue ($queued values)" test "$queued" -gt 0
start_redis redis "$REDIS_PORT"
sleep 1.2
analyze f1 rebuilt "Redis back"
check "the tier reconnected by itself" test "$(metric f1 strata_shared_memo_up)" = 1
check "and says so" grep -q 'shared memo redis://.*: reachable again after' "$TMP/f1/daemon.log"
check "and writes what waited" drained f1
check "the queued values are in Redis" test "$(redis_cli DBSIZE)" -gt 100
is "still one warning" "$(warnings f1)" 1

# --- 2. slow: DEBUG SLEEP holds the server --------------------------------------------------
redis_cli FLUSHALL >/dev/null
redis_cli DEBUG SLEEP 4 >/dev/null &
sleeper=$!
sleep 0.2
t0=$EPOCHREALTIME
analyze f2 app "Redis slow"
note "the analysis took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s while Redis slept 4 s"
wait "$sleeper"
is "slow: one warning" "$(warnings f2)" 1
check "slow: its calls timed out, counted" test "$(metric f2 strata_shared_memo_errors_total)" -ge 1
check "slow: it comes back once Redis answers" drained f2
is "and is up" "$(metric f2 strata_shared_memo_up)" 1

# --- 3. full: maxmemory reached, writes refused ---------------------------------------------
redis_cli FLUSHALL >/dev/null
redis_cli CONFIG SET maxmemory 1 >/dev/null
redis_cli CONFIG SET maxmemory-policy noeviction >/dev/null
analyze f3 base "Redis full"
check "full: the queue drains (the server refuses)" drained f3
check "full: refused writes are counted" test "$(metric f3 strata_shared_memo_write_refused_total)" -gt 0
is "full: one warning, naming the server's reason" "$(grep -c 'values are not written: SET: OOM' "$TMP/f3/daemon.log")" 1
is "full: reads still work, no outage" "$(metric f3 strata_shared_memo_up) $(warnings f3)" "1 0"
redis_cli CONFIG SET maxmemory 0 >/dev/null

# --- 4. garbage under strata's keys ------------------------------------------------------------
redis_cli FLUSHALL >/dev/null
analyze f4 app "before the garbage"
check "node f4 wrote its results" drained f4
# Half the values replaced by garbage, the other half with a byte changed.
redis_cli EVAL "local n = 0
for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
  n = n + 1
  if n % 2 == 0 then redis.call('SET', k, 'garbage') else
    local v = redis.call('GET', k)
    redis.call('SET', k, string.sub(v, 1, -2) .. string.char((string.byte(v, -1) + 1) % 256))
  end
end
return n" 0 'strata:*' >"$TMP/garbled"
note "$(cat "$TMP/garbled") values garbled"
analyze f5 app "garbage"
is "garbage: the stored report was not believed" "$(jq -r .stats.report_cached "$TMP/f5-app.json")" false
check "garbage: malformed values are counted" \
	test "$(metric f5 'strata_shared_memo_rejected_total{reason="malformed"}')" -gt 0
check "garbage: damaged values are counted" \
	test "$(metric f5 'strata_shared_memo_rejected_total{reason="checksum"}')" -gt 0
is "garbage: no outage, no warning" "$(metric f5 strata_shared_memo_up) $(warnings f5)" "1 0"
check "node f5 wrote sound values over them" drained f5
analyze f6 app "after the garbage"
is "after the garbage: the report rewritten by f5 is used" "$(jq -r .stats.report_cached "$TMP/f6-app.json")" true

# --- 5. a server that does not speak Redis ---------------------------------------------------------
port=$(free_port)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096); c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nnot redis\n")
    except OSError:
        pass
    c.close()
' "$port" &
junk=$!
at_exit "kill $junk; wait $junk"
wait_tcp "$port" || exit 99
URL=redis://127.0.0.1:$port analyze f7 app "not Redis"
is "not Redis: one warning" "$(warnings f7)" 1
check "which says what the server answered" grep -q 'protocol error (not a Redis server?)' "$TMP/f7/daemon.log"
done_testing
