#!/bin/bash
# `strata analyze` on hostile input, as a directory and as an image pulled
# from a registry: symlinks out of the root (absolute, relative, into /proc,
# whole directories) towards a canary on the host, a jar nested 100 deep, a
# jar of overlapping entries (32^5 nested jars when followed), a deflate bomb
# jar, a 2 GiB file that is one line, and malformed package.json, METADATA
# and gemspec files. The report must be written (exit 0) in bounded time and
# memory, must name each problem file in a warning, and must hold no byte of
# the canary. Set T0410_BIG_IMAGE=0 to leave the 2 GiB file out of the image
# (the directory keeps a sparse one).
. "$(dirname "$0")/lib.sh"
need_cmd python3 jq skopeo timeout
"$STRATA" analyze --help 2>&1 | grep -q 'usage: strata analyze' || skip_all "this strata has no analyze command"

TOKEN=canary$(python3 -c 'import secrets; print(secrets.token_hex(12))')
export STRATA_CANARY=$TOKEN  # what /proc/self/environ would show
C=$TMP/canary
H=$TMP/hostile
ROOT=$H/rootfs
mkdir -p "$C/specs" "$ROOT"

# --- the canary on the host: each file a tempting target ----------------------
printf 'ID=%s\nVERSION_ID=99\nNAME="%s"\n' "$TOKEN" "$TOKEN" >"$C/os-release"
printf '{"name": "%s", "version": "1.0.0", "license": "%s"}\n' "$TOKEN" "$TOKEN" >"$C/package.json"
printf 'Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n' "$TOKEN" >"$C/METADATA"
printf 'Package: %s\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n' "$TOKEN" >"$C/status"
printf '[default]\naws_access_key_id = AKIA%s\n# %s\n' "$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_uppercase) for _ in range(16)))')" "$TOKEN" >"$C/credentials"
printf 'GITHUB_TOKEN=ghp_%s\n# %s\n' "$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters) for _ in range(36)))')" "$TOKEN" >"$C/secret.env"
printf 'Gem::Specification.new do |s|\n  s.name = "%s"\n  s.version = "1.0"\nend\n' "$TOKEN" >"$C/specs/$TOKEN-1.0.gemspec"
python3 - "$C/canary.jar" "$TOKEN" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("META-INF/maven/canary/%s/pom.properties" % sys.argv[2],
               "groupId=canary\nartifactId=%s\nversion=1.0\n" % sys.argv[2])
PY

# --- the hostile tree -----------------------------------------------------------
# gen.py ROOT CANARY: writes the tree; gen.py --image ROOT LAYOUT BIG: packs ROOT
# (and, if BIG is 1, a 2 GiB one-line file streamed into the tar) as an image.
cat >"$TMP/gen.py" <<'PY'
import gzip, hashlib, io, json, os, struct, sys, tarfile, zipfile, zlib

T = (2024, 1, 1, 0, 0, 0)


def jar(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, method in entries:
            zi = zipfile.ZipInfo(name, T)
            zi.compress_type = method
            z.writestr(zi, data)
    return buf.getvalue()


def pom(group, artifact, version):
    return ("META-INF/maven/%s/%s/pom.properties" % (group, artifact),
            "groupId=%s\nartifactId=%s\nversion=%s\n" % (group, artifact, version), zipfile.ZIP_DEFLATED)


def overlapping(inner, n):
    """A zip whose n central directory entries all point at one stored local entry."""
    name0 = b"BOOT-INF/lib/a0.jar"
    crc, size = zlib.crc32(inner), len(inner)
    local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x5821, crc, size, size, len(name0), 0) + name0 + inner
    cd = b""
    for i in range(n):
        nm = b"BOOT-INF/lib/a%d.jar" % i
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0, 0x5821, crc, size, size,
                          len(nm), 0, 0, 0, 0, 0o100644 << 16, 0) + nm
    return local + cd + struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(cd), len(local), 0)


