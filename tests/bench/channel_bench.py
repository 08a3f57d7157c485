#!/usr/bin/python3
"""Benchmark (prints figures): commands per second end to end through TLS, for commands that
need no subprocess (refused by the allow-list), each result journaled (group commit) before
it is sent. Usage: channel_bench.py [--commands 5000]"""
import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "controller"))
from client import Controller, make_certs  # noqa: E402
from harness import Env  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=5000)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="ca-bench-")
    certs = make_certs(os.path.join(root, "certs"))
    env = Env()
    ctl = Controller(certs, os.path.join(env.dir, "record.jsonl"), os.path.join(env.dir, "control.sock"))
    try:
        c = lambda n: os.path.join(certs, n)
        env.write_config(controller=dict(address="127.0.0.1:%d" % ctl.port, ca=c("ca.pem"), cert=c("agent.pem"),
                                         key=c("agent.key")), nodetool_interval="1h")
        env.start_agent()
        ctl.wait("hello", timeout=10)
        n = a.commands
        cmds = [{"id": "x%06d" % i, "run_nodetool": {"subcommand": "decommission"}} for i in range(n)]
        t0 = time.monotonic()
        ctl.push_many(cmds)
        ctl.wait("command_update", {"id": "x%06d" % (n - 1)}, timeout=600)
        dt = time.monotonic() - t0
        print("%d refused commands end to end through TLS, results journaled: %.2f s = %.0f commands/s"
              % (n, dt, n / dt))
        print("(the Python reference controller records every frame to a file; it is part of the measured path)")
    finally:
        ctl.stop()
        env.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
