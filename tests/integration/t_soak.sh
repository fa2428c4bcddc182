# t_soak.sh — the short soak in make test (tests/soak/soak.sh; `make soak`
# is the long one), also run under ASan+UBSan by `make test-asan` (BIN=):
# 5 crash rounds (kill -9 of vigild or vigil-server during a stream of edits
# over 200 files, a sample of each round's versions verified), a
# network-fault phase through the cutting proxy (an 8 MiB file through
# connections cut after <= 4 MiB), then the server's latest tree equals the
# device's byte for byte (`vigil get` of the whole tree, diff -r).  The seed
# is printed first; SEED=N repeats a run's choices.  The disk-full phase
# (at least 30 s: vigild's first retry) is left to `make soak`; t_enospc.sh
# covers a full store here.
export ROUNDS=${ROUNDS:-5} NFILES=${NFILES:-200} RATE=${RATE:-5} SAMPLE=${SAMPLE:-8}
export ROUND_MIN=${ROUND_MIN:-1} ROUND_MAX=${ROUND_MAX:-3} NET_S=${NET_S:-5} BIG_MB=${BIG_MB:-8}
export DISK=${DISK:-0} FS_MB=${FS_MB:-256} FINAL_ALL=${FINAL_ALL:-0}
exec bash "$(dirname "$0")/../soak/soak.sh"
