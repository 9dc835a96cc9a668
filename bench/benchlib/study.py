"""A study run: a workload on a driver, placed, calibrated, repeated in a
seeded random order, resumable.

Output folder:
  study.json      the workload as run (after its preset), driver, placement,
                  seed and per-repetition order, the pinned commit
  env.json        machine and versions (env-resume-N.json per resume)
  calibration.json  the machine micro-benchmark at the start and the end
  runs.jsonl      one RunResult per run, appended as each ends (raw data)
  cells.jsonl     one line per finished (cell, repetition): its capacity
                  search's outcome and whether its chain verified
  runs/<id>/      each run's peer-sim report and log, orderer log, CPU series
  report.md, *.png  written from the files above (bench report rebuilds them)

Per (cell, repetition): a fresh channel and ledger and an orderer pinned to
its CPUs; a raw-producer run (the producer alone, flat out) when the
workload asks; the capacity search (steps); open-loop runs at fixed
fractions of the capacity found; then the orderer stops, the chain is
verified and the channel's topics are deleted."""
import dataclasses
import json
import os
import random
import shutil
import threading
import time

from benchlib import capacity as cap_search
from benchlib import env as envmod
from benchlib import drivers, kafka_driver, placement, services, workload as wl
from benchlib.record import RunResult
from benchlib.record import read_json, read_jsonl, write_json
from benchlib.runner import RunFailed, Runner, block_interval_s


class StudyStopped(Exception):
    """A STOP file asked the study to end after the current cell."""


def _safe(name):
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]


