#!/bin/bash
# t_commands.sh — signed commands end to end, on real cgroups: freeze and
# thaw confirmed by the kernel (v2 cgroup.freeze and the v1 freezer), a
# freeze that survives kill -9 and a "reboot", refusals of forged,
# unsigned, expired, replayed, misaddressed and server-made commands (put
# straight into the server's queue, as a compromised server could), an
# offline device served on reconnect, an expired command never run, and
# trust granted and taken back.
. "$(dirname "$0")/lib.sh"

CG2=/sys/fs/cgroup/unified/vigil-t$$
CG1=/sys/fs/cgroup/freezer/vigil-t$$
[ -e /sys/fs/cgroup/unified/cgroup.procs ] || fail "no cgroup2 at /sys/fs/cgroup/unified"
[ -e /sys/fs/cgroup/freezer/cgroup.procs ] || fail "no v1 freezer at /sys/fs/cgroup/freezer"
cg_cleanup() {
	set +e
	for g in "$CG2" "$CG1"; do
		[ -d "$g" ] || continue
		[ -e "$g/cgroup.freeze" ] && echo 0 >"$g/cgroup.freeze" 2>/dev/null
		[ -e "$g/freezer.state" ] && echo THAWED >"$g/freezer.state" 2>/dev/null
		for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		sleep 0.2
		rmdir "$g" 2>/dev/null
	done
}
trap 'cg_cleanup; cleanup' EXIT INT TERM
mkdir "$CG2" "$CG1"

# counters: a process in each cgroup bumping a number in a file
counter() {   # FILE CGROUP-PROCS-FILE
	sh -c 'echo $$ >"$2"; i=0; while :; do i=$((i+1)); echo $i >"$1.tmp"; mv "$1.tmp" "$1"; sleep 0.02; done' \
		counter "$1" "$2" &
	PIDS="$PIDS $!"
}
counter "$T/c2" "$CG2/cgroup.procs"
counter "$T/c1" "$CG1/cgroup.procs"
wait_for 5 "counters" sh -c "[ -s '$T/c2' ] && [ -s '$T/c1' ]"

moving() {   # FILE: the counter advances within 0.5 s
	a=$(cat "$1"); sleep 0.5; b=$(cat "$1"); [ "$a" != "$b" ]
}
kernel_frozen() {
	grep -q '^frozen 1' "$CG2/cgroup.events" && [ "$(cat "$CG1/freezer.state")" = FROZEN ]
}
kernel_thawed() {
	grep -q '^frozen 0' "$CG2/cgroup.events" && [ "$(cat "$CG1/freezer.state")" = THAWED ]
}

server_start
enroll_pair phone1
"$BIN/vigil-server" enroll "$T/srv" --device phone2 --out "$T/phone2.bundle" >/dev/null
mkdir -p "$T/root"
echo hello >"$T/root/a.txt"

VIGILD_PID=""
vigild_start() {
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state" --watch "$T/root" \
		--freeze-cgroup "$CG2" --freeze-cgroup "$CG1" >>"$T/vigild.log" 2>&1 &
	VIGILD_PID=$!
	PIDS="$PIDS $VIGILD_PID"
}
status_json() { vigil status phone1 --json; }
cmd_state() {   # ID -> state of that command in status
	status_json | jq -r --argjson id "$1" '.commands[] | select(.id == $id) | .state'
}
last_id() { status_json | jq -r '.commands[-1].id'; }

note "a device's freeze cgroup holding vigild itself is refused at start"
mkdir "$CG2-self"
rc=0
sh -c "echo \$\$ >'$CG2-self/cgroup.procs'; exec '$BIN/vigild' run --bundle '$T/phone1.bundle' \
	--state '$T/state-x' --watch '$T/root' --freeze-cgroup '$CG2-self'" >"$T/self.log" 2>&1 || rc=$?
rmdir "$CG2-self"
[ "$rc" = 1 ] || fail "vigild with its own cgroup as freeze cgroup: exit $rc, want 1"

note "freeze --wait: confirmed by the kernel, counters stop"
vigild_start
vigil freeze phone1 --wait 20 || fail "freeze --wait failed"
kernel_frozen || fail "the kernel does not report both cgroups frozen"
moving "$T/c2" && fail "v2 counter still moves while frozen"
moving "$T/c1" && fail "v1 counter still moves while frozen"
[ "$(status_json | jq -r .frozen)" = true ] || fail "status: frozen is not true"
FREEZE_ID=$(last_id)
[ "$(cmd_state "$FREEZE_ID")" = done ] || fail "freeze command not done in status"

note "frozen across kill -9 and a reboot (cgroups thawed behind vigild's back)"
kill -9 "$VIGILD_PID"
wait "$VIGILD_PID" 2>/dev/null || true
echo 0 >"$CG2/cgroup.freeze"
echo THAWED >"$CG1/freezer.state"
wait_for 5 "manual thaw" kernel_thawed
vigild_start
wait_for 10 "re-freeze at start" kernel_frozen

note "thaw --wait: counters move again"
vigil thaw phone1 --wait 20 || fail "thaw --wait failed"
kernel_thawed || fail "the kernel does not report both cgroups thawed"
moving "$T/c2" || fail "v2 counter does not move after thaw"
moving "$T/c1" || fail "v1 counter does not move after thaw"
[ "$(status_json | jq -r .frozen)" = false ] || fail "status: frozen is not false after thaw"

# ------------------------------------------------------------- refusals
H=$T/helpers
mkdir -p "$H"
cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ROOT" -o "$H/cmdforge" \
	"$ROOT/tests/integration/helpers/cmdforge.c" "$ROOT/build/lib/libcommon.a" \
	$(pkg-config --libs openssl) || fail "cannot build cmdforge"
