# t_rootwalk.sh — end to end, vigild never reads outside its watched root through a
# symlink laid inside it: a shipped directory swapped for a symlink to an
# outside directory (the debounce-window swap), a database replaced by a
# symlink to an outside database, a symlink to a FIFO and a FIFO itself.
# `vigild once` finishes (nothing blocks), ships the symlinks as symlinks and
# the files under the swapped directory as deleted, and no stored version
# holds an outside file's bytes.  Whether the shipper meets the file under
# the swapped directory before the directory itself depends on queue order,
# so the race proper is tested in tests/unit/test_capture.c and
# test_rootwalk.c; this checks the property end to end.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
O=$T/outside
mkdir -p "$D/sub" "$O/sub" "$D/live" "$O/live"
echo "outside live secret" >"$O/live/g"
echo inside >"$D/sub/f"
sqlite3 "$D/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES('inside');"
sqlite3 "$D/sub/app2.db" "CREATE TABLE t(x); INSERT INTO t VALUES('inside');"
echo "outside secret" >"$O/sub/f"
chmod 600 "$O/sub/f"
sqlite3 "$O/other.db" "CREATE TABLE secret(x); INSERT INTO secret VALUES('outside secret');"
sqlite3 "$O/sub/app2.db" "CREATE TABLE secret(x); INSERT INTO secret VALUES('outside secret');"
mkfifo "$O/fifo"
vigild_once phone1 "$D"
same_file phone1 "$D/sub/f" "$D/sub/f"

note "swap the shipped directory and database for symlinks to outside ones"
rm -rf "$D/sub"
ln -s "$O/sub" "$D/sub"
rm "$D/app.db"
ln -s "$O/other.db" "$D/app.db"
ln -s "$O/fifo" "$D/tofifo"
mkfifo "$D/fifo"
vigild_once phone1 "$D"

vigil ls "phone1:$D" --json >"$T/ls.json"
[ "$(jq -r --arg p "$D/sub" '.[] | select(.path == $p) | .type' "$T/ls.json")" = symlink ] ||
	fail "the swapped directory is not a symlink on the server"
[ "$(jq -r --arg p "$D/app.db" '.[] | select(.path == $p) | .type' "$T/ls.json")" = symlink ] ||
	fail "the swapped database is not a symlink on the server"
vigil log "phone1:$D/sub/f" --json >"$T/log.json"
[ "$(jq -r '.[-1].deleted' "$T/log.json")" = true ] || fail "$D/sub/f not deleted on the server"
vigil log "phone1:$D/sub/app2.db" --json >"$T/log.json"
[ "$(jq -r '.[-1].deleted' "$T/log.json")" = true ] || fail "$D/sub/app2.db not deleted on the server"

note "no stored version holds an outside byte"
out1=$(sha256sum "$O/sub/f" | cut -d' ' -f1)
for p in "$D/sub/f" "$D/sub/app2.db" "$D/app.db"; do
	vigil log "phone1:$p" --json | jq -r '.[].sha256' | grep -qx "$out1" && fail "$p: outside content stored"
done
vigil search phone1 "outside secret" --all-versions --json >"$T/s.json" || true
[ "$(jq length "$T/s.json" 2>/dev/null || echo 0)" = 0 ] || fail "outside text is searchable on the server"
note "vigild run: a parent swapped for a symlink right after a write to a file in it"
"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state-phone1" --watch "$D" \
	--debounce-ms 1500 >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
sleep 2
echo "inside live" >"$D/live/g"
rm -rf "$D/live"
ln -s "$O/live" "$D/live"
wait_for 30 "the swapped directory shipped as a symlink" sh -c \
	"'$BIN/vigil' ls 'phone1:$D' --json | jqe --arg p '$D/live' '.[] | select(.path == \$p and .type == \"symlink\")'"
wait_for 30 "an empty backlog" sh -c "'$BIN/vigild' status --state '$T/state-phone1' --json | jqe '.queue.files == 0'"
kill -0 "$VPID" || fail "vigild died"
out2=$(sha256sum "$O/live/g" | cut -d' ' -f1)
vigil log "phone1:$D/live/g" --json 2>/dev/null | jq -r '.[].sha256' | grep -qx "$out2" &&
	fail "$D/live/g: outside content stored"
vigil search phone1 "outside live secret" --all-versions --json >"$T/s.json" || true
[ "$(jq length "$T/s.json" 2>/dev/null || echo 0)" = 0 ] || fail "outside text is searchable on the server"
echo ok
