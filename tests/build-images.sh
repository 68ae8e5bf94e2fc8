#!/bin/bash
# build-images.sh: builds strata's test images from real Debian packages
# (debootstrap, apt, umoci, skopeo) into one OCI image layout and prints that
# layout's absolute path on stdout; everything else goes to stderr. The layout
# is cached in $STRATA_TEST_CACHE (default /var/cache/strata-tests) and
# rebuilt only when this script's sha256 changes. Needs root and the Debian
# archive; takes a few minutes from scratch.
#
# Tags (all layers gzip unless said):
#   base      one layer: `debootstrap --variant=minbase bookworm`, apt lists
#             and caches removed, no resolv.conf/hostname from the build host.
#   app       base + 3 layers:
#     1. apt-get install --no-install-recommends python3-six libjs-jquery
#        ruby-rack libcommons-lang3-java (python3 dist-packages, a JS library,
#        a gem with a gemspec, a jar with META-INF/maven/**/pom.properties),
#        apt lists and caches cleaned in the same layer.
#     2. "edits" (umoci-generated diff), everything new lives in /opt/strata:
#        - deleted files in /usr/share/doc (whiteouts .wh.<name>) and the whole
#          directory /usr/share/doc/python3-six (one whiteout for a directory)
#        - /etc/skel emptied and refilled (umoci writes per-file whiteouts)
#        - directory replaced by a file: /usr/share/doc/libjs-jquery
#        - file replaced by a directory: /etc/debian_version/ (holds "version")
#        - hardlinks: opt/strata/hl-a = opt/strata/hl-b = usr/local/share/hl-c
#        - symlinks: link-escape -> ../../../../../../../../etc/shadow,
#          link-abs -> /usr/bin/env, link-dangling -> /nonexistent/target,
#          link-loop -> link-loop
#        - fifo opt/strata/fifo, char device opt/strata/null (c 1 3)
#        - setuid (4755) copy of /bin/true: opt/strata/setuid-true
#        - opt/strata/xattr with user.strata="hello" (if umoci keeps it;
#          otherwise it is moved into layer 3)
#        - odd names in opt/strata/odd: "with space", "ünïcødé-文件.txt",
#          "-leading-dash"; an empty file opt/strata/empty
#        - opt/strata/random-5M: 5 MiB of deterministic pseudo-random bytes,
#          random-5M-edited: the same with 16 bytes inserted at 2 MiB
#     3. hand-made with GNU tar + `umoci raw add-layer`:
#        etc/apt/apt.conf.d/.wh..wh..opq (opaque directory) and
#        etc/apt/apt.conf.d/99strata; opt/strata/xattr-tar with user.strata
#   rebuilt   base's rootfs with every mtime set to 2024-01-01 UTC, repacked
#             as one layer: same file contents, different layer digest.
#   app-zstd  app recompressed by skopeo (via an uncompressed dir: copy): all
#             layers tar+zstd, same diff_ids as app.
# >>> scan image -----------------------------------------------------------------
#   scan      base + 3 layers, for `strata analyze` (tests/t0400-analyze.sh):
#     1. apt-get install --no-install-recommends $SCAN_PACKAGES (python
#        dist-info/egg-info, ruby with rack's gemspec and ruby's own gems,
#        two Debian jars with pom.properties), apt lists and caches cleaned.
#     2. /srv/app: a real `npm ci` of tests/data/scan-app (express 4 and the
#        scoped @babel/parser, 76 packages with nested node_modules), and
#        /srv/app/.env.old holding a token, deleted again by layer 3.
#     3. /opt/scan/fat.jar, a Spring-Boot-style jar made here with its own
#        pom.properties and the two Debian jars stored under BOOT-INF/lib/;
#        fake credentials of every secret rule class and decoys in
#        /srv/app/.env, /srv/app/config/*, /srv/app/README.md, /root/.aws,
#        /home/dev: tests/data/secrets-planted.tsv says which line holds what.
#        The tokens are derived from a fixed seed here, so no token is
#        written literally in this repository.
#   scan2     scan + 1 small layer: /srv/extra with `npm ci` of
#             tests/data/scan2-extra (is-number) and a note.
# scan and scan2 have a cache key of their own (this whole script and
# tests/data/{scan-app,scan2-extra,secrets-planted.tsv}); the other images'
# key is this script without the "scan image" blocks, so changing the scan
# image rebuilds nothing else. When only the scan key is stale, the scan tags
# are built in a copy of the layout and added to it (new blobs first, then
# index.json renamed into place), so readers of the layout never see it
# change under them. The npm trees are cached in $CACHE/npm-trees (keyed by
# the lock file), so rebuilds do not touch the npm registry. A failed scan
# build (log: $CACHE/images-scan.log) leaves the other images usable and is
# retried after an hour or when the key changes.
# <<< scan image -----------------------------------------------------------------
set -euo pipefail

