#!/usr/bin/env bash
# mount_bench.sh — `vigil mount` side by side with `vigil get`, local `cat`
# and `restic mount` (when installed): sequential read MiB/s of one large file
# (cold: first read after mounting; warm: read again in the same mount,
# i.e. from the kernel's page cache; remount: a new mount, server caches
# warm), `ls -lR` over many small files, and the mount process's peak RSS.
#
# Standalone: its own server, device and data in a temp dir, all removed at
# the end.  Usage: bench/mount_bench.sh [SIZE_MIB (256)] [NFILES (20000)]
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
SIZE_MIB=${1:-256}
NFILES=${2:-20000}
W=$(mktemp -d /tmp/vigil-mbench.XXXXXX)
PIDS=""
MOUNTS=""
. "$ROOT/bench/lib.sh"

trap bench_cleanup EXIT INT TERM

# timed CMD...: prints seconds
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); secs "$t0" "$t1"; }
peak_rss_mib() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

bench_own_bin

PORT=$(( (RANDOM % 20000) + 30000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >>"$W/server.log" 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
for i in $(seq 100); do ss -ltnH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
"$BIN/vigil-server" enroll "$W/srv" --controller bench --out "$W/ctl.bundle" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --device phone --out "$W/dev.bundle" >/dev/null
export VIGIL_BUNDLE=$W/ctl.bundle

D=$W/data
mkdir -p "$D/small"
head -c "${SIZE_MIB}M" /dev/urandom >"$D/large"
python3 - "$D/small" "$NFILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write("file %d\n" % i)
PY
echo "== capturing ${SIZE_MIB} MiB + $NFILES files (vigild once)"
t=$(timed "$BIN/vigild" once --bundle "$W/dev.bundle" --state "$W/state" --watch "$D")
echo "   vigild once: ${t} s"
BYTES=$((SIZE_MIB * 1048576))

echo "== local cat"
drop_caches
t=$(timed cat "$D/large"); echo "   local cat (page cache dropped if allowed): $(mibs $BYTES "$t") MiB/s"
t=$(timed cat "$D/large"); echo "   local cat (warm):                          $(mibs $BYTES "$t") MiB/s"

echo "== vigil get"
t=$(timed "$BIN/vigil" get "phone:$D/large" -o "$W/got"); rm -f "$W/got"
echo "   vigil get -o FILE: $(mibs $BYTES "$t") MiB/s (${t} s)"
GET_MIBS=$(mibs $BYTES "$t")

M=$W/mnt
mkdir -p "$M"
MOUNTS="$M"
mount_fg() {
	"$BIN/vigil" mount phone "$M" -f 2>>"$W/mount.log" &
	MPID=$!
	PIDS="$PIDS $MPID"
	wait_mounted "$M"
}
echo "== vigil mount"
mount_fg
t=$(timed cat "$M$D/large"); COLD=$(mibs $BYTES "$t")
echo "   cat cold (first read):          $COLD MiB/s (${t} s)"
t=$(timed cat "$M$D/large"); echo "   cat warm (kernel page cache):   $(mibs $BYTES "$t") MiB/s"
cmp "$M$D/large" "$D/large" && echo "   content verified"
echo "   peak RSS after reads:           $(peak_rss_mib $MPID) MiB"
fusermount3 -u "$M"; wait "$MPID" || true
mount_fg
t=$(timed cat "$M$D/large"); echo "   cat after remount:              $(mibs $BYTES "$t") MiB/s"
t=$(timed ls -lR "$M$D/small"); echo "   ls -lR $NFILES files (cold):     ${t} s"
t=$(timed ls -lR "$M$D/small"); echo "   ls -lR $NFILES files (warm):     ${t} s"
t=$(timed ls -lR "$M/.history$D/small/d000"); echo "   ls -lR .history of 200 files:   ${t} s"
echo "   peak RSS:                       $(peak_rss_mib $MPID) MiB"
echo "   mount / get:                    $(awk -v a="$COLD" -v b="$GET_MIBS" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
fusermount3 -u "$M"; wait "$MPID" || true

if command -v restic >/dev/null; then
	echo "== restic mount (restic $(restic version | awk '{ print $2 }'))"
	export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic
	restic init -q >/dev/null
	restic backup -q "$D" >/dev/null
	R=$W/rmnt
	mkdir -p "$R"
	restic mount "$R" >>"$W/restic.log" 2>&1 &
	RPID=$!
	PIDS="$PIDS $RPID"
	MOUNTS="$MOUNTS $R"
	for i in $(seq 100); do [ -d "$R/snapshots/latest" ] && break; sleep 0.2; done
	RP=$R/snapshots/latest$D
	t=$(timed cat "$RP/large"); echo "   cat cold:                       $(mibs $BYTES "$t") MiB/s"
	t=$(timed cat "$RP/large"); echo "   cat warm:                       $(mibs $BYTES "$t") MiB/s"
	t=$(timed ls -lR "$RP/small"); echo "   ls -lR $NFILES files:            ${t} s"
	echo "   peak RSS:                       $(peak_rss_mib $RPID) MiB"
	fusermount3 -u "$R" || true
fi
