#!/usr/bin/python3
"""Self-test of the reference controller (no agent needed): a Python TLS client plays the agent.

    /usr/bin/python3 tests/controller/test_controller_selftest.py [-v]

Makes certificates in a temporary directory, starts controller.py (a default one, one with short
heartbeat timers, one per lease test), and checks the protocol, the control interface, bad input,
restarts and the lease semantics (one rack at a time, idempotent grants, halting on a failed
release, grant-all mode, a restart keeping the lease table). Bounded in time; ends only the processes it started, by PID. Exits non-zero on failure.
"""
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from client import Controller, ControllerError, ControllerTimeout, decode_bytes, load_pb, make_certs  # noqa: E402
from controller import MAX_FRAME, frame  # noqa: E402

TMP = None
CERTS = None
PB = None
CTL = None


def setUpModule():
    global TMP, CERTS, PB, CTL
    TMP = tempfile.mkdtemp(prefix="controller-selftest-")
    CERTS = make_certs(os.path.join(TMP, "certs"))
    PB = load_pb(os.path.join(TMP, "pb"))
    CTL = Controller(CERTS, os.path.join(TMP, "record.jsonl"), os.path.join(TMP, "control.sock"),
                     pb_dir=os.path.join(TMP, "pb"))


def tearDownModule():
    if CTL is not None:
        CTL.stop()
    if TMP and os.environ.get("KEEP_TMP") != "1":
        shutil.rmtree(TMP, ignore_errors=True)
    elif TMP:
        print("kept", TMP)


