"""Unit tests of the experiment suite's logic: workloads, the capacity
search, statistics, placement, the Kafka driver's parsing, tune's search and
the reports (built from model studies written by fake_study.py)."""
import json
import math
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchlib import analysis, capacity, drivers, kafka_driver, load, metrics, placement, recovery, report, stats, study, tune  # noqa: E402
from benchlib import report_sections, results_index, runner, study_session  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import RunResult  # noqa: E402
from benchlib.record import read_text  # noqa: E402
import fake_study  # noqa: E402
from test_formats import *  # noqa: E402,F401,F403 (run with these tests)
from test_sittings import *  # noqa: E402,F401,F403
from test_results import *  # noqa: E402,F401,F403

WORKLOADS = sorted(f[:-5] for f in os.listdir(wl.WORKLOAD_DIR) if f.endswith(".yaml"))


def _yaml(name):
    import yaml
    with open(os.path.join(wl.WORKLOAD_DIR, f"{name}.yaml")) as f:
        return yaml.safe_load(f) or {}


def base_workload(**over):
    d = {"name": "t", "driver": "kafka-1", "repetitions": 3,
         "cells": [{"name": "a", "profile": "baseline"}, {"name": "b", "profile": "high-throughput"},
                   {"name": "c", "profile": "balanced"}]}
    d.update(over)
    return d


class WorkloadTest(unittest.TestCase):
    def test_every_shipped_workload_loads_in_every_preset(self):
        self.assertGreaterEqual(len(WORKLOADS), 5)
        for name in WORKLOADS:
            for preset in ("full", "smoke"):
                w = wl.load(name, preset)
                self.assertTrue(w.cells, name)
                if preset == "full":
                    self.assertGreaterEqual(w.repetitions, 5, f"{name}: the full preset needs >= 5 repetitions")
                    self.assertTrue(w.latency.window_s >= 60 or not w.latency.fractions,
                                    f"{name}: the full preset needs >= 60 s latency windows")

    def test_identical_cells_are_refused(self):
        d = base_workload(cells=[{"name": "a", "profile": "baseline"}, {"name": "b", "profile": "baseline"}])
        with self.assertRaisesRegex(wl.WorkloadError, "identical settings"):
            wl.from_dict(d)
        # A broker setting makes them differ.
        d["cells"][1]["broker.num.network.threads"] = 8
        self.assertEqual(len(wl.from_dict(d).cells), 2)

    def test_low_latency_differs_from_baseline_only_in_its_broker_part(self):
        p_base, b_base = wl.read_profile("baseline")
        p_low, b_low = wl.read_profile("low-latency")
        self.assertEqual(p_base, p_low)
        self.assertEqual(b_low, {"num.network.threads": "8"})
        self.assertEqual(b_base, {})

    def test_mistakes_name_themselves(self):
        for over, needle in (({"capacitty": {}}, "unknown key"), ({"capacity": {"slo": 1}}, "unknown key"),
                             ({"latency": {"fractions": [0.5, 3]}}, "fractions"),
                             ({"repetitions": 0}, "repetitions"), ({"capacity": {"growth": 1}}, "growth"),
                             ({"capacity": {"repeat_growth": 1.1}}, "depend on each other"),
                             ({"cells": [{"name": "a", "profile": "nope"}]}, "no profile"),
                             ({"cells": [{"name": "a", "block.max_msg": 5}]}, "unknown block setting"),
                             ({"grid": {"factors": {"batch.size": [1, 2]}}}, "exactly one of")):
            with self.assertRaisesRegex(wl.WorkloadError, needle, msg=str(over)):
                wl.from_dict(base_workload(**over))
        with self.assertRaisesRegex(wl.WorkloadError, "no preset"):
            wl.from_dict(base_workload(), preset="fast")

    def test_capacity_from_is_for_latency_only_studies_with_fractions(self):
        ok = base_workload(capacity={"max_steps": 0}, latency={"fractions": [0.5], "capacity_from": "x/y"})
        self.assertEqual(wl.from_dict(ok).latency.capacity_from, "x/y")
        with self.assertRaisesRegex(wl.WorkloadError, "max_steps: 0"):
            wl.from_dict(base_workload(latency={"fractions": [0.5], "capacity_from": "x/y"}))
        with self.assertRaisesRegex(wl.WorkloadError, "needs latency.fractions"):
            wl.from_dict(base_workload(capacity={"max_steps": 0}, latency={"fractions": [], "capacity_from": "x"}))
        with self.assertRaisesRegex(wl.WorkloadError, "capacity_from"):
            wl.from_dict(base_workload(capacity={"max_steps": 0}, latency={"fractions": [0.5]}))

    def test_grid_expands_every_combination_with_its_levels(self):
        d = base_workload(cells=None, grid={"base": {"profile": "baseline"},
                                            "factors": {"batch.size": [16384, 131072], "linger.ms": [0, 25],
                                                        "compression.type": ["none", "lz4"]}})
        del d["cells"]
        w = wl.from_dict(d)
        self.assertEqual(len(w.cells), 8)
        c = w.cell("b131072-l25-clz4")
        self.assertEqual(c.producer, {"batch.size": "131072", "linger.ms": "25", "compression.type": "lz4"})
        self.assertEqual(c.factors, {"batch.size": "131072", "linger.ms": "25", "compression.type": "lz4"})

    def test_sweep_measures_the_base_once_and_keeps_acks_apart_from_idempotence(self):
        w = wl.load("sweeps")
        names = [c.name for c in w.cells]
        self.assertEqual(names.count("base"), 1)
        self.assertNotIn("linger.ms=0", names)  # the base's own level is the base cell
        acks1 = w.cell("acks=1 (idempotence off)")
        self.assertEqual(acks1.producer, {"acks": "1", "enable.idempotence": "false"})
        idem = w.cell("enable.idempotence=false")
        self.assertEqual(idem.producer, {"enable.idempotence": "false"})
        self.assertEqual(wl.effective(idem, w.block)["producer"]["acks"], "all")

    def test_sweep_without_the_base_level_is_refused(self):
        d = base_workload(sweep={"base": {"profile": "baseline"}, "factors": {"linger.ms": [5, 25]}})
        del d["cells"]
        with self.assertRaisesRegex(wl.WorkloadError, "no level equal to the base"):
            wl.from_dict(d)

    def test_plan_is_seeded_and_runs_every_cell_once_per_repetition(self):
        def planned(seed):
            w = wl.from_dict(base_workload(repetitions=6))
            w.seed = seed
            return w.plan()
        plan = planned(5)
        self.assertEqual([rep for rep, _ in plan], list(range(1, 7)))
        for _, names in plan:
            self.assertEqual(sorted(names), ["a", "b", "c"])
        self.assertGreater(len({tuple(n) for _, n in plan}), 1, "every repetition in the same order")
        self.assertEqual(plan, planned(5))
        self.assertNotEqual(plan, planned(6))
        with self.assertRaisesRegex(wl.WorkloadError, "no seed"):
            wl.from_dict(base_workload()).plan()

    def test_preset_factors_replace_the_workloads(self):
        w = wl.load("sweeps", "smoke")
        self.assertEqual(set(w.factors), {"linger.ms", "acks"})


