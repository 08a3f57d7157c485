#!/usr/bin/python3
"""Checks a simulation timeline (DIR/timeline.jsonl written by sim.py; format in sim.py's header).

    /usr/bin/python3 tests/sim/check_timeline.py TIMELINE.jsonl [--checks one-rack,patched-once,clean-end]
        [--expect-reboots N] [--render] [--width 72]

Checks (all by default):
  one-rack      at every instant, every node out of service (node down, drained, gossip or binary
                off in the shared state or a drain/disable call made, unit not active, or between a
                logind Reboot and the end of the simulated reboot) belongs to one rack; the same for nodes in maintenance
                (out of service, or an agent lease phase DRAINING, STOPPED, PATCHING, REBOOTING,
                STARTING, RECOVERING, STUCK); and, unless the controller ran with grant_all, the
                controller never had leases of two racks outstanding (SPEC section 9, invariant 1)
  patched-once  every node was patched, i.e. rebooted, exactly --expect-reboots times (default 1):
                logind Reboot calls and completed reboots; patch_command never ran more often than
                that (a sentinel reboot, kind REBOOT, need not run it; --expect-patch-runs N
                requires exactly N runs per node)
  clean-end     at the end (sim_end) nothing is left in maintenance: every node up, unit active,
                not rebooting, no sentinel, no lease held (agent phase and controller), the
                controller's table not halted
Prints the violations and exits 1 if there is any, 0 if none, 2 on a bad file or usage.
Importable: load(path), check(events, checks, expect_reboots) -> [violation str],
report(violations) -> str, render(events, width) -> the per-rack ASCII timeline.
"""
import argparse
import json
import sys

CHECKS = ("one-rack", "patched-once", "clean-end")
MAINT_PHASES = frozenset(("DRAINING", "STOPPED", "PATCHING", "REBOOTING", "STARTING", "RECOVERING", "STUCK"))
HOLDING_PHASES = MAINT_PHASES | {"GRANTED"}
LEGEND = ". in service   l lease held   m maintenance step, still serving   D down/drained/stopped   R rebooting"


def load(path):
    """The timeline's events in time order (stable for equal times); a torn last line is skipped."""
    out = []
    with open(path, errors="replace") as f:
        for i, line in enumerate(f):
            if not line.endswith("\n"):
                break
            line = line.strip()
            if not line:
                continue
            try:
                e = json.loads(line)
            except ValueError:
                raise ValueError("%s:%d: not JSON" % (path, i + 1))
            if not isinstance(e, dict) or "t" not in e or "event" not in e:
                raise ValueError("%s:%d: not a timeline event" % (path, i + 1))
            e["_i"] = i
            out.append(e)
    out.sort(key=lambda e: (e["t"], e["_i"]))
    return out


class NodeState:
    def __init__(self, address, rack):
        self.address = address
        self.rack = rack
        self.oos = False            # from the shared state
        self.leaving = False        # a drain/disable call seen, the shared state not yet showing it
        self.node_state = None
        self.unit = "active"
        self.rebooting = False
        self.phase = None
        self.blockers = []
        self.sentinel = False
        self.held = set()           # lease ids the controller granted and not yet released/cleared
        self.reboot_requests = 0
        self.reboots = 0
        self.patched = 0

    def out_of_service(self):
        return self.oos or self.leaving or self.unit != "active" or self.rebooting

    def in_maintenance(self):
        return self.out_of_service() or self.phase in MAINT_PHASES

    def category(self):
        if self.rebooting:
            return "R"
        if self.out_of_service():
            return "D"
        if self.phase in MAINT_PHASES:
            return "m"
        if self.held or self.phase == "GRANTED":
            return "l"
        return "."


