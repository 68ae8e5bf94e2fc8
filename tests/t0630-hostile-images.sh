#!/bin/bash
# t0630-hostile-images: whole hostile images (tests/make-hostile-images.py)
# pulled from a loopback registry, mounted and inspected. Entries that climb
# out of the root, links to host secrets, a symlink loop, a directory
# symlink used as a prefix, setuid files, device nodes, a gzip bomb, a
# million entries, names at PATH_MAX, 4,096 directories, tar sizes that lie,
# duplicate entries, a blob of another repository, diff_ids that do not
# match, nested and self-naming indexes. A canary file on the host holds a
# random token: it must never appear in anything strata writes or shows, and
# no file may appear outside the store. Each case prints its outcome.
# STRATA_BOMB_SIZE (default 4 GiB) sets the gzip bomb's uncompressed size.
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd skopeo jq python3 pgrep findmnt timeout
start_registry

RAND=$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
TOKEN=canary-token-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
CANARY=/tmp/strata-canary-$RAND
CANARY_DIR=/tmp/strata-canary-dir-$RAND
ESC=strata-escape-$RAND
echo "$TOKEN" >"$CANARY"
mkdir -p "$CANARY_DIR"
echo "$TOKEN" >"$CANARY_DIR/secret"
at_exit "rm -rf '$CANARY' '$CANARY_DIR'"
note "canary $CANARY and $CANARY_DIR/secret hold the token; escaping entries are named $ESC"

H=$TMP/hostile
BOMB=${STRATA_BOMB_SIZE:-$((4 << 30))}
t0=$SECONDS
if ! python3 "$TEST_SRCDIR/make-hostile-images.py" build "$H" --canary "$CANARY" --canary-dir "$CANARY_DIR" \
	--escape "$ESC" --bomb-size "$BOMB" 2>"$TMP/build.err"; then
	echo "# make-hostile-images.py failed:"; sed 's/^/#   /' "$TMP/build.err"; exit 99
fi
note "built $(ls "$H" | wc -l) hostile layouts in $((SECONDS - t0)) s"
OUT=$TMP/out   # everything strata prints goes here too, for the canary check
mkdir -p "$OUT"

# --- push ------------------------------------------------------------------------
for c in $(ls "$H"); do
	case $c in
	index-nested) python3 "$TEST_SRCDIR/make-hostile-images.py" push "$REGISTRY" "strata/hostile-$c" "$H/$c" ;;
	xrepo-b) ;;  # below
	*) skopeo copy --quiet --dest-tls-verify=false "oci:$H/$c:latest" "docker://$REGISTRY/strata/hostile-$c:latest" ;;
	esac >"$TMP/push.log" 2>&1 || { note "pushing $c failed:"; sed 's/^/#   /' "$TMP/push.log"; exit 99; }
done
# xrepo-b names xrepo-a's layer blobs without having them: mount them from
# a to push the manifest, then unlink them from b in the registry's storage.
python3 "$TEST_SRCDIR/make-hostile-images.py" push "$REGISTRY" strata/hostile-xrepo-b "$H/xrepo-b" \
	--mount-from strata/hostile-xrepo-a >"$TMP/push.log" 2>&1 || { sed 's/^/#   /' "$TMP/push.log"; exit 99; }
xl=$(jq -r '.manifests[0].digest' "$H/xrepo-b/index.json")
for l in $(jq -r '.layers[].digest' "$H/xrepo-b/blobs/sha256/${xl#sha256:}"); do
	rm -rf "$TMP/registry/data/docker/registry/v2/repositories/strata/hostile-xrepo-b/_layers/sha256/${l#sha256:}"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/strata/hostile-xrepo-b/blobs/$l")
is "the registry does not serve xrepo-a's layer from xrepo-b" "$code" 404

