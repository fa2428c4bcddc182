# t_config.sh — vigild and vigil-server from config files alone (no flag
# but --config and the DIR): a backup made that way comes back; a bad file
# exits 2 with one line naming FILE:LINE (an unreadable one exits 1); under
# the journal each line carries its syslog level; a server directory whose
# DIR/config is in the old "key value" grammar still runs (and is rewritten).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
P2=$(free_port)
while [ "$P2" = "$PORT" ]; do P2=$(free_port); done
listening() { ss -ltn "sport = :$1" | grep -q ":$1"; }

note "init and run from --config: the file's listen wins over DIR/config's"
cat >"$T/init.conf" <<EOT
# what init takes from the file (bundles name the address run listens on)
listen = 127.0.0.1:$PORT
advertise = 127.0.0.1:$P2
EOT
"$BIN/vigil-server" init "$T/srv" --config "$T/init.conf" >/dev/null
grep -qx "listen = 127.0.0.1:$PORT" "$T/srv/config" || { cat "$T/srv/config"; fail "DIR/config lacks init's listen"; }
cat >"$T/server.conf" <<EOT
listen = 127.0.0.1:$P2
verbose = yes
EOT
"$BIN/vigil-server" run "$T/srv" --config "$T/server.conf" >>"$T/server.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_for 10 "server on the file's port" listening "$P2"
listening "$PORT" && fail "the server also listens on DIR/config's port"
enroll_pair phone1

note "vigild once and run from --config"
D=$T/data E=$T/more
mkdir -p "$D" "$E"
head -c 300000 /dev/urandom >"$D/a.bin"
echo "second root" >"$E/b.txt"
cat >"$T/vigild.conf" <<EOT
# vigild's settings; a list key is given once a line
bundle = $T/phone1.bundle
state  = $T/state
watch  = $D
watch  = $E
server = 127.0.0.1:$P2
tracker = scan
debounce-ms = 20
verbose = no
EOT
timeout 300 "$BIN/vigild" once --config "$T/vigild.conf" >>"$T/vigild.log" 2>&1 ||
	{ tail -20 "$T/vigild.log"; fail "vigild once --config failed"; }
same_file phone1 "$D/a.bin" "$D/a.bin"
same_file phone1 "$E/b.txt" "$E/b.txt"
[ "$("$BIN/vigild" status --config "$T/vigild.conf" --json | jq -r '"\(.queue.files) \(.tracker)"')" = "0 scan" ] ||
	fail "vigild status --config: not the file's state directory, or not its tracker"

"$BIN/vigild" run --config "$T/vigild.conf" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
echo "written while running" >"$E/c.txt"
wait_for 60 "c.txt on the server" sh -c "rm -f '$T/got'; '$BIN/vigil' get 'phone1:$E/c.txt' -o '$T/got' && cmp -s '$T/got' '$E/c.txt'"
kill "$VPID"; wait "$VPID" 2>/dev/null || true

# bad CODE PROGRAM FILE LINE SUBCOMMAND...: exit CODE and one stderr line
# "PROGRAM: FILE:LINE: ..."
bad() {
	code=$1 prog=$2 file=$3 line=$4
	shift 4
	set +e
	"$BIN/$prog" "$@" --config "$file" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = "$code" ] || { cat "$T/err"; fail "$prog $* --config $(cat "$file" | head -c 80): exit $got, want $code"; }
	[ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err"; fail "$prog: not one line on stderr"; }
	grep -q "^$prog: $file$line" "$T/err" || { cat "$T/err"; fail "$prog: the line does not name $file$line"; }
}

