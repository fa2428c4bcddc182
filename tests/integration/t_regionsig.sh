# t_regionsig.sh — the librsync fallback without signatures on the device
# (issue 11): a 64 MiB file's first upload keeps no signature (no
# STATE/sigs; an old state directory's is removed at start); a 4 KiB edit
# then ships as one DELTA sending a few KiB, for which vigild fetched the
# signatures of the changed region only (sig_bytes_received a small
# fraction of the file); 4 KiB inserted near the start (the rest moved)
# still ships a small delta, and so does 20 MiB deleted in the middle (the
# cursor resyncs past the deletion: the rest is COPY, not 28 MiB of
# literals); after a lost state the chunk list comes from the server
# (MSG_DEV_CHUNKS) and the edit still goes by delta.  `vigil get` returns
# the file's bytes each time.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
mkdir -p "$D" "$S/sigs"
F=$D/big.bin
SIZE=$((64 << 20))
head -c $SIZE /dev/urandom >"$F"
echo "an old vigild's cached signature" >"$S/sigs/0123"

counter() { vigild_counter "$S" "$1"; }
# check_delta WHAT [MAXSENT]: one DELTA, no WHOLE, little sent and fetched
check_delta() {
	sent=$(counter bytes_sent)
	sig=$(counter sig_bytes_received)
	note "$1: bytes_sent $sent, sig_bytes_received $sig"
	same_file phone1 "$F" "$F"
	[ "$(counter shipped_delta)" = 1 ] && [ "$(counter shipped_whole)" = 0 ] ||
		{ tail -20 "$T/vigild.log"; fail "$1: not one delta"; }
	[ "$sent" -lt "${2:-65536}" ] || fail "$1: sent $sent bytes"
	[ "$sig" -gt 0 ] || fail "$1: no region signature fetched"
	[ "$sig" -lt $((SIZE / 100)) ] || fail "$1: fetched $sig bytes of signatures"
	[ "$(counter errors)" = 0 ] || fail "$1: errors"
}

note "first upload: whole, no signature kept"
vigild_once phone1 "$D"
[ "$(counter shipped_delta)" = 0 ] || fail "first upload by delta"
[ "$(counter sig_bytes_received)" = 0 ] || fail "first upload fetched signatures"
[ ! -e "$S/sigs" ] || fail "STATE/sigs still there: $(ls -la "$S/sigs")"
same_file phone1 "$F" "$F"

note "4 KiB overwrite in the middle"
dd if=/dev/urandom of="$F" bs=4096 seek=$((SIZE / 8192)) count=1 conv=notrunc status=none
vigild_once phone1 "$D"
check_delta "4 KiB edit"

note "4 KiB inserted at offset 1000: everything after it moved"
{ head -c 1000 "$F"; head -c 4096 /dev/urandom; tail -c +1001 "$F"; } >"$T/ins"
cat "$T/ins" >"$F"
rm -f "$T/ins"
vigild_once phone1 "$D"
check_delta "insertion"

note "20 MiB deleted at 16 MiB: the rest is found past the deletion"
{ head -c $((16 << 20)) "$F"; tail -c +$(((36 << 20) + 1)) "$F"; } >"$T/del"
cat "$T/del" >"$F"
rm -f "$T/del"
vigild_once phone1 "$D"
check_delta "20 MiB deletion" $((1 << 20))

note "state lost: the base's chunk list from the server, then a delta"
vigild_once phone1 "$D"   # (nothing changed: adopts nothing, sends nothing)
rm -rf "$S"
dd if=/dev/urandom of="$F" bs=4096 seek=9000 count=1 conv=notrunc status=none
vigild_once phone1 "$D"
check_delta "edit after a lost state"
[ "$(counter bytes_received)" -gt "$(counter sig_bytes_received)" ] ||
	fail "no chunk list fetched"
echo ok
