"""Unit tests of bench soak's pure parts: the slope and its interval, the
verdict, peer-sim's progress line, rows built from a fake /proc, the
summary of a soak folder made here, and what it runs (rate and settings
from a committed capacity study)."""
import json
import math
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, ".."))

from benchlib import record, soak, soak_report, soak_rows, stats  # noqa: E402

LINE = ("[  60.0s] submitted 60000 (1000/s)  delivered 59500 (991/s)  failed 0  in flight 500 (0.8% undelivered)  "
        "e2e p50 310.2 ms p99 540.7 ms")
IDLE = ("[ 120.0s] submitted 60000 (0/s)  delivered 59500 (0/s)  failed 2  in flight 500 (0.8% undelivered)  "
        "no e2e this interval, oldest undelivered 61234 ms")


class SlopeTest(unittest.TestCase):
    def test_slope_and_interval_match_scipy(self):
        from scipy import stats as sst
        x = [0, 1, 2, 3, 4, 5, 6, 7]
        y = [1.0, 3.1, 4.9, 7.2, 8.8, 11.1, 13.0, 14.8]
        slope, lo, hi, icpt = stats.slope_ci95(x, y)
        r = sst.linregress(x, y)
        half = sst.t.ppf(0.975, len(x) - 2) * r.stderr
        self.assertAlmostEqual(slope, r.slope)
        self.assertAlmostEqual(icpt, r.intercept)
        self.assertAlmostEqual(lo, r.slope - half)
        self.assertAlmostEqual(hi, r.slope + half)

    def test_too_few_points_or_a_constant_x(self):
        self.assertTrue(all(math.isnan(v) for v in stats.slope_ci95([1], [2])))
        s, lo, hi, _ = stats.slope_ci95([0, 1], [0, 2])
        self.assertEqual(s, 2.0)
        self.assertTrue(math.isnan(lo) and math.isnan(hi))
        self.assertTrue(all(math.isnan(v) for v in stats.slope_ci95([3, 3, 3], [1, 2, 3])))
        # An exact line: the interval is the slope itself.
        self.assertEqual(stats.slope_ci95([0, 1, 2], [5, 5, 5])[:3], (0.0, 0.0, 0.0))


class VerdictTest(unittest.TestCase):
    def test_an_interval_around_zero_is_flat(self):
        self.assertEqual(soak_report.verdict(0.5, -1, 2, 100, 0.5)[0], "flat")

    def test_a_small_drift_is_flat_and_a_large_one_grows_or_falls(self):
        # The interval [1, 3] per hour over half an hour of a mean of 100: at most 1.5%.
        v, why = soak_report.verdict(2, 1, 3, 100, 0.5)
        self.assertEqual(v, "flat")
        self.assertIn("1.5%", why)
        self.assertEqual(soak_report.verdict(20, 15, 25, 100, 0.5)[0], "grows")
        self.assertEqual(soak_report.verdict(-20, -25, -15, 100, 0.5)[0], "falls")
        # The limit is the caller's: here the bound 25 allows 12.5%.
        self.assertEqual(soak_report.verdict(20, 15, 25, 100, 0.5, limit=0.1)[0], "grows")
        self.assertEqual(soak_report.verdict(20, 15, 25, 100, 0.5, limit=0.13)[0], "flat")

    def test_a_wide_interval_around_zero_is_flat_but_not_resolved(self):
        v, why = soak_report.verdict(1, -30, 32, 100, 0.5)
        self.assertEqual(v, "flat")
        self.assertIn("-15.0% to +16.0%", why)
        self.assertFalse(soak_report.resolved(-30, 32, 100, 0.5))
        self.assertTrue(soak_report.resolved(-3, 3, 100, 0.5))
        self.assertIsNone(soak_report.resolved(-3, 3, 0, 0.5))
        noisy = [(60.0 * i, 100.0 + (40 if i % 3 == 0 else -20)) for i in range(1, 13)]
        f = soak_report.fit(noisy, warmup_s=120)
        self.assertEqual((f["verdict"], f["resolved"]), ("flat", False))

    def test_no_interval_is_no_verdict(self):
        self.assertEqual(soak_report.verdict(1, math.nan, math.nan, 1, 1)[0], "too few points")

    def test_fit_leaves_the_warm_up_out_and_reads_first_and_last_windows(self):
        # 30 one-minute points: the first two far off (warm-up), then 100 flat with noise.
        pts = [(60.0 * i, 500.0 if i <= 2 else 100.0 + (1 if i % 2 else -1)) for i in range(1, 31)]
        f = soak_report.fit(pts, warmup_s=120)
        self.assertEqual(f["n"], 28)
        self.assertEqual(f["verdict"], "flat")
        self.assertAlmostEqual(f["mean"], 100.0, places=0)
        self.assertEqual(f["edge_s"], 300.0)
        self.assertTrue(f["lo_per_h"] <= 0 <= f["hi_per_h"] or abs(f["drift_hi"]) <= 0.05)
        grow = soak_report.fit([(60.0 * i, 100.0 + 2 * i) for i in range(1, 31)], warmup_s=120)
        self.assertEqual(grow["verdict"], "grows")
        self.assertAlmostEqual(grow["slope_per_h"], 120.0)
        self.assertLess(grow["first_mean"], grow["last_mean"])


