#!/bin/bash
# t_check.sh — `vigil-server check` (issue 12): a clean store checks clean,
# live through the admin socket and on a stopped server's DIR; --sample 10
# reads about a tenth of the versions; a flipped record header (live: also a
# "damage" event in `vigil status`, once), a flipped tree page, a flipped chunk
# payload (--read-data), a truncated pack and a deleted pack each give exit 1
# naming exactly the versions they hurt; check runs while a backup does; a
# second version of a file reads only the pages it does not share with the
# first, and a damaged chunk they share names both.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
PACK=$T/srv/store/packs/00000001.pack
mkdir -p "$D/a" "$D/b" "$D/many" "$D/c"
size() { stat -c %s "$PACK"; }
chk() { "$BIN/vigil-server" check "$T/srv" "$@" >"$T/chk.out" 2>"$T/chk.err"; }
# flip OFFSET: xor one byte of the pack (twice restores it)
flip() {
	/usr/bin/python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2]))
f.write(bytes([b[0] ^ 0x5a]))' "$PACK" "$1"
}
# rec KIND FROM TO: the first record of KIND in [FROM, TO): "OFF PAYLOAD_OFF LEN"
# (awk reads to the end: packrec.py must not write into a closed pipe)
rec() { packrec.py "$PACK" "$2" "$3" | awk -v k="$1" '$2 == k && !n { print $1, $3, $4; n = 1 }'; }
named() { grep -F "phone1 $1 version 1 " "$T/chk.out" >/dev/null; }
damaged_only() {   # damaged_only PATH...: exit 1, exactly these versions named
	[ "$rc" = 1 ] || { cat "$T/chk.out" "$T/chk.err"; fail "check exit $rc, not 1"; }
	[ "$(grep -c '^damaged: phone1 ' "$T/chk.out")" = $# ] || { cat "$T/chk.out"; fail "not exactly $* named"; }
	for p in "$@"; do named "$p" || { cat "$T/chk.out"; fail "$p not named"; }; done
}

note "four stages of uploads, each stage's records in its own range of the pack"
head -c 300K /dev/urandom >"$D/a/a.bin"; vigild_once phone1 "$D"; endA=$(size)
head -c 200K /dev/urandom >"$D/b/b.bin"; vigild_once phone1 "$D"; endB=$(size)
for i in $(seq 1 100); do head -c 3000 /dev/urandom >"$D/many/f$i"; done
vigild_once phone1 "$D"; endM=$(size)
head -c 300K /dev/urandom >"$D/c/c.bin"; vigild_once phone1 "$D"; endC=$(size)

note "clean, live (admin socket)"
[ -S "$T/srv/admin.sock" ] || fail "no admin socket"
rc=0; chk --json || rc=$?
[ "$rc" = 0 ] || { cat "$T/chk.out" "$T/chk.err"; fail "clean store: exit $rc"; }
jq -e '.ok and .versions == 103 and .records > 200' "$T/chk.out" >/dev/null || fail "$(cat "$T/chk.out")"
rc=0; chk --read-data --json || rc=$?
[ "$rc" = 0 ] && jq -e '.read.versions == 103' "$T/chk.out" >/dev/null || fail "read-data: $(cat "$T/chk.out")"

note "--sample 10 reads about a tenth"
rc=0; chk --read-data --sample 10 --seed 7 --json || rc=$?
n=$(jq '.read.versions' "$T/chk.out")
[ "$rc" = 0 ] && [ "$n" -ge 3 ] && [ "$n" -le 25 ] || fail "sample 10 read $n of 103"
jq -e '.read.seed == 7 and .read.sample == 10' "$T/chk.out" >/dev/null || fail "sample not reported"
rc=0; chk --read-data --sample 10 --json || rc=$?
[ "$rc" = 0 ] && jq -e '.read.seed | type == "number"' "$T/chk.out" >/dev/null || fail "seed not reported"

note "a metadata change: one more version, its content checked and read once"
chmod 600 "$D/many/f1"
vigild_once phone1 "$D"
rc=0; chk --read-data --json || rc=$?
[ "$rc" = 0 ] && jq -e '.versions == 104 and .read.versions == 103' "$T/chk.out" >/dev/null ||
	fail "shared content: $(cat "$T/chk.out")"

note "a record header flipped while the server runs: b.bin, and a damage event"
set -- $(rec chunk "$endA" "$endB")
flip $(($1 + 12))
rc=0; chk || rc=$?
damaged_only "$D/b/b.bin"
rc=0; chk || rc=$?
damaged_only "$D/b/b.bin"
vigil status phone1 --json >"$T/st.json"
jq -e --arg p "$D/b/b.bin" '[.events[] | select(.kind == "damage" and (.detail | contains($p)))] | length == 1' \
	"$T/st.json" >/dev/null || fail "not one damage event after two checks: $(jq -c .events "$T/st.json")"
flip $(($1 + 12))
rc=0; chk || rc=$?; [ "$rc" = 0 ] || fail "restored header: exit $rc"

server_stop
cp "$PACK" "$T/pack.orig"
if [ "${VIGIL_TEST_ENCRYPT:-0}" != 1 ]; then   # sealed pages cannot be told from chunks
	note "stopped server: a tree page of a.bin flipped"
	set -- $(rec page 0 "$endA")
	flip $(($2 + 10))
	rc=0; chk || rc=$?
	damaged_only "$D/a/a.bin"
	flip $(($2 + 10))
fi

note "a chunk payload of c.bin flipped: found by --read-data"
set -- $(rec chunk "$endM" "$endC")
flip $(($2 + $3 / 2))
rc=0; chk || rc=$?
[ "$rc" = 0 ] || fail "payload damage without --read-data: exit $rc (headers are intact)"
rc=0; chk --read-data || rc=$?
damaged_only "$D/c/c.bin"
flip $(($2 + $3 / 2))

note "the pack truncated before c.bin's records"
truncate -s "$endM" "$PACK"
rc=0; chk || rc=$?
damaged_only "$D/c/c.bin"
cp "$T/pack.orig" "$PACK"

note "the pack deleted: every version named"
rm "$PACK"
rc=0; chk || rc=$?
[ "$rc" = 1 ] && named "$D/a/a.bin" && named "$D/b/b.bin" && named "$D/many/f7" && named "$D/c/c.bin" ||
	{ cat "$T/chk.out"; fail "deleted pack: exit $rc"; }
cp "$T/pack.orig" "$PACK"
rc=0; chk --read-data || rc=$?; [ "$rc" = 0 ] || { cat "$T/chk.out"; fail "restored: exit $rc"; }

note "check while a backup runs"
server_start
head -c 40M /dev/urandom >"$D/c/big.bin"
for i in $(seq 1 200); do head -c 2000 /dev/urandom >"$D/many/g$i"; done
"$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" --watch "$D" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
runs=0
while kill -0 "$VPID" 2>/dev/null; do
	rc=0; chk --json || rc=$?
	[ "$rc" = 0 ] || { cat "$T/chk.out" "$T/chk.err"; fail "check during the backup: exit $rc"; }
	runs=$((runs + 1))
done
wait "$VPID" || fail "vigild once failed while check ran"
same_file phone1 "$D/c/big.bin" "$D/c/big.bin"
rc=0; chk --read-data --json || rc=$?
[ "$rc" = 0 ] && jq -e '.versions == 305' "$T/chk.out" >/dev/null || fail "after the backup: $(cat "$T/chk.out")"
note "two versions of one file share most tree pages: the second reads only what differs"
mkdir -p "$D/e"
head -c 2M /dev/urandom >"$D/e/e.bin"
# the newest pack (the one deleted above left a store writing to another)
PACK=$T/srv/store/packs/$(ls "$T/srv/store/packs" | tail -1)
endP=$(size); vigild_once phone1 "$D"; endE=$(size)
rc=0; chk --read-data --json || rc=$?
[ "$rc" = 0 ] || fail "before the edit: $(cat "$T/chk.out")"
b0=$(jq '.read.bytes' "$T/chk.out"); s0=$(jq '.read.shared_bytes' "$T/chk.out")
head -c 100 /dev/urandom | dd of="$D/e/e.bin" bs=1 seek=1048576 conv=notrunc status=none
vigild_once phone1 "$D"
rc=0; chk --read-data --json || rc=$?
[ "$rc" = 0 ] || fail "after the edit: $(cat "$T/chk.out")"
b1=$(jq '.read.bytes' "$T/chk.out"); s1=$(jq '.read.shared_bytes' "$T/chk.out")
[ $((b1 - b0 + s1 - s0)) = 2097152 ] && [ $((s1 - s0)) -gt 0 ] ||
	fail "the second version read $((b1 - b0)) bytes and skipped $((s1 - s0)) of 2 MiB"
note "a chunk both versions share damaged: --read-data names both"
server_stop
set -- $(rec chunk "$endP" "$endE")   # e.bin's first chunk: the edit is at 1 MiB
flip $(($2 + $3 / 2))
rc=0; chk --read-data || rc=$?
[ "$rc" = 1 ] && [ "$(grep -c '^damaged: ' "$T/chk.out")" = 2 ] &&
	grep -F "phone1 $D/e/e.bin version 1 " "$T/chk.out" >/dev/null &&
	grep -F "phone1 $D/e/e.bin version 2 " "$T/chk.out" >/dev/null ||
	{ cat "$T/chk.out"; fail "a shared chunk damaged: not both versions named (exit $rc)"; }
flip $(($2 + $3 / 2))
echo "t_check: ok ($runs checks during the backup)"
