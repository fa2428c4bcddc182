# t_retain.sh — retention end to end: 30 simulated days of edits (capture
# times set through real_ns()'s test hook, common/clock.h), then
#  - `vigil-server retain` applies --keep-daily 7 --keep-weekly 4: exactly
#    the versions restic's documented rules give (helpers/retexpect.py,
#    apart from the server's code) are left in `vigil log --json`;
#  - three more days: the server's own background pass prunes again;
#  - a queued freeze holds the device: a tighter policy drops nothing
#    until `retain --release-hold`, which `vigil status` shows as an event;
#  - `vigil get --at` of every kept version's time is byte-exact.
. "$(dirname "$0")/lib.sh"

export TZ=UTC PATH="$BIN:$PATH"
export VIGIL_TEST_RETAIN_QUIET_MS=300
server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D" "$T/exp"
DAY=86400
# day 1 is 34 days before today's midnight (UTC); edits at 12:00 and 13:00
BASE=$(( $(date -u -d 'today 00:00' +%s) - 34 * DAY ))

# edit DAY HOUR: ship the tree as the device saw it at that moment
at() {
	echo $(( BASE + ($1 - 1) * DAY + $2 * 3600 - $(date +%s) )) >"$T/clockoff"
	VIGIL_TEST_HOOKS=1 VIGIL_TEST_CLOCK_OFFSET_FILE="$T/clockoff" vigild_once phone1 "$D"
}
# write FILE: new content, a copy kept under its sha256 for get --at
write() {
	head -c $((4096 + RANDOM)) /dev/urandom | base64 -w 100 >"$D/$1"
	cp "$D/$1" "$T/exp/$(sha256sum <"$D/$1" | cut -c1-64)"
}
edit_day() {
	d=$1
	write a.txt
	case $d in 1|10|20|29) write b.txt ;; esac
	[ "$d" = 5 ] && write c.txt
	[ "$d" = 25 ] && rm "$D/c.txt"
	at "$d" 12
	case $d in 3|17|27)   # a second edit that day: only the later one is "daily"
		write a.txt
		at "$d" 13 ;;
	esac
}

paths() { echo / "$(dirname "$T")" "$T" "$D" "$D/a.txt" "$D/b.txt" "$D/c.txt"; }
snap() { retexpect.py snap "$T/$1.json" $(paths | tr ' ' '\n' | grep -v '^/$'); }
# check NAME DAILY WEEKLY: the versions left are exactly the expected ones
check() {
	snap "$1"
	retexpect.py versions "$T/$1.json" >"$T/$1.got"
	[ "$(cat "$T/$1.got")" = "$(cat "$T/$1.want")" ] ||
		{ echo "want $(cat "$T/$1.want")"; echo "got  $(cat "$T/$1.got")"; fail "$1: kept versions"; }
}
nver() { vigil log "phone1:$D/a.txt" --json | jq length; }

note "30 days of edits"
for d in $(seq 1 27); do edit_day "$d"; done
snap before
retexpect.py expect "$T/before.json" 7 4 >"$T/cli.want"
[ "$(nver)" = 30 ] || fail "history: $(nver) versions of a.txt"

note "retain --keep-daily 7 --keep-weekly 4 (applied by the command)"
"$BIN/vigil-server" retain "$T/srv" phone1 --keep-daily 7 --keep-weekly 4 --json >"$T/set.json"
jqe '.devices[0].dropped > 20 and .devices[0].on_hold == false' <"$T/set.json" >/dev/null ||
	{ cat "$T/set.json"; fail "retain did not drop"; }
check cli
[ "$(nver)" -lt 14 ] || fail "a.txt kept $(nver) versions"

note "days 28-30: the server's background pass prunes"
for d in 28 29 30; do edit_day "$d"; done
snap more
retexpect.py expect "$T/more.json" 7 4 >"$T/bg.want"
bg_done() {
	snap bgpoll && [ "$(retexpect.py versions "$T/bgpoll.json")" = "$(cat "$T/bg.want")" ]
}
wait_for 30 "the background pass" bg_done
check bg

note "a freeze holds the device"
vigil freeze phone1 >/dev/null
"$BIN/vigil-server" retain "$T/srv" phone1 --keep-daily 3 --keep-weekly 1 --json >"$T/held.json"
jqe '.devices[0].on_hold and .devices[0].dropped == 0' <"$T/held.json" >/dev/null ||
	{ cat "$T/held.json"; fail "held device pruned"; }
cp "$T/bg.want" "$T/held.want"
check held
"$BIN/vigil-server" retain "$T/srv" --show --json |
	jqe '.devices[0].on_hold and (.devices[0].hold | startswith("freeze"))' >/dev/null ||
	fail "--show does not say on hold"

note "--release-hold: recorded, then the policy applies"
snap beforerel
retexpect.py expect "$T/beforerel.json" 3 1 >"$T/released.want"
# a version the release will drop: read before, a clean ENOENT after
gone=$(jq -n --slurpfile h "$T/held.want" --slurpfile r "$T/released.want" --arg p "$D/a.txt" \
	'($h[0][$p] - $r[0][$p])[0]')
[ "$gone" != null ] || fail "the tighter policy drops no version of a.txt"
vigil get "phone1:$D/a.txt" --version "$gone" -o "$T/pre" || fail "get --version $gone before"
"$BIN/vigil-server" retain "$T/srv" phone1 --release-hold --json >"$T/rel.json"
jqe '.released and .applied.dropped > 0' <"$T/rel.json" >/dev/null || { cat "$T/rel.json"; fail "release"; }
check released
rc=0
vigil get "phone1:$D/a.txt" --version "$gone" -o "$T/post" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "get of a dropped version: exit $rc, not 1"
[ ! -e "$T/post" ] || fail "a dropped version's get left a file"
vigil status phone1 --json | jqe '[.events[] | select(.kind == "hold-released")] | length == 1' \
	>/dev/null || fail "no hold-released event in status"

note "get --at each kept version's time is byte-exact"
n=0
for f in a.txt b.txt; do
	vigil log "phone1:$D/$f" --json >"$T/log.$f.json"
	for row in $(jq -r '.[] | select(.deleted | not) | "\(.version)=\(.time)=\(.sha256)"' \
		     "$T/log.$f.json"); do
		v=${row%%=*} t=${row#*=} sha=${row##*=}
		t=${t%=*}
		rm -f "$T/got"
		vigil get "phone1:$D/$f" --at "$t" -o "$T/got" || fail "get --at $t ($f v$v)"
		cmp "$T/got" "$T/exp/$sha" || fail "$f version $v at $t differs from what was written"
		n=$((n + 1))
	done
done
[ "$n" -ge 5 ] || fail "only $n kept versions checked"
echo ok
