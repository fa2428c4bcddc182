#!/usr/bin/env bash
# read_bench.sh — cold reads of one large file, vigil beside restic, in one
# run: `vigil get`, `dd` through `vigil mount`, `restic restore` and `dd`
# through `restic mount`.  "Cold": sync and drop_caches before every read, so
# the server's packs, restic's repository and the mount's page cache all come
# from disk.  Prints MiB/s, the reader's CPU seconds (user+sys), the
# server's CPU seconds (vigil only: restic has no server) and the load
# average before each read.
#
# Standalone: its own server, device, restic repository and data in a temp
# dir, all removed at the end.
# Usage: bench/read_bench.sh [SIZE_MIB (256)] [ROUNDS (3)]
# PERF=DIR: first an unreported profiling pass, `perf record -g` of the
# server and of the reader (get; the mount process) during a cold read, into
# DIR/{server-get,get,server-mount,mount}.data.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
SIZE_MIB=${1:-256}
ROUNDS=${2:-3}
W=$(mktemp -d /tmp/vigil-rbench.XXXXXX)
PIDS=""
MOUNTS=""
. "$ROOT/bench/lib.sh"

cleanup() {
	set +e
	for m in $MOUNTS; do fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null; done
	for p in $PIDS; do stop_pid "$p"; done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

loadavg() { cut -d' ' -f1 /proc/loadavg; }

mkdir -p "$W/bin"
cp "$BIN/vigil" "$BIN/vigil-server" "$BIN/vigild" "$W/bin/"
BIN=$W/bin
PORT=$(( (RANDOM % 20000) + 30000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >>"$W/server.log" 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_port "$PORT" 10 || { echo "server did not listen" >&2; exit 1; }
"$BIN/vigil-server" enroll "$W/srv" --controller bench --out "$W/ctl.bundle" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --device phone --out "$W/dev.bundle" >/dev/null
export VIGIL_BUNDLE=$W/ctl.bundle

D=$W/data
mkdir -p "$D"
head -c "${SIZE_MIB}M" /dev/urandom >"$D/large"
"$BIN/vigild" once --bundle "$W/dev.bundle" --state "$W/state" --watch "$D" >/dev/null 2>&1
BYTES=$((SIZE_MIB * 1048576))
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic
HAVE_RESTIC=0
if command -v restic >/dev/null; then
	restic init -q >/dev/null && restic backup -q "$D" >/dev/null && HAVE_RESTIC=1
fi
# the server's sha256 of the version is filled in the background: wait for it
for i in $(seq 600); do
	"$BIN/vigil" log "phone:$D/large" --json 2>/dev/null | grep -q '"sha256": *"[0-9a-f]' && break
	sleep 0.2
done

# perf_start NAME PID: perf record -g of PID into $PERF/NAME.data
perf_start() {
	perf record -g -o "$PERF/$1.data" -p "$2" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.5
}
perf_stop() { kill -INT "$PERF_PID" 2>/dev/null; wait "$PERF_PID" 2>/dev/null || true; }

# the profiling pass: server and reader, one cold get and one cold mount read
profile() {
	mkdir -p "$PERF"
	drop_caches
	perf_start server-get "$SPID"
	perf record -g -o "$PERF/get.data" -- "$BIN/vigil" get "phone:$D/large" -o "$W/got" \
		>/dev/null 2>&1
	perf_stop; rm -f "$W/got"
	"$BIN/vigil" mount phone "$M" -f 2>>"$W/mount.log" &
	MPID=$!; PIDS="$PIDS $MPID"; MOUNTS="$M"
	wait_mounted "$M"
	drop_caches
	perf_start server-mount "$SPID"; SPERF=$PERF_PID
	perf_start mount "$MPID"
	dd if="$M$D/large" of=/dev/null bs=1M 2>/dev/null
	perf_stop; PERF_PID=$SPERF; perf_stop
	fusermount3 -u "$M"; wait "$MPID" || true; MOUNTS=""
	echo "profiles in $PERF: perf report -i $PERF/NAME.data --stdio --no-children"
}

# row NAME: reads M_WALL, M_CPU (reader), SRV (server ticks) and LOAD
row() {
	printf '%-22s %5s MiB/s  %6.2f s  reader CPU %5.2f s  server CPU %5s s  load %s\n' \
		"$1" "$(mibs $BYTES "$M_WALL")" "$M_WALL" "$M_CPU" "$SRV" "$LOAD"
}

# timed_cmd CMD...: M_WALL, M_CPU of CMD; SRV: server CPU meanwhile
timed_cmd() {
	local t0 t1 cu cs
	t0=$(proc_ticks "$SPID")
	/usr/bin/time -f '%e %U %S' -o "$W/time.out" "$@" >/dev/null 2>"$W/cmd.err" ||
		{ echo "failed: $*" >&2; cat "$W/cmd.err" >&2; exit 1; }
	t1=$(proc_ticks "$SPID")
	read -r M_WALL cu cs <"$W/time.out"
	M_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
	SRV=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d / hz }')
}

# mount_cpu PID: user+sys seconds of a running process
mount_cpu() { awk -v t="$(proc_ticks "$1")" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

M=$W/mnt R=$W/rmnt
mkdir -p "$M" "$R"
[ -z "${PERF:-}" ] || profile
for round in $(seq "$ROUNDS"); do
	echo "== round $round (${SIZE_MIB} MiB, cold)"
	rm -f "$W/got"
	drop_caches; LOAD=$(loadavg)
	timed_cmd "$BIN/vigil" get "phone:$D/large" -o "$W/got"
	cmp -s "$W/got" "$D/large" || { echo "vigil get: content differs" >&2; exit 1; }
	row "vigil get"; rm -f "$W/got"

	"$BIN/vigil" mount phone "$M" -f 2>>"$W/mount.log" &
	MPID=$!; PIDS="$PIDS $MPID"; MOUNTS="$M"
	wait_mounted "$M"
	drop_caches; LOAD=$(loadavg)
	c0=$(mount_cpu "$MPID")
	timed_cmd dd if="$M$D/large" of=/dev/null bs=1M
	c1=$(mount_cpu "$MPID")
	M_CPU=$(awk -v a="$c0" -v b="$c1" -v d="$M_CPU" 'BEGIN { printf "%.2f", b - a + d }')
	row "vigil mount + dd"
	fusermount3 -u "$M"; wait "$MPID" || true; MOUNTS=""

	[ "$HAVE_RESTIC" = 1 ] || continue
	rm -rf "$W/rr"
	drop_caches; LOAD=$(loadavg); SRV=-
	/usr/bin/time -f '%e %U %S' -o "$W/time.out" restic restore -q latest --target "$W/rr" \
		--include "$D/large" >/dev/null 2>&1
	read -r M_WALL cu cs <"$W/time.out"; M_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
	row "restic restore"; rm -rf "$W/rr"

	restic mount "$R" >>"$W/restic.log" 2>&1 &
	RPID=$!; PIDS="$PIDS $RPID"; MOUNTS="$R"
	for i in $(seq 100); do [ -d "$R/snapshots/latest" ] && break; sleep 0.2; done
	drop_caches; LOAD=$(loadavg); SRV=-
	c0=$(mount_cpu "$RPID")
	/usr/bin/time -f '%e %U %S' -o "$W/time.out" dd if="$R/snapshots/latest$D/large" of=/dev/null bs=1M 2>/dev/null
	c1=$(mount_cpu "$RPID")
	read -r M_WALL cu cs <"$W/time.out"
	M_CPU=$(awk -v a="$c0" -v b="$c1" -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", b - a + u + s }')
	row "restic mount + dd"
	fusermount3 -u "$R"; stop_pid "$RPID" || true; MOUNTS=""
done
