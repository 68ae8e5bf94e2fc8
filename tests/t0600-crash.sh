#!/bin/bash
# t0600-crash: crash safety. `strata pull` and the store daemon are killed
# with SIGKILL together at many points of a multi-layer pull (by time, spread
# from 20 ms to past the length of an uncut pull, and by progress: right
# after the k-th layer is committed), then during `cache prune --all` and
# `cache gc`. After each kill the next command starts a new daemon on the
# same store, and: `cache verify` finds it consistent, every layer record is
# complete, mapped (evicted with its map kept) or evicted, layers committed before the kill are still there, the
# interrupted image is either not listed or mounts with the exact tree, and a
# fresh pull mounts with the exact tree (compared with umoci unpack).
# STRATA_CRASH_POINTS (default 12) sets the number of timed pull kill points.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci skopeo jq python3 pgrep
test_images
start_registry
push_image app || exit 99
APP=$REGISTRY/strata/app
POINTS=${STRATA_CRASH_POINTS:-12}
MNT=$TMP/mnt
mkdir -p "$MNT"

U=$TMP/unpack/rootfs
umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1 || { echo "# umoci unpack failed"; exit 99; }
tree_listing "$U" >"$TMP/want"
note "reference: umoci unpack of app, $(wc -l <"$TMP/want") entries"

APP_DIFFS=$(m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="app") | .digest' \
	"$IMAGES/index.json"); c=$(jq -r .config.digest "$IMAGES/blobs/sha256/${m#sha256:}");
	jq -r '.rootfs.diff_ids[]' "$IMAGES/blobs/sha256/${c#sha256:}")
NL=$(wc -w <<<"$APP_DIFFS")

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sleep_ms() { [ "$1" -gt 0 ] && sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; return 0; }
# The daemon of $STRATA_STORE (the CLI starts it as `strata --store DIR -v serve`).
daemon_pids() { pgrep -f -- "--store $STRATA_STORE (--config [^ ]+ )?-v+ serve\$"; }
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# kill_now CLIENT_PID: SIGKILL the client and every daemon of the store at once.
kill_now() {
	local p d
	d=$(daemon_pids)
	kill -KILL "$1" $d 2>/dev/null
	wait "$1" 2>/dev/null
	# A daemon forked by the client just now (not yet exec'd when looked for).
	sleep 0.05
	d="$d $(daemon_pids)"
	kill -KILL $d 2>/dev/null
	for p in $d; do
		for _ in $(seq 200); do alive "$p" || break; sleep 0.01; done
	done
}
stop_daemon() { local d; d=$(daemon_pids); [ -n "$d" ] && kill -KILL $d && sleep 0.1; return 0; }
layers_stored_in_log() { tail -c +"$(($1 + 1))" "$STRATA_STORE/daemon.log" 2>/dev/null | grep -c 'info: layer .* stored'; }
log_size() { stat -c %s "$STRATA_STORE/daemon.log" 2>/dev/null || echo 0; }
app_complete() {
	"$STRATA" cache ls --json | jq -r '.[] | select(.state == "complete") | .layer_id' >"$TMP/complete"
	grep -cxF -f <(tr ' ' '\n' <<<"$APP_DIFFS") "$TMP/complete"
}
app_listed() { "$STRATA" images --json | jq -e --arg n "$APP:latest" 'any(.[]; .names | index($n))' >/dev/null; }

