#!/usr/bin/python3
"""The demo of SPEC section 11: a simulated 3-rack cluster of 9 real cassandra-agents (fake nodetool
on one shared cluster state, dbusmock systemd and logind per node, the reference controller). It
rolls an OS patch rack by rack, rotates certificates through the three phases, shows snapshots
taken and pruned, then prints the timeline per rack and the final `cassandra-agentctl status` of
one node. Run through tests/demo.sh (installs, builds, then runs this)."""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "sim"))
import check_timeline  # noqa: E402
from sim import Sim, wait_for  # noqa: E402

FINALS = ("COMMAND_STATUS_SUCCEEDED", "COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED")


def pem(path):
    with open(path) as f:
        return f.read()


def push_all(sim, make_cmd, what, timeout=60):
    """Pushes one command per agent connection and waits for every final status."""
    conns = sim.controller.connections()
    ids = []
    for c in conns:
        cid = "%s-%s" % (what, c["conn"])
        sim.controller.push(make_cmd(cid), conn=c["conn"])
        ids.append(cid)
    results = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(results) < len(ids):
        for cid in ids:
            recs = [r for r in sim.controller.records("command_update", {"id": cid})
                    if r["command_update"].get("status") in FINALS]
            if recs:
                results[cid] = recs[-1]["command_update"]
        time.sleep(0.3)
    return results


def main():
    t0 = time.monotonic()
    # Snapshots every 4 s kept 8 s, so the demo shows both taking and pruning.
    sim = Sim(racks=3, nodes_per_rack=3, reboot_seconds=3.0, quiet=True,
              snapshots="{ interval: 4s, retention: 8s, tag_prefix: agent, min_free_disk: 1% }")
    rc = 1
    try:
        print("== starting 9 agents in 3 racks (simulated Cassandra 4.1.8), the controller, buses")
        sim.start()
        sim.wait_connected()
        print("   all agents connected and reporting (%.0f s)" % (time.monotonic() - t0))

        print("\n== rolling OS patch: reboot-required on every node, one rack at a time")
        res = sim.rolling_patch(timeout=300)
        print("   %s in %.1f s" % (res["reason"], res["wall_seconds"]))

        print("\n== certificate rotation: ADD_TRUST, SWITCH_IDENTITY, REMOVE_TRUST on every node")
        certs = sim.certs
        phases = [
            ("ROTATION_PHASE_ADD_TRUST", lambda cid: {"id": cid, "rotate_certificates": {
                "phase": "ROTATION_PHASE_ADD_TRUST", "ca_pem": [pem(os.path.join(certs, "ca.pem")),
                                                                pem(os.path.join(certs, "ca2.pem"))]}}),
            ("ROTATION_PHASE_SWITCH_IDENTITY", lambda cid: {"id": cid, "rotate_certificates": {
                "phase": "ROTATION_PHASE_SWITCH_IDENTITY", "cert_chain_pem": pem(os.path.join(certs, "node2.pem")),
                "key_pem": pem(os.path.join(certs, "node2.key"))}}),
            ("ROTATION_PHASE_REMOVE_TRUST", lambda cid: {"id": cid, "rotate_certificates": {
                "phase": "ROTATION_PHASE_REMOVE_TRUST", "ca_pem": [pem(os.path.join(certs, "ca2.pem"))]}}),
        ]
        for name, make in phases:
            results = push_all(sim, make, name.lower().replace("rotation_phase_", ""))
            ok = sum(1 for u in results.values() if u["status"] == "COMMAND_STATUS_SUCCEEDED")
            sample = next(iter(results.values()), {})
            print("   %-32s %d/%d succeeded  (%s)" % (name, ok, len(sim.nodes), sample.get("message", "no answer")))

        print("\n== snapshots: every 4 s, kept 8 s; a node's list now")
        node = sim.nodes[0]
        r = node.agentctl("snapshots", json_out=False)
        print(r.stdout.rstrip() if r.returncode == 0 else r.stderr)
        taken = cleared = 0
        for n in sim.nodes:
            if os.path.exists(n.calls):
                with open(n.calls) as f:
                    for line in f:
                        w = line.split()
                        taken += len(w) > 2 and w[2] == "snapshot"
                        cleared += len(w) > 2 and w[2] == "clearsnapshot"
        print("   across the cluster: %d snapshots taken, %d pruned" % (taken, cleared))

        time.sleep(0.5)
        sim.finish(res["reason"], wall_seconds=round(res["wall_seconds"], 3))
        events = check_timeline.load(sim.timeline_path)
        print("\n== timeline (out of service per node, rack by rack)")
        print(check_timeline.render(events))
        violations = check_timeline.check(events)
        print(check_timeline.report(violations))

        print("\n$ cassandra-agentctl status   # %s" % node.address)
        r = node.agentctl("status", json_out=False)
        print(r.stdout if r.returncode == 0 else "(rc %d) %s" % (r.returncode, r.stderr))
        print("demo finished in %.0f s" % (time.monotonic() - t0))
        rc = 0 if res["ok"] and not violations else 1
    finally:
        sim.stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