class ProgressTest(unittest.TestCase):
    def test_a_progress_line_with_latency(self):
        p = soak_rows.parse_progress(LINE + "\n")
        self.assertEqual((p["t_s"], p["submitted"], p["delivered"], p["in_flight"]), (60.0, 60000, 59500, 500))
        self.assertEqual((p["submitted_tps"], p["delivered_tps"], p["p50_ms"], p["p99_ms"]), (1000, 991, 310.2, 540.7))
        self.assertIsNone(p["oldest_undelivered_ms"])

    def test_an_interval_with_nothing_delivered(self):
        p = soak_rows.parse_progress(IDLE)
        self.assertIsNone(p["p99_ms"])
        self.assertEqual((p["failed"], p["oldest_undelivered_ms"]), (2, 61234.0))

    def test_other_lines_are_not_progress(self):
        for line in ("", "peer-sim: pre-signing 3000 transactions", "[2026-12-07 10:00:00.000] [warning] deliver: lost",
                     "submitted 5 (1/s)"):
            self.assertIsNone(soak_rows.parse_progress(line), line)


def fake_proc(root, pid, rss_kib, utime, stime, fds):
    d = os.path.join(root, str(pid))
    os.makedirs(os.path.join(d, "fd"))
    with open(os.path.join(d, "status"), "w") as f:
        f.write(f"Name:\torderer\nVmHWM:\t{rss_kib + 10} kB\nVmRSS:\t{rss_kib} kB\nThreads:\t9\n")
    with open(os.path.join(d, "stat"), "w") as f:
        # comm with a space and a parenthesis: the fields count from the last ')'
        f.write(f"{pid} (or (x) der) S 1 1 1 0 -1 4194560 100 0 0 0 {utime} {stime} 0 0 20 0 9 0 100 1 1\n")
    for i in range(fds):
        open(os.path.join(d, "fd", str(i)), "w").close()


