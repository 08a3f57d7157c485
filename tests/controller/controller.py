#!/usr/bin/python3
"""Reference controller for cassandra-agent tests (SPEC.md section 7), a test peer.

    /usr/bin/python3 controller.py --listen 127.0.0.1:0 --cert controller.pem --key controller.key \
        --ca ca.pem --record RECORD.jsonl --control CONTROL.sock [--pb-dir DIR] \
        [--ping-interval 15] [--silence-timeout 45] [--controller-id test-controller]

Prints "LISTENING <port>" on stdout once ready (nothing else ever goes to stdout; logs go to
stderr). Accepts agents over TLS 1.3 with a client certificate that verifies against --ca.
Frames are a 4-byte big-endian length and one serialized cassandra_agent.v1.Envelope; frames
over 4 MiB, undecodable frames and a first frame that is not Hello are protocol errors: the
controller records the error, sends Error{message} (best effort) and closes the connection.

Record file (JSON lines, appended, flushed per line):
  * every received envelope: MessageToDict(env, preserving_proto_field_name=True) with 64-bit
    integer fields turned back into JSON numbers (see to_dict), plus
    "_type" (the body's oneof name or null), "_conn", "_peer" (client cert CN), "_at" (unix ms);
  * events, told apart by an "_event" key: listening, connected, tls_handshake_failed,
    protocol_error, closed, stopped_listening, started_listening, stopped.

Control socket: a Unix stream socket, one JSON object per line in, one JSON line out; see
the op_* methods below for the operations.

Leases (SPEC section 7, "Reference controller semantics"), decided by LeaseTable:
  * at most one rack of the cluster, keyed by (datacenter, rack), holds leases at a time; every
    node of that rack that asks gets one (each grant has a fresh epoch from one counter per
    controller, strictly increasing);
  * another rack gets its first lease only after every lease of the current rack was released
    with success and every node reports the whole ring UN (ring_problems: the newest
    HealthReport of every connected agent, received after the last release, lists every known
    node PEER_STATUS_UP + PEER_STATE_NORMAL; a known node (in any of those rings, or a connected
    agent's own address) without a connected agent that reported blocks). The first rack of a
    fresh table passes the same gate;
  * a LeaseRelease with success=false halts the rollout: nothing is granted until the operator
    op clear_rack clears that rack;
  * a repeated LeaseRequest with the lease_id of a held lease, from the same node, gets the same
    grant (same epoch); an agent reconnecting with Hello.lease keeps its lease (a lease the
    table does not know, in a holding phase with an epoch, is adopted); no timer ever takes a
    lease back;
  * one controller serves one cluster: --cluster-name, else the first non-empty
    NodeIdentity.cluster_name seen; agents of another cluster are denied and not counted;
  * --lease-state PATH persists the table (JSON, written with write-temp + fsync + rename before
    a grant is sent) so a restart keeps leases and epochs;
  * modes: --grant-all (every request granted at once with a fresh epoch, racks and health
    ignored; to prove the agents' own guard) and --manual-leases (requests and releases are only
    recorded; tests answer by hand with the "send" op); both also through the set_mode op.
  Lease decisions are recorded as events: lease_granted, lease_denied, lease_released,
  lease_release_rejected, lease_resumed, lease_adopted, rack_cleared, lease_mode (fields
  lease_id, node, datacenter, rack, epoch, reason, ...).

The Python protobuf code is generated at run time with protoc (load_pb), into a temporary
directory or the cache directory given by --pb-dir. This module is importable: tests use
load_pb, to_dict, frame and matches from it.
"""
import argparse
import asyncio
import importlib
import json
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

PROJECT_ROOT = os.environ.get(
    "PROJECT_ROOT", os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
PROTO_REL = os.path.join("cassandra_agent", "v1", "agent.proto")
MAX_FRAME = 4 * 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
MAX_WAIT = 600.0

_pb = None


def now_ms():
    return int(time.time() * 1000)


def load_pb(pb_dir=None, project_root=None):
    """Generates (with protoc) and imports cassandra_agent.v1.agent_pb2; returns the module.

    With pb_dir, the generated code is cached there and regenerated only when agent.proto is
    newer; without it, a temporary directory is used (left for the process's lifetime)."""
    global _pb
    if _pb is not None:
        return _pb
    root = project_root or PROJECT_ROOT
    proto_dir = os.path.join(root, "proto")
    proto = os.path.join(proto_dir, PROTO_REL)
    if pb_dir:
        pb_dir = os.path.abspath(pb_dir)
        os.makedirs(pb_dir, exist_ok=True)
    else:
        pb_dir = tempfile.mkdtemp(prefix="agent-pb-")
    target = os.path.join(pb_dir, "cassandra_agent", "v1", "agent_pb2.py")
    if not (os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(proto)):
        tmp = tempfile.mkdtemp(prefix=".gen-", dir=pb_dir)
        try:
            subprocess.run(["protoc", "--python_out=" + tmp, "-I" + proto_dir, proto],
                           check=True, timeout=60)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(tmp, "cassandra_agent", "v1", "agent_pb2.py"), target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if pb_dir not in sys.path:
        sys.path.insert(0, pb_dir)
    importlib.invalidate_caches()
    _pb = importlib.import_module("cassandra_agent.v1.agent_pb2")
    return _pb


# --- JSON conversion -------------------------------------------------------------------------

def _int64_types():
    from google.protobuf.descriptor import FieldDescriptor as F
    return {F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_SINT64, F.TYPE_FIXED64, F.TYPE_SFIXED64}


def _ints(desc, d, int64):
    """Turns the proto3-JSON strings of 64-bit integer fields in d back into ints, in place."""
    from google.protobuf.descriptor import FieldDescriptor as F
    for name, val in list(d.items()):
        f = desc.fields_by_name.get(name)
        if f is None:
            continue
        repeated = f.label == F.LABEL_REPEATED
        if f.type == F.TYPE_MESSAGE:
            sub = f.message_type
            if sub.GetOptions().map_entry:
                vf = sub.fields_by_name["value"]
                if vf.type in int64:
                    d[name] = {k: int(v) for k, v in val.items()}
                elif vf.type == F.TYPE_MESSAGE:
                    for v in val.values():
                        _ints(vf.message_type, v, int64)
            elif repeated:
                for v in val:
                    _ints(sub, v, int64)
            else:
                _ints(sub, val, int64)
        elif f.type in int64:
            d[name] = [int(v) for v in val] if repeated else int(val)


def to_dict(msg):
    """MessageToDict with proto field names, no default values, enums as names, bytes as
    base64, and (unlike proto3 JSON) int64/uint64 fields as JSON numbers."""
    from google.protobuf import json_format
    try:
        d = json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                      including_default_value_fields=False)
    except TypeError:   # protobuf >= 5.26 dropped the argument (its default is the same)
        d = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    _ints(msg.DESCRIPTOR, d, _int64_types())
    return d


