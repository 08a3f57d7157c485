#!/usr/bin/python3
"""Integration tests of maintenance on one node: the real agent, the reference controller (leases
granted by the test through the control socket when the controller does not grant by itself), the
fake nodetool, and dbusmock's systemd and logind. The harness plays the reboot: it kills the agent,
clears the sentinel, changes the boot id and starts the agent again."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "controller"))
from client import Controller, make_certs  # noqa: E402
from harness import DOUBLES, Env, wait_for  # noqa: E402

CERTS = None


def setUpModule():
    global CERTS, CERTS_ROOT
    CERTS_ROOT = tempfile.mkdtemp(prefix="ca-certs-")
    CERTS = make_certs(os.path.join(CERTS_ROOT, "certs"))


def tearDownModule():
    shutil.rmtree(CERTS_ROOT, ignore_errors=True)


class Node(unittest.TestCase):
    patch_command = ""
    healthy_timeout = "20s"

    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)
        # The test plays the controller's lease decisions (manual mode): one node cannot make a
        # whole healthy ring for the reference controller's own rules.
        self.ctl = Controller(CERTS, os.path.join(self.env.dir, "record.jsonl"), os.path.join(self.env.dir, "c.sock"),
                              manual_leases=True)
        self.addCleanup(self.ctl.stop)
        self.sentinel = os.path.join(self.env.dir, "reboot-required")
        self.boot_id = os.path.join(self.env.dir, "boot_id")
        self.patch_log = os.path.join(self.env.dir, "patched.log")

    def start(self, patch_command=None, extra_maint=""):
        c = lambda n: os.path.join(CERTS, n)
        patch = patch_command if patch_command is not None else self.patch_command
        maint = ("maintenance: {{ reboot_required: {s}, boot_id_file: {b}, settle: 1s, healthy_timeout: {t}, "
                 "patch_command: [{p}]{x} }}").format(s=self.sentinel, b=self.boot_id, t=self.healthy_timeout,
                                                     p=patch, x=extra_maint)
        self.env.write_config(maintenance=maint, controller=dict(
            address="127.0.0.1:%d" % self.ctl.port, ca=c("ca.pem"), cert=c("agent.pem"), key=c("agent.key")),
            report_interval="1s")
        self.env.start_agent()
        self.ctl.wait("hello", timeout=10)

    def lease(self):
        return self.env.ctl("lease")

    def wait_phase(self, phase, timeout=20):
        try:
            return wait_for(lambda: (lambda l: l if l["phase"] == phase else None)(self.lease()), timeout,
                            "phase %s" % phase)
        except AssertionError as e:
            # The agent's log says why it did not get there (it goes with the temp dir).
            raise AssertionError("%s; now %s; agent log:\n%s" % (e, self.lease(), self.env.log()[-4000:])) from None

    def grant(self, epoch=7):
        """Grants the pending request unless the controller already did."""
        req = self.ctl.wait("lease_request", timeout=20)["lease_request"]
        time.sleep(0.5)
        if self.lease()["phase"] == "REQUESTED":
            self.ctl.send({"lease_grant": {"lease_id": req["lease_id"], "epoch": epoch}})
        return req

    def nodetool(self, *args):
        subprocess.run([os.path.join(DOUBLES, "fake_nodetool"), "--state", self.env.state, "--node", self.env.node]
                       + list(args), check=True, capture_output=True, timeout=10)

    def calls(self, sub):
        return self.env.nodetool_calls(sub)

    def reboot_calls(self):
        out = subprocess.run(["bash", os.path.join(DOUBLES, "busctl_unit.sh"), self.env.bus_address, "reboot-calls"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return int(out or 0)

    def simulate_reboot(self, clear_sentinel=True, come_back=True):
        """The machine reboots: everything dies, /run is empty, a new boot id, Cassandra starts at boot."""
        self.env.agent.kill()
        self.env.agent.wait()
        if clear_sentinel and os.path.exists(self.sentinel):
            os.unlink(self.sentinel)
        with open(self.boot_id, "w") as f:
            f.write(str(uuid.uuid4()) + "\n")
        if come_back:
            self.cassandra_comes_back()
        self.env.start_agent()

    def cassandra_comes_back(self):
        """Cassandra's unit starts and the node is UN, undrained, gossip and CQL on."""
        self.env.unit("start")
        self.nodetool("fake-set", "status=U", "drained=false", "gossip=true", "binary=true")


