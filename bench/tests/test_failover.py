"""Unit tests of the failover study's parts: several Kafka orderers in a
driver, the cells' raft, consumer and recovery settings, a recovery run at
a fixed rate with its ack check (on a fake runner and service), and the
report's failover table."""
import json
import math
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchlib import ack_check, analysis, drivers, failover, recovery, services  # noqa: E402
from benchlib import workload as wl  # noqa: E402
from benchlib.record import RunResult  # noqa: E402
from benchlib.study_recovery import StudyRecovery  # noqa: E402
from fake_study import base_workload  # noqa: E402


def _chain(tx_lists):
    """An exported chain (ledger export's JSON lines as dicts): genesis,
    then a block per list of tx ids, hashed and linked as the ledger does."""
    blocks, prev = [], ""
    for i, txs in enumerate([[]] + list(tx_lists)):
        b = {"number": i, "previous_hash": prev, "data_hash": f"{i:064x}", "consenter_metadata": "",
             "cut_reason": "CUT_REASON_GENESIS" if i == 0 else "CUT_REASON_MAX_MESSAGE_COUNT", "tx_ids": txs}
        b["hash"] = ack_check.block_hash(b)
        prev = b["hash"]
        blocks.append(b)
    return blocks


def _write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def _ack_log(path, outcomes):
    with open(path, "w") as f:
        f.write("# peer-sim ack log\n")
        for tx, outcome in outcomes:
            f.write(f"{tx} {outcome} 1 2 0 END\n")


class OrderersDriverTest(unittest.TestCase):
    def test_kafka_drivers_say_how_many_orderers_and_default_to_one(self):
        self.assertEqual(drivers.load_driver("kafka-3-broadcast")["orderers"], 1)
        two = drivers.load_driver("kafka-3-broadcast-2-orderers")
        self.assertEqual((two["orderers"], two["brokers"], two["submit"]), (2, 3, "broadcast"))
        self.assertEqual(drivers.load_driver("raft-3")["orderers"], 1)
        self.assertIn("2 orderers on its partition", drivers.describe(two))

    def test_orderers_mistakes_name_themselves(self):
        for d, msg in (({"backend": "raft", "nodes": 3, "orderers": 2}, "orderers .* is for backend kafka"),
                       ({"backend": "kafka", "brokers": 1, "orderers": 0}, "orderers must be a whole number"),
                       ({"backend": "kafka", "brokers": 1, "orderers": "2"}, "orderers must be a whole number")):
            with self.assertRaisesRegex(drivers.DriverError, msg):
                drivers.check(d, "x.yaml")


