#!/usr/bin/env bash
# Demo (SPEC section 11): installs what is missing, builds, then runs a simulated 3-rack cluster
# of 9 real cassandra-agents: a rolling OS patch rack by rack, a certificate rotation through
# three phases, snapshots taken and pruned, a timeline per rack and the final
# `cassandra-agentctl status` of one node. Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
builddir=${BUILDDIR:-build}
[ -d "$builddir" ] || meson setup "$builddir" >/dev/null
meson compile -C "$builddir" >/dev/null
PROJECT_ROOT=$PWD BUILD_ROOT=$PWD/$builddir exec /usr/bin/python3 tests/demo.py
