#!/bin/bash
# A root daemon that many may call (strata-serve(1), TRUST): a socket group
# of users who pull and mount for themselves, an admin group that manages
# the store, root. What each may do is decided from the kernel's word on
# who calls; paths are held by descriptor; requests are bounded; failures
# are failures; names reach no terminal raw; numbers parse strictly.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd useradd userdel groupadd groupdel runuser skopeo umoci jq curl python3 timeout mountpoint
[ "$(id -u)" = 0 ] || skip_all "needs root: it runs a root daemon and creates users"
test_images
start_registry
for t in base app; do push_image "$t" || exit 99; done
ref=$REGISTRY/strata/base

# --- people ------------------------------------------------------------------
G=strata-sk-$$ ADM=strata-ad-$$ A=strata-a-$$ B=strata-b-$$ C=strata-c-$$
groupadd "$G" && groupadd "$ADM" || { echo "# cannot create groups"; exit 99; }
at_exit "groupdel $G; groupdel $ADM"
for u in "$A" "$B" "$C"; do
	extra=(); [ "$u" = "$C" ] && extra=(-G "$ADM")
	useradd -N -g "$G" "${extra[@]}" -d "$TMP/home-$u" -m -s /bin/bash "$u" >/dev/null 2>&1 ||
		{ echo "# cannot create user $u"; exit 99; }
	at_exit "userdel --remove $u"
	chmod 755 "$TMP/home-$u"
done
chmod 755 "$TMP"
HA=$TMP/home-$A HB=$TMP/home-$B HC=$TMP/home-$C
store=$STRATA_STORE

# as USER CMD...: CMD as USER, with the shared store, at most 60 s.
as() {
	local u=$1; shift
	timeout 60 runuser -u "$u" -- env -i HOME="$TMP/home-$u" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		STRATA_STORE="$store" TMPDIR="$TMP/home-$u" "$@"
}
api() { # api USER CURL-ARGS...: the raw API as USER
	local u=$1; shift
	as "$u" curl -s --max-time 30 --unix-socket "$store/strata.sock" "$@"
}

start_daemon() {
	mkdir -p -m 700 "$store"
	STRATA_DAEMON_SOCKET_MODE=0660 STRATA_DAEMON_SOCKET_GROUP=$G STRATA_DAEMON_ADMIN_GROUP=$ADM \
		"$STRATA" --store "$store" -v serve >>"$TMP/daemon.log" 2>&1 &
	dpid=$!
	at_exit "kill -KILL $dpid"
	for _ in $(seq 100); do
		curl -s --unix-socket "$store/strata.sock" http://strata/v1/version >/dev/null && return 0
		sleep 0.1
	done
	echo "# the daemon did not start:"; tail -5 "$TMP/daemon.log" | sed 's/^/#   /'; exit 99
}
start_daemon
check "root pulls" "$STRATA" pull -q "$ref"
is "the socket is the group's" "$(stat -c '%G %a' "$store/strata.sock")" "$G 660"
is "the store is searchable by the group, no more" "$(stat -c %A "$store" | cut -c5-7)" "--x"
is "a member is a user" "$(api "$A" http://strata/v1/version | jq -r .role)" user
is "an admin-group member is an admin" "$(api "$C" http://strata/v1/version | jq -r .role)" admin
is "root is the owner" "$(curl -s --unix-socket "$store/strata.sock" http://strata/v1/version | jq -r .role)" owner

# --- 1. callers told apart -----------------------------------------------------
mkdir -p "$TMP/rootdir" && chmod 777 "$TMP/rootdir"
fails_with "a user may not mount on a directory of root's, even a writable one" "is not allowed to uid" \
	as "$A" "$STRATA" mount "$ref" "$TMP/rootdir"
fails_with "nor on /etc" "is not allowed to uid" as "$A" "$STRATA" mount "$ref" /etc
check "/etc is untouched" bash -c "! mountpoint -q /etc"
as "$A" mkdir -p "$HA/mnt"
as "$B" ln -s "$HA/mnt" "$HB/link-to-a"
fails_with "nor through a symbolic link of another user" "symbolic link owned by another user" \
	as "$A" "$STRATA" mount "$ref" "$HB/link-to-a"
