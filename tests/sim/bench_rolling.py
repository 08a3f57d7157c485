#!/usr/bin/python3
"""Benchmark: wall time of a rolling patch of the simulated cluster against a serial one.

    /usr/bin/python3 tests/sim/bench_rolling.py [--reboot-seconds 60] [--racks 3] [--nodes-per-rack 3]
        [--max-ratio 0.4] [--no-enforce] [--dir DIR] [--timeout S]

Runs sim.py's rolling-patch scenario (every node gets a reboot-required sentinel; each reboot keeps
its node down for --reboot-seconds T) and measures the wall time from the creation of the sentinels
until every lease is released and every node is up. Prints it, the serial baseline (nodes x T: one
node at a time, zero overhead) and their ratio; with racks done one at a time and the nodes of a
rack in parallel the ideal is 1/nodes_per_rack plus the per-rack overhead (drain, stop, agent start,
recovery checks, settle, the controller's ring gate), which a larger T amortizes. Also prints each
rack's span (first grant to last release) and the gaps between racks.

Exit status: 0 when the rollout completed, the timeline checker passed and the ratio is at most
--max-ratio (default 0.4; --no-enforce only reports it); 1 otherwise.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_timeline  # noqa: E402
from sim import Sim, SimError  # noqa: E402


def rack_spans(events):
    """{rack: (first grant t, last release t)} from the controller's lease events."""
    spans = {}
    for e in events:
        if e["event"] == "lease_granted" and not e.get("repeat"):
            r = e.get("lease_rack") or e.get("rack")
            f, l = spans.get(r, (None, None))
            spans[r] = (e["t"] if f is None else min(f, e["t"]), l)
        elif e["event"] == "lease_released":
            r = e.get("lease_rack") or e.get("rack")
            f, l = spans.get(r, (None, None))
            spans[r] = (f, e["t"] if l is None else max(l, e["t"]))
    return spans


def main(argv=None):
    p = argparse.ArgumentParser(description="rolling patch wall time vs. serial reboots")
    p.add_argument("--reboot-seconds", type=float, default=60.0)
    p.add_argument("--racks", type=int, default=3)
    p.add_argument("--nodes-per-rack", type=int, default=3)
    p.add_argument("--max-ratio", type=float, default=0.4)
    p.add_argument("--no-enforce", action="store_true", help="report the ratio without failing on it")
    p.add_argument("--dir", default=None, help="working directory (kept); default a temporary one, removed")
    p.add_argument("--timeout", type=float, default=None, help="default: 3 x serial baseline + 120 s")
    a = p.parse_args(argv)
    n = a.racks * a.nodes_per_rack
    serial = n * a.reboot_seconds
    timeout = a.timeout or (3 * serial + 120)
    sim = Sim(racks=a.racks, nodes_per_rack=a.nodes_per_rack, reboot_seconds=a.reboot_seconds, dir=a.dir,
              quiet=True)
    try:
        t0 = time.monotonic()
        sim.start()
        sim.wait_connected(90)
        setup = time.monotonic() - t0
        res = sim.rolling_patch(timeout=timeout)
        time.sleep(0.5)
        sim.finish(res["reason"], wall_seconds=round(res["wall_seconds"], 3))
        events = check_timeline.load(sim.timeline_path)
        violations = check_timeline.check(events)
    except SimError as e:
        print("bench_rolling: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        sim.stop()      # by PID, bounded; also on any other error
    wall = res["wall_seconds"]
    ratio = wall / serial if serial else float("inf")
    print("rolling patch of %d nodes (%d racks x %d), reboot time T = %.1fs (set-up %.1fs, not counted)" % (
        n, a.racks, a.nodes_per_rack, a.reboot_seconds, setup))
    print("  wall time, sentinels to all released: %8.1fs  (%s)" % (wall, res["reason"]))
    print("  serial baseline, %d x T:              %8.1fs" % (n, serial))
    ok_ratio = ratio <= a.max_ratio
    print("  ratio:                                %8.3f  (target <= %.2f: %s)" % (
        ratio, a.max_ratio, "met" if ok_ratio else "NOT met"))
    spans = rack_spans(events)
    start = next((e["t"] for e in events if e["event"] == "scenario" and e.get("phase") == "sentinels_created"), None)
    prev_end = start
    for r in sorted(spans, key=lambda r: spans[r][0] or 0):
        f, l = spans[r]
        if f is None or l is None:
            print("  %s: incomplete (first grant %s, last release %s)" % (r, f, l))
            continue
        print("  %s: %.1fs from first grant to last release (overhead over T: %.1fs), %.1fs after the previous"
              % (r, (l - f) / 1000.0, (l - f) / 1000.0 - a.reboot_seconds, (f - prev_end) / 1000.0 if prev_end else 0))
        prev_end = l
    print(check_timeline.report(violations))
    if not res["ok"]:
        print(res.get("diagnosis", ""))
        return 1
    if violations:
        return 1
    if not ok_ratio and not a.no_enforce:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
