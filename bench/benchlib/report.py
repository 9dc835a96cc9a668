"""Summaries of a study's raw runs: Markdown tables with 95% confidence
intervals over repetitions, and PNG plots. Reads only runs.csv and env.json,
so a report can be rebuilt from committed raw data."""
import glob
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchlib import analysis, tune  # noqa: E402
from benchlib.stats import ci95, fmt  # noqa: E402

METRICS = ["tps", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "ack_p50_ms", "ack_p99_ms", "raw_ack_tps", "efficiency", "orderer_cpu_s", "peersim_cpu_s",
           "broker_cpu_s", "orderer_rss_mib", "blocks_per_s", "txs_per_block", "block_cut_ms", "rejected"]


def summarize(df):
    rows = []
    for label, g in df.groupby("label", sort=False):
        row = {"label": label, "n": len(g)}
        for m in METRICS:
            if m in g:
                row[m] = ci95(g[m])
        rows.append(row)
    return rows


def _cpu_per_ktx(row_df):
    cpu = row_df["orderer_cpu_s"].fillna(0) + row_df["peersim_cpu_s"].fillna(0)
    return cpu / (row_df["delivered"] / 1000.0)


# Baseline/optimized pairs a headline can compare: (baseline key, optimized
# key, column names, title). The factorial's corners are the producer
# defaults and the tuned setting (batch.size 131072, linger.ms 25, none).
HEADLINE_PAIRS = [
    ("baseline", "high-throughput", "Baseline", "High-throughput", "baseline vs the tuned profile"),
    ("b16384-l0-none", "b131072-l25-none", "Baseline (16 KB, 0 ms, none)", "Optimized (128 KB, 25 ms, none)",
     "baseline vs the optimized producer setting"),
]


def headline(df):
    """The study's headline shape: baseline vs optimized: peak throughput,
    latency at a fixed rate, CPU per 1,000 tx. Returns (title, table) or
    None when the study has no such pair."""
    def pick(label):
        return df[df["label"] == label]
    for base, opt, base_name, opt_name, title in HEADLINE_PAIRS:
        base_peak, opt_peak = pick(f"{base}/peak"), pick(f"{opt}/peak")
        base_rate, opt_rate = pick(f"{base}/rate"), pick(f"{opt}/rate")
        if not (base_peak.empty or opt_peak.empty or base_rate.empty or opt_rate.empty):
            break
    else:
        return None
    lines = [f"| Metric | {base_name} | {opt_name} | Change |", "|---|---|---|---|"]

    def line(name, b, o, digits=0, lower_better=False):
        bm, bh = ci95(b)
        om, oh = ci95(o)
        change = (om - bm) / bm * 100 if bm else math.nan
        lines.append(f"| {name} | {fmt(bm, bh, digits)} | {fmt(om, oh, digits)} | {change:+.1f}% |")

    line("End-to-end throughput, flat out (tx/s)", base_peak["tps"], opt_peak["tps"])
    line("Raw producer throughput, flat out (msg/s)", base_peak["raw_ack_tps"], opt_peak["raw_ack_tps"])
    line(f"End-to-end p50 latency at {int(base_rate['cfg_rate'].iloc[0])} tx/s (ms)", base_rate["p50_ms"],
         opt_rate["p50_ms"], 1)
    line(f"End-to-end p99 latency at {int(base_rate['cfg_rate'].iloc[0])} tx/s (ms)", base_rate["p99_ms"],
         opt_rate["p99_ms"], 1)
    line("Broker ack p50 latency at that rate (ms)", base_rate["ack_p50_ms"], opt_rate["ack_p50_ms"], 1)
    line("Orderer + peers CPU per 1,000 tx, flat out (s)", _cpu_per_ktx(base_peak), _cpu_per_ktx(opt_peak), 3)
    return title, "\n".join(lines)


