#!/bin/bash
# pg.sh — PostgreSQL 15 from a temp dir for the scale-out tests and benches.
#
#   tests/scale/pg.sh up DIR      # DIR must not exist; prints DIR/env
#   tests/scale/pg.sh down DIR    # stops the postmaster, removes DIR
#
# initdb as user postgres (initdb refuses root) into DIR/data, trust
# authentication, listening on 127.0.0.1 at a free port and on a Unix
# socket in DIR; a role and a database `vigil`.  Writes DIR/env
# (sourceable): VIGIL_PG_URL=postgresql://vigil@127.0.0.1:PORT/vigil and
# PGHOST/PGPORT/PGUSER/PGDATABASE for psql.  pg_ctlcluster and
# /etc/postgresql are left alone.  A failed `up` tears down what it started;
# `down` is idempotent.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

NAME=pg.sh VERBS="up|down"
. "$HERE/lib.sh"
as_pg() { runuser -u postgres -- "$@"; }

down() {
	[ -d "$D" ] || return 0
	[ -f "$D/.vigil-pg" ] || die "$D was not made by pg.sh up: not removing it"
	if [ -f "$D/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$D/data" -m fast -w -t 30 stop >/dev/null ||
			echo "pg.sh: pg_ctl stop failed" >&2
	fi
	rm -rf "$D"
}

up() {
	[ "$(id -u)" = 0 ] || die "needs root (initdb runs as user postgres)"
	[ -x "$PGBIN/initdb" ] || die "$PGBIN/initdb not found: scripts/install-deps.sh scale installs postgresql-15"
	id postgres >/dev/null 2>&1 || die "no user postgres (the postgresql-15 package makes it)"
	[ ! -e "$D" ] || die "$D exists: give a new directory"
	mkdir -p "$D"
	: >"$D/.vigil-pg"
	trap 'rc=$?; [ $rc = 0 ] || { echo "pg.sh: up failed, tearing down" >&2; down; }' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local t0 port
	t0=$(now)
	# postgres must reach DIR/data and write its socket into DIR
	chmod 755 "$D"
	install -d -o postgres -g postgres -m 700 "$D/data" "$D/sock"
	as_pg "$PGBIN/initdb" -D "$D/data" -A trust -U postgres --no-sync >"$D/initdb.out" 2>&1 ||
		die "initdb failed: $(tail -3 "$D/initdb.out")"
	port=$("$HERE/../integration/helpers/free-port")
	as_pg "$PGBIN/pg_ctl" -D "$D/data" -l "$D/data/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$D/sock" \
		start >/dev/null || die "pg_ctl start failed: $(tail -3 "$D/data/server.log")"
	as_pg "$PGBIN/psql" -qX -h "$D/sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE vigil LOGIN" -c "CREATE DATABASE vigil OWNER vigil" >/dev/null ||
		die "creating role and database vigil failed"
	cat >"$D/env" <<EOF
export VIGIL_PG_URL=postgresql://vigil@127.0.0.1:$port/vigil
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=vigil PGDATABASE=vigil
EOF
	echo "pg.sh: up in $(secs "$t0" "$(now)") s; postgresql://vigil@127.0.0.1:$port/vigil; env in $D/env"
	trap - EXIT INT TERM
}

scale_args "$@"
case $VERB in
up) up ;;
down) timed_down ;;
*) usage ;;
esac
