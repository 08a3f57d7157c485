#!/usr/bin/env bash
# Demo: installs what is missing, builds, runs one cassandra-agent against a simulated
# Cassandra node (fake nodetool on a 6-node, 2-DC cluster state, dbusmock systemd, CQL
# responder), then prints `cassandra-agentctl status`. Everything lives in a temp dir and
# every process it started is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash tests/deps.sh
builddir=${BUILDDIR:-build}
[ -d "$builddir" ] || meson setup "$builddir" >/dev/null
meson compile -C "$builddir" >/dev/null

exec /usr/bin/python3 - "$root" "$builddir" <<'PY'
import os, subprocess, sys, time
root, builddir = sys.argv[1], os.path.abspath(sys.argv[2])
os.environ["PROJECT_ROOT"] = root
os.environ["BUILD_ROOT"] = builddir
sys.path.insert(0, os.path.join(root, "tests", "integration"))
from harness import Env, wait_for

env = Env()
try:
    env.start_agent()
    print("cassandra-agent is up (READY=1); simulated node 10.0.1.11 of a 6-node, 2-DC cluster")
    wait_for(lambda: (lambda s: len(s["ring"]) == 6 and s["cassandra"]["version"] and s["cassandra"]["cql_probe_ok"])(env.status()), 15, "first probes")
    print("\nA peer goes down in the simulated cluster...")
    def down(st):
        for n in st["nodes"]:
            if n["address"] == "10.0.2.22":
                n["status"] = "D"
    env.edit_state(down)
    wait_for(lambda: env.conditions("PEER_DOWN"), 10, "PEER_DOWN")
    print("\n$ cassandra-agentctl status")
    print(env.ctl("status", json_out=False).stdout)
    print("$ cassandra-agentctl events")
    print(env.ctl("events", json_out=False).stdout)
finally:
    env.close()
PY
