# t_search.sh — keyword search over a real server's backups: vCard, SQLite
# (a match deep inside a large database), text; Chinese names inside runs of
# text; phone numbers in several countries' formats; a deleted file found
# with --all-versions; hostile files that must not hurt the server.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/home
mkdir -p "$D/contacts" "$D/notes" "$D/db"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张三\r\nN:张;三;;;\r\nTEL;TYPE=CELL:+86 138-0013-8000\r\nEND:VCARD\r\n' >"$D/contacts/zhang.vcf"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Oliver Smith\r\nTEL:+44 7700 900123\r\nEND:VCARD\r\n' >"$D/contacts/oliver.vcf"
echo "会议记录：李张三丰明天来。Remember the Quarterly Report." >"$D/notes/meeting.txt"
echo "temporary secret: Zebrafish" >"$D/notes/gone.txt"
sqlite3 "$D/db/messages.db" <<'SQL'
CREATE TABLE sms(id INTEGER PRIMARY KEY, addr TEXT, body TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 50000)
INSERT INTO sms(addr, body) SELECT '1000' || x, 'routine message number ' || x FROM c;
INSERT INTO sms(addr, body) VALUES ('07700 900999', 'the password is Kumquat');
SQL
# hostile inputs
printf 'BEGIN:VCARD\r\nFN;ENCODING=QUOTED-PRINTABLE:=E5=\r\n=\r\nTEL:' >"$D/contacts/broken.vcf"
head -c 4096 /dev/urandom >"$D/db/junk.bin"
{ printf 'SQLite format 3\000'; head -c 8192 /dev/urandom; } >"$D/db/evil.db"

vigild_once phone1 "$D"
rm "$D/notes/gone.txt"
vigild_once phone1 "$D"

search_has() { # PATH WORD... : the search for WORDs lists PATH
	p=$1
	shift
	vigil search phone1 "$@" --json | jqe --arg p "$p" '[.[] | select(.path == $p)] | length >= 1'
}

note "words, case-insensitively"
wait_for 60 "indexing" search_has "$D/notes/meeting.txt" quarterly REPORT
note "Chinese names inside runs of text"
search_has "$D/notes/meeting.txt" 张三 >/dev/null || fail "张三 inside 李张三丰"
search_has "$D/contacts/zhang.vcf" 张三 >/dev/null || fail "张三 in a vCard"
note "phone numbers in normalised form"
for n in "+86 138-0013-8000" "138 0013 8000" 13800138000 +8613800138000; do
	search_has "$D/contacts/zhang.vcf" "$n" >/dev/null || fail "number form $n"
done
for n in "+44 7700 900123" +447700900123 "+44 (0)7700 900123"; do
	search_has "$D/contacts/oliver.vcf" "$n" >/dev/null || fail "number form $n"
done
note "a match deep inside a large SQLite database"
wait_for 60 "database indexed" search_has "$D/db/messages.db" kumquat
note "every WORD must match"
vigil search phone1 kumquat zebrafish --json | jqe 'length == 0' >/dev/null || fail "AND semantics"
note "a deleted file: only with --all-versions"
vigil search phone1 zebrafish --json | jqe 'length == 0' >/dev/null || fail "deleted file in default search"
vigil search phone1 zebrafish --all-versions --json | jqe --arg p "$D/notes/gone.txt" \
	'.[0].path == $p and (.[0].version | type) == "number" and (.[0].snippet | test("Zebrafish"; "i"))' >/dev/null ||
	fail "deleted file with --all-versions"
note "no results: empty list, exit 0"
out=$(vigil search phone1 nosuchwordanywhere --json)
[ "$(echo "$out" | jq length)" = 0 ] || fail "empty result"
note "hostile files did not hurt the server"
kill -0 "$SERVER_PID" || fail "server died"
vigil ls "phone1:$D/db" --json | jqe 'length == 3' >/dev/null || fail "hostile files stored"

# WHAT: versions committed but still in the indexer's memory when the
# server is killed are found again at the next start, not lost to search
note "server killed before indexing: queued again at the next start"
server_stop
VIGIL_TEST_INDEXER_HOLD=1 server_start
echo "an okapi among the ferns" >"$D/notes/late.txt"
vigild_once phone1 "$D"
vigil log "phone1:$D/notes/late.txt" --json | jqe 'length == 1' >/dev/null || fail "late.txt not stored"
{ kill -9 "$SERVER_PID"; wait "$SERVER_PID"; } 2>/dev/null || true
server_start
wait_for 60 "indexing after the crash" search_has "$D/notes/late.txt" okapi
grep -q "not indexed before an unclean stop" "$T/server.log" || fail "no recovery logged"
search_has "$D/notes/meeting.txt" quarterly >/dev/null || fail "older versions still found"
echo ok
