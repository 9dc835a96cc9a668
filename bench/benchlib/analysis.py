"""Derived views of a study's raw runs: configurations as (throughput, p99)
points and their Pareto front, latency distributions from each run's
peer-sim report, and the latency-vs-load curves. Plots go to PNG files."""
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchlib.stats import ci95  # noqa: E402
from benchlib.studies import SWEEP_BASELINE  # noqa: E402

LOADS = ("rate", "peak")


def _grid(n):
    """A figure of n panels, three to a row; returns (figure, flat list of
    axes), which may hold more axes than panels."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    return fig, list(axes.flat)


def save(fig, path, unused=()):
    """Hides the unused panels, writes the PNG and frees the figure."""
    for ax in unused:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def config_key(label):
    """'b16384-l0-none/rate' -> 'b16384-l0-none'; labels without a load
    suffix are their own key."""
    head, _, tail = label.rpartition("/")
    return head if head and tail in LOADS else label


def points(df):
    """One point per configuration: throughput flat out where the
    configuration has a peak run (else the run's own throughput) against p99
    latency at the fixed rate where it has a rate run (else its own p99).
    Returns dicts with key, tps, tps_ci, p99, p99_ci, rate."""
    out = []
    keys = list(dict.fromkeys(config_key(x) for x in df["label"]))
    for key in keys:
        g = df[df["label"].map(config_key) == key]
        peak, rate = g[g["cfg_load"] == "peak"], g[g["cfg_load"] == "rate"]
        t = peak if not peak.empty else g
        l = rate if not rate.empty else g
        tps, tps_ci = ci95(t["tps"])
        p99, p99_ci = ci95(l["p99_ms"])
        out.append({"key": key, "tps": tps, "tps_ci": tps_ci, "p99": p99, "p99_ci": p99_ci,
                    "rate": int(l["cfg_rate"].iloc[0]) if not l.empty and "cfg_rate" in l else None,
                    "tx_size": int(g["cfg_tx_size"].iloc[0]) if "cfg_tx_size" in g and pd.notna(g["cfg_tx_size"].iloc[0])
                    else None,
                    "n": len(g)})
    return out


def comparable(pts):
    """Splits the points into those carrying the study's usual transaction
    size and the rest: transactions per second at different sizes are not
    the same work, so only the first are ranked against each other."""
    sizes = [p.get("tx_size") for p in pts if p.get("tx_size") is not None]
    if not sizes:
        return list(pts), []
    usual = max(sorted(set(sizes)), key=sizes.count)  # a tie goes to the smaller size
    same = [p for p in pts if p.get("tx_size") in (None, usual)]
    return same, [p for p in pts if p.get("tx_size") not in (None, usual)]


def pareto(pts):
    """The points no other point beats on both throughput (higher) and p99
    (lower), ordered by throughput; only points of the usual transaction
    size take part (see comparable)."""
    pts, _ = comparable(pts)
    front = []
    for p in pts:
        if any(math.isnan(p[k]) for k in ("tps", "p99")):
            continue
        dominated = any(q is not p and q["tps"] >= p["tps"] and q["p99"] <= p["p99"]
                        and (q["tps"] > p["tps"] or q["p99"] < p["p99"]) for q in pts)
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: p["tps"])


def plot_pareto(pts, path, title):
    front = pareto(pts)
    _, other = comparable(pts)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    on, off = {id(p) for p in front}, {id(p) for p in other}
    groups = (("dominated", "#999999", "o", False, lambda p: id(p) not in on and id(p) not in off),
              ("other transaction size (not ranked)", "#4c72b0", "s", True, lambda p: id(p) in off),
              ("Pareto-optimal", "#c44e52", "D", False, lambda p: id(p) in on))
    for label, color, marker, unranked, member in groups:
        sel = [p for p in pts if member(p)]
        if not sel:
            continue
        ax.errorbar([p["tps"] for p in sel], [p["p99"] for p in sel],
                    xerr=[0 if math.isnan(p["tps_ci"]) else p["tps_ci"] for p in sel],
                    yerr=[0 if math.isnan(p["p99_ci"]) else p["p99_ci"] for p in sel],
                    fmt=marker, color=color, ecolor=color, alpha=0.8, capsize=3, label=label)
        if unranked:  # the front is labelled below; these get their names too
            for p in sel:
                ax.annotate(p["key"], (p["tps"], p["p99"]), textcoords="offset points", xytext=(5, -10),
                            fontsize=7, color=color)
    if front:
        ax.plot([p["tps"] for p in front], [p["p99"] for p in front], "-", color="#c44e52", alpha=0.5)
        for p in front:
            ax.annotate(p["key"], (p["tps"], p["p99"]), textcoords="offset points", xytext=(5, 5), fontsize=7)
    ax.set_xlabel("throughput (tx/s; flat out where the configuration has a peak run)")
    ax.set_ylabel("p99 latency (ms; at the fixed rate where it has a rate run)")
    ys = [p["p99"] for p in pts if not math.isnan(p["p99"]) and p["p99"] > 0]
    if ys and max(ys) / min(ys) > 10:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    save(fig, path)


def load_cdf(out_dir, run_id):
    """The e2e (quantile, ms) curve of one run, or None when its report
    has none."""
    path = os.path.join(out_dir, "runs", f"{int(run_id):03d}" if str(run_id).isdigit() else str(run_id),
                        "peer-sim.json")
    try:
        cdf = json.load(open(path))["latency_ms"]["e2e"].get("cdf")
    except (OSError, ValueError, KeyError):
        return None
    return cdf or None


def mean_cdf(out_dir, runs):
    """The quantile-wise mean of the runs' curves (all curves share the same
    quantiles), or None."""
    curves = [c for c in (load_cdf(out_dir, r) for r in runs) if c]
    if not curves or any(len(c) != len(curves[0]) for c in curves):
        return None
    qs = [q for q, _ in curves[0]]
    return [(q, sum(c[i][1] for c in curves) / len(curves)) for i, q in enumerate(qs)]


def cdf_groups(df):
    """(title, [(line label, run ids)]) per subplot: fixed-rate runs only,
    grouped by swept factor, by profile (latency-vs-load) or all in one."""
    rate = df[df["cfg_load"] == "rate"]
    if rate.empty:
        return []
    if "cfg_factor" in rate and rate["cfg_factor"].notna().any():
        by = rate["cfg_factor"]
    elif rate["label"].str.contains("@").all():
        by = rate["cfg_profile"]
    else:
        by = pd.Series(["all"] * len(rate), index=rate.index)
    groups = []
    for name in dict.fromkeys(by):
        g = rate[by == name]
        lines = [(config_key(lbl), list(gg["run_id"])) for lbl, gg in g.groupby("label", sort=False)]
        groups.append((str(name), lines))
    return groups


def plot_cdf(out_dir, df, path):
    """Latency CDFs (e2e, fixed-rate runs) as 1 - quantile on a log axis, so
    the tail is readable. Returns False when no run has a curve."""
    groups = [(t, [(lbl, mean_cdf(out_dir, ids)) for lbl, ids in lines]) for t, lines in cdf_groups(df)]
    groups = [(t, [(lbl, c) for lbl, c in lines if c]) for t, lines in groups]
    groups = [(t, lines) for t, lines in groups if lines]
    if not groups:
        return False
    fig, axes = _grid(len(groups))
    for ax, (title, lines) in zip(axes, groups):
        for lbl, c in lines:
            xs = [ms for q, ms in c if q < 1]
            ys = [1 - q for q, ms in c if q < 1]
            ax.plot(xs, ys, label=lbl, lw=1.2)
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("end-to-end latency (ms)")
        ax.set_ylabel("fraction of transactions slower")
        ax.set_title(title if title != "all" else "latency at the fixed rate")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    save(fig, path, axes[len(groups):])
    return True


def load_curves(df):
    """{profile: DataFrame of offered rate, tps, p50, p99 with CIs} for
    studies that run one configuration at three or more fixed rates."""
    rate = df[(df["cfg_load"] == "rate") & df["label"].str.contains("@")]
    curves = {}
    for prof, g in rate.groupby(rate["cfg_profile"], sort=False):
        if g["cfg_rate"].nunique() < 3:
            continue
        rows = []
        for r, gg in g.groupby("cfg_rate"):
            row = {"offered": int(r), "n": len(gg)}
            for m in ("tps", "p50_ms", "p99_ms", "p999_ms"):
                row[m], row[m + "_ci"] = ci95(gg[m])
            rows.append(row)
        curves[prof] = pd.DataFrame(rows).sort_values("offered")
    return curves


def plot_load(curves, path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (prof, c) in enumerate(curves.items()):
        color = f"C{i}"
        ci = c["p99_ms_ci"].fillna(0)
        a1.errorbar(c["offered"], c["p99_ms"], yerr=ci, marker="o", capsize=3, color=color, label=f"{prof} p99")
        a1.plot(c["offered"], c["p50_ms"], ls="--", marker=".", alpha=0.6, color=color, label=f"{prof} p50")
        a2.errorbar(c["offered"], c["tps"], yerr=c["tps_ci"].fillna(0), marker="o", capsize=3, color=color,
                    label=prof)
    top = max(c["offered"].max() for c in curves.values())
    a2.plot([0, top], [0, top], ":", color="grey", label="delivered = offered")
    a1.set_yscale("log")
    a1.set_xlabel("offered load (tx/s)")
    a1.set_ylabel("end-to-end latency (ms)")
    a1.set_title("Latency against offered load")
    a2.set_xlabel("offered load (tx/s)")
    a2.set_ylabel("delivered (tx/s, measured window)")
    a2.set_title("Throughput against offered load")
    for a in (a1, a2):
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=7)
    save(fig, path)


def sweep_table(df):
    """{factor: DataFrame(level, baseline, started, tps, tps_ci, p99, p99_ci,
    raw, raw_ci)}: flat-out throughput and fixed-rate p99 per level, in the
    sweep's order; `baseline` marks the baseline profile's own level and
    `started` is the mean start time of the level's runs."""
    if "cfg_factor" not in df or df["cfg_factor"].isna().all():
        return {}
    out = {}
    for factor, g in df.groupby("cfg_factor", sort=False):
        rows = []
        for level, gg in g.groupby(g["cfg_level"].astype(str), sort=False):
            peak, rate = gg[gg["cfg_load"] == "peak"], gg[gg["cfg_load"] == "rate"]
            row = {"level": level, "baseline": SWEEP_BASELINE.get(factor) == level,
                   "started": gg["started_unix"].mean() if "started_unix" in gg else math.nan}
            row["tps"], row["tps_ci"] = ci95(peak["tps"])
            row["raw"], row["raw_ci"] = ci95(peak["raw_ack_tps"]) if "raw_ack_tps" in peak else (math.nan, math.nan)
            row["p99"], row["p99_ci"] = ci95(rate["p99_ms"])
            rows.append(row)
        out[factor] = pd.DataFrame(rows)
    return out


