#!/bin/bash
# bench/sim_bench.sh — how long a change on the SIM takes to be safe on the
# server, on loopback with the fake EG25-G (tests/integration/helpers/
# fakemodem.py): ROUNDS (default 20) phonebook edits on the SIM, each timed
# from the edit to the new version of sim/phonebook.vcf committed in the
# server's index (synchronous=FULL: durable), with vigil-simfs polling every
# POLL seconds (default 2); then SIM swaps, timed to `vigil status` showing
# the new ICCID (these come through the modem's unsolicited codes, no poll).
# The alternative a user would otherwise set up, a cron job exporting the
# phonebook over AT and rsyncing it, is timed for one run here; its
# latency is that plus half its interval (cron's finest is 60 s).
# Appends to bench/results-sim.txt.  Needs root (FUSE, BPF).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
HELP=$ROOT/tests/integration/helpers
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-20}
POLL=${POLL:-2}
W=$(mktemp -d /tmp/vigil-simb.XXXXXX)
PIDS=""
cleanup() {
	[ -n "${MNT:-}" ] && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; }
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.3
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT INT TERM

PORT=$(( (RANDOM % 20000) + 10000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >"$W/server.log" 2>&1 &
PIDS="$PIDS $!"
"$BIN/vigil-server" enroll "$W/srv" --controller bench --out "$W/ctl.bundle" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --device phone --out "$W/phone.bundle" >/dev/null
export VIGIL_BUNDLE=$W/ctl.bundle
mkdir -p "$W/home/phone" "$W/backing"
MNT=$W/home/phone
mkfifo "$W/modem.ctl"
"$PY" "$HELP/fakemodem.py" --link "$W/ttyFAKE" --control "$W/modem.ctl" >"$W/modem.log" 2>&1 &
PIDS="$PIDS $!"
exec 9<>"$W/modem.ctl"   # held open: the fake never sees EOF between commands
for _ in $(seq 50); do [ -e "$W/ttyFAKE" ] && break; sleep 0.1; done
"$BIN/vigild" run --bundle "$W/phone.bundle" --state "$W/state" --watch "$W/home" \
	>"$W/vigild.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -S "$W/state/simfs.sock" ] && break; sleep 0.1; done
"$BIN/vigil-simfs" --modem "$W/ttyFAKE" --backing "$W/backing" --state "$W/state" \
	--poll "$POLL" "$MNT" -f >"$W/simfs.log" 2>&1 &
PIDS="$PIDS $!"
PB=$MNT/sim/phonebook.vcf
versions() {
	sqlite3 -readonly "file:$W/srv/index.db?mode=ro" \
		"SELECT count(*) FROM versions WHERE CAST(path AS TEXT) = '$PB'" 2>/dev/null || echo 0
}
for _ in $(seq 300); do [ "$(versions)" -ge 1 ] && break; sleep 0.1; done
[ "$(versions)" -ge 1 ] || { echo "sim_bench: the phonebook never reached the server" >&2; exit 1; }

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
: >"$W/pb.ms"
for i in $(seq "$ROUNDS"); do
	n=$(versions)
	sleep "0.$((RANDOM % 10))"   # edits land anywhere in the poll interval
	t=$(date +%s%N)
	echo "pb-set 40 145 +86139000$((10000 + i)) Bench $i" >&9
	for _ in $(seq 600); do [ "$(versions)" -gt "$n" ] && break; sleep 0.02; done
	[ "$(versions)" -gt "$n" ] || { echo "sim_bench: edit $i never arrived" >&2; exit 1; }
	ms "$t" >>"$W/pb.ms"
done
: >"$W/swap.ms"
for i in 1 2 3 4 5; do
	iccid=8986009999000000$((1000 + i))
	t=$(date +%s%N)
	echo "swap $iccid 46000999900$((1000 + i))" >&9
	for _ in $(seq 500); do
		"$BIN/vigil" status phone --json 2>/dev/null | grep -q "$iccid" && break
		sleep 0.02
	done
	ms "$t" >>"$W/swap.ms"
done

# the alternative: export the phonebook over AT, then rsync it (one run)
"$PY" - "$W/ttyFAKE" "$W/export.vcf" >/dev/null 2>&1 <<'PYEOF' &
import os, sys, termios, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
a = termios.tcgetattr(fd); a[3] = 0; termios.tcsetattr(fd, termios.TCSANOW, a)
def cmd(c):
    os.write(fd, (c + '\r').encode()); out = b''
    while not (out.endswith(b'OK\r\n') or b'ERROR' in out):
        out += os.read(fd, 4096)
    return out.decode(errors='replace')
cmd('ATE0'); cmd('AT+CSCS="UCS2"'); cmd('AT+CPBS="SM"')
with open(sys.argv[2], 'w') as f:
    f.write(cmd('AT+CPBR=1,250'))
PYEOF
t=$(date +%s%N)
wait $! || true
mkdir -p "$W/rsync-dest"
rsync -a "$W/export.vcf" "$W/rsync-dest/"
alt=$(ms "$t")

stats() {   # FILE -> "median p95 max" in ms
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)]; printf "%d %d %d", m, p, v[NR] }'
}
read -r pm pp px <<<"$(stats "$W/pb.ms")"
read -r sm sp sx <<<"$(stats "$W/swap.ms")"
{
	echo "== SIM changes to the server on loopback, $(date -u +%Y-%m-%dT%H:%M:%SZ), $ROUNDS edits, poll ${POLL} s, $(nproc) CPUs"
	printf '%-44s %8s %8s %8s\n' "what (until durable on the server)" median p95 max
	printf '%-44s %6s ms %6s ms %6s ms\n' "phonebook edit on the SIM (vigil-simfs)" "$pm" "$pp" "$px"
	printf '%-44s %6s ms %6s ms %6s ms\n' "SIM swap to vigil status (URC-driven)" "$sm" "$sp" "$sx"
	printf '%-44s %6s ms (+ 30000 ms: half a 60 s cron interval)\n' \
		"AT export + rsync, one run (the cron way)" "$alt"
	awk -v a="$alt" -v v="$pm" 'BEGIN { if (v > 0) printf "ratio: the cron way takes %.0fx longer on average\n", (a + 30000) / v }'
} | tee -a "$ROOT/bench/results-sim.txt"
