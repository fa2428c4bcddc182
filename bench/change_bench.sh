#!/bin/bash
# bench/change_bench.sh — what one change costs, side by side in one run.
#
# (a) a BIG file (BENCH_BIG_MIB, default 1024 MiB) shipped once, then a
#     4 KiB pwrite in its middle, three ways:
#       ranges: `vigild run --tracker bpf` (the edit arrives as written ranges)
#       delta:  `vigild once` after the same edit (no ranges: librsync delta)
#       rsync:  an rsync daemon on 127.0.0.1, client -t --no-whole-file --inplace
#     For each: bytes the device read (vigild's bytes_read counter = bytes of
#     the file; rchar = every read() incl. sockets and its own state files;
#     read_bytes = from the block device, ~0 here since the page cache is
#     warm), device CPU (utime+stime of vigild / the rsync client), server
#     CPU (vigil-server / rsync daemon incl. its reaped children), and the
#     time from the write to the durable version (the new version's recv_ns
#     in the server's DIR/index.db, read-only, minus the write's end; rsync:
#     write to the client's exit — the rsync daemon does not fsync).
# (b) 10 changed files out of BENCH_FILES (20000) small files, all shipped
#     first; time until all 10 are on the server: vigild run --tracker bpf,
#     then --tracker fanotify (the same state, restarted), `rsync -a` of the
#     tree to the rsync daemon, and a second `restic backup` if installed.
#
# Prints a table with ratios and appends it to bench/results-change.txt.
# Standalone: copies build/bin into its temp dir first (a relink elsewhere
# cannot swap binaries under it), only 127.0.0.1, every wait bounded,
# removes everything on exit (BENCH_KEEP=1 keeps the temp dir).  Needs root
# (bpf, fanotify), sqlite3, jq, python3, openssl, rsync; restic optional.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"

BIG_MIB=${BENCH_BIG_MIB:-1024}
NFILES=${BENCH_FILES:-20000}
NCHG=10
OUT=${BENCH_OUT:-$ROOT/bench/results-change.txt}
[ "$(id -u)" = 0 ] || { echo "change_bench: needs root (bpf, fanotify)" >&2; exit 1; }
for t in sqlite3 jq python3 openssl rsync; do
	command -v $t >/dev/null || { echo "change_bench: needs $t" >&2; exit 1; }
done

W=$(mktemp -d /tmp/vigil-chg.XXXXXX) || exit 1
W=$(realpath "$W")
PIDS=""
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "change_bench: $(date +%T) $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

mkdir -p "$W/bin"
cp "$ROOT/build/bin/vigil-server" "$ROOT/build/bin/vigild" "$W/bin/" || die "no build/bin (make all)"
BIN=$W/bin
SRV=$W/srv
VPORT=$((20000 + RANDOM % 20000))
RPORT=$((40000 + RANDOM % 20000))
RES=$W/res   # key=value lines for the report
: >"$RES"
put() { echo "$1=$2" >>"$RES"; }
get() { sed -n "s/^$1=//p" "$RES" | tail -1; }

now_ns() { date +%s%N; }
q() { sqlite3 -readonly -cmd ".timeout 3000" "file:$SRV/index.db?mode=ro" "$1" 2>/dev/null; }
io_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0; }
vstat() { "$BIN/vigild" status --state "$1" --json 2>/dev/null; }
counter() { vstat "$1" | jq -r ".counters.$2 // 0"; }
qfiles() { vstat "$1" | jq -r '.queue.files // -1'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
tsec() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }
kib() { awk -v b="$1" 'BEGIN { if (b !~ /^[0-9]+$/) print b; else printf "%.1f", b / 1024 }'; }

