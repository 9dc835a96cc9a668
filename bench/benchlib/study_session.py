"""A study's sittings: the environment, the brokers (started, restarted
when a cell's broker settings change, stopped for a cell on another
backend) and the discarded warm-up runs a (re)started broker gets."""
import os
import random
import shutil

from benchlib import env as envmod
from benchlib import kafka_driver, services, workload as wl
from benchlib.runner import RunFailed, Runner, block_interval_s


class StudySession:
    """The broker side of a Study (benchlib.study)."""

    def open_session(self, kafka_version):
        """Environment (refusing a dirty tree unless allowed), the output
        folder (or the one resumed), brokers, the machine calibration and,
        once per study, the producer calibration."""
        e = envmod.capture(self.root, kafka_version)
        if e.get("git_dirty") and not self.a.allow_dirty:
            raise RunFailed("the working tree has uncommitted changes: a study pins one commit, so commit first "
                            "(or --allow-dirty, recorded in env.json)")
        self._open(e)
        self.brokers = kafka_driver.Brokers(self.root, self.driver["brokers"], self.roles_cpus["broker"], self.out,
                                            bootstrap=self.a.brokers, broker_dir=self.a.broker_dir,
                                            driver_broker=self.driver.get("broker"), log=self.log)
        self.runner = Runner(self.root, self.a.build, self.out, self.brokers, self.roles_cpus, self.w.name,
                             self.a.placement)
        self.runner.run_count = max([int(r["run_id"]) for r in self.records] + [0])
        self.session_runs = len(self.records)
        self._calibrate_machine("start")
        if not self.a.no_calibrate and self.w.calibrate.cells and not any(r["kind"] == "pp" for r in self.records):
            self.calibrate_producer()

    def close_session(self, finished):
        try:
            if finished:
                self._calibrate_machine("end")
        finally:
            if self.brokers:
                self.brokers.stop()
        self.log(f"{len(self.records) - self.session_runs} run(s) this session")

    def _ensure_brokers(self, eff, driver):
        """The brokers a Kafka cell needs (count and settings), restarted
        and warmed when they change; stopped for a cell on another backend
        (an idle broker JVM would take CPU from the peers' set)."""
        if driver["backend"] != "kafka":
            if self.brokers.running() and not self.brokers.external:
                self.log(f"stopping the broker(s): this cell runs on {driver['name']}")
                self.brokers.stop()
            return
        if self.brokers.ensure(eff["broker"], count=driver["brokers"], driver_broker=driver.get("broker")):
            self._warmup_broker(eff, driver)

    # How many discarded runs a (re)started broker gets at most before measuring goes on anyway.
    BROKER_WARMUP_RUNS = 4

    def _warmup_broker(self, eff, driver):
        """A (re)started broker is cold (JIT, page cache) for about a
        minute: after a single 20 s warm-up run, the first measured run
        still had seconds with nothing delivered (p99 0.6-1.7 s where the
        same cell's other repetitions had 0.14 s), and each time that warm-up
        run itself had not become steady. So discarded runs at the workload's
        start rate repeat, each on a channel of its own, until one is steady
        with p99 under the workload's SLO (at most BROKER_WARMUP_RUNS), each
        recorded as kind 'warmup'. Each may take as long as a latency window's
        warm-up to become steady (with 5 s, two agreeing 2 s windows seldom fit:
        runs with p99 ~125 ms were judged unsettled three times running).
        Settled means p99 within the SLO beyond the block's fill time at
        that rate (`warmup_p99_limit_ms`)."""
        limit = warmup_p99_limit_ms(self.w)
        for i in range(1, self.BROKER_WARMUP_RUNS + 1):
            rec = self._warmup_run(eff, driver)
            settled = bool(rec.steady) and rec.p99_ms is not None and rec.p99_ms <= limit
            if settled:
                return
            p99 = f"{rec.p99_ms:,.0f} ms" if rec.p99_ms is not None else "none"
            self.log(f"broker warm-up run {i}: not settled yet (steady: {bool(rec.steady)}, p99 {p99})"
                     + ("; measuring anyway" if i == self.BROKER_WARMUP_RUNS else ""))

    def _warmup_run(self, eff, driver):
        self.log("warm-up run after a broker start (discarded)")
        channel = f"warmup-{random.randrange(1 << 30):x}"
        run_dir = os.path.join(self.out, "runs", "warmup")
        os.makedirs(run_dir, exist_ok=True)
        service = services.make(driver, self.runner.bin, channel, run_dir,
                                dict(eff, block={k: str(v) for k, v in self.w.block.items()}),
                                self.roles_cpus, brokers=self.brokers)
        try:
            service.start()
            rec = self.runner.peer_sim(self.runner.next_id(), "warmup", 0, "warmup", eff,
                                       wl.profile_path("baseline"), warmup_rate(self.w),
                                       min(20.0, self.w.latency.window_s), self.w.latency.warmup_max_s, self.w.block,
                                       self.w.warmup.steady_window_s, self.w.warmup.tolerance,
                                       service=service, channel=channel)
            self._record(rec)
            return rec
        finally:
            service.stop()
            for node in service.nodes:
                shutil.rmtree(node.ledger, ignore_errors=True)
            kafka_driver.delete_topics(self.runner.bin["delete-topics"], self.brokers.bootstrap, [channel])


def warmup_rate(w):
    """The offered rate of a broker's warm-up runs: a capacity search's start
    rate; without a search, the lowest fixed rate the study measures (the
    search's default start rate could be far above every rate it offers:
    three brokers warmed at 4,000 tx/s with linger.ms 0 for a study at
    2,000 never settled, p99 17-90 s)."""
    if w.capacity.max_steps or not w.latency.rates:
        return w.capacity.start_rate
    return min(w.latency.rates)


def warmup_p99_limit_ms(w):
    """The p99 under which a broker warm-up run counts as settled: the SLO
    beyond the time a block takes to be cut at the warm-up's rate. At 1,000
    tx/s a 500-transaction block alone takes 500 ms, so the bare SLO would
    judge every warm-up run unsettled."""
    return w.capacity.slo_p99_ms + 1000.0 * block_interval_s(warmup_rate(w), w.block)
