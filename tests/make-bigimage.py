#!/usr/bin/env python3
"""make-bigimage.py: writes the large synthetic test image for the mount
benchmark (tests/bench-mount.sh) as an OCI image layout with one tag, `big`.

The image has one gzip layer holding a realistic tree of 50,000 entries:
2,500 directories nested up to 8 deep, 47,499 small files of 0 to 64 KiB
(sizes log-uniform, 5% empty; 60% text-like, 40% random bytes, every file's
content distinct) and one 256 MiB file of incompressible but deterministic
bytes, big/random-256M. Everything is derived from a fixed seed, so the same
script always writes the same blobs. The layer is streamed to disk through
tar, gzip and two sha256s (diff_id and blob digest); no file or layer is
held in memory whole.

Usage: tests/make-bigimage.py [OUTDIR]   (default $STRATA_TEST_CACHE/bigimage)

OUTDIR is rebuilt only when this script's sha256 differs from OUTDIR.sha256;
the absolute path of the layout is printed on stdout, progress on stderr.
"""
import fcntl
import gzip
import hashlib
import json
import math
import os
import platform
import random
import shutil
import sys
import tarfile
import tempfile
import time

SEED = b"strata-bigimage-1"
N_DIRS = 2500
N_SMALL = 47499           # + 2,500 dirs + big/ + big/random-256M = 50,001
MAX_SMALL = 64 * 1024
BIG_SIZE = 256 * 1024 * 1024
BIG_BLOCK = 1 << 20
MTIME = 1704067200        # 2024-01-01T00:00:00Z

WORDS = (b"the of and to in is for on with as by at from that this it be are "
         b"config value error return static const struct void int char size "
         b"layer image store chunk digest mount file path name data index "
         b"python ruby java node package version license module library").split()


def log(msg):
    print("make-bigimage: " + msg, file=sys.stderr, flush=True)


class HashWriter:
    """A write-only file object that hashes what passes through it."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)
        return self.out.write(b)

    def flush(self):
        self.out.flush()

    def digest(self):
        return "sha256:" + self.sha.hexdigest()


class Stream:
    """A read-only file object over a generator of byte blocks, for addfile()."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.pending = b""

    def read(self, n=-1):
        while n < 0 or len(self.pending) < n:
            b = next(self.blocks, None)
            if b is None:
                break
            self.pending += b
        if n < 0:
            n = len(self.pending)
        out, self.pending = self.pending[:n], self.pending[n:]
        return out


def prng(label, n):
    """n deterministic pseudo-random bytes named by label (SHAKE-256)."""
    return hashlib.shake_256(SEED + b"/" + label).digest(n)


# Maps random bytes to a text-like alphabet: mostly lowercase letters, with
# spaces and newlines, so that text files compress like text does.
_ALPHA = b"etaoinshrdlucmfwypvbgkjqxz"
_TEXT = bytes((_ALPHA[i % 26] if i < 200 else (b" "[0] if i < 240 else
              (b"\n"[0] if i < 248 else b"._=/(),;"[i - 248]))) for i in range(256))


def text_content(i, size, rng):
    head = b" ".join(rng.choice(WORDS) for _ in range(8)) + b"\n"
    body = prng(b"text%d" % i, max(0, size - len(head))).translate(_TEXT)
    return (head + body)[:size]


