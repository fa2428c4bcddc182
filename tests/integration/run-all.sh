#!/bin/bash
# Runs every integration test (tests/integration/t_*.sh), or the ones named
# (run-all.sh t_check.sh t_sweep.sh ...), IT_JOBS at a time (4 unless set:
# most of a script's time is waiting on its programs, not computing), each
# with a time limit of 900 s; tests/pool.sh prints each one's output whole
# with its time; then the failed ones and one summary line (with
# VIGIL_TEST_ENCRYPT=1: on encrypted stores, lib.sh).
#
# The scripts in SERIAL run alone, nothing else beside them:
#   t_idle.sh   counts vigild's context switches over 40 s of nothing changing
#               (the bpf tracker sees every path operation on the machine)
# t_reconnect.sh adds an address to lo (a network change every vigild
# hears) but runs beside the others: no other script changes the network
# or counts vigild's attempts to connect, and t_idle.sh runs alone.
SERIAL="t_idle.sh"
# the longest start first; the short ones fill the slots beside them
FIRST="t_soak.sh t_tracker.sh t_offline.sh t_ranges.sh t_simfs.sh t_resume.sh t_reconnect.sh t_erase.sh t_sweep_stress.sh t_commands.sh"
cd "$(dirname "$0")" || exit 1
. ../pool.sh
[ $# -gt 0 ] || set -- t_*.sh
pool_run "${IT_JOBS:-4}" 900 bash -- "$@"
[ -n "$pool_failures" ] && echo "failed:$pool_failures"
echo "integration${VIGIL_TEST_ENCRYPT:+ (VIGIL_TEST_ENCRYPT=$VIGIL_TEST_ENCRYPT)}: $pool_passed passed, $pool_failed failed"
[ "$pool_failed" = 0 ]
