#!/bin/bash
# ceph.sh — a single-node Ceph cluster with radosgw for the scale-out tests
# and benches, from Debian's packages, as root, without systemd.
#
#   tests/scale/ceph.sh up DIR      # DIR must not exist; prints DIR/env
#   tests/scale/ceph.sh down DIR    # stops every daemon, removes DIR
#   tests/scale/ceph.sh restart-rgw DIR   # radosgw stopped and started again
#
# One mon, one bluestore OSD on a sparse 10 GiB file inside DIR, pool size 1,
# radosgw (beast) on 127.0.0.1 at a free port; the mgr only with CEPH_MGR=1
# (S3 works without it, and it costs ~300 MiB of RSS).  Everything lives in
# DIR: ceph.conf (CEPH_CONF), keyrings, data, logs, admin sockets.
# /etc/ceph is never read or written.  `up` creates an S3 user and a bucket
# and writes DIR/env (0600, sourceable): CEPH_CONF, VIGIL_S3_ENDPOINT,
# VIGIL_S3_BUCKET, VIGIL_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# and the same radosgw over HTTPS: VIGIL_S3_TLS_ENDPOINT with its
# self-signed certificate in VIGIL_S3_CA.
# A failed `up` tears down what it started.  `down` stops in stages (rgw,
# then OSD and mgr, then mon: an rgw whose OSD is gone can hang in
# shutdown), is idempotent and ends only processes whose command line names
# DIR.  Knobs: CEPH_MGR=1, CEPH_UP_TIMEOUT (s, default 120), BUCKET.
# ../shared/scaleout.md (the project's notes) explains the settings.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
FREE_PORT=$HERE/../integration/helpers/free-port

NAME=ceph.sh VERBS="up|down|restart-rgw"
. "$HERE/lib.sh"

# pid of daemon NAME if it still runs and is ours (its command line names DIR)
ours() {
	local f=$D/run/$1.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$D/ceph.conf" &&
		echo "$pid"
}

# stop NAME...: SIGTERM, wait up to 15 s, then SIGKILL
stop() {
	local n pid pids="" i
	for n; do pid=$(ours "$n") && pids="$pids $pid"; done
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null || true
	for i in $(seq 150); do
		local alive=""
		for pid in $pids; do [ -d "/proc/$pid" ] && alive="$alive $pid"; done
		[ -z "$alive" ] && return 0
		sleep 0.1
	done
	echo "ceph.sh: killing$alive (no exit 15 s after SIGTERM)" >&2
	kill -9 $alive 2>/dev/null || true
	sleep 0.2
}

down() {
	[ -d "$D" ] || return 0
	[ -f "$D/.vigil-ceph" ] || die "$D was not made by ceph.sh up: not removing it"
	stop rgw
	stop osd mgr
	stop mon
	rm -rf "$D"
}

# start NAME CMD...: a daemon in the foreground (-f), its pid in run/NAME.pid
start() {
	local n=$1
	shift
	"$@" -c "$D/ceph.conf" -f >>"$D/log/$n.out" 2>&1 &
	echo $! >"$D/run/$n.pid"
}

wait_until() {
	local what=$1 t0
	shift
	t0=$(date +%s)
	until "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s) - t0 )) -lt "$TIMEOUT" ] ||
			die "timed out after $TIMEOUT s waiting for $what (logs in $D/log)"
		sleep 0.2
	done
}

