"""Failover, like for like: what a recovery run lost, and the report's
failover table.

A recovery run (benchlib.study_recovery) logs every answer the peers got
(peer-sim --ack-log) and, once it ends, exports every node's chain (the
killed one's as far as it got). `check_acks` runs the crash campaigns'
independent checker (benchlib.ack_check) over them: what was answered
SUCCESS and is in no chain is *acknowledged-then-lost*; a transaction in
a chain twice, a chain whose hashes do not recompute, or two nodes whose
chains differ on their common prefix is a violation.

`rows` and `section` make the table that puts each cell's failover
figures (median and range over repetitions: first block after the kill,
blocks flowing again, back to full rate, acknowledged-then-lost) beside what its
settings cost in steady state at the workload's fixed rate (p50, p99, CPU
per transaction per role): which settings buy fast failover, and at what
price. Only runs that carry an ack check enter it (studies before it have
none, and their reports stay as they were)."""
import json
import math

from benchlib import ack_check
from benchlib.analysis import ROLES, cell_order, valid
from benchlib.campaign import parse_ack_line

# The checker's line for SUCCESS answers missing from the chain: in a
# recovery run that is the measurement, not a violation.
_MISSING = "acknowledged transaction(s) not in the chain"


def check_acks(ack_logs, exports):
    """The ack logs (paths) against every node's chain ({name: export
    path}): a summary for the run's record."""
    v = ack_check.check(ack_logs, exports, parse_ack_line)
    return {"acknowledged": v["acknowledged"], "acknowledged_missing": v["acknowledged_missing"],
            "doubled": v["doubled"], "in_chain": v["in_chain"], "outcomes": v["outcomes"],
            "torn_log_lines": v["torn_log_lines"], "replicas": v["replicas"],
            "replicas_agree": not any(p.startswith("replicas differ") for p in v["problems"]),
            "violations": [p for p in v["problems"] if _MISSING not in p]}


def streams_of(report):
    """Where peer-sim's streams went (its JSON report's `streams`): the
    orderer addresses, and per address how often the Deliver stream and the
    Broadcast streams moved onto it, and where they were at the end."""
    s = report.get("streams") or {}
    d, b = s.get("deliver") or {}, s.get("broadcast") or {}
    return {"orderers": s.get("orderers"),
            "deliver": {"reconnects": d.get("reconnects"), "switches": d.get("switches") or {},
                        "orderer": d.get("orderer")},
            "broadcast": {"broken": b.get("broken"), "unanswered": b.get("unanswered"),
                          "switches": b.get("switches") or {}, "orderers": b.get("orderers") or {}}}


def _loads(x):
    if isinstance(x, dict):
        return x
    try:
        return json.loads(x) if isinstance(x, str) else None
    except ValueError:
        return None


def _nums(series):
    return sorted(float(v) for v in series if v is not None and not (isinstance(v, float) and math.isnan(v)))


def median_range(values):
    """(median, min, max) of the values; NaNs without any."""
    v = _nums(values)
    if not v:
        return math.nan, math.nan, math.nan
    mid = len(v) // 2
    med = v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
    return med, v[0], v[-1]


def rows(meta, rdf):
    """Per cell with checked recovery runs: n, what was killed, the
    repetitions' failover figures as (median, min, max), the chains'
    agreement, and the steady-state figures at the fixed rate (valid
    `rate` runs: p50, p99, CPU µs per transaction per role, medians)."""
    if rdf.empty or "ack_check" not in rdf or "kind" not in rdf:
        return []
    rec = rdf[(rdf["kind"] == "recovery") & rdf["ack_check"].notna()]
    if rec.empty:
        return []
    ok_all = valid(rdf)
    out = []
    for name in cell_order(meta):
        allr = rec[rec["cell"] == name]
        if allr.empty:
            continue
        ok = allr[allr["valid"].fillna(False).astype(bool)]
        checks = [_loads(x) or {} for x in allr["ack_check"]]
        killed = sorted({k for k in allr.get("killed", []) if isinstance(k, str)})
        row = {"cell": name, "n": len(ok), "invalid": len(allr) - len(ok), "killed": killed,
               "offered": median_range(ok["offered_tps"])[0] if not ok.empty else math.nan,
               "chains_agree": sum(1 for c in checks if c.get("replicas_agree")), "chains_checked": len(checks)}
        for key in ("first_block_ms", "resumed_ms", "resumed_full_rate_ms", "recovery_ms", "acked_lost",
                    "never_acked"):
            row[key] = median_range(ok[key]) if key in ok and not ok.empty else (math.nan,) * 3
        row["acked_lost_total"] = int(sum(_nums(allr["acked_lost"]))) if "acked_lost" in allr else 0
        steady = ok_all[(ok_all["cell"] == name) & (ok_all["kind"] == "rate")] if not ok_all.empty else ok_all
        row["steady_n"] = len(steady)
        for key in ("p50_ms", "p99_ms"):
            row[key] = median_range(steady[key])[0] if key in steady and not steady.empty else math.nan
        for role in ROLES:
            col = f"cpu.{role}.us_per_tx"
            row[f"{role}_us_per_tx"] = median_range(steady[col])[0] if col in steady and not steady.empty \
                else math.nan
        out.append(row)
    return out


