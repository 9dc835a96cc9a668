"""Derived views of a study's raw data (runs.jsonl, cells.jsonl,
study.json): capacity per cell and repetition, latency at fixed fractions,
the producer calibration, comparisons with intervals, ANOVA with residual
checks. Only valid runs enter a summary; invalid ones are counted."""
import json
import math

import pandas as pd

from benchlib import stats
from benchlib.record import flat


# Every role a run may report CPU for; raft's followers are "replicas".
ROLES = ("orderer", "broker", "replicas", "peers")


def frames(runs, cells):
    """(runs DataFrame, flattened; cells DataFrame)."""
    rdf = pd.DataFrame([flat(r) for r in runs]) if runs else pd.DataFrame()
    cdf = pd.DataFrame(cells) if cells else pd.DataFrame()
    return rdf, cdf


def valid(rdf, kind=None):
    if rdf.empty:
        return rdf
    d = rdf[rdf["valid"].fillna(False).astype(bool)]
    if kind:
        d = d[d["kind"] == kind]
    return d


def integrity(rdf, cdf):
    """Counts for the report: runs by kind, invalid ones with reasons,
    generator-bound runs, warm-ups that never became steady, cells whose
    chain did not verify."""
    out = {"runs": len(rdf), "by_kind": {}, "invalid": [], "generator_bound": 0, "held_back": 0, "not_steady": 0,
           "cells": len(cdf), "cells_unverified": []}
    if rdf.empty:
        return out
    out["by_kind"] = rdf.groupby("kind").size().to_dict()
    bad = rdf[~rdf["valid"].fillna(False).astype(bool)]
    out["invalid"] = [(r["run_id"], r["cell"], r["kind"], r.get("invalid_reason")) for _, r in bad.iterrows()]
    out["generator_bound"] = int(rdf["generator_bound"].fillna(False).astype(bool).sum())
    if "held_back" in rdf:
        out["held_back"] = int(rdf["held_back"].fillna(False).astype(bool).sum())
    m = rdf["kind"].isin(["step", "fraction", "raw"])
    out["not_steady"] = int((rdf[m]["steady"] == False).sum())  # noqa: E712 (None is not False)
    if not cdf.empty and "ledger_verified" in cdf:
        out["cells_unverified"] = [(r["cell"], r["repetition"], r.get("ledger_message"))
                                   for _, r in cdf[cdf["ledger_verified"] == False].iterrows()]  # noqa: E712
    return out


def capacities(cdf):
    """Per (cell, repetition): the capacity found, usable for claims only
    when the chain verified and the generator did not bound the search."""
    if cdf.empty:
        return cdf
    d = cdf.copy()
    verified = d["ledger_verified"] == True  # noqa: E712 (None is not True)
    d["usable"] = d["capacity"].notna() & verified & ~d["generator_limited"].fillna(False)
    return d


def same_work(meta, rdf, caps):
    """Per cell and repetition: the capacity found and the CPU per
    transaction of each role at the search's first step, which offers the
    same rate in every repetition. The same work costing more in one
    repetition is the machine (or a warm-up), not the configuration: it
    shows drift a mean over repetitions hides. [] without capacity steps."""
    start = (meta.get("capacity") or {}).get("start_rate")
    steps = valid(rdf, "step")
    if not start or steps.empty or caps is None or caps.empty:
        return []
    first = steps[(steps["offered_tps"] - float(start)).abs() < 0.5]
    rows = []
    for name in cell_order(meta):
        for _, c in caps[caps["cell"] == name].sort_values("repetition").iterrows():
            f = first[(first["cell"] == name) & (first["repetition"] == c["repetition"])]
            row = {"cell": name, "repetition": int(c["repetition"]), "capacity": c["capacity"],
                   "usable": bool(c["usable"]), "rate": float(start)}
            for role in ROLES:
                col = f"cpu.{role}.us_per_tx"
                row[f"{role}_us_per_tx"] = float(f[col].iloc[0]) if col in f and len(f) and pd.notna(f[col].iloc[0]) \
                    else math.nan
            rows.append(row)
    return rows


