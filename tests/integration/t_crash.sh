# t_crash.sh — kill -9 of vigild mid-transfer and of vigil-server mid-ingest,
# then restart: every stored version verifies and the latest equals the file.
# Then kill -9 of `vigil get` mid-transfer: nothing under the final name.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
head -c 300M /dev/urandom >"$D/video.bin"
echo small >"$D/small.txt"

store_mb() { du -sm "$T/srv/store" | cut -f1; }

kill_when_store_grows() { # PID MB
	base=$(store_mb)
	i=0
	while [ "$(store_mb)" -lt $((base + $2)) ]; do
		i=$((i + 1)); [ "$i" -gt 600 ] && fail "store never grew"
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$1"
}

note "kill -9 vigild mid-transfer"
"$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" --watch "$D" >>"$T/vigild.log" 2>&1 &
VPID=$!
kill_when_store_grows $VPID 40
wait $VPID 2>/dev/null || true

note "kill -9 vigil-server mid-ingest"
head -c 1M /dev/urandom | dd of="$D/video.bin" bs=1M seek=10 conv=notrunc status=none
"$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" --watch "$D" >>"$T/vigild.log" 2>&1 &
VPID=$!
kill_when_store_grows "$SERVER_PID" 20
wait "$SERVER_PID" 2>/dev/null || true
kill -9 $VPID 2>/dev/null || true
wait $VPID 2>/dev/null || true

note "restart both; reconcile"
# a big first upload that ships whole again (no checkpoint was durable
# before the kill) is committed with its sha256 pending; the background
# pass fills it in at once here, from the stored bytes
VIGIL_TEST_SHAFILL_QUIET_MS=0 server_start
vigild_once phone1 "$D"
same_file phone1 "$D/video.bin" "$D/video.bin"
same_file phone1 "$D/small.txt" "$D/small.txt"

note "every stored version verifies"
filled() { vigil log "phone1:$D/video.bin" --json | jqe 'all(.[]; .sha256_pending == false)'; }
wait_for 120 "every version's sha256 filled in" filled
vigil log "phone1:$D/video.bin" --json >"$T/log.json"
n=$(jq length "$T/log.json")
[ "$n" -ge 1 ] || fail "no versions"
for i in $(seq 0 $((n - 1))); do
	v=$(jq -r ".[$i].version" "$T/log.json")
	want=$(jq -r ".[$i].sha256" "$T/log.json")
	rm -f "$T/v"
	vigil get "phone1:$D/video.bin" --version "$v" -o "$T/v" || fail "get version $v"
	[ "$(sha256sum "$T/v" | cut -d' ' -f1)" = "$want" ] || fail "version $v does not verify"
done

note "kill -9 vigil get mid-transfer: no file under its name, or the whole one"
# the get writes a temporary beside the target and renames it only once
# verified and durable (controller/restore.c); killed while its writeback
# runs behind the transfer, it must leave no file named "got"
mkdir -p "$T/getdir"
tmp_kib() { du -sk "$T/getdir" | cut -f1; }
"$BIN/vigil" get "phone1:$D/video.bin" -o "$T/getdir/got" 2>>"$T/get.log" &
GPID=$!
i=0
while [ "$(tmp_kib)" -lt 65536 ] && kill -0 $GPID 2>/dev/null; do
	i=$((i + 1)); [ "$i" -gt 1200 ] && fail "the get's temporary never grew"
	sleep 0.02
done
kill -9 $GPID 2>/dev/null || true
if { wait $GPID; } 2>/dev/null; then
	note "the get finished before the kill (a fast machine): its file must be whole"
	cmp -s "$T/getdir/got" "$D/video.bin" || fail "a finished get left a wrong file"
else
	[ ! -e "$T/getdir/got" ] || fail "a killed get left a file under its final name"
	ls -A "$T/getdir" | grep -q '^\.vigil-tmp-' || fail "the killed get left no temporary (was it killed mid-transfer?)"
fi
rm -rf "$T/getdir"
vigil get "phone1:$D/video.bin" -o "$T/getdir2" || fail "get after the killed one"
cmp -s "$T/getdir2" "$D/video.bin" || fail "get after the killed one: content differs"
echo ok
