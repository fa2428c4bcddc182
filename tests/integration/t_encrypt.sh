# t_encrypt.sh — a whole cycle on an encrypted store (`init --encrypt`,
# passphrase from stdin, then from VIGIL_PASSPHRASE_FILE): run refuses to
# start without the secret or with a wrong one; backup, get, mount and
# search work; the packs hold VGE2 records and none of the plain bytes;
# a changed byte in a pack makes get and a mounted read fail, never return
# other bytes.  No file under DIR (index.db, search.db and their -wal and
# -shm while the server runs, the packs) holds a path or a searchable word
# of the data; a WHOLE upload cut half-way leaves a sealed state in
# uploads/ that holds none of its chunks' sha256s (raw or hex), and
# resumes; check with a wrong passphrase fails with one line; rekey
# moves the store to a key file and the passphrase no longer opens it.
. "$(dirname "$0")/lib.sh"

[ -e /dev/fuse ] && command -v fusermount3 >/dev/null && FUSE=1 || FUSE=0
unset VIGIL_KEY_FILE   # (VIGIL_TEST_ENCRYPT=1 sets it; this test gives its own secret)

PORT=$(free_port)
printf 'correct horse battery staple\n' >"$T/pass"
printf 'correct horse battery stable\n' >"$T/wrong"
head -c 32 /dev/urandom >"$T/other.key"

note "init --encrypt, the passphrase on stdin"
"$BIN/vigil-server" init "$T/srv" --listen "127.0.0.1:$PORT" --encrypt --passphrase-file - \
	<"$T/pass" >/dev/null || fail "init --encrypt"
[ "$(stat -c %s "$T/srv/store/datakey")" = 108 ] || fail "datakey file"
"$BIN/vigil-server" init "$T/srv2" --encrypt </dev/null >/dev/null 2>&1 && fail "init --encrypt without a secret"
[ ! -e "$T/srv2/store" ] || fail "init without a secret left a store"

note "run without the secret, with a wrong passphrase, with a key file: exit 1 at start"
rc=0; timeout 30 "$BIN/vigil-server" run "$T/srv" </dev/null >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "run without the passphrase: exit $rc"
rc=0; timeout 30 "$BIN/vigil-server" run "$T/srv" --passphrase-file "$T/wrong" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "run with a wrong passphrase: exit $rc"
rc=0; timeout 30 "$BIN/vigil-server" run "$T/srv" --key-file "$T/other.key" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "run with a key file on a passphrase store: exit $rc"
rc=0; "$BIN/vigil-server" run "$T/srv" --passphrase-file "$T/pass" --key-file "$T/other.key" \
	>/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "both secrets: usage error, got $rc"

export VIGIL_PASSPHRASE_FILE="$T/pass"
server_start
enroll_pair phone1
D=$T/home
mkdir -p "$D/notes"
echo "Minutes: the quarterly kumquat report is due; call +86 138-0013-8000." >"$D/notes/meeting.txt"
yes "vigil-plaintext-marker line of a compressible file" | head -c 3000000 >"$D/notes/log.txt"
head -c 20M /dev/urandom >"$D/big"

note "backup, get"
vigild_once phone1 "$D"
for f in notes/meeting.txt notes/log.txt big; do same_file phone1 "$D/$f" "$D/$f"; done

note "search reads the text it indexed"
search_has() { vigil search phone1 "$@" --json | jqe --arg p "$D/notes/meeting.txt" '[.[] | select(.path == $p)] | length >= 1'; }
wait_for 60 "indexing" search_has kumquat
search_has 13800138000 >/dev/null || fail "phone number search"

if [ "$FUSE" = 1 ]; then
	note "mount"
	M=$T/mnt
	mkdir -p "$M"
	MOUNTS="$M"
	vigil mount phone1 "$M" || fail "mount"
	diff -r "$D" "$M$D" || fail "mounted tree differs"
	fusermount3 -u "$M" || fail "unmount"
fi

note "a WHOLE upload cut half-way: its state in uploads/ names no chunk"
head -c 48M /dev/urandom >"$D/half.bin"
pack1=$(stat -c %s "$T/srv/store/packs/00000001.pack")   # the first backup's records
vigild_cut phone1 "$D" 16000
# the server checkpoints an upload when its connection goes: entries
has_entries() { find "$T/srv/store/uploads" -type f ! -name '*.body' -size +200c | grep -q .; }
wait_for 20 "the cut upload's state" has_entries
cp -r "$T/srv/store/uploads" "$T/uploads.half"   # what the disk holds meanwhile
vigild_once phone1 "$D"
same_file phone1 "$D/half.bin" "$D/half.bin"
# the chunks' sha256s from the device's chunk list (docs/daemon.md: 56-byte
# header, u64 count at 48; 52-byte entries, sha256 first)
python3 - "$T/uploads.half" "$T/state-phone1/chunks/$(printf %s "$D/half.bin" | sha256sum | cut -d' ' -f1)" \
	<<'PY' || fail "a chunk's sha256 in the cut upload's state"
import os, sys
up = b"".join(open(os.path.join(d, f), "rb").read()
              for d, _, fs in os.walk(sys.argv[1]) for f in fs if not f.endswith(".body"))
assert up.startswith(b"VGUPLDS1"), up[:8]
cl = open(sys.argv[2], "rb").read()
n = int.from_bytes(cl[48:56], "big")
assert n > 1000 and len(cl) == 56 + 52 * n, (n, len(cl))
for i in range(n):
    sha = cl[56 + 52 * i:56 + 52 * i + 32]
    for needle in (sha, sha.hex().encode(), sha.hex().upper().encode()):
        assert needle not in up, (i, needle[:8])
