#!/usr/bin/env python3
"""tree-listing.py [--mtime] DIR: one line per entry below DIR, sorted
bytewise: path, type (f d l c b p s), mode (octal, no leading zeros), uid,
gid, size ("-" for a directory), [mtime as find's %T@,] link target ("-"
when none) and sha256 ("-" when not a regular file), separated by tabs.
The same lines as `find DIR -mindepth 1 -printf ...` with a sha256sum per
file (tests/t0100-mount.sh checks that), in one process: seconds instead of
minutes for a tree of ten thousand files."""
import hashlib
import os
import stat
import sys

KINDS = {stat.S_IFREG: b"f", stat.S_IFDIR: b"d", stat.S_IFLNK: b"l", stat.S_IFCHR: b"c",
         stat.S_IFBLK: b"b", stat.S_IFIFO: b"p", stat.S_IFSOCK: b"s"}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest().encode()


def main():
    args = sys.argv[1:]
    mtime = args[:1] == ["--mtime"]
    if mtime:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: tree-listing.py [--mtime] DIR")
    lines = []
    stack = [(os.fsencode(args[0]), b"")]
    while stack:
        d, rel = stack.pop()
        for name in os.listdir(d):
            p = os.path.join(d, name)
            r = rel + b"/" + name if rel else name
            st = os.lstat(p)
            t = KINDS.get(stat.S_IFMT(st.st_mode), b"U")
            size, link, h = str(st.st_size).encode(), b"-", b"-"
            if t == b"d":
                size = b"-"
                stack.append((p, r))
            elif t == b"l":
                link = os.readlink(p) or b"-"
            elif t == b"f":
                h = sha256(p)
            fields = [r, t, b"%o" % (st.st_mode & 0o7777), str(st.st_uid).encode(), str(st.st_gid).encode(), size]
            if mtime:
                ns = st.st_mtime_ns
                fields.append(b"%d.%09d0" % (ns // 1000000000, ns % 1000000000))
            lines.append(b"\t".join(fields + [link, h]))
    sys.stdout.buffer.write(b"".join(line + b"\n" for line in sorted(lines)))


main()
