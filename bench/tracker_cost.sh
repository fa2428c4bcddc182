#!/bin/sh
# tracker_cost.sh — builds and runs bench/tracker_cost.c (write-path cost of
# the trackers).  Usage: bench/tracker_cost.sh [N [ROUNDS]]   (needs root, make all;
# MODES="bpf empty ..." runs only those modes and none; PROG_NS=1 adds the
# sys_exit program's own ns per run, from the kernel's run_time_ns)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s build/lib/libdaemon.a build/lib/libcommon.a >/dev/null
mkdir -p build/bench
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -Ibuild/bpf \
	-o build/bench/tracker_cost bench/tracker_cost.c \
	build/lib/libdaemon.a build/lib/libcommon.a \
	$(pkg-config --libs libbpf) -lpthread
exec build/bench/tracker_cost "${1:-200000}" "${2:-5}"
