#!/bin/bash
# bench/sweep_bench.sh — the sweeper's cost and what it gives back
# (issue 12, "Sweeping, while ingest runs"; docs/store-format.md).
#
# Part 1, ingest during a sweep: loadgen (bench/loadgen*.c) pushes small
# edits (PUSHERS pushers, DURATION s) against a server whose store holds a
# history (PREFILL s of the same load, then half of the old versions
# dropped by SQL, standing in for retention); once with the server sweeping
# only when asked, once sweeping back to back (VIGIL_SWEEP_CONTINUOUS, a
# test hook), and once compacting: every second half of the older versions
# is dropped and `vigil-server sweep --max-unused 0` asked for (every pack
# with garbage rewritten).  Prints each run's close()-to-durable p50/p99,
# the sweeps made (and packs compacted away), and the server's CPU seconds.
#
# Part 2, against restic and borg on the same history: DAYS days of edits
# (EDIT_PCT % of a DATA_MB MB tree rewritten each day, a new file added),
# backed up by vigild, `restic backup` and `borg create`; then everything
# but the last KEEP days is dropped: vigil by SQL + `vigil-server sweep`,
# restic by `forget --keep-last KEEP --prune`, borg by `prune --keep-last
# KEEP` + `compact`.  Prints time (wall, and CPU seconds user+sys: the
# server's for vigil, the process's for restic and borg), space before and
# after (du: blocks on disk), and whether a
# backup could run meanwhile (for vigil: a day's backup during the sweep,
# timed against the same backup alone; restic and borg: a backup started
# half a second into the prune, which their repository lock refuses or
# delays).  Space is measured after the sweep or prune alone, except for
# borg, whose create may slip in between prune and compact.
#
# Appends to bench/results-sweep.txt (RESULTS= to write elsewhere).  PARTS="1 2"
# by default.  Needs make all, restic and borgbackup (scripts/install-deps.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
PARTS=${PARTS:-1 2}
PUSHERS=${PUSHERS:-8} DURATION=${DURATION:-30} PREFILL=${PREFILL:-30}
DAYS=${DAYS:-20} DATA_MB=${DATA_MB:-64} EDIT_PCT=${EDIT_PCT:-5} KEEP=${KEEP:-7}
RESULTS=${RESULTS:-$ROOT/bench/results-sweep.txt}
W=$(mktemp -d /tmp/vigil-sweep.XXXXXX)
SPID=""
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	[ "${KEEP_DIR:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT INT TERM

PORT=$(( (RANDOM % 20000) + 30000 ))
srv_up() {   # srv_up DIR [env...]: a server on PORT
	local d=$1
	shift
	env "$@" "$BIN/vigil-server" run "$d" >>"$W/server.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do ss -ltnH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
}
srv_down() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""; }
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
sql() { sqlite3 -cmd ".timeout 20000" "$1/index.db" "$2"; }
kb() { du -sk "$1" | cut -f1; }

# pack files removed so far (numbers are never reused)
packs_gone() {
	local top
	top=$(ls "$1/store/packs" | sort | tail -1)
	top=$((10#${top%.pack}))
	echo $((top - $(ls "$1/store/packs" | wc -l)))
}
# while $W/stop is absent: half the older versions dropped, then a sweep
# that compacts every pack with garbage, asked of the running server
compactor() {
	while [ ! -e "$W/stop" ]; do
		sql "$1" "DELETE FROM versions WHERE id % 2 = 0 AND version < (SELECT max(v.version)
			FROM versions v WHERE v.dev = versions.dev AND v.path = versions.path)"
		"$BIN/vigil-server" sweep "$1" --max-unused 0 >>"$W/compactor.txt" 2>&1 || true
		sleep 1
	done
}
# CPU seconds (user+sys) and wall ms of a command: "cpu wall" on fd 3
timed() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f "%U %S" -o "$W/time.out" "$@"
	t1=$(date +%s%N)
	echo "$(awk '{ printf "%.2f", $1 + $2 }' "$W/time.out") $(( (t1 - t0) / 1000000 ))" >&3
}

