"""Paired measurements (bench/run --paired): the open and stat loops in two
conditions taking turns within milliseconds, so that a machine whose speed
drifts (a shared VM's does, by ±30% between runs seconds apart) slows both
sides of each pair alike, and differences of tens of ns become visible.

- in-session: three `loops turns` processes on one CPU, given chunks in a
  shuffled order each round: X and Z outside any session, Y in a session of
  `agenttrail record`. Y - X per round is what the session adds to a
  process; Z - X is the null control, which must come out near 0.
- outside: one process X, its chunks timed with agenttrail loaded (the
  outside configuration: `record --comm` of a name nothing has) and without,
  in phases bare, loaded, bare; loaded minus the mean of the two bare phases
  per cycle. The null control cycles start and stop a process that loads
  nothing (sleep) instead, with the same waits.

Each figure is the median of the per-round (per-cycle) differences, with
their quartiles, in ns per operation.
"""

import os
import random
import signal
import statistics
import subprocess
import time

from .common import fail, log
from .procs import MANAGED
from .sample import parse_stats

PAIRED_WORKLOADS = ("open", "stat")
# ops per chunk, rounds of in-session turns, cycles and chunks per phase of
# the outside measurement: (full, quick)
CHUNK_OPS = (5000, 500)
SESSION_ROUNDS = (300, 6)
OUTSIDE_CYCLES = (16, 1)
PHASE_CHUNKS = (30, 3)
SETTLE_S = 0.3          # after a start or a stop, before timing


def quartiles(xs):
    if len(xs) < 2:
        return [xs[0]] * 3 if xs else []
    return [round(q, 1) for q in statistics.quantiles(xs, n=4, method="inclusive")]


def summary(diffs):
    return {"n": len(diffs), "median_ns": round(statistics.median(diffs), 1),
            "quartiles_ns": quartiles(diffs)}


class Turns:
    """One `loops turns` process: a chunk per byte written to it."""

    def __init__(self, cmd, name, **popen):
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0, **popen)
        MANAGED.add(self.proc.pid)

    def chunk(self):
        try:
            self.proc.stdin.write(b"x")
            line = self.proc.stdout.readline().decode(errors="replace").strip()
        except OSError as e:
            fail("paired: %s: %s" % (self.name, e))
        if not line.startswith("ns_per_op="):
            fail("paired: %s printed %r (exit %s)" % (self.name, line, self.proc.poll()))
        return float(line.split("=", 1)[1])

    def close(self):
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        MANAGED.discard(self.proc.pid)
        return rc


def wait_ready(path, proc, timeout=60.0):
    t0 = time.monotonic()
    while not os.path.exists(path):
        if proc.poll() is not None:
            fail("paired: agenttrail exited with %s before it was ready" % proc.returncode)
        if time.monotonic() - t0 > timeout:
            fail("paired: agenttrail was not ready within %.0f s" % timeout)
        time.sleep(0.02)


