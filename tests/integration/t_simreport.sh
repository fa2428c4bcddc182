# t_simreport.sh — vigild's end of vigil-simfs's reports (STATE/simfs.sock)
# and the server's SIM state, with simfs played by helpers/simsend (the
# same encoder simfs uses): a mount registered in STATE/mounts is entered
# by a rescan; CHANGED and RANGES reach the server; SIM reports fill
# `vigil status` and make sim-swap / sim-removed / sim-inserted events (an
# allowed ICCID none); a report queued while the server is down survives a
# vigild restart; garbage datagrams are counted and dropped.
. "$(dirname "$0")/lib.sh"

H=$T/helpers
mkdir -p "$H"
cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ROOT" -o "$H/simsend" \
	"$ROOT/tests/integration/helpers/simsend.c" "$ROOT/build/lib/libcommon.a" ||
	fail "cannot build simsend"

server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
SOCK=$S/simfs.sock
mkdir -p "$D/mnt"
echo one >"$D/a.txt"
head -c 1048576 /dev/urandom >"$D/big.bin"
# another mount inside the root, as simfs's would be: scans skip it until
# it is registered in STATE/mounts
mount -t tmpfs -o size=4m vigiltest "$D/mnt" || fail "cannot mount a tmpfs"
MOUNTS="$D/mnt"
echo inside >"$D/mnt/in.txt"

# the scan tracker only reconciles every 10 s and itemises nothing: the
# events counter moves only for what simlink hands on
vigild_run() {
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" \
		--tracker scan --debounce-ms 100 >>"$T/vigild.log" 2>&1 &
	VPID=$!
	PIDS="$PIDS $VPID"
}
has_content() { # PATH CONTENT
	rm -f "$T/probe"
	vigil get "phone1:$1" -o "$T/probe" >/dev/null 2>&1 && [ "$(cat "$T/probe")" = "$2" ]
}
same_as() { # PATH: the server's latest equals the local file
	rm -f "$T/probe"
	vigil get "phone1:$1" -o "$T/probe" >/dev/null 2>&1 && cmp -s "$T/probe" "$1"
}
counter() { "$BIN/vigild" status --state "$S" --json | jq -r ".counters.$1 // 0"; }
counter_ge() { [ "$(counter "$1")" -ge "$2" ]; }
send() { "$H/simsend" "$SOCK" "$@" || fail "simsend $*"; }
st() { vigil status phone1 --json; }
sim_is() { # JQ-CONDITION on `vigil status --json`
	st | jqe "$1" >/dev/null
}
nevents() { st | jq "[.events[] | select(.kind == \"$1\")] | length"; }

vigild_run
wait_for 30 "initial sync" has_content "$D/a.txt" one
wait_for 30 "big file" same_as "$D/big.bin"
[ -S "$SOCK" ] || fail "no socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode $(stat -c %a "$SOCK")"
sleep 1
vigil log "phone1:$D/mnt/in.txt" >/dev/null 2>&1 && fail "an unregistered mount was entered"

note "a registered mount: a rescan of the root enters it"
echo "$D/mnt" >"$S/mounts"
send rescan "$D"
wait_for 3 "file inside the registered mount" has_content "$D/mnt/in.txt" inside
echo second >"$D/mnt/in2.txt"
send mount "$D/mnt"
wait_for 3 "file found by the rescan MOUNT asks for" has_content "$D/mnt/in2.txt" second

note "CHANGED and RANGES reach the server"
ev0=$(counter events)
echo two >"$D/a.txt"
send changed "$D/a.txt"
wait_for 5 "changed file" has_content "$D/a.txt" two
printf 'XXXXXXXXXX' | dd of="$D/big.bin" bs=1 seek=4096 conv=notrunc status=none
send ranges "$D/big.bin" 4096:10
send closed "$D/big.bin"
wait_for 5 "ranges" same_as "$D/big.bin"
wait_for 3 "events counter" counter_ge events $((ev0 + 3))

note "SIM reports: first, swap, allowed swap, removed, inserted"
send sim 1 0 89860011111111111111 460001111111111 "China Mobile"
wait_for 5 "first SIM in status" sim_is '.sim.iccid == "89860011111111111111" and
	.sim.imsi == "460001111111111" and .sim.changed_at == null'
[ "$(st | jq '[.events[] | select(.kind | startswith("sim"))] | length')" = 0 ] ||
	fail "the first report made an event"
send sim 1 0 89860022222222222222 460002222222222
wait_for 5 "swap event" sim_is '.sim.iccid == "89860022222222222222" and
	.sim.imsi == "460002222222222" and .sim.changed_at != null and
	([.events[] | select(.kind == "sim-swap" and .detail ==
	  "ICCID 89860011111111111111 -> 89860022222222222222, IMSI 460002222222222")] | length) == 1'
c1=$(st | jq -r .sim.changed_at)
send sim 1 1 89860033333333333333 460003333333333
wait_for 5 "allowed SIM in status" sim_is '.sim.iccid == "89860033333333333333"'
[ "$(nevents sim-swap)" = 1 ] || fail "an allowed ICCID made a swap event"
[ "$(st | jq -r .sim.changed_at)" != "$c1" ] || fail "changed_at did not move on an allowed swap"
send sim 0 0 "" ""
wait_for 5 "removed event" sim_is '[.events[] | select(.kind == "sim-removed" and
	.detail == "89860033333333333333")] | length == 1'
send sim 1 0 89860033333333333333 460003333333333
wait_for 5 "inserted event" sim_is '[.events[] | select(.kind == "sim-inserted" and
	.detail == "89860033333333333333")] | length == 1'
wait_for 3 "sim_sent counter" counter_ge sim_sent 5

note "a report made while the server is down survives a vigild restart"
server_stop
send sim 1 0 89860044444444444444 460004444444444
wait_for 5 "report kept in STATE/sim-pending" sh -c "[ \$(stat -c %s '$S/sim-pending') -gt 12 ]"
kill "$VPID"
wait "$VPID" 2>/dev/null || true
[ -S "$SOCK" ] && fail "socket left behind after exit"
vigild_run
server_start
wait_for 60 "report sent after the restart" sim_is '.sim.iccid == "89860044444444444444" and
	([.events[] | select(.kind == "sim-swap")] | length) == 2'
wait_for 5 "pending list emptied" sh -c "[ \$(stat -c %s '$S/sim-pending') -eq 12 ]"

note "garbage datagrams are dropped and counted; vigild keeps running"
wait_for 10 "socket after restart" test -S "$SOCK"
drop0=$(counter simfs_dropped)
send raw 00
send raw 01ff00000000000000000000000000
send raw 0101000000000000000100000004612f6263        # a relative path
send raw "$(head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n')"
send changed /etc/passwd                             # outside the watched root
send sim 2 0 x y 2>/dev/null || true                 # present 2: not a valid report
wait_for 5 "dropped counter" counter_ge simfs_dropped $((drop0 + 6))
kill -0 "$VPID" || fail "vigild died"
echo three >"$D/a.txt"
send changed "$D/a.txt"
wait_for 5 "still handing changes on" has_content "$D/a.txt" three
echo ok
