# t_offline.sh — offline for a while (issue 13): with the server stopped,
# thousands of edits to a few paths, plus creates, renames and deletes,
# are queued; the queue on disk (its rows: `vigild status --json`'s
# queue.files, and the state db's queue table) stays bounded by the
# distinct paths changed, not by the edits; then the server comes back and
# everything drains, oldest change first, and the server's latest versions
# equal the files byte for byte (deleted files deleted, renamed ones at
# their new path only); once idle, the write-ahead log the edits grew is
# truncated.
. "$(dirname "$0")/lib.sh"

EDITS=${EDITS:-2000}     # edits in all, spread over the 5 hot paths
ORDERED=48               # paths changed one after another, for the order

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D/o"
for i in 0 1 2 3 4; do echo "hot $i" >"$D/hot$i"; done
for f in ren1 ren2 del1 del2; do echo "$f before" >"$D/$f"; done
for i in $(seq -w 1 $ORDERED); do echo "ordered $i" >"$D/o/f$i"; done

"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state" --watch "$D" \
	--tracker "${TRACKER:-auto}" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
vstatus() { "$BIN/vigild" status --state "$T/state" --json; }
qrows() { vstatus | jq -r .queue.files; }
wait_for 60 "first backup" sh -c "'$BIN/vigil' ls 'phone1:$D/o' --json | jqe 'length == $ORDERED'"
vigild_settled "$T/state"

note "server stopped: $EDITS edits of 5 paths, creates, renames, deletes"
server_stop
wait_for 30 "vigild sees the server gone" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .connected)\" = false ]"
ev0=$(vstatus | jq .counters.events)
# the ordered paths first, one at a time (their first change is the oldest)
for i in $(seq -w 1 $ORDERED); do
	echo "ordered $i offline" >>"$D/o/f$i"
	sleep 0.03
done
max=0 round=0
while [ "$round" -lt $((EDITS / 5)) ]; do
	for i in 0 1 2 3 4; do
		head -c $((100 + (round * 7 + i) % 900)) /dev/urandom >"$D/hot$i"
	done
	round=$((round + 1))
	if [ $((round % 20)) = 0 ]; then
		n=$(qrows)
		[ "$n" -gt "$max" ] && max=$n
		sleep 0.05
	fi
done
echo "created offline" >"$D/new1"
echo "created, then renamed offline" >"$D/new2"
mv "$D/new2" "$D/new2.moved"
mv "$D/ren1" "$D/ren1.moved"
mv "$D/ren2" "$D/o/ren2"
rm "$D/del1" "$D/del2"
echo "created and deleted offline" >"$D/gone"
rm "$D/gone"
# the paths changed: the ordered ones, 5 hot, new1, new2, new2.moved,
# ren1, ren1.moved, ren2, o/ren2, del1, del2, gone, and the directories
# D and D/o
DISTINCT=$((ORDERED + 5 + 11 + 2))
wait_for 30 "the edits taken in" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq .counters.events)\" -ge $((ev0 + ORDERED + 100)) ]"
sleep 1
ev=$(($(vstatus | jq .counters.events) - ev0))
n=$(qrows)
[ "$n" -gt "$max" ] && max=$n
rows=$(sqlite3 "file:$T/state/state.db?mode=ro" 'SELECT count(*) FROM queue')
note "events taken in $ev, queue rows at most $max (now $rows, state.db $(stat -c %s "$T/state/state.db") bytes, -wal $(stat -c %s "$T/state/state.db-wal" 2>/dev/null || echo 0))"
[ "$max" -le "$DISTINCT" ] || fail "the queue grew to $max rows for $DISTINCT paths"
[ "$rows" -le "$DISTINCT" ] || fail "queue table: $rows rows for $DISTINCT paths"
[ "$rows" -ge $((ORDERED + 5)) ] || fail "queue table: $rows rows, the changes are not all queued"
# thousands of edits reached the queue, more than once per path: a queue
# per edit would be far past DISTINCT
[ "$ev" -gt $((2 * DISTINCT)) ] || fail "only $ev events taken in: the edits were not seen one by one"
vigil ls "phone1:$D" --json >/dev/null 2>&1 && fail "the server answers while stopped"

note "server back: the queue drains"
server_start
wait_for 120 "the queue drained" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" = 0 ]"
vigild_settled "$T/state"
# idle again: the write-ahead log the edits grew (4 MB) is given back
# (worker.c tidy: past 1 MiB it is checkpointed and truncated)
wait_for 30 "the state db's WAL truncated once idle" sh -c "[ \$(stat -c %s '$T/state/state.db-wal') -le 1048576 ]"
note "idle: state.db $(stat -c %s "$T/state/state.db") bytes, -wal $(stat -c %s "$T/state/state.db-wal")"
for f in hot0 hot1 hot2 hot3 hot4 new1 new2.moved ren1.moved o/ren2; do
	same_file phone1 "$D/$f" "$D/$f"
done
for i in $(seq -w 1 $ORDERED); do same_file phone1 "$D/o/f$i" "$D/o/f$i"; done
for f in del1 del2 ren1 ren2 new2 gone; do
	vigil ls "phone1:$D" --json | jqe --arg p "$D/$f" 'map(select(.path == $p)) | length == 0' >/dev/null ||
		fail "$f is still on the server"
done
vigil log "phone1:$D/del1" --json | jqe '.[-1].deleted == true' >/dev/null || fail "del1's latest version is not a deletion"

# oldest change first: the ordered paths' new versions were captured in
# about the order of their first offline change (16 shippers take in
# parallel, so only the first and the last eighth are compared)
times=$T/times
for i in $(seq -w 1 $ORDERED); do
	date -d "$(vigil log "phone1:$D/o/f$i" --json | jq -r '.[-1].time')" +%s%N
done >"$times"
k=$((ORDERED / 8))
early=$(head -n "$k" "$times" | sort -n | tail -n 1)
late=$(tail -n "$k" "$times" | sort -n | head -n 1)
note "the first $k changed were captured by $early ns, the last $k from $late ns"
[ "$early" -le "$late" ] || fail "the queue did not drain oldest first: $early after $late"
echo ok
