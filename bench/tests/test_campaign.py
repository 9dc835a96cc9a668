"""Unit tests of the crash campaigns' checker (benchlib.ack_check): it must
find each kind of violation in data made to have it, and none in a good
run; and the campaign's schedule and targets."""
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from benchlib import ack_check, campaign, drivers  # noqa: E402


def chain(txs_per_block):
    """An exported chain whose hashes are right: genesis, then a block per
    list of tx ids."""
    blocks = [{"number": 0, "previous_hash": "", "data_hash": "ab" * 32, "consenter_metadata": "",
               "cut_reason": "CUT_REASON_GENESIS", "tx_count": 0}]
    blocks[0]["hash"] = ack_check.block_hash(blocks[0])
    for i, txs in enumerate(txs_per_block, 1):
        b = {"number": i, "previous_hash": blocks[-1]["hash"], "data_hash": f"{i:064x}", "consenter_metadata": "0a01",
             "cut_reason": "CUT_REASON_TIMEOUT", "tx_count": len(txs), "tx_ids": list(txs)}
        b["hash"] = ack_check.block_hash(b)
        blocks.append(b)
    return blocks


class AckCheckTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def write(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("".join(lines))
        return path

    def export(self, name, blocks):
        return self.write(name, [json.dumps(b) + "\n" for b in blocks])

    def verdict(self, acks, chains):
        logs = [self.write(f"acks-{i}.log", lines) for i, lines in enumerate(acks)]
        exports = {n: self.export(f"{n}.jsonl", c) for n, c in chains.items()}
        return ack_check.check(logs, exports, campaign.parse_ack_line)

    def test_a_good_run_passes(self):
        c = chain([["a", "b"], ["c"]])
        v = self.verdict([["a SUCCESS 1 2 0 END\n", "b SUCCESS 1 2 0 END\n", "c SERVICE_UNAVAILABLE 1 2 0 END\n", "d SUCC"]],
                         {"node1": c, "node2": c[:2]})
        self.assertTrue(v["ok"], v["problems"])
        self.assertEqual((v["acknowledged"], v["unacknowledged_in_chain"], v["torn_log_lines"]), (2, 1, 1))
        self.assertEqual(v["replicas"], {"node1": 3, "node2": 2})

    def test_an_acknowledged_transaction_missing_is_found(self):
        v = self.verdict([["a SUCCESS 1 2 0 END\n", "z SUCCESS 1 2 0 END\n"]], {"n": chain([["a"]])})
        self.assertFalse(v["ok"])
        self.assertEqual(v["acknowledged_missing"], 1)

    def test_a_doubled_transaction_is_found_acknowledged_or_not(self):
        v = self.verdict([["a SUCCESS 1 2 0 END\n"]], {"n": chain([["a", "q"], ["q"]])})
        self.assertFalse(v["ok"])
        self.assertEqual(v["doubled"], 1)

    def test_a_tampered_block_and_a_broken_link_are_found(self):
        c = chain([["a"], ["b"]])
        c[1]["tx_ids"] = ["a"]
        c[1]["data_hash"] = "00" * 32  # the hash no longer matches the fields
        v = self.verdict([[]], {"n": c})
        self.assertTrue(any("hash to" in p for p in v["problems"]), v["problems"])
        c = chain([["a"], ["b"]])
        c[2]["previous_hash"] = "11" * 32
        c[2]["hash"] = ack_check.block_hash(c[2])
        v = self.verdict([[]], {"n": c})
        self.assertTrue(any("does not name" in p for p in v["problems"]), v["problems"])

    def test_replicas_that_differ_are_found(self):
        v = self.verdict([[]], {"n1": chain([["a"], ["b"]]), "n2": chain([["a"], ["c"]])})
        self.assertTrue(any("replicas differ at block 2" in p for p in v["problems"]), v["problems"])


class CampaignSetupTest(unittest.TestCase):
    def test_targets_are_checked_against_the_driver(self):
        with self.assertRaises(drivers.DriverError):
            campaign.Campaign("/r", "/b", "/o", drivers.load_driver("solo"), "leader", 1, 100, 1)
        with self.assertRaises(drivers.DriverError):
            campaign.Campaign("/r", "/b", "/o", drivers.load_driver("kafka-1"), "brokers-2", 1, 100, 1)

    def test_the_schedule_comes_from_the_seed(self):
        a = campaign.Campaign("/r", "/b", "/o", drivers.load_driver("raft-3"), "leader", 5, 100, 7)
        b = campaign.Campaign("/r", "/b", "/o", drivers.load_driver("raft-3"), "leader", 5, 100, 7)
        c = campaign.Campaign("/r", "/b", "/o", drivers.load_driver("raft-3"), "leader", 5, 100, 8)
        self.assertEqual(a.schedule, b.schedule)
        self.assertNotEqual(a.schedule, c.schedule)


if __name__ == "__main__":
    unittest.main()
