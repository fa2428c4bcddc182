#!/bin/bash
# t_sweep_stress.sh — the sweeper forced to run back to back
# (VIGIL_SWEEP_CONTINUOUS, a test hook) while, in parallel, a device
# uploads edits that reuse old chunks (files put back to an earlier
# content, partial edits), old versions are dropped (by SQL, standing in
# for retention) and versions are read through `vigil get` and a mount,
# and sweeps asked with --max-unused 0 compact (packs rewritten under the
# readers, who locate their chunks again): every read gives the version's
# exact bytes or an error for a version dropped meanwhile, never other
# bytes; afterwards every version still in the index reads back
# byte-exact, a last sweep leaves them so and `check --read-data` is clean.  STRESS_S seconds of load
# (default 25; bench/sweep_stress.sh runs it for minutes).
. "$(dirname "$0")/lib.sh"

STRESS_S=${STRESS_S:-25}
NF=12
export VIGIL_TEST_HOOKS=1 VIGIL_SWEEP_CONTINUOUS=1
server_start
unset VIGIL_SWEEP_CONTINUOUS
enroll_pair phone1
D=$T/data V=$T/v
mkdir -p "$D" "$V" "$T/m"
sql() { sqlite3 -cmd ".timeout 20000" "$T/srv/index.db" "$@"; }

# $V/fI.N: the bytes of version N of fI, saved once the version is stored
# (whole, by a rename: the readers compare with it meanwhile)
record() {
	for i in $(seq 1 $NF); do
		n=$(sql "SELECT max(version) FROM versions WHERE path = CAST('$D/f$i' AS BLOB)")
		[ -e "$V/f$i.$n" ] || { cp "$D/f$i" "$T/rec.tmp" && mv "$T/rec.tmp" "$V/f$i.$n"; }
	done
}
for i in $(seq 1 $NF); do head -c $(( (RANDOM % 200 + 60) * 1024 )) /dev/urandom >"$D/f$i"; done
vigild_once phone1 "$D"
record