daemon_pid() { pgrep -f -- "--store $STRATA_STORE (--config [^ ]+ )?-v+ serve\$"; }
restart_daemon() { # so that VmHWM measures what comes next
	local p; p=$(daemon_pid)
	[ -n "$p" ] && kill -TERM "$p" && for _ in $(seq 100); do running "$p" || break; sleep 0.1; done
	"$STRATA" images >/dev/null
}
declare -A OUTCOME
ref_of() { echo "$REGISTRY/strata/hostile-$1"; }

# refused NAME WANT...: the pull fails with one line containing one of WANT,
# and nothing of the image is visible.
refused() {
	local c=$1; shift
	local ref; ref=$(ref_of "$c")
	local before; before=$("$STRATA" images --json | jq -c '[.[].digest]')
	local rc=0
	"$STRATA" pull "$ref" >"$OUT/pull-$c.out" 2>"$OUT/pull-$c.err" || rc=$?
	local msg; msg=$(cat "$OUT/pull-$c.err")
	local hit=0 w
	for w in "$@"; do grep -qF -- "$w" "$OUT/pull-$c.err" && hit=1; done
	if [ "$rc" -ne 0 ] && [ "$hit" -eq 1 ] && [ "$(wc -l <"$OUT/pull-$c.err")" -eq 1 ]; then
		ok "$c: refused with one line saying '$*'"
	else
		not_ok "$c: refused with one line saying '$*'"; echo "#   exit $rc: $msg"
	fi
	OUTCOME[$c]="refused: ${msg#strata: }"
	is "$c: no image is listed" "$("$STRATA" images --json | jq -c '[.[].digest]')" "$before"
	if "$STRATA" inspect "$ref" >"$OUT/inspect-$c.out" 2>&1; then not_ok "$c: inspect finds nothing"; else ok "$c: inspect finds nothing"; fi
}
# accepted NAME: the pull succeeds, inspect works, the image is mounted at $M.
accepted() {
	local c=$1 ref; ref=$(ref_of "$c")
	M=$TMP/m-$c
	mkdir -p "$M"
	if "$STRATA" pull -q "$ref" >"$OUT/pull-$c.out" 2>"$OUT/pull-$c.err"; then
		ok "$c: pulled"
		# The daemon's peak RSS so far, when the caller watches it.
		[ -n "${HWM_PID:-}" ] && PULL_HWM=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$HWM_PID/status")
		"$STRATA" inspect "$ref" >"$OUT/inspect-$c.out" 2>&1
		"$STRATA" inspect --json "$ref" >"$OUT/inspect-$c.json" 2>&1
		FILES_RC=0
		"$STRATA" inspect --files "$ref" >"$OUT/files-$c.out" 2>"$OUT/files-$c.err" || FILES_RC=$?
		check "$c: mounted" "$STRATA" mount --no-pull "$ref" "$M"
		OUTCOME[$c]="accepted"
		return 0
	fi
	not_ok "$c: pulled"; sed 's/^/#   /' "$OUT/pull-$c.err"
	OUTCOME[$c]="refused (unexpected): $(cat "$OUT/pull-$c.err")"
	return 1
}
done_with() { "$STRATA" umount "$M" >/dev/null 2>&1; }
files_line() { grep -P "^\Q$2\E\t" "$OUT/files-$1.out"; }

# --- escapes ---------------------------------------------------------------------
refused dotdot "escapes the image root"
refused dotdot-mid "escapes the image root"
if accepted absolute; then
	is "absolute: /etc/$ESC is etc/$ESC inside the image" "$(cat "$M/etc/$ESC" 2>&1)" "absolute names are made relative"
	OUTCOME[absolute]="accepted: /etc/$ESC shown as etc/$ESC in the image"
	done_with
fi

