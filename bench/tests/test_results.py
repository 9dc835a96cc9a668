"""Unit tests of what a study's report concludes from its summaries: the
Pareto fronts, the capacity comparisons read against the search's bracket,
and a report rebuilt from the summaries alone (series.jsonl in place of the
runs' raw reports)."""
import filecmp
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchlib import load, pareto, report  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import read_text, write_json  # noqa: E402
from benchlib.report_sections import bracket_reading  # noqa: E402
import fake_study  # noqa: E402


class ParetoTest(unittest.TestCase):
    def test_front_keeps_only_undominated_points(self):
        pts = [("a", 10, 5), ("b", 8, 4), ("c", 7, 6), ("d", 10, 5.5), ("e", 11, 9)]
        self.assertEqual(pareto.front(pts, (True, False)), ["a", "b", "e"])
        # Less CPU is better too: b (8, 4) beats everything but c (7, 6).
        self.assertEqual(pareto.front(pts, (False, False)), ["b", "c"])
        # Equal points do not dominate each other.
        self.assertEqual(pareto.front([("x", 1, 1), ("y", 1, 1)], (True, False)), ["x", "y"])

    def test_settings_named_are_those_that_differ(self):
        meta = {"cells": [{"name": "a"}, {"name": "b"}],
                "effective": {"a": {"producer": {"linger.ms": "0", "acks": "all"}, "broker": {}, "block": {"n": "1"}},
                              "b": {"producer": {"linger.ms": "5", "acks": "all"}, "broker": {"x": "1"},
                                    "block": {"n": "1"}}}}
        self.assertEqual(pareto.varied_settings(meta),
                         {"a": {"broker.x": "–", "linger.ms": "0"}, "b": {"broker.x": "1", "linger.ms": "5"}})

    def test_a_capacity_study_names_its_front_with_settings(self):
        d = tempfile.mkdtemp()
        try:
            w = wl.load("profiles", "smoke")
            fake_study.write(d, w, {"baseline": 3000, "high-throughput": 9000})
            text = read_text(report.write(d))
            self.assertIn("## Pareto front", text)
            sec = text[text.index("### Capacity and p99 at the capacity"):]
            row = next(ln for ln in sec.splitlines() if ln.startswith("| high-throughput |"))
            self.assertIn("| **yes** |", row)
            self.assertIn("linger.ms=25", row)
            self.assertIn("batch.size=131072", row)
            self.assertTrue(os.path.isfile(os.path.join(d, "pareto.png")))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_a_single_cell_has_no_front(self):
        d = tempfile.mkdtemp()
        try:
            w = wl.load("profiles", "smoke")
            w.cells = w.cells[:1]
            fake_study.write(d, w, {w.cells[0].name: 5000})
            self.assertNotIn("## Pareto front", read_text(report.write(d)))
        finally:
            shutil.rmtree(d, ignore_errors=True)


class BracketTest(unittest.TestCase):
    def test_every_capacity_comparison_states_its_bracket(self):
        d = tempfile.mkdtemp()
        try:
            w = wl.load("profiles", "smoke")
            fake_study.write(d, w, {"baseline": 3000, "high-throughput": 3300})
            text = read_text(report.write(d))
            self.assertIn("a difference inside one bracket is not a finding", text)
            row = next(ln for ln in text.splitlines() if ln.startswith("| high-throughput | +"))
            self.assertRegex(row, r"\| \d\.\d{3} / \d\.\d{3} \|")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_readings(self):
        nan = float("nan")
        self.assertIn("inside one bracket (±11.8%): not a finding", bracket_reading(1.10, 1.118, 1.05, 1.05, 1.2))
        self.assertIn("includes no change: not a finding", bracket_reading(0.868, 1.118, 1.118, 0.744, 1.033))
        self.assertEqual(bracket_reading(1.316, 1.118, 1.118, 1.197, 1.464),
                         "wider than the bracket (±11.8%), interval excludes no change")
        self.assertIn("no bracket", bracket_reading(1.3, nan, 1.1, 1.2, 1.4))


class SummariesTest(unittest.TestCase):
    def test_the_report_rebuilds_from_the_summaries_alone(self):
        d = tempfile.mkdtemp()
        try:
            w = wl.load("load", "smoke")
            fake_study.write(d, w, {c.name: 5000 for c in w.cells})
            first = read_text(report.write(d))
            self.assertIn("![time series](series.png)", first)
            self.assertTrue(os.path.isfile(os.path.join(d, load.SERIES_FILE)))
            kept = tempfile.mkdtemp()
            for f in ("report.md", "series.png", load.SERIES_FILE):
                shutil.copy(os.path.join(d, f), kept)
            shutil.rmtree(os.path.join(d, "runs"))
            self.assertEqual(read_text(report.write(d)), first)
            for f in ("series.png", load.SERIES_FILE):
                self.assertTrue(filecmp.cmp(os.path.join(d, f), os.path.join(kept, f), shallow=False), f)
            shutil.rmtree(kept)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_recovery_figures_are_recomputed_from_the_folded_series(self):
        d = tempfile.mkdtemp()
        try:
            write_json(os.path.join(d, "study.json"), {"recovery": {"full_rate": 0.9}})
            kill = 1_800_000_010_000.0
            blocks = [kill - 500, kill + 20] + [kill + 2500 + 100 * i for i in range(60)]
            series = [{"t": t, "phase": "measured", "delivered": 100, "submitted": 100, "p99_ms": 50.0,
                       "in_flight": 7} for t in range(1, 20)]
            raw = {"clock": {"start_unix_ms": kill - 10_000}, "series": series, "block_unix_ms": blocks,
                   "latency_ms": {"e2e": {}}}
            os.makedirs(os.path.join(d, "runs", "0001"))
            write_json(os.path.join(d, "runs", "0001", "peer-sim.json"), raw)
            run = {"run_id": "0001", "kind": "recovery", "cell": "c", "repetition": 1, "offered_tps": 100,
                   "kill_unix_ms": kill, "recovery_ms": 1.0}
            with open(os.path.join(d, "runs.jsonl"), "w") as f:
                f.write(json.dumps(run) + "\n")
            open(os.path.join(d, "cells.jsonl"), "w").close()
            s = load.Series(d)
            runs, _, _ = load.load_records(d, s)
            self.assertEqual(runs[0]["recovery_ms"], 2500)
            s.save()
            entry = json.loads(read_text(os.path.join(d, load.SERIES_FILE)))
            self.assertNotIn("in_flight", entry["series"][0])
            shutil.rmtree(os.path.join(d, "runs"))
            runs, _, _ = load.load_records(d)
            self.assertEqual(runs[0]["recovery_ms"], 2500)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
