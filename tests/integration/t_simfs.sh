# t_simfs.sh — vigil-simfs on a real FUSE mount, with the fake EG25-G
# (helpers/fakemodem.py), a real server and a real vigild watching a root
# that holds the mountpoint.  Checks: exit codes and one-line errors; a
# mount that comes up and passes through while no modem answers; identity
# and phonebook bytes (张三, the exact ICCID line), sim/ read-only (EROFS)
# and hiding the backing dir's own "sim"; registration in STATE/mounts;
# the SIM files on the server, a phonebook edit on the SIM reaching `vigil
# log` and `vigil search` in two number formats; a SIM swap in `vigil
# status` within 5 s with a sim-swap event, a swap to an allow-listed ICCID
# without one; passthrough writes reaching the server, an in-place edit as
# ranges; the modem gone for 30 s with every read served at once from the
# last content, and an edit made meanwhile showing once it is back; an idle
# simfs waking only for its reads; --modem mm on a fake ModemManager
# (helpers/fakemm.py); SIGTERM unmounting and unregistering.
. "$(dirname "$0")/lib.sh"

[ -e /dev/fuse ] && command -v fusermount3 >/dev/null || { echo "skip: no FUSE"; exit 0; }

PY=/usr/bin/python3
H=$ROOT/tests/integration/helpers
SIMFS=$BIN/vigil-simfs
ICCID_A=89860012345678901234
ICCID_B=8944110012345678901
ICCID_C=8986001111111111111   # allow-listed

fake_start() { # NAME: a fake modem at $T/NAME.tty, controlled through $T/NAME.ctl
	"$PY" "$H/fakemodem.py" --link "$T/$1.tty" --control "$T/$1.ctl" --log "$T/$1.log" \
		2>>"$T/$1.err" &
	PIDS="$PIDS $!"
	wait_for 10 "fake modem $1" test -e "$T/$1.tty"
}
ctl() { # NAME LINE...
	n=$1
	shift
	echo "$*" >"$T/$n.ctl"
}
simfs_fg() { # MOUNT ARGS...: vigil-simfs -f in the background, its pid in SPID
	m=$1
	shift
	mkdir -p "$m"
	MOUNTS="$MOUNTS $m"
	"$SIMFS" "$@" "$m" -f >>"$T/simfs.log" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait_for 10 "mount on $m" mountpoint -q "$m"
}
stop_fg() { # PID MOUNT: SIGTERM, exit 0, mount gone
	kill -TERM "$1"
	rc=0
	timeout 10 tail --pid="$1" -f /dev/null || fail "vigil-simfs $1 did not exit on SIGTERM"
	wait "$1" || rc=$?
	[ "$rc" = 0 ] || fail "vigil-simfs exited $rc on SIGTERM"
	! mountpoint -q "$2" || fail "$2 still mounted after SIGTERM"
}
switches() { # PID: context switches of all its threads
	cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'
}
reads() { # NAME: SIM reads the fake modem answered (one AT+CPIN? each)
	grep -c "< 'AT+CPIN?'" "$T/$1.log" || true
}

note "command line: --help, usage errors exit 2, start failures exit 1, one line each"
"$SIMFS" --help | grep -q -- '--allow-iccid' || fail "--help"
expect_rc() { # RC ARGS...
	want=$1
	shift
	rc=0
	"$SIMFS" "$@" >/dev/null 2>"$T/err" || rc=$?
	[ "$rc" = "$want" ] || fail "vigil-simfs $*: exit $rc, want $want"
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q '^vigil-simfs: ' "$T/err" ||
		fail "vigil-simfs $*: stderr is not one line: $(cat "$T/err")"
}
mkdir -p "$T/empty"
expect_rc 2
expect_rc 2 "$T/empty"
expect_rc 2 --modem x
expect_rc 2 --modem x --poll 0 "$T/empty"
expect_rc 2 --modem x --poll 5s "$T/empty"
expect_rc 2 --modem x --allow-iccid 12,zz "$T/empty"
expect_rc 2 --modem x --bogus "$T/empty"
expect_rc 2 --modem x "$T/empty" "$T/empty"
expect_rc 1 --modem x "$T/none"
expect_rc 1 --modem x --backing "$T/none" "$T/empty"
expect_rc 1 --modem x --state "$T/none" "$T/empty"
mountpoint -q "$T/empty" && fail "a failed start left a mount"