# --- links to the host ---------------------------------------------------------------
if accepted symlinks; then
	is "symlinks: l/shadow is a link to /etc/shadow" "$(stat -c %F "$M/l/shadow") $(readlink "$M/l/shadow")" "symbolic link /etc/shadow"
	is "symlinks: l/canary is a link to the canary" "$(readlink "$M/l/canary")" "$CANARY"
	is "symlinks: l/canary-rel keeps its relative target" "$(readlink "$M/l/canary-rel")" "../../../../../../../..$CANARY"
	is "symlinks: inspect --files shows the link, not the target's content" \
		"$(files_line symlinks l/canary | cut -f2,7,8)" "l	$CANARY	-"
	OUTCOME[symlinks]="accepted: links shown as links (l/shadow -> /etc/shadow, l/canary -> $CANARY)"
	done_with
fi
refused hardlink-shadow "hardlink to missing target"
refused hardlink-canary "hardlink to missing target"
if accepted symlink-loop; then
	is "symlink-loop: loop/self reads as a link to itself" "$(readlink "$M/loop/self")" self
	rc=0; timeout 10 cat "$M/loop/a" >/dev/null 2>"$TMP/loop.err" || rc=$?
	check "symlink-loop: following a -> b -> a fails with ELOOP, no hang" grep -q "Too many levels of symbolic links" "$TMP/loop.err"
	rc=0; timeout 20 find -L "$M/loop" -maxdepth 3 >/dev/null 2>&1 || rc=$?
	check "symlink-loop: find -L over the directory ends (exit $rc)" test "$rc" -ne 124
	OUTCOME[symlink-loop]="accepted: links shown as links; following them gives ELOOP"
	done_with
fi
if accepted dirlink-prefix; then
	a_kind=$(stat -c %F "$M/a" 2>&1); b_kind=$(stat -c %F "$M/b" 2>&1)
	shown="a is a $a_kind$([ -L "$M/a" ] && echo " to $(readlink "$M/a")"), b is a $b_kind$([ -L "$M/b" ] && echo " to $(readlink "$M/b")")"
	note "dirlink-prefix: $shown; inspect --files: $(grep -E '^(a|b)(/|	)' "$OUT/files-dirlink-prefix.out" | cut -f1,2,7 | tr '\t\n' ' ;')"
	if [ -L "$M/a" ]; then
		# The link shows as a link; then the image must not claim a file under it.
		check "dirlink-prefix: a/owned is not listed under the link" bash -c "! grep -q '^a/owned' '$OUT/files-dirlink-prefix.out'"
	else
		is "dirlink-prefix: a/owned is a file inside the image" "$(cat "$M/a/owned" 2>&1)" "written through a symlink"
	fi
	OUTCOME[dirlink-prefix]="accepted: $shown"
	done_with
fi

if accepted dirlink-layers; then
	a_kind=$(stat -c %F "$M/a" 2>&1); b_kind=$(stat -c %F "$M/b" 2>&1)
	shown="a is a $a_kind$([ -L "$M/a" ] && echo " to $(readlink "$M/a")"), b is a $b_kind$([ -L "$M/b" ] && echo " to $(readlink "$M/b")")"
	note "dirlink-layers: $shown; inspect --files: $(grep -E '^(a|b)(/|	)' "$OUT/files-dirlink-layers.out" | cut -f1,2,7 | tr '\t\n' ' ;')"
	if [ -L "$M/a" ]; then
		check "dirlink-layers: a/owned is not listed under the link" bash -c "! grep -q '^a/owned' '$OUT/files-dirlink-layers.out'"
	else
		is "dirlink-layers: a/owned is a file inside the image" "$(cat "$M/a/owned" 2>&1)" "written through a symlink"
	fi
	OUTCOME[dirlink-layers]="accepted: $shown"
	done_with
fi

# --- metadata that must not take effect ---------------------------------------------------
if accepted setuid; then
	is "setuid: modes shown as stored" "$(stat -c %a "$M/s/suid" "$M/s/sgid" "$M/s/sticky-dir" | tr '\n' ' ')" "4755 2755 1777 "
	opts=$(findmnt -n -o OPTIONS --target "$M")
	check "setuid: the mount is nosuid" grep -qw nosuid <<<"$opts"
	OUTCOME[setuid]="accepted: modes 4755/2755/1777 shown; mount $opts"
	done_with