class RollingReboot(Node):
    def test_full_lease_flow_with_reboot(self):
        self.start()
        open(self.sentinel, "w").close()
        req = self.grant(epoch=7)
        self.assertEqual(req["kind"], "MAINTENANCE_KIND_REBOOT")
        self.assertEqual(req["rack"], "rack1")
        wait_for(lambda: self.reboot_calls() == 1, 20, "logind Reboot")
        self.assertEqual(self.calls("drain"), 1)
        self.assertEqual(self.lease()["phase"], "REBOOTING")
        self.assertEqual(self.ctl.records("lease_release"), [])
        self.simulate_reboot()
        rel = self.ctl.wait("lease_release", timeout=30)["lease_release"]
        self.assertEqual(rel["lease_id"], req["lease_id"])
        self.assertEqual(int(rel["epoch"]), 7)
        self.assertTrue(rel["success"])
        self.wait_phase("IDLE")
        self.assertEqual(self.reboot_calls(), 1)  # never a second reboot
        events = [e["message"] for e in self.env.ctl("events")["events"] if e["kind"] == "lease"]
        self.assertTrue(any("RECOVERING -> RELEASED" in m for m in events), events)

    def test_killed_while_logind_reboot_is_in_flight_it_never_asks_again(self):
        self.start()
        # logind answers Reboot 3 s late (dbusmock logs the call first, then runs this code).
        subprocess.run(["busctl", "--address=" + self.env.bus_address, "call", "org.freedesktop.login1",
                        "/org/freedesktop/login1", "org.freedesktop.DBus.Mock", "AddMethod", "sssss",
                        "org.freedesktop.login1.Manager", "Reboot", "b", "", "import time; time.sleep(3)"],
                       check=True, capture_output=True, timeout=10)
        # Counted in logind.log, not with reboot_calls(): its GetMethodCalls waits behind the sleep.
        log = os.path.join(self.env.bus_dir, "logind.log")

        def asked():
            with open(log) as f:
                return sum(1 for line in f if " Reboot " in line)
        open(self.sentinel, "w").close()
        self.grant()
        wait_for(lambda: asked() == 1, 20, "logind Reboot asked")
        # Killed before logind's reply: the journal already says the reboot was asked for.
        self.env.agent.kill()
        self.env.agent.wait()
        self.env.start_agent()
        self.wait_phase("REBOOTING")
        time.sleep(5)  # past the slow reply: a second call would be logged by now
        self.assertEqual(asked(), 1)

    def test_sentinel_still_present_after_the_reboot_is_stuck_and_never_reboots_again(self):
        self.start()
        open(self.sentinel, "w").close()
        self.grant()
        wait_for(lambda: self.reboot_calls() == 1, 20, "logind Reboot")
        self.simulate_reboot(clear_sentinel=False)
        st = self.wait_phase("STUCK")
        self.assertIn("still present", st["detail"])
        time.sleep(2)
        self.assertEqual(self.reboot_calls(), 1)
        self.assertEqual(self.ctl.records("lease_release"), [])
        cond = [c for c in self.env.status()["conditions"] if c["code"] == "MAINTENANCE_STUCK"]
        self.assertEqual(cond[0]["severity"], "SEVERITY_CRITICAL")
        # Only a forced release ends it.
        r = self.env.ctl("lease", "release", "--force")
        self.assertEqual(r["result"], "released")
        rel = self.ctl.wait("lease_release", timeout=10)["lease_release"]
        self.assertFalse(rel.get("success", False))

    def test_node_never_healthy_is_stuck_and_keeps_the_lease(self):
        self.healthy_timeout = "4s"
        self.start()
        open(self.sentinel, "w").close()
        self.grant()
        wait_for(lambda: self.reboot_calls() == 1, 20, "logind Reboot")
        self.simulate_reboot(come_back=False)  # Cassandra does not come back
        st = self.wait_phase("STUCK", timeout=20)
        self.assertIn("healthy_timeout", st["detail"])
        self.assertEqual(self.ctl.records("lease_release"), [])

    def test_sigkill_at_each_step_resumes_and_never_reboots_twice(self):
        # Slow steps so the test can kill the agent inside each of them.
        self.nodetool("fake-fault", "drain", "slow", "seconds=3", "times=1")
        script = os.path.join(self.env.dir, "patch.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho patched >> %s\nsleep 3\n" % self.patch_log)
        os.chmod(script, 0o755)
        self.healthy_timeout = "120s"  # RECOVERING lasts until the test brings Cassandra back
        self.start(patch_command=script)
        self.ctl.push({"id": "m1", "maintenance": {"kind": "MAINTENANCE_KIND_PATCH_OS", "reason": "test"}})
        req = self.grant()
        open(self.sentinel, "w").close()  # the patch will ask for a reboot
        for phase in ("DRAINING", "PATCHING"):
            self.wait_phase(phase)
            self.env.agent.kill()
            self.env.agent.wait()
            self.env.start_agent()
        wait_for(lambda: self.reboot_calls() == 1, 30, "logind Reboot")
        # Killed after asking for the reboot but before it happened: no second Reboot call.
        self.env.agent.kill()
        self.env.agent.wait()
        self.env.start_agent()
        time.sleep(3)
        self.assertEqual(self.reboot_calls(), 1)
        # Killed while recovering: resumes and only releases after the recovery check. Cassandra
        # comes back only after the kill, so RECOVERING cannot pass before the test sees it.
        self.simulate_reboot(come_back=False)
        self.wait_phase("RECOVERING")
        self.env.agent.kill()
        self.env.agent.wait()
        self.env.start_agent()
        self.assertEqual(self.ctl.records("lease_release"), [])
        self.cassandra_comes_back()
        rel = self.ctl.wait("lease_release", timeout=30)["lease_release"]
        self.assertEqual(rel["lease_id"], req["lease_id"])
        self.assertTrue(rel["success"])
        self.assertEqual(len(self.ctl.records("lease_release")), 1)
        with open(self.patch_log) as f:
            self.assertGreaterEqual(len(f.readlines()), 1)


