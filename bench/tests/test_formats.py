"""Unit tests of the bench's readers of shared formats: .properties files
and CPU lists (one reader each)."""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from benchlib import placement, properties  # noqa: E402
from benchlib import workload as wl  # noqa: E402


class PropertiesTest(unittest.TestCase):
    def test_the_orderers_rules(self):
        text = ("# a comment\n! another\n\n  \t\n  linger.ms = 5 \r\nacks:all\nbatch.size=1=2\n"
                "client.id=\nlinger.ms=7\n")
        self.assertEqual(properties.parse(text, "f"),
                         [("linger.ms", "5"), ("acks", "all"), ("batch.size", "1=2"), ("client.id", ""),
                          ("linger.ms", "7")])

    def test_the_first_separator_ends_the_key(self):
        self.assertEqual(properties.parse("a:b=c\nx=y:z\n"), [("a", "b=c"), ("x", "y:z")])

    def test_errors_name_the_file_and_line(self):
        for text, line, words in (("a=1\nno separator\n", 2, "expected key=value"),
                                  ("a=1\n\n = 3\n", 3, "empty key"),
                                  ("a=1 \\\n", 1, "continuations")):
            with self.assertRaises(properties.PropertiesError) as e:
                properties.parse(text, "conf.properties")
            self.assertIn(f"conf.properties:{line}: ", str(e.exception))
            self.assertIn(words, str(e.exception))

    def test_read_keeps_the_last_value_of_a_repeated_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
            f.write("linger.ms=5\nacks=all\nlinger.ms=10\n")
        try:
            self.assertEqual(properties.read(f.name), {"linger.ms": "10", "acks": "all"})
        finally:
            os.unlink(f.name)

    def test_a_bad_profile_line_stops_the_workload_naming_it(self):
        path = wl.profile_path("zz-test-bad")
        with open(path, "w") as f:
            f.write("linger.ms=5\nbatch.size\n")
        try:
            with self.assertRaises(wl.WorkloadError) as e:
                wl.read_profile("zz-test-bad")
            self.assertIn("zz-test-bad.properties:2: expected key=value", str(e.exception))
        finally:
            os.unlink(path)

    def test_profiles_split_their_broker_part(self):
        producer, broker = wl.read_profile("low-latency")
        self.assertTrue(broker)
        self.assertFalse(any(k.startswith("broker.") for k in producer))


class CpuListTest(unittest.TestCase):
    def test_lists_and_ranges(self):
        self.assertEqual(placement.parse_cpu_list("0-2,5"), [0, 1, 2, 5])
        self.assertEqual(placement.parse_cpu_list(" 3 "), [3])
        self.assertEqual(placement.parse_cpu_list(placement.cpu_list([0, 1, 7])), [0, 1, 7])

    def test_bad_lists_are_refused(self):
        for bad in ("a", "1-0", "0,,1", "0 1", "-1", "", "2-"):
            with self.assertRaises(ValueError, msg=bad):
                placement.parse_cpu_list(bad)

    def test_usable_means_every_cpu_of_the_list(self):
        mine = placement.available_cpus()
        self.assertEqual(placement.check_usable(placement.cpu_list(mine)), mine)
        beyond = max(mine) + 1
        with self.assertRaisesRegex(ValueError, f"CPU\\(s\\) {beyond} of"):
            placement.check_usable(f"{mine[0]},{beyond}")  # taskset would keep the first silently


if __name__ == "__main__":
    unittest.main()
