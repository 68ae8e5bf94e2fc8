#!/usr/bin/env python3
"""children-xattr.py MOUNT: checks user.strata.children.<start> on every
directory of a strata mount against what the kernel lists and the per-file
attributes: every regular file and symbolic link once, in listing order,
with the same digests (user.strata.digests) and link target (readlink), and
pages that cover the directory. Then user.strata.tree.<start> of the root
and of one subdirectory against os.walk and lstat: every entry once, with
its mode, owner, size, digests or target. Prints "dirs N pages N
paged-dirs N records N tree N entries in N pages" and exits 1 with the
first difference."""
import errno
import os
import stat
import sys

ATTR = "user.strata.children."


def pages(d):
    start, recs, n = 0, [], 0
    while True:
        v = os.getxattr(d, ATTR + str(start), follow_symlinks=False)
        head, _, body = v.partition(b"\0")
        nxt, count = (int(x) for x in head.split())
        if nxt <= start and count > start:
            raise SystemExit("%s: page at %d does not advance (%d)" % (d, start, nxt))
        f = body.split(b"\0")
        if f[-1] != b"" or len(f) % 2 != 1:
            raise SystemExit("%s: page at %d is not name/value pairs" % (d, start))
        recs += list(zip(f[0:-1:2], f[1:-1:2]))
        n += 1
        if nxt >= count:
            return recs, n, count
        start = nxt


def tree(d):
    start, out, n = 0, [], 0
    while True:
        v = os.getxattr(d, "user.strata.tree." + str(start), follow_symlinks=False)
        head, _, body = v.partition(b"\0")
        nxt, more = (int(x) for x in head.split())
        f = body.split(b"\0")
        if f[-1] != b"" or len(f) % 2 != 1 or (more and nxt <= start):
            raise SystemExit("%s: tree page at %d is malformed" % (d, start))
        out += list(zip(f[0:-1:2], f[1:-1:2]))
        n += 1
        if not more:
            return out, n
        start = nxt


def walked(root):
    want = []
    for d, subdirs, files in os.walk(root):
        for name in subdirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            meta = b"%o %d %d %d" % (st.st_mode, st.st_uid, st.st_gid, st.st_size)
            if stat.S_ISREG(st.st_mode):
                meta += b" " + os.getxattr(p, "user.strata.digests", follow_symlinks=False)
            elif stat.S_ISLNK(st.st_mode):
                meta += b" " + os.fsencode(os.readlink(p))
            want.append((os.fsencode(os.path.relpath(p, root)), meta))
    return want


def check_tree(root):
    got, n = tree(root)
    want = walked(root)
    if sorted(got) != sorted(want):
        g, w = set(got), set(want)
        raise SystemExit("%s: tree differs: only in tree %r, only in walk %r" %
                         (root, sorted(g - w)[:2], sorted(w - g)[:2]))
    if len(got) != len(set(p for p, _ in got)):
        raise SystemExit("%s: tree lists a path twice" % root)
    return len(got), n


def main():
    root = sys.argv[1]
    dirs = npages = paged = nrecs = 0
    for d, subdirs, files in os.walk(root):
        dirs += 1
        names = os.listdir(d)
        recs, n, count = pages(d)
        npages += n
        paged += n > 1
        if count != len(names):
            raise SystemExit("%s: count %d, listing %d" % (d, count, len(names)))
        want = []
        for name in names:
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                want.append((os.fsencode(name), b"f " + os.getxattr(p, "user.strata.digests", follow_symlinks=False)))
            elif stat.S_ISLNK(st.st_mode):
                want.append((os.fsencode(name), b"l " + os.fsencode(os.readlink(p))))
        if recs != want:
            diff = [(a, b) for a, b in zip(recs, want) if a != b][:1] or [(len(recs), len(want))]
            raise SystemExit("%s: records differ: %r" % (d, diff))
        nrecs += len(recs)
    # What is not a page: a file, a bad start, a start past the end.
    some_file = next((os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs), None)
    for path, name in ((some_file, ATTR + "0"), (root, ATTR + "x"), (root, ATTR + "99999999"), (root, ATTR),
                       (some_file, "user.strata.tree.0"), (root, "user.strata.tree.99999999"),
                       (root, "user.strata.tree.-1")):
        try:
            os.getxattr(path, name, follow_symlinks=False)
            raise SystemExit("%s %s: answered" % (path, name))
        except OSError as e:
            if e.errno != errno.ENODATA:
                raise SystemExit("%s %s: %s" % (path, name, e))
    nt, tp = check_tree(root)
    sub = next((os.path.join(root, x) for x in sorted(os.listdir(root))
                if os.path.isdir(os.path.join(root, x)) and not os.path.islink(os.path.join(root, x))), None)
    if sub:
        check_tree(sub)
    print("dirs %d pages %d paged-dirs %d records %d tree %d entries in %d pages" %
          (dirs, npages, paged, nrecs, nt, tp))


main()
