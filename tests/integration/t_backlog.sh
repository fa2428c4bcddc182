# t_backlog.sh — `vigil status` shows the device's backlog while it is
# busy, not only when vigild idles or once a minute: with shipping held
# (test hook VIGIL_TEST_SHIP_HOLD) 8 new files stay queued, and the
# server's backlog follows the device's queue (what it holds, then 0 once
# shipped) within seconds; before, it stayed at 0 until the 60 s report.
# The figure carries the device's instant (backlog.at).  The report does
# not wait for the intake: with the intake held as in a long rescan
# (VIGIL_TEST_INTAKE_HOLD), what the shippers ship still reaches the
# server's figure (before, the intake made every report: it stayed at 8).
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
echo one >"$D/a.txt"
HOLD=$T/hold
IHOLD=$T/intake-hold

VIGIL_TEST_HOOKS=1 VIGIL_TEST_SHIP_HOLD=$HOLD VIGIL_TEST_INTAKE_HOLD=$IHOLD "$BIN/vigild" run --bundle "$T/phone1.bundle" \
	--state "$T/state" --watch "$D" --tracker "${TRACKER:-auto}" >>"$T/vigild.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 30 "first backup" sh -c "'$BIN/vigil' get 'phone1:$D/a.txt' -o '$T/probe' && [ \"\$(cat '$T/probe')\" = one ]"
srv_files() { vigil status phone1 --json | jq -r '.backlog.files'; }
wait_for 30 "device queue empty" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" = 0 ]"
wait_for 30 "server backlog 0" sh -c "[ \"\$('$BIN/vigil' status phone1 --json | jq -r .backlog.files)\" = 0 ]"

note "shipping held: 8 files queued, the server's backlog shows 8"
touch "$HOLD"
for i in 1 2 3 4 5 6 7 8; do echo "file $i" >"$D/f$i.txt"; done
wait_for 30 "8 queued on the device" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" -ge 8 ]"
# the device idles with them queued and nothing shipped: only a report made
# because the queue moved can bring them (the periodic one is 60 s away).
# Held, the queue only grows (the directory's own change may follow late):
# the server must show what the device holds at that moment.
wait_for 10 "server backlog = device queue" sh -c "d=\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files);
	[ \"\$d\" -ge 8 ] && [ \"\$('$BIN/vigil' status phone1 --json | jq -r .backlog.files)\" = \"\$d\" ]"
[ "$(vigil status phone1 --json | jq -r '.backlog.oldest != null')" = true ] ||
	fail "backlog without an oldest time"
# the device's instant of that figure, and the server's receipt, both after the writes
vigil status phone1 --json | jqe --arg t "$(date -u -d @$(($(stat -c %Y "$D/f8.txt") - 1)) +%FT%TZ)" \
	'.backlog.at > $t and .backlog.received > $t' >/dev/null ||
	fail "backlog without its instant: $(vigil status phone1 --json | jq -c .backlog)"
vigil ls "phone1:$D" --json | jqe 'map(select(.path | test("/f[0-9].txt$"))) | length == 0' >/dev/null ||
	fail "a held file reached the server"

note "intake held (a long rescan), shipping released: the server's backlog drains all the same"
touch "$IHOLD"
echo late >"$D/late.txt"     # an event that wakes the intake into the hold
wait_for 30 "intake held" test -e "$IHOLD.held"
rm -f "$HOLD"
wait_for 30 "8 shipped" sh -c "'$BIN/vigil' ls 'phone1:$D' --json | jqe 'map(select(.path | test(\"/f[0-9].txt\$\"))) | length == 8' >/dev/null"
wait_for 30 "device queue drained" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" = 0 ]"
wait_for 10 "server backlog 0 with the intake held" sh -c "[ \"\$('$BIN/vigil' status phone1 --json | jq -r .backlog.files)\" = 0 ]"

note "intake released: it queues what it held, which ships; the server shows 0 again"
rm -f "$IHOLD"
wait_for 30 "late.txt shipped" sh -c "'$BIN/vigil' get 'phone1:$D/late.txt' -o '$T/probe2' && [ \"\$(cat '$T/probe2')\" = late ]"
wait_for 30 "device queue drained" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" = 0 ]"
wait_for 10 "server backlog 0 again" sh -c "[ \"\$('$BIN/vigil' status phone1 --json | jq -r .backlog.files)\" = 0 ]"
[ "$(srv_files)" = 0 ] || fail "server backlog $(srv_files)"
vigil ls "phone1:$D" --json | jqe 'map(select(.path | test("/f[0-9].txt$"))) | length == 8' >/dev/null ||
	fail "not every held file arrived"
echo ok
