#!/bin/bash
# strata as a user without privileges, with a store of its own: every
# command returns, the daemon keeps answering, and stopping it leaves no
# mount behind. Mounts go through fusermount3 (setuid), which opens
# /dev/fuse with the user's own rights: where the device is root's only
# (mode 0600, as on the CI machines) a mount fails with one line saying so
# and everything else goes on; then the device is opened to everyone for
# the rest of the test (0666, as Debian's udev rule has it) and every
# command is tried again. The device's mode is put back at the end.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd useradd userdel runuser skopeo jq timeout curl
[ "$(id -u)" = 0 ] || skip_all "creating the test user needs root"
test_images
start_registry
push_image base || exit 99

# A user of our own, removed again at the end.
U=strata-rl-$$
useradd --create-home --home-dir "$TMP/home-$U" --shell /bin/bash "$U" >/dev/null 2>&1 ||
	{ echo "# cannot create a test user"; exit 99; }
at_exit "userdel --remove $U"
UHOME=$TMP/home-$U
chmod 755 "$TMP"
note "user $U (uid $(id -u "$U")), /dev/fuse $(stat -c %a /dev/fuse)"

# as_user CMD...: runs CMD as the user, in a clean environment of its own;
# never longer than 60 s (a hang is the failure this test looks for).
as_user() {
	timeout 60 runuser -u "$U" -- env -i HOME="$UHOME" USER="$U" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		TMPDIR="$UHOME" "$@"
}
timed() { # timed WHAT CMD...: check, and say how long it took
	local what=$1 t0; shift
	t0=$(date +%s%N)
	check "$what" "$@"
	note "  took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
ref=$REGISTRY/strata/base
store=$UHOME/.local/share/strata

# The default store of a user is under XDG_DATA_HOME, as rootless podman's.
is "the user's default store" "$(as_user "$STRATA" config show 2>&1 | awk '$1 == "store.path" {print $2}')" "$store"
timed "pull as the user" as_user "$STRATA" pull -q "$ref"
check "into the user's own store" test -d "$store/index" -a "$(stat -c %U "$store")" = "$U"
mnt=$UHOME/mnt
as_user mkdir -p "$mnt"

mode=$(stat -c %a /dev/fuse)
if [ "$mode" != 666 ]; then
	fails_with "with /dev/fuse root's only, a mount fails with one line saying so" \
		"FUSE is root's only here" as_user "$STRATA" mount "$ref" "$mnt"
	fails_with "and so does analyze" "FUSE is root's only here" \
		as_user "$STRATA" analyze -o "$UHOME/r.json" "$ref"
	check "without a report file" test ! -e "$UHOME/r.json"
	check "the images are still listed" as_user "$STRATA" images
	check "no temporary directory is left" bash -c "! ls -d '$UHOME'/strata-mnt.* 2>/dev/null"
	at_exit "chmod $mode /dev/fuse"
	chmod 666 /dev/fuse
	note "/dev/fuse opened to everyone for the rest of the test (was $mode)"
fi
timed "mount as the user (through fusermount3)" as_user "$STRATA" mount "$ref" "$mnt"
check "the mount is a strata mount" grep -q " $mnt fuse.strata " /proc/mounts
is "the mount belongs to the user" "$(grep " $mnt fuse.strata " /proc/mounts | grep -o "user_id=[0-9]*")" \
	"user_id=$(id -u "$U")"
is "the user reads it" "$(as_user cat "$mnt/etc/debian_version")" \
	"$(umoci unpack --image "$IMAGES:base" "$TMP/unpack" >/dev/null 2>&1; cat "$TMP/unpack/rootfs/etc/debian_version")"
is "strata mounts lists it" "$(as_user "$STRATA" mounts --json | jq -r '.[0].mountpoint')" "$mnt"
timed "umount as the user" as_user "$STRATA" umount "$mnt"
check "the mount is gone" bash -c "! grep -q ' $mnt ' /proc/mounts"

# A busy mount: a process inside it does not hold umount up.
as_user "$STRATA" mount "$ref" "$mnt"
runuser -u "$U" -- bash -c "cd '$mnt/usr' && sleep 30" &
busy=$!
sleep 0.5
timed "umount of a busy mount returns" as_user "$STRATA" umount "$mnt"
check "and takes it off the tree" bash -c "! grep -q ' $mnt ' /proc/mounts"
kill "$busy" 2>/dev/null; wait "$busy" 2>/dev/null

timed "analyze as the user" as_user "$STRATA" analyze --analyzers packages -o "$UHOME/report.json" "$ref"
check "the report lists Debian packages" \
	bash -c "jq -e '[.packages[] | select(.type == \"deb\")] | length > 50' '$UHOME/report.json'"
out=$(as_user "$STRATA" run "$ref" -- sh -c 'cat "$STRATA_ROOT/etc/debian_version"' 2>&1)
is "run as the user" "$out" "$(cat "$TMP/unpack/rootfs/etc/debian_version")"
timed "cache stats as the user" as_user "$STRATA" cache stats
check "no temporary mount is left" bash -c "! grep -q ' $UHOME/strata-mnt' /proc/mounts"

# The daemon still answers; stopping it unmounts what it served.
pid=$(as_user curl -s --max-time 5 --unix-socket "$store/strata.sock" http://strata/v1/version | jq -r .pid)
check "the daemon still answers" test -n "$pid" -a "$pid" != null
is "it runs as the user" "$(stat -c %U "/proc/$pid")" "$U"
as_user "$STRATA" mount "$ref" "$mnt"
kill -TERM "$pid"
for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
check "the daemon exits on SIGTERM" eval "! running $pid"
check "and leaves no mount behind" bash -c "! grep -q ' $mnt ' /proc/mounts"
done_testing