uploader() {   # edits that reuse old chunks, then one vigild once
	while [ ! -e "$T/stop" ]; do
		for k in 1 2 3; do
			i=$((RANDOM % NF + 1))
			case $((RANDOM % 3)) in
			0) old=$(ls "$V" | grep "^f$i\." | shuf -n 1); cp "$V/$old" "$D/f$i" ;;
			1) head -c 8192 /dev/urandom | dd of="$D/f$i" bs=8192 seek=$((RANDOM % 8)) conv=notrunc 2>/dev/null ;;
			2) head -c 16384 /dev/urandom >>"$D/f$i" ;;
			esac
		done
		vigild_once phone1 "$D"
		record
	done
}
dropper() {   # an old version (never a path's latest) now and then
	while [ ! -e "$T/stop" ]; do
		i=$((RANDOM % NF + 1))
		sql "DELETE FROM versions WHERE path = CAST('$D/f$i' AS BLOB) AND version = (SELECT min(version)
		     FROM versions WHERE path = CAST('$D/f$i' AS BLOB)) AND version < (SELECT max(version)
		     FROM versions WHERE path = CAST('$D/f$i' AS BLOB))"
		sleep 0.3
	done
}
alive() { [ "$(sql "SELECT count(*) FROM versions WHERE path = CAST('$D/$1' AS BLOB) AND version = $2")" = 1 ]; }
getter() {   # random versions by get: the right bytes or an error
	while [ ! -e "$T/stop" ]; do
		f=$(ls "$V" | shuf -n 1)
		rm -f "$T/g.out"
		if vigil get "phone1:$D/${f%.*}" --version "${f##*.}" -o "$T/g.out" 2>/dev/null; then
			cmp -s "$T/g.out" "$V/$f" || { cp "$T/g.out" "$T/bad.out"
				echo "get $f: wrong bytes ($(stat -c %s "$T/g.out") read," \
					"$(stat -c %s "$V/$f") recorded; $(cmp "$T/g.out" "$V/$f" 2>&1 | head -1))" >"$T/bad"; return; }
			echo ok >>"$T/gets"
		else   # only a version dropped meanwhile may fail (rows never come back)
			alive "${f%.*}" "${f##*.}" && { echo "get $f failed, still in the index" >"$T/bad"; return; }
			echo err >>"$T/gets"
		fi
	done
}
mounter() {   # the versions in .history at mount time, read over and over
	vigil mount phone1 "$T/m" || { echo "mount failed" >"$T/bad"; return; }
	while [ ! -e "$T/stop" ]; do
		for p in "$T/m/.history$D"/f*/*; do
			[ -e "$T/stop" ] && break
			n=${p##*/}; n=${n%%_*}; f=${p%/*}; f=${f##*/}
			# listed by the mount but not yet recorded by the uploader
			# (it records after `vigild once` returns): nothing to compare
			[ -e "$V/$f.$n" ] || continue
			if cat "$p" >"$T/m.out" 2>/dev/null; then
				cmp -s "$T/m.out" "$V/$f.$n" || { cp "$T/m.out" "$T/bad.out"
					echo "mount $f.$n: wrong bytes ($(stat -c %s "$T/m.out") read," \
						"$(stat -c %s "$V/$f.$n" 2>&1) recorded; $p;" \
						"$(cmp "$T/m.out" "$V/$f.$n" 2>&1 | head -1))" >"$T/bad"; return; }
				echo ok >>"$T/mreads"
			else
				alive "$f" "$n" && { echo "mount read $f.$n failed, still in the index" >"$T/bad"; return; }
				echo err >>"$T/mreads"
			fi
		done
	done
}
compactor() {   # sweeps that rewrite every pack with garbage in it
	while [ ! -e "$T/stop" ]; do
		"$BIN/vigil-server" sweep "$T/srv" --max-unused 0 --json >>"$T/compact.json" || return 1
		sleep 1
	done
}
MOUNTS="$T/m"
# (a helper that fails says so in $T/bad: fail would end only its subshell)
{ uploader || echo "uploader failed" >"$T/bad"; } & P1=$!
{ dropper || echo "dropper failed" >"$T/bad"; } & P2=$!
{ getter || echo "getter failed" >"$T/bad"; } & P3=$!
{ mounter || echo "mounter failed" >"$T/bad"; } & P4=$!
{ compactor || echo "compactor failed" >"$T/bad"; } & P5=$!
PIDS="$PIDS $P1 $P2 $P3 $P4 $P5"
sleep "$STRESS_S"
touch "$T/stop"
wait $P1 $P2 $P3 $P4 $P5 || true
fusermount3 -u "$T/m" 2>/dev/null || umount -l "$T/m" 2>/dev/null || true
[ -e "$T/bad" ] && fail "$(cat "$T/bad")"
kill -0 "$SERVER_PID" || fail "server died"
sweeps=$("$BIN/vigil-server" retain "$T/srv" --show --json | jq '.sweep.seq // 0')
[ "${sweeps:-0}" -ge 3 ] || fail "only ${sweeps:-0} sweeps ran"
# pack numbers are never reused: the ones missing below the highest were
# compacted away (by the back-to-back sweeps or the compactor's)
top=$(ls "$T/srv/store/packs" | sort | tail -1) top=$((10#${top%.pack}))
removed=$((top - $(ls "$T/srv/store/packs" | wc -l)))
[ "$removed" -gt 0 ] || fail "no pack was compacted away ($top packs made)"

note "every version in the index reads back; a last sweep keeps them"
"$BIN/vigil-server" sweep "$T/srv" >/dev/null || fail "last sweep"
server_stop
server_start   # (sweeps only when asked now)
live=0
for i in $(seq 1 $NF); do
	for n in $(sql "SELECT version FROM versions WHERE path = CAST('$D/f$i' AS BLOB)"); do
		rm -f "$T/got"
		vigil get "phone1:$D/f$i" --version "$n" -o "$T/got" || fail "get f$i v$n"
		cmp -s "$T/got" "$V/f$i.$n" || fail "f$i v$n differs"
		live=$((live + 1))
	done
done
"$BIN/vigil-server" check "$T/srv" --read-data >"$T/check.out" 2>&1 || fail "check: $(cat "$T/check.out")"
gets=$(grep -c ok "$T/gets" || true) gerr=$(grep -c err "$T/gets" || true)
mr=$(grep -c ok "$T/mreads" || true) merr=$(grep -c err "$T/mreads" || true)
[ "$gets" -gt 0 ] && [ "$mr" -gt 0 ] || fail "no reads went through ($gets gets, $mr mount reads)"
echo "t_sweep_stress: ok ($sweeps sweeps in ${STRESS_S}s, $removed of $top packs compacted away;" \
	"$gets gets right, $gerr refused;" \
	"$mr mount reads right, $merr refused; $live live versions byte-exact)"