class ReferenceCapacityTest(unittest.TestCase):
    def test_means_of_verified_searches_and_missing_cells_named(self):
        from benchlib import study
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "cells.jsonl"), "w") as f:
                for cell, cap, ok in (("a", 1000, True), ("a", 2000, True), ("a", 9000, False), ("b", None, True),
                                      ("b", 500, True)):
                    f.write(json.dumps({"cell": cell, "capacity": cap, "ledger_verified": ok}) + "\n")
            ref = study.reference_capacities("/", d, ["a", "b"])
            self.assertEqual(ref["a"]["capacity"], 1500)
            self.assertEqual(ref["a"]["n"], 2)
            self.assertEqual(ref["b"]["capacity"], 500)
            with self.assertRaisesRegex(runner.RunFailed, "no capacity for cell.*c"):
                study.reference_capacities("/", d, ["a", "c"])
            with self.assertRaisesRegex(runner.RunFailed, "no cells.jsonl"):
                study.reference_capacities("/", os.path.join(d, "nope"), ["a"])
            # Several folders: a cell in more than one is pooled over all its searches.
            d2 = os.path.join(d, "second")
            os.makedirs(d2)
            with open(os.path.join(d2, "cells.jsonl"), "w") as f:
                for cell, cap in (("a", 3000), ("c", 700)):
                    f.write(json.dumps({"cell": cell, "capacity": cap, "ledger_verified": True}) + "\n")
            ref = study.reference_capacities("/", [d, d2], ["a", "b", "c"])
            self.assertEqual(ref["a"]["capacity"], 2000)
            self.assertEqual(ref["a"]["n"], 3)
            self.assertEqual(ref["c"]["capacity"], 700)
            self.assertIn("second", ref["a"]["study"])


