#!/bin/bash
# amplify_bench.sh — server CPU spent on uploads that send (almost) nothing
# (issue 10, finding 1.1), read from /proc/PID/stat (utime + stime):
#   1. a ranges announce of 1 GiB with an empty body
#   2. a ranges announce of 4 GiB, client killed a second after END:
#      CPU the server burns in the WAIT seconds after the kill
#   3. a delta of 7281 COPYs of a 1 MiB base (7 GiB of output from a 64 KiB
#      body), client killed a second after it is sent: the same
#   4. a ranges announce of 1 TiB (the client gives up after LIMIT seconds)
# Usage: bench/amplify_bench.sh [SERVER_BIN]   (default build/bin/vigil-server)
set -u
SERVER=${1:-build/bin/vigil-server}
LIMIT=${LIMIT:-120}
WAIT=${WAIT:-10}
HZ=$(getconf CLK_TCK)
W=$(mktemp -d /tmp/amplify_bench.XXXXXX)
PORT=$((30000 + RANDOM % 20000))
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$W"' EXIT

mkdir -p build/bench
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. \
	-o build/bench/amplify bench/amplify.c build/lib/libcommon.a \
	-lssl -lcrypto -lpthread || exit 1
"$SERVER" init "$W/srv" --listen 127.0.0.1:$PORT >/dev/null || exit 1
"$SERVER" enroll "$W/srv" --device amp --out "$W/amp.bundle" >/dev/null || exit 1
"$SERVER" run "$W/srv" 2>"$W/server.log" &
SPID=$!
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
	sleep 0.1
done

ticks() { awk '{ print $14 + $15 }' /proc/$SPID/stat; }
secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

# an announce with an empty body, waited for (at most LIMIT s)
announce() {
	local t0 t1
	t0=$(ticks)
	timeout "$LIMIT" build/bench/amplify "$W/amp.bundle" 127.0.0.1:$PORT ranges "$1" >/dev/null
	local rc=$?
	t1=$(ticks)
	echo "ranges announce $2, empty body: $(secs $((t1 - t0))) CPU s$([ $rc = 124 ] && echo " (cut at ${LIMIT} s; still going)")"
}

# a client started with "$@", killed a second after it said ready; CPU
# in the WAIT s after the kill
killed() {
	local label=$1 t1 t2 cpid
	shift
	build/bench/amplify "$W/amp.bundle" 127.0.0.1:$PORT "$@" >"$W/out" &
	cpid=$!
	for _ in $(seq 600); do grep -q ready "$W/out" && break; sleep 0.1; done
	sleep 1
	kill -9 $cpid
	wait $cpid 2>/dev/null
	t1=$(ticks)
	sleep "$WAIT"
	t2=$(ticks)
	echo "$label, client killed: $(secs $((t2 - t1))) CPU s in the ${WAIT} s after"
}

echo "# $SERVER, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
announce $((1 << 30)) "1 GiB"
killed "ranges announce 4 GiB" ranges-hang $((4 << 30))
killed "delta of 7 GiB of COPYs" delta-hang 7281
announce $((1 << 40)) "1 TiB"   # last: a server without the fix goes on for ~an hour
