#!/usr/bin/python3
"""Fault tests of the state directory on a real, small tmpfs: full (ENOSPC) while the agent runs,
and read-only at start. The agent keeps serving, reports STATE_DIRECTORY_FAILED (on its socket and
to the controller), loses nothing already persisted, and picks up again once the disk is usable.

The tmpfs is mounted in a private mount namespace (`unshare -m`, the test re-executes itself in
one), so nothing leaks to the host; this needs root (CI runs as root). Without it: a visible SKIP."""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "controller"))

NS_MARK = "CA_STATE_DIRECTORY_TEST_IN_NS"


def reexec_in_mount_namespace():
    if os.environ.get(NS_MARK) == "1":
        return
    why = None
    if os.geteuid() != 0:
        why = "needs root to mount a tmpfs"
    elif not shutil.which("unshare"):
        why = "unshare (util-linux) is not installed"
    elif subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                        stderr=subprocess.DEVNULL).returncode != 0:
        why = "cannot create a mount namespace here"
    if why:
        print("SKIP: test_state_directory: %s" % why)
        sys.exit(77)
    os.environ[NS_MARK] = "1"
    sys.stdout.flush()
    os.execvp("unshare", ["unshare", "-m", "--propagation", "private", sys.executable, os.path.abspath(__file__)]
              + sys.argv[1:])


reexec_in_mount_namespace()

from client import Controller, decode_bytes, load_pb, make_certs  # noqa: E402
from harness import Env, wait_for  # noqa: E402

CERTS = None
CERTS_ROOT = None


def setUpModule():
    global CERTS, CERTS_ROOT
    CERTS_ROOT = tempfile.mkdtemp(prefix="ca-certs-")
    CERTS = make_certs(os.path.join(CERTS_ROOT, "certs"))


def tearDownModule():
    shutil.rmtree(CERTS_ROOT, ignore_errors=True)


