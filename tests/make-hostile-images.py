#!/usr/bin/env python3
"""make-hostile-images.py: whole hostile images for t0630-hostile-images.sh.

Usage:
  make-hostile-images.py build OUTDIR --canary FILE --canary-dir DIR --escape NAME [CASE...]
  make-hostile-images.py push REGISTRY REPO LAYOUT [--mount-from REPO]
  make-hostile-images.py serve-loop PORTFILE

build writes one OCI image layout per case, OUTDIR/<case>, tagged `latest`,
built like make-hostile.py's (whose helpers it imports): a harmless first
layer, then the hostile one. FILE is a canary file on the host, DIR a canary
directory, NAME a unique file name that an escaping entry would create on
the host ("../../NAME", "/etc/NAME"): the test looks for all three after.
The large cases (gzip-bomb: 4 GiB of zeros in a 4 MiB blob; million: one
million tar entries) are streamed, never held whole.

push uploads LAYOUT's `latest` (an image, or an index and everything it
names, recursively) to REGISTRY/REPO over the registry API; skopeo cannot
push a nested index. With --mount-from, blobs are mounted from that
repository instead of uploaded.

serve-loop runs a registry that answers every manifest request of any
repository with one image index whose only entry, an index, names a digest;
fetched by that digest it answers the same index again: an index that points
to itself, as far as a registry can make one. It writes its port to PORTFILE.

Python standard library only.
"""

import hashlib
import http.client
import importlib.util
import io
import json
import os
import struct
import sys
import tarfile
import urllib.parse
import zlib

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("make_hostile", os.path.join(_here, "make-hostile.py"))
mh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mh)

OCI_MANIFEST, OCI_INDEX, LAYER_GZIP = mh.OCI_MANIFEST, mh.OCI_INDEX, mh.LAYER_GZIP
d, f, tar_bytes, two_layers, digest, gz = mh.d, mh.f, mh.tar_bytes, mh.two_layers, mh.digest, mh.gz
MTIME = mh.MTIME


def link(name, target, kind=tarfile.SYMTYPE):
    return ({"name": name, "type": kind, "linkname": target}, None)


def dev(name, kind, major, minor):
    return ({"name": name, "type": kind, "devmajor": major, "devminor": minor, "mode": 0o660}, None)


# --- streamed layers ---------------------------------------------------------

class StreamBlob:
    """A gzip layer written straight to the layout: sha256 of the tar (the
    diff_id) and of the blob (its digest) are computed on the way."""

    def __init__(self, layout):
        self.dir = os.path.join(layout.root, "blobs", "sha256")
        self.tmp = os.path.join(self.dir, "stream.tmp")
        self.fh = open(self.tmp, "wb")
        self.plain = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.size = 0

    def raw(self, data):
        self.fh.write(data)
        self.blob.update(data)
        self.size += len(data)

    def finish(self):
        self.fh.close()
        dg = self.blob.hexdigest()
        os.rename(self.tmp, os.path.join(self.dir, dg))
        return ("sha256:" + dg, self.size), "sha256:" + self.plain.hexdigest()


