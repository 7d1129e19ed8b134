"""agenttrail in the background, for the configurations whose workload runs
outside any session: `record --comm NAME` for outside, `run --policy` on a
session that only waits for enforce256-outside.  And what this build of
agenttrail can do (--ready-file, run --policy)."""

import os
import shutil
import signal
import subprocess
import time

from .common import fail
from .configs import NEVER_MATCHES
from .policies import check_enforced
from .procs import (MANAGED, cpu_dict, new_agenttrail_children, proc_cpu, proc_status_kib,
                    threads_cpu_s, tracer_links, wait_teardown)
from .sample import parse_stats


def has_ready_file(agenttrail):
    """Whether this agenttrail has `record --ready-file` (newer builds)."""
    r = subprocess.run([agenttrail, "record", "--help"], capture_output=True, text=True)
    return "--ready-file" in r.stdout + r.stderr


def has_run_policy(agenttrail):
    """Whether this agenttrail has `run --policy` and `check` (newer builds)."""
    r = subprocess.run([agenttrail, "run", "--help"], capture_output=True, text=True)
    c = subprocess.run([agenttrail, "check", "--help"], capture_output=True, text=True)
    return "--policy" in r.stdout + r.stderr and c.returncode == 0


class Tracer:
    """agenttrail record --comm NAME in the background, until stop()."""

    name = "tracer"
    log_mode = "ab"         # one log for every round
    stdin = subprocess.DEVNULL

    def __init__(self, agenttrail, tmpdir, use_ready_file):
        self.agenttrail = agenttrail
        self.tmpdir = tmpdir
        self.logpath = os.path.join(tmpdir, self.name + ".log")
        self.ready_file = os.path.join(tmpdir, self.name + ".ready")
        self.use_ready_file = use_ready_file
        self.proc = None
        self.returncode = None

    def command(self):
        cmd = [self.agenttrail, "record", "--no-db", "--quiet", "--comm", NEVER_MATCHES]
        if self.use_ready_file:
            cmd[2:2] = ["--ready-file", self.ready_file]
        return cmd

    def popen_args(self):
        return {}

    def start(self, timeout=30.0):
        t0 = time.monotonic()
        if self.use_ready_file and os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        self.logfile = open(self.logpath, self.log_mode)
        self.proc = subprocess.Popen(self.command(), stdin=self.stdin,
                                     stdout=self.logfile, stderr=self.logfile,
                                     **self.popen_args())
        MANAGED.add(self.proc.pid)
        # Ready when agenttrail says so (--ready-file).  Builds without that
        # option: agenttrail loads every program first, then attaches them
        # all in one go, so it is ready once it holds BPF links and their
        # number has not changed for 0.7 s.  No link names are checked:
        # which tracepoints agenttrail uses is its own business.
        last, stable_since = -1, None
        while True:
            if self.proc.poll() is not None:
                self.logfile.close()
                with open(self.logpath, errors="replace") as f:
                    tail = f.read()[-2000:]
                fail("background agenttrail exited with %s:\n%s" % (self.proc.returncode, tail))
            links = tracer_links(self.proc.pid)
            now = time.monotonic()
            if len(links) != last:
                last, stable_since = len(links), now
            if self.use_ready_file:
                ready = os.path.exists(self.ready_file)
            else:
                ready = len(links) > 0 and now - stable_since >= 0.7
            if ready:
                links = tracer_links(self.proc.pid)
                cpu = proc_cpu(self.proc.pid) or (0.0, 0.0)
                return {"ready_s": round(now - t0, 3), "links": len(links),
                        "ready_by": "ready-file" if self.use_ready_file else "links",
                        "startup": cpu_dict(*cpu),
                        "tracepoints": sorted(set(links) - {"?"})}
            if now - t0 > timeout:
                self.stop()
                fail("background agenttrail was not ready within %.0f s" % timeout)
            time.sleep(0.05)

    def cpu(self):
        """(user s, system s, total s): the parts in ticks, the total from
        schedstat (its threads live as long as it does)."""
        if not self.proc:
            return None
        parts = proc_cpu(self.proc.pid)
        return parts + (threads_cpu_s(self.proc.pid),) if parts else None

    def hwm_kib(self):
        return proc_status_kib(self.proc.pid, "VmHWM") if self.proc else None

    def stop(self, settle=20.0):
        """Stops it; returns the CPU s of its detached tear-down, if known."""
        if self.proc is None:
            return None
        exclude = {self.proc.pid}
        if self.proc.stdin:
            # a session that waits on this pipe: end it, and agenttrail with it
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        MANAGED.discard(self.proc.pid)
        self.logfile.close()
        self.proc = None
        teardown, _ = wait_teardown(new_agenttrail_children(exclude), settle)
        return teardown

    def pid(self):
        return self.proc.pid if self.proc else None


class PolicyTracer(Tracer):
    """`agenttrail run --policy FILE --stats -- cat` in the background, until
    stop(): enforcement is on (the cgroup hooks, the fanotify marks, the
    label tracking), for one session that only waits on a pipe; the workload
    runs outside it.  stop() closes the pipe: cat, the session and agenttrail
    end, with status 0."""

    name = "policy-tracer"
    log_mode = "wb"         # a log per round, checked at its end
    stdin = subprocess.PIPE

    def __init__(self, agenttrail, tmpdir, policies, n):
        super().__init__(agenttrail, tmpdir, True)
        self.policies, self.n = policies, n

    def command(self):
        return self.policies.run_cmd(self.n, self.ready_file, ["--stats"],
                                     [shutil.which("cat") or "/bin/cat"])

    def popen_args(self):
        return {"env": self.policies.env, "cwd": self.tmpdir}

    def stop_checked(self, settle):
        """Stops it and fails the run unless it exited 0 with the whole policy
        loaded and no decision made: (tear-down CPU s, what check_enforced
        found)."""
        teardown = self.stop(settle)
        with open(self.logpath, errors="replace") as f:
            text = f.read()
        stats = parse_stats(text)
        return teardown, check_enforced("background `agenttrail run --policy` (%d rules)" % self.n,
                                        self.returncode, text, self.n, stats)
