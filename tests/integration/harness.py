"""Shared harness for integration tests: starts the real agent against the test doubles.

Everything runs in a private temporary directory: a dbus-daemon with python3-dbusmock's
systemd template (tests/doubles/mockbus.py), the CQL responder, the fake nodetool reading a
cluster-state file, and cassandra-agent with NOTIFY_SOCKET pointing at a datagram socket the
harness reads. Processes are ended by PID; every wait is bounded.
"""
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PROJECT_ROOT = os.environ.get("PROJECT_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_ROOT = os.environ.get("BUILD_ROOT", os.path.join(PROJECT_ROOT, "build"))
DOUBLES = os.path.join(PROJECT_ROOT, "tests", "doubles")
AGENT = os.path.join(BUILD_ROOT, "cassandra-agent")
AGENTCTL = os.path.join(BUILD_ROOT, "cassandra-agentctl")
PY = "/usr/bin/python3"
# Slow runs (tests/valgrind.sh: the agent under valgrind) multiply the harness's waits by
# CA_TIME_SCALE; unset, it is 1 and every wait is as written.
TIME_SCALE = float(os.environ.get("CA_TIME_SCALE") or 1)


def wait_for(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value (returned) or raises after timeout s."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


class Notify:
    """A NOTIFY_SOCKET receiver: collects sd_notify datagrams."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.messages = []
        self.lock = threading.Lock()
        self.closed = False
        if os.environ.get("CA_NOTIFY_DRAIN", "1") == "1":
            # Reads in the background, as systemd does, so that the agent's (blocking) sd_notify
            # never waits on a full queue: 11 datagrams when net.unix.max_dgram_qlen is 10 (no
            # systemd as PID 1). On unless CA_NOTIFY_DRAIN=0.
            threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while not self.closed:
            time.sleep(0.05)
            self.poll()

    def poll(self):
        with self.lock:
            while not self.closed:
                try:
                    data = self.sock.recv(65536)
                except BlockingIOError:
                    return
                self.messages.extend(data.decode(errors="replace").split("\n"))

    def seen(self, line):
        self.poll()
        return line in self.messages

    def close(self):
        with self.lock:
            self.closed = True
            self.sock.close()


class Env:
    """One node's world: bus, CQL responder, cluster state, config; the agent on demand."""

    def __init__(self, state_file=None, node="10.0.1.11", bus=True, cql=True, **cfg_overrides):
        self.dir = tempfile.mkdtemp(prefix="ca-it-")
        self.procs = []
        self.node = node
        self.agent = None
        self.agent_log = os.path.join(self.dir, "agent.log")
        self.state = os.path.join(self.dir, "state.json")
        shutil.copy(state_file or os.path.join(DOUBLES, "cluster-6.json"), self.state)
        self.calls = os.path.join(self.dir, "nodetool-calls.log")
        self.data_dir = os.path.join(self.dir, "data")
        os.mkdir(self.data_dir)
        self.socket = os.path.join(self.dir, "agent.sock")
        with open(os.path.join(self.dir, "boot_id"), "w") as f:
            f.write("00000000-0000-4000-8000-000000000001\n")
        self.bus_address = "unix:path=%s/missing-bus" % self.dir
        if bus:
            self.start_bus()
        self.cql_port = 1
        if cql:
            self.start_cql()
        self.config = os.path.join(self.dir, "agent.yaml")
        self.write_config(**cfg_overrides)
        self.notify = Notify(os.path.join(self.dir, "notify.sock"))

    # ---- doubles -------------------------------------------------------------------
    def _spawn(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def start_bus(self, busdir=None):
        busdir = busdir or os.path.join(self.dir, "bus")
        os.makedirs(busdir, exist_ok=True)
        p = self._spawn([PY, os.path.join(DOUBLES, "mockbus.py"), "--dir", busdir, "--unit", "cassandra.service",
                         "--active"])
        line = p.stdout.readline().strip()
        assert line.startswith("READY "), "mockbus did not start: %r" % line
        self.bus_address = line.split(" ", 1)[1]
        self.bus_dir = busdir
        self.bus_proc = p
        return self.bus_address

    def start_cql(self):
        p = self._spawn([PY, os.path.join(DOUBLES, "cql_responder.py"), "--port", "0"])
        self.cql_port = int(p.stdout.readline().strip())
        self.cql_proc = p

    def unit(self, action):
        """start|stop the mock cassandra.service over the private bus."""
        method = {"start": "StartUnit", "stop": "StopUnit"}[action]
        subprocess.run(["dbus-send", "--bus=" + self.bus_address, "--print-reply", "--dest=org.freedesktop.systemd1",
                        "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager." + method,
                        "string:cassandra.service", "string:replace"], check=True, stdout=subprocess.DEVNULL,
                       timeout=10)

    def edit_state(self, fn):
        # Under fake_nodetool's exclusive lock: its snapshot, clearsnapshot, drain and `times`
        # faults rewrite the same file, and either side's change would otherwise be lost.
        with open(self.state + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with open(self.state) as f:
                st = json.load(f)
            fn(st)
            tmp = self.state + ".tmp"
            with open(tmp, "w") as f:
                json.dump(st, f)
            os.replace(tmp, self.state)

    def nodetool_calls(self, sub=None):
        try:
            with open(self.calls) as f:
                lines = [l.split() for l in f if l.strip()]
        except FileNotFoundError:
            return 0
        return sum(1 for l in lines if sub is None or (len(l) > 2 and l[2] == sub))

    # ---- agent ---------------------------------------------------------------------
    def config_text(self, probe="1s", nodetool_interval="1s", nodetool_timeout="3s", extra="", controller=None,
                    report_interval="30s", maintenance=None):
        """controller: dict(address=, ca=, cert=, key=) adds a controller section."""
        if controller:
            extra += ("\ncontroller:\n  address: {address}\n  ca: {ca}\n  cert: {cert}\n  key: {key}\n"
                      "  report_interval: {ri}\n").format(ri=report_interval, **controller)
        return """# integration test config
node: {{ datacenter: dc1, rack: rack1 }}
cassandra:
  yaml: {dir}/cassandra.yaml
  rackdc: {dir}/cassandra-rackdc.properties
  unit: cassandra.service
  nodetool: [{nt}, --state, {state}, --node, {node}, --log, {calls}]
  nodetool_timeout: {nodetool_timeout}
  native_address: 127.0.0.1
  native_port: {port}
  data_directories: [{data}]
health: {{ probe_interval: {probe}, nodetool_interval: {nodetool_interval} }}
status: {{ socket: {sock}, group: "" }}
state_directory: {dir}
{maintenance}
{extra}
""".format(maintenance=maintenance if maintenance is not None else
           "maintenance: {{ reboot_required: {d}/reboot-required, boot_id_file: {d}/boot_id, settle: 1s, "
           "healthy_timeout: 30s }}".format(d=self.dir),nt=os.path.join(DOUBLES, "fake_nodetool"), state=self.state, node=self.node, calls=self.calls,
           nodetool_timeout=nodetool_timeout, port=self.cql_port, data=self.data_dir, probe=probe,
           nodetool_interval=nodetool_interval, sock=self.socket, dir=self.dir, extra=extra)

    def write_config(self, **kw):
        self.config_kw = kw
        with open(os.path.join(self.dir, "agent.yaml"), "w") as f:
            f.write(self.config_text(**kw))

    def start_agent(self, wait_ready=True, extra_env=None):
        env = dict(os.environ)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        env["NOTIFY_SOCKET"] = self.notify.path
        env.pop("JOURNAL_STREAM", None)
        env.update(extra_env or {})
        self.notify.poll()
        self.notify.messages.clear()  # READY=1 must come from this start
        if getattr(self, "agent_logf", None):
            self.agent_logf.close()
        self.agent_logf = open(self.agent_log, "a")
        argv = [AGENT, "--config", self.config]
        if os.environ.get("AGENT_WRAPPER"):
            argv = os.environ["AGENT_WRAPPER"].split() + argv
        self.agent = subprocess.Popen(argv, stdout=self.agent_logf, stderr=subprocess.STDOUT, env=env)
        if wait_ready:
            wait_for(lambda: self.notify.seen("READY=1") or self.agent.poll() is not None, 10, "READY=1")
            assert self.agent.poll() is None, "agent exited: %s" % self.log()
        return self.agent

    def log(self):
        with open(self.agent_log) as f:
            return f.read()

    def ctl(self, *args, json_out=True, check=True):
        argv = [AGENTCTL, "--socket", self.socket] + (["--json"] if json_out else []) + list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30 * TIME_SCALE)
        if check and r.returncode != 0:
            raise AssertionError("agentctl %s failed (%d): %s" % (args, r.returncode, r.stderr))
        return json.loads(r.stdout) if json_out and r.stdout.strip() else r

    def status(self):
        return self.ctl("status")

    def conditions(self, code=None):
        return [c for c in self.status()["conditions"] if code is None or c["code"] == code]

    def stop_agent(self, sig=signal.SIGTERM, timeout=15):
        if not self.agent or self.agent.poll() is not None:
            return self.agent.returncode if self.agent else None
        self.agent.send_signal(sig)
        try:
            return self.agent.wait(timeout * TIME_SCALE)
        finally:
            if self.agent.poll() is None:
                self.agent.kill()
                self.agent.wait()

    def close(self):
        try:
            self.stop_agent()
        except Exception:
            pass
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            if p.stdout:
                p.stdout.close()
        self.notify.close()
        if hasattr(self, "agent_logf"):
            self.agent_logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)
