# t_clockjump.sh — the device's clock jumps forward and back by days while
# vigild runs (through real_ns()'s test hook, common/clock.h: the machine's
# clock is not touched): changes still ship, capture times stay increasing
# per device, and `get --at` / `ls --at` select by them.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
echo 0 >"$T/clockoff"
DAY=86400

vigild_run() {
	VIGIL_TEST_HOOKS=1 VIGIL_TEST_CLOCK_OFFSET_FILE="$T/clockoff" \
		"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
		--watch "$D" >>"$T/vigild.log" 2>&1 &
	VPID=$!
	PIDS="$PIDS $VPID"
}
# jump SECONDS: set the device's offset, then wait past the hook's 1 s re-read
jump() { echo "$1" >"$T/clockoff"; sleep 1.5; }
nversions() { vigil log "phone1:$1" --json 2>/dev/null | jq length; }
has_versions() { [ "$(nversions "$1")" -ge "$2" ]; }
got_at() { # PATH AT: content of the version selected at AT
	rm -f "$T/at"
	vigil get "phone1:$1" --at "$2" -o "$T/at" >/dev/null && cat "$T/at"
}
epoch() { date -u -d "$1" +%s; }

vigild_run
echo one >"$D/f.txt"
wait_for 60 "first version" has_versions "$D/f.txt" 1

note "forward by 2 days"
jump $((2 * DAY))
echo two >"$D/f.txt"
wait_for 60 "version after the forward jump" has_versions "$D/f.txt" 2

note "back by 3 days (1 day before the machine's clock)"
jump $((-1 * DAY))
echo three >"$D/f.txt"
wait_for 60 "version after the backward jump" has_versions "$D/f.txt" 3
echo new >"$D/g.txt"
wait_for 60 "new file after the backward jump" has_versions "$D/g.txt" 1

note "kill -9 and restart while the clock is behind"
kill -9 "$VPID"
wait "$VPID" 2>/dev/null || true
echo four >"$D/f.txt"
vigild_run
wait_for 60 "version after a restart behind" has_versions "$D/f.txt" 4
echo five >"$D/f.txt"
wait_for 60 "next live version behind" has_versions "$D/f.txt" 5

note "capture times increase"
vigil log "phone1:$D/f.txt" --json >"$T/log.json"
prev=0
for t in $(jq -r '.[].time' "$T/log.json"); do
	ns=$(date -u -d "$t" +%s%N)
	[ "$ns" -gt "$prev" ] || { cat "$T/log.json"; fail "capture times not increasing"; }
	prev=$ns
done
t1=$(jq -r '.[0].time' "$T/log.json")
t2=$(jq -r '.[1].time' "$T/log.json")
t3=$(jq -r '.[2].time' "$T/log.json")
[ $(($(epoch "$t2") - $(epoch "$t1"))) -gt $((2 * DAY - 600)) ] || fail "forward jump not in capture time"
[ $(($(epoch "$t3") - $(epoch "$t2"))) -lt 600 ] || fail "capture time after a backward jump"

note "--at selects by capture time"
[ "$(got_at "$D/f.txt" "$t1")" = one ] || fail "--at t1"
[ "$(got_at "$D/f.txt" "@$(($(epoch "$t1") + DAY))")" = one ] || fail "--at t1 + 1 day"
[ "$(got_at "$D/f.txt" "$t2")" = two ] || fail "--at t2"
[ "$(got_at "$D/f.txt" "$t3")" = three ] || fail "--at t3"
[ "$(got_at "$D/f.txt" "@$(($(epoch "$t1") + 3 * DAY))")" = five ] || fail "--at after all"
vigil ls "phone1:$D" --at "$t1" --json | jqe 'map(.path | endswith("/g.txt")) | any | not' >/dev/null ||
	fail "ls --at t1 shows a file made later"
vigil ls "phone1:$D" --json | jqe 'map(.path | endswith("/g.txt")) | any' >/dev/null ||
	fail "ls does not show g.txt"
echo ok
