#!/bin/bash
# bench-cache.sh: the cost of `strata cache stats` and `strata cache ls`
# over 10,000 layer records (target: under 100 ms each). The records come
# from an OCI layout of N tiny one-layer images, each layer a distinct tar,
# pulled 500 references per command. Usage: tests/bench-cache.sh [N]
set -euo pipefail
N=${1:-10000}
STRATA=${STRATA:-$(cd "$(dirname "$0")/.." && pwd)/strata}
TMP=$(mktemp -d /tmp/strata-bench-cache.XXXXXX)
export STRATA_STORE=$TMP/store
cleanup() {
	pid=$(curl -s --max-time 5 --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version 2>/dev/null | jq -r .pid 2>/dev/null || true)
	[ -n "$pid" ] && [ "$pid" != null ] && kill "$pid" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

python3 - "$(dirname "$0")" "$TMP/tiny" "$N" <<'PY'
import sys, tarfile
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    for i in range(int(sys.argv[3])):
        lay.image(f"t{i}", {f"t{i}.txt": f"tiny layer {i}\n".encode()}, fmt=tarfile.USTAR_FORMAT, level=9)
PY
start=$(date +%s.%N)
seq 0 $((N - 1)) | sed "s|^|oci:$TMP/tiny:t|" | xargs -n 500 "$STRATA" pull -q
echo "pulled $N tiny images in $(echo "$(date +%s.%N) - $start" | bc) s"
layers=$("$STRATA" cache stats --json | jq .record_count)
echo "layer records: $layers"

# best and median of 7 runs, in ms, of one command (client start included)
bench() {
	local name=$1; shift
	local t=()
	for _ in $(seq 7); do
		local s; s=$(date +%s%N)
		"$@" >/dev/null
		t+=($(( ($(date +%s%N) - s) / 1000000 )))
	done
	local sorted; sorted=$(printf '%s\n' "${t[@]}" | sort -n)
	printf '%-28s best %5d ms  median %5d ms\n' "$name" "$(head -1 <<<"$sorted")" "$(sed -n 4p <<<"$sorted")"
}
bench "cache stats --json" "$STRATA" cache stats --json
bench "cache stats" "$STRATA" cache stats
bench "cache stats --prometheus" "$STRATA" cache stats --prometheus
bench "cache ls --json" "$STRATA" cache ls --json
bench "cache ls" "$STRATA" cache ls
bench "strata images --json" "$STRATA" images --json
echo "target: cache stats and cache ls under 100 ms with $layers layer records"
