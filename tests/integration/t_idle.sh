# t_idle.sh — `vigild run` with nothing changing sleeps (issue 13; docs/daemon.md,
# "Idle and battery"): after the first backup, IDLE_S (40) seconds with no
# change, and the context switches of all of vigild's threads (voluntary +
# nonvoluntary, /proc/PID/task/*/status) stay under a small bound.  No
# timing is asserted: a kernel timer cannot make the count flaky, only a
# timer of vigild's own (a 50 ms tick, a 1 s nap, a 10 s ping) can, and
# one of those alone passes the bound within seconds.  Then an edit made
# after the idle period still reaches the server: waking on data works;
# and (fanotify) a server restart is seen without a timer: vigild shows
# itself disconnected, then connected again, with nothing to ship.
#
# Both trackers run at once, each its own vigild (devices phone1 and
# phone2) on a tree of its own, and idle over the same IDLE_S seconds (the
# test's length is one settle and one idle period, not two).  Each tree
# lies on a tmpfs of its own: the fanotify tracker marks a whole
# filesystem, so this machine's other writers cannot reach it, and its
# bound is plain (3).  The bpf tracker sees every path operation by
# absolute path on the machine and every io_uring call it cannot itemise
# (a rescan): what others do on a busy machine wakes it, and its bound
# allows for what its counters say came in (each record: at most two
# wake-ups of the loop, the one it woke and the tick after; each rescan:
# the intake, the shippers, the link), so on a quiet machine it is 3 too.
. "$(dirname "$0")/lib.sh"

IDLE_S=${IDLE_S:-40}
TRKS="fanotify bpf"
server_start
enroll_pair phone1
enroll_pair phone2

# switches PID: context switches of all its threads; threads PID: by thread
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
threads() {
	for t in /proc/"$1"/task/*; do
		echo "  $(cat "$t/comm"): $(awk '/ctxt_switches/ { s += $2 } END { print s }' "$t/status")"
	done
}
tc() { "$BIN/vigild" status --state "$T/state-$1" --json | jq ".tracker_counters.$2 // 0"; }
versions() { vigil log "$1:$2" --json | jq length; }
dev() { case "$1" in fanotify) echo phone1 ;; *) echo phone2 ;; esac; }

declare -A VP E0 R0 S0
for TRK in $TRKS; do
	D=$T/data-$TRK
	mkdir -p "$D"
	mount -t tmpfs -o size=16m "vigil-t-idle-$TRK" "$D" || fail "mount a tmpfs"
	MOUNTS="$MOUNTS $D"
	for i in $(seq 20); do head -c 2048 /dev/urandom >"$D/f$i"; done
	"$BIN/vigild" run --bundle "$T/$(dev "$TRK").bundle" --state "$T/state-$TRK" --watch "$D" \
		--tracker "$TRK" >>"$T/vigild-$TRK.log" 2>&1 &
	VP[$TRK]=$!
	PIDS="$PIDS ${VP[$TRK]}"
done
for TRK in $TRKS; do
	D=$T/data-$TRK
	wait_for 60 "$TRK: the first backup" sh -c "[ \"\$('$BIN/vigil' log '$(dev "$TRK"):$D/f20' --json | jq length)\" -ge 1 ]"
	vigild_settled "$T/state-$TRK"
done
# a tracker's last slots released (2.1 s), the last report sent, the
# shipping connections beyond shipper 0's closed (30 s after their
# last work, daemon/worker.c CONN_KEEP_NS)
sleep 33
for TRK in $TRKS; do E0[$TRK]=$(tc "$TRK" events) R0[$TRK]=$(tc "$TRK" rescans); done
sleep 0.5   # the status requests' own turns (loop, intake) are over
for TRK in $TRKS; do
	S0[$TRK]=$(switches "${VP[$TRK]}")
	threads "${VP[$TRK]}" >"$T/threads0-$TRK"
done
note "$TRKS: $IDLE_S s with nothing changing"
sleep "$IDLE_S"
for TRK in $TRKS; do
	s1=$(switches "${VP[$TRK]}")
	threads "${VP[$TRK]}" >"$T/threads1-$TRK"
	kill -0 "${VP[$TRK]}" || fail "$TRK: vigild exited"
	e1=$(tc "$TRK" events) r1=$(tc "$TRK" rescans)
	n=$((s1 - S0[$TRK]))
	bound=$((3 + 2 * (e1 - E0[$TRK]) + 40 * (r1 - R0[$TRK])))
	note "$TRK: $n context switches in $IDLE_S s (bound $bound; tracker records $((e1 - E0[$TRK])), rescans $((r1 - R0[$TRK])))"
	if [ "$n" -gt "$bound" ]; then
		paste "$T/threads0-$TRK" "$T/threads1-$TRK"
		fail "$TRK: vigild woke $n times in $IDLE_S s with nothing changing (bound $bound)"
	fi
done

for TRK in $TRKS; do
	D=$T/data-$TRK
	note "$TRK: an edit after the idle period reaches the server"
	v0=$(versions "$(dev "$TRK")" "$D/f1")
	echo "edited after idle" >>"$D/f1"
	wait_for 20 "$TRK: the edit on the server" sh -c "[ \"\$('$BIN/vigil' log '$(dev "$TRK"):$D/f1' --json | jq length)\" -gt $v0 ]"
	same_file "$(dev "$TRK")" "$D/f1" "$D/f1"
done
# (fanotify) no shipper naps on a timer: the connection's end wakes them,
# and shipper 0 connects again by itself, with nothing to ship
note "fanotify: the server restarts while vigild idles"
server_stop
wait_for 30 "fanotify: status says not connected" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state-fanotify' --json | jq -r .connected)\" = false ]"
server_start
wait_for 60 "fanotify: connected again" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state-fanotify' --json | jq -r .connected)\" = true ]"
for TRK in $TRKS; do
	kill "${VP[$TRK]}"
	wait "${VP[$TRK]}" 2>/dev/null || true
done
echo "t_idle: ok"
