#!/bin/bash
# t_sweep.sh — `vigil-server sweep` against a running server (through
# its admin socket) and without one (docs/store-format.md, "Sweeping unreferenced chunks"): versions
# dropped from the index (here by SQL, standing in for retention) give
# their chunks back, every live version still reads back byte-exact, the
# packs shrink, and a second sweep finds nothing left.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
head -c 2M /dev/urandom >"$D/keep.bin"
head -c 3M /dev/urandom >"$D/gone.bin"
head -c 1M /dev/urandom >"$D/edit.bin"
vigild_once phone1 "$D"
cp "$D/edit.bin" "$T/edit.v1"
head -c 3M /dev/urandom >"$D/gone.bin"                    # all new: v1 is all garbage once dropped
head -c 4096 /dev/urandom | dd of="$D/edit.bin" bs=4096 seek=100 conv=notrunc 2>/dev/null
vigild_once phone1 "$D"

note "the housekeeping threads are named (top -H shows which one works)"
names=$(cat /proc/"$SERVER_PID"/task/*/comm | sort -u | tr '\n' ' ')
for want in sweeper retainer shafill upload-expiry; do
	case " $names" in *" $want "*) ;; *) fail "no thread $want among: $names" ;; esac
done

packs_kb() { du -sk "$T/srv/store/packs" | cut -f1; }
sql() { sqlite3 -cmd ".timeout 10000" "$T/srv/index.db" "$@"; }
before=$(packs_kb)

note "a sweep with nothing dropped deletes nothing"
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/s0.json" || fail "sweep failed"
jqe '.deleted == 0 and .roots >= 3' <"$T/s0.json" >/dev/null || fail "first sweep: $(cat "$T/s0.json")"

note "drop version 1 of gone.bin and edit.bin, sweep the running server"
sql "DELETE FROM versions WHERE version = 1 AND path IN (CAST('$D/gone.bin' AS BLOB), CAST('$D/edit.bin' AS BLOB))"
[ "$(sql "SELECT count(*) FROM versions WHERE path = CAST('$D/gone.bin' AS BLOB)")" = 1 ] || fail "drop"
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/s1.json" || fail "sweep failed"
[ ! -e "$T/srv/store/sweep.request" ] || fail "asked through a request file, not the admin socket"
jqe '.deleted > 250 and .deleted_bytes > 3000000' <"$T/s1.json" >/dev/null || fail "sweep: $(cat "$T/s1.json")"
kill -0 "$SERVER_PID" || fail "server died"
after=$(packs_kb)
# holes free whole blocks only (records of files uploaded side by side
# interleave); compaction rewrites the packs past --max-unused (default
# 5 %): the packs' real disk usage (du: st_blocks) is then at most the
# live records' bytes plus 5/95 of them, plus a block of slack per pack
del_kb=$(( $(jq .deleted_bytes <"$T/s1.json") / 1024 ))
[ $((before - after)) -ge $((del_kb * 9 / 10)) ] || fail "packs $before KB -> $after KB for $del_kb KB deleted"
live_kb=$(( $(jq .live_bytes <"$T/s1.json") / 1024 ))
npacks=$(ls "$T/srv/store/packs" | wc -l)
[ "$after" -le $((live_kb + live_kb * 5 / 95 + 4 * npacks + 4)) ] ||
	fail "packs take $after KB on disk for $live_kb KB live ($npacks packs): $(cat "$T/s1.json")"
jqe '.removed_packs >= 1' <"$T/s1.json" >/dev/null || fail "nothing compacted: $(cat "$T/s1.json")"

note "every live version reads back"
same_file phone1 "$D/keep.bin" "$D/keep.bin"
same_file phone1 "$D/gone.bin" "$D/gone.bin"
same_file phone1 "$D/edit.bin" "$D/edit.bin"
! vigil get "phone1:$D/gone.bin" --version 1 -o "$T/old" 2>/dev/null || fail "a dropped version came back"

note "edit again: the new version reuses the swept file's surviving chunks"
cp "$T/edit.v1" "$D/edit.bin"   # v1's bytes again: the chunks v1 shared with v2 are reused
vigild_once phone1 "$D"
same_file phone1 "$D/edit.bin" "$T/edit.v1"

note "a second sweep finds nothing; then one without a server"
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/s2.json" || fail "sweep failed"
jqe '.deleted == 0' <"$T/s2.json" >/dev/null || fail "second sweep: $(cat "$T/s2.json")"
server_stop
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/s3.json" || fail "offline sweep failed"
jqe '.deleted == 0 and .roots >= 4' <"$T/s3.json" >/dev/null || fail "offline sweep: $(cat "$T/s3.json")"
rc=0
"$BIN/vigil-server" sweep "$T/srv" --bogus 2>"$T/bogus.err" || rc=$?
[ "$rc" = 2 ] || fail "bad option: exit $rc, not 2: $(cat "$T/bogus.err")"
if [ "${VIGIL_TEST_ENCRYPT:-0}" = 1 ]; then   # the key as an option, not the environment's
	env -u VIGIL_KEY_FILE "$BIN/vigil-server" sweep "$T/srv" 2>/dev/null &&
		fail "an encrypted store swept without its key"
	env -u VIGIL_KEY_FILE "$BIN/vigil-server" sweep "$T/srv" --key-file "$T/store.key" --json \
		>"$T/s4.json" || fail "offline sweep with --key-file"
	jqe '.deleted == 0' <"$T/s4.json" >/dev/null || fail "offline sweep: $(cat "$T/s4.json")"
fi
"$BIN/vigil-server" retain "$T/srv" --show --json | jqe '.sweep.seq >= 4 and .sweep.err == 0' \
	>/dev/null || fail "retain --show does not show the last sweep"
server_start
same_file phone1 "$D/keep.bin" "$D/keep.bin"
echo "t_sweep: ok (packs $before KB -> $after KB on disk for $live_kb KB live," \
	"$(jq .deleted "$T/s1.json") chunks deleted, $(jq .moved "$T/s1.json") moved)"
