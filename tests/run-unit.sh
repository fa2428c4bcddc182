#!/bin/sh
# Runs every cmocka unit test binary given; prints one summary line.
# Each binary runs with a timeout so a hang fails instead of stalling CI.
passed=0 failed=0 failures=""
for t in "$@"; do
	echo "== $t"
	if timeout 300 "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $(basename "$t")"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
