#!/bin/bash
# run.sh — `make test-scale`: a single-node Ceph with radosgw and a
# PostgreSQL 15, each in a temp dir (ceph.sh, pg.sh, brought up side by
# side), then the scale tests against them (tests/scale/t_*.sh, or the ones
# named), each with a timeout; both are torn down whatever happens.  Root.
#   tests/scale/run.sh [t_x.sh ...]      BUILD=DIR: the build tree (build/)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export BUILD=${BUILD:-$ROOT/build}
W=$(mktemp -d /tmp/vigil-scale.XXXXXX)
chmod 755 "$W"   # postgres reaches its data dir below it

cleanup() {
	"$HERE/ceph.sh" down "$W/ceph"
	"$HERE/pg.sh" down "$W/pg"
	rmdir "$W" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s)
"$HERE/ceph.sh" up "$W/ceph" & ceph_pid=$!
"$HERE/pg.sh" up "$W/pg" & pg_pid=$!
up=0
wait $ceph_pid || up=1
wait $pg_pid || up=1
[ $up = 0 ] || { echo "make test-scale: the backends did not come up" >&2; exit 1; }
# shellcheck disable=SC1091
. "$W/ceph/env"
# shellcheck disable=SC1091
. "$W/pg/env"
echo "make test-scale: backends up in $(( $(date +%s) - t0 )) s"

if [ $# -gt 0 ]; then tests=("$@"); else tests=("$HERE"/t_*.sh); fi
failed=""
for t in "${tests[@]}"; do
	case $t in */*) ;; *) t=$HERE/$t ;; esac
	t1=$(date +%s)
	echo "== ${t##*/}"
	timeout -k 10 600 bash "$t" || failed="$failed ${t##*/}"
	echo "== ${t##*/} took $(( $(date +%s) - t1 )) s"
done
echo "make test-scale: $(( $(date +%s) - t0 )) s before teardown"
if [ -n "$failed" ]; then
	echo "make test-scale: FAILED:$failed"
	exit 1
fi
echo "make test-scale: all passed"