class Agent:
    """A fake agent: TLS 1.3 client with a client certificate, speaking the framing."""

    def __init__(self, port, cert="agent", ca="ca.pem", timeout=5):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(os.path.join(CERTS, ca))
        if cert:
            ctx.load_cert_chain(os.path.join(CERTS, cert + ".pem"), os.path.join(CERTS, cert + ".key"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        except Exception:
            raw.close()
            raise
        self.sock.settimeout(timeout)
        self.seq = 0
        self.buf = b""

    def send(self, **body):
        self.seq += 1
        env = PB.Envelope(seq=self.seq, **body)
        self.sock.sendall(frame(env))

    def hello(self, address="10.0.1.11", rack="r1", datacenter="dc1", cluster_name="", lease=None):
        self.node = PB.NodeIdentity(address=address, datacenter=datacenter, rack=rack, host_id="hid-" + address,
                                    cluster_name=cluster_name)
        self.send(hello=PB.Hello(agent_version="selftest-1", node=self.node, lease=lease))
        env = self.recv()
        assert env.WhichOneof("body") == "welcome", env
        return env

    def report(self, ring):
        """A HealthReport with this node's identity and ring: [(address, dc, rack, "UN"), ...]."""
        st = {"U": PB.PEER_STATUS_UP, "D": PB.PEER_STATUS_DOWN}
        sa = {"N": PB.PEER_STATE_NORMAL, "L": PB.PEER_STATE_LEAVING, "J": PB.PEER_STATE_JOINING}
        peers = [PB.Peer(address=a, datacenter=dc, rack=r, status=st[s[0]], state=sa[s[1]]) for a, dc, r, s in ring]
        self.send(health=PB.HealthReport(node=self.node, collected_at_unix_ms=int(time.time() * 1000), ring=peers))

    def request(self, lease_id, kind=None):
        self.send(lease_request=PB.LeaseRequest(lease_id=lease_id, kind=kind or PB.MAINTENANCE_KIND_REBOOT,
                                                datacenter=self.node.datacenter, rack=self.node.rack,
                                                reason="selftest"))

    def answer(self, timeout=5):
        """The next LeaseGrant/LeaseDenied: ("grant", epoch) or ("denied", reason)."""
        env = self.recv(timeout)
        body = env.WhichOneof("body")
        if body == "lease_grant":
            return "grant", env.lease_grant.epoch
        if body == "lease_denied":
            return "denied", env.lease_denied.reason
        raise AssertionError("expected a lease answer, got %s" % env)

    def ask(self, lease_id, timeout=5):
        self.request(lease_id)
        return self.answer(timeout)

    def release(self, lease_id, epoch, success=True, detail=""):
        self.send(lease_release=PB.LeaseRelease(lease_id=lease_id, epoch=epoch, success=success, detail=detail))

    def _read(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=5, skip_pings=True):
        deadline = time.monotonic() + timeout
        while True:
            n = int.from_bytes(self._read(4, deadline), "big")
            env = PB.Envelope()
            env.ParseFromString(self._read(n, deadline))
            if skip_pings and env.WhichOneof("body") == "ping":
                continue
            return env

    def closed_by_peer(self, timeout=5):
        """True once the peer closes (EOF / reset), skipping any frames it sends first."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    return True
        except (ssl.SSLError, ConnectionError, OSError):
            return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class SelfTest(unittest.TestCase):
    def setUp(self):
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.close()

    def agent(self, **kw):
        a = Agent(CTL.port, **kw)
        self.agents.append(a)
        return a

    def test_01_hello_welcome_ping_pong(self):
        t0 = int(time.time() * 1000)
        a = self.agent()
        w = a.hello()
        self.assertEqual(w.welcome.controller_id, "test-controller")
        self.assertEqual(w.seq, 1)
        a.send(ping=PB.Ping(nonce=2 ** 62 + 5))
        p = a.recv()
        self.assertEqual(p.WhichOneof("body"), "pong")
        self.assertEqual(p.pong.nonce, 2 ** 62 + 5)
        self.assertEqual(p.seq, 2)
        rec = CTL.wait("ping", {"nonce": 2 ** 62 + 5}, since=t0)
        self.assertEqual(rec["ping"]["nonce"], 2 ** 62 + 5)   # an int, not proto3-JSON's string
        self.assertEqual(rec["seq"], 2)
        hello = CTL.wait("hello", {"node": {"address": "10.0.1.11"}}, since=t0)
        self.assertEqual(hello["_peer"], "10.0.1.11")
        self.assertIsInstance(hello["_conn"], int)
        conns = CTL.connections()
        me = [c for c in conns if c["conn"] == hello["_conn"]]
        self.assertEqual(len(me), 1)
        self.assertEqual(me[0]["node"]["datacenter"], "dc1")
        self.assertEqual(me[0]["peer"], "10.0.1.11")

    def test_02_push_and_burst(self):
        a = self.agent()
        a.hello()
        r = CTL.push({"id": "c1", "run_nodetool": {"subcommand": "status"}})
        self.assertTrue(r["ok"])
        env = a.recv()
        self.assertEqual(env.command.id, "c1")
        self.assertEqual(env.command.run_nodetool.subcommand, "status")
        self.assertEqual(env.seq, 2)
        cmds = [{"id": "b%03d" % i, "take_snapshot": {"tag": "t%d" % i}} for i in range(500)]
        r = CTL.push_many(cmds)
        self.assertEqual(r["count"], 500)
        got = [a.recv() for _ in range(500)]
        self.assertEqual([e.command.id for e in got], [c["id"] for c in cmds])
        self.assertEqual([e.seq for e in got], list(range(3, 503)))
        # enums by name, maps, and an explicit seq via "send"
        CTL.send({"seq": 999, "command": {"id": "c2", "apply_config": {"set": {"a": "1"}, "force": True}}})
        env = a.recv()
        self.assertEqual((env.seq, env.command.apply_config.set["a"]), (999, "1"))
        CTL.push({"id": "c3", "maintenance": {"kind": "MAINTENANCE_KIND_REBOOT"}})
        env = a.recv()
        self.assertEqual(env.command.maintenance.kind, PB.MAINTENANCE_KIND_REBOOT)
        with self.assertRaises(ControllerError):
            CTL.push({"id": "bad", "no_such_kind": {}})

    def test_03_command_update_recorded_and_waited(self):
        a = self.agent()
        a.hello()
        result = {}
        th = threading.Thread(target=lambda: result.setdefault(
            "env", CTL.wait("command_update", {"id": "u1", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=10)))
        th.start()
        time.sleep(0.3)
        a.send(command_update=PB.CommandUpdate(id="u1", status=PB.COMMAND_STATUS_ACCEPTED))
        a.send(command_update=PB.CommandUpdate(id="u1", status=PB.COMMAND_STATUS_SUCCEEDED, output=b"UN 10.0.1.11\n"))
        th.join(15)
        self.assertFalse(th.is_alive())
        env = result["env"]
        self.assertEqual(env["command_update"]["status"], "COMMAND_STATUS_SUCCEEDED")
        self.assertEqual(decode_bytes(env["command_update"]["output"]), b"UN 10.0.1.11\n")
        # already recorded: found at once
        env2 = CTL.wait("command_update", {"id": "u1", "status": "COMMAND_STATUS_ACCEPTED"}, timeout=1)
        self.assertEqual(env2["_type"], "command_update")
        ups = CTL.records("command_update", {"id": "u1"})
        self.assertEqual([u["command_update"]["status"] for u in ups],
                         ["COMMAND_STATUS_ACCEPTED", "COMMAND_STATUS_SUCCEEDED"])
        with self.assertRaises(ControllerTimeout):
            CTL.wait("command_update", {"id": "never"}, timeout=0.5)
        # health with int64 fields comes back as numbers
        a.send(health=PB.HealthReport(collected_at_unix_ms=1700000000123,
                                      host=PB.HostState(memory_total_bytes=2 ** 40)))
        h = CTL.wait("health", {"collected_at_unix_ms": 1700000000123})
        self.assertEqual(h["health"]["host"]["memory_total_bytes"], 2 ** 40)

    def _handshake_refused(self, **kw):
        t0 = int(time.time() * 1000)
        try:
            a = self.agent(**kw)
        except (ssl.SSLError, ConnectionError, OSError):
            refused = True
        else:
            # TLS 1.3: the client finishes first; the server's refusal arrives as an alert.
            try:
                a.hello()
                refused = False
            except (ssl.SSLError, ConnectionError, OSError, EOFError):
                refused = True
        self.assertTrue(refused, "handshake accepted with %r" % kw)
        ev = CTL.wait_event("tls_handshake_failed", since=t0, timeout=5)
        self.assertIn("error", ev)
        self.assertTrue(CTL.running())

    def test_04_no_client_cert_refused(self):
        self._handshake_refused(cert=None)

    def test_05_other_ca_client_cert_refused(self):
        self._handshake_refused(cert="agent-other-ca")

    def test_06_oversized_frame_closes_connection(self):
        a = self.agent()
        a.hello()
        t0 = int(time.time() * 1000)
        a.sock.sendall(b"\xff\xff\xff\xff")
        self.assertTrue(a.closed_by_peer(5))
        ev = CTL.wait_event("protocol_error", since=t0)
        self.assertIn("exceeds %d" % MAX_FRAME, ev["error"])
        b = self.agent()            # still serving
        b.hello()

    def test_07_first_frame_must_be_hello(self):
        a = self.agent()
        t0 = int(time.time() * 1000)
        a.send(ping=PB.Ping(nonce=1))
        env = a.recv()
        self.assertEqual(env.WhichOneof("body"), "error")
        self.assertTrue(a.closed_by_peer(5))
        CTL.wait_event("protocol_error", {"error": "first frame must be hello, got ping"}, since=t0)

    def test_08_garbage_frame(self):
        a = self.agent()
        a.hello()
        t0 = int(time.time() * 1000)
        a.sock.sendall(b"\x00\x00\x00\x05\xff\xff\xff\xff\xff")
        self.assertTrue(a.closed_by_peer(5))
        CTL.wait_event("protocol_error", since=t0)

    def test_09_send_raw_and_drop(self):
        a = self.agent()
        a.hello()
        CTL.send_raw(b"\xff\xff\xff\xff")
        self.assertEqual(a._read(4, time.monotonic() + 5), b"\xff\xff\xff\xff")
        n = len(CTL.connections())
        self.assertGreaterEqual(n, 1)
        dropped = CTL.drop()
        self.assertGreaterEqual(len(dropped), 1)
        self.assertTrue(a.closed_by_peer(5))
        deadline = time.monotonic() + 5
        while CTL.connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(CTL.connections(), [])
        with self.assertRaises(ControllerError):
            CTL.push({"id": "nobody"})
        self.assertEqual(CTL.push({"id": "nobody"}, check=False)["error"], "no agent connected")

    def test_10_several_agents_and_targeted_push(self):
        t0 = int(time.time() * 1000)
        agents = [self.agent() for _ in range(3)]
        for i, a in enumerate(agents):
            a.hello(address="10.0.1.%d" % (21 + i))
        h = CTL.wait("hello", {"node": {"address": "10.0.1.22"}}, since=t0)
        CTL.push({"id": "to-22", "pause_maintenance": {"paused": True}}, conn=h["_conn"])
        env = agents[1].recv()
        self.assertEqual(env.command.id, "to-22")
        CTL.push({"id": "newest"})
        self.assertEqual(agents[2].recv().command.id, "newest")
        addrs = sorted(c["node"]["address"] for c in CTL.connections())
        self.assertEqual(addrs, ["10.0.1.21", "10.0.1.22", "10.0.1.23"])

    def test_11_stop_and_start_listening(self):
        CTL.stop_listening()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", CTL.port), timeout=2).close()
        CTL.start_listening()
        self.agent().hello()

    def test_12_restart_same_port(self):
        port = CTL.port
        a = self.agent()
        a.hello()
        old_pid = CTL.pid
        CTL.restart()
        self.assertEqual(CTL.port, port)
        self.assertNotEqual(CTL.pid, old_pid)
        self.assertTrue(a.closed_by_peer(5))
        b = self.agent()
        b.hello()
        self.assertTrue(os.path.exists(CTL.control_path))
        self.assertGreaterEqual(len(CTL.events("listening")), 2)   # record file is appended


class HeartbeatTest(unittest.TestCase):
    def setUp(self):
        d = os.path.join(TMP, "hb")
        os.makedirs(d, exist_ok=True)
        self.ctl = Controller(CERTS, os.path.join(d, "record.jsonl"), os.path.join(d, "control.sock"),
                              pb_dir=os.path.join(TMP, "pb"), ping_interval=0.5, silence_timeout=2)

    def tearDown(self):
        self.ctl.stop()

    def test_controller_pings_and_closes_silent_connections(self):
        a = Agent(self.ctl.port)
        try:
            a.hello()
            t = time.monotonic()
            ping = a.recv(timeout=3, skip_pings=False)
            self.assertEqual(ping.WhichOneof("body"), "ping")
            self.assertEqual(ping.seq, 2)
            # silent since the hello: closed after ~2 s
            self.assertTrue(a.closed_by_peer(5))
            self.assertLess(time.monotonic() - t, 4.5)
            self.ctl.wait_event("silence_timeout")
        finally:
            a.close()
        # a connection that answers stays up past the timeout
        b = Agent(self.ctl.port)
        try:
            b.hello()
            end = time.monotonic() + 3
            while time.monotonic() < end:
                env = b.recv(timeout=2, skip_pings=False)
                if env.WhichOneof("body") == "ping":
                    b.send(pong=PB.Pong(nonce=env.ping.nonce))
            self.assertEqual(len(self.ctl.connections()), 1)
            self.ctl.wait("pong")
        finally:
            b.close()

    def test_sigterm_exits_cleanly(self):
        a = Agent(self.ctl.port)
        try:
            a.hello()
            rc = self.ctl.stop()
            self.assertEqual(rc, 0)
            self.assertFalse(os.path.exists(self.ctl.control_path))
            self.assertTrue(a.closed_by_peer(3))
            self.assertEqual(self.ctl.events()[-1]["_event"], "stopped")
        finally:
            a.close()


# --- leases ---------------------------------------------------------------------------------

NODES = [("10.0.1.1", "rack1"), ("10.0.1.2", "rack1"), ("10.0.2.1", "rack2"), ("10.0.2.2", "rack2"),
         ("10.0.3.1", "rack3")]


class LeaseTest(unittest.TestCase):
    """Lease semantics with fake agents; a controller of its own per test (lease state file)."""
    extra = {}

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lease-", dir=TMP)
        self.state = os.path.join(self.dir, "leases.json")
        self.ctl = Controller(CERTS, os.path.join(self.dir, "record.jsonl"), os.path.join(self.dir, "control.sock"),
                              pb_dir=os.path.join(TMP, "pb"), lease_state=self.state, lease_retry_ms=250,
                              **self.extra)
        self.addCleanup(self.ctl.stop)
        self.agents = {}
        self.down = set()

    def tearDown(self):
        for a in self.agents.values():
            a.close()

    def connect(self, addr, lease=None, cluster="c1"):
        old = self.agents.pop(addr, None)
        if old:
            old.close()
        a = Agent(self.ctl.port)
        a.hello(address=addr, rack=dict(NODES)[addr], cluster_name=cluster, lease=lease)
        self.agents[addr] = a
        return a

    def ring(self):
        return [(a, "dc1", r, "DN" if a in self.down else "UN") for a, r in NODES]

    def report_all(self, ring=None):
        """Every connected agent reports; returns once the controller recorded them all."""
        t0 = int(time.time() * 1000)
        for a in self.agents.values():
            a.report(ring or self.ring())
        self.ctl.wait("health", since=t0, count=len(self.agents), timeout=5)

    def start_cluster(self):
        for addr, _ in NODES:
            self.connect(addr)
        self.report_all()
        return self.agents

    def test_two_racks_at_once_one_granted_next_rack_after_success_and_healthy_ring(self):
        ag = self.start_cluster()
        ag["10.0.1.1"].request("L11")
        ag["10.0.2.1"].request("L21")           # at once: one wins, the other waits
        answers = {"10.0.1.1": ag["10.0.1.1"].answer(), "10.0.2.1": ag["10.0.2.1"].answer()}
        granted = [a for a, r in answers.items() if r[0] == "grant"]
        self.assertEqual(len(granted), 1, answers)
        w = granted[0]
        lo = "10.0.2.1" if w == "10.0.1.1" else "10.0.1.1"
        wrack, lrack = dict(NODES)[w], dict(NODES)[lo]
        mate = {"10.0.1.1": "10.0.1.2", "10.0.2.1": "10.0.2.2"}[w]
        wid, lid, mid = "L" + w.split(".")[2] + "1", "L" + lo.split(".")[2] + "1", "L" + mate.split(".")[2] + "2"
        e1 = answers[w][1]
        self.assertGreater(e1, 0)
        self.assertEqual(answers[lo][0], "denied")
        self.assertIn("rack %s/%s is in maintenance" % ("dc1", wrack), answers[lo][1])
        # every node of the current rack that asks gets a lease, with a fresh epoch
        kind, e2 = ag[mate].ask(mid)
        self.assertEqual(kind, "grant")
        self.assertGreater(e2, e1)
        # same lease_id again from the holder: the same grant
        self.assertEqual(ag[w].ask(wid), ("grant", e1))
        # another rack still waits while any lease of the current rack is held
        self.assertEqual(ag[lo].ask(lid)[0], "denied")
        ag[w].release(wid, e1, True, "ok")
        self.ctl.wait_event("lease_released", {"lease_id": wid})
        k, reason = ag[lo].ask(lid)
        self.assertEqual(k, "denied")
        self.assertIn("in maintenance", reason)
        ag[mate].release(mid, e2, True, "ok")
        self.ctl.wait_event("lease_released", {"lease_id": mid})
        # all released, but the reports predate the release
        k, reason = ag[lo].ask(lid)
        self.assertEqual(k, "denied")
        self.assertIn("predates the last release", reason)
        # fresh reports, one of them sees a node down
        self.down = {"10.0.3.1"}
        self.report_all()
        k, reason = ag[lo].ask(lid)
        self.assertEqual(k, "denied")
        self.assertIn("sees 10.0.3.1 DN", reason)
        # healthy reports, but one node is not connected
        self.down = set()
        self.agents.pop("10.0.3.1").close()
        deadline = time.monotonic() + 5
        while len(self.ctl.connections()) != 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.report_all()
        k, reason = ag[lo].ask(lid)
        self.assertEqual(k, "denied")
        self.assertIn("10.0.3.1 has no connected agent", reason)
        # it comes back and reports: the next rack gets its lease
        self.connect("10.0.3.1")
        k, reason = ag[lo].ask(lid)
        self.assertEqual(k, "denied")
        self.assertIn("has not reported", reason)
        self.report_all()
        k, e3 = ag[lo].ask(lid)
        self.assertEqual(k, "grant")
        self.assertGreater(e3, e2)
        table = self.ctl.leases()
        self.assertEqual(table["current_rack"], {"datacenter": "dc1", "rack": lrack})
        self.assertEqual(table["epoch"], e3)
        self.assertEqual(table["cluster_name"], "c1")
        states = {l["lease_id"]: (l["state"], l["epoch"], l["node"]) for l in table["leases"]}
        self.assertEqual(states, {wid: ("released", e1, w), mid: ("released", e2, mate), lid: ("granted", e3, lo)})
        # the timeline a test builds from the record file
        ev = self.ctl.lease_events()
        grants = [(e["lease_id"], e["node"], e["rack"], e["epoch"]) for e in ev
                  if e["_event"] == "lease_granted" and not e["repeat"]]
        self.assertEqual(grants, [(wid, w, wrack, e1), (mid, mate, wrack, e2), (lid, lo, lrack, e3)])
        rel = [(e["lease_id"], e["success"], e["epoch"]) for e in ev if e["_event"] == "lease_released"]
        self.assertEqual(rel, [(wid, True, e1), (mid, True, e2)])
        denied = [e for e in ev if e["_event"] == "lease_denied"]
        self.assertTrue(all(e["node"] == lo and e["rack"] == lrack and e["reason"] for e in denied), denied)
        # the rack of the current lease keeps getting leases; the old rack waits again
        k, _ = ag[w].ask("L-new-" + w)
        self.assertEqual(k, "denied")

    def test_failed_release_halts_until_clear_rack(self):
        ag = self.start_cluster()
        k, e1 = ag["10.0.1.1"].ask("A")
        self.assertEqual(k, "grant")
        ag["10.0.1.1"].release("A", e1, False, "unit did not become active")
        ev = self.ctl.wait_event("lease_released", {"lease_id": "A"})
        self.assertEqual((ev["success"], ev["outcome"], ev["reason"]), (False, "failed", "unit did not become active"))
        self.report_all()
        for addr, lid in (("10.0.2.1", "B"), ("10.0.1.2", "A2")):
            k, reason = ag[addr].ask(lid)
            self.assertEqual(k, "denied", addr)
            self.assertIn("rollout halted", reason)
            self.assertIn("unit did not become active", reason)
        self.assertTrue(self.ctl.leases()["halted"])
        # a release with a wrong epoch or of an unknown lease changes nothing
        ag["10.0.1.1"].release("A", e1 + 5, True)
        self.ctl.wait_event("lease_release_rejected", {"lease_id": "A"})
        self.assertEqual(self.ctl.clear_rack("dc1", "rack2"), [])
        self.assertEqual(self.ctl.clear_rack("dc1", "rack1"), ["A"])
        self.ctl.wait_event("rack_cleared", {"rack": "rack1"})
        t = self.ctl.leases()
        self.assertFalse(t["halted"])
        self.assertIsNone(t["current_rack"])
        self.report_all()
        k, e2 = ag["10.0.2.1"].ask("B")
        self.assertEqual(k, "grant")
        self.assertGreater(e2, e1)

    def test_grant_all_mode_grants_every_request_with_fresh_epochs(self):
        ag = self.start_cluster()
        self.ctl.set_mode(grant_all=True)
        self.down = {"10.0.2.2"}
        self.report_all()
        epochs = []
        for addr in ("10.0.1.1", "10.0.2.1", "10.0.3.1"):
            k, e = ag[addr].ask("G-" + addr)
            self.assertEqual(k, "grant", addr)
            epochs.append(e)
        self.assertEqual(epochs, sorted(set(epochs)))
        self.assertEqual(ag["10.0.2.1"].ask("G-10.0.2.1"), ("grant", epochs[1]))   # still idempotent
        evs = [e for e in self.ctl.lease_events() if e["_event"] == "lease_granted"]
        self.assertTrue(all(e["grant_all"] for e in evs))
        t = self.ctl.leases()
        self.assertTrue(t["grant_all"])
        self.assertEqual(t["held"], 3)
        # back to normal: three racks hold leases, nothing more is granted
        self.ctl.set_mode(grant_all=False)
        k, reason = ag["10.0.1.2"].ask("N")
        self.assertEqual(k, "denied")
        self.assertIn("in maintenance", reason)

    def test_grant_all_command_line_flag(self):
        self.ctl.stop()
        self.ctl.grant_all = True
        self.ctl.start()
        self.assertTrue(self.ctl.leases()["grant_all"])
        a = self.connect("10.0.2.1")          # no report at all: health is ignored
        self.assertEqual(a.ask("X")[0], "grant")
        b = self.connect("10.0.1.1")
        self.assertEqual(b.ask("Y")[0], "grant")

    def test_manual_mode_only_records(self):
        self.ctl.set_mode(manual=True)
        ag = self.start_cluster()
        ag["10.0.1.1"].request("M")
        self.ctl.wait("lease_request", {"lease_id": "M"})
        with self.assertRaises((socket.timeout, ssl.SSLError, TimeoutError)):
            ag["10.0.1.1"].recv(timeout=0.7)
        self.assertEqual(self.ctl.leases()["leases"], [])

    def test_lease_id_of_another_node_refused(self):
        ag = self.start_cluster()
        k, e = ag["10.0.1.1"].ask("SAME")
        self.assertEqual(k, "grant")
        k, reason = ag["10.0.1.2"].ask("SAME")
        self.assertEqual(k, "denied")
        self.assertIn("belongs to node 10.0.1.1", reason)
        ag["10.0.1.2"].release("SAME", e, True)
        ev = self.ctl.wait_event("lease_release_rejected", {"lease_id": "SAME"})
        self.assertIn("belongs to node 10.0.1.1", ev["reason"])
        self.assertEqual(self.ctl.leases()["held"], 1)
        # released: the id is spent, even for its owner
        ag["10.0.1.1"].release("SAME", e, True)
        self.ctl.wait_event("lease_released", {"lease_id": "SAME"})
        k, reason = ag["10.0.1.1"].ask("SAME")
        self.assertEqual(k, "denied")
        self.assertIn("already released", reason)

    def test_other_cluster_denied(self):
        self.start_cluster()
        a = self.connect("10.0.2.2", cluster="another")
        k, reason = a.ask("O")
        self.assertEqual(k, "denied")
        self.assertIn("serves cluster 'c1'", reason)

    def test_restart_keeps_table_and_epochs(self):
        ag = self.start_cluster()
        _, e1 = ag["10.0.1.1"].ask("R1")
        _, e2 = ag["10.0.1.2"].ask("R2")
        self.assertLess(e1, e2)
        before = self.ctl.leases()
        self.ctl.restart()
        after = self.ctl.leases()
        for k in ("epoch", "current_rack", "leases", "cluster_name"):
            self.assertEqual(after[k], before[k], k)
        with open(self.state) as f:
            d = json.load(f)
        self.assertEqual((d["format"], d["epoch"], sorted(d["leases"])), (1, e2, ["R1", "R2"]))
        # the holder reconnects with Hello.lease and keeps its lease
        t0 = int(time.time() * 1000)
        a = self.connect("10.0.1.1", lease=PB.LeaseState(lease_id="R1", phase="DRAINING", epoch=e1))
        self.ctl.wait_event("lease_resumed", {"lease_id": "R1", "epoch": e1}, since=t0)
        self.assertEqual(a.ask("R1"), ("grant", e1))
        for addr, _ in NODES:
            if addr != "10.0.1.1":
                self.connect(addr)
        self.report_all()
        # the controller did not forget: another rack still waits, the same rack goes on
        k, reason = self.agents["10.0.2.1"].ask("R3")
        self.assertEqual(k, "denied")
        self.assertIn("rack dc1/rack1 is in maintenance", reason)
        k, e3 = self.agents["10.0.1.2"].ask("R4")     # R2 is its held lease; a new id is a new lease
        self.assertEqual(k, "grant")
        self.assertGreater(e3, e2)
        # a controller that lost its table adopts a held lease from a Hello, epochs continue above it
        self.ctl.stop()
        os.unlink(self.state)
        self.ctl.start()
        t0 = int(time.time() * 1000)
        self.connect("10.0.1.1", lease=PB.LeaseState(lease_id="R1", phase="REBOOTING", epoch=e1))
        self.ctl.wait_event("lease_adopted", {"lease_id": "R1"}, since=t0)
        t = self.ctl.leases()
        self.assertEqual(t["epoch"], e1)
        self.assertEqual(t["current_rack"], {"datacenter": "dc1", "rack": "rack1"})
        k, e = self.connect("10.0.1.2").ask("R5")
        self.assertEqual(k, "grant")
        self.assertGreater(e, e1)

    def test_bad_lease_state_file_refused(self):
        self.ctl.stop()
        with open(self.state, "w") as f:
            f.write('{"format": 99}')
        with self.assertRaises(ControllerError):
            self.ctl.start()
        self.assertIn("not a lease state file", self.ctl.log_tail())


def main():
    started = time.monotonic()
    verbosity = 2 if "-v" in sys.argv else 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(res.failures) + len(res.errors)
    print("controller selftest: %d run, %d passed, %d failed, %.1fs" % (
        res.testsRun, res.testsRun - failed - len(res.skipped), failed, time.monotonic() - started))
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