class RowTest(unittest.TestCase):
    def setUp(self):
        self.proc = tempfile.mkdtemp()

    def test_read_proc_from_a_fake_proc(self):
        from benchlib import placement
        fake_proc(self.proc, 42, 2048, 300, 100, 7)
        got = soak_rows.read_proc(42, self.proc)
        self.assertEqual(got, {"pid": 42, "rss_bytes": 2048 * 1024, "fds": 7,
                               "cpu_s": round(400 / placement.CLK_TCK, 2)})
        self.assertIsNone(soak_rows.read_proc(43, self.proc))
        self.assertIsNone(soak_rows.read_proc(None, self.proc))

    def test_build_row_takes_cpu_over_the_interval_and_knows_a_new_pid(self):
        p = soak_rows.parse_progress(LINE)
        prev = {"unix": 1000.0, "procs": {"node1": {"pid": 1, "rss_bytes": 1, "fds": 1, "cpu_s": 10.0},
                                          "node2": {"pid": 2, "rss_bytes": 1, "fds": 1, "cpu_s": 10.0}}}
        procs = {"node1": {"pid": 1, "rss_bytes": 5 << 20, "fds": 30, "cpu_s": 40.0},
                 "node2": {"pid": 9, "rss_bytes": 4 << 20, "fds": 20, "cpu_s": 1.0}, "broker1": None}
        row = soak_rows.build_row(1, p, procs, {"node1.ledger": 1 << 20}, 1060.0, prev, leader="node1",
                                  note="raft leadership moved", ledger_memory={"node1": 3 << 20, "node2": None})
        self.assertEqual(row["procs"]["node1"]["cpu_cores"], 0.5)
        self.assertIsNone(row["procs"]["node2"]["cpu_cores"])  # restarted: no earlier reading of it
        self.assertIsNone(row["procs"]["broker1"])
        self.assertEqual((row["interval"], row["t_s"], row["interval_s"], row["leader"]), (1, 60.0, 60.0, "node1"))
        self.assertEqual((row["delivered_tps"], row["p99_ms"]), (991, 540.7))
        self.assertEqual(json.loads(json.dumps(row)), row)
        ser = soak_rows.series([row])
        self.assertEqual(ser["rss:node1"], [(60.0, 5.0)])
        self.assertEqual(ser["disk:node1.ledger"], [(60.0, 1.0)])
        self.assertEqual(ser["ledger:node1"], [(60.0, 3.0)])
        self.assertNotIn("ledger:node2", ser)  # its /metrics did not answer
        self.assertNotIn("cpu:node2", ser)
        self.assertNotIn("rss:broker1", ser)
        line = soak.progress_line(row, 1, 30, 60)
        self.assertTrue(line.startswith("  minute 1/30: 991 tx/s, p99 541 ms, RSS MiB node1 5, node2 4"), line)

    def test_disk_bytes_counts_blocks_once_per_file(self):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "sub"))
        with open(os.path.join(d, "sub", "a"), "wb") as f:
            f.write(b"x" * 10000)
        os.link(os.path.join(d, "sub", "a"), os.path.join(d, "b"))
        one = os.stat(os.path.join(d, "b")).st_blocks * 512
        self.assertEqual(soak_rows.disk_bytes(d), one)
        self.assertIsNone(soak_rows.disk_bytes(os.path.join(d, "none")))


