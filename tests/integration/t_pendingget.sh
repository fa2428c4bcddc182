#!/bin/bash
# t_pendingget.sh — `vigil get` of a first upload whose sha256 is still
# pending checks it end to end by the XXH3-128 digest the server verified
# the upload against (the version's `xxh3_128` in `vigil log --json`;
# controller/cverify.c, docs/index.md "Pending sha256").  A 9 MiB file
# goes up with `vigild once` against a server whose background sha256 waits
# an hour: its sha256 is pending and its digest is shown; get gives the
# bytes back.  Then the verification is shown to be real, both ways: a
# digest changed in index.db (the bytes and tree intact) makes get refuse
# the file, and, with the digest put back, a record forged into the pack
# with a matching CRC-32 (which get's reads leave to its own check) makes
# get refuse it too; each time exit 1 and nothing left behind.
. "$(dirname "$0")/lib.sh"

VIGIL_TEST_SHAFILL_QUIET_MS=3600000 server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
head -c $((9 * 1048576 + 777)) /dev/urandom >"$D/nine"
vigild_once phone1 "$D"

last() { vigil log "phone1:$D/nine" --json | jq -r ".[-1].$1"; }
[ "$(last sha256_pending)" = true ] || fail "the first upload's sha256 is not pending"
dig=$(last xxh3_128)
[[ "$dig" =~ ^[0-9a-f]{32}$ ]] || fail "no digest for a pending version: $dig"
same_file phone1 "$D/nine" "$D/nine"
note "pending sha256, digest $dig: get verified and gave the bytes back"

# get_refused WHY: get of nine fails, exit 1, nothing left in the target dir
get_refused() {
	rm -rf "$T/out"
	mkdir "$T/out"
	if vigil get "phone1:$D/nine" -o "$T/out/nine" 2>"$T/err"; then
		fail "get succeeded with $1"
	fi
	cat "$T/err"
	[ -z "$(ls -A "$T/out")" ] || fail "left behind ($1): $(ls -A "$T/out")"
}

# set_digest HEX: the version's stored digest, server stopped (through
# the sqlite3 shell, which lib.sh lets open a sealed index.db too)
set_digest() {
	server_stop
	[ "$(sqlite3 "$T/srv/index.db" "UPDATE versions SET digest = X'$1'
		WHERE path = CAST('$D/nine' AS BLOB) AND sha_pending = 1; SELECT changes();")" = 1 ] ||
		fail "digest not set"
	VIGIL_TEST_SHAFILL_QUIET_MS=3600000 server_start
}

set_digest "$(python3 -c 'import sys; b = bytearray.fromhex(sys.argv[1]); b[7] ^= 1; print(b.hex())' "$dig")"
[ "$(last xxh3_128)" != "$dig" ] || fail "digest not changed"
get_refused "a changed digest"
note "a changed digest (bytes and tree intact): get refused the file"
set_digest "$dig"
same_file phone1 "$D/nine" "$D/nine"

# forge one record of nine 4 MiB into the pack (it filled the pack's
# first records): a payload byte changed and the record's CRC-32 made to
# match (helpers/forgerec.py)
/usr/bin/python3 "$ROOT/tests/integration/helpers/forgerec.py" "$T/srv/store/packs/00000001.pack" $((4 * 1048576))
[ "$(last sha256_pending)" = true ] || fail "sha256 no longer pending"
get_refused "a forged record"
note "a forged record (CRC-32 matching): get refused it by the digest"
echo "t_pendingget: ok"
