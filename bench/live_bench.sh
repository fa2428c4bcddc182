#!/bin/bash
# bench/live_bench.sh — a live device: `vigild run --tracker bpf` and a
# vigil-server on loopback while files are written.  Rows:
#  1. a file that never stays still: random 4 KiB pwrites into a 64 MiB
#     watched file at RATES MiB/s (0: flat out with 7 writer threads) for
#     SECS seconds; versions made meanwhile (the server's capture times),
#     the longest and the median gap between them (the gaps at the start and
#     the end of the writing count), and how many were "unstable" copies;
#  2. the writer's slowdown: N random 4 KiB pwrites into a 64 MiB watched
#     file, with vigild + server vs without (vigild stopped), REPS pairs
#     interleaved, the file fsynced before each run; median wall and spread
#     of each side, the ratio of the medians and the median of the pairs'
#     ratios, the writer's CPU and vigild's and the server's CPU seconds
#     meanwhile, the versions captured while it wrote and made by its
#     writes, and every pair on its own line with the load;
#  3. the backlog as a controller sees it: 8 × 64 MiB files and 300 small
#     ones written at once; the device's queue read from its state.db every
#     20 ms, and `vigil status` (the server's last report, with the device's
#     instant of it) asked in a loop: how long the device had already left
#     the figure the server gave (0 while it still held it);
#  4. vigild's peak RSS (VmHWM) over rows 1-3, and in a first backup of
#     SMALL (20,000) files × 4 KiB, `vigild once` and `vigild run`;
#  5. vigild while nothing it watches changes: its context switches (by
#     thread name) and CPU
#     over 10 s idle, then during PATHOPS (20,000) mkdir+rmdir pairs by
#     absolute path outside the watched root (the path records of the rest
#     of the machine, which vigild resolves to find they are not its
#     business), 500 pairs every 0.1 s (below the ring's capacity).
# The load average is printed with each row: the machine is shared.
# Usage: bench/live_bench.sh  (env: BIN RATES SECS N REPS SMALL PATHOPS ROWS="1 2 3 4 5"
# PERF=DIR: perf record -g of vigild during each row-1 writer and row 5's
# path operations, and for row 2
# one more run (not counted) with perf record of vigild and the server and
# perf stat (context switches, CPU clock per thread), into DIR;
# needs root, make all, sqlite3, python3, jq).  Appends to bench/results-live.txt.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
RATES=${RATES:-8 32 100 0}
SECS=${SECS:-20}
N=${N:-200000}
REPS=${REPS:-7}
SMALL=${SMALL:-20000}
PATHOPS=${PATHOPS:-20000}
ROWS=${ROWS:-1 2 3 4 5}
RESULTS=${RESULTS:-$ROOT/bench/results-live.txt}
. "$ROOT/bench/lib.sh"
W=$(mktemp -d /tmp/vigil-live.XXXXXX)
SPID="" VPID=""
# lib.sh's stop_pid ends with a kill that fails once the process is gone
stop() { stop_pid "$1" || true; }
cleanup() {
	stop "$VPID"
	stop "$SPID"
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$ROOT/build/bench" "$W/data"
cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$ROOT/build/bench/live_writer" \
	"$ROOT/bench/live_writer.c" -lpthread
WR=$ROOT/build/bench/live_writer
out() { echo "$*" | tee -a "$RESULTS"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }
peak_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
PEAK=0
note_peak() { local k; k=$(peak_kb "$VPID"); [ "$k" -gt "$PEAK" ] && PEAK=$k; return 0; }

PORT=$(( (RANDOM % 20000) + 30000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >"$W/server.log" 2>&1 &
SPID=$!
wait_port "$PORT" 10 || { echo "server did not start"; exit 1; }
for d in live once run; do
	"$BIN/vigil-server" enroll "$W/srv" --device "$d" --out "$W/$d.bundle" >/dev/null
done
"$BIN/vigil-server" enroll "$W/srv" --controller ctl --out "$W/ctl.bundle" >/dev/null
export VIGIL_BUNDLE=$W/ctl.bundle

idx() { sqlite3 -readonly "file:$W/srv/index.db?mode=ro" "$1" 2>/dev/null || echo 0; }
dev_queue() { "$BIN/vigild" status --state "$W/state" --json 2>/dev/null | jq -r '.queue.files // 0'; }
dev_ctr() { "$BIN/vigild" status --state "$W/state" --json 2>/dev/null | jq -r ".counters.$1 // 0"; }
dev_trk() { "$BIN/vigild" status --state "$W/state" --json 2>/dev/null | jq -r ".tracker_counters.$1 // 0"; }
# the bpf tracker's losses: ring records dropped (each answered by a rescan)
# and rescans, summed over vigild's restarts (its counters start at 0)
DROPS=0 RESCANS=0
note_trk() {
	DROPS=$((DROPS + $(dev_ctr drops))); RESCANS=$((RESCANS + $(dev_ctr rescans)))
}
# vigild's start (libbpf parsing the kernel's BTF) has a peak of its own:
# noted in START_PEAK, then VmHWM is reset so PEAK is the working peak
START_PEAK=0 STARTS=0
vigild_start() {
	local k
	STARTS=$((STARTS + 1))
	"$BIN/vigild" run --bundle "$W/live.bundle" --state "$W/state" --watch "$W/data" \
		--tracker bpf >>"$W/vigild.log" 2>&1 &
	VPID=$!
	for _ in $(seq 300); do
		[ "$("$BIN/vigild" status --state "$W/state" --json 2>/dev/null |
			jq -r '.running and .connected')" = true ] &&
			[ "$(grep -c watching "$W/vigild.log")" -ge "$STARTS" ] && break
		sleep 0.1
	done
	k=$(peak_kb "$VPID")
	[ "$k" -gt "$START_PEAK" ] && START_PEAK=$k
	echo 5 >"/proc/$VPID/clear_refs" 2>/dev/null || true
}
vigild_stop() { [ -z "$VPID" ] || note_trk; stop "$VPID"; VPID=""; }
# until the device's queue is empty (bounded)
drain() { for _ in $(seq $((${1:-60} * 5))); do [ "$(dev_queue)" = 0 ] && return 0; sleep 0.2; done; }
# until a version of $1 with size $2 is on the server
shipped() {
	for _ in $(seq 600); do
		[ "$(idx "SELECT count(*) FROM versions WHERE CAST(path AS TEXT)='$1' AND size=$2")" -gt 0 ] && return 0
		sleep 0.1
	done
	return 1
}

head -c $((64 << 20)) /dev/urandom >"$W/base.bin"
vigild_start
out "# live_bench $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) BIN=$BIN"

row_continuous() {
	local rate=$1 th=1 f t0 t1 u0 u1 c0 c1 s0 s1 res
	[ "$rate" = 0 ] && th=7
	f=$W/data/cont-$rate.bin
	cp "$W/base.bin" "$f"
	shipped "$f" $((64 << 20)) || { out "continuous $rate: first version never arrived"; return; }
	drain 60
	sleep 1.5
	u0=$(dev_ctr unstable); c0=$(proc_ticks "$VPID"); s0=$(proc_ticks "$SPID")
	local perfpid=""
	if [ -n "${PERF:-}" ]; then   # PERF=DIR: a profile of vigild while it is written
		perf record -q -g -o "$PERF/vigild-$rate.data" -p "$VPID" -- sleep "$SECS" \
			>/dev/null 2>&1 &
		perfpid=$!
	fi
	res=$("$WR" rate "$f" "$rate" "$SECS" "$th")
	c1=$(proc_ticks "$VPID"); s1=$(proc_ticks "$SPID")
	[ -z "$perfpid" ] || wait "$perfpid" || true
	sleep 3
	drain 60
	u1=$(dev_ctr unstable)
	note_peak
	set -- $res
	t0=$4 t1=$6
	idx "SELECT capture_ns FROM versions WHERE CAST(path AS TEXT)='$f' AND capture_ns>$t0
	     ORDER BY capture_ns" >"$W/caps"
	python3 - "$t0" "$t1" "$W/caps" "$rate" "$th" "$2" "$((u1 - u0))" \
		"$(cpu_s $((c1 - c0)))" "$(cpu_s $((s1 - s0)))" "$(load)" <<'EOF' | tee -a "$RESULTS"
import sys
t0, t1 = int(sys.argv[1]), int(sys.argv[2])
caps = [int(x) for x in open(sys.argv[3]).read().split()]
during = [c for c in caps if c <= t1]
pts = [t0] + during + ([t1] if not during or during[-1] < t1 else [])
gaps = sorted((b - a) / 1e9 for a, b in zip(pts, pts[1:]))
inner = sorted((b - a) / 1e9 for a, b in zip(during, during[1:]))
med = inner[len(inner) // 2] if inner else float('nan')
rate = "flat out" if sys.argv[4] == "0" else sys.argv[4] + " MiB/s"
mib = int(sys.argv[6]) / 1048576 / ((t1 - t0) / 1e9)
print(f"continuous {rate} ({sys.argv[5]} writer(s), {mib:.0f} MiB/s written): "
      f"{len(during)} versions in {(t1 - t0) / 1e9:.1f} s, max gap {max(gaps):.2f} s, "
      f"median {med:.2f} s, unstable {sys.argv[7]}; vigild {sys.argv[8]} s CPU, "
      f"server {sys.argv[9]} s CPU; load {sys.argv[10]}")
EOF
	rm -f "$f"
	drain 30
}

# One timed writer run of row 2 on $1 (the file is fsynced first, so every
# run starts with no dirty pages of its own): "wall cpu t0_ns t1_ns".
e2e_run() {
	local r t0 t1
	sync "$1"
	t0=$(date +%s%N)
	r=$("$WR" count "$1" "$N")
	t1=$(date +%s%N)
	echo "$(echo "$r" | awk '{ print $2, $4 }') $t0 $t1"
}
# versions of $1 on the server with a capture time in [$2, $3] (ns)
versions_in() {
	idx "SELECT count(*) FROM versions WHERE CAST(path AS TEXT)='$1' AND capture_ns>=$2 AND capture_ns<=$3"
}
versions_of() { idx "SELECT count(*) FROM versions WHERE CAST(path AS TEXT)='$1'"; }

# PERF=DIR: one more run with vigild, not counted, under perf record (vigild
# and the server, call graphs) and perf stat (context switches, CPU clock),
# both stopped as the writer ends: what vigild and the server do meanwhile.
e2e_profile() {
	local f=$1 p1 p2 p3
	drain 60
	sleep 1
	perf record -q --call-graph dwarf,16384 -F 999 -o "$PERF/e2e-vigild.data" -p "$VPID" \
		>/dev/null 2>&1 & p1=$!
	perf record -q --call-graph dwarf,16384 -F 999 -o "$PERF/e2e-server.data" -p "$SPID" \
		>/dev/null 2>&1 & p2=$!
	perf stat -e context-switches,cpu-clock -p "$VPID,$SPID" --per-thread \
		-o "$PERF/e2e-stat.txt" >/dev/null 2>&1 & p3=$!
	sleep 1
	e2e_run "$f" >"$PERF/e2e-run.txt"
	kill -INT "$p1" "$p2" "$p3" 2>/dev/null || true
	wait "$p1" "$p2" "$p3" 2>/dev/null || true
	out "row 2 profiled run (not counted): $(cat "$PERF/e2e-run.txt"); perf data in $PERF"
}

row_e2e() {
	local f=$W/data/e2e.bin i r c0 c1 s0 s1 v0 v1 rows=""
	cp "$W/base.bin" "$f"
	shipped "$f" $((64 << 20)) || true
	drain 60
	# interleaved: without, then with, REPS times; each pair's ratio too
	for i in $(seq "$REPS"); do
		vigild_stop
		sleep 1   # as long as the run with vigild waits after its drain
		r=$(e2e_run "$f")
		vigild_start
		drain 60
		sleep 1
		set -- $r
		rows="$rows$1 $2"
		v0=$(versions_of "$f")
		c0=$(proc_ticks "$VPID"); s0=$(proc_ticks "$SPID")
		r=$(e2e_run "$f")
		c1=$(proc_ticks "$VPID"); s1=$(proc_ticks "$SPID")
		note_peak
		set -- $r
		drain 60
		v1=$(versions_of "$f")
		# versions captured while it wrote; versions its writes made in all
		rows="$rows $1 $2 $(cpu_s $((c1 - c0))) $(cpu_s $((s1 - s0))) $(versions_in "$f" "$3" "$4") $((v1 - v0)) $(load | cut -d' ' -f1)
"
	done
	[ -z "${PERF:-}" ] || e2e_profile "$f"
	printf '%s' "$rows" | python3 -c '
import sys
n = sys.argv[1]
rows = [[float(x) for x in l.split()] for l in sys.stdin if l.strip()]
def col(i): return [r[i] for r in rows]
def med(v): v = sorted(v); k = len(v); return (v[k // 2] + v[(k - 1) // 2]) / 2
def spr(v): return f"{min(v):.2f}-{max(v):.2f}"
wn, cn, wd, cd, vd, sd = col(0), col(1), col(2), col(3), col(4), col(5)
pairs = [d / w for w, d in zip(wn, wd)]
print(f"writer {n} x 4 KiB pwrite, {len(rows)} interleaved pairs: without vigild {med(wn):.3f} s "
      f"(spread {spr(wn)}), with vigild+server {med(wd):.3f} s (spread {spr(wd)}): ratio of medians "
      f"{med(wd) / med(wn):.3f}, median pair ratio {med(pairs):.3f} (pairs {spr(pairs)}); writer CPU "
      f"{med(cn):.2f} / {med(cd):.2f} s ({med(cd) / med(cn):.3f}); meanwhile vigild CPU {med(vd):.2f} s "
      f"(spread {spr(vd)}), server {med(sd):.2f} s (spread {spr(sd)}); versions captured while "
      f"writing {med(col(6)):.0f} (spread {min(col(6)):.0f}-{max(col(6)):.0f}), made by each run "
      f"{med(col(7)):.0f}; load {spr(col(8))}")
for i, r in enumerate(rows):
    print(f"  pair {i + 1}: without {r[0]:.3f} s (CPU {r[1]:.2f}), with {r[2]:.3f} s (CPU {r[3]:.2f}; "
          f"vigild {r[4]:.2f}, server {r[5]:.2f}; versions {r[6]:.0f} while, {r[7]:.0f} made); load {r[8]:.2f}")
' "$N" | tee -a "$RESULTS"
	rm -f "$f"
	drain 30
}

# the device's queue as it changes: state.db read every 20 ms (cheap, no
# process per sample), each change with its time
dev_sampler() {
	exec /usr/bin/python3 - "$W/state/state.db" "$1" <<'EOF2'
import sqlite3, sys, time
out, db, last = open(sys.argv[2], "w", buffering=1), None, None
while True:
    try:
        db = db or sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
        t0 = time.time()
        n = db.execute("SELECT count(*) FROM queue").fetchone()[0]
        t = (t0 + time.time()) / 2
        if n != last:
            out.write(f"{t:.4f} {n}\n")
            last = n
    except sqlite3.Error:
        db = None
    time.sleep(0.02)
EOF2
}

row_backlog() {
	local i
	dev_sampler "$W/devq" &
	local devs=$!
	( while :; do
		# the call's start, the server's figure and its instant, the call's end
		echo "$(date +%s.%N) $("$BIN/vigil" status live --json 2>/dev/null |
			jq -r '"\(.backlog.files // -1) \(.backlog.at // "-") \(.backlog.received // "-")"') $(date +%s.%N)"
		sleep 0.1
	done ) >"$W/samples" &
	local sampler=$!
	sleep 1
	local cps=""
	for i in $(seq 8); do cp "$W/base.bin" "$W/data/big$i.bin" & cps="$cps $!"; done
	mkdir -p "$W/data/small"
	for i in $(seq 300); do head -c 4096 /dev/urandom >"$W/data/small/s$i"; done
	for i in $cps; do wait "$i" || true; done
	drain 120
	sleep 2
	kill "$sampler" "$devs" 2>/dev/null; wait "$sampler" "$devs" 2>/dev/null || true
	note_peak
	python3 - "$W/devq" "$W/samples" "$(load)" <<'EOF2' | tee -a "$RESULTS"
import bisect, calendar, sys, time
dev = [(float(t), int(n)) for t, n in (l.split() for l in open(sys.argv[1]))]
dt = [d[0] for d in dev]
def iso(s):   # 2026-12-07T12:00:00.123456789Z (vigil's times) -> seconds
    if s == "-":
        return None
    base, _, frac = s.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))
def at_dev(t):
    i = bisect.bisect_right(dt, t) - 1
    return dev[i][1] if i >= 0 else 0
# The lag of the server's figure v, asked at a: how long the device had
# already left v by then (0 while it is at v).  With the report's instant
# `at` (MUX 5): the device held v at `at`; it left v at the first change of
# the 20 ms series after that (at `at` itself if the series shows another
# value just after), and the answer was made at the earliest at
# max(a, received) (and at the latest at the call's end, which adds the
# call's own time, mostly its TLS handshake).  Without it (older builds): the last stretch of the
# series at v before a; a value held for less than 20 ms is missed, and the
# search then finds an older stretch (an overstatement).
def lag_exact(a, v, at, rcv, t=None):
    t = max(a, rcv) if t is None else t
    if at_dev(t) == v:
        return 0.0
    c, i = at, bisect.bisect_right(dt, at + 0.025)
    if at_dev(at + 0.025) == v:
        c = next((dev[j][0] for j in range(i, len(dev)) if dev[j][1] != v), t)
    return max(0.0, t - c)
def lag_series(a, v):
    if at_dev(a) == v:
        return 0.0
    i = bisect.bisect_right(dt, a) - 1
    for j in range(i - 1, -1, -1):
        if dev[j][1] == v:
            return max(0.0, a - dev[j + 1][0])
    return None
rows = []
for l in open(sys.argv[2]):
    p = l.split()
    if len(p) == 5 and p[1].lstrip("-").isdigit() and p[1] != "-1":
        rows.append((float(p[0]), int(p[1]), iso(p[2]), iso(p[3]), float(p[4])))
med = lambda xs: xs[len(xs) // 2] if xs else 0
def summary(lags):
    known = sorted(x for x in lags if x is not None)
    return (f"at most {known[-1] if known else 0:.2f} s (median {med(known):.2f} s, "
            f"{sum(x > 1 for x in known)} over 1 s, {len(lags) - len(known)} never matched)")
calls = sorted(r[4] - r[0] for r in rows)
peak = max((d[1] for d in dev), default=0)
exact = all(r[2] is not None and r[3] is not None for r in rows)
transit = sorted({(r[2], r[3]) for r in rows if exact}, key=lambda x: x[1] - x[0])
transit = [b - a for a, b in transit]
print(f"backlog: device queue peaked at {peak} files ({len(dev)} changes, read every 20 ms); "
      f"in {len(rows)} `vigil status` samples (each call {med(calls):.2f} s median, "
      f"{calls[-1] if calls else 0:.2f} s at most) the server's figure lagged the device by "
      + (f"{summary([lag_exact(*r[:4]) for r in rows])} by the report's instant, "
         f"{summary([lag_exact(*r) for r in rows])} if judged at the call's end (a report "
         f"reached the server {med(transit):.2f} s after it, {transit[-1] if transit else 0:.2f} s "
         f"at most), " if exact else "")
      + f"{summary([lag_series(*r[:2]) for r in rows])} by the 20 ms series alone; load {sys.argv[3]}")
EOF2
	rm -rf "$W/data/small" "$W/data"/big*.bin
	drain 30
}

row_small() {
	local rss c0 c1 t0 k=0
	mkdir -p "$W/small"
	python3 - "$W/small" "$SMALL" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = f"{d}/d{i // 500:03d}"
    if i % 500 == 0:
        os.makedirs(sub, exist_ok=True)
    with open(f"{sub}/f{i:05d}", "wb") as f:
        f.write(os.urandom(4096))
EOF
	/usr/bin/time -f '%e %U %S %M' -o "$W/once.time" "$BIN/vigild" once --bundle "$W/once.bundle" \
		--state "$W/state-once" --watch "$W/small" --tracker scan >>"$W/once.log" 2>&1 || true
	read -r t0 c0 c1 rss <"$W/once.time"
	out "first backup $SMALL x 4 KiB, vigild once: ${t0} s wall, $(awk -v a="$c0" -v b="$c1" 'BEGIN { print a + b }') s CPU, peak RSS $((rss / 1024)) MiB; load $(load)"
	t0=$(date +%s.%N)
	"$BIN/vigild" run --bundle "$W/run.bundle" --state "$W/state-run" --watch "$W/small" \
		--tracker bpf >>"$W/run.log" 2>&1 &
	local rpid=$! spk=0
	for _ in $(seq 300); do   # started (tracker loaded): its own peak, then reset
		grep -q 'watching' "$W/run.log" 2>/dev/null && break
		sleep 0.1
	done
	spk=$(peak_kb "$rpid")
	echo 5 >"/proc/$rpid/clear_refs" 2>/dev/null || true
	for _ in $(seq 3000); do
		k=$("$BIN/vigild" status --state "$W/state-run" --json 2>/dev/null |
			jq -r 'if .counters.shipped >= '"$SMALL"' and .queue.files == 0 then 1 else 0 end')
		[ "$k" = 1 ] && break
		sleep 0.2
	done
	rss=$(peak_kb "$rpid")
	c1=$(proc_ticks "$rpid")
	out "first backup $SMALL x 4 KiB, vigild run: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s wall, $(cpu_s "$c1") s CPU, peak RSS $((rss / 1024)) MiB working, $((spk / 1024)) MiB at start; load $(load)"
	stop "$rpid"
	rm -rf "$W/small"
}

# context switches of every thread of $1 so far
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'; }
row_quiet() {
	local d=$W/outside/a/b/c c0 c1 w0 w1 p0 p1 h0 h1 r0 r1
	drain 60
	sleep 2
	c0=$(proc_ticks "$VPID")
	w0=$(python3 - "$VPID" <<'PY'
import glob, sys, time
def snap():
    n = {}
    for t in glob.glob(f"/proc/{sys.argv[1]}/task/*"):
        try:
            comm = open(t + "/comm").read().strip()
            cs = sum(int(l.split()[1]) for l in open(t + "/status") if "ctxt_switches" in l)
        except OSError:
            continue
        n[comm] = n.get(comm, 0) + cs
    return n
a = snap(); time.sleep(10); b = snap()
d = {c: b[c] - a.get(c, 0) for c in b}
print(sum(d.values()), "(" + ", ".join(f"{c} {d[c]}" for c in sorted(d)) + ")")
PY
)
	c1=$(proc_ticks "$VPID")
	out "vigild idle 10 s: $w0 context switches, $(cpu_s $((c1 - c0))) s CPU; load $(load)"
	mkdir -p "$d"
	p0=$(dev_trk path_ops); h0=$(dev_trk dir_cache_hits); r0=$(dev_trk dir_resolves)
	w0=$(ctxsw "$VPID"); c0=$(proc_ticks "$VPID")
	local perfpid=""
	if [ -n "${PERF:-}" ]; then   # PERF=DIR: vigild while it reads the path records
		perf record -q -g -o "$PERF/pathops-vigild.data" -p "$VPID" >/dev/null 2>&1 &
		perfpid=$!
	fi
	python3 - "$d" "$PATHOPS" <<'PY'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    p = f"{d}/x{i % 100}"
    os.mkdir(p)
    os.rmdir(p)
    if i % 500 == 499:
        time.sleep(0.1)
PY
	sleep 1.5    # the last records' tick, then status.json
	w1=$(ctxsw "$VPID"); c1=$(proc_ticks "$VPID")
	[ -z "$perfpid" ] || { kill -INT "$perfpid"; wait "$perfpid" || true; }
	p1=$(dev_trk path_ops); h1=$(dev_trk dir_cache_hits); r1=$(dev_trk dir_resolves)
	out "$PATHOPS mkdir+rmdir outside the root: vigild $(cpu_s $((c1 - c0))) s CPU, $((w1 - w0)) context switches; path records $((p1 - p0)), directory cache hits $((h1 - h0)), realpath calls $((r1 - r0)) (0 0: a build without the cache); drops $(dev_ctr drops); load $(load)"
	rm -rf "$W/outside"
}

for r in $ROWS; do
	case $r in
	1) for rate in $RATES; do row_continuous "$rate"; done ;;
	2) row_e2e ;;
	3) row_backlog ;;
	4) note_peak
	   out "vigild peak RSS over rows 1-3: $((PEAK / 1024)) MiB ($PEAK kB) working, $((START_PEAK / 1024)) MiB at start; now $(awk '/^VmRSS|^RssAnon|^RssFile/ { printf "%s %d MiB ", $1, $2 / 1024 }' "/proc/$VPID/status")"
	   row_small ;;
	5) row_quiet ;;
	esac
done
note_trk
out "bpf tracker over the rows: ring records dropped $DROPS, rescans $RESCANS (a drop is answered by a rescan)"
