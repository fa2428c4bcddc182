#!/bin/bash
# t_sweep_auto.sh — retention gives the space back by itself: a device's
# policy (--keep-within 1d) drops versions in the server's background pass
# (retainer.h) once a newer edit arrives; the pass kicks the sweep thread
# (sweep.h; the periodic look at the index is pushed out of reach here, so
# only the kick can start it), which sweeps and then deletes the search.db
# rows of the dropped versions.  Then: the packs' disk usage fell, every
# kept version is byte-exact, a dropped one is gone, `vigil search
# --all-versions` no longer finds its text, search.db has fewer rows and
# holds less text (contents and pieces no version refers to go), and
# `retain --show` and `vigil status` show the pass and the sweep.
. "$(dirname "$0")/lib.sh"

export TZ=UTC PATH="$BIN:$PATH"
export VIGIL_TEST_HOOKS=1 VIGIL_TEST_RETAIN_QUIET_MS=300 VIGIL_SWEEP_INTERVAL_S=1 \
	VIGIL_SWEEP_CHECK_S=86400
server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
"$BIN/vigil-server" retain "$T/srv" phone1 --keep-within 1d >/dev/null || fail "retain"

# ship HOURS_AGO: the tree as the device saw it that many hours ago
ship() {
	echo $(( -$1 * 3600 )) >"$T/clockoff"
	VIGIL_TEST_CLOCK_OFFSET_FILE="$T/clockoff" vigild_once phone1 "$D"
}
sdb() { sqlite3 -cmd ".timeout 10000" "$T/srv/search.db" "$@"; }
packs_kb() { du -sk "$T/srv/store/packs" | cut -f1; }
last_sweep() { "$BIN/vigil-server" retain "$T/srv" --show --json | jq -c .sweep; }
hits() { vigil search phone1 "$1" --all-versions --json | jq --arg p "$2" '[.[] | select(.path == $p)] | length'; }
found() { [ "$(hits "$1" "$2")" = 1 ]; }
swept() { last_sweep | jqe '.seq >= 1 and .deleted_bytes > 3000000'; }
# the indexer has taken every version it was given (search.db's rows are its)
indexed() { vigil status phone1 --json | jqe '.index.pending == 0'; }

note "two edits three days ago (both inside one day of each other: nothing dropped)"
head -c 3M /dev/urandom >"$D/big.bin"
echo "zebrafinch $(head -c 3000 /dev/urandom | base64 -w 0)" >"$D/notes.txt"
ship 72
head -c 3M /dev/urandom >"$D/big.bin"
echo "quokka $(head -c 3000 /dev/urandom | base64 -w 0)" >"$D/notes.txt"
ship 71
cp "$D/big.bin" "$T/big.v2"
cp "$D/notes.txt" "$T/notes.v2"
wait_for 60 "the old text indexed" found zebrafinch "$D/notes.txt"
wait_for 60 "the new text indexed" found quokka "$D/notes.txt"
[ "$(last_sweep)" = null ] || fail "a sweep ran with nothing dropped: $(last_sweep)"
wait_for 60 "the indexer idle" indexed
rows0=$(sdb "SELECT count(*) FROM versions")
texts0=$(sdb "SELECT (SELECT count(*) FROM contents) || ' ' || (SELECT count(*) FROM pieces)")
before=$(packs_kb)

note "an edit now: the background pass drops version 1 of both, the sweep follows"
echo "wombat" >"$D/small.txt"
ship 0
wait_for 120 "the kicked sweep" swept
last_sweep >"$T/sweep.json"
jqe '.err == 0 and .search_rows >= 2' <"$T/sweep.json" >/dev/null || fail "sweep: $(cat "$T/sweep.json")"
[ "$(vigil log "phone1:$D/big.bin" --json | jq length)" = 1 ] || fail "big.bin v1 not dropped"
after=$(packs_kb)
# holes give back whole blocks only (t_sweep.sh): at least 60 % of the bytes
del_kb=$(( $(jq .deleted_bytes <"$T/sweep.json") / 1024 ))
[ $((before - after)) -ge $((del_kb * 6 / 10)) ] || fail "packs $before KB -> $after KB for $del_kb KB deleted"

vigil status phone1 --json | jqe '.retention.dropped >= 2 and .retention.last_pass != null and
	.sweep.at != null and .sweep.deleted_bytes > 3000000' >/dev/null ||
	fail "vigil status: $(vigil status phone1 --json | jq -c '{retention, sweep}')"

note "search.db: the dropped versions' rows are gone, their text is not found"
wait_for 60 "small.txt indexed" found wombat "$D/small.txt"
wait_for 60 "the indexer idle" indexed
[ "$(sdb "SELECT count(*) FROM versions WHERE version = 1 AND path IN ('$D/big.bin', '$D/notes.txt')")" = 0 ] ||
	fail "search.db still has the dropped versions"
rows1=$(sdb "SELECT count(*) FROM versions")
[ "$rows1" -lt "$rows0" ] || fail "search.db versions: $rows0 -> $rows1 rows (one added, two dropped)"
[ "$(hits zebrafinch "$D/notes.txt")" = 0 ] || fail "a dropped version's text is still found"
# their text went with them: the two contents of the version 1s and
# notes.txt v1's one piece of text; small.txt added a content and two
# pieces (its text, its path)
texts1=$(sdb "SELECT (SELECT count(*) FROM contents) || ' ' || (SELECT count(*) FROM pieces)")
set -- $texts0
[ "$texts1" = "$(($1 - 1)) $(($2 + 1))" ] || fail "search.db contents, pieces: $texts0 -> $texts1"
[ "$(hits quokka "$D/notes.txt")" = 1 ] || fail "the kept version's text is not found"

note "every kept version is byte-exact; the dropped ones are gone"
same_file phone1 "$D/big.bin" "$T/big.v2"
same_file phone1 "$D/notes.txt" "$T/notes.v2"
same_file phone1 "$D/small.txt" "$D/small.txt"
! vigil get "phone1:$D/big.bin" --version 1 -o "$T/old" 2>/dev/null || fail "a dropped version came back"

note "a sweep asked through the admin socket finds nothing left"
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/s2.json" || fail "sweep failed"
jqe '.deleted == 0 and .seq >= 2' <"$T/s2.json" >/dev/null || fail "sweep: $(cat "$T/s2.json")"
[ ! -e "$T/srv/store/sweep.request" ] || fail "the old request file is back"
kill -0 "$SERVER_PID" || fail "server died"
echo "t_sweep_auto: ok (packs $before KB -> $after KB, $(jq -c '{deleted, deleted_bytes, search_rows}' <"$T/sweep.json"), search rows $rows0 -> $rows1, contents+pieces $texts0 -> $texts1)"
