#!/bin/bash
# bench/smoke.sh - checks that the benchmark harness works, not how fast
# anything is: runs `bench/run --quick` and checks that every configuration
# produced a positive ns/op for every workload, that the JSON has every key,
# and that the in-session runs recorded events.  Never asserts a time.
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

if ! "$here/run" --quick --json "$tmp/results.json" >"$tmp/report.md" 2>"$tmp/run.err"; then
	cat "$tmp/report.md" "$tmp/run.err" >&2
	result fail "bench/run --quick exited non-zero"
fi
cat "$tmp/report.md"

/usr/bin/python3 - "$tmp/results.json" "$tmp/report.md" <<'EOF' || result fail "results check"
import json
import sys

WORKLOADS = ["open", "stat", "forkexec", "connect"]
CONFIGS = ["bare", "in-session", "in-session-db", "outside"]
SESSION = ["in-session", "in-session-db"]
errors = []

try:
    with open(sys.argv[1]) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    sys.exit("cannot read the JSON: %s" % e)

for key in ("date", "machine", "agenttrail", "rounds", "workloads"):
    if key not in doc:
        errors.append("top-level key %r missing" % key)
for key in ("nproc", "kernel", "cpu"):
    if key not in doc.get("machine", {}):
        errors.append("machine.%s missing" % key)

report = open(sys.argv[2]).read()
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
        c = w.get("configs", {}).get(config)
        where = "%s/%s" % (wl, config)
        if c is None:
            errors.append(where + ": missing")
            continue
        for key in ("median_ns_per_op", "ratio_to_bare", "added_ns_per_op",
                    "samples_ns_per_op"):
            if key not in c:
                errors.append("%s: key %s missing" % (where, key))
        samples = c.get("samples_ns_per_op") or []
        if len(samples) != doc.get("rounds"):
            errors.append("%s: %d samples for %s rounds" % (where, len(samples), doc.get("rounds")))
        if not all(isinstance(s, (int, float)) and s > 0 for s in samples):
            errors.append("%s: a sample is not > 0: %r" % (where, samples))
        median = c.get("median_ns_per_op")
        if not isinstance(median, (int, float)) or median <= 0:
            errors.append("%s: median %r is not > 0" % (where, median))
        if "| %s" % config not in report:
            errors.append("%s: no row in the report" % where)
        if config in SESSION:
            rec = c.get("events_recorded") or []
            if len(rec) != len(samples) or not all(isinstance(r, int) and r > 0 for r in rec):
                errors.append("%s: events recorded %r, want > 0 in every run" % (where, rec))
            if not isinstance(c.get("median_events_recorded"), (int, float)):
                errors.append("%s: median_events_recorded missing" % where)
            if not isinstance(c.get("max_events_lost"), int):
                errors.append("%s: max_events_lost missing" % where)

for e in errors:
    print("bench smoke: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

result ok
