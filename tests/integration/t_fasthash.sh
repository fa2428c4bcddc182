# t_fasthash.sh — the fallback delta hashes only what changed, and leaves
# the whole-file sha256 to the server (issue 11).  A 16 MiB random file
# goes up whole with `vigild once` (verified by its digest; its sha256 is
# pending, or already the file's if the server's rest-time fill came; the
# device hashes no chunk, the server's chunk list gives it every sha256); a
# 4 KiB pwrite in its middle, then
# `vigild once` again: it ships as one DELTA, every chunk fingerprinted
# (counter chunks_fingerprinted) but at most 4 chunks sha256-hashed
# (chunk_sha256: the others' come from the shipped version's chunk list);
# the version is right byte for byte (vigil get), its sha256 pending
# (null, sha256_pending true) until the server's rest-time fill computes
# it, then the file's.  A second pass of `once` with no change ships
# nothing (same size and tree root).
. "$(dirname "$0")/lib.sh"

# the server fills a pending sha256 once the content rested 8 s (10 min
# by default), so the DELTA version is seen pending first
VIGIL_TEST_SHAFILL_QUIET_MS=8000 server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
mkdir -p "$D"
F=$D/big.bin
head -c 16M /dev/urandom >"$F"

counter() { vigild_counter "$S" "$1"; }
latest() { vigil log "phone1:$F" --json | jq -c ".[-1] | $1"; }
filled() { [ "$(latest .sha256)" = "\"$(sha256sum "$F" | cut -d' ' -f1)\"" ]; }

note "first upload: whole, its sha256 pending (or filled)"
vigild_once phone1 "$D"
# the file and its directory
[ "$(counter shipped_whole)" = 2 ] && [ "$(counter shipped_delta)" = 0 ] ||
	fail "first upload not whole"
sha=$(counter chunk_sha256)
fp=$(counter chunks_fingerprinted)
got=$(counter chunk_sha256_received)
note "first upload: chunk_sha256 $sha, chunks_fingerprinted $fp, chunk_sha256_received $got"
# no sha256 on the device: every chunk fingerprinted, every sha256 from
# the server's list after PUT_STORED (what the edit below takes them from)
[ "$sha" = 0 ] && [ "$fp" -ge 256 ] && [ "$got" = "$fp" ] ||
	fail "first upload: chunks not fingerprinted only, or their sha256s not all from the server"
[ "$(latest '[.sha256, .sha256_pending]')" = '[null,true]' ] || filled ||
	fail "first upload: sha256 neither pending nor the file's: $(latest .)"
same_file phone1 "$F" "$F"

note "4 KiB edit in the middle: delta, O(1) chunks hashed"
dd if=/dev/urandom of="$F" bs=4096 seek=2048 count=1 conv=notrunc status=none
vigild_once phone1 "$D"
sha=$(counter chunk_sha256)
fp=$(counter chunks_fingerprinted)
note "edit: shipped_delta $(counter shipped_delta), chunk_sha256 $sha, chunks_fingerprinted $fp"
[ "$(counter shipped_delta)" = 1 ] && [ "$(counter shipped_whole)" = 0 ] ||
	{ tail -20 "$T/vigild.log"; fail "the edit did not go by delta"; }
[ "$fp" -ge 256 ] || fail "only $fp chunks fingerprinted"
[ "$sha" -le 4 ] || fail "$sha chunks sha256-hashed for a 4 KiB edit"
[ "$(latest '[.sha256, .sha256_pending]')" = '[null,true]' ] ||
	fail "the delta's sha256 not pending right after PUT_DONE: $(latest .)"
same_file phone1 "$F" "$F"
wait_for 60 "the delta's sha256 filled by the server" filled
[ "$(latest .sha256_pending)" = false ] || fail "sha256 filled but still shown pending"
[ "$(counter errors)" = 0 ] || { tail -20 "$T/vigild.log"; fail "a PUT failed"; }

note "no change: nothing shipped"
vigild_once phone1 "$D"
[ "$(counter shipped)" = 0 ] || { jq -c .counters "$S/status.json"; fail "an unchanged file shipped again"; }
echo ok