class Replay:
    """Replays the events; calls on_instant(t, nodes) after every group of equal times."""

    def __init__(self, events):
        self.events = events
        self.start = next((e for e in events if e["event"] == "sim_start"), None)
        self.nodes = {}
        if self.start:
            for n in self.start.get("nodes", []):
                self.nodes[n["node"]] = NodeState(n["node"], n["rack"])
        self.grant_all = bool(self.start and self.start.get("grant_all"))
        self.end = None
        self.lease_owner = {}       # lease_id -> address
        self.lease_rack = {}        # lease_id -> rack (controller's)
        self.controller_racks = {}  # lease_id -> rack of held leases

    def node(self, e):
        a = e.get("node")
        if a is None:
            return None
        if a not in self.nodes:
            self.nodes[a] = NodeState(a, e.get("rack"))
        return self.nodes[a]

    def apply(self, e):
        kind = e["event"]
        n = self.node(e)
        if kind == "sim_end":
            self.end = e
        elif kind == "rack_cleared":
            for lid in e.get("lease_ids") or []:
                self.controller_racks.pop(lid, None)
                owner = self.nodes.get(self.lease_owner.get(lid))
                if owner:
                    owner.held.discard(lid)
        if n is None:
            return
        if kind == "node_state":
            n.oos = bool(e.get("out_of_service"))
            n.node_state = e
            if n.oos:
                n.leaving = False
        elif kind == "nodetool":
            n.leaving = True
        elif kind == "unit":
            n.unit = e.get("active_state")
        elif kind == "reboot_requested":
            n.reboot_requests += 1
            n.rebooting = True
        elif kind == "rebooted":
            n.reboots += 1
            n.rebooting = False
        elif kind == "patched":
            n.patched += 1
        elif kind == "sentinel":
            n.sentinel = bool(e.get("present"))
        elif kind == "lease_phase":
            n.phase = e.get("phase")
            n.blockers = e.get("blockers") or []
        elif kind == "lease_granted":
            lid = e.get("lease_id")
            n.held.add(lid)
            self.lease_owner[lid] = n.address
            self.controller_racks[lid] = e.get("lease_rack") or n.rack
        elif kind == "lease_released":
            lid = e.get("lease_id")
            n.held.discard(lid)
            self.controller_racks.pop(lid, None)
        elif kind == "lease_adopted":
            lid = e.get("lease_id")
            n.held.add(lid)
            self.lease_owner[lid] = n.address
            self.controller_racks[lid] = e.get("lease_rack") or n.rack

    def run(self, on_instant=None):
        i, ev = 0, self.events
        while i < len(ev):
            t = ev[i]["t"]
            while i < len(ev) and ev[i]["t"] == t:
                self.apply(ev[i])
                i += 1
            if on_instant:
                on_instant(t, self.nodes)
        return self


def _fmt_t(t, t0):
    return "%+.3fs" % ((t - t0) / 1000.0)


def origin(events, start=None):
    """The time zero of reports and pictures: the creation of the sentinels (scenario event),
    else sim_start, else the first event."""
    for e in events:
        if e["event"] == "scenario" and e.get("phase") == "sentinels_created":
            return e["t"]
    return start["t"] if start else events[0]["t"]


def check(events, checks=CHECKS, expect_reboots=1, expect_patch_runs=None):
    """Returns the list of violations (strings); empty when the timeline passes."""
    violations = []
    if not events:
        return ["the timeline is empty"]
    rp = Replay(events)
    if rp.start is None:
        return ["no sim_start event: the node list is unknown"]
    t0 = origin(events, rp.start)
    open_v = {}     # label -> [start_t, {rack: set(addresses)} seen during the interval]

    def flag(label, t, racks):
        cur = open_v.setdefault(label, [t, {}])
        for r, addrs in racks.items():
            cur[1].setdefault(r, set()).update(addrs)

    def close(label, t):
        cur = open_v.pop(label, None)
        if cur is not None:
            desc = "; ".join("%s: %s" % (r, ", ".join(sorted(a))) if a else r for r, a in sorted(cur[1].items()))
            violations.append("%s from %s to %s: %s" % (label, _fmt_t(cur[0], t0), _fmt_t(t, t0), desc))

    def instant(t, nodes):
        if "one-rack" not in checks:
            return
        for label, pred in (("out of service in two racks", NodeState.out_of_service),
                            ("in maintenance in two racks", NodeState.in_maintenance)):
            racks = {}
            for n in nodes.values():
                if pred(n):
                    racks.setdefault(n.rack, []).append(n.address)
            if len(racks) > 1:
                flag(label, t, racks)
            else:
                close(label, t)
        if not rp.grant_all:
            racks = set(rp.controller_racks.values())
            if len(racks) > 1:
                flag("controller leases held in two racks", t, {r: () for r in racks})
            else:
                close("controller leases held in two racks", t)

    rp.run(instant)
    t_last = events[-1]["t"]
    for label in list(open_v):
        close(label, t_last)
    nodes = rp.nodes
    if "patched-once" in checks:
        for a in sorted(nodes):
            n = nodes[a]
            for what, got in (("logind Reboot calls", n.reboot_requests), ("completed reboots", n.reboots)):
                if got != expect_reboots:
                    violations.append("%s (%s): %d %s, expected %d" % (a, n.rack, got, what, expect_reboots))
            if expect_patch_runs is not None and n.patched != expect_patch_runs:
                violations.append("%s (%s): %d patch_command runs, expected %d" % (a, n.rack, n.patched,
                                                                                  expect_patch_runs))
            elif n.patched > expect_reboots:
                violations.append("%s (%s): patch_command ran %d times for %d reboot(s)" % (a, n.rack, n.patched,
                                                                                           expect_reboots))
    if "clean-end" in checks:
        if rp.end is None:
            violations.append("no sim_end event: the run did not finish")
        for a in sorted(nodes):
            n = nodes[a]
            left = []
            if n.out_of_service():
                left.append("out of service (%s)" % ("rebooting" if n.rebooting else "unit %s" % n.unit
                                                     if n.unit != "active" else "shared state %s" % (
                                                         {k: n.node_state.get(k) for k in ("status", "gossip",
                                                          "binary", "drained")} if n.node_state else "?")))
            if n.sentinel:
                left.append("reboot-required sentinel still present")
            if n.phase in HOLDING_PHASES:
                left.append("agent lease phase %s" % n.phase)
            if n.held:
                left.append("controller lease(s) %s never released" % ", ".join(sorted(n.held)))
            if left:
                violations.append("%s (%s) left in maintenance at the end: %s" % (a, n.rack, "; ".join(left)))
        if rp.end is not None:
            c = rp.end.get("controller") or {}
            if c.get("held"):
                violations.append("controller still holds %s lease(s) at the end" % c["held"])
            if c.get("halted"):
                violations.append("controller's rollout is halted at the end (a lease failed)")
            if rp.end.get("sentinels"):
                violations.append("sentinels left at the end: %s" % ", ".join(rp.end["sentinels"]))
    return violations


