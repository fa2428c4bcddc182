#!/bin/bash
# bench/latency.sh — from close() to a durable version on the server, on
# loopback.  Starts a private vigil-server and `vigild run --tracker bpf`
# (TRACKER= to change), writes N (default 200) small files one by one
# (GAP_MS apart, default 20), each with its close time, then reads the
# server's index.db read-only: a file's latency is the recv_ns of its first
# version holding the final bytes (set just before the index commit, after
# the content is fsynced) minus its close time.  Same clock, same machine.
# Prints median, p95, max.  Needs root (bpf), sqlite3, python3.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
N=${N:-200}
GAP_MS=${GAP_MS:-20}
TRACKER=${TRACKER:-bpf}
W=$(mktemp -d /tmp/vigil-lat.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.3
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT INT TERM

PORT=$(( (RANDOM % 20000) + 30000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >"$W/server.log" 2>&1 &
PIDS="$PIDS $!"
"$BIN/vigil-server" enroll "$W/srv" --device lat --out "$W/lat.bundle" >/dev/null
mkdir -p "$W/data"
"$BIN/vigild" run --bundle "$W/lat.bundle" --state "$W/state" --watch "$W/data" \
	--tracker "$TRACKER" >"$W/vigild.log" 2>&1 &
PIDS="$PIDS $!"
# ready when the root directory is on the server
for _ in $(seq 100); do
	sqlite3 -readonly "file:$W/srv/index.db?mode=ro" \
		"SELECT count(*) FROM versions WHERE CAST(path AS TEXT)='$W/data'" 2>/dev/null |
		grep -q '^[1-9]' && break
	sleep 0.1
done
sleep 0.5

python3 - "$W/data" "$N" "$GAP_MS" >"$W/closes.txt" <<'EOF'
import os, sys, time, hashlib
d, n, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000
for i in range(n):
    p = f"{d}/f{i:04d}.txt"
    data = os.urandom(200 + i % 3000)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.close(fd)
    t = time.time_ns()
    print(p, t, hashlib.sha256(data).hexdigest())
    time.sleep(gap)
EOF

# wait (bounded) until every file's final bytes are on the server
for _ in $(seq 300); do
	have=$(sqlite3 -readonly "file:$W/srv/index.db?mode=ro" \
		"SELECT count(DISTINCT path) FROM versions WHERE CAST(path AS TEXT) LIKE '$W/data/f%'" 2>/dev/null || echo 0)
	[ "$have" -ge "$N" ] && break
	sleep 0.1
done
sleep 1

python3 - "$W/srv/index.db" "$W/closes.txt" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
lat, missing = [], 0
for line in open(sys.argv[2]):
    p, t, sha = line.split()
    row = db.execute("SELECT min(recv_ns) FROM versions WHERE path=CAST(? AS BLOB) AND hex(sha256)=upper(?)",
                     (p, sha)).fetchone()
    if row[0] is None:
        missing += 1
        continue
    lat.append(max(0, row[0] - int(t)) / 1e6)
lat.sort()
if not lat:
    print("no file arrived"); sys.exit(1)
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print(f"latency close->durable version: n={len(lat)} missing={missing} "
      f"median={q(0.5):.1f} ms p95={q(0.95):.1f} ms max={lat[-1]:.1f} ms")
EOF
