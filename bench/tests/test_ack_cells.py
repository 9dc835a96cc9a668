"""A cell's `ack` setting: what Broadcast's SUCCESS promises on it."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchlib import workload as wl  # noqa: E402


class AckCellTest(unittest.TestCase):
    def test_the_ack_workload_pairs_each_backend_in_both_modes(self):
        w = wl.load("ack")
        self.assertEqual({c.name: (w.driver_of(c), c.ack) for c in w.cells},
                         {"solo-durable": ("solo", "durable"), "solo-accepted": ("solo", "accepted"),
                          "raft-3-durable": ("raft-3", "durable"), "raft-3-accepted": ("raft-3", "accepted"),
                          "kafka-3-durable": ("kafka-3-broadcast", "durable"),
                          "kafka-3-accepted": ("kafka-3-broadcast", "accepted")})
        # The mode is part of what a record says it ran with, so the two
        # cells of a pair are not one configuration measured twice.
        self.assertEqual(wl.effective(w.cell("raft-3-accepted"), w.block)["ack"], "accepted")
        self.assertNotIn("ack", wl.effective(wl.load("compare").cell("raft-3"), {}))
        for preset in ("vs-solo", "vs-raft", "vs-kafka-3", "smoke"):
            self.assertEqual(len(wl.load("ack", preset).cells), 2, preset)

    def test_an_unknown_mode_names_itself(self):
        cell = wl.Cell(name="x")
        with self.assertRaisesRegex(wl.WorkloadError, "ack must be one of durable, accepted, not 'queued'"):
            wl.apply_setting(cell, "ack", "queued")
        wl.apply_setting(cell, "ack", "accepted")
        self.assertEqual(cell.ack, "accepted")
        self.assertEqual(cell.producer, {})  # not taken for a producer property


if __name__ == "__main__":
    unittest.main(verbosity=1)
