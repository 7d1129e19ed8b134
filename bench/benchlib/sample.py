"""One sample: running a workload bare or in an agenttrail session (and
measuring agenttrail at its exit), reading `--stats`, and Sampler, which
runs one (workload, configuration) pair with that configuration's observer."""

import os
import re
import resource
import subprocess
import time

from .common import fail, log
from .configs import BASELINE_CONFIGS, OUTSIDE_CONFIGS, POLICY_RULES, SESSION_CONFIGS
from .policies import check_enforced
from .procs import (MANAGED, PTRACE_CONT, PTRACE_EVENT_EXIT, PTRACE_EVENT_STOP,
                    PTRACE_O_TRACEEXIT, PTRACE_SEIZE, children_of, cpu_dict,
                    foreign_agenttrails, new_agenttrail_children, proc_cpu, proc_status_kib,
                    ptrace, rusage_cpu, wait_teardown, wait_until_alone)
from .report import fmt_mib

RUN_TIMEOUT = 900  # seconds for one workload run, agenttrail included

NS_RE = re.compile(r"^ns_per_op=([0-9]+(?:\.[0-9]+)?)$")

SUMMARY_RE = re.compile(r"agenttrail: (\d+) events recorded, (\d+) lost in the kernel")
OWN_CPU_RE = re.compile(r"^agenttrail CPU: user ([0-9.]+) s, system ([0-9.]+) s$", re.M)
READY_CPU_RE = re.compile(r"^cpu_s ([0-9.]+) ([0-9.]+)$", re.M)
END_CPU_RE = re.compile(r"^agenttrail CPU when the recording ended: user ([0-9.]+) s, "
                        r"system ([0-9.]+) s", re.M)
BPF_RE = re.compile(r"^agenttrail BPF: (\d+) program runs, ([0-9.]+) s", re.M)


def own_cpu(stderr):
    """(user s, system s) agenttrail --stats reports for itself (getrusage,
    microseconds, all its threads, not its children), or None (older
    builds)."""
    m = OWN_CPU_RE.search(stderr)
    return (float(m.group(1)), float(m.group(2))) if m else None


def bpf_time(stderr):
    """(program runs, seconds) of agenttrail's BPF programs, from --stats;
    None unless kernel.bpf_stats_enabled counted them (bench/run
    --bpf-stats)."""
    m = BPF_RE.search(stderr)
    return (int(m.group(1)), float(m.group(2))) if m else None


