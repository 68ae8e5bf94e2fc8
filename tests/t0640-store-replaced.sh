#!/bin/bash
# t0640-store-replaced: a store removed (rm -rf) or moved away under its
# running daemon, and a new store started at the same path. The old daemon
# notices within seconds, says so in its log and stops without writing to
# the new store: closing its index would write, and delete "obsolete" files,
# by path. The new store stays whole and keeps its own daemon.
. "$(dirname "$0")/lib.sh"
need_cmd jq curl
export STRATA_STORE=$TMP/store

daemon_pid() {
	curl -s --max-time 5 --unix-socket "$STRATA_STORE/strata.sock" http://strata/v1/version | jq -r .pid
}
# index_files: name, inode and size of every file of the new store's index
# but RocksDB's own info log, which its daemon writes to as it likes.
index_files() { find "$STRATA_STORE/index" -type f ! -name 'LOG*' -printf '%f %i %s\n' | sort; }
stopped() { ! running "$1"; }

python3 - "$TEST_SRCDIR" "$TMP/images" <<'PY' || exit 99
import sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    lay.image("one", {"srv/one.txt": b"the first store\n"})
    lay.image("two", {"srv/two.txt": b"the store that came after\n"})
PY
ONE=oci:$TMP/images:one TWO=oci:$TMP/images:two

# replace LABEL HOW: HOW (remove or move) the store under a daemon with an
# image in it, start a new store at the path, and watch the old daemon.
replace() {
	local label=$1 how=$2
	rm -rf "$STRATA_STORE" "$TMP/moved"
	check "$label: pull into the first store" "$STRATA" pull -q "$ONE"
	local old; old=$(daemon_pid)
	check "$label: its daemon runs" running "$old"
	cp "$STRATA_STORE/daemon.log" "$TMP/old.log.start" 2>/dev/null
	if [ "$how" = remove ]; then
		rm -rf "$STRATA_STORE"
	else
		mv "$STRATA_STORE" "$TMP/moved"
	fi
	check "$label: a new store at the same path takes a pull" "$STRATA" pull -q "$TWO"
	local new; new=$(daemon_pid)
	check "$label: with a daemon of its own" test -n "$new" -a "$new" != "$old"
	local before; before=$(index_files)
	local t0=$SECONDS
	while running "$old" && [ $((SECONDS - t0)) -lt 20 ]; do sleep 0.2; done
	check "$label: the old daemon stopped by itself (after $((SECONDS - t0)) s)" stopped "$old"
	if [ "$how" = move ]; then
		check "$label: and said why in its log" grep -q "was removed or replaced while this daemon served it" \
			"$TMP/moved/daemon.log"
	fi
	is "$label: the new store's index files are untouched" "$(index_files)" "$before"
	is "$label: the new daemon still serves" "$(daemon_pid)" "$new"
	is "$label: the new store holds its image only" "$("$STRATA" images --json | jq -r '.[].names[]' | sort)" "$TWO"
	check "$label: and verifies clean" "$STRATA" cache verify
	if [ "$how" = move ]; then
		is "$label: the store moved away still holds its image" \
			"$(STRATA_STORE=$TMP/moved "$STRATA" images --json | jq -r '.[].names[]')" "$ONE"
		check "$label: and verifies clean" env STRATA_STORE="$TMP/moved" "$STRATA" cache verify
		kill "$(STRATA_STORE=$TMP/moved daemon_pid)" 2>/dev/null
	fi
	kill "$new"
	t0=$SECONDS
	while running "$new" && [ $((SECONDS - t0)) -lt 20 ]; do sleep 0.2; done
}

replace "rm -rf" remove
replace "mv" move
done_testing