check "a user mounts on a directory of its own" as "$A" "$STRATA" mount "$ref" "$HA/mnt"
is "the mount is the user's (FUSE user_id)" \
	"$(grep " $HA/mnt fuse.strata " /proc/mounts | grep -o 'user_id=[0-9]*')" "user_id=$(id -u "$A")"
check "and the user reads it" as "$A" cat "$HA/mnt/etc/debian_version"
check "another user does not" bash -c "! runuser -u '$B' -- cat '$HA/mnt/etc/debian_version' 2>/dev/null"
fails_with "another user may not unmount it" "another user's mount" as "$B" "$STRATA" umount "$HA/mnt"
check "it is still mounted" grep -q " $HA/mnt fuse.strata " /proc/mounts
is "a user's mounts list shows only its own" "$(as "$B" "$STRATA" mounts --json | jq length)" 0
is "the owner's shows it" "$(as "$A" "$STRATA" mounts --json | jq -r '.[0].mountpoint')" "$HA/mnt"
is "an admin's shows everyone's" "$(as "$C" "$STRATA" mounts --json | jq length)" 1
fails_with "rmi needs an admin" "is not allowed to uid" as "$A" "$STRATA" rmi "$ref"
fails_with "cache prune needs an admin" "is not allowed to uid" as "$A" "$STRATA" cache prune --max-size 1
fails_with "cache gc needs an admin" "is not allowed to uid" as "$A" "$STRATA" cache gc
fails_with "cache verify --repair needs an admin" "is not allowed to uid" \
	as "$A" "$STRATA" cache verify --repair
check "cache verify without --repair is everyone's" as "$A" "$STRATA" cache verify
is "a user may not write the shared analysis memo (403)" "$(api "$A" -o /dev/null -w '%{http_code}' \
	-X POST -d '{"results":{"secrets/1/x/sha256:00":{"records":[]}}}' http://strata/v1/analysis/store)" 403
check "but analyzes, reading it" as "$A" "$STRATA" analyze --analyzers packages -o "$HA/r.json" "$ref"
check "an admin may gc" as "$C" "$STRATA" cache gc
check "an admin may prune (dry run)" as "$C" "$STRATA" cache prune --max-size 1 --dry-run
is "refusals are counted" "$(curl -s --unix-socket "$store/strata.sock" http://strata/metrics |
	awk '/^strata_requests_refused_total\{reason="forbidden"\}/ {print ($2 >= 9)}')" 1
check "and logged with the uid" grep -q "refused: .*uid $(id -u "$A")" "$TMP/daemon.log"

# Local sources: read with the caller's rights, never the daemon's. A
# layout of an image of its own (a layer no other image has, so that it
# must be read), root's, readable by all but for its layer's blob.
mkdir -p "$TMP/priv"
python3 - "$TEST_SRCDIR" "$TMP/priv/layout" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    lay.image("uniq", {"data/uniq.bin": os.urandom(1 << 20)})
PY
chmod -R a+rX "$TMP/priv"
layer=$(jq -r '.manifests[0].digest' "$TMP/priv/layout/index.json" | cut -d: -f2)
layer=$(jq -r '.layers[0].digest' "$TMP/priv/layout/blobs/sha256/$layer" | cut -d: -f2)
chmod 600 "$TMP/priv/layout/blobs/sha256/$layer"
fails_with "a user may not pull a blob of a layout it may not read" "permission denied" \
	as "$A" "$STRATA" pull -q "oci:$TMP/priv/layout:uniq"
chmod 644 "$TMP/priv/layout/blobs/sha256/$layer"
check "and pulls it once it may read it" as "$A" "$STRATA" pull -q "oci:$TMP/priv/layout:uniq"
chmod 700 "$TMP/priv"
fails_with "nor a layout in a directory it may not enter" "permission denied" \
	as "$A" "$STRATA" pull -q "oci:$TMP/priv/layout:uniq"
