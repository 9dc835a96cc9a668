"""The Pareto front of a study's cells: the configurations no other cell
beats on both of two figures at once.

  - a study that searched capacity: (capacity, higher is better; p99 at the
    capacity, the p99 of the run that established it, lower is better);
  - at every latency point (a fixed offered rate, or a fraction of
    capacity): (CPU per delivered transaction summed over the roles,
    lower is better; p99, lower is better).

A cell is on the front when no other cell is at least as good on both
figures and better on one (means over repetitions). Each front names the
cells' settings: those that differ between the study's cells (producer,
broker and block settings, and the ordering service)."""
import math

from benchlib.analysis import ROLES, cell_order
from benchlib.stats import ci95, fmt


def _ok(x):
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def front(points, better):
    """The names of the points on the front. points: [(name, a, b)];
    better: (a_is_higher_better, b_is_higher_better)."""
    def at_least(x, y, higher):
        return x >= y if higher else x <= y

    out = []
    for name, a, b in points:
        dominated = any(at_least(a2, a, better[0]) and at_least(b2, b, better[1]) and (a2, b2) != (a, b)
                        for n2, a2, b2 in points if n2 != name)
        if not dominated:
            out.append(name)
    return out


def varied_settings(meta):
    """{cell: {setting: value}} of the settings that differ between the
    study's cells ('broker.' and 'block.' prefixed; 'driver' for the
    ordering service)."""
    eff = meta.get("effective") or {}
    drivers = meta.get("drivers") or {}
    flat = {}
    for name in cell_order(meta):
        e = eff.get(name) or {}
        s = dict((e.get("producer") or {}))
        s.update({f"broker.{k}": v for k, v in (e.get("broker") or {}).items()})
        s.update({f"block.{k}": v for k, v in (e.get("block") or {}).items()})
        for k in ("tx_size", "peers"):
            if k in e:
                s[k] = str(e[k])
        if name in drivers:
            s["driver"] = drivers[name].get("name", "")
        flat[name] = s
    keys = sorted({k for s in flat.values() for k in s})
    varied = [k for k in keys if len({s.get(k) for s in flat.values()}) > 1]
    return {name: {k: s.get(k, "–") for k in varied} for name, s in flat.items()}


def capacity_points(cap_rows, caps):
    """[{cell, x, x_ci, y, y_ci, n}]: mean capacity and mean p99 at it over
    each cell's usable searches."""
    out = []
    for r in cap_rows:
        if not r["n"] or caps is None or caps.empty:
            continue
        g = caps[(caps["cell"] == r["cell"]) & caps["usable"]]
        p99 = [float(v) for v in g.get("p99_at_capacity", []) if _ok(v)]
        if not p99:
            continue
        y, y_ci = ci95(p99)
        out.append({"cell": r["cell"], "x": r["mean"], "x_ci": r["ci"], "y": y, "y_ci": y_ci, "n": r["n"]})
    return out


def cpu_points(lat_rows):
    """{point name: [{cell, x, y, y_ci, n}]}: at each latency point, CPU per
    transaction summed over the roles that reported it, and p99."""
    out = {}
    for r in lat_rows:
        roles = [role for role in ROLES if _ok(r.get(f"{role}_us_per_tx"))]
        if not roles or not _ok(r.get("p99_ms")):
            continue
        at = f"{r['fraction']:.0%} of capacity" if r.get("fraction") is not None else f"{r['rate']:,.0f} tx/s"
        per_run = [r.get(f"{role}_us_per_tx_values") or [] for role in roles]
        if all(len(v) == r["n"] for v in per_run):   # every run reported every role: the sum's interval
            x, x_ci = ci95([sum(v) for v in zip(*per_run)])
        else:
            x, x_ci = sum(r[f"{role}_us_per_tx"] for role in roles), math.nan
        out.setdefault(at, []).append({"cell": r["cell"], "x": x, "x_ci": x_ci, "y": r["p99_ms"],
                                       "y_ci": r["p99_ms_ci"], "n": r["n"], "roles": roles})
    return out


def fronts(meta, cap_rows, caps, lat_rows):
    """[(title, x label, points, names on the front, x higher is better)]
    for every comparison of two or more cells the study allows."""
    out = []
    if (meta.get("capacity") or {}).get("max_steps", 1):
        pts = capacity_points(cap_rows, caps)
        if len(pts) >= 2:
            out.append(("capacity and p99 at the capacity", "capacity tx/s", pts,
                        front([(p["cell"], p["x"], p["y"]) for p in pts], (True, False)), True))
    for at, pts in cpu_points(lat_rows).items():
        if len(pts) >= 2:
            out.append((f"CPU per transaction and p99 at {at}", "CPU µs/tx (all roles)", pts,
                        front([(p["cell"], p["x"], p["y"]) for p in pts], (False, False)), False))
    return out


def section(meta, found):
    """Markdown lines: each front's cells, with their figures and settings."""
    if not found:
        return []
    settings = varied_settings(meta)
    md = ["## Pareto front", "",
          "The cells no other cell beats on both figures at once (means over repetitions): for capacity, a "
          "higher capacity with a lower p99 at it; at a latency point, less CPU per transaction (orderer, "
          "broker(s), replicas and peers together) with a lower p99. Every other cell is dominated: some cell "
          "on the front is at least as good on both. Means decide here; read each figure's interval in the "
          "tables above before calling two cells different. Settings: those that differ between the study's "
          "cells.", ""]
    for title, xlabel, pts, names, _ in found:
        md += [f"### {title[0].upper() + title[1:]}", "",
               f"| cell | on the front | n | {xlabel} | p99 ms | settings |", "|---|---|---|---|---|---|"]
        for p in sorted(pts, key=lambda p: (p["cell"] not in names, -p["x"] if xlabel.startswith("capacity")
                                            else p["x"])):
            s = ", ".join(f"{k}={v}" for k, v in settings.get(p["cell"], {}).items()) or "–"
            md.append(f"| {p['cell']} | {'**yes**' if p['cell'] in names else 'no'} | {p['n']} | "
                      f"{fmt(p['x'], p['x_ci'], 0 if xlabel.startswith('capacity') else 1)} | "
                      f"{fmt(p['y'], p['y_ci'], 1)} | {s} |")
        md.append("")
    return md
