#!/bin/bash
# demo.sh: the quick start's first command. Installs what strata needs,
# builds it, builds a real Debian image (debootstrap, cached), serves it from
# a local docker-registry on loopback, and runs the main job against it:
# pull, inspect, mount, analyze. Needs no internet beyond Debian's package
# archive. Runs as root (the store is /var/lib/strata) or as a user (the
# store is ~/.local/share/strata): installing packages and building the
# image need root, and go through sudo; without sudo, one line says what to
# run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/as-root.sh
bash tests/setup.sh

export STRATA_TEST_CACHE=${STRATA_TEST_CACHE:-/var/cache/strata-tests}
STRATA=$PWD/strata
IMAGES=$(build_images demo)

work=$(mktemp -d /tmp/strata-demo.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YAML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
log: {level: error, accesslog: {disabled: true}}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'rc=$?; set +e; kill $registry_pid; wait $registry_pid; rm -rf "$work"; exit $rc' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

ref=127.0.0.1:$port/demo/debian:bookworm
skopeo copy --quiet --dest-tls-verify=false "oci:$IMAGES:app" "docker://$ref"

run() { echo "+ $*"; "$@"; }
run "$STRATA" pull "$ref"
run "$STRATA" inspect "$ref"
run "$STRATA" images
mnt=$work/mnt
mkdir -p "$mnt"
run "$STRATA" mount "$ref" "$mnt"
trap 'rc=$?; set +e; grep -q " $mnt " /proc/mounts && "$STRATA" umount "$mnt"; kill $registry_pid; wait $registry_pid; rm -rf "$work"; exit $rc' EXIT
run "$STRATA" mounts
run cat "$mnt/etc/os-release"
run ls -l "$mnt/usr/bin/python3"
run getfattr --absolute-names -n user.strata.sha256 "$mnt/usr/bin/bash"
run du -sh "$mnt/usr"
run "$STRATA" umount "$mnt"
run "$STRATA" analyze --analyzers packages,secrets --format table "$ref"
run "$STRATA" run "$ref" -- sh -c 'dpkg-query --admindir="$STRATA_ROOT/var/lib/dpkg" -W | wc -l'
echo "demo: done in $SECONDS s"
