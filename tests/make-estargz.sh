#!/bin/bash
# make-estargz.sh LAYOUT TAG OUT [CHUNK_SIZE [PREFETCH_FILE...]]: writes an
# OCI layout OUT holding TAG of the OCI layout LAYOUT (one gzip layer) as an
# eStargz image, made by a real producer: a converter built here from
# Debian's golang-github-containerd-stargz-snapshotter-dev (the upstream
# estargz library, tests/estargz/estargzconv.go) in GOPATH mode, offline.
# The converter is built once into $STRATA_TEST_CACHE, and each image it
# makes is kept there too, keyed by the converter, the input image and the
# arguments: a test run converts nothing twice. The layer keeps its
# gzip media type and gets the containerd.io/snapshot/stargz/toc.digest
# annotation; the config's diff_id is the eStargz stream's.
# Prints "TOC_DIGEST DIFF_ID". Exits 77 when Go or the library is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${STRATA_TEST_CACHE:=/var/cache/strata-tests}"
lib=/usr/share/gocode/src/github.com/containerd/stargz-snapshotter/estargz
command -v go >/dev/null 2>&1 || { echo "SKIP: go is not installed (apt-get install golang-go)" >&2; exit 77; }
[ -d "$lib" ] || { echo "SKIP: $lib is missing (apt-get install golang-github-containerd-stargz-snapshotter-dev)" >&2; exit 77; }

layout=$1 tag=$2 out=$3 chunk=${4:-}
shift 4 2>/dev/null || shift $#
key=$(sha256sum "$here/estargz/estargzconv.go" | cut -c1-16)
conv=$STRATA_TEST_CACHE/estargzconv-$key
if [ ! -x "$conv" ]; then
	gp=$(mktemp -d "${TMPDIR:-/tmp}/estargzconv.XXXXXX")
	mkdir -p "$gp/src/estargzconv" "$gp/cache"
	cp "$here/estargz/estargzconv.go" "$gp/src/estargzconv/main.go"
	(cd "$gp/src/estargzconv" && GOPATH="$gp:/usr/share/gocode" GO111MODULE=off GOCACHE="$gp/cache" \
		GOFLAGS= go build -o "$conv.tmp" .) >&2
	mv "$conv.tmp" "$conv"
	rm -rf "$gp"
fi

manifest=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$layout/index.json")
mfile=$layout/blobs/sha256/${manifest#sha256:}
[ "$(jq '.layers | length' "$mfile")" -eq 1 ] || { echo "make-estargz: $tag does not have one layer" >&2; exit 99; }
blob=$layout/blobs/sha256/$(jq -r '.layers[0].digest' "$mfile" | cut -d: -f2)
config=$layout/blobs/sha256/$(jq -r '.config.digest' "$mfile" | cut -d: -f2)
made=$STRATA_TEST_CACHE/estargz-$(printf '%s\n' "$key" "$manifest" "$tag" "$chunk" "$@" | sha256sum | cut -c1-16)
if [ -f "$made/made" ]; then
	mkdir -p "$out"
	cp -a "$made/." "$out/"
	rm -f "$out/made"
	cat "$made/made"
	exit 0
fi
mkdir -p "$out/blobs/sha256"
tmp=$out/layer.tmp
read -r toc diff < <("$conv" "$blob" "$tmp" ${chunk:+"$chunk"} "$@")
python3 - "$out" "$tmp" "$config" "$tag" "$toc" "$diff" <<'PY'
import hashlib, json, os, sys
out, tmp, config, tag, toc, diff = sys.argv[1:]
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
with open(tmp, "rb") as f:
    layer = f.read()
os.unlink(tmp)
ld, ls = put(layer)
cfg = json.load(open(config))
cfg["rootfs"] = {"type": "layers", "diff_ids": [diff]}
cd, cs = put(json.dumps(cfg).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls,
                   "annotations": {"containerd.io/snapshot/stargz/toc.digest": toc}}]}
md, ms = put(json.dumps(man).encode())
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": man["mediaType"], "digest": md, "size": ms,
              "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
PY
# Into the cache whole or not at all: a copy, then one rename.
part=$(mktemp -d "$STRATA_TEST_CACHE/estargz-part.XXXXXX")
cp -a "$out/." "$part/"
echo "$toc $diff" >"$part/made"
mv -T "$part" "$made" 2>/dev/null || rm -rf "$part"
echo "$toc $diff"
