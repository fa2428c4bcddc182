# t_busywrite.sh — a file a writer is at is not captured in the middle of
# the writing: a 4 MiB file written with random pwrites for 1.5 s and then
# closed gets one new version (at the close), with the final bytes and no
# "unstable" copy.  Before, the debounce (50 ms) shipped it at once, torn,
# and again every second (docs/daemon.md "Change detection").
. "$(dirname "$0")/lib.sh"

[ "${TRACKER:-bpf}" = bpf ] || { echo "skip: needs the bpf tracker"; exit 0; }
server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
head -c $((4 << 20)) /dev/urandom >"$D/busy.bin"

"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state" --watch "$D" \
	--tracker bpf >>"$T/vigild.log" 2>&1 &
PIDS="$PIDS $!"
versions() { vigil log "phone1:$D/busy.bin" --json | jq 'map(select(.deleted | not)) | length'; }
dev() { "$BIN/vigild" status --state "$T/state" --json | jq -r "$1"; }
wait_for 30 "first version" sh -c "[ \"\$('$BIN/vigil' log 'phone1:$D/busy.bin' --json | jq length)\" = 1 ]"
wait_for 30 "queue empty" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" = 0 ]"
u0=$(dev .counters.unstable)

note "1.5 s of random pwrites, then close"
/usr/bin/python3 "$ROOT/tests/integration/helpers/randwrite.py" "$D/busy.bin" 1.5
wait_for 30 "the final bytes on the server" sh -c "rm -f '$T/got'; '$BIN/vigil' get 'phone1:$D/busy.bin' -o '$T/got' && cmp -s '$T/got' '$D/busy.bin'"
wait_for 30 "queue empty again" sh -c "[ \"\$('$BIN/vigild' status --state '$T/state' --json | jq -r .queue.files)\" = 0 ]"
[ "$(versions)" = 2 ] || fail "$(versions) versions, expected 2 (before the run and at its close)"
[ "$(dev .counters.unstable)" = "$u0" ] || fail "an unstable copy was shipped"
echo ok