write_conf() {
	cat >"$D/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
# without it the cluster stays at HEALTH_WARN
auth allow insecure global id reclaim = false
keyring = $D/keyring
run dir = $D/run
crash dir = $D/crash
log file = $D/log/\$name.log
admin socket = $D/run/\$name.asok
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
# rgw creates 7 pools: at the default 32 PGs each one OSD nears its limit
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
# the test disk may be fuller than a production one
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $D/mon/\$cluster-\$id

[mgr]
mgr data = $D/mgr/\$cluster-\$id
keyring = $D/mgr/\$cluster-\$id/keyring

[osd]
osd data = $D/osd/\$cluster-\$id
keyring = $D/osd/\$cluster-\$id/keyring
osd objectstore = bluestore
# a sparse file bluestore makes itself, at its default path inside osd data
bluestore block create = true
bluestore block size = 10G
bluestore fsck on mkfs = false
osd memory target = 1G

[client.rgw.gw]
keyring = $D/rgw/keyring
rgw data = $D/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT ssl_endpoint=127.0.0.1:$RGW_TLS_PORT ssl_certificate=$D/rgw/cert.pem ssl_private_key=$D/rgw/key.pem
# at level 1 rgw logs 0.8 KB per request
debug rgw = 0/5
EOF
}

rgw_ready() {
	curl -sS -m 2 "http://127.0.0.1:$RGW_PORT/" | grep -q ListAllMyBucketsResult
}

