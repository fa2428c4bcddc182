#!/usr/bin/env bash
# objstore_bench.sh — the S3 client (server/objstore/) against radosgw, side
# by side with s3cmd on the same cluster: PUT and GET of 64 KiB and 4 MiB
# objects, ops/s and MiB/s, per-operation p50/p99 and the client's CPU
# seconds (docs/scale-out.md, "The S3 client": its figures).
#
# vigil's client runs as build/bench/s3bench (one kept-alive connection per
# thread, every GET checked byte for byte), 1 thread and THREADS threads,
# and 1 thread over HTTPS (radosgw's TLS endpoint, when the env names one);
# s3cmd (Debian's, Python) moves the same files in one process per
# direction (`s3cmd put FILES... s3://b/p/`, `s3cmd get --recursive`), one
# request at a time.  Client and cluster share the machine's CPUs: on the
# 2-CPU machines the figures are the client's cost plus the cluster's, and
# the CPU seconds are the figure to compare.
#
# Standalone: brings up its own cluster (tests/scale/ceph.sh, ~20 s; root)
# and tears it down, unless S3_ENV names the env file of a running one.
# Usage: bench/objstore_bench.sh [SMALL_COUNT (500)] [BIG_COUNT (50)]
#        THREADS=8 (the parallel rows), S3CMD=0 to leave s3cmd out.
# Appends the table to bench/results-objstore.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SMALL=${1:-500}
BIG=${2:-50}
THREADS=${THREADS:-8}
S3CMD=${S3CMD:-1}
RESULTS=${RESULTS:-$ROOT/bench/results-objstore.txt}
W=$(mktemp -d /tmp/vigil-s3bench.XXXXXX)
PIDS=""
MOUNTS=""
. "$ROOT/bench/lib.sh"
die() { echo "objstore_bench: $*" >&2; exit 1; }

OWN_CEPH=0
cleanup() {
	[ "$OWN_CEPH" = 0 ] || "$ROOT/tests/scale/ceph.sh" down "$W/ceph"
	bench_cleanup
}
trap cleanup EXIT INT TERM

[ -x "$BUILD/bench/s3bench" ] || die "$BUILD/bench/s3bench missing: make scale"
if [ "$S3CMD" = 1 ] && ! command -v s3cmd >/dev/null; then
	die "s3cmd not found: scripts/install-deps.sh scale (or S3CMD=0)"
fi
if [ -n "${S3_ENV:-}" ]; then
	. "$S3_ENV"
else
	OWN_CEPH=1
	"$ROOT/tests/scale/ceph.sh" up "$W/ceph" >/dev/null
	. "$W/ceph/env"
fi
RUN=bench-$$
host=${VIGIL_S3_ENDPOINT#http://}
cat >"$W/s3cfg" <<EOF
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $host
host_bucket = $host
use_https = False
signature_v2 = False
bucket_location = us-east-1
EOF
chmod 600 "$W/s3cfg"

{
	echo "# objstore_bench $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)," \
		"load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
	printf '%-8s %-6s %-22s %9s %9s %9s %9s %8s\n' size op client ops/s MiB/s p50_ms p99_ms cpu_s
} | tee "$W/table"

row() {   # SIZE OP CLIENT OPS MIBS P50 P99 CPU
	printf '%-8s %-6s %-22s %9s %9s %9s %9s %8s\n' "$@" | tee -a "$W/table"
}

# s3bench OP SIZE COUNT THREADS [https]: a row from its one line
vigil_row() {
	local op=$1 size=$2 count=$3 th=$4 ep=$VIGIL_S3_ENDPOINT name="vigil s3 ($4 thr)" line
	if [ "${5:-}" = https ]; then ep=$VIGIL_S3_TLS_ENDPOINT name="vigil s3 https ($th thr)"; fi
	line=$(VIGIL_S3_ENDPOINT=$ep "$BUILD/bench/s3bench" "$op" "$size" "$count" "$th" "$RUN") ||
		die "s3bench $op failed"
	# "put 65536 B x 500, 1 thread: 2.310 s, 216.5 ops/s, 13.5 MiB/s, p50 3.90 ms, p99 7.10 ms, cpu 0.310 s, ..."
	set -- $(printf '%s\n' "$line" | sed -E 's/.*: ([0-9.]+) s, ([0-9.]+) ops\/s, ([0-9.]+) MiB\/s, p50 ([0-9.]+) ms, p99 ([0-9.]+) ms, cpu ([0-9.]+) s,.*/\2 \3 \4 \5 \6/')
	row "$(human "$size")" "$op" "$name" "$1" "$2" "$3" "$4" "$5"
}

# s3cmd_row OP SIZE COUNT: one s3cmd process moves COUNT files
s3cmd_row() {
	local op=$1 size=$2 count=$3 d=$W/files-$2 t0 t1 s
	if [ "$op" = put ]; then
		mkdir -p "$d"
		for i in $(seq -w 1 "$count"); do head -c "$size" /dev/urandom >"$d/o$i"; done
		/usr/bin/time -f '%e %U %S' -o "$W/t" s3cmd -q -c "$W/s3cfg" put "$d"/o* \
			"s3://$VIGIL_S3_BUCKET/$RUN-s3cmd/$size/" >"$W/s3cmd.out" 2>&1 ||
			die "s3cmd put failed: $(tail -3 "$W/s3cmd.out")"
	else
		mkdir -p "$d.back"
		/usr/bin/time -f '%e %U %S' -o "$W/t" s3cmd -q -c "$W/s3cfg" get --recursive \
			"s3://$VIGIL_S3_BUCKET/$RUN-s3cmd/$size/" "$d.back/" >"$W/s3cmd.out" 2>&1 ||
			die "s3cmd get failed: $(tail -3 "$W/s3cmd.out")"
		for f in "$d"/o*; do cmp -s "$f" "$d.back/${f##*/}" || die "s3cmd get: ${f##*/} differs"; done
	fi
	read -r s u k <"$W/t"
	row "$(human "$size")" "$op" "s3cmd (1 process)" \
		"$(awk -v n="$count" -v s="$s" 'BEGIN { printf "%.1f", n / s }')" \
		"$(awk -v n="$count" -v b="$size" -v s="$s" 'BEGIN { printf "%.1f", n * b / 1048576 / s }')" \
		- - "$(awk -v u="$u" -v k="$k" 'BEGIN { printf "%.3f", u + k }')"
}

for spec in "65536 $SMALL" "4194304 $BIG"; do
	set -- $spec
	size=$1 count=$2
	vigil_row put "$size" "$count" 1
	vigil_row get "$size" "$count" 1
	vigil_row put "$size" "$count" "$THREADS"
	vigil_row get "$size" "$count" "$THREADS"
	if [ -n "${VIGIL_S3_TLS_ENDPOINT:-}" ]; then
		vigil_row put "$size" "$count" 1 https
		vigil_row get "$size" "$count" 1 https
	fi
	"$BUILD/bench/s3bench" delete "$size" "$count" "$THREADS" "$RUN" >/dev/null || die "s3bench delete failed"
	if [ "$S3CMD" = 1 ]; then
		s3cmd_row put "$size" "$count"
		s3cmd_row get "$size" "$count"
		s3cmd -q -c "$W/s3cfg" del --recursive --force "s3://$VIGIL_S3_BUCKET/$RUN-s3cmd/$size/" \
			>/dev/null 2>&1 || true
	fi
done
cat "$W/table" >>"$RESULTS"
echo "(appended to ${RESULTS#$ROOT/})"
