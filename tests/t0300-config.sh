#!/bin/bash
# t0300: the configuration file — `strata config show` and where each value
# comes from (default, file:LINE, env, flag), precedence, one-line errors
# naming file and line, and a daemon started with the file's store.
. "$(dirname "$0")/lib.sh"
need_cmd jq curl

conf=$TMP/strata.conf
empty=$TMP/empty.conf
: >"$empty"
cat >"$conf" <<EOF
# test configuration
[store]
path = "$TMP/fromfile"

[cache]
max_size = 3G   ; three gibibytes
low_watermark = 80

[registry]
insecure = lab:5000, other:5000
mirrors = docker.io=https://mirror.example
EOF

# value_of KEY [strata args...]: "VALUE SOURCE" from config show --json
value_of() {
	local key=$1; shift
	"$STRATA" "$@" config show --json | jq -r --arg k "$key" \
		'.keys[] | select(.key == $k) | "\(.value | if type == "array" then join(",") else tostring end) \(.source)"'
}

# --- defaults ------------------------------------------------------------
export STRATA_CONFIG=$empty
is "an empty file leaves the defaults" "$(value_of cache.max_size)" "0 default"
is "pull.jobs default" "$(value_of pull.jobs)" "3 default"
is "store.path from STRATA_STORE (lib.sh sets it)" "$(value_of store.path)" "$TMP/store env STRATA_STORE"
# Every key strata.conf(5) documents, and no other.
nkeys=$(grep -c '^\.BR [a-z_]* " (" STRATA_' "$TEST_SRCDIR/../man/strata.conf.5")
out=$("$STRATA" config show)
if grep -q "^configuration file: $empty\$" <<<"$out" &&
   grep -Eq '^cache\.max_size +none +default$' <<<"$out" &&
   grep -Eq '^daemon\.socket_mode +0600 +default$' <<<"$out" &&
   [ "$(grep -c '^[a-z]*\.[a-z_]* ' <<<"$out")" -eq "$nkeys" ]; then
	ok "config show lists every key with value and source"
else
	not_ok "config show lists every key with value and source"; sed 's/^/#   /' <<<"$out"
fi
is "config show --json is one document with the $nkeys keys of strata.conf(5)" \
	"$("$STRATA" config show --json | jq '.keys | length')" "$nkeys"

# --- the file, the environment, flags ------------------------------------
unset STRATA_STORE
export STRATA_CONFIG=$conf
is "file sets cache.max_size (source file:LINE)" "$(value_of cache.max_size)" "3221225472 file:6"
is "file sets low_watermark" "$(value_of cache.low_watermark)" "80 file:7"
is "file sets a list" "$(value_of registry.insecure)" "lab:5000,other:5000 file:10"
is "file sets [store] path" "$(value_of store.path)" "$TMP/fromfile file:3"
is "text form shows the size in its unit" \
	"$("$STRATA" config show | awk '$1 == "cache.max_size" {print $2, $3}')" "3G file:6"
is "environment beats the file" \
	"$(STRATA_CACHE_MAX_SIZE=1G value_of cache.max_size)" "1073741824 env STRATA_CACHE_MAX_SIZE"
is "STRATA_STORE beats [store] path" \
	"$(STRATA_STORE=$TMP/envstore value_of store.path)" "$TMP/envstore env STRATA_STORE"
is "--store beats STRATA_STORE" \
	"$(STRATA_STORE=$TMP/envstore value_of store.path --store "$TMP/flagstore")" "$TMP/flagstore flag --store"
is "-v sets log.level as a flag" "$(value_of log.level -v)" "info flag -v"

other=$TMP/other.conf
printf '[pull]\njobs = 9\n' >"$other"
is "--config FILE is read" "$(value_of pull.jobs --config "$other")" "9 file:2"
is "--config wins over STRATA_CONFIG" "$(value_of cache.max_size --config "$other")" "0 default"
is "a relative --config is reported absolute" \
	"$(cd "$TMP" && "$STRATA" --config other.conf config show --json | jq -r .file)" "$other"

# The shipped example, every key uncommented, states the defaults.
example=$TEST_SRCDIR/../contrib/strata.conf.example
if [ -f "$example" ]; then
	sed 's/^#\([a-z_]* =\)/\1/' "$example" >"$TMP/example.conf"
	# The example shows root's defaults; a user's own differ for two keys.
	same_for_all='.key != "store.path"'
	[ "$(id -u)" -eq 0 ] || same_for_all+=' and .key != "registry.certs_dirs"'
	is "the example sets all $nkeys keys" "$(grep -c '^[a-z_]* =' "$TMP/example.conf")" "$nkeys"
	is "the example states the defaults" \
		"$("$STRATA" --config "$TMP/example.conf" config show --json |
			jq -c "[.keys[] | select($same_for_all) | .value]")" \
		"$("$STRATA" --config "$empty" config show --json |
			jq -c "[.keys[] | select($same_for_all) | .value]")"
else
	skip "contrib/strata.conf.example is not here"
fi

# --- errors: one line naming file and line ---------------------------------
bad=$TMP/bad.conf
printf '[cache]\n# a comment\nmaxsize = 3G\n' >"$bad"
fails_with "unknown key" "strata: $bad:3: unknown key 'maxsize' in [cache]" \
	"$STRATA" --config "$bad" config show
