# bench/lib.sh — measuring helpers for bench/run.sh (sourced, bash).
#
# Bytes on the wire: run.sh re-executes itself in a private network
# namespace (unshare -n) so the loopback counters of /proc/net/dev count only
# the benchmark's own traffic: rx bytes of lo = every IP packet once (both
# directions, TCP/IP and TLS overhead included).  Without a namespace the
# counters are shared with the rest of the machine and marked as such.
#
# Time: wall and CPU of the client from /usr/bin/time; CPU of a long-running
# server from /proc/PID/stat (utime+stime of all its threads plus reaped
# children), sampled around the measured step.

CLK_TCK=$(getconf CLK_TCK)

lo_bytes() {
	awk '/^ *lo:/ { sub(/^ *lo:/, ""); print $1; exit }' /proc/net/dev
}

# CPU ticks of a process and its reaped children (0 if gone).
proc_ticks() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
	# comm may hold spaces: drop everything up to the last ')'
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
du_bytes() { [ -e "$1" ] && du -sb "$1" | awk '{ print $1 }' || echo 0; }

# measure PID_OF_SERVER CMD...: runs CMD (stdout+stderr to $W/last.out) and
# sets M_RC, M_WALL, M_CPU (client + server, seconds), M_WIRE (lo bytes).
measure() {
	local spid=$1 lo0 lo1 t0 t1
	shift
	lo0=$(lo_bytes)
	t0=$(proc_ticks "$spid")
	/usr/bin/time -f '%e %U %S' -o "$W/time.out" "$@" >"$W/last.out" 2>&1
	M_RC=$?
	sleep 0.2   # let the last ACKs and the server's bookkeeping land
	lo1=$(lo_bytes)
	t1=$(proc_ticks "$spid")
	M_WIRE=$((lo1 - lo0))
	read -r M_WALL cu cs <"$W/time.out" || { M_WALL=0; cu=0; cs=0; }
	M_CPU=$(awk -v u="$cu" -v s="$cs" -v d=$((t1 - t0)) -v hz="$CLK_TCK" \
		'BEGIN { printf "%.2f", u + s + d / hz }')
}

# record SCENARIO TOOL WIRE APP STORE WALL CPU NOTE  (one line in $RESULTS)
record() {
	printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$@" >>"$RESULTS"
}

# wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT
wait_port() {
	local i=0
	while [ "$i" -lt $(($2 * 10)) ]; do
		ss -ltnH "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_until [-i INTERVAL] SECONDS WHAT CMD...: until CMD succeeds, polled
# every INTERVAL seconds (default 0.1; change_bench.sh polls at 0.2, as it
# always did: its figures include that latency); past SECONDS the
# script's own die() ends it with "timed out after SECONDS s: WHAT"
wait_until() {
	local iv=0.1 secs n what i=0
	if [ "$1" = -i ]; then
		iv=$2
		shift 2
	fi
	secs=$1 what=$2
	shift 2
	n=$(awk -v s="$secs" -v i="$iv" 'BEGIN { printf "%d", s / i + 0.5 }')
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -ge "$n" ] && die "timed out after $secs s: $what"
		sleep "$iv"
	done
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 s (only our own children)
stop_pid() {
	local i=0
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null || return 0
	while kill -0 "$1" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

human() {
	awk -v b="$1" 'BEGIN {
		if (b !~ /^[0-9]+$/) { print b; exit }
		if (b >= 1048576) printf "%.2f MiB", b / 1048576;
		else if (b >= 1024) printf "%.1f KiB", b / 1024;
		else printf "%d B", b }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) { print "-"; exit }
		printf "%.3gx", a / b }'
}

# --- shared by the standalone benches ----------------------------------------

# A standalone bench (crypt_bench.sh, mount_bench.sh) keeps everything in
# its temp dir $W and lists what it starts in $PIDS and $MOUNTS:
# `trap bench_cleanup EXIT INT TERM` unmounts, ends (TERM, then KILL) and
# removes all of it, whatever way the bench leaves.
bench_cleanup() {
	set +e
	for m in $MOUNTS; do fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$W"
}
# bench_own_bin: BIN becomes a private copy of the programs in $W/bin (a
# rebuild during the run must not pull them away)
bench_own_bin() {
	mkdir -p "$W/bin"
	cp "$BIN/vigil" "$BIN/vigil-server" "$BIN/vigild" "$W/bin/"
	BIN=$W/bin
}
# now: the wall clock in seconds; secs T0 T1: the seconds between (2 decimals)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# mibs BYTES SECONDS: MiB/s, "-" for a non-positive time
mibs() { awk -v b="$1" -v t="$2" 'BEGIN { if (t <= 0) print "-"; else printf "%.0f", b / 1048576 / t }'; }
# the page cache dropped (root): the next read comes from disk
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# wait_mounted DIR: until DIR is a mount point (10 s), or exit
wait_mounted() {
	local i=0
	until mountpoint -q "$1"; do
		i=$((i + 1)); [ "$i" -gt 100 ] && { echo "mount did not come up" >&2; exit 1; }
		sleep 0.1
	done
}
# rsyncd_conf CONF PORT DIR: an rsync daemon config on 127.0.0.1:PORT with
# one writable module "dst" at DIR, its pid and log files beside CONF
rsyncd_conf() {
	local d
	d=$(dirname "$1")
	cat >"$1" <<-EOF2
		use chroot = no
		address = 127.0.0.1
		port = $2
		pid file = $d/rsyncd.pid
		log file = $d/rsyncd.log
		[dst]
		path = $3
		read only = no
		uid = $(id -u)
		gid = $(id -g)
	EOF2
}
# proc_status PID KEY: a field of /proc/PID/status (VmRSS, VmHWM: KiB)
proc_status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# bench_wait SECONDS CMD...: until CMD succeeds (every 0.1 s), or exit 1
# naming it
bench_wait() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || { echo "${0##*/}: timed out: $*" >&2; exit 1; }
		sleep 0.1
	done
}
