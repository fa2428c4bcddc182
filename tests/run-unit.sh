#!/bin/sh
# Runs every cmocka unit test binary given; prints one summary line.
# Each binary runs with a timeout so a hang fails instead of stalling CI
# (UNIT_TIMEOUT seconds, 300 unless set: tests/arm64/run-unit.sh gives
# qemu-user more).
passed=0 failed=0 failures=""
for t in "$@"; do
	echo "== $t"
	if timeout "${UNIT_TIMEOUT:-300}" "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $(basename "$t")"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