fi
if accepted devices; then
	is "devices: nodes shown with their numbers" \
		"$(stat -c '%n %F %t:%T' "$M/dev/null" "$M/dev/mem" "$M/dev/sda" "$M/dev/vda" | sed "s|$M/||" | tr '\n' ';')" \
		"dev/null character special file 1:3;dev/mem character special file 1:1;dev/sda block special file 8:0;dev/vda block special file fe:0;"
	check "devices: the mount is nodev" grep -qw nodev <<<"$(findmnt -n -o OPTIONS --target "$M")"
	for n in mem sda vda; do
		rc=0; timeout 10 head -c 1 "$M/dev/$n" >/dev/null 2>"$TMP/dev-$n.err" || rc=$?
		check "devices: dev/$n cannot be opened through the mount" test "$rc" -ne 0
	done
	note "devices: $(cat "$TMP/dev-sda.err")"
	OUTCOME[devices]="accepted: char and block nodes shown; opening them fails (nodev)"
	done_with
fi

# --- sizes and names at the limits ------------------------------------------------------------
if accepted path-max; then
	got=$(cd "$M" && python3 - <<'PY'
import os
fd = os.open(".", os.O_RDONLY)
comps = [("%d" % i) * 255 if i < 10 else chr(ord("a") + i - 10) * 255 for i in range(16)]
for c in comps[:-1]:
    nfd = os.open(c, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd); os.close(fd); fd = nfd
f = os.open(comps[-1], os.O_RDONLY, dir_fd=fd)
print(os.read(f, 100).decode().strip(), len("/".join(comps)))
PY
)
	is "path-max: the file at the end of a 4,095-byte path reads" "$got" "at the end of a long path 4095"
	OUTCOME[path-max]="accepted: a 4,095-byte path, readable component by component"
	done_with
fi
refused path-over "path name too long"
refused deep "path too deep"
refused size-short "invalid tar"
refused size-long "invalid tar"
if accepted duplicate; then
	is "duplicate: the last of two entries of one path wins" "$(cat "$M/dup/file")" "second and last version"
	is "duplicate: and is listed once" "$(grep -c '^dup/file	' "$OUT/files-duplicate.out")" 1
	is "duplicate: a link then a file: the file" "$(stat -c %F "$M/dup/swap") $(cat "$M/dup/swap")" "regular file a file now, not a link"
	is "duplicate: a file then a directory: the directory" "$(stat -c %F "$M/dup/todir") $(ls "$M/dup/todir")" "directory inside"
	OUTCOME[duplicate]="accepted: the last entry of each path shown"
	done_with
fi

# --- manifests and configs that lie -----------------------------------------------------------
refused diffid-wrong "diff_id mismatch"
refused diffid-count "diff_id mismatch"
refused index-nested "another index"
python3 "$TEST_SRCDIR/make-hostile-images.py" serve-loop "$TMP/loop.port" 2>"$TMP/loop.log" &
loop_pid=$!
at_exit "kill $loop_pid"
for _ in $(seq 50); do [ -s "$TMP/loop.port" ] && break; sleep 0.1; done
LOOP=127.0.0.1:$(cat "$TMP/loop.port")
rc=0
timeout 60 "$STRATA" pull "$LOOP/strata/hostile-index-self" >"$OUT/pull-index-self.out" 2>"$OUT/pull-index-self.err" || rc=$?
msg=$(cat "$OUT/pull-index-self.err")
check "index-self: refused (not a loop, not a timeout) with one line" \
	test "$rc" -ne 0 -a "$rc" -ne 124 -a "$(wc -l <"$OUT/pull-index-self.err")" -eq 1
check "index-self: saying why" grep -qE "another index|digest mismatch" "$OUT/pull-index-self.err"
note "index-self: $(grep -c manifests "$TMP/loop.log") manifest requests to the looping registry"
OUTCOME[index-self]="refused: ${msg#strata: }"

