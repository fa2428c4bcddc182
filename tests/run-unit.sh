#!/bin/bash
# Runs every cmocka unit test binary given, UNIT_JOBS at a time (the
# number of CPUs unless set; tests/pool.sh prints each one's output whole,
# with its time); prints the failed ones and one summary line.
# Each binary runs with a timeout so a hang fails instead of stalling CI
# (UNIT_TIMEOUT seconds, 300 unless set: tests/arm64/run-unit.sh gives
# qemu-user more).  The longest start first (FIRST: test_tracker_bpf
# loads the tracker 33 times and mostly waits).
. "$(dirname "$0")/pool.sh"
FIRST="test_tracker_bpf test_content test_retain test_zerofill test_textindex test_store test_atport test_modem_at"
SERIAL=""
pool_run "${UNIT_JOBS:-$(nproc)}" "${UNIT_TIMEOUT:-300}" -- "$@"
[ -n "$pool_failures" ] && echo "failed:$pool_failures"
echo "unit: $pool_passed passed, $pool_failed failed"
[ "$pool_failed" = 0 ]
