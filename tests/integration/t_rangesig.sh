# t_rangesig.sh — after a RANGES ship, an edit the tracker did not itemise
# still goes by DELTA: vigild run --tracker bpf ships a 32 MiB file whole,
# then a 4 KiB pwrite and a 5000-byte append by ranges (the chunk list is
# spliced; no signature is kept); vigild stops, the file is edited again
# (4 KiB, which no tracker saw), and `vigild once` ships it as one DELTA
# (counter shipped_delta), no WHOLE, sending under 1 MiB (bytes_sent) and
# fetching the signature of the edited region only (sig_bytes_received
# under 64 KiB); the server's version equals the file, and the server read
# under 8 MiB building it (its /proc rchar: the base's chunks a COPY reuses
# are not read back for a sha256).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root for bpf"; exit 0; }

server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
mkdir -p "$D"
F=$D/big.bin
head -c 32M /dev/urandom >"$F"

VIGIL_DEBUG=1 "$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" \
	--watch "$D" --tracker bpf >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"

versions() { vigil log "phone1:$F" --json 2>/dev/null | jq length; }
has_versions() { [ "$(versions)" -ge "$1" ]; }
counter() { vigild_counter "$S" "$1"; }
kinds() { echo "$(counter shipped_ranges) $(counter shipped_delta) $(counter shipped_whole)"; }
server_same() { same_root && [ "$(versions)" -ge "$WANTV" ]; }
same_root() { rm -f "$T/got"; vigil get "phone1:$F" -o "$T/got" 2>/dev/null && cmp -s "$T/got" "$F"; }

wait_for 60 "initial upload" has_versions 1
vigild_settled "$S"
[ "$("$BIN/vigild" status --state "$S" --json | jq -r .tracker)" = bpf ] || fail "tracker not bpf"

note "4 KiB pwrite, then a 5000-byte append: by ranges"
# A full rescan between (io_uring activity anywhere on the machine asks
# every bpf tracker for one, docs/tracker.md; so does a lost event) ships
# an edit by delta, rightly: then both edits are made again, up to 3 times.
for try in 1 2 3; do
	k0=$(kinds)
	s0=$(counter rescans)
	v=$(versions)
	dd if=/dev/urandom of="$F" bs=4096 seek=$((3000 + try)) count=1 conv=notrunc status=none
	WANTV=$((v + 1)) wait_for 30 "pwrite shipped" server_same
	vigild_settled "$S"
	head -c 5000 /dev/urandom >>"$F"
	WANTV=$((v + 2)) wait_for 30 "append shipped" server_same
	vigild_settled "$S"
	k1=$(kinds)
	set -- $k0
	[ "$k1" = "$(($1 + 2)) $2 $3" ] && break
	[ "$(counter rescans)" != "$s0" ] ||
		{ tail -20 "$T/vigild.log"; fail "edits not by ranges alone: $k0 -> $k1"; }
	[ "$try" -lt 3 ] || fail "a rescan came between the edits 3 times"
	note "a rescan came between, an edit shipped by delta: again"
done

note "vigild stopped; a 4 KiB edit no tracker sees; vigild once"
kill "$VPID"
wait "$VPID" 2>/dev/null || true
dd if=/dev/urandom of="$F" bs=4096 seek=5000 count=1 conv=notrunc status=none
: >"$T/vigild.log"
srchar() { awk '/^rchar/ {print $2}' "/proc/$SERVER_PID/io"; }
s0=$(srchar)
vigild_once phone1 "$D"
s1=$(srchar)
sent=$(counter bytes_sent)
note "once: $(kinds) (ranges delta whole), bytes_sent $sent"
same_file phone1 "$F" "$F"
[ "$(counter shipped_delta)" = 1 ] || { tail -20 "$T/vigild.log"; fail "the edit did not go by delta"; }
[ "$(counter shipped_whole)" = 0 ] || fail "the edit went whole"
[ "$sent" -lt 1048576 ] || fail "sent $sent bytes for a 4 KiB edit of 32 MiB"
sig=$(counter sig_bytes_received)
[ "$sig" -gt 0 ] && [ "$sig" -lt 65536 ] || fail "fetched $sig bytes of signatures"
note "server read $((s1 - s0)) bytes for it"
[ $((s1 - s0)) -lt $((8 << 20)) ] || fail "the server read $((s1 - s0)) bytes to build a 4 KiB delta"
[ "$(counter errors)" = 0 ] || { tail -20 "$T/vigild.log"; fail "a PUT failed"; }

note "and the chunk list kept from that delta serves the next one"
dd if=/dev/urandom of="$F" bs=4096 seek=100 count=1 conv=notrunc status=none
vigild_once phone1 "$D"
same_file phone1 "$F" "$F"
[ "$(counter shipped_delta)" = 1 ] && [ "$(counter shipped_whole)" = 0 ] ||
	fail "second edit after restart not by delta"
echo ok