is "a path sent without its descriptor is refused (403)" \
	"$(api "$A" -o /dev/null -w '%{http_code}' -X POST -d "{\"ref\":\"docker-archive:/etc/shadow\"}" http://strata/v1/pull)" 403
check "root still names paths" "$STRATA" pull -q "oci:$TMP/priv/layout:uniq"

# --- 2. a symbolic link swapped in before an unmount ---------------------------
mkdir -p "$TMP/x/home/u/mnt" "$TMP/victim/mnt"
chown "$A" "$TMP/x/home"
check "root mounts below a directory of a user" "$STRATA" mount "$ref" "$TMP/x/home/u/mnt"
mount -t tmpfs -o size=1m strata-victim "$TMP/victim/mnt" && at_exit "umount -l '$TMP/victim/mnt'"
touch "$TMP/victim/mnt/marker"
as "$A" mv "$TMP/x/home/u" "$TMP/x/home/u.old"
as "$A" ln -s "$TMP/victim" "$TMP/x/home/u"
fails_with "unmounting the recorded path, now through a user's link, is refused" \
	"symbolic link owned by another user" "$STRATA" umount "$TMP/x/home/u/mnt"
fails_with "and so is the path the link leads to" "not a strata mount point" "$STRATA" umount "$TMP/victim/mnt"
check "the other mount is untouched" test -e "$TMP/victim/mnt/marker"
check "the daemon answers" "$STRATA" images
kill -TERM "$dpid"
for _ in $(seq 100); do running "$dpid" || break; sleep 0.1; done
check "SIGTERM: the daemon exits, without hanging" eval "! running $dpid"
check "having unmounted its own mount where it went" bash -c "! grep -q ' $TMP/x/home/u.old/mnt ' /proc/mounts"
check "and the user's" bash -c "! grep -q ' $HA/mnt ' /proc/mounts"
check "leaving the other mount alone" test -e "$TMP/victim/mnt/marker"
start_daemon

# --- 3. mount records are canonical --------------------------------------------
mkdir -p "$TMP/m/a" "$TMP/m/b"
ln -s "$TMP/m/b" "$TMP/m/link"
out=$(curl -s --unix-socket "$store/strata.sock" -X POST \
	-d "{\"ref\":\"$ref\",\"mountpoint\":\"$TMP/m/a/../link/\"}" http://strata/v1/mounts)
is "a mount asked for at a/../link/ is recorded canonical" "$(jq -r .mountpoint <<<"$out")" "$TMP/m/b"
check "unmounted through another spelling" "$STRATA" umount "$TMP/m/link"
is "no record is left" "$("$STRATA" mounts --json | jq length)" 0
is "no mount is counted" "$(curl -s --unix-socket "$store/strata.sock" http://strata/metrics |
	awk '/^strata_mounts_active / {print $2}')" 0

# --- 4. memory before routing ---------------------------------------------------
rss() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$dpid/status"; }
python3 -c 'import sys; sys.stdout.write("{\"a\":\"" + "x" * (64 << 20) + "\"}")' >"$TMP/big.json"
before=$(rss)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 --unix-socket "$store/strata.sock" \
	-H 'Content-Type: application/json' --data-binary @"$TMP/big.json" http://strata/v1/nonexistent)
is "a 64 MiB body to an unknown route: 404" "$code" 404
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 --unix-socket "$store/strata.sock" \
	--data-binary @"$TMP/big.json" http://strata/v1/pull)
is "to a route that takes small bodies: 413" "$code" 413
after=$(rss)
note "daemon RSS $before MiB before, $after MiB after"
check_rss "the daemon's RSS grew by less than 10 MiB" $(( (after > before ? after - before : 0) + 1 )) 10
rm -f "$TMP/big.json"

# --- 5. idle connections of one user lock out no other --------------------------
as "$A" python3 - "$store/strata.sock" 64 <<'PY' &
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("held", flush=True)
time.sleep(20)
PY
holder=$!
sleep 2
check "64 idle connections of one user do not lock out another" as "$B" "$STRATA" images
fails_with "that user's next one is told the daemon is busy" "is busy" as "$A" "$STRATA" images
kill "$holder"; wait "$holder" 2>/dev/null
is "busy connections are counted" "$(curl -s --unix-socket "$store/strata.sock" http://strata/metrics |
	awk '/^strata_requests_refused_total\{reason="busy"\}/ {print ($2 >= 1)}')" 1

