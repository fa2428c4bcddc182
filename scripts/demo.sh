#!/bin/bash
# demo.sh — a real local server and daemon on the embedded default storage
# (local chunk store + SQLite index), a few changes, and what the control
# terminal shows of them.  Stops everything it started.
set -euo pipefail
BIN=$(cd "$(dirname "$0")/.." && pwd)/build/bin
W=$(mktemp -d /tmp/vigil-demo.XXXXXX)
PIDS=""
# the "apps" a lost phone's owner wants stopped: a cgroup v2 with a process in it
CG=/sys/fs/cgroup/unified/vigil-demo$$
cg_gone() {
	[ -d "$CG" ] || return 0
	echo 0 >"$CG/cgroup.freeze" 2>/dev/null || true
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	sleep 0.2
	rmdir "$CG" 2>/dev/null || true
}
sim_gone() {
	[ -n "${SIMMNT:-}" ] || return 0
	fusermount3 -u "$SIMMNT" 2>/dev/null || umount -l "$SIMMNT" 2>/dev/null || true
}
trap 'sim_gone; for p in $PIDS; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; cg_gone; [ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

PORT=7445
ss -ltn "sport = :$PORT" | grep -q ":$PORT" && PORT=$(( (RANDOM % 20000) + 30000 ))

step "server: init, enroll a controller and a device, run"
run "$BIN/vigil-server" init "$W/server" --listen "127.0.0.1:$PORT"
run "$BIN/vigil-server" enroll "$W/server" --controller owner --out "$W/owner.bundle"
run "$BIN/vigil-server" enroll "$W/server" --device phone1 --out "$W/phone1.bundle"
"$BIN/vigil-server" run "$W/server" 2>"$W/server.log" &
PIDS="$PIDS $!"
export VIGIL_BUNDLE=$W/owner.bundle

step "device: a home folder with notes, contacts and a big photo archive"
H=$W/phone/home/alice
mkdir -p "$H/notes" "$H/photos" "$H/empty"
echo "Buy milk. Call Zhang San +86 138-0013-8000." >"$H/notes/todo.txt"
printf 'BEGIN:VCARD\nVERSION:3.0\nFN:Zhang San\nTEL:+8613800138000\nEND:VCARD\n' >"$H/contacts.vcf"
head -c ${DEMO_MB:-64}M /dev/urandom >"$H/photos/archive.bin"
ln -s notes/todo.txt "$H/todo-link"

FREEZE=()
if mkdir "$CG" 2>/dev/null; then
	sh -c 'echo $$ >"$1/cgroup.procs"; exec sleep 100000' app "$CG" &
	PIDS="$PIDS $!"
	FREEZE=(--freeze-cgroup "$CG")
fi
"$BIN/vigild" run --bundle "$W/phone1.bundle" --state "$W/vigild-state" --watch "$H" \
	"${FREEZE[@]}" 2>"$W/vigild.log" &
PIDS="$PIDS $!"
wait_synced() { # PATH SHA256
	for _ in $(seq 1 300); do
		"$BIN/vigil" log "phone1:$1" --json 2>/dev/null | grep -q "$2" && return 0
		sleep 0.1
	done
	echo "demo: $1 did not reach the server; vigild log:" >&2; tail "$W/vigild.log" >&2; exit 1
}
wait_synced "$H/photos/archive.bin" "$(sha256sum "$H/photos/archive.bin" | cut -c1-64)"

step "devices and a listing"
run "$BIN/vigil" devices
run "$BIN/vigil" ls "phone1:$H"

sent() { "$BIN/vigild" status --state "$W/vigild-state" --json | jq .counters.bytes_sent; }
sleep 1.5   # the daemon's status file is refreshed every second
before=$(sent)
step "changes: an edit in the middle of the 64 MiB file, a new note, a rename"
printf 'EDIT' | dd of="$H/photos/archive.bin" bs=1 seek=33554432 conv=notrunc status=none
echo "Meeting at 10" >"$H/notes/meeting.txt"
mv "$H/notes/todo.txt" "$H/notes/done.txt"
wait_synced "$H/photos/archive.bin" "$(sha256sum "$H/photos/archive.bin" | cut -c1-64)"
sleep 1.5
echo "bytes shipped for these changes: $(( $(sent) - before ))"
run "$BIN/vigil" log "phone1:$H/photos/archive.bin"
run "$BIN/vigil" ls "phone1:$H" --recursive

