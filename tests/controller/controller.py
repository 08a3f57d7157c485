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
Controller.OPS / the op_* methods below for the operations.

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

    def info(self):
        h = self.hello or {}
        return {"conn": self.id, "peer": self.peer, "remote": self.remote,
                "hello": self.hello is not None, "node": h.get("node"),
                "agent_version": h.get("agent_version"),
                "resumable_command_ids": h.get("resumable_command_ids", []),
                "lease": h.get("lease"),
                "connected_at": self.connected_at, "last_rx_at": self.last_rx_ms,
                "frames_in": self.frames_in, "frames_out": self.frames_out}


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
        # Body type -> handler(conn, env). Bodies without a handler are only recorded.
        self.handlers = {
            "hello": self.on_hello,
            "ping": self.on_ping,
            "pong": None,
            "health": None,
            "command_update": None,
            "error": None,
            # Lease semantics (SPEC section 7: one rack at a time, monotonic epochs, no timer
            # revocation) are not implemented yet: add on_lease_request / on_lease_release here.
            # Until then tests can answer by hand with the "send" op (lease_grant/lease_denied).
            "lease_request": None,
            "lease_release": None,
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

    def event(self, kind, conn=None, **fields):
        rec = {"_event": kind}
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
        log("conn %d: hello from %s (%s)", conn.id, node.get("address"), conn.hello.get("agent_version"))
        self.send_env(conn, self.pb.Envelope(welcome=self.pb.Welcome(controller_id=self.args.controller_id)))

    async def on_ping(self, conn, env):
        self.send_env(conn, self.pb.Envelope(pong=self.pb.Pong(nonce=env.ping.nonce)))

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
    ctl = Controller(args, pb)
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
