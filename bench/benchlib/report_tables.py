"""A study report's later sections (Markdown lines): the producer
calibration, the factorial ANOVA, the single-factor sweeps, CPU per
transaction per role, the tuning search, the orderer's /metrics."""
import math
import os

from benchlib import analysis, compare
from benchlib.record import read_json
from benchlib.report_sections import BRACKET_RULE, _bracket, _point_name, bracket_reading
from benchlib.stats import fmt, fmt_p, fmt_ratio


def calibration_section(cal_rows):
    md = ["## Calibration: Kafka's ProducerPerformance against our raw producer", "",
          "The same producer settings (librdkafka names mapped to the Java client's), one producer each, flat "
          "out, 1 KB records, interleaved (PP, raw, raw, PP, ...), on the peers' CPU set. Our raw producer sends "
          "pre-signed transactions. Ratio = raw / ProducerPerformance, 95% bootstrap interval.", "",
          "| settings of cell | ProducerPerformance msg/s | peer-sim --raw msg/s | raw / PP | PP CPU µs/msg | "
          "raw CPU µs/msg | PP p99 ms | raw ack p99 ms |", "|---|---|---|---|---|---|---|---|"]
    for r in cal_rows:
        md.append(f"| {r['cell']} (n={r['n_pp']}/{r['n_raw']}) | {fmt(r['pp'], r['pp_ci'])} | "
                  f"{fmt(r['raw'], r['raw_ci'])} | {fmt_ratio(r['ratio'], r['lo'], r['hi'], as_change=False)} | "
                  f"{fmt(r['pp_us_per_msg'], None, 1)} | {fmt(r['raw_us_per_msg'], None, 1)} | "
                  f"{fmt(r['pp_p99_ms'], None, 0)} | {fmt(r['raw_p99_ms'], None, 1)} |")
    unm = sorted({u for r in cal_rows for u in r["unmapped"]})
    if unm:
        md += ["", "Not passed to ProducerPerformance (no Java equivalent): " + ", ".join(f"`{u}`" for u in unm) + "."]
    return md + [""]


def anova_section(results, dropped_results):
    md = ["## Factorial ANOVA", "",
          "All main effects and interactions (type II sums of squares). Beside each: residual checks "
          "(Shapiro-Wilk for normality of residuals, Brown-Forsythe for equal variance across cells; small p = "
          "the assumption is doubtful) and the largest externally studentized residual; then the same fit "
          "without runs whose |studentized residual| > 3 (the declared outlier rule for ANOVA).", ""]
    for (title, table, r2, checks, n, _), (_, t2, r2b, checks2, n2, dropped) in zip(results, dropped_results):
        md += [f"### {title}", ""]
        if table is None:
            md += ["Not enough repetitions in every cell for an ANOVA.", ""]
            continue
        md += [f"R² = {r2:.3f}, n = {n}. Residuals: Shapiro-Wilk p = {fmt_p(checks.get('shapiro_p', math.nan))}, "
               f"Brown-Forsythe p = {fmt_p(checks.get('levene_p', math.nan))}, max |studentized| = "
               f"{checks.get('max_abs_studentized', math.nan):.1f}.", "",
               "| source | F | p | " + ("F without outliers | p without outliers |" if dropped else ""),
               "|---|---|---|" + ("---|---|" if dropped else "")]
        for src, row in table.iterrows():
            if src == "Residual":
                continue
            line = f"| {src} | {fmt(row['F'], None, 2)} | {fmt_p(row['PR(>F)'])} |"
            if dropped and t2 is not None and src in t2.index:
                line += f" {fmt(t2.loc[src, 'F'], None, 2)} | {fmt_p(t2.loc[src, 'PR(>F)'])} |"
            md.append(line)
        md.append("")
        if dropped:
            md += [f"Without {dropped} outlier(s): R² = {r2b:.3f}, n = {n2}; Shapiro-Wilk p = "
                   f"{fmt_p(checks2.get('shapiro_p', math.nan))}.", ""]
        else:
            md += ["No run has |studentized residual| > 3: nothing to drop.", ""]
    return md


