# t_groupcommit.sh — many small files through the server's group commit:
# kill -9 of vigil-server while 16 shippers push, restart, and every
# version the device had acknowledged (its shipped table) is on the server
# with its bytes; then the rest ships, everything is listed, and the
# server's counters show versions committed in fewer groups than versions.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
N=1200
python3 - "$D" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(6):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
for i in range(n):
    with open(f"{root}/d{i % 6}/f{i:04}", "wb") as f:
        f.write(os.urandom(4096))
PY

meta() { sqlite3 "$T/srv/index.db" "SELECT coalesce((SELECT value FROM meta WHERE key='$1'), 0)" 2>/dev/null || echo 0; }

note "kill -9 vigil-server while the files go up"
"$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" --watch "$D" >>"$T/vigild.log" 2>&1 &
VPID=$!
# batched puts commit a whole batch (up to 128 files) at once, so the cut
# comes while bodies arrive: once a third of the bytes is in the store
i=0
while [ "$(du -sb "$T/srv/store" 2>/dev/null | cut -f1)" -lt $((N * 4096 / 3)) ]; do
	i=$((i + 1)); [ "$i" -gt 1200 ] && fail "the store never grew"
	kill -0 $VPID 2>/dev/null || fail "vigild ended before the kill"
	sleep 0.02
done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
wait $VPID 2>/dev/null || true

note "every acknowledged version survived"
sqlite3 -separator ' ' "$T/state-phone1/state.db" \
	"SELECT CAST(path AS TEXT), version FROM shipped WHERE type = 1 ORDER BY path" >"$T/acked"
acked=$(wc -l <"$T/acked")
[ "$acked" -lt "$N" ] || fail "all $N acknowledged before the kill: nothing was cut"
server_start
# with nothing acknowledged the kill may have come before the first
# commit: then not even $D is on the server (nothing to check here; the
# second run below lists everything)
if ! vigil ls "phone1:$D" --recursive --json >"$T/ls.json"; then
	[ "$acked" -eq 0 ] || fail "ls after restart"
	echo '[]' >"$T/ls.json"
fi
jq -r '.[] | select(.type == "file") | "\(.path) \(.version)"' "$T/ls.json" | sort >"$T/onsrv"
missing=$(sort "$T/acked" | comm -23 - "$T/onsrv" | wc -l)
[ "$missing" -eq 0 ] || { sort "$T/acked" | comm -23 - "$T/onsrv" | head -5; fail "$missing acknowledged version(s) lost"; }
if [ "$acked" -gt 0 ]; then
	p=$(head -1 "$T/acked" | cut -d' ' -f1)
	same_file phone1 "$p" "$p"
fi

note "the rest ships; all listed; groups < versions"
# the first run's batches may have committed nearly all of it unheard
# (adopted now, not counted): 100 files more are sure to be new
mkdir -p "$D/late"
for i in $(seq 1 100); do head -c 4096 /dev/urandom >"$D/late/l$i"; done
g0=$(meta commit_groups)
v0=$(meta commit_versions)
vigild_once phone1 "$D"
vigil ls "phone1:$D" --recursive --json | jqe "[.[] | select(.type == \"file\")] | length == $((N + 100))" >/dev/null ||
	fail "not every file is listed"
if [ "$acked" -gt 0 ]; then
	p=$(tail -1 "$T/acked" | cut -d' ' -f1)
	same_file phone1 "$p" "$p"
fi
last="$D/d$(((N - 1) % 6))/f$(printf %04d $((N - 1)))"
same_file phone1 "$last" "$last"
g=$(($(meta commit_groups) - g0))
v=$(($(meta commit_versions) - v0))
note "second run: $v versions in $g groups"
# (some the first run committed without the device hearing it: adopted now)
[ "$(meta commit_versions)" -ge "$N" ] || fail "$(meta commit_versions) versions committed for $N files"
[ "$g" -lt "$v" ] || fail "no two versions shared a commit ($g groups, $v versions)"
echo ok