def from_dict(d, msg):
    """ParseDict: accepts ints or strings for 64-bit ints, enum names or numbers, base64 bytes."""
    from google.protobuf import json_format
    return json_format.ParseDict(d, msg)


def frame(env):
    data = env.SerializeToString()
    return len(data).to_bytes(4, "big") + data


def _is_default(v):
    return v is None or v == "" or v == 0 or v is False or v == [] or v == {} or (
        isinstance(v, str) and v.endswith("_UNSPECIFIED"))


def _eq(a, v):
    if a == v:
        return True
    scalar = (int, str)
    if isinstance(a, scalar) and isinstance(v, scalar) and not isinstance(a, bool) and not isinstance(v, bool):
        return str(a) == str(v)
    return False


def matches(actual, expected):
    """True if every key of expected matches actual: nested dicts recursively (subset match),
    other values by equality (an int matches its decimal string); a key missing from actual
    (proto3 JSON leaves out defaults) matches a default expected value (0, "", false, [], {},
    null, "..._UNSPECIFIED")."""
    if not isinstance(actual, dict):
        return False
    for k, v in (expected or {}).items():
        if k not in actual:
            if _is_default(v):
                continue
            return False
        a = actual[k]
        if isinstance(v, dict) and isinstance(a, dict):
            if not matches(a, v):
                return False
        elif not _eq(a, v):
            return False
    return True


def record_matches(rec, type_, match, conn=None, peer=None):
    if type_ and rec.get("_type") != type_:
        return False
    if conn is not None and rec.get("_conn") != conn:
        return False
    if peer is not None and rec.get("_peer") != peer:
        return False
    match = match or {}
    top = {k: v for k, v in match.items() if k.startswith("_") or k == "seq"}
    body = {k: v for k, v in match.items() if k not in top}
    if not matches(rec, top):
        return False
    if body:
        return matches(rec.get(type_ or rec.get("_type") or "", {}), body)
    return True


# --- the controller --------------------------------------------------------------------------

def log(fmt, *args):
    msg = fmt % args if args else fmt
    sys.stderr.write("%s controller[%d]: %s\n" % (time.strftime("%H:%M:%S"), os.getpid(), msg))
    sys.stderr.flush()


def peer_cn(cert):
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class Conn:
    def __init__(self, cid, reader, writer, remote):
        self.id = cid
        self.reader = reader
        self.writer = writer
        self.remote = remote
        self.peer = None
        self.hello = None
        self.connected_at = now_ms()
        self.last_rx = time.monotonic()
        self.last_rx_ms = None
        self.seq_out = 0
        self.frames_in = 0
        self.frames_out = 0
        self.closed = False
        self.close_reason = None
        self.tasks = []
        self.identity = {}       # newest NodeIdentity (from Hello, then from every HealthReport)
        self.health = None       # newest HealthReport record (dict with "_at")

    def info(self):
        h = self.hello or {}
        return {"conn": self.id, "peer": self.peer, "remote": self.remote,
                "hello": self.hello is not None, "node": h.get("node"),
                "agent_version": h.get("agent_version"),
                "resumable_command_ids": h.get("resumable_command_ids", []),
                "lease": h.get("lease"), "identity": self.identity,
                "health_at": self.health["_at"] if self.health else None,
                "connected_at": self.connected_at, "last_rx_at": self.last_rx_ms,
                "frames_in": self.frames_in, "frames_out": self.frames_out}


# --- leases ------------------------------------------------------------------------------------

LEASE_STATE_FORMAT = 1
# LeaseState.phase values in which an agent holds its lease (SPEC section 6.3).
HOLDING_PHASES = frozenset(("GRANTED", "DRAINING", "STOPPED", "PATCHING", "REBOOTING", "STARTING",
                            "RECOVERING", "STUCK"))


def rack_name(dc, rack):
    return "%s/%s" % (dc or "?", rack or "?")


