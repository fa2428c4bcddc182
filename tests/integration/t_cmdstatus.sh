# t_cmdstatus.sh — `vigil status` reads the command queue and audit trail
# from a running server: commands[] newest last, frozen and erase derived
# from the history, a command past its expiry shown expired (with its
# event), all of it kept across a server restart; the trail refuses a
# DELETE even straight on index.db.  Rows are put in with sqlite3, as the
# relay will (server/commands.c); the relay's own tests send real commands.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
vigil status phone1 --json | jqe '.frozen == false and .erase.state == "none" and
	.erase.files == 0 and .commands == []' >/dev/null || fail "fresh device has command state"

note "status shows the queue and derives frozen and erase from it"
now=$(date +%s%N)
hour=$((now + 3600000000000))
dev="(SELECT id FROM identities WHERE name = 'phone1')"
sqlite3 "$T/srv/index.db" "PRAGMA busy_timeout = 5000;
	INSERT INTO commands(dev, controller, action, body, sig, state, seq, issued_ns,
	  expires_ns, queued_ns, updated_ns, files, bytes) VALUES
	($dev, 'admin', 'freeze', x'01', zeroblob(64), 'done', 1, $now, $hour, $now, $now, 0, 0),
	($dev, 'admin', 'erase', x'02', zeroblob(64), 'running', 2, $now, $hour, $now, $now, 4, 4096),
	($dev, 'admin', 'thaw', x'03', zeroblob(64), 'pending', 3, $now, $now, $now, $now, 0, 0);" \
	>/dev/null
check() {
	vigil status phone1 --json > "$T/st.json"
	jq -e '.frozen == true and .erase == {state: "running", files: 4, bytes: 4096} and
		([.commands[] | [.id, .action, .by, .state]] ==
		 [[1, "freeze", "admin", "done"], [2, "erase", "admin", "running"],
		  [3, "thaw", "admin", "expired"]]) and
		([.events[] | select(.kind == "command") | .detail] ==
		 ["#3 thaw expired (queued by admin)"]) and
		(.commands[2].updated > .commands[2].issued)' "$T/st.json" >/dev/null ||
		fail "status: $(cat "$T/st.json")"
}
check

note "kept across a restart, and expired once"
server_stop
server_start
check

note "the trail cannot be deleted, even on index.db"
if sqlite3 "$T/srv/index.db" "DELETE FROM events" 2>/dev/null; then fail "events deleted"; fi
if sqlite3 "$T/srv/index.db" "DELETE FROM commands" 2>/dev/null; then fail "commands deleted"; fi
check
echo ok
