#!/bin/bash
# bench/sweep_stress.sh — tests/integration/t_sweep_stress.sh for minutes
# instead of seconds: the sweeper forced to run back to back while uploads
# reusing old chunks, version drops, gets and mount reads go on, then every
# live version read back byte-exact.  STRESS_S (default 300) seconds.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STRESS_S=${STRESS_S:-300} exec bash "$ROOT/tests/integration/t_sweep_stress.sh"
