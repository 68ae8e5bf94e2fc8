#!/bin/bash
# t0620-load: 16 concurrent readers on one mount for STRATA_LOAD_SECONDS
# (default 60): random reads compared byte for byte with umoci unpack, lstat
# and readdir compared with it too, while another process loops pull, rmi,
# prune --all and gc of other images on the same store. No read may fail or
# differ, no maintenance command may fail, and the daemon's resident memory,
# sampled every second, stays under a bound. Then: rmi while a pull of an
# image with the same files runs leaves the pulled image complete; and a
# second `strata serve` on the store refuses with one clear line while the
# first daemon keeps serving.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci skopeo jq python3 pgrep timeout
test_images
start_registry
for t in app rebuilt; do push_image "$t" || exit 99; done
APP=$REGISTRY/strata/app
REBUILT=$REGISTRY/strata/rebuilt
SECS=${STRATA_LOAD_SECONDS:-60}
READERS=16
# The bound on the daemon's RSS. What it holds by design: RocksDB's block
# cache (32 MiB) and memtables (4 MiB each, a few), the mount's cache of
# decompressed chunks (64 MiB), per pull worker (3) a 4 MiB pipe, a queue of
# 16 chunks of up to 256 KiB and a 256 KiB read buffer (about 10 MiB each),
# FUSE's worker threads with a 1 MiB buffer each, and malloc's per-thread
# arenas: about 200 MiB. 512 MiB is that with room for fragmentation; more
# means memory that grows with the work done.
RSS_BOUND_MIB=${STRATA_RSS_BOUND_MIB:-512}

# Other images for the maintenance loop: rebuilt (base's files with other
# mtimes: chunks shared with app's mounted base layer) and two one-layer
# images of 16 MiB of random bytes.
python3 - "$TEST_SRCDIR" "$TMP/rand" <<'PY' || exit 99
import random, sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    for i in (1, 2):
        lay.image(f"r{i}", {f"r{i}.bin": random.Random(620 + i).randbytes(16 << 20)})
PY
R1=oci:$TMP/rand:r1 R2=oci:$TMP/rand:r2

daemon_pids() { pgrep -f -- "--store $STRATA_STORE (--config [^ ]+ )?-v+ serve\$"; }
U=$TMP/unpack/rootfs
umoci unpack --image "$IMAGES:app" "$TMP/unpack" >/dev/null 2>&1 || { echo "# umoci unpack failed"; exit 99; }
M=$TMP/mnt
mkdir -p "$M"
check "mount app (pulling it)" "$STRATA" mount "$APP" "$M"
dpid=$(daemon_pids)
check "found the daemon's pid" test -n "$dpid" -a "$(wc -w <<<"$dpid")" -eq 1

# --- the readers ----------------------------------------------------------------
cat >"$TMP/load.py" <<'PY'
"""load.py MNT REF THREADS SECONDS: THREADS threads for SECONDS do random
reads (70%), lstats (15%) and readdirs (15%) under MNT and compare each
with the same under REF. Prints one JSON line of counts; exits 1 on any
difference or error."""
import json, os, random, stat, sys, threading, time
mnt, ref, threads, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
files, paths, dirs = [], [], ['.']
for root, ds, names in os.walk(ref):
    for n in ds + names:
        rel = os.path.relpath(os.path.join(root, n), ref)
        paths.append(rel)
        st = os.lstat(os.path.join(ref, rel))
        if stat.S_ISDIR(st.st_mode):
            dirs.append(rel)
        elif stat.S_ISREG(st.st_mode) and st.st_size > 0:
            files.append((rel, st.st_size))
lock = threading.Lock()
counts = {"reads": 0, "bytes": 0, "stats": 0, "readdirs": 0}
errors = []
deadline = time.monotonic() + secs

def fail(*what):
    with lock:
        errors.append(what)

def key(st):
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
            None if stat.S_ISDIR(st.st_mode) else st.st_size)

def worker(seed):
    rnd = random.Random(seed)
    n = {"reads": 0, "bytes": 0, "stats": 0, "readdirs": 0}
    while time.monotonic() < deadline and not errors:
        op = rnd.random()
        try:
            if op < 0.70:
                rel, size = rnd.choice(files)
                off = rnd.randrange(size)
                ln = rnd.randint(1, 256 << 10)
                with open(os.path.join(ref, rel), 'rb') as a, open(os.path.join(mnt, rel), 'rb') as b:
                    a.seek(off); b.seek(off)
                    want, got = a.read(ln), b.read(ln)
                if want != got:
                    fail("read differs", rel, off, ln)
                n["reads"] += 1
                n["bytes"] += len(got)
            elif op < 0.85:
                rel = rnd.choice(paths)
                if key(os.lstat(os.path.join(ref, rel))) != key(os.lstat(os.path.join(mnt, rel))):
                    fail("lstat differs", rel)
                n["stats"] += 1
            else:
                rel = rnd.choice(dirs)
                if sorted(os.listdir(os.path.join(ref, rel))) != sorted(os.listdir(os.path.join(mnt, rel))):
                    fail("readdir differs", rel)
                n["readdirs"] += 1
        except OSError as e:
            fail("error", str(e))
    with lock:
        for k in n:
            counts[k] += n[k]

ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
counts["errors"] = len(errors)
counts["first_errors"] = [list(map(str, e)) for e in errors[:5]]
print(json.dumps(counts))
sys.exit(1 if errors else 0)
PY

