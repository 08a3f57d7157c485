#!/usr/bin/python3
"""Benchmark (prints figures, asserts nothing): the agent's memory and CPU, and status replies/s.

1. RSS and anonymous memory (/proc/PID/smaps_rollup: heap, stacks) after SECONDS with a 100-node and a
   1000-node ring (nodetool every 5 s, probes every 5 s).
2. CPU time used over SECONDS idle (default intervals: probes 5 s, nodetool 30 s).
3. `status` replies per second over the socket with 8 concurrent clients while every
   nodetool call hangs.

Usage: footprint.py [--seconds 60] [--load-seconds 10]; BUILD_ROOT names the build dir.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILD_ROOT, DOUBLES, Env, wait_for  # noqa: E402


def make_state(n, path):
    with open(os.path.join(DOUBLES, "cluster-6.json")) as f:
        st = json.load(f)
    tmpl = st["nodes"][0]
    nodes = []
    for i in range(n):
        dc = "dc%d" % (1 + i % 2)
        node = dict(tmpl, snapshots=[], address="10.%d.%d.%d" % (1 + i % 2, (i // 250) % 250, 1 + i % 250),
                    datacenter=dc, rack="rack%d" % (1 + (i // 2) % 3),
                    host_id="%08x-0000-4000-8000-%012x" % (i, i), load_bytes=1_500_000_000 + i)
        nodes.append(node)
    nodes[0]["address"] = "10.0.1.11"
    st["nodes"] = nodes
    with open(path, "w") as f:
        json.dump(st, f)


def memory(pid):
    vals = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                vals[parts[0][:-1]] = int(parts[1])
    # Anonymous, not Private_Dirty: while a nodetool child forked by uv_spawn lives, the agent's
    # pages are shared with it (copy on write) and Private_Dirty drops to almost nothing.
    return vals.get("Rss", 0), vals.get("Anonymous", 0)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def run_ring(n, seconds):
    tmp = tempfile.mkdtemp()
    state = os.path.join(tmp, "state.json")
    make_state(n, state)
    env = Env(state_file=state)
    try:
        env.write_config(probe="5s", nodetool_interval="5s", nodetool_timeout="20s")
        env.start_agent()
        wait_for(lambda: len(env.status()["ring"]) == n, 60, "%d-node ring" % n)
        time.sleep(seconds)
        rss, dirty = memory(env.agent.pid)
        size = len(json.dumps(env.status()))
        print("ring %5d nodes: RSS %6.2f MiB, anonymous %5.2f MiB after %d s (status JSON %d bytes)"
              % (n, rss / 1024, dirty / 1024, seconds, size))
    finally:
        env.close()


def run_idle(seconds):
    env = Env()
    try:
        env.write_config(probe="5s", nodetool_interval="30s", nodetool_timeout="60s")
        env.start_agent()
        wait_for(lambda: len(env.status()["ring"]) == 6, 30, "ring")
        c0, t0 = cpu_seconds(env.agent.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(env.agent.pid), time.monotonic()
        print("idle CPU (6-node ring, default intervals): %.3f s over %.0f s = %.3f %%"
              % (c1 - c0, t1 - t0, 100 * (c1 - c0) / (t1 - t0)))
    finally:
        env.close()


def run_load(seconds):
    env = Env()
    try:
        env.edit_state(lambda st: st.update(faults={"*": {"mode": "hang"}}))
        env.write_config(probe="5s", nodetool_interval="1s", nodetool_timeout="60s")
        env.start_agent()
        time.sleep(1)
        out = subprocess.run([os.path.join(BUILD_ROOT, "tests", "status_load"), env.socket, "8", str(seconds)],
                             capture_output=True, text=True, timeout=seconds + 30)
        print("status load while nodetool hangs: " + out.stdout.strip() + out.stderr.strip())
    finally:
        env.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_side_by_side(seconds):
    """The agent (100-node ring, controller connected) next to Debian's prometheus-node-exporter
    and a minimal JVM (java -Xmx128m sleeping), RSS and CPU over the same `seconds`."""
    import shutil as sh
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "controller"))
    from client import Controller, make_certs
    tmp = tempfile.mkdtemp()
    state = os.path.join(tmp, "state.json")
    make_state(100, state)
    certs = make_certs(os.path.join(tmp, "certs"))
    env = Env(state_file=state)
    ctl = Controller(certs, os.path.join(env.dir, "record.jsonl"), os.path.join(env.dir, "c.sock"))
    others = []
    try:
        c = lambda n: os.path.join(certs, n)
        env.write_config(probe="5s", nodetool_interval="30s", nodetool_timeout="60s", report_interval="30s",
                         controller=dict(address="127.0.0.1:%d" % ctl.port, ca=c("ca.pem"), cert=c("agent.pem"),
                                         key=c("agent.key")))
        env.start_agent()
        ctl.wait("hello", timeout=15)
        wait_for(lambda: len(env.status()["ring"]) == 100, 60, "100-node ring")
        procs = {"cassandra-agent": env.agent.pid}
        ne = sh.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
        if os.path.exists(ne):
            p = subprocess.Popen([ne, "--web.listen-address=127.0.0.1:0"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            others.append(p)
            procs["prometheus-node-exporter"] = p.pid
        else:
            print("SKIP: prometheus-node-exporter not installed (Debian package prometheus-node-exporter)")
        java = sh.which("java")
        if java:
            src = os.path.join(tmp, "Sleep.java")
            with open(src, "w") as f:
                f.write("public class Sleep { public static void main(String[] a) throws Exception "
                        "{ Thread.sleep(600000); } }\n")
            p = subprocess.Popen([java, "-Xmx128m", src], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            others.append(p)
            procs["java -Xmx128m (sleeping)"] = p.pid
        time.sleep(5)
        c0 = {k: cpu_seconds(v) for k, v in procs.items()}
        t0 = time.monotonic()
        time.sleep(seconds)
        dt = time.monotonic() - t0
        print("side by side over %.0f s:" % dt)
        for k, v in procs.items():
            print("  %-28s RSS %7.2f MiB   CPU %.3f s (%.3f %%)" % (k, rss_kib(v) / 1024, cpu_seconds(v) - c0[k],
                                                                      100 * (cpu_seconds(v) - c0[k]) / dt))
    finally:
        for p in others:
            p.terminate()
            p.wait(10)
        ctl.stop()
        env.close()
        sh.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--load-seconds", type=int, default=10)
    a = ap.parse_args()
    print("cassandra-agent footprint benchmark (%s)" % os.path.join(BUILD_ROOT, "cassandra-agent"))
    run_ring(100, a.seconds)
    run_ring(1000, a.seconds)
    run_idle(a.seconds)
    run_load(a.load_seconds)
    run_side_by_side(a.seconds)


if __name__ == "__main__":
    main()
