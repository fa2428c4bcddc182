#!/bin/bash
# t_storeadmin.sh — quota, retain (a policy, --show, --release-hold),
# revoke and enroll's record on a running server go through its admin
# socket (issue 12): with VIGIL_TEST_ENCRYPT=1 they are given no key at
# all (the server holds it), and what they do is what a user sees:
#  - a quota shows in `vigil status` and refuses a PUT that would pass it;
#    removed, the file ships;
#  - a held device's policy drops nothing; --release-hold applies it at
#    once: `vigil log` loses the versions, `vigil status` shows the pass,
#    and the server sweeps their chunks within seconds (the automatic
#    sweep's look at the index is an hour away here: only the command's
#    kick of the sweeper can start it);
#  - a controller and a device enrolled so work, the device trusting the
#    controller's key; a name taken is refused, and a bundle that cannot
#    be written leaves the name free;
#  - a revoked device is refused;
#  - on the stopped server they open DIR themselves: an encrypted one
#    without its key is refused with one line, with it they work.
. "$(dirname "$0")/lib.sh"

# the retainer's own passes (after ingest) an hour away, automatic sweeps
# allowed at once but the index's gaps looked at hourly
export VIGIL_TEST_HOOKS=1 VIGIL_TEST_RETAIN_QUIET_MS=3600000 VIGIL_SWEEP_INTERVAL_S=0 \
	VIGIL_SWEEP_CHECK_S=3600
server_start
enroll_pair phone1
enc=${VIGIL_TEST_ENCRYPT:-0}
# an admin subcommand with no secret in its environment, and no option
adm() { env -u VIGIL_KEY_FILE "$BIN/vigil-server" "$1" "$T/srv" "${@:2}"; }
status_json() { vigil status phone1 --json >"$T/st.json" || fail "status"; }
st() { status_json; jq -c "$1" "$T/st.json"; }
D=$T/data
mkdir -p "$D"

note "three versions of a.txt"
for i in 1 2 3; do
	head -c 64K /dev/urandom >"$D/a.txt"
	vigild_once phone1 "$D"
done
nver() { vigil log "phone1:$D/a.txt" --json | jq length; }
[ "$(nver)" = 3 ] || fail "a.txt has $(nver) versions, not 3"

note "quota through the running server"
adm quota phone1 100K >"$T/q.out" || fail "quota set (exit $?)"
grep -qx "quota of phone1: 102400 bytes" "$T/q.out" || fail "quota said: $(cat "$T/q.out")"
adm quota phone1 | grep -qx "phone1: 65536 of 102400 bytes held" || fail "quota show: $(adm quota phone1)"
[ "$(st .quota)" = '{"bytes":102400,"used":65536,"full":false}' ] || fail "status quota: $(st .quota)"
head -c 100K /dev/urandom >"$D/b.bin"
if timeout 120 "$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
	--watch "$D" >"$T/refused.log" 2>&1; then
	fail "b.bin shipped over the quota"
fi
grep -q "b.bin: device phone1 is over its quota" "$T/refused.log" || { cat "$T/refused.log"; fail "not refused by the quota"; }
vigil log "phone1:$D/b.bin" --json >/dev/null 2>&1 && fail "b.bin stored over the quota"
adm quota phone1 none | grep -qx "quota of phone1 removed" || fail "quota none"
[ "$(st .quota)" = null ] || fail "status quota after none: $(st .quota)"
vigild_once phone1 "$D"
same_file phone1 "$D/b.bin" "$D/b.bin"

note "a held device: the policy is stored, nothing dropped"
vigil freeze phone1 >/dev/null
adm retain phone1 --keep-daily 1 --json >"$T/held.json" || fail "retain (held): exit $?"
jqe '.devices[0].on_hold and .devices[0].dropped == 0' <"$T/held.json" >/dev/null ||
	{ cat "$T/held.json"; fail "a held device was pruned"; }
