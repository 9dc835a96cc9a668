"""A study's report: Markdown tables and PNG plots, made from the raw data
alone (runs.jsonl, cells.jsonl, study.json, env.json, calibration.json and
the runs' own reports), so `bench report DIR` rebuilds it any time.

Conventions: capacity and fixed-fraction latency are reported apart (never
closed-loop latency beside open-loop latency); every figure says n and its
interval (95% t-interval of the mean; on log axes the back-transformed
interval of the geometric mean; ratios with 95% bootstrap intervals)."""
import glob
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchlib import analysis, drivers, study as studymod  # noqa: E402
from benchlib.stats import fmt, fmt_p, fmt_ratio  # noqa: E402
from benchlib.record import read_json, read_text

ROLE_NAMES = {"orderer": "orderer", "broker": "broker(s)", "peers": "peers"}


def _grid(n, cols=3, w=4.6, h=3.4):
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols, h * rows), squeeze=False)
    return fig, list(axes.flat)


def save(fig, path, unused=()):
    for ax in unused:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _nan(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def _geo_yerr(g):
    """Points and asymmetric error bars from geo_ci95 triples (mean, lo, hi)."""
    return ([v[0] for v in g], [[0 if _nan(v[1]) else v[0] - v[1] for v in g],
                                [0 if _nan(v[2]) else v[2] - v[0] for v in g]])


# ------------------------------------------------------------------ plots

def plot_capacity(rows, path, title):
    rows = [r for r in rows if r["n"]]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(rows) + 2), 4))
    x = range(len(rows))
    means = [r["mean"] for r in rows]
    errs = [0 if _nan(r["ci"]) else r["ci"] for r in rows]
    ax.bar(x, means, yerr=errs, capsize=4, color="#4c72b0", alpha=0.85, label="capacity, mean ± 95% t-interval")
    for i, r in enumerate(rows):
        ax.plot([i] * len(r["values"]), r["values"], "k.", ms=4, alpha=0.7)
        if not _nan(r["raw"]):
            ax.plot(i, r["raw"], "s", color="#55a868", ms=6, label="raw producer (ours), mean" if i == 0 else None)
    ax.set_xticks(list(x))
    ax.set_xticklabels([f"{r['cell']}\n(n={r['n']})" for r in rows], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("tx/s")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, path)
    return True