note "no modem: the mount comes up, passes through, sim/ is empty"
mkdir -p "$T/b0"
echo kept >"$T/b0/old.txt"
simfs_fg "$T/m0" --modem "$T/absent.tty" --backing "$T/b0"
[ "$(cat "$T/m0/old.txt")" = kept ] || fail "backing file not seen"
echo new >"$T/m0/new.txt"
[ "$(cat "$T/b0/new.txt")" = new ] || fail "write did not reach the backing dir"
[ "$(ls "$T/m0" | tr '\n' ' ')" = "new.txt old.txt sim " ] || fail "root: $(ls "$T/m0")"
[ -z "$(ls "$T/m0/sim")" ] || fail "sim/ not empty without a modem"
stop_fg "$SPID" "$T/m0"

note "server, vigild watching $T/root, vigil-simfs on $T/root/phone"
server_start
enroll_pair phone1
W=$T/root
M=$W/phone
B=$T/back
S=$T/state
mkdir -p "$W" "$B/sim"
echo decoy >"$B/sim/identity"
echo "outside the mount" >"$W/plain.txt"
fake_start fm
"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$W" --tracker auto \
	>>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
wait_for 30 "vigild's simfs socket" test -S "$S/simfs.sock"
mkdir -p "$M"
MOUNTS="$MOUNTS $M"
timeout 20 "$SIMFS" --modem "$T/fm.tty" --backing "$B" --state "$S" --poll 5 \
	--allow-iccid "$ICCID_C" "$M" 2>>"$T/simfs.log" || fail "vigil-simfs did not start"
mountpoint -q "$M" || fail "not mounted when vigil-simfs returned"
MPID=$(pgrep -nf "vigil-simfs --modem $T/fm.tty") || fail "no daemonized vigil-simfs"
PIDS="$PIDS $MPID"
[ "$(grep -cxF "$M" "$S/mounts")" = 1 ] || fail "$M not registered once in STATE/mounts"

note "sim/identity and sim/phonebook.vcf through the mount"
wait_for 15 "identity" grep -qx "iccid=$ICCID_A" "$M/sim/identity"
grep -qx "imsi=460001234567890" "$M/sim/identity" || fail "imsi line"
grep -qx "msisdn=+8613800138000" "$M/sim/identity" || fail "msisdn line"
grep -q '^FN:张三' "$M/sim/phonebook.vcf" || fail "张三 not in the phonebook"
grep -q 'TEL.*+8613800138001' "$M/sim/phonebook.vcf" || fail "张三's number"
[ -e "$M/sim/sms/1.txt" ] || fail "no sim/sms/1.txt"
[ "$(stat -c %a "$M/sim/identity")" = 444 ] || fail "identity mode"
[ "$(stat -c %a "$M/sim")" = 555 ] || fail "sim/ mode"
grep -q decoy "$M/sim/identity" && fail "the backing dir's sim/ shows through"
"$PY" - "$M" <<'PY' || fail "sim/ is not read-only"
import errno, os, sys
m = sys.argv[1]
def erofs(f, *a):
    try:
        f(*a)
    except OSError as e:
        assert e.errno == errno.EROFS, (f.__name__, a, e)
        return
    raise SystemExit("%s%r succeeded" % (f.__name__, a))
erofs(os.open, m + "/sim/identity", os.O_WRONLY)
erofs(os.open, m + "/sim/new", os.O_WRONLY | os.O_CREAT, 0o644)
erofs(os.unlink, m + "/sim/identity")
erofs(os.mkdir, m + "/sim/d")
erofs(os.rename, m + "/sim/identity", m + "/identity")
erofs(os.truncate, m + "/sim/identity", 0)
erofs(os.chmod, m + "/sim/identity", 0o644)
PY

same_latest() { # PATH: the server's latest version has PATH's bytes
	rm -f "$T/got"
	vigil get "phone1:$1" -o "$T/got" >/dev/null 2>&1 && cmp -s "$T/got" "$1"
}
versions() { vigil log "phone1:$1" --json 2>/dev/null | jq length; }
note "the SIM files reach the server"
wait_for 30 "phonebook on the server" same_latest "$M/sim/phonebook.vcf"
wait_for 30 "identity on the server" same_latest "$M/sim/identity"
wait_for 30 "the passthrough's old files" same_latest "$W/plain.txt"

