"""From the samples to the numbers of the JSON: medians, ratios to bare,
events recorded and lost, the observers' CPU and RSS; and the warnings they
call for."""

import random
import statistics

from .configs import PEER_CONFIGS, POLICY_RULES, SESSION_CONFIGS
from .workloads import WL


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


BOOTSTRAP = 2000


def median_ci95(xs, places=1):
    """A 95% confidence interval of the median of xs: the 2.5th and 97.5th
    percentiles of the medians of BOOTSTRAP resamples (a fixed seed, so the
    same samples give the same interval)."""
    if len(xs) < 2:
        return [round(xs[0], places)] * 2 if xs else []
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(BOOTSTRAP))
    return [round(meds[int(0.025 * BOOTSTRAP)], places),
            round(meds[int(0.975 * BOOTSTRAP) - 1], places)]


def round_ratios(c, bare):
    """Each round's sample over bare's sample of the same round: the drift
    of the machine between rounds cancels out of these. Rounds where either
    sample overlapped another agenttrail are left out."""
    pairs = zip(c["samples"], bare["samples"])
    return [round(a["ns_per_op"] / b["ns_per_op"], 5) for a, b in pairs
            if not (a["flagged"] or b["flagged"]) and b["ns_per_op"] > 0]


def summarise(results, rounds_of, n_of, configs):
    """results[workload][config] = list of samples -> JSON-ready dict."""
    out = {}
    for wl, per_config in results.items():
        cs = {}
        for config in configs:
            samples = per_config[config]
            if not samples:
                continue
            clean = [s["ns_per_op"] for s in samples if not s["flagged"]]
            every = [s["ns_per_op"] for s in samples]
            c = {
                "samples_ns_per_op": every,
                "flagged_samples": len(every) - len(clean),
                # samples that overlapped another agenttrail are left out of
                # the median as long as clean ones remain
                "median_ns_per_op": statistics.median(clean or every),
                "median_over": "clean" if clean else "all",
                "min_ns_per_op": min(every),
                "max_ns_per_op": max(every),
                "wall_s": [s["wall_s"] for s in samples],
                "settle_wait_s": [s["settle_wait_s"] for s in samples],
                "workload_cpu_s": [s.get("workload_cpu_s") for s in samples],
            }
            c["median_workload_cpu_s"] = med(c["workload_cpu_s"])
            if config != "bare":
                obs = [s.get("observer") or {} for s in samples]
                c["observer"] = obs
                c["observer_cpu_s"] = [o.get("cpu_s") for o in obs]
                c["median_observer_cpu_s"] = med(c["observer_cpu_s"])
                c["observer_peak_rss_kib"] = [o.get("peak_rss_kib") for o in obs]
                c["median_observer_peak_rss_kib"] = med(c["observer_peak_rss_kib"])
            if config in SESSION_CONFIGS:
                stats = [s.get("stats") for s in samples]
                have = [st for st in stats if st]
                c["events_recorded"] = [st["recorded"] if st else None for st in stats]
                c["events_lost"] = [st["lost"] if st else None for st in stats]
                c["median_events_recorded"] = (statistics.median([st["recorded"] for st in have])
                                               if have else None)
                c["max_events_lost"] = max(st["lost"] for st in have) if have else None
                c["events_per_op"] = (round(c["median_events_recorded"] / n_of[wl], 3)
                                      if have else None)
                c["max_data_lost"] = (max(st["kinds"].get("data", {}).get("lost", 0)
                                          for st in have) if have else None)
                c["last_kinds"] = have[-1]["kinds"] if have else None
                c["last_losses"] = have[-1]["losses"] if have else None
                for key in ("startup", "total"):
                    c["median_%s_cpu_s" % key] = med([(o.get(key) or {}).get("cpu_s") for o in obs])
                c["median_teardown_cpu_s"] = med([o.get("teardown_cpu_s") for o in obs])
                c["median_teardown_s"] = med([o.get("teardown_s") for o in obs])
                c["bpf_s"] = [o.get("bpf_s") for o in obs]
                c["median_bpf_s"] = med(c["bpf_s"])
                c["median_cpu_until_end_s"] = med([o.get("cpu_until_end_s") for o in obs])
            if config in PEER_CONFIGS:
                c["peer_lost"] = [o.get("lost") for o in obs]
                c["max_peer_lost"] = max((x for x in c["peer_lost"] if x is not None), default=None)
            if config.startswith("in-session-db"):
                c["db_bytes"] = [s.get("db_bytes") for s in samples]
            if config in POLICY_RULES:
                found = [s.get("enforce") or {} for s in samples]
                c["policy_rules"] = POLICY_RULES[config]
                c["rules_enforced"] = [f.get("rules") for f in found]
                c["files_labelled"] = [f.get("files_labelled") for f in found]
                c["violations"] = [f.get("violations") for f in found]
            cs[config] = c
        bare = cs["bare"]["median_ns_per_op"] if "bare" in cs else None
        bare_cpu = cs["bare"]["median_workload_cpu_s"] if "bare" in cs else None
        for config, c in cs.items():
            # what agenttrail's capture and its programs cost, in CPU, over
            # the bare workload's own CPU: a figure the machine's noise
            # moves far less than the wall-clock ratio
            if (config != "bare" and bare_cpu and c.get("median_observer_cpu_s") is not None
                    and c.get("median_bpf_s") is not None):
                added = c["median_observer_cpu_s"] + c["median_bpf_s"]
                c["accounted_added_cpu_s"] = round(added, 4)
                c["accounted_ratio"] = round((bare_cpu + added) / bare_cpu, 4)
                if c.get("median_cpu_until_end_s") is not None:
                    during = c["median_cpu_until_end_s"] + c["median_bpf_s"]
                    c["accounted_ratio_until_end"] = round((bare_cpu + during) / bare_cpu, 4)
        for config, c in cs.items():
            c["ratio_to_bare"] = round(c["median_ns_per_op"] / bare, 4) if bare else None
            c["added_ns_per_op"] = (round(c["median_ns_per_op"] - bare, 1)
                                    if bare is not None else None)
            if bare and config != "bare":
                rr = round_ratios({"samples": per_config[config]}, {"samples": per_config["bare"]})
                c["round_ratios"] = rr
                c["round_ratio_median"] = round(statistics.median(rr), 4) if rr else None
                c["round_ratio_ci95"] = median_ci95(rr, 4)
        out[wl] = {"n": n_of[wl], "rounds": rounds_of[wl], "op": WL[wl]["op"], "configs": cs}
    return out


def sample_warnings(workloads, rounds_of):
    """The report's warnings about the samples of workloads (the JSON's
    "workloads"): samples that overlapped another agenttrail, and events
    agenttrail or a peer lost."""
    out = []
    for wl, w in workloads.items():
        for config, c in w["configs"].items():
            if c["flagged_samples"]:
                out.append("%s/%s: %d of %d samples overlapped another agenttrail"
                           % (wl, config, c["flagged_samples"], rounds_of[wl]))
            if c.get("max_events_lost"):
                out.append("%s/%s: agenttrail lost up to %d events in the kernel"
                           % (wl, config, c["max_events_lost"]))
            if c.get("max_peer_lost"):
                out.append("%s/%s: the peer lost up to %d events"
                           % (wl, config, c["max_peer_lost"]))
    return out