# consistent LABEL: verify clean, every layer complete, mapped or evicted.
consistent() {
	local v bad
	v=$("$STRATA" cache verify --json 2>"$TMP/verify.err")
	bad=$("$STRATA" cache ls --json 2>/dev/null | jq '[.[] | select(.state != "complete" and .state != "mapped" and .state != "evicted")] | length')
	if [ "$(jq -c '[.clean, (.missing|length), (.corrupt|length), (.layers|length)]' <<<"$v" 2>/dev/null)" = '[true,0,0,0]' ] &&
		[ "$bad" = 0 ]; then
		ok "$1: cache verify clean ($(jq .chunks_checked <<<"$v") chunks), every layer complete, mapped or evicted"
	else
		not_ok "$1: cache verify clean, every layer complete, mapped or evicted"
		echo "#   verify: $(jq -c '{clean, missing: (.missing|length), corrupt: (.corrupt|length), layers}' <<<"$v" 2>/dev/null) $(cat "$TMP/verify.err")"
		echo "#   layers in other states: $bad"
		faults=$((faults + 1))
	fi
}
# exact_mount LABEL REF [--no-pull]: mounts REF and compares with the reference.
exact_mount() {
	local label=$1 ref=$2; shift 2
	if ! "$STRATA" mount "$@" "$ref" "$MNT" >"$TMP/mount.out" 2>&1; then
		not_ok "$label: mount"; sed 's/^/#   /' "$TMP/mount.out"; faults=$((faults + 1)); return
	fi
	tree_listing "$MNT" >"$TMP/got" 2>"$TMP/got.err"
	"$STRATA" umount "$MNT" >/dev/null 2>&1
	if cmp -s "$TMP/want" "$TMP/got"; then
		ok "$label: mounted tree equals umoci unpack"
	else
		not_ok "$label: mounted tree equals umoci unpack"
		{ diff "$TMP/want" "$TMP/got" | head -10; head -3 "$TMP/got.err"; } | sed 's/^/#   /'
		faults=$((faults + 1))
	fi
}
# after_kill LABEL: the checks every kill point gets, then a fresh pull.
after_kill() {
	local label=$1
	consistent "$label"
	if app_listed; then
		exact_mount "$label: interrupted image is listed, so complete" "$APP" --no-pull
	else
		ok "$label: interrupted image is not listed"
	fi
	if "$STRATA" pull -q "$APP" >"$TMP/pull.out" 2>&1; then
		exact_mount "$label: fresh pull" "$APP" --no-pull
	else
		not_ok "$label: fresh pull"; sed 's/^/#   /' "$TMP/pull.out"; faults=$((faults + 1))
	fi
}

faults=0 kills=0 lost=0
garbage_chunks=0 garbage_files=0 garbage_tmp=0 garbage_layers=0 garbage_bytes=0
# reset_app: app removed and the store collected, counting what crashes left.
reset_app() {
	"$STRATA" rmi "$APP" >/dev/null 2>&1
	local g; g=$("$STRATA" cache gc --json 2>/dev/null)
	garbage_chunks=$((garbage_chunks + $(jq .chunks_removed <<<"$g")))
	garbage_files=$((garbage_files + $(jq .files_removed <<<"$g")))
	garbage_tmp=$((garbage_tmp + $(jq .temp_files_removed <<<"$g")))
	garbage_layers=$((garbage_layers + $(jq .leftover_layers <<<"$g")))
	garbage_bytes=$((garbage_bytes + $(jq .bytes_freed <<<"$g")))
}

# --- an uncut pull, to spread the kill points over ---------------------------
check "cold pull of app" "$STRATA" pull -q "$APP"
reset_app
t0=$(now_ms); "$STRATA" pull -q "$APP" >/dev/null 2>&1; D=$(( $(now_ms) - t0 ))
note "uncut pull of app ($NL layers, daemon running): $D ms"
reset_app
check "after rmi and gc the chunk directory is empty" test "$(find "$STRATA_STORE/chunks" -type f | wc -l)" -eq 0

