"""Unit tests of bench tune's search: the space, the start point, the
hill climb and the goals."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from benchlib import tune  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