[ "$(nver)" = 3 ] || fail "held: a.txt has $(nver) versions"
adm retain --show --json >"$T/show.json" || fail "retain --show: exit $?"
jqe '.devices[0].device == "phone1" and .devices[0].on_hold and .devices[0].own and
	.devices[0].policy.keep_daily == 1 and .sweep == null' <"$T/show.json" >/dev/null ||
	{ cat "$T/show.json"; fail "retain --show"; }
[ "$(st .sweep.at)" = null ] || fail "a sweep before any drop: $(st .sweep)"

note "--release-hold: the pass runs now, the sweep follows"
adm retain phone1 --release-hold --json >"$T/rel.json" || fail "release: exit $?"
jqe '.released and (.was | startswith("freeze")) and .applied.dropped >= 2' <"$T/rel.json" \
	>/dev/null || { cat "$T/rel.json"; fail "release"; }
[ "$(nver)" = 1 ] || fail "released: a.txt has $(nver) versions, not 1"
same_file phone1 "$D/a.txt" "$D/a.txt"
status_json
jqe '.retention.dropped >= 2 and .retention.last_pass != null' <"$T/st.json" >/dev/null ||
	fail "status retention: $(jq -c .retention "$T/st.json")"
jqe '[.events[] | select(.kind == "hold-released")] | length == 1' <"$T/st.json" >/dev/null ||
	fail "no hold-released event: $(jq -c .events "$T/st.json")"
swept() { st .sweep.at | grep -qv null; }
wait_for 30 "the sweep the release kicked" swept
jqe '.sweep.deleted >= 2 and .sweep.deleted_bytes >= 131072' <"$T/st.json" >/dev/null ||
	fail "the sweep freed too little: $(jq -c .sweep "$T/st.json")"
adm retain --show | grep -q "^last sweep: .*, [1-9][0-9]* chunks" || fail "--show: $(adm retain --show)"

note "enroll through the running server"
adm enroll --controller ops --out "$T/ops.bundle" | grep -qx "enrolled controller ops: $T/ops.bundle" ||
	fail "enroll ops"
adm enroll --device phone2 --out "$T/nodir/phone2.bundle" 2>/dev/null && fail "a bundle in no directory"
adm enroll --device phone2 --out "$T/phone2.bundle" >/dev/null || fail "enroll phone2 after a failed one"
adm enroll --device phone2 --out "$T/again.bundle" 2>"$T/dup.err" && fail "phone2 enrolled twice"
grep -q "phone2 is already enrolled (as a device)" "$T/dup.err" || fail "dup: $(cat "$T/dup.err")"
[ ! -e "$T/again.bundle" ] || fail "a bundle for a taken name"
pem_after() { awk -v m="$2" '$0 == m { on = 1; next } on { print } on && /^-----END/ { exit }' "$1"; }
[ -n "$(pem_after "$T/ops.bundle" sign-pub)" ] &&
	[ "$(pem_after "$T/phone2.bundle" "trust ops")" = "$(pem_after "$T/ops.bundle" sign-pub)" ] &&
	[ "$(pem_after "$T/phone2.bundle" "trust admin")" = "$(pem_after "$T/ctl.bundle" sign-pub)" ] ||
	fail "phone2 does not trust the controllers' keys"
vigild_once phone2 "$D"
vigil --bundle "$T/ops.bundle" devices --json | jqe '[.[] | select(.name == "phone2")] | length == 1' \
	>/dev/null || fail "ops cannot list phone2"

note "revoke through the running server"
adm revoke phone2 | grep -qx "revoked phone2" || fail "revoke"
if timeout 60 "$BIN/vigild" once --bundle "$T/phone2.bundle" --state "$T/state-phone2" \
	--watch "$D" >"$T/revoked.log" 2>&1; then
	fail "a revoked device shipped"
fi
vigil status phone2 --json | jqe '[.events[] | select(.kind == "revoked")] | length == 1' \
	>/dev/null || fail "no revoked event"

note "bad input through the socket: one line, exit 2, the server serves on"
rc=0; adm retain phone1 --keep-daily 2000000 2>"$T/bad.err" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] || fail "bad count: exit $rc, $(cat "$T/bad.err")"
rc=0; adm quota phone1 12X 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad byte count: exit $rc"
rc=0; adm retain phone1 --keep-daily 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--keep-daily without N: exit $rc"
adm quota phone1 "$(head -c 5000 /dev/zero | tr '\0' x)" 2>/dev/null && fail "a 5000-byte argument"
vigil status phone1 >/dev/null || fail "the server stopped serving"

