# pool.sh — runs tests JOBS at a time for tests/run-unit.sh and
# tests/integration/run-all.sh (bash; sourced).  Each test's output goes to
# a file of its own and is printed whole when the test ends, under its
# "== NAME" line and over its "== NAME: passed in N s" (or "FAILED after")
# line, so concurrent tests never interleave.  The tests named in FIRST
# (the longest) start first, in that order, and the others fill the slots
# beside them; the tests named in SERIAL come last, each alone once
# nothing else runs.  Two runners at once (make test-asan) print under one
# lock when POOL_PRINT_LOCK names the same file for both.
#
#   pool_run JOBS LIMIT CMD... -- TEST...
# runs `timeout LIMIT CMD... TEST` for each TEST (at most JOBS at once),
# sets pool_passed, pool_failed and pool_failures (the failed tests'
# names), and returns 0 when every test passed.

pool_one() { # NAME LOG LIMIT CMD...: run one test into LOG, print it whole
	local name=$1 log=$2 limit=$3 start rc=0 el
	shift 3
	start=$(date +%s)
	timeout "$limit" "$@" >"$log" 2>&1 </dev/null || rc=$?
	el=$(( $(date +%s) - start ))
	{
		flock 9
		echo "== $name"
		cat "$log"
		if [ "$rc" = 0 ]; then
			echo "== $name: passed in $el s"
		else
			# timeout(1) says 124 when LIMIT ran out
			echo "== $name: FAILED after $el s (exit $rc$([ "$rc" = 124 ] && echo ", past the $limit s limit"))"
		fi
	} 9>>"${POOL_PRINT_LOCK:-$pool_dir/print.lock}"
	echo "$rc" >"$log.rc"
}

pool_run() {
	local jobs=$1 limit=$2 cmd=() t name i=0 serial
	shift 2
	while [ "$1" != -- ]; do cmd+=("$1"); shift; done
	shift
	local first=() rest=() alone=() f
	for f in $FIRST; do
		for t in "$@"; do [ "${t##*/}" = "$f" ] && first+=("$t"); done
	done
	for t in "$@"; do
		case " $FIRST " in *" ${t##*/} "*) continue ;; esac
		case " $SERIAL " in *" ${t##*/} "*) alone+=("$t") ;; *) rest+=("$t") ;; esac
	done
	set -- "${first[@]}" "${rest[@]}" "${alone[@]}"
	pool_dir=$(mktemp -d /tmp/vigil-pool.XXXXXX) || return 1
	pool_passed=0 pool_failed=0 pool_failures=""
	local names=()
	for t in "$@"; do
		name=${t##*/}
		serial=0
		case " $SERIAL " in *" $name "*) serial=1 ;; esac
		if [ "$serial" = 1 ] || [ "$jobs" -le 1 ]; then
			wait
			pool_one "$name" "$pool_dir/$i.log" "$limit" "${cmd[@]}" "$t"
		else
			while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
				wait -n
			done
			pool_one "$name" "$pool_dir/$i.log" "$limit" "${cmd[@]}" "$t" &
		fi
		names+=("$name")
		i=$((i + 1))
	done
	wait
	for i in "${!names[@]}"; do
		if [ "$(cat "$pool_dir/$i.log.rc" 2>/dev/null)" = 0 ]; then
			pool_passed=$((pool_passed + 1))
		else
			pool_failed=$((pool_failed + 1))
			pool_failures="$pool_failures ${names[$i]}"
		fi
	done
	rm -rf "$pool_dir"
	[ "$pool_failed" = 0 ]
}
