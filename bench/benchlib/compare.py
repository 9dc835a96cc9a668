"""Comparisons between a study's cells: each cell against the reference
cell (ratio of means with a 95% bootstrap interval, Welch's t-test,
Holm-adjusted), at every latency point, level by level in a sweep, and the
factorial ANOVA with residual checks."""
import math

from benchlib import stats
from benchlib.analysis import ROLES, valid


def comparisons(rows, ref, metric_values="values"):
    """Each cell against the reference: ratio of mean capacity with its
    bootstrap interval, Welch p, Holm-adjusted across the comparisons."""
    base = next((r for r in rows if r["cell"] == ref), None)
    if base is None:
        return []
    out = []
    for r in rows:
        if r["cell"] == ref:
            continue
        point, lo, hi = stats.bootstrap_ratio(r[metric_values], base[metric_values])
        out.append({"cell": r["cell"], "ratio": point, "lo": lo, "hi": hi,
                    "p": stats.welch_p(r[metric_values], base[metric_values])})
    adj = stats.holm([c["p"] for c in out])
    for c, a in zip(out, adj):
        c["p_holm"] = a
    return out


def anova(meta, caps, rdf, drop_outliers=False):
    """For grid designs: ANOVA (all main effects and interactions) of the
    capacity, and at every latency point (each fraction of capacity, each
    fixed rate) of p50, p99 and each role's CPU per transaction; with
    residual checks. Returns a list of (title, table DataFrame, R², checks,
    n, dropped)."""
    import statsmodels.api as sm
    from statsmodels.formula.api import ols

    if meta.get("design") != "grid":
        return []
    factors = list(meta["factors"])
    cells = {c["name"]: c for c in meta["cells"]}
    names = {f: f"F{i}" for i, f in enumerate(factors)}

    def with_factors(d):
        for f in factors:
            d[names[f]] = d["cell"].map(lambda n: cells[n]["factors"].get(f))
        return d

    data = []
    if not caps.empty and caps["capacity"].notna().any():   # a study with no capacity search has none
        c = caps[caps["usable"]][["cell", "capacity"]].rename(columns={"capacity": "y"})
        data.append(("Capacity (tx/s)", with_factors(c.copy())))
    for kind, key, at in (("fraction", "fraction", lambda v: f"{v:.0%} of capacity"),
                          ("rate", "offered_tps", lambda v: f"{v:,.0f} tx/s")):
        runs = valid(rdf, kind)
        if runs.empty:
            continue
        if kind == "rate":   # a fixed rate is offered exactly; group by the workload's rate
            runs = runs.assign(offered_tps=runs["offered_tps"].round())
        for v in sorted(runs[key].dropna().unique()):
            r = runs[runs[key] == v]
            responses = [("p50_ms", "p50 latency", "ms"), ("p99_ms", "p99 latency", "ms")]
            responses += [(f"cpu.{role}.us_per_tx", f"{role} CPU per transaction", "µs") for role in ROLES
                          if f"cpu.{role}.us_per_tx" in r and r[f"cpu.{role}.us_per_tx"].notna().any()]
            for col, what, unit in responses:
                if col not in r:
                    continue
                d = r[["cell", col]].rename(columns={col: "y"})
                data.append((f"{what} at {at(v)} ({unit})", with_factors(d.copy())))
    out = []
    for title, d in data:
        d = d.dropna()
        dropped = 0
        if d.empty or d.groupby("cell").size().min() < 2 or d["cell"].nunique() < len(cells):
            out.append((title, None, math.nan, {}, len(d), 0))
            continue
        formula = "y ~ " + " * ".join(f"C({names[f]})" for f in factors)
        model = ols(formula, data=d).fit()
        if drop_outliers:
            st = model.get_influence().resid_studentized_external
            keep = abs(st) <= 3
            dropped = int((~keep).sum())
            d = d[keep]
            if dropped:
                model = ols(formula, data=d).fit()
        table = sm.stats.anova_lm(model, typ=2)
        table.index = [_rename(i, names) for i in table.index]
        checks = stats.residual_checks(model, d["cell"].reset_index(drop=True))
        out.append((title, table, model.rsquared, checks, len(d), dropped))
    return out


