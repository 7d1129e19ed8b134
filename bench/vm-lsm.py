#!/usr/bin/python3
"""bench/vm-lsm.py - the host side of the VM bench of the BPF-LSM backend
(AGENTTRAIL_VM_BENCH=1 bash tests/vm/run.sh; see tests/vm/README.md).

  vm-lsm.py policies DEST
      writes the 32- and 256-rule policies, every file and exec rule of which
      the BPF-LSM backend takes, with the files they name, into the guest's
      tree DEST, as DEST/bench/policy-N.yaml (paths as the guest sees them)

  vm-lsm.py report --vm SERIAL_LOG --host HOST_LINES --meta META
                   [--json FILE] [--md FILE]
      reads the VMBENCH lines of the guest (serial log) and of the host
      (the same lines, written by tests/vm/run.sh), prints the Markdown
      report and writes it and the JSON

Times under TCG are not the host's: the report gives the guest's raw
figures, and an estimate of the host's scaled by calibration factors
measured in the same run (bare loops on both sides; BPF time per open of
the same observing programs on both sides).
"""

import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib.policies import generate_policy  # noqa: E402

WORKLOADS = ("open", "forkexec", "connect")
WORKLOAD_TEXT = {"open": "open+close", "forkexec": "fork+exec+wait", "connect": "connect+close"}
CONFIGS = ("bare", "in-session", "enforce32", "enforce256", "enforce256-outside")
CONFIG_TEXT = {
    "bare": "the loops alone",
    "in-session": "agenttrail record (observing)",
    "enforce32": "agenttrail run --policy P32 (BPF-LSM)",
    "enforce256": "agenttrail run --policy P256 (BPF-LSM)",
    "enforce256-outside": "outside any session, P256 loaded",
}
GUEST_ROOT = "/bench"
LINE_RE = re.compile(r"^VMBENCH (\S+)(.*)$")
KV_RE = re.compile(r"(\w+)=(\S+)")