print("%d bytes of upload state, none of %d chunk sha256s" % (len(up), n))
PY

# no path, name or word of the data in any file under DIR (running: the
# databases' -wal and -shm files are there too)
no_plain() {
	for w in "$D/notes/meeting.txt" meeting.txt kumquat quarterly 13800138000 vigil-plaintext-marker; do
		! grep -r -a -F -q -e "$w" "$T/srv" || fail "$1: '$w' in $(grep -r -a -F -l -e "$w" "$T/srv" | head -3)"
	done
}
note "no plain text under DIR while it serves"
ls "$T/srv/index.db-wal" "$T/srv/search.db-wal" >/dev/null || fail "no WAL files"
no_plain "running"

note "the packs: VGE2 records, no plain bytes"
server_stop
no_plain "stopped"
[ "$(head -c 15 "$T/srv/index.db")" = vigil-sealed-db ] || fail "index.db not sealed"
[ "$(head -c 15 "$T/srv/search.db")" = vigil-sealed-db ] || fail "search.db not sealed"
[ "$(head -c 4 "$T/srv/store/packs/00000001.pack")" = VGE2 ] || fail "record magic"
python3 - "$T/srv/store/packs" "$D" <<'PY' || fail "plain bytes in the packs"
import os, sys
packs = b"".join(open(os.path.join(sys.argv[1], f), "rb").read() for f in os.listdir(sys.argv[1]))
big = open(os.path.join(sys.argv[2], "big"), "rb").read()
for needle in (b"vigil-plaintext-marker", b"kumquat", big[5000000:5000032], big[-64:-32]):
    assert needle not in packs, needle[:16]
PY

note "check on the stopped DIR: a wrong passphrase is one line, the right one opens it"
rc=0; "$BIN/vigil-server" check "$T/srv" --passphrase-file "$T/wrong" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && [ ! -s "$T/out" ] || fail "wrong passphrase: exit $rc, $(cat "$T/err")"
env -u VIGIL_PASSPHRASE_FILE "$BIN/vigil-server" check "$T/srv" --passphrase-file "$T/pass" >/dev/null ||
	fail "check with the passphrase"
env -u VIGIL_PASSPHRASE_FILE "$BIN/vigil-server" quota "$T/srv" </dev/null >/dev/null 2>&1 &&
	fail "quota without the secret"
note "a passphrase typed on a terminal is not echoed"
python3 - "$BIN/vigil-server" "$T/srv" <<'PY' || fail "passphrase from a terminal"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.environ.pop("VIGIL_PASSPHRASE_FILE", None)
    os.execv(sys.argv[1], [sys.argv[1], "quota", sys.argv[2], "--passphrase-file", "-"])
out = b""
while b"passphrase: " not in out:
    out += os.read(fd, 1024)
os.write(fd, b"correct horse battery staple\n")
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
assert b"battery" not in out, out
assert os.waitstatus_to_exitcode(st) == 0, (st, out)
PY

note "rekey to a key file: the passphrase no longer opens the store"
cp "$T/srv/store/datakey" "$T/datakey.old"
env -u VIGIL_PASSPHRASE_FILE "$BIN/vigil-server" rekey "$T/srv" --passphrase-file "$T/pass" \
	--new-key-file "$T/new.key" >/dev/null 2>&1 || fail "rekey"
[ -s "$T/new.key" ] || fail "rekey made no key file"
cmp -s "$T/datakey.old" "$T/srv/store/datakey" && fail "datakey unchanged"
cp "$T/srv/store/datakey" "$T/datakey.new"
rc=0; env -u VIGIL_PASSPHRASE_FILE "$BIN/vigil-server" check "$T/srv" --passphrase-file "$T/pass" \
	>/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "the old passphrase still opens the store (exit $rc)"
env -u VIGIL_PASSPHRASE_FILE "$BIN/vigil-server" rekey "$T/srv" --key-file "$T/other.key" \
	--new-passphrase-file "$T/wrong" >/dev/null 2>&1 && fail "rekey with a wrong key"
cmp -s "$T/datakey.new" "$T/srv/store/datakey" || fail "a failed rekey changed datakey"
unset VIGIL_PASSPHRASE_FILE
export VIGIL_KEY_FILE="$T/new.key"
"$BIN/vigil-server" check "$T/srv" >/dev/null || fail "check with the new key file"
"$BIN/vigil-server" retain "$T/srv" --show >/dev/null || fail "retain --show with the new key file"

note "a changed byte in a pack: get and a mounted read fail"
python3 - "$T/srv/store/packs/00000001.pack" "$pack1" <<'PY'
import os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    off = int(sys.argv[2]) // 2   # in big's records
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x40]))
PY
server_start
rm -rf "$T/got"
vigil get "phone1:$D/big" -o "$T/got" 2>/dev/null && fail "get of a damaged file succeeded"
if [ -e "$T/got" ]; then cmp -s "$T/got" "$D/big" && fail "damaged get wrote the file"; fi
if [ "$FUSE" = 1 ]; then
	vigil mount phone1 "$M" || fail "mount again"
	cat "$M$D/big" >/dev/null 2>&1 && fail "mounted read of a damaged file succeeded"
	cmp "$M$D/notes/meeting.txt" "$D/notes/meeting.txt" || fail "an undamaged file through the mount"
	fusermount3 -u "$M" || fail "unmount"
fi
same_file phone1 "$D/notes/log.txt" "$D/notes/log.txt"
echo ok
