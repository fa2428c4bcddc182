#!/bin/bash
# t_upload_expire.sh — an abandoned resumable upload is collected by a
# running server (issue 10, finding 1.6): vigild killed mid-upload leaves
# an upload state and its chunks; with the expiry shortened to 4 s
# (VIGIL_UPLOAD_EXPIRE_S, a test hook) the state goes and the packs give the
# space back; the next vigild run uploads the file from the start and the
# server's copy equals it.
. "$(dirname "$0")/lib.sh"

export VIGIL_UPLOAD_EXPIRE_S=4
server_start
enroll_pair phone1
D=$T/data
mkdir -p "$D"
head -c 80M /dev/urandom >"$D/big.bin"

packs_kb() { du -sk "$T/srv/store/packs" | cut -f1; }
states() { find "$T/srv/store/uploads" -type f | wc -l; }
base=$(packs_kb)

note "kill -9 vigild mid-upload"
vigild_cut phone1 "$D" 30000
wait_for 20 "the upload state" sh -c "[ \$(find '$T/srv/store/uploads' -type f | wc -l) -ge 1 ]"
held=$(packs_kb)
[ "$held" -ge $((base + 24000)) ] || fail "only $((held - base)) KB held by the abandoned upload"

note "expired: state removed, space given back"
wait_for 60 "the upload state to expire" sh -c "[ \$(find '$T/srv/store/uploads' -type f | wc -l) = 0 ]"
wait_for 20 "the packs to shrink" sh -c "[ \$(du -sk '$T/srv/store/packs' | cut -f1) -lt $((base + 2048)) ]"
[ "$(states)" = 0 ] || fail "upload state left"
kill -0 "$SERVER_PID" || fail "server died"

note "the next run uploads the whole file again"
vigild_once phone1 "$D"
same_file phone1 "$D/big.bin" "$D/big.bin"
[ "$(packs_kb)" -lt $((base + 84000)) ] || fail "packs hold $(( $(packs_kb) - base )) KB for an 80 MB file"
echo "t_upload_expire: ok (held $((held - base)) KB, then $(( $(packs_kb) - base )) KB for the file)"
