#!/bin/bash
# t0036-tls: HTTPS registries as users configure them. Real docker-registry
# instances on loopback serve TLS with certificates of a private CA made here
# with openssl (IP SAN 127.0.0.1): a good one, an expired one, one for
# another host, and one that requires client certificates (mTLS). A pull
# fails with one line naming the host, the reason and the directories looked
# in until the CA is in a certs.d directory (the containers layout, *.crt and
# NAME.cert + NAME.key, and Docker's, ca.crt, client.cert and client.key) or
# in registry.ca_file; custom CAs add to the system's trust; a loopback
# registry that does not speak TLS is spoken to over plain HTTP, decided once,
# and any other never is; registry.insecure skips verification; HTTPS_PROXY
# and NO_PROXY are obeyed (tests/connect-proxy.py). Each case has a store,
# and so a daemon, of its own: the daemon reads the environment it starts in.
. "$(dirname "$0")/lib.sh"

need_cmd docker-registry skopeo openssl python3 curl jq
[ -x "$STRATA" ] || skip_all "strata is not built ($STRATA)"

# --- certificates -------------------------------------------------------------
P=$TMP/pki
mkdir -p "$P/db"
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# ca NAME: a self-signed CA.
ca() {
	newkey "$P/$1.key" &&
	openssl req -x509 -new -key "$P/$1.key" -out "$P/$1.crt" -days 3 -subj "/CN=strata test $1" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		2>/dev/null
}
# cert NAME CA SAN USAGE [START END]: a certificate signed by CA (openssl
# ca, which alone sets any validity period, as an expired one needs).
cert() {
	local name=$1 ca=$2 san=$3 usage=$4 start=${5:-} end=${6:-}
	newkey "$P/$name.key" &&
	openssl req -new -key "$P/$name.key" -out "$P/$name.csr" -subj "/CN=$name" 2>/dev/null &&
	cat >"$P/$name.cnf" <<CNF &&
[ca]
default_ca = ca
[ca]
database = $P/db/index.txt
serial = $P/db/serial
new_certs_dir = $P/db
default_md = sha256
default_days = 3
policy = any
unique_subject = no
[any]
commonName = supplied
[ext]
subjectAltName = $san
basicConstraints = CA:FALSE
extendedKeyUsage = $usage
CNF
	openssl ca -batch -notext -config "$P/$name.cnf" -cert "$P/$ca.crt" -keyfile "$P/$ca.key" \
		-in "$P/$name.csr" -out "$P/$name.crt" -extensions ext \
		${start:+-startdate "$start"} ${end:+-enddate "$end"} >"$P/$name.log" 2>&1
}
: >"$P/db/index.txt"
echo 1000 >"$P/db/serial"
{
	ca ca && ca otherca &&
	cert server ca "IP:127.0.0.1,DNS:registry.test" serverAuth &&
	cert expired ca "IP:127.0.0.1" serverAuth 20200101000000Z 20200102000000Z &&
	cert wronghost ca "DNS:wrong.example,IP:127.0.0.2" serverAuth &&
	cert client ca "DNS:client.example" clientAuth &&
	cert stranger otherca "DNS:stranger.example" clientAuth
} || { echo "# openssl failed:"; cat "$P"/*.log | sed 's/^/#   /' | tail -20; exit 99; }
check "the expired certificate is expired" \
	sh -c "! openssl x509 -in '$P/expired.crt' -noout -checkend 0 >/dev/null"

# --- registries, one storage --------------------------------------------------
DATA=$TMP/data
tls_yaml() { # CERT [CLIENT_CA]
	printf '  tls:\n    certificate: %s\n    key: %s\n' "$P/$1.crt" "$P/$1.key"
	[ -z "${2:-}" ] || printf '    clientcas:\n      - %s\n' "$P/$2.crt"
}
start_registry plain "" "$DATA"; PLAIN=$REGISTRY PLAIN_LOG=$REGISTRY_LOG
start_registry tls "$(tls_yaml server)" "$DATA"; TLSR=$REGISTRY TLS_LOG=$REGISTRY_LOG
start_registry expired "$(tls_yaml expired)" "$DATA"; EXPR=$REGISTRY
start_registry wronghost "$(tls_yaml wronghost)" "$DATA"; WRONGR=$REGISTRY
start_registry mtls "$(tls_yaml server ca)" "$DATA"; MTLSR=$REGISTRY

# A small image of two layers, pushed once over plain HTTP.
python3 - "$TEST_SRCDIR" "$TMP/img" <<'PY' || exit 99
import random, sys
sys.path.insert(0, sys.argv[1])
from ocilayout import Layout
with Layout(sys.argv[2]) as lay:
    lay.image("tiny", {"etc/tiny": b"tiny\n", "data/r.bin": random.Random(36).randbytes(1 << 20)})
PY
skopeo copy --quiet --dest-tls-verify=false "oci:$TMP/img:tiny" "docker://$PLAIN/strata/tiny:latest" \
	>"$TMP/skopeo.log" 2>&1 || { sed 's/^/#   /' "$TMP/skopeo.log"; exit 99; }

# Where strata looks: a containers-style and a Docker-style certs.d.
C=$TMP/containers-certs.d D=$TMP/docker-certs.d
mkdir -p "$C" "$D"
export STRATA_REGISTRY_CERTS_DIRS="$C,$D"

# fresh COMMAND...: COMMAND with a store, and so a daemon, of its own; the
# daemon of the case before is stopped.
n=0
fresh() {
	stop_daemons
	n=$((n + 1))
	STRATA_STORE=$TMP/stores/$n "$@"
}
pulls() { fresh "$STRATA" pull -q "$1/strata/tiny"; }
# put DIR FILE...: the files (from $P, renamed SRC:DEST) into DIR alone.
put() {
	local dir=$1 f; shift
	rm -rf "$dir"; mkdir -p "$dir"
	for f in "$@"; do cp "$P/${f%%:*}" "$dir/${f#*:}"; done
}
clear_certs() { rm -rf "${C:?}"/* "${D:?}"/*; }
plain_on_tls() { grep -c "does not look like a TLS handshake" "$1" || true; }

# --- trust: certs.d, both layouts, and registry.ca_file -----------------------
fails_with "no CA anywhere: the certificate is not trusted, one line" \
	"strata: pull '$TLSR/strata/tiny': TLS certificate of registry '$TLSR' is not trusted: unable to get local issuer certificate (CA certificates looked for in $C/$TLSR, $D/$TLSR and registry.ca_file)" \
	pulls "$TLSR"
is "a loopback registry whose certificate fails is not tried over plain HTTP" "$(plain_on_tls "$TLS_LOG")" 0

put "$C/$TLSR" ca.crt:private-ca.crt
check "containers layout: DIR/HOST:PORT/*.crt trusts the CA" pulls "$TLSR"
clear_certs
put "$D/$TLSR" ca.crt:ca.crt
check "Docker layout: DIR/HOST:PORT/ca.crt trusts the CA" pulls "$TLSR"
clear_certs
put "$C/127.0.0.1" ca.crt:ca.crt
fails_with "a directory without the port is not the registry's with a port" \
	"TLS certificate of registry '$TLSR' is not trusted" pulls "$TLSR"
clear_certs

printf '[registry]\nca_file = %s\n' "$P/ca.crt" >"$TMP/ca-file.conf"
check "registry.ca_file (strata.conf) trusts the CA" \
	fresh env STRATA_CONFIG="$TMP/ca-file.conf" "$STRATA" pull -q "$TLSR/strata/tiny"
check "STRATA_REGISTRY_CA_FILE trusts the CA" \
	fresh env STRATA_REGISTRY_CA_FILE="$P/ca.crt" "$STRATA" pull -q "$TLSR/strata/tiny"
fails_with "a registry.ca_file that is not there is named" \
	"cannot read certificate file '$P/none.crt': no such file or directory" \
	fresh env STRATA_REGISTRY_CA_FILE="$P/none.crt" "$STRATA" pull -q "$TLSR/strata/tiny"

# Custom CAs add to the system's trust, not replace it: with otherca in
# registry.ca_file, a registry whose CA is only in the system bundle (a copy
# with ca.crt added, bound over it in a mount namespace of the pull's own) is
# still trusted. curl's CA blob replaces its CA file, so this fails unless
# strata carries the system bundle along.
bundle=$(curl-config --ca 2>/dev/null)
if [ -z "$bundle" ] || [ ! -f "$bundle" ]; then
	skip "system trust kept: libcurl names no CA bundle file"
elif ! unshare -m --propagation private true 2>/dev/null; then
	skip "system trust kept: no mount namespace here (unshare -m needs root)"
else
	cat "$bundle" "$P/ca.crt" >"$TMP/bundle.crt"
	check "system trust kept: a CA in the system bundle is trusted beside registry.ca_file" \
		fresh env STRATA_REGISTRY_CA_FILE="$P/otherca.crt" \
		unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ \
		"$TMP/bundle.crt" "$bundle" "$STRATA" pull -q "$TLSR/strata/tiny"
	fails_with "system trust kept: and without it there, registry.ca_file's other CA does not do" \
		"TLS certificate of registry '$TLSR' is not trusted" \
		fresh env STRATA_REGISTRY_CA_FILE="$P/otherca.crt" "$STRATA" pull -q "$TLSR/strata/tiny"
fi

# --- certificates that must be refused ----------------------------------------
put "$C/$EXPR" ca.crt:ca.crt
fails_with "an expired certificate is refused" \
	"strata: pull '$EXPR/strata/tiny': TLS certificate of registry '$EXPR' is not trusted: certificate has expired (CA certificates looked for in $C/$EXPR, $D/$EXPR and registry.ca_file)" \
	pulls "$EXPR"
put "$D/$WRONGR" ca.crt:ca.crt
fails_with "a certificate for another host is refused" \
	"TLS certificate of registry '$WRONGR' is not trusted: no alternative certificate subject name matches target host name '127.0.0.1'" \
	pulls "$WRONGR"
clear_certs

# --- client certificates (mTLS) -------------------------------------------------
put "$D/$MTLSR" ca.crt:ca.crt
fails_with "mTLS: without a client certificate the pull is refused, and says where it looked" \
	"strata: pull '$MTLSR/strata/tiny': registry '$MTLSR' requires a TLS client certificate: none found (NAME.cert and NAME.key looked for in $C/$MTLSR, $D/$MTLSR)" \
	pulls "$MTLSR"
put "$D/$MTLSR" ca.crt:ca.crt client.crt:client.cert client.key:client.key
check "mTLS: Docker layout, client.cert and client.key" pulls "$MTLSR"
clear_certs
put "$C/$MTLSR" ca.crt:lab-ca.crt client.crt:me.cert client.key:me.key
check "mTLS: containers layout, NAME.cert and NAME.key" pulls "$MTLSR"
clear_certs
put "$D/$MTLSR" ca.crt:ca.crt stranger.crt:client.cert stranger.key:client.key
fails_with "mTLS: a client certificate of another CA is refused" \
	"registry '$MTLSR' refused the TLS client certificate '$D/$MTLSR/client.cert'" pulls "$MTLSR"
put "$C/$MTLSR" ca.crt:ca.crt client.crt:me.cert
fails_with "a .cert without its .key is named" \
	"strata: pull '$MTLSR/strata/tiny': client certificate '$C/$MTLSR/me.cert' has no key '$C/$MTLSR/me.key'" \
	pulls "$MTLSR"
put "$C/$MTLSR" ca.crt:ca.crt client.key:me.key
fails_with "a .key without its .cert is named" \
	"client key '$C/$MTLSR/me.key' has no certificate '$C/$MTLSR/me.cert'" pulls "$MTLSR"
put "$C/$MTLSR" ca.crt:ca.crt client.crt:me.cert stranger.key:me.key
fails_with "a key that does not match its certificate is named" \
	"client key '$C/$MTLSR/me.key' does not match its certificate '$C/$MTLSR/me.cert'" pulls "$MTLSR"
put "$C/$MTLSR" client.key:broken.crt
fails_with "a .crt that holds no certificate is named" \
	"CA certificate file '$C/$MTLSR/broken.crt': no PEM certificate in it" pulls "$MTLSR"
clear_certs

# --- registry.insecure and plain HTTP -------------------------------------------
before=$(grep -c '"GET /v2/strata/tiny/manifests/' "$TLS_LOG")
check "registry.insecure: TLS without verification" \
	fresh env STRATA_REGISTRY_INSECURE="$TLSR" "$STRATA" pull -q "$TLSR/strata/tiny"
after=$(grep -c '"GET /v2/strata/tiny/manifests/' "$TLS_LOG")
check "registry.insecure: the TLS registry served the manifest" test "$after" -gt "$before"

check "a loopback registry that does not speak TLS: plain HTTP" pulls "$PLAIN"
log=$TMP/stores/$n/daemon.log
is "the daemon decided once for the pull (of 3+ requests)" \
	"$(grep -c "registry '$PLAIN' does not speak TLS: using plain HTTP" "$log")" 1

# A plain HTTP server that hangs up on a ClientHello rather than answer 400
# (here, one that answers every HTTP request with 404) does not speak TLS
# either: the pull fails over HTTP, with its 404.
hport=$(free_port)
python3 - "$hport" 2>"$TMP/hangup.err" <<'PY' &
import socket, sys, threading
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
def serve(c):
    with c:
        data = c.recv(4096)
        if data[:1] != b"\x16":  # not a TLS handshake record
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
PY
hpid=$!
at_exit "kill $hpid; wait $hpid"
wait_tcp "$hport" || { echo "# hang-up server did not start"; exit 99; }
fails_with "a loopback server that hangs up on TLS is spoken to over plain HTTP" \
	"manifest unknown: 'strata/tiny:latest' not found in 127.0.0.1:$hport" pulls "127.0.0.1:$hport"

# --- proxies ----------------------------------------------------------------------
pport=$(free_port)
PLOG=$TMP/proxy.log
: >"$PLOG"
python3 "$TEST_SRCDIR/connect-proxy.py" --port "$pport" --log "$PLOG" \
	--map registry.test=127.0.0.1 --map plain.test=127.0.0.1 2>"$TMP/proxy.err" &
ppid=$!
at_exit "kill $ppid; wait $ppid"
wait_tcp "$pport" || { echo "# proxy did not start"; exit 99; }
PROXY_URL=http://127.0.0.1:$pport
connects() { grep -c "\"CONNECT\", \"target\": \"$1\"" "$PLOG" || true; }

put "$C/$TLSR" ca.crt:ca.crt
check "HTTPS_PROXY: the pull goes through the proxy" \
	fresh env HTTPS_PROXY="$PROXY_URL" "$STRATA" pull -q "$TLSR/strata/tiny"
check "HTTPS_PROXY: the proxy tunnelled to the registry" test "$(connects "$TLSR")" -gt 0
c0=$(connects "$TLSR")
check "NO_PROXY naming the host: the pull goes straight" \
	fresh env HTTPS_PROXY="$PROXY_URL" NO_PROXY=127.0.0.1 "$STRATA" pull -q "$TLSR/strata/tiny"
is "NO_PROXY: the proxy saw nothing" "$(connects "$TLSR")" "$c0"
clear_certs

# A registry by a name that is not loopback (the proxy resolves it).
NAMED=registry.test:${TLSR##*:}
put "$D/$NAMED" ca.crt:ca.crt
check "a named registry through the proxy, its CA in certs.d/NAME:PORT" \
	fresh env HTTPS_PROXY="$PROXY_URL" "$STRATA" pull -q "$NAMED/strata/tiny"
clear_certs
NPLAIN=plain.test:${PLAIN##*:}
fails_with "a registry that is not loopback and speaks plain HTTP is refused, never spoken to over HTTP" \
	"strata: pull '$NPLAIN/strata/tiny': registry '$NPLAIN' does not speak TLS: wrong version number (plain HTTP is used only for registries on loopback or listed in registry.insecure)" \
	fresh env HTTPS_PROXY="$PROXY_URL" http_proxy="$PROXY_URL" "$STRATA" pull -q "$NPLAIN/strata/tiny"
is "and no plain HTTP request went out" "$(grep -c '"target": "http://plain.test' "$PLOG")" 0
check "listed in registry.insecure: HTTPS tried first, then plain HTTP" \
	fresh env HTTPS_PROXY="$PROXY_URL" http_proxy="$PROXY_URL" STRATA_REGISTRY_INSECURE="$NPLAIN" \
	"$STRATA" pull -q "$NPLAIN/strata/tiny"
check "and the plain HTTP requests went through http_proxy" \
	test "$(grep -c "\"target\": \"http://$NPLAIN/v2/" "$PLOG")" -gt 0

done_testing
