"""ocilayout: OCI image layouts of one-layer images, written by the tests
that need images of their own (random bytes, many small files, names that
fill a disk). Each image is one gzip layer, a config naming its diff_id, a
manifest and a tag in index.json. Reproducible: mtimes 0, members in the
order given.

    sys.path.insert(0, TEST_SRCDIR)
    from ocilayout import Layout
    with Layout(out) as lay:
        diff_id = lay.image("r1", {"data/r1.bin": payload})
"""
import gzip
import hashlib
import io
import json
import os
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, root):
        self.root = root
        self.manifests = []
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()

    def put(self, data):
        """Stores a blob; returns its (digest, size)."""
        dg = sha256(data)
        with open(os.path.join(self.root, "blobs", "sha256", dg[7:]), "wb") as fh:
            fh.write(data)
        return dg, len(data)

    def image(self, tag, files, dirs=None, links=(), fmt=tarfile.PAX_FORMAT, level=1):
        """files: {path: bytes}; dirs: directory entries written first (None:
        the parents of the files, sorted; () for none); links: (path, target)
        symlinks written last. Returns the layer's diff_id."""
        if dirs is None:
            dirs = sorted({os.path.dirname(p) for p in files} - {""})
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w", format=fmt) as t:
            for d in dirs:
                ti = tarfile.TarInfo(d)
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            for p, data in files.items():
                ti = tarfile.TarInfo(p)
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
            for p, target in links:
                ti = tarfile.TarInfo(p)
                ti.type, ti.linkname = tarfile.SYMTYPE, target
                t.addfile(ti)
        tar = bio.getvalue()
        diff_id = sha256(tar)
        layer, lsize = self.put(gzip.compress(tar, compresslevel=level, mtime=0))
        cd, cs = self.put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode())
        md, ms = self.put(json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": cs},
            "layers": [{"mediaType": LAYER_GZIP, "digest": layer, "size": lsize}]}).encode())
        self.manifests.append({"mediaType": OCI_MANIFEST, "digest": md, "size": ms,
                               "annotations": {REF_NAME: tag}})
        return diff_id

    def close(self):
        """Writes index.json (every image so far) and oci-layout."""
        with open(os.path.join(self.root, "index.json"), "w") as fh:
            json.dump({"schemaVersion": 2, "manifests": self.manifests}, fh)
        with open(os.path.join(self.root, "oci-layout"), "w") as fh:
            fh.write('{"imageLayoutVersion": "1.0.0"}')
