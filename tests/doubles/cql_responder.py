#!/usr/bin/python3 -IS
# SPDX-License-Identifier: Apache-2.0
"""cql_responder.py - a minimal CQL native-protocol endpoint for probe tests.

  cql_responder.py [--host 127.0.0.1] [--port 0] [--mode normal|silent|close|reset|garbage|partial]
                   [--delay-ms N] [--log FILE] [--versions 3,4,5]
                   [--tls-cert CERT.pem --tls-key KEY.pem [--tls-ca CA.pem]]

Prints the bound port on the first line of stdout (flushed) once it accepts
connections, e.g. "43127"; --port 0 picks a free port.  Exits 0 on SIGTERM/SIGINT.

Protocol (v3/v4/v5 framing: 9-byte header version, flags, int16 stream, opcode,
int32 big-endian length; requests have version 0x03..0x05, responses set 0x80):
  OPTIONS (0x05)  -> SUPPORTED (0x06) with the same stream id and version, body =
                     [string multimap] {"CQL_VERSION": ["3.4.5"],
                     "COMPRESSION": ["snappy", "lz4"],
                     "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5-beta"]}
  any other opcode -> ERROR (0x00) code 0x000A (protocol error), same stream id
  unsupported request version (not in --versions, default 3,4,5) -> ERROR 0x000A
                     "Invalid or unsupported protocol version (N); supported versions
                     are (3/v3, 4/v4, 5/v5-beta)" in a v4 frame, then the connection
                     is closed (as Cassandra does)
  a response header bit (0x80) in a request, or a body longer than 256 MiB -> ERROR
                     0x000A, then close.
Several frames may arrive in one segment or split over many; all are answered in order.

Modes:
  normal   as above (--delay-ms delays every response)
  silent   accept, read and discard, never answer (connection stays open)
  close    accept and close at once (after --delay-ms, if given): client sees EOF
  reset    accept and close with SO_LINGER 0: client sees ECONNRESET
  garbage  for every request frame, answer 64 bytes of junk (random bytes after
           an invalid header byte 0xFF)
  partial  for every request, send only the first 5 bytes of the real response and
           then nothing more (connection stays open)
--log FILE appends "<unix_ms> <event> <peer> [details]" lines, one write per line:
  events: accept, frame (with "opcode=N stream=N version=N"), close.
TLS: with --tls-cert/--tls-key connections are TLS (server side, TLSv1.2+); with
--tls-ca client certificates are required and verified.
"""

import os
import signal
import socket
import struct
import sys
import threading
import time

OP_ERROR, OP_STARTUP, OP_READY, OP_OPTIONS, OP_SUPPORTED = 0x00, 0x01, 0x02, 0x05, 0x06
PROTOCOL_ERROR = 0x000A
MAX_BODY = 256 << 20

SUPPORTED = [
    ('CQL_VERSION', ['3.4.5']),
    ('COMPRESSION', ['snappy', 'lz4']),
    ('PROTOCOL_VERSIONS', ['3/v3', '4/v4', '5/v5-beta']),
]


def cql_string(s):
    b = s.encode('utf-8')
    return struct.pack('>H', len(b)) + b


def string_multimap(items):
    body = struct.pack('>H', len(items))
    for k, vals in items:
        body += cql_string(k) + struct.pack('>H', len(vals)) + b''.join(cql_string(v) for v in vals)
    return body


def frame(version, stream, opcode, body):
    return struct.pack('>BBhBI', 0x80 | version, 0, stream, opcode, len(body)) + body


def error_body(code, msg):
    return struct.pack('>i', code) + cql_string(msg)


