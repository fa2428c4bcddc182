#!/bin/bash
# t_quota.sh — `vigil-server quota` (issue 12): a device under its quota
# ships; one that would pass it gets EDQUOT for new content (a big file's
# PUT and batched small files alike), `vigil status` shows the quota and a
# "quota" event, and nothing stored changes; deletes, metadata and a file
# shrinking still go through over the quota; raising it lets the pending
# files ship.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
q() { "$BIN/vigil-server" quota "$T/srv" "$@"; }
status_json() { vigil status phone1 --json >"$T/st.json" || fail "status"; }
once_refused() {   # vigild once must fail, saying why
	if timeout 120 "$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
		--watch "$D" >"$T/refused.log" 2>&1; then
		fail "vigild once succeeded over the quota"
	fi
	grep -qi "quota" "$T/refused.log" || { cat "$T/refused.log"; fail "no clear quota error"; }
}

note "no quota, then under it"
head -c 100K /dev/urandom >"$D/a.bin"
vigild_once phone1 "$D"
q phone1 300K >/dev/null
q phone1 | grep -q "^phone1: 102400 of 307200 bytes held$" || fail "show: $(q phone1)"
head -c 100K /dev/urandom >"$D/b.bin"
vigild_once phone1 "$D"
same_file phone1 "$D/b.bin" "$D/b.bin"
status_json
jq -e '.quota == {"bytes": 307200, "used": 204800, "full": false}' "$T/st.json" >/dev/null ||
	fail "status quota: $(jq -c .quota "$T/st.json")"
vigil status phone1 | grep -q '^quota: *204800 of 307200 bytes held$' || fail "status text: no quota line"

note "over: a 200K file is refused, nothing stored changes"
head -c 200K /dev/urandom >"$D/c.bin"
once_refused
vigil log phone1:"$D/c.bin" --json >/dev/null 2>&1 && fail "c.bin stored over the quota"
same_file phone1 "$D/a.bin" "$D/a.bin"
same_file phone1 "$D/b.bin" "$D/b.bin"
status_json
jq -e '.quota.used == 204800' "$T/st.json" >/dev/null || fail "used changed: $(jq -c .quota "$T/st.json")"
jq -e '[.events[] | select(.kind == "quota" and (.detail | test("refused")))] | length == 1' \
	"$T/st.json" >/dev/null || fail "no quota event: $(jq -c .events "$T/st.json")"

note "batched small files are refused too"
mv "$D/c.bin" "$T/c.bin"
q phone1 205K >/dev/null   # 200K held: no 10K file fits (files under 16K go in batches)
for i in 1 2 3 4 5; do head -c 10K /dev/urandom >"$D/s$i.txt"; done
once_refused
grep -q "s[1-5].txt: Disk quota exceeded" "$T/refused.log" || { cat "$T/refused.log"; fail "not refused in a batch"; }
for i in 1 2 3 4 5; do
	vigil log phone1:"$D/s$i.txt" --json >/dev/null 2>&1 && fail "s$i.txt stored over the quota"
done
mkdir -p "$T/small"; mv "$D"/s*.txt "$T/small/"

note "over the quota (lowered below what it holds): delete, chmod, shrink go through"
q phone1 150K >/dev/null
status_json
jq -e '.quota.full' "$T/st.json" >/dev/null || fail "not full: $(jq -c .quota "$T/st.json")"
rm "$D/a.bin"
chmod 600 "$D/b.bin"
vigild_once phone1 "$D"
vigil log phone1:"$D/a.bin" --json | jq -e '.[-1].deleted' >/dev/null || fail "delete refused"
vigil ls phone1:"$D" --json | jq -e '.[] | select(.path | endswith("/b.bin")) | .mode == 384' \
	>/dev/null || fail "chmod refused"
truncate -s 50K "$D/b.bin"
q phone1 10K >/dev/null
vigild_once phone1 "$D"
same_file phone1 "$D/b.bin" "$D/b.bin"

note "raised: the pending files ship"
mv "$T/c.bin" "$T/small"/s*.txt "$D/"
once_refused
q phone1 1M >/dev/null
vigild_once phone1 "$D"
same_file phone1 "$D/c.bin" "$D/c.bin"
for i in 1 2 3 4 5; do same_file phone1 "$D/s$i.txt" "$D/s$i.txt"; done
status_json
jq -e '.quota.used == 51200 + 204800 + 51200' "$T/st.json" >/dev/null ||
	fail "used: $(jq -c .quota "$T/st.json")"
q phone1 none >/dev/null
status_json
jq -e '.quota == null' "$T/st.json" >/dev/null || fail "quota not removed"
rc=0; q phone1 12X 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad BYTES: exit $rc"
rc=0; q nosuch 1M 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "unknown device: exit $rc"
echo "t_quota: ok"