def anova_tables(df):
    """ANOVA of the 2^3 factorial: throughput flat out, p99 at the fixed
    rate; main effects and all interactions, with R^2."""
    import statsmodels.api as sm
    from statsmodels.formula.api import ols

    prod = df["cfg_producer"].apply(json.loads)
    d = df.assign(batch=prod.apply(lambda p: p.get("batch.size")), linger=prod.apply(lambda p: p.get("linger.ms")),
                  compression=prod.apply(lambda p: p.get("compression.type")))
    out = []
    for load, metric, name in (("peak", "tps", "End-to-end throughput flat out (tx/s)"),
                               ("rate", "p99_ms", "End-to-end p99 latency at the fixed rate (ms)")):
        g = d[d["cfg_load"] == load]
        if g.empty or g.groupby(["batch", "linger", "compression"]).size().min() < 2:
            out.append(f"### {name}\n\nNot enough repetitions for an ANOVA (need 2 or more per cell).\n")
            continue
        model = ols(f"{metric} ~ C(batch) * C(linger) * C(compression)", data=g).fit()
        table = sm.stats.anova_lm(model, typ=2)
        lines = [f"### {name}", "", f"R² = {model.rsquared:.3f}, {len(g)} runs.", "",
                 "| source | sum of squares | df | F | p |", "|---|---|---|---|---|"]
        for src, r in table.iterrows():
            f = "" if math.isnan(r["F"]) else f"{r['F']:.2f}"
            p = "" if math.isnan(r["PR(>F)"]) else f"{r['PR(>F)']:.2g}"
            lines.append(f"| {src.replace('C(', '').replace(')', '')} | {r['sum_sq']:,.1f} | {int(r['df'])} | {f} | {p} |")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def plot_bars(rows, metric, ylabel, path, title):
    labels = [r["label"] for r in rows if metric in r]
    means = [r[metric][0] for r in rows if metric in r]
    errs = [0 if math.isnan(r[metric][1]) else r[metric][1] for r in rows if metric in r]
    fig, ax = plt.subplots(figsize=(max(6, len(labels) * 0.9), 4))
    ax.bar(range(len(labels)), means, yerr=errs, capsize=4, color="#4c72b0")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    analysis.save(fig, path)


def pareto_table(pts):
    lines = ["| configuration | throughput tx/s | p99 ms | p99 measured at |", "|---|---|---|---|"]
    for p in analysis.pareto(pts):
        at = f"{p['rate']:,} tx/s" if p["rate"] else "flat out"
        lines.append(f"| {p['key']} | {fmt(p['tps'], p['tps_ci'])} | {fmt(p['p99'], p['p99_ci'], 1)} | {at} |")
    return "\n".join(lines)


def tune_section(out_dir, meta):
    t = meta["tune"]
    md = ["## Tuning search", "",
          f"Goal: {t['description']}. Start: the `{t['profile']}` profile; {t['budget']} candidate(s), seed "
          f"{t['seed']}; each candidate measured flat out (throughput) and at {t['rate']:,} tx/s (p99), "
          f"{meta['repetitions']} repetition(s) each.", "",
          "Searched: " + "; ".join(f"`{k}` in {', '.join(v)}" for k, v in t["space"].items()) + ".", ""]
    path = os.path.join(out_dir, "tune.json")
    if not os.path.isfile(path):
        return md + ["The search did not finish: no `tune.json`.", ""]
    res = json.load(open(path))
    best = res["best"]
    verdict = "meets the goal" if res["best_feasible"] else "does **not** meet the goal (nothing measured did)"
    md += [f"Best: **{best['label']}**: {best['tps']:,.0f} tx/s flat out, p99 {best['p99']:.1f} ms; {verdict}. "
           "Its settings are in `best.properties` (a profile for `peer-sim --profile`; block settings as "
           "orderer flags in a comment).", "",
           "| # | candidate | tx/s flat out | p99 ms at the rate | meets goal |", "|---|---|---|---|---|"]
    goal = tune.Goal(t["goal"], t["p99_max_ms"], t["tps_min"])
    for r in res["candidates"]:
        ok = "yes" if goal.feasible(r) else "no"
        md.append(f"| {r['label'][:2]} | {r['label'][3:]} | {r['tps']:,.0f} | {r['p99']:.1f} | {ok} |")
    md += ["", "Candidates are measured in the order shown; single measurements are noisy on a shared machine, "
           "so re-measure the best few with repetitions before adopting one.", ""]
    return md


