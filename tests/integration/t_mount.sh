# t_mount.sh — `vigil mount` on a real server with a real FUSE mount
# (fusermount3): the tree at the latest time and at an earlier --at,
# .history versions, symlinks, modes and xattrs (and a device without any:
# getxattr answers ENOSYS once, so the kernel stops asking), EROFS on every change,
# `ls -lR`, a server that dies (EIO within seconds, not a hang) and comes
# back (reads work again), and a clean unmount; as root, the mount's
# readahead raised to 1 MiB.
. "$(dirname "$0")/lib.sh"

[ -e /dev/fuse ] && command -v fusermount3 >/dev/null || { echo "skip: no FUSE"; exit 0; }

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D/notes" "$D/empty" "$D/deep/a/b"
: >"$D/zero"
printf x >"$D/one"
head -c 3000000 /dev/urandom >"$D/mid"
head -c 40M /dev/urandom >"$D/big"
echo "hello vigil" >"$D/notes/n1.txt"
echo deep >"$D/deep/a/b/c.txt"
ln -s notes/n1.txt "$D/link"
chmod 0640 "$D/notes/n1.txt"
chmod 0700 "$D/empty"
chmod 0751 "$D/deep"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.colour", b"blue"); os.setxattr(sys.argv[2], "user.colour", b"red")' "$D/one" "$D/notes" 2>/dev/null && XATTR=1 || XATTR=0

note "first capture"
vigild_once phone1 "$D"
T1=$(date +@%s.%N)   # after every capture of the first run
cp "$D/big" "$T/big.v1"
cp "$D/notes/n1.txt" "$T/n1.v1"

note "second capture: edits, a delete, a new file"
printf 'EDITED' | dd of="$D/big" bs=1 seek=1000000 conv=notrunc status=none
echo "second line" >>"$D/notes/n1.txt"
rm "$D/zero"
echo new >"$D/new.txt"
sleep 1.1
vigild_once phone1 "$D"

M=$T/mnt
mkdir -p "$M"
MOUNTS="$M"

note "mount (background) and compare the tree"
vigil mount phone1 "$M" || fail "mount"
mountpoint -q "$M" || fail "not mounted"
grep -q "vigil:phone1 $M fuse.vigil ro," /proc/mounts || fail "fsname/subtype/ro: $(grep "$M" /proc/mounts)"
# the kernel's readahead of a FUSE mount starts at 128 KiB and INIT can only
# lower it: as root the mount raises it, so a sequential read comes in 1 MiB
# requests (8x fewer)
if [ "$(id -u)" = 0 ]; then
	ra=$(cat "/sys/class/bdi/$(mountpoint -d "$M")/read_ahead_kb")
	[ "$ra" = 1024 ] || fail "readahead of the mount: $ra KiB"
fi
diff -r --no-dereference "$D" "$M$D" || fail "mounted tree differs from the source"
[ "$(stat -c %a "$M$D/empty")" = 700 ] || fail "dir mode"
[ "$(stat -c %a "$M$D/notes/n1.txt")" = 640 ] || fail "file mode"
[ "$(stat -c %a "$M$D/deep")" = 751 ] || fail "dir mode 751"
[ "$(readlink "$M$D/link")" = notes/n1.txt ] || fail "symlink target"
[ "$(stat -c %Y "$M$D/big")" = "$(stat -c %Y "$D/big")" ] || fail "mtime"
[ "$(stat -c %s "$M$D/big")" = 41943040 ] || fail "size"
if [ "$XATTR" = 1 ]; then
	python3 - "$M$D/one" <<'PY' || fail "xattrs through the mount"
import os, sys
p = sys.argv[1]
names = os.listxattr(p)
assert names == ["user.colour"], names   # vigild ships xattrs
assert os.getxattr(p, "user.colour") == b"blue"
try:
    os.getxattr(p, "user.none")
    raise SystemExit("missing xattr found")
except OSError as e:
    assert e.errno == 61, e   # ENODATA
PY
	if command -v getfattr >/dev/null; then
		[ "$(getfattr --absolute-names --only-values -n user.colour "$M$D/one")" = blue ] || fail "getfattr on a mounted file"
		[ "$(getfattr --absolute-names --only-values -n user.colour "$M$D/notes")" = red ] || fail "getfattr on a mounted dir"
	fi
fi
[ ! -e "$M$D/zero" ] || fail "deleted file still visible"

note "reads at odd offsets and sizes"
for spec in "0 1" "524287 2" "524288 524288" "1000000 6" "41943039 1" "3000000 100"; do
	set -- $spec
	a=$(tail -c +$(($1 + 1)) "$M$D/big" | head -c "$2" | sha256sum)
	b=$(tail -c +$(($1 + 1)) "$D/big" | head -c "$2" | sha256sum)
	[ "$a" = "$b" ] || fail "read at $1 len $2"
done
dd if="$M$D/big" bs=1M skip=39 count=10 status=none | cmp - <(tail -c 1M "$D/big") || fail "read past the end"

