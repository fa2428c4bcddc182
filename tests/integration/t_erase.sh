#!/bin/bash
# t_erase.sh — `vigil erase` end to end on a root full of traps: symlinks
# to outside files and directories, a bind mount of an outside directory,
# a hard link to an outside file, a FIFO, a socket and a file held open and
# written during the erase.  vigild dies half-way (as under kill -9), is
# started again, finishes, and reports once; every outside byte is
# unchanged; the LUKS volume named with --erase-luks has no key slot left
# and refuses its old passphrase; the server revokes the device and vigild
# removes its own state and bundle last.  First, `vigild check` reports
# whether libcryptsetup opens.
. "$(dirname "$0")/lib.sh"

R=$T/root
O=$T/outside
BIND_MNT=$R/bound
umount_bind() { mountpoint -q "$BIND_MNT" 2>/dev/null && umount -l "$BIND_MNT"; return 0; }
trap 'umount_bind; cleanup' EXIT INT TERM

# vigild opens libcryptsetup only when an erase comes (dlopen): `vigild
# check` says up front whether it opens, and says so when it does not
note "vigild check: libcryptsetup"
"$BIN/vigild" check >"$T/check.out" 2>&1 || true
grep -Eq '^libcryptsetup +ok ' "$T/check.out" || fail "vigild check: libcryptsetup does not open"
VIGIL_TEST_HOOKS=1 VIGIL_TEST_CRYPTSETUP=libvigil-none.so.0 "$BIN/vigild" check >"$T/check.out" 2>&1 || true
grep -Eq '^libcryptsetup +no ' "$T/check.out" ||
	fail "vigild check: a missing libcryptsetup is not reported"

server_start
enroll_pair phone1
mkdir -p "$R/docs/sub" "$O/dir" "$O/binddir" "$BIND_MNT"
for i in $(seq 1 120); do head -c $((i * 97)) /dev/urandom >"$R/docs/f$i.txt"; done
for i in $(seq 1 30); do head -c 4096 /dev/urandom >"$R/docs/sub/g$i.bin"; done
echo "outside file" >"$O/file"
echo "outside dir file" >"$O/dir/inner"
echo "bound content" >"$O/binddir/keep"
echo "hard-linked outside" >"$O/hard"
ln -s "$O/file" "$R/link-file"
ln -s "$O/dir" "$R/link-dir"
ln "$O/hard" "$R/hardlink"
mkfifo "$R/fifo"
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$R/sock"
mount --bind "$O/binddir" "$BIND_MNT"
sums() { (cd "$O" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
sums >"$T/outside.before"

# a LUKS2 header on a file (no device-mapper here: never opened, only its key slots)
truncate -s 20M "$T/luks.img"
printf 'old passphrase' | cryptsetup luksFormat --type luks2 --batch-mode \
	--pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$T/luks.img" --key-file=- ||
	fail "cannot make the LUKS volume"
printf 'old passphrase' | cryptsetup open --test-passphrase "$T/luks.img" --key-file=- ||
	fail "the fresh LUKS volume refuses its passphrase"

vigild_start() {
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state" --watch "$R" \
		--erase-luks "$T/luks.img" >>"$T/vigild.log" 2>&1 &
	VIGILD_PID=$!
	PIDS="$PIDS $VIGILD_PID"
}

note "backup first"
VIGIL_TEST_ERASE_EXIT_AFTER=40 vigild_start
wait_for 30 "the first backup" sh -c "VIGIL_BUNDLE='$T/ctl.bundle' '$BIN/vigil' ls phone1:'$R/docs/sub' 2>/dev/null | grep -q g30"
# written during the erase through an fd held open (so never re-created)
sh -c 'exec 3>>"$1"; while :; do echo line >&3; sleep 0.01; done' writer "$R/docs/busy.log" &
PIDS="$PIDS $!"

note "erase, with vigild dying after 40 files"
rc=0
vigil erase phone1 --yes --wait 120 >"$T/erase.out" 2>&1 &
ERASE_CLI=$!
wait "$VIGILD_PID" 2>/dev/null || rc=$?
[ "$rc" = 99 ] || fail "vigild did not stop half-way (exit $rc)"
[ -e "$T/state/erase" ] || fail "no erase journal after the crash"
[ -e "$T/phone1.bundle" ] || fail "the bundle is gone before the final report"
[ "$(vigil status phone1 --json | jq -r .erase.state)" = running ] || fail "status: erase not running mid-way"

note "restart: the erase is taken up first, finished, reported once"
vigild_start
wait "$ERASE_CLI" || { cat "$T/erase.out"; fail "vigil erase --wait did not report success"; }
wait_for 30 "vigild to exit after the erase" sh -c "! kill -0 $VIGILD_PID 2>/dev/null"
ST=$(vigil status phone1 --json)
[ "$(echo "$ST" | jq -r .erase.state)" = done ] || fail "status: erase not done"
files=$(echo "$ST" | jq -r .erase.files)
[ "$files" -ge 150 ] || fail "status: $files files erased, want >= 150 (each counted once)"
[ "$files" -le 151 ] || fail "status: $files files erased: counted twice?"
n=$(echo "$ST" | jq '[.commands[] | select(.action == "erase" and .state == "done")] | length')
[ "$n" = 1 ] || fail "$n erase commands done, want 1"

note "outside untouched, inside gone"
sums >"$T/outside.after"
cmp "$T/outside.before" "$T/outside.after" || fail "an outside byte changed"
[ "$(cat "$BIND_MNT/keep")" = "bound content" ] || fail "the bind mount was entered"
[ ! -e "$R/docs/f1.txt" ] && [ ! -e "$R/docs/sub" ] || fail "inside files left"
[ ! -e "$R/link-file" ] && [ ! -e "$R/hardlink" ] && [ ! -e "$R/fifo" ] && [ ! -e "$R/sock" ] ||
	fail "links or special files left"
[ "$(stat -c %h "$O/hard")" = 1 ] || fail "the hard link was not unlinked"

note "LUKS: no key slot left, the old passphrase refused"
cryptsetup luksDump "$T/luks.img" >"$T/dump" || fail "luksDump failed"
grep -qE '^\s+[0-9]+: luks2' "$T/dump" && fail "key slots left: $(cat "$T/dump")"
printf 'old passphrase' | cryptsetup open --test-passphrase "$T/luks.img" --key-file=- 2>/dev/null &&
	fail "the old passphrase still opens the volume"

note "the device is revoked; vigild's state and bundle are gone"
[ ! -e "$T/state" ] || fail "the state dir is still there"
[ ! -e "$T/phone1.bundle" ] || fail "the bundle is still there"
vigil status phone1 --json | jqe '.events[] | select(.kind == "revoked")' >/dev/null ||
	fail "no revoked event"

note "a crash between the final report and the revoke: the server revokes at its next start"
server_stop
revoked() { sqlite3 "$T/srv/index.db" "SELECT revoked FROM identities WHERE name = 'phone1'"; }
sqlite3 "$T/srv/index.db" "UPDATE identities SET revoked = 0 WHERE name = 'phone1'"
[ "$(revoked)" = 0 ] || fail "could not undo the revoke for the test"
server_start
[ "$(revoked)" = 1 ] || fail "the server did not revoke the erased device at start"
note "ok"
