#!/usr/bin/python3
"""Integration tests of the walking skeleton: the real cassandra-agent and cassandra-agentctl
against the fake nodetool, a private D-Bus with dbusmock's systemd, and a CQL responder."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AGENT, AGENTCTL, TIME_SCALE, Env, wait_for  # noqa: E402


def peer(status, address):
    return next(p for p in status["ring"] if p["address"] == address)


class AgentLifecycle(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)

    def test_ready_then_status_shows_the_six_node_two_dc_ring(self):
        self.env.start_agent()
        st = wait_for(lambda: (lambda s: s if len(s["ring"]) == 6 and s["node"]["host_id"] else None)(
            self.env.status()), 10, "6-node ring and this node's host id")
        self.assertEqual(sorted({p["datacenter"] for p in st["ring"]}), ["dc1", "dc2"])
        self.assertEqual({p["status"] for p in st["ring"]}, {"PEER_STATUS_UP"})
        self.assertEqual({p["state"] for p in st["ring"]}, {"PEER_STATE_NORMAL"})
        self.assertEqual(st["node"]["datacenter"], "dc1")
        self.assertEqual(st["node"]["address"], "10.0.1.11")
        st = wait_for(lambda: (lambda s: s if s["cassandra"]["version"] and s["cassandra"]["cql_probe_ok"]
                               and s["cassandra"]["unit_active_state"] == "active" else None)(self.env.status()),
                      10, "version, CQL probe and unit state")
        self.assertEqual(st["cassandra"]["version"], "4.1.8")
        self.assertGreater(st["cassandra"]["cql_probe_latency_ms"], 0)
        self.assertEqual(st["node"]["cluster_name"], "prod-cluster")
        self.assertEqual(st["conditions"], [])
        self.assertEqual(len(st["host"]["disks"]), 1)
        self.assertGreater(st["host"]["memory_total_bytes"], 0)
        # The human table groups by datacenter and rack.
        out = self.env.ctl("ring", json_out=False).stdout
        self.assertIn("Datacenter: dc1", out)
        self.assertIn("Rack: rack2", out)
        self.assertIn("UN  10.0.2.23", out)
        out = self.env.ctl("status", json_out=False).stdout
        self.assertIn("Conditions (0)", out)
        self.assertIn("Ring (6 nodes)", out)
        # STATUS= tells systemd what the agent sees.
        wait_for(lambda: any(m.startswith("STATUS=") and "ring 6/6 up" in m for m in self.env.notify.messages)
                 or self.env.notify.poll(), 10, "STATUS= line")

    def test_a_peer_marked_down_shows_in_ring_and_conditions_within_an_interval(self):
        self.env.start_agent()
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "ring")

        def down(st):
            for n in st["nodes"]:
                if n["address"] == "10.0.2.22":
                    n["status"] = "D"
        calls0 = self.env.nodetool_calls("status")
        self.env.edit_state(down)
        st = wait_for(lambda: (lambda s: s if peer(s, "10.0.2.22")["status"] == "PEER_STATUS_DOWN"
                               and s["conditions"] else None)(self.env.status()), 15, "peer down")
        # Within one interval, counted in nodetool rounds rather than seconds (a loaded machine
        # stretches rounds): the call in flight at the edit may have read the old state, the next
        # one shows the peer down, and one more may have started while this test looked.
        self.assertLessEqual(self.env.nodetool_calls("status") - calls0, 3)
        cond = [c for c in st["conditions"] if c["code"] == "PEER_DOWN"]
        self.assertEqual(len(cond), 1)
        self.assertEqual(cond[0]["subject"], "10.0.2.22")
        self.assertEqual(cond[0]["severity"], "SEVERITY_WARNING")
        out = self.env.ctl("ring", json_out=False).stdout
        self.assertIn("DN  10.0.2.22", out)
        events = self.env.ctl("events")["events"]
        self.assertTrue(any(e["kind"] == "peer_down" and e["subject"] == "10.0.2.22" for e in events))

    def test_stopping_the_unit_raises_unit_inactive(self):
        self.env.start_agent()
        wait_for(lambda: self.env.status()["cassandra"]["unit_active_state"] == "active", 10, "unit active")
        self.env.unit("stop")
        c = wait_for(lambda: self.env.conditions("UNIT_INACTIVE"), 5, "UNIT_INACTIVE")
        self.assertEqual(c[0]["subject"], "cassandra.service")
        self.assertEqual(c[0]["severity"], "SEVERITY_CRITICAL")
        self.env.unit("start")
        wait_for(lambda: not self.env.conditions("UNIT_INACTIVE"), 5, "UNIT_INACTIVE cleared")

    def test_sighup_with_a_broken_config_keeps_the_old_one(self):
        self.env.start_agent()
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "ring")
        with open(self.env.config, "a") as f:
            f.write("snapshots: { intervall: 4h }\n")
        self.env.notify.messages.clear()
        self.env.agent.send_signal(signal.SIGHUP)
        wait_for(lambda: self.env.notify.seen("RELOADING=1") and self.env.notify.seen("READY=1"), 5,
                 "RELOADING=1 then READY=1")
        self.assertIsNone(self.env.agent.poll())
        wait_for(lambda: "reload refused" in self.env.log(), 5, "error logged")
        self.assertIn("intervall", self.env.log())
        self.assertEqual(len(self.env.status()["ring"]), 6)  # still serving with the old config
        events = self.env.ctl("events")["events"]
        self.assertTrue(any(e["kind"] == "config_reload_failed" for e in events))

    def test_sighup_with_a_good_config_applies_it(self):
        self.env.start_agent()
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "ring")
        text = self.env.config_text().replace("rack: rack1", "rack: rack3")
        with open(self.env.config, "w") as f:
            f.write(text)
        self.env.agent.send_signal(signal.SIGHUP)
        wait_for(lambda: self.env.status()["node"]["rack"] == "rack3", 5, "new rack after reload")

    def test_watchdog_is_kicked_at_half_the_interval(self):
        self.env.start_agent(extra_env={"WATCHDOG_USEC": "400000"})
        self.env.notify.poll()
        self.env.notify.messages.clear()
        t0 = time.monotonic()
        time.sleep(1.5)
        self.env.notify.poll()
        elapsed = time.monotonic() - t0
        kicks = self.env.notify.messages.count("WATCHDOG=1")
        # Every 200 ms: about elapsed / 0.2 kicks (one may have been queued before the clear).
        # The lower bound leaves room for a loop held up by a loaded machine and stays above
        # 2.5 kicks/s, one per whole interval, which is where systemd would kill the agent.
        self.assertGreaterEqual(kicks, int(0.6 * elapsed / 0.2))
        self.assertLessEqual(kicks, int(elapsed / 0.2) + 2)

    def test_socket_gets_the_configured_group(self):
        import grp
        self.env.write_config(extra="")
        with open(self.env.config) as f:
            text = f.read().replace('group: ""', "group: daemon")
        with open(self.env.config, "w") as f:
            f.write(text)
        self.env.start_agent()
        st = os.stat(self.env.socket)
        self.assertEqual(st.st_gid, grp.getgrnam("daemon").gr_gid)
        self.assertEqual(st.st_mode & 0o777, 0o660)

    def test_sigterm_sends_stopping_and_exits_zero(self):
        self.env.start_agent()
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "ring")
        rc = self.env.stop_agent(signal.SIGTERM)
        self.assertEqual(rc, 0, self.env.log())
        self.assertTrue(self.env.notify.seen("STOPPING=1"))
        self.assertFalse(os.path.exists(self.env.socket))

    def test_sigint_also_stops_gracefully_while_nodetool_hangs(self):
        self.env.edit_state(lambda st: st.setdefault("faults", {}).update({"*": {"mode": "hang"}}))
        self.env.start_agent()
        wait_for(lambda: self.env.nodetool_calls() >= 1, 5, "a nodetool call")
        time.sleep(0.3)
        rc = self.env.stop_agent(signal.SIGINT)
        self.assertEqual(rc, 0, self.env.log())


class StateDirectory(unittest.TestCase):
    def test_an_unusable_state_directory_is_reported_and_the_agent_keeps_serving(self):
        env = Env()
        self.addCleanup(env.close)
        blocker = os.path.join(env.dir, "not-a-directory")
        open(blocker, "w").close()
        with open(env.config) as f:
            text = f.read().replace("state_directory: %s" % env.dir, "state_directory: %s/state" % blocker)
        with open(env.config, "w") as f:
            f.write(text)
        env.start_agent()
        c = wait_for(lambda: [c for c in env.status()["conditions"] if c["code"] == "STATE_DIRECTORY_FAILED"], 10,
                     "condition")
        self.assertEqual(c[0]["severity"], "SEVERITY_CRITICAL")
        self.assertIn("not-a-directory", c[0]["subject"])
        wait_for(lambda: len(env.status()["ring"]) == 6, 10, "still probing and serving")
        r = env.ctl("snapshot", "take", json_out=False, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("journal is unavailable", r.stderr)


class Metrics(unittest.TestCase):
    def test_textfile_is_written_and_follows_the_format(self):
        env = Env()
        self.addCleanup(env.close)
        mdir = os.path.join(env.dir, "textfile")
        os.mkdir(mdir)
        env.write_config(extra="metrics: { textfile_directory: %s }" % mdir)
        env.start_agent()
        prom = os.path.join(mdir, "cassandra_agent.prom")
        wait_for(lambda: os.path.exists(prom) and "cassandra_agent_peers" in open(prom).read(), 10, "textfile")
        wait_for(lambda: 'cassandra_agent_peers{status="up"} 6' in open(prom).read(), 40, "six peers up")
        checker = os.path.join(os.path.dirname(__file__), "check_textfile.py")
        r = subprocess.run(["/usr/bin/python3", checker, "--require", "cassandra_agent_up", prom],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([f for f in os.listdir(mdir) if f.startswith(".")], [])  # no temp left


class NodetoolFaults(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)

    def set_fault(self, mode, sub="*", **kw):
        f = dict(mode=mode, **kw)
        self.env.edit_state(lambda st: st.setdefault("faults", {}).update({sub: f}))

    def test_hanging_nodetool_is_killed_at_the_timeout_and_the_socket_keeps_answering(self):
        self.set_fault("hang")
        # The reply bound below is half the hang, whatever CA_TIME_SCALE.
        self.env.write_config(nodetool_timeout="%ds" % max(2, round(2 * TIME_SCALE)))
        self.env.start_agent()
        # While nodetool hangs, status replies come at once.
        for _ in range(20):
            t0 = time.monotonic()
            self.env.ctl("version")
            self.assertLess(time.monotonic() - t0, 1.0 * TIME_SCALE)
            time.sleep(0.05)
        c = wait_for(lambda: self.env.conditions("NODETOOL_FAILED"), 8, "NODETOOL_FAILED after the timeout")
        self.assertIn("timed out", c[0]["message"])
        # The hung process group was killed: no fake_nodetool of ours is left running.
        out = subprocess.run(["pgrep", "-f", self.env.state], capture_output=True, text=True).stdout.split()
        live = [p for p in out if int(p) != os.getpid()]
        self.assertLessEqual(len(live), 1, "more than the current call still running: %s" % live)

    def test_nodetool_exiting_one_raises_nodetool_failed_and_recovery_clears_it(self):
        self.set_fault("fail")
        self.env.start_agent()
        c = wait_for(lambda: self.env.conditions("NODETOOL_FAILED"), 8, "NODETOOL_FAILED")
        self.assertIn("exit status", c[0]["message"])
        self.env.edit_state(lambda st: st.pop("faults", None))
        wait_for(lambda: not self.env.conditions("NODETOOL_FAILED"), 8, "NODETOOL_FAILED cleared")

    def test_garbage_output_is_reported_not_parsed_into_the_ring(self):
        self.set_fault("garbage", sub="status")
        self.env.start_agent()
        c = wait_for(lambda: self.env.conditions("NODETOOL_FAILED"), 8, "NODETOOL_FAILED")
        self.assertEqual(c[0]["subject"], "status")
        self.assertIn("unparseable", c[0]["message"])
        self.assertEqual(self.env.status()["ring"], [])
        self.assertIsNone(self.env.agent.poll())


class BusAndCql(unittest.TestCase):
    def test_dbus_unreachable_is_reported_and_retried(self):
        env = Env(bus=False)
        self.addCleanup(env.close)
        busdir = os.path.join(env.dir, "bus")
        env.bus_address = "unix:path=%s/bus" % busdir
        env.start_agent()
        c = wait_for(lambda: env.conditions("SYSTEMD_UNREACHABLE"), 5, "SYSTEMD_UNREACHABLE")
        self.assertEqual(c[0]["subject"], "cassandra.service")
        env.start_bus(busdir)  # the bus appears at the address the agent keeps trying
        wait_for(lambda: env.status()["cassandra"]["unit_active_state"] == "active", 10, "unit active after retry")
        self.assertEqual(env.conditions("SYSTEMD_UNREACHABLE"), [])

    def test_cql_port_closed_raises_cql_probe_failed(self):
        env = Env(cql=False)
        self.addCleanup(env.close)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        env.cql_port = s.getsockname()[1]
        s.close()
        env.write_config()
        env.start_agent()
        c = wait_for(lambda: env.conditions("CQL_PROBE_FAILED"), 5, "CQL_PROBE_FAILED")
        self.assertEqual(c[0]["severity"], "SEVERITY_CRITICAL")
        self.assertFalse(env.status()["cassandra"]["cql_probe_ok"])


class SocketClients(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)
        self.env.start_agent()

    def connect(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.env.socket)
        self.addCleanup(s.close)
        return s

    def test_agentctl_output_cut_short_is_a_failure(self):
        with open("/dev/full", "w") as full:
            r = subprocess.run([AGENTCTL, "--socket", self.env.socket, "status"], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot write to standard output", r.stderr)

    def test_garbage_gets_an_error_and_the_client_can_go_on(self):
        s = self.connect()
        s.sendall(b"\x00\xff\xfegarbage\x07\n")
        f = s.makefile("rb")
        self.assertIn(b'"error"', f.readline())
        s.sendall(b"version\n")
        self.assertIn(b'"agent_version"', f.readline())

    def test_a_one_mebibyte_line_is_refused_and_others_are_served(self):
        idle = self.connect()  # connects and says nothing
        big = self.connect()
        done = threading.Event()

        def send_big():
            try:
                big.sendall(b"x" * (1 << 20) + b"\n")
            except OSError:
                pass
            done.set()
        threading.Thread(target=send_big, daemon=True).start()
        f = big.makefile("rb")
        self.assertIn(b"line too long", f.readline())
        try:  # then closed: EOF, or a reset since the rest of our line was never read
            self.assertEqual(f.readline(), b"")
        except ConnectionResetError:
            pass
        done.wait(5)
        r = self.env.ctl("status")
        self.assertIn("ring", r)
        idle.sendall(b"version\n")
        self.assertIn(b'"agent_version"', idle.makefile("rb").readline())

    def test_200_clients_at_once_with_10_idle_are_all_served(self):
        idle = [self.connect() for _ in range(10)]
        busy = [self.connect() for _ in range(190)]
        for s in busy:
            s.sendall(b"version\n")
        for s in busy:
            self.assertIn(b'"agent_version"', s.makefile("rb").readline())
        for s in idle:
            s.sendall(b"version\n")
            self.assertIn(b'"agent_version"', s.makefile("rb").readline())

    def test_unknown_command_exit_code_and_message(self):
        r = self.env.ctl("frobnicate", json_out=False, check=False)
        self.assertEqual(r.returncode, 2)
        r = self.env.ctl("certs")
        self.assertIn("certificates", r)

    def test_agentctl_without_daemon_fails_clearly(self):
        r = subprocess.run([AGENTCTL, "--socket", self.env.dir + "/nope.sock", "status"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect", r.stderr)


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.env = Env(bus=False, cql=False)
        self.addCleanup(self.env.close)

    def check(self, text):
        path = os.path.join(self.env.dir, "bad.yaml")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([AGENT, "--config", path, "--check-config"], capture_output=True, text=True), path

    def test_good_config_and_example_pass(self):
        r = subprocess.run([AGENT, "--config", self.env.config, "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        example = os.path.join(os.path.dirname(AGENT), "..", "conf", "agent.yaml")
        example = os.path.join(os.environ.get("PROJECT_ROOT", ""), "conf", "agent.yaml") \
            if os.environ.get("PROJECT_ROOT") else example
        r = subprocess.run([AGENT, "--config", example, "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_configs_are_refused_with_path_line_col(self):
        cases = [
            ("node: {datacenter: dc1\n", 2),              # syntax error (unclosed flow mapping)
            ("snapshots:\n  intervall: 4h\n", 2),         # unknown key
            ("cassandra:\n  native_port: [1]\n", 2),      # wrong type
            ("health:\n  probe_interval: -5s\n", 2),      # negative duration
        ]
        for text, line in cases:
            r, path = self.check(text)
            self.assertEqual(r.returncode, 1, text)
            self.assertTrue(r.stderr.startswith("%s:%d:" % (path, line)), "%r -> %r" % (text, r.stderr))

    def test_agent_refuses_to_start_on_a_bad_config(self):
        r, path = self.check("bogus: 1\n")
        r = subprocess.run([AGENT, "--config", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bogus", r.stderr)


class Unit(unittest.TestCase):
    def test_systemd_analyze_verify_passes(self):
        import shutil
        import tempfile
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        root = os.environ.get("PROJECT_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
        with open(os.path.join(root, "units", "cassandra-agent.service")) as f:
            text = f.read()
        self.assertIn("Type=notify", text)
        self.assertIn("WatchdogSec=", text)
        d = tempfile.mkdtemp()
        try:
            unit = os.path.join(d, "cassandra-agent.service")
            with open(unit, "w") as f:
                f.write(text.replace("/usr/sbin/cassandra-agent", AGENT))
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.strip(), "")
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
