# as-root.sh: as_root and build_images for the quick start's scripts
# (tests/setup.sh, tests/demo.sh, tests/check.sh), so that they run as they
# are both as root (a container or a cloud image without sudo) and as a user
# with sudo. Sourced.
#
# as_root WHO WHY SCRIPT [NAME=VALUE...]: runs SCRIPT (a bash command line,
# written as a person would type it) as root, with NAME=VALUE in its
# environment: itself when root, else through sudo. When there is no sudo,
# or sudo will not let this user, it says in one line on stderr what to run
# as root instead and exits 1; WHO names the script, WHY what needs root.
# SCRIPT's own exit status is returned.
as_root() {
	local who=$1 why=$2 script=$3
	shift 3
	if [ "$(id -u)" -eq 0 ]; then
		env "$@" bash -c "$script"
		return
	fi
	if ! command -v sudo >/dev/null 2>&1; then
		echo "$who: $why needs root and there is no sudo here; as root, run: $script" >&2
		exit 1
	fi
	echo "$who: $why needs root: sudo $script" >&2
	if ! sudo -v; then
		echo "$who: sudo did not let $(id -un) in; as root, run: $script" >&2
		exit 1
	fi
	sudo env "$@" bash -c "$script"
}

# build_images WHO: tests/build-images.sh's layout on stdout: a user reads
# current images as they are; building them (the first time, or after the
# script changed) is root's.
build_images() {
	local who=$1 cache=${STRATA_TEST_CACHE:-/var/cache/strata-tests} build
	build="bash $PWD/tests/build-images.sh"
	[ "$cache" = /var/cache/strata-tests ] || build="STRATA_TEST_CACHE=$cache $build"
	[ "$(id -u)" -ne 0 ] && bash tests/build-images.sh 2>/dev/null && return
	as_root "$who" "building the test images" "$build" STRATA_TEST_CACHE="$cache"
}