# --- SIGKILL during pulls ----------------------------------------------------
# kill_pull LABEL MODE ARG: MODE "time" kills ARG ms after the pull starts;
# "layers" kills as soon as the daemon has logged ARG layers as stored.
kill_pull() {
	local label=$1 mode=$2 arg=$3 cold=$4
	[ "$cold" = cold ] && stop_daemon
	local off; off=$(log_size)
	local start; start=$(now_ms)
	"$STRATA" pull -q "$APP" >/dev/null 2>&1 &
	local pid=$!
	if [ "$mode" = time ]; then
		sleep_ms $(( arg - ($(now_ms) - start) ))
	else
		while kill -0 "$pid" 2>/dev/null && [ "$(layers_stored_in_log "$off")" -lt "$arg" ]; do sleep 0.005; done
	fi
	local at=$(( $(now_ms) - start ))
	local finished=no; kill -0 "$pid" 2>/dev/null || finished=yes
	kill_now "$pid"
	kills=$((kills + 1))
	local before; before=$(layers_stored_in_log "$off")
	local files; files=$(find "$STRATA_STORE/chunks" -type f 2>/dev/null | wc -l)
	local tmps; tmps=$(find "$STRATA_STORE/chunks" -name '*.tmp' 2>/dev/null | wc -l)
	local after; after=$(app_complete)
	local listed=no; app_listed && listed=yes
	note "$label: killed at $at ms ($cold daemon, pull had finished: $finished): $before/$NL layers logged stored before the kill, $after/$NL complete after restart, $files chunk files ($tmps .tmp), image listed: $listed"
	if [ "$after" -lt "$before" ]; then
		not_ok "$label: layers committed before the kill are still complete"; lost=$((lost + before - after)); faults=$((faults + 1))
	else
		ok "$label: layers committed before the kill are still complete"
	fi
	after_kill "$label"
	reset_app
}

for ((i = 0; i < POINTS; i++)); do
	# 20 ms up to 130% of the uncut pull; every third point starts cold, so
	# that some kills land in the daemon's start (RocksDB recovery).
	ms=$(( 20 + (D * 130 / 100 - 20) * i / (POINTS - 1) ))
	mode=warm; [ $((i % 3)) -eq 1 ] && mode=cold
	kill_pull "pull kill $((i + 1))/$POINTS" time "$ms" "$mode"
done
for k in 1 2 3; do
	kill_pull "pull kill after layer $k committed" layers "$k" warm
done
pull_kills=$kills

# r1, r2: one-layer images of 24 MiB of random bytes, sharing no chunk with
# anything (more layers for prune to evict). g0..g5: 12,000 files of 1 KiB
# of random bytes under 200-byte names, then one of 4 MiB, for pulls to be
# killed in; chunks that small live in the index, so a killed pull leaves
# index records (entries, references, chunk records), then chunk files.
# One g image per killed pull: removing a complete one is slow.
python3 - "$TEST_SRCDIR" "$TMP/rand" <<'PY' || exit 99
import random, sys, tarfile
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    for i in range(1, 9):
        rng = random.Random(600 + i)
        files = {f'r{i}.bin': rng.randbytes(24 << 20)} if i < 3 else \
            dict([(f'g/{j // 1000:02d}/' + 'n' * 190 + f'{j:05d}', rng.randbytes(1024)) for j in range(12000)] +
                 [('g/big.bin', rng.randbytes(4 << 20))])
        lay.image(f"r{i}" if i < 3 else f"g{i - 3}", files, dirs=(), fmt=tarfile.GNU_FORMAT)
PY
R1=oci:$TMP/rand:r1 R2=oci:$TMP/rand:r2

# kill_maint LABEL MODE ARG CMD...: runs `strata CMD...` and kills it and the
# daemon ARG ms later (MODE time) or once the daemon has logged ARG
# evictions (MODE evictions).
kill_maint() {
	local label=$1 mode=$2 arg=$3; shift 3
	local off; off=$(log_size)
	local start; start=$(now_ms)
	"$STRATA" "$@" >/dev/null 2>&1 &
	local pid=$!
	if [ "$mode" = time ]; then
		sleep_ms $(( arg - ($(now_ms) - start) ))
	else
		while kill -0 "$pid" 2>/dev/null &&
			[ "$(tail -c +"$((off + 1))" "$STRATA_STORE/daemon.log" | grep -c 'info: evicted layer')" -lt "$arg" ]; do
			sleep 0.005
		done
	fi
	local at=$(( $(now_ms) - start ))
	local finished=no; kill -0 "$pid" 2>/dev/null || finished=yes
	kill_now "$pid"
	kills=$((kills + 1))
	local ev; ev=$(tail -c +"$((off + 1))" "$STRATA_STORE/daemon.log" | grep -c 'info: evicted layer')
	note "$label: killed at $at ms (finished: $finished): $ev layers logged evicted; $(app_complete)/$NL app layers complete after restart"
}