def ustar_header(name, size=0, kind=b"0", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = size, MTIME, mode
    ti.type = kind
    return ti.tobuf(tarfile.USTAR_FORMAT)


def image_with_stream(out, write_layer):
    """Two layers: the usual base, then one streamed by write_layer(StreamBlob)."""
    lay = mh.Layout(out)
    sb = StreamBlob(lay)
    write_layer(sb)
    blob, diff_id = sb.finish()
    b = mh.base_layer()
    lay.image([(gz(b), LAYER_GZIP, b), (blob, LAYER_GZIP, diff_id)])


def bomb_stream(sb, size, seg=1 << 20):
    """A tar of one file of size zero bytes, gzip-compressed. Deflate after a
    full flush starts afresh, so each 1 MiB of zeros compresses to the same
    bytes: they are compressed once and repeated. The tar's sha256 and the
    gzip trailer's CRC-32 are computed over the real stream."""
    assert size % seg == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc, total = 0, 0
    sb.raw(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03")

    def plain(data):
        nonlocal crc, total
        sb.plain.update(data)
        crc = zlib.crc32(data, crc)
        total += len(data)

    hdr = ustar_header("bomb", size)
    plain(hdr)
    sb.raw(c.compress(hdr) + c.flush(zlib.Z_FULL_FLUSH))
    zeros = bytes(seg)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    if first != again:
        raise SystemExit("make-hostile-images: deflate segments differ; cannot build the bomb")
    for _ in range(size // seg):
        plain(zeros)
        sb.raw(again)
    tail = bytes(1024)  # end of archive
    plain(tail)
    sb.raw(c.compress(tail) + c.flush(zlib.Z_FINISH))
    sb.raw(struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF))


def million_stream(sb, dirs=1000, files=999):
    """dirs directories of files empty files each: 1,000,000 entries with the
    defaults (strata's default limit). Headers are patched from templates:
    only the name and checksum change."""
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    sb_buf = bytearray()

    def put(data):
        sb.plain.update(data)
        sb.raw(c.compress(bytes(data)))

    ftmpl = bytearray(ustar_header("d000/f000"))
    dtmpl = bytearray(ustar_header("d000", kind=tarfile.DIRTYPE, mode=0o755))

    def patched(tmpl, name):
        h = bytearray(tmpl)
        h[0:len(name)] = name
        h[148:156] = b" " * 8
        h[148:156] = b"%06o\0 " % sum(h)
        return h

    for i in range(dirs):
        dn = b"d%03d" % i
        sb_buf += patched(dtmpl, dn)
        for j in range(files):
            sb_buf += patched(ftmpl, dn + b"/f%03d" % j)
        put(sb_buf)
        sb_buf.clear()
    put(bytes(1024))
    sb.raw(c.flush())


# --- the cases ---------------------------------------------------------------

def case_dotdot(out, a):
    two_layers(out, tar_bytes([d("a"), f("a/fine", b"fine\n"), f("../../" + a.escape, b"escaped\n")]))


def case_dotdot_mid(out, a):
    two_layers(out, tar_bytes([d("a"), f("a/fine", b"fine\n"), f("a/../../" + a.escape, b"escaped\n")]))


def case_absolute(out, a):
    two_layers(out, tar_bytes([f("/etc/" + a.escape, b"absolute names are made relative\n")]))


def case_symlinks(out, a):
    # Links to the host's secrets and to the canary, absolute and relative.
    two_layers(out, tar_bytes([d("l"), link("l/shadow", "/etc/shadow"), link("l/canary", a.canary),
                               link("l/canary-rel", "../../../../../../../.." + a.canary),
                               link("l/canary-dir", a.canary_dir)]))


def case_hardlink_shadow(out, a):
    two_layers(out, tar_bytes([d("h"), link("h/shadow", "/etc/shadow", tarfile.LNKTYPE)]))


def case_hardlink_canary(out, a):
    two_layers(out, tar_bytes([d("h"), link("h/canary", a.canary, tarfile.LNKTYPE)]))


def case_symlink_loop(out, a):
    two_layers(out, tar_bytes([d("loop"), link("loop/self", "self"), link("loop/a", "b"),
                               link("loop/b", "a"), link("loop/dir", "."), link("loop/up", "../loop/up")]))


def case_dirlink_prefix(out, a):
    # A symlink to a host directory, then an entry under it: an extractor
    # that follows the link writes into the host directory.
    two_layers(out, tar_bytes([link("a", a.canary_dir), f("a/owned", b"written through a symlink\n"),
                               link("b", "/tmp"), f("b/" + a.escape, b"written through a symlink\n")]))


def case_dirlink_layers(out, a):
    # The same across layers: the link in one layer, the entry under it in
    # the next.
    lay = mh.Layout(out)
    b = mh.base_layer()
    l1 = tar_bytes([link("a", a.canary_dir), link("b", "/tmp")])
    l2 = tar_bytes([f("a/owned", b"written through a symlink\n"), f("b/" + a.escape, b"written through a symlink\n")])
    lay.image([(gz(b), LAYER_GZIP, b), (gz(l1), LAYER_GZIP, l1), (gz(l2), LAYER_GZIP, l2)])


def case_setuid(out, a):
    two_layers(out, tar_bytes([d("s"), ({"name": "s/suid", "mode": 0o4755}, b"#!/bin/sh\nid\n"),
                               ({"name": "s/sgid", "mode": 0o2755}, b"#!/bin/sh\nid\n"),
                               ({"name": "s/sticky-dir", "type": tarfile.DIRTYPE, "mode": 0o1777}, None)]))


def case_devices(out, a):
    two_layers(out, tar_bytes([d("dev"), dev("dev/null", tarfile.CHRTYPE, 1, 3),
                               dev("dev/mem", tarfile.CHRTYPE, 1, 1),
                               dev("dev/sda", tarfile.BLKTYPE, 8, 0),
                               dev("dev/vda", tarfile.BLKTYPE, 254, 0),
                               ({"name": "dev/fifo", "type": tarfile.FIFOTYPE}, None)]))


def case_gzip_bomb(out, a):
    image_with_stream(out, lambda sb: bomb_stream(sb, a.bomb_size))


def case_million(out, a):
    image_with_stream(out, million_stream)


def long_path(levels):
    """levels components of 255 bytes: 256 * levels - 1 bytes, with its directories."""
    comps = [("%d" % i) * 255 if i < 10 else chr(ord("a") + i - 10) * 255 for i in range(levels)]
    entries = [d("/".join(comps[:n])) for n in range(1, levels)]
    entries.append(f("/".join(comps), b"at the end of a long path\n"))
    return entries


def case_path_max(out, a):
    two_layers(out, tar_bytes(long_path(16)))          # 4,095 bytes: PATH_MAX - 1


def case_path_over(out, a):
    two_layers(out, tar_bytes(long_path(17)))          # 4,351 bytes


def case_deep(out, a):
    entries = [d("/".join(["d"] * n)) for n in range(1, 4097)]
    entries.append(f("/".join(["d"] * 4096) + "/bottom", b"4,096 directories down\n"))
    two_layers(out, tar_bytes(entries))


def case_size_short(out, a):
    # The header promises 1 MiB; the stream ends after 100 bytes.
    t = ustar_header("short", 1 << 20) + b"x" * 100 + bytes(412)
    two_layers(out, t)


def case_size_long(out, a):
    # The header says 100 bytes; 3,000 follow, then the end of the archive.
    body = (b"this file is longer than its header says. " * 80)[:3000]
    pad = (-len(body)) % 512
    t = ustar_header("long", 100) + body + bytes(pad) + bytes(1024)
    two_layers(out, t)


def case_duplicate(out, a):
    two_layers(out, tar_bytes([d("dup"), f("dup/file", b"first version\n"),
                               f("dup/file", b"second and last version\n"),
                               link("dup/swap", "file"), f("dup/swap", b"a file now, not a link\n"),
                               f("dup/todir", b"a file first\n"), d("dup/todir"),
                               f("dup/todir/inside", b"then a directory\n")]))


def case_diffid_wrong(out, a):
    t = tar_bytes([f("file", b"the config's diff_id is not this tar's\n")])
    b = mh.base_layer()
    two_layers(out, t, diff_ids=[digest(b), digest(b"another tar\n")])


def case_diffid_count(out, a):
    t = tar_bytes([f("file", b"one diff_id for two layers\n")])
    two_layers(out, t, diff_ids=[digest(mh.base_layer())])


def case_xrepo_a(out, a):
    two_layers(out, tar_bytes([d("xrepo"), f("xrepo/owner", b"this layer belongs to repository a\n")]))


def case_xrepo_b(out, a):
    # The same layers as xrepo-a, another config: b's manifest names a's blob.
    t = tar_bytes([d("xrepo"), f("xrepo/owner", b"this layer belongs to repository a\n")])
    lay = two_layers(out, t)
    idx = json.load(open(os.path.join(out, "index.json")))
    man = json.load(open(os.path.join(out, "blobs", "sha256", idx["manifests"][0]["digest"][7:])))
    cfg = json.load(open(os.path.join(out, "blobs", "sha256", man["config"]["digest"][7:])))
    cfg["config"]["Labels"] = {"repository": "b"}
    cb = json.dumps(cfg, indent=2).encode()
    man["config"] = {"mediaType": mh.OCI_CONFIG, "digest": lay.blob(cb), "size": len(cb)}
    lay.index(json.dumps(man, indent=2).encode())


def case_index_nested(out, a):
    """An index whose entry is an index, whose entry is a real image."""
    lay = two_layers(out, tar_bytes([f("nested", b"two indexes down\n")]))
    inner = json.load(open(os.path.join(out, "index.json")))["manifests"][0]
    inner = dict(inner, platform={"architecture": mh.host_arch(), "os": "linux"})
    inner.pop("annotations", None)
    i2 = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [inner]}, indent=2).encode()
    i1 = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_INDEX, "digest": lay.blob(i2), "size": len(i2),
         "platform": {"architecture": mh.host_arch(), "os": "linux"}}]}, indent=2).encode()
    lay.index(i1, media_type=OCI_INDEX)