class Study:
    def __init__(self, root, workload, driver, args, log=print):
        self.root, self.w, self.driver, self.a, self.log = root, workload, driver, args, log
        self.out = args.out
        self.records = []
        self.cells_done = {}          # (cell, rep) -> cell record
        self.roles_cpus = placement.plan(args.placement)
        self.reference = self._reference_capacities()  # cell -> {capacity, n, study}: latency.capacity_from
        self.brokers = None
        self.runner = None
        self.session_runs = 0
        self._drivers = {}

    # ---------------------------------------------------------------- files

    def _path(self, name):
        return os.path.join(self.out, name)

    def _append(self, name, obj_json):
        with open(self._path(name), "a") as f:
            f.write(obj_json + "\n")

    def meta(self):
        return {"study": self.w.name, "workload": os.path.relpath(self.w.path, self.root) if self.w.path else None,
                "preset": self.w.preset, "description": self.w.description, "driver": self.driver["name"],
                "brokers": self.driver["brokers"], "placement": self.a.placement,
                "roles_cpus": {r: placement.cpu_list(c) for r, c in self.roles_cpus.items()},
                "seed": self.w.seed, "repetitions": self.w.repetitions,
                "order": [{"repetition": rep, "cells": names} for rep, names in self.w.plan()],
                "cells": [dataclasses.asdict(c) for c in self.w.cells],
                "effective": {c.name: wl.effective(c, self.w.block) for c in self.w.cells},
                "capacity": dataclasses.asdict(self.w.capacity), "latency": dataclasses.asdict(self.w.latency),
                "warmup": dataclasses.asdict(self.w.warmup), "calibrate": dataclasses.asdict(self.w.calibrate),
                "block": self.w.block, "design": self.w.design, "factors": self.w.factors, "base": self.w.base,
                "raw_baseline": self.w.raw_baseline, "notes": self.w.notes,
                **({"drivers": {c.name: self.driver_for(c) for c in self.w.cells},
                    "recovery": dataclasses.asdict(self.w.recovery)}
                   if any(c.driver for c in self.w.cells) or self.w.recovery.fraction else {})}

    def _open(self, e):
        os.makedirs(self.out, exist_ok=True)
        jsonl = self._path("runs.jsonl")
        meta = self.meta()
        if self.a.resume:
            if not os.path.isfile(self._path("study.json")):
                raise RunFailed(f"--resume: no study.json in {self.out}")
            old = read_json(self._path("study.json"))
            for k in ("study", "preset", "driver", "placement", "seed", "order", "effective"):
                if old.get(k) != meta.get(k):
                    raise RunFailed(f"--resume: {self.out} holds another plan ({k} differs: "
                                    f"{old.get(k)!r:.120} vs {meta.get(k)!r:.120})")
            if old.get("commit") != e.get("git_commit") and not self.a.allow_commit_change:
                raise RunFailed(f"--resume: the study was pinned to commit {old.get('commit')}, this is "
                                f"{e.get('git_commit')}: a study runs one commit (--allow-commit-change to override)")
            meta = old
            self.records = read_jsonl(jsonl)
            for c in read_jsonl(self._path("cells.jsonl")):
                self.cells_done[(c["cell"], c["repetition"])] = c
            # Runs of a cell left half done are set aside, then run again.
            done_keys = set(self.cells_done)
            keep = [r for r in self.records if r["kind"] == "pp" or (r["cell"], r["repetition"]) in done_keys
                    or r["kind"] == "warmup"]
            dropped = [r for r in self.records if r not in keep]
            if dropped:
                with open(self._path("discarded.jsonl"), "a") as f:
                    for r in dropped:
                        f.write(json.dumps(dict(r, discarded="cell unfinished when the study stopped")) + "\n")
                with open(jsonl, "w") as f:
                    for r in keep:
                        f.write(json.dumps(r) + "\n")
                self.log(f"set aside {len(dropped)} run(s) of an unfinished cell (discarded.jsonl)")
            self.records = keep
        elif os.path.exists(jsonl):
            raise RunFailed(f"{self.out} already holds a study's runs: give a new --out, or --resume it")
        else:
            meta["commit"] = e.get("git_commit")
            meta["started_unix"] = time.time()
            write_json(self._path("study.json"), meta)
        n = len([f for f in os.listdir(self.out) if f.startswith("env")])
        name = "env.json" if n == 0 else f"env-resume-{n}.json"
        write_json(self._path(name), dict(e, resumed_at_cell=len(self.cells_done) if n else None))
        return meta

    def driver_for(self, cell):
        """The driver mapping a cell runs on: its own, or the study's."""
        if not cell.driver:
            return self.driver
        if cell.driver not in self._drivers:
            self._drivers[cell.driver] = drivers.load_driver(cell.driver)
        return self._drivers[cell.driver]

    def _reference_capacities(self):
        if not self.w.latency.capacity_from:
            return {}
        return reference_capacities(self.root, self.w.latency.capacity_from, [c.name for c in self.w.cells])

    # ---------------------------------------------------------------- running

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

    def run(self, kafka_version):
        finished = False
        try:
            self.open_session(kafka_version)
            total = sum(len(names) for _, names in self.w.plan())
            done = len(self.cells_done)
            if done:
                self.log(f"resuming {self.out}: {done} of {total} cells done")
            t_start, first_done = time.monotonic(), done
            for rep, names in self.w.plan():
                for order, name in enumerate(names, 1):
                    if (name, rep) in self.cells_done:
                        continue
                    if self._stop_requested():
                        raise StudyStopped()
                    done += 1
                    self.log(f"[{done}/{total}] {name} rep {rep}")
                    self.run_cell(self.w.cell(name), rep, order)
                    left = (time.monotonic() - t_start) / (done - first_done) * (total - done)
                    self.log(f"[{done}/{total}] done; ~{left / 60:.0f} min left")
            finished = True
        finally:
            if self.runner:
                self.close_session(finished)

    def _stop_requested(self):
        stop = self._path("STOP")
        if os.path.exists(stop):
            os.remove(stop)
            self.log("STOP file found: stopping before the next cell; --resume continues")
            return True
        return False

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

    def _record(self, rec):
        self.records.append(json.loads(rec.to_json()))
        self._append("runs.jsonl", rec.to_json())

    def _settings_for(self, cell):
        eff = wl.effective(cell, self.w.block)
        return eff

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

    def run_cell(self, cell, rep, order):
        eff = self._settings_for(cell)
        driver = self.driver_for(cell)
        self._ensure_brokers(eff, driver)
        block = eff["block"]
        capw = self.w.capacity
        channel = f"{_safe(self.w.name)}-{rep}-{_safe(cell.name)}-{random.randrange(1 << 30):x}"
        raw_topic = channel + "-raw"
        cell_dir = os.path.join(self.out, "cells", f"{_safe(cell.name)}-rep{rep}")
        shutil.rmtree(cell_dir, ignore_errors=True)
        os.makedirs(cell_dir)
        search_id = f"{cell.name}/rep{rep}"
        profile = wl.profile_path(cell.profile)
        common = dict(cell=cell.name, rep=rep, cfg=eff, profile_path=profile, block=block,
                      steady_cfg=self.w.warmup.steady_window_s, tolerance=self.w.warmup.tolerance)
        summary = {"cell": cell.name, "repetition": rep, "order": order, "search": search_id, "channel": channel,
                   "driver": driver["name"], "backend": driver["backend"],
                   "started_unix": time.time(), "steps": [], "fractions": []}
        cell_records = []

        def keep(rec, **extra):
            rec.order, rec.search = order, search_id
            if rec.note:
                self.log(f"  note: {rec.note}")
            for k, v in extra.items():
                setattr(rec, k, v)
            cell_records.append(rec)
            self._record(rec)
            return rec

        # `orderer`: the cell's ordering service (one node, or a raft cluster).
        orderer = services.make(driver, self.runner.bin, channel, cell_dir, eff, self.roles_cpus,
                                brokers=self.brokers)
        topics = [channel] if driver["backend"] == "kafka" else []
        try:
            if self.w.raw_baseline and driver["backend"] == "kafka":
                topics.append(raw_topic)
                rec = self.runner.peer_sim(self.runner.next_id(), kind="raw", rate=0, window_s=0, warmup_max_s=0,
                                           raw_topic=raw_topic, count=self.w.calibrate.records, **common)
                rec.tool = "peer-sim --raw"
                keep(rec)
                self.log(f"  raw producer: {rec.acked_tps or 0:,.0f} msg/s" + ("" if rec.valid else " (INVALID)"))
            orderer.start()
            # Every repetition searches alike, from the same start: a search
            # that began where the last one ended would make the repetitions
            # depend on each other (and their interval meaningless).
            steps_allowed = capw.max_steps
            floor = cap_search.slo_floor(capw.slo_p99_ms, block, self.w.tx_size)
            search = cap_search.Search(capw.start_rate, capw.growth, capw.precision, max(1, steps_allowed),
                                       floor=floor)
            summary["search_start"] = search.start if steps_allowed else None
            summary["slo_floor"] = floor
            step = 0
            failed_generator = {}
            retried = False
            while steps_allowed and (rate := search.next()) is not None:
                # The search's first failure is measured again and counts only
                # if it fails again: one stall (a compaction, a writeback) in a
                # short window must not send the whole search down. Passing
                # twice by luck is caught by the confirmation run.
                tries = 1 if retried or not capw.retry_first_failure else 2
                for attempt in range(tries):
                    step += 1
                    rec = self.runner.peer_sim(self.runner.next_id(), kind="step", rate=rate,
                                               window_s=capw.step_window_s, warmup_max_s=capw.warmup_max_s,
                                               service=orderer, channel=channel, **common)
                    rec.criteria = cap_search.step_criteria(rec, capw, block["max_message_count"])
                    rec.sustained = all(rec.criteria.values())
                    failed_generator[rate] = rec.generator_bound
                    keep(rec, step=step)
                    failed = [k for k, v in rec.criteria.items() if not v]
                    self.log(f"  step {step}: {rate:,.0f} tx/s -> delivered {rec.delivered_tps or 0:,.0f}, "
                             f"p99 {rec.p99_ms if rec.p99_ms is not None else float('nan'):,.1f} ms, "
                             f"backlog {rec.backlog_growth_tps or 0:+,.0f}/s, busiest {rec.bottleneck} "
                             f"{(rec.bottleneck_util or 0) * 100:.0f}%: "
                             + ("sustained" if rec.sustained else "not sustained (" + ", ".join(failed) + ")")
                             + (" (measured again)" if attempt else ""))
                    summary["steps"].append({"rate": rate, "sustained": rec.sustained, "run_id": rec.run_id,
                                             "again": bool(attempt)})
                    if rec.sustained or rec.generator_bound or not rec.valid:
                        break
                    retried = True
                search.tell(rate, rec.sustained)
            lo, hi = search.bracket()
            at_cap = [r for r in cell_records if r.kind == "step" and r.offered_tps == lo]
            summary["p99_at_capacity"] = at_cap[-1].p99_ms if at_cap else None
            summary.update(search_capacity=lo, failing_above=hi,
                           generator_limited=bool(hi is not None and failed_generator.get(hi)),
                           bracket_ratio=(hi / lo) if lo and hi else None, confirmations=[])
            if at_cap and capw.step_window_s >= self.w.latency.window_s:
                # Steps as long as a latency window: the last one at the
                # capacity is its 100% latency point.
                summary["capacity_run"] = at_cap[-1].run_id
            if lo and capw.confirm_window_s:
                conf = cap_search.Confirmation(lo, capw.confirm_levels)
                attempt = 0
                while (rate := conf.next()) is not None:
                    attempt += 1
                    rec = self.runner.peer_sim(self.runner.next_id(), kind="confirm", rate=rate,
                                               window_s=capw.confirm_window_s,
                                               warmup_max_s=self.w.latency.warmup_max_s,
                                               service=orderer, channel=channel, **common)
                    rec.criteria = cap_search.step_criteria(rec, capw, block["max_message_count"])
                    rec.sustained = all(rec.criteria.values())
                    keep(rec, step=attempt, fraction=rate / lo, capacity_used=lo)
                    summary["confirmations"].append({"rate": rate, "sustained": rec.sustained, "run_id": rec.run_id})
                    failed = [k for k, v in rec.criteria.items() if not v]
                    self.log(f"  {capw.confirm_window_s:g} s at {rate:,.0f} tx/s ({rate / lo:.0%} of the steps' "
                             f"{lo:,.0f}): p99 {rec.p99_ms if rec.p99_ms is not None else float('nan'):,.1f} ms, "
                             f"backlog {rec.backlog_growth_tps or 0:+,.0f}/s: "
                             + ("sustained" if rec.sustained else "not sustained (" + ", ".join(failed) + ")"))
                    if rec.generator_bound:
                        summary["generator_limited"] = True
                        break
                    conf.tell(rec.sustained)
                lo = conf.capacity()
                held = [r for r in cell_records if r.kind == "confirm" and r.sustained and r.offered_tps == lo]
                summary["p99_at_capacity"] = held[-1].p99_ms if held else None
                summary["capacity_run"] = held[-1].run_id if held else None
            summary["capacity"] = lo
            if steps_allowed:
                if lo:
                    self.log(f"  capacity {lo:,.0f} tx/s")
                elif search.hit_floor:
                    self.log(f"  no capacity: no step sustained down to {search.steps[-1][0]:,.0f} tx/s, and below "
                             f"{floor:,.0f} tx/s a block fills slower than the p99 SLO allows")
                else:
                    self.log("  no capacity (no step sustained, or not confirmed)")
            ref = self.reference.get(cell.name)
            if ref:
                # Not this study's measurement: recorded apart, so no capacity
                # figure of this study comes from it.
                summary["reference_capacity"] = ref
            base = lo or (ref["capacity"] if ref else None)
            if base:
                lo = base
                fractions = list(self.w.latency.fractions)
                for f in fractions:
                    rate = max(1.0, round(lo * f))
                    rec = self.runner.peer_sim(self.runner.next_id(), kind="fraction", rate=rate,
                                               window_s=self.w.latency.window_s,
                                               warmup_max_s=self.w.latency.warmup_max_s,
                                               service=orderer, channel=channel, **common)
                    keep(rec, fraction=f, capacity_used=lo)
                    summary["fractions"].append({"fraction": f, "rate": rate, "run_id": rec.run_id})
                    self.log(f"  {f:.0%} of capacity ({rate:,.0f} tx/s): p50 {rec.p50_ms or 0:,.1f} ms, "
                             f"p99 {rec.p99_ms or 0:,.1f} ms"
                             + ("" if rec.valid else f" INVALID: {rec.invalid_reason}"))
            for rate in self.w.latency.rates:
                rec = self.runner.peer_sim(self.runner.next_id(), kind="rate", rate=rate,
                                           window_s=self.w.latency.window_s,
                                           warmup_max_s=self.w.latency.warmup_max_s,
                                           service=orderer, channel=channel, **common)
                keep(rec, capacity_used=lo)
                summary.setdefault("rates", []).append({"rate": rate, "run_id": rec.run_id})
                if rec.valid and summary.get("p99_at_rate") is None:
                    summary["p99_at_rate"] = rec.p99_ms
                self.log(f"  at {rate:,.0f} tx/s: p50 {rec.p50_ms or 0:,.1f} ms, p99 {rec.p99_ms or 0:,.1f} ms"
                         + ("" if rec.valid else f" INVALID: {rec.invalid_reason}"))
            if self.w.recovery.fraction and (lo or (ref["capacity"] if ref else None)):
                if orderer.can_kill():
                    self._recovery_run(orderer, lo, summary, common, keep, channel)
                else:
                    summary["recovery"] = {"skipped": f"{driver['name']} has no leader to lose"}
        finally:
            started = orderer.started()
            code = orderer.stop() if started else None
            verified, msg = orderer.verify(self.runner.bin["ledger"]) if started else (None, "")
            if topics:
                if len(self.brokers.pids()) < self.brokers.count:
                    self.log("  a broker is down (recovery run): its topics go with the restart")
                else:
                    ok, err = kafka_driver.delete_topics(self.runner.bin["delete-topics"], self.brokers.bootstrap,
                                                         topics)
                    if not ok:
                        self.log(f"warning: topics not deleted (they stay on the broker's disk): {err}")
        summary.update(ended_unix=time.time(), orderer_exit=code, ledger_verified=verified,
                       ledger_message=None if verified else msg, runs=len(cell_records),
                       invalid_runs=sum(1 for r in cell_records if not r.valid))
        if code not in (0, None):
            summary["ledger_verified"] = False
            summary["ledger_message"] = f"orderer exited {code}; " + (msg or "")
        self.cells_done[(cell.name, rep)] = summary
        self._append("cells.jsonl", json.dumps(summary))
        if not summary["ledger_verified"]:
            self.log(f"  the chain did NOT verify: every run of this cell is invalid ({summary['ledger_message']})")
        return summary

    def _recovery_run(self, service, capacity, summary, common, keep, channel):
        """One run at recovery.fraction of the capacity in which the leader
        is killed `kill_after_s` after the load starts; peers talk to a node
        that survives. Lost transactions are part of the result here (a
        killed raft leader takes what it had accepted but not replicated;
        clients would resubmit); doubled ones still invalidate the run."""
        r = self.w.recovery
        rate = max(1.0, round(capacity * r.fraction))
        address = service.survivor_address()
        killed = {}
        watchers = []

        def elect():
            # While the run goes on: wait for the new leader and give it the
            # orderer's CPUs, as a deployment gives every node its own machine.
            try:
                killed["new_leader"] = service.after_kill()
                killed["new_leader_ms"] = time.time() * 1000.0 - killed["unix_ms"]
            except drivers.DriverError as e:
                killed["elect_error"] = str(e)

        def kill():
            killed["unix_ms"] = time.time() * 1000.0
            try:
                killed["what"] = service.kill_leader()
            except Exception as e:  # noqa: BLE001 (reported, the run goes on)
                killed["error"] = str(e)
                return
            if hasattr(service, "after_kill"):
                t = threading.Thread(target=elect, daemon=True)
                t.start()
                watchers.append(t)
        rec = self.runner.peer_sim(self.runner.next_id(), kind="recovery", rate=rate, window_s=r.window_s,
                                   warmup_max_s=r.warmup_s, service=service, channel=channel, address=address,
                                   action=(r.kill_after_s, kill), fixed_warmup=True, block_times=True,
                                   tolerate_loss=True, drain_s=15, **common)
        rec.fraction, rec.capacity_used = r.fraction, capacity
        if "error" in killed or "unix_ms" not in killed:
            rec.invalidate(f"the kill failed: {killed.get('error', 'the run ended before it')}")
        else:
            rec.killed, rec.kill_unix_ms = killed.get("what"), killed["unix_ms"]
            try:
                report = read_json(os.path.join(self.out, "runs", rec.run_id, "peer-sim.json"))
            except (OSError, ValueError):
                report = {}
            fig = recovery_from_report(report, rec.kill_unix_ms, rate, r.full_rate)
            rec.first_block_ms, rec.recovery_ms = fig["first_block_ms"], fig["recovery_ms"]
            rec.silence_ms, rec.full_rate_ms = fig["silence_ms"], fig["full_rate_ms"]
            rec.blocks_after_kill = fig["blocks_after"]
            if rec.recovery_ms is None:
                rec.invalidate("no block was delivered after the kill (no recovery within the run)")
            for t in watchers:
                t.join(60)
            if "elect_error" in killed:
                rec.invalidate(killed["elect_error"])
            rec.new_leader, rec.new_leader_ms = killed.get("new_leader"), killed.get("new_leader_ms")
        keep(rec)
        lost = rec.undelivered_acked + rec.never_acked
        summary["recovery"] = {"rate": rate, "run_id": rec.run_id, "killed": rec.killed,
                               "recovery_ms": rec.recovery_ms, "full_rate_ms": rec.full_rate_ms,
                               "lost": lost, "valid": rec.valid}
        self.log(f"  recovery at {rate:,.0f} tx/s: killed {rec.killed}; first block after the silence "
                 f"{_ms(rec.recovery_ms)}, full rate {_ms(rec.full_rate_ms)}, {lost:,} transaction(s) lost"
                 + ("" if rec.valid else f" INVALID: {rec.invalid_reason}"))

    def write_meta(self, meta):
        """Rewrites study.json (tune adds its cells as it goes)."""
        old = read_json(self._path("study.json"))
        keep = {k: v for k, v in meta.items() if k not in ("commit", "started_unix")}
        write_json(self._path("study.json"), dict(old, **keep))


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


