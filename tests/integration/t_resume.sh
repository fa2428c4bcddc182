#!/bin/bash
# t_resume.sh — DELTA and RANGES uploads resume after a cut connection
# (issue 10, section 3).  vigild run --tracker bpf reaches the server
# through tests/soak/proxy.py in its "cuts" mode, which cuts every
# connection once it has carried CUT_KB (1 MiB) toward the server.  Two 16 MiB files are shipped
# calm; then one gets 6 in-place writes of 1 MiB (a RANGES body of
# 6 MiB), the other is rewritten with a byte changed every 8 KiB (truncated
# and written again: its ranges say nothing, it ships as a DELTA of ~4 MiB).
# Each body needs several connections: without resuming, every attempt
# starts over and none gets through.  Checked: both new versions are
# stored whole (`vigil get` equals the file, `vigil log`'s sha256 is the
# file's), they went as delta and ranges, and vigild's bytes_resent (body
# bytes a cut attempt had already sent) is at most what can be in flight
# when a connection is cut: one stream's window (MUX_WINDOW, 512 KiB) per
# cut.  An upload that starts over re-sends a whole connection's worth
# (1 MiB) per cut, and never gets through at all here.
. "$(dirname "$0")/lib.sh"

CUT_KB=${CUT_KB:-1024}
SIZE_MB=${SIZE_MB:-16}   # of each file (docs/reliability.md's figures: 32)
WAIT_S=${WAIT_S:-90}     # for each edit to be stored
WINDOW_KB=512   # common/mux.h MUX_WINDOW
[ "$(id -u)" = 0 ] || { echo "skip: needs root for bpf"; exit 0; }

# the server hashes a ranges version once its content rests (10 min by
# default, docs/index.md): here at once, so stored() can compare sha256s
VIGIL_TEST_SHAFILL_QUIET_MS=0 server_start
enroll_pair phone1
PPORT=$(free_port)
echo calm >"$T/proxy.mode"
/usr/bin/python3 "$ROOT/tests/soak/proxy.py" --listen "$PPORT" --to "$PORT" \
	--cut $((CUT_KB * 1024)) --mode "$T/proxy.mode" --stats "$T/proxy.json" &
PIDS="$PIDS $!"
wait_for 10 "proxy listening" sh -c "ss -ltn 'sport = :$PPORT' | grep -q ':$PPORT'"

D=$T/data
mkdir -p "$D"
FD=$D/delta.bin
FR=$D/ranges.bin
VIGIL_DEBUG=1 "$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
	--watch "$D" --tracker bpf --server "127.0.0.1:$PPORT" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"