part1() {
	local s=$W/p1 d rep
	make -s -C "$ROOT" build/bench/loadgen >/dev/null
	"$BIN/vigil-server" init "$s" --listen "127.0.0.1:$PORT" >/dev/null
	"$BIN/vigil-server" enroll "$s" --controller bench --out "$W/ctl.bundle" >/dev/null
	for d in $(seq 0 $((PUSHERS - 1))); do
		"$BIN/vigil-server" enroll "$s" --device "dev$d" --out "$W/dev$d.bundle" >/dev/null
	done
	lg() {
		"$ROOT/build/bench/loadgen" --server "127.0.0.1:$PORT" --dir "$W" --ctl "$W/ctl.bundle" \
			--vigil "$BIN/vigil" --devices "$PUSHERS" --per-dev 1 --pushers "$PUSHERS" \
			--duration "$1" --size 65536 --server-pid "$SPID"
	}
	srv_up "$s"
	lg "$PREFILL" >"$W/prefill.txt"
	srv_down
	sql "$s" "DELETE FROM versions WHERE id % 2 = 0 AND version < (SELECT max(v.version)
		FROM versions v WHERE v.dev = versions.dev AND v.path = versions.path)"
	"$BIN/vigil-server" sweep "$s" >"$W/first-sweep.txt"
	for mode in quiet sweeping compacting; do
		if [ "$mode" = sweeping ]; then
			srv_up "$s" VIGIL_TEST_HOOKS=1 VIGIL_SWEEP_CONTINUOUS=1; else srv_up "$s"; fi
		seq0=$("$BIN/vigil-server" retain "$s" --show --json 2>/dev/null | jq '.sweep.seq // 0' || echo 0)
		p0=$(packs_gone "$s")
		[ "$mode" = compacting ] && { compactor "$s" & CPID=$!; }
		lg "$DURATION" >"$W/$mode.txt" || true
		cpu=$(cpu_s "$SPID")
		[ "$mode" = compacting ] && { touch "$W/stop"; wait "$CPID" || true; rm -f "$W/stop"; }
		seq1=$("$BIN/vigil-server" retain "$s" --show --json 2>/dev/null | jq '.sweep.seq // 0' || echo 0)
		srv_down
		rep=$(grep -E '^pushes|^close\(\) to PUT_DONE' "$W/$mode.txt" | tr -s ' ' | paste -sd ';')
		echo "ingest, $mode: $rep; $(( ${seq1:-0} - ${seq0:-0} )) sweeps," \
			"$(( $(packs_gone "$s") - p0 )) packs compacted away; server CPU ${cpu} s"
	done
	echo "versions: $(sql "$s" "SELECT count(*) FROM versions"); first sweep: $(cat "$W/first-sweep.txt")"
}

# one day of edits of the tree $1: EDIT_PCT % of its files rewritten, one added
day_edit() {
	local n=$(ls "$1" | wc -l) k=$(( $(ls "$1" | wc -l) * EDIT_PCT / 100 + 1 ))
	for f in $(ls "$1" | shuf -n "$k"); do head -c 262144 /dev/urandom >"$1/$f"; done
	head -c 262144 /dev/urandom >"$1/new$n"
}

