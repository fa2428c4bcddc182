#!/bin/bash
# t_lockout.sh — finding 1.2 (lock-out): an attacker holding ~1,100 idle TCP
# connections (never a TLS byte, each one the server drops reopened at
# once) from another address does not lock enrolled peers out: a device
# still ships (vigild once) and `vigil ls` still answers; nor from 5
# addresses, which fill the whole handshake budget.  And one identity
# gets LIM_IDENT_CONNS connections at most: beyond it the server refuses,
# the ones it holds keep answering, and a slot frees when one closes.
# Figures: LOCKOUT_FIGURES=1 prints how long `vigil ls` took under attack.
. "$(dirname "$0")/lib.sh"

ulimit -n 8192 || fail "cannot raise the open-file limit"
H="$T/helpers"
mkdir -p "$H"
cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ROOT" -o "$H/connhold" \
	"$ROOT/tests/integration/helpers/connhold.c" "$ROOT/build/lib/libcommon.a" \
	$(pkg-config --libs openssl libzstd) -lpthread || fail "cannot build connhold"
cap=$(sed -n 's/^#define LIM_IDENT_CONNS \([0-9]*\).*/\1/p' "$ROOT/server/limits.h")
[ -n "$cap" ] || fail "no LIM_IDENT_CONNS in server/limits.h"

server_start
enroll_pair phone1
mkdir -p "$T/root/notes"
echo "shipped under attack" >"$T/root/notes/a.txt"

note "1,100 idle TCP connections from 127.0.0.2, reopened as the server drops them"
/usr/bin/python3 "$ROOT/tests/integration/helpers/idleflood.py" 127.0.0.1 "$PORT" 127.0.0.2 \
	1100 "$T/flood" 2>>"$T/flood.log" &
FLOOD=$!
PIDS="$PIDS $FLOOD"
wait_for 20 "the flood to start" test -s "$T/flood"
sleep 2   # let it fill whatever the server lets it hold
kill -0 "$FLOOD" || fail "the flood helper died"

note "a device ships and a controller lists while it runs"
timeout 90 "$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state" \
	--watch "$T/root" --tracker scan >>"$T/vigild.log" 2>&1 || fail "vigild once under attack"
t0=$(date +%s%N)
timeout 60 "$BIN/vigil" ls "phone1:$T/root/notes" >"$T/ls.out" 2>>"$T/ls.err" ||
	fail "vigil ls under attack: $(cat "$T/ls.err")"
t1=$(date +%s%N)
grep -q 'a.txt' "$T/ls.out" || fail "vigil ls under attack does not list a.txt"
same_file phone1 "$T/root/notes/a.txt" "$T/root/notes/a.txt"
[ "${LOCKOUT_FIGURES:-0}" = 1 ] && echo "FIGURE vigil ls under attack: $(( (t1 - t0) / 1000000 )) ms"
kill "$FLOOD"; wait "$FLOOD" 2>/dev/null || true

note "1,100 from 5 addresses (the whole handshake budget): a quiet address still gets in"
echo "second version" >"$T/root/notes/a.txt"
/usr/bin/python3 "$ROOT/tests/integration/helpers/idleflood.py" 127.0.0.1 "$PORT" \
	127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6 1100 "$T/flood5" 2>>"$T/flood.log" &
FLOOD=$!
PIDS="$PIDS $FLOOD"
wait_for 20 "the flood to start" test -s "$T/flood5"
sleep 2
kill -0 "$FLOOD" || fail "the flood helper died"
timeout 90 "$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state" \
	--watch "$T/root" --tracker scan >>"$T/vigild.log" 2>&1 || fail "vigild once under a spread attack"
same_file phone1 "$T/root/notes/a.txt" "$T/root/notes/a.txt"
kill "$FLOOD"; wait "$FLOOD" 2>/dev/null || true

note "one identity: $cap connections at most, the held ones keep answering"
mkfifo "$T/hold.in"
"$H/connhold" "$T/ctl.bundle" "127.0.0.1:$PORT" $((cap + 4)) <"$T/hold.in" >"$T/hold.out" &
HOLD=$!
PIDS="$PIDS $HOLD"
exec 7>"$T/hold.in"
wait_for 60 "connhold to connect" test -s "$T/hold.out"
[ "$(cat "$T/hold.out")" = "opened $cap answered $cap" ] ||
	fail "per-identity cap: connhold says '$(cat "$T/hold.out")', want 'opened $cap answered $cap'"
if timeout 30 "$BIN/vigil" devices >/dev/null 2>&1; then fail "a connection beyond the cap was served"; fi
exec 7>&-
wait "$HOLD" || fail "connhold failed"
wait_for 30 "a slot after the held ones closed" "$BIN/vigil" devices
echo "PASS t_lockout"
