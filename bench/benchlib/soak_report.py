"""A soak's summary, report and plot, from its files alone: soak.json (the
settings), soak.jsonl (a row per interval, benchlib.soak_rows), soak-end.json
(how it ended and the checks at the end; absent when the bench was killed)
and env.json. `bench report DIR` rebuilds them the same way.

Per series, over the rows after the warm-up: the least-squares slope per
hour with its 95% t-interval (benchlib.stats.slope_ci95), the mean, the
means of the first and last five minutes of the measured part (a third of
it when it is shorter than 15 minutes), and a verdict:
  flat    the slope's interval includes 0, or even its bound farthest from
          0 moves the series by no more than DRIFT_LIMIT of its mean over
          the measured span
  grows / falls   otherwise, by the sign of the slope
A flat series whose interval includes 0 but is wide enough to allow a
drift over the limit is marked not resolved ("wide"): nothing was seen,
and nothing of that size was excluded either (a longer run narrows it).
The claim of a soak is that the service's memory (every orderer node's and
broker's resident memory) and the p99 latency are flat. Disk use grows with
the chain by design (its slope over the delivered rate is the bytes kept
per transaction), and so does peer-sim's memory (it keeps a small state per
transaction it sent, to match deliveries and answers): both are shown and
judged, and neither is part of the claim. The claim's series are also
fitted over the second half of the measured part alone ("the second
half"): a bound that fills (a cache growing to its limit) makes the whole
run's fit grow even when the series has stopped, and the second half says
whether it has; the report gives both. The t-interval takes the
residuals of consecutive intervals as independent; they are not quite (a
compaction or a collection can span two), so it may be narrower than the
truth: read the plot beside it."""
import math
import os
import statistics

from benchlib import report_plots, soak_rows, stats
from benchlib.record import read_json, read_jsonl, write_json

DRIFT_LIMIT = 0.05
EDGE_S = 300.0
PEER_SIM = soak_rows.PEER_SIM


