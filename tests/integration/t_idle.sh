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
# The tree lies on a tmpfs of its own: the fanotify tracker marks a whole
# filesystem, so this machine's other writers cannot reach it, and its
# bound is plain (3).  The bpf tracker sees every path operation by
# absolute path on the machine and every io_uring call it cannot itemise
# (a rescan): what others do on a busy machine wakes it, and its bound
# allows for what its counters say came in (each record: at most two
# wake-ups of the loop, the one it woke and the tick after; each rescan:
# the intake, the shippers, the link), so on a quiet machine it is 3 too.
. "$(dirname "$0")/lib.sh"

IDLE_S=${IDLE_S:-40}
server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
mount -t tmpfs -o size=16m vigil-t-idle "$D" || fail "mount a tmpfs"
MOUNTS="$MOUNTS $D"
for i in $(seq 20); do head -c 2048 /dev/urandom >"$D/f$i"; done

# switches PID: context switches of all its threads; threads PID: by thread
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
threads() {
	for t in /proc/"$1"/task/*; do
		echo "  $(cat "$t/comm"): $(awk '/ctxt_switches/ { s += $2 } END { print s }' "$t/status")"
	done
}
tc() { "$BIN/vigild" status --state "$S" --json | jq ".tracker_counters.$1 // 0"; }
versions() { vigil log "phone1:$1" --json | jq length; }

for TRK in fanotify bpf; do
	S=$T/state-$TRK
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" \
		--tracker "$TRK" >>"$T/vigild-$TRK.log" 2>&1 &
	VP=$!
	PIDS="$PIDS $VP"
	wait_for 60 "$TRK: the first backup" sh -c "[ \"\$('$BIN/vigil' log 'phone1:$D/f20' --json | jq length)\" -ge 1 ]"
	vigild_settled "$S"
	# a tracker's last slots released (2.1 s), the last report sent, the
	# shipping connections beyond shipper 0's closed (30 s after their
	# last work, daemon/worker.c CONN_KEEP_NS)
	sleep 33
	e0=$(tc events) r0=$(tc rescans)
	sleep 0.5   # the status request's own turn (loop, intake) is over
	s0=$(switches "$VP")
	threads "$VP" >"$T/threads0"
	note "$TRK: $IDLE_S s with nothing changing"
	sleep "$IDLE_S"
	s1=$(switches "$VP")
	threads "$VP" >"$T/threads1"
	kill -0 "$VP" || fail "$TRK: vigild exited"
	e1=$(tc events) r1=$(tc rescans)
	n=$((s1 - s0))
	bound=$((3 + 2 * (e1 - e0) + 40 * (r1 - r0)))
	note "$TRK: $n context switches in $IDLE_S s (bound $bound; tracker records $((e1 - e0)), rescans $((r1 - r0)))"
	if [ "$n" -gt "$bound" ]; then
		paste "$T/threads0" "$T/threads1"
		fail "$TRK: vigild woke $n times in $IDLE_S s with nothing changing (bound $bound)"
	fi

	note "$TRK: an edit after the idle period reaches the server"
	v0=$(versions "$D/f1")
	echo "edited after idle" >>"$D/f1"
	wait_for 20 "$TRK: the edit on the server" sh -c "[ \"\$('$BIN/vigil' log 'phone1:$D/f1' --json | jq length)\" -gt $v0 ]"
	same_file phone1 "$D/f1" "$D/f1"
	if [ "$TRK" = fanotify ]; then
		# no shipper naps on a timer: the connection's end wakes them,
		# and shipper 0 connects again by itself, with nothing to ship
		note "$TRK: the server restarts while vigild idles"
		server_stop
		wait_for 30 "$TRK: status says not connected" sh -c "[ \"\$('$BIN/vigild' status --state '$S' --json | jq -r .connected)\" = false ]"
		server_start
		wait_for 60 "$TRK: connected again" sh -c "[ \"\$('$BIN/vigild' status --state '$S' --json | jq -r .connected)\" = true ]"
	fi
	kill "$VP"
	wait "$VP" 2>/dev/null || true
done
echo "t_idle: ok"
