#!/usr/bin/env python3
"""random-reads.py MNT REF [THREADS [READS]]: THREADS concurrent readers each
read READS random ranges of random regular files under MNT and compare them
with the same ranges under REF (the unpacked tree). Exits 1, listing the
first differences or errors, when any read differs or fails."""
import os
import random
import sys
import threading

mnt, ref = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
reads = int(sys.argv[4]) if len(sys.argv) > 4 else 300
files = []
for root, dirs, names in os.walk(ref):
    for n in names:
        p = os.path.join(root, n)
        if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) > 0:
            files.append(os.path.relpath(p, ref))
errors = []


def reader(seed):
    rnd = random.Random(seed)
    for _ in range(reads):
        rel = rnd.choice(files)
        size = os.path.getsize(os.path.join(ref, rel))
        off = rnd.randrange(size)
        n = rnd.randint(1, 256 << 10)
        try:
            with open(os.path.join(ref, rel), 'rb') as a, open(os.path.join(mnt, rel), 'rb') as b:
                a.seek(off)
                b.seek(off)
                if a.read(n) != b.read(n):
                    errors.append(("mismatch", rel, off, n))
        except OSError as e:
            errors.append(("error", rel, str(e)))


ts = [threading.Thread(target=reader, args=(i,)) for i in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if errors:
    print("%d bad reads, first: %s" % (len(errors), errors[:5]))
    sys.exit(1)
print("%d threads x %d reads over %d files: all exact" % (threads, reads, len(files)))
