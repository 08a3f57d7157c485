"""Test-side helper for the reference controller (controller.py).

    from client import Controller, make_certs
    certs = make_certs(tmpdir + "/certs")
    c = Controller(certs, tmpdir + "/record.jsonl", tmpdir + "/control.sock")   # started
    c.port                                     # the TLS port agents dial (127.0.0.1)
    c.push({"id": "c1", "run_nodetool": {"subcommand": "status"}})
    upd = c.wait("command_update", {"id": "c1", "status": "COMMAND_STATUS_SUCCEEDED"}, timeout=10)
    c.records("command_update")                # every recorded command_update, from the file
    c.restart()                                # same port
    c.stop()

Leases (see controller.py): Controller(..., lease_state=PATH, grant_all=False, manual_leases=False,
lease_retry_ms=1000, cluster_name=""); c.leases() -> the lease table; c.clear_rack("dc1", "rack1");
c.set_mode(grant_all=True); c.lease_events() -> the recorded lease_* events, oldest first.

Every call is bounded in time. The controller's stderr goes to LOG (default RECORD + ".log").
Failed control requests raise ControllerError (an AssertionError, so unittest reports a failure).
"""
import base64
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.environ.get("PROJECT_ROOT", os.path.abspath(os.path.join(HERE, "..", "..")))
CONTROLLER_PY = os.path.join(HERE, "controller.py")
MAKE_CERTS = os.path.join(PROJECT_ROOT, "tests", "certs", "make_certs.sh")
PY = "/usr/bin/python3"
# Waits are multiplied by CA_TIME_SCALE, as tests/integration/harness.py's are (a sanitized or
# valgrind build is slower); unset, it is 1.
TIME_SCALE = float(os.environ.get("CA_TIME_SCALE") or 1)


class ControllerError(AssertionError):
    pass


class ControllerTimeout(ControllerError):
    pass


def make_certs(outdir, timeout=60):
    """Runs tests/certs/make_certs.sh OUTDIR (idempotent) and returns OUTDIR."""
    subprocess.run(["bash", MAKE_CERTS, outdir], check=True, timeout=timeout)
    return outdir