def _mr(t, digits=0):
    med, lo, hi = t
    if math.isnan(med):
        return "–"
    f = f"{{:,.{digits}f}}"
    return f.format(med) if lo == hi else f"{f.format(med)} [{f.format(lo)}–{f.format(hi)}]"


def _one(v, digits=0):
    return "–" if v is None or math.isnan(v) else f"{v:,.{digits}f}"


def section(meta, found):
    """The failover table, and the steady-state cost of each cell's settings."""
    if not found:
        return []
    r = meta.get("recovery") or {}
    at = f"{r['rate']:,.0f} tx/s" if r.get("rate") else f"{r.get('fraction', 0):.0%} of each repetition's capacity"
    md = ["## Failover", "",
          f"Per cell, the recovery runs at {at} (kill -9 {r.get('kill_after_s', 0):g} s into the load), as median "
          "[min–max] over the valid repetitions: *first block* = kill -> the first block the peers received after "
          "it (it may have been cut before the kill); *flowing again* = kill -> the first block from which blocks "
          "keep coming, none more than three times their spacing before the kill apart (at least 300 ms), for "
          "5 s; *full rate* = kill -> the end of the first second from which two seconds deliver 90% of twice the "
          "rate, never before *flowing again* (1 s resolution); *longest silence* = kill -> the first block after "
          "the longest silence that follows it (the recovery above; the first block when no gap after the kill is "
          "longer than *flowing again* allows); *acked lost* = answered SUCCESS (the "
          "peers' ack log) but in no "
          "node's chain, checked after the run by the crash campaigns' checker (every node's exported chain, the "
          "killed one's as far as it got); *unanswered* = neither answered nor delivered (a broken stream's "
          "transactions, not resent); *chains agree* = runs whose nodes' chains agree on their common prefix.", "",
          "| cell | killed | n | first block ms | flowing again ms | full rate ms | longest silence ms | "
          "acked lost (total) | unanswered | chains agree |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for x in found:
        extra = f" ({x['invalid']} invalid)" if x["invalid"] else ""
        md.append(f"| {x['cell']} | {', '.join(x['killed']) or '–'} | {x['n']}{extra} | {_mr(x['first_block_ms'])} | "
                  f"{_mr(x['resumed_ms'])} | {_mr(x['resumed_full_rate_ms'])} | {_mr(x['recovery_ms'])} | "
                  f"{_mr(x['acked_lost'])} "
                  f"({x['acked_lost_total']:,}) | {_mr(x['never_acked'])} | "
                  f"{x['chains_agree']} of {x['chains_checked']} |")
    rates = (meta.get("latency") or {}).get("rates") or []
    roles = [role for role in ROLES if any(not math.isnan(x[f"{role}_us_per_tx"]) for x in found)]
    if any(x["steady_n"] for x in found):
        md += ["", "What the same settings cost in steady state, at the fixed rate"
               + (f" ({', '.join(f'{v:,.0f}' for v in rates)} tx/s)" if rates else "")
               + ": medians over the valid runs of latency (due time to delivery) and of CPU per transaction per "
               "role (with several Kafka orderers, *orderer* is all of them).", "",
               "| cell | n | p50 ms | p99 ms | " + " | ".join(f"{role} µs/tx" for role in roles) + " |",
               "|---|---|---|---|" + "---|" * len(roles)]
        for x in found:
            md.append(f"| {x['cell']} | {x['steady_n']} | {_one(x['p50_ms'], 1)} | {_one(x['p99_ms'], 1)} | "
                      + " | ".join(_one(x[f"{role}_us_per_tx"]) for role in roles) + " |")
    return md + [""]