class Guards(Node):
    def test_blockers_stop_the_request_and_are_named(self):
        self.env.edit_state(lambda st: [n.update(status="D") for n in st["nodes"] if n["address"] == "10.0.2.22"])
        self.start()
        open(self.sentinel, "w").close()
        st = self.wait_phase("BLOCKED")
        self.assertIn("peer 10.0.2.22 (dc2/rack2) is DN", st["blockers"])
        time.sleep(2)
        self.assertEqual(self.ctl.records("lease_request"), [])
        out = self.env.ctl("status")["lease"]
        self.assertEqual(out["phase"], "BLOCKED")
        self.assertIn("peer 10.0.2.22 (dc2/rack2) is DN", out["blockers"])

    def test_a_granted_lease_never_drains_while_a_node_of_another_rack_is_down(self):
        self.start()
        open(self.sentinel, "w").close()
        req = self.ctl.wait("lease_request", timeout=20)["lease_request"]
        # The ring degrades after the request, and a faulty controller grants anyway.
        self.env.edit_state(lambda st: [n.update(status="D") for n in st["nodes"] if n["address"] == "10.0.1.12"])
        time.sleep(1.5)
        if self.lease()["phase"] == "REQUESTED":
            self.ctl.send({"lease_grant": {"lease_id": req["lease_id"], "epoch": 9}})
        st = self.wait_phase("GRANTED")
        # The blocker check after the grant names the down node; it never drains meanwhile.
        wait_for(lambda: "not draining" in self.lease()["detail"], 15, "the check after the grant")
        time.sleep(3)
        self.assertEqual(self.calls("drain"), 0)
        st = self.lease()
        self.assertEqual(st["phase"], "GRANTED")
        self.assertIn("not draining", st["detail"])
        # Healthy again: it goes on.
        self.env.edit_state(lambda s: [n.update(status="U") for n in s["nodes"] if n["address"] == "10.0.1.12"])
        wait_for(lambda: self.calls("drain") == 1, 15, "drain once healthy")

    def test_pause_blocks_new_maintenance_and_outlives_a_restart(self):
        self.start()
        self.env.ctl("maintenance", "pause")
        open(self.sentinel, "w").close()
        st = self.wait_phase("BLOCKED")
        self.assertIn("maintenance is paused", st["blockers"])
        # An agent restart (upgrade, crash, the node's reboot) keeps the pause.
        self.assertEqual(self.env.stop_agent(), 0)
        self.env.start_agent()
        wait_for(lambda: "maintenance is paused" in self.lease().get("blockers", []), 15, "paused after the restart")
        time.sleep(1.5)
        self.assertEqual(self.ctl.records("lease_request"), [])
        self.env.ctl("maintenance", "resume")
        self.ctl.wait("lease_request", timeout=20)


