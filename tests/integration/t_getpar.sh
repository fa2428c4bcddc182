# t_getpar.sh — `vigil get` of a large file in parallel ranges (controller/
# pget.c, VIGIL_GET_STREAMS 4 and 2; one stream is the default below 4
# CPUs): the file comes back byte for byte (a size that is no multiple of a
# range, so the last range is short), and a tree of large and small files
# (t_ranges.sh gets a large file while its sha256 is pending).  Then one
# chunk record in the middle of the pack is damaged: the server resets the
# one stream whose range covers it, and get fails with one line on stderr,
# exit 1, and leaves nothing behind (no file, no temporary file).  Before
# that, a record forged with a matching CRC-32 (which `get`'s reads leave
# to its own sha256 check) is refused by get and read as EIO by a mount.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
head -c $((21 * 1048576 + 4321)) /dev/urandom >"$D/big"
vigild_once phone1 "$D"   # alone first: its records fill the pack's first 21 MiB
mkdir -p "$D/sub"
head -c 9437184 /dev/urandom >"$D/sub/nine"
echo small >"$D/sub/small"
vigild_once phone1 "$D"

same_file phone1 "$D/big" "$D/big"   # one stream on a machine of < 4 CPUs
export VIGIL_GET_STREAMS=4
same_file phone1 "$D/big" "$D/big"
export VIGIL_GET_STREAMS=2
same_file phone1 "$D/big" "$D/big"
note "21 MiB file by ranges over 4 and 2 streams, verified"
mkdir "$T/tree"
vigil get "phone1:$D" -o "$T/tree/d" || fail "get of the tree"
diff -r "$D" "$T/tree/d" || fail "tree differs"
note "a tree of large and small files"

# forge one record of big 5 MiB into the pack: a payload byte changed and
# the record's CRC-32 made to match.  `get` asks the server to check records
# by their CRC-32 only (it verifies the whole file itself): its sha256
# check must refuse the file and leave nothing; a mount's read, which the
# server checks chunk by chunk, fails with EIO.
python3 - "$T/srv/store/packs/00000001.pack" $((5 * 1048576)) <<'PY'
import os, struct, sys, zlib
fd = os.open(sys.argv[1], os.O_RDWR)
at, off = int(sys.argv[2]), 0
while True:
    h = os.pread(fd, 52, off)
    clen = struct.unpack(">I", h[44:48])[0]
    if off + 52 + clen > at:
        break
    off += 52 + clen
# (an encrypted store's VGE2 record: the GCM tag refuses it instead)
assert h[:4] in (b"VGC2", b"VGE2") and h[4] & 1 == 0, "not a raw record"
pay = bytearray(os.pread(fd, clen, off + 52))
pay[clen // 2] ^= 0x40
crc = zlib.crc32(bytes(pay), zlib.crc32(h[:48]))
os.pwrite(fd, bytes(pay), off + 52)
os.pwrite(fd, struct.pack(">I", crc), off + 48)
os.close(fd)
PY
mkdir "$T/forged"
if vigil get "phone1:$D/big" -o "$T/forged/big" 2>"$T/err"; then
	fail "get of forged content succeeded"
fi
cat "$T/err"
[ -z "$(ls -A "$T/forged")" ] || fail "left behind: $(ls -A "$T/forged")"
note "forged record (CRC-32 matching): get refused it by its sha256, nothing left behind"
if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
	M=$T/mnt
	mkdir -p "$M"
	vigil mount phone1 "$M" || fail "mount"
	MOUNTS="$MOUNTS $M"
	python3 - "$M$D/big" <<'PY' || fail "a read of forged content through the mount did not fail with EIO"
import errno, sys
try:
    with open(sys.argv[1], "rb") as f:
        while f.read(1 << 20):
            pass
except OSError as e:
    sys.exit(0 if e.errno == errno.EIO else 1)
sys.exit(1)
PY
	fusermount3 -u "$M" || fail "unmount"
	note "the same through the mount: EIO"
fi

# damage one record of big: 10 MiB into the first pack, which it filled
python3 - "$T/srv/store/packs/00000001.pack" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
at = 10 * 1048576
b = os.pread(fd, 1, at)
os.pwrite(fd, bytes([b[0] ^ 0x40]), at)
os.close(fd)
PY
mkdir "$T/out"
if vigil get "phone1:$D/big" -o "$T/out/big" 2>"$T/err"; then
	fail "get of damaged content succeeded"
fi
cat "$T/err"
[ "$(wc -l <"$T/err")" = 1 ] || fail "expected one line on stderr"
[ -z "$(ls -A "$T/out")" ] || fail "left behind: $(ls -A "$T/out")"
note "damaged record: get failed with one line, nothing left behind"