CASES = {name[5:].replace("_", "-"): fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


# --- push ----------------------------------------------------------------------

class Registry:
    def __init__(self, hostport):
        self.hostport = hostport

    def req(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection(self.hostport, timeout=120)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def push_blob(self, repo, dg, path, mount_from=None):
        st, _, _ = self.req("HEAD", f"/v2/{repo}/blobs/{dg}")
        if st == 200:
            return
        if mount_from:
            # 201: mounted; 202: not there, an upload was started instead.
            st, h, body = self.req("POST", f"/v2/{repo}/blobs/uploads/?mount={dg}&from={mount_from}")
            if st == 201:
                return
        else:
            st, h, body = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        if st != 202:
            raise SystemExit(f"push: starting an upload to {repo}: {st} {body[:200]!r}")
        loc = urllib.parse.urlsplit(h["location"])
        q = loc.query + ("&" if loc.query else "") + "digest=" + dg
        with open(path, "rb") as fh:
            data = fh.read()
        st, _, body = self.req("PUT", loc.path + "?" + q, data, {"Content-Type": "application/octet-stream"})
        if st != 201:
            raise SystemExit(f"push: blob {dg} to {repo}: {st} {body[:200]!r}")

    def push_manifest(self, repo, ref, data, media_type):
        st, _, body = self.req("PUT", f"/v2/{repo}/manifests/{ref}", data, {"Content-Type": media_type})
        if st != 201:
            raise SystemExit(f"push: manifest {ref} to {repo}: {st} {body[:300]!r}")


def push(registry, repo, layout, mount_from=None):
    reg = Registry(registry)
    blobs = os.path.join(layout, "blobs", "sha256")

    def one(desc, ref):
        path = os.path.join(blobs, desc["digest"][7:])
        data = open(path, "rb").read()
        doc = json.loads(data)
        if desc["mediaType"] == OCI_INDEX or "manifests" in doc:
            for child in doc["manifests"]:
                one(child, child["digest"])
        else:
            for b in [doc["config"]] + doc["layers"]:
                reg.push_blob(repo, b["digest"], os.path.join(blobs, b["digest"][7:]), mount_from)
        reg.push_manifest(repo, ref, data, desc["mediaType"])

    top = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]
    one(top, "latest")


# --- serve-loop --------------------------------------------------------------------

def serve_loop(portfile):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    target = "sha256:" + hashlib.sha256(b"an index that names itself").hexdigest()
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_INDEX, "digest": target, "size": 0,
         "platform": {"architecture": mh.host_arch(), "os": "linux"}}]}).encode()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("serve-loop: %s %s\n" % (self.command, self.path))

        def answer(self, body):
            if "/manifests/" in self.path:
                self.send_response(200)
                self.send_header("Content-Type", OCI_INDEX)
                self.send_header("Docker-Content-Digest", target)
            else:
                self.send_response(200 if self.path.rstrip("/") == "/v2" else 404)
                body = b"{}"
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.end_headers()
            return body

        def do_HEAD(self):
            self.answer(index)

        def do_GET(self):
            self.wfile.write(self.answer(index))

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(portfile + ".tmp", "w") as fh:
        fh.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


