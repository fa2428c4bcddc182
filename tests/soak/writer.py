#!/usr/bin/python3
"""writer.py — the soak's device user: a continuous stream of edits under a
watched root until SIGTERM.  Appends, in-place pwrites into big files (they
ship as ranges), rewrites of medium files (they ship as deltas), renames,
deletes and creations across about --files files.  Every path it touches is
appended to --touched (one per line) and the totals go to --stats (JSON)
at exit.  --init only creates the tree and exits."""
import argparse
import json
import os
import random
import signal
import sys
import time

BIG = (300 << 10, 700 << 10)      # >= 256 KiB: in-place writes ship as RANGES
MEDIUM = (20 << 10, 96 << 10)     # >= 16 KiB: rewrites ship as DELTA
SMALL = (64, 4 << 10)

stop = False


def on_term(_sig, _frm):
    global stop
    stop = True


class Writer:
    def __init__(self, root, nfiles, rng, touched):
        self.root, self.n, self.rng = root, nfiles, rng
        self.touched = touched
        self.ops = {}
        self.bytes = 0
        self.seq = 0
        self.files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs)

    def note(self, op, *paths, nbytes=0):
        self.ops[op] = self.ops.get(op, 0) + 1
        self.bytes += nbytes
        if self.touched:
            for p in paths:
                self.touched.write(p + "\n")
            self.touched.flush()

    def new_path(self):
        self.seq += 1
        d = os.path.join(self.root, "d%02d" % self.rng.randrange(20))
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, "f%d-%06d.bin" % (os.getpid(), self.seq))

    def create(self, size_range=None):
        r = self.rng.random()
        if size_range is None:
            size_range = BIG if r < 0.05 else MEDIUM if r < 0.25 else SMALL
        p = self.new_path()
        data = os.urandom(self.rng.randint(*size_range))
        with open(p, "wb") as f:
            f.write(data)
        self.files.append(p)
        self.note("create", p, nbytes=len(data))

    def pick(self, lo=0, hi=1 << 62):
        for _ in range(50):
            p = self.rng.choice(self.files)
            try:
                if lo <= os.path.getsize(p) < hi:
                    return p
            except OSError:
                pass
        return None

    def append(self):
        p = self.pick(hi=BIG[1] * 2)
        if p:
            data = os.urandom(self.rng.randint(64, 2048))
            with open(p, "ab") as f:
                f.write(data)
            self.note("append", p, nbytes=len(data))

    def pwrite(self):
        p = self.pick(lo=BIG[0])
        if p:
            size = os.path.getsize(p)
            data = os.urandom(self.rng.randint(1, 8) << 10)
            off = self.rng.randrange(max(1, size - len(data)))
            with open(p, "r+b") as f:
                os.pwrite(f.fileno(), data, off)
            self.note("pwrite", p, nbytes=len(data))

    def rewrite(self):
        p = self.pick(lo=MEDIUM[0], hi=BIG[0])
        if not p:
            return
        with open(p, "rb") as f:
            old = f.read()
        cut = self.rng.randrange(len(old))
        ins = os.urandom(self.rng.randint(256, 4096))
        new = old[:cut] + ins + old[cut + 2048:]
        if self.rng.random() < 0.5:
            with open(p, "r+b") as f:   # in place, truncated to the new size
                f.write(new)
                f.truncate()
        else:                           # the editor's way: a new file renamed over
            tmp = p + ".tmp"
            with open(tmp, "wb") as f:
                f.write(new)
            os.replace(tmp, p)
        self.note("rewrite", p, nbytes=len(ins))

    def rename(self):
        p = self.pick()
        if p:
            q = self.new_path()
            os.rename(p, q)
            self.files[self.files.index(p)] = q
            self.note("rename", p, q)

    def delete(self):
        p = self.pick()
        if p:
            os.unlink(p)
            self.files.remove(p)
            self.note("delete", p)

    def step(self):
        r = self.rng.random()
        if len(self.files) < self.n * 0.9 or (r < 0.08 and len(self.files) < self.n * 1.1):
            self.create()
        elif r < 0.38:
            self.append()
        elif r < 0.63:
            self.pwrite()
        elif r < 0.83:
            self.rewrite()
        elif r < 0.92:
            self.rename()
        else:
            self.delete()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init", action="store_true")
    ap.add_argument("--rate", type=float, default=20, help="operations per second")
    ap.add_argument("--touched")
    ap.add_argument("--stats")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    touched = open(a.touched, "a") if a.touched else None
    w = Writer(a.root, a.files, random.Random(a.seed), touched)
    if a.init:
        while len(w.files) < a.files:
            w.create()
        # one file that every phase finds big enough for ranges
        w.create(BIG)
        return 0
    while not stop:
        w.step()
        time.sleep(w.rng.uniform(0, 2.0 / a.rate))
    if a.stats:
        with open(a.stats, "w") as f:
            json.dump({"ops": w.ops, "bytes": w.bytes, "files": len(w.files)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
