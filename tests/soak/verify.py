#!/usr/bin/python3
"""verify.py — every stored version of the given paths verifies: for each
version `vigil log DEV:PATH --json` lists (not deleted, not yet verified),
`vigil get --version N` must succeed (the controller checks the bytes
against the sha256 or, while that is pending, the chunk-tree root) and give
the size and sha256 the log reports.  Verified (path, version, sha256)
triples are kept in --state so a round only fetches what is new; --all
fetches every version again (nothing stored was harmed since).
Prints one JSON line of counts; exit 1 on any version that does not verify."""
import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import subprocess
import sys
import tempfile

PENDING = ("", "0" * 64, None)


def run(cmd, tries=5):
    """A command that may meet a server being restarted: retried."""
    for i in range(tries):
        p = subprocess.run(cmd, capture_output=True, timeout=120)
        if p.returncode == 0:
            return p
        if i + 1 < tries:
            subprocess.run(["sleep", str(0.5 * (i + 1))])
    return p


def check_path(vigil, dev, path, done, redo, tmp):
    """(checked, pending, [failures]) for one path."""
    p = run([vigil, "log", "%s:%s" % (dev, path), "--json"])
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace")
        absent = any(w in err.lower() for w in ("no such", "not found", "no versions"))
        return (0, 0, [] if absent
                else ["log %s: %s" % (path, err.strip())])
    checked = pending = 0
    bad = []
    for v in json.loads(p.stdout):
        if v.get("deleted") or v.get("type", "file") != "file":
            continue
        key = "%s\0%d" % (path, v["version"])
        sha = v.get("sha256")
        if not redo and done.get(key) == sha and sha not in PENDING:
            continue
        out = os.path.join(tmp, "v%d-%d" % (os.getpid(), abs(hash(key))))
        g = run([vigil, "get", "%s:%s" % (dev, path), "--version", str(v["version"]), "-o", out])
        if g.returncode != 0:
            bad.append("get %s v%d: %s" % (path, v["version"], g.stderr.decode(errors="replace").strip()))
            continue
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        if len(data) != v["size"]:
            bad.append("%s v%d: %d bytes, log says %d" % (path, v["version"], len(data), v["size"]))
        elif sha in PENDING:
            pending += 1     # verified by the chunk-tree root (get did); sha256 later
        elif hashlib.sha256(data).hexdigest() != sha:
            bad.append("%s v%d: sha256 differs from the log's" % (path, v["version"]))
        else:
            done[key] = sha
            checked += 1
    return checked, pending, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--paths", required=True, help="file: one device path per line")
    ap.add_argument("--state", required=True)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--jobs", type=int, default=6)
    a = ap.parse_args()
    done = {}
    if os.path.exists(a.state):
        with open(a.state) as f:
            done = json.load(f)
    with open(a.paths) as f:
        paths = sorted({l.rstrip("\n") for l in f if l.strip()})
    tot = {"paths": len(paths), "checked": 0, "pending": 0, "failed": 0}
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(a.jobs) as ex:
        for c, pnd, bad in ex.map(lambda p: check_path(a.vigil, a.dev, p, done, a.all, tmp), paths):
            tot["checked"] += c
            tot["pending"] += pnd
            tot["failed"] += len(bad)
            for b in bad:
                print("verify: " + b, file=sys.stderr)
    tot["verified_total"] = len(done)
    with open(a.state + ".tmp", "w") as f:
        json.dump(done, f)
    os.replace(a.state + ".tmp", a.state)
    print(json.dumps(tot))
    return 1 if tot["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
