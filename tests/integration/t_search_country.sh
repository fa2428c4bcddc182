# t_search_country.sh — phone numbers under another default country: a
# server whose DIR/config says `country = 44` reads national numbers as
# British, so `07700 900123` in a note and `+44 7700 900123` find each
# other, and `vigil status` counts what the indexer could not parse.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
"$BIN/vigil-server" init "$T/srv" --listen "127.0.0.1:$PORT" >/dev/null
sed -i 's/^country = .*/country = 44/' "$T/srv/config"
grep -qx 'country = 44' "$T/srv/config" || fail "config has no country line to edit"
server_start
enroll_pair phone1
D=$T/home
mkdir -p "$D"
echo "Ring the plumber on 07700 900123 after nine." >"$D/national.txt"
echo "Oliver's mobile: +44 7700 900456 (work)" >"$D/international.txt"
echo "Shanghai office 13800138000" >"$D/foreign.txt"
printf 'BEGIN:VCARD\r\nFN;ENCODING=QUOTED-PRINTABLE:=E5=\r\n=\r\nTEL:' >"$D/broken.vcf"
{ printf 'SQLite format 3\000'; head -c 8192 /dev/urandom; } >"$D/evil.db"
echo "last file zz9marker" >"$D/zz.txt"
vigild_once phone1 "$D"

search_paths() { # WORD... : the paths found, one per line
	vigil search phone1 "$@" --json | jq -r '.[].path'
}
found() { # PATH WORD... : the search lists PATH
	p=$1
	shift
	search_paths "$@" | grep -qxF "$p"
}
wait_for 60 "indexing" found "$D/zz.txt" zz9marker
wait_for 30 "nothing pending" sh -c \
	"'$BIN/vigil' status phone1 --json | jqe '.index.pending == 0'"

note "national form in the text, searched in international forms"
for n in "+44 7700 900123" +447700900123 "0044 7700 900123" "+44 (0)7700 900123" "07700 900123" \
	07700900123; do
	found "$D/national.txt" "$n" || fail "'$n' does not find 07700 900123 under country 44"
done
note "international form in the text, searched in the national form"
for n in "07700 900456" 07700900456 "+44 7700 900456"; do
	found "$D/international.txt" "$n" || fail "'$n' does not find +44 7700 900456 under country 44"
done
note "another number is not matched"
[ -z "$(search_paths "+44 7700 900124")" ] || fail "+44 7700 900124 matched something"
[ -z "$(search_paths "07700 900999")" ] || fail "07700 900999 matched something"
note "under country 44 a Chinese number needs its country code"
found "$D/foreign.txt" 13800138000 || fail "the digits as typed"
[ -z "$(search_paths "+86 138 0013 8000")" ] || fail "+86 138 0013 8000 matched a number read as British"

note "status counts the files the indexer could not parse"
st=$(vigil status phone1 --json)
echo "$st" | jqe '.index.files == 6 and .index.versions == 6 and .index.unparsed >= 1
	and .index.pending == 0' >/dev/null || fail "status index counters: $(echo "$st" | jq -c .index)"
vigil status phone1 | grep -q '^index: .*6 files.* could not be parsed' || fail "status text has no index line"
kill -0 "$SERVER_PID" || fail "server died"
echo ok