# --- 6. an analysis whose daemon dies under it ---------------------------------
"$STRATA" pull -q "$REGISTRY/strata/app"
rm -f "$TMP/report.json"
"$STRATA" analyze --no-memo --threads 1 -o "$TMP/report.json" "$REGISTRY/strata/app" \
	>"$TMP/analyze.out" 2>"$TMP/analyze.err" &
apid=$!
for _ in $(seq 500); do grep -q "strata-mnt" /proc/mounts && break; sleep 0.01; done
kill -KILL "$dpid"
rc=0; wait "$apid" || rc=$?
check "SIGKILL of the daemon under an analysis: it fails" test "$rc" -ne 0
is "with one line" "$(wc -l <"$TMP/analyze.err")" 1
note "  $(cat "$TMP/analyze.err")"
check "and writes no report" test ! -e "$TMP/report.json"
check "the next daemon clears the stale temporary mount" "$STRATA" mounts
check "no temporary mount is left" bash -c "! grep -q strata-mnt /proc/mounts"
dpid=$(curl -s --unix-socket "$store/strata.sock" http://strata/v1/version | jq -r .pid)

# --- 7. names reach no terminal raw ----------------------------------------------
python3 - "$TEST_SRCDIR" "$TMP/hostile" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    lay.image("names", {"esc\x1b]0;pwned\x07\x1b[2J": b"title\n",
                        "line\n/etc/shadow:root::0:0:99999:7:::": b"forged\n",
                        "c1-\u009b31m": b"csi\n"})
PY
check "an image with escape sequences in its names pulls" "$STRATA" pull -q "oci:$TMP/hostile:names"
"$STRATA" inspect --files "oci:$TMP/hostile:names" >"$TMP/files.txt"
check "inspect --files shows no escape character" bash -c "! grep -q \$'\\x1b' '$TMP/files.txt'"
check "nor a C1 control" bash -c "! grep -qa \$'\\xc2\\x9b' '$TMP/files.txt'"
check "nor a forged line" bash -c "! grep -q '^/etc/shadow' '$TMP/files.txt'"
is "every name on one line (3 files, 2 directories)" "$(wc -l <"$TMP/files.txt")" 5
check "the names escaped as ls -b does" grep -qF 'esc\033]0;pwned\007\033[2J' "$TMP/files.txt"
fails_with "an error names a path without its escapes" "no such directory" \
	"$STRATA" mount "$ref" "$TMP/no$(printf '\033[2J')where"
check "the error line holds no escape character" bash -c "! grep -q \$'\\x1b' '$TMP/fw.err'"

# --- 8. small parsing holes ----------------------------------------------------
for v in 0.5 0x10 17e18; do
	fails_with "STRATA_CACHE_MAX_SIZE=$v is an error" "invalid size '$v'" \
		env STRATA_CACHE_MAX_SIZE=$v "$STRATA" config show
done
printf '[cache]\nmax_size = 1G\0\n[pull]\njobs = 2\n' >"$TMP/nul.conf"
fails_with "a NUL in strata.conf is an error" "a NUL byte at offset" "$STRATA" --config "$TMP/nul.conf" config show
mkfifo "$TMP/fifo.conf"
fails_with "a FIFO as STRATA_CONFIG is refused, at once" "is not a regular file" \
	env STRATA_CONFIG="$TMP/fifo.conf" timeout 10 "$STRATA" config show
is "HEAD /v1/version: 200" "$(curl -s -I -o /dev/null -w '%{http_code}' --unix-socket "$store/strata.sock" \
	http://strata/v1/version)" 200
out=$(curl -s -X DELETE --unix-socket "$store/strata.sock" 'http://strata/v1/mounts?path=%zz')
is "a malformed query parameter is called malformed" "$(jq -r .error <<<"$out")" \
	"umount: 'path' is malformed (bad percent escape or NUL byte)"
out=$(curl -s -X DELETE --unix-socket "$store/strata.sock" "http://strata/v1/mounts?path=/$(printf 'a%.0s' $(seq 5000))")
is "an over-long one too long" "$(jq -r .error <<<"$out")" "umount: 'path' is too long"
is "observe refuses 1e308 seconds" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$store/strata.sock" \
	-X POST -d '{"seconds":1e308}' http://strata/v1/analysis/observe)" 400
done_testing
