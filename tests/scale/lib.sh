# lib.sh — what ceph.sh and pg.sh share (sourced, bash): the error exit,
# the clock, the "VERB DIR" arguments and the timed `down`.  The script
# sets NAME (for messages) and VERBS (its usage) first, and defines down().
die() { echo "$NAME: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
usage() { echo "usage: $NAME $VERBS DIR" >&2; exit 2; }
# scale_args VERB DIR: sets VERB, and D (DIR made absolute, no trailing '/')
scale_args() {
	[ $# = 2 ] || usage
	VERB=$1
	case $2 in /*) D=$2 ;; *) D=$PWD/$2 ;; esac
	D=${D%/}
}
timed_down() {
	local t0
	t0=$(now)
	down
	echo "$NAME: down in $(secs "$t0" "$(now)") s"
}
