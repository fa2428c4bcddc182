#!/bin/bash
# bench/vigild_rss.sh — where vigild's resident memory goes in `vigild run
# --tracker bpf` (issue 11: vigild <= 16 MiB): a server on loopback, vigild
# watching a directory with one BENCH_RSS_MIB (256) MiB random file; prints
# VmHWM right after the tracker is up, then after the first upload and
# after a 4 KiB pwrite shipped (as ranges), and at the end the /proc/PID/smaps
# breakdown: Rss and Private_Dirty per library, the BPF maps, the heap and
# other anonymous memory (BENCH_RSS_SMAPS=FILE keeps a copy of the smaps).  Usage: VIGIL_BIN=build/bin bash bench/vigild_rss.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${VIGIL_BIN:-$ROOT/build/bin}" && pwd)
MIB=${BENCH_RSS_MIB:-256}
. "$ROOT/bench/lib.sh"
W=$(mktemp -d /tmp/vigild_rss.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
SPID="" VPID=""
cleanup() {
	[ -n "$VPID" ] && kill "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
vstat() { "$BIN/vigild" status --state "$W/st" --json 2>/dev/null; }
tracker_up() { [ "$(vstat | jq -r '.tracker // empty')" = bpf ]; }
idle() { [ "$(vstat | jq -r '.queue.files // -1')" = 0 ]; }
shipped() { [ "$(vstat | jq -r ".counters.$1 // 0")" -ge "$2" ]; }

"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &&
	"$BIN/vigil-server" enroll "$W/srv" --device dev --out "$W/dev.bundle" >/dev/null 2>&1 ||
	{ echo "vigild_rss: server init failed" >&2; exit 1; }
"$BIN/vigil-server" run "$W/srv" >"$W/srv.log" 2>&1 &
SPID=$!
bench_wait 20 ss -ltnH "sport = :$PORT"
mkdir -p "$W/watch"
head -c $((MIB * 1048576)) /dev/urandom >"$W/watch/big.bin"
"$BIN/vigild" run --bundle "$W/dev.bundle" --state "$W/st" --watch "$W/watch" \
	--server "127.0.0.1:$PORT" --tracker bpf >"$W/vigild.log" 2>&1 &
VPID=$!
bench_wait 60 tracker_up
echo "tracker up:        VmHWM $(proc_status $VPID VmHWM) KiB, VmRSS $(proc_status $VPID VmRSS) KiB"
bench_wait 600 shipped shipped_whole 1
bench_wait 120 idle
echo "first upload done: VmHWM $(proc_status $VPID VmHWM) KiB, VmRSS $(proc_status $VPID VmRSS) KiB"
printf 'x%.0s' $(seq 4096) | dd of="$W/watch/big.bin" bs=4096 seek=1000 conv=notrunc status=none
bench_wait 120 shipped shipped_ranges 1
bench_wait 60 idle
echo "ranges edit done:  VmHWM $(proc_status $VPID VmHWM) KiB, VmRSS $(proc_status $VPID VmRSS) KiB"
echo "counters: $(vstat | jq -c '.counters | {shipped_whole, shipped_ranges, shipped_delta}')"
[ -n "${BENCH_RSS_SMAPS:-}" ] && cp "/proc/$VPID/smaps" "$BENCH_RSS_SMAPS"
echo "smaps now (KiB): Rss / Private_Dirty by mapping"
awk '
/^[0-9a-f]+-[0-9a-f]+ / { n = $6; if (n == "") n = "[anon]"; sub(/.*\//, "", n); next }
/^Rss:/ { rss[n] += $2; t += $2 }
/^Private_Dirty:/ { pd[n] += $2 }
END { for (k in rss) if (rss[k] > 0) printf "  %-32s %6d %6d\n", k, rss[k], pd[k]; printf "  %-32s %6d\n", "total", t }
' "/proc/$VPID/smaps" | sort -k2 -n -r
