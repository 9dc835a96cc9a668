"""A study report's plots (PNG), each from the tables of benchlib.analysis:
capacity per cell, latency at fractions of capacity or fixed rates, latency
against load, per-second series, the capacity search's steps, the producer
calibration. Each returns whether it drew anything."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchlib import analysis  # noqa: E402


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


def plot_series(series, rdf, meta, path, cdf=None):
    """Small multiples, one per cell: the first repetition's latency run at
    the highest load (of its fractions, its capacity, its fixed rates), per
    second: delivered and submitted tx/s and the p99 of each second, with the
    warm-up shaded, so a reader sees the measured window was steady.
    `series`: the study's load.Series."""
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
        s = series.points(r["run_id"])
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


def plot_pareto(found, path):
    """One panel per Pareto front (benchlib.pareto.fronts): every cell's
    mean with its 95% t-intervals, the cells on the front filled and joined,
    the others open."""
    if not found:
        return False
    fig, axes = _grid(len(found), cols=min(3, len(found)), w=4.8, h=3.6)
    for ax, (title, xlabel, pts, names, _) in zip(axes, found):
        for p in pts:
            on = p["cell"] in names
            ax.errorbar(p["x"], p["y"], xerr=0 if _nan(p["x_ci"]) else p["x_ci"],
                        yerr=0 if _nan(p["y_ci"]) else p["y_ci"], fmt="o", capsize=3,
                        color="#c44e52" if on else "#999999", mfc="#c44e52" if on else "none")
            ax.annotate(p["cell"], (p["x"], p["y"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        on = sorted((p for p in pts if p["cell"] in names), key=lambda p: p["x"])
        ax.plot([p["x"] for p in on], [p["y"] for p in on], "-", color="#c44e52", lw=1, alpha=0.6,
                label="Pareto front")
        ys = [p["y"] for p in pts if p["y"] > 0]
        if ys and max(ys) / min(ys) > 10:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_ylabel("p99 ms (mean, 95% t-interval)", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    save(fig, path, axes[len(found):])
    return True