# runio OUTFILE CMD...: runs CMD; OUTFILE gets "rc wall_s cpu_s rchar read_bytes"
# (rusage of CMD and its children; /proc/self/io of this wrapper, which
# includes its reaped children's I/O)
runio() {
	local out=$1
	shift
	python3 - "$out" "$@" <<-'EOF'
		import os, sys, time, subprocess, resource
		def io():
		    d = {}
		    for l in open("/proc/self/io"):
		        k, v = l.split(":"); d[k] = int(v)
		    return d
		i0 = io(); t0 = time.monotonic()
		rc = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1] + ".log", "w"), stderr=subprocess.STDOUT)
		t1 = time.monotonic(); i1 = io()
		r = resource.getrusage(resource.RUSAGE_CHILDREN)
		open(sys.argv[1], "w").write("%d %.3f %.3f %d %d\n" % (rc, t1 - t0, r.ru_utime + r.ru_stime,
		    i1["rchar"] - i0["rchar"], i1["read_bytes"] - i0["read_bytes"]))
	EOF
}

# --- server -----------------------------------------------------------------

server_start() {
	"$BIN/vigil-server" init "$SRV" --listen "127.0.0.1:$VPORT" >"$W/init.out" 2>&1 || die "server init"
	for d in rng dlt many; do
		"$BIN/vigil-server" enroll "$SRV" --device "$d" --out "$W/$d.bundle" >>"$W/init.out" 2>&1 ||
			die "enroll $d: $(tail -1 "$W/init.out")"
	done
	"$BIN/vigil-server" run "$SRV" >"$W/server.log" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait_port "$VPORT" 20 || die "server did not listen"
}

rsyncd_start() {
	mkdir -p "$W/rdst"
	rsyncd_conf "$W/rsyncd.conf" "$RPORT" "$W/rdst"
	rsync --daemon --no-detach --config="$W/rsyncd.conf" &
	RPID=$!
	PIDS="$PIDS $RPID"
	wait_port "$RPORT" 10 || die "rsync daemon did not listen"
}

# latest version of PATH on the server: "version recv_ns sha256hex size"
latest() {
	q "SELECT version, recv_ns, lower(hex(sha256)), size FROM versions
	    WHERE CAST(path AS TEXT) = '$1' ORDER BY version DESC LIMIT 1" | tr '|' ' '
}
has_version() { # PATH N SIZE: at least version N, of SIZE bytes
	local v
	read -r v _ _ s <<<"$(latest "$1")"
	[ -n "${v:-}" ] && [ "$v" -ge "$2" ] && [ "$s" = "$3" ]
}

# --- (a) one big file, one 4 KiB write --------------------------------------

prng() { # KEYHEX BYTES
	openssl enc -aes-128-ctr -K "$1" -iv 00000000000000000000000000000000 \
		</dev/zero 2>/dev/null | head -c "$2"
}
BIG=$((BIG_MIB * 1048576))
OFF=$((BIG / 2))
edit4k() { dd if="$W/patch4k" of="$1" bs=4096 count=1 seek="$OFF" oflag=seek_bytes conv=notrunc status=none; }

big_make() {
	log "making a $BIG_MIB MiB file"
	prng 766967696c2d6368672d626967000000 "$BIG" >"$W/base.bin" || die "openssl"
	prng 766967696c2d6368672d706174636800 4096 >"$W/patch4k"
	for m in rng dlt rs; do
		mkdir -p "$W/a-$m"
		cp "$W/base.bin" "$W/a-$m/big.bin"
	done
	rm -f "$W/base.bin"
}

# vigild's per-kind ship counters (shipped_ranges, _delta, _whole, _meta)
kinds() { # STATE
	echo "$(counter "$1" shipped_ranges) $(counter "$1" shipped_delta)" \
		"$(counter "$1" shipped_whole) $(counter "$1" shipped_meta)"
}
# sets KIND to the kinds of PUT shipped between two kinds() snapshots
kind_of() { # BEFORE AFTER
	local names=(ranges delta whole meta) a=($1) b=($2) i
	KIND=""
	for i in 0 1 2 3; do
		[ "${b[i]}" -gt "${a[i]}" ] && KIND="${KIND:+$KIND+}${names[i]}"
	done
	[ -n "$KIND" ] || KIND="?"
}

