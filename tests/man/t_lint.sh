#!/bin/sh
# t_lint.sh — `mandoc -Tlint -Wstyle` is clean on every page in man/.
# -Wstyle, the strictest level, rather than -Wwarning: it also catches what
# renders badly (a delimiter glued to a word, a missing comma in a list of
# references, sections out of order).  One of its messages is left out:
# "referenced manual not found" (and the "outdated mandoc.db" notes with
# it) looks each .Xr up in the manual database of the machine it runs on,
# so its result depends on what that machine has installed (our own pages
# are not installed when the test runs), not on the page.
# MAN (default man) may point elsewhere.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN=${MAN:-$ROOT/man}

if ! command -v mandoc >/dev/null; then
	echo "t_lint: mandoc is not installed (scripts/install-deps.sh installs it)" >&2
	exit 1
fi
pages=$(ls "$MAN"/*.[1-8] 2>/dev/null)
if [ -z "$pages" ]; then
	echo "t_lint: no pages in $MAN" >&2
	exit 1
fi
# mandoc exits non-zero for any message, the ignored ones included: the
# messages decide.  A page mandoc cannot parse at all says so as an ERROR
# or UNSUPP line, which is kept.
out=$(mandoc -Tlint -Wstyle $pages 2>&1 |
	grep -v -e 'STYLE: referenced manual not found' -e 'outdated mandoc.db')
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	echo "t_lint: mandoc -Tlint -Wstyle is not clean" >&2
	exit 1
fi
echo "t_lint: $(echo "$pages" | wc -l) pages clean (mandoc -Tlint -Wstyle)"