class CapacitySearchTest(unittest.TestCase):
    def search(self, true, start, growth=1.5, precision=0.05, max_steps=12):
        s = capacity.Search(start, growth, precision, max_steps)
        rates = []
        while (r := s.next()) is not None:
            self.assertNotIn(r, rates, "a rate measured twice")
            rates.append(r)
            s.tell(r, r <= true)
        return s, rates

    def test_brackets_the_capacity_within_the_precision(self):
        for true, start in ((10000, 4000), (10000, 30000), (2500, 2500), (777, 4000)):
            s, rates = self.search(true, start)
            lo, hi = s.bracket()
            self.assertIsNotNone(lo, (true, start))
            self.assertLessEqual(lo, true)
            self.assertGreater(hi, true)
            self.assertLessEqual(hi / lo, 1.05 + 1e-9, (true, start, rates))
            self.assertEqual(s.capacity(), lo)

    def test_stops_after_max_steps(self):
        s, rates = self.search(1e9, 1000, max_steps=4)
        self.assertEqual(len(rates), 4)
        self.assertEqual(s.bracket(), (max(rates), None))

    def test_bisects_past_a_bracket_just_wider_than_the_precision(self):
        # x1.25 steps bracket 7,500-9,375; one bisection leaves 1.118, two 1.057 (both wider than
        # 5%): a third makes 1.028. A 12% precision stopped at the first, 1.118.
        s, rates = self.search(8000, 6000, growth=1.25, precision=0.05)
        self.assertEqual(rates[:3], [6000, 7500, 9375])
        self.assertEqual(len(rates), 6, rates)
        lo, hi = s.bracket()
        self.assertLessEqual(hi / lo, 1.05)
        self.assertGreater(hi / lo, 1.02)
        s12, rates12 = self.search(8000, 6000, growth=1.25, precision=0.12)
        self.assertEqual(len(rates12), 4, rates12)
        self.assertGreater(s12.bracket()[1] / s12.bracket()[0], 1.1)

    def test_the_studies_searches_end_within_5_percent(self):
        # Every shipped study that searches capacity (not its smoke or pilot sizing presets)
        # brackets any capacity from a third of its start rate to three times it within 5%
        # before max_steps runs out.
        checked = 0
        for name in WORKLOADS:
            presets = ["full"] + [p for p in (_yaml(name).get("presets") or {}) if p not in ("smoke", "pilot")]
            for preset in presets:
                c = wl.load(name, preset).capacity
                if not c.max_steps:
                    continue
                checked += 1
                self.assertLessEqual(c.precision, 0.05, (name, preset))
                for k in range(-20, 21):
                    true = c.start_rate * 3 ** (k / 20)
                    s, rates = self.search(true, c.start_rate, c.growth, c.precision, c.max_steps)
                    lo, hi = s.bracket()
                    self.assertTrue(lo and hi and hi / lo <= 1 + c.precision,
                                    (name, preset, round(true), rates, lo, hi))
        self.assertGreaterEqual(checked, 3)

    def test_the_smoke_presets_stay_as_short(self):
        for name, steps in (("profiles", 3), ("sweeps", 2), ("compare", 2)):
            self.assertLessEqual(wl.load(name, "smoke").capacity.max_steps, steps, name)

    def test_a_search_starting_near_the_capacity_takes_few_steps(self):
        _, rates = self.search(10000, 9500, growth=1.1)
        self.assertLessEqual(len(rates), 4, rates)

    def test_brokers_warm_up_at_a_rate_the_study_offers(self):
        fac = wl.load("factorial", "kafka-3")          # no search, one fixed rate
        self.assertEqual(study_session.warmup_rate(fac), min(fac.latency.rates))
        self.assertLess(study_session.warmup_rate(fac), fac.capacity.start_rate)
        load = wl.load("load")                         # several fixed rates: the lowest
        self.assertEqual(study_session.warmup_rate(load), min(load.latency.rates))
        prof = wl.load("profiles", "vs-high-throughput-kafka-3")   # a search: where it starts
        self.assertEqual(study_session.warmup_rate(prof), prof.capacity.start_rate)
        # Settled: p99 within the SLO beyond a block's fill time at that rate
        # (500 transactions at 2,000 tx/s: 250 ms; at 3,000 tx/s: 167 ms).
        self.assertEqual(fac.latency.rates, [2000])
        self.assertAlmostEqual(study_session.warmup_p99_limit_ms(fac), 500 + 250)
        self.assertAlmostEqual(study_session.warmup_p99_limit_ms(prof), 500 + 1000 * 500 / 3000)

    def test_going_down_stops_at_the_slo_floor(self):
        # 500-transaction blocks, 2 s BatchTimeout, p99 <= 500 ms: below 990 tx/s a
        # block alone takes longer to fill than the SLO allows.
        block = {"max_message_count": 500, "batch_timeout": "2s", "preferred_max_bytes": "2MB"}
        floor = capacity.slo_floor(500, block, 1024)
        self.assertAlmostEqual(floor, 990.0)
        s = capacity.Search(3000, 1.25, 0.12, 8, floor=floor)
        rates = []
        while (r := s.next()) is not None:
            rates.append(r)
            s.tell(r, False)
        self.assertEqual(rates, [3000, 2400, 1920, 1536, 1229])   # not 983, 786, 629
        self.assertTrue(s.hit_floor)
        self.assertIsNone(s.capacity())
        # A search that fails for a rate above the floor is not stopped by it.
        s = capacity.Search(3000, 1.25, 0.12, 8, floor=floor)
        while (r := s.next()) is not None:
            s.tell(r, r <= 1300)
        self.assertFalse(s.hit_floor)
        self.assertEqual(s.capacity(), 1229)
        # No floor when BatchTimeout is within the SLO; bytes cut first for big transactions.
        self.assertEqual(capacity.slo_floor(500, dict(block, batch_timeout="100ms"), 1024), 0.0)
        self.assertAlmostEqual(capacity.slo_floor(500, block, 100 * 1024), 0.99 * 20 * 2)
        self.assertEqual(capacity.byte_size("512kb"), 512 * 1024)
        with self.assertRaises(ValueError):
            capacity.byte_size("MB")

    def test_confirmation_finds_the_highest_level_that_holds_in_at_most_three_runs(self):
        levels = [0.6, 0.7, 0.8, 0.9, 1.0]
        for holds_up_to, want in ((10000, 10000), (9500, 9000), (8000, 8000), (7999, 7000), (6500, 6000),
                                  (5000, None)):
            c = capacity.Confirmation(10000, levels)
            while (rate := c.next()) is not None:
                c.tell(rate <= holds_up_to)
            self.assertEqual(c.capacity(), want, holds_up_to)
            self.assertLessEqual(len(c.tried), 3, c.tried)
            self.assertEqual(c.tried[0][0], 8000, "starts in the middle, rounded up")
        with self.assertRaises(ValueError):
            capacity.Confirmation(10000, [0.9, 0.8])

    def test_criteria(self):
        cap = wl.Capacity(slo_p99_ms=500)
        good = RunResult(study="s", run_id="1", cell="c", repetition=1, kind="step", offered_tps=10000,
                         delivered_tps=9950, p99_ms=120, backlog_growth_tps=10, window_s=10)
        self.assertTrue(all(capacity.step_criteria(good, cap, 500).values()))
        # Deliveries come a block at a time: one block short of 99% over the window still passes.
        self.assertTrue(capacity.step_criteria(
            RunResult(**dict(good.__dict__, delivered_tps=9900 - 49)), cap, 500)["achieved"])
        for change, failing in (({"delivered_tps": 9000}, "achieved"), ({"p99_ms": 800}, "p99"),
                                ({"backlog_growth_tps": 500}, "backlog"), ({"generator_bound": True}, "valid"),
                                ({"valid": False}, "valid"), ({"p99_ms": None}, "p99"),
                                # Held back by the service: its failure, not the generator's.
                                ({"held_back": True, "delivered_tps": 9000}, "achieved")):
            c = capacity.step_criteria(RunResult(**dict(good.__dict__, **change)), cap, 500)
            self.assertFalse(c[failing], change)
            self.assertEqual([k for k, v in c.items() if not v], [failing], change)


