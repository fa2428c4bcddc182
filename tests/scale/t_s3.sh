#!/bin/bash
# t_s3.sh — the S3 client (server/objstore/) against the radosgw of
# tests/scale/ceph.sh: build/tests/scale/test_s3 with its environment
# (VIGIL_S3_ENDPOINT, VIGIL_S3_BUCKET, the keys).  Here a skipped test is a
# failure: the environment is there.  Run by tests/scale/run.sh.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ -n "${VIGIL_S3_ENDPOINT:-}" ] && [ -n "${VIGIL_S3_BUCKET:-}" ] ||
	{ echo "t_s3.sh: no VIGIL_S3_ENDPOINT/VIGIL_S3_BUCKET: source the env of tests/scale/ceph.sh up (make test-scale does)" >&2; exit 1; }
[ -x "$BUILD/tests/scale/test_s3" ] || { echo "t_s3.sh: $BUILD/tests/scale/test_s3 missing: make scale" >&2; exit 1; }
# test_restart restarts radosgw under the client
[ -n "${CEPH_CONF:-}" ] && export VIGIL_S3_RESTART_RGW="$ROOT/tests/scale/ceph.sh restart-rgw ${CEPH_CONF%/ceph.conf}"
out=$(mktemp /tmp/vigil-t_s3.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
"$BUILD/tests/scale/test_s3" >"$out" 2>&1 || rc=1
cat "$out"
if grep -q 'SKIPPED' "$out"; then
	echo "FAIL: t_s3.sh: tests skipped although radosgw is there" >&2
	rc=1
fi
exit $rc
