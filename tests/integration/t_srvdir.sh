#!/bin/bash
# t_srvdir.sh — the server directory is the server's alone (issue 10,
# finding 1.5): init into an existing 0755 directory tightens it to 0700 and
# creates every file 0600 (SQLite's -wal/-shm too, once run has them open);
# init refuses a loose directory that is not an empty one of the caller's;
# run refuses a loosened directory with one line and exit 1.
. "$(dirname "$0")/lib.sh"

# loose_files DIR: every file or directory below DIR not 0600 / 0700
loose_files() { find "$1" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) -print; }

note "init into an existing empty 0755 directory"
mkdir -m 0755 "$T/srv"
PORT=$(free_port)
"$BIN/vigil-server" init "$T/srv" --listen "127.0.0.1:$PORT" >/dev/null || fail "init into an empty 0755 dir"
[ "$(stat -c %a "$T/srv")" = 700 ] || fail "DIR left at $(stat -c %a "$T/srv")"
[ -z "$(loose_files "$T/srv")" ] || fail "loose after init: $(loose_files "$T/srv" | xargs stat -c '%a %n')"
[ "$(stat -c %a "$T/srv/index.db")" = 600 ] || fail "index.db mode"

note "run: index.db, search.db and their -wal/-shm are 0600"
server_start
enroll_pair phone1
wait_for 20 "search.db" test -e "$T/srv/search.db"
for f in index.db search.db; do
	for s in "" -wal -shm; do
		[ ! -e "$T/srv/$f$s" ] || [ "$(stat -c %a "$T/srv/$f$s")" = 600 ] ||
			fail "$f$s is $(stat -c %a "$T/srv/$f$s")"
	done
done
ls "$T"/srv/*-wal >/dev/null 2>&1 || fail "no -wal file to check"
[ -z "$(loose_files "$T/srv")" ] || fail "loose while running: $(loose_files "$T/srv" | xargs stat -c '%a %n')"
server_stop

note "run refuses a loosened directory, with one line"
chmod 0750 "$T/srv"
set +e
timeout 20 "$BIN/vigil-server" run "$T/srv" >/dev/null 2>"$T/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "run on a 0750 dir: exit $rc"
[ "$(wc -l <"$T/err")" = 1 ] || fail "not one line: $(cat "$T/err")"
grep -q '^vigil-server: ' "$T/err" || fail "line not prefixed: $(cat "$T/err")"
chmod 0701 "$T/srv"
set +e
timeout 20 "$BIN/vigil-server" run "$T/srv" >/dev/null 2>&1; rc=$?
set -e
[ "$rc" = 1 ] || fail "run on a 0701 dir: exit $rc"
chmod 0700 "$T/srv"

note "init refuses a loose directory that is not empty, and creates nothing"
mkdir -m 0755 "$T/shared"
echo other >"$T/shared/notes"
set +e
"$BIN/vigil-server" init "$T/shared" >/dev/null 2>"$T/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "init into a non-empty 0755 dir: exit $rc"
[ "$(ls "$T/shared")" = notes ] || fail "init created files: $(ls "$T/shared")"
[ "$(stat -c %a "$T/shared")" = 755 ] || fail "init changed a dir it refused"

note "a new directory is 0700 with 0600 files, whatever the umask"
(umask 000 && "$BIN/vigil-server" init "$T/srv3" --listen 127.0.0.1:1 >/dev/null) || fail "init srv3"
[ -z "$(loose_files "$T/srv3")" ] || fail "loose under umask 000: $(loose_files "$T/srv3" | xargs stat -c '%a %n')"
echo "t_srvdir: ok"