class StatsTest(unittest.TestCase):
    def test_holm(self):
        adj = stats.holm([0.01, 0.04, 0.03, math.nan])
        self.assertAlmostEqual(adj[0], 0.03)
        self.assertAlmostEqual(adj[1], 0.06)
        self.assertAlmostEqual(adj[2], 0.06)
        self.assertTrue(math.isnan(adj[3]))

    def test_bootstrap_ratio_covers_the_true_ratio(self):
        a = [110, 112, 108, 111, 109]
        b = [100, 101, 99, 100, 100]
        point, lo, hi = stats.bootstrap_ratio(a, b)
        self.assertAlmostEqual(point, 110 / 100)
        self.assertLess(lo, 1.1)
        self.assertGreater(hi, 1.1)
        self.assertGreater(lo, 1.0)
        self.assertEqual((point, lo, hi), stats.bootstrap_ratio(a, b), "not reproducible")
        self.assertTrue(math.isnan(stats.bootstrap_ratio([1], [2])[1]))

    def test_outlier_rule(self):
        self.assertEqual(stats.outliers([100, 101, 99, 100, 60]), [False, False, False, False, True])
        self.assertEqual(stats.outliers([100, 101, 60]), [False] * 3, "fewer than 4 values: no rule")
        self.assertEqual(stats.outliers([5, 5, 5, 5, 5]), [False] * 5)

    def test_geometric_interval_is_asymmetric(self):
        m, lo, hi = stats.geo_ci95([10, 20, 40, 80])
        self.assertAlmostEqual(m, math.sqrt(20 * 40))
        self.assertGreater(hi - m, m - lo)
        self.assertGreater(lo, 0)

    def test_formats(self):
        self.assertEqual(stats.fmt_ratio(1.25, 1.1, 1.4), "+25.0% [+10.0, +40.0]")
        self.assertEqual(stats.fmt_ratio(0.5, math.nan, math.nan, as_change=False), "0.50x")
        self.assertEqual(stats.fmt(1234.5, 10.2), "1,234 ± 10")


