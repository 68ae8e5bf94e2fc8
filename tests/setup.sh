#!/bin/bash
# setup.sh: installs what strata needs to be built and tested (Debian's
# packages), then configures and builds it. Idempotent. Runs as root or as a
# user: the packages are installed through sudo when not root (when there is
# no sudo, one line says what to run as root); the build is the caller's.
# Extra arguments go to ./configure.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/as-root.sh

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libcurl4-openssl-dev zlib1g-dev libzstd-dev libarchive-dev libssl-dev
	librocksdb-dev libfuse3-dev fuse3 libjansson-dev libisal-dev
	libsqlite3-dev libhyperscan-dev libpcre2-dev libhiredis-dev
	docker-registry skopeo umoci debootstrap apache2-utils
	python3 jq curl openssl attr zstd clang libclang-rt-14-dev time
	python3-jsonschema python3-yaml prometheus systemd sqlite3 rpm socat rsync hyperfine
	procps git bc openssl libcommons-lang3-java redis-server fio linux-perf
	golang-go golang-github-containerd-stargz-snapshotter-dev
)
# The last two lines: not in a minimal Debian (debootstrap --variant=minbase)
# but used by the tests and scripts: pgrep, git (tests/sanitize.sh and
# t0520-quickstart copy the checkout's files), bc, openssl, the Debian
# jar that test-java reads, fio and perf for tests/bench-read.sh (its 4 KiB
# random reads, and BENCH_PERF=1), and Go with the upstream estargz library,
# from which tests/make-estargz.sh builds the eStargz producer of t0720.
# t0520-quickstart checks that every command a
# test asks for is there after this script on such a system.

# The scan test image runs a real `npm install`: nodejs from wherever it
# came (nodesource ships npm inside it), else Debian's.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	t0=$SECONDS
	as_root setup "installing ${#missing[@]} packages" \
		"apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}" \
		DEBIAN_FRONTEND=noninteractive >&2
	echo "setup: installed ${missing[*]} in $((SECONDS - t0)) s" >&2
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >&2
fi
if [ ! -f Makefile ] || [ configure -nt config.status ] || [ $# -gt 0 ]; then
	./configure --enable-werror "$@" >&2
fi
make -j"$(nproc)" >&2
