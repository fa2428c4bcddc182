#!/bin/bash
# t_deb.sh — vigil's Debian packages as a user gets them (docs/packaging.md):
# build them (make deb), lintian (a tag that docs/packaging.md does not list
# fails), dpkg -i the three, check where their files went, run a backup with
# the INSTALLED programs (a real server as the user vigil on a temp store, a
# real vigild, a file backed up and fetched back byte for byte), then
# dpkg -r and dpkg -P and check that nothing of them is left.
#
# PID 1 is not systemd on the test machines: the units are checked offline
# (systemd-analyze verify, systemd-analyze security --offline=yes), never
# started; the packages' maintainer scripts must work without systemd.
#
# Root, Debian 12.  The machine is left as it was, whatever fails (trap):
# the packages purged, the user vigil and /var/lib/vigil-server removed when
# the test made them.  DEB_DIR (default build/deb) holds the packages;
# DEB_REUSE=1 skips the build when they are there.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEB_DIR=${DEB_DIR:-$ROOT/build/deb}
case $DEB_DIR in /*) ;; *) DEB_DIR=$ROOT/$DEB_DIR ;; esac
PKGS="vigil-server vigild vigil vigil-common"
T=$(mktemp -d /tmp/vigil-deb.XXXXXX)
PIDS=""
T0=$(date +%s)

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }
phase() { # NAME: the seconds since the last phase
	local now; now=$(date +%s)
	echo "-- time: $1 $((now - ${PHASE_T:-$T0})) s"
	PHASE_T=$now
}

[ "$(id -u)" = 0 ] || fail "run as root (it installs packages)"
command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null ||
	fail "dpkg-dev, debhelper and lintian are needed (scripts/install-deps.sh)"
for p in $PKGS; do
	if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
		fail "$p is installed on this machine: the test would remove it"
	fi
done

# what the packages may create that the test must take away again
had_user=0; getent passwd vigil >/dev/null && had_user=1
had_group=0; getent group vigil >/dev/null && had_group=1
had_store=0; [ -e /var/lib/vigil-server ] && had_store=1
had_etc=0; [ -e /etc/vigil ] && had_etc=1

cleanup() {
	local rc=$?
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $PKGS; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$' &&
			dpkg -P "$p" >/dev/null 2>&1
	done
	[ $had_user = 0 ] && getent passwd vigil >/dev/null && { userdel vigil || echo "t_deb: could not remove the user vigil" >&2; }
	[ $had_group = 0 ] && getent group vigil >/dev/null && groupdel vigil
	[ $had_store = 0 ] && [ -d /var/lib/vigil-server ] && rm -rf /var/lib/vigil-server
	[ $had_etc = 0 ] && [ -d /etc/vigil ] && rm -rf /etc/vigil
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build --------------------------------------------------------------
deb_of() { ls "$DEB_DIR"/"$1"_*.deb 2>/dev/null | head -1; }
if [ "${DEB_REUSE:-0}" = 1 ] && [ -n "$(deb_of vigil-server)" ]; then
	note "reusing the packages in $DEB_DIR"
else
	"$ROOT/scripts/deb.sh" "$DEB_DIR" >"$T/build.log" 2>&1 ||
		{ tail -30 "$T/build.log" >&2; fail "make deb failed"; }
fi
for p in $PKGS; do [ -n "$(deb_of "$p")" ] || fail "no $p package in $DEB_DIR"; done
phase build

# --- lintian: every tag it gives must be listed in docs/packaging.md ------
changes=$(ls "$DEB_DIR"/*.changes | head -1)
lintian --info --display-level '>=info' --tag-display-limit 0 "$changes" >"$T/lintian.txt" 2>&1 || true
# lines "X: package[ arch]: tag-name [context]"
tags=$(sed -n 's/^[EWIPX]: [^:]*: \([a-z0-9][a-z0-9+.-]*\).*/\1/p' "$T/lintian.txt" | sort -u)
unlisted=""
for t in $tags; do
	grep -q "^| \`$t\` |" "$ROOT/docs/packaging.md" || unlisted="$unlisted $t"
done
if [ -n "$unlisted" ]; then
	cat "$T/lintian.txt" >&2
	fail "lintian tags not listed in docs/packaging.md:$unlisted"
fi
note "lintian: ${tags:-no tags}" | tr '\n' ' '; echo
phase lintian

