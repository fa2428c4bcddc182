#!/usr/bin/env bash
# crypt_bench.sh — what encryption at rest costs (docs/store-format.md,
# "Encryption at rest"): the same first backup (`vigild once` of a random
# file and a compressible text file) and the same reads back (`vigil get`,
# and `cat` through `vigil mount`, first read after mounting) on a plain
# store and on an `init --encrypt` one (key file), alternating, ROUNDS times
# each.  Reports wall seconds and the server's CPU seconds (utime+stime from
# /proc, the machine may be loaded: CPU is the figure to compare), MiB/s,
# and the encrypted/plain ratio of the medians; appends the table to
# bench/results-crypt.txt.
#
# Standalone: servers, device data and mounts in a temp dir, all removed.
# Usage: bench/crypt_bench.sh [SIZE_MIB (256)] [ROUNDS (3)]
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
SIZE_MIB=${1:-256}
ROUNDS=${2:-3}
RESULTS=${RESULTS:-$ROOT/bench/results-crypt.txt}
W=$(mktemp -d /tmp/vigil-cbench.XXXXXX)
PIDS=""
MOUNTS=""
. "$ROOT/bench/lib.sh"

trap bench_cleanup EXIT INT TERM

cpu_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

bench_own_bin
head -c 32 /dev/urandom >"$W/store.key"

D=$W/data
mkdir -p "$D"
head -c "${SIZE_MIB}M" /dev/urandom >"$D/large"
yes "Meeting notes, 2026-12-07: the quarterly report, call +86 138-0013-8000 before noon." |
	head -c "$((SIZE_MIB / 4))M" >"$D/text.txt"
BYTES=$(( SIZE_MIB * 1048576 + SIZE_MIB / 4 * 1048576 ))
LBYTES=$(( SIZE_MIB * 1048576 ))

# one_round MODE (plain|enc): a fresh server; prints
# "MODE ingest_wall ingest_srvcpu get_wall get_srvcpu mount_wall mount_srvcpu".
# It runs in a $(...) subshell, whose PIDS the main shell's cleanup never
# sees: its own EXIT trap ends what it started, whatever way it leaves.
one_round() {
	local mode=$1 S=$W/srv-$1 port t0 t1 c0 c1 iw ic gw gc mw mc extra=""
	SPID="" MPID=""
	trap 'fusermount3 -uz "$W/mnt" 2>/dev/null; kill $SPID $MPID 2>/dev/null' EXIT
	rm -rf "$S" "$W/state" "$W/got" "$W/ctl-$mode.bundle" "$W/dev-$mode.bundle"
	port=$(( (RANDOM % 20000) + 30000 ))
	[ "$mode" = enc ] && extra="--encrypt --key-file $W/store.key"
	# shellcheck disable=SC2086
	"$BIN/vigil-server" init "$S" --listen "127.0.0.1:$port" $extra >/dev/null
	VIGIL_KEY_FILE=$W/store.key "$BIN/vigil-server" run "$S" >>"$W/server.log" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait_port "$port" 20 || { echo "server did not start" >&2; exit 1; }
	"$BIN/vigil-server" enroll "$S" --controller bench --out "$W/ctl-$mode.bundle" >/dev/null
	"$BIN/vigil-server" enroll "$S" --device phone --out "$W/dev-$mode.bundle" >/dev/null
	export VIGIL_BUNDLE=$W/ctl-$mode.bundle

	c0=$(proc_ticks "$SPID"); t0=$(now)
	"$BIN/vigild" once --bundle "$W/dev-$mode.bundle" --state "$W/state" --watch "$D" >>"$W/vigild.log" 2>&1
	t1=$(now); c1=$(proc_ticks "$SPID")
	iw=$(secs "$t0" "$t1"); ic=$(cpu_s $((c1 - c0)))

	c0=$(proc_ticks "$SPID"); t0=$(now)
	"$BIN/vigil" get "phone:$D/large" -o "$W/got"
	t1=$(now); c1=$(proc_ticks "$SPID")
	gw=$(secs "$t0" "$t1"); gc=$(cpu_s $((c1 - c0)))
	cmp -s "$W/got" "$D/large" || { echo "get differs ($mode)" >&2; exit 1; }
	rm -f "$W/got"

	mw=- mc=-
	if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
		M=$W/mnt
		mkdir -p "$M"
		MOUNTS="$M"
		"$BIN/vigil" mount phone "$M" -f 2>>"$W/mount.log" &
		MPID=$!
		PIDS="$PIDS $MPID"
		wait_mounted "$M"
		c0=$(proc_ticks "$SPID"); t0=$(now)
		cat "$M$D/large" >/dev/null
		t1=$(now); c1=$(proc_ticks "$SPID")
		mw=$(secs "$t0" "$t1"); mc=$(cpu_s $((c1 - c0)))
		fusermount3 -u "$M"; wait "$MPID" || true
	fi
	kill "$SPID"; wait "$SPID" || true
	echo "$mode $iw $ic $gw $gc $mw $mc"
}

echo "== encryption at rest: ${SIZE_MIB} MiB random + $((SIZE_MIB / 4)) MiB text, $ROUNDS rounds each," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$W/rounds"
for r in $(seq "$ROUNDS"); do
	for mode in plain enc; do
		line=$(one_round "$mode") || { echo "round $r ($mode) failed" >&2; exit 1; }
		echo "   round $r: $line"
		echo "$line" >>"$W/rounds"
	done
done

# median of column C for MODE
med() {
	awk -v m="$1" -v c="$2" '$1 == m && $c != "-" { print $c }' "$W/rounds" | sort -n |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else print a[int((NR + 1) / 2)] }'
}
rat() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a <= 0) print "-"; else printf "%.2f", b / a }'; }
{
	echo "== crypt_bench $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)" \
		"${SIZE_MIB} MiB, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-22s %10s %10s %8s\n' "median" plain encrypted "enc/plain"
	for row in "ingest wall s:2" "ingest server CPU s:3" "get wall s:4" "get server CPU s:5" \
		   "mount read wall s:6" "mount server CPU s:7"; do
		name=${row%:*} c=${row##*:}
		a=$(med plain "$c"); b=$(med enc "$c")
		printf '%-22s %10s %10s %8s\n' "$name" "$a" "$b" "$(rat "$a" "$b")"
	done
	a=$(med plain 2); b=$(med enc 2)
	printf '%-22s %10s %10s\n' "ingest MiB/s" "$(mibs $BYTES "$a")" "$(mibs $BYTES "$b")"
	a=$(med plain 6); b=$(med enc 6)
	printf '%-22s %10s %10s\n' "mount read MiB/s" "$(mibs $LBYTES "$a")" "$(mibs $LBYTES "$b")"
} | tee -a "$RESULTS"
