"""A study's report: Markdown tables and PNG plots, made from the study's
summaries alone (runs.jsonl, cells.jsonl, study.json, env.json,
calibration.json, series.jsonl: benchlib.load), so `bench report DIR`
rebuilds it any time, in a clone without the runs' raw files too.

Conventions: capacity and fixed-fraction latency are reported apart (never
closed-loop latency beside open-loop latency); every figure says n and its
interval (95% t-interval of the mean; on log axes the back-transformed
interval of the geometric mean; ratios with 95% bootstrap intervals).

The plots are in report_plots, the sections in report_sections and
report_tables, the results index in results_index."""
import os

from benchlib import analysis, compare, failover, load, pareto
from benchlib.record import read_json
from benchlib.report_plots import (plot_calibration, plot_capacity, plot_latency, plot_load_curves, plot_pareto,
                                   plot_search, plot_series)
from benchlib.report_sections import (ack_section, capacity_section, header, integrity_section,
                                      latency_comparison_section, latency_section, recovery_section, same_work_section)
from benchlib.report_tables import (anova_section, calibration_section, cpu_section, metrics_section,
                                    sweep_section, tune_section)


def write(out_dir):
    series = load.Series(out_dir)
    runs, cells, meta = load.load_records(out_dir, series)
    env = read_json(os.path.join(out_dir, "env.json")) if os.path.isfile(os.path.join(out_dir, "env.json")) else {}
    rdf, cdf = analysis.frames(runs, cells)
    md = header(meta, env, rdf, cdf, out_dir)
    total = len(meta["cells"]) * meta["repetitions"]
    if len(cdf) < total:
        md += [f"**Partial study: {len(cdf)} of {total} cell runs.** "
               f"`bench run {meta.get('workload') or meta['study']} "
               f"--preset {meta['preset']} --out DIR --resume` continues it.", ""]
    info = analysis.integrity(rdf, cdf)
    md += integrity_section(info)
    if meta.get("tune"):
        md += tune_section(out_dir, meta)
    caps = analysis.capacities(cdf)
    cap_rows = analysis.capacity_table(meta, caps, rdf) if not cdf.empty else []
    cal_rows = analysis.calibration_table(meta, rdf)
    ref = analysis.reference_cell(meta)
    comps = compare.comparisons(cap_rows, ref) if meta.get("design") != "sweep" else []
    lat_rows = analysis.latency_table(meta, rdf, cdf=cdf)
    rate_rows = analysis.latency_table(meta, rdf, by="rate")
    # Broadcast's SUCCESS latency has a section of its own; the broker's ack on the direct path does not.
    broadcast = "submit" in rdf and (rdf["submit"] == "broadcast").any()
    if cap_rows and meta["capacity"].get("max_steps", 1):
        md += capacity_section(meta, cap_rows, comps, ref, cal_rows)
        md += same_work_section(analysis.same_work(meta, rdf, caps))
        if plot_capacity(cap_rows, os.path.join(out_dir, "capacity.png"),
                         "Capacity per cell (bars: mean ± 95% t-interval; dots: repetitions)"):
            md += ["![capacity](capacity.png)", ""]
        if plot_search(rdf, meta, os.path.join(out_dir, "search.png")):
            md += ["Every capacity-search step (offered rate against p99; open markers failed a criterion):", "",
                   "![capacity search](search.png)", ""]
    if lat_rows:
        references = {}
        if cdf is not None and not cdf.empty and "reference_capacity" in cdf.columns:
            for _, c in cdf.dropna(subset=["reference_capacity"]).iterrows():
                references.setdefault(c["cell"], c["reference_capacity"])
        md += latency_section(lat_rows, capacity_from=meta.get("latency", {}).get("capacity_from"),
                              references=references)
        if meta.get("design") != "sweep":
            md += latency_comparison_section(lat_rows, ref)
        if broadcast:
            md += ack_section(lat_rows, ref)
        if plot_latency(lat_rows, os.path.join(out_dir, "latency.png")):
            md += ["![latency at fractions of capacity](latency.png)", ""]
        md += cpu_section(lat_rows, ref)

    if rate_rows:
        md += latency_section(rate_rows, by="rate")
        if meta.get("design") != "sweep":
            md += latency_comparison_section(rate_rows, ref)
        if broadcast:
            md += ack_section(rate_rows, ref)
        if plot_latency(rate_rows, os.path.join(out_dir, "latency-at-rates.png"), by="rate"):
            md += ["![latency at fixed rates](latency-at-rates.png)", ""]
        if len({r["rate"] for r in rate_rows}) >= 3 and plot_load_curves(rate_rows, os.path.join(out_dir, "load.png")):
            md += ["The same points as curves against the offered load, beside the utilisation of each run's "
                   "busiest CPU set:", "", "![latency against load](load.png)", ""]
        md += cpu_section(rate_rows, ref, by="rate")
    if plot_series(series, rdf, meta, os.path.join(out_dir, "series.png"), cdf):
        md += ["Per-second series of one latency run per cell (its first repetition, at its highest load): "
               "delivered and submitted rate, and the p99 of each second; the warm-up is shaded.", "",
               "![time series](series.png)", ""]
    rec_rows = analysis.recovery_table(meta, rdf)
    if rec_rows:
        skipped = []
        if not cdf.empty and "recovery" in cdf.columns:
            skipped = sorted({c["cell"] for _, c in cdf.iterrows()
                              if isinstance(c["recovery"], dict) and c["recovery"].get("skipped")})
        md += recovery_section(meta, rec_rows, skipped)
        md += failover.section(meta, failover.rows(meta, rdf))
    if cal_rows:
        md += calibration_section(cal_rows)
        if plot_calibration(cal_rows, os.path.join(out_dir, "calibration.png")):
            md += ["![calibration](calibration.png)", ""]
    if meta.get("design") == "grid" and (cap_rows or lat_rows or rate_rows):
        md += anova_section(compare.anova(meta, caps, rdf), compare.anova(meta, caps, rdf, drop_outliers=True))
    if meta.get("design") == "sweep":
        with_capacity = bool(meta["capacity"].get("max_steps", 1)) and any(r["n"] for r in cap_rows)
        md += sweep_section(compare.sweep_tables(meta, cap_rows, lat_rows + rate_rows), with_capacity)
    found = pareto.fronts(meta, cap_rows if meta["capacity"].get("max_steps", 1) else [], caps, lat_rows + rate_rows)
    md += pareto.section(meta, found)
    if plot_pareto(found, os.path.join(out_dir, "pareto.png")):
        md += ["![Pareto fronts](pareto.png)", ""]
    md += metrics_section(rdf)
    md += ["## Raw data", "",
           "Kept with this report (the summaries a results folder in git holds): `study.json` (the workload as run, "
           "placement, seed and order), `env.json`, `calibration.json`, `runs.jsonl` (one typed record per run, "
           "valid or not: `bench/benchlib/record.py`), `cells.jsonl` (each capacity search: steps, bracket, chain "
           "verified) and `series.jsonl` (the per-second series and block times of the runs drawn or recomputed "
           "here). Beside them where the study ran, not in git: `runs/<id>/` (each run's peer-sim report with its "
           "per-second series and latency histogram summary, its log, the CPU series of every role, and the "
           "orderer's /metrics series) and `cells/` (each cell run's orderer logs and metrics).", ""]
    series.save()
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    return path