class PlacementTest(unittest.TestCase):
    def test_two_cpus(self):
        self.assertEqual(placement.plan("isolated", [0, 1]), {"orderer": [1], "broker": [0], "peers": [0]})
        self.assertEqual(placement.plan("shared", [0, 1]), {"orderer": [0, 1], "broker": [0, 1], "peers": [0, 1]})
        with self.assertRaisesRegex(ValueError, "two CPUs"):
            placement.plan("isolated", [0])

    def test_four_cpus_give_every_role_its_own_set(self):
        p = placement.plan("isolated", [0, 1, 2, 3])
        self.assertEqual(p, {"orderer": [2, 3], "broker": [1], "peers": [0]})

    def test_window_cpu_and_bottleneck(self):
        class FakeSampler(placement.Sampler):
            pass
        s = FakeSampler({})
        s.samples = [(100.0, {"orderer": 0.0, "broker": 0.0, "peers": 0.0}),
                     (110.0, {"orderer": 9.5, "broker": 3.0, "peers": 4.0})]
        roles = {"orderer": [1], "broker": [0], "peers": [0]}
        cpu, bottleneck, util = placement.window_cpu(s, 100.0, 110.0, roles, 50000)
        self.assertAlmostEqual(cpu["orderer"]["util"], 0.95)
        self.assertAlmostEqual(cpu["orderer"]["us_per_tx"], 9.5 / 50000 * 1e6)
        self.assertEqual(bottleneck, "orderer")
        self.assertAlmostEqual(util, 0.95)
        s.samples[1] = (110.0, {"orderer": 2.0, "broker": 6.0, "peers": 3.5})
        _, bottleneck, util = placement.window_cpu(s, 100.0, 110.0, roles, 50000)
        self.assertEqual(bottleneck, "broker+peers")  # one CPU set, shared
        self.assertAlmostEqual(util, 0.95)
        # Half a window: interpolated.
        cpu, _, _ = placement.window_cpu(s, 100.0, 105.0, roles, 1)
        self.assertAlmostEqual(cpu["broker"]["cpu_s"], 3.0)

    def test_sampler_moves_no_history_between_roles(self):
        # pid 1 leads (orderer), pid 2 follows (replicas); pid 1 dies, pid 2
        # becomes leader: no role's CPU may go down, and pid 2's past stays
        # with the replicas.
        cpu = {1: 10.0, 2: 4.0}
        roles = {"orderer": [1], "replicas": [2]}
        s = placement.Sampler({r: (lambda r=r: roles[r]) for r in roles})
        real = placement.proc_cpu_seconds
        placement.proc_cpu_seconds = lambda pid: cpu.get(pid)
        try:
            s.sample()
            cpu[1], cpu[2] = 11.0, 4.5
            s.sample()
            del cpu[1]                      # killed
            cpu[2] = 5.0
            s.sample()
            roles["orderer"], roles["replicas"] = [1, 2], []   # the old leader's pid may linger
            cpu[2] = 5.75
            s.sample()
        finally:
            placement.proc_cpu_seconds = real
        totals = [d for _, d in s.samples]
        self.assertEqual([t["orderer"] for t in totals], [10.0, 11.0, 11.0, 11.75])
        self.assertEqual([t["replicas"] for t in totals], [4.0, 4.5, 5.0, 5.0])
        self.assertTrue(all(v >= 0 for _, d in s.series() for v in d.values()))

    def test_cpu_list_round_trip(self):
        self.assertEqual(placement.parse_cpu_list("0-2,5"), [0, 1, 2, 5])
        self.assertEqual(placement.cpu_list([0, 1]), "0,1")


class DriverTest(unittest.TestCase):
    def test_producer_performance_summary(self):
        text = ("38 records sent, 7.6 records/sec ...\n"
                "300000 records sent, 41234.5 records/sec (40.27 MB/sec), 12.34 ms avg latency, 456.00 ms max "
                "latency, 3 ms 50th, 30 ms 95th, 150 ms 99th, 400 ms 99.9th.\n")
        r = kafka_driver.parse_pp(text)
        self.assertEqual(r["records"], 300000)
        self.assertAlmostEqual(r["records_per_s"], 41234.5)
        self.assertAlmostEqual(r["p99_ms"], 150)
        self.assertIsNone(kafka_driver.parse_pp("Exception in thread main"))

    def test_java_names(self):
        props, unmapped = kafka_driver.java_producer_props(
            {"queue.buffering.max.kbytes": "32768", "linger.ms": "5", "batch.size": "16384", "acks": "all",
             "enable.idempotence": "true", "compression.type": "lz4", "socket.nagle.disable": "true"})
        self.assertEqual(props["buffer.memory"], str(32768 * 1024))
        self.assertEqual(props["linger.ms"], "5")
        self.assertEqual(unmapped, ["socket.nagle.disable"])

    def test_drivers(self):
        self.assertEqual(kafka_driver.load_driver("kafka-1")["brokers"], 1)
        self.assertEqual(kafka_driver.load_driver("kafka-3")["brokers"], 3)
        with self.assertRaisesRegex(kafka_driver.DriverError, "no driver"):
            kafka_driver.load_driver("kafka-7")

    def test_every_backend_has_a_driver_with_its_defaults(self):
        solo, raft, k1 = (drivers.load_driver(n) for n in ("solo", "raft-3", "kafka-1-broadcast"))
        self.assertEqual((solo["backend"], solo["brokers"], solo["nodes"], solo["submit"]), ("solo", 0, 1, "broadcast"))
        self.assertEqual((raft["backend"], raft["nodes"], raft["submit"]), ("raft", 3, "broadcast"))
        self.assertEqual(raft["raft"]["heartbeat_ms"], 20)
        self.assertEqual((k1["backend"], k1["brokers"], k1["submit"]), ("kafka", 1, "broadcast"))
        self.assertEqual(drivers.load_driver("kafka-1")["submit"], "kafka")
        self.assertEqual(drivers.load_driver("raft-5")["nodes"], 5)
        for name in drivers.known():
            drivers.load_driver(name)  # every shipped driver loads

    def test_driver_mistakes_name_themselves(self):
        for d, msg in (({"backend": "pbft"}, "backend must be one of"),
                       ({"backend": "raft", "nodes": 4}, "nodes must be 3 or 5"),
                       ({"backend": "solo", "submit": "kafka"}, "takes transactions through Broadcast"),
                       ({"backend": "solo", "brokers": 3}, "runs no brokers"),
                       ({"backend": "kafka", "brokers": 2}, "brokers must be 1 or 3"),
                       ({"backend": "kafka", "brokers": 1, "submit": "carrier-pigeon"}, "submit must be"),
                       ({"backend": "raft", "nodes": 3, "raft": {"heartbeat": 20}}, "raft: known keys"),
                       ({"backend": "kafka", "brokers": 1, "colour": "red"}, "unknown key")):
            with self.assertRaisesRegex(drivers.DriverError, msg):
                drivers.check(d, "x.yaml")


