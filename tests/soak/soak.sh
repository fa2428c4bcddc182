#!/bin/bash
# soak.sh — DESIGN.md's promises under faults (issue 10, section 3): a writer
# edits ~NFILES files under a watched root (appends, in-place writes that ship
# as ranges, rewrites that ship as deltas, renames, deletes) while
#   1. crash rounds kill -9 vigild or vigil-server at random moments and
#      restart it; after each round every new stored version verifies;
#   2. a proxy (proxy.py) cuts, stalls and holds connections; a big file must
#      get through while every connection is cut after at most 4 MiB (so
#      uploads resume), and the bytes sent are counted;
#   3. the server's DIR (a loop-mounted ext4) fills up: clear error, stored
#      versions still verify, the backlog drains once space returns;
# then, drained, the server's latest tree equals the device's byte for byte.
# Knobs (environment): ROUNDS NFILES RATE ROUND_MIN ROUND_MAX NET_S BIG_MB
# DISK FULL_S FS_MB FINAL_ALL SEED FIGURES (file for the figures, JSON).
# `make soak` runs it with ROUNDS=100; tests/integration/t_soak.sh a short one.
. "$(dirname "$0")/../integration/lib.sh"

PY=/usr/bin/python3
HERE=$ROOT/tests/soak
ROUNDS=${ROUNDS:-100} NFILES=${NFILES:-1000} RATE=${RATE:-20}
ROUND_MIN=${ROUND_MIN:-2} ROUND_MAX=${ROUND_MAX:-8}
NET_S=${NET_S:-120} BIG_MB=${BIG_MB:-32}
DISK=${DISK:-1} FULL_S=${FULL_S:-60} FS_MB=${FS_MB:-1024}
FINAL_ALL=${FINAL_ALL:-1} SEED=${SEED:-$RANDOM}
RANDOM=$SEED
D=$T/data
S=$T/state
note "seed $SEED, $ROUNDS rounds, $NFILES files"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
rand_s() { echo "scale=2; $1 + ($2 - $1) * $RANDOM / 32767" | bc; }
st() { "$BIN/vigild" status --state "$S" --json 2>/dev/null; }
counter() { st | jq -r ".counters.$1 // 0"; }
drained() { [ "$(st | jq -r '.queue.files')" = 0 ] && st | jqe '.connected' >/dev/null; }
# drain SECS: the queue empty, and still empty after the tracker, the
# debounce and the racily-clean re-reads (mtime + 2 s) had their turn
drain() {
	wait_for "$1" "vigild drained" drained
	sleep 3
	wait_for "$1" "vigild drained (stable)" drained
}

