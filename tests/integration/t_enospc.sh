# t_enospc.sh — a server whose store fills up refuses new versions cleanly,
# keeps what it stored, and catches up when space returns.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
"$BIN/vigil-server" init "$T/srv" --listen "127.0.0.1:$PORT" >/dev/null
# Put the store on a small loop-mounted filesystem.
truncate -s 48M "$T/fs.img"
mkfs.ext4 -q -F "$T/fs.img"
mkdir -p "$T/fsmnt"
mount -o loop "$T/fs.img" "$T/fsmnt"
MOUNTS="$T/fsmnt"
cp -a "$T/srv/store/." "$T/fsmnt/" 2>/dev/null || true
rm -rf "$T/srv/store"
ln -s "$T/fsmnt" "$T/srv/store"
server_start
enroll_pair phone1

D=$T/data
mkdir -p "$D"
head -c 4M /dev/urandom >"$D/first.bin"
vigild_once phone1 "$D"
same_file phone1 "$D/first.bin" "$D/first.bin"

note "fill the store's filesystem"
dd if=/dev/zero of="$T/fsmnt/ballast" bs=1M status=none 2>/dev/null || true
head -c 8M /dev/urandom >"$D/second.bin"
if timeout 60 "$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
	--watch "$D" >"$T/full.log" 2>&1; then
	fail "vigild once succeeded on a full server"
fi
grep -qi "space" "$T/full.log" || { cat "$T/full.log"; fail "no clear out-of-space error"; }
same_file phone1 "$D/first.bin" "$D/first.bin"

note "space returns"
rm -f "$T/fsmnt/ballast"
vigild_once phone1 "$D"
same_file phone1 "$D/second.bin" "$D/second.bin"
same_file phone1 "$D/first.bin" "$D/first.bin"
server_stop
umount "$T/fsmnt"
MOUNTS=""
echo ok