# --- install ----------------------------------------------------------------
dpkg -i "$(deb_of vigil-server)" "$(deb_of vigild)" "$(deb_of vigil)" "$(deb_of vigil-common)" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log" >&2; fail "dpkg -i failed"; }
for f in /usr/sbin/vigil-server /usr/sbin/vigild /usr/sbin/vigil-simfs /usr/bin/vigil \
	/lib/systemd/system/vigil-server.service /lib/systemd/system/vigild.service \
	/lib/systemd/system/vigil-simfs@.service /usr/share/vigil/kconfig/check \
	/usr/share/vigil/kconfig/vigil.config /usr/lib/sysusers.d/vigil-server.conf; do
	[ -e "$f" ] || fail "$f is not installed"
done
[ "$(dpkg -S /usr/sbin/vigil-server | cut -d: -f1)" = vigil-server ] || fail "vigil-server: wrong package"
[ "$(dpkg -S /usr/sbin/vigil-simfs | cut -d: -f1)" = vigild ] || fail "vigil-simfs: wrong package"
[ "$(dpkg -S /usr/bin/vigil | cut -d: -f1)" = vigil ] || fail "vigil: wrong package"
[ "$(dpkg -S /usr/share/man/man5/vigil.conf.5.gz | cut -d: -f1)" = vigil-common ] || fail "vigil.conf.5: wrong package"
dpkg-query -W -f='${Depends}\n' vigil | grep -qw fuse3 || fail "vigil does not depend on fuse3"
for p in /usr/sbin/vigil-server /usr/sbin/vigild /usr/sbin/vigil-simfs /usr/bin/vigil; do
	"$p" --help >/dev/null || fail "$p --help failed"
done
# the example configs and the man pages, all that the tree has
for f in "$ROOT"/dist/etc/*.conf; do
	[ -e "$f" ] || continue
	c=/etc/vigil/${f##*/}
	cmp -s "$f" "$c" || fail "$c is not the tree's ${f#$ROOT/}"
	dpkg-query -W -f='${Conffiles}\n' $PKGS | grep -q "^ $c " || fail "$c is not a conffile"
