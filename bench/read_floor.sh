#!/bin/sh
# read_floor.sh — builds and runs bench/read_floor.c: the CPU a cold read
# must spend on this host piece by piece (TLS both ends, the checks, the
# copies, the socket) and the disk's durable write, summed into the floor
# under row f of throughput_bench.sh (docs/performance.md, "Round 8").
# Usage: bench/read_floor.sh [SIZE_MIB (256)] [DIR (/tmp: the disk a get writes to)]
# (root: it drops the page cache before the cold reads)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s build/lib/libserver.a >/dev/null
mkdir -p build/bench
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. \
	-o build/bench/read_floor bench/read_floor.c build/lib/libserver.a \
	-lcrypto -lxxhash -lz -lpthread
exec build/bench/read_floor "${2:-/tmp}" "${1:-256}"
