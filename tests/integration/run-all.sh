#!/bin/sh
# Runs every integration test (tests/integration/t_*.sh), or the ones named
# (run-all.sh t_check.sh t_sweep.sh ...), with a time limit; prints each
# one's time and one summary line (with VIGIL_TEST_ENCRYPT=1: on encrypted
# stores, lib.sh).
cd "$(dirname "$0")"
passed=0 failed=0 failures=""
[ $# -gt 0 ] || set -- t_*.sh
for t in "$@"; do
	echo "== $t"
	start=$(date +%s)
	if timeout 900 bash "$t"; then
		passed=$((passed + 1))
		echo "== $t: passed in $(( $(date +%s) - start )) s"
	else
		failed=$((failed + 1))
		failures="$failures $t"
		echo "== $t: FAILED after $(( $(date +%s) - start )) s"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "integration${VIGIL_TEST_ENCRYPT:+ (VIGIL_TEST_ENCRYPT=$VIGIL_TEST_ENCRYPT)}: $passed passed, $failed failed"
[ "$failed" = 0 ]
