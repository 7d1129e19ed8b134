"""Paired measurements (bench/run --paired): the open and stat loops in two
conditions taking turns within milliseconds, so that a machine whose speed
drifts (a shared VM's does, by ±30% between runs seconds apart) slows both
sides of each pair alike, and differences of a few ns become visible.

- in-session: three `loops turns` processes on one CPU, given chunks in a
  shuffled order each round: X and Z outside any session, Y in a session of
  `agenttrail record`. Y - X per round is what the session adds to a
  process; Z - X is the null control, which must come out near 0.
- outside: starting agenttrail takes seconds, longer than the machine keeps
  its speed, so `hold` (bench/hold.c) takes the programs of the background
  agenttrail of the outside configuration (`record --comm` of a name nothing
  has), lets it exit, and attaches them again and detaches them on command
  in a millisecond; a second `hold --empty` has a program that does nothing
  on each of the same hooks. One process X runs a chunk in each of four
  conditions, in a shuffled order each round: bare, agenttrail's programs
  attached, the empty programs attached, bare again. added = loaded - bare;
  floor = empty - bare, what the kernel charges for the hooks themselves;
  beyond the floor = loaded - empty; null = bare again - bare.

Each figure is the median of the per-round differences, with their
quartiles and a bootstrap 95% confidence interval of the median, in ns per
operation; every chunk's time is kept in the JSON (chunks_ns).
"""

import os
import random
import statistics
import subprocess
import time

from .common import fail, log
from .procs import MANAGED
from .sample import parse_stats
from .stats import median_ci95

PAIRED_WORKLOADS = ("open", "stat")
# ops per chunk and rounds of turns: (full, quick)
CHUNK_OPS = (5000, 500)
ROUNDS = (300, 6)


def quartiles(xs):
    if len(xs) < 2:
        return [xs[0]] * 3 if xs else []
    return [round(q, 1) for q in statistics.quantiles(xs, n=4, method="inclusive")]


def summary(diffs):
    return {"n": len(diffs), "median_ns": round(statistics.median(diffs), 1),
            "quartiles_ns": quartiles(diffs), "median_ci95_ns": median_ci95(diffs)}


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
           "chunks_ns": {"X": [round(v, 1) for v in xs], "Y": [round(v, 1) for v in ys],
                         "Z": [round(v, 1) for v in zs]},
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


class Hold:
    """One `hold` process (bench/hold.c): programs attached on "on"."""

    def __init__(self, cmd, name):
        self.name = name
        self.dead = False
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0)
        MANAGED.add(self.proc.pid)
        line = self.proc.stdout.readline().decode(errors="replace").split()
        if len(line) != 4 or line[0] != "held":
            self.fail("printed %r" % " ".join(line))
        self.held, self.skipped = int(line[1]), int(line[3])
        self.on = False

    def fail(self, what):
        self.dead = True
        self.proc.kill()
        err = self.proc.stderr.read().decode(errors="replace")
        MANAGED.discard(self.proc.pid)
        fail("paired: hold (%s) %s; exit %s: %s" % (self.name, what, self.proc.wait(), err[-1000:]))

    def switch(self, on):
        if on == self.on:
            return
        word = b"on\n" if on else b"off\n"
        try:
            self.proc.stdin.write(word)
            answer = self.proc.stdout.readline()
        except OSError as e:
            self.fail(str(e))
        if answer != word:
            self.fail("answered %r to %r" % (answer, word))
        self.on = on

    def close(self):
        if self.dead:
            return
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=60)
        MANAGED.discard(self.proc.pid)
        if rc != 0:
            fail("paired: hold (%s) exited with %d: %s"
                 % (self.name, rc, self.proc.stderr.read().decode(errors="replace")[-1000:]))


def take_programs(tracer, hold, settle):
    """agenttrail's programs (held) and empty ones on the same hooks, after
    the agenttrail that loaded them has exited."""
    tracer.start()
    pid = tracer.pid()
    real = Hold([hold, str(pid)], "agenttrail's programs")
    empty = Hold([hold, "--empty", str(pid)], "empty programs")
    tracer.stop(settle)
    return real, empty


def outside(real, empty, loops, wl, ops, rounds, cpu):
    """Per round, X's chunk bare, with agenttrail's programs attached, with
    the empty programs attached, and bare again, in a shuffled order."""
    x = Turns(["taskset", "-c", str(cpu), loops, "turns", wl, str(ops)], "process X")
    x.chunk()           # untimed: page cache, dentries
    conds = ["bare", "loaded", "empty", "bare2"]
    t = {c: [] for c in conds}
    for _ in range(rounds):
        random.shuffle(conds)
        for c in conds:
            # one switched off before the other is switched on
            (empty if c == "loaded" else real).switch(False)
            (real if c == "loaded" else empty).switch(c in ("loaded", "empty"))
            t[c].append(x.chunk())
    real.switch(False)
    empty.switch(False)
    if x.close() != 0:
        fail("paired: process X failed")

    def diff(a, b):
        return summary([q - p for p, q in zip(t[a], t[b])])

    return {"chunk_ops": ops, "rounds": rounds,
            "programs": real.held, "uprobe_links_left": real.skipped,
            "bare_ns": summary(t["bare"]), "loaded_ns": summary(t["loaded"]),
            "added": diff("bare", "loaded"), "floor": diff("bare", "empty"),
            "beyond_floor": diff("empty", "loaded"), "null": diff("bare", "bare2"),
            "chunks_ns": {c: [round(v, 1) for v in t[c]] for c in sorted(t)}}


def run_paired(args, agenttrail, loops, hold, tmpdir, tracer):
    q = 1 if args.quick else 0
    ops, rounds = CHUNK_OPS[q], ROUNDS[q]
    cpu = max(os.sched_getaffinity(0))
    doc = {"cpu": cpu, "in_session": {}, "outside": {}}
    for wl in PAIRED_WORKLOADS:
        log("[paired] %s: in a session vs outside, %d rounds of %d ops" % (wl, rounds, ops))
        r = in_session(agenttrail, loops, tmpdir, wl, ops, rounds, cpu)
        doc["in_session"][wl] = r
        log("[paired] %s in-session: %+.1f ns/op (null %+.1f)"
            % (wl, r["added"]["median_ns"], r["null"]["median_ns"]))
    real, empty = take_programs(tracer, hold, args.settle)
    try:
        for wl in PAIRED_WORKLOADS:
            log("[paired] %s: agenttrail's %d programs attached vs not, %d rounds of %d ops"
                % (wl, real.held, rounds, ops))
            r = outside(real, empty, loops, wl, ops, rounds, cpu)
            doc["outside"][wl] = r
            log("[paired] %s outside: %+.1f ns/op, floor %+.1f (null %+.1f)"
                % (wl, r["added"]["median_ns"], r["floor"]["median_ns"],
                   r["null"]["median_ns"]))
    finally:
        real.close()
        empty.close()
    return doc
