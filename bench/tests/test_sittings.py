"""Unit tests of a study's sittings: the run order's seed (drawn per study,
kept on resume, printed by the report)."""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchlib import report, runner, study  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import read_json, read_text, write_json  # noqa: E402
import fake_study  # noqa: E402


class SeedTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_every_new_study_draws_its_own(self):
        seeds = {study.sitting_seed(self.dir, resume=False) for _ in range(5)}
        self.assertEqual(len(seeds), 5, seeds)
        self.assertTrue(all(isinstance(s, int) and 0 <= s < 1 << 31 for s in seeds))

    def test_a_given_seed_is_used(self):
        self.assertEqual(study.sitting_seed(self.dir, resume=False, given=42), 42)
        with self.assertRaisesRegex(runner.RunFailed, "--seed must be"):
            study.sitting_seed(self.dir, resume=False, given=-1)

    def test_a_resumed_study_keeps_its_recorded_seed(self):
        write_json(os.path.join(self.dir, "study.json"), {"seed": 918273})
        self.assertEqual(study.sitting_seed(self.dir, resume=True), 918273)
        self.assertEqual(study.sitting_seed(self.dir, resume=True, given=918273), 918273)
        with self.assertRaisesRegex(runner.RunFailed, "run with seed 918273"):
            study.sitting_seed(self.dir, resume=True, given=7)
        # Not resuming: the folder's old seed is no reason to repeat its order.
        self.assertNotEqual(study.sitting_seed(self.dir, resume=False), 918273)

    def test_a_workload_seed_is_refused_naming_the_flag(self):
        with self.assertRaisesRegex(wl.WorkloadError, "seed is not a workload setting.*--seed N"):
            wl.from_dict({"name": "t", "driver": "kafka-1", "seed": 3, "cells": [{"name": "a"}]})

    def test_the_report_prints_the_recorded_seed_and_its_order(self):
        w = wl.load("profiles", "smoke")
        w.seed = 1234567
        fake_study.write(self.dir, w, {c.name: 5000 for c in w.cells})
        meta = read_json(os.path.join(self.dir, "study.json"))
        self.assertEqual(meta["seed"], 1234567)
        self.assertEqual([o["cells"] for o in meta["order"]], [names for _, names in w.plan()])
        text = read_text(report.write(self.dir))
        self.assertIn("with seed 1234567 (order in `study.json`)", text)


if __name__ == "__main__":
    unittest.main()
