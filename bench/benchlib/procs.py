"""Processes: their CPU time and peak RSS from /proc and wait4, stopping
agenttrail at its exit with ptrace, inheriting its detached tear-down child
as a subreaper, the other agenttrail processes on the machine, and the BPF
links a process holds (how the harness knows a tracer is attached)."""

import ctypes
import os
import re
import time

from .common import read_first


# --- processes: CPU time and peak RSS ------------------------------------------
# /proc/PID/stat counts CPU time in clock ticks (10 ms); getrusage/wait4 in
# microseconds.  A process's own time (utime, stime) is the whole thread
# group's; cutime/cstime are the children it has waited for.

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name, or None.
    [0] is field 3 (state), so field k is [k - 3]."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rfind(")") + 2:].split()


def proc_cpu(pid):
    """(user s, system s) of process pid itself, or None."""
    f = proc_stat(pid)
    if not f:
        return None
    return int(f[11]) / CLK_TCK, int(f[12]) / CLK_TCK


def threads_cpu_s(pid):
    """CPU seconds of pid's live threads from /proc/PID/task/*/schedstat
    (nanoseconds, where /proc/PID/stat has 10 ms ticks), or None.  Threads
    that already ended are not in it: for a process whose threads all live
    across the interval measured (a daemon, a kernel thread)."""
    total, found = 0, False
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
            found = True
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9 if found else None


def proc_status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def children_of(ppid):
    """pid -> (comm, state) of the processes whose parent is ppid."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        if len(rest) > 1 and int(rest[1]) == ppid:
            found[int(name)] = (s[s.find("(") + 1:s.rfind(")")], rest[0])
    return found


def kthread_pid(comm):
    for name in os.listdir("/proc"):
        if name.isdigit() and read_first("/proc/%s/comm" % name, "") == comm:
            f = proc_stat(int(name))
            if f and int(f[1]) == 2:  # a child of kthreadd
                return int(name)
    return None


def rusage_cpu(ru):
    return ru.ru_utime, ru.ru_stime


def cpu_dict(user, system, total=None):
    """CPU time as the JSON keeps it.  total, when given, is a finer figure
    of user + system (schedstat) than the two ticks-based parts."""
    cpu = user + system if total is None else max(total, 0.0)
    return {"cpu_s": round(cpu, 4), "user_s": round(user, 3), "sys_s": round(system, 3)}


# ptrace, to stop agenttrail at its exit (PTRACE_O_TRACEEXIT) while its memory
# is still there, and prctl, to inherit its detached tear-down child.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_CONT = 7
PTRACE_SEIZE = 0x4206
PTRACE_O_TRACEEXIT = 0x40
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_STOP = 128
PR_SET_CHILD_SUBREAPER = 36


def ptrace(req, pid, addr, data):
    if _libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data)) == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def become_subreaper():
    return _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


# --- other agenttrail processes --------------------------------------------
# Any other agenttrail on the machine (a test suite, a colleague) attaches the
# same syscall tracepoints and so changes what "bare" means.  So does the
# previous sample's own agenttrail: it exits as soon as its command is done,
# but leaves a detached process (also named agenttrail) that detaches the BPF
# programs one by one.  We wait for it after each sample (as a child
# subreaper we inherit it and so also get its CPU time), wait before each
# sample until no other agenttrail is left, and flag the samples that still
# overlapped one.

def agenttrails():
    """(pid, command line) of every live agenttrail process."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        state = stat[stat.rfind(")") + 2:stat.rfind(")") + 3]
        if comm == "agenttrail" and state != "Z":
            found.append((int(name), cmdline))
    return found


def foreign_agenttrails(own, marker=None):
    """Live agenttrail processes, but for the pids in own and those whose
    command line contains marker."""
    return [pid for pid, cmdline in agenttrails()
            if pid not in own and not (marker and marker in cmdline)]


def wait_for_ours(marker, timeout):
    """Waits for our own agenttrails (their command line has marker) to end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap_orphans(set())
        if not any(marker in cmdline for _, cmdline in agenttrails()):
            return
        time.sleep(0.1)


def wait_until_alone(own, timeout):
    """Returns (agenttrail pids still there at the timeout, seconds waited)."""
    t0 = time.monotonic()
    while True:
        reap_orphans(own)
        others = foreign_agenttrails(own)
        waited = time.monotonic() - t0
        if not others or waited >= timeout:
            return others, waited
        time.sleep(0.1)


# Processes we start and wait for ourselves (Popen); reap_orphans leaves them.
MANAGED = set()


def reap_orphans(keep):
    """Reaps zombie children that are not ours to wait for: as a subreaper we
    inherit the orphans of the workloads and of agenttrail."""
    for pid, (_, state) in children_of(os.getpid()).items():
        if state == "Z" and pid not in MANAGED and pid not in keep:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def wait_teardown(pids, timeout):
    """Waits for agenttrail's detached tear-down children (ours, since we are
    a subreaper) and reaps them: (their CPU user+sys s, seconds waited)."""
    if not pids:
        return None, 0.0
    t0 = time.monotonic()
    cpu = 0.0
    left = set(pids)
    while left and time.monotonic() - t0 < timeout:
        for pid in list(left):
            try:
                got, _, ru = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                left.discard(pid)
                continue
            if got:
                u, s = rusage_cpu(ru)
                cpu += u + s
                left.discard(pid)
        if left:
            time.sleep(0.02)
    return (round(cpu, 3) if not left else None), round(time.monotonic() - t0, 3)


def new_agenttrail_children(exclude):
    """Our agenttrail children (zombies too: a quick tear-down may be done
    already) but for those in exclude and those we manage."""
    return [pid for pid, (comm, _) in children_of(os.getpid()).items()
            if comm == "agenttrail" and pid not in exclude and pid not in MANAGED]


# --- tracers' BPF links; waiting for a child -------------------------------------

def tracer_links(pid):
    """tp_name of every BPF link that process pid holds ('?' for links
    that have none, e.g. tp_btf and perf ones)."""
    names = []
    fdinfo = "/proc/%d/fdinfo" % pid
    try:
        fds = os.listdir(fdinfo)
    except OSError:
        return names
    for fd in fds:
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                text = f.read()
        except OSError:
            continue
        if "link_type:" not in text:
            continue
        m = re.search(r"^tp_name:\s*(\S+)", text, re.M)
        names.append(m.group(1) if m else "?")
    return names


def wait4_timeout(pid, timeout):
    """wait4() for child pid, for up to timeout s; TimeoutError after that."""
    deadline = time.monotonic() + timeout
    while True:
        got, status, ru = os.wait4(pid, os.WNOHANG)
        if got:
            return got, status, ru
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.02)
