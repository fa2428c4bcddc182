#!/bin/sh
# t_flags.sh — `--help` and the man pages name the same long flags
# (issue 13: "--help and the man pages agree").
#   vigil        the global flags (`vigil --help`) are those of SYNOPSIS and
#                DESCRIPTION; each command's (`vigil CMD --help`) are those
#                of its `.It Cm CMD` item in COMMANDS; the commands are the
#                same on both sides; every flag named elsewhere in the page
#                (EXAMPLES, JSON OUTPUT ...) is one some --help names.
#   vigild, vigil-server, vigil-simfs
#                one --help each (vigild check has its own): the flags it
#                names are the flags the whole page names, and the commands
#                its usage lines list are the page's `.It Cm` items.
#   vigil.conf   every flag it names, and every key of its vigild and
#                vigil-server key lists, is a flag of that program.
# Long flags only: a "--name" in --help's text, an `Fl -name` in the mdoc
# source (tests/man/mdocflags.awk); --help itself is left out on both
# sides (every program takes it).  Both sides are read from what is built
# and written now, so a flag added to one side only fails here.
# BIN (default build/bin) and MAN (default man) may point elsewhere.
set -u
export LC_ALL=C   # one collation for sort and comm
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
MAN=${MAN:-$ROOT/man}
AWK="$ROOT/tests/man/mdocflags.awk"
T=$(mktemp -d /tmp/t_flags.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
fails=0

fail() { echo "t_flags: $*"; fails=$((fails + 1)); }

# The long flags a --help prints, one a line, sorted.  A --help that
# exits non-zero or prints nothing on stdout is a failure of its own.
help_flags() {
	if ! "$@" --help >"$T/help" 2>"$T/help.err" || [ ! -s "$T/help" ]; then
		fail "'$* --help' did not print its usage on stdout with exit 0"
		return
	fi
	grep -oE -- '--[a-z][a-z0-9-]*' "$T/help" | grep -v -- '-$' |
		grep -vx -- '--help' | sort -u
}

# The flags page $1 names in scope $2 (an ERE on the scope column).
man_flags() {
	awk -f "$AWK" "$1" | awk -v s="^($2)\$" '$1 != "command" && $1 ~ s { print $2 }' |
		grep -vx -- '--help' | sort -u
}

# compare WHAT HELPFILE MANFILE: equal sets, or one line per difference.
compare() {
	only_help=$(comm -23 "$2" "$3" | paste -sd' ' -)
	only_man=$(comm -13 "$2" "$3" | paste -sd' ' -)
	[ -n "$only_help" ] && fail "$1: in --help, not in the man page: $only_help"
	[ -n "$only_man" ] && fail "$1: in the man page, not in --help: $only_man"
	[ -z "$only_help$only_man" ] && echo "ok  $1 ($(wc -l <"$2") flags)"
}

# subset WHAT FILE OFFILE: every line of FILE is in OFFILE.
subset() {
	extra=$(comm -23 "$2" "$3" | paste -sd' ' -)
	if [ -n "$extra" ]; then
		fail "$1: names flags no --help has: $extra"
	else
		echo "ok  $1 ($(wc -l <"$2") flags, all real)"
	fi
}

# --- vigil(1): per command
page=$MAN/vigil.1
help_flags "$BIN/vigil" >"$T/h.main"
man_flags "$page" main >"$T/m.main"
compare "vigil" "$T/h.main" "$T/m.main"
cat "$T/h.main" >"$T/h.all"
"$BIN/vigil" --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { on = 0 }
	on { print $1 }' | sort -u >"$T/h.cmds"
awk -f "$AWK" "$page" | awk '$1 == "command" { print $2 }' | sort -u >"$T/m.cmds"
[ -s "$T/h.cmds" ] || fail "vigil --help lists no commands"
compare "vigil: the commands" "$T/h.cmds" "$T/m.cmds" | sed 's/flags)$/commands)/'
for c in $(cat "$T/h.cmds"); do
	help_flags "$BIN/vigil" "$c" >"$T/h.$c"
	man_flags "$page" "cmd:$c" >"$T/m.$c"
	compare "vigil $c" "$T/h.$c" "$T/m.$c"
	cat "$T/h.$c" >>"$T/h.all"
done
sort -u -o "$T/h.all" "$T/h.all"
man_flags "$page" other >"$T/m.other"
subset "vigil.1 outside COMMANDS" "$T/m.other" "$T/h.all"

# --- the programs with one --help: the whole page.  $1 page, $2 program,
# then the extra --help of its commands that have their own.
whole() {
	page=$1 prog=$2
	shift 2
	help_flags "$BIN/$prog" >"$T/h.$prog"
	for c in "$@"; do
		help_flags "$BIN/$prog" "$c" >>"$T/h.$prog"
	done
	sort -u -o "$T/h.$prog" "$T/h.$prog"
	man_flags "$page" '.*' >"$T/m.$prog"
	compare "$prog" "$T/h.$prog" "$T/m.$prog"
}
whole "$MAN/vigild.8" vigild check
whole "$MAN/vigil-server.8" vigil-server
whole "$MAN/vigil-simfs.8" vigil-simfs

# The commands of vigild and vigil-server: the first word after the
# program's name on each usage line.
for prog in vigild vigil-server; do
	"$BIN/$prog" --help | sed -n "s/^\(usage:\)\{0,1\} *$prog  *\([a-z][a-z-]*\).*/\2/p" |
		sort -u >"$T/h.cmds.$prog"
	awk -f "$AWK" "$MAN/$prog.8" | awk '$1 == "command" { print $2 }' |
		sort -u >"$T/m.cmds.$prog"
	[ -s "$T/h.cmds.$prog" ] || fail "$prog --help lists no commands"
	compare "$prog: the commands" "$T/h.cmds.$prog" "$T/m.cmds.$prog" |
		sed 's/flags)$/commands)/'
done

# --- vigil.conf(5): flags and keys that exist
page=$MAN/vigil.conf.5
sort -u "$T/h.vigild" "$T/h.vigil-server" >"$T/h.conf"
man_flags "$page" '.*' >"$T/m.conf"
subset "vigil.conf.5" "$T/m.conf" "$T/h.conf"
for prog in vigild vigil-server; do
	# the `.It Li KEY` items of the subsection `.Ss PROG`
	awk -v p="$prog" '/^\.S[sh] / { on = ($0 == ".Ss " p); next }
		on && /^\.It Li / { print "--" $3 }' "$page" | sort -u >"$T/k.$prog"
	[ -s "$T/k.$prog" ] || fail "vigil.conf.5 lists no keys of $prog"
	subset "vigil.conf.5: the keys of $prog" "$T/k.$prog" "$T/h.$prog"
done

if [ "$fails" != 0 ]; then
	echo "t_flags: $fails difference(s) between --help and man/: a flag goes into" \
		"its program's usage text and its man page together (docs/hacking.md)" >&2
	exit 1
fi
echo "t_flags: --help and man/ agree"
