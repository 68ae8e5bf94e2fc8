#!/bin/bash
# eStargz images mount before they download. The image is made by a real
# producer (the upstream estargz library, tests/make-estargz.sh) from the
# base test image, with bash in its prefetch section; a counting proxy in
# front of the registry logs every byte of the layer blob that is served.
# pull --lazy fetches the footer, the TOC and the prefetch section only;
# the mounted tree equals `umoci unpack` of the same image line for line;
# reading a file fetches its chunks only, and /metrics counts what came by
# Range; a whole pull then verifies the diff_id and leaves the layer
# complete. A read while the registry is gone fails with EIO and works once
# it is back. A TOC that does not match the manifest's annotation is refused.
. "$(dirname "$0")/lib.sh"
export STRATA_REGISTRY_STALL_TIMEOUT=5 # a read that waits on a dead registry fails by then
need_fuse
need_cmd umoci skopeo jq python3 docker-registry
test_images
out=$("$TEST_SRCDIR/make-estargz.sh" "$IMAGES" base "$TMP/esgz" 4194304 usr/bin/bash 2>"$TMP/make.log")
rc=$?
[ $rc -eq 77 ] && skip_all "$(grep SKIP "$TMP/make.log" | head -1)"
[ $rc -eq 0 ] || { sed 's/^/#   /' "$TMP/make.log" | tail -5; exit 99; }
read -r toc_digest diff_id <<<"$out"
start_registry
skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$TMP/esgz:base" \
	"docker://$REGISTRY/strata/esgz:latest" >"$TMP/skopeo.log" 2>&1 || { sed 's/^/#   /' "$TMP/skopeo.log"; exit 99; }
start_proxy counter "$REGISTRY"
ref=$PROXY/strata/esgz

man=$(jq -r '.manifests[0].digest' "$TMP/esgz/index.json")
layer=$(jq -r '.layers[0].digest' "$TMP/esgz/blobs/sha256/${man#sha256:}")
blob_size=$(jq -r '.layers[0].size' "$TMP/esgz/blobs/sha256/${man#sha256:}")
# Bytes of the layer blob the proxy served since line $1 of its log.
served() { tail -n +"$(( $1 + 1 ))" "$PROXY_LOG" | jq -s --arg l "$layer" \
	'[.[] | select(.method == "GET" and (.path | endswith($l))) | .length // 0] | add // 0'; }
mark() { wc -l <"$PROXY_LOG"; }