def mount(*args):
    subprocess.run(["mount"] + list(args), check=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class StateDirectoryCase(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)
        self.state_dir = os.path.join(self.env.dir, "state")
        os.mkdir(self.state_dir)
        mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", self.state_dir)
        self.addCleanup(lambda: subprocess.run(["umount", "-l", self.state_dir], check=False))
        self.journal = os.path.join(self.state_dir, "commands.journal")
        self.ctl = Controller(CERTS, os.path.join(self.env.dir, "record.jsonl"),
                              os.path.join(self.env.dir, "control.sock"))
        self.addCleanup(self.ctl.stop)

    def start_agent(self, extra=""):
        self.env.write_config(controller=dict(address="127.0.0.1:%d" % self.ctl.port, ca=os.path.join(CERTS, "ca.pem"),
                                              cert=os.path.join(CERTS, "agent.pem"),
                                              key=os.path.join(CERTS, "agent.key")),
                              report_interval="1s", nodetool_interval="1s", extra=extra)
        with open(self.env.config) as f:
            text = f.read()
        with open(self.env.config, "w") as f:
            f.write(text.replace("state_directory: %s\n" % self.env.dir, "state_directory: %s\n" % self.state_dir))
        self.since = int(time.time() * 1000)
        self.env.start_agent()
        self.ctl.wait("hello", timeout=15, since=self.since)

    def fill(self):
        """Fills the tmpfs to the last byte; returns the filler's path."""
        filler = os.path.join(self.state_dir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC)
        finally:
            os.close(fd)
        return filler

    def state_conditions(self):
        return [c for c in self.env.conditions("STATE_DIRECTORY_FAILED")]

    def run_command(self, cid, sub, status="COMMAND_STATUS_SUCCEEDED"):
        since = int(time.time() * 1000)
        self.ctl.push({"id": cid, "run_nodetool": {"subcommand": sub}})
        return self.ctl.wait("command_update", {"id": cid, "status": status}, timeout=15, since=since)

    def final(self, cid, sub, timeout=15):
        """Pushes RunNodetool `sub` as `cid`; returns its first final CommandUpdate."""
        since = int(time.time() * 1000)
        self.ctl.push({"id": cid, "run_nodetool": {"subcommand": sub}})
        finals = ("COMMAND_STATUS_SUCCEEDED", "COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED")
        return wait_for(lambda: next((r for r in self.ctl.records("command_update", {"id": cid})
                                      if r["_at"] >= since and r["command_update"]["status"] in finals), None),
                        timeout, "a final status of %s" % cid)

    def reported(self, code, subject_part):
        """The condition in the newest HealthReport the controller received, or None."""
        reports = self.ctl.records("health")
        if not reports:
            return None
        return next((c for c in reports[-1]["health"].get("conditions", [])
                     if c.get("code") == code and subject_part in c.get("subject", "")), None)


def journal_records(data):
    """The StoredCommand records of a journal (4-byte big-endian length, then the message); fails
    on a torn or corrupt record, which would hide every record written after it."""
    pb = load_pb()
    out, off = [], 0
    while off < len(data):
        assert off + 4 <= len(data), "torn length at byte %d" % off
        n = int.from_bytes(data[off:off + 4], "big")
        assert off + 4 + n <= len(data), "torn record at byte %d (%d bytes claimed)" % (off, n)
        rec = pb.StoredCommand()
        rec.ParseFromString(data[off + 4:off + 4 + n])
        out.append(rec)
        off += 4 + n
    return out


class Full(StateDirectoryCase):
    def test_a_full_state_directory_is_reported_nothing_persisted_is_lost_and_writing_resumes(self):
        self.start_agent()
        first = self.run_command("before-full", "status")
        wait_for(lambda: b"before-full" in read(self.journal), 10, "the first result journaled")
        filler = self.fill()
        # The journal takes what fits in its last page; then a command is not run, since its
        # acceptance cannot be journaled (a crash could run it twice): FAILED with the reason.
        results = {}
        for i in range(60):
            cid = "during-full-%d" % i
            results[cid] = self.final(cid, "tpstats")
            if results[cid]["command_update"]["status"] == "COMMAND_STATUS_FAILED":
                break
        last = results[cid]["command_update"]
        self.assertEqual(last["status"], "COMMAND_STATUS_FAILED", last)
        self.assertIn("cannot journal the command: No space left on device", last["message"])
        c = wait_for(lambda: self.state_conditions(), 10, "STATE_DIRECTORY_FAILED")
        self.assertEqual(c[0]["severity"], "SEVERITY_CRITICAL")
        self.assertIn("commands.journal", c[0]["subject"])
        self.assertIn("No space left on device", c[0]["message"])
        wait_for(lambda: self.reported("STATE_DIRECTORY_FAILED", "commands.journal"), 10,
                 "the condition in a HealthReport")
        # Nothing already persisted is lost, and no torn record is left behind.
        journal_full = read(self.journal)
        ids = [r.id for r in journal_records(journal_full)]
        self.assertIn("before-full", ids)
        # The agent keeps serving: socket, probes, reports; the journal stays whole.
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "ring")
        n_reports = len(self.ctl.records("health"))
        wait_for(lambda: len(self.ctl.records("health")) > n_reports + 1, 10, "reports go on")
        results["late"] = self.final("late", "tpstats")
        self.assertEqual(results["late"]["command_update"]["status"], "COMMAND_STATUS_FAILED")
        time.sleep(6)  # past a retry, still full
        self.assertEqual(read(self.journal), journal_full)

        # Space again: within the 5 s retry the kept results are written and the condition clears.
        os.unlink(filler)
        try:
            wait_for(lambda: not self.state_conditions(), 15, "the condition cleared")
        except AssertionError:
            print(self.state_conditions(), self.env.log()[-3000:], file=sys.stderr)
            raise
        wait_for(lambda: set(results) <= {r.id for r in journal_records(read(self.journal))}, 5,
                 "every kept result written")
        self.assertTrue(read(self.journal).startswith(journal_full))
        # And commands run again.
        self.run_command("after-full", "tpstats")

        # After a restart every result is known: repeating an id returns the stored result, never reruns.
        self.assertEqual(self.env.stop_agent(), 0)
        calls_tp = self.env.nodetool_calls("tpstats")
        self.since = int(time.time() * 1000)
        self.env.start_agent()
        self.ctl.wait("hello", timeout=15, since=self.since)
        for cid, upd in list(results.items()) + [("before-full", first)]:
            again = self.final(cid, "status" if cid == "before-full" else "tpstats")["command_update"]
            self.assertEqual((again["status"], again.get("message"), decode_bytes(again.get("output"))),
                             (upd["command_update"]["status"], upd["command_update"].get("message"),
                              decode_bytes(upd["command_update"].get("output"))), cid)
        time.sleep(0.5)
        self.assertEqual(self.env.nodetool_calls("tpstats"), calls_tp)  # none ran again

    def test_a_scheduled_snapshot_is_not_taken_while_its_slot_cannot_be_persisted(self):
        self.start_agent(extra="snapshots: { interval: 2s, retention: 1h, tag_prefix: agent, min_free_disk: 1% }")
        wait_for(lambda: self.env.status()["snapshots"]["last_result"] == "ok", 15, "a first snapshot")
        record = os.path.join(self.state_dir, "snapshots.state")
        filler = self.fill()
        # A slot persisted just before the disk filled may still be taken: count from the first
        # slot refused, then check that the next refused slot takes nothing and writes nothing.
        st = wait_for(lambda: (lambda s: s if s["last_result"] == "failed" else None)(self.env.status()["snapshots"]),
                      15, "a failed slot")
        self.assertIn("cannot persist the snapshot slot", st["last_reason"])
        # Slots run one at a time: a slot persisted before the disk filled has made its call by now.
        snaps = self.env.nodetool_calls("snapshot")
        record_before = read(record)
        c = wait_for(lambda: [c for c in self.state_conditions() if "snapshots.state" in c["subject"]], 10,
                     "STATE_DIRECTORY_FAILED for snapshots.state")
        self.assertIn("No space left on device", c[0]["message"])
        st2 = wait_for(lambda: (lambda s: s if s["last_result"] == "failed" and
                                s["last_attempt_unix_ms"] > st["last_attempt_unix_ms"] else None)(
                                    self.env.status()["snapshots"]), 15, "another failed slot")
        self.assertIn("cannot persist the snapshot slot", st2["last_reason"])
        self.assertEqual(self.env.nodetool_calls("snapshot"), snaps)  # not taken without its slot on disk
        self.assertEqual(read(record), record_before)
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "still serving")
        os.unlink(filler)
        wait_for(lambda: self.env.status()["snapshots"]["last_result"] == "ok", 15, "snapshots again")
        wait_for(lambda: not self.state_conditions(), 10, "the condition cleared")
        self.assertGreater(self.env.nodetool_calls("snapshot"), snaps)


