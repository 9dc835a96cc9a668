"""A study's folder read back, for the report and the results index (no
runner, no broker: a clone of the repository is enough).

A run's raw report (runs/<id>/peer-sim.json) stays beside the study but out
of git; what the report draws from it or recomputes is folded into
series.jsonl, one line per run it uses: the per-second series (t, phase,
submitted, delivered, the second's p99) and, for a recovery run, its
blocks' arrival times and the run's clock. Where the raw report is there it
is read (and series.jsonl rewritten from it); where it is not, series.jsonl
stands in for it, so `bench report` rebuilds the same report from the
summaries alone."""
import json
import os

from benchlib.record import read_json, read_jsonl
from benchlib.recovery import recovery_from_report

SERIES_FILE = "series.jsonl"
SERIES_KEYS = ("t", "phase", "submitted", "delivered", "p99_ms")


def series_entry(run_id, report):
    """The part of a run's peer-sim report the report uses, as a line of
    series.jsonl (shaped like the report itself: `series`, `clock`,
    `block_unix_ms`)."""
    out = {"run_id": run_id,
           "series": [{k: p[k] for k in SERIES_KEYS if k in p} for p in report.get("series") or []]}
    if report.get("block_unix_ms") is not None:
        out["block_unix_ms"] = report["block_unix_ms"]
        if report.get("clock"):
            out["clock"] = {"start_unix_ms": report["clock"].get("start_unix_ms", 0)}
    return out


class Series:
    """The per-run series of a study folder: from each run's raw report
    where it is there, else from series.jsonl. `save` writes series.jsonl
    with the runs asked for since the folder was opened."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        path = os.path.join(out_dir, SERIES_FILE)
        self.entries = {e["run_id"]: e for e in read_jsonl(path)} if os.path.isfile(path) else {}
        self.used = set()

    def get(self, run_id):
        """The series.jsonl entry of a run (a dict), or None when neither
        the raw report nor series.jsonl has it."""
        self.used.add(run_id)
        raw = os.path.join(self.out_dir, "runs", run_id, "peer-sim.json")
        if os.path.isfile(raw):
            try:
                self.entries[run_id] = series_entry(run_id, read_json(raw))
            except (OSError, ValueError):
                pass
        return self.entries.get(run_id)

    def points(self, run_id):
        """A run's per-second series, or []."""
        e = self.get(run_id)
        return (e or {}).get("series") or []

    def save(self):
        """Writes series.jsonl (the runs used, in run order); none when no
        run was asked for."""
        path = os.path.join(self.out_dir, SERIES_FILE)
        keep = [self.entries[r] for r in sorted(self.used) if r in self.entries]
        if not keep:
            if os.path.isfile(path):
                os.remove(path)
            return None
        with open(path, "w") as f:
            for e in keep:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        return path


def load_records(out_dir, series=None):
    """(runs as dicts, cells as dicts, study meta): a run counts as valid
    only when it was valid itself and its cell's chain verified; recovery
    figures are recomputed from each recovery run's series (`series`: the
    folder's Series, opened here when not given)."""
    meta = read_json(os.path.join(out_dir, "study.json"))
    runs = read_jsonl(os.path.join(out_dir, "runs.jsonl"))
    cells = read_jsonl(os.path.join(out_dir, "cells.jsonl"))
    verified = {(c["cell"], c["repetition"]): c.get("ledger_verified") for c in cells}
    for r in runs:
        if r["kind"] in ("step", "fraction", "rate") and verified.get((r["cell"], r["repetition"])) is False:
            r["valid"] = False
            r["invalid_reason"] = (r.get("invalid_reason") or "") + "; the cell's chain did not verify"
        if r["kind"] == "recovery" and r.get("kill_unix_ms"):
            if series is None:
                series = Series(out_dir)
            _refresh_recovery(series.get(r["run_id"]), meta, r)
    return runs, cells, meta


def _refresh_recovery(report, meta, r):
    """Recomputes a recovery run's figures from its series and block times,
    so a study is always read with the current definitions (kept in
    runs.jsonl as run)."""
    if not report:
        return
    rate = r.get("offered_tps") or (r.get("capacity_used") or 0) * (r.get("fraction") or 0)
    fig = recovery_from_report(report, r["kill_unix_ms"], rate, (meta.get("recovery") or {}).get("full_rate", 0.9))
    for key in ("first_block_ms", "recovery_ms", "silence_ms", "full_rate_ms"):
        r[key] = fig[key]
    if "resumed_ms" in r:   # runs recorded with it (the failover table's)
        r["resumed_ms"], r["resumed_full_rate_ms"] = fig["resumed_ms"], fig["resumed_full_rate_ms"]
    r["blocks_after_kill"] = fig["blocks_after"]