class EachBlocker(Node):
    """Each blocker alone stops the lease request and is reported by name."""

    def blocked_by(self, expect, extra_maint=""):
        self.start(extra_maint=extra_maint)
        open(self.sentinel, "w").close()
        st = self.wait_phase("BLOCKED")
        self.assertTrue(any(expect in b for b in st["blockers"]), st["blockers"])
        time.sleep(1.5)
        self.assertEqual(self.ctl.records("lease_request"), [])

    def test_outside_the_window(self):
        # A one-minute window twelve hours away from now.
        h = (time.gmtime().tm_hour + 12) % 24
        self.blocked_by("outside the maintenance window", extra_maint=', window: "%02d:00-%02d:01 UTC"' % (h, h))

    def test_a_joining_node(self):
        self.env.edit_state(lambda st: [n.update(state="J") for n in st["nodes"] if n["address"] == "10.0.1.13"])
        self.blocked_by("peer 10.0.1.13 (dc1/rack3) is UJ")

    def test_schema_disagreement(self):
        self.env.edit_state(lambda st: [n.update(schema_version="11111111-2222-3333-4444-555555555555")
                                        for n in st["nodes"] if n["address"] == "10.0.2.23"])
        self.blocked_by("2 schema versions")

    def test_rf_below_three(self):
        self.env.edit_state(lambda st: [k.update(rf={"dc1": 2, "dc2": 3}) for k in st["keyspaces"]
                                        if k["name"] == "app"])
        self.blocked_by("keyspace app has RF 2 in dc1")

    def test_simple_strategy_in_a_multi_rack_cluster(self):
        self.env.edit_state(lambda st: st["keyspaces"].append(
            {"name": "legacy", "class": "SimpleStrategy", "rf": 3}))
        self.blocked_by("keyspace legacy uses SimpleStrategy")

    def test_streaming(self):
        self.nodetool("fake-fault", "netstats", "garbage", "bytes=200")
        self.blocked_by("streaming in progress")


class UpgradePolicy(Node):
    def upgrade(self, cid, version, **flags):
        body = {"kind": "MAINTENANCE_KIND_UPGRADE_CASSANDRA", "version": version}
        body.update(flags)
        self.ctl.push({"id": cid, "maintenance": body})
        finals = ("COMMAND_STATUS_SUCCEEDED", "COMMAND_STATUS_REJECTED", "COMMAND_STATUS_FAILED")
        return wait_for(lambda: [r for r in self.ctl.records("command_update", {"id": cid})
                                 if r["command_update"].get("status") in finals], 10, cid)[-1]["command_update"]

    def set_version(self, v):
        self.nodetool("fake-set-cluster", "version=%s" % v)
        # The agent reads `nodetool version` every 10th round (or when gossip restarts).
        wait_for(lambda: self.env.ctl("version")["cassandra_version"] == v, 60, "agent sees %s" % v)

    def test_minor_and_major_upgrades_need_their_flags(self):
        self.start()
        self.set_version("4.0.15")
        u = self.upgrade("u1", "4.1.8")
        self.assertEqual(u["status"], "COMMAND_STATUS_FAILED")
        self.assertIn("allow_minor_upgrade", u["message"])
        self.set_version("4.1.8")
        u = self.upgrade("u2", "5.0.2")
        self.assertEqual(u["status"], "COMMAND_STATUS_FAILED")
        self.assertIn("allow_major_upgrade", u["message"])
        u = self.upgrade("u3", "4.1.5")
        self.assertEqual(u["status"], "COMMAND_STATUS_FAILED")
        self.assertIn("downgrade", u["message"])

    def test_patch_upgrade_is_performed_and_the_version_checked(self):
        script = os.path.join(self.env.dir, "upgrade.sh")
        with open(script, "w") as f:
            # The "package manager": installs the version into the simulated cluster.
            f.write("#!/bin/sh\n%s --state %s --node %s fake-set-cluster version=$1\n"
                    % (os.path.join(DOUBLES, "fake_nodetool"), self.env.state, self.env.node))
        os.chmod(script, 0o755)
        self.start(extra_maint=", cassandra_upgrade_command: [%s, \"{version}\"]" % script)
        self.set_version("4.1.5")
        u = self.upgrade("u4", "4.1.8")
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        self.grant()
        # No reboot for an upgrade: stop, upgrade, start, recover.
        self.wait_phase("RECOVERING", timeout=30)
        self.nodetool("fake-set", "status=U", "drained=false", "gossip=true", "binary=true")
        rel = self.ctl.wait("lease_release", timeout=30)["lease_release"]
        self.assertTrue(rel["success"])
        self.assertEqual(self.env.ctl("version")["cassandra_version"], "4.1.8")
        self.assertEqual(self.reboot_calls(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
