#!/bin/sh
# bench/report.sh — formats bench/run.sh's results: a table per scenario and
# the ratios vigil/rsync (wire bytes), vigil/rdiff (vigil wire vs rdiff
# sig+delta), vigil/restic (store growth).
# Usage: report.sh RESULTS NETNS SIZE_MIB DB_MIB
RESULTS=$1 NETNS=$2 SIZE=$3 DB=$4
ROOT=$(cd "$(dirname "$0")/.." && pwd)
echo "vigil bench — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(uname -sr), $(nproc) CPUs"
if [ "$NETNS" = 1 ]; then
	echo "wire = IP bytes on lo in a private network namespace (both directions, headers and TLS included)"
else
	echo "wire = IP bytes on lo (SHARED with other traffic on this machine: upper bounds)"
fi
echo "app = bytes the tool itself reports (rsync sent+received; rdiff signature+delta)"
echo "store = growth of the backup store (du -sb) for the edit; cpu = client + server seconds"
echo "ovw: ${SIZE} MiB random file, 4 KiB overwritten in the middle; ins: 100 bytes inserted at offset 5000;"
echo "sqlite: ${DB} MiB SQLite database, 100 rows updated + 100 rows inserted"
awk -F'|' '
function h(b) {
	if (b !~ /^[0-9]+$/) return b
	if (b >= 1048576) return sprintf("%.2f MiB", b / 1048576)
	if (b >= 1024) return sprintf("%.1f KiB", b / 1024)
	return sprintf("%d B", b)
}
function r(a, b) {
	if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) return "-"
	return sprintf("%.3gx", a / b)
}
{
	s = $1; t = $2
	if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
	rows[s] = rows[s] sprintf("  %-7s %12s %12s %16s %8s %8s  %s\n", t, h($3), h($4), h($5), $6, $7, $8)
	wire[s, t] = $3; app[s, t] = $4; store[s, t] = $5; wall[s, t] = $6; cpux[s, t] = $7
}
END {
	for (i = 1; i <= ns; i++) {
		s = order[i]
		printf "\n[%s]\n  %-7s %12s %12s %16s %8s %8s  %s\n", s, "tool", "wire", "app", "store", "wall s", "cpu s", "note"
		printf "%s", rows[s]
		printf "  ratios: vigil/rsync wire %s (vigil/rsync-tmp %s); vigil wire / rdiff sig+delta %s;\n",
			r(wire[s, "vigil"], wire[s, "rsync"]), r(wire[s, "vigil"], wire[s, "rsync-tmp"]),
			r(wire[s, "vigil"], app[s, "rdiff"])
		printf "          vigil/restic store %s; vigil/rsync wall %s, cpu %s\n",
			r(store[s, "vigil"], store[s, "restic"]), r(wall[s, "vigil"], wall[s, "rsync"]),
			r(cpux[s, "vigil"], cpux[s, "rsync"])
	}
}' "$RESULTS"
