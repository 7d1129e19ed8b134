#!/bin/bash
# bench/smoke.sh - checks that the benchmark harness works, not how fast
# anything is: runs `bench/run --quick` (every workload, every configuration
# but enforce256, which runs with open, forkexec and connect only, and the
# event-rate stress, the paired measurements) and checks that every configuration produced a
# positive time for every workload, that the JSON has every key, that the
# in-session runs recorded events, that the enforcing runs loaded the whole
# generated policy (32 or 256 rules) and made no decision (0 violations),
# that the observers' CPU time and peak RSS and the workload's CPU time were
# measured, that agenttrail's BPF programs were timed (`--bpf-stats`) and
# the accounted ratio made from them, that the stress
# reported every rate for both stores, that `--from-json` rewrites the same
# report, and that the audit settings, kernel.bpf_stats_enabled and the peer tracers are as they were
# before.  Then that `--pool` pools the run's per-round ratios, and that a run
# interrupted in its third round exits 130 with whole rounds in its JSON.
# Never asserts a time.
#
# A peer configuration may be skipped (the JSON then says why, e.g. auditd
# when another audit daemon runs); the smoke test prints the reason.
#
# Works from any directory.  The build directory is $AT_BUILD_DIR (default
# <repo>/build) and must hold agenttrail.  Needs root.  The last line is
# "bench smoke: 1 passed, 0 failed" or "bench smoke: 0 passed, 1 failed".

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
export AT_BUILD_DIR=${AT_BUILD_DIR:-$repo/build}