big_ranges() {
	local st=$W/st-rng f=$W/a-rng/big.bin vp r0 b0 c0 s0 r1 b1 c1 s1 rb0 rb1 tw v recv sha t0 sd ts k0
	log "(a) ranges: vigild run --tracker bpf, first upload"
	t0=$(now_ns)
	VIGIL_DEBUG=1 "$BIN/vigild" run --bundle "$W/rng.bundle" --state "$st" --watch "$W/a-rng" \
		--server "127.0.0.1:$VPORT" --tracker bpf >"$W/rng.log" 2>&1 &
	vp=$!
	PIDS="$PIDS $vp"
	wait_until -i 0.2 900 "first upload (ranges)" has_version "$f" 1 "$BIG"
	put a_first_rng "$(secs "$t0" "$(now_ns)")"
	qzero() { [ "$(qfiles "$st")" = 0 ]; }
	wait_until -i 0.2 60 "queue empty" qzero
	sleep 2.5   # status.json is written about once a second; let the chunk list settle
	r0=$(io_field $vp rchar) rb0=$(io_field $vp read_bytes) b0=$(counter "$st" bytes_read)
	c0=$(proc_ticks $vp) s0=$(proc_ticks "$SPID") k0=$(kinds "$st")
	log "(a) ranges: 4 KiB write"
	edit4k "$f"
	tw=$(now_ns)
	wait_until -i 0.2 120 "edit shipped (ranges)" has_version "$f" 2 "$BIG"
	sd=$(proc_ticks "$SPID")   # server CPU until the version was durable
	read -r v recv sha _ <<<"$(latest "$f")"
	# the server commits a ranges version on its tree root and computes
	# the sha256 only once the content has rested 10 min (docs/index.md):
	# server CPU counts a 20 s window after the edit, the sha256 stays pending
	sleep 20
	ts=$(now_ns)
	r1=$(io_field $vp rchar) rb1=$(io_field $vp read_bytes) b1=$(counter "$st" bytes_read)
	c1=$(proc_ticks $vp) s1=$(proc_ticks "$SPID")
	put a_rng_sha "$(tsec $((sd - s0)))|$(secs "$tw" "$ts")"
	kind_of "$k0" "$(kinds "$st")"
	read -r _ _ sha _ <<<"$(latest "$f")"
	[ "$sha" = "$(printf '0%.0s' {1..64})" ] || [ "$sha" = "$(sha256sum <"$f" | cut -d' ' -f1)" ] ||
		KIND="$KIND WRONG SHA256"
	put a_rng "$KIND|$((b1 - b0))|$((r1 - r0))|$((rb1 - rb0))|$(tsec $((c1 - c0)))|$(tsec $((s1 - s0)))|$(secs "$tw" "$recv")"
	stop_pid "$vp"
}

big_delta() {
	local st=$W/st-dlt f=$W/a-dlt/big.bin s0 s1 tw rc wall cpu rchar rb v recv sha t0 br
	local once=(timeout 900 "$BIN/vigild" once --bundle "$W/dlt.bundle" --state "$st"
		--watch "$W/a-dlt" --server "127.0.0.1:$VPORT")
	log "(a) delta: vigild once, first upload"
	t0=$(now_ns)
	VIGIL_DEBUG=1 "${once[@]}" >"$W/dlt0.log" 2>&1 || die "first vigild once: $(tail -2 "$W/dlt0.log")"
	put a_first_dlt "$(secs "$t0" "$(now_ns)")"
	has_version "$f" 1 "$BIG" || die "first vigild once shipped nothing"
	sleep 2.5   # past the racily-clean window of the first capture
	log "(a) delta: 4 KiB write, vigild once"
	s0=$(proc_ticks "$SPID")
	edit4k "$f"
	tw=$(now_ns)
	VIGIL_DEBUG=1 runio "$W/dlt.io" "${once[@]}"
	read -r rc wall cpu rchar rb <"$W/dlt.io"
	[ "$rc" = 0 ] || die "vigild once rc=$rc: $(tail -2 "$W/dlt.io.log")"
	sleep 0.5
	s1=$(proc_ticks "$SPID")
	read -r v recv sha _ <<<"$(latest "$f")"
	kind_of "0 0 0 0" "$(kinds "$st")"   # the counters of this `once` run
	[ "$v" -ge 2 ] && [ "$sha" = "$(sha256sum <"$f" | cut -d' ' -f1)" ] || KIND="$KIND NOT VERIFIED"
	br=$(counter "$st" bytes_read)
	[ "$br" = 0 ] && br="-"
	put a_dlt "$KIND|$br|$rchar|$rb|$cpu|$(tsec $((s1 - s0)))|$(secs "$tw" "$recv")"
}

