#!/bin/bash
# bench/erase_bench.sh — erase throughput: vigil's erase engine against
# `shred -u` + `rm -rf` on the same tree.
#
# Usage: bench/erase_bench.sh [NFILES [MIB]]   (default 10000 files, 1024 MiB)
#
# A tree of NFILES random files (100 directories, sizes spread around
# MIB/NFILES) is made, synced, and erased three times over identical copies:
#   vigil:       bench/erase_tool (daemon/erase.c): one CSPRNG pass,
#                fdatasync, truncate, unlink per file; journal record per
#                removal; rmdir deepest first; FITRIM
#   shred -n1:   `shred -n 1 -u` on every file (one pass: same work as vigil),
#                then `rm -rf`
#   shred -u:    `shred -u` (its default: 3 passes), then `rm -rf`
# Wall time of each (page cache dropped before each run) and the ratio to
# vigil; appended to bench/results-erase.txt.  Needs root (drop_caches).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NFILES=${1:-10000}
MIB=${2:-1024}
OUT=${BENCH_OUT:-$ROOT/bench/results-erase.txt}

cd "$ROOT" || exit 1
make -s build/lib/libdaemon.a build/lib/libcommon.a >/dev/null || exit 1
mkdir -p build/bench
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -Ibuild/bpf \
	-o build/bench/erase_tool bench/erase_tool.c \
	build/lib/libdaemon.a build/lib/libcommon.a \
	$(pkg-config --libs libcryptsetup zlib) -lpthread || exit 1

W=$(mktemp -d /var/tmp/vigil-erasebench.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT

# make_tree DIR: NFILES files in 100 directories, MIB MiB in all (sizes from
# 0.5x to 1.5x the mean, in a fixed order so every copy is the same).
make_tree() {
	python3 - "$1" "$NFILES" "$MIB" <<'PY'
import os, sys
d, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mean = mib * 1024 * 1024 // n
blob = os.urandom(2 * mean + 1)
for i in range(n):
    sub = os.path.join(d, "d%02d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    size = mean // 2 + (i * 7919) % (mean + 1)
    with open(os.path.join(sub, "f%05d" % i), "wb") as f:
        f.write(blob[:size])
PY
	sync
}

drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
now() { date +%s.%N; }

mkdir -p "$W/state"
make_tree "$W/t"
BYTES=$(du -sb "$W/t" | awk '{ print $1 }')

drop
t0=$(now)
REPORT=$(build/bench/erase_tool "$W/state" "$W/t") || { echo "erase_bench: erase failed" >&2; exit 1; }
t1=$(now)
V=$(secs "$t0" "$t1")
[ -z "$(ls -A "$W/t")" ] || { echo "erase_bench: vigil left entries" >&2; exit 1; }

rm -rf "$W/t"
make_tree "$W/t"
drop
t0=$(now)
find "$W/t" -type f -print0 | xargs -0 shred -n 1 -u && rm -rf "$W/t"
t1=$(now)
S1=$(secs "$t0" "$t1")

make_tree "$W/t"
drop
t0=$(now)
find "$W/t" -type f -print0 | xargs -0 shred -u && rm -rf "$W/t"
t1=$(now)
S3=$(secs "$t0" "$t1")

{
	echo "== erase_bench $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -r) nproc=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg)"
	echo "tree: $NFILES files, $(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, 100 directories, on $(df -T "$W" | awk 'NR==2 { print $2 }')"
	printf '%-24s %9s %9s %s\n' method seconds "MiB/s" note
	printf '%-24s %9s %9s %s\n' "vigil erase" "$V" \
		"$(awk -v b="$BYTES" -v s="$V" 'BEGIN { printf "%.1f", b / 1048576 / s }')" "$REPORT"
	printf '%-24s %9s %9s %s\n' "shred -n1 -u + rm -rf" "$S1" \
		"$(awk -v b="$BYTES" -v s="$S1" 'BEGIN { printf "%.1f", b / 1048576 / s }')" "one pass, as vigil"
	printf '%-24s %9s %9s %s\n' "shred -u + rm -rf" "$S3" \
		"$(awk -v b="$BYTES" -v s="$S3" 'BEGIN { printf "%.1f", b / 1048576 / s }')" "shred's default: 3 passes"
	awk -v v="$V" -v a="$S1" -v b="$S3" \
		'BEGIN { printf "    ratios (time / vigil): shred -n1 -u %.2fx, shred -u %.2fx\n", a / v, b / v }'
} | tee -a "$OUT"