DB=$T/srv/index.db
DEV1=$(sqlite3 "$DB" "SELECT id FROM identities WHERE name = 'phone1'")
# inject BODYHEX SIGHEX SEQ ACTION: what a compromised server could queue
# (its own bookkeeping columns say what it likes; the body is what counts)
inject() {
	now=$(date +%s%N)
	sqlite3 "$DB" ".timeout 5000" "INSERT INTO commands(dev, controller, action, body, sig,
		state, seq, issued_ns, expires_ns, queued_ns, updated_ns) VALUES ($DEV1, 'intruder',
		'$4', X'$1', X'$2', 'pending', (SELECT coalesce(max(seq), 0) + 1 FROM commands
		WHERE controller = 'intruder'), $now, $((now + 3600000000000)), $now, $now);
		SELECT last_insert_rowid();" | tail -1
}
refused() {   # WHAT BODYHEX SIGHEX SEQ ACTION
	id=$(inject "$2" "$3" "$4" "$5")
	wait_for 15 "refusal of $1" sh -c "[ \"\$(VIGIL_BUNDLE='$T/ctl.bundle' '$BIN/vigil' status phone1 --json |
		jq -r '.commands[] | select(.id == $id) | .state')\" = refused ]"
	kernel_thawed || fail "$1: the cgroups were frozen anyway"
}
forge() { "$H/cmdforge" --device "${DEVICE:-phone1}" "$@"; }

note "refused: forged (a key nobody trusts)"
refused forged $(forge --action freeze --seq 1000 --controller admin --random-key) 1000 freeze
note "refused: unsigned"
refused unsigned $(forge --action freeze --seq 1001 --bundle "$T/ctl.bundle" --zero-sig) 1001 freeze
note "refused: signed with the server's own CA key (the server alone)"
refused server-made $(forge --action freeze --seq 1002 --controller admin --key "$T/srv/ca/ca.key") 1002 freeze
note "refused: expired"
refused expired $(forge --action freeze --seq 1003 --bundle "$T/ctl.bundle" --expires-in -60) 1003 freeze
note "refused: addressed to another device"
refused misaddressed $(DEVICE=phone2 forge --action freeze --seq 1004 --bundle "$T/ctl.bundle") 1004 freeze
note "refused: replay of the executed freeze, and a lower sequence number"
REPLAY=$(sqlite3 "$DB" "SELECT hex(body) || ' ' || hex(sig) FROM commands WHERE id = $FREEZE_ID")
refused replay $REPLAY 1 freeze
refused lower-seq $(forge --action freeze --seq 2 --bundle "$T/ctl.bundle") 2 freeze
note "refused: the same replay after kill -9 of vigild"
kill -9 "$VIGILD_PID"
wait "$VIGILD_PID" 2>/dev/null || true
vigild_start
refused replay-after-restart $REPLAY 1 freeze
n=$(status_json | jq '[.events[] | select(.detail | test("refused"))] | length')
[ "$n" -ge 8 ] || fail "status events show $n refusals, want 8"

# ----------------------------------------------------- offline device
note "offline: queued commands run on reconnect, an expired one never"
kill "$VIGILD_PID"
wait "$VIGILD_PID" 2>/dev/null || true
vigil freeze phone1 --expire 1s || fail "freeze --expire 1s not queued"
EXPIRED_ID=$(last_id)
sleep 2
vigil freeze phone1 || fail "freeze (offline) not queued"
OFFLINE_ID=$(last_id)
[ "$(cmd_state "$OFFLINE_ID")" = pending ] || fail "offline command not pending"
rc=0
vigil thaw phone1 --wait 2 || rc=$?
[ "$rc" = 3 ] || fail "thaw --wait 2 to an offline device: exit $rc, want 3"
THAW_ID=$(last_id)
vigild_start
wait_for 20 "the offline thaw to finish" sh -c "[ \"\$(VIGIL_BUNDLE='$T/ctl.bundle' '$BIN/vigil' status phone1 --json |
	jq -r '.commands[] | select(.id == $THAW_ID) | .state')\" = done ]"
[ "$(cmd_state "$EXPIRED_ID")" = expired ] || fail "expired command: $(cmd_state "$EXPIRED_ID"), want expired"
[ "$(cmd_state "$OFFLINE_ID")" = done ] || fail "offline freeze: $(cmd_state "$OFFLINE_ID"), want done"
kernel_thawed || fail "queue order: the thaw queued last did not win"

# --------------------------------------------------------------- trust
note "trust: a controller enrolled after the device is refused until trusted"
"$BIN/vigil-server" enroll "$T/srv" --controller ctl2 --out "$T/ctl2.bundle" >/dev/null
rc=0
VIGIL_BUNDLE=$T/ctl2.bundle vigil freeze phone1 --wait 20 2>"$T/ctl2.err" || rc=$?
[ "$rc" = 1 ] || fail "freeze by an untrusted controller: exit $rc, want 1"
kernel_thawed || fail "an untrusted controller froze the device"
vigil trust phone1 --add "$T/ctl2.bundle" --wait 20 || fail "trust --add failed"
VIGIL_BUNDLE=$T/ctl2.bundle vigil freeze phone1 --wait 20 || fail "freeze by a newly trusted controller failed"
kernel_frozen || fail "not frozen by the newly trusted controller"
VIGIL_BUNDLE=$T/ctl2.bundle vigil thaw phone1 --wait 20 || fail "thaw by ctl2 failed"
vigil trust phone1 --revoke ctl2 --wait 20 || fail "trust --revoke failed"
rc=0
VIGIL_BUNDLE=$T/ctl2.bundle vigil freeze phone1 --wait 20 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "freeze by a revoked controller: exit $rc, want 1"
kernel_thawed || fail "a revoked controller froze the device"
note "ok"