def children_cpu():
    """CPU seconds of every child we have waited for, and theirs."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def ready_cpu(path):
    """(user s, system s) of start-up, as --ready-file holds it, or None."""
    try:
        with open(path) as f:
            m = READY_CPU_RE.search(f.read())
    except OSError:
        return None
    return (float(m.group(1)), float(m.group(2))) if m else None
KIND_RE = re.compile(r"^([a-z_]+)\s+(\d+)\s+(\d+)$")
LOSS_RE = re.compile(r"^([a-z_]+)\s+(\d+)$")


def parse_stats(stderr):
    """Counts from agenttrail --stats, or None if it printed none."""
    m = SUMMARY_RE.search(stderr)
    if not m:
        return None
    stats = {"recorded": int(m.group(1)), "lost": int(m.group(2)), "kinds": {}, "losses": {}}
    for line in stderr.splitlines():
        k = KIND_RE.match(line.strip())
        if k:
            stats["kinds"][k.group(1)] = {"recorded": int(k.group(2)), "lost": int(k.group(3))}
            continue
        k = LOSS_RE.match(line.strip())
        if k:
            stats["losses"][k.group(1)] = int(k.group(2))
    return stats


# --- running a workload ------------------------------------------------------------

def workload_output(cmd, rc, stdout, stderr):
    lines = [l for l in stdout.splitlines() if l.strip()]
    m = NS_RE.match(lines[-1].strip()) if lines else None
    if rc != 0 or not m:
        fail("failed (exit %s): %s\nstdout:\n%s\nstderr:\n%s"
             % (rc, " ".join(cmd), stdout[-2000:], stderr[-3000:]))
    return float(m.group(1))


def run_plain(cmd, tmpdir):
    """Runs cmd; returns (ns_per_op, stdout, stderr, wall seconds, CPU
    seconds of cmd and its descendants)."""
    cpu0 = children_cpu()
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT, cwd=tmpdir)
    except subprocess.TimeoutExpired:
        fail("timed out after %d s: %s" % (RUN_TIMEOUT, " ".join(cmd)))
    wall = time.monotonic() - t0
    cpu = round(children_cpu() - cpu0, 3)
    return (workload_output(cmd, out.returncode, out.stdout, out.stderr), out.stdout, out.stderr,
            wall, cpu)


def run_recorded(cmd, tmpdir, ready_file, settle, env=None):
    """Runs `agenttrail record ... -- WORKLOAD` (cmd) and measures agenttrail
    itself: CPU time and peak RSS at its exit, from /proc while ptrace holds
    it stopped at PTRACE_EVENT_EXIT (its memory is still mapped, its CPU
    time is final); CPU time until --ready-file appears (load and attach);
    CPU time of its detached tear-down child, which we inherit as a
    subreaper.  Returns (stdout, stderr, wall s, observer dict)."""
    out_path, err_path = os.path.join(tmpdir, "sample.out"), os.path.join(tmpdir, "sample.err")
    if ready_file and os.path.exists(ready_file):
        os.unlink(ready_file)
    before = set(children_of(os.getpid()))
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=tmpdir,
                             env=env)
    MANAGED.add(p.pid)
    obs = {"method": "ptrace-exit"}
    try:
        ptrace(PTRACE_SEIZE, p.pid, 0, PTRACE_O_TRACEEXIT)
    except OSError as e:
        obs["method"] = "wait4 (ptrace failed: %s): CPU and max RSS include the workload" % e
    startup = None
    at_exit = None
    deadline = t0 + RUN_TIMEOUT
    while True:
        got, status, ru = os.wait4(p.pid, os.WNOHANG)
        if not got:
            if startup is None and ready_file and os.path.exists(ready_file):
                # its own figure (the file appears complete); /proc's
                # ticks (10 ms) for builds that leave it empty
                startup = ready_cpu(ready_file)
                obs["startup_from"] = "--ready-file" if startup else "/proc ticks"
                startup = startup or proc_cpu(p.pid)
            if time.monotonic() > deadline:
                p.kill()
                fail("timed out after %d s: %s" % (RUN_TIMEOUT, " ".join(cmd)))
            time.sleep(0.005 if startup is None and ready_file else 0.02)
            continue
        if os.WIFSTOPPED(status):
            event = (status >> 16) & 0xff
            sig = 0
            if event == PTRACE_EVENT_EXIT:
                at_exit = {"cpu": proc_cpu(p.pid), "hwm": proc_status_kib(p.pid, "VmHWM")}
            elif event != PTRACE_EVENT_STOP:
                sig = os.WSTOPSIG(status)   # a signal for agenttrail: deliver it
            try:
                ptrace(PTRACE_CONT, p.pid, 0, sig)
            except OSError:
                pass
            continue
        p.returncode = os.waitstatus_to_exitcode(status)
        break
    wall = time.monotonic() - t0
    MANAGED.discard(p.pid)
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    workload_output(cmd, p.returncode, stdout, stderr)
    if at_exit and at_exit["cpu"]:
        own = own_cpu(stderr)
        user, system = own or at_exit["cpu"]
        obs["cpu_from"] = "--stats" if own else "/proc ticks"
        obs["peak_rss_kib"] = at_exit["hwm"]
    else:  # agenttrail and the workload it waited for
        user, system = rusage_cpu(ru)
        obs["peak_rss_kib"] = ru.ru_maxrss
        if obs["method"] == "ptrace-exit":
            obs["method"] = "wait4 (no exit stop): CPU and max RSS include the workload"
    obs["total"] = cpu_dict(user, system)
    if at_exit and at_exit["cpu"]:
        # wait4's figure is agenttrail's and that of every descendant it
        # or they waited for: the workload, with the BPF programs that ran
        # in its syscalls
        obs["workload_cpu_s"] = round(sum(rusage_cpu(ru)) - obs["total"]["cpu_s"], 3)
    bpf = bpf_time(stderr)
    if bpf:
        obs["bpf_runs"], obs["bpf_s"] = bpf
    m = END_CPU_RE.search(stderr)
    if m and startup:
        # the capture while the workload ran: up to the end of the
        # recording, before the last rows are stored and the store closed
        obs["cpu_until_end_s"] = round(max(float(m.group(1)) + float(m.group(2))
                                           - sum(startup), 0.0), 4)
    if startup:
        obs["startup"] = cpu_dict(*startup)
        user, system = max(user - startup[0], 0.0), max(system - startup[1], 0.0)
    obs.update(cpu_dict(user, system))
    # the detached tear-down child, now ours
    mine = [pid for pid in new_agenttrail_children(before)]
    obs["teardown_cpu_s"], obs["teardown_s"] = wait_teardown(mine, settle)
    return stdout, stderr, wall, obs


def session_cmd(agenttrail, config, tmpdir, ready_file, workload):
    """agenttrail record for in-session and in-session-db; agenttrail is the
    baseline's binary for their @base twins."""
    cmd = [agenttrail, "record"]
    if config.startswith("in-session-db"):
        cmd += ["--db", os.path.join(tmpdir, "session.db")]
    else:
        cmd += ["--no-db"]
    if ready_file:
        cmd += ["--ready-file", ready_file]
    return cmd + ["--quiet", "--stats", "--"] + workload


def remove_db(tmpdir):
    db = os.path.join(tmpdir, "session.db")
    try:
        size = os.path.getsize(db)
    except OSError:
        size = None
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(db + suffix)
        except FileNotFoundError:
            pass
    return size


# --- one (workload, configuration) pair ---------------------------------------------

