"""The results index: bench/results/README.md, a line per study folder
(its NOTE.md's first paragraph first, then the study in a line)."""
import datetime
import glob
import os

from benchlib import analysis
from benchlib.load import load_records
from benchlib.record import read_json, read_text
from benchlib.report_plots import _nan


def one_line(out_dir):
    """The study in a line, for the results index."""
    runs, cells, meta = load_records(out_dir)
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
        day = datetime.datetime.fromtimestamp(meta.get("started_unix", 0)).strftime("%Y-%m-%d")
        rows.append((day, os.path.basename(folder), meta, e, line))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    md = ["# Study results", "",
          "Each folder holds one study's summaries (`study.json`, `env.json`, `calibration.json`, `runs.jsonl`, "
          "`cells.jsonl`, `series.jsonl`) and its `report.md` with plots; the runs' raw files stay where the study "
          "ran. Rebuild a report with `bench/bench report FOLDER`; this page with `bench/bench index bench/results`.",
          "",
          "| folder | study | preset | driver | placement | date | commit | in one line |",
          "|---|---|---|---|---|---|---|---|"]
    for day, name, meta, e, line in rows:
        md.append(f"| [{name}]({name}/report.md) | {meta['study']} | {meta['preset']} | {study_drivers(meta)} | "
                  f"{meta['placement']} | {day} | `{(e.get('git_commit') or '')[:8]}` | {line} |")
    path = os.path.join(root_dir, "README.md")
    with open(path, "w") as f:
        f.write("\n".join(md) + "\n")
    return path
