# t_badinput.sh — bad input gets one clear error line and the right exit
# code (an abbreviated long flag too); bad identities are refused; the
# server survives all of it.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
echo keep >"$D/keep.txt"
vigild_once phone1 "$D"

expect() { # CODE CMD...: exit code and one stderr line prefixed by the program
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = "$want" ] || { cat "$T/err"; fail "$* exited $got, want $want"; }
	if [ "$want" != 0 ]; then
		[ -s "$T/err" ] || fail "$*: no error message"
		grep -q "^vigil" "$T/err" || { cat "$T/err"; fail "$*: error not prefixed by the program"; }
	fi
}

note "usage errors exit 2"
expect 2 vigil
expect 2 vigil nosuchcommand
expect 2 vigil get
expect 2 vigil erase phone1
expect 2 "$BIN/vigil-server" enroll "$T/srv"
expect 2 "$BIN/vigild" run --state "$T/x"
expect 0 vigil --help
expect 0 vigil get --help
expect 0 "$BIN/vigil-server" --help
expect 0 "$BIN/vigild" --help

note "an abbreviated long flag is a usage error that names it (DESIGN.md names them whole)"
abbrev() { # FLAG CMD...: exit 2, the error line names FLAG as given (vigil
	# prints the command's usage after it, as for any bad option)
	flag=$1
	shift
	expect 2 "$@"
	head -n 1 "$T/err" | grep -qF -- "$flag" || { cat "$T/err"; fail "$*: the error does not name $flag"; }
}
abbrev --verb "$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$T/x" --watch "$D" --verb
abbrev --stat "$BIN/vigild" status --stat "$T/x"
abbrev --liste "$BIN/vigil-server" run "$T/srv" --liste 127.0.0.1:1
abbrev --adv=x "$BIN/vigil-server" init "$T/srv3" --adv=x
abbrev --jso vigil devices --jso
abbrev --bund vigil --bund "$T/ctl.bundle" devices
abbrev --recur vigil ls "phone1:$D" --recur
abbrev --mod "$BIN/vigil-simfs" --mod mm "$T/mnt"
[ ! -e "$T/srv3" ] || fail "init ran with an abbreviated flag"
# whole, the same flags work
expect 0 vigil devices --json

note "bad names and paths exit 1 (or 2) with a clear line"
expect 1 "$BIN/vigil-server" enroll "$T/srv" --device "Bad Name" --out "$T/x.bundle"
expect 1 "$BIN/vigil-server" enroll "$T/srv" --device phone1 --out "$T/dup.bundle"
set +e
vigil ls "phone1:$D/../etc" >/dev/null 2>"$T/err"; rc=$?
set -e
[ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "path with .. accepted ($rc)"
vigil ls "UPPER:/" >/dev/null 2>&1 && fail "bad device name accepted"
vigil log "phone1:$D/nonexistent" >/dev/null 2>&1 && fail "log of a missing path succeeded"
expect 1 "$BIN/vigil-server" init "$T/srv"

note "truncated and foreign bundles"
head -c 300 "$T/ctl.bundle" >"$T/trunc.bundle"
expect 1 vigil --bundle "$T/trunc.bundle" devices
expect 1 vigil --bundle "$T/nonexistent.bundle" devices
"$BIN/vigil-server" init "$T/srv2" --listen 127.0.0.1:1 >/dev/null
"$BIN/vigil-server" enroll "$T/srv2" --controller admin --out "$T/foreign.bundle" >/dev/null
expect 1 vigil --bundle "$T/foreign.bundle" --server "127.0.0.1:$PORT" devices

note "a device certificate cannot act as a controller"
expect 1 vigil --bundle "$T/phone1.bundle" devices

note "revoked identities are refused"
"$BIN/vigil-server" enroll "$T/srv" --controller lost --out "$T/lost.bundle" >/dev/null
expect 0 vigil --bundle "$T/lost.bundle" devices
"$BIN/vigil-server" revoke "$T/srv" lost
expect 1 vigil --bundle "$T/lost.bundle" devices

note "garbage on the TLS port does not hurt the server"
head -c 100000 /dev/urandom | timeout 5 nc -q1 127.0.0.1 "$PORT" >/dev/null 2>&1 || true
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc -q1 127.0.0.1 "$PORT" >/dev/null 2>&1 || true
kill -0 "$SERVER_PID" || fail "server died"
expect 0 vigil devices
same_file phone1 "$D/keep.txt" "$D/keep.txt"
echo ok
