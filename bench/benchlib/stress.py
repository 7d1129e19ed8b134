"""The event-rate stress: open() events generated in a session at increasing
rates, with and without the store; per rate, what was recorded and lost."""

import os
import re

from .common import fail, log
from .procs import foreign_agenttrails, wait_until_alone
from .sample import parse_stats, remove_db, run_recorded

STRESS_RATES = [25000, 50000, 100000, 200000, 400000]
STRESS_SECONDS = 60.0
QUICK_STRESS_RATES = [20000, 200000]
QUICK_STRESS_SECONDS = 1.0

OPS_RE = re.compile(r"^ops=(\d+) seconds=([0-9.]+) rate=([0-9.]+)$", re.M)


def run_stress(args, agenttrail, loops, tmpdir, ready_file, own_pids):
    rates = args.stress_rates
    seconds = args.stress_seconds
    stores = ["no-db", "db"]
    runs = []
    for rate in rates:
        for store in stores:
            before, waited = wait_until_alone(own_pids(), args.settle)
            cmd = [agenttrail, "record"]
            cmd += ["--db", os.path.join(tmpdir, "session.db")] if store == "db" else ["--no-db"]
            if ready_file:
                cmd += ["--ready-file", ready_file]
            cmd += ["--quiet", "--stats", "--", loops, "rate", str(rate), "%g" % seconds]
            stdout, stderr, wall, obs = run_recorded(cmd, tmpdir, ready_file, args.settle)
            after = foreign_agenttrails(own_pids(), marker=tmpdir)
            db_bytes = remove_db(tmpdir) if store == "db" else None
            m = OPS_RE.search(stdout)
            if not m:
                fail("loops rate printed no ops= line:\n" + stdout)
            stats = parse_stats(stderr)
            if stats is None:
                fail("agenttrail --stats printed no summary:\n" + stderr[-2000:])
            lost_by_kind = {k: v["lost"] for k, v in stats["kinds"].items() if v["lost"]}
            lost_by_kind.update({k: v for k, v in stats["losses"].items() if v})
            r = {
                "store": store, "target_rate": rate, "seconds": float(m.group(2)),
                "generated": int(m.group(1)), "achieved_rate": float(m.group(3)),
                "recorded": stats["recorded"], "lost": stats["lost"],
                "recorded_open": stats["kinds"].get("open", {}).get("recorded", 0),
                "lost_open": stats["kinds"].get("open", {}).get("lost", 0),
                "lost_by_kind": lost_by_kind, "kinds": stats["kinds"], "losses": stats["losses"],
                "wall_s": round(wall, 3), "observer": obs, "db_bytes": db_bytes,
                "flagged": bool(before or after), "settle_wait_s": round(waited, 2),
            }
            # the generator runs flat out when it cannot keep up
            r["reached"] = r["achieved_rate"] >= 0.95 * rate
            runs.append(r)
            log("[stress] %-5s %7d/s target, %8.0f/s achieved: %d generated, %d open recorded, "
                "%d lost%s" % (store, rate, r["achieved_rate"], r["generated"], r["recorded_open"],
                              r["lost"], "  FLAGGED" if r["flagged"] else ""))
    best = {}
    for store in stores:
        ok = [r for r in runs
              if r["store"] == store and r["lost"] == 0 and r["reached"] and not r["flagged"]]
        best[store] = max(ok, key=lambda r: r["target_rate"]) if ok else None
        if best[store]:
            best[store] = {"target_rate": best[store]["target_rate"],
                           "achieved_rate": best[store]["achieved_rate"]}
    return {"seconds": seconds, "rates": rates, "runs": runs, "highest_zero_drop": best}
