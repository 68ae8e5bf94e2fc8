#!/usr/bin/env python3
"""tree-xattr.py MOUNT: checks user.strata.tree.<start> of a strata mount
against os.walk and lstat: every entry once, with its mode, owner, size and
the digests (user.strata.digests) of a file or the target of a link; for
the root and for one subdirectory (paths relative to it). Pages asked out
of order give what they gave in order, and what is not a page (a file, a
start past the end, a malformed start) answers ENODATA. Prints "tree N
entries in N pages" and exits 1 with the first difference."""
import errno
import os
import stat
import sys

ATTR = "user.strata.tree."


def page(d, start):
    v = os.getxattr(d, ATTR + str(start), follow_symlinks=False)
    head, _, body = v.partition(b"\0")
    nxt, more = (int(x) for x in head.split())
    f = body.split(b"\0")
    if f[-1] != b"" or len(f) % 2 != 1 or (more and nxt <= start):
        raise SystemExit("%s: tree page at %d is malformed" % (d, start))
    return nxt, more, list(zip(f[0:-1:2], f[1:-1:2]))


def tree(d):
    start, out, starts = 0, [], []
    while True:
        starts.append(start)
        nxt, more, recs = page(d, start)
        out += recs
        if not more:
            return out, starts
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
    got, starts = tree(root)
    want = walked(root)
    if sorted(got) != sorted(want):
        g, w = set(got), set(want)
        raise SystemExit("%s: tree differs: only in tree %r, only in walk %r" %
                         (root, sorted(g - w)[:2], sorted(w - g)[:2]))
    if len(got) != len(set(p for p, _ in got)):
        raise SystemExit("%s: tree lists a path twice" % root)
    return got, starts


def main():
    root = sys.argv[1]
    got, starts = check_tree(root)
    # Out of order: the cursor starts again from the top and skips.
    if len(starts) > 2:
        again = page(root, starts[1])
        if again != page(root, starts[1]) or again[2] != got[len(page(root, 0)[2]):][:len(again[2])]:
            raise SystemExit("%s: page at %d differs when asked out of order" % (root, starts[1]))
    sub = next((os.path.join(root, x) for x in sorted(os.listdir(root))
                if os.path.isdir(os.path.join(root, x)) and not os.path.islink(os.path.join(root, x))), None)
    if sub:
        check_tree(sub)
    some_file = next((os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs), None)
    for path, name in ((some_file, ATTR + "0"), (root, ATTR + "99999999"), (root, ATTR + "-1"),
                       (root, ATTR + "x"), (root, ATTR)):
        try:
            os.getxattr(path, name, follow_symlinks=False)
            raise SystemExit("%s %s: answered" % (path, name))
        except OSError as e:
            if e.errno != errno.ENODATA:
                raise SystemExit("%s %s: %s" % (path, name, e))
    print("tree %d entries in %d pages" % (len(got), len(starts)))


main()