def plot_latency(lat_rows, path, by="fraction"):
    """Small multiples, one per fraction (or fixed rate): p50 and p99 per
    cell on a log axis with asymmetric (geometric) intervals."""
    key = "fraction" if by == "fraction" else "rate"
    fractions = sorted({r[key] for r in lat_rows})
    if not fractions:
        return False
    fig, axes = _grid(len(fractions), cols=min(3, len(fractions)))
    for ax, f in zip(axes, fractions):
        rows = [r for r in lat_rows if r[key] == f]
        x = range(len(rows))
        for m, color, marker in (("p50_ms", "#4c72b0", "o"), ("p99_ms", "#c44e52", "^")):
            ys, yerr = _geo_yerr([r[m + "_geo"] for r in rows])
            ax.errorbar(x, ys, yerr=yerr, fmt=marker, color=color, capsize=3, label=m.replace("_ms", ""))
        ax.set_yscale("log")
        ax.set_xticks(list(x))
        ax.set_xticklabels([f"{r['cell']} (n={r['n']})" for r in rows], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("end-to-end latency (ms)")
        where = f"at {f:.0%} of each cell's capacity" if by == "fraction" else f"at {f:,.0f} tx/s offered"
        ax.set_title(f"{where}\n(geometric mean, 95% interval)", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, path, axes[len(fractions):])
    return True


def plot_load_curves(rate_rows, path):
    """Latency against offered load, one line per cell: p50 and p99 (log axes,
    geometric mean with its asymmetric 95% interval) and the busiest CPU
    set's utilisation, so a reader sees where a cell's latency turns up and
    which set was then near full."""
    cells = list(dict.fromkeys(r["cell"] for r in rate_rows))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for i, cell in enumerate(cells):
        rows = sorted((r for r in rate_rows if r["cell"] == cell), key=lambda r: r["rate"])
        x = [r["rate"] for r in rows]
        n = "/".join(sorted({str(r["n"]) for r in rows}))
        color = f"C{i % 10}"
        for ax, m in zip(axes, ("p50_ms", "p99_ms")):
            ys, yerr = _geo_yerr([r[m + "_geo"] for r in rows])
            ax.errorbar(x, ys, yerr=yerr, fmt="o-", color=color, capsize=3,
                        label=f"{cell} (n={n})")
        u = [r.get("busiest_util", math.nan) for r in rows]
        ue = [0 if _nan(r.get("busiest_util_ci")) else r["busiest_util_ci"] for r in rows]
        axes[2].errorbar(x, [100 * v for v in u], yerr=[100 * e for e in ue], fmt="o-", color=color, capsize=3,
                         label=f"{cell} (n={n})")
    for ax, what in zip(axes, ("p50 latency (ms)", "p99 latency (ms)")):
        ax.set_yscale("log")
        ax.set_ylabel(f"end-to-end {what}")
        ax.set_title(f"{what.split()[0]} against load\n(geometric mean, 95% interval)", fontsize=8)
    axes[2].set_ylabel("busiest CPU set, % busy")
    axes[2].set_ylim(0, 105)
    axes[2].set_title("utilisation of the busiest CPU set\n(mean, 95% t-interval)", fontsize=8)
    for ax in axes:
        ax.set_xlabel("offered tx/s (open loop)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, path)
    return True


def plot_series(out_dir, rdf, meta, path, cdf=None):
    """Small multiples, one per cell: the first repetition's latency run at
    the highest load (of its fractions, its capacity, its fixed rates), per
    second: delivered and submitted tx/s and the p99 of each second, with the
    warm-up shaded, so a reader sees the measured window was steady."""
    import pandas as pd
    fr = pd.concat([analysis.latency_runs(rdf, "fraction", cdf), analysis.latency_runs(rdf, "rate")])
    if fr.empty:
        return False
    picks = []
    for name in analysis.cell_order(meta):
        g = fr[fr["cell"] == name]
        if g.empty:
            continue
        g = g.sort_values(["repetition", "offered_tps"], ascending=[True, False])
        picks.append(g.iloc[0])
    if not picks:
        return False
    fig, axes = _grid(len(picks), cols=3, w=4.8, h=3.2)
    for ax, r in zip(axes, picks):
        s = analysis.series(out_dir, r["run_id"])
        if not s:
            ax.axis("off")
            continue
        t = [p["t"] for p in s]
        ax.plot(t, [p.get("delivered", 0) for p in s], color="#4c72b0", lw=1, label="delivered/s")
        ax.plot(t, [p.get("submitted", 0) for p in s], color="#999999", lw=0.8, ls="--", label="submitted/s")
        warm = [p["t"] for p in s if p.get("phase") == "warmup"]
        if warm:
            ax.axvspan(min(warm), max(warm) + 1, color="#dddddd", alpha=0.6, label="warm-up")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("s")
        ax.set_ylabel("tx/s", fontsize=7)
        ax2 = ax.twinx()
        ax2.plot(t, [p.get("p99_ms") if p.get("p99_ms") is not None else float("nan") for p in s],
                 color="#c44e52", lw=1, label="p99 ms")
        ax2.set_yscale("log")
        ax2.set_ylabel("p99 of the second (ms)", fontsize=7, color="#c44e52")
        share = f"{r['fraction']:.0%} of capacity, " if r.get("kind") == "fraction" or (
            r.get("kind") == "confirm") else ""
        ax.set_title(f"{r['cell']}, rep {int(r['repetition'])}, {share}{r['offered_tps']:,.0f} tx/s", fontsize=8)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="lower right")
    save(fig, path, axes[len(picks):])
    return True


def plot_search(rdf, meta, path):
    """Each cell's capacity-search steps: offered rate against p99, sustained
    steps filled, failed ones open, one panel per cell."""
    st = rdf[rdf["kind"] == "step"] if not rdf.empty else rdf
    if st.empty:
        return False
    names = [n for n in analysis.cell_order(meta) if (st["cell"] == n).any()]
    fig, axes = _grid(len(names), cols=4, w=3.6, h=2.9)
    for ax, name in zip(axes, names):
        g = st[st["cell"] == name]
        ok = g[g["sustained"] == True]  # noqa: E712
        bad = g[g["sustained"] != True]  # noqa: E712
        ax.plot(ok["offered_tps"], ok["p99_ms"], "o", color="#55a868", label="sustained")
        ax.plot(bad["offered_tps"], bad["p99_ms"], "o", mfc="none", color="#c44e52", label="not sustained")
        ax.axhline(meta["capacity"]["slo_p99_ms"], color="grey", ls=":", lw=1, label="SLO")
        ax.set_yscale("log")
        ax.set_title(f"{name} ({len(g)} steps)", fontsize=8)
        ax.set_xlabel("offered tx/s", fontsize=7)
        ax.set_ylabel("p99 ms", fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    save(fig, path, axes[len(names):])
    return True


def plot_calibration(cal_rows, path):
    if not cal_rows:
        return False
    fig, ax = plt.subplots(figsize=(max(5.0, 1.4 * len(cal_rows) + 2), 4))
    w = 0.38
    for i, r in enumerate(cal_rows):
        for j, (k, color, name) in enumerate((("pp", "#8172b2", "ProducerPerformance (Java)"),
                                              ("raw", "#55a868", "peer-sim --raw (librdkafka)"))):
            ax.bar(i + (j - 0.5) * w, r[k], w, yerr=0 if _nan(r[k + "_ci"]) else r[k + "_ci"], capsize=3,
                   color=color, label=name if i == 0 else None)
            ax.plot([i + (j - 0.5) * w] * len(r[k + "_values"]), r[k + "_values"], "k.", ms=4)
    ax.set_xticks(range(len(cal_rows)))
    ax.set_xticklabels([f"{r['cell']}\n(n={r['n_pp']}/{r['n_raw']})" for r in cal_rows], fontsize=7)
    ax.set_ylabel("1 KB messages/s, one producer, flat out")
    ax.set_ylim(bottom=0)
    ax.set_title("Kafka's producer benchmark against ours (mean ± 95% t-interval, dots = runs)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, path)
    return True


# ------------------------------------------------------------------ sections

def _unique(driver_maps):
    seen, out = set(), []
    for d in driver_maps:
        if d["name"] not in seen:
            seen.add(d["name"])
            out.append(d)
    return out


def header(meta, env, rdf, cdf, out_dir):
    on = (f"drivers {', '.join(d['name'] for d in _unique(meta['drivers'].values()))}" if meta.get("drivers")
          else f"driver {meta['driver']}")
    md = [f"# Study `{meta['study']}` ({meta['preset']} preset, {on})", ""]
    note_path = os.path.join(out_dir, "NOTE.md")
    if os.path.isfile(note_path):  # what a reader must know first (NOTE.md, written after the study)
        lines = read_text(note_path).strip().splitlines()
        md += ["> **Note.** " + lines[0]] + [("> " + ln).rstrip() for ln in lines[1:]] + [""]
    if meta.get("description"):
        md += [meta["description"], ""]
    cells_total = len(meta["cells"]) * meta["repetitions"]
    md.append(f"{len(meta['cells'])} cells x {meta['repetitions']} repetitions ({len(cdf)} of {cells_total} "
              f"cell runs done), {len(rdf)} measured runs; run order shuffled within each repetition with seed "
              f"{meta['seed']} (order in `study.json`).")
    roles = meta["roles_cpus"]
    if meta["placement"] == "isolated":
        md.append(f"Placement **isolated**: orderer on CPU {roles['orderer']}, broker(s) on {roles['broker']}, "
                  f"peers (and Kafka's producer tool) on {roles['peers']}"
                  + (" (brokers and peers share that set, so they compete with each other)."
                     if roles["broker"] == roles["peers"] else "."))
    else:
        md.append(f"Placement **shared**: every role may use every CPU ({roles['orderer']}); roles compete for "
                  "CPU, so a setting that makes one role cheaper frees CPU for another.")
    if meta.get("drivers"):
        md.append("Each cell names its ordering service: " + "; ".join(
            f"{name}: {drivers.describe(d)}" for name, d in meta["drivers"].items()) + ".")
        if any(d["backend"] == "raft" for d in meta["drivers"].values()):
            md.append("Raft: the leader is the orderer role (alone on the orderer's CPUs); its followers are the "
                      "replicas, on the brokers' CPU set beside the peers, as Kafka's brokers are.")
    cap, lat = meta["capacity"], meta["latency"]
    if cap.get("max_steps", 1):
        levels = ", ".join(f"{x:.0%}" for x in cap.get("confirm_levels", []))
        confirm = (f"; then {cap['confirm_window_s']:g} s runs find the highest of {levels} of that rate still "
                   "sustained (a binary search), which is the capacity"
                   if cap.get("confirm_window_s") else "; no longer confirmation run")
        md.append(f"Capacity = the highest offered rate sustained (delivered >= {cap['min_achieved']:.0%} of "
                  f"offered less one block per window, p99 <= {cap['slo_p99_ms']:g} ms, in-flight growth <= "
                  f"{cap['max_backlog_growth']:.0%} of offered per second, a valid run with the generator keeping "
                  f"up), found by a step search ({cap['step_window_s']:g} s measured per step after a warm-up until "
                  f"steady, at most {cap['warmup_max_s']:g} s; steps x{cap['growth']:g} until bracketed, then "
                  f"geometric bisection to {cap['precision']:.0%}){confirm}.")
    whose = (f"the mean capacity of the same cell in `{_folders(lat['capacity_from'])}` (a capacity study reused: this study "
             "searches none)" if lat.get("capacity_from") else "each repetition's own capacity")
    points = [f"{f:.0%} of {whose}" for f in lat.get("fractions", [])]
    points += [f"{r:,.0f} tx/s" for r in lat.get("rates", [])]
    if points:
        md.append(f"Latency is read open loop at {', '.join(points)}, {lat['window_s']:g} s windows after a warm-up "
                  "until steady.")
    md.append("Transactions are pre-signed before each window.")
    e = env
    md += ["", f"Machine: {e.get('cpu_model')}, {e.get('cores')} cores, {e.get('mem_total_gib')} GiB; {e.get('os')}, "
           f"kernel {e.get('kernel')}; {e.get('openssl')}; Kafka {e.get('kafka_version')}, librdkafka "
           f"{e.get('librdkafka')}; commit `{(e.get('git_commit') or 'unknown')[:12]}`"
           f"{' (**dirty tree**)' if e.get('git_dirty') else ''}."]
    for path in sorted(glob.glob(os.path.join(out_dir, "env-resume-*.json"))):
        r = read_json(path)
        md.append(f"Resumed on commit `{(r.get('git_commit') or 'unknown')[:12]}` ({os.path.basename(path)}).")
    cal_path = os.path.join(out_dir, "calibration.json")
    if os.path.isfile(cal_path):
        rows = analysis.drift(read_json(cal_path))
        md += ["", "Machine calibration (one core, median of 3; compare studies by these):", "",
               "| micro-benchmark | study start | study end | end / start |", "|---|---|---|---|"]
        for name, s, en, ratio in rows:
            md.append(f"| {name} | {fmt(s) if s else '–'} | {fmt(en) if en else '–'} | "
                      f"{f'{ratio:.3f}' if ratio else '–'} |")
    return md + [""]


def integrity_section(info):
    md = ["## Run integrity", ""]
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(info["by_kind"].items()))
    md.append(f"{info['runs']} runs ({kinds}). {len(info['invalid'])} invalid (kept in `runs.jsonl`, left out of "
              f"every figure below); {info['generator_bound']} generator-bound (the load generator fell behind "
              f"its offered rate through its own work: never counted as capacity); {info.get('held_back', 0)} held back "
              "by the service (fell behind while the peers waited inside Submit: Broadcast's flow control or a full "
              f"producer queue; a failure of the service, not of the generator); {info['not_steady']} whose warm-up "
              "hit its bound "
              "before two windows agreed (measured anyway, flagged `steady: false`).")
    if info["cells_unverified"]:
        md.append(f"{len(info['cells_unverified'])} cell run(s) whose chain did not verify: all their runs are "
                  "invalid.")
    if info["invalid"]:
        md += ["", "| run | cell | kind | why invalid |", "|---|---|---|---|"]
        for run_id, cell, kind, why in info["invalid"][:40]:
            md.append(f"| {run_id} | {cell} | {kind} | {why} |")
        if len(info["invalid"]) > 40:
            md.append(f"| … | {len(info['invalid']) - 40} more | | |")
    return md + [""]


def capacity_section(meta, rows, comps, ref, cal_rows):
    md = ["## Capacity", "",
          "Mean ± 95% t-interval over repetitions (n = usable searches: chain verified, generator not the "
          "limit). Outliers by the declared rule (more than 3 scaled MADs from the cell's median, n >= 4) are "
          "counted and the mean without them shown beside. The bottleneck is the CPU set busiest in the step "
          "just above capacity (utilisation of its CPUs). Pipeline efficiency = capacity / the producer alone, "
          "flat out, with the same settings: our raw producer (the cell's own raw runs, else the calibration's, "
          "one producer) and Kafka's ProducerPerformance (calibration, one producer), where measured.", "",
          "| cell | n | capacity tx/s | median [min, max] | without outliers | bracket | bottleneck (util) | "
          "raw producer msg/s (per cell) | capacity / raw | capacity / ProducerPerformance |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    pp = {r["cell"]: r for r in cal_rows}
    for r in rows:
        outl = f"{fmt(r['mean_wo'], r['ci_wo'])} ({r['outliers']} out)" if r["outliers"] else "no outliers"
        raw = r["raw"] if not _nan(r["raw"]) else (pp[r["cell"]]["raw"] if r["cell"] in pp else math.nan)
        eff = r["mean"] / raw if r["n"] and not _nan(raw) and raw else math.nan
        ppv = pp[r["cell"]]["pp"] if r["cell"] in pp else math.nan
        effpp = r["mean"] / ppv if r["n"] and not _nan(ppv) else math.nan
        bn = f"{r['bottleneck']} ({r['bottleneck_util'] * 100:.0f}%)" if r["bottleneck"] else "–"
        extra = f" ({r['unusable']} unusable)" if r["unusable"] else ""
        bracket = "–" if _nan(r["bracket"]) else f"{r['bracket']:.3f}"
        md.append(f"| {r['cell']} | {r['n']}{extra} | {fmt(r['mean'], r['ci'])} | {fmt(r['median'])} "
                  f"[{fmt(r['min'])}, {fmt(r['max'])}] | {outl} | {bracket} | "
                  f"{bn} | {fmt(r['raw'], r['raw_ci'])} | {fmt(eff, None, 2)} | {fmt(effpp, None, 2)} |")
    md.append("")
    replicas = any(not _nan(r.get("replicas_us_per_tx", math.nan)) for r in rows)
    md += ["CPU per transaction at the highest sustained step (µs of CPU per delivered transaction, and the "
           "utilisation of the role's own CPU set"
           + ("; replicas = Raft's followers, on the brokers' CPU set" if replicas else "") + "):", "",
           "| cell | orderer µs/tx (util) | broker(s) µs/tx (util) | "
           + ("replicas µs/tx (util) | " if replicas else "") + "peers µs/tx (util) |",
           "|---|---|---|---|" + ("---|" if replicas else "")]
    for r in rows:
        def c(role):
            us, u = r.get(f"{role}_us_per_tx", math.nan), r.get(f"{role}_util", math.nan)
            return "–" if _nan(us) else f"{us:,.1f} ({u * 100:.0f}%)"
        md.append(f"| {r['cell']} | {c('orderer')} | {c('broker')} | " + (f"{c('replicas')} | " if replicas else "")
                  + f"{c('peers')} |")
    md.append("")
    if comps:
        md += [f"Against `{ref}` (ratio of mean capacities, 95% bootstrap interval; Welch's t-test, "
               f"Holm-adjusted over the {len(comps)} comparisons):", "",
               "| cell | capacity change | p | p (Holm) |", "|---|---|---|---|"]
        for c in comps:
            md.append(f"| {c['cell']} | {fmt_ratio(c['ratio'], c['lo'], c['hi'])} | {fmt_p(c['p'])} | "
                      f"{fmt_p(c['p_holm'])} |")
        md.append("")
    return md


def same_work_section(rows):
    """Each repetition's capacity beside what the search's first step (the
    same offered rate in every repetition) cost each role."""
    if not rows:
        return []
    reps = sorted({r["repetition"] for r in rows})
    roles = [role for role in analysis.ROLES if any(not _nan(r[f"{role}_us_per_tx"]) for r in rows)]
    rate = rows[0]["rate"]
    md = [f"The same work in every repetition: each search starts at {rate:,.0f} tx/s, so what that first step "
          "cost each role (µs of CPU per delivered transaction) should not change between repetitions of a cell. "
          "When it does, the machine (or a warm-up) moved, not the configuration: read the capacities beside it.",
          "", "| cell | | " + " | ".join(f"rep {k}" for k in reps) + " | max / min |",
          "|---|---|" + "---|" * len(reps) + "---|"]
    for name in dict.fromkeys(r["cell"] for r in rows):
        mine = {r["repetition"]: r for r in rows if r["cell"] == name}

        def line(label, key):
            vals = [mine[k][key] if k in mine else math.nan for k in reps]
            cells = [fmt(v) + ("" if _nan(v) or key != "capacity" or mine[k]["usable"] else "*")
                     for k, v in zip(reps, vals)]
            ok = [v for v in vals if not _nan(v) and v > 0]
            spread = f"{max(ok) / min(ok):.2f}" if len(ok) >= 2 else "–"
            return f"| {name} | {label} | " + " | ".join(cells) + f" | {spread} |"
        md.append(line("capacity tx/s", "capacity"))
        for role in roles:
            if any(not _nan(mine[k][f"{role}_us_per_tx"]) for k in mine):
                md.append(line(f"{role} µs/tx at {rate:,.0f}", f"{role}_us_per_tx"))
    md += ["", "\\* unusable (chain not verified or the generator bounded the search).", ""]
    return md


def recovery_section(meta, rows, skipped=()):
    r = meta.get("recovery") or {}
    md = ["## Recovery after losing the leader", "",
          f"One run per cell and repetition at {r.get('fraction', 0):.0%} of that repetition's capacity: "
          f"{r.get('warmup_s', 0):g} s warm-up, then the leader is killed (SIGKILL) {r.get('kill_after_s', 0):g} s "
          "after the load starts (the Raft leader, or the broker leading the channel's partition); peers talk to "
          "a node that survives. *Recovery* = kill -> the first block after the longest silence that follows "
          f"the kill (block arrival times at the peers, ms); *full rate* = kill -> the end of the first second "
          f"from which two seconds together deliver >= {r.get('full_rate', 0.9):.0%} of twice the offered rate "
          "(whole blocks arrive, so a steady second can hold a block less than the rate; 1 s resolution, an "
          "upper bound; recomputed from each run's raw report when the study is read). Lost = accepted but never delivered (a Raft leader takes what it had not replicated; "
          "clients would resubmit). *New leader* = kill -> the bench sees a new Raft leader in the nodes' metrics "
          "files (written once a second, so up to ~1 s late), and moves it "
          "onto the orderer's CPUs (the killed leader's: a deployment gives every node its own machine). "
          "Mean ± 95% t-interval over valid runs.", "",
          "| cell | killed | n | recovery ms | full rate ms | first block after the kill ms | new leader ms | lost tx |",
          "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        extra = f" ({x['invalid']} invalid)" if x["invalid"] else ""
        md.append(f"| {x['cell']} | {x['killed'] or '–'} | {x['n']}{extra} | {fmt(x['recovery_ms'], x['recovery_ms_ci'])} | "
                  f"{fmt(x['full_rate_ms'], x['full_rate_ms_ci'])} | "
                  f"{fmt(x['first_block_ms'], x['first_block_ms_ci'])} | "
                  f"{fmt(x.get('new_leader_ms', math.nan), x.get('new_leader_ms_ci', math.nan))} | "
                  f"{fmt(x['lost'], x['lost_ci'])} |")
    if skipped:
        md.append("")
        md.append(f"Not measured for {', '.join(skipped)}: no leader to lose (one node, or one broker).")
    return md + [""]


def _folder(path):
    """A study folder as a reader of the repository names it: `bench/results/X` rather than the
    absolute path of the clone that ran the study."""
    marker = os.sep + os.path.join("bench", "results") + os.sep
    return path[path.index(marker) + 1:] if marker in path else path


def _folders(capacity_from):
    """latency.capacity_from for the reader: one folder, or several."""
    folders = [capacity_from] if isinstance(capacity_from, str) else capacity_from
    return "`, `".join(_folder(f) for f in folders)


def latency_section(lat_rows, by="fraction", capacity_from=None, references=None):
    if by == "fraction":
        if capacity_from:
            refs = "; ".join(f"{c} {v['capacity']:,.0f} tx/s (n = {v['n']})" for c, v in (references or {}).items())
            whose = (f"Open loop, every repetition at the fraction of the cell's mean capacity measured by the study "
                     f"`{_folders(capacity_from)}` ({refs}): the same offered rate in every repetition of a cell")
        else:
            whose = ("Open loop, each repetition at the fraction of its own capacity (100% = the long run that "
                     "confirmed the capacity, where the study confirms it)")
        md = ["## Latency at fixed fractions of capacity", "",
              whose + "; latency from each transaction's due time to the arrival of "
              "its block. Mean ± 95% t-interval over repetitions; undelivered = share of the run's transactions "
              "not delivered by its end (latency of delivered transactions alone would hide them)."]
        md += ["", "Block interval = tx/block / offered rate: a transaction waits on average half of it for its "
               "block to close, whatever the service, so at different offered rates p50 differs by that much "
               "before the service adds anything; p50 - interval/2 is what the service adds."]
    else:
        md = ["## Latency at fixed offered rates", "",
              "Open loop, every cell at the same offered rate: the same load, so differences are the settings'. "
              "Mean ± 95% t-interval over repetitions; undelivered as above."]
    md += ["", "p99 without outliers: the same mean without repetitions more than 3 scaled MADs from the cell's "
           "median p99 at that point (the declared rule, n >= 4)."]
    md += ["", f"| cell | {'fraction' if by == 'fraction' else 'rate'} | offered tx/s | n | p50 ms | p95 ms | p99 ms | "
           "p99 without outliers | p99.9 ms | max ms | broker ack p50 ms | records / producer batch | tx/block | "
           "block interval ms | p50 - interval/2 ms | undelivered |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in lat_rows:
        und = "–" if _nan(r["undelivered"]) else f"{r['undelivered'] * 100:.2f}%"
        at = f"{r['fraction']:.0%}" if by == "fraction" else f"{r['rate']:,.0f} tx/s"
        interval = block_interval_ms(r["txs_per_block"], r["offered"])
        added = r["p50_ms"] - interval / 2 if not _nan(interval) and not _nan(r["p50_ms"]) else float("nan")
        without = (f"{fmt(r['p99_ms_wo'], r['p99_ms_wo_ci'], 1)} ({r['p99_outliers']} out)" if r["p99_outliers"]
                   else "no outliers")
        md.append(f"| {r['cell']} | {at} | {fmt(r['offered'])} | {r['n']} | "
                  f"{fmt(r['p50_ms'], r['p50_ms_ci'], 1)} | {fmt(r['p95_ms'], r['p95_ms_ci'], 1)} | "
                  f"{fmt(r['p99_ms'], r['p99_ms_ci'], 1)} | "
                  f"{without} | "
                  f"{fmt(r['p999_ms'], r['p999_ms_ci'], 1)} | "
                  f"{fmt(r['max_ms'], r['max_ms_ci'], 1)} | {fmt(r['ack_p50_ms'], None, 1)} | "
                  f"{fmt(r.get('batch_records', math.nan), None, 1)} | {fmt(r['txs_per_block'], None, 0)} | {fmt(interval, None, 0)} | {fmt(added, None, 1)} | {und} |")
    return md + [""]


def block_interval_ms(txs_per_block, offered_tps):
    """How long a block takes to close at this rate (whether cut by size or by its timeout): the
    time a transaction waits for its block is half of it on average."""
    if _nan(txs_per_block) or _nan(offered_tps) or not offered_tps:
        return float("nan")
    return txs_per_block / offered_tps * 1000.0


def latency_comparison_section(lat_rows, ref):
    comps = {m: analysis.latency_comparisons(lat_rows, ref, m) for m in analysis.COMPARED_PERCENTILES}
    if not comps["p99_ms"]:
        return []
    n = len(comps["p99_ms"])
    outlying = any(r["p99_outliers"] for r in lat_rows)
    without = analysis.latency_comparisons(lat_rows, ref, "p99_ms", drop_outliers=True) if outlying else {}
    md = [f"p50 and p99 against `{ref}` at each point (ratio of means, 95% bootstrap interval; Welch's t-test, "
          f"Holm-adjusted over the {n} comparisons of each percentile). At fractions of capacity the offered rates "
          "differ between cells: equal relative load, not equal load."
          + (" Some p99s have outlying repetitions (the latency table): p99 is compared again without them."
             if outlying else ""), "",
          "| cell | at | p50 change | p (Holm) | p99 change | p | p (Holm) |"
          + (" p99 change without outliers | p (Holm) |" if outlying else ""),
          "|---|---|---|---|---|---|---|" + ("---|---|" if outlying else "")]
    for key, c in comps["p99_ms"].items():
        point, cell = key
        c50, wo = comps["p50_ms"].get(key), without.get(key)
        line = (f"| {cell} | {_point_name(point)} | "
                f"{fmt_ratio(c50['ratio'], c50['lo'], c50['hi']) if c50 else '–'} | "
                f"{fmt_p(c50['p_holm']) if c50 else '–'} | {fmt_ratio(c['ratio'], c['lo'], c['hi'])} | "
                f"{fmt_p(c['p'])} | {fmt_p(c['p_holm'])} |")
        if outlying:
            line += (f" {fmt_ratio(wo['ratio'], wo['lo'], wo['hi']) if wo else '–'} | "
                     f"{fmt_p(wo['p_holm']) if wo else '–'} |")
        md.append(line)
    return md + [""]


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


def _point_name(point):
    kind, v = point
    return f"{v:.0%} of capacity" if kind == "fraction" else f"{v:,.0f} tx/s"


def sweep_section(tables, with_capacity):
    md = ["## Single-factor sweeps", "",
          "Each factor moved alone from the base cell (measured once, shared by every sweep, in random order "
          "with the others). Change = ratio of means to the base's, 95% bootstrap interval; p = Welch's t-test "
          "against the base, Holm-adjusted over every comparison of the same metric in the study. Each role's "
          "CPU per transaction against the base is in the CPU section.", ""]
    for factor, rows in tables.items():
        points = list(rows[0]["lat"]) if rows else []
        head = ["level"]
        if with_capacity:
            head += ["n", "capacity tx/s", "change", "p (Holm)"]
        # p99 compared again without outlying repetitions where any level has one.
        outlying = {pt: any(r["lat"][pt][0] and r["lat"][pt][0]["p99_outliers"] for r in rows) for pt in points}
        for pt in points:
            for m in analysis.COMPARED_PERCENTILES:
                head += [f"{m.removesuffix('_ms')} ms at {_point_name(pt)}", "change", "p (Holm)"]
            if outlying[pt]:
                head += ["p99 change without outliers", "p (Holm)"]
        md += [f"### {factor}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [r["level"] + (" (base)" if r["base"] else "")]
            if with_capacity:
                c, cmp_ = r["cap"], r["cmp"]
                cells += [str(c["n"]) if c else "0", fmt(c["mean"], c["ci"]) if c else "–",
                          fmt_ratio(cmp_["ratio"], cmp_["lo"], cmp_["hi"]) if cmp_ else "–",
                          fmt_p(cmp_["p_holm"]) if cmp_ else "–"]
            for pt in points:
                row, cmps = r["lat"][pt]
                for m in analysis.COMPARED_PERCENTILES:
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
    roles = analysis.cpu_roles(lat_rows)
    if not roles:
        return []
    comps = {role: analysis.latency_comparisons(lat_rows, ref, f"{role}_us_per_tx") for role in roles}
    where = "fractions of capacity" if by == "fraction" else "fixed offered rates"
    md = [f"## CPU per transaction per role, at {where}", "",
          "Each role's CPU seconds over the measured window per delivered transaction, on its own CPU set (see the "
          "placement above): what a setting costs each machine of a deployment, whatever the roles share here. "
          f"Mean ± 95% t-interval over repetitions; change against `{ref}` at the same point with a 95% bootstrap "
          "interval, p (Welch) Holm-adjusted over every comparison of that role.", "",
          "| cell | at | n | " + " | ".join(f"{role} µs/tx | change | p (Holm)" for role in roles) + " |",
          "|---|---|---|" + "---|---|---|" * len(roles)]
    for r in lat_rows:
        point = ("fraction", r["fraction"]) if r.get("fraction") is not None else ("rate", r["rate"])
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


def write(out_dir):
    runs, cells, meta = studymod.load_records(out_dir)
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
    comps = analysis.comparisons(cap_rows, ref) if meta.get("design") != "sweep" else []
    lat_rows = analysis.latency_table(meta, rdf, cdf=cdf)
    rate_rows = analysis.latency_table(meta, rdf, by="rate")
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
        if plot_latency(lat_rows, os.path.join(out_dir, "latency.png")):
            md += ["![latency at fractions of capacity](latency.png)", ""]
        md += cpu_section(lat_rows, ref)

    if rate_rows:
        md += latency_section(rate_rows, by="rate")
        if meta.get("design") != "sweep":
            md += latency_comparison_section(rate_rows, ref)
        if plot_latency(rate_rows, os.path.join(out_dir, "latency-at-rates.png"), by="rate"):
            md += ["![latency at fixed rates](latency-at-rates.png)", ""]
        if len({r["rate"] for r in rate_rows}) >= 3 and plot_load_curves(rate_rows, os.path.join(out_dir, "load.png")):
            md += ["The same points as curves against the offered load, beside the utilisation of each run's "
                   "busiest CPU set:", "", "![latency against load](load.png)", ""]
        md += cpu_section(rate_rows, ref, by="rate")
    if plot_series(out_dir, rdf, meta, os.path.join(out_dir, "series.png"), cdf):
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
    if cal_rows:
        md += calibration_section(cal_rows)
        if plot_calibration(cal_rows, os.path.join(out_dir, "calibration.png")):
            md += ["![calibration](calibration.png)", ""]
    if meta.get("design") == "grid" and (cap_rows or lat_rows or rate_rows):
        md += anova_section(analysis.anova(meta, caps, rdf), analysis.anova(meta, caps, rdf, drop_outliers=True))
    if meta.get("design") == "sweep":
        with_capacity = bool(meta["capacity"].get("max_steps", 1)) and any(r["n"] for r in cap_rows)
        md += sweep_section(analysis.sweep_tables(meta, cap_rows, lat_rows + rate_rows), with_capacity)
    md += metrics_section(rdf)
    md += ["## Raw data", "",
           "`runs.jsonl` (one typed record per run, valid or not: `bench/benchlib/record.py`), `cells.jsonl` (each "
           "capacity search: steps, bracket, chain verified), `study.json` (the workload as run, placement, seed "
           "and order), `env.json`, `calibration.json`, and `runs/<id>/` (each run's peer-sim report with its "
           "per-second series and latency histogram summary, its log, the CPU series of every role, and the "
           "orderer's /metrics series).", ""]
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    return path


def one_line(out_dir):
    """The study in a line, for the results index."""
    runs, cells, meta = studymod.load_records(out_dir)
    rdf, cdf = analysis.frames(runs, cells)
    if cdf.empty:
        if any(r.get("kind") == "pp" for r in runs):
            return "calibration only: Kafka's ProducerPerformance against our raw producer, per cell"
        return "no cell finished"
    rows = [r for r in analysis.capacity_table(meta, analysis.capacities(cdf), rdf) if r["n"]]
    if not rows:
        lat = [r for r in analysis.latency_table(meta, rdf, by="rate") if not _nan(r["p99_ms"])]
        if not lat:
            searched = (meta.get("capacity") or {}).get("max_steps", 1)
            return "no capacity found" if searched else \
                "no capacity search; latency at fractions of another study's capacities"
        lo, hi = min(lat, key=lambda r: r["p99_ms"]), max(lat, key=lambda r: r["p99_ms"])
        return (f"no capacity search; p99 at fixed rates from {lo['cell']} {lo['p99_ms']:,.0f} ms "
                f"({lo['rate']:,.0f} tx/s) to {hi['cell']} {hi['p99_ms']:,.0f} ms ({hi['rate']:,.0f} tx/s)")
    top = max(rows, key=lambda r: r["mean"])
    low = min(rows, key=lambda r: r["mean"])
    return f"capacity from {low['cell']} {low['mean']:,.0f} to {top['cell']} {top['mean']:,.0f} tx/s"


def study_drivers(meta):
    """The drivers a study's cells ran on, in cell order: a cell's own, else
    the study's."""
    names = []
    for c in meta.get("cells") or []:
        name = (c.get("driver") if isinstance(c, dict) else None) or meta.get("driver")
        if name and name not in names:
            names.append(name)
    return ", ".join(names) or str(meta.get("driver"))


def write_index(root_dir):
    rows = []
    for d in sorted(glob.glob(os.path.join(root_dir, "*", "study.json"))):
        folder = os.path.dirname(d)
        meta = read_json(d)
        if "cells" not in meta or not isinstance(meta["cells"], list):
            continue  # an older study format: listed by hand in the README
        try:
            e = read_json(os.path.join(folder, "env.json"))
            line = one_line(folder)
        except (OSError, ValueError, KeyError):
            continue
        # A study's NOTE.md (first paragraph) says what the reader must know
        # before using its figures (a flaw found after it ran, say).
        note_path = os.path.join(folder, "NOTE.md")
        if os.path.isfile(note_path):
            first = read_text(note_path).strip().split("\n\n")[0].replace("\n", " ").lstrip("# ")
            line = f"**{first}** {line}"
        import datetime
        day = datetime.datetime.fromtimestamp(meta.get("started_unix", 0)).strftime("%Y-%m-%d")
        rows.append((day, os.path.basename(folder), meta, e, line))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    md = ["# Study results", "",
          "Each folder holds one study's raw data and its `report.md` with plots. Rebuild a report with "
          "`bench/bench report FOLDER`; this page with `bench/bench index bench/results`.", "",
          "| folder | study | preset | driver | placement | date | commit | in one line |",
          "|---|---|---|---|---|---|---|---|"]
    for day, name, meta, e, line in rows:
        md.append(f"| [{name}]({name}/report.md) | {meta['study']} | {meta['preset']} | {study_drivers(meta)} | "
                  f"{meta['placement']} | {day} | `{(e.get('git_commit') or '')[:8]}` | {line} |")
    path = os.path.join(root_dir, "README.md")
    with open(path, "w") as f:
        f.write("\n".join(md) + "\n")
    return path
