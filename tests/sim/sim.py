#!/usr/bin/python3
"""A simulated Cassandra cluster on loopback: R racks x N nodes, every node a real cassandra-agent.

    /usr/bin/python3 tests/sim/sim.py [--racks 3] [--nodes-per-rack 3] [--reboot-seconds T]
        [--version 4.1.8] [--dir DIR] [--scenario rolling-patch|none] [--timeout S] [--grant-all]
        [--keep]

Each node (address 10.0.R.N, datacenter dc1, rack rackR) gets its own directory DIR/rRnN with
agent.yaml, state directory, status socket, a private system bus (tests/doubles/mockbus.py: mocked
systemd with cassandra.service active, mocked logind), a CQL responder, a reboot-required sentinel
path and a boot-id file. All nodes share one cluster-state file (DIR/cluster.json) for the fake
nodetool (cluster_name "sim-cluster", RF 3 NetworkTopologyStrategy {dc1: 3} keyspaces) and one
reference controller (tests/controller, lease table in DIR/leases.json, record in
DIR/controller.jsonl). The agent binaries are $BUILD_ROOT/cassandra-agent and
$BUILD_ROOT/cassandra-agentctl (BUILD_ROOT defaults to PROJECT_ROOT/build).

The world's physics (the harness plays the OS and Cassandra), from one watcher thread:
  * the unit's ActiveState, read from the PropertiesChanged lines dbusmock writes to
    DIR/rRnN/bus/systemd.log: leaving "active" -> the node is "D" in the shared state (drained,
    gossip and binary off) and its CQL responder is stopped; becoming "active" -> after
    --start-delay (0.5 s) the CQL responder is back on its port and the node is "U"/"N" with
    gossip and binary on;
  * logind Reboot (a line in DIR/rRnN/bus/logind.log): the node's agent is SIGKILLed, the node
    goes "D", the unit inactive; after --reboot-seconds the sentinel is removed (/run is a tmpfs),
    the boot-id file gets a new UUID, the unit is started and the node is "U", and the agent is
    started again with the same config and state directory.
Shared-state edits take the fake nodetool's own lock (flock on STATE.lock, re-read, write
STATE.tmp.PID, rename).

Timeline: DIR/timeline.jsonl, one JSON object per line, appended as things happen:
    {"t": <unix ms>, "event": <kind>, "node": "10.0.1.1" | null, "rack": "rack1" | null,
     "dc": "dc1" | null, ...fields}
  sim_start     nodes: [{node, rack, dc}], racks, nodes_per_rack, reboot_seconds, grant_all, scenario
  node_state    status, state, gossip, binary, drained, out_of_service (the shared state; on change)
  nodetool      subcommand: drain | disablegossip | disablebinary, args (from the node's nodetool
                call log, stamped with the call's own time: the node leaves service from there)
  unit          active_state (the mocked systemd unit; on change)
  reboot_requested  (a logind Reboot call)           rebooting  (agent killed, node down)
  rebooted      boot_id (the downtime is over, before the agent starts)
  agent_started pid, boot      agent_killed pid      agent_exited pid, rc (died on its own)
  sentinel      present: true|false
  patched       (a line "patched ADDR" in DIR/patch.log, written by the nodes' patch_command)
  lease_phase   phase, lease_id, epoch, kind, blockers, source "agent" (`lease` on the status
                socket, the JSON `cassandra-agentctl --json lease` prints; on change)
  lease_granted / lease_denied / lease_released / lease_release_rejected / lease_resumed /
  lease_adopted / rack_cleared   source "controller": the controller's recorded decisions
                (lease_denied only when the reason changes for that node and lease)
  scenario      phase: "sentinels_created" | "done" | "timeout"
  sim_end       reason, controller: {held, halted, epoch}, sentinels: [nodes with one]
check_timeline.py checks it; check_timeline.render() draws it.

Scenario rolling-patch: every node's sentinel is created; the run waits until every node was
rebooted, no sentinel remains, no lease is held and every node is up (or --timeout), then prints
a per-rack timeline, the checker's verdict and `cassandra-agentctl status` of one node. Exit
status 0 only if the scenario completed and the checker found no violation.
Scenario none: starts the cluster, prints where everything is and waits for Ctrl-C (or --timeout).

Every process is started by this module and stopped by PID (also on Ctrl-C, SIGTERM and
errors); every wait is bounded. As a library:

    with Sim(racks=3, nodes_per_rack=3, reboot_seconds=3, dir=D) as sim:
        sim.start()
        result = sim.rolling_patch(timeout=300)
"""
import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.environ.get("PROJECT_ROOT", os.path.abspath(os.path.join(HERE, "..", "..")))
BUILD_ROOT = os.environ.get("BUILD_ROOT", os.path.join(PROJECT_ROOT, "build"))
DOUBLES = os.path.join(PROJECT_ROOT, "tests", "doubles")
CONTROLLER_DIR = os.path.join(PROJECT_ROOT, "tests", "controller")
SHARED_DATA = os.environ.get("SHARED_DATA", os.path.join(PROJECT_ROOT, "..", "shared", "data"))
PY = "/usr/bin/python3"
FAKE_NODETOOL = os.path.join(DOUBLES, "fake_nodetool")
UNIT = "cassandra.service"
UNIT_PATH = "/org/freedesktop/systemd1/unit/cassandra_2eservice"
CLUSTER_NAME = "sim-cluster"
DC = "dc1"
SCHEMA_VERSION = "7d4a2c1e-5b3f-3a9e-8c61-2f0e9d4b6a17"
HOLDING_PHASES = ("GRANTED", "DRAINING", "STOPPED", "PATCHING", "REBOOTING", "STARTING", "RECOVERING", "STUCK")

