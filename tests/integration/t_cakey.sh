# t_cakey.sh — `vigil-server run` cannot read the CA key (issue 10, section
# 2): init keeps it in DIR/ca/ (0700); run's Landlock ruleset leaves DIR/ca
# out, so an open of DIR/ca/ca.key inside the running server fails with
# EACCES (the test hook VIGIL_TEST_OPEN_PROBE has run try, after the
# ruleset holds) while index.db opens; backups, ls, get, log and search
# work under it, enroll (another process) still reads the key; a DIR of the
# older layout (DIR/ca.key) has its key moved into DIR/ca/ by run.
. "$(dirname "$0")/lib.sh"

EACCES=13
probe_is() { # WHAT ERRNO : the probe's line for WHAT
	[ "$(awk -v k="$1" '$1 == k { print $2 }' "$T/probe")" = "$2" ]
}
hooked_start() {
	rm -f "$T/probe"
	VIGIL_TEST_HOOKS=1 VIGIL_TEST_OPEN_PROBE="$T/probe" server_start
	wait_for 10 "the open probe" test -s "$T/probe"
}

server_start
enroll_pair phone1
server_stop
note "layout: the CA key alone in DIR/ca, 0700"
[ -f "$T/srv/ca/ca.key" ] || fail "no DIR/ca/ca.key"
[ ! -e "$T/srv/ca.key" ] || fail "DIR/ca.key still made"
[ "$(stat -c %a "$T/srv/ca")" = 700 ] || fail "DIR/ca mode $(stat -c %a "$T/srv/ca")"
[ "$(stat -c %a "$T/srv/ca/ca.key")" = 600 ] || fail "ca.key mode"

note "the running server cannot open ca/ca.key (EACCES); index.db it can"
hooked_start
probe_is ca/ca.key $EACCES || fail "run opened the CA key: $(cat "$T/probe")"
probe_is index.db 0 || fail "run cannot open index.db: $(cat "$T/probe")"
probe_is proc-root $EACCES || fail "run opened the CA key through /proc/self/root: $(cat "$T/probe")"
[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' /proc/"$SERVER_PID"/status)" = 1 ] ||
	fail "run has no no_new_privs"

note "... and serves everything under its ruleset"
D=$T/home
mkdir -p "$D/sub"
echo "a pangolin by the river" >"$D/a.txt"
head -c 3000000 /dev/urandom >"$D/sub/big.bin"
vigild_once phone1 "$D"
vigil ls "phone1:$D" --json | jqe 'length == 2' >/dev/null || fail "ls"
same_file phone1 "$D/a.txt" "$D/a.txt"
same_file phone1 "$D/sub/big.bin" "$D/sub/big.bin"
vigil log "phone1:$D/a.txt" --json | jqe 'length == 1' >/dev/null || fail "log"
found() { vigil search phone1 pangolin --json | jqe --arg p "$D/a.txt" '[.[] | select(.path == $p)] | length == 1'; }
wait_for 60 "search (the extractor child starts under run's ruleset)" found
note "enroll, another process, reads the key while run serves"
"$BIN/vigil-server" enroll "$T/srv" --device phone2 --out "$T/phone2.bundle" >/dev/null ||
	fail "enroll while running"
vigild_once phone2 "$D"
vigil ls "phone2:$D" --json | jqe 'length == 2' >/dev/null || fail "ls of the new device"
kill -0 "$SERVER_PID" || fail "server died"
server_stop

note "an older DIR (DIR/ca.key): run moves the key into DIR/ca, then cannot open it"
mv "$T/srv/ca/ca.key" "$T/srv/ca.key"
rmdir "$T/srv/ca"
sum=$(sha256sum <"$T/srv/ca.key")
hooked_start
[ ! -e "$T/srv/ca.key" ] || fail "DIR/ca.key left in place"
[ "$(sha256sum <"$T/srv/ca/ca.key")" = "$sum" ] || fail "the moved key differs"
[ "$(stat -c %a "$T/srv/ca")" = 700 ] || fail "DIR/ca mode after the move"
probe_is ca/ca.key $EACCES || fail "run opened the moved CA key: $(cat "$T/probe")"
vigil ls "phone1:$D" --json | jqe 'length == 2' >/dev/null || fail "ls after the move"
"$BIN/vigil-server" enroll "$T/srv" --device phone3 --out "$T/phone3.bundle" >/dev/null ||
	fail "enroll after the move"
server_stop
echo ok