def write(root, rel, data, mode=0o644):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(p, mode)


def link(root, rel, target):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(target, p)


def tree(root, canary):
    up = "../" * 12
    # Links out of the root.
    link(root, "etc/os-release", "/etc/os-release")
    link(root, "usr/lib/os-release", "/proc/self/environ")
    link(root, "srv/app/.env", canary + "/secret.env")
    link(root, "srv/app/node_modules/evil/package.json", canary + "/package.json")
    link(root, "usr/lib/python3/dist-packages/evil-1.0.dist-info/METADATA", up + canary.lstrip("/") + "/METADATA")
    link(root, "var/lib/dpkg/status", canary + "/status")
    link(root, "root/.aws", canary)
    link(root, "opt/jars/link.jar", canary + "/canary.jar")
    link(root, "usr/share/rubygems-integration/all/specifications", canary + "/specs")
    link(root, "usr/lib/ruby/gems/3.1.0/specifications", up + canary.lstrip("/") + "/specs")
    # Something good, so that an empty report cannot pass.
    write(root, "srv/app/node_modules/ok/package.json", '{"name": "ok", "version": "1.0.0"}\n')
    write(root, "usr/lib/python3/dist-packages/good-2.0.dist-info/METADATA",
          "Metadata-Version: 2.1\nName: good\nVersion: 2.0\n")
    write(root, "opt/jars/good.jar", jar([pom("org.strata.test", "good", "1.0")]))
    # A jar nested 100 deep; the innermost names itself.
    inner = jar([pom("org.strata.test", "deep-bottom", "1.0")])
    for i in range(100):
        inner = jar([("lib/level%d.jar" % (99 - i), inner, zipfile.ZIP_STORED)])
    write(root, "opt/jars/deep.jar", inner)
    # 32 entries per level over one local entry, 5 levels: 33 million jars if followed.
    inner = jar([pom("org.strata.test", "overlap-bottom", "1.0")])
    for _ in range(5):
        inner = overlapping(inner, 32)
    write(root, "opt/jars/overlap.jar", inner)
    # Deflate bomb: a 1 GiB nested jar and a 256 MiB manifest, about 1.3 MiB compressed.
    path = os.path.join(root, "opt/jars/bomb.jar")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, size, unit in (("META-INF/MANIFEST.MF", 256 << 20, b"X-Pad: " + b"A" * 56 + b"\r\n"),
                                 ("BOOT-INF/lib/huge.jar", 1 << 30, b"\0" * 64)):
            zi = zipfile.ZipInfo(name, T)
            zi.compress_type = zipfile.ZIP_DEFLATED
            block = unit * ((1 << 20) // len(unit))
            with z.open(zi, "w", force_zip64=True) as f:
                left = size
                while left > 0:
                    f.write(block[:left])
                    left -= len(block)
    # Malformed metadata.
    write(root, "srv/app/node_modules/broken/package.json", '{"name": "broken", "version": ')
    write(root, "srv/app/node_modules/deepjson/package.json", "[" * 200000)
    write(root, "srv/app/node_modules/binary/package.json", bytes(range(256)) * 64)
    write(root, "usr/lib/python3/dist-packages/bad_meta-0.1.dist-info/METADATA",
          b"\xff\xfe\x00garbage\x00\n\x80\x81: \x00\n" * 100)
    write(root, "usr/local/lib/ruby/gems/3.1.0/specifications/broken-1.0.gemspec",
          b"\x00\xffGem::Specification.new do |s|\n  s.name = \"bro")


class Sink:
    """A file object that hashes what goes through it."""
    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        if self.f:
            self.f.write(b)
        return len(b)

    def flush(self):
        pass


class Repeat(io.RawIOBase):
    def __init__(self, size, byte):
        self.left, self.block = size, byte * (1 << 20)

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left, len(self.block))
        b[:n] = self.block[:n]
        self.left -= n
        return n