sys.path.insert(0, CONTROLLER_DIR)
sys.path.insert(0, HERE)
import client as controller_client  # noqa: E402
import check_timeline  # noqa: E402


def agent_bin():
    return os.path.join(os.environ.get("BUILD_ROOT", BUILD_ROOT), "cassandra-agent")


def agentctl_bin():
    return os.path.join(os.environ.get("BUILD_ROOT", BUILD_ROOT), "cassandra-agentctl")


def now_ms():
    return int(time.time() * 1000)


def log(fmt, *args):
    sys.stderr.write("%s sim: %s\n" % (time.strftime("%H:%M:%S"), fmt % args if args else fmt))
    sys.stderr.flush()


class SimError(Exception):
    pass


# Slow runs (tests/valgrind.sh runs every agent under memcheck) stretch the waits by
# CA_TIME_SCALE, as tests/integration/harness.py does; unset, it is 1 and every wait is as written.
TIME_SCALE = float(os.environ.get("CA_TIME_SCALE") or 1)


def wait_for(pred, timeout, what, interval=0.1):
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise SimError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


def read_line(proc, timeout):
    """The first stdout line of proc within timeout ("" on timeout or EOF)."""
    import selectors
    buf = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not sel.select(min(left, 0.2)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace").split("\n")[0].strip()


def stop_proc(p, sig=signal.SIGTERM, timeout=10, group=True):
    """Ends a child we started, by its PID (its own process group when group=True, since every
    child is started in a session of its own), bounded: sig, then SIGKILL."""
    if p is None or p.poll() is not None:
        return p.returncode if p is not None else None
    try:
        os.killpg(p.pid, sig) if group else os.kill(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        return p.wait(timeout * TIME_SCALE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL) if group else os.kill(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            return p.wait(5)
        except subprocess.TimeoutExpired:
            return None


# --- shared cluster state (the fake nodetool's locking protocol) -----------------------------

def _lock(path, exclusive):
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    return fd


def _unlock(fd):
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def read_state(path):
    fd = _lock(path, False)
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode())
    finally:
        _unlock(fd)


def update_state(path, fn):
    """Exclusive lock, re-read, fn(state), write tmp, rename (as fake_nodetool does)."""
    fd = _lock(path, True)
    try:
        with open(path, "rb") as f:
            st = json.loads(f.read().decode())
        result = fn(st)
        tmp = "%s.tmp.%d" % (path, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(st, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
        return result
    finally:
        _unlock(fd)


def set_node_fields(path, address, **fields):
    def fn(st):
        for n in st["nodes"]:
            if n["address"] == address:
                n.update(fields)
                return True
        raise SimError("node %s is not in %s" % (address, path))
    return update_state(path, fn)


def cluster_state(racks, nodes_per_rack, version):
    nodes = []
    for r in range(1, racks + 1):
        for n in range(1, nodes_per_rack + 1):
            addr = "10.0.%d.%d" % (r, n)
            nodes.append({"address": addr, "datacenter": DC, "rack": "rack%d" % r, "status": "U", "state": "N",
                          "load_bytes": 1500000000 + 7919 * (r * 100 + n) * 1000,
                          "host_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "sim-%s.%s" % (CLUSTER_NAME, addr))),
                          "gossip": True, "binary": True, "drained": False, "snapshots": []})
    nts = {"class": "NetworkTopologyStrategy", "rf": {DC: 3}}
    return {
        "cluster_name": CLUSTER_NAME,
        "version": version,
        "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
        "snitch": "org.apache.cassandra.locator.GossipingPropertyFileSnitch",
        "dynamic_snitch": True,
        "schema_version": SCHEMA_VERSION,
        "storage_port": 7000,
        "native_port": 9042,
        "keyspaces": [
            dict(name="system_auth", tables=[{"name": "roles", "size_bytes": 5806}], **nts),
            dict(name="system_distributed", **nts),
            dict(name="system_traces", **nts),
            dict(name="app", tables=[{"name": "orders", "size_bytes": 851936543},
                                     {"name": "customers", "size_bytes": 100883497}], **nts),
            {"name": "system", "class": "LocalStrategy"},
            {"name": "system_schema", "class": "LocalStrategy"},
        ],
        "nodes": nodes,
        "faults": {},
    }


def out_of_service(n):
    return (str(n.get("status", "U")).upper() == "D" or n.get("gossip") is False or n.get("binary") is False
            or bool(n.get("drained")))


# --- file tailing ----------------------------------------------------------------------------

class Tail:
    """New complete lines of a file that may not exist yet."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.buf = b""

    def lines(self):
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return []
        if size < self.pos:     # truncated or replaced
            self.pos, self.buf = 0, b""
        if size == self.pos:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read(size - self.pos)
        self.pos += len(data)
        data = self.buf + data
        parts = data.split(b"\n")
        self.buf = parts.pop()
        return [p.decode(errors="replace") for p in parts]


def log_time(line):
    """The unix ms at the start of a dbusmock log line ("1700000000.123 ..."), else now."""
    try:
        return int(float(line.split(" ", 1)[0]) * 1000)
    except ValueError:
        return now_ms()


ACTIVE_RE = re.compile(r'PropertiesChanged "org\.freedesktop\.systemd1\.Unit" \{[^}]*"ActiveState": "([a-z-]+)"')


# --- one node --------------------------------------------------------------------------------

class Node:
    def __init__(self, sim, rack_no, idx):
        self.sim = sim
        self.rack_no = rack_no
        self.idx = idx
        self.address = "10.0.%d.%d" % (rack_no, idx)
        self.rack = "rack%d" % rack_no
        self.dc = DC
        self.name = "r%dn%d" % (rack_no, idx)
        self.dir = os.path.join(sim.dir, self.name)
        self.bus_dir = os.path.join(self.dir, "bus")
        self.state_dir = os.path.join(self.dir, "state")
        self.data_dir = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "agent.yaml")
        self.socket = os.path.join(self.dir, "agent.sock")
        self.sentinel = os.path.join(self.dir, "reboot-required")
        self.boot_id_file = os.path.join(self.dir, "boot_id")
        self.calls = os.path.join(self.dir, "nodetool-calls.log")
        self.agent_log = os.path.join(self.dir, "agent.log")
        self.bus_proc = None
        self.bus_address = None
        self.cql_proc = None
        self.cql_port = 0
        self.agent = None
        self.boots = 0
        self.rebooting = False
        self.systemd_tail = Tail(os.path.join(self.bus_dir, "systemd.log"))
        self.logind_tail = Tail(os.path.join(self.bus_dir, "logind.log"))
        self.calls_tail = Tail(self.calls)
        self.unit_state = "active"
        self.up_timer = None
        self.lease_sock = None
        self.lease_buf = b""
        self.lease_supported = None     # None unknown, False: the agent answers "not implemented"
        self.lease_checked = 0.0
        self.lease_last = None
        self.lock = threading.RLock()

    def info(self):
        return {"node": self.address, "rack": self.rack, "dc": self.dc}

    # doubles

    def spawn(self, argv, errlog=None, **kw):
        """A child in a session of its own (ended by PID); stderr appended to errlog."""
        if errlog is None:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        with open(os.path.join(self.dir, errlog), "ab") as err:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True, stderr=err, **kw)

    def start_bus(self):
        os.makedirs(self.bus_dir, exist_ok=True)
        self.bus_proc = self.spawn([PY, os.path.join(DOUBLES, "mockbus.py"), "--dir", self.bus_dir, "--unit", UNIT,
                                    "--active"], stdout=subprocess.PIPE, errlog="mockbus.err")

    def wait_bus(self, timeout):
        line = read_line(self.bus_proc, timeout)
        if not line.startswith("READY "):
            raise SimError("%s: mockbus did not start (%r), see %s" % (self.address, line, self.bus_dir))
        self.bus_address = line.split(" ", 1)[1]

    def start_cql(self, timeout=10):
        if self.cql_proc is not None and self.cql_proc.poll() is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            p = self.spawn([PY, os.path.join(DOUBLES, "cql_responder.py"), "--port", str(self.cql_port)],
                           stdout=subprocess.PIPE, errlog="cql.err")
            line = read_line(p, max(0.5, deadline - time.monotonic()))
            if line.isdigit():
                self.cql_port = int(line)
                self.cql_proc = p
                return
            stop_proc(p, timeout=2)
            p.stdout.close()
            if time.monotonic() > deadline:
                raise SimError("%s: CQL responder did not start on port %d" % (self.address, self.cql_port))
            time.sleep(0.2)     # the port may still be held for a moment

    def stop_cql(self):
        p, self.cql_proc = self.cql_proc, None
        stop_proc(p, timeout=3)
        if p is not None and p.stdout:
            p.stdout.close()

    def busctl(self, *args, check=True):
        r = subprocess.run(["busctl", "--address=" + self.bus_address] + list(args), capture_output=True, text=True,
                           timeout=10)
        if check and r.returncode != 0:
            raise SimError("%s: busctl %s: %s" % (self.address, " ".join(args), r.stderr.strip()))
        return r.stdout.strip()

    def unit_call(self, verb):
        """start|stop the mocked cassandra.service (as the agent does, over the node's bus)."""
        method = {"start": "StartUnit", "stop": "StopUnit", "restart": "RestartUnit"}[verb]
        return self.busctl("call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", method, "ss", UNIT, "replace")

    def set_unit_state(self, active, sub):
        return self.busctl("call", "org.freedesktop.systemd1", UNIT_PATH, "org.freedesktop.DBus.Mock",
                           "UpdateProperties", "sa{sv}", "org.freedesktop.systemd1.Unit", "2",
                           "ActiveState", "s", active, "SubState", "s", sub)

    def logind_reboot(self):
        """Calls logind Reboot(false) on the node's bus (as the agent does)."""
        return self.busctl("call", "org.freedesktop.login1", "/org/freedesktop/login1",
                           "org.freedesktop.login1.Manager", "Reboot", "b", "false")

    # files

    def write_files(self):
        for d in (self.dir, self.state_dir, self.data_dir):
            os.makedirs(d, exist_ok=True)
        self.write_boot_id()
        version = self.sim.version
        mm = ".".join(version.split(".")[:2])
        src = os.path.join(SHARED_DATA, "cassandra", "cassandra-%s.yaml" % mm)
        if not os.path.exists(src):
            src = os.path.join(SHARED_DATA, "cassandra", "cassandra-4.1.yaml")
        yaml_path = os.path.join(self.dir, "cassandra.yaml")
        if os.path.exists(src):
            with open(src) as f:
                text = f.read()
            text = re.sub(r"(?m)^cluster_name: .*$", "cluster_name: '%s'" % CLUSTER_NAME, text, count=1)
            # The stores the agent rotates live in the node's directory (absolute paths).
            text = re.sub(r"(?m)^(\s*)(keystore|truststore): conf/\.(keystore|truststore)\s*$",
                          lambda m: "%s%s: %s" % (m.group(1), m.group(2), os.path.join(self.dir, m.group(3) + ".p12")),
                          text)
        else:
            text = "cluster_name: '%s'\n" % CLUSTER_NAME
        with open(yaml_path, "w") as f:
            f.write(text)
        with open(os.path.join(self.dir, "cassandra-rackdc.properties"), "w") as f:
            f.write("dc=%s\nrack=%s\n" % (self.dc, self.rack))

    def write_boot_id(self):
        bid = str(uuid.uuid4())
        tmp = self.boot_id_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(bid + "\n")
        os.replace(tmp, self.boot_id_file)
        return bid

    def write_config(self):
        q = json.dumps
        s = self.sim
        text = """# simulated node {addr} (tests/sim/sim.py)
node: {{ datacenter: {dc}, rack: {rack} }}
cassandra:
  yaml: {yaml}
  rackdc: {rackdc}
  unit: {unit}
  nodetool: [{nt}, --state, {state}, --node, {addr}, --log, {calls}]
  nodetool_timeout: 5s
  native_address: 127.0.0.1
  native_port: {port}
  data_directories: [{data}]
controller:
  address: 127.0.0.1:{cport}
  ca: {ca}
  cert: {cert}
  key: {key}
  report_interval: 1s
health: {{ probe_interval: 1s, nodetool_interval: 1s }}
status: {{ socket: {sock}, group: "" }}
state_directory: {statedir}
snapshots: {snapshots}
{extra}
maintenance:
  reboot_required: {sentinel}
  window: ""
  patch_command: [{patch}, {addr}]
  healthy_timeout: {healthy_timeout}
  settle: {settle}
  boot_id_file: {bootid}
""".format(addr=self.address, dc=self.dc, rack=self.rack, yaml=q(os.path.join(self.dir, "cassandra.yaml")),
           rackdc=q(os.path.join(self.dir, "cassandra-rackdc.properties")), unit=UNIT, nt=q(FAKE_NODETOOL),
           state=q(s.state_path), calls=q(self.calls), port=self.cql_port, data=q(self.data_dir),
           cport=s.controller.port, ca=q(os.path.join(s.certs, "ca.pem")), cert=q(os.path.join(s.certs, "agent.pem")),
           key=q(os.path.join(s.certs, "agent.key")), sock=q(self.socket), statedir=q(self.state_dir),
           sentinel=q(self.sentinel), patch=q(s.patch_script), healthy_timeout=s.healthy_timeout,
           settle=s.settle, bootid=q(self.boot_id_file), snapshots=s.snapshots, extra=s.extra_config)
        with open(self.config, "w") as f:
            f.write(text)

    # the agent

    def start_agent(self):
        env = dict(os.environ)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS"):
            env.pop(k, None)
        argv = [agent_bin(), "--config", self.config]
        if os.environ.get("AGENT_WRAPPER"):
            argv = os.environ["AGENT_WRAPPER"].split() + argv
        with open(self.agent_log, "ab") as logf:
            self.agent = self.spawn(argv, stdout=logf, stderr=subprocess.STDOUT, env=env)
        self.boots += 1
        self.sim.emit("agent_started", self, pid=self.agent.pid, boot=self.boots)
        return self.agent

    def agent_answers(self):
        try:
            return "agent_version" in self.socket_request("version", timeout=1)
        except (OSError, ValueError):
            return False

    def socket_request(self, line, timeout=2):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout * TIME_SCALE)
        try:
            s.connect(self.socket)
            s.sendall(line.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
        finally:
            s.close()
        return json.loads(buf)

    def kill_agent(self):
        p = self.agent
        if p is not None and p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.close_lease_sock()
        return p.pid if p else None

    def stop_agent(self, timeout=10):
        self.close_lease_sock()
        p = self.agent
        if p is not None:
            stop_proc(p, signal.SIGTERM, timeout, group=False)

    def agentctl(self, *args, json_out=True, timeout=20):
        argv = [agentctl_bin(), "--socket", self.socket] + (["--json"] if json_out else []) + list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * TIME_SCALE)
        if json_out:
            try:
                return json.loads(r.stdout) if r.stdout.strip() else {"error": r.stderr.strip(), "rc": r.returncode}
            except ValueError:
                return {"error": "not JSON: %r" % r.stdout[:200], "rc": r.returncode}
        return r

    # lease phase (the status socket's `lease` command, kept open)

    def close_lease_sock(self):
        if self.lease_sock is not None:
            try:
                self.lease_sock.close()
            except OSError:
                pass
        self.lease_sock, self.lease_buf = None, b""

    def poll_lease(self):
        """The agent's LeaseState dict, or None (no answer / not supported)."""
        if self.rebooting or self.agent is None or self.agent.poll() is not None:
            return None
        if self.lease_supported is False and time.monotonic() - self.lease_checked < 5:
            return None
        try:
            if self.lease_sock is None:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(0.5)
                s.connect(self.socket)
                self.lease_sock = s
            self.lease_sock.sendall(b"lease\n")
            while b"\n" not in self.lease_buf:
                chunk = self.lease_sock.recv(65536)
                if not chunk:
                    raise OSError("closed")
                self.lease_buf += chunk
            line, _, self.lease_buf = self.lease_buf.partition(b"\n")
            d = json.loads(line)
        except (OSError, ValueError):
            self.close_lease_sock()
            return None
        self.lease_checked = time.monotonic()
        if not isinstance(d, dict) or "error" in d:
            self.lease_supported = False
            return None
        self.lease_supported = True
        return d


# --- the simulation --------------------------------------------------------------------------

class Sim:
    def __init__(self, racks=3, nodes_per_rack=3, reboot_seconds=3.0, version="4.1.8", dir=None,
                 grant_all=False, start_delay=0.5, settle="1s", healthy_timeout="60s", lease_retry_ms=500,
                 keep=None, quiet=False, snapshots="{ interval: 1h }", extra_config=""):
        if not 1 <= racks <= 9 or not 1 <= nodes_per_rack <= 10:
            raise SimError("racks must be 1..9 and nodes per rack 1..10")
        self.racks = racks
        self.nodes_per_rack = nodes_per_rack
        self.reboot_seconds = float(reboot_seconds)
        self.version = version
        self.grant_all = grant_all
        self.start_delay = start_delay
        self.settle = settle
        self.healthy_timeout = healthy_timeout
        self.lease_retry_ms = lease_retry_ms
        self.quiet = quiet
        self.snapshots = snapshots          # the agents' snapshots: section (flow mapping)
        self.extra_config = extra_config    # more agent.yaml text for every node
        self.own_dir = dir is None
        self.dir = os.path.abspath(dir) if dir else tempfile.mkdtemp(prefix="sim-")
        self.keep = (not self.own_dir) if keep is None else keep
        os.makedirs(self.dir, exist_ok=True)
        self.state_path = os.path.join(self.dir, "cluster.json")
        self.timeline_path = os.path.join(self.dir, "timeline.jsonl")
        self.patch_script = os.path.join(self.dir, "patch.sh")
        self.patch_log = os.path.join(self.dir, "patch.log")
        self.certs = os.path.join(self.dir, "certs")
        self.nodes = [Node(self, r, n) for r in range(1, racks + 1) for n in range(1, nodes_per_rack + 1)]
        self.by_addr = {n.address: n for n in self.nodes}
        self.controller = None
        self.stopping = threading.Event()
        self.watcher = None
        self.threads = []
        self.tl_lock = threading.Lock()
        self.state_lock = threading.Lock()
        self.tl = None
        self.last_state = {}
        self.patch_tail = Tail(self.patch_log)
        self.record_tail = None
        self.denied_last = {}
        self.started = False
        self.errors = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def say(self, fmt, *args):
        if not self.quiet:
            log(fmt, *args)

    # timeline

    def emit(self, event, node=None, t=None, **fields):
        rec = {"t": t or now_ms(), "event": event,
               "node": node.address if isinstance(node, Node) else node,
               "rack": node.rack if isinstance(node, Node) else (self.by_addr[node].rack if node in self.by_addr else None),
               "dc": DC if node is not None else None}
        rec.update(fields)
        with self.tl_lock:
            if self.tl is not None:
                self.tl.write(json.dumps(rec, separators=(",", ":")) + "\n")
                self.tl.flush()
        return rec

    # start

    def start(self):
        t0 = time.monotonic()
        for p in (agent_bin(), agentctl_bin()):
            if not os.access(p, os.X_OK):
                raise SimError("%s is missing: build first (meson compile -C build) or set BUILD_ROOT" % p)
        if os.path.exists(self.timeline_path) or os.path.exists(os.path.join(self.dir, "leases.json")):
            raise SimError("%s holds a previous run (timeline, lease table, agents' journals): use a new --dir"
                           % self.dir)
        self.tl = open(self.timeline_path, "a", buffering=1)
        self.started = True
        with open(self.state_path, "w") as f:
            json.dump(cluster_state(self.racks, self.nodes_per_rack, self.version), f, indent=1)
        with open(self.patch_script, "w") as f:
            f.write("#!/bin/sh\n# patch_command of the simulated nodes (tests/sim/sim.py): records the patch.\n"
                    "echo \"patched $1\" >> %s\n" % json.dumps(self.patch_log))
        os.chmod(self.patch_script, 0o755)
        self.emit("sim_start", nodes=[n.info() for n in self.nodes], racks=self.racks,
                  nodes_per_rack=self.nodes_per_rack, reboot_seconds=self.reboot_seconds, grant_all=self.grant_all,
                  version=self.version, dir=self.dir)
        controller_client.make_certs(self.certs)
        self.controller = controller_client.Controller(
            self.certs, os.path.join(self.dir, "controller.jsonl"), os.path.join(self.dir, "controller.sock"),
            pb_dir=os.path.join(self.dir, "pb"), lease_state=os.path.join(self.dir, "leases.json"),
            grant_all=self.grant_all, lease_retry_ms=self.lease_retry_ms, cluster_name=CLUSTER_NAME,
            log_path=os.path.join(self.dir, "controller.log"))
        self.record_tail = Tail(self.controller.record_path)
        self.say("controller on 127.0.0.1:%d (%s)", self.controller.port, self.dir)
        for n in self.nodes:
            n.write_files()
            n.start_bus()
        for n in self.nodes:
            n.wait_bus(30)
            n.start_cql()
            n.write_config()
        self.poll_state()
        for n in self.nodes:
            n.systemd_tail.lines()     # skip the bus's own start-up lines
            n.logind_tail.lines()
        self.watcher = threading.Thread(target=self._watch, name="sim-physics", daemon=True)
        self.watcher.start()
        for n in self.nodes:
            n.start_agent()
        for n in self.nodes:
            wait_for(lambda: n.agent_answers() or n.agent.poll() is not None, 15, "%s's status socket" % n.address)
            if n.agent.poll() is not None:
                raise SimError("agent of %s exited (rc %s):\n%s" % (n.address, n.agent.returncode,
                                                                      self.tail(n.agent_log)))
        self.say("%d nodes up in %.1fs", len(self.nodes), time.monotonic() - t0)
        return self

    def wait_connected(self, timeout=60):
        """Until every agent has a session and reported under its own address and cluster name,
        and the controller's ring gate finds no agent missing."""
        want = {n.address for n in self.nodes}

        def ok():
            got = set()
            for c in self.controller.connections():
                ident = c.get("identity") or {}
                if ident.get("address") in want and c.get("health_at") and ident.get("cluster_name") == CLUSTER_NAME:
                    got.add(ident["address"])
            if got != want:
                return False
            table = self.controller.leases()
            return not [p for p in table["ring_problems"] if "has not reported" in p or "no connected" in p]
        wait_for(ok, timeout, "all %d agents connected and reporting" % len(want), interval=0.5)

    @staticmethod
    def tail(path, n=30):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # the physics

    def poll_state(self):
        """Emits node_state for every node whose entry in the shared state changed."""
        with self.state_lock:
            try:
                st = read_state(self.state_path)
            except (OSError, ValueError):
                return
            t = now_ms()
            for n in st.get("nodes", []):
                addr = n.get("address")
                if addr not in self.by_addr:
                    continue
                cur = (str(n.get("status", "U")), str(n.get("state", "N")), n.get("gossip", True) is not False,
                       n.get("binary", True) is not False, bool(n.get("drained")))
                if self.last_state.get(addr) != cur:
                    self.last_state[addr] = cur
                    self.emit("node_state", addr, t=t, status=cur[0], state=cur[1], gossip=cur[2], binary=cur[3],
                              drained=cur[4], out_of_service=out_of_service(n))

    def node_down(self, node, why):
        set_node_fields(self.state_path, node.address, status="D", gossip=False, binary=False, drained=True)
        node.stop_cql()
        self.poll_state()

    def node_up(self, node, why):
        node.start_cql()
        set_node_fields(self.state_path, node.address, status="U", state="N", gossip=True, binary=True, drained=False)
        self.poll_state()

    def _unit_changed(self, node, active, t=None):
        with node.lock:
            if active == node.unit_state:
                return
            node.unit_state = active
            self.emit("unit", node, t=t, active_state=active)
            if node.up_timer is not None:
                node.up_timer.cancel()
                node.up_timer = None
            if active == "active":
                def up():
                    with node.lock:
                        node.up_timer = None
                        if node.unit_state != "active" or self.stopping.is_set():
                            return
                        try:
                            self.node_up(node, "unit active")
                        except Exception as e:  # noqa: BLE001
                            self.error("%s: cannot bring the node up: %s" % (node.address, e))
                node.up_timer = threading.Timer(self.start_delay, up)
                node.up_timer.daemon = True
                node.up_timer.start()
            elif active in ("inactive", "failed", "deactivating"):
                self.node_down(node, "unit " + active)

    def error(self, msg):
        self.errors.append(msg)
        log("ERROR %s", msg)

    def _watch(self):
        last_lease = 0.0
        while not self.stopping.is_set():
            try:
                self._tick(time.monotonic() - last_lease >= 0.25)
            except Exception as e:  # noqa: BLE001 - keep the world turning, but say so
                self.error("physics: %s: %s" % (type(e).__name__, e))
            if time.monotonic() - last_lease >= 0.25:
                last_lease = time.monotonic()
            self.stopping.wait(0.1)

    def _tick(self, leases):
        for n in self.nodes:
            for line in n.systemd_tail.lines():
                m = ACTIVE_RE.search(line)
                if m and "/unit/cassandra_2eservice " in line:
                    self._unit_changed(n, m.group(1), log_time(line))
            for line in n.logind_tail.lines():
                if re.match(r"^[0-9.]+ Reboot\b", line):
                    self.emit("reboot_requested", n, t=log_time(line), call=line.split(" ", 1)[1])
                    if n.rebooting:
                        self.emit("reboot_ignored", n, why="already rebooting")
                    else:
                        n.rebooting = True
                        th = threading.Thread(target=self._reboot, args=(n,), name="reboot-" + n.address, daemon=True)
                        self.threads.append(th)
                        th.start()
            for line in n.calls_tail.lines():
                parts = line.split()
                if len(parts) >= 3 and parts[2] in ("drain", "disablegossip", "disablebinary"):
                    try:
                        t = int(parts[0])
                    except ValueError:
                        t = None
                    self.emit("nodetool", n, t=t, subcommand=parts[2], args=parts[3:])
            if n.agent is not None and not n.rebooting and n.agent.poll() is not None and not getattr(n, "exit_seen", False):
                n.exit_seen = True
                self.emit("agent_exited", n, pid=n.agent.pid, rc=n.agent.returncode)
        self.poll_state()
        for line in self.patch_tail.lines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "patched":
                self.emit("patched", parts[1] if parts[1] in self.by_addr else None, line=line)
        for line in self.record_tail.lines():
            if '"_event":"lease_' not in line and '"_event":"rack_cleared"' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            self._controller_event(ev)
        if leases:
            for n in self.nodes:
                d = n.poll_lease()
                if d is None:
                    continue
                key = (d.get("phase"), d.get("lease_id"), d.get("epoch"), tuple(d.get("blockers") or ()))
                if key != n.lease_last:
                    n.lease_last = key
                    self.emit("lease_phase", n, source="agent", phase=d.get("phase"), lease_id=d.get("lease_id", ""),
                              epoch=d.get("epoch", 0), kind=d.get("kind"), blockers=d.get("blockers") or [])

    def _controller_event(self, ev):
        kind = ev.get("_event")
        node = ev.get("node")
        if node not in self.by_addr:
            node = None
        fields = {k: v for k, v in ev.items() if not k.startswith("_") and k not in ("node", "rack", "datacenter")}
        if kind == "lease_denied":
            key = (node, ev.get("lease_id"))
            if self.denied_last.get(key) == ev.get("reason"):
                return
            self.denied_last[key] = ev.get("reason")
        rec_rack = ev.get("rack")
        self.emit(kind, node, t=ev.get("_at"), source="controller", lease_rack=rec_rack, **fields)

    def _reboot(self, n):
        """A logind Reboot: everything on the node dies, it is down for reboot_seconds, then
        boots: sentinel gone, new boot id, Cassandra and the agent start."""
        try:
            pid = n.kill_agent()
            self.emit("agent_killed", n, pid=pid)
            n.exit_seen = True
            with n.lock:
                if n.up_timer is not None:
                    n.up_timer.cancel()
                    n.up_timer = None
                self.node_down(n, "reboot")
                try:
                    n.set_unit_state("inactive", "dead")
                except SimError as e:
                    self.error(str(e))
            self.emit("rebooting", n, seconds=self.reboot_seconds)
            if self.stopping.wait(self.reboot_seconds):
                return
            if os.path.exists(n.sentinel):
                os.unlink(n.sentinel)
                self.emit("sentinel", n, present=False, why="reboot (tmpfs)")
            bid = n.write_boot_id()
            with n.lock:
                n.unit_call("start")
                self.node_up(n, "boot")
            self.emit("rebooted", n, boot_id=bid)
            if self.stopping.is_set():
                return
            n.exit_seen = False
            n.rebooting = False
            n.start_agent()
        except Exception as e:  # noqa: BLE001
            self.error("%s: reboot failed: %s: %s" % (n.address, type(e).__name__, e))
        finally:
            n.rebooting = False

    # scenario helpers

    def create_sentinel(self, node):
        with open(node.sentinel, "w") as f:
            f.write("*** System restart required ***\n")
        self.emit("sentinel", node, present=True)

    def sentinels(self):
        return [n.address for n in self.nodes if os.path.exists(n.sentinel)]

    def count(self, event):
        out = {n.address: 0 for n in self.nodes}
        for e in check_timeline.load(self.timeline_path):
            if e.get("event") == event and e.get("node") in out:
                out[e["node"]] += 1
        return out

    def lease_phases(self):
        return {n.address: (n.lease_last[0] if n.lease_last else None) for n in self.nodes}

    def diagnose(self):
        lines = []
        try:
            t = self.controller.leases()
            lines.append("controller: epoch %s, current rack %s, held %s, halted %s" % (
                t["epoch"], t["current_rack"], t["held"], t["halted"]))
            for p in t["ring_problems"][:8]:
                lines.append("  ring: " + p)
            for l in t["leases"][-12:]:
                lines.append("  lease %s %s %s/%s epoch %s %s" % (l["lease_id"], l["node"], l["datacenter"],
                                                                 l["rack"], l["epoch"], l["state"]))
        except Exception as e:  # noqa: BLE001
            lines.append("controller: %s" % e)
        for n in self.nodes:
            d = n.poll_lease() if not n.rebooting else None
            lines.append("%s %s agent=%s boots=%d sentinel=%s lease=%s" % (
                n.address, n.rack, "up" if n.agent and n.agent.poll() is None else "down", n.boots,
                os.path.exists(n.sentinel), json.dumps(d) if d else ("unsupported" if n.lease_supported is False
                                                                    else "no answer")))
        return "\n".join(lines)

    def rolling_patch(self, timeout=600, connect_timeout=90):
        """Creates every sentinel and waits for the rollout to finish. Returns a dict: ok,
        reason, wall_seconds (sentinels to done), counts."""
        self.wait_connected(connect_timeout)
        t0 = time.monotonic()
        for n in self.nodes:
            self.create_sentinel(n)
        self.emit("scenario", phase="sentinels_created", name="rolling-patch")
        self.say("sentinels created on %d nodes; waiting for the rolling patch (timeout %ss)", len(self.nodes), timeout)
        deadline = t0 + timeout * TIME_SCALE
        reason = "timeout"
        last_say = 0.0
        while time.monotonic() < deadline and not self.stopping.is_set():
            if self.errors:
                reason = "harness error: " + self.errors[0]
                break
            done, why = self.rollout_done()
            if done:
                reason = "done"
                break
            if time.monotonic() - last_say > 15:
                last_say = time.monotonic()
                self.say("waiting: %s", why)
            time.sleep(0.5)
        wall = time.monotonic() - t0
        self.emit("scenario", phase=reason if reason in ("done", "timeout") else "error", name="rolling-patch",
                  wall_seconds=round(wall, 3))
        res = {"ok": reason == "done", "reason": reason, "wall_seconds": wall,
               "reboots": self.count("rebooted")}
        if not res["ok"]:
            res["diagnosis"] = self.diagnose()
        return res

    def rollout_done(self):
        reboots = self.count("rebooted")
        missing = [a for a, c in reboots.items() if c < 1]
        if missing:
            return False, "%d node(s) not rebooted yet: %s" % (len(missing), ", ".join(missing))
        if self.sentinels():
            return False, "sentinels remain: %s" % ", ".join(self.sentinels())
        if any(n.rebooting for n in self.nodes):
            return False, "a node is rebooting"
        st = read_state(self.state_path)
        down = [n["address"] for n in st["nodes"] if out_of_service(n)]
        if down:
            return False, "nodes out of service: %s" % ", ".join(down)
        t = self.controller.leases()
        if t["held"] or t["halted"]:
            return False, "controller: %d lease(s) held, halted %s" % (t["held"], t["halted"])
        for n in self.nodes:
            d = n.poll_lease()
            if d and d.get("phase") in HOLDING_PHASES:
                return False, "%s still in %s" % (n.address, d.get("phase"))
        return True, "done"

    # stop

    def stop(self):
        """Stops everything this simulation started, by PID; bounded. Idempotent."""
        if self.stopping.is_set() and not self.started:
            return
        self.stopping.set()
        if self.started:
            try:
                t = self.controller.leases() if self.controller and self.controller.running() else {}
                self.emit("sim_end", reason="stopped", sentinels=self.sentinels(),
                          controller={"held": t.get("held"), "halted": t.get("halted"), "epoch": t.get("epoch")}
                          if t else None)
            except Exception as e:  # noqa: BLE001
                self.emit("sim_end", reason="stopped", sentinels=self.sentinels(), controller=None, error=str(e))
        self.started = False
        if self.watcher is not None:
            self.watcher.join(5)
        for th in self.threads:
            th.join(2)
        for n in self.nodes:
            if n.up_timer is not None:
                n.up_timer.cancel()
        for n in self.nodes:
            try:
                n.stop_agent(timeout=10)
            except Exception as e:  # noqa: BLE001
                log("%s: stopping the agent: %s", n.address, e)
        for n in self.nodes:
            n.stop_cql()
        for n in self.nodes:
            if n.bus_proc is not None:
                stop_proc(n.bus_proc, signal.SIGTERM, 8)
                if n.bus_proc.stdout:
                    n.bus_proc.stdout.close()
        if self.controller is not None:
            self.controller.stop()
        with self.tl_lock:
            if self.tl is not None:
                self.tl.close()
                self.tl = None
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self, reason, **fields):
        """Writes sim_end with the controller's final lease table (before stop())."""
        t = self.controller.leases()
        self.emit("sim_end", reason=reason, sentinels=self.sentinels(),
                  controller={"held": t["held"], "halted": t["halted"], "epoch": t["epoch"]}, **fields)
        self.started = False     # stop() must not write a second sim_end

    def node(self, address):
        return self.by_addr[address]


def main(argv=None):
    p = argparse.ArgumentParser(description="simulated Cassandra cluster of real cassandra-agents")
    p.add_argument("--racks", type=int, default=3)
    p.add_argument("--nodes-per-rack", type=int, default=3)
    p.add_argument("--reboot-seconds", type=float, default=3.0, help="how long a reboot keeps a node down")
    p.add_argument("--version", default="4.1.8", help="Cassandra version of the simulated nodes")
    p.add_argument("--dir", default=None, help="working directory (kept); default a temporary one")
    p.add_argument("--scenario", choices=("rolling-patch", "none"), default="rolling-patch")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds for the scenario (none: run time)")
    p.add_argument("--grant-all", action="store_true", help="controller fault mode: grant every lease request")
    p.add_argument("--start-delay", type=float, default=0.5, help="seconds from unit start to the node being UN")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--status-node", default=None, help="node whose final status is printed (default the first)")
    a = p.parse_args(argv)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)   # also when started with SIGINT ignored
    sim = Sim(racks=a.racks, nodes_per_rack=a.nodes_per_rack, reboot_seconds=a.reboot_seconds, version=a.version,
              dir=a.dir, grant_all=a.grant_all, start_delay=a.start_delay, keep=True if a.keep else None)
    rc = 1
    try:
        sim.start()
        if a.scenario == "none":
            print("simulated cluster in %s; controller 127.0.0.1:%d, control socket %s" % (
                sim.dir, sim.controller.port, sim.controller.control_path))
            for n in sim.nodes:
                print("  %-10s %-6s %s  bus %s  socket %s" % (n.address, n.rack, n.name, n.bus_address, n.socket))
            print("Ctrl-C stops it (or after --timeout %ss)" % a.timeout)
            sys.stdout.flush()
            end = time.monotonic() + a.timeout
            while time.monotonic() < end:
                time.sleep(0.5)
            sim.finish("none scenario over")
            return 0
        res = sim.rolling_patch(timeout=a.timeout)
        time.sleep(0.5)       # let the watcher record the last changes
        sim.finish(res["reason"], wall_seconds=round(res["wall_seconds"], 3))
        events = check_timeline.load(sim.timeline_path)
        print(check_timeline.render(events))
        violations = check_timeline.check(events)
        print()
        print("rolling patch: %s in %.1fs (%d nodes, reboot %.1fs)" % (
            res["reason"], res["wall_seconds"], len(sim.nodes), sim.reboot_seconds))
        if not res["ok"]:
            print(res.get("diagnosis", ""))
        print(check_timeline.report(violations))
        node = sim.node(a.status_node) if a.status_node else sim.nodes[0]
        print("\n$ cassandra-agentctl status   # %s" % node.address)
        r = node.agentctl("status", json_out=False)
        print(r.stdout if r.returncode == 0 else "(rc %d) %s" % (r.returncode, r.stderr))
        print("timeline: %s" % sim.timeline_path)
        rc = 0 if res["ok"] and not violations else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        rc = 130
    except SimError as e:
        print("sim: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sim.stop()
        if sim.keep:
            print("kept %s" % sim.dir, file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
