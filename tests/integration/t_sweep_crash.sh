#!/bin/bash
# t_sweep_crash.sh — a sweep killed at random points (SIGKILL from its own
# crash points: VIGIL_SWEEP_CRASH_AT=N, a test hook; inside deletion
# transactions, between a commit and its punch, while marking) loses no
# live version, and the next sweep finishes the job: 20 rounds, each
# dropping two more old versions (by SQL, standing in for retention), half
# of them by `vigil-server sweep --max-unused 0` without a server (every
# other one of those killed at a compaction point: VIGIL_SWEEP_CRASH_IN=
# compact), half by a server sweeping continuously; then every version
# still in the index reads back byte-exact, no two rows name one record,
# `check --read-data` is clean and a last sweep finds nothing left.
. "$(dirname "$0")/lib.sh"

NF=24
server_start
enroll_pair phone1
D=$T/data V=$T/v
mkdir -p "$D" "$V"
for i in $(seq 1 $NF); do head -c $(( (RANDOM % 160 + 40) * 1024 )) /dev/urandom >"$D/f$i"; done
for n in 1 2 3; do
	if [ "$n" -gt 1 ]; then   # v2: one block changed (shares the rest); v3: half new
		for i in $(seq 1 $NF); do
			if [ "$n" = 2 ]; then
				head -c 4096 /dev/urandom | dd of="$D/f$i" bs=4096 seek=3 conv=notrunc 2>/dev/null
			else
				head -c 32768 /dev/urandom | dd of="$D/f$i" bs=32768 seek=1 conv=notrunc 2>/dev/null
			fi
		done
	fi
	vigild_once phone1 "$D"
	for i in $(seq 1 $NF); do cp "$D/f$i" "$V/f$i.$n"; done
done
server_stop

sql() { sqlite3 -cmd ".timeout 10000" "$T/srv/index.db" "$@"; }
vcount() { sql "SELECT count(*) FROM versions WHERE path = CAST('$D/f$1' AS BLOB) AND version = $2"; }
[ "$(vcount 1 1)" = 1 ] && [ "$(vcount $NF 3)" = 1 ] || fail "versions not as expected"

crashed=0 in_compact=0
for round in $(seq 1 20); do
	for k in 1 2; do   # two more old versions dropped (never a latest one)
		i=$((RANDOM % NF + 1)) n=$((RANDOM % 2 + 1))
		sql "DELETE FROM versions WHERE path = CAST('$D/f$i' AS BLOB) AND version = $n"
	done
	N=$((RANDOM % (round % 2 ? 15 : 60) + 1))   # offline: ~15 points a sweep
	IN=any
	if [ $((round % 4)) = 3 ]; then   # compaction: 2-3 points a pack
		N=$((RANDOM % 3 + 1)) IN=compact
	fi
	if [ $((round % 2)) = 1 ]; then
		set +e
		{ VIGIL_TEST_HOOKS=1 VIGIL_SWEEP_CRASH_AT=$N VIGIL_SWEEP_CRASH_IN=$IN \
			"$BIN/vigil-server" sweep "$T/srv" --max-unused 0; } >>"$T/sweeps.log" 2>&1
		rc=$?
		set -e
		[ "$rc" = 0 ] || [ "$rc" = 137 ] || fail "round $round: sweep exit $rc"
		[ "$rc" = 137 ] && [ "$IN" = compact ] && in_compact=$((in_compact + 1))
	else
		{ VIGIL_TEST_HOOKS=1 VIGIL_SWEEP_CONTINUOUS=1 VIGIL_SWEEP_CRASH_AT=$N \
			"$BIN/vigil-server" run "$T/srv" & } >>"$T/server.log" 2>&1
		pid=$!
		PIDS="$PIDS $pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -0 "$pid" 2>/dev/null && fail "round $round: the server never reached crash point $N"
		set +e
		wait "$pid" 2>/dev/null
		rc=$?
		set -e
		[ "$rc" = 137 ] || fail "round $round: server exit $rc (not its crash point)"
	fi
	[ "$rc" = 137 ] && crashed=$((crashed + 1))
done
[ "$crashed" -ge 10 ] || fail "only $crashed of 20 rounds crashed mid-sweep"
[ "$in_compact" -ge 2 ] || fail "only $in_compact of 5 rounds crashed mid-compaction"

note "the next sweep finishes the job"
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/fin.json" || fail "final sweep failed"
[ "$(sqlite3 "$T/srv/store/chunks.db" "SELECT count(*) FROM sweep_punch")" = 0 ] || fail "punch journal left"
[ -z "$(sqlite3 "$T/srv/store/chunks.db" "SELECT pack, off FROM chunks GROUP BY pack, off HAVING count(*) > 1")" ] ||
	fail "two rows name one record"
[ -z "$(sqlite3 "$T/srv/store/chunks.db" "SELECT pack FROM packs EXCEPT SELECT DISTINCT pack FROM chunks")" ] ||
	fail "a packs row without chunks left after the final sweep"
"$BIN/vigil-server" check "$T/srv" --read-data >"$T/check.out" 2>&1 || fail "check: $(cat "$T/check.out")"
server_start
live=0
for i in $(seq 1 $NF); do
	for n in 1 2 3; do
		[ "$(vcount "$i" "$n")" = 1 ] || continue
		rm -f "$T/got"
		vigil get "phone1:$D/f$i" --version "$n" -o "$T/got" || fail "get f$i v$n"
		cmp -s "$T/got" "$V/f$i.$n" || fail "f$i v$n differs"
		live=$((live + 1))
	done
done
"$BIN/vigil-server" sweep "$T/srv" --json >"$T/last.json" || fail "last sweep failed"
jqe '.deleted == 0' <"$T/last.json" >/dev/null || fail "left for the last sweep: $(cat "$T/last.json")"
echo "t_sweep_crash: ok ($crashed of 20 rounds crashed, $in_compact in compaction, $live live versions byte-exact," \
	"final sweep deleted $(jq .deleted <"$T/fin.json"))"
