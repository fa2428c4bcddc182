# t_privsep.sh — privilege separation on a real server: the extractor child
# runs as an unprivileged uid with no capabilities, no_new_privs and a seccomp
# filter, holding only its socket; files that crash or hang it, and a kill -9
# of it, cost one file each while indexing goes on; `run` serves everything
# with ca.key gone (only enroll needs it).
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
server_stop
note "run without ca.key"
mv "$T/srv/ca/ca.key" "$T/ca.key.away"
VIGIL_TEST_EXTRACT_HOOK=1 VIGIL_TEST_EXTRACT_MS=3000 server_start

D=$T/home
mkdir -p "$D"
echo "an alpaca and a marmoset" >"$D/good1.txt"
printf 'VIGIL-TEST-CRASH wombat\n' >"$D/crash.txt"
printf 'VIGIL-TEST-HANG numbat\n' >"$D/hang.txt"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Oliver Smith\r\nEND:VCARD\r\n' >"$D/oliver.vcf"
sqlite3 "$D/messages.db" "CREATE TABLE sms(body TEXT); INSERT INTO sms VALUES ('the password is Kumquat');"
vigild_once phone1 "$D"

search_has() { # PATH WORD : the search for WORD lists PATH
	vigil search phone1 "$2" --json | jqe --arg p "$1" '[.[] | select(.path == $p)] | length >= 1'
}
idle() { vigil status phone1 --json | jqe '.index.pending == 0 and .index.versions >= 5'; }

note "the files around a crash and a hang are indexed"
wait_for 60 "indexing" idle
search_has "$D/good1.txt" marmoset >/dev/null || fail "text file not found"
search_has "$D/oliver.vcf" oliver >/dev/null || fail "vCard not found"
search_has "$D/messages.db" kumquat >/dev/null || fail "database not found"
note "the crash and the hang count as unparsed, found by path"
vigil status phone1 --json | jqe '.index.unparsed == 2' >/dev/null || fail "unparsed count"
search_has "$D/crash.txt" wombat >/dev/null && fail "crash.txt's text indexed"
kill -0 "$SERVER_PID" || fail "server died"

child() { cat /proc/"$SERVER_PID"/task/*/children | tr ' ' '\n' | grep . ; }
# The child that parsed the last file is alive; but the uploads' order
# varies, and when crash.txt or hang.txt came last its child is gone and
# none starts before the next file: one more file first.
echo "a tapir by the river" >"$D/good0.txt"
vigild_once phone1 "$D"
wait_for 60 "one more file indexed" search_has "$D/good0.txt" tapir
field() { awk -v k="$2:" '$1 == k { print $2, $3, $4, $5 }' "/proc/$1/status"; }
note "the extractor child: unprivileged, no capabilities, no_new_privs, seccomp"
C=$(child)
[ "$(echo "$C" | wc -l)" = 1 ] || fail "one child expected: $C"
for id in $(field "$C" Uid) $(field "$C" Gid); do [ "$id" != 0 ] || fail "child has root ids"; done
[ "$(field "$C" NoNewPrivs | tr -d ' ')" = 1 ] || fail "NoNewPrivs"
[ "$(field "$C" Seccomp | tr -d ' ')" = 2 ] || fail "Seccomp filter"
[ "$(field "$C" CapEff | tr -d ' ')" = 0000000000000000 ] || fail "capabilities"
[ "$(field "$C" CapPrm | tr -d ' ')" = 0000000000000000 ] || fail "capabilities"
fds=$(ls /proc/"$C"/fd | sort -n | tr '\n' ' ')
[ "$fds" = "0 1 2 3 " ] || fail "child descriptors: $fds"
case $(readlink /proc/"$C"/fd/3) in socket:*) ;; *) fail "fd 3 is not the socket";; esac
for f in 0 1 2; do [ "$(readlink /proc/"$C"/fd/$f)" = /dev/null ] || fail "fd $f"; done

note "kill -9 of the child: the next file is indexed by a new one"
kill -9 "$C"
echo "an okapi among the ferns" >"$D/good2.txt"
vigild_once phone1 "$D"
wait_for 60 "indexing after the kill" search_has "$D/good2.txt" okapi
[ "$(child)" != "$C" ] || fail "same child"
vigil status phone1 --json | jqe '.index.unparsed == 2' >/dev/null || fail "unparsed after the kill"

note "vigild's shippers: CAP_DAC_READ_SEARCH effective, the rest dropped per thread"
S=$T/state-run
"$BIN/vigild" run --bundle "$T/phone1.bundle" --state "$S" --watch "$D" >>"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="$PIDS $VPID"
ships() { grep -l '^vigild-ship$' /proc/"$VPID"/task/*/comm 2>/dev/null | sed 's,/comm$,,'; }
some() { [ "$(ships | wc -l)" -ge 1 ]; }
wait_for 20 "shipper threads" some
# at rest: a shipper reading a file's trusted.* attributes raises
# CAP_SYS_ADMIN for that read (daemon/xattrs.c), and this run adopts every
# file of $D first (its state is new)
vigild_settled "$S"
capf() { awk -v k="$2:" '$1 == k { print $2 }' "$1/status"; }
for t in $(ships); do
	[ "$(capf "$t" CapEff)" = 0000000000000004 ] || fail "shipper CapEff $(capf "$t" CapEff)"
	[ "$(capf "$t" CapPrm)" = 0000000000200004 ] || fail "shipper CapPrm $(capf "$t" CapPrm)"
	[ "$(capf "$t" CapBnd)" = 0000000000200004 ] || fail "shipper CapBnd $(capf "$t" CapBnd)"