class ComparisonWorkloadTest(unittest.TestCase):
    def test_cells_name_their_drivers_and_differ_by_them(self):
        w = wl.load("compare")
        self.assertEqual({c.name: w.driver_of(c) for c in w.cells},
                         {"solo": "solo", "kafka-1": "kafka-1-broadcast", "kafka-3": "kafka-3-broadcast",
                          "raft-3": "raft-3"})
        # The same profile on two drivers is two cells, not one measured twice.
        self.assertEqual(len({c.profile for c in w.cells}), 1)
        self.assertEqual(wl.effective(w.cell("raft-3"), w.block)["driver"], "raft-3")
        self.assertNotIn("driver", wl.effective(wl.load("profiles").cell("baseline"), {}))
        self.assertEqual(w.recovery.fraction, 0.5)
        for preset in ("vs-kafka-3", "vs-kafka-1", "vs-solo"):
            self.assertEqual(len(wl.load("compare", preset).cells), 2, preset)

    def test_an_unknown_driver_or_a_kill_outside_the_window_is_refused(self):
        with self.assertRaisesRegex(wl.WorkloadError, "cell a: no driver 'paxos-9'"):
            wl.from_dict(base_workload(cells=[{"name": "a", "driver": "paxos-9"}]))
        with self.assertRaisesRegex(wl.WorkloadError, "kill_after_s must fall inside the measured window"):
            wl.from_dict(base_workload(recovery={"fraction": 0.5, "warmup_s": 5, "window_s": 10, "kill_after_s": 20}))
        with self.assertRaisesRegex(wl.WorkloadError, "recovery.fraction"):
            wl.from_dict(base_workload(recovery={"fraction": 1.5}))


class RecoveryFiguresTest(unittest.TestCase):
    def test_the_silence_after_the_kill_not_a_straggler_block(self):
        kill = 100_000.0
        # Blocks every 50 ms; one committed before the kill arrives 20 ms after
        # it; then 1.5 s of silence; then blocks again.
        blocks = [kill - 100, kill - 50, kill + 20, kill + 1520, kill + 1570, kill + 1620]
        f = recovery.recovery_figures(blocks, kill)
        self.assertEqual(f["first_block_ms"], 20)
        self.assertEqual(f["recovery_ms"], 1520)
        self.assertEqual(f["silence_ms"], 1500)
        self.assertEqual(f["blocks_after"], 4)
        self.assertIsNone(f["full_rate_ms"])

    def test_blocks_that_stop_again_for_good_are_no_recovery(self):
        kill = 100_000.0
        # Two stragglers after the kill, then nothing until the run ends 30 s later.
        f = recovery.recovery_figures([kill - 50, kill + 300, kill + 850], kill, end_ms=kill + 30_000)
        self.assertIsNone(f["recovery_ms"])
        self.assertEqual(f["silence_ms"], 30_000 - 850)
        self.assertEqual(f["first_block_ms"], 300)
        # A last partial block cut on its timeout in the drain, after a long gap, is not the recovery.
        f = recovery.recovery_figures([kill + 1500, kill + 2000, kill + 2500, kill + 7000], kill, end_ms=kill + 3000)
        self.assertEqual(f["recovery_ms"], 1500)
        # The same blocks with the service back well before the end: recovered.
        f = recovery.recovery_figures([kill + 300, kill + 850, kill + 9_000, kill + 9_100], kill, end_ms=kill + 12_000)
        self.assertEqual(f["recovery_ms"], 9_000)

    def test_no_block_after_the_kill_is_no_recovery(self):
        f = recovery.recovery_figures([1.0, 2.0], 10.0)
        self.assertIsNone(f["recovery_ms"])
        self.assertEqual(f["blocks_after"], 0)

    def test_full_rate_is_the_end_of_the_first_whole_second_after_the_kill_starting_two_good_ones(self):
        start = 1_000_000.0
        kill = start + 4_500  # during second 5 (t = 5 covers 4..5 s)
        delivered = {1: 1000, 2: 1000, 3: 1000, 4: 1000, 5: 500, 6: 0, 7: 0, 8: 950, 9: 1200, 10: 1000}
        series = [{"t": t, "delivered": d} for t, d in delivered.items()]
        f = recovery.recovery_figures([kill + 3000], kill, series, start, offered=1000, full_rate=0.9)
        # Second t=8 (7..8 s) and t=9 both deliver >= 900: full rate by its end, 3.5 s after the kill.
        self.assertEqual(f["full_rate_ms"], 3500)
        # At 1 s resolution the first good second may hold the first block: never before the recovery.
        f = recovery.recovery_figures([kill + 3400], kill, series, start, offered=1000, full_rate=0.9)
        self.assertEqual(f["recovery_ms"], 3400)
        self.assertEqual(f["full_rate_ms"], 3500)
        f = recovery.recovery_figures([kill + 3900], kill, series, start, offered=1000, full_rate=0.9)
        self.assertEqual(f["full_rate_ms"], 3900)

    def test_full_rate_allows_for_whole_blocks(self):
        # 2,236 tx/s in blocks of 500: seconds deliver 2,000 and 2,500 in turn, and 2,000 is under 90%
        # of the rate; two seconds together are the rate.
        start = 1_000_000.0
        kill = start + 4_500
        delivered = {1: 2000, 2: 2500, 3: 2000, 4: 2500, 5: 0, 6: 500, 7: 6500, 8: 2000, 9: 2500, 10: 2000}
        series = [{"t": t, "delivered": d} for t, d in delivered.items()]
        f = recovery.recovery_figures([kill + 1000, kill + 1500, kill + 2000], kill, series, start, offered=2236,
                                   full_rate=0.9)
        self.assertEqual(f["recovery_ms"], 1000)
        # t=6 (5..6 s) + t=7 = 7,000 >= 2 x 0.9 x 2,236: full rate by the end of second 6, 1.5 s after the kill.
        self.assertEqual(f["full_rate_ms"], 1500)


