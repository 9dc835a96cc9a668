"""One cell and repetition of a study: a fresh channel and ledger and an
orderer pinned to its CPUs; a raw-producer run when the workload asks; the
capacity search (steps, then confirmation runs); open-loop runs at fixed
fractions of the capacity and at fixed rates; a recovery run where the
workload asks; then the orderer stops, the chain is verified and the
channel's topics are deleted. The outcome is a line of cells.jsonl."""
import json
import os
import random
import shutil
import time

from benchlib import capacity as cap_search
from benchlib import kafka_driver, services, workload as wl
from benchlib.study_calibrate import _safe


class StudyCells:
    """The cell side of a Study (benchlib.study)."""

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
            # At a fraction of the capacity found, or at the workload's fixed rate.
            if (self.w.recovery.fraction and (lo or (ref["capacity"] if ref else None))) or self.w.recovery.rate:
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