def _ms(v):
    return "n/a" if v is None else f"{v:,.0f} ms"


def recovery_from_report(report, kill_ms, rate, full_rate):
    """recovery_figures of a recovery run's peer-sim report (its blocks'
    arrival times and per-second series)."""
    clock = report.get("clock") or {}
    series = report.get("series") or []
    # Blocks were due while peers submitted: until the last second before
    # the drain (in the drain only lost transactions are awaited, and no
    # block need come).
    busy = [p for p in series if p.get("phase") != "drain"]
    end_ms = clock.get("start_unix_ms", 0) + 1000.0 * busy[-1]["t"] if busy and clock else None
    return recovery_figures(report.get("block_unix_ms") or [], kill_ms, series, clock.get("start_unix_ms", 0),
                            rate, full_rate, end_ms=end_ms)


def recovery_figures(block_ms, kill_ms, series=(), start_unix_ms=0, offered=None, full_rate=0.9, end_ms=None):
    """From a recovery run's block arrival times (unix ms) and per-second
    series: `first_block_ms` (kill -> the first block after it; a block
    committed before the kill can still arrive just after it),
    `recovery_ms` (kill -> the block that ends the longest silence after
    the kill: the service ordering again), `silence_ms`, `full_rate_ms`
    (kill -> the end of the first second, wholly after the kill, that
    begins two seconds delivering together >= 2 x full_rate x offered: an
    upper bound at 1 s resolution, never before the recovery; two seconds,
    because whole blocks arrive, so one second of a steady run may hold a
    block less than the rate) and how many blocks came
    after the kill. `end_ms`: when submitting ended (the drain's start); a
    silence from the last block to then that is the longest means the
    service had not recovered: no recovery figure."""
    # Blocks in the drain (the last partial batch cut on its timeout) say
    # nothing about recovering under load: only those up to end_ms count.
    after = sorted(t for t in block_ms if t >= kill_ms and (end_ms is None or t <= end_ms))
    out = {"first_block_ms": None, "recovery_ms": None, "silence_ms": None, "full_rate_ms": None,
           "blocks_after": len(after)}
    if not after:
        return out
    out["first_block_ms"] = after[0] - kill_ms
    prev, longest, end = kill_ms, -1.0, None
    for t in after:
        if t - prev > longest:
            longest, end = t - prev, t
        prev = t
    if end_ms is not None and end_ms - prev > longest:
        out["silence_ms"] = end_ms - prev   # still silent when the run ended
        return out
    out["silence_ms"], out["recovery_ms"] = longest, end - kill_ms
    if offered and series and start_unix_ms:
        need = full_rate * offered
        pts = [(start_unix_ms + 1000.0 * (p["t"] - 1), p.get("delivered", 0)) for p in series]  # second starts
        for (t0, d0), (_, d1) in zip(pts, pts[1:]):
            if t0 >= kill_ms and d0 + d1 >= 2 * need:
                out["full_rate_ms"] = max(t0 + 1000.0 - kill_ms, out["recovery_ms"])
                break
    return out


