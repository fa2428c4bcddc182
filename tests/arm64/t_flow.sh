# t_flow.sh — the handset's binaries against the native server (make
# test-arm64): an arm64 vigild (TRACKER=fanotify or scan) and an arm64
# vigil, run by qemu-user through binfmt_misc (scripts/qemu-binfmt.sh),
# talk to the x86-64 vigil-server of build/bin.  The first backup, then
# edits made while vigild runs (overwrite in place, append, a new file, a
# rename, a delete) reach the server, and `vigil get` gives back every
# file byte for byte.  ARM_BIN names the arm64 programs (build-arm64/bin).
. "$(dirname "$0")/../integration/lib.sh"

ARM_BIN=${ARM_BIN:?ARM_BIN: the arm64 programs (build-arm64/bin)}
TRACKER=${TRACKER:-scan}
file "$ARM_BIN/vigild" | grep -q 'ARM aarch64' || fail "$ARM_BIN/vigild is not an arm64 program"
file "$BIN/vigil-server" | grep -q 'x86-64' || fail "$BIN/vigil-server is not the native server"
vigil() { "$ARM_BIN/vigil" "$@"; }

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D/sub"
echo one >"$D/a.txt"
head -c 3000000 /dev/urandom >"$D/sub/big.bin"
printf 'x%.0s' $(seq 1 5000) >"$D/sub/text.txt"

"$ARM_BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state-phone1" \
	--watch "$D" --tracker "$TRACKER" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"

# same_file with the arm64 vigil (lib.sh's calls vigil, redefined above)
has_bytes() { # PATH LOCALFILE
	rm -f "$T/probe"
	vigil get "phone1:$1" -o "$T/probe" >/dev/null 2>&1 && cmp -s "$T/probe" "$2"
}
alive() { kill -0 "$VPID" 2>/dev/null || { tail -5 "$T/vigild.log"; fail "arm64 vigild --tracker $TRACKER exited"; }; }
settle() { # WHAT PATH LOCALFILE
	i=0
	until has_bytes "$2" "$3"; do
		alive
		i=$((i + 1)); [ "$i" -gt 120 ] && { tail -5 "$T/vigild.log"; fail "timed out: $1"; }
		sleep 0.5
	done
}

# qemu-user (7.2, Debian 12) implements neither fanotify_init nor bpf(2):
# there the tracker asked for must stop vigild at once with one line that
# says so, exit 1, and the flow is the scan run's.
i=0
until grep -q "with the $TRACKER tracker" "$T/vigild.log" || ! kill -0 "$VPID" 2>/dev/null; do
	i=$((i + 1)); [ "$i" -gt 300 ] && fail "arm64 vigild neither started nor stopped in 60 s"
	sleep 0.2
done
if ! kill -0 "$VPID" 2>/dev/null; then
	rc=0; wait "$VPID" || rc=$?
	[ "$rc" = 1 ] || { cat "$T/vigild.log"; fail "vigild --tracker $TRACKER exited $rc, not 1"; }
	# (the command link, which starts first, may have logged it was up)
	[ "$(grep -vc '^vigild: command link up$' "$T/vigild.log")" = 1 ] ||
		{ cat "$T/vigild.log"; fail "more than one line"; }
	grep -q "^vigild: --tracker $TRACKER cannot start: .*Function not implemented.*qemu-user" "$T/vigild.log" ||
		{ cat "$T/vigild.log"; fail "vigild --tracker $TRACKER stopped for another reason"; }
	echo "SKIP the flow with --tracker $TRACKER: qemu-user lacks the syscall; vigild said: $(grep -v 'command link up' "$T/vigild.log")"
	exit 0
fi

note "first backup by the arm64 vigild ($TRACKER tracker)"
for f in a.txt sub/big.bin sub/text.txt; do settle "first backup of $f" "$D/$f" "$D/$f"; done
wait_for 60 "status names the tracker" sh -c "'$ARM_BIN/vigild' status --state '$T/state-phone1' --json |
	jqe '.tracker == \"$TRACKER\"'"

note "edits while it runs"
printf 'EDIT' | dd of="$D/sub/big.bin" bs=1 seek=1000000 conv=notrunc status=none
settle "overwrite in place" "$D/sub/big.bin" "$D/sub/big.bin"
echo more >>"$D/sub/text.txt"
settle "append" "$D/sub/text.txt" "$D/sub/text.txt"
head -c 70000 /dev/urandom >"$D/new.bin"
settle "new file" "$D/new.bin" "$D/new.bin"
mv "$D/a.txt" "$D/sub/renamed.txt"
settle "rename" "$D/sub/renamed.txt" "$D/sub/renamed.txt"
rm "$D/new.bin"
wait_for 60 "delete shipped" sh -c "'$ARM_BIN/vigil' log 'phone1:$D/new.bin' --json | jqe '.[-1].deleted'"
alive

note "the native controller reads what the arm64 one did"
rm -f "$T/native"
"$BIN/vigil" get "phone1:$D/sub/big.bin" -o "$T/native" || fail "native get"
cmp "$T/native" "$D/sub/big.bin" || fail "native get differs"
echo ok
