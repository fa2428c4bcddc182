#!/bin/sh
# Runs every integration test (tests/integration/t_*.sh) with a time limit;
# prints one summary line.
cd "$(dirname "$0")"
passed=0 failed=0 failures=""
for t in t_*.sh; do
	echo "== $t"
	if timeout 900 bash "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $t"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "integration: $passed passed, $failed failed"
[ "$failed" = 0 ]
