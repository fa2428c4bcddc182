#!/bin/bash
# bench/delta_bench.sh — the librsync fallback (no range set) on a big
# file, beside rsync, in one run.  A SIZE_MB (default 1024) random file is
# shipped once by `vigild once` and copied once to an rsync daemon on
# 127.0.0.1; then ROUNDS (default 2) times a 4 KiB random pwrite in the
# file goes up by
#   - `vigild once`: wall = time to durable (it exits after PUT_DONE),
#     device CPU = its user+sys, server CPU from /proc/PID/stat;
#   - `vigild run --tracker fanotify` (started once, idle): wall from the
#     edit's close to the version in `vigil log`, CPU of both from /proc;
#   - `rsync --no-whole-file --inplace` to the daemon: wall, client CPU,
#     daemon CPU (its reaped children).
# PERF=1 also records `perf record -g` of the first `vigild once` and of
# the server meanwhile (reports in $W/perf-*.txt).  Prints one line per
# measure and the load average.  W=DIR keeps the work directory.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
. "$ROOT/bench/lib.sh"
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-2}
W=${W:-$(mktemp -d /var/tmp/vigil-delta.XXXXXX)}
mkdir -p "$W"
SPID= VPID= RPID=
cleanup() {
	set +e
	stop_pid "$VPID"
	stop_pid "$SPID"
	stop_pid "$RPID"
	[ "${KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { proc_ticks "$1"; }
secs() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }
now() { date +%s.%N; }
line() { printf '%-34s wall %6.2f s  device CPU %5.2f s  server CPU %5.2f s  %s\n' "$@"; }

# W from an earlier run (KEEP=1) is reused as it is: no new server or file
REUSE=0
[ -e "$W/srv/config" ] && REUSE=1
if [ "$REUSE" = 0 ]; then
	P=$(port)
	"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$P" >/dev/null
else
	P=$(awk '$1 == "listen" { sub(/.*:/, "", $2); print $2 }' "$W/srv/config")
fi
"$BIN/vigil-server" run "$W/srv" >>"$W/server.log" 2>&1 &
SPID=$!
wait_port "$P" 10
if [ "$REUSE" = 0 ]; then
	"$BIN/vigil-server" enroll "$W/srv" --controller admin --out "$W/ctl.bundle" >/dev/null
	"$BIN/vigil-server" enroll "$W/srv" --device phone --out "$W/phone.bundle" >/dev/null
fi
export VIGIL_BUNDLE=$W/ctl.bundle
mkdir -p "$W/data" "$W/rsdst"
F=$W/data/big.bin
[ "$REUSE" = 1 ] || head -c "${SIZE_MB}M" /dev/urandom >"$F"

RP=$(port)
cat >"$W/rsyncd.conf" <<EOF
use chroot = no
uid = root
gid = root
[dst]
path = $W/rsdst
read only = no
EOF
rsync --daemon --no-detach --config="$W/rsyncd.conf" --port="$RP" --address=127.0.0.1 \
	--log-file="$W/rsyncd.log" &
RPID=$!
wait_port "$RP" 10
RSYNC_URL=rsync://127.0.0.1:$RP/dst/

once() {
	"$BIN/vigild" once --bundle "$W/phone.bundle" --state "$W/state" --watch "$W/data" \
		>>"$W/vigild.log" 2>&1
}
versions() { "$BIN/vigil" log "phone:$F" --json 2>/dev/null | jq length; }
edit() {
	dd if=/dev/urandom of="$F" bs=4096 count=1 conv=notrunc status=none \
		seek=$(( (RANDOM * 32768 + RANDOM) % (SIZE_MB * 256) ))
}

[ "$REUSE" = 1 ] || { t0=$(now); once; echo "first vigild once: $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"; }
[ -e "$W/rsdst/big.bin" ] || { t0=$(now); rsync -a --inplace "$F" "$RSYNC_URL"; echo "first rsync: $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"; }
sync

for r in $(seq "$ROUNDS"); do
	edit
	s0=$(ticks "$SPID")
	if [ "${PERF:-0}" = 1 ] && [ "$r" = 1 ]; then
		perf record -q -g -p "$SPID" -o "$W/perf-server.data" 2>/dev/null &
		PP=$!
		sleep 0.5
		/usr/bin/time -f '%e %U %S' -o "$W/t" perf record -q -g -o "$W/perf-once.data" -- \
			"$BIN/vigild" once --bundle "$W/phone.bundle" --state "$W/state" \
			--watch "$W/data" >>"$W/vigild.log" 2>&1
		kill -INT "$PP"; wait "$PP" 2>/dev/null || true
		perf report -i "$W/perf-once.data" --stdio --no-children 2>/dev/null |
			grep -v '^$' | grep '%' | head -40 >"$W/perf-once.txt"
		perf report -i "$W/perf-server.data" --stdio --no-children 2>/dev/null |
			grep -v '^$' | grep '%' | head -40 >"$W/perf-server.txt"
		echo "(perf: $W/perf-once.txt, $W/perf-server.txt; times under perf)"
	else
		/usr/bin/time -f '%e %U %S' -o "$W/t" "$BIN/vigild" once --bundle "$W/phone.bundle" \
			--state "$W/state" --watch "$W/data" >>"$W/vigild.log" 2>&1
	fi
	s1=$(ticks "$SPID")
	read -r wall u s <"$W/t"
	st=$(jq -c '.counters | {bytes_sent, shipped_delta, shipped_whole, bytes_read}' "$W/state/status.json")
	line "vigild once (round $r)" "$wall" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')" \
		"$(secs $((s1 - s0)))" "$st"
	r0=$(ticks "$RPID")
	/usr/bin/time -f '%e %U %S' -o "$W/t" rsync --no-whole-file --inplace "$F" "$RSYNC_URL"
	r1=$(ticks "$RPID")
	read -r wall u s <"$W/t"
	line "rsync (round $r)" "$wall" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')" \
		"$(secs $((r1 - r0)))" ""
done

"$BIN/vigild" run --bundle "$W/phone.bundle" --state "$W/state" --watch "$W/data" \
	--tracker fanotify >>"$W/vigild.log" 2>&1 &
VPID=$!
sleep 3
for r in $(seq "$ROUNDS"); do
	n=$(versions)
	v0=$(ticks "$VPID"); s0=$(ticks "$SPID")
	t0=$(now)
	edit
	while [ "$(versions)" -le "$n" ]; do sleep 0.02; done
	t1=$(now)
	v1=$(ticks "$VPID"); s1=$(ticks "$SPID")
	line "fanotify edit to version (round $r)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
		"$(secs $((v1 - v0)))" "$(secs $((s1 - s0)))" "(CPU includes the log polls)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc)"