done
for f in "$ROOT"/man/*.[1-8]; do
	[ -e "$f" ] || continue
	s=${f##*.}
	[ -e "/usr/share/man/man$s/${f##*/}.gz" ] || fail "man page ${f##*/} is not installed"
done
getent passwd vigil >/dev/null || fail "the user vigil was not made"
[ "$(stat -c '%U %a' /var/lib/vigil-server)" = "vigil 700" ] ||
	fail "/var/lib/vigil-server: $(stat -c '%U %a' /var/lib/vigil-server), not vigil 700"
[ -e /etc/systemd/system/multi-user.target.wants/vigil-server.service ] ||
	fail "vigil-server.service is not enabled"
phase install

# --- the units, offline (PID 1 is not systemd here) ---------------------------
note "units checked offline: PID 1 is $(ps -o comm= -p 1), not systemd here"
verify_out=$(cd / && systemd-analyze verify --man=yes /lib/systemd/system/vigil-server.service \
	/lib/systemd/system/vigild.service /lib/systemd/system/vigil-simfs@.service 2>&1) ||
	fail "systemd-analyze verify: $verify_out"
[ -z "$verify_out" ] || fail "systemd-analyze verify: $verify_out"
for u in vigil-server vigild; do
	s=$(systemd-analyze security --offline=yes /lib/systemd/system/$u.service 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	[ -n "$s" ] || fail "systemd-analyze security gave no score for $u"
	note "systemd-analyze security --offline=yes $u.service: $s"
	eval "score_${u//-/_}=$s"
done
# docs/packaging.md's figures: a unit that loses a hardening line fails here
awk "BEGIN { exit !($score_vigil_server <= 1.5) }" || fail "vigil-server.service exposure $score_vigil_server > 1.5"
awk "BEGIN { exit !($score_vigild <= 4.5) }" || fail "vigild.service exposure $score_vigild > 4.5"
phase units

# --- make demo's flow, with the installed programs ------------------------------
free_port() {
	while :; do
		p=$(( (RANDOM % 10000) + 20000 ))
		ss -tanH "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
wait_for() { # SECONDS WHAT CMD...
	local secs=$1 what=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -gt $((secs * 10)) ] && fail "timed out waiting for $what"
		sleep 0.1
	done
}
AS_VIGIL=(setpriv --reuid vigil --regid vigil --init-groups --)
as_vigil() { "${AS_VIGIL[@]}" "$@"; }
srvconf=(); [ -e /etc/vigil/vigil-server.conf ] && srvconf=(--config /etc/vigil/vigil-server.conf)
devconf=(); [ -e /etc/vigil/vigild.conf ] && devconf=(--config /etc/vigil/vigild.conf)

chmod 755 "$T"
install -d -o vigil -g vigil -m 0700 "$T/store" "$T/out"
PORT=$(free_port)
as_vigil /usr/sbin/vigil-server init "$T/store" --listen "127.0.0.1:$PORT" >/dev/null
as_vigil /usr/sbin/vigil-server enroll "$T/store" --controller admin --out "$T/out/ctl.bundle" >/dev/null
as_vigil /usr/sbin/vigil-server enroll "$T/store" --device phone1 --out "$T/out/phone1.bundle" >/dev/null
# setpriv execs the server: $! is the server's pid
"${AS_VIGIL[@]}" /usr/sbin/vigil-server run "$T/store" "${srvconf[@]}" 2>"$T/server.log" &
SERVER=$!
PIDS="$PIDS $SERVER"
wait_for 20 "the installed server to listen" sh -c "ss -ltn 'sport = :$PORT' | grep -q ':$PORT'"
[ "$(awk '/^Uid:/ { print $2 }' /proc/$SERVER/status)" = "$(id -u vigil)" ] ||
	fail "the server does not run as vigil"

H=$T/home/alice
mkdir -p "$H/notes"
head -c 300000 /dev/urandom >"$H/notes/photo.bin"
echo "Buy milk. Call Zhang San +86 138-0013-8000." >"$H/notes/todo.txt"
/usr/sbin/vigild run --bundle "$T/out/phone1.bundle" --state "$T/state" --watch "$H" \
	"${devconf[@]}" 2>"$T/vigild.log" &
PIDS="$PIDS $!"
export VIGIL_BUNDLE=$T/out/ctl.bundle
sha=$(sha256sum "$H/notes/photo.bin" | cut -c1-64)
wait_for 60 "photo.bin on the server" sh -c "/usr/bin/vigil log 'phone1:$H/notes/photo.bin' --json | grep -q $sha"
/usr/bin/vigil get "phone1:$H/notes/photo.bin" -o "$T/photo.back" ||
	{ tail "$T/vigild.log" "$T/server.log" >&2; fail "vigil get failed"; }
cmp "$H/notes/photo.bin" "$T/photo.back" || fail "vigil get: not the bytes backed up"
/usr/bin/vigil get "phone1:$H" -o "$T/restored" >/dev/null
diff -r "$H" "$T/restored" || fail "the restored tree differs"
note "installed programs: backup and get byte-exact ($(stat -c %s "$T/photo.back") bytes)"
for p in $PIDS; do kill "$p" 2>/dev/null || true; done
wait $SERVER || fail "the server did not stop cleanly (exit $?)"
PIDS=""
phase flow

# --- remove, then purge: nothing of the packages is left ------------------------
dpkg -r $PKGS >"$T/remove.log" 2>&1 || { cat "$T/remove.log" >&2; fail "dpkg -r failed"; }
for f in /usr/sbin/vigil-server /usr/sbin/vigild /usr/sbin/vigil-simfs /usr/bin/vigil \
	/lib/systemd/system/vigil-server.service /usr/share/vigil; do
	[ ! -e "$f" ] || fail "$f is left after dpkg -r"
done
dpkg -P $PKGS >"$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "dpkg -P failed"; }
for p in $PKGS; do
	! dpkg -L "$p" >/dev/null 2>&1 || fail "dpkg -L $p still lists files after dpkg -P"
done
left=(/etc/systemd/system/multi-user.target.wants/vigil-server.service
	/etc/systemd/system/multi-user.target.wants/vigild.service /usr/lib/sysusers.d/vigil-server.conf)
[ $had_etc = 1 ] || left+=(/etc/vigil)
[ $had_store = 1 ] || left+=(/var/lib/vigil-server)
for f in "${left[@]}"; do
	[ ! -e "$f" ] || fail "$f is left after dpkg -P"
done
# the user vigil stays, as Debian's system users do (docs/packaging.md);
# the trap removes it when the test made it
phase remove
echo "-- time: total $(( $(date +%s) - T0 )) s"
echo "PASS t_deb.sh"
