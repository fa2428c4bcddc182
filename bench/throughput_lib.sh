# bench/throughput_lib.sh — helpers of bench/throughput_bench.sh (sourced,
# bash): processes of one row, servers, timing, counters, edits, perf.
# Uses W, BIN, VPORT, RPORT, PERF, REPORT set by the caller.

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
tsec() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }
mib() { awk -v k="$1" 'BEGIN { if (k !~ /^[0-9]+$/) print "-"; else printf "%.1f", k / 1024 }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
# target LABEL VALUE LIMIT: "LABEL VALUE (target <= LIMIT: met|NOT met)"
target() {
	awk -v l="$1" -v v="$2" -v t="$3" 'BEGIN {
		if (v !~ /^[0-9.]+x?$/) { printf "%s %s (target <= %s: not measured)", l, v, t; exit }
		x = v; sub(/x$/, "", x); y = t; sub(/x$/, "", y)
		printf "%s %s (target <= %s: %s)", l, v, t, (x + 0 <= y + 0) ? "met" : "NOT met" }'
}

target_ge() {
	awk -v l="$1" -v v="$2" -v t="$3" 'BEGIN {
		if (v !~ /^[0-9.]+$/) { printf "%s %s (target >= %s: not measured)", l, v, t; exit }
		printf "%s %s (target >= %s: %s)", l, v, t, (v + 0 >= t + 0) ? "met" : "NOT met" }'
}

# --- one row: its own processes, stopped when it ends -----------------------

# run_row LETTER: row_LETTER in a subshell; whatever it started is stopped
# when it returns or dies; a failed row is reported and the next one runs.
run_row() {
	local p
	ROW=$1
	for p in $PASSES; do
		PASS=$p W=$WROOT/$p BIN=$WROOT/bin-$p
		mkdir -p "$W"
		[ "$PASSES" = after ] || say "[$p: vigil $(eval echo "\$TREE_$p")]"
		log "start, load $(loadavg)"
		(
			MYPIDS="" MOUNTS="" PERFPIDS=""
			trap 'row_cleanup' EXIT
			"row_$1"
		)
		[ $? = 0 ] || say "($1) FAILED: $(cat "$W/why.$1" 2>/dev/null || echo "see stderr")"
		log "end, load $(loadavg)"
	done
	ROW="" PASS="" W=$WROOT
}

row_cleanup() {
	local m p
	perf_reports
	for m in $MOUNTS; do fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	for p in $MYPIDS; do stop_pid "$p"; done
}

die() {
	log "FAILED: $*"
	echo "$*" >"$W/why.$ROW"
	exit 1
}

spawn_note() { MYPIDS="$MYPIDS $1"; }

# --- vigil ------------------------------------------------------------------

# srv_up DIR: vigil-server on DIR (init, enroll "dev" and "ctl" first when
# DIR is new); sets SPID, SRV, DEVB, CTLB
srv_up() {
	SRV=$1 DEVB=$1.dev.bundle CTLB=$1.ctl.bundle
	if [ ! -d "$SRV" ]; then
		"$BIN/vigil-server" init "$SRV" --listen "127.0.0.1:$VPORT" >>"$W/init.log" 2>&1 &&
			"$BIN/vigil-server" enroll "$SRV" --device dev --out "$DEVB" >>"$W/init.log" 2>&1 &&
			"$BIN/vigil-server" enroll "$SRV" --controller ctl --out "$CTLB" >>"$W/init.log" 2>&1 ||
			die "server init/enroll: $(tail -1 "$W/init.log")"
	fi
	"$BIN/vigil-server" run "$SRV" >>"$SRV.log" 2>&1 &
	SPID=$!
	spawn_note "$SPID"
	wait_port "$VPORT" 20 || die "server did not listen: $(tail -2 "$SRV.log")"
}