vigild_start() { # [HOST:PORT]
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" \
		${1:+--server "$1"} >>"$T/vigild.log" 2>&1 &
	VPID=$!
	PIDS="$PIDS $VPID"
	wait_for 60 "vigild's own status" sh -c "'$BIN/vigild' status --state '$S' --json | jqe '.pid == $VPID'"
}
vigild_stop() { kill "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null || true; }
writer_start() { # SEED STATS
	"$PY" "$HERE/writer.py" "$D" --files "$NFILES" --seed "$1" --rate "$RATE" \
		--touched "$T/touched" --stats "$2" &
	WPID=$!
	PIDS="$PIDS $WPID"
}
writer_stop() { kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null || true; }
SEEN=0
# verify_new: the versions of the paths touched since the last call
verify_new() {
	n=$(wc -l <"$T/touched")
	sed -n "$((SEEN + 1)),${n}p" "$T/touched" | sort -u >"$T/round.paths"
	SEEN=$n
	# SAMPLE=N: at most N of those paths, at random (make test's short run)
	if [ "${SAMPLE:-0}" -gt 0 ] && [ "${1:-}" != --all ]; then
		shuf -n "$SAMPLE" --random-source=<(yes "$SEED") "$T/round.paths" >"$T/round.s"
		mv "$T/round.s" "$T/round.paths"
	fi
	"$PY" "$HERE/verify.py" --vigil "$BIN/vigil" --dev phone1 --paths "$T/round.paths" \
		--state "$T/verified.json" "$@" >"$T/verify.out" || { cat "$T/verify.out"; fail "a stored version does not verify"; }
	VERIFIED=$(jq -r .verified_total "$T/verify.out")
}

note "server DIR on a ${FS_MB} MiB loop-mounted ext4"
truncate -s "${FS_MB}M" "$T/fs.img"
mkfs.ext4 -q -F "$T/fs.img"
mkdir -p "$T/srv"
mount -o loop "$T/fs.img" "$T/srv"
MOUNTS="$T/srv"
rmdir "$T/srv/lost+found"
chmod 0700 "$T/srv"
server_start
enroll_pair phone1
mkdir -p "$D"
"$PY" "$HERE/writer.py" "$D" --files "$NFILES" --seed "$SEED" --init
: >"$T/touched"
vigild_start
drain 300

note "1. crash rounds"
writer_start $((SEED + 1)) "$T/w1.json"
kills_d=0 kills_s=0
for r in $(seq 1 "$ROUNDS"); do
	sleep "$(rand_s "$ROUND_MIN" "$ROUND_MAX")"
	if [ $((RANDOM % 2)) = 0 ]; then
		kill -9 "$VPID"; wait "$VPID" 2>/dev/null || true
		sleep "$(rand_s 0 1)"
		vigild_start
		kills_d=$((kills_d + 1))
	else
		kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
		sleep "$(rand_s 0 1)"
		server_start
		kills_s=$((kills_s + 1))
	fi
	verify_new
	echo "round $r: $(cat "$T/verify.out")"
done
writer_stop

note "2. network faults"
drain 300
vigild_stop
PPORT=$(free_port)
echo calm >"$T/proxy.mode"
"$PY" "$HERE/proxy.py" --listen "$PPORT" --to "$PORT" --mode "$T/proxy.mode" \
	--stats "$T/proxy.json" --seed "$SEED" &
PIDS="$PIDS $!"
PROXY_PID=$!
wait_for 10 "proxy listening" sh -c "ss -ltn 'sport = :$PPORT' | grep -q ':$PPORT'"
vigild_start "127.0.0.1:$PPORT"
drain 300
sleep 1.5   # the proxy's stats file is rewritten every second
up0=$(jq .bytes_up "$T/proxy.json")
sent0=$(counter bytes_sent)
resent0=$(counter bytes_resent)
echo faults >"$T/proxy.mode"
mkdir -p "$D/big"
head -c "${BIG_MB}M" /dev/urandom >"$D/big/net.bin"
t0=$(now)
has_big() { [ "$("$BIN/vigil" log "phone1:$D/big/net.bin" --json 2>/dev/null | jq length)" -ge 1 ]; }
wait_for $((NET_S + 300)) "a ${BIG_MB} MiB upload through connections cut after <= 4 MiB" has_big
big_s=$(since "$t0")
sleep 1.5
big_up=$(( $(jq .bytes_up "$T/proxy.json") - up0 ))
big_sent=$(( $(counter bytes_sent) - sent0 ))
big_resent=$(( $(counter bytes_resent) - resent0 ))
note "big file: ${BIG_MB} MiB in $(printf %.1f "$big_s") s, $big_up bytes through the proxy, vigild sent $big_sent (re-sent $big_resent)"
# the same edits, calm then under faults: what the cuts cost on top
edits() { # SEED STATS: NET_S s of edits, then calm and drained
	sent0=$(counter bytes_sent)
	resent0=$(counter bytes_resent)
	up0=$(jq .bytes_up "$T/proxy.json")
	writer_start "$1" "$2"
	sleep "$NET_S"
	writer_stop
	echo calm >"$T/proxy.mode"
	drain 300
	sleep 1.5
}
echo calm >"$T/proxy.mode"
edits $((SEED + 4)) "$T/w2calm.json"
calm_sent=$(( $(counter bytes_sent) - sent0 ))
calm_need=$(jq -r .bytes "$T/w2calm.json")
note "calm: edits: $calm_need bytes changed, vigild sent $calm_sent"
echo faults >"$T/proxy.mode"
edits $((SEED + 2)) "$T/w2.json"
sleep 1.5   # the proxy's stats file is rewritten every second
sent=$(( $(counter bytes_sent) - sent0 ))
resent=$(( $(counter bytes_resent) - resent0 ))
up=$(( $(jq .bytes_up "$T/proxy.json") - up0 ))
need=$(jq -r .bytes "$T/w2.json")
note "net: $(cat "$T/proxy.json"); edits: $need bytes changed, vigild sent $sent (re-sent $resent), $up through the proxy"
verify_new
vigild_stop
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
vigild_start

full_s=0 drain_s=0
if [ "$DISK" = 1 ]; then
	note "3. disk full"
	writer_start $((SEED + 3)) "$T/w3.json"
	sleep 2
	dd if=/dev/zero of="$T/srv/ballast" bs=1M status=none 2>/dev/null || true
	sync
	wait_for $((FULL_S + 120)) "a clear out-of-space error in vigild status" \
		sh -c "'$BIN/vigild' status --state '$S' --json | jqe '.last_error | test(\"space\"; \"i\")'"
	sleep "$FULL_S"
	writer_stop
	verify_new --all
	rm -f "$T/srv/ballast"
	t0=$(now)
	drain 600
	drain_s=$(since "$t0")
	note "drained $(printf %.1f "$drain_s") s after space returned"
	verify_new
fi

note "final drain: latest tree equals the device's"
drain 300
SEEN=0
[ "$FINAL_ALL" = 1 ] && verify_new --all || verify_new
"$BIN/vigil" get "phone1:$D" -o "$T/restore" || fail "get of the tree"
diff -r "$D" "$T/restore" || fail "server's latest tree differs from the device"

cat >"$T/figures.json" <<EOT
{"seed": $SEED, "rounds": $ROUNDS, "kills_vigild": $kills_d, "kills_server": $kills_s,
 "files": $(find "$D" -type f | wc -l), "versions_verified": $VERIFIED,
 "net_seconds": $NET_S, "calm_bytes_changed": $calm_need, "calm_bytes_sent": $calm_sent,
 "net_bytes_changed": $need, "net_bytes_sent": $sent, "net_bytes_resent": $resent, "net_bytes_proxied": $up,
 "net_big_mb": $BIG_MB, "net_big_seconds": $big_s, "net_big_sent": $big_sent, "net_big_resent": $big_resent,
 "net_big_proxied": $big_up,
 "proxy": $(cat "$T/proxy.json"),
 "disk_full_drain_seconds": $drain_s}
EOT
jq -c . "$T/figures.json"
[ -n "${FIGURES:-}" ] && cp "$T/figures.json" "$FIGURES"
echo ok
