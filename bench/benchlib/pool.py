"""`bench/run --pool FILE...`: the per-round ratios of several runs'
JSON files taken together. One run's dozen rounds leave the wall-clock
ratio of a long workload (the build) an interval of several percent on
this kind of machine; the rounds of several runs pooled narrow it, and
pooling them by hand is error-prone. Runs nothing."""

import json
import statistics

from .stats import median_ci95


def load(paths):
    """[(path, doc)] of the JSON files, or raises ValueError naming the
    file that is not a bench/run result."""
    docs = []
    for path in paths:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError("cannot read %s: %s" % (path, e))
        if not isinstance(doc, dict) or not isinstance(doc.get("workloads"), dict):
            raise ValueError("%s: not the JSON of a bench/run with workloads" % path)
        docs.append((path, doc))
    return docs


def gather(docs):
    """{(workload, config): {"runs": [(path, rounds)], "ratios": [...]}} over
    every run that has per-round ratios for the pair. A configuration of a
    --baseline run (config@base) is its own entry: the binary differs."""
    pooled = {}
    for path, doc in docs:
        for wl, w in doc["workloads"].items():
            for config, c in (w.get("configs") or {}).items():
                rr = c.get("round_ratios")
                if config == "bare" or not rr:
                    continue
                p = pooled.setdefault((wl, config), {"runs": [], "ratios": []})
                p["runs"].append((path, len(rr)))
                p["ratios"].extend(rr)
    return pooled


def pool_rows(pooled):
    """JSON-ready rows, one per (workload, configuration)."""
    rows = []
    for (wl, config), p in sorted(pooled.items()):
        rr = p["ratios"]
        rows.append({
            "workload": wl, "config": config, "runs": len(p["runs"]), "rounds": len(rr),
            "median": round(statistics.median(rr), 4),
            "geometric_mean": round(statistics.geometric_mean(rr), 4),
            "ci95": median_ci95(rr, 4),
            "below_1": sum(1 for x in rr if x < 1),
        })
    return rows


def report(docs, rows):
    """The Markdown: which runs, then one row per (workload, configuration)."""
    L = ["# Per-round ratios to bare, pooled over %d run(s)" % len(docs), ""]
    for path, doc in docs:
        git = (doc.get("agenttrail") or {}).get("git", "?")
        base = " (baseline sha256 %s)" % doc["baseline"]["sha256"][:12] if doc.get("baseline") else ""
        cut = " (interrupted)" if doc.get("interrupted") else ""
        L.append("- %s: %s, git %s%s%s" % (path, doc.get("date", "?"), git, base, cut))
    L += ["",
          "| workload | configuration | runs | rounds | median | geometric mean "
          "| 95% CI of the median | rounds below bare |",
          "|---|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        L.append("| %s | %s | %d | %d | x%.3f | x%.3f | x%.3f .. x%.3f | %d |"
                 % (r["workload"], r["config"], r["runs"], r["rounds"], r["median"],
                    r["geometric_mean"], r["ci95"][0], r["ci95"][1], r["below_1"]))
    L += ["",
          "Each round's ratio is that round's sample over bare's sample of the same round "
          "(bench/README.md); pooling puts the rounds of every run in one list. Runs of "
          "different binaries pool only as far as the binaries cost the same."]
    return "\n".join(L)
