# t_reconnect.sh — offline, vigild's attempts to reach the server back off
# to minutes, not 15 s (battery: docs/daemon.md, "Idle and battery"), and a
# network change ends the wait at once.  With the server down, shipper 0
# and the command link come to be both more than 18.75 s away from their
# next attempt (`vigild status --json` retry_in_ms.ship, .link), which the
# old 15 s cap with its +-25% jitter could never give.  Then the server
# comes back: vigild stays disconnected, its attempts
# (counters.connects + counters.link_connects) stand still, until an
# address is added to lo: it is connected (shippers and link) while both
# waits still had seconds to run (their own figure, retry_in_ms), and it
# heard of the change (counters.net_changes).  The address is
# removed after, whatever happens; the file written offline reaches the
# server byte for byte.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
server_stop
D=$T/data
mkdir -p "$D"
echo "written while the server is down" >"$D/f"
S=$T/state
"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" \
	--tracker "${TRACKER:-auto}" >>"$T/vigild.log" 2>&1 &
VP=$!
PIDS="$PIDS $VP"
st() { "$BIN/vigild" status --state "$S" --json; }
skip_rest() { note "SKIP the rest: $*"; echo ok; exit 0; }
attempts() { st | jq '.counters.connects + .counters.link_connects'; }

note "server down: the waits double past the old 15 s cap"
wait_for 180 "both next attempts more than 18.75 s away" sh -c \
	"'$BIN/vigild' status --state '$S' --json | jqe '.retry_in_ms.ship > 18750 and .retry_in_ms.link > 18750'"
a0=$(attempts)
n0=$(st | jq .counters.net_changes)
note "after $a0 attempts: next ones in $(st | jq -c .retry_in_ms) ms"

note "the server is back: vigild waits on"
server_start
sleep 3
a1=$(attempts)
n1=$(st | jq .counters.net_changes)
note "$((a1 - a0)) attempts since, next ones in $(st | jq -c .retry_in_ms) ms"
# another program changed the network meanwhile (this machine's other
# tests): vigild was right to try, and nothing is left to check here
[ "$n1" = "$n0" ] || skip_rest "the network changed meanwhile ($n0 -> $n1 changes)"
# the other shippers leave the trying to shipper 0 (one more may be a
# shipper that took the file before shipper 0 first failed)
[ $((a1 - a0)) -le 1 ] || fail "$((a1 - a0)) attempts to connect while backing off"
st | jqe '(.connected or .linked) == false' >/dev/null || fail "connected before its backoff ended"

note "the network changes: vigild connects now"
# well before either wait ends (vigild's own figure, not a guess at this
# machine's speed): a connection then is the network change's doing
left=$(st | jq '[.retry_in_ms.ship, .retry_in_ms.link] | min')
[ "$left" -gt 6000 ] || fail "only $left ms left of the waits: nothing to tell apart"
ADDR=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
trap 'ip addr del "$ADDR/8" dev lo 2>/dev/null || true; cleanup' EXIT
t0=$(date +%s%N)
ip addr add "$ADDR/8" dev lo || fail "ip addr add $ADDR/8 dev lo"
until st | jqe '.connected and .linked' >/dev/null; do
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt $((left - 2000)) ] || fail "not connected $ms ms after the network change (its waits had $left ms left)"
	sleep 0.1
done
note "connected $((($(date +%s%N) - t0) / 1000000)) ms after the change ($left ms were left)"
st | jqe ".counters.net_changes > $n1" >/dev/null || fail "vigild did not hear of the network change"
ip addr del "$ADDR/8" dev lo
note "connected after $(attempts) attempts in all"
wait_for 30 "the file on the server" sh -c "'$BIN/vigil' ls 'phone1:$D' --json | jqe 'map(select(.path == \"$D/f\")) | length == 1'"
same_file phone1 "$D/f" "$D/f"
kill "$VP"
wait "$VP" 2>/dev/null || true
echo ok