def _grouped_tables(title, intro, groups, header, cells):
    """A section with one table per group ({name: DataFrame}), a row per
    DataFrame row made by `cells`."""
    md = [f"## {title}", "", intro, ""]
    for name, t in groups.items():
        md += [f"### {name}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for _, r in t.iterrows():
            md.append("| " + " | ".join(cells(r)) + " |")
        md.append("")
    return md


def drift_section(rows):
    """The baseline configuration as each sweep measured it, in time order:
    how far apart the same settings land within one study."""
    if len(rows) < 2:
        return []
    md = ["### The baseline, measured in every sweep", "",
          "Each sweep includes the baseline profile's own level, so the same configuration is measured once per "
          "sweep, at different times in the study. Read differences between levels against this spread.", "",
          "| measured in the sweep of | e2e tx/s flat out | p99 ms at fixed rate |", "|---|---|---|"]
    for factor, r in rows:
        md.append(f"| {factor} | {fmt(r['tps'], r['tps_ci'])} | {fmt(r['p99'], r['p99_ci'], 1)} |")
    tps = [r["tps"] for _, r in rows if not math.isnan(r["tps"])]
    p99 = [r["p99"] for _, r in rows if not math.isnan(r["p99"])]
    if tps and p99 and min(tps) > 0 and min(p99) > 0:
        md += ["", f"Highest / lowest of these means: throughput {max(tps) / min(tps):.2f}x, "
               f"p99 {max(p99) / min(p99):.2f}x."]
    return md + [""]


def blocks_section(grid):
    """BatchTimeout x MaxMessageCount grids: throughput flat out, p99 and
    block fill at the fixed rate."""
    counts = sorted(grid["count"].unique())
    md = ["## Block parameters: BatchTimeout x MaxMessageCount", "",
          "A block is cut when it holds MaxMessageCount transactions or BatchTimeout after its first one, "
          "whichever comes first. Rows: BatchTimeout; columns: MaxMessageCount.", ""]
    for title, cell in (
            ("End-to-end throughput flat out (tx/s)", lambda r: fmt(r["tps"], r["tps_ci"])),
            ("End-to-end p99 latency at the fixed rate (ms)", lambda r: fmt(r["p99_ms"], r["p99_ms_ci"], 1)),
            ("End-to-end p50 latency at the fixed rate (ms)", lambda r: fmt(r["p50_ms"], r["p50_ms_ci"], 1)),
            ("Transactions per block at the fixed rate", lambda r: fmt(r["txs_per_block"], r["txs_per_block_ci"], 1))):
        md += [f"### {title}", "", "| BatchTimeout | " + " | ".join(f"{n:,}" for n in counts) + " |",
               "|---|" + "---|" * len(counts)]
        for t, g in grid.groupby("timeout", sort=False):
            by = {int(r["count"]): r for _, r in g.iterrows()}
            md.append(f"| {t} | " + " | ".join(cell(by[n]) if n in by else "–" for n in counts) + " |")
        md.append("")
    return md


def sections(out_dir, df):
    """The study-specific views: sweeps per factor, latency against load,
    latency distributions, the Pareto front."""
    md = []
    sweeps = analysis.sweep_table(df)
    if sweeps:
        md += _grouped_tables(
            "Single-factor sweeps", "Each factor varied alone from the baseline profile: end-to-end throughput and "
            "raw producer throughput flat out, p99 latency at the fixed rate.", sweeps,
            ["level", "e2e tx/s flat out", "raw producer msg/s", "p99 ms at fixed rate"],
            lambda r: [r["level"] + (" (baseline)" if r["baseline"] else ""), fmt(r["tps"], r["tps_ci"]),
                       fmt(r["raw"], r["raw_ci"]), fmt(r["p99"], r["p99_ci"], 1)])
        analysis.plot_sweeps(sweeps, os.path.join(out_dir, "sweeps.png"))
        md += ["![sweeps](sweeps.png)", ""]
        md += drift_section(analysis.baseline_drift(sweeps))
    grid = analysis.block_grid(df)
    if grid is not None:
        md += blocks_section(grid)
        analysis.plot_blocks(grid, os.path.join(out_dir, "blocks.png"))
        md += ["![block parameters](blocks.png)", ""]
    curves = analysis.load_curves(df)
    if curves:
        md += _grouped_tables(
            "Latency against offered load", "Open-loop fixed rates; delivered is the measured window's end-to-end "
            "rate. Where delivered falls below offered the pipeline is saturated and latency is queueing.", curves,
            ["offered tx/s", "delivered tx/s", "p50 ms", "p99 ms", "p99.9 ms"],
            lambda r: [f"{int(r['offered']):,}", fmt(r["tps"], r["tps_ci"]), fmt(r["p50_ms"], r["p50_ms_ci"], 1),
                       fmt(r["p99_ms"], r["p99_ms_ci"], 1), fmt(r["p999_ms"], r["p999_ms_ci"], 1)])
        analysis.plot_load(curves, os.path.join(out_dir, "latency-vs-load.png"))
        md += ["![latency against load](latency-vs-load.png)", ""]
    if analysis.plot_cdf(out_dir, df, os.path.join(out_dir, "latency-cdf.png")):
        md += ["## Latency distribution", "",
               "End-to-end latency of the fixed-rate runs, quantile-wise mean over repetitions, drawn as the "
               "fraction of transactions slower than x (log-log, so the tail shows).", "",
               "![latency CDF](latency-cdf.png)", ""]
    pts = analysis.points(df)
    if len(pts) >= 2:
        analysis.plot_pareto(pts, os.path.join(out_dir, "pareto.png"), "Throughput against p99 latency")
        md += ["## Pareto front: throughput against p99 latency", "",
               "A configuration is Pareto-optimal when no other one has both higher throughput and lower p99 "
               "(means over repetitions)."]
        _, other = analysis.comparable(pts)
        if other:
            md[-1] += (" Only configurations with the study's usual transaction size are ranked; tx/s at another "
                       "size is not the same work, so these are drawn but left out: "
                       + ", ".join(f"{p['key']} ({p['tx_size']:,} B)" for p in other) + ".")
        md += ["", pareto_table(pts), "", "![Pareto front](pareto.png)", ""]
    return md


def one_line(out_dir):
    """The study's result in a line, for the results index."""
    df = pd.read_csv(os.path.join(out_dir, "runs.csv"))
    meta = json.load(open(os.path.join(out_dir, "study.json")))
    if meta["study"] == "tune" and os.path.isfile(os.path.join(out_dir, "tune.json")):
        b = json.load(open(os.path.join(out_dir, "tune.json")))["best"]
        return f"{meta['tune']['description']}: best {b['label']} ({b['tps']:,.0f} tx/s, p99 {b['p99']:.0f} ms)"
    ranked, _ = analysis.comparable(analysis.points(df))  # one transaction size, like for like
    peak = [p for p in ranked if not math.isnan(p["tps"])]
    if not peak:
        return ""
    top = max(peak, key=lambda p: p["tps"])
    low = min((p for p in ranked if not math.isnan(p["p99"])), key=lambda p: p["p99"])
    return (f"highest throughput {top['key']} {top['tps']:,.0f} tx/s; lowest p99 {low['key']} "
            f"{low['p99']:,.0f} ms; {len(analysis.pareto(ranked))} of {len(ranked)} configurations Pareto-optimal")


def write(out_dir):
    df = pd.read_csv(os.path.join(out_dir, "runs.csv"))
    env = json.load(open(os.path.join(out_dir, "env.json")))
    meta = json.load(open(os.path.join(out_dir, "study.json")))
    rows = summarize(df)
    md = [f"# Study `{meta['study']}` ({meta['preset']} preset)", ""]
    md.append(f"{len(df)} runs, {meta['repetitions']} repetition(s) per configuration, "
              f"{meta['broker']}; each run {int(df['cfg_duration_s'].iloc[0])} s with "
              f"{int(df['cfg_warmup_s'].iloc[0])} s warm-up. Figures are means ± the half-width of the "
              "95% t-interval over repetitions (no interval from a single repetition).")
    md.append("")
    md.append(f"Machine: {env['cpu_model']}, {env['cores']} cores, {env['mem_total_gib']} GiB; {env['os']}; "
              f"Kafka {env['kafka_version']}, librdkafka {env['librdkafka']}; commit "
              f"`{(env['git_commit'] or 'unknown')[:12]}`{' (dirty)' if env['git_dirty'] else ''}.")
    resumed = sorted(glob.glob(os.path.join(out_dir, "env-resume-*.json")))
    for path in resumed:
        e = json.load(open(path))
        md.append("")
        md.append(f"Resumed at run {e.get('resumed_at_run')} on commit `{(e['git_commit'] or 'unknown')[:12]}`"
                  f"{' (dirty)' if e['git_dirty'] else ''} ({os.path.basename(path)}).")
    if len(df) < meta["runs"]:
        md += ["", f"**Partial study: {len(df)} of {meta['runs']} runs.** Configurations missing below were not "
               f"run yet; `bench run {meta['study']} --preset {meta['preset']} --out DIR --resume` continues it."]
    md.append("")
    if meta["study"] == "tune":
        md += tune_section(out_dir, meta)
    h = headline(df)
    if h:
        md += [f"## Headline: {h[0]}", "", h[1], ""]
    if "cfg_factorial" in df and df["cfg_factorial"].fillna(False).astype(bool).any():
        md += ["## Factorial ANOVA (batch.size x linger.ms x compression.type)", "", anova_tables(df), ""]
    md += ["## Every configuration", "",
           "| configuration | n | e2e tx/s | p50 ms | p99 ms | raw producer msg/s | efficiency | orderer CPU s | "
           "peers CPU s | broker CPU s | orderer RSS MiB | blocks/s | tx/block | block cut ms | rejected |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def g(m, d=0):
            return fmt(*r[m], d) if m in r else "–"
        md.append(f"| {r['label']} | {r['n']} | {g('tps')} | {g('p50_ms', 1)} | {g('p99_ms', 1)} | "
                  f"{g('raw_ack_tps')} | {g('efficiency', 2)} | {g('orderer_cpu_s', 1)} | {g('peersim_cpu_s', 1)} | "
                  f"{g('broker_cpu_s', 1)} | {g('orderer_rss_mib')} | {g('blocks_per_s', 2)} | "
                  f"{g('txs_per_block', 1)} | {g('block_cut_ms', 1)} | {g('rejected')} |")
    md.append("")
    md += ["### Latency percentiles", "",
           "| configuration | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | broker ack p50 ms | broker ack p99 ms |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def g1(m):
            return fmt(*r[m], 1) if m in r else "–"
        md.append(f"| {r['label']} | {g1('p50_ms')} | {g1('p95_ms')} | {g1('p99_ms')} | {g1('p999_ms')} | "
                  f"{g1('max_ms')} | {g1('ack_p50_ms')} | {g1('ack_p99_ms')} |")
    md.append("")
    md.append("Efficiency = end-to-end tx/s / raw producer msg/s with the same settings in the same run. "
              "Flat-out latency is mostly queueing inside the in-flight window.")
    md.append("")
    md += sections(out_dir, df)
    plot_bars(rows, "tps", "transactions/s", os.path.join(out_dir, "throughput.png"), "End-to-end throughput")
    plot_bars(rows, "p99_ms", "ms", os.path.join(out_dir, "p99.png"), "End-to-end p99 latency")
    md += ["## Throughput and p99 per configuration", "", "![throughput](throughput.png)", "",
           "![p99 latency](p99.png)", ""]
    md += ["## Raw data", "", "`runs.csv` / `runs.jsonl` (one record per run, with its full configuration), "
           "`env.json`, and `runs/<id>/` (each run's peer-sim and orderer reports and logs).", ""]
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(md))
    return os.path.join(out_dir, "report.md")