def _rename(term, names):
    for f, n in names.items():
        term = term.replace(f"C({n})", f)
    return term


def point_of(row):
    """A latency row's point: ('fraction', f) or ('rate', r)."""
    return ("fraction", row["fraction"]) if row.get("fraction") is not None else ("rate", row["rate"])


def latency_points(lat_rows):
    """The latency points of a study: point_of keys, in order, with
    {cell: row} each."""
    points = {}
    for r in lat_rows:
        points.setdefault(point_of(r), {})[r["cell"]] = r
    return dict(sorted(points.items()))


def latency_comparisons(lat_rows, ref, metric="p99_ms", drop_outliers=False):
    """A metric (p99_ms, p50_ms, <role>_us_per_tx) of each cell against the
    reference cell's at every latency point (ratio of means, bootstrap
    interval, Welch p), Holm-adjusted over all of them together:
    {(point, cell): comparison}. drop_outliers: each cell's repetitions
    outlying by the declared rule are left out first."""
    out = {}
    for point, by_cell in latency_points(lat_rows).items():
        rows = [{"cell": c, "values": r.get(f"{metric}_values") or []} for c, r in by_cell.items()]
        if drop_outliers:
            rows = [dict(r, values=stats.without_outliers(r["values"])) for r in rows]
        if not any(r["cell"] == ref and r["values"] for r in rows):
            continue
        for c in comparisons([r for r in rows if r["values"]], ref):
            out[(point, c["cell"])] = c
    adj = stats.holm([c["p"] for c in out.values()])
    for c, a in zip(out.values(), adj):
        c["p_holm"] = a
    return out


def cpu_roles(lat_rows):
    """The roles with a CPU figure in any latency row, in ROLES order."""
    return [role for role in ROLES if any(r.get(f"{role}_us_per_tx_values") for r in lat_rows)]


COMPARED_PERCENTILES = ("p50_ms", "p99_ms")


def sweep_tables(meta, cap_rows, lat_rows):
    """For sweep designs: {factor: [rows]} in the workload's level order,
    each level's capacity (ratio to the base, bootstrap interval, Holm p
    over the study's capacity comparisons) and its p50 and p99 at every
    latency point (fractions of capacity or fixed rates; ratio to the base's
    and Holm p over the study's comparisons of the same percentile; p99
    also without outlying repetitions, "p99_ms_wo"): "lat" maps each point
    to (latency row, {metric: comparison})."""
    if meta.get("design") != "sweep":
        return {}
    base = meta["base"]
    by_cell = {r["cell"]: r for r in cap_rows if r["n"]}
    comps = {c["cell"]: c for c in comparisons([r for r in cap_rows if r["n"]], base)}
    lat_cmp = {m: latency_comparisons(lat_rows, base, m) for m in COMPARED_PERCENTILES}
    lat_cmp["p99_ms_wo"] = latency_comparisons(lat_rows, base, "p99_ms", drop_outliers=True)
    points = latency_points(lat_rows)
    cells = {c["name"]: c for c in meta["cells"]}
    out = {}
    for factor, levels in meta["factors"].items():
        rows = []
        for level in levels:
            name = next((n for n, c in cells.items() if c.get("sweep_factor") == factor
                         and c["factors"].get(factor) == level), None)
            is_base = name is None and cells[base]["factors"].get(factor) == level
            name = base if is_base else name
            if name is None:
                continue
            rows.append({"level": level, "cell": name, "base": is_base, "cap": by_cell.get(name),
                         "cmp": comps.get(name),
                         "lat": {pt: (by_c.get(name), {m: c.get((pt, name)) for m, c in lat_cmp.items()})
                                 for pt, by_c in points.items()}})
        out[factor] = rows
    return out
