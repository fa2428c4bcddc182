# t_adopt.sh — a lost state directory does not upload the tree again.
# vigild once ships a tree (a 32 MiB file, small files, a dir, a symlink);
# the state directory is wiped; vigild once with a fresh one adopts the
# server's versions: still one version per path, under 1 MiB sent.  Then
# the big file is edited slightly and the state lost again: one new
# version, by a delta against the server's version (its chunk list and
# the signature of the edited region fetched; under 2 MiB sent),
# equal to the file.  Last, an old copy of the state directory comes back
# (a restored phone): its base is stale (ESTALE), and the next version
# still goes by delta, not whole.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
mkdir -p "$D/sub"
F=$D/big.bin
head -c 32M /dev/urandom >"$F"
echo "alpha" >"$D/a.txt"
echo "beta" >"$D/b.txt"
echo "gamma" >"$D/sub/c.txt"
chmod 0600 "$D/b.txt"
ln -s a.txt "$D/link"
PATHS="$D $F $D/a.txt $D/b.txt $D/sub $D/sub/c.txt $D/link"
TREE=$(du -sb "$D" | cut -f1)

export VIGIL_DEBUG=1
counter() { vigild_counter "$S" "$1"; }
versions() { vigil log "phone1:$1" --json | jq length; }
# snapshot: the number of versions of every path now; check_versions N:
# the same numbers, the big file N more.  (A directory may show an implicit
# version made when a file below it arrived first: counted, not assumed.)
snapshot() { for p in $PATHS; do echo "$p $(versions "$p")"; done >"$T/counts"; }
check_versions() {
	while read -r p n; do
		want=$n
		[ "$p" = "$F" ] && want=$((n + $1))
		got=$(versions "$p")
		[ "$got" = "$want" ] || fail "$p: $got versions, expected $want"
	done <"$T/counts"
}

note "first upload ($TREE bytes)"
vigild_once phone1 "$D"
sent1=$(counter bytes_sent)
[ "$sent1" -ge $((32 * 1048576)) ] || fail "first run sent only $sent1 bytes"
snapshot
[ "$(versions "$F")" = 1 ] || fail "big file: more than one version"

note "state directory lost: vigild once with a fresh one"
rm -rf "$S"
vigild_once phone1 "$D"
sent=$(counter bytes_sent)
adopted=$(counter adopted)
note "bytes sent: $sent, versions adopted: $adopted"
check_versions 0
[ "$sent" -lt 1048576 ] || fail "sent $sent bytes after losing the state (tree: $TREE)"
[ "$adopted" -ge 7 ] || fail "adopted only $adopted of 7 paths"
# the adopted state is complete: another run has nothing to do
vigild_once phone1 "$D"
[ "$(counter shipped)" = 0 ] || fail "a run after adoption shipped $(counter shipped) versions"
check_versions 0

note "metadata-only difference after a lost state: META, no content"
rm -rf "$S"
chmod 0640 "$D/a.txt"
vigild_once phone1 "$D"
sent=$(counter bytes_sent)
[ "$(versions "$D/a.txt")" = $(($(awk -v p="$D/a.txt" '$1 == p {print $2}' "$T/counts") + 1)) ] ||
	fail "chmod after lost state: not exactly one new version of a.txt"
[ "$sent" -lt 65536 ] || fail "a chmod sent $sent bytes"
[ "$(vigil log "phone1:$D/a.txt" --json | jq -r '.[-1].sha256')" = \
  "$(sha256sum "$D/a.txt" | cut -d' ' -f1)" ] || fail "META changed a.txt's content"
snapshot

note "small edit of the big file, state lost again"
rm -rf "$S"
dd if=/dev/urandom of="$F" bs=4096 seek=4000 count=1 conv=notrunc status=none
: >"$T/vigild.log"
vigild_once phone1 "$D"
sent=$(counter bytes_sent)
recv=$(counter bytes_received)
note "bytes sent: $sent, signature bytes received: $recv"
check_versions 1
same_file phone1 "$F" "$F"
[ "$sent" -lt $((2 * 1048576)) ] || fail "sent $sent bytes for a 4 KiB edit after losing the state"
[ "$(counter shipped_delta)" = 1 ] && [ "$(counter shipped)" = 1 ] ||
	{ tail -20 "$T/vigild.log"; fail "the edit did not go by delta (and alone)"; }
[ "$recv" -gt 0 ] || fail "no chunk list or signature fetched from the server"

note "old state directory restored: stale base (ESTALE) -> delta again"
cp -a "$S" "$T/state-old"
dd if=/dev/urandom of="$F" bs=4096 seek=10 count=1 conv=notrunc status=none
vigild_once phone1 "$D"
check_versions 2
rm -rf "$S"
mv "$T/state-old" "$S"
dd if=/dev/urandom of="$F" bs=4096 seek=6000 count=1 conv=notrunc status=none
: >"$T/vigild.log"
vigild_once phone1 "$D"
sent=$(counter bytes_sent)
note "bytes sent after ESTALE: $sent"
check_versions 3
same_file phone1 "$F" "$F"
[ "$(counter bytes_received)" -gt 0 ] ||
	{ tail -20 "$T/vigild.log"; fail "after ESTALE nothing was fetched from the server"; }
[ "$(counter shipped_delta)" = 1 ] && [ "$(counter shipped)" = 1 ] ||
	{ tail -20 "$T/vigild.log"; fail "after ESTALE the edit did not go by delta"; }
[ "$sent" -lt $((2 * 1048576)) ] || fail "sent $sent bytes after ESTALE"

# vigild run with the bpf tracker after a lost state: the adopted file's
# next small edit goes by ranges (the adoption kept its chunk list and
# started its range set)
if [ "$(id -u)" = 0 ]; then
	note "vigild run after a lost state: adopt, then a 4 KiB edit by ranges"
	rm -rf "$S"
	: >"$T/vigild.log"
	"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" \
		--tracker bpf >>"$T/vigild.log" 2>&1 &
	VPID=$!
	PIDS="$PIDS $VPID"
	adopted_all() { [ "$("$BIN/vigild" status --state "$S" --json | jq .counters.adopted)" -ge 7 ]; }
	wait_for 60 "run: everything adopted" adopted_all
	sleep 0.5
	dd if=/dev/urandom of="$F" bs=4096 seek=2000 count=1 conv=notrunc status=none
	n4() { [ "$(versions "$F")" -ge 5 ]; }
	wait_for 60 "run: edit shipped" n4
	check_versions 4
	same_file phone1 "$F" "$F"
	ranges_one() { [ "$(counter shipped_ranges)" = 1 ]; }
	wait_for 5 "run: the edit after adoption shipped by ranges" ranges_one
	kill "$VPID"
	wait "$VPID" 2>/dev/null || true
fi
note "ok"