def cell_order(meta):
    return [c["name"] for c in meta["cells"]]


def reference_cell(meta):
    """The cell others are compared with: the sweep's base, else a cell
    named baseline, else the first."""
    names = cell_order(meta)
    if meta.get("base") in names:
        return meta["base"]
    for n in names:
        if n.startswith("baseline") or n == "b16384-l0-cnone":
            return n
    return names[0] if names else None


def capacity_table(meta, caps, rdf):
    """A row per cell: capacity (mean, CI, median, min, max, n), with and
    without outliers; the bracket; the bottleneck at the first failing step;
    the raw producer; efficiency; CPU per tx per role at the highest
    sustained step."""
    rows = []
    steps = valid(rdf, "step")
    raw = valid(rdf, "raw")
    for name in cell_order(meta):
        g = caps[(caps["cell"] == name) & caps["usable"]] if not caps.empty else caps
        vals = list(g["capacity"]) if not g.empty else []
        flags = stats.outliers(vals)
        kept = stats.without_outliers(vals, flags)
        row = {"cell": name, "n": len(vals), "values": vals, "outliers": sum(flags)}
        row["mean"], row["ci"] = stats.ci95(vals)
        row["mean_wo"], row["ci_wo"] = stats.ci95(kept)
        row["median"] = float(pd.Series(vals).median()) if vals else math.nan
        row["min"] = min(vals) if vals else math.nan
        row["max"] = max(vals) if vals else math.nan
        allc = caps[caps["cell"] == name] if not caps.empty else caps
        row["unusable"] = int((~allc["usable"]).sum()) if not allc.empty else 0
        row["generator_limited"] = int(allc["generator_limited"].fillna(False).sum()) if not allc.empty else 0
        brackets = allc["bracket_ratio"].dropna() if not allc.empty else allc
        row["bracket"] = float(brackets.median()) if len(brackets) else math.nan
        row["steps"] = float(allc["steps"].map(len).mean()) if not allc.empty else math.nan
        # The step just above capacity in each search: which CPU set was busiest there.
        fails, at_cap = [], []
        for _, c in allc.iterrows():
            for s in c["steps"]:
                r = steps[steps["run_id"] == s["run_id"]]
                if r.empty:
                    continue
                if c.get("failing_above") is not None and s["rate"] == c["failing_above"]:
                    fails.append(r.iloc[0])
                if c.get("capacity") is not None and s["rate"] == c["capacity"]:
                    at_cap.append(r.iloc[0])
        row["bottleneck"] = _mode([f["bottleneck"] for f in fails if isinstance(f.get("bottleneck"), str)])
        row["bottleneck_util"] = _mean([f.get("bottleneck_util") for f in fails])
        for role in ROLES:
            row[f"{role}_us_per_tx"] = _mean([f.get(f"cpu.{role}.us_per_tx") for f in at_cap])
            row[f"{role}_util"] = _mean([f.get(f"cpu.{role}.util") for f in at_cap])
        rr = raw[raw["cell"] == name] if not raw.empty else raw
        rr = rr[rr.get("tool", pd.Series(dtype=str)) == "peer-sim --raw"] if not rr.empty else rr
        rr = rr[rr["search"].notna()] if not rr.empty else rr  # per-cell raw runs, not calibration
        row["raw"], row["raw_ci"] = stats.ci95(rr["acked_tps"]) if not rr.empty else (math.nan, math.nan)
        row["raw_values"] = list(rr["acked_tps"]) if not rr.empty else []
        rows.append(row)
    return rows