printf '[store]\npath = /x\n\n[cache]\n\n\nmax_size = lots\n' >"$bad"
fails_with "bad value" "strata: $bad:7: invalid size 'lots' for cache.max_size" \
	"$STRATA" --config "$bad" config show
printf '[caches]\n' >"$bad"
fails_with "unknown section" "strata: $bad:1: unknown section '[caches]'" \
	"$STRATA" --config "$bad" config show
fails_with "the error stops other commands too" "strata: $bad:1: unknown section" \
	env STRATA_CONFIG="$bad" "$STRATA" images
fails_with "a bad environment value" \
	"strata: environment variable STRATA_PULL_JOBS: number '0' for pull.jobs is outside 1..64" \
	env STRATA_PULL_JOBS=0 "$STRATA" config show
fails_with "registry.certs_dirs are absolute paths" \
	"strata: environment variable STRATA_REGISTRY_CERTS_DIRS: invalid path 'certs.d' for registry.certs_dirs (absolute paths)" \
	env STRATA_REGISTRY_CERTS_DIRS=/etc/x,certs.d "$STRATA" config show
fails_with "registry.ca_file is an absolute path" \
	"strata: $bad:2: invalid path 'ca.pem' for registry.ca_file (an absolute path)" \
	sh -c 'printf "[registry]\nca_file = ca.pem\n" >"$1" && exec "$2" --config "$1" config show' _ "$bad" "$STRATA"
if [ "$(id -u)" -eq 0 ]; then
	is "registry.certs_dirs: root's default is podman's and Docker's" \
		"$(value_of registry.certs_dirs --config "$empty")" "/etc/containers/certs.d,/etc/docker/certs.d default"
else
	is "registry.certs_dirs: a user's default starts with their own" \
		"$(XDG_CONFIG_HOME=/x value_of registry.certs_dirs --config "$empty")" \
		"/x/containers/certs.d,/etc/containers/certs.d,/etc/docker/certs.d default"
fi
fails_with "missing --config file" "strata: cannot read configuration file '$TMP/nope.conf'" \
	"$STRATA" --config "$TMP/nope.conf" config show
fails_with "missing STRATA_CONFIG file" "strata: cannot read configuration file '$TMP/nope.conf'" \
	env STRATA_CONFIG="$TMP/nope.conf" "$STRATA" config show
rc=0; "$STRATA" config frob >/dev/null 2>&1 || rc=$?
is "unknown config subcommand is a usage error" "$rc" 2

default=$("$STRATA" --config "$empty" config show --json | jq -r .default_file)
if [ -e "$default" ]; then
	skip "a missing default file means defaults: $default exists here"
else
	is "a missing default file means defaults" \
		"$(env -u STRATA_CONFIG "$STRATA" config show --json | jq -r '.file')" null
fi

# --- the daemon uses the file's store ---------------------------------------
check "strata images with [store] path from STRATA_CONFIG" "$STRATA" images
if [ -S "$TMP/fromfile/strata.sock" ]; then
	ok "the daemon serves the file's store"
else
	not_ok "the daemon serves the file's store"; ls -la "$TMP" | sed 's/^/#   /'
fi
pid=$(curl -s --unix-socket "$TMP/fromfile/strata.sock" http://strata/v1/version | jq -r .pid)
if [ -n "$pid" ] && [ "$pid" != null ] && tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "STRATA_CONFIG=$conf"; then
	ok "the daemon inherited STRATA_CONFIG"
else
	not_ok "the daemon inherited STRATA_CONFIG (pid '$pid')"
fi

unset STRATA_CONFIG
flagconf=$TMP/flag.conf
printf '[store]\npath = %s/flagfile\n' "$TMP" >"$flagconf"
check "strata images with --config FILE" "$STRATA" --config "$flagconf" images
pid=$(curl -s --unix-socket "$TMP/flagfile/strata.sock" http://strata/v1/version | jq -r .pid)
if [ -n "$pid" ] && [ "$pid" != null ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--config $flagconf "; then
	ok "a daemon started under --config is given --config"
else
	not_ok "a daemon started under --config is given --config (pid '$pid')"
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | sed 's/^/#   /'
fi

# The daemon honours [daemon] socket_mode and `serve --max-size`.
modeconf=$TMP/mode.conf
printf '[store]\npath = %s/modestore\n[daemon]\nsocket_mode = 0660\n' "$TMP" >"$modeconf"
check "a store whose daemon runs with socket_mode 0660" "$STRATA" --config "$modeconf" images
is "the socket has the configured permissions" "$(stat -c %a "$TMP/modestore/strata.sock")" 660
rc=0; "$STRATA" --store "$TMP/serve1" serve --max-size lots >/dev/null 2>"$TMP/serve.err" || rc=$?
is "serve --max-size with a bad size is a usage error" "$rc" 2
check "naming the option" grep -q -- "--max-size" "$TMP/serve.err"
"$STRATA" --store "$TMP/serve2" serve --max-size 300M >"$TMP/serve2.log" 2>&1 &
serve_pid=$!
at_exit "kill $serve_pid"
for _ in $(seq 100); do [ -S "$TMP/serve2/strata.sock" ] && break; sleep 0.1; done
is "serve --max-size sets the budget" "$("$STRATA" --store "$TMP/serve2" cache stats --json | jq .budget)" $((300 * 1024 * 1024))
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null

done_testing
