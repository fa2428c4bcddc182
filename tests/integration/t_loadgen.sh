#!/bin/bash
# t_loadgen.sh — a short run of the load generator (bench/loadgen, the
# tool behind bench/load_bench.sh): 4 devices x 5 connections, 4 pushing
# for 5 s.  Every connection comes up and stays alive, every pusher makes
# progress, and each PUT_DONE it counted is a version the server lists
# (`vigil log`): durable means there.
. "$(dirname "$0")/lib.sh"

make -s -C "$ROOT" build/bench/loadgen >/dev/null
server_start
enroll_pair dev0
for d in 1 2 3; do
	"$BIN/vigil-server" enroll "$T/srv" --device "dev$d" --out "$T/dev$d.bundle" >/dev/null
done

"$ROOT/build/bench/loadgen" --server "127.0.0.1:$PORT" --dir "$T" --ctl "$T/ctl.bundle" \
	--vigil "$BIN/vigil" --devices 4 --per-dev 5 --pushers 4 --duration 5 \
	--server-pid "$SERVER_PID" >"$T/report" || { cat "$T/report"; fail "loadgen exited $?"; }
cat "$T/report"
grep -q '^connections  *20 of 20 up .* 20 alive at the end' "$T/report" || fail "connections"
grep -q '(0 of 4 made none)' "$T/report" || fail "a pusher starved"
pushes=$(sed -n 's/^pushes (durable) *\([0-9]*\) in .*/\1/p' "$T/report")
failed=$(sed -n 's/^pushes (durable).*; \([0-9]*\) failed.*/\1/p' "$T/report")
[ "${pushes:-0}" -gt 0 ] || fail "no pushes"
versions=0
for d in 0 1 2 3; do
	n=$(vigil log "dev$d:/load/file" --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	versions=$((versions + n))
done
note "pushes $pushes (failed $failed), versions on the server $versions"
# a failed push may still have been committed; an acknowledged one must be there
[ "$versions" -ge "$pushes" ] || fail "acknowledged pushes missing on the server"
[ "$failed" != 0 ] || [ "$versions" = "$pushes" ] || fail "versions without a PUT_DONE"
grep -q 'vigil ls (program) *n=[1-9]' "$T/report" || fail "no ls sample"
echo "t_loadgen: ok"
