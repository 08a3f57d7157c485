#!/usr/bin/python3
"""Integration tests of the controller channel: the real agent against the reference controller
(tests/controller, Google's protobuf runtime), over mutual TLS with certificates made by openssl."""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "controller"))
from client import Controller, ControllerTimeout, decode_bytes, make_certs  # noqa: E402
from harness import TIME_SCALE, Env, wait_for  # noqa: E402

CERTS = None


def setUpModule():
    global CERTS, CERTS_ROOT
    CERTS_ROOT = tempfile.mkdtemp(prefix="ca-certs-")
    CERTS = make_certs(os.path.join(CERTS_ROOT, "certs"))


def tearDownModule():
    shutil.rmtree(CERTS_ROOT, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name)


class ChannelCase(unittest.TestCase):
    controller_cert = "controller"
    agent_cert = "agent"
    address_host = "127.0.0.1"

    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)
        self.ctl = Controller(CERTS, os.path.join(self.env.dir, "record.jsonl"),
                              os.path.join(self.env.dir, "control.sock"), cert=self.controller_cert + ".pem",
                              key=self.controller_cert + ".key")
        self.addCleanup(self.ctl.stop)

    def start_agent(self, report_interval="30s", nodetool_interval="1s", **kw):
        self.env.write_config(controller=dict(address="%s:%d" % (self.address_host, self.ctl.port), ca=cert("ca.pem"),
                                              cert=cert(self.agent_cert + ".pem"),
                                              key=cert(self.agent_cert + ".key")),
                              report_interval=report_interval, nodetool_interval=nodetool_interval, **kw)
        return self.env.start_agent()

    def controller_status(self):
        return self.env.status()["controller"]


class Session(ChannelCase):
    def test_hello_then_a_health_report_within_two_seconds_matching_agentctl(self):
        self.start_agent()
        hello = self.ctl.wait("hello", timeout=10)
        self.assertEqual(hello["hello"]["agent_version"], self.env.ctl("version")["agent_version"])
        t_hello = hello["_at"]
        # Wait for a report that carries the full ring and the node identity.
        rep = self.ctl.wait("health", {"node": {"host_id": "8d5ed9f4-0c2a-4b6e-9b1e-3f0a4c2d7e11"}}, timeout=10)
        first = self.ctl.records("health")[0]
        self.assertLess(first["_at"] - t_hello, 2000 * TIME_SCALE)
        # The ring, the version and the cluster name come from separate nodetool calls, each of which
        # sends a report when it first answers: wait for the report that carries them all.
        keys = ("host_id", "address", "datacenter", "rack", "cluster_name", "cassandra_version", "hostname")
        rep = wait_for(lambda: (lambda r: r if len(r.get("ring", [])) == 6 and all(r["node"].get(k) for k in keys)
                                else None)(self.ctl.records("health")[-1]["health"]), 10,
                       "ring, version and cluster name in a report")
        st = self.env.status()
        for k in keys:
            self.assertEqual(rep["node"].get(k, ""), st["node"][k], k)
        py_ring = sorted((p["address"], p["datacenter"], p["rack"], p["status"], p["host_id"]) for p in rep["ring"])
        c_ring = sorted((p["address"], p["datacenter"], p["rack"], p["status"], p["host_id"]) for p in st["ring"])
        self.assertEqual(py_ring, c_ring)
        self.assertEqual(rep["controller"]["connected"], True)
        # agentctl shows the connection.
        cs = self.controller_status()
        self.assertTrue(cs["connected"])
        self.assertGreater(cs["connected_since_unix_ms"], 0)
        out = self.env.ctl("status", json_out=False).stdout
        self.assertIn("Controller", out)
        self.assertIn("connected since", out)

    def test_a_state_change_is_reported_at_once(self):
        self.start_agent(report_interval="1h")
        self.ctl.wait("health", timeout=10)
        self.env.edit_state(lambda st: [nd.update(status="D") for nd in st["nodes"] if nd["address"] == "10.0.2.22"])
        # With a 1 h report interval only the immediate report can carry it.
        wait_for(lambda: any(c.get("code") == "PEER_DOWN" for r in self.ctl.records("health")
                             for c in r["health"].get("conditions", [])), 15, "PEER_DOWN report")

    def test_ping_is_answered_with_the_same_nonce(self):
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        self.ctl.send({"ping": {"nonce": 4611686018427387904}})
        self.ctl.wait("pong", {"nonce": 4611686018427387904}, timeout=5)


