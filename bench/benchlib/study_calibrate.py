"""A study's calibrations: the machine micro-benchmark at each sitting's
start and the study's end (calibration.json), and Kafka's
ProducerPerformance against peer-sim --raw with each calibrated cell's
producer settings, interleaved (runs of kind pp and raw)."""
import os
import random

from benchlib import kafka_driver, workload as wl
from benchlib.record import read_json, write_json


def _safe(name):
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]


class StudyCalibration:
    """The calibration side of a Study (benchlib.study)."""

    def _calibrate_machine(self, when):
        path = self._path("calibration.json")
        cal = read_json(path) if os.path.isfile(path) else {"machine": []}
        m = self.runner.machine_calibration(self.roles_cpus["orderer"])
        m["when"] = when
        cal["machine"].append(m)
        write_json(path, cal)
        s = m["ecdsa_p256_sign_per_s"]["median"]
        v = m["ecdsa_p256_verify_per_s"]["median"]
        self.log(f"machine ({when}): ECDSA P-256 {s:,.0f} signs/s, {v:,.0f} verifies/s on one core")

    def calibrate_producer(self):
        """ProducerPerformance and peer-sim --raw (one producer, a pre-signed
        pool) with the same settings, interleaved, each cell's settings
        `calibrate.repetitions` times."""
        c = self.w.calibrate
        warmed = False
        for name in c.cells:
            cell = self.w.cell(name)
            driver = self.driver_for(cell)
            if driver["backend"] != "kafka":
                self.log(f"calibration: {name} runs on {driver['name']}, which has no Kafka producer to calibrate")
                continue
            eff = self._settings_for(cell)
            self._ensure_brokers(eff, driver)
            if not warmed:
                # The broker's JIT has seen only the warm-up run's modest rate:
                # one discarded ProducerPerformance run flat out first, so the
                # first measured pair does not pay for it.
                topic = f"cal-warmup-{random.randrange(1 << 30):x}"
                self.log("calibration warm-up: ProducerPerformance flat out (discarded)")
                kafka_driver.create_topic(self.root, self.brokers.bootstrap, topic, driver["brokers"])
                rec = self.runner.producer_perf(self.runner.next_id(), name, 0, eff, c.records, topic)
                rec.kind = "warmup"
                self._record(rec)
                kafka_driver.delete_topics(self.runner.bin["delete-topics"], self.brokers.bootstrap, [topic])
                warmed = True
            for i in range(1, c.repetitions + 1):
                for tool in (("pp", "raw") if i % 2 else ("raw", "pp")):
                    topic = f"cal-{_safe(name)}-{i}-{tool}-{random.randrange(1 << 30):x}"
                    self.log(f"calibration {name} {i}/{c.repetitions}: "
                             f"{'ProducerPerformance' if tool == 'pp' else 'peer-sim --raw'}")
                    if tool == "pp":
                        kafka_driver.create_topic(self.root, self.brokers.bootstrap, topic, driver["brokers"])
                        rec = self.runner.producer_perf(self.runner.next_id(), name, i, eff, c.records, topic)
                    else:
                        rec = self.runner.peer_sim(self.runner.next_id(), name, i, "raw", eff,
                                                   wl.profile_path(cell.profile), 0, 0, 0, self.w.block, 0,
                                                   self.w.warmup.tolerance, raw_topic=topic, peers=1,
                                                   count=c.records)
                        rec.tool = "peer-sim --raw"
                    rec.criteria = dict(rec.criteria or {}, calibration=True)
                    self._record(rec)
                    kafka_driver.delete_topics(self.runner.bin["delete-topics"], self.brokers.bootstrap, [topic])
                    self.log(f"  {rec.records_per_s or 0:,.0f} msg/s"
                             + ("" if rec.valid else f" INVALID: {rec.invalid_reason}"))
