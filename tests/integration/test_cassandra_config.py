#!/usr/bin/python3
"""Integration tests of the daemon's cassandra.yaml, seeds and rackdc management: SetSeeds and
ApplyConfig from the reference controller, drift, rollback, restart-pending, rackdc protection.
Uses the default cassandra.yaml files of ../shared/data (SKIP when absent)."""
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
sys.path.insert(0, os.path.join(HERE, "..", "controller"))
from client import Controller, decode_bytes, make_certs  # noqa: E402
from harness import AGENTCTL, Env, wait_for  # noqa: E402

SHARED = os.environ.get("SHARED_DATA", os.path.join(HERE, "..", "..", "..", "shared", "data"))
YAML_DIR = os.path.join(SHARED, "cassandra")
CERTS = None


def setUpModule():
    global CERTS, CERTS_ROOT
    if not os.path.isdir(YAML_DIR):
        print("SKIP: ../shared/data not found", file=sys.stderr)
        raise unittest.SkipTest("../shared/data not found")
    CERTS_ROOT = tempfile.mkdtemp(prefix="ca-certs-")
    CERTS = make_certs(os.path.join(CERTS_ROOT, "certs"))


def tearDownModule():
    if CERTS:
        shutil.rmtree(CERTS_ROOT, ignore_errors=True)


class ConfigCase(unittest.TestCase):
    version = "4.1"
    cassandra = "4.1.8"

    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)
        self.yaml = os.path.join(self.env.dir, "cassandra.yaml")
        shutil.copy(os.path.join(YAML_DIR, "cassandra-%s.yaml" % self.version), self.yaml)
        with open(self.yaml, "rb") as f:
            self.original = f.read()
        self.env.edit_state(lambda st: st.update(version=self.cassandra))
        self.ctl = Controller(CERTS, os.path.join(self.env.dir, "record.jsonl"), os.path.join(self.env.dir, "c.sock"),
                              manual_leases=True)
        self.addCleanup(self.ctl.stop)
        c = lambda n: os.path.join(CERTS, n)
        self.env.write_config(controller=dict(address="127.0.0.1:%d" % self.ctl.port, ca=c("ca.pem"),
                                              cert=c("agent.pem"), key=c("agent.key")))
        self.env.start_agent()
        self.ctl.wait("hello", timeout=10)
        wait_for(lambda: self.env.ctl("version")["cassandra_version"] == self.cassandra, 15, "version known")

    def command(self, cmd):
        self.ctl.push(cmd)
        finals = ("COMMAND_STATUS_SUCCEEDED", "COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED")
        return wait_for(lambda: [r for r in self.ctl.records("command_update", {"id": cmd["id"]})
                                 if r["command_update"].get("status") in finals], 20, cmd["id"])[-1]["command_update"]

    def file(self):
        with open(self.yaml, "rb") as f:
            return f.read()