# --- SIGKILL during prune --all ----------------------------------------------
# Three images, six layers, about 130 MiB of chunks to evict; killed 30 ms
# in, and right after the 2nd, 3rd, 4th and 5th layer is evicted (prune's
# speed varies too much with load for points by time alone).
prune_point() { # LABEL MODE ARG
	"$STRATA" pull -q "$APP" "$R1" "$R2" >"$TMP/pull.out" 2>&1 ||
		{ not_ok "$1: re-pull before the kill"; sed 's/^/#   /' "$TMP/pull.out"; }
	kill_maint "$1" "$2" "$3" cache prune --all
	consistent "$1"
	is "$1: the three images are still listed" "$("$STRATA" images --json | jq length)" 3
	exact_mount "$1: app (evicted layers fetched again)" "$APP"
}
prune_point "prune kill at 30 ms" time 30
for k in 2 3 4 5; do
	prune_point "prune kill after $k evictions" evictions $k
done
prune_kills=$((kills - pull_kills))

# --- SIGKILL during gc --------------------------------------------------------
# gc's work is what killed pulls leave: entries, references, chunk records
# and chunk files of a layer never committed. Before each gc, a pull of the
# next g image is killed at 60% of an uncut one (timed on g0 in a store of
# its own); app stays stored throughout.
"$STRATA" rmi "$R1" "$R2" >/dev/null 2>&1
t0=$(now_ms); STRATA_STORE=$TMP/measure "$STRATA" pull -q "oci:$TMP/rand:g0" >/dev/null 2>&1; TG=$(( $(now_ms) - t0 ))
kill -TERM $(STRATA_STORE=$TMP/measure daemon_pids) 2>/dev/null
note "uncut pull of a g image (12,001 files) in an empty store: $TG ms"
make_garbage() { # N: a killed pull of gN
	"$STRATA" images >/dev/null 2>&1  # starts the daemon the last kill stopped
	local start; start=$(now_ms)
	"$STRATA" pull -q "oci:$TMP/rand:g$1" >/dev/null 2>&1 &
	local pid=$!
	sleep_ms $(( TG * 60 / 100 - ($(now_ms) - start) ))
	kill_now "$pid"
	note "killed a pull of g$1: $(find "$STRATA_STORE/chunks" -type f | wc -l) chunk files in the store"
}
make_garbage 1
t0=$(now_ms); "$STRATA" cache gc --json >"$TMP/gc.json" 2>&1; G=$(( $(now_ms) - t0 ))
note "uncut gc after a killed pull: $G ms: $(jq -c . "$TMP/gc.json")"
n=2
for f in 10 35 60 85; do
	make_garbage $n; n=$((n + 1))
	kill_maint "gc kill at $f% of $G ms" time $(( G * f / 100 + 5 )) cache gc
	consistent "gc kill at $f%"
	exact_mount "gc kill at $f%: app" "$APP" --no-pull
done
gc_kills=$((kills - pull_kills - prune_kills))
check "a last gc runs to the end" "$STRATA" cache gc
consistent "after the last gc"
done_g=$("$STRATA" images --json | jq -r '.[].names[]' | grep '/rand:g')
[ -n "$done_g" ] && note "killed pulls that had completed anyway: $(echo $done_g)"
"$STRATA" rmi "$APP" "$R1" "$R2" $done_g >/dev/null 2>&1
# A killed pull may have committed its layer without writing the image: a
# complete layer no image uses is cache (a new pull reuses it), which
# gc keeps and prune --all evicts.
"$STRATA" cache prune --all >/dev/null 2>&1
"$STRATA" cache gc >/dev/null 2>&1
is "rmi of everything, prune --all and gc: no chunk file is left behind" "$(find "$STRATA_STORE/chunks" -type f | wc -l)" 0

note "SIGKILLs: $pull_kills during pulls, $prune_kills during prune --all, $gc_kills during gc; faults: $faults; committed layers lost: $lost"
note "left by killed pulls, found by gc after the fresh pull and rmi: $garbage_layers leftover layers, $garbage_chunks chunk records, $garbage_files orphan chunk files, $garbage_tmp temp files, $garbage_bytes bytes"
is "no fault at any kill point" "$faults" 0
note "runtime: $SECONDS s"
done_testing
