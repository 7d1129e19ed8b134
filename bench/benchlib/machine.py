"""The machine the bench runs on, for the report's header: CPU, memory,
kernel, OS, hypervisor, load, the git revision, the peers' package versions."""

import os
import subprocess

from .common import REPO, read_first


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def hypervisor():
    """What the machine runs on, as far as it tells."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        flags = ""
    product = read_first("/sys/class/dmi/id/product_name", "")
    if " hypervisor" not in flags:
        return "bare metal" + (" (%s)" % product if product else "")
    return "virtual machine" + (" (%s)" % product if product else "")


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / (1 << 20), 1)
    except OSError:
        pass
    return None


def git_rev():
    try:
        out = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def deb_version(pkg):
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def machine_info():
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "kernel": os.uname().release,
        "cpu": cpu_model(),
        "mem_gib": mem_total_gib(),
        "os": os_name(),
        "hypervisor": hypervisor(),
        "loadavg_at_start": loadavg(),
    }