class Server:
    def __init__(self, args):
        self.a = args
        self.log_lock = threading.Lock()
        self.ssl_ctx = None
        if args['tls_cert']:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(args['tls_cert'], args['tls_key'])
            if args['tls_ca']:
                ctx.load_verify_locations(args['tls_ca'])
                ctx.verify_mode = ssl.CERT_REQUIRED
            self.ssl_ctx = ctx

    def log(self, event, peer, extra=''):
        if not self.a['log']:
            return
        line = '%d %s %s%s\n' % (int(time.time() * 1000), event, peer, (' ' + extra) if extra else '')
        with self.log_lock:
            fd = os.open(self.a['log'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def delay(self):
        if self.a['delay_ms'] > 0:
            time.sleep(self.a['delay_ms'] / 1000.0)

    def handle(self, conn, peer):
        mode = self.a['mode']
        try:
            if mode == 'close':
                self.delay()
                return
            if mode == 'reset':
                self.delay()
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                return
            if self.ssl_ctx is not None:
                conn.settimeout(10)
                conn = self.ssl_ctx.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            buf = b''
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                if mode == 'silent':
                    continue
                buf += data
                while len(buf) >= 9:
                    ver_b, flags, stream, opcode, length = struct.unpack('>BBhBI', buf[:9])
                    version = ver_b & 0x7F
                    if ver_b & 0x80 or length > MAX_BODY:
                        self.log('frame', peer, 'bad-header version=0x%02x length=%d' % (ver_b, length))
                        conn.sendall(frame(4, stream, OP_ERROR, error_body(
                            PROTOCOL_ERROR, 'Invalid frame header (version 0x%02x, length %d)' % (ver_b, length))))
                        return
                    if version not in self.a['versions']:
                        self.log('frame', peer, 'unsupported-version=%d stream=%d' % (version, stream))
                        self.delay()
                        conn.sendall(frame(4, stream, OP_ERROR, error_body(
                            PROTOCOL_ERROR, 'Invalid or unsupported protocol version (%d); supported versions '
                            'are (%s)' % (version, ', '.join(SUPPORTED[2][1])))))
                        return
                    if len(buf) < 9 + length:
                        break
                    buf = buf[9 + length:]
                    self.log('frame', peer, 'opcode=%d stream=%d version=%d' % (opcode, stream, version))
                    if opcode == OP_OPTIONS:
                        resp = frame(version, stream, OP_SUPPORTED, string_multimap(SUPPORTED))
                    else:
                        resp = frame(version, stream, OP_ERROR, error_body(
                            PROTOCOL_ERROR, 'Unexpected opcode 0x%02x: this responder only answers OPTIONS'
                            % opcode))
                    self.delay()
                    if mode == 'garbage':
                        conn.sendall(b'\xff' + os.urandom(63))
                    elif mode == 'partial':
                        conn.sendall(resp[:5])
                    else:
                        conn.sendall(resp)
        except OSError:
            pass
        finally:
            self.log('close', peer)
            try:
                conn.close()
            except OSError:
                pass

    def serve(self):
        fam = socket.AF_INET6 if ':' in self.a['host'] else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.a['host'], self.a['port']))
        ls.listen(512)
        sys.stdout.write('%d\n' % ls.getsockname()[1])
        sys.stdout.flush()
        while True:
            try:
                conn, addr = ls.accept()
            except InterruptedError:
                continue
            peer = '%s:%d' % (addr[0], addr[1])
            self.log('accept', peer)
            t = threading.Thread(target=self.handle, args=(conn, peer), daemon=True)
            t.start()


def usage(msg):
    sys.stderr.write('cql_responder.py: %s\n' % msg)
    sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
    sys.exit(2)


def parse(argv):
    a = {'host': '127.0.0.1', 'port': 0, 'mode': 'normal', 'delay_ms': 0, 'log': None,
         'versions': {3, 4, 5}, 'tls_cert': None, 'tls_key': None, 'tls_ca': None}
    i = 0
    while i < len(argv):
        k = argv[i]
        if k in ('-h', '--help'):
            sys.stdout.write(__doc__)
            sys.exit(0)
        name, eq, val = k.partition('=')
        if not eq:
            if i + 1 >= len(argv):
                usage('%s needs a value' % k)
            val = argv[i + 1]
            i += 1
        key = name.lstrip('-').replace('-', '_')
        if key not in a:
            usage('unknown option %s' % name)
        if key in ('port', 'delay_ms'):
            a[key] = int(val)
        elif key == 'versions':
            a[key] = set(int(v) for v in val.split(',') if v)
        else:
            a[key] = val
        i += 1
    if a['mode'] not in ('normal', 'silent', 'close', 'reset', 'garbage', 'partial'):
        usage('bad --mode %s' % a['mode'])
    if bool(a['tls_cert']) != bool(a['tls_key']):
        usage('--tls-cert and --tls-key go together')
    return a


def main():
    args = parse(sys.argv[1:])

    def on_term(signum, _frame):
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    Server(args).serve()


if __name__ == '__main__':
    main()
