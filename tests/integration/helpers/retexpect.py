#!/usr/bin/python3
"""retexpect.py — what a retention policy must keep, computed apart from the
server's C code, from restic's documented forget rules (doc/060_forget.rst):
for --keep-daily/--keep-weekly N, the newest snapshot of each of the last N
days / ISO weeks (UTC here) that have one, plus the oldest snapshot when a
count is left; rules ORed.  Every capture instant of the device is a
snapshot; a path keeps each version that is what it was at a kept instant,
and its newest row.  t_retain.sh uses it.

  retexpect.py snap OUT PATH...       `vigil log --json` of each PATH -> OUT
  retexpect.py expect SNAP DAILY WEEKLY  -> {path: [kept versions]} on stdout
  retexpect.py versions SNAP          -> {path: [versions]} on stdout
"""
import datetime
import json
import subprocess
import sys


def ns(s):
    body = s[:-1]
    date, frac = body.split('.') if '.' in body else (body, '0')
    dt = datetime.datetime.strptime(date, '%Y-%m-%dT%H:%M:%S')
    dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 10**9 + int(frac.ljust(9, '0'))


def snap(out, paths):
    logs = {}
    for p in paths:
        r = subprocess.run(['vigil', 'log', 'phone1:' + p, '--json'],
                           capture_output=True, text=True, check=True)
        logs[p] = [{'version': e['version'], 'time': e['time']} for e in json.loads(r.stdout)]
    with open(out, 'w') as f:
        json.dump(logs, f)


def bucket(t, kind):
    d = datetime.datetime.fromtimestamp(t // 10**9, datetime.timezone.utc)
    if kind == 'daily':
        return (d.year, d.month, d.day)
    y, w, _ = d.isocalendar()
    return (y, w)


def expect(snapfile, daily, weekly):
    logs = json.load(open(snapfile))
    rows = {p: sorted((ns(e['time']), e['version']) for e in es) for p, es in logs.items()}
    instants = sorted({t for es in rows.values() for t, _ in es}, reverse=True)
    kept = set()
    for kind, n in (('daily', daily), ('weekly', weekly)):
        last = None
        for i, t in enumerate(instants):
            if n == 0:
                break
            k = bucket(t, kind)
            if k != last or i == len(instants) - 1:
                kept.add(t)
                last = k
                n -= 1
    out = {}
    for p, es in rows.items():
        keep = []
        for i, (t, v) in enumerate(es):
            nxt = es[i + 1][0] if i + 1 < len(es) else None
            if nxt is None or any(t <= k < nxt for k in kept):
                keep.append(v)
        out[p] = keep
    return out


def main():
    if sys.argv[1] == 'snap':
        snap(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == 'expect':
        json.dump(expect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])), sys.stdout,
                  sort_keys=True)
    else:
        logs = json.load(open(sys.argv[2]))
        json.dump({p: [e['version'] for e in es] for p, es in logs.items()}, sys.stdout,
                  sort_keys=True)


main()
