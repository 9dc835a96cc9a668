"""Unit tests of what a run's raw data says: a recovery run's figures, the
orderer's /metrics over a window, a broker's warm-up runs, the run record."""
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

from benchlib import metrics, recovery, study  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import RunResult  # noqa: E402
from fake_study import base_workload  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
