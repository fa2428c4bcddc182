#!/bin/bash
# bench/daemon_scale.sh — vigild's memory and state with many files (issue
# 13, "a daemon a phone does not notice": RSS <= 16 MiB with 100,000 files
# under the watched roots, after the first backup).  A server on loopback,
# FILES (100000) files of SIZE (4096) random bytes under one watched root
# (DIRS (100) directories), `vigild run --tracker bpf`; prints the first
# backup's wall and vigild's CPU (user+sys of all its threads, the BPF
# loader child included), VmRSS and VmHWM after it (and again SETTLE (40) s
# later: the steady state, once the extra shipping connections have closed,
# 30 s after their last work), the state dir's size (du and apparent, per
# file), the state db's rows and pages, and the /proc/PID/smaps breakdown:
# heap, other anonymous (second malloc arenas, thread stacks), BPF maps,
# the state db's -shm, each library.  BENCH_SCALE_SMAPS=FILE keeps a copy of
# the smaps; BENCH_SCALE_TRACE=FILE a line "secs VmRSS-KiB" every second.
# Usage: FILES=100000 VIGIL_BIN=build/bin bash bench/daemon_scale.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${VIGIL_BIN:-$ROOT/build/bin}" && pwd)
FILES=${FILES:-100000}
SIZE=${SIZE:-4096}
DIRS=${DIRS:-100}
SETTLE=${SETTLE:-40}
. "$ROOT/bench/lib.sh"
W=$(mktemp -d /tmp/daemon_scale.XXXXXX)
PIDS="" MOUNTS=""
trap bench_cleanup EXIT INT TERM
bench_own_bin
PORT=$((20000 + RANDOM % 20000))

vstat() { "$BIN/vigild" status --state "$W/st" --json 2>/dev/null; }
# status.json first: `vigild status` opening state.db while vigild is still
# creating it made vigild's start fail ("database is locked")
tracker_up() { [ -e "$W/st/status.json" ] && [ "$(vstat | jq -r '.tracker // empty')" = bpf ]; }
# the first backup is done when every file was shipped (or adopted) and
# nothing is queued
backed_up() {
	local s
	s=$(vstat) || return 1
	[ "$(jq -r '(.counters.shipped // 0) + (.counters.adopted // 0)' <<<"$s")" -ge "$FILES" ] &&
		[ "$(jq -r '.queue.files // -1' <<<"$s")" = 0 ]
}
# CPU seconds of vigild's threads and its reaped children (the BPF loader)
cpu() { awk -v hz="$CLK_TCK" -v t="$(proc_ticks "$1")" 'BEGIN { printf "%.2f", t / hz }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "daemon_scale: $FILES files of $SIZE bytes in $DIRS directories, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &&
	"$BIN/vigil-server" enroll "$W/srv" --device dev --out "$W/dev.bundle" >/dev/null 2>&1 ||
	{ echo "daemon_scale: server init failed" >&2; exit 1; }
"$BIN/vigil-server" run "$W/srv" >"$W/srv.log" 2>&1 &
PIDS="$PIDS $!"
bench_wait 20 ss -ltnH "sport = :$PORT"

# the tree: one random block, each file a different slice of it (distinct
# contents, so the server stores every one)
head -c $((SIZE + FILES)) /dev/urandom >"$W/rand"
python3 - "$W/watch" "$W/rand" "$FILES" "$SIZE" "$DIRS" <<'EOF'
import os, sys
root, rand, n, size, dirs = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
data = open(rand, "rb").read()
for d in range(dirs):
    os.makedirs(f"{root}/d{d:03d}", exist_ok=True)
for i in range(n):
    with open(f"{root}/d{i % dirs:03d}/f{i:06d}", "wb") as f:
        f.write(data[i:i + size])
EOF

t0=$(now)
"$BIN/vigild" run --bundle "$W/dev.bundle" --state "$W/st" --watch "$W/watch" \
	--server "127.0.0.1:$PORT" --tracker bpf >"$W/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
if [ -n "${BENCH_SCALE_TRACE:-}" ]; then
	(while [ -r "/proc/$VPID/status" ]; do
		echo "$(secs "$t0" "$(now)") $(proc_status "$VPID" VmRSS)"
		sleep 1
	done) >"$BENCH_SCALE_TRACE" 2>/dev/null &
	PIDS="$PIDS $!"
fi
bench_wait 120 tracker_up
echo "tracker up:          VmRSS $(proc_status $VPID VmRSS) KiB, VmHWM $(proc_status $VPID VmHWM) KiB"
bench_wait 3600 backed_up
t1=$(now)
echo "first backup:        $(secs "$t0" "$t1") s wall, vigild CPU $(cpu $VPID) s"
echo "after it:            VmRSS $(proc_status $VPID VmRSS) KiB, VmHWM $(proc_status $VPID VmHWM) KiB"
sleep "$SETTLE"
RSS=$(proc_status $VPID VmRSS) HWM=$(proc_status $VPID VmHWM)
echo "${SETTLE} s later:         VmRSS $RSS KiB ($(mib "$RSS") MiB), VmHWM $HWM KiB ($(mib "$HWM") MiB), RssAnon $(proc_status $VPID RssAnon) KiB, RssFile $(proc_status $VPID RssFile) KiB, threads $(proc_status $VPID Threads)"
echo "counters: $(vstat | jq -c '.counters | {shipped, adopted, shipped_whole, rescans, events, drops, errors}')"

du_k=$(du -sk "$W/st" | cut -f1)
app=$(du -sb --apparent-size "$W/st" | cut -f1)
echo "state dir:           du $du_k KiB, apparent $app bytes ($(awk -v b="$app" -v n="$FILES" 'BEGIN { printf "%.0f", b / n }') bytes per file)"
(cd "$W/st" && ls -l --block-size=1 -d state.db* chunks tmp 2>/dev/null | awk '{ printf "  %-16s %12s\n", $9, $5 }')
if command -v sqlite3 >/dev/null; then
	echo "state db: rows shipped $(sqlite3 "$W/st/state.db" 'SELECT count(*) FROM shipped'), queue $(sqlite3 "$W/st/state.db" 'SELECT count(*) FROM queue'); pages by table (dbstat, 4 KiB each):"
	sqlite3 "$W/st/state.db" "SELECT name, count(*), sum(payload), sum(unused) FROM dbstat GROUP BY name ORDER BY 2 DESC" 2>/dev/null |
		awk -F'|' '{ printf "  %-16s %7d pages, payload %10d, unused %10d\n", $1, $2, $3, $4 }'
fi

[ -n "${BENCH_SCALE_SMAPS:-}" ] && cp "/proc/$VPID/smaps" "$BENCH_SCALE_SMAPS"
echo "smaps (KiB):   Rss  Private_Dirty  mapping"
awk '
/^[0-9a-f]+-[0-9a-f]+ / {
	n = $6
	if (n == "") n = "other anonymous (arenas, stacks)"
	else if (n == "[heap]") n = "heap"
	else if (n ~ /bpf-map/) n = "BPF maps"
	else sub(/.*\//, "", n)
	next
}
/^Rss:/ { rss[n] += $2; t += $2 }
/^Private_Dirty:/ { pd[n] += $2 }
END { for (k in rss) if (rss[k] > 0) printf "  %8d %8d  %s\n", rss[k], pd[k], k; printf "  %8d %8s  total\n", t, "" }
' "/proc/$VPID/smaps" | sort -n -r
stop_pid "$VPID"