def load_records(out_dir):
    """(runs as dicts, cells as dicts, study meta): a run counts as valid
    only when it was valid itself and its cell's chain verified."""
    meta = read_json(os.path.join(out_dir, "study.json"))
    runs = read_jsonl(os.path.join(out_dir, "runs.jsonl"))
    cells = read_jsonl(os.path.join(out_dir, "cells.jsonl"))
    verified = {(c["cell"], c["repetition"]): c.get("ledger_verified") for c in cells}
    for r in runs:
        if r["kind"] in ("step", "fraction", "rate") and verified.get((r["cell"], r["repetition"])) is False:
            r["valid"] = False
            r["invalid_reason"] = (r.get("invalid_reason") or "") + "; the cell's chain did not verify"
        if r["kind"] == "recovery" and r.get("kill_unix_ms"):
            _refresh_recovery(out_dir, meta, r)
    return runs, cells, meta


def _refresh_recovery(out_dir, meta, r):
    """Recomputes a recovery run's figures from its raw report, so a study
    is always read with the current definitions (kept in runs.jsonl as run)."""
    try:
        report = read_json(os.path.join(out_dir, "runs", r["run_id"], "peer-sim.json"))
    except (OSError, ValueError):
        return
    rate = r.get("offered_tps") or (r.get("capacity_used") or 0) * (r.get("fraction") or 0)
    fig = recovery_from_report(report, r["kill_unix_ms"], rate, (meta.get("recovery") or {}).get("full_rate", 0.9))
    for key in ("first_block_ms", "recovery_ms", "silence_ms", "full_rate_ms"):
        r[key] = fig[key]
    r["blocks_after_kill"] = fig["blocks_after"]