class LeaseTable:
    """The lease table and its decisions (no I/O except the optional state file).

    Lease states: "granted" (held), "released" (released with success), "failed" (released with
    success=false: halts the rollout), "cleared" (failed or force-cleared by clear_rack).
    current_rack is the rack that got the newest first-of-its-rack grant; it stays current (and
    its nodes keep getting leases) until another rack passes the gate."""

    def __init__(self, path=None, cluster_name=""):
        self.path = path
        self.cluster_name = cluster_name or ""
        self.epoch = 0
        self.current_rack = None          # {"datacenter": ..., "rack": ...} or None
        self.last_release_at = None       # unix ms of the newest release (reports must be newer)
        self.leases = {}                  # lease_id -> lease dict
        if path and os.path.exists(path):
            self.load()
            if cluster_name and self.cluster_name and cluster_name != self.cluster_name:
                raise ValueError("lease state %s belongs to cluster %r, not %r" % (path, self.cluster_name, cluster_name))
            self.cluster_name = self.cluster_name or cluster_name or ""

    # persistence

    def to_json(self):
        return {"format": LEASE_STATE_FORMAT, "cluster_name": self.cluster_name, "epoch": self.epoch,
                "current_rack": self.current_rack, "last_release_at": self.last_release_at,
                "leases": self.leases}

    def load(self):
        with open(self.path) as f:
            d = json.load(f)
        if not isinstance(d, dict) or d.get("format") != LEASE_STATE_FORMAT:
            raise ValueError("%s: not a lease state file of format %d" % (self.path, LEASE_STATE_FORMAT))
        self.cluster_name = d.get("cluster_name") or ""
        self.epoch = int(d.get("epoch") or 0)
        self.current_rack = d.get("current_rack")
        self.last_release_at = d.get("last_release_at")
        self.leases = dict(d.get("leases") or {})
        # the counter never goes back, even in a hand-edited file
        self.epoch = max([self.epoch] + [int(l.get("epoch") or 0) for l in self.leases.values()])

    def save(self):
        if not self.path:
            return
        d = os.path.dirname(os.path.abspath(self.path))
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(self.to_json(), f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        try:
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass

    # queries

    def held(self):
        return [l for l in self.leases.values() if l["state"] == "granted"]

    def failed(self):
        return [l for l in self.leases.values() if l["state"] == "failed"]

    @staticmethod
    def same_node(lease, node):
        """False only when both identities are known and differ. An identity without host_id
        (an agent's Hello before its first nodetool info carries native_address as its
        address) is not known yet: the lease_id and the epoch then identify the holder."""
        if not node.get("host_id"):
            return True
        if lease.get("host_id"):
            return lease["host_id"] == node["host_id"]
        if lease.get("node") and node.get("address"):
            return lease["node"] == node["address"]
        return True

    def summary(self):
        leases = sorted(self.leases.values(), key=lambda l: (l.get("epoch") or 0, l["lease_id"]))
        return {"cluster_name": self.cluster_name, "epoch": self.epoch, "current_rack": self.current_rack,
                "last_release_at": self.last_release_at, "halted": bool(self.failed()),
                "held": len(self.held()), "leases": leases}

    # decisions

    def _grant(self, lease_id, req, node, now, grant_all=False):
        self.epoch += 1
        lease = {"lease_id": lease_id, "epoch": self.epoch, "kind": req.get("kind", "MAINTENANCE_KIND_UNSPECIFIED"),
                 "datacenter": req["datacenter"], "rack": req["rack"], "node": node.get("address", ""),
                 "host_id": node.get("host_id", ""), "reason": req.get("reason", ""), "state": "granted",
                 "granted_at": now, "released_at": None, "success": None, "detail": "", "grant_all": grant_all}
        self.leases[lease_id] = lease
        return lease

    def request(self, req, node, now, ring_problems, grant_all=False):
        """Decides a LeaseRequest (req: the proto-JSON dict with datacenter/rack filled in; node:
        the requester's NodeIdentity dict). ring_problems() -> list of reasons the ring is not
        healthy (called only when a rack would change). Returns (lease, repeat, None) for a
        grant or (None, False, reason) for a denial. The caller saves before answering."""
        lease_id = req.get("lease_id", "")
        dc, rack = req["datacenter"], req["rack"]
        if not lease_id:
            return None, False, "lease_id is empty"
        if not dc or not rack:
            return None, False, "datacenter and rack are required"
        old = self.leases.get(lease_id)
        if old is not None:
            if not self.same_node(old, node):
                return None, False, "lease %s belongs to node %s" % (lease_id, old.get("node") or old.get("host_id"))
            if old["state"] == "granted":
                return old, True, None
            return None, False, "lease %s is already %s; ask with a new lease_id" % (lease_id, old["state"])
        ncluster = node.get("cluster_name", "")
        if self.cluster_name and ncluster and ncluster != self.cluster_name:
            return None, False, "this controller serves cluster %r, not %r" % (self.cluster_name, ncluster)
        if grant_all:
            return self._grant(lease_id, req, node, now, grant_all=True), False, None
        failed = sorted(self.failed(), key=lambda l: l["epoch"])
        if failed:
            f = failed[0]
            return None, False, "rollout halted: lease %s of %s (node %s) failed: %s; clear_rack needed" % (
                f["lease_id"], rack_name(f["datacenter"], f["rack"]), f.get("node"), f.get("detail") or "no detail")
        others = sorted({(l["datacenter"], l["rack"]) for l in self.held()} - {(dc, rack)})
        if others:
            held = [l for l in self.held() if (l["datacenter"], l["rack"]) == others[0]]
            return None, False, "rack %s is in maintenance (%d lease(s) held: %s)" % (
                rack_name(*others[0]), len(held), ", ".join(sorted(l.get("node") or l["lease_id"] for l in held)))
        cur = self.current_rack
        if cur and (cur["datacenter"], cur["rack"]) == (dc, rack):
            return self._grant(lease_id, req, node, now), False, None
        problems = ring_problems()
        if problems:
            more = " (+%d more)" % (len(problems) - 3) if len(problems) > 3 else ""
            return None, False, "waiting for the whole ring UN before %s gets the next rack: %s%s" % (
                rack_name(dc, rack), "; ".join(problems[:3]), more)
        self.current_rack = {"datacenter": dc, "rack": rack}
        return self._grant(lease_id, req, node, now), False, None

    def release(self, rel, node, now):
        """Applies a LeaseRelease. Returns (lease, outcome): outcome is "released", "failed",
        "duplicate" (already released: nothing changes) or an error text (nothing changes)."""
        lease_id = rel.get("lease_id", "")
        lease = self.leases.get(lease_id)
        if lease is None:
            return None, "unknown lease %r" % lease_id
        if not self.same_node(lease, node):
            return lease, "lease %s belongs to node %s" % (lease_id, lease.get("node"))
        epoch = int(rel.get("epoch") or 0)
        if epoch != lease["epoch"]:
            return lease, "epoch %d does not match the grant's epoch %d" % (epoch, lease["epoch"])
        if lease["state"] != "granted":
            return lease, "duplicate"
        success = bool(rel.get("success"))
        lease["state"] = "released" if success else "failed"
        lease["success"] = success
        lease["released_at"] = now
        lease["detail"] = rel.get("detail", "")
        self.last_release_at = now
        return lease, lease["state"]

    def resume(self, hello_lease, node, now):
        """An agent's Hello.lease. Returns (lease, outcome): "resumed" (the table has it
        granted), "adopted" (unknown, holding phase, epoch > 0: added as granted), "mismatch"
        (the table says otherwise: nothing changes) or None (nothing to do)."""
        lease_id = hello_lease.get("lease_id", "")
        phase = hello_lease.get("phase", "")
        epoch = int(hello_lease.get("epoch") or 0)
        if not lease_id or phase not in HOLDING_PHASES:
            return None, None
        lease = self.leases.get(lease_id)
        if lease is not None:
            if lease["state"] == "granted" and lease["epoch"] == epoch and self.same_node(lease, node):
                return lease, "resumed"
            return lease, "mismatch"
        if epoch <= 0:
            return None, "mismatch"
        dc, rack = node.get("datacenter", ""), node.get("rack", "")
        lease = {"lease_id": lease_id, "epoch": epoch, "kind": hello_lease.get("kind", "MAINTENANCE_KIND_UNSPECIFIED"),
                 "datacenter": dc, "rack": rack, "node": node.get("address", ""), "host_id": node.get("host_id", ""),
                 "reason": "adopted from the agent's Hello (phase %s)" % phase, "state": "granted",
                 "granted_at": now, "released_at": None, "success": None, "detail": "", "grant_all": False}
        self.leases[lease_id] = lease
        self.epoch = max(self.epoch, epoch)
        if self.current_rack is None:
            self.current_rack = {"datacenter": dc, "rack": rack}
        return lease, "adopted"

    def clear_rack(self, dc, rack, force=False, now=None):
        """Operator override: failed leases of the rack become "cleared" (with force also held
        ones); the next grant (to any rack) passes the ring gate again. Returns the cleared."""
        out = []
        for l in self.leases.values():
            if (l["datacenter"], l["rack"]) != (dc, rack):
                continue
            if l["state"] == "failed" or (force and l["state"] == "granted"):
                l["cleared_from"] = l["state"]
                l["state"] = "cleared"
                l["cleared_at"] = now
                out.append(l)
        if self.current_rack and (self.current_rack["datacenter"], self.current_rack["rack"]) == (dc, rack):
            if not any((l["datacenter"], l["rack"]) == (dc, rack) for l in self.held()):
                self.current_rack = None
        return out


class Controller:
    def __init__(self, args, pb):
        self.args = args
        self.pb = pb
        host, _, port = args.listen.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self.ctx = self._tls_context()
        self.server = None
        self.control_server = None
        self.conns = {}          # id -> Conn (live connections)
        self.next_conn = 1
        self.records = []        # received envelopes (dicts), this process's lifetime
        self.events = []
        self._waiters = set()
        self.rec_file = open(args.record, "a", buffering=1)
        self.stopping = asyncio.Event()
        self.leases = LeaseTable(args.lease_state, args.cluster_name)
        self.grant_all = bool(args.grant_all)
        self.manual_leases = bool(args.manual_leases)
        self.retry_after_ms = int(args.lease_retry_ms)
        # Body type -> handler(conn, env). Bodies without a handler are only recorded.
        self.handlers = {
            "hello": self.on_hello,
            "ping": self.on_ping,
            "pong": None,
            "health": self.on_health,
            "command_update": None,
            "error": None,
            "lease_request": self.on_lease_request,
            "lease_release": self.on_lease_release,
        }

    def _tls_context(self):
        a = self.args
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(a.cert, a.key)
        ctx.load_verify_locations(a.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    # records and events

    def _write(self, rec):
        try:
            self.rec_file.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self.rec_file.flush()
        except (OSError, ValueError) as e:
            log("cannot write record: %s", e)

    def _notify(self):
        for fut in list(self._waiters):
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    def event(self, event_name, conn=None, **fields):
        rec = {"_event": event_name}
        if conn is not None:
            rec["_conn"] = conn.id
            rec["_peer"] = conn.peer
        rec.update(fields)
        rec["_at"] = now_ms()
        self._write(rec)
        self.events.append(rec)
        self._notify()
        return rec

    def record(self, conn, env):
        rec = to_dict(env)
        rec["_type"] = env.WhichOneof("body")
        rec["_conn"] = conn.id
        rec["_peer"] = conn.peer
        rec["_at"] = now_ms()
        self._write(rec)
        self.records.append(rec)
        self._notify()
        return rec

    # listening

    async def start_listening(self):
        deadline = time.monotonic() + 10
        while True:
            try:
                self.server = await asyncio.start_server(
                    self.on_connect, self.host, self.port, reuse_address=True, backlog=128)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise
                log("bind %s:%d: %s; retrying", self.host, self.port, e)
                await asyncio.sleep(0.2)
        self.port = self.server.sockets[0].getsockname()[1]

    def stop_listening(self):
        if self.server is not None:
            self.server.close()   # closes the listening socket only; connections stay
            self.server = None

    # connections

    async def on_connect(self, reader, writer):
        cid = self.next_conn
        self.next_conn += 1
        pn = writer.get_extra_info("peername") or ("?", 0)
        conn = Conn(cid, reader, writer, "%s:%s" % (pn[0], pn[1]))
        try:
            await writer.start_tls(self.ctx, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - any handshake failure means no session
            self.event("tls_handshake_failed", remote=conn.remote, error=str(e) or type(e).__name__)
            log("conn %d from %s: TLS handshake failed: %s", cid, conn.remote, e)
            try:
                writer.transport.abort()
            except Exception:  # noqa: BLE001
                pass
            return
        sslobj = writer.get_extra_info("ssl_object")
        conn.peer = peer_cn(sslobj.getpeercert() if sslobj else None)
        self.conns[cid] = conn
        self.event("connected", conn, remote=conn.remote)
        log("conn %d from %s: connected, peer %s", cid, conn.remote, conn.peer)
        hb = asyncio.ensure_future(self.heartbeat(conn))
        conn.tasks.append(hb)
        try:
            await self.read_loop(conn)
        finally:
            hb.cancel()
            self.close_conn(conn, conn.close_reason or "closed")
            self.conns.pop(cid, None)
            self.event("closed", conn, reason=conn.close_reason)
            log("conn %d: closed (%s)", cid, conn.close_reason)

    async def read_loop(self, conn):
        try:
            while not conn.closed:
                hdr = await conn.reader.readexactly(4)
                n = int.from_bytes(hdr, "big")
                if n > MAX_FRAME:
                    await self.protocol_error(conn, "frame of %d bytes exceeds %d" % (n, MAX_FRAME))
                    return
                data = await conn.reader.readexactly(n)
                conn.last_rx = time.monotonic()
                conn.last_rx_ms = now_ms()
                conn.frames_in += 1
                env = self.pb.Envelope()
                try:
                    env.ParseFromString(data)
                except Exception as e:  # noqa: BLE001 - DecodeError and friends
                    await self.protocol_error(conn, "undecodable envelope (%d bytes): %s" % (n, e))
                    return
                self.record(conn, env)
                body = env.WhichOneof("body")
                if conn.hello is None and body != "hello":
                    await self.protocol_error(conn, "first frame must be hello, got %s" % body)
                    return
                handler = self.handlers.get(body)
                if handler is not None:
                    await handler(conn, env)
        except asyncio.IncompleteReadError as e:
            if conn.close_reason is None:
                conn.close_reason = "eof" if not e.partial else "eof inside a frame (%d bytes)" % len(e.partial)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            if conn.close_reason is None:
                conn.close_reason = "read error: %s" % e

    async def protocol_error(self, conn, msg):
        self.event("protocol_error", conn, error=msg)
        log("conn %d: protocol error: %s", conn.id, msg)
        conn.close_reason = "protocol error: " + msg
        try:
            self.send_env(conn, self.pb.Envelope(error=self.pb.Error(message=msg)))
            await asyncio.wait_for(conn.writer.drain(), 2)
        except Exception:  # noqa: BLE001 - best effort
            pass
        self.close_conn(conn, conn.close_reason)

    def close_conn(self, conn, reason, abort=False):
        if conn.close_reason is None:
            conn.close_reason = reason
        if conn.closed:
            return
        conn.closed = True
        try:
            if abort:
                conn.writer.transport.abort()
            else:
                conn.writer.close()   # TLS close_notify, then TCP close
                # Do not wait for the peer's close_notify (asyncio would for up to 30 s).
                asyncio.get_running_loop().call_later(2.0, self._abort_quietly, conn)
        except Exception:  # noqa: BLE001
            pass

    @staticmethod
    def _abort_quietly(conn):
        try:
            conn.writer.transport.abort()
        except Exception:  # noqa: BLE001
            pass

    async def heartbeat(self, conn):
        interval = self.args.ping_interval
        silence = self.args.silence_timeout
        next_ping = None
        while not conn.closed:
            await asyncio.sleep(0.1)
            t = time.monotonic()
            if silence > 0 and t - conn.last_rx > silence:
                self.event("silence_timeout", conn, seconds=silence)
                log("conn %d: silent for %.1fs, closing", conn.id, silence)
                self.close_conn(conn, "silence timeout")
                return
            if interval > 0 and conn.hello is not None:
                if next_ping is None:
                    next_ping = t + interval
                elif t >= next_ping:
                    next_ping = t + interval
                    nonce = random.getrandbits(63)
                    try:
                        self.send_env(conn, self.pb.Envelope(ping=self.pb.Ping(nonce=nonce)))
                    except Exception as e:  # noqa: BLE001
                        log("conn %d: ping failed: %s", conn.id, e)

    # sending

    def send_env(self, conn, env, keep_seq=False):
        """Numbers (unless keep_seq) and writes one envelope; returns its seq."""
        if conn.closed:
            raise ConnectionError("connection %d is closed" % conn.id)
        if not keep_seq:
            conn.seq_out += 1
            env.seq = conn.seq_out
        conn.writer.write(frame(env))
        conn.frames_out += 1
        return env.seq

    async def drain(self, conn):
        try:
            await asyncio.wait_for(conn.writer.drain(), 30)
        except Exception as e:  # noqa: BLE001
            log("conn %d: drain failed: %s", conn.id, e)

    # handlers (keyed by body type in self.handlers)

    async def on_hello(self, conn, env):
        if conn.hello is not None:
            log("conn %d: second hello ignored", conn.id)
            return
        conn.hello = to_dict(env.hello)
        node = conn.hello.get("node", {})
        self.update_identity(conn, node)
        log("conn %d: hello from %s (%s)", conn.id, node.get("address"), conn.hello.get("agent_version"))
        self.send_env(conn, self.pb.Envelope(welcome=self.pb.Welcome(controller_id=self.args.controller_id)))
        hl = conn.hello.get("lease") or {}
        if hl.get("lease_id") and not self.manual_leases:
            lease, outcome = self.leases.resume(hl, conn.identity, now_ms())
            if outcome == "adopted":
                self.save_leases()
            if outcome:
                self.event("lease_" + outcome, conn, lease_id=hl.get("lease_id"), node=self.node_name(conn),
                           datacenter=conn.identity.get("datacenter", ""), rack=conn.identity.get("rack", ""),
                           epoch=int(hl.get("epoch") or 0), phase=hl.get("phase", ""),
                           table_state=lease["state"] if lease else None,
                           table_epoch=lease["epoch"] if lease else None)
                log("conn %d: Hello.lease %s (%s, epoch %s): %s", conn.id, hl.get("lease_id"), hl.get("phase"),
                    hl.get("epoch"), outcome)

    async def on_ping(self, conn, env):
        self.send_env(conn, self.pb.Envelope(pong=self.pb.Pong(nonce=env.ping.nonce)))

    # leases

    def update_identity(self, conn, node):
        """Merges the non-empty fields of a NodeIdentity dict into conn.identity; learns the
        cluster name from the first agent that reports one."""
        for k, v in (node or {}).items():
            if v not in ("", None):
                conn.identity[k] = v
        cn = conn.identity.get("cluster_name", "")
        if cn and not self.leases.cluster_name:
            self.leases.cluster_name = cn
            self.save_leases()
            log("serving cluster %r", cn)

    @staticmethod
    def node_name(conn):
        return conn.identity.get("address") or conn.peer or "conn-%d" % conn.id

    def save_leases(self):
        try:
            self.leases.save()
            return True
        except OSError as e:
            log("cannot write the lease state %s: %s", self.leases.path, e)
            return False

    async def on_health(self, conn, env):
        rec = to_dict(env.health)
        rec["_at"] = now_ms()
        conn.health = rec
        self.update_identity(conn, rec.get("node"))

    def eligible_agents(self):
        """Live agents (after Hello) of this controller's cluster, newest connection first."""
        cluster = self.leases.cluster_name
        out = []
        for c in sorted(self.conns.values(), key=lambda c: -c.id):
            if c.closed or c.hello is None:
                continue
            cn = c.identity.get("cluster_name", "")
            if cluster and cn and cn != cluster:
                continue
            out.append(c)
        return out

    def ring_problems(self):
        """Why the ring does not count as "every node reports the whole ring UN" (empty: it
        does). Known nodes: every address in a connected agent's newest ring and every
        connected agent's own address."""
        since = self.leases.last_release_at
        agents = self.eligible_agents()
        known = set()
        by_addr = {}
        for c in agents:
            if c.health is not None:
                known.update(p.get("address", "") for p in c.health.get("ring", []))
                addr = c.identity.get("address")
                if addr:
                    known.add(addr)
                    by_addr.setdefault(addr, c)     # newest connection wins
        known.discard("")
        problems = []
        for addr in sorted(known - set(by_addr)):
            problems.append("node %s has no connected agent that reported" % addr)
        for c in agents:
            if c.health is None:
                problems.append("agent on connection %d (%s) has not reported yet" % (c.id, self.node_name(c)))
        for addr in sorted(by_addr):
            c = by_addr[addr]
            h = c.health
            if since is not None and h["_at"] < since:
                problems.append("%s: newest report predates the last release" % addr)
                continue
            ring = h.get("ring", [])
            if not ring:
                problems.append("%s reports no ring" % addr)
                continue
            seen = set()
            for p in ring:
                seen.add(p.get("address", ""))
                st = {"PEER_STATUS_UP": "U", "PEER_STATUS_DOWN": "D"}.get(p.get("status"), "?")
                sa = {"PEER_STATE_NORMAL": "N", "PEER_STATE_LEAVING": "L", "PEER_STATE_JOINING": "J",
                      "PEER_STATE_MOVING": "M"}.get(p.get("state"), "?")
                if st + sa != "UN":
                    problems.append("%s sees %s %s%s" % (addr, p.get("address"), st, sa))
            for missing in sorted(known - seen):
                problems.append("%s's ring lacks %s" % (addr, missing))
        return problems

    def _deny(self, conn, lease_id, dc, rack, reason):
        self.send_env(conn, self.pb.Envelope(lease_denied=self.pb.LeaseDenied(
            lease_id=lease_id, reason=reason, retry_after_ms=self.retry_after_ms)))
        self.event("lease_denied", conn, lease_id=lease_id, node=self.node_name(conn), datacenter=dc, rack=rack,
                   epoch=0, reason=reason, retry_after_ms=self.retry_after_ms)
        log("conn %d: lease %s for %s (%s) denied: %s", conn.id, lease_id, self.node_name(conn),
            rack_name(dc, rack), reason)

    async def on_lease_request(self, conn, env):
        if self.manual_leases:
            return
        req = to_dict(env.lease_request)
        req.setdefault("datacenter", conn.identity.get("datacenter", ""))
        req.setdefault("rack", conn.identity.get("rack", ""))
        lease_id, dc, rack = req.get("lease_id", ""), req["datacenter"], req["rack"]
        saved = (self.leases.current_rack, self.leases.epoch)
        lease, repeat, reason = self.leases.request(req, conn.identity, now_ms(), self.ring_problems,
                                                    grant_all=self.grant_all)
        if lease is not None and not repeat and not self.save_leases():
            del self.leases.leases[lease_id]        # never grant what a restart would forget
            self.leases.current_rack = saved[0]     # (the epoch counter stays advanced)
            lease, reason = None, "cannot persist the lease table"
        if lease is None:
            self._deny(conn, lease_id, dc, rack, reason)
            return
        self.send_env(conn, self.pb.Envelope(lease_grant=self.pb.LeaseGrant(lease_id=lease_id, epoch=lease["epoch"])))
        self.event("lease_granted", conn, lease_id=lease_id, node=self.node_name(conn), datacenter=dc, rack=rack,
                   epoch=lease["epoch"], kind=lease.get("kind"), reason=req.get("reason", ""), repeat=repeat,
                   grant_all=bool(lease.get("grant_all")))
        log("conn %d: lease %s for %s (%s) granted, epoch %d%s", conn.id, lease_id, self.node_name(conn),
            rack_name(dc, rack), lease["epoch"], " (repeat)" if repeat else "")

    async def on_lease_release(self, conn, env):
        if self.manual_leases:
            return
        rel = to_dict(env.lease_release)
        lease, outcome = self.leases.release(rel, conn.identity, now_ms())
        if outcome in ("released", "failed"):
            self.save_leases()
        kind = "lease_released" if outcome in ("released", "failed", "duplicate") else "lease_release_rejected"
        self.event(kind, conn, lease_id=rel.get("lease_id", ""), node=self.node_name(conn),
                   datacenter=lease["datacenter"] if lease else conn.identity.get("datacenter", ""),
                   rack=lease["rack"] if lease else conn.identity.get("rack", ""),
                   epoch=int(rel.get("epoch") or 0), success=bool(rel.get("success")),
                   reason=rel.get("detail", "") if kind == "lease_released" else outcome,
                   detail=rel.get("detail", ""), outcome=outcome)
        log("conn %d: release of lease %s (epoch %s, success %s) from %s: %s", conn.id, rel.get("lease_id"),
            rel.get("epoch"), bool(rel.get("success")), self.node_name(conn), outcome)

    # control interface

    def pick(self, cid):
        if cid is not None:
            c = self.conns.get(int(cid))
            if c is None or c.closed:
                raise LookupError("connection %s is not live" % cid)
            return c
        live = [c for c in self.conns.values() if not c.closed]
        hello = [c for c in live if c.hello is not None]
        pool = hello or live
        if not pool:
            raise LookupError("no agent connected")
        return max(pool, key=lambda c: c.id)

    async def on_control(self, reader, writer):
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(b'{"ok":false,"error":"line too long"}\n')
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ValueError("request must be a JSON object")
                    op = req.get("op")
                    fn = getattr(self, "op_" + str(op), None)
                    if fn is None:
                        raise ValueError("unknown op %r" % op)
                    reply = await fn(req)
                except LookupError as e:
                    reply = {"ok": False, "error": e.args[0] if e.args else str(e)}
                except Exception as e:  # noqa: BLE001 - report every failure to the caller
                    reply = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
                writer.write((json.dumps(reply, separators=(",", ":")) + "\n").encode())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def op_push(self, req):
        conn = self.pick(req.get("conn"))
        cmd = from_dict(req["command"], self.pb.Command())
        seq = self.send_env(conn, self.pb.Envelope(command=cmd))
        await self.drain(conn)
        return {"ok": True, "conn": conn.id, "seq": seq}

    async def op_push_many(self, req):
        conn = self.pick(req.get("conn"))
        envs = [self.pb.Envelope(command=from_dict(c, self.pb.Command())) for c in req["commands"]]
        if conn.closed:
            raise LookupError("connection %d is not live" % conn.id)
        first = conn.seq_out + 1
        buf = bytearray()
        for env in envs:
            conn.seq_out += 1
            env.seq = conn.seq_out
            buf += frame(env)
        conn.writer.write(bytes(buf))   # one write for the whole burst
        conn.frames_out += len(envs)
        await self.drain(conn)
        return {"ok": True, "conn": conn.id, "count": len(envs), "first_seq": first, "last_seq": conn.seq_out}

    async def op_send(self, req):
        conn = self.pick(req.get("conn"))
        d = req["envelope"]
        env = from_dict(d, self.pb.Envelope())
        seq = self.send_env(conn, env, keep_seq="seq" in d)
        await self.drain(conn)
        return {"ok": True, "conn": conn.id, "seq": seq}

    async def op_send_raw(self, req):
        conn = self.pick(req.get("conn"))
        data = bytes.fromhex(req["hex"])
        conn.writer.write(data)
        await self.drain(conn)
        if req.get("close"):
            self.close_conn(conn, "closed after send_raw")
        return {"ok": True, "conn": conn.id, "bytes": len(data)}

    async def op_drop(self, req):
        targets = [self.pick(req["conn"])] if req.get("conn") is not None else list(self.conns.values())
        for c in targets:
            self.close_conn(c, "dropped by control", abort=bool(req.get("abort")))
        return {"ok": True, "dropped": [c.id for c in targets]}

    async def op_stop_listening(self, req):
        self.stop_listening()
        self.event("stopped_listening", port=self.port)
        return {"ok": True, "port": self.port}

    async def op_start_listening(self, req):
        if self.server is None:
            await self.start_listening()
            self.event("started_listening", port=self.port)
        return {"ok": True, "port": self.port}

    async def op_connections(self, req):
        return {"ok": True, "connections": [c.info() for c in sorted(self.conns.values(), key=lambda c: c.id)
                                             if not c.closed]}

    async def op_status(self, req):
        return {"ok": True, "pid": os.getpid(), "port": self.port, "listening": self.server is not None,
                "connections": len(self.conns), "records": len(self.records), "events": len(self.events)}

    async def _wait(self, source, pred, req):
        timeout = min(float(req.get("timeout", 10)), MAX_WAIT)
        count = int(req.get("count", 1))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idx, found = 0, 0
        while True:
            items = source()
            while idx < len(items):
                rec = items[idx]
                idx += 1
                if pred(rec):
                    found += 1
                    if found >= count:
                        return rec
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            fut = loop.create_future()
            self._waiters.add(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except asyncio.TimeoutError:
                pass
            finally:
                self._waiters.discard(fut)

    async def op_wait(self, req):
        type_ = req.get("type")
        since = req.get("since")
        rec = await self._wait(lambda: self.records,
                               lambda r: (since is None or r["_at"] >= since) and
                               record_matches(r, type_, req.get("match"), req.get("conn"), req.get("peer")),
                               req)
        if rec is None:
            return {"ok": False, "error": "timeout"}
        return {"ok": True, "envelope": rec}

    async def op_wait_event(self, req):
        kind = req.get("event")
        since = req.get("since")
        rec = await self._wait(lambda: self.events,
                               lambda r: (kind is None or r.get("_event") == kind) and
                               (since is None or r["_at"] >= since) and matches(r, req.get("match")),
                               req)
        if rec is None:
            return {"ok": False, "error": "timeout"}
        return {"ok": True, "event": rec}

    async def op_leases(self, req):
        """The lease table, the mode and what currently keeps the ring from passing the gate."""
        out = {"ok": True, "grant_all": self.grant_all, "manual": self.manual_leases,
               "retry_after_ms": self.retry_after_ms, "path": self.leases.path}
        out.update(self.leases.summary())
        out["ring_problems"] = self.ring_problems()
        return out

    async def op_clear_rack(self, req):
        """{"op":"clear_rack","datacenter":..,"rack":..[,"force":true]}: failed leases of the
        rack are cleared (force: held ones too), the rollout may go on."""
        dc, rack = req.get("datacenter"), req.get("rack")
        if not dc or not rack:
            raise ValueError("clear_rack needs datacenter and rack")
        cleared = self.leases.clear_rack(dc, rack, force=bool(req.get("force")), now=now_ms())
        self.save_leases()
        ids = [l["lease_id"] for l in cleared]
        self.event("rack_cleared", datacenter=dc, rack=rack, lease_ids=ids, force=bool(req.get("force")))
        log("rack %s cleared by the operator: %s", rack_name(dc, rack), ", ".join(ids) or "nothing to clear")
        return {"ok": True, "cleared": ids}

    async def op_set_mode(self, req):
        """{"op":"set_mode"[,"grant_all":bool][,"manual":bool][,"retry_after_ms":N]}"""
        if "grant_all" in req:
            self.grant_all = bool(req["grant_all"])
        if "manual" in req:
            self.manual_leases = bool(req["manual"])
        if "retry_after_ms" in req:
            self.retry_after_ms = max(0, int(req["retry_after_ms"]))
        mode = {"grant_all": self.grant_all, "manual": self.manual_leases, "retry_after_ms": self.retry_after_ms}
        self.event("lease_mode", **mode)
        return dict(ok=True, **mode)

    async def start_control(self):
        path = self.args.control
        if os.path.exists(path):
            os.unlink(path)
        self.control_server = await asyncio.start_unix_server(self.on_control, path, limit=64 * 1024 * 1024)

    async def shutdown(self):
        self.stop_listening()
        if self.control_server is not None:
            self.control_server.close()
        for c in list(self.conns.values()):
            self.close_conn(c, "controller stopping", abort=True)
        try:
            os.unlink(self.args.control)
        except OSError:
            pass
        await asyncio.sleep(0.05)   # let the connections' cleanup run and record "closed"
        self.event("stopped")
        self.rec_file.close()


async def amain(args):
    pb = load_pb(args.pb_dir)
    try:
        ctl = Controller(args, pb)
    except (OSError, ValueError) as e:
        log("cannot start: %s", e)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ctl.stopping.set)
    await ctl.start_control()
    await ctl.start_listening()
    ctl.event("listening", port=ctl.port, pid=os.getpid())
    log("listening on %s:%d, control %s", ctl.host, ctl.port, args.control)
    sys.stdout.write("LISTENING %d\n" % ctl.port)
    sys.stdout.flush()
    await ctl.stopping.wait()
    log("stopping")
    await ctl.shutdown()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    await asyncio.wait(tasks, timeout=2) if tasks else None
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="reference controller for cassandra-agent tests")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (PORT 0 = any free port)")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True, help="CA bundle that agents' client certificates must verify against")
    p.add_argument("--record", required=True, help="JSON-lines file, appended")
    p.add_argument("--control", required=True, help="Unix socket path for the control interface")
    p.add_argument("--pb-dir", default=None, help="cache directory for the generated protobuf code")
    p.add_argument("--ping-interval", type=float, default=15.0, help="seconds, 0 = never ping")
    p.add_argument("--silence-timeout", type=float, default=45.0, help="seconds, 0 = never")
    p.add_argument("--controller-id", default="test-controller")
    p.add_argument("--lease-state", default=None, metavar="PATH",
                   help="JSON file persisting the lease table (epochs, leases) across restarts")
    p.add_argument("--cluster-name", default="",
                   help="the cluster served (default: the first cluster_name an agent reports)")
    p.add_argument("--grant-all", action="store_true",
                   help="fault mode: grant every lease request at once, ignoring racks and health")
    p.add_argument("--manual-leases", action="store_true",
                   help="only record lease requests/releases; tests answer with the send op")
    p.add_argument("--lease-retry-ms", type=int, default=1000, help="LeaseDenied.retry_after_ms")
    args = p.parse_args(argv)
    pb_tmp = None
    if not args.pb_dir:
        pb_tmp = tempfile.mkdtemp(prefix="agent-pb-")
        args.pb_dir = pb_tmp
    try:
        return asyncio.run(amain(args))
    finally:
        if pb_tmp:
            shutil.rmtree(pb_tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