note "a phonebook edit on the SIM reaches the server and search"
n0=$(versions "$M/sim/phonebook.vcf")
t0=$(date +%s%N)
ctl fm pb-set 7 129 13800138999 王五
wait_for 15 "the edit in phonebook.vcf" grep -q 13800138999 "$M/sim/phonebook.vcf"
wait_for 30 "a new version" sh -c "[ \"\$('$BIN/vigil' log 'phone1:$M/sim/phonebook.vcf' --json | jq length)\" -gt $n0 ]"
note "phonebook edit to a new version on the server: $((($(date +%s%N) - t0) / 1000000)) ms (--poll 5)"
wait_for 30 "the new version's bytes" same_latest "$M/sim/phonebook.vcf"
found() { vigil search phone1 "$1" --json | jqe --arg p "$M/sim/phonebook.vcf" 'any(.[]; .path == $p)'; }
wait_for 30 "search 13800138999" found 13800138999
found "+86 138 0013 8999" >/dev/null || fail "'+86 138 0013 8999' does not find the SIM entry"
found 王五 >/dev/null || fail "王五 not found"

note "a SIM swap reaches vigil status within 5 s, with a sim-swap event"
status() { vigil status phone1 --json; }
swaps() { status | jq '[.events[] | select(.kind == "sim-swap")] | length'; }
sim_is() { status | jqe --arg i "$1" '.sim.iccid == $i'; }
wait_for 30 "the first SIM in status" sim_is "$ICCID_A"
s0=$(swaps)
t0=$(date +%s%N)
ctl fm swap
wait_for 10 "the swap in status" sim_is "$ICCID_B"
ms=$((($(date +%s%N) - t0) / 1000000))
note "swap in vigil status after $ms ms"
[ "$ms" -le 5000 ] || fail "swap took $ms ms to reach vigil status"
[ "$(swaps)" -gt "$s0" ] || fail "no sim-swap event"
status | jqe '.sim.imsi == "234150987654321"' >/dev/null || fail "status imsi"
grep -qx "iccid=$ICCID_B" "$M/sim/identity" || fail "identity after the swap"

note "a swap to an allow-listed ICCID: status follows, no new sim-swap event"
s1=$(swaps)
ctl fm swap "$ICCID_C" 460001111111111
wait_for 10 "the allowed SIM in status" sim_is "$ICCID_C"
sleep 1
[ "$(swaps)" = "$s1" ] || fail "an allow-listed ICCID made a sim-swap event"

note "writes through --backing reach the server; an in-place edit goes as ranges"
counter() { vigild_counter "$S" "$1"; }
echo "written through the mount" >"$M/notes.txt"
cmp -s "$M/notes.txt" "$B/notes.txt" || fail "notes.txt not in the backing dir"
wait_for 30 "notes.txt on the server" same_latest "$M/notes.txt"
head -c 4M /dev/urandom >"$T/big.src"
cp "$T/big.src" "$M/big.bin"
cmp -s "$T/big.src" "$B/big.bin" || fail "big.bin not in the backing dir"
wait_for 60 "big.bin on the server" same_latest "$M/big.bin"
# An in-place edit must ship as ranges.  A ship that overlapped the writer
# (vigild saw the file change while reading it) keeps no chunk list and
# the next one goes by delta, so up to three edits, one pwrite each.
ranged=0
for k in 1 2 3; do
	vigild_settled "$S"
	r0=$(counter shipped_ranges)
	"$PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
assert os.pwrite(fd, (sys.argv[2].encode() * 300)[:4095], 1000000) == 4095
os.close(fd)' "$M/big.bin" "EDITED-ROUND-$k"
	wait_for 60 "in-place edit $k on the server" same_latest "$M/big.bin"
	vigild_settled "$S"
	[ "$(counter shipped_ranges)" -gt "$r0" ] && { ranged=1; break; }
done
[ "$ranged" = 1 ] || fail "no in-place edit through the mount shipped as ranges"
mkdir "$M/dir"
mv "$M/notes.txt" "$M/dir/notes.txt"
wait_for 30 "renamed file on the server" same_latest "$M/dir/notes.txt"
wait_for 30 "old name deleted" sh -c "'$BIN/vigil' log 'phone1:$M/notes.txt' --json | jqe '.[-1].deleted'"

note "the modem gone for 30 s: every read served at once, an edit made meanwhile shows after"
cp "$M/sim/identity" "$T/id.before"
cp "$M/sim/phonebook.vcf" "$T/pb.before"
ctl fm vanish 30
start=$(date +%s)
i=0
# reads for 27 of the 30 s: the modem is back after 30 s and the edit below
# may then show at once, so the loop stops short of it on a slow machine
while [ $(($(date +%s) - start)) -lt 27 ]; do
	timeout 1 cat "$M/sim/identity" >"$T/id.now" || fail "identity unreadable (or slow) while the modem was gone"
	timeout 1 cat "$M/sim/phonebook.vcf" >"$T/pb.now" || fail "phonebook unreadable (or slow) while the modem was gone"
	cmp -s "$T/id.now" "$T/id.before" && cmp -s "$T/pb.now" "$T/pb.before" ||
		fail "the SIM files changed while the modem was gone"
	i=$((i + 1))
	[ "$i" = 3 ] && ctl fm pb-set 9 129 13700000009 赵六
	sleep 0.5