def main(argv):
    import argparse
    p = argparse.ArgumentParser(prog="make-hostile-images.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("out")
    b.add_argument("--canary", required=True)
    b.add_argument("--canary-dir", required=True)
    b.add_argument("--escape", required=True)
    b.add_argument("--bomb-size", type=int, default=4 << 30)
    b.add_argument("cases", nargs="*")
    ps = sub.add_parser("push")
    ps.add_argument("registry")
    ps.add_argument("repo")
    ps.add_argument("layout")
    ps.add_argument("--mount-from")
    sl = sub.add_parser("serve-loop")
    sl.add_argument("portfile")
    # Case names may follow the options: argparse leaves them unparsed.
    a, rest = p.parse_known_args(argv[1:])
    if rest and (a.cmd != "build" or any(r.startswith("-") for r in rest)):
        p.error("unrecognized arguments: " + " ".join(rest))
    if rest:
        a.cases += rest
    if a.cmd == "push":
        push(a.registry, a.repo, a.layout, a.mount_from)
        return 0
    if a.cmd == "serve-loop":
        serve_loop(a.portfile)
        return 0
    names = a.cases or list(CASES)
    for n in names:
        if n not in CASES:
            print("make-hostile-images: unknown case '%s'; cases: %s" % (n, " ".join(CASES)), file=sys.stderr)
            return 2
    os.makedirs(a.out, exist_ok=True)
    for n in names:
        CASES[n](os.path.join(a.out, n), a)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