def to_record(d):
    return RunResult.from_dict(d)


def reference_capacities(root, src, cells):
    """Each cell's mean capacity in the study folder `src`, or pooled over
    the folders of a list (relative to `root` unless absolute): its
    searches with a capacity whose chain verified. For a latency-only study
    (latency.capacity_from); a cell several folders measured (the baseline
    of the profiles' vs-* studies) gets the mean of all its searches."""
    folders = [src] if isinstance(src, str) else list(src)
    caps, studies = {}, {}
    for s in folders:
        folder = s if os.path.isabs(s) else os.path.join(root, s)
        path = os.path.join(folder, "cells.jsonl")
        if not os.path.isfile(path):
            raise RunFailed(f"latency.capacity_from: no cells.jsonl in {folder}")
        for c in read_jsonl(path):
            if c.get("capacity") and c.get("ledger_verified") is not False:
                caps.setdefault(c["cell"], []).append(float(c["capacity"]))
                studies.setdefault(c["cell"], [])
                if os.path.relpath(folder, root) not in studies[c["cell"]]:
                    studies[c["cell"]].append(os.path.relpath(folder, root))
    missing = [name for name in cells if name not in caps]
    if missing:
        raise RunFailed(f"latency.capacity_from: {', '.join(folders)} has no capacity for cell(s) "
                        f"{', '.join(missing)}")
    return {name: {"capacity": sum(caps[name]) / len(caps[name]), "n": len(caps[name]),
                   "study": ", ".join(studies[name])} for name in cells}
