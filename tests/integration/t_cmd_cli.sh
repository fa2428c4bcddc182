# t_cmd_cli.sh — the controller's side of signed commands (freeze, thaw,
# erase, trust) that does not need a device: usage errors exit 2 and send
# nothing (no sequence number is taken), a bundle without the signing
# private key exits 1 with one line, a trust bundle from another server or
# of another role exits 1, and `<bundle>.seq` increases strictly across runs,
# also with runs at once, and is never guessed when damaged.  The server's
# relay and the device are tested end to end elsewhere (t_commands), so a
# run that reaches the server may be queued (0) or refused by it (1) here.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
SEQ=$T/ctl.bundle.seq

expect() { # CODE CMD...: exit code, and one stderr line prefixed "vigil" when not 0
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = "$want" ] || { cat "$T/err"; fail "$* exited $got, want $want"; }
	if [ "$want" != 0 ]; then
		grep -q "^vigil: " "$T/err" || { cat "$T/err"; fail "$*: error not prefixed by the program"; }
	fi
}

seq_is() { # N: the seq file holds N (or is absent for 0)
	if [ "$1" = 0 ]; then
		[ ! -e "$SEQ" ] || fail "sequence file exists: $(cat "$SEQ")"
	else
		[ "$(cat "$SEQ")" = "$1" ] || fail "sequence is $(cat "$SEQ" 2>/dev/null), want $1"
	fi
}

reaches_server() { # CMD...: a run that took a number: queued (0) or refused by the server (1)
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = 0 ] || [ "$got" = 1 ] || { cat "$T/err"; fail "$* exited $got"; }
}

note "usage errors exit 2 and send nothing"
expect 2 vigil erase phone1
expect 2 vigil erase phone1 --expire 1d --wait 5
expect 2 vigil freeze
expect 2 vigil freeze phone1 phone2
expect 2 vigil freeze 'Bad Name'
expect 2 vigil thaw -phone1
expect 2 vigil freeze phone1 --expire 5x
expect 2 vigil freeze phone1 --expire 0
expect 2 vigil freeze phone1 --expire 400d
expect 2 vigil thaw phone1 --wait 0
expect 2 vigil thaw phone1 --wait abc
expect 2 vigil freeze phone1 --yes
expect 2 vigil trust phone1
expect 2 vigil trust phone1 --add "$T/ctl.bundle" --revoke admin
expect 2 vigil trust phone1 --revoke 'NOT A NAME'
expect 2 vigil trust phone1 --revoke admin --expire 1d
seq_is 0
for c in freeze thaw erase trust; do
	expect 0 vigil "$c" --help
	grep -q "^usage: vigil $c DEVICE" "$T/out" || fail "$c --help prints no usage"
done

note "a bundle without the signing private key: exit 1, one line, nothing sent"
vigil keygen --out "$T/own.key" >/dev/null
"$BIN/vigil-server" enroll "$T/srv" --controller ops --out "$T/ops.bundle" --pubkey "$T/own.key.pub" >/dev/null
expect 1 vigil --bundle "$T/ops.bundle" freeze phone1
[ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err"; fail "more than one line"; }
[ ! -e "$T/ops.bundle.seq" ] || fail "a number was taken without a key"
expect 1 vigil --bundle "$T/nonexistent.bundle" freeze phone1

note "trust --add needs a controller bundle of this server"
expect 1 vigil trust phone1 --add "$T/phone1.bundle"
"$BIN/vigil-server" init "$T/srv2" --listen 127.0.0.1:1 >/dev/null
"$BIN/vigil-server" enroll "$T/srv2" --controller stranger --out "$T/stranger.bundle" >/dev/null
expect 1 vigil trust phone1 --add "$T/stranger.bundle"
expect 1 vigil trust phone1 --add "$T/nonexistent.bundle"
seq_is 0

note "the sequence increases strictly across runs"
reaches_server vigil freeze phone1
seq_is 1
reaches_server vigil thaw phone1 --expire 30m
seq_is 2
reaches_server vigil erase phone1 --yes
seq_is 3
reaches_server vigil trust phone1 --add "$T/ops.bundle"
seq_is 4
reaches_server vigil trust phone1 --revoke ops
seq_is 5

note "runs at once never share a number"
pids=""
for i in 1 2 3 4 5 6; do
	"$BIN/vigil" freeze phone1 >/dev/null 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || true; done
seq_is 11

note "a damaged sequence file is refused, not guessed"
printf 'x11\n' >"$SEQ"
expect 1 vigil freeze phone1
[ "$(cat "$SEQ")" = x11 ] || fail "damaged sequence file was rewritten"
printf '11\n' >"$SEQ"
reaches_server vigil freeze phone1
seq_is 12

echo "t_cmd_cli: ok"