step "get: an old version and the whole tree"
run "$BIN/vigil" get "phone1:$H/photos/archive.bin" --version 1 -o "$W/archive.v1"
echo "version 1 differs from today's file in $(cmp -l "$W/archive.v1" "$H/photos/archive.bin" | wc -l) bytes"
run "$BIN/vigil" get "phone1:$H" -o "$W/restored"
run diff -r --no-dereference "$H" "$W/restored" && echo "restored tree is identical"

step "search: a phone number in another format, a name"
sleep 2
run "$BIN/vigil" search phone1 "138 0013 8000"
run "$BIN/vigil" search phone1 zhang milk

step "lost device: fetch straight from the phone, freeze its apps, thaw (signed commands)"
echo "Written a moment ago: locker code 4711" >"$H/notes/just-now.txt"
run "$BIN/vigil" get --direct "phone1:$H/notes/just-now.txt" -o "$W/just-now.txt"
run cat "$W/just-now.txt"
if [ ${#FREEZE[@]} -gt 0 ]; then
	run "$BIN/vigil" freeze phone1 --wait 30
	echo "kernel: $(grep frozen "$CG/cgroup.events")"
	run "$BIN/vigil" thaw phone1 --wait 30
	echo "kernel: $(grep frozen "$CG/cgroup.events")"
else
	echo "(no cgroup v2 at /sys/fs/cgroup/unified here: freeze skipped)"
fi

step "the SIM: vigil-simfs on a fake EG25-G modem (a pty), mounted inside the watched folder"
SIMMNT=$H/phone-sim
mkdir -p "$SIMMNT" "$W/sim-store"
mkfifo "$W/modem.ctl"
/usr/bin/python3 "$(dirname "$0")/../tests/integration/helpers/fakemodem.py" \
	--link "$W/ttyUSB2" --control "$W/modem.ctl" 2>"$W/modem.log" &
PIDS="$PIDS $!"
exec 9<>"$W/modem.ctl"
for _ in $(seq 50); do [ -e "$W/ttyUSB2" ] && break; sleep 0.1; done
"$BIN/vigil-simfs" --modem "$W/ttyUSB2" --backing "$W/sim-store" --state "$W/vigild-state" \
	--poll 5 "$SIMMNT" -f 2>"$W/simfs.log" &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$SIMMNT/sim/phonebook.vcf" ] && break; sleep 0.1; done
run cat "$SIMMNT/sim/identity"
run grep -B2 -A3 '张三' "$SIMMNT/sim/phonebook.vcf"
wait_present() { # PATH
	for _ in $(seq 300); do
		"$BIN/vigil" log "phone1:$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "demo: $1 did not reach the server" >&2; exit 1
}
wait_present "$SIMMNT/sim/phonebook.vcf"
echo "\$ vigil status phone1 | grep sim:"
"$BIN/vigil" status phone1 | grep 'sim:'

step "a thief swaps the SIM: the modem says so, simfs reads the new card, the server raises an event"
run sh -c "echo 'swap 89860099990000001111 460009999001111' >'$W/modem.ctl'"
for _ in $(seq 100); do
	"$BIN/vigil" status phone1 --json | jq -e '.sim.iccid == "89860099990000001111"' >/dev/null && break
	sleep 0.1
done
echo "\$ vigil status phone1 --json | jq '{sim, events: [sim events]}'"
"$BIN/vigil" status phone1 --json | jq '{sim, events: [.events[] | select(.kind | startswith("sim"))]}'

step "search: numbers that exist only on the SIMs, in other formats than the cards hold"
for _ in $(seq 100); do   # the new card's phonebook: shipped, then indexed
	"$BIN/vigil" search phone1 "+44 7700 900123" 2>/dev/null | grep -q phonebook && break
	sleep 0.1
done
run "$BIN/vigil" search phone1 "+44 (0)7700 900123"
run "$BIN/vigil" search phone1 "138 0013 8001" --all-versions

step "status"
run "$BIN/vigild" status --state "$W/vigild-state"
run "$BIN/vigil" status phone1
echo; echo "demo: done; stopping the server and the daemon"