def report(violations):
    if not violations:
        return "timeline check: OK (no violation)"
    return "timeline check: %d violation(s) (times from the creation of the sentinels, else the start)\n%s" % (
        len(violations), "\n".join("  - " + v for v in violations))


def render(events, width=72):
    """The per-rack ASCII timeline: one line per node, one character per time slice, from the
    creation of the sentinels (or the start) to the end, plus the out-of-service intervals."""
    if not events:
        return "(empty timeline)"
    rp = Replay(events)
    start = origin(events, rp.start)
    end = next((e["t"] for e in events if e["event"] == "sim_end"), events[-1]["t"])
    end = max(end, start + 1)
    segs = {}       # address -> [(t_from, t_to, category)]
    cur = {}

    def instant(t, nodes):
        for a, n in nodes.items():
            c = n.category()
            prev = cur.get(a)
            if prev is None or prev[1] != c:
                if prev is not None:
                    segs.setdefault(a, []).append((prev[0], t, prev[1]))
                cur[a] = (t, c)
    rp.run(instant)
    for a, (t, c) in cur.items():
        segs.setdefault(a, []).append((t, max(t, end), c))
    prio = {".": 0, "l": 1, "m": 2, "D": 3, "R": 4}
    span = (end - start) / float(width)
    lines = ["timeline: %.1fs from %s, 1 column = %.2fs" % ((end - start) / 1000.0,
             "the creation of the sentinels" if start != (rp.start or {}).get("t") else "the start", span / 1000.0),
             "legend: " + LEGEND]
    by_rack = {}
    for a, n in rp.nodes.items():
        by_rack.setdefault(n.rack or "?", []).append(a)

    def key(a):
        try:
            return tuple(int(x) for x in a.split("."))
        except ValueError:
            return (999, a)
    for rack in sorted(by_rack):
        lines.append(rack)
        for a in sorted(by_rack[rack], key=key):
            cols = []
            for i in range(width):
                c0, c1 = start + i * span, start + (i + 1) * span
                best = "."
                for f, t, c in segs.get(a, []):
                    if f < c1 and t > c0 and prio[c] > prio[best]:
                        best = c
                cols.append(best)
            outs = []
            for f, t, c in segs.get(a, []):
                if c in ("D", "R") and t > start:
                    if outs and abs(outs[-1][1] - f) < 1:
                        outs[-1] = (outs[-1][0], t)
                    else:
                        outs.append((f, t))
            desc = ", ".join("%.1f-%.1fs" % ((max(f, start) - start) / 1000.0, (t - start) / 1000.0) for f, t in outs[:3])
            if len(outs) > 3:
                desc += " (+%d)" % (len(outs) - 3)
            lines.append("  %-11s |%s| %s" % (a, "".join(cols), ("out " + desc) if desc else "never out"))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="check a sim.py timeline")
    p.add_argument("timeline")
    p.add_argument("--checks", default=",".join(CHECKS), help="comma-separated: " + ", ".join(CHECKS))
    p.add_argument("--expect-reboots", type=int, default=1)
    p.add_argument("--expect-patch-runs", type=int, default=None)
    p.add_argument("--render", action="store_true", help="also print the per-rack timeline")
    p.add_argument("--width", type=int, default=72)
    a = p.parse_args(argv)
    checks = [c for c in a.checks.split(",") if c]
    bad = [c for c in checks if c not in CHECKS]
    if bad:
        p.error("unknown check(s): %s" % ", ".join(bad))
    try:
        events = load(a.timeline)
    except (OSError, ValueError) as e:
        print("check_timeline: %s" % e, file=sys.stderr)
        return 2
    if a.render:
        print(render(events, a.width))
        print()
    v = check(events, checks, a.expect_reboots, a.expect_patch_runs)
    print(report(v))
    return 1 if v else 0


if __name__ == "__main__":
    sys.exit(main())