done
[ "$(capf /proc/"$VPID" CapEff)" = "$(capf /proc/self CapEff)" ] || fail "main thread lost its capabilities"
kill "$VPID"
wait "$VPID" 2>/dev/null || true
note "... and still read another user's files: a WAL database in a 0700 directory, trusted.* attributes"
O=$T/other
mkdir -p "$O/nest"
echo "a quoll in the grass" >"$O/nest/notes.txt"
setfattr -n trusted.vigil-test -v hidden "$O/nest/notes.txt"
# the row only in w.db-wal (the writer never closed): a plain copy misses it,
# SQLite's backup finds it (without CAP_DAC_OVERRIDE: w.db-shm read-only)
/usr/bin/python3 -c 'import sqlite3, os, sys
c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("CREATE TABLE t(x TEXT)"); c.execute("INSERT INTO t VALUES (\x27a quokka on a bench\x27)"); c.commit(); os._exit(0)' "$O/nest/w.db"
[ -s "$O/nest/w.db-wal" ] || fail "no WAL left"
chmod 600 "$O/nest/notes.txt" "$O/nest/w.db" "$O/nest/w.db-wal" "$O/nest/w.db-shm"
chown -R nobody:nogroup "$O"
chmod 700 "$O" "$O/nest"
vigild_once phone1 "$O"
wait_for 60 "WAL database indexed" search_has "$O/nest/w.db" quokka
search_has "$O/nest/notes.txt" quoll >/dev/null || fail "0600 file of another user"
vigil get "phone1:$O/nest/notes.txt" --keep-privileged -o "$T/notes.got" 2>/dev/null || fail "get notes.txt"
[ "$(getfattr --only-values -n trusted.vigil-test "$T/notes.got" 2>/dev/null)" = hidden ] ||
	fail "trusted.* attribute not captured"

note "every other operation without ca.key"
vigil ls "phone1:$D" --json | jqe 'length == 7' >/dev/null || fail "ls"
same_file phone1 "$D/good1.txt" "$D/good1.txt"
vigil log "phone1:$D/good1.txt" --json | jqe 'length == 1' >/dev/null || fail "log"
"$BIN/vigil-server" enroll "$T/srv" --device phone2 --out "$T/phone2.bundle" 2>/dev/null &&
	fail "enroll without ca.key"
"$BIN/vigil-server" revoke "$T/srv" phone1 >/dev/null || fail "revoke without ca.key"
mv "$T/ca.key.away" "$T/srv/ca/ca.key"
"$BIN/vigil-server" enroll "$T/srv" --device phone3 --out "$T/phone3.bundle" >/dev/null ||
	fail "enroll with ca.key back"

note "kill -9 of the server while the child spins: the child dies too"
server_stop
VIGIL_TEST_EXTRACT_HOOK=1 VIGIL_TEST_EXTRACT_MS=120000 server_start
mkdir -p "$T/home3"
printf 'VIGIL-TEST-HANG again\n' >"$T/home3/hang.txt"
vigild_once phone3 "$T/home3"
spinning() {
	c=$(child) && [ -n "$c" ] && [ "$(awk '{ print $3 }' "/proc/$c/stat")" = R ] &&
		vigil status phone3 --json | jqe '.index.pending >= 1'
}
wait_for 30 "the child in the hang" spinning
C=$(child)
kill -9 "$SERVER_PID"
gone() { ! kill -0 "$C" 2>/dev/null; }
wait_for 10 "the child gone with the server" gone
echo ok
