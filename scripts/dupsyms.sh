#!/bin/sh
# dupsyms.sh LIB.a... — fails, naming the symbol and the libraries, when two
# of vigil's static libraries define the same global function or variable.
# Every program links all of them, and the linker takes the first archive
# member that defines a name without a word: vigild once called the
# server's check_main for `vigild check` and crashed.
[ $# -gt 0 ] || { echo "usage: dupsyms.sh LIB.a..." >&2; exit 2; }
dups=$(for lib in "$@"; do
	nm -g --defined-only "$lib" 2>/dev/null |
		awk -v lib="$lib" 'NF == 3 && $2 ~ /^[TDBRV]$/ { print $3, lib }'
done | sort | awk '$1 == prev { print prevline; print } { prev = $1; prevline = $0 }' | sort -u)
if [ -n "$dups" ]; then
	printf '%s\n' "$dups" | sed 's/^/dupsyms: defined twice: /'
	echo "dupsyms: rename one of each (a module prefix)" >&2
	exit 1
fi
echo "dupsyms: no global defined twice in $# libraries"
