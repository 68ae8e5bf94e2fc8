#!/bin/bash
# setup.sh: installs what strata needs to build and to be tested (Debian's
# packages), then configures and builds it. Idempotent; run as root on a
# fresh Debian machine. Extra arguments go to ./configure.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libcurl4-openssl-dev zlib1g-dev libzstd-dev libarchive-dev libssl-dev
	librocksdb-dev libfuse3-dev fuse3 libjansson-dev libisal-dev
	libsqlite3-dev libhyperscan-dev libpcre2-dev libhiredis-dev
	docker-registry skopeo umoci debootstrap apache2-utils
	python3 jq curl openssl attr zstd clang libclang-rt-14-dev time
	python3-jsonschema python3-yaml prometheus systemd sqlite3 rpm socat rsync
	redis-server
)

# The scan test image runs a real `npm install`: nodejs from wherever it
# came (nodesource ships npm inside it), else Debian's.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: installing packages needs root (run with sudo)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >&2
fi
if [ ! -f Makefile ] || [ configure -nt config.status ] || [ $# -gt 0 ]; then
	./configure --enable-werror "$@" >&2
fi
make -j"$(nproc)" >&2
