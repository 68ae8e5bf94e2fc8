#!/usr/bin/env python3
"""make-hostile.py: writes small, deliberately broken OCI image layouts.

Usage: make-hostile.py OUTDIR [CASE...]

Each case becomes OUTDIR/<case>, a valid oci-layout whose index.json tags
one manifest `latest`. Unless the case is about the manifest itself, the image
has two layers: a harmless first layer, then the hostile one, so that a
half-ingested image would be noticed. Configs carry correct diff_ids unless
the case says otherwise. Python standard library only; the corrupt-zstd case
needs the zstd command and is skipped (with a note on stderr) without it.
"""

import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
REF_NAME = "org.opencontainers.image.ref.name"

MTIME = 1704067200  # 2024-01-01T00:00:00Z: fixed so the output is reproducible


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_arch():
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(m, m)


def gz(data):
    # zlib with wbits 31 writes a gzip member with mtime 0: reproducible.
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """entries: list of (TarInfo fields dict, bytes or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for fields, data in entries:
            ti = tarfile.TarInfo(fields.pop("name"))
            ti.mtime = MTIME
            ti.mode = 0o755 if fields.get("type") == tarfile.DIRTYPE else 0o644
            for k, v in fields.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def d(name):
    return ({"name": name, "type": tarfile.DIRTYPE}, None)


def f(name, data=b""):
    return ({"name": name}, data)


def base_layer():
    return tar_bytes([d("etc"), f("etc/os-release", b"ID=strata-hostile\n"),
                      d("usr"), d("usr/bin"), f("usr/bin/hello", b"#!/bin/sh\necho hello\n")])


class Layout:
    def __init__(self, root):
        self.root = root
        if os.path.exists(root):
            shutil.rmtree(root)
        os.makedirs(os.path.join(root, "blobs", "sha256"))
        self.write("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())

    def write(self, rel, data):
        with open(os.path.join(self.root, rel), "wb") as fh:
            fh.write(data)

    def blob(self, data, name=None):
        """Stores data as a blob named by its digest (or by name) and returns
        the digest the manifest should cite."""
        dg = name or digest(data)
        self.write(os.path.join("blobs", "sha256", dg.split(":", 1)[1]), data)
        return dg

    def index(self, manifest, media_type=OCI_MANIFEST):
        desc = {"mediaType": media_type, "digest": self.blob(manifest), "size": len(manifest),
                "annotations": {REF_NAME: "latest"}}
        idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}
        self.write("index.json", json.dumps(idx, indent=2).encode())

    def image(self, layers, diff_ids=None):
        """layers: list of (blob bytes or (digest, size) already stored,
        media type, uncompressed tar bytes or its diff_id)."""
        descs, ids = [], []
        for blob, mt, plain in layers:
            if isinstance(blob, tuple):
                dg, size = blob
            else:
                dg, size = self.blob(blob), len(blob)
            descs.append({"mediaType": mt, "digest": dg, "size": size})
            ids.append(plain if isinstance(plain, str) else digest(plain))
        config = {
            "created": "2024-01-01T00:00:00Z",
            "architecture": host_arch(),
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids or ids},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "make-hostile.py"}
                        for _ in layers],
        }
        cfg = json.dumps(config, indent=2).encode()
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": self.blob(cfg), "size": len(cfg)},
                    "layers": descs}
        self.index(json.dumps(manifest, indent=2).encode())


def two_layers(out, hostile_tar, blob=None, mt=LAYER_GZIP, diff_ids=None):
    """The usual shape: a good base layer, then the hostile one."""
    lay = Layout(out)
    b = base_layer()
    lay.image([(gz(b), LAYER_GZIP, b),
               (gz(hostile_tar) if blob is None else blob, mt, hostile_tar)], diff_ids)
    return lay


def compressible(rng, n):
    words = [b"layer", b"chunk", b"strata", b"digest", b"overlay", b"whiteout", b"manifest"]
    out = bytearray()
    while len(out) < n:
        out += b" ".join(rng.choice(words) for _ in range(12)) + b" %d\n" % rng.randrange(10**6)
    return bytes(out[:n])


def flip_until(blob, start, fails):
    """Flips one byte at a time from start on until fails(candidate) says
    the decoder rejects it; returns that candidate."""
    for pos in range(start, len(blob) - 16):
        cand = bytearray(blob)
        cand[pos] ^= 0xFF
        cand[pos + 1] ^= 0x5A
        if fails(bytes(cand)):
            return bytes(cand)
    raise SystemExit("make-hostile: could not corrupt the stream")


def inflate_fails(blob):
    # Raw deflate past the 10-byte gzip header (gz() writes no file name):
    # a bad CRC at the end would be corrupt too, but an error in the deflate
    # data itself makes the decoder stop mid-stream, which is the case to test.
    try:
        zlib.decompressobj(-15).decompress(blob[10:])
        return False
    except zlib.error:
        return True


# --- the cases ---------------------------------------------------------------

def case_dotdot(out):
    two_layers(out, tar_bytes([d("a"), f("a/fine", b"fine\n"), f("../../x", b"escaped\n")]))


def case_dotdot_mid(out):
    two_layers(out, tar_bytes([d("a"), f("a/fine", b"fine\n"), f("a/../../x", b"escaped\n")]))


def case_absolute(out):
    two_layers(out, tar_bytes([f("/etc/x", b"absolute names are made relative\n")]))


def case_hardlink_missing(out):
    two_layers(out, tar_bytes([d("a"), f("a/real", b"real\n"),
                               ({"name": "a/link", "type": tarfile.LNKTYPE,
                                 "linkname": "a/missing"}, None)]))


def case_corrupt_tar(out):
    rng = random.Random(50)
    garbage = bytes(rng.randrange(256) for _ in range(512 * 8))
    two_layers(out, garbage)


def case_truncated_gzip(out):
    rng = random.Random(51)
    t = tar_bytes([d("data")] + [f("data/%d" % i, compressible(rng, 16384)) for i in range(8)])
    full = gz(t)
    two_layers(out, t, blob=full[:len(full) // 2])


def case_corrupt_gzip(out):
    rng = random.Random(52)
    t = tar_bytes([d("data")] + [f("data/%d" % i, compressible(rng, 16384)) for i in range(8)])
    # A full flush halfway starts a new deflate block on a byte boundary; its
    # header is where a flipped byte reliably breaks decoding, after output
    # has already been produced (flips inside Huffman data mostly decode).
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = c.compress(t[:len(t) // 2]) + c.flush(zlib.Z_FULL_FLUSH)
    full = head + c.compress(t[len(t) // 2:]) + c.flush()
    two_layers(out, t, blob=flip_until(full, len(head), inflate_fails))


def case_corrupt_zstd(out):
    zstd = shutil.which("zstd")
    if not zstd:
        print("make-hostile: skipping corrupt-zstd: zstd is not installed", file=sys.stderr)
        return
    rng = random.Random(53)
    t = tar_bytes([d("data")] + [f("data/%d" % i, compressible(rng, 65536)) for i in range(8)])
    full = subprocess.run([zstd, "-q", "-c", "--check", "-3"], input=t, stdout=subprocess.PIPE,
                          check=True).stdout

    def zstd_fails(blob):
        r = subprocess.run([zstd, "-q", "-d", "-c", "--no-check"], input=blob, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return r.returncode != 0

    two_layers(out, t, blob=flip_until(full, len(full) // 3, zstd_fails), mt=LAYER_ZSTD)


def case_digest_mismatch(out):
    t = tar_bytes([f("tampered", b"the manifest promised other bytes\n")])
    blob = gz(t)
    lay = Layout(out)
    b = base_layer()
    # Same size, one byte changed, stored under the original digest.
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 0x01
    dg = lay.blob(bytes(bad), name=digest(blob))
    lay.image([(gz(b), LAYER_GZIP, b), ((dg, len(blob)), LAYER_GZIP, t)])


def case_diffid_mismatch(out):
    t = tar_bytes([f("file", b"diff_id in the config is not this tar's\n")])
    b = base_layer()
    two_layers(out, t, diff_ids=[digest(b), digest(b"not the layer\n")])


def case_manifest_not_json(out):
    Layout(out).index(b"this is not JSON {\n")


def case_manifest_unknown_mediatype(out):
    lay = Layout(out)
    b = base_layer()
    dg = lay.blob(gz(b))
    v1 = {"schemaVersion": 1, "name": "strata/hostile", "tag": "latest",
          "architecture": host_arch(), "fsLayers": [{"blobSum": dg}],
          "history": [{"v1Compatibility": json.dumps({"id": "0" * 64})}]}
    lay.index(json.dumps(v1, indent=2).encode(),
              media_type="application/vnd.docker.distribution.manifest.v1+json")


def case_many_entries(out):
    # 2,000 entries in all: a directory and 1,999 empty files.
    two_layers(out, tar_bytes([d("many")] + [f("many/f%04d" % i) for i in range(1999)]))


def case_long_name(out):
    two_layers(out, tar_bytes([d("long"), f("long/" + "n" * 300, b"long name\n")]))


def case_gzip_bomb(out):
    """One 2 GiB file of zeros: about 2 MiB compressed, streamed so that
    neither the tar nor the blob is ever held whole."""
    lay = Layout(out)
    size = 2 << 30
    hdr = tarfile.TarInfo("bomb")
    hdr.size, hdr.mtime, hdr.mode = size, MTIME, 0o644
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    plain = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=os.path.join(out, "blobs", "sha256"), suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        def put(data):
            plain.update(data)
            fh.write(c.compress(data))
        put(hdr.tobuf(tarfile.USTAR_FORMAT))
        zeros = bytes(1 << 20)
        for _ in range(size // len(zeros)):
            put(zeros)
        put(bytes(1024))  # end-of-archive: two zero blocks
        fh.write(c.flush())
    h = hashlib.sha256()
    with open(tmp, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    dg = "sha256:" + h.hexdigest()
    os.rename(tmp, os.path.join(out, "blobs", "sha256", h.hexdigest()))
    b = base_layer()
    lay.image([(gz(b), LAYER_GZIP, b),
               ((dg, os.path.getsize(os.path.join(out, "blobs", "sha256", h.hexdigest()))),
                LAYER_GZIP, "sha256:" + plain.hexdigest())])


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print("usage: make-hostile.py OUTDIR [CASE...]\ncases: " + " ".join(CASES),
              file=sys.stderr)
        return 2
    out = argv[1]
    names = argv[2:] or list(CASES)
    for n in names:
        if n not in CASES:
            print("make-hostile: unknown case '%s'" % n, file=sys.stderr)
            return 2
    os.makedirs(out, exist_ok=True)
    for n in names:
        CASES[n](os.path.join(out, n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