tmp=$(mktemp -d /tmp/agenttrail-bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

result() {
	if [ "$1" = ok ]; then
		echo "bench smoke: 1 passed, 0 failed"
		exit 0
	fi
	echo "bench smoke: FAIL: $2" >&2
	echo "bench smoke: 0 passed, 1 failed"
	exit 1
}

# The audit settings (not the counters) and the rules, to compare after.
audit_state() {
	if [ -x /sbin/auditctl ]; then
		/sbin/auditctl -s 2>&1 | grep -Ev '^(lost|backlog|backlog_wait_time_actual) '
		/sbin/auditctl -l 2>&1
	fi
	for p in execsnoop opensnoop auditd; do
		echo "$p processes: $(pgrep -cx "$p")"
	done
	echo "kernel.bpf_stats_enabled: $(cat /proc/sys/kernel/bpf_stats_enabled)"
}
audit_state >"$tmp/audit.before"

if ! "$here/run" --quick --bpf-stats --json "$tmp/results.json" --md "$tmp/RESULTS.md" \
	>"$tmp/report.md" 2>"$tmp/run.err"; then
	cat "$tmp/report.md" "$tmp/run.err" >&2
	result fail "bench/run --quick exited non-zero"
fi
cat "$tmp/report.md"

audit_state >"$tmp/audit.after"
if ! diff -u "$tmp/audit.before" "$tmp/audit.after" >&2; then
	result fail "the audit settings or the peer processes differ after the run"
fi

if ! "$here/run" --from-json "$tmp/results.json" --md "$tmp/RESULTS2.md" >/dev/null ||
	! cmp -s "$tmp/RESULTS.md" "$tmp/RESULTS2.md"; then
	diff -u "$tmp/RESULTS.md" "$tmp/RESULTS2.md" >&2
	result fail "bench/run --from-json did not rewrite the same report"
fi

/usr/bin/python3 - "$tmp/results.json" "$tmp/RESULTS.md" <<'EOF' || result fail "results check"
import json
import sys

WORKLOADS = ["open", "stat", "write", "forkexec", "unlink", "connect", "tls", "build", "agent"]
CONFIGS = ["bare", "in-session", "in-session-db", "enforce32", "enforce256", "outside",
           "enforce256-outside", "execsnoop+opensnoop", "auditd"]
SESSION = ["in-session", "in-session-db", "enforce32", "enforce256"]
ENFORCE = {"enforce32": 32, "enforce256": 256, "enforce256-outside": 256}
# --quick runs these configurations with these workloads only
ONLY = {"enforce256": ["open", "forkexec", "unlink", "connect"]}
PEERS = ["execsnoop+opensnoop", "auditd"]
errors = []

try:
    with open(sys.argv[1]) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    sys.exit("cannot read the JSON: %s" % e)

for key in ("date", "machine", "agenttrail", "rounds", "workloads", "stress", "paired", "peers",
            "skipped_configs", "summary"):
    if key not in doc:
        errors.append("top-level key %r missing" % key)
for key in ("nproc", "kernel", "cpu", "mem_gib", "os"):
    if key not in doc.get("machine", {}):
        errors.append("machine.%s missing" % key)

# the generated policies: checked, of the size asked, in the 40/40/20 mix
for config, n in ENFORCE.items():
    p = (doc.get("policies") or {}).get(config) or {}
    mix = p.get("mix") or {}
    if p.get("rules") != n or sum(mix.values()) != n or set(mix) != {"connect/send", "file", "exec"}:
        errors.append("policy of %s: %r rules, mix %r; want %d" % (config, p.get("rules"), mix, n))
    if not p.get("mechanisms"):
        errors.append("policy of %s: no mechanisms from agenttrail check" % config)
runs = doc.get("enforce_outside_tracer") or []
if not runs or any((r.get("enforce") or {}).get("violations") != 0 or
                   (r.get("enforce") or {}).get("rules") != 256 for r in runs):
    errors.append("enforce_outside_tracer: %r" % [r.get("enforce") for r in runs])

skipped = doc.get("skipped_configs") or {}
for config, why in skipped.items():
    if config not in PEERS or not why:
        errors.append("configuration %s skipped without a reason, or not a peer" % config)
    else:
        print("bench smoke: note: %s was skipped: %s" % (config, why))

report = open(sys.argv[2]).read()
for heading in ("## Event-rate stress", "## Paired measurements", "## Summary"):
    if heading not in report:
        errors.append("no %r in the report" % heading)

for wl in WORKLOADS:
    w = doc.get("workloads", {}).get(wl)
    if w is None:
        errors.append("workload %s missing" % wl)
        continue
    if not isinstance(w.get("n"), int) or w["n"] <= 0:
        errors.append("%s: bad n" % wl)
    if "## %s " % wl not in report:
        errors.append("%s: no table in the report" % wl)
    for config in CONFIGS:
        where = "%s/%s" % (wl, config)
        c = w.get("configs", {}).get(config)
        if c is None:
            if config not in skipped and wl in ONLY.get(config, [wl]):
                errors.append(where + ": missing")
            continue
        for key in ("median_ns_per_op", "ratio_to_bare", "added_ns_per_op",
                    "samples_ns_per_op"):
            if key not in c:
                errors.append("%s: key %s missing" % (where, key))
        samples = c.get("samples_ns_per_op") or []
        if len(samples) != w.get("rounds"):
            errors.append("%s: %d samples for %s rounds" % (where, len(samples), w.get("rounds")))
        if not all(isinstance(s, (int, float)) and s > 0 for s in samples):
            errors.append("%s: a sample is not > 0: %r" % (where, samples))
        median = c.get("median_ns_per_op")
        if not isinstance(median, (int, float)) or median <= 0:
            errors.append("%s: median %r is not > 0" % (where, median))
        if "| %s" % config not in report:
            errors.append("%s: no row in the report" % where)
        wcpu = c.get("workload_cpu_s") or []
        if len(wcpu) != len(samples) or not all(isinstance(x, (int, float)) and x >= 0
                                                for x in wcpu):
            errors.append("%s: workload_cpu_s %r, want a number per sample" % (where, wcpu))
        if config == "bare":
            continue
        # --bpf-stats: the programs' time in every recorded sample, and the
        # accounted ratio from it
        if config in ("in-session", "in-session-db"):
            bpf = c.get("bpf_s") or []
            if len(bpf) != len(samples) or not all(isinstance(x, (int, float)) and x > 0 for x in bpf):
                errors.append("%s: bpf_s %r, want > 0 in every sample" % (where, bpf))
            if not isinstance(c.get("accounted_ratio"), (int, float)) or c["accounted_ratio"] < 1:
                errors.append("%s: accounted_ratio %r" % (where, c.get("accounted_ratio")))
            until = c.get("accounted_ratio_until_end")
            if not isinstance(until, (int, float)) or not 1 <= until <= c.get("accounted_ratio", 0):
                errors.append("%s: accounted_ratio_until_end %r, want 1 .. accounted_ratio"
                              % (where, until))
        # the observer's own CPU time and peak RSS, in every sample
        for o in c.get("observer") or [None]:
            if not isinstance(o, dict):
                errors.append("%s: no observer measurements" % where)
                continue
            if not isinstance(o.get("cpu_s"), (int, float)) or o["cpu_s"] < 0:
                errors.append("%s: observer cpu_s %r" % (where, o.get("cpu_s")))
            if not isinstance(o.get("peak_rss_kib"), int) or o["peak_rss_kib"] <= 0:
                errors.append("%s: observer peak_rss_kib %r" % (where, o.get("peak_rss_kib")))
        if config in SESSION:
            rec = c.get("events_recorded") or []
            if len(rec) != len(samples) or not all(isinstance(r, int) and r > 0 for r in rec):
                errors.append("%s: events recorded %r, want > 0 in every run" % (where, rec))
            if not isinstance(c.get("median_events_recorded"), (int, float)):
                errors.append("%s: median_events_recorded missing" % where)
            if not isinstance(c.get("max_events_lost"), int):
                errors.append("%s: max_events_lost missing" % where)
            for o in c.get("observer") or []:
                if o.get("method") != "ptrace-exit":
                    errors.append("%s: agenttrail measured by %r, not at its exit" % (where, o.get("method")))
                if not isinstance((o.get("total") or {}).get("cpu_s"), (int, float)):
                    errors.append("%s: no total CPU" % where)
                # agenttrail's own microsecond figures, not /proc's ticks
                if o.get("cpu_from") != "--stats" or o.get("startup_from") != "--ready-file":
                    errors.append("%s: CPU from %r, start-up from %r" % (
                        where, o.get("cpu_from"), o.get("startup_from")))
        if config in ENFORCE:
            n = ENFORCE[config]
            if c.get("policy_rules") != n:
                errors.append("%s: policy_rules %r" % (where, c.get("policy_rules")))
            if c.get("rules_enforced") != [n] * len(samples):
                errors.append("%s: rules enforced %r, want %d in every run"
                              % (where, c.get("rules_enforced"), n))
            if c.get("violations") != [0] * len(samples):
                errors.append("%s: violations %r, want 0 in every run" % (where, c.get("violations")))
            if "%s: %d rules enforced, 0 violations" % (config, n) not in report:
                errors.append("%s: no enforcement line in the report" % where)
        if config in PEERS:
            lost = c.get("peer_lost") or []
            if len(lost) != len(samples) or not all(isinstance(x, int) and x >= 0 for x in lost):
                errors.append("%s: peer_lost %r" % (where, lost))

st = doc.get("stress") or {}
runs = st.get("runs") or []
rates = st.get("rates") or []
if not rates:
    errors.append("stress: no rates")
for rate in rates:
    for store in ("no-db", "db"):
        r = [x for x in runs if x.get("target_rate") == rate and x.get("store") == store]
        where = "stress %s %d/s" % (store, rate)
        if len(r) != 1:
            errors.append(where + ": %d runs" % len(r))
            continue
        r = r[0]
        if not (isinstance(r.get("generated"), int) and r["generated"] > 0):
            errors.append(where + ": generated %r" % r.get("generated"))
        if not (isinstance(r.get("recorded_open"), int) and r["recorded_open"] > 0):
            errors.append(where + ": recorded_open %r" % r.get("recorded_open"))
        if not isinstance(r.get("lost_by_kind"), dict) or not isinstance(r.get("lost"), int):
            errors.append(where + ": losses missing")
        if r.get("lost") == 0 and r.get("recorded_open", 0) < r.get("generated", 0):
            errors.append(where + ": %d generated, %d recorded, none lost"
                          % (r["generated"], r["recorded_open"]))
        if not isinstance((r.get("observer") or {}).get("cpu_s"), (int, float)):
            errors.append(where + ": no agenttrail CPU")
# the paired measurements: every workload both ways, with a null control;
# the session's own check (all of Y's opens recorded, none of X's or Z's)
# already failed the run if it did not hold
p = doc.get("paired") or {}
for kind, parts in (("in_session", ("bare_ns", "added", "null")),
                    ("outside", ("bare_ns", "loaded_ns", "added", "floor", "beyond_floor", "null"))):
    for wl in ("open", "stat"):
        r = (p.get(kind) or {}).get(wl) or {}
        where = "paired %s %s" % (kind, wl)
        for part in parts:
            s = r.get(part) or {}
            if not isinstance(s.get("median_ns"), (int, float)) or len(s.get("quartiles_ns") or []) != 3:
                errors.append(where + ": %s %r" % (part, s))
        if not (isinstance(r.get("rounds"), int) and r["rounds"] > 0):
            errors.append(where + ": rounds %r" % r.get("rounds"))
        # the held programs: at least the syscall-exit dispatcher
        if kind == "outside" and not (isinstance(r.get("programs"), int) and r["programs"] > 0):
            errors.append(where + ": programs held %r" % r.get("programs"))
        if (r.get("bare_ns") or {}).get("median_ns", 0) <= 0:
            errors.append(where + ": bare time %r" % r.get("bare_ns"))
        if kind == "in_session" and (r.get("lost") != 0 or not r.get("recorded")):
            errors.append(where + ": recorded %r lost %r" % (r.get("recorded"), r.get("lost")))
if doc.get("quick_config_workloads") != ONLY:
    errors.append("quick_config_workloads %r, want %r" % (doc.get("quick_config_workloads"), ONLY))
if set(st.get("highest_zero_drop") or {}) != {"no-db", "db"}:
    errors.append("stress: highest_zero_drop %r" % st.get("highest_zero_drop"))

for e in errors:
    print("bench smoke: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

# --pool: the quick run's one round per configuration, given twice, is every
# non-bare configuration with two rounds of the same ratio.
if ! "$here/run" --pool "$tmp/results.json" "$tmp/results.json" --json "$tmp/pool.json" \
	>"$tmp/pool.md" 2>"$tmp/pool.err"; then
	cat "$tmp/pool.err" >&2
	result fail "bench/run --pool exited non-zero"
fi
/usr/bin/python3 - "$tmp/results.json" "$tmp/pool.json" <<'EOF' || result fail "pool check"
import json
import sys

doc, pooled = (json.load(open(p)) for p in sys.argv[1:3])
want = {(wl, c): cfg["round_ratios"][0] for wl, w in doc["workloads"].items()
        for c, cfg in w["configs"].items() if c != "bare" and cfg.get("round_ratios")}
got = {(r["workload"], r["config"]): r for r in pooled["pooled"]}
errors = []
if set(got) != set(want):
    errors.append("pooled pairs %s, want %s" % (sorted(got), sorted(want)))
for key, ratio in want.items():
    r = got.get(key) or {}
    if (r.get("runs"), r.get("rounds")) != (2, 2) or r.get("median") != round(ratio, 4) \
            or r.get("ci95") != [round(ratio, 4)] * 2:
        errors.append("pooled %s: %r, want 2 runs of 2 rounds at %s" % (key, r, ratio))
for e in errors:
    print("bench smoke: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

# An interrupted run keeps the rounds it finished: SIGTERM once the third
# round has begun, then the JSON must hold whole rounds only, and say so.
"$here/run" --workloads open --configs bare,in-session --rounds 30 --n open=2000 --settle 5 \
	--json "$tmp/cut.json" >"$tmp/cut.md" 2>"$tmp/cut.err" &
cut=$!
for _ in $(seq 1 600); do
	grep -q '^\[round 3/' "$tmp/cut.err" && break
	kill -0 "$cut" 2>/dev/null || break
	sleep 0.1
done
kill -TERM "$cut"
wait "$cut"
rc=$?
if [ "$rc" != 130 ]; then
	cat "$tmp/cut.err" >&2
	result fail "an interrupted bench/run exited $rc, not 130"
fi
/usr/bin/python3 - "$tmp/cut.json" <<'EOF' || result fail "interrupted run check"
import json
import sys

doc = json.load(open(sys.argv[1]))
cut = doc.get("interrupted") or {}
done = (cut.get("rounds_done") or {}).get("open")
errors = []
if not isinstance(done, int) or not 2 <= done < 30 or cut.get("rounds_planned") != {"open": 30}:
    errors.append("interrupted %r" % cut)
else:
    for c in ("bare", "in-session"):
        cfg = doc["workloads"]["open"]["configs"][c]
        if len(cfg["samples_ns_per_op"]) != done:
            errors.append("%s: %d samples after %d rounds" % (c, len(cfg["samples_ns_per_op"]), done))
    if len(doc["workloads"]["open"]["configs"]["in-session"]["round_ratios"]) != done:
        errors.append("round ratios of other than %d rounds" % done)
    if doc.get("rounds") != done or not any("interrupted" in w for w in doc.get("warnings", [])):
        errors.append("rounds %r, warnings %r" % (doc.get("rounds"), doc.get("warnings")))
for e in errors:
    print("bench smoke: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

result ok