note "bad files: exit 2, one line naming FILE:LINE"
printf 'bundle = /b\nstate = /s\n\nbundle = /c\n' >"$T/bad1.conf"
bad 2 vigild "$T/bad1.conf" ":4: 'bundle' given twice" once
printf '# old grammar\nwatch /tmp\n' >"$T/bad2.conf"
bad 2 vigild "$T/bad2.conf" ":2: 'watch /tmp' is not 'key = value'" run
printf 'debounce-ms = 1e3\n' >"$T/bad3.conf"
bad 2 vigild "$T/bad3.conf" ":1: '1e3' is not a number" run
printf 'state = /s\nnosuchkey = 1\n' >"$T/bad4.conf"
bad 2 vigild "$T/bad4.conf" ":2: unknown key 'nosuchkey'" status
printf 'verbose = yes\nlisten = 127.0.0.1:99999\n' >"$T/bad5.conf"
bad 2 vigil-server "$T/bad5.conf" ":2: listen: '127.0.0.1:99999' is not a HOST:PORT" run "$T/srv"
printf 'key-file = /k\n# both\npassphrase-file = /p\n' >"$T/bad8.conf"
bad 2 vigil-server "$T/bad8.conf" ":3: give one of key-file, passphrase-file" sweep "$T/srv"
printf 'key-file = \n' >"$T/bad6.conf"
bad 2 vigil-server "$T/bad6.conf" ":1: 'key-file' has an empty value" check "$T/srv"
head -c 5000 /dev/zero | tr '\0' x | sed 's/^/advertise = /' >"$T/bad7.conf"
bad 2 vigil-server "$T/bad7.conf" ":1: line over 4096 bytes" init "$T/srv3"
[ ! -e "$T/srv3" ] || fail "init with a bad --config made its directory"
bad 1 vigild "$T/nonexistent.conf" ": No such file or directory" once
bad 1 vigil-server "$T/nonexistent.conf" ": No such file or directory" run "$T/srv"

note "stderr on the journal: syslog levels instead of the program name"
: >"$T/jerr"
set +e
JOURNAL_STREAM=$(stat -c %d:%i "$T/jerr") "$BIN/vigild" run --config "$T/bad1.conf" 2>>"$T/jerr"
got=$?
set -e
[ "$got" = 2 ] || fail "under the journal: exit $got"
grep -q "^<3>$T/bad1.conf:4: " "$T/jerr" || { cat "$T/jerr"; fail "no <3> prefix on the journal"; }
: >"$T/jerr2"   # another file: stderr is not the journal's stream
JOURNAL_STREAM=$(stat -c %d:%i "$T/jerr") "$BIN/vigild" run --config "$T/bad1.conf" 2>"$T/jerr2" || true
grep -q "^vigild: $T/bad1.conf:4: " "$T/jerr2" || { cat "$T/jerr2"; fail "a stale JOURNAL_STREAM changed the format"; }
grep -q "^vigil-server: .*<7>\|^<7>" "$T/server.log" && fail "the server wrote syslog prefixes off the journal"

note "the packages' example files: read cleanly, every key one of the program's, every vigild flag a key"
for ex in vigild vigil-server; do
	f=$ROOT/dist/etc/$ex.conf
	# a subcommand that reads every key of the file and then stops
	if [ $ex = vigild ]; then sub="status"; else sub="run $T/srv-none"; fi
	set +e
	"$BIN/$ex" $sub --config "$f" 2>"$T/err"
	set -e
	grep -q "$f" "$T/err" && { cat "$T/err"; fail "$f as shipped is refused"; }
	sed -n 's/^#\([a-z-]*\) = \(.*\)/\1 = \2/p' "$f" >"$T/keys"
	[ "$(wc -l <"$T/keys")" -ge 5 ] || fail "$f: too few commented keys"
	while read -r line; do
		echo "$line" >"$T/one.conf"
		set +e
		"$BIN/$ex" $sub --config "$T/one.conf" 2>"$T/err"
		set -e
		grep -q "unknown key" "$T/err" && fail "$f: '$line' is no key of $ex"
	done <"$T/keys"
done
for flag in $("$BIN/vigild" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	case $flag in --config|--help|--json) continue;; esac
	grep -q "^#${flag#--} = " "$ROOT/dist/etc/vigild.conf" || fail "dist/etc/vigild.conf lacks ${flag#--}"
done

note "a DIR/config in the old grammar still runs, and is rewritten"
server_stop
printf '# vigil-server configuration\nlisten 127.0.0.1:%s\nadvertise 127.0.0.1:%s\ncountry 86\n' \
	"$P2" "$P2" >"$T/srv/config"
"$BIN/vigil-server" run "$T/srv" >>"$T/server.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_for 10 "server on the old file's port" listening "$P2"
grep -qx "listen = 127.0.0.1:$P2" "$T/srv/config" || { cat "$T/srv/config"; fail "DIR/config not rewritten"; }
grep -qx "country = 86" "$T/srv/config" || fail "the rewrite lost country"
same_file phone1 "$D/a.bin" "$D/a.bin"
echo ok