# A blob of another repository, in a store of its own: first with nothing
# stored (b's registry cannot serve it), then with xrepo-a stored (the layer
# is found by its diff_id and not fetched: shown as strata shows it).
SAVED_STORE=$STRATA_STORE
export STRATA_STORE=$TMP/store-xrepo
B=$(ref_of xrepo-b)
rc=0; "$STRATA" pull "$B" >"$OUT/pull-xrepo-b.out" 2>"$OUT/pull-xrepo-b.err" || rc=$?
check "xrepo-b, nothing stored: refused with one line" test "$rc" -ne 0 -a "$(wc -l <"$OUT/pull-xrepo-b.err")" -eq 1
is "xrepo-b, nothing stored: no image is listed" "$("$STRATA" images --json | jq length)" 0
first="refused: $(sed 's/^strata: //' "$OUT/pull-xrepo-b.err")"
check "xrepo-a pulls" "$STRATA" pull -q "$(ref_of xrepo-a)"
if "$STRATA" pull -q "$B" >"$OUT/pull-xrepo-b2.out" 2>&1; then
	M=$TMP/m-xrepo; mkdir -p "$M"
	check "xrepo-b, with xrepo-a stored: mounts" "$STRATA" mount --no-pull "$B" "$M"
	is "xrepo-b: shows the layer's own content" "$(cat "$M/xrepo/owner")" "this layer belongs to repository a"
	done_with
	second="accepted from the store (layer found by diff_id, not fetched)"
else
	second="refused: $(cat "$OUT/pull-xrepo-b2.out")"
fi
check "xrepo: cache verify is clean" "$STRATA" cache verify
OUTCOME[xrepo-b]="$first; with xrepo-a stored: $second"
kill -TERM "$(daemon_pid)" 2>/dev/null
export STRATA_STORE=$SAVED_STORE

# --- bounded memory: a million entries, a gzip bomb -----------------------------------------
# Each pulled by a fresh daemon, so that its VmHWM is the pull's peak.
# Ingest memory does not grow with the layer (ARCHITECTURE.md; target: under
# 64 MiB for the ingest); the bound here is the daemon's whole peak.
PULL_BOUND_MIB=128
hwm_now() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$HWM_PID/status"; }
rss_now() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$HWM_PID/status"; }
restart_daemon
HWM_PID=$(daemon_pid)
idle=$(hwm_now)
t0=$SECONDS
if accepted million; then
	secs=$((SECONDS - t0))
	echo "# million: pulled in $secs s; daemon peak RSS (VmHWM) $PULL_HWM MiB (idle daemon: $idle MiB)"
	check_rss "million: daemon peak RSS during the pull" "$PULL_HWM" "$PULL_BOUND_MIB"
	is "million: the layer has 1,000,000 entries" "$(jq '.layers[1].entries' "$OUT/inspect-million.json")" 1000000
	note "million: inspect --files: exit $FILES_RC, $(wc -l <"$OUT/files-million.out") lines, $(cat "$OUT/files-million.err"); daemon VmHWM now $(hwm_now) MiB"
	is "million: inspect --files lists all 1,000,005 entries" "$(wc -l <"$OUT/files-million.out")" 1000005
	is "million: a directory lists its 999 files" "$(ls "$M/d500" | wc -l)" 999
	check "million: the last file is there" test -f "$M/d999/f998"
	t1=$SECONDS
	n=$(find "$M" | wc -l)
	note "million: find over the mount: $n names in $((SECONDS - t1)) s; daemon VmRSS after it $(rss_now) MiB"
	OUTCOME[million]="accepted: 1,000,000 entries (the default limit), $secs s, daemon VmHWM $PULL_HWM MiB during the pull; inspect --files exit $FILES_RC"
	after_find=$(rss_now)
	done_with
	# What a walk of the whole tree took is given back at umount (what
	# stays is mostly RocksDB's block cache), by a trim just after the
	# umount's reply (fuse/mount.h): it gets 10 s.
	for _ in $(seq 100); do [ "$(rss_now)" -le 256 ] && break; sleep 0.1; done
	check_rss "million: daemon VmRSS after umount (after find: $after_find MiB)" "$(rss_now)" 256