class Seeds(ConfigCase):
    def test_set_seeds_writes_keeps_comments_and_reloads_seeds(self):
        u = self.command({"id": "s1", "set_seeds": {"seeds": ["10.0.1.11", "10.0.2.21", "10.0.1.11"]}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        self.assertIn("reloadseeds", u["message"])
        text = self.file().decode()
        self.assertIn('- seeds: "10.0.1.11,10.0.2.21"', text)
        for line in self.original.decode().splitlines():
            if line.lstrip().startswith("#"):
                self.assertIn(line, text)
        self.assertEqual(self.env.nodetool_calls("reloadseeds"), 1)
        wait_for(lambda: self.env.status()["config"]["seeds"] == ["10.0.1.11", "10.0.2.21"], 10, "seeds in health")
        self.assertEqual(len(os.listdir(os.path.join(self.env.dir, "history"))), 1)
        # rollback (offline) restores the previous bytes exactly
        r = subprocess.run([AGENTCTL, "config", "rollback", "--yaml", self.yaml, "--history",
                            os.path.join(self.env.dir, "history")], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.file(), self.original)

    def test_bad_seeds_are_refused_and_the_file_is_untouched(self):
        for i, seeds in enumerate([["10.0.0.1; rm -rf /"], ["$(id)"], ["a b"], []]):
            u = self.command({"id": "b%d" % i, "set_seeds": {"seeds": seeds}})
            self.assertIn(u["status"], ("COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED"), seeds)
            self.assertEqual(self.file(), self.original)
        self.assertEqual(self.env.nodetool_calls("reloadseeds"), 0)


class Apply(ConfigCase):
    def test_dry_run_returns_the_diff_and_writes_nothing(self):
        u = self.command({"id": "d1", "apply_config": {"set": {"concurrent_reads": "64"}, "dry_run": True}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        diff = decode_bytes(u.get("output")).decode()
        self.assertIn("-concurrent_reads: 32", diff)
        self.assertIn("+concurrent_reads: 64", diff)
        self.assertEqual(self.file(), self.original)

    def test_refusals_leave_the_file_byte_identical(self):
        cases = [
            {"set": {"no_such_setting": "1"}},
            {"set": {"concurrent_reads": "many"}},
            {"set": {"cluster_name": "other"}},
            {"set": {"read_request_timeout": "5000"}},  # 4.1 duration without unit
            {"set": {"read_request_timeout_in_ms": "5000"}},  # old and new name together
        ]
        for i, body in enumerate(cases):
            u = self.command({"id": "r%d" % i, "apply_config": body})
            self.assertEqual(u["status"], "COMMAND_STATUS_FAILED", (body, u))
            self.assertEqual(self.file(), self.original, body)

    def test_applied_settings_are_restart_pending_and_protected_keys_need_force(self):
        u = self.command({"id": "f1", "apply_config": {"set": {"cluster_name": "'Renamed'"}, "force": True}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        cs = wait_for(lambda: (lambda c: c if c["restart_pending"] else None)(self.env.status()["config"]), 10,
                      "restart pending")
        self.assertIn("cluster_name", cs["pending_settings"])
        # It asks maintenance for a restart under a lease.
        req = self.ctl.wait("lease_request", timeout=20)["lease_request"]
        self.assertEqual(req["kind"], "MAINTENANCE_KIND_RESTART_CASSANDRA")

    def test_a_hand_edit_shows_as_drift(self):
        with open(self.yaml, "ab") as f:
            f.write(b"\n# edited by hand\n")
        c = wait_for(lambda: [c for c in self.env.status()["conditions"] if c["code"] == "CONFIG_DRIFT"], 10, "drift")
        self.assertEqual(c[0]["subject"], "cassandra.yaml")
        self.assertTrue(self.env.status()["config"]["drift"])
        self.assertTrue(self.env.ctl("config")["drift"])


class Legacy(ConfigCase):
    version = "3.11"
    cassandra = "3.11.18"

    def test_seeds_on_3_11_are_restart_pending_not_reloaded(self):
        u = self.command({"id": "s311", "set_seeds": {"seeds": ["10.0.1.11", "10.0.1.12"]}})
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        self.assertEqual(self.env.nodetool_calls("reloadseeds"), 0)
        cs = wait_for(lambda: (lambda c: c if c["restart_pending"] else None)(self.env.status()["config"]), 10,
                      "restart pending")
        self.assertIn("seed_provider", cs["pending_settings"])


class RackDc(unittest.TestCase):
    def test_rackdc_is_written_and_a_bootstrapped_node_refuses_a_rack_change(self):
        env = Env(bus=False, cql=False)
        self.addCleanup(env.close)
        rackdc = os.path.join(env.dir, "cassandra-rackdc.properties")
        with open(rackdc, "w") as f:
            f.write("# operator comment\ndc=dc1\nrack=rack1\n")
        env.start_agent()
        wait_for(lambda: os.path.exists(rackdc), 5, "rackdc")
        with open(rackdc) as f:
            text = f.read()
        self.assertIn("# operator comment", text)
        self.assertIn("rack=rack1", text)
        env.stop_agent()
        os.makedirs(os.path.join(env.data_dir, "system"))  # bootstrapped
        with open(env.config) as f:
            cfg = f.read().replace("rack: rack1", "rack: rack2")
        with open(env.config, "w") as f:
            f.write(cfg)
        env.start_agent()
        c = wait_for(lambda: [c for c in env.status()["conditions"] if c["code"] == "RACKDC_REFUSED"], 10, "refused")
        self.assertIn("bootstrapped", c[0]["message"])
        with open(rackdc) as f:
            self.assertIn("rack=rack1", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