def sweep_section(tables, with_capacity):
    md = ["## Single-factor sweeps", "",
          "Each factor moved alone from the base cell (measured once, shared by every sweep, in random order "
          "with the others). Change = ratio of means to the base's, 95% bootstrap interval; p = Welch's t-test "
          "against the base, Holm-adjusted over every comparison of the same metric in the study. Each role's "
          "CPU per transaction against the base is in the CPU section.", ""]
    if with_capacity:
        md += [BRACKET_RULE, ""]
    for factor, rows in tables.items():
        points = list(rows[0]["lat"]) if rows else []
        base_bracket = next((r["cap"]["bracket"] for r in rows if r["base"] and r["cap"]), math.nan)
        head = ["level"]
        if with_capacity:
            head += ["n", "capacity tx/s", "change", "p (Holm)", "bracket (level / base)", "reading"]
        # p99 compared again without outlying repetitions where any level has one.
        outlying = {pt: any(r["lat"][pt][0] and r["lat"][pt][0]["p99_outliers"] for r in rows) for pt in points}
        for pt in points:
            for m in compare.COMPARED_PERCENTILES:
                head += [f"{m.removesuffix('_ms')} ms at {_point_name(pt)}", "change", "p (Holm)"]
            if outlying[pt]:
                head += ["p99 change without outliers", "p (Holm)"]
        md += [f"### {factor}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [r["level"] + (" (base)" if r["base"] else "")]
            if with_capacity:
                c, cmp_ = r["cap"], r["cmp"]
                b = c["bracket"] if c else math.nan
                cells += [str(c["n"]) if c else "0", fmt(c["mean"], c["ci"]) if c else "–",
                          fmt_ratio(cmp_["ratio"], cmp_["lo"], cmp_["hi"]) if cmp_ else "–",
                          fmt_p(cmp_["p_holm"]) if cmp_ else "–",
                          f"{_bracket(b)} / {_bracket(base_bracket)}" if not r["base"] else _bracket(b),
                          bracket_reading(cmp_["ratio"], b, base_bracket, cmp_["lo"], cmp_["hi"]) if cmp_ else "–"]
            for pt in points:
                row, cmps = r["lat"][pt]
                for m in compare.COMPARED_PERCENTILES:
                    cmp_ = cmps.get(m)
                    cells += [fmt(row[m], row[m + "_ci"], 1) + f" (n={row['n']})" if row else "–",
                              fmt_ratio(cmp_["ratio"], cmp_["lo"], cmp_["hi"]) if cmp_ else "–",
                              fmt_p(cmp_["p_holm"]) if cmp_ else "–"]
                if outlying[pt]:
                    wo = cmps.get("p99_ms_wo")
                    cells += [fmt_ratio(wo["ratio"], wo["lo"], wo["hi"]) if wo else "–",
                              fmt_p(wo["p_holm"]) if wo else "–"]
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    return md


def cpu_section(lat_rows, ref, by="fraction"):
    """Each role's CPU per transaction at every latency point, with each cell's change against the
    reference cell's (Holm over the study's comparisons of that role)."""
    roles = compare.cpu_roles(lat_rows)
    if not roles:
        return []
    comps = {role: compare.latency_comparisons(lat_rows, ref, f"{role}_us_per_tx") for role in roles}
    where = "fractions of capacity" if by == "fraction" else "fixed offered rates"
    md = [f"## CPU per transaction per role, at {where}", "",
          "Each role's CPU seconds over the measured window per delivered transaction, on its own CPU set (see the "
          "placement above): what a setting costs each machine of a deployment, whatever the roles share here. "
          f"Mean ± 95% t-interval over repetitions; change against `{ref}` at the same point with a 95% bootstrap "
          "interval, p (Welch) Holm-adjusted over every comparison of that role.", "",
          "| cell | at | n | " + " | ".join(f"{role} µs/tx | change | p (Holm)" for role in roles) + " |",
          "|---|---|---|" + "---|---|---|" * len(roles)]
    for r in lat_rows:
        point = compare.point_of(r)
        line = f"| {r['cell']} | {_point_name(point)} | {r['n']} |"
        for role in roles:
            c = comps[role].get((point, r["cell"]))
            line += (f" {fmt(r[f'{role}_us_per_tx'], r[f'{role}_us_per_tx_ci'], 1)} | "
                     f"{fmt_ratio(c['ratio'], c['lo'], c['hi']) if c else '–'} | {fmt_p(c['p_holm']) if c else '–'} |")
        md.append(line)
    return md + [""]


def tune_section(out_dir, meta):
    t = meta["tune"]
    md = ["## Tuning search", "",
          f"Goal: {t['description']}. Start: the `{t['profile']}` profile; budget {t['budget']} candidate(s), seed "
          f"{t['seed']}; each candidate is a cell, run {meta['repetitions']} time(s). For max-tps a candidate's "
          "figures are its capacity (p99 under the bound is part of the capacity's definition) and the p99 of the "
          "step at that capacity; for min-p99, its capacity and its p99 at the rate; both from the same cell runs.",
          "", "Searched: " + "; ".join(f"`{k}` in {', '.join(v)}" for k, v in t["space"].items()) + ".", ""]
    path = os.path.join(out_dir, "tune.json")
    if not os.path.isfile(path):
        return md + ["The search did not finish: no `tune.json`.", ""]
    res = read_json(path)
    best = res["best"]
    verdict = "meets the goal" if res["best_feasible"] else "does **not** meet the goal (nothing measured did)"
    md += [f"Best: **{best['label']}**: capacity {best['tps']:,.0f} tx/s, p99 {best['p99']:.1f} ms; {verdict}. "
           "Its settings are in `best.properties` (a profile for `peer-sim --profile`; block settings as orderer "
           "flags in a comment).", "",
           "| candidate | capacity tx/s (mean of n) | n | p99 ms | ", "|---|---|---|---|"]
    for r in res["candidates"]:
        md.append(f"| {r['label']} | {fmt(r['tps'])} | {r.get('n', '–')} | {fmt(r['p99'], None, 1)} |")
    return md + ["", "Candidates are listed in the order measured; with one repetition each, re-measure the best "
                 "few with a workload of their own before adopting one.", ""]


def metrics_section(rdf):
    """The orderer's own /metrics over each run's window (benchlib.metrics)
    beside the peers' and the CPU sampler's figures for the same window:
    two instruments that should agree, and what the dashboard would show."""
    if rdf.empty or "orderer_metrics.ordered_tps" not in rdf.columns:
        return []
    d = analysis.valid(rdf)
    d = d[d["orderer_metrics.ordered_tps"].notna() & d["delivered_tps"].notna()]
    if d.empty:
        return []

    def col(frame, name):
        return frame[name].astype(float) if name in frame.columns else None

    md = ["## The orderer's /metrics against the peers", "",
          "Each run scraped the orderer that cuts blocks once a second (`runs/<id>/metrics.csv.gz`); over the "
          "measured window: transactions ordered per second (the dashboard's rate() of "
          "`orderer_transactions_ordered_total`) against the peers' delivered rate, and the orderer's CPU "
          "(`process_cpu_seconds_total`) against the bench's own CPU sampler; block fill, signature verification "
          "and synced block write as histogram_quantile() of the window's bucket increases (medians over runs). "
          "Recovery runs whose leader changed have no summary.", "",
          "| cell | kind | runs | ordered / delivered | orderer cores: /metrics / sampler | block fill p99 ms "
          "| verify p50 µs | write p99 ms |",
          "|---|---|---|---|---|---|---|---|"]
    for (cell, kind), g in d.groupby(["cell", "kind"], sort=True):
        ratio = (col(g, "orderer_metrics.ordered_tps") / col(g, "delivered_tps")).mean()
        cores_m = col(g, "orderer_metrics.cpu_cores")
        cores_s = None
        if "cpu.orderer.cpu_s" in g.columns:
            cores_s = (col(g, "cpu.orderer.cpu_s") / col(g, "window_s"))
        agree = "–"
        if cores_m is not None and cores_s is not None and cores_s.notna().any():
            agree = f"{cores_m.mean():.2f} / {cores_s.mean():.2f}"

        def med(name, digits):
            c = col(g, name)
            return fmt(c.median(), digits=digits) if c is not None and c.notna().any() else "–"
        md.append(f"| {cell} | {kind} | {len(g)} | {ratio:.3f} | {agree} | "
                  f"{med('orderer_metrics.block_fill_p99_ms', 1)} | {med('orderer_metrics.verify_p50_us', 1)} | "
                  f"{med('orderer_metrics.write_p99_ms', 2)} |")
    return md + [""]
