# t_getpar.sh — `vigil get` of a large file in parallel ranges (controller/
# pget.c, VIGIL_GET_STREAMS 4 and 2; one stream is the default below 4
# CPUs): the file comes back byte for byte (a size that is no multiple of a
# range, so the last range is short), and a tree of large and small files
# (t_ranges.sh gets a large file while its sha256 is pending).  Then one
# chunk record in the middle of the pack is damaged: the server resets the
# one stream whose range covers it, and get fails with one line on stderr,
# exit 1, and leaves nothing behind (no file, no temporary file).
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