class FailoverWorkloadTest(unittest.TestCase):
    def test_the_failover_workload_runs_every_cell_at_one_fixed_rate(self):
        for preset in ("full", "pilot", "smoke"):
            w = wl.load("failover", preset)
            self.assertEqual(w.capacity.max_steps, 0, preset)
            self.assertEqual(w.latency.fractions, [], preset)
            self.assertEqual(w.latency.rates, [w.recovery.rate], preset)
            self.assertEqual(w.recovery.fraction, 0, preset)
        full = wl.load("failover")
        self.assertEqual([c.name for c in full.cells],
                         ["raft-fabric", "raft-tuned", "kafka-3-default", "kafka-3-tuned", "kafka-3-orderer-default",
                          "kafka-3-orderer-tuned"])
        self.assertEqual(full.cell("raft-fabric").raft, {"heartbeat_ms": 500, "election_timeout_ms": 5000})
        self.assertEqual(full.cell("raft-tuned").raft, {"heartbeat_ms": 100, "election_timeout_ms": 1000})
        tuned, default = full.cell("kafka-3-tuned"), full.cell("kafka-3-default")
        self.assertEqual(tuned.broker["broker.session.timeout.ms"], "1500")
        self.assertEqual(tuned.consumer["reconnect.backoff.max.ms"], "1000")
        self.assertEqual(tuned.producer["topic.metadata.refresh.interval.ms"], "5000")
        self.assertEqual((default.broker, default.consumer), ({}, {}))
        # The orderer cells take the tuned cell's settings, kill the orderer, and run two of them.
        ot = full.cell("kafka-3-orderer-tuned")
        self.assertEqual((ot.broker, ot.consumer, ot.recovery_target), (tuned.broker, tuned.consumer, "orderer"))
        self.assertEqual(full.driver_of(ot), "kafka-3-broadcast-2-orderers")
        self.assertIsNone(tuned.recovery_target)
        smoke = wl.load("failover", "smoke")
        self.assertEqual([drivers.load_driver(smoke.driver_of(c))["brokers"] for c in smoke.cells
                          if smoke.driver_of(c).startswith("kafka")], [1, 1])

    def test_cells_differing_only_in_raft_timing_are_two_cells(self):
        d = base_workload(driver="raft-3", cells=[{"name": "a", "raft.heartbeat_ms": 100},
                                                  {"name": "b", "raft.heartbeat_ms": 500}])
        w = wl.from_dict(d)
        self.assertEqual(wl.effective(w.cell("b"), w.block)["raft"], {"heartbeat_ms": 500})
        d["cells"][1]["raft.heartbeat_ms"] = 100
        with self.assertRaisesRegex(wl.WorkloadError, "identical settings"):
            wl.from_dict(d)
        # Settings left unset leave the effective mapping (and older studies' records) as they were.
        self.assertFalse({"raft", "consumer", "recovery_target"} & set(wl.effective(wl.load("profiles").cell(
            "baseline"), {})))

    def test_settings_that_do_not_apply_to_the_cells_driver_are_refused(self):
        for cell, msg in (({"name": "a", "driver": "kafka-1-broadcast", "raft.heartbeat_ms": 100}, "raft.* settings"),
                          ({"name": "a", "driver": "raft-3", "consumer.socket.timeout.ms": 5}, "consumer.* settings"),
                          ({"name": "a", "driver": "kafka-3-broadcast", "recovery.target": "orderer"},
                           "needs a driver with orderers: 2"),
                          ({"name": "a", "driver": "raft-3", "recovery.target": "broker"}, "recovery.target must be"),
                          ({"name": "a", "driver": "raft-3", "raft.heartbeat": 100}, "unknown raft setting"),
                          ({"name": "a", "driver": "raft-3", "raft.heartbeat_ms": "fast"}, "positive whole number")):
            with self.assertRaisesRegex(wl.WorkloadError, msg):
                wl.from_dict(base_workload(cells=[cell]))

    def test_a_recovery_rate_or_a_fraction_not_both(self):
        with self.assertRaisesRegex(wl.WorkloadError, "not both"):
            wl.from_dict(base_workload(recovery={"fraction": 0.5, "rate": 1000}))
        with self.assertRaisesRegex(wl.WorkloadError, "recovery.rate a positive rate"):
            wl.from_dict(base_workload(recovery={"rate": -5}))
        w = wl.from_dict(base_workload(capacity={"max_steps": 0}, latency={"fractions": [], "rates": [500]},
                                       recovery={"rate": 500, "window_s": 30, "warmup_s": 5, "kill_after_s": 10}))
        self.assertEqual(w.recovery.rate, 500)