# The TOC's place, from the footer: what a lazy pull must fetch at least.
toc_off=$(python3 -c "
import sys; f = open(sys.argv[1], 'rb'); f.seek(-51, 2); t = f.read()
print(int(t[16:32], 16))" "$TMP/esgz/blobs/sha256/${layer#sha256:}")
toc_len=$(( blob_size - 51 - toc_off ))
bash_size=$(python3 -c "
import gzip, json, sys, tarfile
f = open(sys.argv[1], 'rb'); f.seek(int(sys.argv[2]))
toc = json.load(tarfile.open(fileobj=gzip.GzipFile(fileobj=f)).extractfile('stargz.index.json'))
es = [e for e in toc['entries'] if e.get('offset')]
bash = [i for i, e in enumerate(es) if e['name'].lstrip('./') == 'usr/bin/bash'][0]
print(es[bash + 1]['offset'] - es[bash]['offset'])" "$TMP/esgz/blobs/sha256/${layer#sha256:}" "$toc_off")
note "blob $blob_size bytes, TOC $toc_len at $toc_off, bash's members $bash_size"

m0=$(mark)
check "pull --lazy of an eStargz image" "$STRATA" pull -q --lazy "$ref"
got=$(served "$m0")
is "pull --lazy fetched the footer, the TOC and the prefetch section (bash) of the layer" \
	"$got" "$(( 51 + toc_len + bash_size ))"
check "... a small part of the blob ($got of $blob_size bytes)" test "$got" -lt $(( blob_size / 10 ))
is "the layer is mapped" "$("$STRATA" cache ls --json | jq -r '.[0].state')" mapped

mkdir -p "$TMP/mnt"
m0=$(mark)
m_mount=$m0
check "mount it" "$STRATA" mount "$ref" "$TMP/mnt"
check "ls shows its root" test -d "$TMP/mnt/usr/bin" -a -f "$TMP/mnt/stargz.index.json"
is "mounting and listing fetched nothing" "$(served "$m0")" 0
m0=$(mark)
cmp -s "$TMP/mnt/usr/bin/bash" /dev/null; md5sum "$TMP/mnt/usr/bin/bash" >/dev/null
is "reading a prefetched file fetches nothing" "$(served "$m0")" 0
m0=$(mark)
sum=$(sha256sum <"$TMP/mnt/etc/os-release" | cut -c1-64)
got=$(served "$m0")
check "reading a small file fetches its chunk only ($got bytes)" test "$got" -gt 0 -a "$got" -lt 65536
is "a chunk read once is stored: again, nothing" "$(m0=$(mark); cat "$TMP/mnt/etc/os-release" >/dev/null; served "$m0")" 0

# The registry goes away: a read that needs a chunk not stored fails with
# EIO, at once and logged; stored chunks are still read and the daemon
# answers; once the registry is back the same read works.
reg_pid=$(pgrep -f "docker-registry serve $TMP/registry/config.yml")
kill "$reg_pid"; wait "$reg_pid" 2>/dev/null
t0=$SECONDS
if cat "$TMP/mnt/etc/passwd" >/dev/null 2>"$TMP/eio.err"; then
	not_ok "with the registry gone, a read of a chunk not stored fails"
else
	check "with the registry gone, a read of a chunk not stored fails with EIO" grep -q "Input/output error" "$TMP/eio.err"
fi
check "... within the stall timeout ($(( SECONDS - t0 )) s)" test $(( SECONDS - t0 )) -le "$STRATA_REGISTRY_STALL_TIMEOUT"
check "... and the daemon logged why" grep -q "read of '/etc/passwd'" "$STRATA_STORE/daemon.log"
check "a stored chunk is still read" cat "$TMP/mnt/usr/bin/bash"
is "the daemon answers" "$("$STRATA" cache ls --json | jq -r '.[0].state')" mapped
docker-registry serve "$TMP/registry/config.yml" >>"$TMP/registry/log" 2>&1 &
reg_pid=$!
at_exit "kill $reg_pid; wait $reg_pid"
wait_http "http://$REGISTRY/v2/" || { note "the registry did not come back"; exit 99; }
check "the registry back, the same read works" cat "$TMP/mnt/etc/passwd"

rm -rf "$TMP/unpack"
umoci unpack --image "$TMP/esgz:base" "$TMP/unpack" >/dev/null 2>&1 || { note "umoci unpack failed"; exit 99; }
tree_listing "$TMP/unpack/rootfs" >"$TMP/want"
m0=$(mark)
tree_listing "$TMP/mnt" >"$TMP/got"
if cmp -s "$TMP/want" "$TMP/got"; then
	ok "the mounted tree equals umoci unpack ($(wc -l <"$TMP/got") entries, every file's sha256)"
else
	not_ok "the mounted tree equals umoci unpack"
	diff "$TMP/want" "$TMP/got" | head -20 | sed 's/^/#   /'
fi
got=$(served "$m0")
check "reading every file fetched at most the blob once ($got of $blob_size bytes)" test "$got" -le "$blob_size"
is "/metrics: the bytes fetched by Range since the mount" \
	"$(metric_of "$STRATA_STORE" strata_refetch_bytes_total)" "$(served "$m_mount")"
fails=$(metric_of "$STRATA_STORE" strata_refetch_failures_total)
check "... in $(metric_of "$STRATA_STORE" strata_refetch_spans_total) spans; $fails failed (reads while the registry was gone)" \
	test "$fails" -ge 1 -a "$fails" -le 3
is "os-release read back right" "$sum" "$(sha256sum <"$TMP/unpack/rootfs/etc/os-release" | cut -c1-64)"
check "unmount" "$STRATA" umount "$TMP/mnt"

# A whole pull brings every byte and checks the diff_id.
check "pull (whole) of the mapped image" "$STRATA" pull -q "$ref"
is "the layer is complete now" "$("$STRATA" cache ls --json | jq -r '.[0].state')" complete
is "with the config's diff_id" "$("$STRATA" cache ls --json | jq -r '.[0].layer_id')" "$diff_id"
check "mount it again" "$STRATA" mount "$ref" "$TMP/mnt"
tree_listing "$TMP/mnt" >"$TMP/got2"
check "the tree is the same" cmp -s "$TMP/want" "$TMP/got2"
check "unmount" "$STRATA" umount "$TMP/mnt"

# The same image with a TOC digest annotation that is not the TOC's.
python3 - "$TMP/esgz" "$TMP/bad" <<'PY'
import hashlib, json, os, shutil, sys
src, dst = sys.argv[1:]
shutil.copytree(src, dst)
idx = json.load(open(os.path.join(dst, "index.json")))
m = idx["manifests"][0]
mp = os.path.join(dst, "blobs", "sha256", m["digest"].split(":")[1])
man = json.load(open(mp))
man["layers"][0]["annotations"]["containerd.io/snapshot/stargz/toc.digest"] = "sha256:" + "0" * 64
data = json.dumps(man).encode()
d = hashlib.sha256(data).hexdigest()
open(os.path.join(dst, "blobs", "sha256", d), "wb").write(data)
m["digest"], m["size"] = "sha256:" + d, len(data)
json.dump(idx, open(os.path.join(dst, "index.json"), "w"))
PY
skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$TMP/bad:base" \
	"docker://$REGISTRY/strata/bad:latest" >"$TMP/skopeo.log" 2>&1 || { sed 's/^/#   /' "$TMP/skopeo.log"; exit 99; }
STRATA_STORE=$TMP/store2 fails_with "a TOC that is not the annotated one is refused" "eStargz TOC digest mismatch" \
	"$STRATA" pull --lazy "$PROXY/strata/bad"
done_testing
