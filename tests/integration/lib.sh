# lib.sh — shared helpers for integration tests: a private temp dir, a real
# vigil-server on a free loopback port, enrolled identities, vigild runs, and
# cleanup of everything started, whatever happens.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
# jqe (helpers/jqe): jq -e that fails on empty input, also inside sh -c
export PATH="$ROOT/tests/integration/helpers:$PATH"
T=$(mktemp -d /tmp/vigil-it.XXXXXX)
PIDS=""
MOUNTS=""

# VIGIL_TEST_ENCRYPT=1: every server a test makes keeps an encrypted store
# (`init --encrypt`, key file $T/store.key through VIGIL_KEY_FILE, which
# run reads too): BIN becomes a directory whose vigil-server adds
# --encrypt to init and runs the real one (exec: same pid); the other
# programs are links to the real ones.
if [ "${VIGIL_TEST_ENCRYPT:-0}" = 1 ]; then
	mkdir "$T/encbin"
	for f in "$BIN"/*; do [ "${f##*/}" = vigil-server ] || ln -s "$f" "$T/encbin/"; done
	printf '#!/bin/sh\n[ "$1" = init ] && exec "%s/vigil-server" "$@" --encrypt\nexec "%s/vigil-server" "$@"\n' \
		"$BIN" "$BIN" >"$T/encbin/vigil-server"
	chmod 755 "$T/encbin/vigil-server"
	BIN=$T/encbin
	export VIGIL_KEY_FILE="$T/store.key"
	# index.db and search.db are encrypted too: the sqlite3 shell opens
	# them through dbcrypt's VFS (tests/integration/sealed_preload.c)
	[ -f "$ROOT/build/tests/sealed_preload.so" ] || {
		echo "lib.sh: VIGIL_TEST_ENCRYPT=1 needs build/tests/sealed_preload.so:" \
			"make build/tests/sealed_preload.so (make integration-encrypt builds it)" >&2
		exit 1
	}
	mkdir "$T/encpath"
	cat >"$T/encpath/sqlite3" <<EOF
#!/bin/sh
for a; do case "\$a" in *index.db|*search.db|*index.db\?*|*search.db\?*) d="\${a#file:}"; d="\${d%%\?*}"
	export VIGIL_SEALED_DIR="\${d%/*}";; esac; done
[ -z "\${VIGIL_SEALED_DIR:-}" ] || export LD_PRELOAD="$ROOT/build/tests/sealed_preload.so"
exec /usr/bin/sqlite3 "\$@"
EOF
	chmod 755 "$T/encpath/sqlite3"
	export PATH="$T/encpath:$PATH"
fi

cleanup() {
	set +e
	for m in $MOUNTS; do fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
# INT/TERM (run-all.sh's timeout) end the test: cleanup runs once, on EXIT
# (a trap on TERM alone ran cleanup and then let the test go on)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

# A free loopback port (helpers/free-port says which).
free_port() { free-port; }

# server_start: init (once) and run a server in $T/srv on a free port.
server_start() {
	if [ ! -e "$T/srv/config" ]; then
		PORT=$(free_port)
		"$BIN/vigil-server" init "$T/srv" --listen "127.0.0.1:$PORT" >/dev/null
	fi
	"$BIN/vigil-server" run "$T/srv" >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS="$PIDS $SERVER_PID"
	wait_for 10 "server listening" sh -c "ss -ltn 'sport = :$PORT' | grep -q ':$PORT'"
}

server_stop() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

# enroll_pair DEVICE: a controller bundle $T/ctl.bundle and a device bundle $T/DEVICE.bundle
enroll_pair() {
	[ -e "$T/ctl.bundle" ] || "$BIN/vigil-server" enroll "$T/srv" --controller admin --out "$T/ctl.bundle" >/dev/null
	"$BIN/vigil-server" enroll "$T/srv" --device "$1" --out "$T/$1.bundle" >/dev/null
	export VIGIL_BUNDLE="$T/ctl.bundle"
}

# wait_for SECONDS WHAT CMD...: poll CMD until it succeeds (bounded).
wait_for() {
	secs=$1 what=$2
	shift 2
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -gt $((secs * 10)) ] && fail "timed out waiting for $what"
		sleep 0.1
	done
}

vigil() { "$BIN/vigil" "$@"; }

# vigild_settled STATEDIR: waits for a STATEDIR/status.json that the running
# vigild wrote after this call with nothing queued.  Its counters then count
# every PUT of a version the test saw stored before the call: a shipper
# counts a PUT before it clears the queue entry, and a snapshot reads the
# queue before the counters.  (status.json is rewritten when something
# moved and when `vigild status` asks for it, which status_settled does;
# a fixed sleep after a store read stale counters under load.)
# vigild_counter STATE NAME: vigild's counter NAME, as `vigild status --json` gives it
vigild_counter() { "$BIN/vigild" status --state "$1" --json | jq ".counters.$2"; }

vigild_settled() {
	wait_for 60 "vigild settled (status.json after now, queue empty)" \
		status_settled "$1" "$(date +%s%N)"
}
status_settled() {
	local snap
	snap=$("$BIN/vigild" status --state "$1" --json | jq -r '"\(.updated) \(.queue.files)"') ||
		return 1
	set -- "${snap% *}" "${snap#* }" "$2"
	[ "$1" != null ] && [ "$2" = 0 ] && [ "$(date -d "$1" +%s%N)" -gt "$3" ]
}

# vigild_once DEVICE ROOT [flags]: reconcile ROOT once and ship it all.
vigild_once() {
	dev=$1 root=$2
	shift 2
	timeout 600 "$BIN/vigild" once --bundle "$T/$dev.bundle" --state "$T/state-$dev" \
		--watch "$root" "$@" >>"$T/vigild.log" 2>&1 || { tail -20 "$T/vigild.log"; fail "vigild once failed"; }
}

# vigild_cut DEVICE ROOT KB: vigild once on ROOT, killed (-9) once the
# server's packs grew KB past what they held: an upload left half-done.
vigild_cut() {
	local base i=0 pid
	base=$(du -sk "$T/srv/store/packs" | cut -f1)
	"$BIN/vigild" once --bundle "$T/$1.bundle" --state "$T/state-$1" --watch "$2" \
		>>"$T/vigild.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	while [ "$(du -sk "$T/srv/store/packs" | cut -f1)" -lt $((base + $3)) ]; do
		i=$((i + 1)); [ "$i" -gt 1200 ] && fail "the upload never reached $3 KB"
		kill -0 "$pid" 2>/dev/null || fail "vigild finished before it could be killed"
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
}

# same_file DEVICE PATH LOCALFILE: vigil get the latest and compare bytes.
same_file() {
	rm -f "$T/got"
	vigil get "$1:$2" -o "$T/got" || fail "get $1:$2"
	cmp "$T/got" "$3" || fail "content of $2 differs"
}
