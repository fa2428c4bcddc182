# t_startrace.sh — a file made while `vigild run` starts is backed up.  The
# start-up scan used to run before the tracker was attached: a file created
# after the scan had passed its directory and before the tracker saw
# anything was never queued (the long soak lost one this way).  The test
# hook VIGIL_TEST_TRACKER_DELAY_MS holds the tracker back 8 s; once vigild's
# status counts its first scan, a file is made: it must reach the server.
# Fails on a vigild that scans before it starts the tracker.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
S=$T/state
mkdir -p "$D"
echo before >"$D/before.txt"
VIGIL_TEST_HOOKS=1 VIGIL_TEST_TRACKER_DELAY_MS=8000 \
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" >>"$T/vigild.log" 2>&1 &
PIDS="$PIDS $!"
# (jq -e passes on empty input: compare numbers in the shell)
scanned() { [ "$("$BIN/vigild" status --state "$S" --json | jq -r '.counters.rescans // 0')" -ge 1 ]; }
wait_for 60 "vigild's first scan" scanned
echo during >"$D/during.txt"
on_server() { [ "$(vigil log "phone1:$D/$1" --json 2>/dev/null | jq length)" -ge 1 ]; }
wait_for 60 "before.txt on the server" on_server before.txt
wait_for 60 "during.txt (made while vigild started) on the server" on_server during.txt
vigil get "phone1:$D/during.txt" -o "$T/got" || fail "get during.txt"
cmp "$D/during.txt" "$T/got" || fail "during.txt differs"
echo "t_startrace: ok"