class ReadOnly(StateDirectoryCase):
    def test_a_read_only_state_directory_at_start_is_reported_commands_are_refused_and_nothing_is_lost(self):
        self.start_agent()
        first = self.run_command("before-ro", "status")
        self.assertEqual(self.env.stop_agent(), 0)
        journal_before = read(self.journal)
        self.assertIn(b"before-ro", journal_before)
        mount("-o", "remount,ro", self.state_dir)

        self.start_agent()
        c = wait_for(lambda: self.state_conditions(), 10, "STATE_DIRECTORY_FAILED")
        self.assertIn("Read-only file system", c[0]["message"])
        wait_for(lambda: self.reported("STATE_DIRECTORY_FAILED", self.state_dir), 10,
                 "the condition in a HealthReport")
        wait_for(lambda: len(self.env.status()["ring"]) == 6, 10, "still probing and serving")
        # A command is refused, not run: it could not be kept idempotent.
        calls = self.env.nodetool_calls("tpstats")
        upd = self.run_command("during-ro", "tpstats", status="COMMAND_STATUS_REJECTED")
        self.assertIn("journal is unavailable", upd["command_update"]["message"])
        time.sleep(0.5)
        self.assertEqual(self.env.nodetool_calls("tpstats"), calls)
        r = self.env.ctl("snapshot", "take", json_out=False, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("journal is unavailable", r.stderr)
        self.assertEqual(read(self.journal), journal_before)

        # Writable again: without a restart, the agent opens the journal (every 10 s), everything
        # from before is there, and the refused command now runs.
        mount("-o", "remount,rw", self.state_dir)
        wait_for(lambda: not self.state_conditions(), 25, "the condition cleared")
        self.assertTrue(any("commands run again" in l for l in self.env.log().splitlines()))
        again = self.run_command("before-ro", "status")
        self.assertEqual(decode_bytes(again["command_update"].get("output")),
                         decode_bytes(first["command_update"].get("output")))
        self.run_command("during-ro", "tpstats")
        self.assertEqual(self.env.nodetool_calls("tpstats"), calls + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