def in_session(agenttrail, loops, tmpdir, wl, ops, rounds, cpu):
    """Y - X and Z - X per round; checks that Y's opens were all recorded."""
    pin = ["taskset", "-c", str(cpu)]
    turns = pin + [loops, "turns", wl, str(ops)]
    ready = os.path.join(tmpdir, "paired.ready")
    if os.path.exists(ready):
        os.unlink(ready)
    x = Turns(turns, "outside process X")
    z = Turns(turns, "outside process Z")
    cmd = [agenttrail, "record", "--no-db", "--quiet", "--stats", "--ready-file", ready, "--"]
    y = Turns(cmd + turns, "session process Y", stderr=subprocess.PIPE)
    wait_ready(ready, y.proc)
    procs = [x, y, z]
    for p in procs:     # a first chunk each, untimed: page cache, dentries
        p.chunk()
    xs, ys, zs = [], [], []
    for _ in range(rounds):
        random.shuffle(procs)
        t = {p.name: p.chunk() for p in procs}
        xs.append(t[x.name])
        ys.append(t[y.name])
        zs.append(t[z.name])
    for p in (x, z):
        if p.close() != 0:
            fail("paired: %s failed" % p.name)
    y.proc.stdin.close()
    stderr = y.proc.stderr.read().decode(errors="replace")
    if y.close() != 0:
        fail("paired: agenttrail record failed:\n" + stderr[-2000:])
    stats = parse_stats(stderr)
    if stats is None:
        fail("paired: agenttrail --stats printed no summary:\n" + stderr[-2000:])
    out = {"chunk_ops": ops, "rounds": rounds,
           "bare_ns": summary(xs), "session_ns": summary(ys),
           "added": summary([b - a for a, b in zip(xs, ys)]),
           "null": summary([c - a for a, c in zip(xs, zs)]),
           "recorded": stats["recorded"], "lost": stats["lost"],
           "kinds": {k: v for k, v in stats["kinds"].items() if v["recorded"] or v["lost"]}}
    if wl == "open":
        # every open of Y's (warm-up chunk included) and none of X's or Z's
        want = (rounds + 1) * ops
        got = stats["kinds"].get("open", {}).get("recorded", 0)
        out["opens_expected"] = want
        if got < want or got > want + 1000:
            fail("paired: the session recorded %d opens, expected %d (Y's alone)" % (got, want))
    return out


def outside(tracer, loops, wl, ops, cycles, chunks, cpu, settle):
    """Per cycle: X's median chunk with agenttrail loaded minus the mean of
    the bare phases around it; and the same with a null process instead."""
    x = Turns(["taskset", "-c", str(cpu), loops, "turns", wl, str(ops)], "process X")
    x.chunk()

    def phase():
        return statistics.median([x.chunk() for _ in range(chunks)])

    real, null, loaded, bare = [], [], [], []
    for _ in range(cycles):
        for kind in ("real", "null"):
            b1 = phase()
            if kind == "real":
                tracer.start()
            else:
                sleeper = subprocess.Popen(["sleep", "1000"])
                time.sleep(1.0)
            time.sleep(SETTLE_S)
            o = phase()
            if kind == "real":
                tracer.stop(settle)
            else:
                sleeper.send_signal(signal.SIGTERM)
                sleeper.wait()
            time.sleep(SETTLE_S)
            b2 = phase()
            (real if kind == "real" else null).append(o - (b1 + b2) / 2)
            if kind == "real":
                loaded.append(o)
                bare += [b1, b2]
    if x.close() != 0:
        fail("paired: process X failed")
    return {"chunk_ops": ops, "cycles": cycles, "phase_chunks": chunks,
            "bare_ns": summary(bare), "loaded_ns": summary(loaded),
            "added": summary(real), "null": summary(null)}


def run_paired(args, agenttrail, loops, tmpdir, tracer):
    q = 1 if args.quick else 0
    ops, rounds = CHUNK_OPS[q], SESSION_ROUNDS[q]
    cycles, chunks = OUTSIDE_CYCLES[q], PHASE_CHUNKS[q]
    cpu = max(os.sched_getaffinity(0))
    doc = {"cpu": cpu, "in_session": {}, "outside": {}}
    for wl in PAIRED_WORKLOADS:
        log("[paired] %s: in a session vs outside, %d rounds of %d ops" % (wl, rounds, ops))
        r = in_session(agenttrail, loops, tmpdir, wl, ops, rounds, cpu)
        doc["in_session"][wl] = r
        log("[paired] %s in-session: %+.1f ns/op (null %+.1f)"
            % (wl, r["added"]["median_ns"], r["null"]["median_ns"]))
    for wl in PAIRED_WORKLOADS:
        log("[paired] %s: agenttrail loaded vs not, %d cycles" % (wl, cycles))
        r = outside(tracer, loops, wl, ops, cycles, chunks, cpu, args.settle)
        doc["outside"][wl] = r
        log("[paired] %s outside: %+.1f ns/op (null %+.1f)"
            % (wl, r["added"]["median_ns"], r["null"]["median_ns"]))
    return doc
