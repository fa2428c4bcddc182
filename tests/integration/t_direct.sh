#!/bin/bash
# t_direct.sh — `vigil get --direct`: a file and a tree fetched from the
# device itself through the server's relay (bytes, mode, mtime and
# symlinks as written, including a change the server has not seen), and the
# refusals: a path outside the watched roots, a symlink escape on the way,
# a symlink to a FIFO, and an untrusted controller.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
mkdir -p "$T/root/notes/deep" "$T/outside"
echo "outside secret" >"$T/outside/secret.txt"
printf 'first line\n' >"$T/root/notes/a.txt"
head -c 3000000 /dev/urandom >"$T/root/notes/deep/big.bin"
chmod 0640 "$T/root/notes/deep/big.bin"
touch -d '2020-01-02 03:04:05' "$T/root/notes/deep/big.bin"
ln -s a.txt "$T/root/notes/link"
ln -s "$T/outside" "$T/root/escape"
mkfifo "$T/outside/fifo"
ln -s "$T/outside/fifo" "$T/root/fifolink"

"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state" --watch "$T/root" \
	--tracker scan >>"$T/vigild.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 "first backup" sh -c "VIGIL_BUNDLE='$T/ctl.bundle' '$BIN/vigil' ls phone1:'$T/root/notes' >/dev/null"

note "a file written after the last ship"
printf 'second version, not shipped yet\n' >"$T/root/notes/a.txt"
vigil get --direct "phone1:$T/root/notes/a.txt" -o "$T/got-a.txt" || fail "get --direct of a file"
cmp "$T/got-a.txt" "$T/root/notes/a.txt" || fail "direct fetch: content differs"

note "a tree: content, mode, mtime and symlinks"
vigil get --direct "phone1:$T/root/notes" -o "$T/got-tree" || fail "get --direct of a tree"
cmp "$T/got-tree/deep/big.bin" "$T/root/notes/deep/big.bin" || fail "tree: big.bin differs"
cmp "$T/got-tree/a.txt" "$T/root/notes/a.txt" || fail "tree: a.txt differs"
[ "$(stat -c %a "$T/got-tree/deep/big.bin")" = 640 ] || fail "tree: mode not restored"
[ "$(stat -c %Y "$T/got-tree/deep/big.bin")" = "$(stat -c %Y "$T/root/notes/deep/big.bin")" ] ||
	fail "tree: mtime not restored"
[ "$(readlink "$T/got-tree/link")" = a.txt ] || fail "tree: symlink not restored"
# the device reports the command's state on its own stream once it has
# sent the bytes, so the server may learn it just after `get` returned
fetch_done() { [ "$(vigil status phone1 --json | jq -r '.commands[-1].state')" = done ]; }
wait_for 10 "the fetch done in status" fetch_done

note "refused: outside the watched roots"
rc=0
vigil get --direct "phone1:$T/outside/secret.txt" -o "$T/got-out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "outside path: exit $rc, want 1"
[ ! -e "$T/got-out" ] || fail "outside path: something was written"
note "refused: a symlink escape on the way"
rc=0
vigil get --direct "phone1:$T/root/escape/secret.txt" -o "$T/got-esc" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "symlink escape: exit $rc, want 1"
[ ! -e "$T/got-esc" ] || fail "symlink escape: something was written"
note "a symlink to a FIFO comes back as the symlink, never opened"
timeout 20 "$BIN/vigil" get --direct "phone1:$T/root/fifolink" -o "$T/got-fifo" ||
	fail "fetch of a symlink to a FIFO"
[ "$(readlink "$T/got-fifo")" = "$T/outside/fifo" ] || fail "FIFO symlink not restored as a symlink"

note "the server keeps flowing for others during a direct fetch"
head -c 64000000 /dev/urandom >"$T/root/huge.bin"
vigil get --direct "phone1:$T/root/huge.bin" -o "$T/got-huge" &
GETPID=$!
for _ in 1 2 3; do
	timeout 10 "$BIN/vigil" devices >/dev/null || fail "devices did not answer during a direct fetch"
done
wait "$GETPID" || fail "64 MB direct fetch failed"
cmp "$T/got-huge" "$T/root/huge.bin" || fail "64 MB direct fetch differs"

note "an untrusted controller is refused"
"$BIN/vigil-server" enroll "$T/srv" --controller late --out "$T/late.bundle" >/dev/null
rc=0
VIGIL_BUNDLE=$T/late.bundle vigil get --direct "phone1:$T/root/notes/a.txt" -o "$T/got-late" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "untrusted direct fetch: exit $rc, want 1"
[ ! -e "$T/got-late" ] || fail "untrusted direct fetch wrote something"
note "a revoked controller's live mount stops reading"
"$BIN/vigil-server" enroll "$T/srv" --controller viewer --out "$T/viewer.bundle" >/dev/null
mkdir -p "$T/mnt"
VIGIL_BUNDLE=$T/viewer.bundle vigil mount phone1 "$T/mnt" || fail "mount as viewer"
MOUNTS="$MOUNTS $T/mnt"
cmp "$T/mnt$T/root/notes/deep/big.bin" "$T/root/notes/deep/big.bin" || fail "mount: big.bin differs"
[ -f "$T/mnt$T/root/notes/a.txt" ] || fail "mount: a.txt not listed"
"$BIN/vigil-server" revoke "$T/srv" viewer >/dev/null || fail "revoke viewer"
sleep 3
timeout 60 cat "$T/mnt$T/root/notes/a.txt" >/dev/null 2>&1 &&
	fail "a revoked controller's mount still reads"
note "ok"