class Commands(ChannelCase):
    def test_run_nodetool_status_is_idempotent_by_id(self):
        self.start_agent(nodetool_interval="1h")
        self.ctl.wait("hello", timeout=10)
        wait_for(lambda: self.env.nodetool_calls("status") == 1, 10, "the start-up status probe")
        self.ctl.push({"id": "c1", "run_nodetool": {"subcommand": "status"}})
        self.ctl.wait("command_update", {"id": "c1", "status": "COMMAND_STATUS_ACCEPTED"}, timeout=10)
        done = self.ctl.wait("command_update", {"id": "c1", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=10)
        out = decode_bytes(done["command_update"].get("output"))
        self.assertIn(b"Datacenter: dc1", out)
        self.assertEqual(self.env.nodetool_calls("status"), 2)
        since = int(time.time() * 1000)
        self.ctl.push({"id": "c1", "run_nodetool": {"subcommand": "status"}})
        again = self.ctl.wait("command_update", {"id": "c1"}, timeout=10, since=since)
        self.assertEqual(again["command_update"]["status"], "COMMAND_STATUS_SUCCEEDED")
        self.assertEqual(decode_bytes(again["command_update"].get("output")), out)
        time.sleep(0.5)
        self.assertEqual(self.env.nodetool_calls("status"), 2)  # never ran twice

    def test_sigkill_while_a_command_runs_reports_interrupted_after_restart_and_never_reruns(self):
        self.env.edit_state(lambda st: st.setdefault("faults", {}).update({"tpstats": {"mode": "slow", "seconds": 30}}))
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        self.ctl.push({"id": "k1", "run_nodetool": {"subcommand": "tpstats"}})
        self.ctl.wait("command_update", {"id": "k1", "status": "COMMAND_STATUS_RUNNING"}, timeout=10)
        wait_for(lambda: self.env.nodetool_calls("tpstats") == 1, 5, "tpstats started")
        self.env.agent.kill()
        self.env.agent.wait()
        # Kill the orphaned slow nodetool too (the agent's process group is gone with it).
        subprocess.run(["pkill", "-f", "--", "%s.*tpstats" % self.env.state], check=False)
        since = int(time.time() * 1000)
        self.env.start_agent()
        hello = self.ctl.wait("hello", timeout=15, since=since)
        self.assertIn("k1", hello["hello"].get("resumable_command_ids", []))
        upd = self.ctl.wait("command_update", {"id": "k1"}, timeout=15, since=since)
        self.assertEqual(upd["command_update"]["status"], "COMMAND_STATUS_FAILED")
        self.assertIn("interrupted", upd["command_update"]["message"])
        # The same id again: the stored result, no second run.
        since = int(time.time() * 1000)
        self.ctl.push({"id": "k1", "run_nodetool": {"subcommand": "tpstats"}})
        again = self.ctl.wait("command_update", {"id": "k1"}, timeout=10, since=since)
        self.assertEqual(again["command_update"]["status"], "COMMAND_STATUS_FAILED")
        time.sleep(0.5)
        self.assertEqual(self.env.nodetool_calls("tpstats"), 1)

    def test_a_result_produced_while_disconnected_is_sent_after_reconnecting(self):
        self.env.edit_state(lambda st: st.setdefault("faults", {}).update({"tpstats": {"mode": "slow", "seconds": 2}}))
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        self.ctl.push({"id": "d1", "run_nodetool": {"subcommand": "tpstats"}})
        self.ctl.wait("command_update", {"id": "d1", "status": "COMMAND_STATUS_RUNNING"}, timeout=10)
        self.ctl.stop_listening()
        self.ctl.drop(abort=True)
        wait_for(lambda: not self.controller_status()["connected"], 10, "agent sees the drop")
        time.sleep(2.5)  # the command finishes while disconnected
        self.ctl.start_listening()
        upd = self.ctl.wait("command_update", {"id": "d1", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=70)
        self.assertGreater(upd["_conn"], 1)
        self.assertGreaterEqual(self.controller_status()["reconnects"], 1)

    def test_refused_commands_execute_nothing(self):
        self.start_agent(nodetool_interval="1h")
        self.ctl.wait("hello", timeout=10)
        bad = [
            ({"id": "r1", "run_nodetool": {"subcommand": "decommission"}}, "not allowed"),
            ({"id": "r2", "run_nodetool": {"subcommand": "status", "args": ["; rm -rf /"]}}, "refused"),
            ({"id": "r3", "run_nodetool": {"subcommand": "flush", "args": ["$(touch /tmp/pwned)"]}}, "refused"),
            ({"id": "r4", "run_nodetool": {"subcommand": "rebuild", "args": ["dc9"]}}, "not in the ring"),
            ({"id": "r5"}, "unknown or missing command kind"),
            ({"id": "r7", "take_snapshot": {"tag": "../etc"}}, "tag"),
        ]
        for cmd, why in bad:
            self.ctl.push(cmd)
            upd = self.ctl.wait("command_update", {"id": cmd["id"]}, timeout=10)
            self.assertEqual(upd["command_update"]["status"], "COMMAND_STATUS_REJECTED", cmd)
            self.assertIn(why, upd["command_update"]["message"])
        self.ctl.push({"id": "", "run_nodetool": {"subcommand": "status"}})
        upd = self.ctl.wait("command_update", {"status": "COMMAND_STATUS_REJECTED", "message": "command id must be 1 to 128 bytes"}, timeout=10)
        self.assertEqual(upd["command_update"].get("id", ""), "")
        # rebuild's source DC is checked against the ring view: wait for the first one.
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 30, "the ring view")
        self.ctl.push({"id": "r6", "run_nodetool": {"subcommand": "rebuild", "args": ["dc2"]}})
        self.ctl.wait("command_update", {"id": "r6", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=30)
        # Only the valid rebuild ran; the probes' own calls take no arguments.
        self.assertEqual(self.env.nodetool_calls("rebuild"), 1)
        self.assertEqual(self.env.nodetool_calls("decommission"), 0)
        self.assertEqual(self.env.nodetool_calls("flush"), 0)
        with open(self.env.calls) as f:
            self.assertFalse([l for l in f if l.split()[2:3] == ["status"] and len(l.split()) > 3])
        self.assertFalse(os.path.exists("/tmp/pwned"))
        self.assertIsNone(self.env.agent.poll())

    def test_a_burst_of_500_commands_gets_final_statuses_in_order(self):
        self.start_agent(nodetool_interval="1h")
        self.ctl.wait("hello", timeout=10)
        cmds = [{"id": "b%03d" % i, "run_nodetool": {"subcommand": "version"}} for i in range(500)]
        self.ctl.push_many(cmds)
        self.ctl.wait("command_update", {"id": "b499", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=240)
        finals = [r["command_update"]["id"] for r in self.ctl.records("command_update")
                  if r["command_update"].get("status") == "COMMAND_STATUS_SUCCEEDED"]
        self.assertEqual(finals, [c["id"] for c in cmds])
        accepted = [r["command_update"]["id"] for r in self.ctl.records("command_update")
                    if r["command_update"].get("status") == "COMMAND_STATUS_ACCEPTED"]
        self.assertEqual(accepted, [c["id"] for c in cmds])


class Reconnect(ChannelCase):
    def test_controller_down_for_30s_then_back_the_agent_reconnects_and_resumes(self):
        self.start_agent(report_interval="2s")
        self.ctl.wait("hello", timeout=10)
        self.ctl.stop()
        wait_for(lambda: not self.controller_status()["connected"], 10, "disconnect seen")
        time.sleep(30)
        st = self.controller_status()
        self.assertGreaterEqual(st["reconnects"], 3)
        self.assertNotEqual(st["last_error"], "")
        since = int(time.time() * 1000)
        self.ctl.start()
        self.ctl.wait("hello", timeout=65, since=since)  # within the 60 s backoff cap
        self.ctl.wait("health", timeout=10, since=since)
        wait_for(lambda: self.controller_status()["connected"], 5, "connected again")
        self.assertIsNone(self.env.agent.poll())


class CertificateReload(ChannelCase):
    def copy_agent_identity(self, pem, key):
        shutil.copy(pem, os.path.join(self.env.dir, "agent.pem"))
        shutil.copy(key, os.path.join(self.env.dir, "agent.key"))

    def start_with_copied_identity(self):
        self.copy_agent_identity(cert("agent.pem"), cert("agent.key"))
        self.env.write_config(controller=dict(address="127.0.0.1:%d" % self.ctl.port, ca=cert("ca.pem"),
                                              cert=os.path.join(self.env.dir, "agent.pem"),
                                              key=os.path.join(self.env.dir, "agent.key")))
        self.env.start_agent()
        hello = self.ctl.wait("hello", timeout=10)
        # The controller has the Hello; the session starts when the agent has read the Welcome.
        wait_for(lambda: self.controller_status()["connected"], 10, "session established")
        return hello

    def test_sighup_with_a_replaced_certificate_reconnects_with_it(self):
        first = self.start_with_copied_identity()
        time.sleep(1.1)  # a visibly different mtime
        self.copy_agent_identity(cert("node1-chain.pem"), cert("node1.key"))
        since = int(time.time() * 1000)
        self.env.agent.send_signal(signal.SIGHUP)
        hello = self.ctl.wait("hello", timeout=15, since=since)
        self.assertGreater(hello["_conn"], first["_conn"])

    def test_a_replaced_certificate_is_taken_without_sighup(self):
        first = self.start_with_copied_identity()
        time.sleep(1.1)
        since = int(time.time() * 1000)
        self.copy_agent_identity(cert("node1-chain.pem"), cert("node1.key"))
        hello = self.ctl.wait("hello", timeout=45, since=since)  # checked every 30 s
        self.assertGreater(hello["_conn"], first["_conn"])

    def test_garbage_certificate_is_refused_on_sighup_and_the_session_kept_then_a_fix_is_taken(self):
        first = self.start_with_copied_identity()
        with open(os.path.join(self.env.dir, "agent.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
        self.env.agent.send_signal(signal.SIGHUP)
        st = wait_for(lambda: (lambda c: c if "reload refused" in c["last_error"] else None)(self.controller_status()),
                      10, "reload refused")
        self.assertTrue(st["connected"])
        self.assertEqual(len(self.ctl.connections()), 1)
        self.assertEqual(self.ctl.connections()[0]["conn"], first["_conn"])
        time.sleep(1.1)
        self.copy_agent_identity(cert("node1-chain.pem"), cert("node1.key"))
        since = int(time.time() * 1000)
        self.env.agent.send_signal(signal.SIGHUP)
        hello = self.ctl.wait("hello", timeout=15, since=since)
        self.assertGreater(hello["_conn"], first["_conn"])


class BadFrames(ChannelCase):
    def reconnected_after(self, payload, why):
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        since = int(time.time() * 1000)
        self.ctl.send_raw(payload)
        self.ctl.wait("hello", timeout=70, since=since)  # closed, then a fresh session
        wait_for(lambda: why in self.controller_status()["last_error"] or self.controller_status()["connected"],
                 10, why)
        self.assertIsNone(self.env.agent.poll())
        events = [e for e in self.env.ctl("events")["events"] if e["kind"] == "controller_disconnected"]
        self.assertTrue(any(why in e["message"] for e in events), events)

    def test_a_length_prefix_of_four_gibibytes_closes_and_reconnects(self):
        self.reconnected_after(b"\xff\xff\xff\xff", "over the")

    def test_random_bytes_close_and_reconnect(self):
        self.reconnected_after(b"\x00\x00\x00\x08" + bytes(range(200, 208)), "not a valid Envelope")

    def test_a_truncated_frame_then_close_reconnects(self):
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        since = int(time.time() * 1000)
        self.ctl.send_raw(b"\x00\x00\x00\x40\x08\x01", close=True)
        self.ctl.wait("hello", timeout=70, since=since)
        self.assertIsNone(self.env.agent.poll())

    def test_a_second_welcome_is_a_protocol_error(self):
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        since = int(time.time() * 1000)
        self.ctl.send({"welcome": {"controller_id": "again"}})
        self.ctl.wait("hello", timeout=70, since=since)
        events = [e for e in self.env.ctl("events")["events"] if e["kind"] == "controller_disconnected"]
        self.assertTrue(any("Welcome in an established session" in e["message"] for e in events), events)

    def test_an_unknown_oneof_member_gets_an_error_and_the_session_stays(self):
        self.start_agent()
        self.ctl.wait("hello", timeout=10)
        conns = self.ctl.connections()
        # Envelope{seq: 3, field 99: varint 1}: a body this agent does not know.
        self.ctl.send_raw(struct.pack(">I", 5) + b"\x08\x03\x98\x06\x01")
        self.ctl.wait("error", {"message": "unsupported message"}, timeout=10)
        self.ctl.push({"id": "u1", "run_nodetool": {"subcommand": "info"}})
        upd = self.ctl.wait("command_update", {"id": "u1", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=10)
        self.assertEqual(upd["_conn"], conns[-1]["conn"])  # same connection


class TlsRefusals(unittest.TestCase):
    """The agent refuses controllers without a valid certificate, and vice versa: no session."""

    def run_case(self, controller_cert, agent_cert, host, expect, controller_expect=None):
        env = Env()
        self.addCleanup(env.close)
        ctl = Controller(CERTS, os.path.join(env.dir, "record.jsonl"), os.path.join(env.dir, "control.sock"),
                         cert=controller_cert + ".pem", key=controller_cert + ".key")
        self.addCleanup(ctl.stop)
        env.write_config(controller=dict(address="%s:%d" % (host, ctl.port), ca=cert("ca.pem"),
                                         cert=cert(agent_cert + ".pem"), key=cert(agent_cert + ".key")))
        env.start_agent()
        expects = expect if isinstance(expect, tuple) else (expect,)
        st = wait_for(lambda: (lambda c: c if any(e in c["last_error"] for e in expects) else None)(
            env.status()["controller"]), 15, "error %r" % (expects,))
        self.assertFalse(st["connected"])
        time.sleep(0.5)
        self.assertEqual(ctl.records("hello"), [])
        if controller_expect:
            self.assertTrue(ctl.events("tls_handshake_failed"))
        self.assertIsNone(env.agent.poll())

    def test_controller_certificate_from_another_ca(self):
        self.run_case("controller-other-ca", "agent", "127.0.0.1", "certificate refused")

    def test_expired_controller_certificate(self):
        self.run_case("controller-expired", "agent", "127.0.0.1", "certificate has expired")

    def test_controller_certificate_for_another_host(self):
        self.run_case("controller-wronghost", "agent", "127.0.0.1", "mismatch")

    def test_agent_certificate_from_another_ca_is_refused_by_the_controller(self):
        # The controller drops the connection: a clean close, or a reset when the agent's Hello was
        # still unread there.
        self.run_case("controller", "agent-other-ca", "127.0.0.1", ("closed", "reset"), controller_expect=True)

    def test_agent_without_a_certificate_file(self):
        self.run_case("controller", "missing", "127.0.0.1", "cannot load agent certificate")


if __name__ == "__main__":
    unittest.main(verbosity=2)
