"""Unit tests of the experiment suite's logic: workloads, the capacity
search, statistics, placement, the drivers; the tests of the readers
(test_formats), the sittings (test_sittings), the reports (test_report,
test_results), the runs' raw data (test_runs), tune's search (test_tune), the
campaigns' checker (test_campaign), the soak's parts (test_soak) and the
failover study's parts (test_failover) run with them (ctest bench_unit runs
this file)."""
import json
import math
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchlib import capacity, drivers, kafka_driver, placement, runner, stats, study  # noqa: E402
from benchlib import study_session  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import RunResult  # noqa: E402
from fake_study import base_workload  # noqa: E402
from test_formats import *  # noqa: E402,F401,F403 (run with these tests)
from test_sittings import *  # noqa: E402,F401,F403
from test_results import *  # noqa: E402,F401,F403
from test_report import *  # noqa: E402,F401,F403
from test_runs import *  # noqa: E402,F401,F403
from test_tune import *  # noqa: E402,F401,F403
from test_campaign import *  # noqa: E402,F401,F403
from test_ack_cells import *  # noqa: E402,F401,F403
from test_soak import *  # noqa: E402,F401,F403
from test_failover import *  # noqa: E402,F401,F403

WORKLOADS = sorted(f[:-5] for f in os.listdir(wl.WORKLOAD_DIR) if f.endswith(".yaml"))


def _yaml(name):
    import yaml
    with open(os.path.join(wl.WORKLOAD_DIR, f"{name}.yaml")) as f:
        return yaml.safe_load(f) or {}


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


if __name__ == "__main__":
    unittest.main(verbosity=1)
