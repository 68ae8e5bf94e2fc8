#!/bin/bash
# t0030-auth: pulls from registries that want credentials (htpasswd Basic
# auth; Bearer tokens from a token server), checks that refused credentials
# fail with one clear line and that credentials never follow a redirect to
# another host. Network faults on the way are t0035-net-faults.
. "$(dirname "$0")/lib.sh"

need_cmd docker-registry skopeo htpasswd openssl python3 curl base64 jq
[ -x "$STRATA" ] || skip_all "strata is not built ($STRATA)"
test_images

# creds_config DIR HOST USER PASSWORD: a Docker config.json in DIR.
creds_config() {
	mkdir -p "$1"
	printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$2" \
		"$(printf '%s:%s' "$3" "$4" | base64 -w0)" >"$1/config.json"
}

# push_creds REPO: pushes the base test image as REPO:latest with user:pass.
push_creds() {
	skopeo copy --quiet --dest-tls-verify=false --dest-creds user:pass \
		"oci:$IMAGES:base" "docker://$REGISTRY/$1:latest" >"$TMP/skopeo.log" 2>&1 ||
		{ sed 's/^/#   /' "$TMP/skopeo.log"; return 1; }
}

# pull STORE [VAR=VALUE...] REF: strata pull into its own store, so that
# no case is satisfied by what an earlier one stored.
pull() {
	local store=$1; shift
	env STRATA_STORE="$TMP/stores/$store" "$@"
}

# listed STORE REF: strata images in STORE shows REF.
listed() {
	STRATA_STORE="$TMP/stores/$1" "$STRATA" images | grep -qF "$2"
}

# --- Basic auth (htpasswd) ---------------------------------------------------
htpasswd -Bbn user pass >"$TMP/htpasswd"
start_registry basic "auth:
  htpasswd:
    realm: strata-test
    path: $TMP/htpasswd"
BASIC=$REGISTRY
push_creds strata/base || exit 99
note "basic: htpasswd registry at $BASIC"
creds_config "$TMP/basic-good" "$BASIC" user pass
creds_config "$TMP/basic-bad" "$BASIC" user wrong

check "basic: pull with credentials from \$DOCKER_CONFIG" \
	pull b-good DOCKER_CONFIG="$TMP/basic-good" "$STRATA" pull "$BASIC/strata/base"
check "basic: the pulled image is listed" listed b-good "$BASIC/strata/base"
fails_with "basic: a wrong password fails" "authentication failed" \
	pull b-bad DOCKER_CONFIG="$TMP/basic-bad" "$STRATA" pull "$BASIC/strata/base"
fails_with "basic: no credentials fails" "authentication failed" \
	pull b-none "$STRATA" pull "$BASIC/strata/base"
check "basic: credentials from STRATA_REGISTRY_CREDENTIALS" \
	pull b-conf STRATA_REGISTRY_CREDENTIALS="$TMP/basic-good/config.json" "$STRATA" pull "$BASIC/strata/base"
fails_with "basic: a missing tag is 'not found'" "not found" \
	pull b-missing DOCKER_CONFIG="$TMP/basic-good" "$STRATA" pull "$BASIC/strata/base:nope"
creds_config "$HOME/.docker" "http://$BASIC/v2/" user pass
check "basic: credentials from ~/.docker/config.json under a URL-style key" \
	pull b-home "$STRATA" pull "$BASIC/strata/base"
rm -rf "$HOME/.docker"

# A layer evicted with its map kept comes back by Range with the daemon's
# own credentials (a refetch has no client request behind it).
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
	lazy_env=(STRATA_CACHE_MAX_SIZE=16M STRATA_REGISTRY_CREDENTIALS="$TMP/basic-good/config.json")
	check "basic: pull into a budget smaller than the image" \
		pull b-map "${lazy_env[@]}" "$STRATA" pull -q "$BASIC/strata/base"
	is "basic: the layer keeps its map only" \
		"$(pull b-map "${lazy_env[@]}" "$STRATA" cache ls --json | jq -r '.[0].state')" mapped
	mkdir -p "$TMP/mnt-map"
	check "basic: mount it" pull b-map "${lazy_env[@]}" "$STRATA" mount "$BASIC/strata/base" "$TMP/mnt-map"
	check "basic: a read fetches its chunks with the daemon's credentials" grep -q '^ID=debian' "$TMP/mnt-map/etc/os-release"
	check "basic: unmount" pull b-map "${lazy_env[@]}" "$STRATA" umount "$TMP/mnt-map"