def recovery_table(meta, rdf):
    """Per cell with recovery runs: n valid, and mean ± t-interval of the
    time to the first block after the silence that follows the kill, of
    the time to full rate, and of the transactions lost."""
    if rdf.empty or "kind" not in rdf or not (rdf["kind"] == "recovery").any():
        return []
    rows = []
    rec = rdf[rdf["kind"] == "recovery"]
    for name in cell_order(meta):
        allr = rec[rec["cell"] == name]
        if allr.empty:
            continue
        ok = allr[allr["valid"].fillna(False).astype(bool)]
        lost = (ok["undelivered_acked"].fillna(0) + ok["never_acked"].fillna(0)) if not ok.empty else ok
        row = {"cell": name, "n": len(ok), "invalid": len(allr) - len(ok),
               "killed": _mode([k for k in allr.get("killed", pd.Series(dtype=str)) if isinstance(k, str)])}
        for key in ("recovery_ms", "full_rate_ms", "first_block_ms", "new_leader_ms"):
            vals = ok[key].dropna() if not ok.empty and key in ok else pd.Series(dtype=float)
            row[key], row[key + "_ci"] = stats.ci95(vals) if len(vals) else (math.nan, math.nan)
            row[key + "_values"] = list(vals)
        row["lost"], row["lost_ci"] = stats.ci95(lost) if len(lost) else (math.nan, math.nan)
        acked_lost = ok["undelivered_acked"].fillna(0) if not ok.empty else ok
        row["acked_lost"], row["acked_lost_ci"] = stats.ci95(acked_lost) if len(acked_lost) else (math.nan, math.nan)
        row["offered"] = _mean(list(ok["offered_tps"])) if not ok.empty else math.nan
        rows.append(row)
    return rows


def _mode(xs):
    """The most frequent value; of a tie, the first in sorted order (so a
    report rebuilds the same whatever the interpreter's hash seed)."""
    xs = [x for x in xs if x]
    return max(sorted(set(xs)), key=xs.count) if xs else None