EXPOSITION = """# HELP orderer_transactions_ordered_total Transactions written into blocks.
# TYPE orderer_transactions_ordered_total counter
orderer_transactions_ordered_total{channel="c"} %(ordered)d
# HELP orderer_blocks_cut_total Blocks written, by why the block was cut.
# TYPE orderer_blocks_cut_total counter
orderer_blocks_cut_total{channel="c",reason="count"} %(blocks)d
orderer_blocks_cut_total{channel="c",reason="timeout"} 1
# TYPE ledger_blockstorage_commit_time histogram
ledger_blockstorage_commit_time_bucket{channel="c",le="0.001"} %(fast)d
ledger_blockstorage_commit_time_bucket{channel="c",le="0.01"} %(blocks)d
ledger_blockstorage_commit_time_bucket{channel="c",le="+Inf"} %(blocks)d
ledger_blockstorage_commit_time_sum{channel="c"} 0.5
ledger_blockstorage_commit_time_count{channel="c"} %(blocks)d
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total %(cpu)s
"""


class MetricsTest(unittest.TestCase):
    def test_parses_every_sample_with_its_labels(self):
        v = metrics.parse(EXPOSITION % {"ordered": 1000, "blocks": 4, "fast": 1, "cpu": "2.5"})
        self.assertEqual(v['orderer_transactions_ordered_total{channel="c"}'], 1000)
        self.assertEqual(v['ledger_blockstorage_commit_time_bucket{channel="c",le="+Inf"}'], 4)
        self.assertEqual(metrics.total(v, "orderer_blocks_cut_total"), 5)
        self.assertEqual(metrics.total(v, "orderer_blocks_cut_total", reason="timeout"), 1)
        self.assertEqual(metrics.split_key('a_b{x="1",y="z"}'), ("a_b", {"x": "1", "y": "z"}))

    def test_histogram_quantile_interpolates_as_prometheus_does(self):
        b = {0.001: 0.0, 0.01: 10.0, 0.1: 20.0, math.inf: 20.0}
        self.assertAlmostEqual(metrics.histogram_quantile(0.5, b), 0.01)
        self.assertAlmostEqual(metrics.histogram_quantile(0.75, b), 0.01 + 0.09 * 0.5)
        self.assertAlmostEqual(metrics.histogram_quantile(0.25, b), 0.001 + 0.009 * 0.5)
        # Beyond the last finite bound: that bound.
        self.assertAlmostEqual(metrics.histogram_quantile(0.99, {0.1: 1.0, math.inf: 10.0}), 0.1)
        self.assertTrue(math.isnan(metrics.histogram_quantile(0.5, {0.1: 0.0, math.inf: 0.0})))

    def test_window_is_the_increase_between_its_first_and_last_sample(self):
        def sample(t, ordered, blocks, fast, cpu, url="u1"):
            return (t, url, metrics.parse(EXPOSITION % {"ordered": ordered, "blocks": blocks, "fast": fast,
                                                        "cpu": cpu}))
        samples = [sample(99.0, 0, 0, 0, "0"), sample(100.5, 500, 1, 1, "0.5"), sample(101.5, 1500, 3, 1, "1.0"),
                   sample(102.5, 2500, 5, 1, "1.5"), sample(104.0, 9999, 9, 9, "9")]
        w = metrics.window(samples, 100.0, 103.0)
        self.assertEqual(w["samples"], 3)
        self.assertAlmostEqual(w["ordered_tps"], 1000.0)
        self.assertEqual(w["blocks"], 4)
        self.assertEqual(w["txs_per_block"], 500.0)
        self.assertEqual(w["cut_reasons"], {"count": 4})
        self.assertAlmostEqual(w["cpu_cores"], 0.5)
        # 4 writes in the window, none under 1 ms: p50 inside (1 ms, 10 ms].
        self.assertAlmostEqual(w["write_p50_ms"], 5.5)
        # Another node in the window (a recovery's new leader): no summary.
        moved = samples[:3] + [sample(102.5, 10, 1, 1, "0.1", url="u2")]
        self.assertIsNone(metrics.window(moved, 100.0, 103.0))
        self.assertIsNone(metrics.window(samples, 200.0, 300.0))

    def test_series_round_trips_forward_filled(self):
        s = metrics.Sampler(lambda: None)
        s.samples = [(1.0, "u", {"a": 1.0, "b": 2.0}), (2.0, "u", {"a": 1.0, "b": 3.0}),
                     (3.0, "u", {"a": 4.0, "b": 3.0})]
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "m.csv.gz")
            self.assertTrue(s.write(path))
            self.assertEqual(metrics.read_series(path), [(t, v) for t, _, v in s.samples])
        finally:
            shutil.rmtree(d)

    def test_port_comes_from_the_orderers_log_line(self):
        log = "[info] metrics on http://127.0.0.1:40123/metrics (and /healthz, /readyz)\n[info] orderer ready"
        self.assertEqual(metrics.port_from_log(log), 40123)
        self.assertIsNone(metrics.port_from_log("[info] orderer ready"))


