"""The peers agenttrail is compared with: libbpf-tools' execsnoop and
opensnoop, and auditd with rules for every exec, open and connect.  Each is
started before one sample and stopped after it, and measured."""

import atexit
import os
import re
import signal
import subprocess
import time

from .procs import (MANAGED, cpu_dict, kthread_pid, proc_cpu, threads_cpu_s, tracer_links,
                    wait4_timeout)


# --- peers: libbpf-tools execsnoop + opensnoop ---------------------------------

SNOOPS = ["/usr/sbin/execsnoop", "/usr/sbin/opensnoop"]
SNOOP_LOST_RE = re.compile(r"Lost (\d+) events")


class Snoops:
    """execsnoop and opensnoop from libbpf-tools, system-wide, output into
    /dev/null, around one sample."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.procs = []
        missing = [p for p in SNOOPS if not os.access(p, os.X_OK)]
        self.reason = ("%s not found (Debian package libbpf-tools)" % ", ".join(missing)
                       if missing else None)

    def start(self, timeout=60.0):
        self.procs = []
        for path in SNOOPS:
            err = open(os.path.join(self.tmpdir, os.path.basename(path) + ".err"), "w+")
            p = subprocess.Popen([path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err)
            MANAGED.add(p.pid)
            self.procs.append((p, err))
        # Attached once each holds BPF links and their number has not
        # changed for 0.3 s (a libbpf skeleton attaches all in one go).
        t0 = time.monotonic()
        state = {p.pid: (-1, t0) for p, _ in self.procs}
        self.cpu0 = {}
        while True:
            now = time.monotonic()
            for p, err in self.procs:
                if p.poll() is not None:
                    err.seek(0)
                    text = err.read()[-2000:]
                    self.kill()
                    raise RuntimeError("%s exited with %s before it was attached:\n%s"
                                       % (p.args[0], p.returncode, text))
                n = len(tracer_links(p.pid))
                if n != state[p.pid][0]:
                    state[p.pid] = (n, now)
            if all(n > 0 and now - since >= 0.3 for n, since in state.values()):
                for p, _ in self.procs:
                    self.cpu0[p.pid] = ((proc_cpu(p.pid) or (0.0, 0.0))
                                        + (threads_cpu_s(p.pid),))
                return round(now - t0, 3)
            if now - t0 > timeout:
                self.kill()
                raise RuntimeError("execsnoop/opensnoop were not attached within %.0f s" % timeout)
            time.sleep(0.05)

    def stop(self):
        """SIGINT, wait; the tools' CPU from attached to exit, their peak RSS
        (ru_maxrss: they have no children) and the events they lost."""
        obs = {"user_s": 0.0, "sys_s": 0.0, "cpu_s": 0.0, "peak_rss_kib": 0, "lost": 0, "tools": {}}
        for p, _ in self.procs:
            if p.returncode is None:
                try:
                    os.kill(p.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        for p, err in self.procs:
            try:
                _, status, ru = wait4_timeout(p.pid, 30)
                p.returncode = os.waitstatus_to_exitcode(status)
            except TimeoutError:
                p.kill()
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = -9
            except ChildProcessError:   # already reaped by Popen.poll()
                ru = None
            MANAGED.discard(p.pid)
            if ru is None:
                err.close()
                continue
            err.seek(0)
            text = err.read()
            err.close()
            u0, s0, total0 = self.cpu0.get(p.pid, (0.0, 0.0, None))
            u, s = max(ru.ru_utime - u0, 0.0), max(ru.ru_stime - s0, 0.0)
            # wait4's exact sum at the end less schedstat's at the start
            total = ru.ru_utime + ru.ru_stime - total0 if total0 is not None else u + s
            lost = sum(int(x) for x in SNOOP_LOST_RE.findall(text))
            name = os.path.basename(p.args[0])
            obs["tools"][name] = dict(cpu_dict(u, s, total),
                                      total_cpu_s=round(ru.ru_utime + ru.ru_stime, 3),
                                      peak_rss_kib=ru.ru_maxrss, lost=lost, exit=p.returncode)
            obs["user_s"] += u
            obs["sys_s"] += s
            obs["cpu_s"] += total
            obs["peak_rss_kib"] += ru.ru_maxrss
            obs["lost"] += lost
        self.procs = []
        obs.update(cpu_dict(obs["user_s"], obs["sys_s"], obs["cpu_s"]))
        return obs

    def probe(self):
        """Starts and stops them once: None if that works, else why not."""
        try:
            self.start()
            self.stop()
        except RuntimeError as e:
            return str(e)
        return None

    def kill(self):
        for p, err in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            MANAGED.discard(p.pid)
            err.close()
        self.procs = []


# --- peers: auditd -------------------------------------------------------------

AUDITD = "/sbin/auditd"
AUDITCTL = "/sbin/auditctl"
AUDIT_KEY = "at-bench"
# What agenttrail records about processes, files and connections, as audit
# rules: every execve, every open, every unlink and rename, every connect, of
# every process.
AUDIT_RULES = [
    ["-a", "always,exit", "-F", "arch=b64", "-S", "execve,execveat", "-k", AUDIT_KEY],
    ["-a", "always,exit", "-F", "arch=b64", "-S", "open,openat,openat2", "-k", AUDIT_KEY],
    ["-a", "always,exit", "-F", "arch=b64", "-S", "unlink,unlinkat,rmdir,rename,renameat,renameat2",
     "-k", AUDIT_KEY],
    ["-a", "always,exit", "-F", "arch=b64", "-S", "connect", "-k", AUDIT_KEY],
]
# Debian's /etc/audit/rules.d/audit.rules sets these; the kernel's defaults
# (backlog 64) would lose most events of a loop at once.
AUDIT_BACKLOG = ["-b", "8192", "--backlog_wait_time", "60000"]
NEVER_TASK = ["never,task"]


def auditctl(*args, check=True):
    r = subprocess.run([AUDITCTL] + list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("auditctl %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r.stdout


def audit_status():
    out = auditctl("-s")
    st = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            st[parts[0]] = int(parts[1])
    return st


class Auditd:
    """auditd with AUDIT_RULES, started before one sample and stopped after.

    The kernel remembers that auditing was ever enabled (audit_ever_enabled,
    until reboot): from then on every new process gets an audit context and
    takes the syscall-audit slow path, even with auditing disabled again.
    So that the other configurations keep running as they did, a
    `-a never,task` rule is loaded whenever auditd is not sampled (new
    processes then get no audit context).  restore() puts back the rules
    (none) and the flags found at the start."""

    def __init__(self, tmpdir):
        self.dir = os.path.join(tmpdir, "audit")
        self.proc = None
        self.saved = None
        self.reason = self._check()

    def _check(self):
        for p in (AUDITD, AUDITCTL):
            if not os.access(p, os.X_OK):
                return "%s not found (Debian package auditd)" % p
        try:
            st = audit_status()
            rules = auditctl("-l").strip()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            return "the kernel's audit interface does not answer (%s)" % e
        if "enabled" not in st:
            return "auditctl -s gave no 'enabled' line"
        if st.get("pid", 0):
            return "an audit daemon (pid %d) is already running; the bench does not touch it" % st["pid"]
        if st["enabled"] == 2:
            return "the audit configuration is locked (enabled 2) until reboot"
        if rules != "No rules":
            return "audit rules are already loaded; the bench does not touch them"
        self.saved = st
        return None

    def setup(self):
        os.makedirs(os.path.join(self.dir, "plugins.d"), mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)
        # Debian's auditd.conf, with the log in our temporary directory
        # (rotated: 2 x 100 MB at most) and no plugins.
        override = {
            "log_file": os.path.join(self.dir, "audit.log"),
            "log_group": "root",
            "max_log_file": "100",
            "num_logs": "2",
            "max_log_file_action": "ROTATE",
            "plugin_dir": os.path.join(self.dir, "plugins.d"),
        }
        base = []
        try:
            with open("/etc/audit/auditd.conf") as f:
                base = f.read().splitlines()
        except OSError:
            base = ["write_logs = yes", "log_format = ENRICHED", "flush = INCREMENTAL_ASYNC",
                    "freq = 50", "priority_boost = 4", "space_left = 75",
                    "space_left_action = SYSLOG", "admin_space_left = 50",
                    "admin_space_left_action = SUSPEND", "disk_full_action = SUSPEND",
                    "disk_error_action = SUSPEND", "q_depth = 2000", "overflow_action = SYSLOG"]
        lines = []
        for line in base:
            key = line.split("=", 1)[0].strip()
            if key in override:
                continue
            lines.append(line)
        lines += ["%s = %s" % kv for kv in override.items()]
        self.conf_text = "\n".join(lines) + "\n"
        fd = os.open(os.path.join(self.dir, "auditd.conf"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.conf_text)
        atexit.register(self.restore)
        auditctl("-a", *NEVER_TASK)

    def start(self, timeout=30.0):
        auditctl("-d", *NEVER_TASK, check=False)
        for name in os.listdir(self.dir):
            if name.startswith("audit.log"):
                os.unlink(os.path.join(self.dir, name))
        self.err = open(os.path.join(self.dir, "auditd.err"), "w+")
        self.proc = subprocess.Popen([AUDITD, "-n", "-c", self.dir], stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err)
        MANAGED.add(self.proc.pid)
        t0 = time.monotonic()
        while audit_status().get("pid") != self.proc.pid:
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                self.err.seek(0)
                text = self.err.read()[-2000:]
                self._kill()
                raise RuntimeError("auditd did not start: %s" % text)
            time.sleep(0.05)
        ready_s = time.monotonic() - t0
        auditctl(*AUDIT_BACKLOG)
        for rule in AUDIT_RULES:
            auditctl(*rule)
        self.kauditd = kthread_pid("kauditd")
        st = audit_status()
        self.lost0 = st.get("lost", 0)
        self.wait0 = st.get("backlog_wait_time_actual", 0)
        self.cpu0 = proc_cpu(self.proc.pid) or (0.0, 0.0)
        self.total0 = threads_cpu_s(self.proc.pid)
        self.kcpu0 = proc_cpu(self.kauditd) if self.kauditd else None
        self.ktotal0 = threads_cpu_s(self.kauditd) if self.kauditd else None
        return round(ready_s, 3)

    def stop(self):
        """Rules off, backlog drained, auditd stopped: its CPU from the rules
        on to its exit, kauditd's over the same time, auditd's peak RSS,
        records lost in the kernel."""
        auditctl("-D")
        t0 = time.monotonic()
        while audit_status().get("backlog", 0) > 0 and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        st = audit_status()
        kcpu1 = proc_cpu(self.kauditd) if self.kauditd else None
        ktotal1 = threads_cpu_s(self.kauditd) if self.kauditd else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, status, ru = wait4_timeout(self.proc.pid, 30)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        except TimeoutError:
            self._kill()
            raise RuntimeError("auditd did not stop within 30 s")
        MANAGED.discard(self.proc.pid)
        self.proc = None
        self.err.close()
        auditctl("-e", str(self.saved["enabled"]))
        auditctl("-a", *NEVER_TASK)
        # the parts in ticks; the totals finer: wait4's exact sum at the
        # end less schedstat's at the start (auditd), schedstat at both
        # ends (kauditd, a kernel thread)
        u = max(ru.ru_utime - self.cpu0[0], 0.0)
        s = max(ru.ru_stime - self.cpu0[1], 0.0)
        total = (ru.ru_utime + ru.ru_stime - self.total0) if self.total0 is not None else None
        obs = dict(cpu_dict(u, s, total), peak_rss_kib=ru.ru_maxrss,
                   lost=st.get("lost", 0) - self.lost0,
                   backlog_wait_ms=st.get("backlog_wait_time_actual", 0) - self.wait0,
                   auditd=cpu_dict(u, s, total))
        if self.kauditd and self.kcpu0 and kcpu1:
            ku, ks = kcpu1[0] - self.kcpu0[0], kcpu1[1] - self.kcpu0[1]
            ktotal = (ktotal1 - self.ktotal0
                      if self.ktotal0 is not None and ktotal1 is not None else None)
            obs["kauditd"] = cpu_dict(ku, ks, ktotal)
            both = (obs["auditd"]["cpu_s"] + obs["kauditd"]["cpu_s"]
                    if total is not None and ktotal is not None else None)
            obs.update(cpu_dict(u + ku, s + ks, both))
        try:
            obs["log_bytes"] = sum(os.path.getsize(os.path.join(self.dir, n))
                                   for n in os.listdir(self.dir) if n.startswith("audit.log"))
        except OSError:
            pass
        return obs

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            MANAGED.discard(self.proc.pid)
        self.proc = None

    def restore(self):
        if self.saved is None:
            return
        try:
            auditctl("-D", check=False)
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._kill()
            self.proc = None
            s = self.saved
            auditctl("-b", str(s.get("backlog_limit", 64)), check=False)
            if "backlog_wait_time" in s:
                auditctl("--backlog_wait_time", str(s["backlog_wait_time"]), check=False)
            auditctl("-f", str(s.get("failure", 1)), check=False)
            auditctl("-r", str(s.get("rate_limit", 0)), check=False)
            auditctl("-e", str(s["enabled"]), check=False)
        finally:
            self.saved = None
