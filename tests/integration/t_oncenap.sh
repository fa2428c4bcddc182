# t_oncenap.sh — while one shipper of `vigild once` uploads a large file,
# the idle shippers do not poll the queue: they nap 1 s, woken when the last
# claimed file is released (daemon/worker.c).  A 192 MiB random file goes up
# with `vigild once`; the counter queue_scans (every look of a shipper into
# the queue) must stay within a few per shipper and second of the upload.
# Before, each of the 15 idle shippers looked every 50 ms: ~300 scans a
# second of upload.
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
mkdir -p "$D"
F=$D/big.bin
head -c 192M /dev/urandom >"$F"

counter() { vigild_counter "$S" "$1"; }

t0=$(date +%s%N)
vigild_once phone1 "$D"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
scans=$(counter queue_scans)
# 16 shippers (SHIP_WORKERS), each at most one look per second of the run,
# plus their looks at the start and after each of the two ships
bound=$((16 * (ms / 1000 + 4)))
note "vigild once: $ms ms, queue_scans $scans (bound $bound)"
[ "$(counter shipped_whole)" = 2 ] || fail "the file and its directory not shipped whole"
[ "$scans" -gt 0 ] || fail "queue_scans not counted"
[ "$scans" -le "$bound" ] || fail "idle shippers scanned the queue $scans times in $ms ms"
same_file phone1 "$F" "$F"
echo ok