# --- the maintenance loop: other images only ---------------------------------
maint_loop() {
	local n=0 bad=0 c
	while [ ! -e "$TMP/stop-maint" ]; do
		for c in "pull -q $REBUILT" "pull -q $R1" "rmi $R1" "cache prune --all" "cache gc" \
			"pull -q $R2" "pull -q $R1" "rmi $REBUILT" "rmi $R2" "cache gc" "rmi $R1"; do
			[ -e "$TMP/stop-maint" ] && break
			if ! "$STRATA" $c >"$TMP/maint.last" 2>&1; then
				bad=$((bad + 1))
				echo "$c: $(tail -1 "$TMP/maint.last")" >>"$TMP/maint.errors"
			fi
			n=$((n + 1))
		done
	done
	echo "$n $bad" >"$TMP/maint.result"
}

note "$READERS readers for $SECS s on $M while pull/rmi/prune/gc of rebuilt, r1, r2 loop"
rm -f "$TMP/stop-maint"
maint_loop &
maint=$!
python3 "$TMP/load.py" "$M" "$U" "$READERS" "$SECS" >"$TMP/load.out" 2>&1 &
load=$!
peak=0 samples=0
while kill -0 "$load" 2>/dev/null; do
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status" 2>/dev/null)
	if [ -n "$rss" ]; then
		samples=$((samples + 1))
		[ "$rss" -gt "$peak" ] && peak=$rss
		[ $((samples % 10)) -eq 0 ] && note "  t=${samples}s daemon VmRSS $((rss / 1024)) MiB"
	fi
	sleep 1
done
rc=0; wait "$load" || rc=$?
touch "$TMP/stop-maint"
wait "$maint"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$dpid/status" 2>/dev/null)
note "readers: $(cat "$TMP/load.out")"
is "$READERS readers x $SECS s: every read, lstat and readdir equals umoci unpack, no error" "$rc" 0
read -r mcmds mbad <"$TMP/maint.result"
note "maintenance commands run meanwhile: $mcmds"
is "every maintenance command succeeded" "$mbad" 0
[ -s "$TMP/maint.errors" ] && sed 's/^/#   /' "$TMP/maint.errors" | head -10
check "the daemon is the same process throughout" test "$(daemon_pids)" = "$dpid"
echo "# daemon peak RSS: $((peak / 1024)) MiB ($samples samples, 1 s apart; VmHWM $((${hwm:-0} / 1024)) MiB)"
echo "daemon peak RSS: $((peak / 1024)) MiB"
check_rss "daemon peak RSS" $((peak / 1024)) "$RSS_BOUND_MIB"
check "cache verify is clean after the load" "$STRATA" cache verify
python3 "$TEST_SRCDIR/random-reads.py" "$M" "$U" 4 200 >"$TMP/rr.out" 2>&1
is "the mount still reads exactly" "$?" 0

# --- rmi during a pull of an image with the same files ---------------------------
# rebuilt has base's files (other mtimes): its chunks are those of the base
# layer. rmi base while rebuilt is pulled must not take chunks rebuilt's new
# layer refers to. Uses a store of its own, with no mount.
SAVED_STORE=$STRATA_STORE
export STRATA_STORE=$TMP/race
B=oci:$IMAGES:base RB=oci:$IMAGES:rebuilt
"$STRATA" pull -q "$B" >/dev/null 2>&1
t0=$(date +%s%N); "$STRATA" pull -q "$RB" >/dev/null 2>&1; T=$(( ($(date +%s%N) - t0) / 1000000 ))
"$STRATA" rmi "$RB" >/dev/null 2>&1
note "uncut pull of rebuilt with base stored: $T ms"
for f in 15 35 55; do
	ms=$((T * f / 100))
	"$STRATA" pull -q "$B" >/dev/null 2>&1
	"$STRATA" pull -q "$RB" >"$TMP/race.pull" 2>&1 &
	p=$!
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	"$STRATA" rmi "$B" >/dev/null 2>&1
	wait "$p"
	v=$("$STRATA" cache verify --json 2>/dev/null)
	is "rmi base $ms ms into a pull of rebuilt: the store stays consistent" \
		"$(jq -c '{clean, missing: (.missing | length), layers: (.layers | length)}' <<<"$v")" \
		'{"clean":true,"missing":0,"layers":0}'
	"$STRATA" rmi "$RB" >/dev/null 2>&1
	"$STRATA" cache verify --repair >/dev/null 2>&1
	"$STRATA" cache gc >/dev/null 2>&1
done
kill -TERM $(daemon_pids) 2>/dev/null
export STRATA_STORE=$SAVED_STORE

# --- a second daemon on the same store ----------------------------------------------
rc=0
timeout 20 "$STRATA" serve >"$TMP/serve2.out" 2>"$TMP/serve2.err" || rc=$?
note "second strata serve: exit $rc: $(cat "$TMP/serve2.err")"
check "a second strata serve exits non-zero (not killed by the timeout)" test "$rc" -ne 0 -a "$rc" -ne 124
is "with one line on stderr" "$(wc -l <"$TMP/serve2.err")" 1
check "that says the store is already served" grep -q "already served" "$TMP/serve2.err"
check "and names the store" grep -qF "$STRATA_STORE" "$TMP/serve2.err"
check "the first daemon is still running" kill -0 "$dpid"
check "and still answers" "$STRATA" images
check "and the mount still reads" cmp "$M/opt/strata/random-5M" "$U/opt/strata/random-5M"
check "umount" "$STRATA" umount "$M"
note "runtime: $SECONDS s"
done_testing
