# t_runnap.sh — `vigild run` while a file is written flat out: the idle
# shippers do not poll the queue, and the file still gets versions while it
# is written.  A 4 MiB watched file gets random pwrites for 8 s.  Before,
# every tracker pick-up (each 50 ms) moved its queue entry back to due and
# woke all 16 shippers, and the idle shippers looked every 50 ms while
# another shipped: ~16 looks a tick, thousands in 8 s (queue_scans).  Now
# the entry stays held while the writer is at it, the intake wakes the
# shippers only when an entry comes due before they would look anyway, and
# an idle shipper naps until the next due entry (with none, until woken:
# issue 13; at most 1 s before) or a release
# of what it had to step over (daemon/worker.c).
. "$(dirname "$0")/lib.sh"

[ "${TRACKER:-bpf}" = bpf ] || { echo "skip: needs the bpf tracker"; exit 0; }
server_start
enroll_pair phone1
D=$T/data
S=$T/state
mkdir -p "$D"
F=$D/hot.bin
head -c $((4 << 20)) /dev/urandom >"$F"

"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" \
	--tracker bpf >>"$T/vigild.log" 2>&1 &
PIDS="$PIDS $!"
versions() { vigil log "phone1:$F" --json | jq 'map(select(.deleted | not)) | length'; }
wait_for 30 "first version" sh -c "[ \"\$('$BIN/vigil' log 'phone1:$F' --json | jq length)\" = 1 ]"
vigild_settled "$S"
s0=$(vigild_counter "$S" queue_scans)

SECS=8
note "$SECS s of random pwrites, then close"
t0=$(date +%s%N)
/usr/bin/python3 "$ROOT/tests/integration/helpers/randwrite.py" "$F" "$SECS"
t1=$(date +%s%N)
wait_for 30 "the final bytes on the server" sh -c "rm -f '$T/got'; '$BIN/vigil' get 'phone1:$F' -o '$T/got' && cmp -s '$T/got' '$F'"
vigild_settled "$S"
s1=$(vigild_counter "$S" queue_scans)
ms=$(((t1 - t0) / 1000000))
# 16 shippers (SHIP_WORKERS), each at most one look per second of the
# writing, plus two or three around each version (it comes due, is held
# again, is released) and a few at the start and the end: 257-353 seen,
# 3,369 before (10.6 s, 5 versions)
nv=$(versions)
bound=$((16 * (ms / 1000 + 3 * nv + 6)))
note "$ms ms of writing: queue_scans $((s1 - s0)) (bound $bound), $nv versions"
[ "$((s1 - s0))" -gt 0 ] || fail "queue_scans not counted"
[ "$((s1 - s0))" -le "$bound" ] || fail "the shippers scanned the queue $((s1 - s0)) times in $ms ms"
# versions captured while it was written: every 2 s plus the capture
# (docs/daemon.md "A file that never stays still"); at least two in 8 s
during=$(vigil log "phone1:$F" --json | jq -r '.[] | select(.deleted | not) | .time' |
	while read -r t; do
		c=$(date -d "$t" +%s%N)
		[ "$c" -gt "$t0" ] && [ "$c" -lt "$t1" ] && echo "$c"
	done | wc -l)
[ "$during" -ge 2 ] || fail "only $during versions captured during $ms ms of writing"
echo ok