log() { echo "build-images: $*" >&2; }
die() { echo "build-images: error: $*" >&2; exit 1; }

for tool in dpkg debootstrap umoci skopeo jq flock chroot mknod setfattr getfattr openssl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed" >&2; exit 1; }
done
# Building needs root; a user may read current images (see below).
needs_root() { echo "SKIP: building test images needs root (as root: bash ${BASH_SOURCE[0]})" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || [ -d "${STRATA_TEST_CACHE:-/var/cache/strata-tests}" ] || needs_root

export TZ=UTC LC_ALL=C.UTF-8
CACHE=${STRATA_TEST_CACHE:-/var/cache/strata-tests}
MIRROR=http://deb.debian.org/debian
SUITE=bookworm
PACKAGES="python3-six libjs-jquery ruby-rack libcommons-lang3-java"

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
OUT=$CACHE/images
STAMP=$CACHE/images.sha256
# The downloaded minbase packages are kept across rebuilds (delete the file to
# refresh them); apt in the chroot always fetches current package lists.
DEBTAR=$CACHE/debootstrap-$SUITE-minbase.tgz
ARCH=$(dpkg --print-architecture)
SELF_SUM=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-64)
# >>> scan image -----------------------------------------------------------------
SELF_SUM=$(sed '/^# >>> scan image/,/^# <<< scan image/d' "${BASH_SOURCE[0]}" | sha256sum | cut -c1-64)
DATA=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/data
SCAN_STAMP=$CACHE/images-scan.sha256
SCAN_LOG=$CACHE/images-scan.log
SCAN_PACKAGES="python3-six python3-idna python3-certifi python3-requests ruby-rack libcommons-lang3-java libcommons-io-java"
SCAN_SUM=$(cat "${BASH_SOURCE[0]}" "$DATA/scan-app/package.json" "$DATA/scan-app/package-lock.json" \
	"$DATA/scan2-extra/package.json" "$DATA/scan2-extra/package-lock.json" "$DATA/secrets-planted.tsv" |
	sha256sum | cut -c1-64)