done
wait_for 25 "the edit made while the modem was gone" grep -q 13700000009 "$M/sim/phonebook.vcf"

note "an unchanged SIM makes no new version"
wait_for 30 "phonebook settled" same_latest "$M/sim/phonebook.vcf"
n1=$(versions "$M/sim/phonebook.vcf")
m1=$(stat -c %Y.%N "$M/sim/identity")
r1=$(reads fm)
wait_for 20 "two more SIM reads" sh -c "[ \$(grep -c \"< 'AT+CPIN?'\" '$T/fm.log') -ge $((r1 + 2)) ]"
[ "$(versions "$M/sim/phonebook.vcf")" = "$n1" ] || fail "an unchanged phonebook made a new version"
[ "$(stat -c %Y.%N "$M/sim/identity")" = "$m1" ] || fail "an unchanged identity got a new mtime"

note "an idle simfs wakes only for its reads"
fake_start idle
simfs_fg "$T/m2" --modem "$T/idle.tty" --poll 5
wait_for 15 "identity" grep -qx "iccid=$ICCID_A" "$T/m2/sim/identity"
sleep 1
c0=$(switches "$SPID")
r0=$(reads idle)
sleep 10
c1=$(switches "$SPID")
r1=$(reads idle)
note "--poll 5: $((r1 - r0)) SIM reads, $((c1 - c0)) context switches in 10 s"
[ $((r1 - r0)) -ge 1 ] && [ $((r1 - r0)) -le 3 ] || fail "$((r1 - r0)) reads in 10 s at --poll 5"
stop_fg "$SPID" "$T/m2"
simfs_fg "$T/m2" --modem "$T/idle.tty" --poll 3600
wait_for 15 "identity" grep -qx "iccid=$ICCID_A" "$T/m2/sim/identity"
sleep 1
c0=$(switches "$SPID")
sleep 10
c1=$(switches "$SPID")
note "--poll 3600: $((c1 - c0)) context switches in 10 s"
[ $((c1 - c0)) -le 3 ] || fail "an idle simfs woke $((c1 - c0)) times in 10 s with nothing due"
stop_fg "$SPID" "$T/m2"

note "--modem mm: identity from a fake ModemManager, no phonebook"
mkdir -p "$T/bus"
"$PY" "$H/fakemm.py" --bus-dir "$T/bus" --control "$T/mm.ctl" --ready-file "$T/mm.ready" \
	2>>"$T/mm.err" &
PIDS="$PIDS $!"
wait_for 15 "fake ModemManager" test -e "$T/mm.ready"
DBUS_SYSTEM_BUS_ADDRESS=$(cat "$T/bus/bus.address")
export DBUS_SYSTEM_BUS_ADDRESS
simfs_fg "$T/m3" --modem mm
unset DBUS_SYSTEM_BUS_ADDRESS
wait_for 15 "identity over D-Bus" grep -qx "iccid=$ICCID_A" "$T/m3/sim/identity"
[ ! -e "$T/m3/sim/phonebook.vcf" ] || fail "a phonebook.vcf without a phonebook source"
stop_fg "$SPID" "$T/m3"

note "SIGTERM: unmounted; what was shipped below it is hidden, not deleted"
got=$(counter simfs_received)
kill -TERM "$MPID"
timeout 10 tail --pid="$MPID" -f /dev/null || fail "vigil-simfs did not exit on SIGTERM"
! mountpoint -q "$M" || fail "still mounted"
grep -qxF "$M" "$S/mounts" || fail "the registration went with the mount"
wait_for 10 "vigild told of the unmount" sh -c "[ \$(\"$BIN/vigild\" status --state '$S' --json | jq .counters.simfs_received) -gt $got ]"
sleep 3   # the rescan it asks for, and any deletion it would ship
for f in sim/identity sim/phonebook.vcf; do
	vigil log "phone1:$M/$f" --json | jqe '.[-1].deleted == false' >/dev/null ||
		fail "$f recorded as deleted after simfs stopped"
done
echo ok