def _finite(x):
    return x is not None and not (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def resolved(lo, hi, mean, span_h, limit=DRIFT_LIMIT):
    """Whether the slope's interval is narrow enough to exclude a drift over
    the limit: its bound farthest from 0 moves the series by at most
    `limit` of its mean over the span (None when that cannot be said)."""
    if not (_finite(lo) and _finite(hi) and _finite(mean)) or mean == 0:
        return None
    return bool(max(abs(lo), abs(hi)) * span_h / abs(mean) <= limit)


def verdict(slope, lo, hi, mean, span_h, limit=DRIFT_LIMIT):
    """(verdict, why) of one fitted series; see the module's comment."""
    if not _finite(lo) or not _finite(hi):
        return "too few points", "a slope's interval needs three intervals after the warm-up"
    if lo <= 0 <= hi:
        if resolved(lo, hi, mean, span_h, limit) is False:
            return "flat", (f"the slope's 95% interval includes 0, but it is wide: it allows a drift of "
                            f"{lo * span_h / abs(mean):+.1%} to {hi * span_h / abs(mean):+.1%} of the mean over the "
                            f"run, so a drift beyond {limit:.0%} is not excluded")
        return "flat", "the slope's 95% interval includes 0"
    if _finite(mean) and mean != 0:
        drift = max(abs(lo), abs(hi)) * span_h / abs(mean)
        if drift <= limit:
            return "flat", f"over the run the slope moves it by at most {drift:.1%} of its mean (limit {limit:.0%})"
        return ("grows" if slope > 0 else "falls"), \
            f"the interval excludes 0 and allows a drift of up to {drift:.1%} of its mean over the run"
    return ("grows" if slope > 0 else "falls"), "the slope's 95% interval excludes 0"


def fit(points, warmup_s, limit=DRIFT_LIMIT, edge_s=EDGE_S, span_s=None):
    """A series' figures after the warm-up: n, mean, slope_per_h and its
    interval (lo_per_h, hi_per_h), the drift the interval allows over the
    measured span as a share of the mean, first/last window means and the
    verdict. `span_s`: the span the drift is judged over, when not the
    points' own (the second half's slope is judged over the whole run's)."""
    pts = sorted((t, v) for t, v in points if t > warmup_s)
    out = {"n": len(pts), "mean": None, "slope_per_h": None, "lo_per_h": None, "hi_per_h": None,
           "drift_lo": None, "drift_hi": None, "first_mean": None, "last_mean": None, "edge_s": None}
    if not pts:
        out["verdict"], out["why"] = "too few points", "no interval after the warm-up"
        return out
    ts, vs = [t / 3600.0 for t, _ in pts], [v for _, v in pts]
    mean = statistics.fmean(vs)
    slope, lo, hi, _ = stats.slope_ci95(ts, vs)
    span_h = ts[-1] - ts[0] if span_s is None else span_s / 3600.0
    step = statistics.median([b - a for a, b in zip(ts, ts[1:])]) * 3600 if len(ts) > 1 else 0
    edge = min(edge_s, (span_h * 3600 + step) / 3)
    k = max(1, int(round(edge / step))) if step else 1
    out.update(mean=mean, first_mean=statistics.fmean(vs[:k]), last_mean=statistics.fmean(vs[-k:]),
               edge_s=round(k * step, 1) if step else None)
    if _finite(slope):
        out["slope_per_h"] = slope
    if _finite(lo) and _finite(hi):
        out["lo_per_h"], out["hi_per_h"] = lo, hi
        if mean:
            out["drift_lo"], out["drift_hi"] = lo * span_h / abs(mean), hi * span_h / abs(mean)
    out["resolved"] = resolved(lo, hi, mean, span_h, limit)
    out["verdict"], out["why"] = verdict(slope, lo, hi, mean, span_h, limit)
    return out


def _service(key):
    kind, _, name = key.partition(":")
    return kind == "rss" and name != PEER_SIM


def _flatness(fits, memory):
    """The claim's verdicts over `fits`: p99 and every `memory` series flat,
    and (resolved) each interval narrow enough to exclude a drift over the
    limit."""
    p99 = fits.get("latency:p99", {})
    return {"p99_flat": p99.get("verdict") == "flat", "p99_resolved": p99.get("resolved") is True,
            "memory_flat": bool(memory) and all(fits[k]["verdict"] == "flat" for k in memory),
            "memory_resolved": bool(memory) and all(fits[k].get("resolved") is True for k in memory)}


def analyse(rows, warmup_s, limit=DRIFT_LIMIT):
    """{key: fit} for every series of the rows, and the claim: p99 and the
    service's memory flat."""
    ser = soak_rows.series(rows)
    fits = {k: fit(v, warmup_s, limit) for k, v in ser.items()}
    tps = (fits.get("tps:delivered") or {}).get("mean")
    for k, f in fits.items():
        if k.startswith("disk:") and tps and _finite(f.get("slope_per_h")):
            f["bytes_per_tx"] = f["slope_per_h"] * (1 << 20) / (tps * 3600)
        if k.startswith("disk:"):
            f["expected_growth"] = "grows with the chain"
        elif k == f"rss:{PEER_SIM}":
            f["expected_growth"] = "keeps a state per transaction sent"
    memory = [k for k in fits if _service(k)]
    p99 = fits.get("latency:p99", {})
    claim = dict(_flatness(fits, memory), memory_series=memory)
    claim["stable"] = claim["p99_flat"] and claim["memory_flat"]
    claim["judged"] = p99.get("verdict") not in (None, "too few points") and bool(memory) and \
        all(fits[k]["verdict"] != "too few points" for k in memory)
    return fits, claim


def second_half(rows, warmup_s, limit=DRIFT_LIMIT):
    """(start_s, {key: fit}, claim) of the claim's series over the second
    half of the measured part; None when under three intervals fall in it."""
    ser = soak_rows.series(rows)
    ts = [r["t_s"] for r in rows if r["t_s"] > warmup_s]
    if len(ts) < 6:
        return None
    start = warmup_s + (ts[-1] - warmup_s) / 2
    keys = [k for k in ser if _service(k)] + (["latency:p99"] if "latency:p99" in ser else [])
    # Judged over the whole measured span: a slope that would move a series by more than the
    # limit over the run is not flat because the half it was fitted on is shorter.
    fits = {k: fit(ser[k], start, limit, span_s=ts[-1] - ts[0]) for k in keys}
    return start, fits, dict(_flatness(fits, [k for k in keys if _service(k)]), start_s=start)


def _claim(flat, narrow, judged=True):
    if not judged:
        return "not judged (under three intervals after the warm-up)"
    if not flat:
        return "NOT flat"
    return "flat" if narrow else "flat, but not resolved (an interval too wide to exclude a drift over the limit)"


def _fmt(x, digits=1):
    return "–" if not _finite(x) else f"{x:,.{digits}f}"


def _digits(f):
    m = abs(f.get("mean") or 0)
    return 0 if m >= 1000 else 1 if m >= 10 else 2 if m >= 0.1 else 3


def _slope_digits(f):
    """Decimals that show the slope's interval to two significant digits
    of its half-width (the mean's when the interval has no width)."""
    half = (f["hi_per_h"] - f["lo_per_h"]) / 2 if _finite(f["lo_per_h"]) else 0
    if half <= 1e-9 * max(1.0, abs(f.get("mean") or 0)):
        return _digits(f)
    return max(0, min(6, 1 - math.floor(math.log10(half))))


def _label(key):
    kind, _, name = key.partition(":")
    what, unit = soak_rows.KINDS[kind]
    return f"{what}, {name} ({unit})"


def metric_table(fits):
    lines = ["| series | n | mean | slope per hour [95% interval] | drift over the run [interval] | "
             "first / last window | verdict |", "|---|---|---|---|---|---|---|"]
    for k, f in fits.items():
        d, sd = _digits(f), _slope_digits(f)
        slope = _fmt(f["slope_per_h"], sd)
        if _finite(f["lo_per_h"]):
            slope += f" [{_fmt(f['lo_per_h'], sd)}, {_fmt(f['hi_per_h'], sd)}]"
        drift = "–" if not _finite(f["drift_lo"]) else f"[{f['drift_lo']:+.1%}, {f['drift_hi']:+.1%}]"
        edge = f" ({f['edge_s'] / 60:g} min)" if f.get("edge_s") else ""
        v = f["verdict"] + (f" (not judged: {f['expected_growth']})" if f.get("expected_growth") else
                            " (wide)" if f["verdict"] == "flat" and f.get("resolved") is False else "")
        if _finite(f.get("bytes_per_tx")) and f["verdict"] == "grows":
            v += f"; {f['bytes_per_tx']:,.0f} bytes per delivered tx"
        lines.append(f"| {_label(k)} | {f['n']} | {_fmt(f['mean'], d)} | {slope} | {drift} | "
                     f"{_fmt(f['first_mean'], d)} / {_fmt(f['last_mean'], d)}{edge} | {v} |")
    return lines


def _check_lines(end):
    if not end:
        return ["No end record (soak-end.json): the bench was killed before the checks. Every interval it "
                "finished is in soak.jsonl and in the table above."]
    how = {"completed": "ran its whole length", "interrupted": "was ended early by a signal",
           "failed": "failed"}.get(end["ended"], end["ended"])
    lines = [f"The run {how}" + (f": {end['reason']}" if end.get("reason") else "") + "."]
    ps = end.get("peer_sim") or {}
    if ps:
        lines.append(f"peer-sim (exit {ps.get('exit_code')}): {ps.get('submitted', 0):,} submitted, "
                     f"{ps.get('acked', 0):,} acknowledged, {ps.get('delivered', 0):,} delivered, "
                     f"{ps.get('failed', 0):,} failed, {ps.get('duplicates', 0):,} doubled, "
                     f"{ps.get('undelivered_acked', 0):,} acknowledged but never delivered.")
    v = end.get("ack_check")
    if v:
        lines.append(f"Checker (benchlib/ack_check.py, the ack log against every node's exported ledger): "
                     f"{v['acknowledged']:,} acknowledged, {v['acknowledged_missing']} of them missing, "
                     f"{v['doubled']} doubled, {v['unacknowledged_in_chain']:,} unacknowledged in the chain, "
                     f"height {v['height']}, replicas {v['replicas']}.")
    disk = {k: v for k, v in (end.get("disk_bytes_end") or {}).items() if v is not None}
    done = ps.get("delivered")
    if disk:
        lines.append("Disk use once the service stopped: " + ", ".join(
            f"{k} {v / (1 << 20):,.0f} MiB" + (f" ({v / done:,.0f} bytes per delivered tx)" if done else "")
            for k, v in disk.items()) + ".")
    nodes = end.get("nodes") or {}
    if nodes:
        lines.append("Ledgers: " + "; ".join(
            f"{n}: {'verifies' if x.get('verified') else 'DOES NOT VERIFY'}, height {x.get('height')}"
            for n, x in nodes.items()) + (". Replicas identical (same height and last hash)."
                                          if end.get("replicas_identical") else ". Replicas DIFFER."))
    lines.append("Verdict of the checks: " + ("OK" if end.get("ok") else
                                              "VIOLATED: " + "; ".join(end.get("problems") or [])))
    return ["- " + x for x in lines]


def plot(rows, fits, warmup_s, path):
    """soak.png: a panel per kind of series over minutes, the warm-up
    shaded, each series' least-squares line after it dashed."""
    ser = soak_rows.series(rows)
    kinds = [k for k in soak_rows.KINDS if any(key.startswith(k + ":") for key in ser)]
    if not kinds:
        return False
    fig, axes = report_plots._grid(len(kinds), cols=3, w=5.0, h=3.4)
    for ax, kind in zip(axes, kinds):
        for i, (key, pts) in enumerate((k, v) for k, v in ser.items() if k.startswith(kind + ":")):
            color = f"C{i % 10}"
            ax.plot([t / 60 for t, _ in pts], [v for _, v in pts], ".-", color=color, lw=1, ms=3,
                    label=key.partition(":")[2])
            f = fits.get(key) or {}
            after = [t for t, _ in pts if t > warmup_s]
            if _finite(f.get("slope_per_h")) and len(after) > 1:
                mean_t = statistics.fmean(after) / 3600
                a = f["mean"] - f["slope_per_h"] * mean_t
                xs = [after[0], after[-1]]
                ax.plot([x / 60 for x in xs], [a + f["slope_per_h"] * x / 3600 for x in xs], "--", color=color,
                        lw=1, alpha=0.8)
        if warmup_s > 0:
            ax.axvspan(0, warmup_s / 60, color="#dddddd", alpha=0.6, label="warm-up (not fitted)")
        what, unit = soak_rows.KINDS[kind]
        ax.set_title(what, fontsize=9)
        ax.set_xlabel("minutes since the load started", fontsize=7)
        ax.set_ylabel(unit, fontsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    report_plots.save(fig, path, axes[len(kinds):])
    return True


def write(out):
    """summary.json, report.md and soak.png of the soak in `out`; the
    report's path."""
    settings = read_json(os.path.join(out, "soak.json"))
    rows = read_jsonl(os.path.join(out, "soak.jsonl"), torn_tail=True)
    end_path = os.path.join(out, "soak-end.json")
    end = read_json(end_path) if os.path.isfile(end_path) else None
    warmup_s, limit = settings["warmup_s"], settings.get("drift_limit", DRIFT_LIMIT)
    fits, claim = analyse(rows, warmup_s, limit)
    half = second_half(rows, warmup_s, limit)
    done_s = rows[-1]["t_s"] if rows else 0.0
    summary = {"driver": settings["driver"], "rate": settings["rate"], "fraction": settings.get("fraction"),
               "capacity": settings.get("capacity"), "planned_s": settings["duration_s"], "done_s": done_s,
               "intervals": len(rows), "interval_s": settings["interval_s"], "warmup_s": warmup_s,
               "drift_limit": limit, "claim": claim, "series": fits, "end": end,
               "second_half": None if half is None else {"claim": half[2], "series": half[1]}}
    write_json(os.path.join(out, "summary.json"), summary)
    drew = plot(rows, fits, warmup_s, os.path.join(out, "soak.png"))
    cap = settings.get("capacity")
    load = f"{settings['rate']:,} tx/s"
    if cap:
        load += (f" ({settings['rate'] / cap['capacity']:.0%} of {cap['capacity']:,.0f} tx/s, the mean capacity of "
                 f"cell `{cap['cell']}` in `{cap['study']}`, n = {cap['n']})")
    sett = settings.get("settings") or {}
    block = sett.get("block") or {}
    lines = [f"# Soak: {settings['driver']} at {settings['rate']:,} tx/s", "",
             f"Open-loop Broadcast load of {load}, {sett.get('peers')} peers, {sett.get('tx_size')}-byte "
             f"transactions, blocks of {block.get('max_message_count')} transactions / {block.get('batch_timeout')} "
             f"/ {block.get('preferred_max_bytes')} (settings from {settings.get('settings_from')}), planned for "
             f"{settings['duration_s'] / 60:g} min, sampled every {settings['interval_s']:g} s; CPUs: "
             + ", ".join(f"{r} {c}" for r, c in (settings.get("roles_cpus") or {}).items()) + f"; seed {settings.get('seed')}, channel `{settings.get('channel')}`.", "",
             f"**{done_s / 60:.1f} of {settings['duration_s'] / 60:g} minutes done ({len(rows)} intervals).** "
             f"The first {warmup_s:g} s are warm-up: drawn, never fitted.", "",
             f"**Memory ({', '.join(k.partition(':')[2] for k in claim['memory_series']) or 'none'}): "
             f"{_claim(claim['memory_flat'], claim['memory_resolved'], claim['judged'])}; "
             f"p99: {_claim(claim['p99_flat'], claim['p99_resolved'], claim['judged'])}.**",
             "", "## Every series", "",
             f"Least-squares slope per hour after the warm-up with its 95% t-interval (n - 2 degrees of freedom); "
             f"drift = the interval's bounds times the measured span, as a share of the mean; first / last = "
             f"means of the first and last window of the measured part. Flat: the interval includes 0, or its "
             f"bound farthest from 0 moves the series by at most {limit:.0%} of its mean over the run.", ""]
    lines += metric_table(fits)
    if half is not None:
        start, hfits, hc = half
        lines += ["", "## The second half", "",
                  f"The same fit of the service's memory and p99 over minutes {start / 60:g}-{done_s / 60:g} alone: "
                  f"a bound that fills (a cache growing to its limit) makes the whole run's fit grow even once the "
                  f"series has stopped; this says whether it has (its slope's drift judged over the whole measured span, as above). **Memory: "
                  f"{_claim(hc['memory_flat'], hc['memory_resolved'])}; p99: "
                  f"{_claim(hc['p99_flat'], hc['p99_resolved'])}** (over the second half).", ""]
        lines += metric_table(hfits)
    lines += ["", "## Nothing acknowledged lost", ""] + _check_lines(end)
    if drew:
        lines += ["", "![soak](soak.png)"]
    notes = [r for r in rows if r.get("note")]
    if notes:
        lines += ["", "## Notes", ""] + [f"- at {r['t_s']:.0f} s: {r['note']}" for r in notes]
    lines += ["", "Raw data: `soak.jsonl` (a row per interval: peer-sim's progress line and each process's "
              "/proc reading, bench/benchlib/soak_rows.py), `soak.json` (settings), `soak-end.json` (the end and "
              "the checks), `env.json`; this report, `summary.json` and `soak.png` are rebuilt from them by "
              "`bench report DIR`."]
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