vigil_cli() { timeout 300 "$BIN/vigil" --bundle "$CTLB" --server "127.0.0.1:$VPORT" "$@"; }
vstat() { "$BIN/vigild" status --state "$1" --json 2>/dev/null; }
counter() { vstat "$1" | jq -r ".counters.$2 // 0"; }
qfiles() { vstat "$1" | jq -r '.queue.files // -1'; }
# vigild's per-kind ship counters: "ranges delta whole meta"
kinds() {
	vstat "$1" | jq -r '.counters | "\(.shipped_ranges // 0) \(.shipped_delta // 0) \(.shipped_whole // 0) \(.shipped_meta // 0)"'
}
# kind_of BEFORE AFTER: what kinds of PUT moved between two kinds() snapshots
kind_of() {
	local names=(ranges delta whole meta) a=($1) b=($2) i k=""
	for i in 0 1 2 3; do
		[ "${b[i]}" -gt "${a[i]}" ] && k="${k:+$k+}${names[i]}$((b[i] - a[i]))"
	done
	echo "${k:-nothing}"
}

# the server's index, read-only (no load on the server): latest version of
# PATH as "version recv_ns sha256hex size"
idx() { sqlite3 -readonly -cmd ".timeout 3000" "file:$SRV/index.db?mode=ro" "$1" 2>/dev/null; }
latest() {
	idx "SELECT version, recv_ns, lower(hex(sha256)), size FROM versions
	      WHERE CAST(path AS TEXT) = '$1' ORDER BY version DESC LIMIT 1" | tr '|' ' '
}
has_version() { # PATH N: a version >= N
	local v
	read -r v _ <<<"$(latest "$1")"
	[ -n "${v:-}" ] && [ "$v" -ge "$2" ]
}
ZERO64=0000000000000000000000000000000000000000000000000000000000000000
sha_filled() { # PATH: the latest version's sha256 is no longer pending
	local s
	read -r _ _ s _ <<<"$(latest "$1")"
	[ -n "${s:-}" ] && [ "$s" != "$ZERO64" ]
}
sha_of() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
# verify PATH: `vigil log` lists a latest version whose sha256 is the
# file's; while the server's sha256 is pending (null), `vigil get` of it
# (checked by the chunk-tree root) must give the file's bytes
verify() {
	local got want
	got=$(vigil_cli log "dev:$1" --json 2>>"$W/cli.err" | jq -r '.[-1].sha256')
	if [ "$got" = null ]; then
		rm -f "$W/verify.got"
		vigil_cli get "dev:$1" -o "$W/verify.got" >>"$W/cli.err" 2>&1 && cmp -s "$1" "$W/verify.got" &&
			echo "verified by get (sha256 pending)" || echo "NOT VERIFIED (get differs)"
		rm -f "$W/verify.got"
		return
	fi
	want=$(sha_of "$1")
	[ "$got" = "$want" ] && echo "verified" || echo "NOT VERIFIED (log sha256 $got)"
}

# vigild_run STATE WATCHDIR TRACKER: sets VPID
vigild_run() {
	${BENCH_DEBUG:+env VIGIL_DEBUG=1} "$BIN/vigild" run --bundle "$DEVB" --state "$1" --watch "$2" \
		--server "127.0.0.1:$VPORT" --tracker "$3" >>"$1.log" 2>&1 &
	VPID=$!
	spawn_note "$VPID"
}
# settled STATE TRACKER: running with that tracker and nothing queued
settled() {
	local j
	j=$(vstat "$1") || return 1
	[ "$(jq -r '.tracker' <<<"$j")" = "$2" ] && [ "$(jq -r '.queue.files' <<<"$j")" = 0 ]
}
once_cmd() { # STATE WATCHDIR: sets ONCE
	ONCE=(timeout 1200 "$BIN/vigild" once --bundle "$DEVB" --state "$1" --watch "$2"
		--server "127.0.0.1:$VPORT")
}

# --- rsync, restic ----------------------------------------------------------

rsyncd_up() {
	mkdir -p "$W/rdst"
	rsyncd_conf "$W/rsyncd.conf" "$RPORT" "$W/rdst"
	rm -f "$W/rsyncd.pid"
	rsync --daemon --no-detach --config="$W/rsyncd.conf" &
	RPID=$!
	spawn_note "$RPID"
	wait_port "$RPORT" 10 || die "rsync daemon did not listen"
}
RURL() { echo "rsync://127.0.0.1:$RPORT/dst/$1"; }
restic_env() { # REPO
	export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$1 XDG_CACHE_HOME=$W/cache
}

