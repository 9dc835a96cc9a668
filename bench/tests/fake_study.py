"""Writes a study folder as the runner would, from a model of a system
instead of real processes: each cell has a true capacity and a latency
curve, repetitions add noise. The report and analysis tests read it like
a real study. Nothing here is a measurement."""
import json
import os
import random

from benchlib import capacity as cap_search
from benchlib import placement, study as studymod, workload as wl
from benchlib.record import RunResult, write_json


def _series(rate, warm_s, window_s, p99):
    out = []
    for t in range(int(warm_s + window_s)):
        phase = "warmup" if t < warm_s else "measured"
        out.append({"t": t, "phase": phase, "submitted": int(rate), "acked": int(rate), "delivered": int(rate),
                    "failed": 0, "in_flight": int(rate * 0.05), "oldest_undelivered_ms": p99,
                    "p50_ms": p99 / 2, "p99_ms": p99})
    return out


def write(out_dir, w, true_capacity, seed=1, invalid_run=None, outlier=None, recovery_ms=None, ack_ms=None):
    """true_capacity: {cell: tx/s}. invalid_run: (cell, rep) whose first
    fraction run lost transactions. outlier: (cell, rep, factor) scaling one
    capacity. recovery_ms: {cell: ms} a recovery run per repetition takes
    (cells left out have no leader to lose). ack_ms: {cell: (p50, p99)} of
    Broadcast's SUCCESS: those cells' peers submit through Broadcast."""
    rng = random.Random(seed)
    if w.seed is None:
        w.seed = seed   # the run order's, as bench run would have drawn it
    os.makedirs(os.path.join(out_dir, "runs"), exist_ok=True)
    roles = placement.plan("isolated", [0, 1])

    class A:
        placement = "isolated"
        out = out_dir
        resume = False
    s = studymod.Study.__new__(studymod.Study)
    s._drivers = {}
    s.w, s.driver, s.a, s.roles_cpus, s.root = w, {"name": "kafka-1", "brokers": 1, "backend": "kafka"}, A, roles, \
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    meta = s.meta()
    meta["commit"] = "0" * 40
    meta["started_unix"] = 1_800_000_000
    write_json(os.path.join(out_dir, "study.json"), meta)
    write_json(os.path.join(out_dir, "env.json"),
               {"cpu_model": "model", "cores": 2, "mem_total_gib": 24, "os": "Debian", "kernel": "6",
                "git_commit": "0" * 40, "git_dirty": False, "kafka_version": "3.9.1", "librdkafka": "2.0.2",
                "openssl": "OpenSSL 3"})
    write_json(os.path.join(out_dir, "calibration.json"),
               {"machine": [{"when": "start", "ecdsa_p256_sign_per_s": {"median": 40000},
                            "ecdsa_p256_verify_per_s": {"median": 15000}, "sha256_1kb_per_s": {"median": 500000}},
                           {"when": "end", "ecdsa_p256_sign_per_s": {"median": 39000},
                            "ecdsa_p256_verify_per_s": {"median": 14800}, "sha256_1kb_per_s": {"median": 490000}}]})
    runs, cells = [], []
    n = 0

    def rec(**kw):
        nonlocal n
        n += 1
        r = RunResult(study=w.name, run_id=f"{n:04d}", **kw)
        os.makedirs(os.path.join(out_dir, "runs", r.run_id), exist_ok=True)
        return r

    for cname in w.calibrate.cells:
        base = 30000 + rng.gauss(0, 500)
        for i in range(1, w.calibrate.repetitions + 1):
            for tool, k in (("ProducerPerformance", 1.0), ("peer-sim --raw", 1.3)):
                r = rec(cell=cname, repetition=i, kind="pp" if tool.startswith("P") else "raw", tool=tool,
                        records_per_s=base * k * (1 + rng.gauss(0, 0.02)), criteria={"calibration": True})
                r.cpu = {"peers": {"cpus": "0", "cpu_s": 5, "util": 0.9, "us_per_tx": 30 / k}}
                runs.append(r)
    for rep, names in w.plan():
        for order, name in enumerate(names, 1):
            cell = w.cell(name)
            eff = wl.effective(cell, w.block)
            true = true_capacity[name] * (1 + rng.gauss(0, 0.02))
            if outlier and outlier[:2] == (name, rep):
                true *= outlier[2]
            search = cap_search.Search(w.capacity.start_rate, w.capacity.growth, w.capacity.precision,
                                       max(1, w.capacity.max_steps))
            summ = {"cell": name, "repetition": rep, "order": order, "search": f"{name}/rep{rep}", "steps": [],
                    "fractions": [], "ledger_verified": True, "generator_limited": False}
            step = 0
            while w.capacity.max_steps and (rate := search.next()) is not None:
                step += 1
                ok = rate <= true
                p99 = 100 * (1 + rate / true) if ok else 5000.0
                r = rec(cell=name, repetition=rep, kind="step", order=order, search=summ["search"], step=step,
                        offered_tps=rate, config=eff, delivered_tps=rate if ok else true, p50_ms=p99 / 2,
                        p99_ms=p99, window_s=w.capacity.step_window_s, steady=True, warmup_s=4,
                        backlog_growth_tps=0 if ok else rate - true, sustained=ok, submitted=int(rate * 10),
                        delivered=int(rate * 10))
                r.bottleneck, r.bottleneck_util = "orderer", min(1.0, rate / true)
                r.cpu = {role: {"cpus": placement.cpu_list(c), "cpu_s": 1.0, "util": 0.5,
                                "us_per_tx": {"orderer": 90.0, "broker": 30.0, "peers": 20.0}[role]}
                         for role, c in roles.items()}
                runs.append(r)
                search.tell(rate, ok)
                summ["steps"].append({"rate": rate, "sustained": ok, "run_id": r.run_id})
            lo, hi = search.bracket()
            summ.update(capacity=lo, failing_above=hi, bracket_ratio=hi / lo if lo and hi else None)
            at_cap = [r for r in runs if r.search == summ["search"] and r.kind == "step" and r.offered_tps == lo]
            if at_cap and w.capacity.step_window_s >= w.latency.window_s:
                summ["capacity_run"] = at_cap[-1].run_id
                at_cap[-1].p50_ms, at_cap[-1].p99_ms = 60.0, 300.0 * (1 + rng.gauss(0, 0.05))
                at_cap[-1].p95_ms, at_cap[-1].p999_ms, at_cap[-1].max_ms = 200.0, 400.0, 450.0
                at_cap[-1].ack_p50_ms, at_cap[-1].txs_per_block, at_cap[-1].undelivered_share = 2.0, 500, 0.0
                if invalid_run == (name, rep):
                    at_cap[-1].undelivered_acked = 3
                    at_cap[-1].invalidate("lost, doubled or failed transactions (peer-sim exit 1)")
            summ["p99_at_capacity"] = at_cap[-1].p99_ms if at_cap else None
            points = [(f, round(lo * f), "fraction") for f in w.latency.fractions]
            if lo and w.capacity.confirm_window_s:
                points.append((1.0, lo, "confirm"))
                summ["capacity_run"] = f"{n + len(points):04d}"
            points += [(None, r, "rate") for r in w.latency.rates]
            for f, rate, kind in points:
                load = rate / true
                p99 = 50 + 400 * load ** 3 * (1 + rng.gauss(0, 0.05))
                r = rec(cell=name, repetition=rep, kind=kind, order=order, search=summ["search"], fraction=f,
                        capacity_used=lo, offered_tps=rate, config=eff, delivered_tps=rate, p50_ms=p99 / 3,
                        p95_ms=p99 * 0.8, p99_ms=p99, p999_ms=p99 * 1.3, max_ms=p99 * 1.6, mean_ms=p99 / 3,
                        ack_p50_ms=2.0, submit="kafka",
                        txs_per_block=500, undelivered_share=0.0, window_s=w.latency.window_s,
                        steady=True, warmup_s=5, submitted=int(rate * 60), delivered=int(rate * 60),
                        batch_records=4.0, batch_bytes=4.0 * 1060)
                # The broker's and the peers' cost per transaction fall as the cell's capacity rises.
                r.cpu = {role: {"cpus": placement.cpu_list(c), "cpu_s": 1.0, "util": 0.5,
                                "us_per_tx": {"orderer": 90.0, "broker": 30.0 * 10000 / true,
                                              "peers": 20.0 * 10000 / true}[role] * (1 + rng.gauss(0, 0.02))}
                         for role, c in roles.items()}
                if name in (ack_ms or {}):  # drawn only here, so other studies' draws stay as they were
                    r.submit = "broadcast"
                    r.ack_p50_ms, r.ack_p99_ms = (v * (1 + rng.gauss(0, 0.02)) for v in ack_ms[name])
                r.bottleneck, r.bottleneck_util = "orderer", min(1.0, load)
                if kind == "confirm":
                    r.sustained, r.criteria = True, {"valid": True, "achieved": True, "p99": True, "backlog": True}
                if invalid_run == (name, rep) and (f, rate, kind) == points[0]:
                    r.undelivered_acked = 3
                    r.invalidate("lost, doubled or failed transactions (peer-sim exit 1)")
                write_json(os.path.join(out_dir, "runs", r.run_id, "peer-sim.json"),
                           {"series": _series(rate, 5, 6, p99),
                            "latency_ms": {"e2e": {"cdf": [[0.5, p99 / 3], [0.99, p99]]}}})
                runs.append(r)
                summ.setdefault(kind + "s", []).append({"fraction": f, "rate": rate, "run_id": r.run_id})
            if recovery_ms is not None and w.recovery.fraction:
                if name in recovery_ms:
                    ms = recovery_ms[name] * (1 + rng.gauss(0, 0.1))
                    r = rec(cell=name, repetition=rep, kind="recovery", order=order, search=summ["search"],
                            fraction=w.recovery.fraction, capacity_used=lo, offered_tps=round(lo * w.recovery.fraction),
                            config=eff, killed="node2 (the raft leader)", kill_unix_ms=1.8e12, first_block_ms=15.0,
                            recovery_ms=ms, silence_ms=ms - 15, full_rate_ms=1000 * (ms // 1000 + 1),
                            undelivered_acked=40, new_leader="node1")
                    runs.append(r)
                    summ["recovery"] = {"run_id": r.run_id, "recovery_ms": ms}
                else:
                    summ["recovery"] = {"skipped": "no leader to lose"}
            cells.append(summ)
    with open(os.path.join(out_dir, "runs.jsonl"), "w") as f:
        for r in runs:
            f.write(r.to_json() + "\n")
    with open(os.path.join(out_dir, "cells.jsonl"), "w") as f:
        for c in cells:
            f.write(json.dumps(c) + "\n")
    return runs, cells


def true_capacities(w, base=10000.0, effects=None):
    """A capacity per cell: base x the product of each factor level's
    effect ({factor: {level: multiplier}})."""
    out = {}
    for c in w.cells:
        m = 1.0
        for f, level in c.factors.items():
            m *= (effects or {}).get(f, {}).get(level, 1.0)
        out[c.name] = base * m if c.factors or not effects else base
    if not effects:
        for i, c in enumerate(w.cells):
            out[c.name] = base * (1 + 0.2 * i)
    return out


def base_workload(**over):
    """A small cells workload as a data file's mapping, with `over` on top."""
    d = {"name": "t", "driver": "kafka-1", "repetitions": 3,
         "cells": [{"name": "a", "profile": "baseline"}, {"name": "b", "profile": "high-throughput"},
                   {"name": "c", "profile": "balanced"}]}
    d.update(over)
    return d