note "EROFS on every change"
for cmd in "touch $M$D/newfile" "mkdir $M$D/newdir" "rm $M$D/one" "rmdir $M$D/empty" \
	   "mv $M$D/one $M$D/two" "chmod 600 $M$D/one" "ln -s x $M$D/sl" "truncate -s 0 $M$D/one"; do
	out=$($cmd 2>&1) && fail "$cmd succeeded"
	echo "$out" | grep -q "Read-only file system" || fail "$cmd: not EROFS: $out"
done
sh -c "echo x >>$M$D/one" 2>&1 | grep -q "Read-only file system" || fail "append: not EROFS"

note ".history"
ls "$M/.history$D" >/dev/null || fail ".history dir"
[ -d "$M/.history$D/big" ] || fail ".history/<file> is a directory"
n=$(ls "$M/.history$D/big" | wc -l)
[ "$n" = 2 ] || fail "big has $n versions in .history, expected 2"
v1=$(ls "$M/.history$D/big" | grep '^1_')
v2=$(ls "$M/.history$D/big" | grep '^2_')
case "$v1" in 1_20[0-9][0-9]-*T*Z) ;; *) fail "version name $v1" ;; esac
cmp "$M/.history$D/big/$v1" "$T/big.v1" || fail "version 1 content"
cmp "$M/.history$D/big/$v2" "$D/big" || fail "version 2 content"
n1a=$(ls "$M/.history$D/notes/n1.txt" | grep '^1_')
n1b=$(ls "$M/.history$D/notes/n1.txt" | grep '^2_')
diff "$M/.history$D/notes/n1.txt/$n1a" "$M/.history$D/notes/n1.txt/$n1b" >"$T/d.out" && fail "versions equal"
grep -q '^> second line' "$T/d.out" || fail "diff of two versions"
[ "$(readlink "$M/.history$D/link/$(ls "$M/.history$D/link")")" = notes/n1.txt ] || fail "symlink version"
zv=$(ls "$M/.history$D/zero" 2>/dev/null) || fail "deleted file's history"
[ -n "$zv" ] && [ ! -s "$M/.history$D/zero/$zv" ] || fail "deleted file's version content"
[ -d "$M/.history$D/deep/a/b" ] || fail ".history keeps directories"

note "ls -lR and unmount"
ls -lR "$M" >"$T/lsR" || fail "ls -lR"
grep -q "c.txt" "$T/lsR" || fail "ls -lR misses a file"
fusermount3 -u "$M" || fail "unmount"
sleep 0.3
mountpoint -q "$M" && fail "still mounted"

note "a device with no xattrs at all: the kernel is told so, ls -l still works"
enroll_pair phone2
D2=$T/plain
mkdir -p "$D2/sub"
echo "no attributes here" >"$D2/sub/f.txt"
vigild_once phone2 "$D2"
vigil mount phone2 "$M" || fail "mount phone2"
cmp "$M$D2/sub/f.txt" "$D2/sub/f.txt" || fail "phone2 content"
ls -lR "$M$D2" >"$T/lsR2" || fail "ls -lR on phone2"
grep -q "f.txt" "$T/lsR2" || fail "ls -lR on phone2 misses a file"
python3 - "$M$D2/sub/f.txt" <<'PY' || fail "xattrs on a device without any"
import errno, os, sys
for call in (lambda: os.listxattr(sys.argv[1]), lambda: os.getxattr(sys.argv[1], "user.x")):
    try:
        call()
        raise SystemExit("xattr call succeeded")
    except OSError as e:
        assert e.errno == errno.EOPNOTSUPP, e
PY
fusermount3 -u "$M" || fail "unmount phone2"
sleep 0.3

note "--at the first capture, foreground"
vigil mount phone1 "$M" --at "$T1" -f 2>>"$T/mount.log" &
MPID=$!
PIDS="$PIDS $MPID"
wait_for 10 "foreground mount" mountpoint -q "$M"
cmp "$M$D/big" "$T/big.v1" || fail "--at: big is not version 1"
cmp "$M$D/notes/n1.txt" "$T/n1.v1" || fail "--at: n1 is not version 1"
[ -e "$M$D/zero" ] || fail "--at: zero existed then"
[ ! -e "$M$D/new.txt" ] || fail "--at: new.txt did not exist then"
fusermount3 -u "$M"
wait "$MPID" || fail "foreground mount exit status"

note "server dies while mounted: EIO, not a hang; then it comes back"
vigil mount phone1 "$M" || fail "mount again"
cat "$M$D/one" >/dev/null
server_stop
start=$(date +%s)
if timeout 30 cat "$M$D/mid" >/dev/null 2>"$T/eio.err"; then fail "read with the server down succeeded"; fi
[ $(( $(date +%s) - start )) -le 15 ] || fail "EIO took more than 15 s"
grep -q "Input/output error" "$T/eio.err" || fail "expected EIO: $(cat "$T/eio.err")"
server_start
ok=0
for i in $(seq 1 50); do
	if cmp -s "$M$D/mid" "$D/mid" 2>/dev/null; then ok=1; break; fi
	sleep 0.2
done
[ "$ok" = 1 ] || fail "reads did not recover after the server came back"
cat "$M$D/one" >/dev/null || fail "cached read"
fusermount3 -u "$M" || fail "final unmount"
MOUNTS=""
echo ok
