#!/bin/bash
# bench/command_bench.sh — how fast a lost-device command takes effect, on
# loopback: `vigil freeze --wait` and `vigil thaw --wait` (signed, queued,
# pushed on the device's command link, checked, confirmed by the kernel,
# reported) for ROUNDS rounds (default 50) on a real cgroup v2 with a
# process in it; then the time from `vigil erase --wait` to the final
# report with an empty queue (a 1,000-file root).  Prints median and p95
# and appends them to bench/results-commands.txt.  Needs root.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
ROUNDS=${ROUNDS:-50}
W=$(mktemp -d /tmp/vigil-cmdb.XXXXXX)
CG=/sys/fs/cgroup/unified/vigil-bench$$
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	if [ -d "$CG" ]; then
		echo 0 >"$CG/cgroup.freeze" 2>/dev/null || true
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		sleep 0.2
		rmdir "$CG" 2>/dev/null || true
	fi
	sleep 0.3
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT INT TERM

PORT=$(( (RANDOM % 20000) + 30000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >"$W/server.log" 2>&1 &
PIDS="$PIDS $!"
"$BIN/vigil-server" enroll "$W/srv" --controller bench --out "$W/ctl.bundle" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --device phone --out "$W/phone.bundle" >/dev/null
export VIGIL_BUNDLE=$W/ctl.bundle
mkdir -p "$W/data" "$CG"
for i in $(seq 1000); do echo "file $i" >"$W/data/f$i"; done
sh -c 'echo $$ >"$1/cgroup.procs"; while :; do sleep 0.01; done' app "$CG" &
PIDS="$PIDS $!"
"$BIN/vigild" run --bundle "$W/phone.bundle" --state "$W/state" --watch "$W/data" \
	--freeze-cgroup "$CG" >"$W/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
for _ in $(seq 100); do grep -q "command link up" "$W/vigild.log" && break; sleep 0.1; done
# measured on an idle device: every file on the server, the queue empty
for _ in $(seq 600); do
	n=$(sqlite3 -readonly "file:$W/srv/index.db?mode=ro" \
		"SELECT count(*) FROM versions WHERE CAST(path AS TEXT) LIKE '$W/data/f%'" 2>/dev/null || echo 0)
	[ "$n" -ge 1000 ] && break
	sleep 0.1
done

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
: >"$W/freeze.ms"
: >"$W/thaw.ms"
for _ in $(seq "$ROUNDS"); do
	t=$(date +%s%N)
	"$BIN/vigil" freeze phone --wait 10 >/dev/null || { echo "freeze failed" >&2; exit 1; }
	ms "$t" >>"$W/freeze.ms"
	grep -q '^frozen 1' "$CG/cgroup.events" || { echo "not frozen" >&2; exit 1; }
	t=$(date +%s%N)
	"$BIN/vigil" thaw phone --wait 10 >/dev/null || { echo "thaw failed" >&2; exit 1; }
	ms "$t" >>"$W/thaw.ms"
done
stats() {   # FILE -> "median p95 max" in ms
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)]; printf "%d %d %d", m, p, v[NR] }'
}
read -r fm fp fx <<<"$(stats "$W/freeze.ms")"
read -r tm tp tx <<<"$(stats "$W/thaw.ms")"

t=$(date +%s%N)
"$BIN/vigil" erase phone --yes --wait 120 >/dev/null || { echo "erase failed" >&2; exit 1; }
em=$(ms "$t")

{
	echo "== command latency on loopback, $(date -u +%Y-%m-%dT%H:%M:%SZ), $ROUNDS rounds, $(nproc) CPUs"
	printf '%-34s %8s %8s %8s\n' "command (until the device's report)" median p95 max
	printf '%-34s %6s ms %6s ms %6s ms\n' "vigil freeze --wait (cgroup v2)" "$fm" "$fp" "$fx"
	printf '%-34s %6s ms %6s ms %6s ms\n' "vigil thaw --wait" "$tm" "$tp" "$tx"
	printf '%-34s %6s ms\n' "vigil erase --wait (1,000 files)" "$em"
	echo "target: freeze confirmed in < 1000 ms"
} | tee -a "$ROOT/bench/results-commands.txt"