up() {
	[ "$(id -u)" = 0 ] || die "needs root (the OSD opens its block file with O_DIRECT as root)"
	for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl jq openssl; do
		command -v "$b" >/dev/null ||
			die "$b not found: scripts/install-deps.sh scale installs Ceph"
	done
	[ ! -e "$D" ] || die "$D exists: give a new directory"
	mkdir -p "$D"
	: >"$D/.vigil-ceph"
	# a failed or interrupted `up` leaves nothing behind
	trap 'rc=$?; [ $rc = 0 ] || { echo "ceph.sh: up failed, tearing down" >&2; down; }' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local t0 t1 mgr_on=${CEPH_MGR:-0}
	t0=$(now)
	mkdir -p "$D"/{run,log,crash,mon,rgw,mgr,osd/ceph-0}
	FSID=$(cat /proc/sys/kernel/random/uuid)
	MON1=$("$FREE_PORT"); MON2=$("$FREE_PORT")
	RGW_PORT=$("$FREE_PORT")
	while [ "$MON2" = "$MON1" ]; do MON2=$("$FREE_PORT"); done
	while [ "$RGW_PORT" = "$MON1" ] || [ "$RGW_PORT" = "$MON2" ]; do RGW_PORT=$("$FREE_PORT"); done
	RGW_TLS_PORT=$("$FREE_PORT")
	while [ "$RGW_TLS_PORT" = "$MON1" ] || [ "$RGW_TLS_PORT" = "$MON2" ] ||
		[ "$RGW_TLS_PORT" = "$RGW_PORT" ]; do RGW_TLS_PORT=$("$FREE_PORT"); done
	write_conf
	# radosgw serves HTTPS too, with a self-signed certificate for the
	# address 127.0.0.1 (the client's certificate checks)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$D/rgw/key.pem" -out "$D/rgw/cert.pem" 2>"$D/log/openssl.out" ||
		die "openssl req failed: $(tail -2 "$D/log/openssl.out")"
	export CEPH_CONF=$D/ceph.conf

	# mon
	ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool "$D/keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
	chmod 600 "$D/keyring"
	monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]" "$D/monmap" >/dev/null
	ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >>"$D/log/mkfs.out" 2>&1 ||
		die "ceph-mon --mkfs failed: $(tail -3 "$D/log/mkfs.out")"
	start mon ceph-mon -i a
	wait_until "the mon" timeout 5 ceph mon stat

	# mgr (optional)
	if [ "$mgr_on" = 1 ]; then
		mkdir -p "$D/mgr/ceph-x"
		ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
			-o "$D/mgr/ceph-x/keyring"
		start mgr ceph-mgr -i x
	fi

	# osd
	local uuid secret
	uuid=$(cat /proc/sys/kernel/random/uuid)
	secret=$(ceph-authtool --gen-print-key)
	printf '{"cephx_secret": "%s"}\n' "$secret" >"$D/osd/new.json"
	ceph osd new "$uuid" 0 -i "$D/osd/new.json" >/dev/null
	rm -f "$D/osd/new.json"
	ceph-authtool --create-keyring "$D/osd/ceph-0/keyring" --name osd.0 --add-key "$secret" >/dev/null
	ceph-osd -c "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" >>"$D/log/mkfs.out" 2>&1 ||
		die "ceph-osd --mkfs failed: $(tail -3 "$D/log/mkfs.out")"
	start osd ceph-osd -i 0
	wait_until "the OSD to be up" sh -c 'ceph osd stat -f json | jq -e ".num_up_osds == 1"'

	# rgw, and its bucket pools created while it starts (else the first
	# request pays 1-2 s)
	ceph auth get-or-create client.rgw.gw mon 'allow rw' osd 'allow rwx' -o "$D/rgw/keyring"
	start rgw radosgw -n client.rgw.gw
	local p
	for p in index data non-ec; do
		ceph osd pool create "default.rgw.buckets.$p" 8 >/dev/null 2>&1 &&
			ceph osd pool application enable "default.rgw.buckets.$p" rgw >/dev/null 2>&1
	done
	# an open port alone could be a stray server: wait for rgw's answer
	wait_until "radosgw on 127.0.0.1:$RGW_PORT" rgw_ready

	# the S3 user and the bucket
	local user key sec bucket=${BUCKET:-vigil-test}
	user=$(radosgw-admin user create --uid=vigil --display-name=vigil 2>>"$D/log/admin.out") ||
		die "radosgw-admin user create failed: $(tail -3 "$D/log/admin.out")"
	key=$(printf '%s' "$user" | jq -r '.keys[0].access_key')
	sec=$(printf '%s' "$user" | jq -r '.keys[0].secret_key')
	# sha256 of the empty body: RGW refuses SigV4 without x-amz-content-sha256
	curl -fsS -m 10 -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$sec" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		"http://127.0.0.1:$RGW_PORT/$bucket" >/dev/null || die "creating bucket $bucket failed"
	(
		umask 077
		cat >"$D/env" <<EOF
export CEPH_CONF=$D/ceph.conf
export VIGIL_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export VIGIL_S3_TLS_ENDPOINT=https://127.0.0.1:$RGW_TLS_PORT
export VIGIL_S3_CA=$D/rgw/cert.pem
export VIGIL_S3_BUCKET=$bucket
export VIGIL_S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$key
export AWS_SECRET_ACCESS_KEY=$sec
EOF
	)
	t1=$(now)
	local rss=0 n pid
	for n in mon mgr osd rgw; do
		pid=$(ours "$n") || continue
		rss=$(( rss + $(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") ))
	done
	echo "ceph.sh: up in $(secs "$t0" "$t1") s (mgr: $([ "$mgr_on" = 1 ] && echo on || echo off)," \
		"RSS $((rss / 1024)) MiB); S3 at http://127.0.0.1:$RGW_PORT bucket $bucket; env in $D/env"
	trap - EXIT INT TERM
}

# radosgw stopped and started again (what a client sees when the gateway
# it talks to restarts)
restart_rgw() {
	local t0
	[ -f "$D/.vigil-ceph" ] && [ -f "$D/env" ] || die "$D holds no cluster of ceph.sh up"
	RGW_PORT=$(sed -n 's|^export VIGIL_S3_ENDPOINT=http://127.0.0.1:||p' "$D/env")
	t0=$(now)
	stop rgw
	start rgw radosgw -n client.rgw.gw
	wait_until "radosgw on 127.0.0.1:$RGW_PORT" rgw_ready
	echo "ceph.sh: radosgw restarted in $(secs "$t0" "$(now)") s"
}

scale_args "$@"
TIMEOUT=${CEPH_UP_TIMEOUT:-120}
case $VERB in
up) up ;;
down) timed_down ;;
restart-rgw) restart_rgw ;;
*) usage ;;
esac
