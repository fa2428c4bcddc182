# t_putbatch.sh — a first backup of many small files goes up in batched
# puts (docs/protocol.md "Batched puts"): every file one version with its
# bytes, many versions per index transaction (index.db meta commit_groups
# / commit_versions), the device's counters right per file; with the state
# directory lost, the same files sent again as new paths are adopted by
# the server (no new version, no new group of versions).
. "$(dirname "$0")/lib.sh"

server_start
enroll_pair phone1
D=$T/data
S=$T/state-phone1
N=300
python3 - "$D" "$N" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(11)
for d in range(3):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
for i in range(n):
    with open(f"{root}/d{i % 3}/f{i:03}", "wb") as f:
        f.write(os.urandom(random.randrange(0, 12000)))
with open(f"{root}/big", "wb") as f:      # above the batch limit: one PUT
    f.write(os.urandom(40000))
PY
meta() { sqlite3 "$T/srv/index.db" "SELECT coalesce((SELECT value FROM meta WHERE key='$1'), 0)"; }
counter() { vigild_counter "$S" "$1"; }

note "first backup of $N small files"
vigild_once phone1 "$D"
v=$(meta commit_versions)
g=$(meta commit_groups)
note "$v versions in $g index transactions"
[ "$v" -ge $((N + 1)) ] || fail "$v versions committed for $N files and a big one"
[ $((v / g)) -ge 10 ] || fail "only $((v / g)) versions per transaction"
[ "$(counter shipped_whole)" -ge $((N + 1)) ] || fail "shipped_whole $(counter shipped_whole)"
bytes=$(du -cb "$D"/d*/f* "$D/big" | tail -1 | cut -f1)
[ "$(counter bytes_sent)" -ge "$bytes" ] || fail "bytes_sent $(counter bytes_sent) < $bytes"
vigil ls "phone1:$D" --recursive --json | jqe "[.[] | select(.type == \"file\")] | length == $((N + 1))" \
	>/dev/null || fail "not every file is listed"
for f in d0/f000 d1/f151 d2/f299 big; do same_file phone1 "$D/$f" "$D/$f"; done
vigil log "phone1:$D/d1/f151" --json | jqe 'length == 1' >/dev/null || fail "more than one version"

note "state directory lost: the server adopts what it has"
rm -rf "$S"
vigild_once phone1 "$D"
[ "$(meta commit_versions)" = "$v" ] || fail "$(($(meta commit_versions) - v)) new versions"
[ "$(counter adopted)" -ge $((N + 1)) ] || fail "adopted only $(counter adopted)"
[ "$(counter shipped_whole)" = 0 ] || fail "shipped_whole $(counter shipped_whole) after adoption"
vigil log "phone1:$D/d2/f299" --json | jqe 'length == 1' >/dev/null || fail "a second version"
echo ok
