# t_live.sh — vigild run keeps the server current: a change made while it
# runs reaches the server by itself; a change made while it was killed is
# found at restart; a persistent queue survives kill -9.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D/sub"
echo one >"$D/a.txt"

vigild_run() {
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
		--watch "$D" --tracker "${TRACKER:-auto}" >>"$T/vigild.log" 2>&1 &
	VPID=$!
	PIDS="$PIDS $VPID"
}
has_content() { # PATH CONTENT
	rm -f "$T/probe"
	vigil get "phone1:$1" -o "$T/probe" >/dev/null 2>&1 && [ "$(cat "$T/probe")" = "$2" ]
}

vigild_run
wait_for 30 "initial file" has_content "$D/a.txt" one

note "a change while running"
echo two >"$D/a.txt"
wait_for 30 "edit shipped" has_content "$D/a.txt" two
echo new >"$D/sub/b.txt"
wait_for 30 "new file shipped" has_content "$D/sub/b.txt" new

note "status reports the tracker"
wait_for 30 "tracker counters in status" sh -c "'$BIN/vigild' status --state '$T/state-phone1' --json |
	jqe '(.tracker | length > 0) and (.tracker == \"scan\" or (.tracker_counters.events > 0))'"

note "kill -9, change while down, restart"
kill -9 "$VPID"
wait "$VPID" 2>/dev/null || true
echo three >"$D/a.txt"
rm "$D/sub/b.txt"
vigild_run
wait_for 30 "change made while down" has_content "$D/a.txt" three
wait_for 30 "delete made while down" sh -c "'$BIN/vigil' log 'phone1:$D/sub/b.txt' --json | jqe '.[-1].deleted'"

note "server down for a while: nothing lost"
server_stop
echo four >"$D/a.txt"
sleep 2
server_start
wait_for 60 "change made while server was down" has_content "$D/a.txt" four
echo ok