fi
restart_daemon
HWM_PID=$(daemon_pid)
t0=$SECONDS
if accepted gzip-bomb; then
	secs=$((SECONDS - t0))
	echo "# gzip-bomb: $BOMB bytes of zeros pulled in $secs s; daemon peak RSS (VmHWM) $PULL_HWM MiB"
	check_rss "gzip-bomb: daemon peak RSS during the pull" "$PULL_HWM" "$PULL_BOUND_MIB"
	is "gzip-bomb: the file has its full size" "$(stat -c %s "$M/bomb")" "$BOMB"
	is "gzip-bomb: a MiB from its middle reads as zeros" \
		"$(dd if="$M/bomb" bs=1M skip=$((BOMB / 2 >> 20)) count=1 2>/dev/null | tr -d '\0' | wc -c)" 0
	nc=$(jq '.layers[1].new_chunks' "$OUT/inspect-gzip-bomb.json")
	check "gzip-bomb: stored as a handful of new chunks ($nc)" test "$nc" -lt 16
	OUTCOME[gzip-bomb]="accepted: $((BOMB >> 20)) MiB of zeros from a $(( $(jq '.layers[1].compressed_size' "$OUT/inspect-gzip-bomb.json") >> 10 )) KiB blob (limit: limits.max_layer_size, 64 GiB by default), $nc new chunks, $secs s, daemon VmHWM $PULL_HWM MiB"
	done_with
fi
HWM_PID=

# --- nothing escaped, the canary never read ------------------------------------------------
esc_found=
for dir in / /etc /tmp /root "$HOME" "$PWD" "$CANARY_DIR" "$STRATA_STORE" "$TMP"/m-* \
	$(p=$TMP; while [ "$p" != / ]; do p=$(dirname "$p"); echo "$p"; done) \
	$(p=$STRATA_STORE; while [ "$p" != / ]; do p=$(dirname "$p"); echo "$p"; done); do
	[ -e "$dir/$ESC" ] && esc_found="$esc_found $dir/$ESC"