class BrokerWarmupTest(unittest.TestCase):
    """A started broker gets discarded runs until one is steady with p99 under the SLO."""

    def warm(self, outcomes):
        st = study.Study.__new__(study.Study)
        st.w = wl.from_dict(base_workload())
        st.log = lambda msg: None
        runs = []

        def run(eff, driver):
            steady, p99 = outcomes[len(runs)]
            runs.append(RunResult(study="t", run_id=str(len(runs)), cell="warmup", repetition=0, kind="warmup", steady=steady, p99_ms=p99))
            return runs[-1]
        st._warmup_run = run
        st._warmup_broker({}, {})
        return len(runs)

    def test_repeats_until_settled(self):
        slo = wl.from_dict(base_workload()).capacity.slo_p99_ms
        self.assertEqual(self.warm([(True, 100.0)]), 1)
        self.assertEqual(self.warm([(False, 100.0), (True, slo * 2), (True, 100.0)]), 3)
        self.assertEqual(self.warm([(True, None), (True, 100.0)]), 2)

    def test_gives_up_after_its_bound(self):
        n = study.Study.BROKER_WARMUP_RUNS
        self.assertEqual(self.warm([(False, 900.0)] * (n + 2)), n)


class RecordTest(unittest.TestCase):
    def test_nan_becomes_null_and_round_trips(self):
        r = RunResult(study="s", run_id="0001", cell="c", repetition=1, kind="step", p99_ms=math.nan,
                      cpu={"orderer": {"util": 0.5}})
        d = json.loads(r.to_json())
        self.assertIsNone(d["p99_ms"])
        self.assertEqual(RunResult.from_dict(d).cpu, {"orderer": {"util": 0.5}})


class SpaceTest(unittest.TestCase):
    def test_bad_spaces_name_the_problem(self):
        for spec, needle in (("batch.size", "NAME=V1"), ("=1,2", "NAME=V1"), ("a=1;a=2", "twice"),
                             ("a=1,1", "repeats"), (";", "empty"), ("a=", "NAME=V1")):
            with self.assertRaises(tune.SpecError) as c:
                tune.parse_space(spec)
            self.assertIn(needle, str(c.exception), spec)

    def test_start_point_puts_profile_values_on_the_grid(self):
        space = tune.parse_space("batch.size=16384,131072;linger.ms=0,5;MaxMessageCount=10,100")
        start = tune.start_point(space, {"batch.size": "65536"}, {"max_message_count": 500})
        self.assertEqual(start, {"batch.size": "65536", "linger.ms": "0", "MaxMessageCount": "500"})
        self.assertEqual(space["batch.size"], ["16384", "65536", "131072"])

    def test_split_separates_block_settings(self):
        producer, block = tune.split({"batch.size": "1", "MaxMessageCount": "50", "BatchTimeout": "100ms"})
        self.assertEqual(producer, {"batch.size": "1"})
        self.assertEqual(block, {"max_message_count": 50, "batch_timeout": "100ms"})


class SearchTest(unittest.TestCase):
    def measure(self, cand):
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
        self.assertEqual(s.goal.best(s.results)["cand"], {"b": "4", "l": "2"})

    def test_goals(self):
        g = tune.Goal("min-p99", tps_min=5000)
        self.assertEqual(g.best([{"tps": 4000, "p99": 10}, {"tps": 5000, "p99": 40}, {"tps": 7000, "p99": 30}]),
                         {"tps": 7000, "p99": 30})
        with self.assertRaises(tune.SpecError):
            tune.Goal("max-tps")


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
    unittest.main(verbosity=1)