big_rsync() {
	local f=$W/a-rs/big.bin url=rsync://127.0.0.1:$RPORT/dst/big.bin s0 s1 rc wall cpu rchar rb t0
	local opts="-t --no-whole-file --inplace --stats"
	log "(a) rsync: first copy"
	t0=$(now_ns)
	rsync $opts "$f" "$url" >"$W/rs0.log" 2>&1 || die "first rsync: $(tail -2 "$W/rs0.log")"
	put a_first_rs "$(secs "$t0" "$(now_ns)")"
	sleep 1.1   # a new mtime second
	log "(a) rsync: 4 KiB write, rsync $opts"
	edit4k "$f"
	s0=$(proc_ticks "$RPID")
	runio "$W/rs.io" rsync $opts "$f" "$url"
	read -r rc wall cpu rchar rb <"$W/rs.io"
	sleep 0.5   # the daemon reaps its per-connection child
	s1=$(proc_ticks "$RPID")
	local how="--inplace"
	[ "$rc" = 0 ] && cmp -s "$f" "$W/rdst/big.bin" || how="$how FAILED rc=$rc"
	put a_rs "$how|-|$rchar|$rb|$cpu|$(tsec $((s1 - s0)))|$wall"
	put a_rs_stats "$(grep -E '^(Matched data|Literal data|Total bytes sent|Total bytes received)' "$W/rs.io.log" | tr '\n' ';')"
	rm -f "$W/rdst/big.bin"
}

# --- (b) 10 of 20,000 small files -------------------------------------------

tree_make() {
	log "(b) making $NFILES small files"
	python3 - "$W/b-vig" "$NFILES" <<-'EOF' || die "tree"
		import os, sys, random
		d, n = sys.argv[1], int(sys.argv[2])
		r = random.Random(7)
		for i in range(n):
		    sub = f"{d}/d{i // 200:03d}"
		    if i % 200 == 0:
		        os.makedirs(sub, exist_ok=True)
		    with open(f"{sub}/f{i:05d}.txt", "wb") as f:
		        f.write(r.randbytes(500 + r.randrange(3500)))
	EOF
	cp -a "$W/b-vig" "$W/b-rs"
	NDIRS=$(( (NFILES + 199) / 200 ))
}

