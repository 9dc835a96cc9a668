"""Unit tests of the reports: each section and plot, built from model
studies written by fake_study.py."""
import math
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchlib import analysis, load, report, report_sections, results_index  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import read_text  # noqa: E402
import fake_study  # noqa: E402


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bench-report-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def build(self, name, **kw):
        w = wl.load(name)
        w.seed = 20261128   # the run order, and so the model's noise, of every report test alike
        effects = {"batch.size": {"131072": 1.4}, "linger.ms": {"25": 1.3}}
        fake_study.write(self.dir, w, fake_study.true_capacities(w, effects=effects), **kw)
        path = report.write(self.dir)
        return w, read_text(path)

    def assert_png(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)

    def test_profiles_report(self):
        w, md = self.build("profiles", invalid_run=("baseline", 2))
        for section in ("## Run integrity", "## Capacity", "## Latency at fixed fractions of capacity",
                        "## Calibration: Kafka's ProducerPerformance against our raw producer", "## Raw data"):
            self.assertIn(section, md)
        self.assertIn("1 invalid", md)
        self.assertIn("Placement **isolated**: orderer on CPU 1", md)
        for png in ("capacity.png", "latency.png", "series.png", "search.png", "calibration.png"):
            self.assert_png(png)
        # The invalid run is out of its cell's latency figures: 4 of 5 repetitions remain.
        self.assertRegex(md, r"\| baseline \| 100% \| [\d,]+ \| 4 \|")
        self.assertRegex(md, r"\| high-throughput \| 100% \| [\d,]+ \| 5 \|")
        # Calibration: raw / PP near the model's 1.3.
        self.assertRegex(md, r"\| 1\.[23]\dx \[")

    def test_factorial_report_has_anova_with_residual_checks_and_an_outlier_refit(self):
        _, md = self.build("factorial", outlier=("b131072-l25-cnone", 3, 0.5))
        self.assertIn("## Factorial ANOVA", md)
        self.assertIn("Shapiro-Wilk p =", md)
        self.assertIn("Brown-Forsythe p =", md)
        self.assertIn("Without 1 outlier(s)", md)
        # At one offered rate: p50, p99 and every role's CPU per transaction, each its own ANOVA.
        for title in ("p50 latency at 4,000 tx/s (ms)", "p99 latency at 4,000 tx/s (ms)",
                      "orderer CPU per transaction at 4,000 tx/s (µs)", "broker CPU per transaction at 4,000 tx/s (µs)",
                      "peers CPU per transaction at 4,000 tx/s (µs)"):
            self.assertIn(f"### {title}", md)
        section = md.split("### broker CPU per transaction at 4,000 tx/s (µs)")[1].split("###")[0]
        rows = [l for l in section.splitlines() if l.startswith("| batch.size |")]
        self.assertTrue(rows and "<1e-4" in rows[0], rows)
        # The orderer's cost is the same in every cell of the model: no effect to find.
        section = md.split("### orderer CPU per transaction at 4,000 tx/s (µs)")[1].split("###")[0]
        rows = [l for l in section.splitlines() if l.startswith("| batch.size |")]
        self.assertTrue(rows and "<1e-4" not in rows[0], rows)
        self.assertIn("## CPU per transaction per role, at fixed offered rates", md)
        # The latency table gives the outlying repetition's p99 with and without it.
        self.assertRegex(md, r"\| b131072-l25-cnone \| 4,000 tx/s \| 4,000 \| 5 \| [^|]+ \| [^|]+ \| [^|]+ \| "
                             r"[\d.]+ ± [\d.]+ \(1 out\) \|")
        self.assertRegex(md, r"\| b16384-l0-cnone \| 4,000 tx/s \| 4,000 \| 5 \| [^|]+ \| [^|]+ \| [^|]+ \| "
                             r"no outliers \|")
        # ... and its comparison with the reference once more without that repetition.
        self.assertIn("| p99 change without outliers | p (Holm) |", md)

    def test_a_capacity_grid_is_analysed_too(self):
        import yaml
        d = yaml.safe_load(read_text(os.path.join(wl.WORKLOAD_DIR, "factorial.yaml")))
        d["capacity"] = {"slo_p99_ms": 500, "start_rate": 4000, "growth": 1.5, "precision": 0.05, "max_steps": 8,
                         "step_window_s": 10, "warmup_max_s": 10}
        d["latency"] = {"fractions": [], "rates": [], "window_s": 60}
        path = os.path.join(self.dir, "w.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(d, f)
        w = wl.load(path)
        effects = {"batch.size": {"131072": 1.4}, "linger.ms": {"25": 1.3}}
        fake_study.write(self.dir, w, fake_study.true_capacities(w, effects=effects))
        md = read_text(report.write(self.dir))
        section = md.split("### Capacity (tx/s)")[1].split("###")[0]
        rows = [l for l in section.splitlines() if l.startswith("| batch.size |")]
        self.assertTrue(rows and "<1e-4" in rows[0], rows)

    def test_sweeps_report_is_holm_corrected_per_level(self):
        w, md = self.build("sweeps")
        self.assertIn("## Single-factor sweeps", md)
        for factor in w.factors:
            self.assertIn(f"### {factor}", md)
        self.assertIn("| 0 (base) |", md)
        self.assertIn("Holm", md)
        # The model's +40% comes back through x1.25 steps at 12% resolution: between +25% and +56%.
        self.assertRegex(md, r"\| 131072 \| 5 \| [\d,]+ ± [\d,]+ \| \+(2[5-9]|[34]\d|5[0-6])\.\d% \[")

    def test_a_sweep_preset_measures_one_level_against_the_base(self):
        w = wl.load("sweeps", "vs-8k")
        self.assertEqual([c.name for c in w.cells], ["base", "batch.size=8192"])
        self.assertEqual(w.capacity.step_window_s, 60)

    def test_a_confirmed_capacity_reads_the_confirmation_as_the_100_percent_point(self):
        path = os.path.join(self.dir, "w.yaml")
        import yaml
        d = yaml.safe_load(read_text(os.path.join(wl.WORKLOAD_DIR, "profiles.yaml")))
        d["capacity"].update(step_window_s=10, confirm_window_s=60, retry_first_failure=True)
        with open(path, "w") as f:
            yaml.safe_dump(d, f)
        w = wl.load(path)
        fake_study.write(self.dir, w, fake_study.true_capacities(w))
        md = read_text(report.write(self.dir))
        self.assertRegex(md, r"\| baseline \| 100% \| [\d,]+ \| 5 \|")
        self.assertIn("then 60 s runs find the highest of 60%, 70%, 80%, 90%, 100% of that rate still sustained", md)
        self.assertIn("p50 and p99 against `baseline` at each point", md)

    def test_rates_only_sweep_compares_latency_at_one_load_without_a_capacity(self):
        w, md = self.build("sweeps-latency")
        self.assertNotIn("## Capacity", md)
        self.assertIn("## Latency at fixed offered rates", md)
        self.assertIn("| level | p50 ms at 4,000 tx/s | change | p (Holm) | p99 ms at 4,000 tx/s | change | p (Holm) |",
                      md)
        # Each role's cost against the base, at the same load.
        self.assertIn("## CPU per transaction per role, at fixed offered rates", md)
        self.assertRegex(md, r"\| linger\.ms=25 \| 4,000 tx/s \| 5 \| [\d.]+ ± [\d.]+ \| [+-]\d+\.\d% \[")
        self.assertIn("| broker ack p50 ms | records / producer batch | tx/block | block interval ms | "
                      "p50 - interval/2 ms | undelivered |", md)
        # The producers' mean batch, beside the ack.
        self.assertRegex(md, r"\| base \| 4,000 tx/s \| 4,000 \| 5 \|(?: [^|]+ \|){6} 2\.0 \| 4\.0 \| 500 \|")
        self.assert_png("latency-at-rates.png")
        for factor in w.factors:
            self.assertIn(f"### {factor}", md)

    def test_a_load_study_plots_latency_against_load_with_the_busiest_cpu_set(self):
        w, md = self.build("load")
        self.assertIn("![latency against load](load.png)", md)
        self.assert_png("load.png")
        runs, cells, meta = load.load_records(self.dir)
        rdf, _ = analysis.frames(runs, cells)
        rows = analysis.latency_table(meta, rdf, by="rate")
        # The fake study's busiest set is busy in proportion to the load over the cell's capacity.
        low, high = (min(rows, key=lambda r: r["rate"]), max(rows, key=lambda r: r["rate"]))
        self.assertLess(low["busiest_util"], high["busiest_util"])
        # One load only: no curve to draw.
        _, md = self.build("sweeps-latency")
        self.assertNotIn("load.png", md)

    def test_an_outlying_base_repetition_is_compared_with_and_without(self):
        # The base's first repetition at a tenth of its capacity: its p99 is far off the other four.
        _, md = self.build("sweeps-latency", outlier=("base", 1, 0.1))
        self.assertRegex(md, r"\| base \| 4,000 tx/s \| 4,000 \| 5 \| [^|]+ \| [^|]+ \| [^|]+ \| [\d.]+ ± [\d.]+ \(1 out\)")
        sweep = md.split("### linger.ms")[1].split("###")[0]
        self.assertIn("| p99 change without outliers | p (Holm) |", sweep)
        row = [ln for ln in sweep.splitlines() if ln.startswith("| 25 |")][0].split(" | ")
        # With the outlier in the base every level looks faster; without it, the model's linger.ms=25
        # (a higher capacity, so a lower load) still shows as a lower p99, but by far less.
        with_outlier, without = float(row[5].split("%")[0]), float(row[7].split("%")[0])
        self.assertLess(with_outlier, without)
        self.assertLess(without, 0)

    def test_comparison_report_names_drivers_replicas_and_recovery(self):
        w = wl.load("compare")
        out = os.path.join(self.dir, "compare")
        fake_study.write(out, w, {"solo": 12000, "kafka-1": 9000, "kafka-3": 7000, "raft-3": 8000},
                         recovery_ms={"kafka-3": 9500, "raft-3": 1700})
        md = read_text(report.write(out))
        self.assertIn("drivers solo, kafka-1-broadcast, kafka-3-broadcast, raft-3", md)
        self.assertIn("raft-3: raft, 3 nodes, peers submit via broadcast", md)
        self.assertIn("## Recovery after losing the leader", md)
        self.assertIn("Not measured for kafka-1, solo", md)
        # Each repetition's capacity beside what the same first step cost.
        self.assertIn("The same work in every repetition: each search starts at", md)
        rows = [ln for ln in md.splitlines() if ln.startswith("| raft-3 | orderer µs/tx at ")]
        self.assertEqual(len(rows), 1, md)
        self.assertIn("| 90 |", rows[0])
        self.assertTrue(rows[0].endswith("| 1.00 |"), rows[0])
        self.assertEqual(len([ln for ln in md.splitlines() if ln.startswith("| solo | capacity tx/s |")]), 1)
        rows = [ln for ln in md.splitlines() if ln.startswith("| raft-3 | node2 (the raft leader) | 5 |")]
        self.assertEqual(len(rows), 1, md)

    def test_an_ack_study_reports_successs_latency_per_mode_against_the_reference(self):
        w = wl.load("ack", preset="vs-raft")
        out = os.path.join(self.dir, "ack")
        fake_study.write(out, w, {"raft-3-durable": 5000, "raft-3-accepted": 5300},
                         ack_ms={"raft-3-durable": (120.0, 210.0), "raft-3-accepted": (3.0, 9.0)})
        md = read_text(report.write(out))
        self.assertIn("Acknowledgement latency: each transaction's submit -> Broadcast's SUCCESS", md)
        section = md.split("Acknowledgement latency: ")[1].split("\n\n")[1]
        rows = [ln for ln in section.splitlines() if ln.startswith("| raft-3-accepted | 50% of capacity | 5 |")]
        self.assertEqual(len(rows), 1, md)
        cols = rows[0].split(" | ")
        self.assertTrue(cols[3].startswith("3.0 ± "), cols)     # SUCCESS p50
        self.assertTrue(cols[4].startswith("9.0 ± "), cols)     # SUCCESS p99
        self.assertTrue(cols[6].startswith("-97."), cols)       # against durable's 120 ms
        # A study whose peers produce straight into the topic has no such section.
        out = os.path.join(self.dir, "direct")
        fake_study.write(out, wl.load("profiles", preset="vs-balanced"), {"baseline": 9000, "balanced": 9000})
        self.assertNotIn("Acknowledgement latency", read_text(report.write(out)))

    def test_block_interval_is_what_a_block_takes_to_close_at_the_offered_rate(self):
        # 500-transaction blocks at 2,500 tx/s close every 200 ms; a transaction waits 100 ms on average.
        self.assertAlmostEqual(report_sections.block_interval_ms(500, 2500), 200.0)
        self.assertTrue(math.isnan(report_sections.block_interval_ms(500, 0)))
        self.assertTrue(math.isnan(report_sections.block_interval_ms(float("nan"), 2500)))

    def test_reused_capacity_studies_are_named_as_the_repository_names_them(self):
        # bench run stores --capacity-from as absolute paths of the clone that ran it.
        self.assertEqual(report_sections._folders("/home/u/clone/bench/results/compare-x"), "bench/results/compare-x")
        self.assertEqual(report_sections._folders(["/a/bench/results/p", "/b/bench/results/q"]),
                         "bench/results/p`, `bench/results/q")
        self.assertEqual(report_sections._folders("/elsewhere/study"), "/elsewhere/study")

    def test_partial_study_says_so(self):
        w = wl.load("load")
        fake_study.write(self.dir, w, fake_study.true_capacities(w))
        lines = read_text(os.path.join(self.dir, "cells.jsonl")).splitlines()
        with open(os.path.join(self.dir, "cells.jsonl"), "w") as f:
            f.write("\n".join(lines[:3]) + "\n")
        md = read_text(report.write(self.dir))
        self.assertIn(f"**Partial study: 3 of {len(w.cells) * w.repetitions} cell runs.**", md)

    def test_index_lists_the_study(self):
        root = tempfile.mkdtemp(prefix="bench-index-")
        try:
            d = os.path.join(root, "load-full-x")
            os.makedirs(d)
            w = wl.load("load")
            fake_study.write(d, w, fake_study.true_capacities(w))
            text = read_text(results_index.write_index(root))
            self.assertIn("[load-full-x](load-full-x/report.md)", text)
            self.assertRegex(text, r"no capacity search; p99 at fixed rates from \S+ [\d,]+ ms \(2,000 tx/s\) to ")
            with open(os.path.join(d, "NOTE.md"), "w") as f:
                f.write("Superseded: its repetitions were not independent.\n\nDetails.\n")
            text = read_text(results_index.write_index(root))
            self.assertIn("**Superseded: its repetitions were not independent.** no capacity search", text)
            # A study whose cells name their own drivers lists those, not the workload's default.
            c = os.path.join(root, "compare-x")
            os.makedirs(c)
            w = wl.load("compare", preset="vs-kafka-3")
            fake_study.write(c, w, {"kafka-3": 7000, "raft-3": 6000})
            text = read_text(results_index.write_index(root))
            row = [ln for ln in text.splitlines() if ln.startswith("| [compare-x]")]
            self.assertEqual(len(row), 1, text)
            self.assertIn("| kafka-3-broadcast, raft-3 |", row[0])
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