scan_tagged() { # LAYOUT: both scan tags are in its index.json
	jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | (index("scan") != null and index("scan2") != null)' \
		"$1/index.json" >/dev/null 2>&1
}
scan_current() { # the scan tags are built for this key, or failed for it less than an hour ago
	local s; s=$(cat "$SCAN_STAMP" 2>/dev/null) || return 1
	[ "$s" = "$SCAN_SUM" ] && scan_tagged "$OUT" && return 0
	case $s in "failed $SCAN_SUM "*) [ $(($(date +%s) - ${s##* })) -lt 3600 ] && return 0 ;; esac
	return 1
}
scan_chroot() { # runs a command in $R, the rootfs being built
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
		LC_ALL=C chroot "$R" "$@"
}
scan_npm_tree() { # DATADIR DEST: DEST/node_modules from DATADIR's package-lock.json
	local key tarball tmp
	key=$(cat "$1/package.json" "$1/package-lock.json" | sha256sum | cut -c1-16)
	tarball=$CACHE/npm-trees/$(basename "$1")-$key.tar
	if [ ! -f "$tarball" ]; then
		command -v npm >/dev/null 2>&1 || { echo "SKIP: npm is not installed (needed to build the scan image)"; return 1; }
		tmp=$(mktemp -d "$WORK/npm.XXXXXX")
		cp "$1/package.json" "$1/package-lock.json" "$tmp/"
		(cd "$tmp" && HOME=$tmp npm ci --ignore-scripts --no-audit --no-fund --update-notifier=false \
			--userconfig /dev/null --cache "$CACHE/npm-cache") >&2
		mkdir -p "$CACHE/npm-trees"
		tar --sort=name --numeric-owner --owner=0 --group=0 --mtime='2024-06-01 00:00:00' \
			--mode='u+rwX,go+rX,go-w' -C "$tmp" -cf "$tarball.tmp" node_modules
		mv "$tarball.tmp" "$tarball"
		rm -rf "$tmp"
	fi
	tar -xf "$tarball" -C "$2"
}
# scan_files ROOT PHASE: writes the planted credentials and decoys (PHASE
# "layer3") or the doomed /srv/app/.env.old (PHASE "layer2"). Tokens come from
# a fixed seed, so every rebuild plants the same bytes.
scan_files() {
	python3 - "$1" "$2" <<'PY'
import base64, hashlib, json, os, string, sys

root, phase = sys.argv[1], sys.argv[2]
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"


def rnd(label, n, alphabet=ALNUM):
    out, i = [], 0
    while len(out) < n:
        for b in hashlib.sha256(b"strata-scan-v1/" + label.encode() + i.to_bytes(4, "big")).digest():
            if b < 256 - 256 % len(alphabet) and len(out) < n:
                out.append(alphabet[b % len(alphabet)])
        i += 1
    return "".join(out)


def rbytes(label, n):
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha256(b"strata-scan-v1/" + label.encode() + i.to_bytes(4, "big")).digest()
        i += 1
    return out[:n]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_body(label, nbytes):
    text = base64.b64encode(rbytes(label, nbytes)).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


def write(path, lines, mode=0o644, uid=0, gid=0):
    p = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chown(p, uid, gid)
    os.chmod(p, mode)


if phase == "layer2":
    write("/srv/app/.env.old", ["GITHUB_TOKEN=ghp_" + rnd("old-ghp", 36)])
    sys.exit(0)

jwt = ".".join([b64url(b'{"alg":"HS256","typ":"JWT"}'),
                b64url(b'{"sub":"strata-scan","name":"Test User","iat":1704067200}'),
                b64url(rbytes("jwt-sig", 32))])
write("/srv/app/.env", [
    "# strata-scan-app settings (test data: every credential in this file is fake)",
    "NODE_ENV=production",
    "PORT=8080",
    "DB_PASSWORD=${DB_PASSWORD}",
    "GITHUB_TOKEN=ghp_" + rnd("ghp", 36),
    "GITLAB_TOKEN=glpat-" + rnd("glpat", 20),
    "SLACK_BOT_TOKEN=xoxb-%s-%s-%s" % (rnd("xoxb1", 12, string.digits), rnd("xoxb2", 13, string.digits), rnd("xoxb3", 24)),
    "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T%s/B%s/%s" % (rnd("hook1", 8, UPPER), rnd("hook2", 10, UPPER), rnd("hook3", 24)),
    "STRIPE_SECRET=sk_live_" + rnd("stripe", 24, string.ascii_lowercase + string.digits),
    "MAPS_BROWSER_KEY=AIza" + rnd("aiza", 35, ALNUM + "-_"),
    'NPM_TOKEN="npm_%s"' % rnd("npm", 36),
    "PYPI_UPLOAD=pypi-AgEIcHlwaS5vcmc" + rnd("pypi", 64, ALNUM + "-_"),
    "SESSION_JWT=" + jwt,
    "ADMIN_PASSWORD=${ADMIN_PASSWORD}",
    "# AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE  (the AWS documentation's example key)",
    "SESSION_SECRET=" + rnd("session-secret", 40),
], mode=0o600)
write("/srv/app/config/settings.toml", [
    "[database]",
    'host = "db.internal"',
    'user = "app"',
    'password = "%s"' % rnd("password", 20),
    "",
    "[maps]",
    'api_key = "%s"' % rnd("api_key", 32, string.ascii_lowercase + string.digits),
    "",
    "[example]",
    'password = "${PASSWORD}"',
    'api_key = "<your-api-key-here>"',
])
sa_key = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(pem_body("gcp-key", 1216)) + "\n-----END PRIVATE KEY-----\n"
write("/srv/app/config/gcp-service-account.json", [
    "{",
    '  "type": "service_account",',
    '  "project_id": "strata-scan-test",',
    '  "private_key_id": "%s",' % rnd("gcp-key-id", 40, "0123456789abcdef"),
    '  "private_key": %s,' % json.dumps(sa_key),
    '  "client_email": "scanner@strata-scan-test.iam.gserviceaccount.com",',
    '  "client_id": "%s",' % rnd("gcp-client-id", 21, string.digits),
    '  "auth_uri": "https://accounts.google.com/o/oauth2/auth",',
    '  "token_uri": "https://oauth2.googleapis.com/token"',
    "}",
])
write("/srv/app/README.md", [
    "# strata-scan-app",
    "",
    "Configure AWS as the documentation shows:",
    "",
    "    aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
])
os.makedirs(os.path.join(root, "root/.aws"), mode=0o700, exist_ok=True)
write("/root/.aws/credentials", [
    "[default]",
    "aws_access_key_id = AKIA" + rnd("akia", 16, UPPER),
    "aws_secret_access_key = " + rnd("aws-secret", 40, B64),
    "region = eu-west-1",
], mode=0o600)
home = os.path.join(root, "home/dev")
os.makedirs(home, exist_ok=True)
os.chown(home, 1000, 1000)
os.chmod(home, 0o750)
write("/home/dev/id_rsa", ["-----BEGIN RSA PRIVATE KEY-----"] + pem_body("id_rsa", 1190) +
      ["-----END RSA PRIVATE KEY-----"], mode=0o600, uid=1000, gid=1000)
write("/home/dev/id_rsa.pub.pem", ["-----BEGIN PUBLIC KEY-----"] + pem_body("id_rsa.pub", 294) +
      ["-----END PUBLIC KEY-----"], uid=1000, gid=1000)
PY
}
# scan_fatjar ROOT: /opt/scan/fat.jar, laid out as Spring Boot does (nested jars
# stored uncompressed under BOOT-INF/lib/), holding the Debian jars of layer 1.
scan_fatjar() {
	python3 - "$1" <<'PY'
import os, sys, zipfile

root = sys.argv[1]
out = os.path.join(root, "opt/scan/fat.jar")
os.makedirs(os.path.dirname(out), exist_ok=True)
T = (2024, 1, 1, 0, 0, 0)


def put(z, name, data, method=zipfile.ZIP_DEFLATED):
    zi = zipfile.ZipInfo(name, T)
    zi.compress_type = method
    zi.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
    z.writestr(zi, data)


def pom_version(path):
    with zipfile.ZipFile(path) as j:
        for n in j.namelist():
            if n.startswith("META-INF/maven/") and n.endswith("/pom.properties"):
                for line in j.read(n).decode().splitlines():
                    if line.startswith("version="):
                        return line.split("=", 1)[1].strip()
    raise SystemExit("no pom.properties in " + path)


libs = []
for name in ("commons-lang3", "commons-io"):
    src = os.path.join(root, "usr/share/java", name + ".jar")
    while os.path.islink(src):  # resolve inside the rootfs, never on the host
        t = os.readlink(src)
        src = os.path.join(root, t.lstrip("/")) if t.startswith("/") else os.path.join(os.path.dirname(src), t)
    libs.append(("BOOT-INF/lib/%s-%s.jar" % (name, pom_version(src)), open(src, "rb").read()))
with zipfile.ZipFile(out, "w") as z:
    put(z, "META-INF/", b"")
    put(z, "META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n"
        b"Start-Class: org.strata.scan.App\r\nImplementation-Title: strata-scan-app\r\n"
        b"Implementation-Version: 1.2.3\r\nSpring-Boot-Classes: BOOT-INF/classes/\r\n"
        b"Spring-Boot-Lib: BOOT-INF/lib/\r\n\r\n")
    put(z, "META-INF/maven/org.strata.test/strata-scan-app/pom.properties",
        b"artifactId=strata-scan-app\ngroupId=org.strata.test\nversion=1.2.3\n")
    put(z, "BOOT-INF/classes/application.properties", b"server.port=8080\n")
    for name, data in libs:
        put(z, name, data, zipfile.ZIP_STORED)
os.chmod(out, 0o644)
PY
}
build_scan() { # LAYOUT: adds the tags scan and scan2, built on LAYOUT's base
	local L=$1 B=$WORK/scan R ok
	rm -rf "$B"
	log "scan: installing $SCAN_PACKAGES"
	umoci unpack --image "$L:base" "$B" >&2
	R=$B/rootfs
	cp /etc/resolv.conf "$R/etc/resolv.conf"
	mount -t proc proc "$R/proc"
	ok=1
	{ scan_chroot apt-get -q update && scan_chroot apt-get -q install -y --no-install-recommends $SCAN_PACKAGES &&
		scan_chroot apt-get clean; } >&2 || ok=0
	umount "$R/proc"
	[ "$ok" -eq 1 ] || { echo "apt-get in the chroot failed" >&2; return 1; }
	rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
		"$R"/var/cache/debconf/*-old "$R"/var/log/apt "$R/etc/resolv.conf"
	mkdir -p "$R/var/lib/apt/lists/partial"
	find "$R"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
	umoci repack --refresh-bundle --image "$L:scan" \
		--history.created_by "apt-get install --no-install-recommends $SCAN_PACKAGES" "$B" >&2

	log "scan: npm ci into /srv/app"
	mkdir -p "$R/srv/app"
	cp "$DATA/scan-app/package.json" "$DATA/scan-app/package-lock.json" "$R/srv/app/"
	scan_npm_tree "$DATA/scan-app" "$R/srv/app"
	printf '%s\n' "const express = require('express');" "const { parse } = require('@babel/parser');" \
		"const app = express();" "app.get('/', (req, res) => res.json(parse('1 + 1').program.body.length));" \
		"app.listen(process.env.PORT || 8080);" >"$R/srv/app/index.js"
	scan_files "$R" layer2
	umoci repack --refresh-bundle --image "$L:scan" --history.created_by "npm ci in /srv/app" "$B" >&2

	log "scan: fat jar and planted credentials"
	rm "$R/srv/app/.env.old"
	scan_fatjar "$R"
	scan_files "$R" layer3
	umoci repack --refresh-bundle --image "$L:scan" \
		--history.created_by "fat jar, fake credentials (tests/data/secrets-planted.tsv)" "$B" >&2

	log "scan2: one more layer"
	mkdir -p "$R/srv/extra"
	cp "$DATA/scan2-extra/package.json" "$DATA/scan2-extra/package-lock.json" "$R/srv/extra/"
	scan_npm_tree "$DATA/scan2-extra" "$R/srv/extra"
	echo "scan2: one small layer on top of scan" >"$R/srv/extra/NOTE"
	umoci repack --refresh-bundle --image "$L:scan2" --history.created_by "npm ci in /srv/extra" "$B" >&2
	rm -rf "$B"
}
verify_scan() { # LAYOUT: the scan tags hold what the tests expect
	local L=$1 V=$WORK/verify-scan m ms m2 base1 n n2
	m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="base") | .digest' "$L/index.json")
	ms=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="scan") | .digest' "$L/index.json")
	m2=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="scan2") | .digest' "$L/index.json")
	base1=$(jq -r '.layers[0].digest' "$L/blobs/sha256/${m#sha256:}")
	[ "$(jq -r '.layers[0].digest' "$L/blobs/sha256/${ms#sha256:}")" = "$base1" ] || { echo "scan does not start with base's layer"; return 1; }
	n=$(jq '.layers | length' "$L/blobs/sha256/${ms#sha256:}")
	n2=$(jq '.layers | length' "$L/blobs/sha256/${m2#sha256:}")
	[ "$n" -eq 4 ] && [ "$n2" -eq 5 ] || { echo "scan has $n layers (want 4), scan2 $n2 (want 5)"; return 1; }
	[ "$(jq -c '.layers[:4]' "$L/blobs/sha256/${ms#sha256:}")" = "$(jq -c '.layers[:4]' "$L/blobs/sha256/${m2#sha256:}")" ] ||
		{ echo "scan2 does not hold scan's layers"; return 1; }
	rm -rf "$V"
	umoci unpack --image "$L:scan2" "$V" >/dev/null
	local R=$V/rootfs f
	for f in srv/app/node_modules/express/package.json srv/app/node_modules/@babel/parser/package.json \
		srv/app/node_modules/send/node_modules/ms/package.json srv/extra/node_modules/is-number/package.json \
		usr/share/java/commons-io.jar opt/scan/fat.jar var/lib/dpkg/status; do
		[ -f "$R/$f" ] || { echo "scan2: /$f is missing"; return 1; }
	done
	[ ! -e "$R/srv/app/.env.old" ] || { echo "scan2: /srv/app/.env.old was not deleted"; return 1; }
	ls -d "$R"/usr/lib/python3/dist-packages/{six,idna,certifi,requests}[-_]*info >/dev/null ||
		{ echo "scan2: python dist-info missing"; return 1; }
	ls "$R"/usr/share/rubygems-integration/all/specifications/rack-*.gemspec >/dev/null ||
		{ echo "scan2: rack gemspec missing"; return 1; }
	python3 - "$R" "$DATA/secrets-planted.tsv" <<'PY'
import sys
root, tsv = sys.argv[1], sys.argv[2]
bad = 0
for row in open(tsv):
    if row.startswith("#") or not row.strip():
        continue
    path, rule, line, marker = row.rstrip("\n").split("\t")[:4]
    try:
        lines = open(root + path, errors="replace").read().split("\n")
    except FileNotFoundError:
        if rule == "deleted":
            continue
        print("secrets-planted.tsv: %s is not in the image" % path); bad = 1; continue
    if rule == "deleted":
        print("secrets-planted.tsv: %s should have been deleted" % path); bad = 1
    elif marker not in lines[int(line) - 1]:
        print("secrets-planted.tsv: %s line %s does not hold %r" % (path, line, marker)); bad = 1
sys.exit(bad)
PY
	rm -rf "$V"
	log "scan: manifest $ms, $n layers; scan2: manifest $m2, $n2 layers"
}
# <<< scan image -----------------------------------------------------------------

# A user (tests/check.sh run by one) uses current images, world-readable, as
# they are: the lock is root's, and nothing is built.
if [ "$(id -u)" -ne 0 ]; then
	[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SELF_SUM" ] && [ -f "$OUT/index.json" ] &&
		scan_current || needs_root
	echo "$OUT"
	exit 0
fi
# One builder at a time; parallel tests wait here and then reuse its result.
exec 9>"$CACHE/lock"
flock -w 1800 9 || die "timed out waiting for $CACHE/lock"
# >>> scan image -----------------------------------------------------------------
# The other images are current: add (or keep) the scan tags and stop here.
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SELF_SUM" ] && [ -f "$OUT/index.json" ]; then
	if ! scan_current; then
		WORK=$(mktemp -d "$CACHE/build.XXXXXX")
		scan_cleanup() {
			local m
			for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r); do umount -l "$m" || true; done
			rm -rf "$WORK"
		}
		trap scan_cleanup EXIT
		exec </dev/null
		t0=$SECONDS
		L=$WORK/layout
		mkdir -p "$L/blobs"
		cp -al "$OUT/blobs/sha256" "$L/blobs/sha256"  # blobs never change; umoci only adds files
		cp "$OUT/oci-layout" "$OUT/index.json" "$L/"
		set +e
		(set -e; build_scan "$L"; verify_scan "$L") 2>&1 | tee "$SCAN_LOG" >&2
		rc=${PIPESTATUS[0]}
		set -e
		if [ "$rc" -eq 0 ]; then
			for b in "$L"/blobs/sha256/*; do
				[ -e "$OUT/blobs/sha256/${b##*/}" ] && continue
				cp "$b" "$OUT/blobs/sha256/.${b##*/}.tmp"
				chmod 0644 "$OUT/blobs/sha256/.${b##*/}.tmp"
				mv "$OUT/blobs/sha256/.${b##*/}.tmp" "$OUT/blobs/sha256/${b##*/}"
			done
			jq -s '(.[0].manifests | map(select(.annotations["org.opencontainers.image.ref.name"] as $t
				| $t != "scan" and $t != "scan2"))) as $keep
				| (.[1].manifests | map(select(.annotations["org.opencontainers.image.ref.name"] as $t
				| $t == "scan" or $t == "scan2"))) as $new
				| .[0] | .manifests = $keep + $new' "$OUT/index.json" "$L/index.json" >"$OUT/.index.json.tmp"
			chmod 0644 "$OUT/.index.json.tmp"
			mv "$OUT/.index.json.tmp" "$OUT/index.json"
			echo "$SCAN_SUM" >"$SCAN_STAMP"
			log "scan, scan2 added in $((SECONDS - t0))s"
		else
			echo "failed $SCAN_SUM $(date +%s)" >"$SCAN_STAMP"
			log "building the scan image failed (log: $SCAN_LOG); the other images are unaffected"
		fi
	fi
	echo "$OUT"
	exit 0