def plot_sweeps(tables, path):
    fig, axes = _grid(len(tables))
    for ax, (factor, t) in zip(axes, tables.items()):
        x = range(len(t))
        ax.errorbar(x, t["tps"], yerr=t["tps_ci"].fillna(0), marker="o", capsize=3, color="#4c72b0",
                    label="e2e tx/s flat out")
        if t["raw"].notna().any():
            ax.errorbar(x, t["raw"], yerr=t["raw_ci"].fillna(0), marker="s", capsize=3, color="#55a868",
                        alpha=0.7, label="raw producer msg/s")
        ax.set_xticks(list(x))
        ax.set_xticklabels(t["level"], rotation=30)
        ax.set_title(factor)
        ax.set_ylabel("per second")
        ax2 = ax.twinx()
        ax2.errorbar(x, t["p99"], yerr=t["p99_ci"].fillna(0), marker="^", capsize=3, color="#c44e52",
                     label="p99 ms at fixed rate")
        ax2.set_ylabel("p99 ms", color="#c44e52")
        # From zero, so that a difference of a few percent looks like one.
        ax.set_ylim(bottom=0)
        ax2.set_ylim(bottom=0)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="best")
        ax.grid(True, alpha=0.3)
    save(fig, path, axes[len(tables):])


def baseline_drift(tables):
    """The baseline configuration as measured in each sweep, in the order
    measured: (factor, row) pairs. Every sweep repeats the same settings at
    a different time, so their spread is the study's drift and noise."""
    rows = [(f, t[t["baseline"]].iloc[0]) for f, t in tables.items() if t["baseline"].any()]
    return sorted(rows, key=lambda fr: fr[1]["started"])