else
	skip "basic: refetch with the daemon's credentials (no FUSE here)"
fi

# --- Bearer tokens from a token server --------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/token.key" -out "$TMP/token.crt" \
	-days 2 -subj /CN=strata-token-server >"$TMP/openssl.log" 2>&1 ||
	{ sed 's/^/#   /' "$TMP/openssl.log"; exit 99; }
TPORT=$(free_port)
TOKEN_LOG=$TMP/token.log
: >"$TOKEN_LOG"
python3 "$TEST_SRCDIR/token-server.py" --port "$TPORT" --key "$TMP/token.key" \
	--cert "$TMP/token.crt" --issuer strata-token-server --service strata-registry \
	--user user:pass --anonymous strata/public --log "$TOKEN_LOG" 2>"$TMP/token.err" &
tpid=$!
at_exit "kill $tpid; wait $tpid"
if ! wait_http "http://127.0.0.1:$TPORT/token"; then
	echo "# token server did not start:"; sed 's/^/#   /' "$TMP/token.err"; exit 99
fi
start_registry token "auth:
  token:
    realm: http://127.0.0.1:$TPORT/token
    service: strata-registry
    issuer: strata-token-server
    rootcertbundle: $TMP/token.crt"
TOKREG=$REGISTRY
push_creds strata/public || exit 99
push_creds strata/private || exit 99
note "token: registry at $TOKREG, token server at 127.0.0.1:$TPORT"
creds_config "$TMP/token-good" "$TOKREG" user pass
creds_config "$TMP/token-bad" "$TOKREG" user wrong

: >"$TOKEN_LOG"
check "token: anonymous pull of a public repository" \
	pull t-anon "$STRATA" pull "$TOKREG/strata/public"
check "token: the pulled image is listed" listed t-anon "$TOKREG/strata/public"
check "token: an anonymous token for repository:strata/public:pull was asked for" \
	grep -qF '"scopes": ["repository:strata/public:pull"], "authorization": null, "user": null, "result": 200' "$TOKEN_LOG"
fails_with "token: anonymous pull of a private repository fails" "authentication failed" \
	pull t-anon-priv "$STRATA" pull "$TOKREG/strata/private"
: >"$TOKEN_LOG"
check "token: pull of a private repository with credentials" \
	pull t-creds DOCKER_CONFIG="$TMP/token-good" "$STRATA" pull "$TOKREG/strata/private"
check "token: the token server saw the user's Basic credentials" \
	grep -qF '"scopes": ["repository:strata/private:pull"], "authorization": "basic", "user": "user", "result": 200' "$TOKEN_LOG"
: >"$TOKEN_LOG"
fails_with "token: refused credentials fail" "authentication failed" \
	pull t-bad DOCKER_CONFIG="$TMP/token-bad" "$STRATA" pull "$TOKREG/strata/private"
check "token: the token server refused them" grep -qF '"result": 401' "$TOKEN_LOG"

# --- Credentials never follow a redirect to another host ---------------------
# The proxy answers authorised blob GETs with 307 to 127.0.0.2 (another host,
# still loopback), as registries do with their storage backends.
if python3 -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null; then
	start_proxy redirect "$TOKREG" --redirect-blobs 127.0.0.2
	creds_config "$TMP/proxy-good" "$PROXY" user pass
	check "redirect: pull of a private image whose blobs are redirected to another host" \
		pull r-creds DOCKER_CONFIG="$TMP/proxy-good" "$STRATA" pull "$PROXY/strata/private"
	n_storage=$(grep -c '"listener": "storage"' "$PROXY_LOG")
	n_leaked=$(grep '"listener": "storage"' "$PROXY_LOG" | grep -vc '"authorization": null')
	n_bearer=$(grep '"listener": "registry"' "$PROXY_LOG" | grep -c '"authorization": "bearer"')
	note "redirect: $n_storage blob requests reached the storage host, $n_bearer registry requests carried a token"
	check "redirect: blobs were fetched from the storage host" test "$n_storage" -gt 0
	check "redirect: the registry got the Bearer token" test "$n_bearer" -gt 0
	is "redirect: no Authorization header reached the storage host" "$n_leaked" 0
else
	skip "redirect: cannot bind 127.0.0.2 here"
fi

done_testing