fi
# <<< scan image -----------------------------------------------------------------

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SELF_SUM" ] && [ -f "$OUT/index.json" ]; then
	echo "$OUT"
	exit 0
fi

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() {
	local m
	# Unmount anything left under WORK (deepest first) before deleting it.
	for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r); do umount -l "$m" || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
exec </dev/null

L=$WORK/layout
t0=$SECONDS

# --- base -------------------------------------------------------------------
if [ ! -f "$DEBTAR" ]; then
	log "downloading $SUITE minbase packages (cached in $DEBTAR)"
	debootstrap --variant=minbase --make-tarball="$WORK/debootstrap.tgz" \
		"$SUITE" "$WORK/dbs" "$MIRROR" >&2
	mv "$WORK/debootstrap.tgz" "$DEBTAR"
	rm -rf "$WORK/dbs"
fi

umoci init --layout "$L"
umoci new --image "$L:base"
umoci config --image "$L:base" --os linux --architecture "$ARCH" \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.cmd /bin/bash --no-history
umoci unpack --image "$L:base" "$WORK/base" >&2
log "debootstrap $SUITE minbase"
debootstrap --variant=minbase --unpack-tarball="$DEBTAR" "$SUITE" "$WORK/base/rootfs" "$MIRROR" >&2
R=$WORK/base/rootfs
# Leave nothing of the build host or of the package download in the image.
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
	"$R"/var/log/* "$R/etc/resolv.conf" "$R/etc/hostname" "$R/debootstrap"
mkdir -p "$R/var/lib/apt/lists/partial"
umoci repack --image "$L:base" --history.created_by "debootstrap --variant=minbase $SUITE" "$WORK/base" >&2

# --- rebuilt: same files, new mtimes, new layer digest ------------------------
umoci new --image "$L:rebuilt"
umoci config --image "$L:rebuilt" --os linux --architecture "$ARCH" \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.cmd /bin/bash --no-history
umoci unpack --image "$L:rebuilt" "$WORK/rebuilt" >&2
rmdir "$WORK/rebuilt/rootfs"
mv "$R" "$WORK/rebuilt/rootfs"
find "$WORK/rebuilt/rootfs" -mindepth 1 -exec touch -h -d '2024-01-01 00:00:00' {} +
umoci repack --image "$L:rebuilt" --history.created_by "touch -h -d 2024-01-01 on every entry" \
	"$WORK/rebuilt" >&2
rm -rf "$WORK/base" "$WORK/rebuilt"

# --- app layer 1: real packages -------------------------------------------------
log "installing $PACKAGES"
umoci unpack --image "$L:base" "$WORK/app" >&2
R=$WORK/app/rootfs
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
inchroot() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
		LC_ALL=C chroot "$R" "$@"
}
ok=1
{ inchroot apt-get -q update && inchroot apt-get -q install -y --no-install-recommends $PACKAGES &&
	inchroot apt-get clean; } >&2 || ok=0
umount "$R/proc"
[ "$ok" -eq 1 ] || die "apt-get in the chroot failed"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
	"$R"/var/cache/debconf/*-old "$R"/var/log/apt "$R/etc/resolv.conf"
mkdir -p "$R/var/lib/apt/lists/partial"
find "$R"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
umoci repack --refresh-bundle --image "$L:app" \
	--history.created_by "apt-get install --no-install-recommends $PACKAGES" "$WORK/app" >&2

# --- app layer 2: edits ---------------------------------------------------------
log "edits layer"
S=$R/opt/strata
mkdir -p "$S/odd" "$R/usr/local/share"
# Whiteouts: single files, then a whole directory.
rm -f "$R"/usr/share/doc/ruby-rack/changelog.Debian.gz "$R"/usr/share/doc/libcommons-lang3-java/copyright
rm -rf "$R/usr/share/doc/python3-six"
# Every file of /etc/skel replaced: umoci writes one whiteout per old file.
rm -rf "$R"/etc/skel/.[!.]* "$R"/etc/skel/*
echo "# strata test skeleton" >"$R/etc/skel/.profile-strata"
# Directory replaced by a file, file replaced by a directory.
rm -rf "$R/usr/share/doc/libjs-jquery"
echo "was a directory" >"$R/usr/share/doc/libjs-jquery"
ver=$(cat "$R/etc/debian_version")
rm "$R/etc/debian_version"
mkdir "$R/etc/debian_version"
echo "$ver" >"$R/etc/debian_version/version"
# Hardlinks: two names in one directory, one more across directories.
echo "one inode, three names" >"$S/hl-a"
ln "$S/hl-a" "$S/hl-b"
ln "$S/hl-a" "$R/usr/local/share/hl-c"
# Symlinks that must resolve inside the image root, or not at all.
ln -s ../../../../../../../../etc/shadow "$S/link-escape"
ln -s /usr/bin/env "$S/link-abs"
ln -s /nonexistent/target "$S/link-dangling"
ln -s link-loop "$S/link-loop"
mkfifo "$S/fifo"
mknod "$S/null" c 1 3
cp "$R/bin/true" "$S/setuid-true"
chmod 4755 "$S/setuid-true"
echo "has an xattr" >"$S/xattr"
setfattr -n user.strata -v hello "$S/xattr"
echo space >"$S/odd/with space"
echo utf8 >"$S/odd/ünïcødé-文件.txt"
echo dash >"$S/odd/-leading-dash"
: >"$S/empty"
# Deterministic pseudo-random bytes, so rebuilds give the same chunks.
{ openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:strata-tests </dev/zero 2>/dev/null || :; } |
	head -c 5242880 >"$S/random-5M"
[ "$(stat -c %s "$S/random-5M")" -eq 5242880 ] || die "openssl gave no random bytes"
{ head -c 2097152 "$S/random-5M"; printf '0123456789abcdef'; tail -c +2097153 "$S/random-5M"; } \
	>"$S/random-5M-edited"
umoci repack --refresh-bundle --image "$L:app" --history.created_by "strata test edits" \
	"$WORK/app" >&2

# Does umoci keep user.* xattrs? If not, the hand-made layer carries one.
edits_blob=$(jq -r '.layers[-1].digest' "$L/blobs/sha256/$(jq -r \
	'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="app") | .digest' \
	"$L/index.json" | cut -d: -f2)" | cut -d: -f2)
if tar --xattrs --xattrs-include='*' -xzf "$L/blobs/sha256/$edits_blob" -C "$WORK" opt/strata/xattr &&
	[ "$(getfattr --absolute-names --only-values -n user.strata "$WORK/opt/strata/xattr" 2>/dev/null)" = hello ]; then
	log "umoci kept the user.* xattr"
else
	log "umoci dropped the user.* xattr; it is in the hand-made layer only"
fi
rm -rf "$WORK/opt"

# --- app layer 3: hand-made (opaque directory, xattr through GNU tar) -----------
H=$WORK/handmade
mkdir -p "$H/etc/apt/apt.conf.d" "$H/opt/strata"
: >"$H/etc/apt/apt.conf.d/.wh..wh..opq"
echo 'APT::Install-Recommends "false";' >"$H/etc/apt/apt.conf.d/99strata"
echo "xattr from GNU tar" >"$H/opt/strata/xattr-tar"
setfattr -n user.strata -v hello "$H/opt/strata/xattr-tar"
chmod 0755 "$H/etc" "$H/etc/apt" "$H/etc/apt/apt.conf.d" "$H/opt" "$H/opt/strata"
chmod 0644 "$H/etc/apt/apt.conf.d/99strata" "$H/etc/apt/apt.conf.d/.wh..wh..opq" "$H/opt/strata/xattr-tar"
tar --xattrs --xattrs-include='user.*' --format=posix --numeric-owner --owner=0 --group=0 \
	--sort=name --mtime='2024-06-01 00:00:00' -C "$H" \
	-cf "$WORK/handmade.tar" etc/apt/apt.conf.d opt/strata
umoci raw add-layer --image "$L:app" \
	--history.created_by "hand-made: opaque etc/apt/apt.conf.d, xattr via GNU tar" "$WORK/handmade.tar"
rm -rf "$WORK/app" "$H" "$WORK/handmade.tar"

# --- app-zstd -------------------------------------------------------------------
log "recompressing app with zstd"
# skopeo 1.9 keeps already-compressed layers as they are even with
# --dest-compress-format zstd, so decompress into a dir: copy first.
skopeo copy --quiet --dest-decompress "oci:$L:app" "dir:$WORK/app-plain" >&2
skopeo copy --quiet --dest-compress-format zstd "dir:$WORK/app-plain" "oci:$L:app-zstd" >&2
rm -rf "$WORK/app-plain"

# >>> scan image -----------------------------------------------------------------
set +e
(set -e; build_scan "$L"; verify_scan "$L") 2>&1 | tee "$WORK/scan.log" >&2
scan_rc=${PIPESTATUS[0]}
set -e
if [ "$scan_rc" -ne 0 ]; then
	log "building the scan image failed; the other images are unaffected"
	umoci remove --image "$L:scan" 2>/dev/null || true
	umoci remove --image "$L:scan2" 2>/dev/null || true
fi
# <<< scan image -----------------------------------------------------------------
# --- verify ---------------------------------------------------------------------
manifest_of() {
	jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t)
		| .digest' "$L/index.json"
}
for tag in base app rebuilt app-zstd; do
	m=$(manifest_of "$tag")
	[ -n "$m" ] || die "tag '$tag' missing from the layout"
	mf=$L/blobs/sha256/${m#sha256:}
	n=$(jq '.layers | length' "$mf")
	types=$(jq -r '[.layers[].mediaType | sub(".*\\.tar"; "tar")] | unique | join(",")' "$mf")
	case $tag in
	app-zstd) [ "$types" = "tar+zstd" ] || die "app-zstd has layers of type '$types', want tar+zstd" ;;
	*) [ "$types" = "tar+gzip" ] || die "$tag has layers of type '$types', want tar+gzip" ;;
	esac
	if [ "$tag" = app-zstd ] && ! umoci unpack --image "$L:$tag" "$WORK/verify" >/dev/null 2>&1; then
		# umoci before 0.4.8 cannot read zstd; check the frames instead.
		for b in $(jq -r '.layers[].digest | sub("sha256:"; "")' "$mf"); do
			zstd -tq "$L/blobs/sha256/$b" || die "app-zstd layer $b is not valid zstd"
		done
	elif [ "$tag" != app-zstd ]; then
		umoci unpack --image "$L:$tag" "$WORK/verify" >/dev/null || die "umoci unpack of '$tag' failed"
	fi
	if [ "$tag" = app ]; then
		V=$WORK/verify/rootfs
		[ "$(ls -A "$V/etc/apt/apt.conf.d")" = 99strata ] || die "app: etc/apt/apt.conf.d is not opaque"
		[ "$(stat -c %h "$V/opt/strata/hl-a")" -eq 3 ] || die "app: hardlinks lost"
		[ -f "$V/usr/share/doc/libjs-jquery" ] && [ -d "$V/etc/debian_version" ] &&
			[ ! -e "$V/usr/share/doc/python3-six" ] && [ -u "$V/opt/strata/setuid-true" ] &&
			[ -p "$V/opt/strata/fifo" ] && [ -c "$V/opt/strata/null" ] ||
			die "app: the edits layer did not unpack as intended"
		[ "$(getfattr --absolute-names --only-values -n user.strata "$V/opt/strata/xattr-tar")" = hello ] ||
			die "app: xattr from the hand-made layer lost"
	fi
	rm -rf "$WORK/verify"
	log "$tag: manifest $m, $n layer(s), $types"
done
diff_ids() {
	local m; m=$(manifest_of "$1")
	jq -c '.rootfs.diff_ids' "$L/blobs/sha256/$(jq -r '.config.digest | sub("sha256:"; "")' \
		"$L/blobs/sha256/${m#sha256:}")"
}
[ "$(diff_ids app)" = "$(diff_ids app-zstd)" ] || die "app-zstd does not hold app's layers"
[ "$(jq -r '.layers[0].digest' "$L/blobs/sha256/$(manifest_of base | cut -d: -f2)")" != \
	"$(jq -r '.layers[0].digest' "$L/blobs/sha256/$(manifest_of rebuilt | cut -d: -f2)")" ] ||
	die "rebuilt has the same layer digest as base"

# --- publish --------------------------------------------------------------------
chmod -R a+rX "$L"  # umoci writes index.json 0600; tests may run as other users
rm -f "$STAMP"
if [ -e "$OUT" ]; then mv "$OUT" "$WORK/old-images"; fi
mv "$L" "$OUT"
echo "$SELF_SUM" >"$STAMP"
# >>> scan image -----------------------------------------------------------------
cp "$WORK/scan.log" "$SCAN_LOG" || true
if [ "$scan_rc" -eq 0 ]; then echo "$SCAN_SUM" >"$SCAN_STAMP"; else echo "failed $SCAN_SUM $(date +%s)" >"$SCAN_STAMP"; fi
# <<< scan image -----------------------------------------------------------------
log "done in $((SECONDS - t0))s: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