part2() {
	local s=$W/p2 data=$W/data t0 t1 r
	mkdir -p "$data"
	for i in $(seq 1 $((DATA_MB * 4))); do head -c 262144 /dev/urandom >"$data/f$i"; done
	"$BIN/vigil-server" init "$s" --listen "127.0.0.1:$PORT" >/dev/null
	"$BIN/vigil-server" enroll "$s" --device phone --out "$W/phone.bundle" >/dev/null
	export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	restic init -q -r "$W/restic" >/dev/null
	borg init -e none "$W/borg" >/dev/null 2>&1
	srv_up "$s"
	for day in $(seq 1 "$DAYS"); do
		[ "$day" = 1 ] || day_edit "$data"
		# what restic's and borg's --keep-last KEEP keep: the snapshots of
		# the last KEEP days; vigil drops the versions superseded before
		[ "$day" = $((DAYS - KEEP + 2)) ] && cut_ns=$(date +%s%N)
		"$BIN/vigild" once --bundle "$W/phone.bundle" --state "$W/vstate" --watch "$data" \
			>>"$W/vigild.log" 2>&1
		restic -q -r "$W/restic" backup "$data" >/dev/null
		borg create "$W/borg::day$day" "$data" >/dev/null 2>&1
	done
	echo "history: $DAYS days of a ${DATA_MB} MB tree, ${EDIT_PCT} % rewritten a day; keep the last $KEEP"
	sql "$s" "DELETE FROM versions WHERE EXISTS (SELECT 1 FROM versions n WHERE n.dev = versions.dev
		AND n.path = versions.path AND n.version > versions.version AND n.recv_ns < $cut_ns)"
	r=$(kb "$s/store/packs")
	c0=$(cpu_s "$SPID")
	t0=$(date +%s%N)
	"$BIN/vigil-server" sweep "$s" --json >"$W/vsweep.json"
	t1=$(date +%s%N)
	echo "vigil sweep (compaction at the default --max-unused): $(( (t1 - t0) / 1000000 )) ms," \
		"server CPU $(awk -v a="$c0" -v b="$(cpu_s "$SPID")" 'BEGIN { printf "%.2f", b - a }') s;" \
		"packs $r KB -> $(kb "$s/store/packs") KB; $(cat "$W/vsweep.json")"
	# backups during a sweep: one more day dropped, its sweep run while the
	# next day's backup goes on (and the same backup alone, for scale)
	day_edit "$data"
	t0=$(date +%s%N)
	"$BIN/vigild" once --bundle "$W/phone.bundle" --state "$W/vstate" --watch "$data" \
		>>"$W/vigild.log" 2>&1
	t1=$(date +%s%N)
	sql "$s" "DELETE FROM versions WHERE EXISTS (SELECT 1 FROM versions n WHERE n.dev = versions.dev
		AND n.path = versions.path AND n.version > versions.version AND n.recv_ns < $t0)"
	day_edit "$data"
	t2=$(date +%s%N)
	"$BIN/vigild" once --bundle "$W/phone.bundle" --state "$W/vstate" --watch "$data" \
		>>"$W/vigild.log" 2>&1 &
	vp=$!
	"$BIN/vigil-server" sweep "$s" --json >"$W/vsweep2.json"
	t3=$(date +%s%N)
	wait "$vp" && vok=yes || vok=no
	t4=$(date +%s%N)
	echo "vigil backup during a sweep: $vok, $(( (t4 - t2) / 1000000 )) ms (alone:" \
		"$(( (t1 - t0) / 1000000 )) ms; the sweep took $(( (t3 - t2) / 1000000 )) ms)"
	srv_down
	r=$(kb "$W/restic")
	timed restic -q -r "$W/restic" forget --keep-last "$KEEP" --prune >"$W/restic-prune.log" 2>&1 \
		3>"$W/restic-time" &
	pp=$!
	sleep 0.5
	restic -q -r "$W/restic" backup "$data" >"$W/restic-during.log" 2>&1 && rok=yes || rok=no
	wait "$pp"
	read -r c t <"$W/restic-time"
	echo "restic forget --prune: $t ms, CPU $c s; repo $r KB -> $(kb "$W/restic") KB;" \
		"a backup during it: $rok ($(head -c 120 "$W/restic-during.log" | tr '\n' ' '))"
	r=$(kb "$W/borg")
	{ timed borg prune --keep-last "$KEEP" "$W/borg" 3>"$W/borg-time1" &&
	  timed borg compact "$W/borg" 3>"$W/borg-time2"; } >"$W/borg-prune.log" 2>&1 &
	pp=$!
	sleep 0.5
	borg create "$W/borg::during" "$data" >"$W/borg-during.log" 2>&1 && bok=yes || bok=no
	wait "$pp"
	read -r c t <"$W/borg-time1"
	read -r c2 t2 <"$W/borg-time2"
	echo "borg prune+compact: $((t + t2)) ms, CPU $(awk -v a="$c" -v b="$c2" 'BEGIN { printf "%.2f", a + b }') s;" \
		"repo $r KB -> $(kb "$W/borg") KB; a backup during it: $bok ($(head -c 120 "$W/borg-during.log" | tr '\n' ' '))"
}

{
	echo "== sweep bench, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load average" \
		"$(cut -d' ' -f1-3 /proc/loadavg), $(git -C "$ROOT" rev-parse --short HEAD)"
	for p in $PARTS; do "part$p"; done
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$RESULTS"
