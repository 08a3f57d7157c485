#!/usr/bin/python3
"""Simulation tests: a 3-rack x 3-node cluster of real cassandra-agents (tests/sim/sim.py).

    /usr/bin/python3 tests/sim/test_sim.py [-v] [TestClass[.test]]

  CheckerTest       check_timeline.py on hand-written timelines (no binaries needed)
  HarnessTest       the world without the agent's maintenance: 9 agents connect with their own
                    identities; the physics answers unit stop/start and a logind Reboot made by
                    hand over a node's bus (busctl / dbus-send)
  RollingPatchTest  every node gets a reboot-required sentinel; the rollout must finish with the
                    checker passing: one rack at a time, every node rebooted once, nothing left
  GuardTest         SPEC section 9 invariant 2: with a node of rack2 down, an agent of rack1 with a
                    sentinel never drains, whether the controller grants everything (grant-all) or
                    the grant arrives after the ring became unhealthy (a hand-sent LeaseGrant)

The maintenance tests need the agent's maintenance: when the agent answers `lease` with "not
implemented", they are skipped (SIM_REQUIRE_MAINTENANCE=1 makes that a failure). Directories are
temporary (KEEP_TMP=1 keeps them); every process is stopped by PID; every wait is bounded.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_timeline  # noqa: E402
import sim as simmod  # noqa: E402
from sim import Sim, read_state, set_node_fields, wait_for  # noqa: E402

BUSCTL_UNIT = os.path.join(simmod.DOUBLES, "busctl_unit.sh")
TMP = None


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="sim-test-")


def tearDownModule():
    if TMP and os.environ.get("KEEP_TMP") == "1":
        print("kept", TMP)
    elif TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def have_binaries():
    return os.access(simmod.agent_bin(), os.X_OK) and os.access(simmod.agentctl_bin(), os.X_OK)


class SimCase(unittest.TestCase):
    racks = 3
    nodes_per_rack = 3
    reboot_seconds = 3.0
    grant_all = False

    def setUp(self):
        if not have_binaries():
            self.skipTest("no agent binaries in $BUILD_ROOT")
        d = os.path.join(TMP, self.id().split(".")[-1])
        self.sim = Sim(racks=self.racks, nodes_per_rack=self.nodes_per_rack, reboot_seconds=self.reboot_seconds,
                       dir=d, grant_all=self.grant_all, keep=True, quiet=True)
        self.addCleanup(self.sim.stop)
        self.sim.start()
        self.sim.wait_connected(90)

    def require_maintenance(self):
        reply = self.sim.nodes[0].socket_request("lease")
        if "error" in reply and "not implemented" in reply["error"]:
            if os.environ.get("SIM_REQUIRE_MAINTENANCE") == "1":
                self.fail("the agent has no maintenance: %s" % reply["error"])
            self.skipTest("the agent has no maintenance yet: %s" % reply["error"])
        return reply

    def events(self):
        time.sleep(0.4)      # the watcher's last tick
        return check_timeline.load(self.sim.timeline_path)

    def calls(self, node, sub):
        try:
            with open(node.calls) as f:
                return [line for line in f if len(line.split()) > 2 and line.split()[2] == sub]
        except FileNotFoundError:
            return []

    def node_entry(self, address):
        return next(n for n in read_state(self.sim.state_path)["nodes"] if n["address"] == address)


# --- the checker alone ---------------------------------------------------------------------------

def _tl(*events):
    """A timeline of 2 racks x 2 nodes with the given (t, event, node, fields) tuples."""
    nodes = [{"node": a, "rack": r, "dc": "dc1"} for a, r in
             (("10.0.1.1", "rack1"), ("10.0.1.2", "rack1"), ("10.0.2.1", "rack2"), ("10.0.2.2", "rack2"))]
    out = [{"t": 0, "event": "sim_start", "node": None, "rack": None, "nodes": nodes, "grant_all": False}]
    for i, (t, ev, node, fields) in enumerate(events):
        rack = None if node is None else "rack" + node.split(".")[2]
        e = {"t": t, "event": ev, "node": node, "rack": rack, "_i": i + 1}
        e.update(fields)
        out.append(e)
    out.sort(key=lambda e: (e["t"], e.get("_i", 0)))
    return out


def _reboot(node, t0, t1, lease="L", rack=None):
    down = {"status": "D", "state": "N", "gossip": False, "binary": False, "drained": True, "out_of_service": True}
    up = {"status": "U", "state": "N", "gossip": True, "binary": True, "drained": False, "out_of_service": False}
    lid = lease + node
    return [(t0 - 50, "lease_granted", node, {"lease_id": lid, "epoch": 1}),
            (t0, "node_state", node, down), (t0 + 10, "reboot_requested", node, {}),
            (t0 + 20, "sentinel", node, {"present": False}),
            (t1, "rebooted", node, {}), (t1 + 1, "node_state", node, up),
            (t1 + 50, "lease_released", node, {"lease_id": lid, "epoch": 1, "success": True})]


END = (100000, "sim_end", None, {"controller": {"held": 0, "halted": False}, "sentinels": []})
ALL = ("10.0.1.1", "10.0.1.2", "10.0.2.1", "10.0.2.2")


class CheckerTest(unittest.TestCase):
    def test_rack_by_rack_passes_and_renders(self):
        ev = _tl(*(_reboot("10.0.1.1", 1000, 5000) + _reboot("10.0.1.2", 1200, 5200) +
                   _reboot("10.0.2.1", 8000, 12000) + _reboot("10.0.2.2", 8100, 12100) + [END]))
        self.assertEqual(check_timeline.check(ev), [])
        text = check_timeline.render(ev, width=50)
        lines = text.splitlines()
        self.assertIn("rack1", lines)
        row = next(line for line in lines if line.strip().startswith("10.0.2.1"))
        self.assertIn("D", row)
        self.assertIn("out 8.0-12.0s", row)

    def test_two_racks_out_at_once_is_a_violation(self):
        ev = _tl(*(_reboot("10.0.1.1", 1000, 5000) + _reboot("10.0.1.2", 1000, 5000) +
                   _reboot("10.0.2.1", 4000, 9000) + _reboot("10.0.2.2", 9500, 12000) + [END]))
        v = check_timeline.check(ev)
        self.assertTrue(any(x.startswith("out of service in two racks from +4.000s to +5.001s") for x in v), v)
        self.assertTrue(any("controller leases held in two racks" in x for x in v), v)
        self.assertFalse(any("expected" in x for x in v), v)

    def test_agent_phase_in_another_rack_is_maintenance(self):
        ev = _tl(*(_reboot("10.0.1.1", 1000, 5000) + _reboot("10.0.1.2", 1000, 5000) +
                   _reboot("10.0.2.1", 8000, 9000) + _reboot("10.0.2.2", 8000, 9000) +
                   [(5500, "lease_phase", "10.0.1.1", {"phase": "RECOVERING"}),
                    (7990, "lease_phase", "10.0.2.1", {"phase": "DRAINING"}),
                    (8005, "lease_phase", "10.0.1.1", {"phase": "IDLE"}),
                    (9500, "lease_phase", "10.0.2.1", {"phase": "IDLE"}), END]))
        v = check_timeline.check(ev)
        self.assertEqual(len(v), 1, v)
        self.assertIn("in maintenance in two racks from +7.990s to +8.005s", v[0])

    def test_a_drain_call_takes_the_node_out_before_the_state_shows_it(self):
        ev = _tl(*(_reboot("10.0.1.1", 1000, 5000) + _reboot("10.0.1.2", 1000, 5000) +
                   _reboot("10.0.2.1", 6000, 9000) + _reboot("10.0.2.2", 6000, 9000) +
                   [(4900, "nodetool", "10.0.2.1", {"subcommand": "drain", "args": []}), END]))
        v = check_timeline.check(ev)
        self.assertEqual(len(v), 2, v)
        self.assertTrue(v[0].startswith("out of service in two racks from +4.900s to +5.001s"), v)

    def test_second_reboot_missing_reboot_and_leftovers(self):
        ev = _tl(*(_reboot("10.0.1.1", 1000, 5000) + _reboot("10.0.1.1", 6000, 7000, lease="M") +
                   _reboot("10.0.1.2", 1000, 5000) + _reboot("10.0.2.1", 8000, 9000) +
                   [(9500, "sentinel", "10.0.2.2", {"present": True}),
                    (9600, "lease_phase", "10.0.2.2", {"phase": "STUCK"}),
                    (100000, "sim_end", None, {"controller": {"held": 1, "halted": True}, "sentinels": ["10.0.2.2"]})]))
        v = check_timeline.check(ev)
        text = "\n".join(v)
        self.assertIn("10.0.1.1 (rack1): 2 logind Reboot calls, expected 1", text)
        self.assertIn("10.0.2.2 (rack2): 0 completed reboots, expected 1", text)
        self.assertIn("10.0.2.2 (rack2) left in maintenance at the end: reboot-required sentinel still present; "
                      "agent lease phase STUCK", text)
        self.assertIn("controller still holds 1 lease(s)", text)
        self.assertIn("halted", text)
        self.assertEqual(check_timeline.check(ev, checks=("one-rack",)), [])

    def test_unfinished_run_and_cli(self):
        ev = _tl(*_reboot("10.0.1.1", 1000, 5000))
        self.assertIn("no sim_end event: the run did not finish", check_timeline.check(ev, checks=("clean-end",)))
        path = os.path.join(TMP, "cli.jsonl")
        with open(path, "w") as f:
            for e in _tl(*(_reboot("10.0.1.1", 1000, 5000) + _reboot("10.0.1.2", 1000, 5000) +
                           _reboot("10.0.2.1", 6000, 9000) + _reboot("10.0.2.2", 6000, 9000) + [END])):
                e.pop("_i", None)
                f.write(json.dumps(e) + "\n")
        py = "/usr/bin/python3"
        r = subprocess.run([py, os.path.join(HERE, "check_timeline.py"), path, "--render"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("timeline check: OK", r.stdout)
        r = subprocess.run([py, os.path.join(HERE, "check_timeline.py"), path, "--expect-reboots", "2"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("violation", r.stdout)
        with open(path, "a") as f:
            f.write("not json\n")
        r = subprocess.run([py, os.path.join(HERE, "check_timeline.py"), path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)


# --- the harness without maintenance -----------------------------------------------------------------

class HarnessTest(SimCase):
    def test_nine_agents_with_their_identities_and_hand_made_physics(self):
        sim = self.sim
        # no lease is ever answered: an agent with maintenance must not act on the sentinel below
        sim.controller.set_mode(manual=True)
        conns = sim.controller.connections()
        addrs = sorted(c["identity"]["address"] for c in conns)
        self.assertEqual(addrs, sorted(n.address for n in sim.nodes))
        for c in conns:
            ident = c["identity"]
            self.assertEqual(ident["cluster_name"], "sim-cluster")
            self.assertEqual(ident["rack"], sim.by_addr[ident["address"]].rack)
        table = sim.controller.leases()
        self.assertEqual(table["ring_problems"], [])
        self.assertEqual(table["cluster_name"], "sim-cluster")
        # every agent sees the 9-node ring UN
        st = sim.nodes[4].agentctl("status")
        self.assertEqual(len(st["ring"]), 9)
        self.assertEqual(st["node"]["address"], sim.nodes[4].address)

        # unit stop over the node's bus (as the agent would) -> the node is down and drained
        n = sim.node("10.0.2.2")
        subprocess.run(["bash", BUSCTL_UNIT, n.bus_address, "stop", "cassandra.service"], check=True,
                       capture_output=True, timeout=20)
        wait_for(lambda: self.node_entry(n.address)["status"] == "D", 5, "10.0.2.2 down")
        e = self.node_entry(n.address)
        self.assertEqual((e["gossip"], e["binary"], e["drained"]), (False, False, True))
        wait_for(lambda: n.cql_proc is None, 5, "the CQL responder stopped")  # stopped right after the state
        # other nodes see it down; the controller's gate says so too
        wait_for(lambda: any("sees 10.0.2.2 D" in p for p in sim.controller.leases()["ring_problems"]), 10,
                 "the ring problem at the controller")
        # unit start -> UN again after the start delay
        t0 = time.monotonic()
        subprocess.run(["dbus-send", "--bus=" + n.bus_address, "--print-reply", "--dest=org.freedesktop.systemd1",
                        "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager.StartUnit",
                        "string:cassandra.service", "string:replace"], check=True, capture_output=True, timeout=20)
        wait_for(lambda: self.node_entry(n.address)["status"] == "U", 5, "10.0.2.2 up")
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        e = self.node_entry(n.address)
        self.assertEqual((e["gossip"], e["binary"], e["drained"]), (True, True, False))
        wait_for(lambda: n.cql_proc is not None, 5, "CQL responder back")

        # logind Reboot over the bus -> agent killed, node down for the reboot time, then booted
        m = sim.node("10.0.3.1")
        sim.create_sentinel(m)
        old_pid = m.agent.pid
        with open(m.boot_id_file) as f:
            old_boot = f.read()
        t_reboot = time.monotonic()
        subprocess.run(["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.login1",
                        "/org/freedesktop/login1", "org.freedesktop.login1.Manager.Reboot", "boolean:false"],
                       check=True, capture_output=True, timeout=20,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=m.bus_address))
        wait_for(lambda: self.node_entry(m.address)["status"] == "D", 5, "10.0.3.1 down for the reboot")
        self.assertEqual(subprocess.run(["bash", BUSCTL_UNIT, m.bus_address, "state", "cassandra.service"],
                                        capture_output=True, text=True, timeout=20).stdout.strip(), "inactive")
        wait_for(lambda: m.agent.pid != old_pid and not m.rebooting, 15, "the reboot")
        self.assertGreaterEqual(time.monotonic() - t_reboot, self.reboot_seconds)
        self.assertFalse(os.path.exists(m.sentinel))
        with open(m.boot_id_file) as f:
            self.assertNotEqual(f.read(), old_boot)
        self.assertEqual(self.node_entry(m.address)["status"], "U")
        self.assertEqual(subprocess.run(["bash", BUSCTL_UNIT, m.bus_address, "state", "cassandra.service"],
                                        capture_output=True, text=True, timeout=20).stdout.strip(), "active")
        wait_for(lambda: m.agent_answers(), 10, "the restarted agent's socket")
        sim.wait_connected(30)
        newest = max((c for c in sim.controller.connections() if c["identity"].get("address") == m.address),
                     key=lambda c: c["conn"])
        self.assertGreater(newest["connected_at"], int(time.time() * 1000) - 1000 * (time.monotonic() - t_reboot))

        # the timeline has all of it, and the checker's rack invariant holds
        ev = self.events()
        kinds = [(e["event"], e["node"]) for e in ev]
        for k in [("unit", "10.0.2.2"), ("reboot_requested", "10.0.3.1"), ("agent_killed", "10.0.3.1"),
                  ("rebooting", "10.0.3.1"), ("rebooted", "10.0.3.1"), ("sentinel", "10.0.3.1")]:
            self.assertIn(k, kinds)
        self.assertEqual(sum(1 for e in ev if e["event"] == "agent_started" and e["node"] == "10.0.3.1"), 2)
        downs = [e for e in ev if e["event"] == "node_state" and e["node"] == "10.0.2.2"]
        self.assertEqual([d["out_of_service"] for d in downs], [False, True, False])
        self.assertEqual(check_timeline.check(ev, checks=("one-rack",)), [])
        self.assertEqual(sim.count("rebooted")["10.0.3.1"], 1)


# --- maintenance ---------------------------------------------------------------------------------------

class RollingPatchTest(SimCase):
    reboot_seconds = 3.0

    def test_rolling_patch_3x3_one_rack_at_a_time(self):
        self.require_maintenance()
        res = self.sim.rolling_patch(timeout=300)
        time.sleep(0.5)
        self.sim.finish(res["reason"])
        ev = self.events()
        picture = check_timeline.render(ev)
        self.assertTrue(res["ok"], "rolling patch: %s\n%s\n%s" % (res["reason"], res.get("diagnosis", ""), picture))
        v = check_timeline.check(ev)
        self.assertEqual(v, [], "%s\n%s" % (check_timeline.report(v), picture))
        # each rack's nodes were out together, racks one after the other
        grants = [e for e in ev if e["event"] == "lease_granted" and not e.get("repeat")]
        epochs = [e["epoch"] for e in grants]
        self.assertEqual(epochs, sorted(epochs))
        self.assertEqual(len(set(epochs)), len(self.sim.nodes))
        order = []
        for e in grants:
            if not order or order[-1] != e["rack"]:
                order.append(e["rack"])
        self.assertEqual(sorted(order), ["rack1", "rack2", "rack3"], order)
        table = self.sim.controller.leases()
        self.assertEqual(table["held"], 0)
        self.assertTrue(all(l["state"] == "released" for l in table["leases"]))
        for n in self.sim.nodes:
            self.assertEqual(len(self.calls(n, "drain")), 1, n.address)


class GuardTest(SimCase):
    grant_all = True

    def test_grant_all_and_a_peer_down_never_drains(self):
        self.require_maintenance()
        sim = self.sim
        self.assertTrue(sim.controller.leases()["grant_all"])
        set_node_fields(sim.state_path, "10.0.2.1", status="D")
        n = sim.node("10.0.1.1")
        wait_for(lambda: any(p["address"] == "10.0.2.1" and p.get("status") != "PEER_STATUS_UP"
                             for p in n.agentctl("ring").get("ring", [])), 10, "the agent seeing 10.0.2.1 down")
        sim.create_sentinel(n)
        end = time.monotonic() + 20
        lease = {}
        while time.monotonic() < end:
            self.assertEqual(self.calls(n, "drain"), [], "drained with 10.0.2.1 down")
            lease = n.agentctl("lease")
            time.sleep(0.5)
        self.assertEqual(self.calls(n, "drain"), [])
        self.assertNotIn(lease.get("phase"), ("DRAINING", "STOPPED", "PATCHING", "REBOOTING"), lease)
        self.assertTrue(any("10.0.2.1" in b for b in lease.get("blockers", [])), lease)
        self.assertEqual(self.node_entry("10.0.1.1")["drained"], False)
        self.assertEqual(check_timeline.check(self.events(), checks=("one-rack",)), [])

    def test_grant_arriving_after_the_ring_broke_never_drains(self):
        self.require_maintenance()
        sim = self.sim
        sim.controller.set_mode(manual=True, grant_all=False)
        n = sim.node("10.0.1.1")
        host_id = self.node_entry(n.address)["host_id"]
        t0 = int(time.time() * 1000)
        sim.create_sentinel(n)
        req = sim.controller.wait("lease_request", {}, timeout=30, since=t0)
        lease_id = req["lease_request"]["lease_id"]
        conn = next(c["conn"] for c in sim.controller.connections()
                    if (c.get("identity") or {}).get("host_id") == host_id)
        self.assertEqual(req["_conn"], conn)
        # the ring breaks while the request is pending; the agent notices
        set_node_fields(sim.state_path, "10.0.2.1", status="D")
        wait_for(lambda: any(p["address"] == "10.0.2.1" and p.get("status") != "PEER_STATUS_UP"
                             for p in n.agentctl("ring").get("ring", [])), 10, "the agent seeing 10.0.2.1 down")
        sim.controller.send({"lease_grant": {"lease_id": lease_id, "epoch": 4242}}, conn=conn)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            self.assertEqual(self.calls(n, "drain"), [], "drained after a grant with 10.0.2.1 down")
            time.sleep(0.5)
        lease = n.agentctl("lease")
        self.assertTrue(any("10.0.2.1" in b for b in lease.get("blockers", [])), lease)
        # the peer comes back: the held grant is used (proves the grant was accepted)
        set_node_fields(sim.state_path, "10.0.2.1", status="U")
        wait_for(lambda: self.calls(n, "drain"), 30, "the drain once the ring is UN again")
        self.assertEqual(check_timeline.check(self.events(), checks=("one-rack",)), [])


def main():
    started = time.monotonic()
    verbosity = 2 if "-v" in sys.argv else 1
    names = [a for a in sys.argv[1:] if not a.startswith("-")]
    loader = unittest.defaultTestLoader
    mod = sys.modules[__name__]
    suite = loader.loadTestsFromNames(names, mod) if names else loader.loadTestsFromModule(mod)
    res = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(res.failures) + len(res.errors)
    print("sim tests: %d run, %d passed, %d failed, %d skipped, %.1fs" % (
        res.testsRun, res.testsRun - failed - len(res.skipped), failed, len(res.skipped),
        time.monotonic() - started))
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