def fake_soak(out, minutes=12, grow_rss=0.0, end=True, torn=False, stop_growing_at=None):
    """A soak folder as the bench writes it: one-minute rows, node1's memory
    growing by grow_rss MiB a minute (until minute stop_growing_at, if
    given), peer-sim's always growing."""
    os.makedirs(out, exist_ok=True)
    record.write_json(os.path.join(out, "soak.json"), {
        "driver": "raft-3", "rate": 300, "fraction": None, "capacity": None, "duration_s": minutes * 60,
        "interval_s": 60, "warmup_s": 120, "drift_limit": 0.05, "seed": 1, "channel": "soak-raft-3-1",
        "settings": {"peers": 3, "tx_size": 1024, "block": {"max_message_count": "500", "batch_timeout": "2s",
                                                           "preferred_max_bytes": "2MB"}},
        "settings_from": "test", "roles_cpus": {"orderer": "1", "broker": "0", "peers": "0"}})
    with open(os.path.join(out, "soak.jsonl"), "w") as f:
        for i in range(1, minutes + 1):
            wobble = 1 if i % 2 else -1
            row = {"interval": i, "t_s": 60.0 * i, "unix": 1000.0 + 60 * i, "delivered_tps": 300 + wobble,
                   "submitted_tps": 300, "p50_ms": 900.0, "p99_ms": 1700.0 + 10 * wobble,
                   "procs": {"node1": {"pid": 1, "rss_bytes": int((100 + grow_rss * min(i, stop_growing_at or i) + wobble)
                                                                 * (1 << 20)),
                                       "fds": 40, "cpu_s": i, "cpu_cores": 0.2},
                             "peer-sim": {"pid": 2, "rss_bytes": (50 + 5 * i) << 20, "fds": 20, "cpu_s": i,
                                          "cpu_cores": 0.05}},
                   "disk_bytes": {"node1.ledger": (20 * i) << 20}}
            f.write(json.dumps(row) + "\n")
        if torn:
            f.write('{"interval": 99, "t_s"')
    if end:
        record.write_json(os.path.join(out, "soak-end.json"), {
            "ended": "completed", "reason": None, "ok": True, "problems": [], "replicas_identical": True,
            "peer_sim": {"exit_code": 0, "submitted": 10, "acked": 10, "delivered": 10, "failed": 0, "duplicates": 0,
                         "undelivered_acked": 0},
            "nodes": {"node1": {"verified": True, "height": 5}},
            "ack_check": {"acknowledged": 10, "acknowledged_missing": 0, "doubled": 0, "unacknowledged_in_chain": 0,
                          "height": 5, "replicas": {"node1": 5}}})


class ReportTest(unittest.TestCase):
    def test_a_flat_service_is_stable_whatever_peer_sim_and_the_disk_do(self):
        out = tempfile.mkdtemp()
        fake_soak(out, torn=True)
        soak_report.write(out)
        s = record.read_json(os.path.join(out, "summary.json"))
        self.assertEqual(s["intervals"], 12)
        self.assertEqual(s["claim"], {"p99_flat": True, "memory_flat": True, "stable": True, "p99_resolved": True,
                                      "memory_resolved": True, "memory_series": ["rss:node1"], "judged": True})
        self.assertEqual(s["series"]["rss:peer-sim"]["verdict"], "grows")
        self.assertTrue(s["series"]["rss:peer-sim"]["expected_growth"])
        disk = s["series"]["disk:node1.ledger"]
        self.assertEqual(disk["verdict"], "grows")
        self.assertAlmostEqual(disk["slope_per_h"], 1200.0)
        # 1,200 MiB an hour at ~300 tx/s
        self.assertAlmostEqual(disk["bytes_per_tx"], 1200 * (1 << 20) / (300 * 3600), delta=5)
        md = record.read_text(os.path.join(out, "report.md"))
        self.assertIn("Memory (node1): flat; p99: flat.", md)
        self.assertIn("![soak](soak.png)", md)
        self.assertTrue(os.path.getsize(os.path.join(out, "soak.png")) > 1000)

    def test_growing_memory_is_not_stable_and_a_killed_run_says_so(self):
        out = tempfile.mkdtemp()
        fake_soak(out, grow_rss=2.0, end=False)
        soak_report.write(out)
        s = record.read_json(os.path.join(out, "summary.json"))
        self.assertEqual(s["series"]["rss:node1"]["verdict"], "grows")
        self.assertFalse(s["claim"]["stable"])
        md = record.read_text(os.path.join(out, "report.md"))
        self.assertIn("NOT flat", md)
        self.assertIn("No end record", md)

    def test_a_bound_that_filled_grows_over_the_run_and_is_flat_over_the_second_half(self):
        out = tempfile.mkdtemp()
        fake_soak(out, minutes=40, grow_rss=3.0, stop_growing_at=15)
        soak_report.write(out)
        s = record.read_json(os.path.join(out, "summary.json"))
        self.assertEqual(s["series"]["rss:node1"]["verdict"], "grows")
        half = s["second_half"]
        self.assertEqual(half["claim"]["start_s"], 120 + (2400 - 120) / 2)
        self.assertEqual(half["series"]["rss:node1"]["verdict"], "flat")
        self.assertTrue(half["claim"]["memory_flat"])
        self.assertEqual(sorted(half["series"]), ["latency:p99", "rss:node1"])
        md = record.read_text(os.path.join(out, "report.md"))
        self.assertIn("Memory (node1): NOT flat", md)
        self.assertIn("## The second half", md)
        self.assertIn("**Memory: flat; p99: flat** (over the second half)", md)
        # still growing in its second half: not flat there either
        out = tempfile.mkdtemp()
        fake_soak(out, minutes=40, grow_rss=3.0)
        soak_report.write(out)
        self.assertFalse(record.read_json(os.path.join(out, "summary.json"))["second_half"]["claim"]["memory_flat"])

    def test_too_short_a_run_is_not_judged(self):
        out = tempfile.mkdtemp()
        fake_soak(out, minutes=3)
        soak_report.write(out)
        s = record.read_json(os.path.join(out, "summary.json"))
        self.assertFalse(s["claim"]["judged"])
        self.assertIn("p99: not judged", record.read_text(os.path.join(out, "report.md")))
        self.assertIsNone(s["second_half"])

    def test_a_torn_line_elsewhere_is_refused(self):
        out = tempfile.mkdtemp()
        path = os.path.join(out, "x.jsonl")
        with open(path, "w") as f:
            f.write('{"a": 1}\n{"a"\n{"a": 2}\n')
        with self.assertRaises(ValueError):
            record.read_jsonl(path, torn_tail=True)