counter() { vigild_counter "$T/state-phone1" "$1"; }
# files written while the tracker watches: their ranges are known from
# their first version on (a file vigild met by its first scan is not)
wait_for 60 "the bpf tracker" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state-phone1' --json | jq -r .tracker)\" = bpf ]"
sleep 1
head -c "${SIZE_MB}M" /dev/urandom >"$FD"
head -c "${SIZE_MB}M" /dev/urandom >"$FR"
server_sha() { vigil log "phone1:$1" --json 2>/dev/null | jq -r '.[-1].sha256'; }
# the latest version has the file's sha256 (computed by the server for ranges)
stored() { [ "$(server_sha "$1")" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }
cuts() { jq .cuts "$T/proxy.json"; }
# phase figures since mark: cuts, body bytes sent and re-sent by vigild
mark() { c0=$(cuts); s0=$(counter bytes_sent); r0=$(counter bytes_resent); }
figures() {
	echo "cuts $(( $(cuts) - c0 )), sent $(( $(counter bytes_sent) - s0 )), re-sent $(( $(counter bytes_resent) - r0 ))"
}
# wait_stored FILE WHAT: the edit stored within WAIT_S, or fail with the figures
wait_stored() {
	local until=$((SECONDS + WAIT_S))
	while [ "$SECONDS" -lt "$until" ]; do
		stored "$1" && { vigild_settled "$T/state-phone1"; note "$2 stored: $(figures)"; return 0; }
		sleep 0.5
	done
	fail "$2 not stored in $WAIT_S s: $(figures)"
}

# An edit is whole when vigild looks at it: vigild stands still (SIGSTOP)
# while it is made; the tracker's records wait in the kernel.  A capture in
# the middle of an edit (a slow writer on a loaded machine) started an
# upload that the next capture, of another kind, abandoned: its staged
# body then stayed on the server (collected only after UPLOAD_EXPIRE_S).
edit_begin() { kill -STOP "$VPID"; }
edit_end() { kill -CONT "$VPID"; }

both_stored() { stored "$FD" && stored "$FR"; }
wait_for 120 "first versions" both_stored
# a first small edit, calm, leaves the file's chunk list and a fresh,
# complete set of ranges behind (a file written while it shipped may have
# neither)
dd if=/dev/urandom of="$FR" bs=4096 seek=100 count=1 conv=notrunc status=none
wait_for 60 "the first edit stored" stored "$FR"
vigild_settled "$T/state-phone1"
[ "$(counter errors)" = 0 ] || fail "errors before the edits"
echo cuts >"$T/proxy.mode"
rall=$(counter bytes_resent)
sall=$(counter bytes_sent)

if [ "${SKIP_RANGES:-0}" = 0 ]; then   # (to measure the delta alone)
note "ranges: 6 writes of 1 MiB into $FR"
# A full rescan can overtake the writes' ranges (io_uring activity anywhere
# on the machine asks every bpf tracker for one, docs/tracker.md; so does a
# lost event): the scan's entry ships the file by delta, which is right.
# Then the writes are made again, up to 3 times.
for try in 1 2 3; do
	g0=$(counter shipped_ranges)
	s0=$(counter rescans)
	mark
	edit_begin
	/usr/bin/python3 - "$FR" "$SIZE_MB" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for i in range(6):   # the tracker itemises up to 8 ranges per file at once
    os.pwrite(fd, os.urandom(1 << 20), i * (int(sys.argv[2]) << 20) // 7 + 1000)
os.close(fd)
PY
	edit_end
	wait_stored "$FR" ranges
	[ "$(counter shipped_ranges)" -gt "$g0" ] && break
	[ "$(counter rescans)" != "$s0" ] || fail "not shipped as ranges"
	[ "$try" -lt 3 ] || fail "ranges: a rescan came between 3 times"
	note "ranges: a rescan came between, it shipped by delta: again"
done
fi

note "delta: a byte changed every 8 KiB of $FD"
d0=$(counter shipped_delta)
mark
edit_begin
/usr/bin/python3 - "$FD" <<'PY'
import sys
with open(sys.argv[1], "rb") as f:
    data = bytearray(f.read())
for off in range(4096, len(data), 8192):
    data[off] ^= 0x5a
with open(sys.argv[1], "wb") as f:   # truncated and rewritten: not itemised
    for i in range(0, len(data), 1 << 20):
        f.write(data[i:i + (1 << 20)])
PY
edit_end
wait_stored "$FD" delta
[ "$(counter shipped_delta)" -gt "$d0" ] || fail "not shipped as a delta"

same_file phone1 "$FD" "$FD"
same_file phone1 "$FR" "$FR"
# stored versions leave no upload state behind (staged bodies included)
left=$(find "$T/srv/store/uploads" -type f 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left upload state file(s) left after the versions were stored"
resent=$(( $(counter bytes_resent) - rall ))
sent=$(( $(counter bytes_sent) - sall ))
c=$(cuts)
note "through $c cuts: vigild sent $sent body bytes, re-sent $resent"
[ "$c" -ge 8 ] || fail "only $c cuts: the bodies did not need several connections"
[ "$resent" -le $((c * WINDOW_KB * 1024)) ] ||
	fail "re-sent $resent bytes through $c cuts: more than one window per cut"
[ "$(counter errors)" = 0 ] || { tail -20 "$T/vigild.log"; fail "$(counter errors) PUT(s) failed"; }
echo "t_resume: ok (cuts $c, sent $sent, re-sent $resent)"