class Sampler:
    """Runs one sample of a workload in a configuration, with that
    configuration's observer around it (an agenttrail session, a background
    agenttrail, the snoops, auditd), and appends what it measured to
    results[workload][config].  The observers are the run's: background maps
    outside and enforce256-outside to their Tracer and PolicyTracer (started
    and stopped per round by the caller); policies, snoops and auditd are
    None when no configuration needs them."""

    def __init__(self, args, agenttrail, tmpdir, ready_file, workload_cmd, results,
                 background, policies, snoops, auditd, baseline=None):
        self.args = args
        self.agenttrail = agenttrail
        self.baseline = baseline    # the --baseline binary, for the @base configurations
        self.tmpdir = tmpdir
        self.ready_file = ready_file
        self.workload_cmd = workload_cmd    # workload name -> its command
        self.results = results
        self.background = background
        self.policies = policies
        self.snoops = snoops
        self.auditd = auditd

    def own_pids(self):
        """The harness and its background agenttrails: not foreign."""
        own = {os.getpid()}
        for t in self.background.values():
            if t.pid():
                own.add(t.pid())
        return own

    def one(self, wl, config, rnd):
        """Runs workload wl in config once, in round rnd, and records it."""
        args, tmpdir, ready_file = self.args, self.tmpdir, self.ready_file
        policies, snoops, auditd = self.policies, self.snoops, self.auditd
        before, waited = wait_until_alone(self.own_pids(), args.settle)
        cmd = self.workload_cmd(wl)
        rec = {}
        if config in SESSION_CONFIGS:
            env = None
            if config in POLICY_RULES:
                # agenttrail with the bench's home; the workload with ours
                full = policies.run_cmd(POLICY_RULES[config], ready_file, ["--stats"],
                                        policies.prefix + cmd)
                env = policies.env
            else:
                binary = self.baseline if config in BASELINE_CONFIGS else self.agenttrail
                full = session_cmd(binary, config, tmpdir, ready_file, cmd)
            stdout, stderr, wall, rec["observer"] = run_recorded(full, tmpdir, ready_file,
                                                                  args.settle, env)
            rec["workload_cpu_s"] = rec["observer"].get("workload_cpu_s")
            rec["ns_per_op"] = workload_output(full, 0, stdout, stderr)
            rec["stats"] = parse_stats(stderr)
            if config in POLICY_RULES:
                rec["enforce"] = check_enforced("%s/%s" % (wl, config), 0, stderr,
                                                POLICY_RULES[config], rec["stats"])
            if rec["stats"] is None:
                log("bench/run: warning: no '... events recorded' line from agenttrail:\n"
                    + stderr[-1000:])
            if config.startswith("in-session-db"):
                rec["db_bytes"] = remove_db(tmpdir)
        elif config == "execsnoop+opensnoop":
            try:
                attach_s = snoops.start()
            except RuntimeError as e:
                fail(str(e))
            rec["ns_per_op"], _, _, wall, rec["workload_cpu_s"] = run_plain(cmd, tmpdir)
            rec["observer"] = snoops.stop()
            rec["observer"]["attach_s"] = attach_s
        elif config == "auditd":
            try:
                ready_s = auditd.start()
                rec["ns_per_op"], _, _, wall, rec["workload_cpu_s"] = run_plain(cmd, tmpdir)
                rec["observer"] = auditd.stop()
            except RuntimeError as e:
                fail("auditd: %s" % e)
            rec["observer"]["start_s"] = ready_s
        elif config in OUTSIDE_CONFIGS:
            t = self.background[config]
            cpu0 = t.cpu()
            rec["ns_per_op"], _, _, wall, rec["workload_cpu_s"] = run_plain(cmd, tmpdir)
            cpu1 = t.cpu()
            rec["observer"] = {"peak_rss_kib": t.hwm_kib()}
            if cpu0 and cpu1:
                total = cpu1[2] - cpu0[2] if cpu0[2] is not None and cpu1[2] is not None else None
                rec["observer"].update(cpu_dict(cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], total))
        else:
            rec["ns_per_op"], _, _, wall, rec["workload_cpu_s"] = run_plain(cmd, tmpdir)
        rec["wall_s"] = round(wall, 3)
        # the sample's own agenttrail may still be tearing down: not foreign
        # (all of ours run from the private copy in tmpdir)
        after = foreign_agenttrails(self.own_pids(), marker=tmpdir)
        rec["flagged"] = bool(before or after)
        rec["settle_wait_s"] = round(waited, 2)
        self.results[wl][config].append(rec)
        extra = ""
        if rec.get("stats"):
            extra += "  (%d events, %d lost)" % (rec["stats"]["recorded"], rec["stats"]["lost"])
        o = rec.get("observer")
        if o and o.get("cpu_s") is not None:
            extra += "  [observer %.3f s CPU, %s MiB]" % (o["cpu_s"], fmt_mib(o.get("peak_rss_kib")) or "?")
        log("[round %d/%d] %-8s %-19s %14.1f ns/op%s%s"
            % (rnd, args.rounds, wl, config, rec["ns_per_op"], extra,
               "  FLAGGED: another agenttrail was running" if rec["flagged"] else ""))