def image(root, layout, big):
    os.makedirs(os.path.join(layout, "blobs/sha256"), exist_ok=True)
    tmp = os.path.join(layout, "layer.tmp")
    with open(tmp, "wb") as raw:
        comp = Sink(raw)
        gz = gzip.GzipFile(fileobj=comp, mode="wb", compresslevel=1, mtime=0)
        plain = Sink(gz)
        with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as t:
            for d, dirs, files in os.walk(root):
                dirs.sort()
                for n in sorted(dirs + files):
                    p = os.path.join(d, n)
                    t.add(p, arcname=os.path.relpath(p, root), recursive=False)
            if big:
                ti = tarfile.TarInfo("srv/big-line.txt")
                ti.size, ti.mode, ti.mtime = 2 << 30, 0o644, 1704067200
                t.addfile(ti, io.BufferedReader(Repeat(ti.size, b"a")))
        gz.close()
    layer_digest = "sha256:" + comp.h.hexdigest()
    os.rename(tmp, os.path.join(layout, "blobs/sha256", comp.h.hexdigest()))

    def blob(data):
        h = hashlib.sha256(data).hexdigest()
        with open(os.path.join(layout, "blobs/sha256", h), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + h, "size": len(data)}
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    cfg = json.dumps({"architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + plain.h.hexdigest()]}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": layer_digest, "size": comp.n}]}).encode()
    idx = {"schemaVersion": 2, "manifests": [dict(blob(man), mediaType="application/vnd.oci.image.manifest.v1+json",
                                                  annotations={"org.opencontainers.image.ref.name": "latest"})]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(idx, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    print("layer: %d bytes of tar, %d of gzip" % (plain.n, comp.n))


if sys.argv[1] == "--image":
    image(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
else:
    tree(sys.argv[1], sys.argv[2])
PY
t0=$EPOCHREALTIME
python3 "$TMP/gen.py" "$ROOT" "$C" || { echo "# making the hostile tree failed"; exit 99; }
note "hostile tree made in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"

BIG_IMAGE=${T0410_BIG_IMAGE:-1}
t0=$EPOCHREALTIME
python3 "$TMP/gen.py" --image "$ROOT" "$H/layout" "$BIG_IMAGE" >"$TMP/gen.out" ||
	{ echo "# packing the hostile image failed"; exit 99; }
note "hostile image packed in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s: $(cat "$TMP/gen.out")"
# The directory gets a sparse 2 GiB file: one short line, then zeros.
printf 'password=%s' "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" >"$ROOT/srv/big-sparse.txt"
truncate -s 2G "$ROOT/srv/big-sparse.txt"

start_registry
skopeo copy --quiet --dest-tls-verify=false "oci:$H/layout:latest" "docker://$REGISTRY/strata/hostile:latest" \
	>"$TMP/skopeo.log" 2>&1 || { sed 's/^/#   /' "$TMP/skopeo.log"; exit 99; }
if [ "$BIG_IMAGE" = 1 ]; then
	t0=$EPOCHREALTIME
	check "pull of the image with a 2 GiB one-line file" timeout 600 "$STRATA" -q pull "$REGISTRY/strata/hostile"
	note "pull took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
fi

# analyze_timed NAME TARGET: runs the analysis with a time limit; records exit
# status, seconds and the client's peak RSS (KiB).
analyze_timed() {
	local name=$1 target=$2 rc=0 t0=$EPOCHREALTIME
	if command -v /usr/bin/time >/dev/null 2>&1; then
		timeout 600 /usr/bin/time -f %M -o "$TMP/$name.rss" "$STRATA" analyze "$target" --format json \
			-o "$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
	else
		timeout 600 "$STRATA" analyze "$target" --format json -o "$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
		echo 0 >"$TMP/$name.rss"
	fi
	echo "$rc" >"$TMP/$name.rc"
	note "$name: exit $rc in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s, client peak RSS $(tail -1 "$TMP/$name.rss") KiB"
}
analyze_timed dir "$ROOT"
analyze_timed image "$REGISTRY/strata/hostile"

for v in dir image; do
	R=$TMP/$v.json
	is "$v: analyze exits 0" "$(cat "$TMP/$v.rc")" 0
	[ -s "$R" ] && jq -e .schema "$R" >/dev/null 2>&1 || { not_ok "$v: the report is JSON"; sed 's/^/#   /' "$TMP/$v.err" | head; continue; }
	ok "$v: the report is JSON"
	check "$v: the canary token appears nowhere in the report" sh -c "! grep -F -q '$TOKEN' '$R'"
	check "$v: nor on stderr" sh -c "! grep -F -q '$TOKEN' '$TMP/$v.err'"
	is "$v: no distro from the host's /etc/os-release or /proc" "$(jq -c .distro "$R")" null
	is "$v: no dpkg package from a status file outside the root" "$(jq '[.packages[] | select(.type == "deb")] | length' "$R")" 0
	is "$v: no secret from files outside the root" "$(jq '[.secrets[] | select(.path == "/srv/app/.env" or (.path | startswith("/root/.aws")))] | length' "$R")" 0
	check "$v: the good npm package is reported" jq -e 'any(.packages[]; .type == "npm" and .name == "ok" and .version == "1.0.0")' "$R"
	check "$v: the good python package is reported" jq -e 'any(.packages[]; .type == "python" and .name == "good" and .version == "2.0")' "$R"
	check "$v: the good jar is reported" jq -e 'any(.packages[]; .type == "maven" and .name == "good" and .path == "/opt/jars/good.jar")' "$R"
	check "$v: symlinks are listed as symlinks with their targets" \
		jq -e 'any(.files[]; .path == "/etc/os-release" and .type == "symlink" and .link == "/etc/os-release")' "$R"
	for p in /opt/jars/deep.jar /opt/jars/bomb.jar /srv/app/node_modules/broken/package.json \
		/srv/app/node_modules/deepjson/package.json bad_meta-0.1.dist-info broken-1.0.gemspec; do
		check "$v: a warning names $p" jq -e --arg p "$p" 'any(.warnings[]; contains($p))' "$R"
	done
	n=$(jq '[.packages[] | select(.type == "maven" and (.path | startswith("/opt/jars/overlap.jar")))] | length' "$R")
	note "$v: overlap.jar gave $n maven rows; warnings about it: $(jq -c '[.warnings[] | select(contains("overlap.jar"))]' "$R" | cut -c1-200)"
	check "$v: overlap.jar gives at most 10000 rows" test "$n" -le 10000
	n=$(jq '[.packages[] | select(.type == "maven" and (.path | startswith("/opt/jars/deep.jar")))] | length' "$R")
	note "$v: deep.jar gave $n maven rows (the bottom one is 100 levels down)"
	note "$v: $(jq '.warnings | length' "$R") warnings in all; first ones:"
	jq -r '.warnings[:12][]' "$R" | cut -c1-160 | sed 's/^/#     /'
	rss=$(tail -1 "$TMP/$v.rss")
	check "$v: the client's peak RSS stays under 1 GiB ($rss KiB)" test "${rss:-0}" -lt 1048576
done
big=$(jq -r '[.files[] | select(.path == "/srv/big-sparse.txt")][0].size' "$TMP/dir.json")
is "dir: the sparse 2 GiB file is listed with its size" "$big" $((2 << 30))
note "dir: warnings about it: $(jq -c '[.warnings[] | select(contains("big-sparse"))]' "$TMP/dir.json")"
if [ "$BIG_IMAGE" = 1 ]; then
	is "image: the 2 GiB one-line file is listed with its size" \
		"$(jq -r '[.files[] | select(.path == "/srv/big-line.txt")][0].size' "$TMP/image.json")" $((2 << 30))
	note "image: warnings about it: $(jq -c '[.warnings[] | select(contains("big-line"))]' "$TMP/image.json")"
fi
done_testing