# modify SET ROOT: overwrites NCHG files of ROOT (SET picks which), prints
# "path close_ns sha256" per file to $W/chg-SET.txt
modify() {
	python3 - "$2" "$NFILES" "$NCHG" "$1" >"$W/chg-$1.txt" <<-'EOF'
		import os, sys, time, hashlib
		d, n, k, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
		for j in range(k):
		    i = (j * (n // k) + 17 * s + 3) % n
		    p = f"{d}/d{i // 200:03d}/f{i:05d}.txt"
		    data = os.urandom(300 + 97 * j + s)
		    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
		    os.write(fd, data)
		    os.close(fd)
		    print(p, time.time_ns(), hashlib.sha256(data).hexdigest(), flush=True)
	EOF
}

# all_arrived SET: every changed file has a version with its new sha256;
# prints seconds from the first write to the last recv_ns
all_arrived() {
	python3 - "$SRV/index.db" "$W/chg-$1.txt" <<-'EOF'
		import sqlite3, sys
		db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=3)
		first, last = None, 0
		for line in open(sys.argv[2]):
		    p, t, sha = line.split()
		    first = int(t) if first is None else min(first, int(t))
		    r = db.execute("SELECT min(recv_ns) FROM versions WHERE path=CAST(? AS BLOB) "
		                   "AND lower(hex(sha256))=?", (p, sha)).fetchone()
		    if r[0] is None:
		        sys.exit(1)
		    last = max(last, r[0])
		print("%.3f" % ((last - first) / 1e9))
	EOF
}

many_loaded() {
	local n
	[ "$(qfiles "$W/st-many")" = 0 ] || return 1
	n=$(q "SELECT count(DISTINCT path) FROM versions WHERE CAST(path AS TEXT) LIKE '$W/b-vig/%'")
	[ "${n:-0}" -ge $((NFILES + NDIRS)) ]
}

many_tracker() { # TRACKER SET
	local vp c0 c1 t i=0 secs
	"$BIN/vigild" run --bundle "$W/many.bundle" --state "$W/st-many" --watch "$W/b-vig" \
		--server "127.0.0.1:$VPORT" --tracker "$1" >"$W/many-$1.log" 2>&1 &
	vp=$!
	PIDS="$PIDS $vp"
	t=$(now_ns)
	wait_until -i 0.2 900 "initial load of $NFILES files ($1)" many_loaded
	trk_is() { [ "$(vstat "$W/st-many" | jq -r '.tracker')" = "$1" ]; }
	wait_until -i 0.2 30 "status shows tracker $1" trk_is "$1"
	put "b_load_$1" "$(secs "$t" "$(now_ns)")"
	sleep 3   # a quiet daemon: start-up rescan and racily-clean re-reads done
	log "(b) $1: modifying $NCHG files"
	c0=$(proc_ticks $vp)
	modify "$2" "$W/b-vig"
	until secs=$(all_arrived "$2"); do
		i=$((i + 1))
		[ "$i" -ge 600 ] && { secs="timeout"; break; }
		sleep 0.05
	done
	c1=$(proc_ticks $vp)
	put "b_$1" "$secs|$(tsec $((c1 - c0)))"
	stop_pid "$vp"
}

many_rsync() {
	local url=rsync://127.0.0.1:$RPORT/dst/tree/ rc wall cpu rchar rb n
	log "(b) rsync -a: first copy"
	rsync -a "$W/b-rs/" "$url" >"$W/rsb0.log" 2>&1 || die "first rsync -a: $(tail -2 "$W/rsb0.log")"
	if command -v restic >/dev/null; then
		export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic XDG_CACHE_HOME=$W/cache
		log "(b) restic: first backup"
		{ restic init -q && restic backup -q "$W/b-rs"; } >"$W/restic0.log" 2>&1 || put b_restic "first backup failed|-"
	fi
	sleep 1.1
	modify 1 "$W/b-rs"
	log "(b) rsync -a after $NCHG changes"
	runio "$W/rsb.io" rsync -a --stats "$W/b-rs/" "$url"
	read -r rc wall cpu rchar rb <"$W/rsb.io"
	n=$(sed -n 's/^Number of regular files transferred: *//p' "$W/rsb.io.log" | tr -d ,)
	if [ "$rc" = 0 ] && diff -rq "$W/b-rs" "$W/rdst/tree" >/dev/null; then
		put b_rsync "$wall|$cpu|$n files transferred"
	else
		put b_rsync "$wall|$cpu|FAILED rc=$rc"
	fi
	if command -v restic >/dev/null && [ -z "$(get b_restic)" ]; then
		log "(b) restic backup after $NCHG changes"
		runio "$W/restic.io" restic backup "$W/b-rs"
		read -r rc wall cpu rchar rb <"$W/restic.io"
		n=$(sed -n 's/^Files: *//p' "$W/restic.io.log" | head -1 | tr -s ' ')
		[ "$rc" = 0 ] && put b_restic "$wall|$cpu|files: $n" || put b_restic "$wall|$cpu|FAILED rc=$rc"
	fi
	[ -n "$(get b_restic)" ] || put b_restic "-|-|not installed"
}

# --- report -----------------------------------------------------------------

report() {
	local rng dlt rs
	rng=$(get a_rng) dlt=$(get a_dlt) rs=$(get a_rs)
	echo "== change_bench $(date -u +%FT%TZ)  $(uname -r), $(nproc) CPUs, vigil $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
	echo "(a) ${BIG_MIB} MiB random file, 4 KiB pwrite at offset $OFF; page cache warm, loopback"
	echo "    first upload: vigild run $(get a_first_rng) s, vigild once $(get a_first_dlt) s, rsync $(get a_first_rs) s"
	printf '%-26s %-10s %14s %14s %9s %8s %8s %10s\n' method shipped-as "file read KiB" "rchar KiB" "disk KiB" "dev CPU" "srv CPU" "->durable"
	for row in "vigild run --tracker bpf|$rng" "vigild once (librsync)|$dlt" "rsync daemon|$rs"; do
		IFS='|' read -r name how fr rc rb dc sc lat <<<"$row"
		printf '%-26s %-10s %14s %14s %9s %7ss %7ss %9ss\n' "$name" "$how" "$(kib "$fr")" \
			"$(kib "$rc")" "$(kib "$rb")" "$dc" "$sc" "$lat"
	done
	IFS='|' read -r sdur slat <<<"$(get a_rng_sha)"
	echo "    ranges: server CPU until durable ${sdur:-?} s (srv CPU above: to 20 s after the write;" \
		"the sha256 is computed once the content rests 10 min, docs/index.md)"
	IFS='|' read -r _ rfr rrc _ rdc rsc rlat <<<"$rng"
	IFS='|' read -r _ dfr drc _ ddc dsc dlat <<<"$dlt"
	IFS='|' read -r _ _ src _ sdc ssc slat <<<"$rs"
	echo "    ratios to ranges:  file read delta $(ratio "$dfr" "$rfr"); rchar delta $(ratio "$drc" "$rrc"), rsync $(ratio "$src" "$rrc");" \
		"device CPU delta $(ratio "$ddc" "$rdc"), rsync $(ratio "$sdc" "$rdc");" \
		"server CPU delta $(ratio "$dsc" "$rsc"), rsync $(ratio "$ssc" "$rsc");" \
		"time delta $(ratio "$dlat" "$rlat"), rsync $(ratio "$slat" "$rlat")"
	echo "    rsync: $(get a_rs_stats)"
	echo "    (file read = vigild's bytes_read counter; rchar = all read() bytes of the device process incl."
	echo "     sockets, state db, chunk list/signature; CPU has 10 ms resolution; rsync's time is its wall"
	echo "     time and its daemon does not fsync)"
	echo "(b) $NCHG of $NFILES small files (100-4000 B) changed; time from the first write until all $NCHG are on the server"
	echo "    initial load: bpf $(get b_load_bpf) s; restart with fanotify (start-up rescan, nothing to send) $(get b_load_fanotify) s"
	printf '%-30s %8s %8s  %s\n' method seconds "dev CPU" note
	IFS='|' read -r bs bc <<<"$(get b_bpf)"
	IFS='|' read -r fs fc <<<"$(get b_fanotify)"
	IFS='|' read -r ss sc sn <<<"$(get b_rsync)"
	IFS='|' read -r xs xc xn <<<"$(get b_restic)"
	printf '%-30s %8s %7ss  %s\n' "vigild run --tracker bpf" "$bs" "$bc" "recv_ns of the last - first write; 50 ms debounce"
	printf '%-30s %8s %7ss  %s\n' "vigild run --tracker fanotify" "$fs" "$fc" "same"
	printf '%-30s %8s %7ss  %s\n' "rsync -a to daemon" "$ss" "$sc" "$sn (wall)"
	printf '%-30s %8s %7ss  %s\n' "restic backup (2nd)" "$xs" "$xc" "$xn (wall, local repo)"
	echo "    ratios to bpf: fanotify $(ratio "$fs" "$bs"), rsync $(ratio "$ss" "$bs"), restic $(ratio "$xs" "$bs")"
	echo
}

# --- main -------------------------------------------------------------------

T0=$(date +%s)
server_start
rsyncd_start
big_make
big_ranges
big_delta
big_rsync
rm -rf "$W/a-rng" "$W/a-dlt" "$W/a-rs"
tree_make
many_rsync
many_tracker bpf 2
many_tracker fanotify 3
log "done in $(($(date +%s) - T0)) s"
report | tee -a "$OUT"
