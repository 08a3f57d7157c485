#!/usr/bin/python3
"""Self-test of the reference controller (no agent needed): a Python TLS client plays the agent.

    /usr/bin/python3 tests/controller/test_controller_selftest.py [-v]

Makes certificates in a temporary directory, starts controller.py (twice: a default one and one
with short heartbeat timers), and checks the protocol, the control interface, bad input and
restarts. Bounded in time; ends only the processes it started, by PID. Exits non-zero on failure.
"""
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

    def hello(self, address="10.0.1.11"):
        self.send(hello=PB.Hello(agent_version="selftest-1",
                                 node=PB.NodeIdentity(address=address, datacenter="dc1", rack="r1",
                                                      host_id="hid-" + address)))
        env = self.recv()
        assert env.WhichOneof("body") == "welcome", env
        return env

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