class FakeProcess:
    """An OrdererProcess that records its arguments and never runs."""
    def __init__(self, binary, channel, run_dir, block, cpus, consensus_args, name="orderer", listen="", prefix=None,
                 own_session=False):
        self.args, self.name, self.proc, self.killed = list(consensus_args), name, None, False
        self.ledger = os.path.join(run_dir, "ledger" if name == "orderer" else f"ledger-{name}")
        self.port = None
        self._alive = True

    def launch(self):
        self.proc = object()
        return self

    def wait_ready(self, timeout_s=60):
        self.port = 7000 + len(self.name)
        return self

    def address(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self._alive

    def pids(self):
        return [self.port] if self._alive else []

    def kill(self):
        self._alive, self.killed = False, True


class ServicesTest(unittest.TestCase):
    def setUp(self):
        self.real = services.OrdererProcess
        services.OrdererProcess = FakeProcess

    def tearDown(self):
        services.OrdererProcess = self.real

    def _kafka(self, driver, eff_extra=None):
        class Brokers:
            bootstrap, pids = "127.0.0.1:1", staticmethod(lambda: [1])
        eff = dict({"block": {}, "producer": {"linger.ms": "0"}}, **(eff_extra or {}))
        return services.KafkaService({"orderer": "orderer"}, "ch", "/tmp/x", eff, {"orderer": [1], "broker": [0]},
                                     drivers.load_driver(driver), Brokers())

    def test_two_orderers_on_one_partition_each_with_its_own_ledger(self):
        s = self._kafka("kafka-3-broadcast-2-orderers",
                        {"consumer": {"socket.timeout.ms": "10000"}, "recovery_target": "orderer"}).start()
        self.assertEqual([n.name for n in s.nodes], ["orderer", "orderer2"])
        self.assertEqual(len({n.ledger for n in s.nodes}), 2)
        for n in s.nodes:
            self.assertIn("--consumer-prop", n.args)
            self.assertEqual(n.args[n.args.index("--consumer-prop") + 1], "socket.timeout.ms=10000")
            self.assertEqual(n.args[n.args.index("--producer-prop") + 1], "linger.ms=0")
        first, second = s.nodes
        self.assertEqual(s.address(), f"{first.address()},{second.address()}")
        self.assertEqual(sorted(s.role_pids()["orderer"]()), sorted(first.pids() + second.pids()))
        self.assertTrue(s.can_kill())
        self.assertIn("orderer (the orderer the peers use first)", s.kill_leader())
        self.assertTrue(first.killed and not second.killed)
        self.assertIs(s.main(), second)

    def test_one_orderer_keeps_the_broker_leader_as_its_target(self):
        s = self._kafka("kafka-1-broadcast").start()
        self.assertEqual(len(s.nodes), 1)
        self.assertNotIn("--consumer-prop", s.nodes[0].args)
        self.assertEqual(s.address(), s.nodes[0].address())
        self.assertFalse(s.can_kill())   # one broker: no leader to lose
        self.assertFalse(self._kafka("kafka-1-broadcast-2-orderers").start().can_kill())  # target: the broker leader

    def test_a_cells_raft_timing_overrides_the_drivers(self):
        real_find = services.RaftService._find_leader
        services.RaftService._find_leader = lambda self, timeout_s: None
        try:
            s = services.RaftService({"orderer": "orderer"}, "ch", "/tmp/x", {"block": {}, "raft": {"heartbeat_ms": 500}},
                                     {"orderer": [1], "broker": [0]}, drivers.load_driver("raft-3")).start()
        finally:
            services.RaftService._find_leader = real_find
        args = s.nodes[0].args
        self.assertEqual(args[args.index("--raft-heartbeat") + 1], "500")
        self.assertEqual(args[args.index("--raft-election-timeout") + 1], "1000")  # the driver's


class ChainAgreementTest(unittest.TestCase):
    class Node:
        def __init__(self, name, head, hashes, killed=False):
            self.name, self.head, self.hashes, self.killed, self.proc, self.removed = name, head, hashes, killed, 1, False

        def verify(self, ledger_bin, remove=True):
            return True, "ok", self.head

        def block_hash(self, ledger_bin, number):
            return self.hashes.get(number)

        def remove_ledger(self):
            self.removed = True

    def _verify(self, *nodes):
        s = services.Service({}, "ch", "/tmp/x", {"block": {}}, {}, {"ack": "durable"})
        s.nodes = list(nodes)
        out = s.verify("ledger")
        self.assertTrue(all(n.removed for n in nodes), "every ledger is removed once compared")
        return out

    def test_a_node_a_block_behind_holds_a_prefix_of_the_longest_chain(self):
        longest = self.Node("node2", (100, "h99"), {98: "h98", 99: "h99"})
        self.assertTrue(self._verify(longest, self.Node("node3", (99, "h98"), {}))[0])
        ok, msg = self._verify(longest, self.Node("node3", (99, "other"), {}))
        self.assertFalse(ok)
        self.assertIn("the nodes' chains differ", msg)
        ok, _ = self._verify(longest, self.Node("node3", (100, "other"), {}))
        self.assertFalse(ok)
        # A node killed on purpose is not compared.
        self.assertTrue(self._verify(longest, self.Node("node1", (40, "x"), {}, killed=True))[0])


class CheckAcksTest(unittest.TestCase):
    def test_success_missing_is_counted_and_a_shorter_replica_is_a_prefix(self):
        with tempfile.TemporaryDirectory() as d:
            full = _chain([["a", "b"], ["c"], ["d"]])
            _write_jsonl(os.path.join(d, "survivor.jsonl"), full)
            _write_jsonl(os.path.join(d, "killed.jsonl"), full[:3])
            _ack_log(os.path.join(d, "acks.log"), [("a", "SUCCESS"), ("b", "SUCCESS"), ("c", "SUCCESS"),
                                                   ("d", "UNANSWERED_STREAM_BROKEN"), ("e", "SUCCESS")])
            v = failover.check_acks([os.path.join(d, "acks.log")],
                                    {"orderer": os.path.join(d, "killed.jsonl"),
                                     "orderer2": os.path.join(d, "survivor.jsonl")})
        self.assertEqual((v["acknowledged"], v["acknowledged_missing"], v["doubled"]), (4, 1, 0))
        self.assertEqual(v["replicas"], {"orderer": 3, "orderer2": 4})
        self.assertTrue(v["replicas_agree"])
        self.assertEqual(v["violations"], [])

    def test_diverging_replicas_and_doubled_transactions_are_violations(self):
        with tempfile.TemporaryDirectory() as d:
            _write_jsonl(os.path.join(d, "x.jsonl"), _chain([["a"], ["a"]]))
            _write_jsonl(os.path.join(d, "y.jsonl"), _chain([["b"]]))
            _ack_log(os.path.join(d, "acks.log"), [("a", "SUCCESS")])
            v = failover.check_acks([os.path.join(d, "acks.log")],
                                    {"x": os.path.join(d, "x.jsonl"), "y": os.path.join(d, "y.jsonl")})
        self.assertFalse(v["replicas_agree"])
        self.assertEqual(v["doubled"], 1)
        self.assertEqual(len(v["violations"]), 2, v["violations"])


class FakeRunner:
    """Runs no peer-sim: writes the report a recovery run would, kills on
    cue, and logs the answers."""
    bin = {"ledger": "ledger"}

    def __init__(self, out, acks):
        self.out, self.acks, self.calls = out, acks, []

    def next_id(self):
        return "0007"

    def peer_sim(self, run_id, kind, rate, window_s, warmup_max_s, service, channel, address, action, fixed_warmup,
                 block_times, tolerate_loss, drain_s, ack_log, **common):
        self.calls.append({"rate": rate, "address": address, "ack_log": ack_log})
        run_dir = os.path.join(self.out, "runs", run_id)
        os.makedirs(run_dir, exist_ok=True)
        start = time.time() * 1000.0 - 20_000
        action[1]()    # the kill, now
        kill = time.time() * 1000.0
        _ack_log(ack_log, self.acks)
        # Load until 4 s after the kill; a block every 100 ms from 700 ms after it.
        series = [{"t": t, "phase": "measured", "delivered": int(rate) if not 20 <= t <= 21 else 0}
                  for t in range(1, 25)]
        report = {"clock": {"start_unix_ms": start}, "series": series,
                  "block_unix_ms": [kill - 50] + [kill + 700 + 100 * i for i in range(40)],
                  "streams": {"orderers": ["a:1", "b:2"],
                              "deliver": {"reconnects": 1, "switches": {"b:2": 1}, "orderer": "b:2"},
                              "broadcast": {"broken": 3, "unanswered": 5, "switches": {"b:2": 3},
                                            "orderers": {"b:2": 3}}}}
        with open(os.path.join(run_dir, "peer-sim.json"), "w") as f:
            json.dump(report, f)
        return RunResult(study="s", run_id=run_id, cell="c", repetition=1, kind=kind, offered_tps=rate,
                         never_acked=5)


class FakeService:
    def __init__(self, exports):
        self.exports = exports

    def survivor_address(self):
        return "a:1,b:2"

    def kill_leader(self):
        return "orderer (the orderer the peers use first)"

    def export(self, ledger_bin, out_dir, prefix):
        paths = {}
        for name, blocks in self.exports.items():
            paths[name] = os.path.join(out_dir, f"{prefix}-{name}.jsonl")
            _write_jsonl(paths[name], blocks)
        return paths, []


class RecoveryRunTest(unittest.TestCase):
    def _run(self, exports, acks):
        with tempfile.TemporaryDirectory() as out:
            s = StudyRecovery()
            s.w = wl.from_dict(base_workload(capacity={"max_steps": 0}, latency={"fractions": [], "rates": [300]},
                                             recovery={"rate": 300, "window_s": 20, "warmup_s": 2,
                                                       "kill_after_s": 4}))
            s.out, s.runner, s.log = out, FakeRunner(out, acks), lambda *a: None
            kept, summary = [], {}
            s._recovery_run(FakeService(exports), None, summary, {}, kept.append, "ch")
            left = os.listdir(os.path.join(out, "runs", "0007"))
        return s.runner.calls[0], kept[0], summary, left

    def test_a_fixed_rate_run_checks_the_ack_log_against_every_chain(self):
        full = _chain([["a", "b"], ["c"]])
        call, rec, summary, left = self._run({"orderer": full[:2], "orderer2": full},
                                             [("a", "SUCCESS"), ("c", "SUCCESS"), ("z", "SUCCESS")])
        self.assertEqual(call["rate"], 300.0)   # the workload's rate, no capacity needed
        self.assertEqual(call["address"], "a:1,b:2")
        self.assertTrue(call["ack_log"].endswith(os.path.join("runs", "0007", "acks.log")))
        self.assertTrue(rec.valid, rec.invalid_reason)
        self.assertIsNone(rec.fraction)
        self.assertEqual(rec.acked_lost, 1)
        self.assertEqual(rec.ack_check["replicas"], {"orderer": 2, "orderer2": 3})
        self.assertAlmostEqual(rec.first_block_ms, 700, delta=100)
        self.assertEqual(rec.streams["broadcast"]["switches"], {"b:2": 3})
        self.assertEqual(summary["recovery"]["acked_lost"], 1)
        self.assertTrue(summary["recovery"]["chains_agree"])
        self.assertEqual(sorted(left), ["acks.log", "peer-sim.json"])   # the exports are removed once checked

    def test_chains_that_disagree_invalidate_the_run(self):
        _, rec, summary, _ = self._run({"x": _chain([["a"]]), "y": _chain([["b"]])}, [("a", "SUCCESS")])
        self.assertFalse(rec.valid)
        self.assertIn("replicas differ", rec.invalid_reason)
        self.assertFalse(summary["recovery"]["chains_agree"])


class ResumedTest(unittest.TestCase):
    """When blocks flow again after a kill, whether or not it stopped them long."""
    kill = 1_000_000.0

    def _blocks(self, gaps_after):
        """Blocks every 100 ms for 3 s before the kill, then at the given
        offsets after it."""
        return [self.kill - 3000 + 100 * i for i in range(30)] + [self.kill + g for g in gaps_after]

    def test_a_quick_failover_is_not_read_from_a_later_gap(self):
        # Blocks again 108 ms after the kill, every 100 ms, with one 337 ms gap 10 s later (the
        # smoke's kafka orderer cell: the longest silence is that gap).
        after = [108 + 100 * i for i in range(100)] + [10_345 + 100 * i for i in range(100)]
        f = recovery.recovery_figures(self._blocks(after), self.kill, end_ms=self.kill + 20_000)
        self.assertEqual(f["resumed_ms"], 108)
        self.assertEqual(f["recovery_ms"], 10_345)

    def test_no_gap_longer_than_the_spacing_is_no_silence(self):
        # Blocks every 333 ms before and after a kill the peers hardly noticed: the longest gap (341 ms,
        # 12 s later) is jitter, so the recovery is the first block.
        before = [self.kill - 3330 + 333 * i for i in range(10)]
        after = [107 + 333 * i for i in range(36)] + [107 + 333 * 36 + 341 + 333 * i for i in range(20)]
        f = recovery.recovery_figures(before + [self.kill + g for g in after], self.kill, end_ms=self.kill + 18_900)
        self.assertEqual((f["resumed_ms"], f["recovery_ms"], f["silence_ms"]), (107, 107, 107))
        # A silence from the last block to the end of submitting still means no recovery.
        f = recovery.recovery_figures(before + [self.kill + g for g in after], self.kill, end_ms=self.kill + 20_000)
        self.assertIsNone(f["recovery_ms"])

    def test_submitting_ends_with_the_cooldown_not_the_last_whole_second(self):
        # 1,000 tx/s, a block every 100 ms until 82 ms before submitting ended (measured window and a
        # 700 ms cooldown), which is 300 ms before the end of its last second: blocks flowed to the end.
        start = self.kill - 20_000
        blocks = [start + 18 + 100 * i for i in range(467)]
        report = {"clock": {"start_unix_ms": start, "measure_to_unix_ms": start + 46_000},
                  "config": {"cooldown_ms": 700}, "block_unix_ms": blocks,
                  "series": [{"t": t, "phase": "measured" if t < 47 else "cooldown", "delivered": 1000}
                             for t in range(1, 48)] + [{"t": 48, "phase": "drain", "delivered": 90}]}
        f = recovery.recovery_from_report(report, self.kill, 1000, 0.9)
        self.assertEqual(f["resumed_ms"], 18)
        self.assertEqual(f["recovery_ms"], 18)

    def test_a_straggler_before_a_long_silence_is_not_the_resumption(self):
        after = [5] + [7_800 + 100 * i for i in range(100)]
        f = recovery.recovery_figures(self._blocks(after), self.kill, end_ms=self.kill + 20_000)
        self.assertEqual(f["resumed_ms"], 7_800)
        self.assertEqual(f["recovery_ms"], 7_800)

    def test_blocks_that_never_flow_for_long_enough_are_no_resumption(self):
        after = [500 * i for i in range(1, 5)] + [4_000, 9_000, 15_000]
        f = recovery.recovery_figures(self._blocks(after), self.kill, end_ms=self.kill + 20_000)
        self.assertIsNone(f["resumed_ms"])
        # Near the end of submitting the run need only last until then.
        f = recovery.recovery_figures(self._blocks([18_000, 18_100, 18_200, 18_300]), self.kill,
                                      end_ms=self.kill + 18_400)
        self.assertEqual(f["resumed_ms"], 18_000)

    def test_full_rate_counts_from_the_resumption(self):
        start = self.kill - 5_000
        delivered = {t: (1000 if t <= 5 or t >= 7 else 0) for t in range(1, 20)}
        series = [{"t": t, "delivered": d} for t, d in delivered.items()]
        # Flowing from 1.2 s; a 1.4 s gap later (a stall), the longest silence.
        after = [1_200 + 100 * i for i in range(60)] + [8_500 + 100 * i for i in range(50)]
        f = recovery.recovery_figures(self._blocks(after), self.kill, series, start, offered=1000, full_rate=0.9,
                                      end_ms=self.kill + 13_000)
        self.assertEqual((f["resumed_ms"], f["resumed_full_rate_ms"]), (1_200, 2_000))
        self.assertEqual((f["recovery_ms"], f["full_rate_ms"]), (8_500, 8_500))


class FailoverTableTest(unittest.TestCase):
    def _meta(self):
        return {"cells": [{"name": "raft-tuned"}, {"name": "kafka-3-tuned"}], "latency": {"rates": [1000]},
                "recovery": {"rate": 1000, "kill_after_s": 20}}

    def _runs(self):
        runs = []
        for rep, (fb, rms, lost) in enumerate(((400, 1200, 0), (500, 1500, 2), (450, 1300, 0)), 1):
            r = RunResult(study="s", run_id=f"{rep:04d}", cell="raft-tuned", repetition=rep, kind="recovery",
                          offered_tps=1000, killed="node1 (the raft leader)", first_block_ms=fb, resumed_ms=rms,
                          resumed_full_rate_ms=2000.0, recovery_ms=9000.0 + rep, full_rate_ms=9500.0,
                          acked_lost=lost, never_acked=7,
                          ack_check={"replicas_agree": True})
            runs.append(json.loads(r.to_json()))
            s = RunResult(study="s", run_id=f"1{rep:03d}", cell="raft-tuned", repetition=rep, kind="rate",
                          offered_tps=1000, p50_ms=40.0 + rep, p99_ms=90.0,
                          cpu={"orderer": {"us_per_tx": 100.0 + rep}, "replicas": {"us_per_tx": 50.0}})
            runs.append(json.loads(s.to_json()))
        # A study before the ack check: no row.
        runs.append(json.loads(RunResult(study="s", run_id="2000", cell="kafka-3-tuned", repetition=1,
                                         kind="recovery", recovery_ms=9000.0).to_json()))
        return runs

    def test_medians_and_ranges_per_cell_beside_the_steady_state_cost(self):
        rdf, _ = analysis.frames(self._runs(), [])
        found = failover.rows(self._meta(), rdf)
        self.assertEqual([x["cell"] for x in found], ["raft-tuned"])
        x = found[0]
        self.assertEqual(x["first_block_ms"], (450, 400, 500))
        self.assertEqual(x["resumed_ms"], (1300, 1200, 1500))
        self.assertEqual(x["recovery_ms"], (9002, 9001, 9003))
        self.assertEqual(x["acked_lost"], (0, 0, 2))
        self.assertEqual(x["acked_lost_total"], 2)
        self.assertEqual((x["chains_agree"], x["chains_checked"]), (3, 3))
        self.assertEqual((x["steady_n"], x["p50_ms"], x["orderer_us_per_tx"]), (3, 42.0, 102.0))
        self.assertTrue(math.isnan(x["broker_us_per_tx"]))
        md = "\n".join(failover.section(self._meta(), found))
        self.assertIn("## Failover", md)
        self.assertIn("| raft-tuned | node1 (the raft leader) | 3 | 450 [400–500] | 1,300 [1,200–1,500] | "
                      "2,000 | 9,002 [9,001–9,003] | 0 [0–2] (2) | 7 | 3 of 3 |", md)
        self.assertIn("| raft-tuned | 3 | 42.0 | 90.0 | 102 | 50 |", md)
        self.assertIn("at 1,000 tx/s", md)

    def test_studies_without_ack_checks_have_no_failover_table(self):
        runs = [r for r in self._runs() if r["cell"] == "kafka-3-tuned"]
        rdf, _ = analysis.frames(runs, [])
        self.assertEqual(failover.rows(self._meta(), rdf), [])
        self.assertEqual(failover.section(self._meta(), []), [])


if __name__ == "__main__":
    unittest.main()