def load_pb(pb_dir=None):
    """The generated cassandra_agent.v1.agent_pb2 module (generated with protoc on first use)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import controller as _controller
    return _controller.load_pb(pb_dir)


def decode_bytes(value):
    """A bytes field as recorded (base64 text, or absent) -> bytes."""
    return base64.b64decode(value) if value else b""


class Controller:
    def __init__(self, certs_dir, record_path, control_path, port=0, *, cert="controller.pem",
                 key="controller.key", ca="ca.pem", pb_dir=None, ping_interval=15, silence_timeout=45,
                 controller_id=None, log_path=None, host="127.0.0.1", start=True, startup_timeout=20,
                 lease_state=None, grant_all=False, manual_leases=False, lease_retry_ms=None, cluster_name=None):
        self.certs_dir = certs_dir
        self.record_path = record_path
        self.control_path = control_path
        self.port = port
        self.host = host
        self.cert = os.path.join(certs_dir, cert)
        self.key = os.path.join(certs_dir, key)
        self.ca = os.path.join(certs_dir, ca)
        self.pb_dir = pb_dir
        self.ping_interval = ping_interval
        self.silence_timeout = silence_timeout
        self.controller_id = controller_id
        self.log_path = log_path or record_path + ".log"
        self.startup_timeout = startup_timeout
        self.lease_state = lease_state
        self.grant_all = grant_all
        self.manual_leases = manual_leases
        self.lease_retry_ms = lease_retry_ms
        self.cluster_name = cluster_name
        self.proc = None
        if start:
            self.start()

    # process

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            raise ControllerError("controller already running (pid %d)" % self.proc.pid)
        argv = [PY, CONTROLLER_PY, "--listen", "%s:%d" % (self.host, self.port),
                "--cert", self.cert, "--key", self.key, "--ca", self.ca,
                "--record", self.record_path, "--control", self.control_path,
                "--ping-interval", str(self.ping_interval), "--silence-timeout", str(self.silence_timeout)]
        if self.pb_dir:
            argv += ["--pb-dir", self.pb_dir]
        if self.controller_id:
            argv += ["--controller-id", self.controller_id]
        if self.lease_state:
            argv += ["--lease-state", self.lease_state]
        if self.grant_all:
            argv += ["--grant-all"]
        if self.manual_leases:
            argv += ["--manual-leases"]
        if self.lease_retry_ms is not None:
            argv += ["--lease-retry-ms", str(int(self.lease_retry_ms))]
        if self.cluster_name:
            argv += ["--cluster-name", self.cluster_name]
        env = dict(os.environ, PROJECT_ROOT=PROJECT_ROOT, PYTHONDONTWRITEBYTECODE="1")
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=logf, env=env)
        line = self._read_line(self.startup_timeout)
        if not line.startswith("LISTENING "):
            self._kill()
            raise ControllerError("controller did not start (got %r); log:\n%s" % (line, self.log_tail()))
        self.port = int(line.split()[1])
        return self.port

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return buf.decode(errors="replace")
                if not sel.select(min(left, 0.2)):
                    if self.proc.poll() is not None:
                        break
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
        return buf.decode(errors="replace").strip()

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM by PID, bounded wait, then SIGKILL. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        rc = self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        return rc

    def _kill(self):
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def kill(self):
        """SIGKILL by PID (a crash: the control socket is left behind)."""
        if self.proc is not None:
            self._kill()
            if self.proc.stdout:
                self.proc.stdout.close()

    def restart(self, timeout=10):
        """Stops and starts again on the same port."""
        self.stop(timeout)
        return self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # control interface

    def request(self, obj, timeout=10):
        """One control request; returns the reply dict."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.control_path)
            s.sendall((json.dumps(obj) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise ControllerError("control connection closed (request %r)" % obj.get("op"))
                buf += chunk
        except socket.timeout:
            raise ControllerTimeout("control request %r timed out after %ss" % (obj.get("op"), timeout))
        except OSError as e:
            raise ControllerError("control request %r failed: %s" % (obj.get("op"), e))
        finally:
            s.close()
        return json.loads(buf)

    def _checked(self, obj, check=True, timeout=10):
        reply = self.request(obj, timeout)
        if check and not reply.get("ok"):
            raise ControllerError("%s: %s" % (obj.get("op"), reply.get("error")))
        return reply

    def push(self, command, conn=None, check=True):
        """Sends Envelope{command} (Command as a proto-JSON dict) to the newest (or given) agent."""
        req = {"op": "push", "command": command}
        if conn is not None:
            req["conn"] = conn
        return self._checked(req, check)

    def push_many(self, commands, conn=None, check=True):
        req = {"op": "push_many", "commands": list(commands)}
        if conn is not None:
            req["conn"] = conn
        return self._checked(req, check, timeout=60)

    def send(self, envelope, conn=None, check=True):
        """Sends an arbitrary Envelope (proto-JSON dict); a "seq" key is sent as given."""
        req = {"op": "send", "envelope": envelope}
        if conn is not None:
            req["conn"] = conn
        return self._checked(req, check)

    def send_raw(self, data, conn=None, close=False, check=True):
        """Writes raw bytes into the TLS stream (close=True: close the connection afterwards)."""
        req = {"op": "send_raw", "hex": bytes(data).hex(), "close": close}
        if conn is not None:
            req["conn"] = conn
        return self._checked(req, check, timeout=60)

    def drop(self, conn=None, abort=False):
        req = {"op": "drop", "abort": abort}
        if conn is not None:
            req["conn"] = conn
        return self._checked(req)["dropped"]

    def stop_listening(self):
        return self._checked({"op": "stop_listening"})

    def start_listening(self):
        return self._checked({"op": "start_listening"})

    def connections(self):
        return self._checked({"op": "connections"})["connections"]

    def status(self):
        return self._checked({"op": "status"})

    def leases(self):
        """The lease table: {"epoch", "current_rack", "halted", "held", "leases": [...],
        "grant_all", "manual", "retry_after_ms", "ring_problems": [...], ...}."""
        return self._checked({"op": "leases"})

    def clear_rack(self, datacenter, rack, force=False):
        """Operator override after a failed rack; returns the cleared lease ids."""
        return self._checked({"op": "clear_rack", "datacenter": datacenter, "rack": rack,
                              "force": bool(force)})["cleared"]

    def set_mode(self, **mode):
        """set_mode(grant_all=True|False, manual=True|False, retry_after_ms=N)."""
        return self._checked(dict(op="set_mode", **mode))

    def wait(self, type, match=None, timeout=10, conn=None, peer=None, count=1, since=None):
        """Waits for a received envelope with body `type` whose body matches `match` (subset
        match; keys starting with "_" and "seq" are checked on the record itself). Considers
        everything received since the controller started (or since `since`, unix ms); with
        count=N returns the N-th match. Raises ControllerTimeout. `timeout` (s) is scaled by
        CA_TIME_SCALE."""
        timeout *= TIME_SCALE
        req = {"op": "wait", "type": type, "match": match or {}, "timeout": timeout, "count": count}
        if conn is not None:
            req["conn"] = conn
        if peer is not None:
            req["peer"] = peer
        if since is not None:
            req["since"] = since
        reply = self.request(req, timeout=timeout + 10)
        if not reply.get("ok"):
            raise ControllerTimeout("no %s matching %r within %ss: %s" % (type, match, timeout, reply.get("error")))
        return reply["envelope"]

    def wait_event(self, event, match=None, timeout=10, count=1, since=None):
        timeout *= TIME_SCALE
        req = {"op": "wait_event", "event": event, "match": match or {}, "timeout": timeout, "count": count}
        if since is not None:
            req["since"] = since
        reply = self.request(req, timeout=timeout + 10)
        if not reply.get("ok"):
            raise ControllerTimeout("no %s event matching %r within %ss" % (event, match, timeout))
        return reply["event"]

    def wait_connected(self, timeout=20, peer=None, since=None):
        """Waits for an agent's Hello; returns the hello record."""
        return self.wait("hello", timeout=timeout, peer=peer, since=since)

    # record file

    def _lines(self):
        out = []
        try:
            with open(self.record_path, errors="replace") as f:
                for line in f:
                    if not line.endswith("\n"):
                        break   # a line being written
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        continue
        except FileNotFoundError:
            pass
        return out

    def records(self, type=None, match=None, conn=None, peer=None):
        """Received envelopes from the record file (all controller runs appended to it),
        optionally only body `type` and matching `match` (as in wait)."""
        if HERE not in sys.path:
            sys.path.insert(0, HERE)
        from controller import record_matches
        return [r for r in self._lines() if "_event" not in r and record_matches(r, type, match, conn, peer)]

    def events(self, kind=None):
        return [r for r in self._lines() if "_event" in r and (kind is None or r["_event"] == kind)]

    def lease_events(self):
        """Every recorded lease decision (lease_granted, lease_denied, lease_released, ...)."""
        return [r for r in self._lines() if str(r.get("_event", "")).startswith("lease_")]
