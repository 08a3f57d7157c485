#!/usr/bin/python3 -I
# SPDX-License-Identifier: Apache-2.0
"""mockbus.py - a private "system" D-Bus with a mocked systemd and logind, for tests.

  mockbus.py --dir DIR [--unit cassandra.service]... [--active] [--no-logind]
             [--transition-ms N] [--timeout SECONDS]

Starts, all as children of this process (and killed with it, also on SIGKILL via
PR_SET_PDEATHSIG):
  dbus-daemon --config-file=DIR/bus.conf --nofork --print-address
      session-like policy (everything allowed for the same uid), <auth>EXTERNAL</auth>,
      listening on unix:path=DIR/bus (or unix:tmpdir=/tmp when DIR/bus is too long
      for a socket path);
  /usr/bin/python3 -m dbusmock --template systemd -l DIR/systemd.log
  /usr/bin/python3 -m dbusmock --template logind  -l DIR/logind.log   (unless --no-logind)
then, through dbusmock's org.freedesktop.DBus.Mock API, makes the systemd mock behave
more like the real one (see "systemd mock" below), adds every --unit (default
cassandra.service) and starts them if --active.  When everything is up it writes the
bus address to DIR/bus.address (atomically) and prints "READY <address>" on stdout.
It then waits; SIGTERM/SIGINT stop the children (TERM, then KILL after 3 s), remove
DIR/bus.address and exit 0.  If a child dies on its own, the rest are stopped and it
exits 1.  Startup problems exit 1 with a message on stderr (bounded by --timeout,
default 20 s).  Children's stdout/stderr go to DIR/dbus-daemon.out, DIR/systemd.out,
DIR/logind.out.

Clients: DBUS_SYSTEM_BUS_ADDRESS=$(cat DIR/bus.address)   (sd_bus_open_system() uses it)
         busctl --address="$ADDR" ...   dbus-send --bus="$ADDR" ...

systemd mock (bus name org.freedesktop.systemd1, manager /org/freedesktop/systemd1):
  unit object paths use systemd's real escaping (sd_bus_path_encode):
      cassandra.service -> /org/freedesktop/systemd1/unit/cassandra_2eservice
      (the stock template's AddMockUnit would give .../cassandra_service)
  org.freedesktop.systemd1.Manager:
      GetUnit(s) -> o, LoadUnit(s) -> o          NoSuchUnit error for unknown units
      StartUnit, StopUnit, RestartUnit, TryRestartUnit, ReloadOrRestartUnit (ss) -> o
          return /org/freedesktop/systemd1/job/<n>; emit JobNew and then
          JobRemoved(u id, o job, s unit, s result) after the method reply
      KillUnit(ssi)        an active unit becomes failed (Result "signal")
      ResetFailedUnit(s)   failed -> inactive
      Subscribe(), Unsubscribe()   no-ops
  org.freedesktop.systemd1.Unit on each unit: Id, Names, Description, LoadState,
      ActiveState, SubState, FragmentPath, UnitFileState, ActiveEnterTimestamp,
      ActiveExitTimestamp, InactiveEnterTimestamp, InactiveExitTimestamp,
      StateChangeTimestamp (t, usec), CanStart, CanStop; methods Start(s), Stop(s),
      Restart(s) -> o.  org.freedesktop.systemd1.Service (".service" units): MainPID,
      ExecMainPID (u), ExecMainStatus (i), NRestarts (u), Result (s), Type (s).
      Every change emits org.freedesktop.DBus.Properties.PropertiesChanged.
  State changes: with --transition-ms 0 (default) the final state is set before the
      method returns (start: active/running with a fake MainPID; stop:
      inactive/dead).  With N > 0 the unit first goes activating/start or
      deactivating/stop-sigterm and reaches the final state (and JobRemoved) N ms later.
  Failure injection (per unit and verb, persists until set back to "done"):
      busctl --address=$ADDR call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
          org.freedesktop.DBus.Mock SetJobResult sss cassandra.service start failed
      verb: start|stop|restart; result: done | failed (unit -> failed/failed, Result
      exit-code, JobRemoved "failed") | timeout (same, Result/JobRemoved "timeout") |
      hang (stays activating/deactivating, no JobRemoved ever).
  Arbitrary state, e.g. a crash:
      busctl --address=$ADDR call org.freedesktop.systemd1 \
          /org/freedesktop/systemd1/unit/cassandra_2eservice org.freedesktop.DBus.Mock \
          UpdateProperties 'sa{sv}' org.freedesktop.systemd1.Unit 2 \
          ActiveState s failed SubState s failed
  Do not call the Mock's Reset(): it reloads the stock template and drops all this.

logind mock (org.freedesktop.login1, /org/freedesktop/login1, stock template):
  Reboot(b), PowerOff(b), ... only record the call.  To observe a reboot request:
    - DIR/logind.log gets one line per call: "<unix time with ms> Reboot True"
      (grep -c '^[0-9.]* Reboot ' DIR/logind.log);
    - or over the bus: busctl --address=$ADDR call org.freedesktop.login1 \
          /org/freedesktop/login1 org.freedesktop.DBus.Mock GetMethodCalls s Reboot
      -> a(tav) with one (unix_seconds, [args]) entry per call;
      ClearCalls() on the same object/interface resets it.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

MANAGER_PATH = '/org/freedesktop/systemd1'
MANAGER_IFACE = 'org.freedesktop.systemd1.Manager'
MOCK_IFACE = 'org.freedesktop.DBus.Mock'
PYTHON = '/usr/bin/python3'

# Code run inside the dbusmock systemd process (via a one-off Mock method). It
# defines helpers on the manager object (self.mb); the method overrides below call them.
SETUP_CODE = r'''
# helpers are nested in a factory so that they can see each other (exec() scoping)
def _mb_factory():
    def _mb_escape(name):
        raw = name.encode('utf-8')
        out = ''
        for i, b in enumerate(raw):
            c = chr(b)
            if ('a' <= c <= 'z') or ('A' <= c <= 'Z') or (i > 0 and '0' <= c <= '9'):
                out += c
            else:
                out += '_%02x' % b
        return out or '_'

    def _mb_now():
        return dbus.UInt64(int(time.time() * 1000000))

    def _mb_set(unit, active, sub, extra_unit=None, extra_service=None):
        props = {'ActiveState': active, 'SubState': sub, 'StateChangeTimestamp': _mb_now()}
        if extra_unit:
            props.update(extra_unit)
        unit.UpdateProperties('org.freedesktop.systemd1.Unit', props)
        if extra_service and 'org.freedesktop.systemd1.Service' in unit.props:
            unit.UpdateProperties('org.freedesktop.systemd1.Service', extra_service)

    def _mb_add_unit(mgr, name):
        name = str(name)
        if name in mgr.units:
            return mgr.units[name]
        path = '/org/freedesktop/systemd1/unit/' + _mb_escape(name)
        mgr.units[name] = path
        z = dbus.UInt64(0)
        code = "m = objects['/org/freedesktop/systemd1']; ret = m.mb['job'](m, self.props['org.freedesktop.systemd1.Unit']['Id'], '%s', args[0])"
        mgr.AddObject(path, 'org.freedesktop.systemd1.Unit', {
            'Id': dbus.String(name), 'Names': dbus.Array([name], signature='s'),
            'Description': dbus.String(name + ' (mock)'), 'LoadState': dbus.String('loaded'),
            'ActiveState': dbus.String('inactive'), 'SubState': dbus.String('dead'),
            'FragmentPath': dbus.String('/lib/systemd/system/' + name),
            'UnitFileState': dbus.String('enabled'),
            'ActiveEnterTimestamp': z, 'ActiveExitTimestamp': z, 'InactiveEnterTimestamp': z,
            'InactiveExitTimestamp': z, 'StateChangeTimestamp': z,
            'CanStart': dbus.Boolean(True), 'CanStop': dbus.Boolean(True),
        }, [('Start', 's', 'o', code % 'start'), ('Stop', 's', 'o', code % 'stop'),
            ('Restart', 's', 'o', code % 'restart')])
        if name.endswith('.service'):
            objects[path].AddProperties('org.freedesktop.systemd1.Service', {
                'MainPID': dbus.UInt32(0), 'ExecMainPID': dbus.UInt32(0), 'ExecMainStatus': dbus.Int32(0),
                'NRestarts': dbus.UInt32(0), 'Result': dbus.String('success'), 'Type': dbus.String('notify'),
            })
        return path

    def _mb_unit(mgr, name, missing):
        name = str(name)
        if name not in mgr.units:
            raise dbus.exceptions.DBusException('Unit %s %s.' % (name, missing),
                                                name='org.freedesktop.systemd1.NoSuchUnit')
        return objects[mgr.units[name]]

    def _mb_finish(mgr, unit, name, target, result):
        if result == 'done':
            if target == 'active':
                mgr.mb_next_pid += 1
                pid = dbus.UInt32(mgr.mb_next_pid)
                _mb_set(unit, 'active', 'running',
                        {'ActiveEnterTimestamp': _mb_now(), 'InactiveExitTimestamp': _mb_now()},
                        {'MainPID': pid, 'ExecMainPID': pid, 'Result': 'success', 'ExecMainStatus': dbus.Int32(0)})
            else:
                _mb_set(unit, 'inactive', 'dead',
                        {'InactiveEnterTimestamp': _mb_now(), 'ActiveExitTimestamp': _mb_now()},
                        {'MainPID': dbus.UInt32(0)})
        else:
            _mb_set(unit, 'failed', 'failed', {'InactiveEnterTimestamp': _mb_now()},
                    {'MainPID': dbus.UInt32(0), 'Result': 'timeout' if result == 'timeout' else 'exit-code',
                     'ExecMainStatus': dbus.Int32(1)})

    def _mb_job(mgr, name, verb, mode):
        from gi.repository import GLib
        name = str(name)
        unit = _mb_unit(mgr, name, 'not loaded' if verb == 'stop' else 'not found')
        job_id = dbus.UInt32(mgr.next_job_id)
        mgr.next_job_id += 1
        job_path = dbus.ObjectPath('/org/freedesktop/systemd1/job/%d' % job_id)
        rkey = 'restart' if verb in ('restart', 'try-restart', 'reload-or-restart') else verb
        result = mgr.mb_results.get((name, rkey), 'done')
        cur = str(unit.props['org.freedesktop.systemd1.Unit']['ActiveState'])
        target = 'inactive' if verb == 'stop' else 'active'
        noop = ((verb == 'start' and cur == 'active') or (verb == 'stop' and cur in ('inactive', 'failed'))
                or (verb == 'try-restart' and cur != 'active'))
        iface = 'org.freedesktop.systemd1.Manager'

        def job_new():
            mgr.EmitSignal(iface, 'JobNew', 'uos', [job_id, job_path, name])
            return False

        def job_removed(res):
            mgr.EmitSignal(iface, 'JobRemoved', 'uoss', [job_id, job_path, name, res])
            return False

        job_new()          # before the reply, like systemd; JobRemoved always comes after it
        if noop:
            GLib.idle_add(job_removed, 'done')
            return job_path
        if target == 'active':
            mid = ('activating', 'start')
        else:
            mid = ('deactivating', 'stop-sigterm')
        delay = mgr.mb_delay_ms
        if result == 'hang' or delay > 0:
            _mb_set(unit, mid[0], mid[1])
            if result == 'hang':
                return job_path

            def later():
                _mb_finish(mgr, unit, name, target, result)
                job_removed(result)
                return False
            GLib.timeout_add(delay, later)
            return job_path
        _mb_finish(mgr, unit, name, target, result)
        GLib.idle_add(job_removed, result)
        return job_path

    def _mb_kill(mgr, name, who, sig):
        unit = _mb_unit(mgr, name, 'not loaded')
        if str(unit.props['org.freedesktop.systemd1.Unit']['ActiveState']) in ('active', 'activating', 'deactivating'):
            _mb_set(unit, 'failed', 'failed', {'InactiveEnterTimestamp': _mb_now()},
                    {'MainPID': dbus.UInt32(0), 'Result': 'signal'})

    def _mb_reset_failed(mgr, name):
        unit = _mb_unit(mgr, name, 'not loaded')
        if str(unit.props['org.freedesktop.systemd1.Unit']['ActiveState']) == 'failed':
            _mb_set(unit, 'inactive', 'dead', None, {'Result': 'success'})

    return {'escape': _mb_escape, 'add_unit': _mb_add_unit, 'unit': _mb_unit, 'job': _mb_job,
            'kill': _mb_kill, 'reset_failed': _mb_reset_failed}

self.mb = _mb_factory()
self.mb_results = {}
self.mb_delay_ms = int(args[0])
self.mb_next_pid = 4200
'''

OVERRIDES = [
    # (interface, name, in, out, code)
    (MANAGER_IFACE, 'GetUnit', 's', 'o', "ret = self.mb['unit'](self, args[0], 'not loaded').path"),
    (MANAGER_IFACE, 'LoadUnit', 's', 'o', "ret = self.mb['unit'](self, args[0], 'not found').path"),
    (MANAGER_IFACE, 'StartUnit', 'ss', 'o', "ret = self.mb['job'](self, args[0], 'start', args[1])"),
    (MANAGER_IFACE, 'StopUnit', 'ss', 'o', "ret = self.mb['job'](self, args[0], 'stop', args[1])"),
    (MANAGER_IFACE, 'RestartUnit', 'ss', 'o', "ret = self.mb['job'](self, args[0], 'restart', args[1])"),
    (MANAGER_IFACE, 'TryRestartUnit', 'ss', 'o',
     "ret = self.mb['job'](self, args[0], 'try-restart', args[1])"),
    (MANAGER_IFACE, 'ReloadOrRestartUnit', 'ss', 'o',
     "ret = self.mb['job'](self, args[0], 'reload-or-restart', args[1])"),
    (MANAGER_IFACE, 'KillUnit', 'ssi', '', "self.mb['kill'](self, args[0], args[1], args[2])"),
    (MANAGER_IFACE, 'ResetFailedUnit', 's', '', "self.mb['reset_failed'](self, args[0])"),
    (MANAGER_IFACE, 'Subscribe', '', '', ''),
    (MANAGER_IFACE, 'Unsubscribe', '', '', ''),
    (MOCK_IFACE, 'AddMockUnit', 's', '', "self.mb['add_unit'](self, args[0])"),
    (MOCK_IFACE, 'SetJobResult', 'sss', '',
     "assert str(args[1]) in ('start', 'stop', 'restart'), 'verb: start|stop|restart'\n"
     "assert str(args[2]) in ('done', 'failed', 'timeout', 'hang'), 'result: done|failed|timeout|hang'\n"
     "self.mb_results[(str(args[0]), str(args[1]))] = str(args[2])"),
]

CONFIG = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- private test bus written by tests/doubles/mockbus.py -->
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_completed_connections">1000</limit>
  <limit name="max_connections_per_user">1000</limit>
</busconfig>
'''


def die(msg):
    sys.stderr.write('mockbus.py: %s\n' % msg)
    sys.exit(1)


def parse(argv):
    a = {'dir': None, 'units': [], 'active': False, 'logind': True, 'transition_ms': 0, 'timeout': 20.0}
    i = 0
    while i < len(argv):
        k = argv[i]
        name, eq, val = k.partition('=')

        def value():
            nonlocal i
            if eq:
                return val
            if i + 1 >= len(argv):
                die('%s needs a value' % k)
            i += 1
            return argv[i]
        if name == '--dir':
            a['dir'] = value()
        elif name == '--unit':
            a['units'].append(value())
        elif name == '--active':
            a['active'] = True
        elif name == '--no-logind':
            a['logind'] = False
        elif name == '--transition-ms':
            a['transition_ms'] = int(value())
        elif name == '--timeout':
            a['timeout'] = float(value())
        elif name in ('-h', '--help'):
            sys.stdout.write(__doc__)
            sys.exit(0)
        else:
            die('unknown argument %s (see --help)' % k)
        i += 1
    if not a['dir']:
        die('--dir DIR is required')
    if not a['units']:
        a['units'] = ['cassandra.service']
    return a


_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # die with the parent (PR_SET_PDEATHSIG = 1), own process group not needed
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class MockBus:
    def __init__(self, a):
        self.a = a
        self.dir = os.path.abspath(a['dir'])
        self.children = []          # (name, Popen)
        self.stopping = False

    def spawn(self, name, argv, env=None, stdout=None):
        out = stdout if stdout is not None else open(os.path.join(self.dir, name + '.out'), 'ab')
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=open(os.path.join(self.dir, name + '.out'), 'ab'),
                             env=env, preexec_fn=_child_setup, close_fds=True)
        self.children.append((name, p))
        return p

    def start_daemon(self, deadline):
        sock = os.path.join(self.dir, 'bus')
        listen = 'unix:path=' + sock
        if len(sock.encode()) > 100:
            sys.stderr.write('mockbus.py: %s is too long for a unix socket, using unix:tmpdir=/tmp\n' % sock)
            listen = 'unix:tmpdir=/tmp'
        elif os.path.exists(sock):
            os.unlink(sock)
        conf = os.path.join(self.dir, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(CONFIG.format(listen=listen))
        p = self.spawn('dbus-daemon', ['dbus-daemon', '--config-file=' + conf, '--nofork', '--print-address'],
                       stdout=subprocess.PIPE)
        import select
        buf = b''
        while b'\n' not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                die('dbus-daemon did not print its address in time (see %s/dbus-daemon.out)' % self.dir)
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    die('dbus-daemon exited (rc %s), see %s/dbus-daemon.out' % (p.wait(), self.dir))
                buf += chunk
        return buf.split(b'\n')[0].decode().strip()

    def wait_name(self, conn, name, deadline, proc):
        while time.monotonic() < deadline:
            if conn.name_has_owner(name):
                return
            if proc.poll() is not None:
                die('%s mock exited (rc %s), see %s' % (name, proc.returncode, self.dir))
            time.sleep(0.05)
        die('%s did not appear on the bus in time' % name)

    def run(self):
        a = self.a
        os.makedirs(self.dir, exist_ok=True)
        deadline = time.monotonic() + a['timeout']
        addr_file = os.path.join(self.dir, 'bus.address')
        if os.path.exists(addr_file):
            os.unlink(addr_file)
        addr = self.start_daemon(deadline)
        env = dict(os.environ)
        for k in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP'):
            env.pop(k, None)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = addr
        env['DBUS_SESSION_BUS_ADDRESS'] = addr
        sd = self.spawn('systemd', [PYTHON, '-m', 'dbusmock', '--template', 'systemd',
                                    '-l', os.path.join(self.dir, 'systemd.log')], env=env)
        ld = None
        if a['logind']:
            ld = self.spawn('logind', [PYTHON, '-m', 'dbusmock', '--template', 'logind',
                                       '-l', os.path.join(self.dir, 'logind.log')], env=env)
        import dbus
        conn = dbus.bus.BusConnection(addr)
        self.wait_name(conn, 'org.freedesktop.systemd1', deadline, sd)
        if ld is not None:
            self.wait_name(conn, 'org.freedesktop.login1', deadline, ld)
        mgr = conn.get_object('org.freedesktop.systemd1', MANAGER_PATH)
        mock = dbus.Interface(mgr, MOCK_IFACE)
        mock.AddMethod(MOCK_IFACE, 'MockbusSetup', 'u', '', SETUP_CODE)
        mock.MockbusSetup(dbus.UInt32(a['transition_ms']))
        for iface, name, i, o, code in OVERRIDES:
            mock.AddMethod(iface, name, i, o, code)
        manager = dbus.Interface(mgr, MANAGER_IFACE)
        for unit in a['units']:
            mock.AddMockUnit(unit)
            if a['active']:
                manager.StartUnit(unit, 'replace')
        if a['active'] and a['transition_ms'] > 0:
            want = time.monotonic() + a['transition_ms'] / 1000.0 + 5
            for unit in a['units']:
                path = manager.GetUnit(unit)
                props = dbus.Interface(conn.get_object('org.freedesktop.systemd1', path),
                                       'org.freedesktop.DBus.Properties')
                while props.Get('org.freedesktop.systemd1.Unit', 'ActiveState') != 'active':
                    if time.monotonic() > want:
                        die('%s did not become active' % unit)
                    time.sleep(0.02)
        conn.close()
        tmp = addr_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write(addr + '\n')
        os.replace(tmp, addr_file)
        with open(os.path.join(self.dir, 'mockbus.pid'), 'w') as f:
            f.write('%d\n' % os.getpid())
        sys.stdout.write('READY %s\n' % addr)
        sys.stdout.flush()
        while not self.stopping:
            for name, p in self.children:
                if p.poll() is not None:
                    sys.stderr.write('mockbus.py: %s exited unexpectedly (rc %s)\n' % (name, p.returncode))
                    return 1
            time.sleep(0.1)
        return 0

    def shutdown(self):
        # mocks first, the daemon last
        for name, p in reversed(self.children):
            if p.poll() is None:
                try:
                    p.terminate()
                except OSError:
                    pass
        end = time.monotonic() + 3
        for name, p in self.children:
            try:
                p.wait(timeout=max(0.01, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in ('bus.address', 'mockbus.pid'):
            try:
                os.unlink(os.path.join(self.dir, f))
            except OSError:
                pass


def main():
    a = parse(sys.argv[1:])
    mb = MockBus(a)

    def on_signal(signum, _frame):
        mb.stopping = True
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rc = 1
    try:
        rc = mb.run()
    except KeyboardInterrupt:
        rc = 0
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except Exception as e:      # noqa: BLE001 - report anything, then clean up
        sys.stderr.write('mockbus.py: %s: %s\n' % (type(e).__name__, e))
        rc = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        mb.shutdown()
    sys.exit(rc)


if __name__ == '__main__':
    main()