note "hostile requests on the socket itself: dropped, or one usage error; the server serves on"
python3 - "$T/srv/admin.sock" <<'PY' || fail "the admin socket's answers to bad requests"
import socket, struct, sys

def ask(parts=None, raw=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    if raw is None:
        raw = struct.pack(">I", len(parts)) + b"".join(struct.pack(">I", len(p)) + p for p in parts)
    got = b""
    try:   # a dropped request may reset the connection before it is all sent
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (ConnectionResetError, BrokenPipeError):
        pass
    s.close()
    frames, i = [], 0
    while i + 5 <= len(got):
        k, n = got[i:i + 1], struct.unpack(">I", got[i + 1:i + 5])[0]
        frames.append((k, n) if k == b"x" else (k, got[i + 5:i + 5 + n]))
        i += 5 if k == b"x" else 5 + n
    return frames

def status(frames):
    return frames[-1][1] if frames and frames[-1][0] == b"x" else None

dropped = {
    "argc 0": ask(raw=struct.pack(">I", 0)),
    "argc 1": ask([b"quota"]),
    "argc 1000": ask(raw=struct.pack(">I", 1000)),
    "an argument of 5000 bytes": ask(raw=struct.pack(">II", 2, 5000) + b"q" * 5000),
    "a NUL inside": ask([b"quota", b"d\0x"]),
    "cut short": ask(raw=struct.pack(">III", 2, 5, 8) + b"quota" + b"d"),
}
for what, frames in dropped.items():
    if frames:
        sys.exit("%s: answered %r" % (what, frames))
usage = {
    "enroll-record, 3 arguments": [b"enroll-record", b"d", b"device"],
    "enroll-record, bad hex": [b"enroll-record", b"d", b"device", b"x1", b"zz" * 32, b"00" * 32, b"1"],
    "enroll-end, bad name": [b"enroll-end", b"d", b"BAD NAME", b"ok"],
    "enroll-end, bad verb": [b"enroll-end", b"d", b"phone1", b"maybe"],
    "quota, 5 arguments": [b"quota", b"d", b"phone1", b"1M", b"x"],
    "retain, a bad count": [b"retain", b"d", b"--keep-daily=x"],
    "retain, 3 positionals": [b"retain", b"d", b"phone1", b"phone2"],
    "revoke, no name": [b"revoke", b"d"],
}
for what, parts in usage.items():
    f = ask(parts)
    errs = [p for k, p in f if k == b"e"]
    if status(f) != 2 or b"".join(errs).count(b"\n") != 1:
        sys.exit("%s: %r" % (what, f))
if status(ask([b"nosuch", b"d"])) != 1:
    sys.exit("an unknown subcommand")
PY
vigil status phone1 >/dev/null || fail "the server stopped serving after the hostile requests"
[ "$(adm quota phone1 2>/dev/null)" = "phone1: no quota" ] || fail "quota after the hostile requests"

note "stopped: the commands open DIR themselves"
server_stop
if [ "$enc" = 1 ]; then
	rc=0; adm quota phone1 2>"$T/nokey.err" || rc=$?
	[ "$rc" = 1 ] && grep -q "encrypted" "$T/nokey.err" || fail "no key: exit $rc, $(cat "$T/nokey.err")"
	"$BIN/vigil-server" quota "$T/srv" phone1 5M --key-file "$VIGIL_KEY_FILE" >/dev/null ||
		fail "quota --key-file on the stopped server"
else
	adm quota phone1 5M >/dev/null || fail "quota on the stopped server"
fi
"$BIN/vigil-server" retain "$T/srv" --show | grep -Eq "^phone1: keep 1 daily; .*[1-9][0-9]* versions dropped" ||
	fail "retain --show on the stopped server"
server_start
[ "$(st .quota.bytes)" = 5242880 ] || fail "the quota set while stopped: $(st .quota)"
echo ok