done
esc_found="$esc_found $(find /tmp /etc /var/lib /root -xdev -maxdepth 4 -name "*$ESC*" -not -path "$TMP/*" 2>/dev/null)"
is "no file named $ESC was created outside the images" "$(echo $esc_found)" ""
is "the canary directory holds only its secret" "$(ls -A "$CANARY_DIR")" secret
is "the canary file is unchanged" "$(cat "$CANARY")" "$TOKEN"

# analyze: every accepted image; the million entries with its peak RSS
# sampled (the report itself is counted, then removed).
if "$STRATA" analyze --help 2>&1 | grep -q 'usage: strata analyze'; then
	for c in $(printf '%s\n' "${!OUTCOME[@]}" | sort); do
		case ${OUTCOME[$c]} in accepted*) ;; *) continue ;; esac
		case $c in xrepo-b | million) continue ;; esac
		rc=0; timeout 300 "$STRATA" analyze "$(ref_of "$c")" --format json >"$OUT/analyze-$c.json" 2>&1 || rc=$?
		is "analyze $c: succeeds" "$rc" 0
	done
	if [ "${OUTCOME[million]:-}" != "${OUTCOME[million]#accepted}" ]; then
		t0=$SECONDS
		(
			rc=0
			timeout 600 "$STRATA" analyze "$(ref_of million)" --format json -o "$TMP/analyze-million.json" \
				2>"$OUT/analyze-million.err" || rc=$?
			echo "$rc" >"$TMP/analyze-million.rc"
		) &
		apipe=$!
		sleep 0.2
		# strata runs the analysis as its helper program, same pid.
		apid=$(pgrep -f -- "^$STRATA(-analyze)? analyze $(ref_of million)" | head -1)
		ahwm=0
		while [ -n "$apid" ] && [ -d "/proc/$apid" ]; do
			v=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$apid/status" 2>/dev/null)
			[ -n "$v" ] && ahwm=$v
			sleep 0.5
		done
		wait "$apipe"
		t1=$((SECONDS - t0))
		note "analyze million: $t1 s, report $(stat -c %s "$TMP/analyze-million.json" 2>/dev/null) bytes, peak RSS of the analyze process $ahwm MiB"
		is "analyze million: succeeds" "$(cat "$TMP/analyze-million.rc")" 0
		is "analyze million: says nothing (a report over the memo cap is quietly not stored)" \
			"$(cat "$OUT/analyze-million.err")" ""
		# One item per line in strata's JSON: counted without parsing 380 MB.
		is "analyze million: the files section lists every entry" \
			"$(grep -c '^    {"path": ' "$TMP/analyze-million.json")" 1000005
		is "analyze million: the report ends whole" "$(tail -c 3 "$TMP/analyze-million.json" | tr -d '\n')" "}"
		rm -f "$TMP/analyze-million.json"
		# The files section is written from the walk's entries one record at
		# a time (it was 2.8 GiB when the report was built whole).
		check_rss "analyze million: peak RSS" "$ahwm" 384
	fi
else
	echo "# analyze not available yet"
fi
# Every file of every accepted image, read through a mount without following
# links (the big two: their first and last MiB).
leaks=0
for c in "${!OUTCOME[@]}"; do
	case ${OUTCOME[$c]} in accepted*) ;; *) continue ;; esac
	# xrepo-b is in a store of its own; million's million files are empty.
	case $c in xrepo-b | million) continue ;; esac
	M=$TMP/m-$c
	"$STRATA" mount --no-pull "$(ref_of "$c")" "$M" >/dev/null 2>&1 || { not_ok "remount $c"; continue; }
		n=$(python3 - "$M" "$TOKEN" <<'PY'
# Walks with directory fds (os.fwalk): path-max's paths are too long for
# the kernel as one string. Prints the hits, or -1 on any error.
import os, stat, sys
root, token = sys.argv[1], sys.argv[2].encode()
hits = 0
try:
    for d, dirs, names, dfd in os.fwalk(root, follow_symlinks=False):
        for n in names:
            st = os.stat(n, dir_fd=dfd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                hits += token in os.readlink(n, dir_fd=dfd).encode()
            elif stat.S_ISREG(st.st_mode):
                fd = os.open(n, os.O_RDONLY, dir_fd=dfd)
                with os.fdopen(fd, 'rb') as f:
                    data = f.read(1 << 20)
                    if st.st_size > 2 << 20:
                        f.seek(-(1 << 20), 2)
                    data += f.read()
                hits += token in data
except OSError as e:
    print(-1, e)
    sys.exit()
print(hits)
PY
)
	case $n in
	-1*) not_ok "$c: every file read through the mount: $n"; n=0 ;;
	'') not_ok "$c: every file read through the mount"; n=0 ;;
	esac
	leaks=$((leaks + n))
	done_with
done
is "the token is in no file or link target read through the mounts" "$leaks" 0
grep -rlaF -- "$TOKEN" "$STRATA_STORE" "$TMP/store-xrepo" "$OUT" >"$TMP/token.hits" 2>/dev/null
is "the token is in no file of the store (index, chunks, log) nor in any output" "$(cat "$TMP/token.hits")" ""
want=$(sha256sum <"$CANARY" | cut -c1-64)
is "no chunk of the store is the canary's content" "$(find "$STRATA_STORE/chunks" -name "$want" | wc -l)" 0
is "no file listed by inspect --files has the canary's sha256" "$(cat "$OUT"/files-*.out | grep -c "$want")" 0
check "cache verify is clean after everything" "$STRATA" cache verify

echo "# outcomes:"
for c in $(printf '%s\n' "${!OUTCOME[@]}" | sort); do echo "#   $c: ${OUTCOME[$c]}"; done
note "runtime: $SECONDS s"
done_testing
