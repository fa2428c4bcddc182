#!/bin/bash
# t_keygen.sh — a controller that made its own key pair (`vigil keygen`,
# enrolled with `--pubkey`): keygen writes where signing looks (beside the
# default bundle), refuses to overwrite a key, and the signed commands find
# that key by default, by --sign-key and by $VIGIL_SIGN_KEY; a key that is
# not the enrolled one (another controller's, the public half) is refused
# locally: exit 1, one line, no sequence number taken.  End to end, a
# freeze signed by the keygen key reaches the device and fails there (no
# --freeze-cgroup) instead of being refused, and get --direct fetches a file
# (setuid bit only with --keep-privileged).
. "$(dirname "$0")/lib.sh"

server_start
export HOME=$T/home
unset VIGIL_BUNDLE VIGIL_SIGN_KEY
CFG=$HOME/.config/vigil
SEQ=$CFG/controller.bundle.seq

expect() { # CODE CMD...: exit code; one stderr line prefixed "vigil" when not 0
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = "$want" ] || { cat "$T/err"; fail "$* exited $got, want $want"; }
	if [ "$want" != 0 ]; then
		[ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err"; fail "$*: not one line"; }
		grep -q "^vigil: " "$T/err" || { cat "$T/err"; fail "$*: not prefixed by the program"; }
	fi
}
seq_is() { # N: the sequence file beside the default bundle holds N (absent: 0)
	if [ "$1" = 0 ]; then
		[ ! -e "$SEQ" ] || fail "a sequence number was taken: $(cat "$SEQ")"
	else
		[ "$(cat "$SEQ" 2>/dev/null)" = "$1" ] || fail "sequence is $(cat "$SEQ" 2>/dev/null), want $1"
	fi
}
reaches_server() { # CMD...: the key was taken (a number used); the server's answer is its own
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = 0 ] || [ "$got" = 1 ] || { cat "$T/err"; fail "$* exited $got"; }
}

note "keygen without --out writes beside the default bundle, private half 0600"
expect 0 vigil keygen
[ -f "$CFG/controller.key" ] && [ -f "$CFG/controller.key.pub" ] || fail "keygen wrote elsewhere"
[ "$(stat -c %a "$CFG/controller.key")" = 600 ] || fail "private key not 0600"
[ "$(stat -c %a "$CFG")" = 700 ] || fail "key directory not 0700"
grep -q "PRIVATE KEY" "$CFG/controller.key" || fail "no private key in controller.key"
grep -q "PRIVATE" "$CFG/controller.key.pub" && fail "the .pub holds a private key"
cp "$CFG/controller.key" "$T/key.before"
expect 1 vigil keygen
cmp -s "$CFG/controller.key" "$T/key.before" || fail "keygen overwrote a key"

note "enrolled with --pubkey: the bundle holds no private half, the key file is found"
"$BIN/vigil-server" enroll "$T/srv" --controller ops --out "$CFG/controller.bundle" \
	--pubkey "$CFG/controller.key.pub" >/dev/null
"$BIN/vigil-server" enroll "$T/srv" --device phone1 --out "$T/phone1.bundle" >/dev/null
grep -q "^sign-key" "$CFG/controller.bundle" && fail "the bundle holds the signing private key"
grep -q "^sign-pub" "$CFG/controller.bundle" || fail "the bundle holds no signing public key"
vigil keygen --out "$T/other.key" >/dev/null
reaches_server vigil freeze phone1
seq_is 1

note "a key that is not the enrolled one is refused locally: exit 1, one line, nothing sent"
expect 1 vigil --sign-key "$T/other.key" freeze phone1
grep -q "not the signing key" "$T/err" || { cat "$T/err"; fail "mismatch not named"; }
expect 1 vigil freeze phone1 --sign-key "$T/other.key"
VIGIL_SIGN_KEY=$T/other.key expect 1 vigil thaw phone1
expect 1 vigil --sign-key "$CFG/controller.key.pub" erase phone1 --yes
expect 1 vigil --sign-key "$T/missing.key" freeze phone1
seq_is 1

note "the enrolled key by --sign-key and by \$VIGIL_SIGN_KEY, from anywhere"
mv "$CFG/controller.key" "$T/moved.key"
expect 1 vigil freeze phone1
seq_is 1
reaches_server vigil --sign-key "$T/moved.key" freeze phone1
seq_is 2
VIGIL_SIGN_KEY=$T/moved.key reaches_server vigil thaw phone1
seq_is 3

note "keygen follows --sign-key and \$VIGIL_SIGN_KEY too"
expect 0 vigil --sign-key "$T/k2.key" keygen
[ -f "$T/k2.key" ] && [ -f "$T/k2.key.pub" ] || fail "keygen ignored --sign-key"
VIGIL_SIGN_KEY=$T/k3.key expect 0 vigil keygen
[ -f "$T/k3.key" ] || fail "keygen ignored \$VIGIL_SIGN_KEY"

note "end to end: the device obeys what the key keygen made signs"
mv "$T/moved.key" "$CFG/controller.key"
mkdir -p "$T/root"
printf 'fetched from the device\n' >"$T/root/a.txt"
printf '#!/bin/sh\n' >"$T/root/tool"
chmod 4755 "$T/root/tool"
"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/state" --watch "$T/root" \
	--tracker scan >>"$T/vigild.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 30 "first backup" sh -c "'$BIN/vigil' ls phone1:'$T/root' | grep -q a.txt"
# no --freeze-cgroup on this device: the freeze is checked, run and fails
# there, where a forged one would be refused
set +e
vigil freeze phone1 --wait 30 >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$T/out" "$T/err"; fail "freeze --wait: exit $rc, want 1"; }
id=$(sed -n 's/^command \([0-9]*\): queued$/\1/p' "$T/out")
[ -n "$id" ] || { cat "$T/out"; fail "freeze: no command id"; }
state=$(vigil status phone1 --json | jq -r --argjson id "$id" '.commands[] | select(.id == $id) | .state')
[ "$state" = failed ] || { cat "$T/err"; fail "freeze signed by the keygen key: $state, want failed"; }
grep -q "no --freeze-cgroup" "$T/err" || { cat "$T/err"; fail "freeze failed for another reason"; }

note "get --direct with that key; set-id bits only with --keep-privileged"
vigil get --direct "phone1:$T/root/a.txt" -o "$T/got-a" || fail "get --direct"
cmp "$T/got-a" "$T/root/a.txt" || fail "get --direct: content differs"
vigil get --direct "phone1:$T/root/tool" -o "$T/got-tool" 2>/dev/null || fail "get --direct of a setuid file"
[ "$(stat -c %a "$T/got-tool")" = 755 ] || fail "direct: setuid kept without --keep-privileged"
vigil get --direct --keep-privileged "phone1:$T/root/tool" -o "$T/got-tool2" || fail "get --direct --keep-privileged"
[ "$(stat -c %a "$T/got-tool2")" = 4755 ] || fail "direct: setuid lost under --keep-privileged"
seq_before=$(cat "$SEQ")
expect 1 vigil --sign-key "$T/other.key" get --direct "phone1:$T/root/a.txt" -o "$T/got-other"
[ ! -e "$T/got-other" ] || fail "a refused key fetched something"
[ "$(cat "$SEQ")" = "$seq_before" ] || fail "a refused key took a number"

echo "t_keygen: ok"
