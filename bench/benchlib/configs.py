"""The configurations: their names and groups, and what each one runs and
how its observer is measured, as the JSON describes them ("configs",
"methods").  How a sample runs in each is sample.Sampler."""

from .peers import AUDIT_BACKLOG, AUDIT_RULES, SNOOPS

CONFIGS = ["bare", "in-session", "in-session@base", "in-session-db", "in-session-db@base",
           "enforce32", "enforce256", "outside", "enforce256-outside", "execsnoop+opensnoop",
           "auditd"]
# the workload runs in an agenttrail session (record, or run --policy)
SESSION_CONFIGS = ("in-session", "in-session@base", "in-session-db", "in-session-db@base",
                   "enforce32", "enforce256")
# --baseline DIR runs these configurations a second time, with the agenttrail
# built in DIR, under these names: a change measured side by side with the
# binary before it, in the same rounds. They run only with --baseline.
BASELINE_OF = {"in-session": "in-session@base", "in-session-db": "in-session-db@base"}
BASELINE_CONFIGS = tuple(BASELINE_OF.values())
# the workload runs alone while an agenttrail runs in the background
OUTSIDE_CONFIGS = ("outside", "enforce256-outside")
# --quick runs these configurations with these workloads only (an enforcing
# sample costs seconds of agenttrail start-up; enforce32 runs with all of them)
QUICK_CONFIG_WORKLOADS = {"enforce256": ("open", "forkexec", "unlink", "connect")}
PEER_CONFIGS = ("execsnoop+opensnoop", "auditd")

# the comm the background tracer of "outside" records: no process has it
NEVER_MATCHES = "at-bench-never-matches"

# the enforcing configurations (policies.py), and the size of their policy
ENFORCE_SESSION = ("enforce32", "enforce256")
ENFORCE_OUTSIDE = ("enforce256-outside",)
POLICY_RULES = {"enforce32": 32, "enforce256": 256, "enforce256-outside": 256}

# What each configuration runs, for the JSON ("configs").
DESCRIPTIONS = {
    "bare": "WORKLOAD",
    "in-session": "agenttrail record --no-db --quiet --stats -- WORKLOAD",
    "in-session-db": "agenttrail record --db TMP.db --quiet --stats -- WORKLOAD",
    "in-session@base": "BASELINE/agenttrail record --no-db --quiet --stats -- WORKLOAD",
    "in-session-db@base": "BASELINE/agenttrail record --db TMP.db --quiet --stats -- WORKLOAD",
    "outside": "WORKLOAD while agenttrail record --no-db --quiet --comm %s runs"
               % NEVER_MATCHES,
    "enforce32": "HOME=TMP/policy/home agenttrail run --policy TMP/policy/policy-32.yaml "
                 "--no-db --stats -- env HOME=$HOME WORKLOAD",
    "enforce256": "HOME=TMP/policy/home agenttrail run --policy "
                  "TMP/policy/policy-256.yaml --no-db --stats -- env HOME=$HOME WORKLOAD",
    "enforce256-outside": "WORKLOAD while HOME=TMP/policy/home agenttrail run --policy "
                          "TMP/policy/policy-256.yaml --no-db --stats -- cat runs "
                          "(its session waits on a pipe)",
    "execsnoop+opensnoop": "WORKLOAD while %s run, output to /dev/null" % " and ".join(SNOOPS),
    "auditd": "WORKLOAD while auditd -n runs with: auditctl %s; %s"
              % (" ".join(AUDIT_BACKLOG), "; ".join("auditctl " + " ".join(r)
                                                    for r in AUDIT_RULES)),
}


def methods(subreaper):
    """How each observer is measured, for the JSON ("methods").  subreaper:
    whether bench/run became a child subreaper, without which agenttrail's
    detached tear-down is not its child and is not measured."""
    return {
        "agenttrail": "CPU (user+sys) and VmHWM from /proc while ptrace holds agenttrail "
                      "at PTRACE_EVENT_EXIT; capture CPU = that minus the CPU at --ready-file",
        "teardown": "the detached tear-down child is reaped by bench/run "
                    "(PR_SET_CHILD_SUBREAPER): wait4 rusage" if subreaper else "not measured",
        "peers": "wait4 rusage at exit minus /proc CPU when attached; ru_maxrss",
        "auditd": "auditd: wait4 rusage minus /proc CPU when the rules were loaded; "
                  "kauditd: /proc CPU delta over the same time; auditd ru_maxrss",
        "enforce": "the policies are generated into TMP/policy and checked with "
                   "`agenttrail check`; a run that does not exit 0, does not say it "
                   "enforces every rule, or makes any decision (a violation) fails the bench",
    }
