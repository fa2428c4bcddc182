#!/bin/sh
# t_kconfig.sh — runs kconfig.sh (kconfig/check on sample configs) under run-all.sh.
exec sh "$(dirname "$0")/kconfig.sh"
