#!/usr/bin/python3
"""Integration tests of scheduled and on-demand snapshots: the real agent against the fake
nodetool, which keeps snapshot state in the cluster-state file (short interval and retention)."""
import json
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import AGENTCTL, Env, wait_for  # noqa: E402

AGENT_TAG = re.compile(r"^agent-\d{8}T\d{6}Z$")


def snapshot_config(interval="2s", retention="5s", min_free="1%"):
    return "snapshots: { interval: %s, retention: %s, tag_prefix: agent, min_free_disk: %s }" % (
        interval, retention, min_free)


class Snapshots(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)

    def start(self, **kw):
        self.env.write_config(extra=snapshot_config(**kw), nodetool_timeout="3s")
        self.env.start_agent()

    def node_tags(self):
        with open(self.env.state) as f:
            st = json.load(f)
        node = next(n for n in st["nodes"] if n["address"] == self.env.node)
        return {s["tag"] for s in node.get("snapshots", [])}

    def agent_tags(self):
        return sorted(t for t in self.node_tags() if AGENT_TAG.match(t))

    def calls(self, sub):
        if not os.path.exists(self.env.calls):
            return []  # no nodetool call yet
        with open(self.env.calls) as f:
            return [l.split()[3:] for l in f if len(l.split()) > 2 and l.split()[2] == sub]

    def snap_state(self):
        return self.env.status()["snapshots"]

    def set_fault(self, sub, mode, **kw):
        self.env.edit_state(lambda st: st.setdefault("faults", {}).update({sub: dict(mode=mode, **kw)}))

    def clear_faults(self):
        self.env.edit_state(lambda st: st.pop("faults", None))

    def test_snapshots_appear_on_schedule_are_pruned_and_a_hand_made_one_survives(self):
        self.assertIn("pre-upgrade-20241010", self.node_tags())
        self.start()
        wait_for(lambda: len(self.calls("snapshot")) >= 4, 15, "four scheduled snapshots")
        # Slots are UTC multiples of the interval: every tag's second is even.
        for args in self.calls("snapshot"):
            tag = args[args.index("-t") + 1]
            self.assertRegex(tag, AGENT_TAG)
            self.assertEqual(int(tag[-3:-1]) % 2, 0, tag)
        wait_for(lambda: self.calls("clearsnapshot"), 15, "a pruned snapshot")
        cleared = [a[a.index("-t") + 1] for a in self.calls("clearsnapshot")]
        self.assertTrue(all(AGENT_TAG.match(t) for t in cleared), cleared)
        self.assertIn("pre-upgrade-20241010", self.node_tags())
        self.assertIn("1728634112905", self.node_tags())
        # Every agent snapshot left is within retention (5 s) plus a run's slack, once the run
        # after the one that crossed retention has pruned (a loaded machine delays it).
        import calendar

        def too_old():
            now = time.time()
            return [t for t in self.agent_tags()
                    if now - calendar.timegm(time.strptime(t[6:], "%Y%m%dT%H%M%SZ")) >= 5 + 4]
        wait_for(lambda: not too_old(), 10, "snapshots past retention pruned")
        st = self.snap_state()
        self.assertEqual(st["last_result"], "ok")
        self.assertGreater(st["last_success_unix_ms"], 0)
        self.assertGreater(st["next_slot_unix_ms"], st["last_attempt_unix_ms"])
        self.assertGreaterEqual(st["count"], 1)
        # The listing, with owners.
        listing = self.env.ctl("snapshots")["snapshots"]
        owners = {s["tag"]: s["owner"] for s in listing}
        self.assertEqual(owners["pre-upgrade-20241010"], "other")
        self.assertTrue(any(o == "agent" for o in owners.values()))
        out = self.env.ctl("snapshots", json_out=False).stdout
        self.assertIn("pre-upgrade-20241010", out)
        self.assertIn("Owner", out)

    def test_the_newest_good_snapshot_survives_when_every_snapshot_is_old(self):
        self.start()
        wait_for(lambda: self.snap_state()["last_result"] == "ok", 10, "a first snapshot")
        first = self.snap_state()["last_tag"]
        self.set_fault("snapshot", "fail")
        time.sleep(9)  # past the retention; every new attempt fails
        self.assertEqual(self.snap_state()["last_result"], "failed")
        # Only the newest good one is left: the first one seen, or one taken before the fault bit.
        kept = self.agent_tags()
        self.assertEqual(len(kept), 1, kept)
        self.assertGreaterEqual(kept[0], first)
        cond = [c for c in self.env.status()["conditions"] if c["code"] == "SNAPSHOT_FAILED"]
        self.assertTrue(cond)
        # The next slot still runs, and a success clears the condition.
        self.clear_faults()
        wait_for(lambda: self.snap_state()["last_result"] == "ok", 10, "a snapshot after the fault")
        wait_for(lambda: not [c for c in self.env.status()["conditions"] if c["code"] == "SNAPSHOT_FAILED"], 5,
                 "SNAPSHOT_FAILED cleared")

    def test_a_hanging_snapshot_is_recorded_failed_and_the_next_slot_runs(self):
        self.set_fault("snapshot", "hang")
        self.start()
        st = wait_for(lambda: (lambda s: s if s["last_result"] == "failed" else None)(self.snap_state()), 15,
                      "failure recorded")
        self.assertIn("timed out", st["last_reason"])
        self.clear_faults()
        wait_for(lambda: self.snap_state()["last_result"] == "ok", 15, "next slot ok")

    def test_clearsnapshot_failing_is_retried_and_nothing_else_is_removed(self):
        self.set_fault("clearsnapshot", "fail")
        self.start()
        wait_for(lambda: len(self.calls("clearsnapshot")) >= 2, 20, "clearsnapshot retried")
        self.assertIn("pre-upgrade-20241010", self.node_tags())
        self.assertGreaterEqual(len(self.agent_tags()), 2)  # nothing was removed
        c = wait_for(lambda: [c for c in self.env.status()["conditions"] if c["code"] == "SNAPSHOT_FAILED"], 5,
                     "condition")
        self.assertIn("clearsnapshot", c[0]["message"])
        self.clear_faults()
        wait_for(lambda: len(self.agent_tags()) <= 4, 15, "pruned after the fault")

    def test_disk_below_the_threshold_skips_with_the_reason(self):
        self.start(min_free="100%")
        st = wait_for(lambda: (lambda s: s if s["last_result"] == "skipped" else None)(self.snap_state()), 10,
                      "skipped")
        self.assertIn("min_free_disk", st["last_reason"])
        self.assertEqual(self.calls("snapshot"), [])

    def test_cassandra_down_skips(self):
        self.env.edit_state(lambda st: [n.update(gossip=False, binary=False) for n in st["nodes"]
                                        if n["address"] == self.env.node])
        self.start()
        st = wait_for(lambda: (lambda s: s if s["last_result"] == "skipped" else None)(self.snap_state()), 10,
                      "skipped")
        self.assertIn("Cassandra", st["last_reason"])

    def test_on_demand_take_with_a_tag_and_refused_tags(self):
        self.start(interval="1h")
        r = subprocess.run([AGENTCTL, "--socket", self.env.socket, "snapshot", "take", "--tag", "before-change"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("before-change taken", r.stdout)
        self.assertIn("before-change", self.node_tags())
        for bad in ["../x", "a/b", "with space", "x" * 65, ".hidden", ".."]:
            r = subprocess.run([AGENTCTL, "--socket", self.env.socket, "snapshot", "take", "--tag", bad],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, bad)
            self.assertTrue(r.stderr.strip(), bad)
        self.assertNotIn("a/b", self.node_tags())
        owners = {s["tag"]: s["owner"] for s in self.env.ctl("snapshots")["snapshots"]}
        self.assertEqual(owners["before-change"], "other")

    def test_a_restart_does_not_repeat_a_slot(self):
        self.start(interval="1h")
        wait_for(lambda: len(self.calls("snapshot")) == 1, 10, "the catch-up snapshot")
        self.env.stop_agent()
        self.env.start_agent()
        time.sleep(2)
        # The slot is in the tag. A run that crosses a full hour (UTC) rightly takes that new slot
        # too (found by CI at 08:00), so what must not happen is the same slot twice.
        tags = [args[args.index("-t") + 1] for args in self.calls("snapshot")]
        self.assertEqual(len(tags), len(set(tags)), "a slot was taken again: %s" % tags)
        self.assertLessEqual(len(tags), 2, tags)
        self.assertTrue(all(t.endswith("0000Z") for t in tags), tags)
        self.assertTrue(os.path.exists(os.path.join(self.env.dir, "snapshots.state")))


class ControllerSnapshots(unittest.TestCase):
    """TakeSnapshot and ClearSnapshot from the reference controller."""

    def setUp(self):
        import shutil
        import tempfile
        sys.path.insert(0, os.path.join(HERE, "..", "controller"))
        from client import Controller, make_certs
        self.certs_root = tempfile.mkdtemp(prefix="ca-certs-")
        self.addCleanup(shutil.rmtree, self.certs_root, True)
        certs = make_certs(os.path.join(self.certs_root, "certs"))
        self.env = Env()
        self.addCleanup(self.env.close)
        self.ctl = Controller(certs, os.path.join(self.env.dir, "record.jsonl"), os.path.join(self.env.dir, "c.sock"))
        self.addCleanup(self.ctl.stop)
        c = lambda n: os.path.join(certs, n)
        # With a 1 h interval, crossing the full hour would make a scheduled snapshot the newest
        # good one, which the test expects to be the one it takes: start away from the hour.
        into_hour = time.time() % 3600
        if into_hour > 3540:
            time.sleep(3600 - into_hour + 1)
        self.env.write_config(extra=snapshot_config(interval="1h"), controller=dict(
            address="127.0.0.1:%d" % self.ctl.port, ca=c("ca.pem"), cert=c("agent.pem"), key=c("agent.key")))
        self.env.start_agent()
        self.ctl.wait("hello", timeout=10)

    def final(self, cmd):
        self.ctl.push(cmd)
        finals = ("COMMAND_STATUS_SUCCEEDED", "COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED")
        recs = wait_for(lambda: [r for r in self.ctl.records("command_update", {"id": cmd["id"]})
                                 if r["command_update"].get("status") in finals], 20, "final status of %s" % cmd["id"])
        return recs[-1]["command_update"]

    def test_take_and_clear_snapshot_commands(self):
        wait_for(lambda: self.env.status()["snapshots"]["last_result"] == "ok", 15, "the catch-up snapshot")
        newest = self.env.status()["snapshots"]["last_tag"]
        u = self.final({"id": "t1", "take_snapshot": {}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        tag = u["message"].split()[1]
        self.assertRegex(tag, AGENT_TAG)
        u = self.final({"id": "t2", "take_snapshot": {"tag": "a/b"}})
        self.assertEqual(u["status"], "COMMAND_STATUS_REJECTED")
        u = self.final({"id": "c1", "clear_snapshot": {"tag": "pre-upgrade-20241010"}})
        self.assertEqual(u["status"], "COMMAND_STATUS_REJECTED")
        u = self.final({"id": "c2", "clear_snapshot": {"tag": tag}})  # the newest good one now
        self.assertEqual(u["status"], "COMMAND_STATUS_REJECTED")
        u = self.final({"id": "c3", "clear_snapshot": {"tag": newest}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        u = self.final({"id": "c4", "clear_snapshot": {"tag": "pre-upgrade-20241010", "force": True}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        with open(self.env.state) as f:
            tags = {x["tag"] for n in json.load(f)["nodes"] if n["address"] == self.env.node for x in n["snapshots"]}
        self.assertNotIn("pre-upgrade-20241010", tags)
        self.assertNotIn(newest, tags)
        self.assertIn(tag, tags)


if __name__ == "__main__":
    unittest.main(verbosity=2)