# --- timing -----------------------------------------------------------------

# timed NAME CMD...: runs CMD (output to $W/NAME.out) under /usr/bin/time;
# sets T_RC, T_WALL, T_CPU (user+sys of CMD and its children), T_RSS (KiB)
timed() {
	local name=$1 u s
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$W/$name.time" "$@" >"$W/$name.out" 2>&1
	T_RC=$?
	read -r T_WALL u s T_RSS <"$W/$name.time" 2>/dev/null || { T_WALL=-; u=0; s=0; T_RSS=-; }
	T_CPU=$(add "$u" "$s")
	[ "$T_RC" = 0 ] || log "$name: rc=$T_RC: $(tail -2 "$W/$name.out" | tr '\n' ' ')"
}

# cpu_settle PID [TICKS]: waits until PID's CPU ticks have moved by at
# most TICKS (1: 10 ms, timer noise) in 3 s, at most SETTLE_MAX s in all
cpu_settle() {
	local t=() i=0 tol=${2:-1}
	t[0]=$(proc_ticks "$1")
	while [ "$i" -lt $((SETTLE_MAX * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
		t[i]=$(proc_ticks "$1")
		[ "$i" -ge 30 ] && [ $((t[i] - t[i - 30])) -le "$tol" ] && return 0
	done
	return 1
}

# --- edits and data ---------------------------------------------------------

prng() { # KEYWORD BYTES > file
	local k
	k=$(printf '%s' "$1" | sha256sum | cut -c1-32)
	openssl enc -aes-128-ctr -K "$k" -iv 00000000000000000000000000000000 \
		</dev/zero 2>/dev/null | head -c "$2"
}
# pwrite4k FILE OFFSET: 4 KiB of new random bytes at OFFSET, then close();
# prints close()'s end as ns since the epoch
pwrite4k() {
	python3 - "$1" "$2" <<-'EOF'
		import os, sys, time
		fd = os.open(sys.argv[1], os.O_WRONLY)
		os.pwrite(fd, os.urandom(4096), int(sys.argv[2]))
		os.close(fd)
		print(time.time_ns())
	EOF
}

# --- perf (BENCH_PERF=DIR) ----------------------------------------------------

# perf_wrap NAME: sets PF to a command prefix recording NAME (empty without PERF)
perf_wrap() {
	PF=()
	[ -n "$PERF" ] && PF=(perf record $PERF_ARGS -q -o "$PERF/$ROW-${PASS:+$PASS-}$1.data" --)
	return 0
}
# perf_attach NAME PID: record PID (all its threads) until perf_detach
perf_attach() {
	[ -n "$PERF" ] || return 0
	perf record $PERF_ARGS -q -o "$PERF/$ROW-${PASS:+$PASS-}$1.data" -p "$2" >>"$W/perf.log" 2>&1 &
	PERFPIDS="$PERFPIDS $!"
	sleep 0.5   # perf attached
}
perf_detach() {
	local p
	for p in $PERFPIDS; do kill -INT "$p" 2>/dev/null; done
	for p in $PERFPIDS; do wait "$p" 2>/dev/null; done
	PERFPIDS=""
}
# perf_reports: for every profile of this row DIR/ROW-NAME.txt, the self
# top list, then the top of the call-graph (children) view: in a VM
# without a PMU most kernel samples land on the irq-enable of the syscall
# exit (pvm_irq_enable), so the children view tells which syscalls they were
perf_reports() {
	local d
	[ -n "$PERF" ] || return 0
	perf_detach
	for d in "$PERF/$ROW-${PASS:+$PASS-}"*.data; do
		[ -s "$d" ] || continue
		{
			perf report -i "$d" --stdio --no-children --percent-limit 2 2>/dev/null |
				grep -v '^$' | head -60
			echo "# --children, >= 3%"
			perf report -i "$d" --stdio --children --percent-limit 3 2>/dev/null |
				grep -E '^ +[0-9]' | head -50
		} >"${d%.data}.txt"
	done
}
