"""Unit tests of bench tune's search and the report's Pareto front."""
import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchlib import analysis, tune  # noqa: E402


class SpaceTest(unittest.TestCase):
    def test_default_space_is_a_copy(self):
        s = tune.parse_space(None)
        s["batch.size"].append("1")
        self.assertNotIn("1", tune.DEFAULT_SPACE["batch.size"])

    def test_custom_space_keeps_order(self):
        s = tune.parse_space("linger.ms=0,5 ; batch.size=16384,65536;MaxMessageCount=10,100")
        self.assertEqual(list(s), ["linger.ms", "batch.size", "MaxMessageCount"])
        self.assertEqual(s["batch.size"], ["16384", "65536"])

    def test_bad_spaces_name_the_problem(self):
        for spec, needle in (("batch.size", "NAME=V1"), ("=1,2", "NAME=V1"), ("a=1;a=2", "twice"),
                             ("a=1,1", "repeats"), (";", "empty"), ("a=", "NAME=V1")):
            with self.assertRaises(tune.SpecError) as c:
                tune.parse_space(spec)
            self.assertIn(needle, str(c.exception), spec)

    def test_start_point_puts_profile_values_on_the_grid(self):
        space = tune.parse_space("batch.size=16384,131072;compression.type=lz4,zstd;linger.ms=0,5;"
                                 "MaxMessageCount=10,100")
        start = tune.start_point(space, {"batch.size": "65536", "compression.type": "none"},
                                 {"max_message_count": 500})
        self.assertEqual(start, {"batch.size": "65536", "compression.type": "none", "linger.ms": "0",
                                 "MaxMessageCount": "500"})
        self.assertEqual(space["batch.size"], ["16384", "65536", "131072"])  # numeric order
        self.assertEqual(space["compression.type"][0], "none")
        self.assertEqual(space["MaxMessageCount"], ["10", "100", "500"])

    def test_split_separates_block_settings(self):
        producer, block = tune.split({"batch.size": "1", "MaxMessageCount": "50", "BatchTimeout": "100ms"})
        self.assertEqual(producer, {"batch.size": "1"})
        self.assertEqual(block, {"max_message_count": 50, "batch_timeout": "100ms"})

    def test_neighbours_are_one_level_away(self):
        space = tune.parse_space("a=1,2,3;b=x,y")
        n = tune.neighbours(space, {"a": "2", "b": "x"})
        self.assertEqual(n, [{"a": "1", "b": "x"}, {"a": "3", "b": "x"}, {"a": "2", "b": "y"}])


class GoalTest(unittest.TestCase):
    def test_goals_need_their_bound(self):
        with self.assertRaises(tune.SpecError):
            tune.Goal("max-tps")
        with self.assertRaises(tune.SpecError):
            tune.Goal("min-p99", tps_min=0)
        with self.assertRaises(tune.SpecError):
            tune.Goal("fastest", p99_max_ms=1)

    def test_max_tps_prefers_feasible_then_throughput(self):
        g = tune.Goal("max-tps", p99_max_ms=50)
        a = {"tps": 9000, "p99": 80}   # fast, too slow a tail
        b = {"tps": 5000, "p99": 40}
        c = {"tps": 6000, "p99": 49}
        d = {"tps": 100, "p99": 60}    # infeasible but nearer than a
        self.assertEqual(g.best([a, b, c, d]), c)
        self.assertEqual(g.best([a, d]), d)
        self.assertFalse(g.feasible({"tps": math.nan, "p99": 1}))

    def test_min_p99_prefers_feasible_then_latency(self):
        g = tune.Goal("min-p99", tps_min=5000)
        a = {"tps": 4000, "p99": 10}
        b = {"tps": 5000, "p99": 40}
        c = {"tps": 7000, "p99": 30}
        self.assertEqual(g.best([a, b, c]), c)


class SearchTest(unittest.TestCase):
    def measure(self, cand):
        # A made-up response: throughput grows with batch and linger, p99
        # grows with linger; the best feasible (p99 <= 30) is b=4, l=2.
        b, l = int(cand["b"]), int(cand["l"])
        return 1000 * b + 300 * l, 10 + 10 * l

    def test_finds_the_constrained_optimum_and_never_repeats(self):
        space = tune.parse_space("b=1,2,3,4;l=0,1,2,3,4")
        s = tune.Search(space, {"b": "1", "l": "0"}, tune.Goal("max-tps", p99_max_ms=30), seed=7)
        seen = []
        for _ in range(12):
            c = s.next()
            self.assertNotIn(c, seen)
            seen.append(c)
            s.tell(c, *self.measure(c))
        best = s.goal.best(s.results)
        self.assertEqual(best["cand"], {"b": "4", "l": "2"})

    def test_whole_grid_then_none(self):
        space = tune.parse_space("b=1,2;l=0,1")
        s = tune.Search(space, {"b": "1", "l": "0"}, tune.Goal("min-p99", tps_min=1), seed=1)
        for _ in range(4):
            c = s.next()
            s.tell(c, *self.measure(c))
        self.assertEqual(len({tune.key(r["cand"]) for r in s.results}), 4)
        self.assertIsNone(s.next())