def _mean(xs):
    v = [float(x) for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return sum(v) / len(v) if v else math.nan


LAT_METRICS = ("p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")
ACK_METRICS = ("ack_p50_ms", "ack_p99_ms")


def latency_runs(rdf, by, cdf=None):
    """The open-loop latency runs: by fraction of capacity (fraction runs,
    and the run that established each capacity, a confirmation or a step as
    long as a latency window, as 100%), or by fixed rate."""
    if by == "rate":
        return valid(rdf, "rate")
    fr = valid(rdf, "fraction")
    conf = valid(rdf)
    at_capacity = set(cdf["capacity_run"].dropna()) if cdf is not None and "capacity_run" in cdf else set()
    conf = conf[conf["run_id"].isin(at_capacity)].assign(fraction=1.0) if not conf.empty else conf
    return fr if conf.empty else (conf if fr.empty else pd.concat([fr, conf]))


def latency_table(meta, rdf, by="fraction", cdf=None):
    """A row per (cell, fraction of capacity) or (cell, fixed rate): offered
    rate, latency percentiles (mean and t-interval, and the geometric
    interval for log plots), undelivered share, n."""
    fr = latency_runs(rdf, by, cdf)
    rows = []
    if fr.empty:
        return rows
    key = "fraction" if by == "fraction" else "offered_tps"
    for name in cell_order(meta):
        g = fr[fr["cell"] == name]
        for f, gg in g.groupby(key):
            row = {"cell": name, "fraction": float(f) if by == "fraction" else None, "n": len(gg),
                   "rate": float(f) if by == "rate" else None}
            row["offered"], row["offered_ci"] = stats.ci95(gg["offered_tps"])
            for m in LAT_METRICS:
                row[m], row[m + "_ci"] = stats.ci95(gg[m])
                row[m + "_geo"] = stats.geo_ci95(gg[m])
                row[m + "_values"] = list(gg[m])
            flags = stats.outliers(row["p99_ms_values"])
            row["p99_outliers"] = sum(flags)
            row["p99_ms_wo"], row["p99_ms_wo_ci"] = stats.ci95(stats.without_outliers(row["p99_ms_values"], flags))
            row["undelivered"], _ = stats.ci95(gg["undelivered_share"])
            # The answer's latency (the broker's ack on the direct path, Broadcast's SUCCESS through the orderer).
            for m in ACK_METRICS:
                vals = [float(x) for x in gg.get(m, []) if pd.notna(x)]
                row[m], row[m + "_ci"] = stats.ci95(vals) if vals else (math.nan, math.nan)
                row[m + "_values"] = vals
            batch = [float(x) for x in gg.get("batch_records", []) if pd.notna(x)]
            row["batch_records"] = stats.ci95(batch)[0] if batch else math.nan
            row["txs_per_block"], _ = stats.ci95(gg["txs_per_block"])
            for role in ROLES:
                us = [float(x) for x in gg.get(f"cpu.{role}.us_per_tx", []) if pd.notna(x)]
                row[f"{role}_us_per_tx"], row[f"{role}_us_per_tx_ci"] = stats.ci95(us) if us else (math.nan, math.nan)
                row[f"{role}_us_per_tx_values"] = us
            row["generator_bound"] = int(gg["generator_bound"].fillna(False).astype(bool).sum())
            util = [float(x) for x in gg.get("bottleneck_util", []) if pd.notna(x)]
            row["busiest_util"], row["busiest_util_ci"] = stats.ci95(util) if util else (math.nan, math.nan)
            rows.append(row)
    return rows


def calibration_table(meta, rdf):
    """Per calibrated cell: ProducerPerformance and peer-sim --raw (one
    producer) msg/s, mean and t-interval, the ratio raw / PP with its
    bootstrap interval, and each tool's CPU per message."""
    if rdf.empty or "tool" not in rdf:
        return []
    cal = rdf[rdf["criteria.calibration"] == True] if "criteria.calibration" in rdf else rdf.iloc[0:0]  # noqa: E712
    rows = []
    for name in dict.fromkeys(cal["cell"]):
        g = cal[cal["cell"] == name]
        pp = g[(g["tool"] == "ProducerPerformance") & g["valid"].astype(bool)]
        raw = g[(g["tool"] == "peer-sim --raw") & g["valid"].astype(bool)]
        row = {"cell": name, "n_pp": len(pp), "n_raw": len(raw),
               "invalid": int((~g["valid"].astype(bool)).sum())}
        row["pp"], row["pp_ci"] = stats.ci95(pp["records_per_s"])
        row["raw"], row["raw_ci"] = stats.ci95(raw["records_per_s"])
        row["ratio"], row["lo"], row["hi"] = stats.bootstrap_ratio(raw["records_per_s"], pp["records_per_s"])
        row["pp_values"], row["raw_values"] = list(pp["records_per_s"]), list(raw["records_per_s"])
        row["pp_us_per_msg"] = _mean(list(pp.get("cpu.peers.us_per_tx", [])))
        row["raw_us_per_msg"] = _mean(list(raw.get("cpu.peers.us_per_tx", [])))
        row["pp_p99_ms"], _ = stats.ci95(pp["pp_p99_ms"])
        row["raw_p99_ms"], _ = stats.ci95(raw["p99_ms"])
        unmapped = set()
        for u in pp.get("criteria.unmapped_properties", []):
            if isinstance(u, str):
                unmapped |= set(json.loads(u))
        row["unmapped"] = sorted(unmapped)
        rows.append(row)
    return rows


def drift(calibration):
    """Machine micro-benchmark at the start and end: (metric, start, end,
    end/start) rows."""
    m = calibration.get("machine", []) if calibration else []
    start = next((x for x in m if x.get("when") == "start"), None)
    end = next((x for x in reversed(m) if x.get("when") == "end"), None)
    rows = []
    for k, name in (("ecdsa_p256_sign_per_s", "ECDSA P-256 signs/s"),
                    ("ecdsa_p256_verify_per_s", "ECDSA P-256 verifies/s"),
                    ("sha256_1kb_per_s", "SHA-256 of 1 KB /s")):
        s = start.get(k, {}).get("median") if start else None
        e = end.get(k, {}).get("median") if end else None
        rows.append((name, s, e, (e / s) if s and e else None))
    return rows
