#!/bin/bash
# The cache of compiled secret rules (analyzers/secrets-cache.c): the first
# `strata analyze` stores the Hyperscan database under $XDG_CACHE_HOME/strata,
# the next one loads it instead of compiling (`-vv` says which); a corrupt or
# truncated entry is ignored and replaced; a cache directory that cannot be
# used (a file, a symlink, writable by others, read-only) costs nothing but
# the compilation; another rules file gets another entry; and the findings
# are the same whichever way the rules were had.
. "$(dirname "$0")/lib.sh"
need_cmd jq
"$STRATA" analyze --help 2>&1 | grep -q 'usage: strata analyze' || skip_all "this strata has no analyze command"

ROOT=$TMP/root
mkdir -p "$ROOT/etc"
printf 'github_token: ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5\n' >"$ROOT/etc/app.yml"
printf 'x = 1\nour_key = "zq-7Hc2Lp9Wv4Rt8Ks3Ny6Bm1Xd5Fg0Jh"\n' >"$ROOT/etc/custom.conf"
printf 'plain text\n' >"$ROOT/README"
RULES1=$TMP/rules1.tsv
RULES2=$TMP/rules2.tsv
printf 'our-key\tHIGH\tOur key\tzq-[A-Za-z0-9]{30}\n' >"$RULES1"
printf 'our-key\tHIGH\tOur key\tzq-[A-Za-z0-9]{28,32}\n' >"$RULES2"

export XDG_CACHE_HOME=$TMP/xdg
DIR=$XDG_CACHE_HOME/strata
unset STRATA_NO_HSDB_CACHE

# run NAME ARGS...: strata -vv analyze ARGS ROOT; the findings in NAME.json,
# stderr in NAME.err.
run() {
	local name=$1; shift
	"$STRATA" -vv analyze "$@" --format json -o "$TMP/$name.json" "$ROOT" 2>"$TMP/$name.err" ||
		{ echo "# analyze $* failed:"; sed 's/^/#   /' "$TMP/$name.err" | tail -5; return 1; }
	jq -c '[.secrets[] | [.path, .rule, .line, .match]] | sort' "$TMP/$name.json" >"$TMP/$name.found"
}
loaded() { grep -q 'rules database loaded from' "$TMP/$1.err"; }
stored() { grep -q 'rules compiled in .* stored in' "$TMP/$1.err"; }
entries() { find "$DIR" -maxdepth 1 -name 'secrets-*.hsdb' 2>/dev/null | wc -l; }
stamp() { stat -c '%i %Y %s' "$1"; }

# --- 1. the second run loads what the first stored -------------------------------
check "first run" run first
check "the first run compiles and stores" stored first
is "one entry" "$(entries)" 1
ENTRY=$(find "$DIR" -maxdepth 1 -name 'secrets-*.hsdb' | head -1)
is "directory mode" "$(stat -c %a "$DIR")" 700
is "entry mode" "$(stat -c %a "$ENTRY")" 600
is "the planted secret is found" "$(jq -r '.[0][1]' "$TMP/first.found")" github-pat
before=$(stamp "$ENTRY")
check "second run" run second
check "the second run loads the stored database" loaded second
check "... and compiles nothing" test -z "$(grep 'rules compiled' "$TMP/second.err")"
is "the entry is untouched" "$(stamp "$ENTRY")" "$before"
is "the same findings" "$(cat "$TMP/second.found")" "$(cat "$TMP/first.found")"
STRATA_NO_HSDB_CACHE=1 run off
check "STRATA_NO_HSDB_CACHE=1: no lookup" test -z "$(grep 'rules database' "$TMP/off.err")"
is "STRATA_NO_HSDB_CACHE=1: the same findings" "$(cat "$TMP/off.found")" "$(cat "$TMP/first.found")"

# --- 2. corrupt and truncated entries are ignored and replaced ----------------------
size=$(stat -c %s "$ENTRY")
# One byte flipped in the middle of the serialized database.
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$ENTRY" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$ENTRY" bs=1 seek="$off" conv=notrunc status=none
check "run on a corrupt entry" run corrupt
check "the corrupt entry is reported (debug) and not loaded" grep -q 'ignoring rules database.*bad file' "$TMP/corrupt.err"
check "... and replaced" stored corrupt
is "the same findings (corrupt entry)" "$(cat "$TMP/corrupt.found")" "$(cat "$TMP/first.found")"
check "the replaced entry loads" run corrupt2
check "... loaded" loaded corrupt2
truncate -s $((size - 1000)) "$ENTRY"
check "run on a truncated entry" run truncated
check "the truncated entry is not loaded, and replaced" stored truncated
is "the replaced entry has its size again" "$(stat -c %s "$ENTRY")" "$size"
is "the same findings (truncated entry)" "$(cat "$TMP/truncated.found")" "$(cat "$TMP/first.found")"
: >"$ENTRY"
check "run on an empty entry" run empty
check "the empty entry is replaced" stored empty
is "the same findings (empty entry)" "$(cat "$TMP/empty.found")" "$(cat "$TMP/first.found")"
is "no temporary file is left" "$(find "$DIR" -name '*.tmp' | wc -l)" 0