def fail(msg):
    print("bench/vm-lsm.py: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- policies ---------------------------------------------------------------

def cmd_policies(dest):
    root = GUEST_ROOT + "/policy"
    for n in (32, 256):
        text, mix, dirs, files = generate_policy(n, root, root + "/home", GUEST_ROOT,
                                                 lsm_only=True)
        for d in dirs:
            os.makedirs(dest + d, exist_ok=True)
        for path, (mode, content) in files.items():
            os.makedirs(os.path.dirname(dest + path), exist_ok=True)
            with open(dest + path, "w") as f:
                f.write(content)
            os.chmod(dest + path, mode)
        with open("%s%s/policy-%d.yaml" % (dest, GUEST_ROOT, n), "w") as f:
            f.write(text)
        print("policy-%d.yaml: %s" % (n, ", ".join("%d %s" % (c, k) for k, c in mix.items())))


# ---- report -------------------------------------------------------------------

def parse(path):
    """The VMBENCH lines of a file: [(kind, {key: value}, text after the kind)]."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE_RE.match(line.rstrip("\r\n"))
            if m:
                out.append((m.group(1), dict(KV_RE.findall(m.group(2))), m.group(2).strip()))
    return out


def med(xs):
    return statistics.median(xs) if xs else None


def samples(lines):
    """{(config, workload): {round: ns_per_op}} and, for the host, the phase."""
    s = {}
    for kind, kv, _ in lines:
        if kind != "SAMPLE":
            continue
        key = (kv["config"], kv["workload"])
        s.setdefault(key, []).append((kv["round"], kv.get("phase", ""), float(kv["ns_per_op"])))
    return s


def bpf_turns(lines, tag):
    """Per turn of bpf_open_turn TAG: the loop's ops, ns per op, and the
    programs' run time and count, by name."""
    turns = {}
    for kind, kv, _ in lines:
        if kind not in ("BPF", "BPFLOOP") or kv.get("tag", "").split("/")[0] != tag:
            continue
        t = turns.setdefault(kv["tag"], {"progs": {}})
        if kind == "BPFLOOP":
            t["ops"] = int(kv["ops"])
            t["loop_ns_per_op"] = float(kv["ns_per_op"])
        else:
            p = t["progs"].setdefault(kv["name"], {"run_time_ns": 0, "run_cnt": 0})
            p["run_time_ns"] += int(kv["run_time_ns"])
            p["run_cnt"] += int(kv["run_cnt"])
    return [t for _, t in sorted(turns.items()) if "ops" in t]


def bpf_summary(turns):
    """Medians over the turns: BPF ns per open (every program agenttrail
    loaded, together), and per program ns per call and calls per open."""
    if not turns:
        return None
    per_op = [sum(p["run_time_ns"] for p in t["progs"].values()) / t["ops"] for t in turns]
    names = sorted({n for t in turns for n in t["progs"]})
    progs = {}
    for n in names:
        ts = [t for t in turns if n in t["progs"]]
        progs[n] = {
            "ns_per_call": round(med([t["progs"][n]["run_time_ns"] / t["progs"][n]["run_cnt"]
                                      for t in ts if t["progs"][n]["run_cnt"]]), 1),
            "calls_per_open": round(med([t["progs"][n]["run_cnt"] / t["ops"] for t in ts]), 3),
            "ns_per_open": round(med([t["progs"][n]["run_time_ns"] / t["ops"] for t in ts]), 1),
        }
    return {"turns": len(turns), "ops": turns[0]["ops"],
            "bpf_ns_per_open": round(med(per_op), 1),
            "bpf_ns_per_open_samples": [round(x, 1) for x in per_op],
            "loop_ns_per_op": round(med([t["loop_ns_per_op"] for t in turns]), 1),
            "programs": progs}


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k:
                meta[k] = v
    return meta


def build(vm_lines, host_lines, meta):
    vm, host = samples(vm_lines), samples(host_lines)
    params = next((kv for k, kv, _ in vm_lines if k == "PARAMS"), {})
    data = {"meta": meta, "params": params, "workloads": {}, "calibration": {},
            "mechanisms": {}, "rounds": [t for k, _, t in vm_lines if k == "ROUND"]}
    # the host is shared: its load and any other agenttrail, per phase
    data["host_info"] = [kv for k, kv, _ in host_lines if k == "HOSTINFO"]
    data["warnings"] = [t for k, _, t in vm_lines + host_lines if k == "WARN"]
    for kind, kv, text in vm_lines:
        if kind == "MECH":
            data["mechanisms"].setdefault(kv["policy"], []).append(
                {"count": int(kv["count"]), "mechanism": text.split("mechanism=", 1)[1]})
    # calibration: bare loops on both sides
    for wl in WORKLOADS:
        h = [x for _, _, x in host.get(("bare", wl), [])]
        v = [x for _, _, x in vm.get(("bare", wl), [])]
        if not h or not v:
            fail("no bare %s samples on the %s" % (wl, "host" if not h else "guest"))
        hb = [x for _, ph, x in host[("bare", wl)] if ph == "before"]
        ha = [x for _, ph, x in host[("bare", wl)] if ph == "after"]
        data["calibration"][wl] = {
            "host_bare_ns_per_op": round(med(h), 1),
            "host_bare_before": round(med(hb), 1) if hb else None,
            "host_bare_after": round(med(ha), 1) if ha else None,
            "host_samples": h,
            "vm_bare_ns_per_op": round(med(v), 1),
            "factor": round(med(v) / med(h), 2),
        }
    hb, vb = bpf_summary(bpf_turns(host_lines, "record")), bpf_summary(bpf_turns(vm_lines, "record"))
    data["bpf"] = {"host_record": hb, "vm_record": vb,
                   "vm_enforce256": bpf_summary(bpf_turns(vm_lines, "enforce256")),
                   "vm_outside256": bpf_summary(bpf_turns(vm_lines, "outside256"))}
    ho = bpf_summary(bpf_turns(host_lines, "outside-record"))
    vo = bpf_summary(bpf_turns(vm_lines, "outside-record"))
    data["bpf"].update({"host_outside_record": ho, "vm_outside_record": vo})
    bpf_factor = None
    if hb and vb and hb["bpf_ns_per_open"] > 0:
        bpf_factor = round(vb["bpf_ns_per_open"] / hb["bpf_ns_per_open"], 2)
    data["calibration"]["bpf"] = {"factor": bpf_factor}
    # the same for the short path of a process outside every session (a
    # second BPF factor, for code that is mostly a lookup that misses)
    data["calibration"]["bpf_outside"] = {
        "factor": round(vo["bpf_ns_per_open"] / ho["bpf_ns_per_open"], 2)
        if ho and vo and ho["bpf_ns_per_open"] > 0 else None}
    # the configurations: medians, and added time per round against bare
    for wl in WORKLOADS:
        bare = {r: x for r, _, x in vm.get(("bare", wl), [])}
        cs = {}
        for c in CONFIGS:
            xs = {r: x for r, _, x in vm.get((c, wl), [])}
            if not xs:
                continue
            diffs = [xs[r] - bare[r] for r in sorted(xs) if r in bare]
            e = {"samples_ns_per_op": [xs[r] for r in sorted(xs, key=int)],
                 "median_ns_per_op": round(med(list(xs.values())), 1)}
            if c != "bare" and diffs:
                added = med(diffs)
                wf = data["calibration"][wl]["factor"]
                e.update({
                    "added_ns_per_op": round(added, 1),
                    "added_per_round": [round(d, 1) for d in diffs],
                    "host_est_added_ns_by_workload_factor": round(added / wf, 1),
                    "host_est_added_ns_by_bpf_factor":
                        round(added / bpf_factor, 1) if bpf_factor else None,
                })
            cs[c] = e
        data["workloads"][wl] = cs
    return data


def fmt(x, places=0):
    if x is None:
        return "-"
    return "{:,.{p}f}".format(x, p=places).replace(",", " ")


def signed(x, places=0):
    return "-" if x is None else ("+" if x >= 0 else "") + fmt(x, places)


def bpf_factor_for(cal, tag):
    """The BPF factor for a session's programs: the outside one for the
    loop outside every session (short programs that return after a lookup,
    whose measured time is mostly the statistics' clock reads)."""
    return cal["bpf_outside" if tag.startswith("outside") else "bpf"]["factor"]


def report(d):
    m, p, cal = d["meta"], d["params"], d["calibration"]
    L = ["## BPF-LSM backend under TCG, with a calibration, %s" % m.get("date", "?"), ""]
    L.append("Machine: %s; guest: %s (%s) under `qemu-system-x86_64 -accel tcg -cpu max -smp %s "
             "-m %s`, qemu %s. git %s." % (m.get("host", "?"), m.get("guest_kernel", "?"),
                                        m.get("kernel_package", "?"), m.get("smp", "?"),
                                        m.get("mem", "?"), m.get("qemu", "?"), m.get("git", "?")))
    L.append("")
    L.append("Command: `%s`. %s rounds in the guest (each configuration once per round, the "
             "order rotated), loops of %s opens, %s fork+execs, %s connects; %s bare rounds "
             "on the host before the boot and %s after, with the same static `loops` and "
             "the same counts. Whole run %s s (guest %s s)."
             % (m.get("command", "?"), p.get("rounds", "?"), p.get("n_open", "?"),
                p.get("n_fork", "?"), p.get("n_conn", "?"), m.get("host_rounds", "?"),
                m.get("host_rounds", "?"), m.get("total_s", "?"), m.get("qemu_s", "?")))
    if d["host_info"]:
        L += ["", "The host is shared: " + "; ".join(
            "%s the boot, load average %s and %s other agenttrail process(es) running"
            % (h.get("phase", "?"), h.get("loadavg", "?"), h.get("other_agenttrail", "?"))
            for h in d["host_info"]) + "."]
    for w in d["warnings"]:
        L += ["", "Warning: " + w]
    L += ["", "**Calibration** (measured in this run): the guest's bare time over the host's "
          "bare time, per loop, and the BPF time per open+close of `agenttrail record`'s "
          "programs (same programs, same loop) in the guest over the host's.", "",
          "| what | host | guest (TCG) | factor |", "|---|---:|---:|---:|"]
    for wl in WORKLOADS:
        c = cal[wl]
        L.append("| bare %s, ns/op (host before / after: %s / %s) | %s | %s | %.1f× |"
                 % (WORKLOAD_TEXT[wl], fmt(c["host_bare_before"]), fmt(c["host_bare_after"]),
                    fmt(c["host_bare_ns_per_op"]), fmt(c["vm_bare_ns_per_op"]), c["factor"]))
    hb, vb = d["bpf"]["host_record"], d["bpf"]["vm_record"]
    if hb and vb:
        L.append("| BPF time per open+close in a recorded session, ns (turns: host %d, guest %d) "
                 "| %s | %s | %s |"
                 % (hb["turns"], vb["turns"], fmt(hb["bpf_ns_per_open"]), fmt(vb["bpf_ns_per_open"]),
                    "%.1f×" % cal["bpf"]["factor"] if cal["bpf"]["factor"] else "-"))
    ho, vo = d["bpf"]["host_outside_record"], d["bpf"]["vm_outside_record"]
    if ho and vo:
        L.append("| BPF time per open+close outside any session while another is recorded, ns "
                 "(turns: host %d, guest %d; not used below) | %s | %s | %s |"
                 % (ho["turns"], vo["turns"], fmt(ho["bpf_ns_per_open"]), fmt(vo["bpf_ns_per_open"]),
                    "%.1f×" % cal["bpf_outside"]["factor"] if cal["bpf_outside"]["factor"] else "-"))
    L += ["", "**Added time per operation** (guest, raw: median over rounds of the config's "
          "sample minus bare's sample of the same round), and the host-equivalent estimate: "
          "the guest's added time divided by the loop's factor, and by the BPF factor. The "
          "estimates are scaled by calibration factors measured in this run, not measured on "
          "the host (the host kernel refuses BPF-LSM).", ""]
    for wl in WORKLOADS:
        cs = d["workloads"][wl]
        L += ["### %s (%s per op)" % (wl, WORKLOAD_TEXT[wl]), "",
              "| configuration | guest ns/op | guest added ns/op (per-round min .. max) "
              "| host-equiv. added, ÷ %.1f (loop) | ÷ %s (BPF) |"
              % (cal[wl]["factor"], "%.1f" % cal["bpf"]["factor"] if cal["bpf"]["factor"] else "-"),
              "|---|---:|---:|---:|---:|"]
        for c in CONFIGS:
            if c not in cs:
                continue
            e = cs[c]
            if c == "bare":
                L.append("| bare | %s | | | |" % fmt(e["median_ns_per_op"]))
                continue
            L.append("| %s | %s | %s (%s .. %s) | %s | %s |"
                     % (c, fmt(e["median_ns_per_op"]), signed(e["added_ns_per_op"]),
                        signed(min(e["added_per_round"])), signed(max(e["added_per_round"])),
                        signed(e["host_est_added_ns_by_workload_factor"]),
                        signed(e["host_est_added_ns_by_bpf_factor"])))
        L.append("")
    le = d["bpf"]["vm_enforce256"]
    if le:
        L += ["**BPF time per program** during one chunk of %s opens, in the guest (median of "
              "%d turns; host-equivalent ÷ the BPF factor, or for the loop outside any session ÷ the "
              "outside factor). `record`: observing; `enforce256`: "
              "`run --policy P256`, where `guard_file_open` is the BPF-LSM program; "
              "`outside256`: the loop in no session while `run --policy P256` holds one "
              "(the programs of that agenttrail)." %
              (fmt(le["ops"]), le["turns"]), "",
              "| session | program | calls per open | guest ns per call | guest ns per open "
              "| host-equiv. ns per open |", "|---|---|---:|---:|---:|---:|"]
        lo = d["bpf"]["vm_outside256"]
        sessions = (("record", vb), ("enforce256", le), ("outside-record", vo), ("outside256", lo))
        for tag, s in sessions:
            if not s:
                continue
            bf = bpf_factor_for(cal, tag)
            for n, pr in sorted(s["programs"].items(), key=lambda kv: -kv[1]["ns_per_open"]):
                L.append("| %s | `%s` | %.2f | %s | %s | %s |"
                         % (tag, n, pr["calls_per_open"], fmt(pr["ns_per_call"]),
                            fmt(pr["ns_per_open"]), fmt(pr["ns_per_open"] / bf) if bf else "-"))
        L += ["", "All programs together, BPF ns per open+close (guest / host-equivalent, "
              "÷ %s in a session, ÷ %s outside): " % (
                  "%.1f" % cal["bpf"]["factor"] if cal["bpf"]["factor"] else "-",
                  "%.1f" % cal["bpf_outside"]["factor"] if cal["bpf_outside"]["factor"] else "-")
              + "; ".join("%s %s / %s" % (tag, fmt(s["bpf_ns_per_open"]),
                                          fmt(s["bpf_ns_per_open"] / bpf_factor_for(cal, tag))
                                          if bpf_factor_for(cal, tag) else "-")
                          for tag, s in sessions if s) + "."]
        if hb:
            L += ["", "On the host, `record`'s programs: " + ", ".join(
                "`%s` %.2f calls and %s ns per open" % (n, pr["calls_per_open"], fmt(pr["ns_per_open"]))
                for n, pr in sorted(hb["programs"].items(), key=lambda kv: -kv[1]["ns_per_open"]))
                + " (calls beyond the loop's come from the host's other processes)."]
        L.append("")
    for n, ms in sorted(d["mechanisms"].items(), key=lambda kv: int(kv[0])):
        L.append("P%s, operations per mechanism (`agenttrail check` in the guest): %s." %
                 (n, "; ".join("%d %s" % (x["count"], x["mechanism"]) for x in ms)))
    return "\n".join(L) + "\n"


def cmd_report(a):
    data = build(parse(a.vm), parse(a.host), read_meta(a.meta))
    md = report(data)
    sys.stdout.write(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("policies")
    sp.add_argument("dest")
    sr = sub.add_parser("report")
    sr.add_argument("--vm", required=True)
    sr.add_argument("--host", required=True)
    sr.add_argument("--meta", required=True)
    sr.add_argument("--json")
    sr.add_argument("--md")
    a = ap.parse_args()
    if a.cmd == "policies":
        cmd_policies(a.dest)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