def _duration_ms(text):
    """'500ms' / '2s' / '1m' -> milliseconds (for ordering BatchTimeouts)."""
    for unit, scale in (("ms", 1), ("s", 1000), ("m", 60000)):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * scale
    return math.nan


def block_grid(df):
    """For studies that vary both BatchTimeout and MaxMessageCount: a
    DataFrame per (timeout, count) with flat-out throughput, and p50, p99
    and tx/block at the fixed rate; else None."""
    if not {"cfg_batch_timeout", "cfg_max_message_count"} <= set(df.columns):
        return None
    if df["cfg_batch_timeout"].nunique() < 2 or df["cfg_max_message_count"].nunique() < 2:
        return None
    rows = []
    for (t, n), g in df.groupby(["cfg_batch_timeout", "cfg_max_message_count"]):
        peak, rate = g[g["cfg_load"] == "peak"], g[g["cfg_load"] == "rate"]
        row = {"timeout": t, "timeout_ms": _duration_ms(str(t)), "count": int(n)}
        row["tps"], row["tps_ci"] = ci95(peak["tps"])
        for m in ("p50_ms", "p99_ms", "txs_per_block"):
            row[m], row[m + "_ci"] = ci95(rate[m]) if m in rate else (math.nan, math.nan)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["timeout_ms", "count"]).reset_index(drop=True)


def plot_blocks(grid, path):
    """Flat-out throughput and fixed-rate p99 against MaxMessageCount, a
    line per BatchTimeout."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (t, g) in enumerate(grid.groupby("timeout", sort=False)):
        a1.errorbar(g["count"], g["tps"], yerr=g["tps_ci"].fillna(0), marker="o", capsize=3, color=f"C{i}",
                    label=f"BatchTimeout {t}")
        a2.errorbar(g["count"], g["p99_ms"], yerr=g["p99_ms_ci"].fillna(0), marker="o", capsize=3,
                    color=f"C{i}", label=f"BatchTimeout {t}")
    a1.set_ylabel("end-to-end tx/s, flat out")
    a1.set_title("Throughput against block size")
    a1.set_ylim(bottom=0)  # as in the sweeps: a difference reads at its true size
    a2.set_ylabel("end-to-end p99 latency at the fixed rate (ms)")
    a2.set_title("Latency against block size")
    a2.set_yscale("log")
    for a in (a1, a2):
        a.set_xscale("log")
        a.set_xlabel("MaxMessageCount (transactions per block at most)")
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=7)
    save(fig, path)