class ResolveTest(unittest.TestCase):
    KAFKA3 = os.path.join(ROOT, "bench", "results", "compare-vs-kafka-3-20261127b")

    def test_half_of_a_committed_capacity_with_the_cells_settings(self):
        p = soak.resolve(ROOT, "kafka-3-broadcast", fraction=0.5, capacity_from=self.KAFKA3)
        self.assertEqual(p["capacity"]["cell"], "kafka-3")
        self.assertEqual(p["rate"], round(p["capacity"]["capacity"] / 2))
        self.assertEqual(p["settings"]["block"]["max_message_count"], "500")
        self.assertEqual(p["settings"]["profile"], "high-throughput")
        raft = soak.resolve(ROOT, "raft-3", fraction=0.5, capacity_from=self.KAFKA3)
        # The searches that study's report counts: its generator-limited one left out.
        self.assertEqual((raft["capacity"]["cell"], raft["capacity"]["n"]), ("raft-3", 4))
        self.assertEqual(raft["capacity"]["capacity"], (5000 + 6250 + 5590 + 4472) / 4)
        self.assertLess(raft["rate"], p["rate"])

    def test_a_rate_alone_takes_the_compare_workloads_settings(self):
        p = soak.resolve(ROOT, "raft-3", rate=300)
        self.assertEqual((p["rate"], p["capacity"], p["fraction"]), (300, None, None))
        self.assertIn("compare", p["settings_from"])
        self.assertEqual(p["settings"]["driver"], "raft-3")

    def test_mistakes_name_themselves(self):
        for kw, msg in ((dict(driver_name="kafka-3", rate=10), "submits through Broadcast"),
                        (dict(driver_name="raft-3"), "one of them"),
                        (dict(driver_name="raft-3", rate=1, fraction=0.5), "one of them"),
                        (dict(driver_name="raft-3", fraction=0.5), "--capacity-from"),
                        (dict(driver_name="solo", fraction=0.5, capacity_from=self.KAFKA3), "no cell on driver solo"),
                        (dict(driver_name="raft-3", fraction=0.5, capacity_from="/nonexistent"), "no study.json")):
            with self.assertRaisesRegex(soak.SoakError, msg):
                soak.resolve(ROOT, **kw)


if __name__ == "__main__":
    unittest.main(verbosity=1)
