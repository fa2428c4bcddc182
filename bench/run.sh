#!/bin/bash
# bench/run.sh — vigil against rsync, rdiff and restic on the same edits, in
# one run: bytes on the wire, store growth, wall and CPU time.
#
#   ovw:    a 256 MiB random file, 4 KiB overwritten in the middle
#   ins:    the same file with 100 bytes inserted near its start
#   sqlite: a 64 MiB SQLite database after 100 row updates and 100 inserts
#
# Each tool first gets the base version (not measured), then the edited one
# (measured).  vigil: vigil-server + `vigild once` on 127.0.0.1; rsync: an
# rsync daemon on 127.0.0.1 (--no-whole-file --inplace, -B 4096 for SQLite;
# rsync-tmp: the same without --inplace);
# rdiff: signature + delta (no network: its "app bytes" are sig + delta);
# restic: a local repository (store growth only).  Prints a table with
# ratios and writes it to bench/results-latest.txt.
#
# Environment: BENCH_SIZE_MIB (256), BENCH_DB_MIB (64), BENCH_TOOLS
# ("vigil rsync rsync-tmp rdiff restic"), BENCH_SCENARIOS ("ovw ins sqlite"),
# VIGIL_BIN (build/bin), BENCH_KEEP=1 keeps the temp dir.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# A private network namespace makes lo's counters ours alone.
if [ "${BENCH_INNER:-}" != 1 ]; then
	if unshare -n true 2>/dev/null; then
		exec unshare -n env BENCH_INNER=1 BENCH_NETNS=1 "$0" "$@"
	fi
	export BENCH_INNER=1 BENCH_NETNS=0
fi
[ "$BENCH_NETNS" = 1 ] && ip link set lo up

. "$ROOT/bench/lib.sh"

SIZE_MIB=${BENCH_SIZE_MIB:-256}
DB_MIB=${BENCH_DB_MIB:-64}
TOOLS=${BENCH_TOOLS:-vigil rsync rsync-tmp rdiff restic}
SCENARIOS=${BENCH_SCENARIOS:-ovw ins sqlite}
BIN=${VIGIL_BIN:-$ROOT/build/bin}
OUT=$ROOT/bench/results-latest.txt
if [ "$BENCH_NETNS" = 1 ]; then
	VPORT=7445 RPORT=8730
else
	VPORT=$((20000 + RANDOM % 20000)) RPORT=$((40000 + RANDOM % 20000))
fi

W=$(mktemp -d /tmp/vigil-bench.XXXXXX) || exit 1
W=$(realpath "$W")
RESULTS=$W/results
SERVER_PID=""
cleanup() {
	stop_pid "$SERVER_PID"
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$RESULTS"
log() { echo "bench: $*" >&2; }

# --- inputs -----------------------------------------------------------------

# Deterministic pseudo-random bytes: AES-128-CTR keystream of a named key.
prng() { # KEYHEX BYTES
	openssl enc -aes-128-ctr -K "$1" -iv 00000000000000000000000000000000 \
		</dev/zero 2>/dev/null | head -c "$2"
}

make_files() {
	local mid=$((SIZE_MIB * 1048576 / 2 + 1000))
	log "making a ${SIZE_MIB} MiB file and its edits"
	prng 766967696c2d62656e63682d62617365 $((SIZE_MIB * 1048576)) >"$W/base.bin"
	cp "$W/base.bin" "$W/ovw.bin"
	prng 766967696c2d62656e63682d6f767277 4096 >"$W/patch4k"
	dd if="$W/patch4k" of="$W/ovw.bin" bs=4096 count=1 seek="$mid" \
		oflag=seek_bytes conv=notrunc status=none
	prng 766967696c2d62656e63682d696e7372 100 >"$W/patch100"
	{ head -c 5000 "$W/base.bin"; cat "$W/patch100"; tail -c +5001 "$W/base.bin"; } >"$W/ins.bin"
	OVW_OFF=$mid
}

make_db() {
	local rows=$((DB_MIB * 2048))   # ~512 bytes a row
	log "making a ${DB_MIB} MiB SQLite database"
	sqlite3 "$W/base.db" <<-EOF >/dev/null
		PRAGMA page_size=4096; PRAGMA journal_mode=DELETE;
		CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT, phone TEXT, note BLOB);
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < $rows)
		INSERT INTO contacts SELECT i, 'name' || i, '+86138' || printf('%08d', i),
		                            randomblob(450) FROM c;
	EOF
	cp "$W/base.db" "$W/new.db"
	sqlite3 "$W/new.db" <<-'EOF' >/dev/null
		UPDATE contacts SET phone = '+86139' || printf('%08d', id), note = randomblob(450)
		 WHERE id IN (SELECT id FROM contacts ORDER BY random() LIMIT 100);
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 100)
		INSERT INTO contacts(name, phone, note)
		     SELECT 'new' || i, '+86137' || printf('%08d', i), randomblob(450) FROM c;
	EOF
}

# scenario -> base file, new file, edit mode for vigil's watched copy
scen_files() {
	case $1 in
	ovw) S_BASE=$W/base.bin S_NEW=$W/ovw.bin S_EDIT=ovw S_BLOCK="" ;;
	ins) S_BASE=$W/base.bin S_NEW=$W/ins.bin S_EDIT=copy S_BLOCK="" ;;
	sqlite) S_BASE=$W/base.db S_NEW=$W/new.db S_EDIT=sqlite S_BLOCK=4096 ;;
	esac
}

. "$ROOT/bench/tools.sh"

# --- main -------------------------------------------------------------------

case " $SCENARIOS " in *" ovw "* | *" ins "*) make_files ;; esac
case " $SCENARIOS " in *" sqlite "*) make_db ;; esac
for s in $SCENARIOS; do
	scen_files "$s"
	for t in $TOOLS; do
		log "$s: $t"
		"bench_$t" "$s"
	done
done
"$ROOT/bench/report.sh" "$RESULTS" "$BENCH_NETNS" "$SIZE_MIB" "$DB_MIB" | tee "$OUT"
