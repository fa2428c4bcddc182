#!/bin/sh
# Runs every integration test (tests/integration/t_*.sh) with a time limit;
# prints each one's time and one summary line.
cd "$(dirname "$0")"
passed=0 failed=0 failures=""
for t in t_*.sh; do
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
echo "integration: $passed passed, $failed failed"
[ "$failed" = 0 ]
