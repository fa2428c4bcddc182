#!/bin/bash
# t_firstread.sh — the first upload of a file reads it once and resumes
# after cut connections (issue 11).  A new file goes WHOLE in the same pass
# that hashes it; its sha256 and chunk-tree root follow the body
# (MSG_PUT_TRAILER, docs/protocol.md).  Before, the file was read twice
# (hashed, then read again to send it): bytes_read was twice its size.
# Checked, calm, with `vigild once`: bytes_read and bytes_sent are the
# file's size exactly, and the server's version is the file (get, checked
# by its chunk-tree root).  Its sha256 is pending when `once` returns (the
# server checks the stream by its digest and leaves the sha256 to its
# background worker, as for RANGES: docs/index.md); a server whose worker
# hashes at once (VIGIL_TEST_SHAFILL_QUIET_MS=0) fills in the file's.  Then through tests/soak/proxy.py's "cuts"
# mode (every connection cut once it has carried CUT_KB toward the server)
# a new 16 MiB file needs many connections: its upload token comes from
# the file's state (not from its hash, which the device knows only at the
# end), so each attempt resumes where the server's checkpoint ended: it is
# stored, re-sending at most one stream window (512 KiB) and the chunk the
# cut fell in (the server resumes at its last chunk boundary: under
# CHUNK_MAX, 64 KiB) per cut, and no upload state is left behind.  A
# checkpoint lost at a cut would re-send that connection's 1 MiB on top.
. "$(dirname "$0")/lib.sh"

CUT_KB=${CUT_KB:-1024}
WINDOW_KB=512   # common/mux.h MUX_WINDOW
CHUNK_KB=64     # common/chunker.h CHUNK_MAX

VIGIL_TEST_SHAFILL_QUIET_MS=3600000 server_start
enroll_pair phone1
PPORT=$(free_port)
echo calm >"$T/proxy.mode"
/usr/bin/python3 "$ROOT/tests/soak/proxy.py" --listen "$PPORT" --to "$PORT" \
	--cut $((CUT_KB * 1024)) --mode "$T/proxy.mode" --stats "$T/proxy.json" &
PIDS="$PIDS $!"
wait_for 10 "proxy listening" sh -c "ss -ltn 'sport = :$PPORT' | grep -q ':$PPORT'"

D=$T/data
mkdir -p "$D" "$T/out"
counter() { vigild_counter "$T/state-phone1" "$1"; }
server_sha() { vigil log "phone1:$1" --json 2>/dev/null | jq -r '.[-1].sha256'; }
stored() { [ "$(server_sha "$1")" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }

note "calm: a new 8 MiB file, vigild once"
head -c 8M /dev/urandom >"$D/a.bin"
vigild_once phone1 "$D" --server "127.0.0.1:$PPORT"
[ "$(counter bytes_read)" = $((8 << 20)) ] || fail "bytes_read $(counter bytes_read), not $((8 << 20)): read more than once"
[ "$(counter bytes_sent)" = $((8 << 20)) ] || fail "bytes_sent $(counter bytes_sent), not $((8 << 20))"
[ "$(counter shipped_whole)" = 2 ] || fail "shipped_whole $(counter shipped_whole) (the directory and the file)"
[ "$(vigil log "phone1:$D/a.bin" --json | jq -c '.[-1] | [.sha256, .sha256_pending]')" = '[null,true]' ] ||
	fail "a first upload's sha256 not pending when once returns: $(vigil log "phone1:$D/a.bin" --json)"
same_file phone1 "$D/a.bin" "$D/a.bin"
server_stop
VIGIL_TEST_SHAFILL_QUIET_MS=0 server_start
wait_for 30 "the first upload's sha256 filled in" stored "$D/a.bin"
[ "$(vigil log "phone1:$D/a.bin" --json | jq -c '.[-1].sha256_pending')" = false ] ||
	fail "sha256 computed but still shown pending"

note "cuts: a new 16 MiB file through connections cut every $CUT_KB KiB"
echo cuts >"$T/proxy.mode"
VIGIL_DEBUG=1 "$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
	--watch "$D" --tracker scan --server "127.0.0.1:$PPORT" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
# its counters start at 0: wait until status.json is its own
wait_for 20 "vigild run's status" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state-phone1' --json | jq .pid)\" = $VPID ]"
c0=$(jq .cuts "$T/proxy.json")
head -c 16M /dev/urandom >"$T/out/b.bin"
mv "$T/out/b.bin" "$D/b.bin"   # appears whole: the scan finds a still file
wait_for 90 "b.bin stored through the cuts" stored "$D/b.bin"
vigild_settled "$T/state-phone1"
same_file phone1 "$D/b.bin" "$D/b.bin"
c=$(( $(jq .cuts "$T/proxy.json") - c0 ))
sent=$(counter bytes_sent)
resent=$(counter bytes_resent)
note "through $c cuts: vigild sent $sent body bytes, re-sent $resent"
[ "$c" -ge 8 ] || fail "only $c cuts: the body did not need several connections"
[ "$resent" -le $((c * (WINDOW_KB + CHUNK_KB) * 1024)) ] ||
	fail "re-sent $resent bytes through $c cuts: more than one window and a chunk per cut"
[ "$sent" -le $(( (16 << 20) + c * (WINDOW_KB + CHUNK_KB) * 1024 )) ] || fail "sent $sent bytes for 16 MiB"
left=$(find "$T/srv/store/uploads" -type f 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left upload state file(s) left after the version was stored"
[ "$(counter errors)" = 0 ] || { tail -20 "$T/vigild.log"; fail "$(counter errors) PUT(s) failed"; }
echo "t_firstread: ok (cuts $c, sent $sent, re-sent $resent)"