def big_blocks():
    for k in range(BIG_SIZE // BIG_BLOCK):
        yield prng(b"big%d" % k, BIG_BLOCK)


def make_tree(rng):
    """Returns (dirs, files): dirs in creation order (parents first) and
    [(path, size, kind)] for the small files."""
    dirs = ["usr", "etc", "opt", "var", "srv"]
    depth = {d: 1 for d in dirs}
    while len(dirs) < N_DIRS:
        parent = rng.choice(dirs)
        if depth[parent] >= 8:
            continue
        name = "%s/%s%d" % (parent, rng.choice(["lib", "pkg", "src", "share", "d", "mod", "x"]),
                            len(dirs))
        dirs.append(name)
        depth[name] = depth[parent] + 1
    files = []
    for i in range(N_SMALL):
        d = rng.choice(dirs)
        if rng.random() < 0.05:
            size = 0
        else:
            size = min(MAX_SMALL, int(math.exp(rng.uniform(0, math.log(MAX_SMALL)))))
        kind = "text" if rng.random() < 0.6 else "random"
        ext = ".txt" if kind == "text" else ".bin"
        files.append(("%s/f%05d%s" % (d, i, ext), size, kind))
    return dirs, files


def tarinfo(name, kind, size=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE if kind == "dir" else tarfile.REGTYPE
    ti.mode = 0o755 if kind == "dir" else mode
    ti.size = size
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def write_layer(path):
    """Writes the gzip layer to path; returns (blob digest, blob size, diff_id)."""
    rng = random.Random(SEED)
    dirs, files = make_tree(rng)
    with open(path, "wb") as raw:
        zhash = HashWriter(raw)
        # mtime=0 and no file name: the gzip header is the same every time.
        with gzip.GzipFile(filename="", mode="wb", fileobj=zhash, compresslevel=6, mtime=0) as gz:
            thash = HashWriter(gz)
            with tarfile.open(fileobj=thash, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for d in dirs:
                    tar.addfile(tarinfo(d, "dir"))
                t0 = time.monotonic()
                for i, (name, size, kind) in enumerate(files):
                    if kind == "text":
                        data = text_content(i, size, rng)
                    else:
                        data = prng(b"rand%d" % i, size)
                    mode = 0o755 if rng.random() < 0.03 else 0o644
                    tar.addfile(tarinfo(name, "file", size, mode), Stream(iter([data])))
                    if (i + 1) % 10000 == 0:
                        log("%d small files (%.0f s)" % (i + 1, time.monotonic() - t0))
                tar.addfile(tarinfo("big", "dir"))
                log("big/random-256M")
                tar.addfile(tarinfo("big/random-256M", "file", BIG_SIZE), Stream(big_blocks()))
            diff_id = thash.digest()
    return zhash.digest(), zhash.size, diff_id


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def build(layout):
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    tmp = os.path.join(layout, "blobs", "sha256", "layer.tmp")
    layer_digest, layer_size, diff_id = write_layer(tmp)
    os.rename(tmp, os.path.join(layout, "blobs", "sha256", layer_digest.split(":")[1]))
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "tests/make-bigimage.py"}],
    }
    cdigest, csize = put_blob(layout, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cdigest, "size": csize},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    mdigest, msize = put_blob(layout, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": mdigest, "size": msize,
                       "annotations": {"org.opencontainers.image.ref.name": "big"}}],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    log("layer %s: %.1f MiB gzip, diff_id %s" % (layer_digest, layer_size / 1048576, diff_id))


def main():
    if len(sys.argv) > 2:
        print("usage: make-bigimage.py [OUTDIR]", file=sys.stderr)
        return 2
    if len(sys.argv) == 2:
        out = sys.argv[1]
    else:
        out = os.path.join(os.environ.get("STRATA_TEST_CACHE", "/var/cache/strata-tests"), "bigimage")
    out = os.path.abspath(out.rstrip("/"))
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    with open(__file__, "rb") as f:
        self_sum = hashlib.sha256(f.read()).hexdigest()
    stamp = out + ".sha256"
    # One builder at a time; a second caller waits and reuses the result.
    with open(out + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                cached = f.read().strip() == self_sum
        except FileNotFoundError:
            cached = False
        if cached and os.path.isfile(os.path.join(out, "index.json")):
            print(out)
            return 0
        log("building %s (a minute or two)" % out)
        t0 = time.monotonic()
        work = tempfile.mkdtemp(prefix=os.path.basename(out) + ".build.", dir=parent)
        try:
            build(os.path.join(work, "layout"))
            if os.path.lexists(stamp):
                os.unlink(stamp)
            if os.path.exists(out):
                shutil.rmtree(out)
            os.rename(os.path.join(work, "layout"), out)
            with open(stamp, "w") as f:
                f.write(self_sum + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log("done in %.0f s" % (time.monotonic() - t0))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