class StudiesTest(unittest.TestCase):
    def test_sweep_baseline_is_the_baseline_profile(self):
        from benchlib import runner, studies
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        props = {}
        for line in open(os.path.join(root, "configs", "profiles", "baseline.properties")):
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.strip().split("=", 1)
                props[k] = v
        for factor, level in studies.SWEEP_BASELINE.items():
            want = str(runner.DEFAULTS[factor]) if factor in ("tx_size", "peers") else props[factor]
            self.assertEqual(level, want, factor)
        # Every sweep in both presets includes the baseline's level.
        for preset in ("smoke", "full"):
            levels = {}
            for _, cfg in studies.sweeps(preset):
                levels.setdefault(cfg["factor"], set()).add(cfg["level"])
            self.assertEqual(set(levels), set(studies.SWEEP_BASELINE))
            for factor, lv in levels.items():
                self.assertIn(studies.SWEEP_BASELINE[factor], lv, (preset, factor))


class ParetoTest(unittest.TestCase):
    def test_front_keeps_only_undominated_points(self):
        pts = [{"key": k, "tps": t, "p99": p} for k, t, p in
               (("a", 100, 10), ("b", 200, 20), ("c", 150, 30), ("d", 200, 25), ("e", 50, 10),
                ("f", 300, math.nan))]
        self.assertEqual([p["key"] for p in analysis.pareto(pts)], ["a", "b"])

    def test_only_the_usual_transaction_size_is_ranked(self):
        pts = [{"key": k, "tps": t, "p99": p, "tx_size": s} for k, t, p, s in
               (("a", 100, 10, 1024), ("b", 200, 20, 1024), ("big", 50, 5, 16384), ("c", 150, 30, 1024))]
        same, other = analysis.comparable(pts)
        self.assertEqual([p["key"] for p in other], ["big"])
        self.assertEqual(len(same), 3)
        # Ranked with the others, "big" would dominate "a" (lower p99) ... it is left out instead.
        self.assertEqual([p["key"] for p in analysis.pareto(pts)], ["a", "b"])

    def test_config_key_drops_the_load(self):
        self.assertEqual(analysis.config_key("b1-l0-none/peak"), "b1-l0-none")
        self.assertEqual(analysis.config_key("baseline@500"), "baseline@500")
        self.assertEqual(analysis.config_key("timeout=1s,count=10/rate"), "timeout=1s,count=10")


def fake_study(out, study, rows):
    """A study folder with runs.csv, env.json, study.json and a peer-sim
    report (with its latency curve) per run, as the runner writes them."""
    import pandas as pd
    os.makedirs(out, exist_ok=True)
    recs = []
    for i, row in enumerate(rows, 1):
        run_dir = os.path.join(out, "runs", f"{i:03d}")
        os.makedirs(run_dir)
        p50, p99 = row["p50_ms"], row["p99_ms"]
        cdf = [[0.0, p50 / 2]] + [[q / 100, p50 if q <= 50 else p99 if q <= 99 else p99 * 1.5]
                                  for q in range(1, 100)] + [[1.0, p99 * 2]]
        json.dump({"latency_ms": {"e2e": {"cdf": cdf}}}, open(os.path.join(run_dir, "peer-sim.json"), "w"))
        rec = {"run_id": i, "repetition": 1, "cfg_profile": "baseline", "cfg_duration_s": 30, "cfg_warmup_s": 10, "cfg_producer": "{}",
               "delivered": row["tps"] * 30, "orderer_cpu_s": 5.0, "peersim_cpu_s": 3.0, "p999_ms": p99 * 1.5,
               "raw_ack_tps": row["tps"] * 2}
        rec.update(row)
        recs.append(rec)
    pd.DataFrame(recs).to_csv(os.path.join(out, "runs.csv"), index=False)
    json.dump({"cpu_model": "test", "cores": 2, "mem_total_gib": 1, "os": "test", "kafka_version": "x",
               "librdkafka": "x", "git_commit": "0" * 40, "git_dirty": False}, open(os.path.join(out, "env.json"), "w"))
    json.dump({"study": study, "preset": "full", "repetitions": 2, "broker": "test", "runs": len(recs)},
              open(os.path.join(out, "study.json"), "w"))