# --- 3. a cache that cannot be used -------------------------------------------------
# unusable NAME: the run must succeed, compile, and find what the first did.
unusable() {
	local name=$1
	check "$name: the analysis succeeds" run "$name"
	check "$name: nothing is loaded" test -z "$(grep 'rules database loaded' "$TMP/$name.err")"
	is "$name: the same findings" "$(cat "$TMP/$name.found")" "$(cat "$TMP/first.found")"
}
SAVED=$XDG_CACHE_HOME
export XDG_CACHE_HOME=$TMP/xdg-file
: >"$XDG_CACHE_HOME"
unusable "XDG_CACHE_HOME is a file"
export XDG_CACHE_HOME=$TMP/xdg-link
mkdir -p "$XDG_CACHE_HOME" "$TMP/elsewhere"
ln -s "$TMP/elsewhere" "$XDG_CACHE_HOME/strata"
unusable "the cache directory is a symlink"
is "nothing is written through the symlink" "$(ls -A "$TMP/elsewhere" | wc -l)" 0
export XDG_CACHE_HOME=$TMP/xdg-shared
mkdir -p "$XDG_CACHE_HOME/strata"
chmod 0777 "$XDG_CACHE_HOME/strata"
unusable "the cache directory is writable by others"
is "nothing is written into a shared directory" "$(ls -A "$XDG_CACHE_HOME/strata" | wc -l)" 0
export XDG_CACHE_HOME=$TMP/xdg-ro
mkdir -p "$XDG_CACHE_HOME/strata"
chmod 0500 "$XDG_CACHE_HOME/strata"
if [ "$(id -u)" -ne 0 ]; then
	unusable "the cache directory is read-only"
else
	skip "the cache directory is read-only: root writes anyway"
fi
chmod 0700 "$XDG_CACHE_HOME/strata"
unset XDG_CACHE_HOME
(unset HOME; run nohome)
is "neither HOME nor XDG_CACHE_HOME: the same findings" "$(cat "$TMP/nohome.found")" "$(cat "$TMP/first.found")"
export XDG_CACHE_HOME=relative/path
unusable "a relative XDG_CACHE_HOME is ignored"
check "... and HOME's .cache used instead" test -d "$HOME/.cache/strata"
export XDG_CACHE_HOME=$SAVED

# --- 4. rules files ------------------------------------------------------------------
n0=$(entries)
check "--secret-rules FILE" run rules1 --secret-rules "$RULES1"
is "the file's rule finds its secret" "$(jq -c '[.[] | select(.[1] == "our-key") | .[0]]' "$TMP/rules1.found")" '["/etc/custom.conf"]'
check "the built-in set is loaded from the cache" loaded rules1
is "the rules file's set makes a new entry" "$(entries)" $((n0 + 1))
check "--secret-rules FILE again" run rules1b --secret-rules "$RULES1"
check "... compiles nothing" test -z "$(grep 'rules compiled' "$TMP/rules1b.err")"
is "... the same findings" "$(cat "$TMP/rules1b.found")" "$(cat "$TMP/rules1.found")"
check "--secret-rules OTHER-FILE" run rules2 --secret-rules "$RULES2"
check "... compiles it" stored rules2
is "another rules file, another entry" "$(entries)" $((n0 + 2))
is "... the same findings" "$(cat "$TMP/rules2.found")" "$(cat "$TMP/rules1.found")"
check "--secret-rules-only FILE" run only --secret-rules-only "$RULES1"
is "--secret-rules-only: only the file's rule" "$(jq -c '[.[] | .[1]] | unique' "$TMP/only.found")" '["our-key"]'
is "--secret-rules-only: its own entry" "$(entries)" $((n0 + 3))

# --- 5. stale files are pruned when an entry is written --------------------------
touch -d '40 days ago' "$DIR/secrets-0000.hsdb"
touch -d '2 hours ago' "$DIR/secrets-0000.hsdb.1234.tmp"
touch -d '40 days ago' "$DIR/unrelated"
find "$DIR" -maxdepth 1 -name 'secrets-*.hsdb' ! -name 'secrets-0000.hsdb' -exec rm {} +
check "a run that stores an entry" run prune
check "... stored it" stored prune
check "an entry unused for 40 days is removed" test ! -e "$DIR/secrets-0000.hsdb"
check "a temporary file from 2 hours ago is removed" test ! -e "$DIR/secrets-0000.hsdb.1234.tmp"
check "a file that is not the cache's is kept" test -e "$DIR/unrelated"

done_testing