class ReportTest(unittest.TestCase):
    def setUp(self):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="bench-report-test-")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp)

    def test_sweeps_report_has_a_table_per_factor_and_its_plots(self):
        from benchlib import report
        rows = []
        for factor, levels in (("linger.ms", ["0", "25"]), ("peers", ["1", "3"]), ("tx_size", ["1024", "16384"])):
            for j, level in enumerate(levels):
                for rep in (1, 2):
                    base = {"cfg_factor": factor, "cfg_level": level, "repetition": rep,
                            "started_unix": 1000 * len(rows), "cfg_tx_size": int(level) if factor == "tx_size" else 1024}
                    # The 16 KB level has by far the lowest p99: it must still not lead the front.
                    p99 = 20 if level == "16384" else 200 + 50 * j + rep
                    rows.append(dict(base, label=f"{factor}={level}/rate", cfg_load="rate", cfg_rate=2000,
                                     tps=2000 + rep, p50_ms=100 + 10 * j, p99_ms=p99))
                    rows.append(dict(base, label=f"{factor}={level}/peak", cfg_load="peak", cfg_rate=0,
                                     tps=5000 + 1000 * j + rep * 10, p50_ms=900, p99_ms=2000))
        fake_study(self.tmp, "sweeps", rows)
        md = open(report.write(self.tmp)).read()
        self.assertIn("## Single-factor sweeps", md)
        self.assertIn("### linger.ms", md)
        self.assertIn("| 25 | 6,015 ± ", md)  # mean of 6010 and 6020 with its interval
        self.assertIn("| 0 (baseline) | 5,015 ± ", md)
        self.assertIn("| 3 (baseline) | 6,015 ± ", md)
        drift = md.split("### The baseline, measured in every sweep")[1].split("![")[0]
        self.assertLess(drift.index("| linger.ms | 5,015"), drift.index("| peers | 6,015"))  # time order
        self.assertIn("throughput 1.20x", drift)
        self.assertIn("## Pareto front", md)
        front = md.split("## Pareto front")[1].split("![")[0]
        self.assertIn("left out: tx_size=16384 (16,384 B).", front)
        self.assertNotIn("| tx_size=16384 |", front)
        self.assertIn("| linger.ms=0 |", front)  # lowest p99 among the 1 KB configurations
        self.assertIn("## Latency distribution", md)
        self.assertNotIn("tx_size=16384", report.one_line(self.tmp))
        for png in ("sweeps.png", "latency-cdf.png", "pareto.png", "throughput.png", "p99.png"):
            self.assertTrue(open(os.path.join(self.tmp, png), "rb").read(8).startswith(b"\x89PNG"), png)

    def test_blocks_report_has_a_grid_per_metric(self):
        from benchlib import report
        rows = []
        for t, t_ms in (("2s", 2000), ("100ms", 100)):
            for n in (10, 500):
                for rep in (1, 2):
                    base = {"label": f"timeout={t},count={n}", "cfg_batch_timeout": t, "cfg_max_message_count": n,
                            "repetition": rep}
                    fill = min(n, 2000 * t_ms / 1000)  # a block per n tx or per timeout at 2,000 tx/s
                    rows.append(dict(base, label=base["label"] + "/rate", cfg_load="rate", cfg_rate=2000,
                                     tps=2000, p50_ms=fill / 4, p99_ms=fill / 2 + rep, txs_per_block=fill))
                    rows.append(dict(base, label=base["label"] + "/peak", cfg_load="peak", cfg_rate=0,
                                     tps=1000 * math.log10(n) + rep, p50_ms=900, p99_ms=2000, txs_per_block=n))
        fake_study(self.tmp, "blocks", rows)
        md = open(report.write(self.tmp)).read()
        sec = md.split("## Block parameters")[1]
        p99 = sec.split("### End-to-end p99 latency")[1].split("###")[0]
        self.assertIn("| BatchTimeout | 10 | 500 |", p99)
        # Timeouts in duration order (100ms before 2s), whatever the run order.
        self.assertLess(p99.index("| 100ms |"), p99.index("| 2s |"))
        self.assertIn("| 2s | 6.5 ± ", p99)          # 10-tx blocks fill before the timeout
        self.assertIn("| 100ms | 6.5 ± 6.4 | 101.5 ± ", p99)
        fill = sec.split("### Transactions per block")[1].split("###")[0]
        self.assertIn("| 2s | 10.0 ± 0.0 | 500.0 ± 0.0 |", fill)
        self.assertTrue(open(os.path.join(self.tmp, "blocks.png"), "rb").read(8).startswith(b"\x89PNG"))

    def test_load_report_has_a_curve_per_profile(self):
        from benchlib import report
        rows = []
        for prof in ("baseline", "high-throughput"):
            for rate in (500, 1000, 2000):
                for rep in (1, 2):
                    rows.append({"label": f"{prof}@{rate}", "cfg_profile": prof, "cfg_load": "rate", "cfg_rate": rate,
                                 "repetition": rep, "tps": min(rate, 1500 if prof == "baseline" else 2000),
                                 "p50_ms": rate / 10, "p99_ms": rate / 5})
        fake_study(self.tmp, "load", rows)
        md = open(report.write(self.tmp)).read()
        self.assertIn("## Latency against offered load", md)
        self.assertIn("### high-throughput", md)
        self.assertIn("| 2,000 | 1,500 ± 0 | 200.0 ± 0.0 | 400.0 ± 0.0 |", md)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "latency-vs-load.png")))
        # baseline@2000 delivers less than high-throughput@2000 at the same p99.
        front = md.split("## Pareto front")[1].split("![")[0]
        self.assertIn("| baseline@500 |", front)
        self.assertIn("| high-throughput@2000 |", front)
        self.assertNotIn("| baseline@2000 |", front)


if __name__ == "__main__":
    unittest.main()
