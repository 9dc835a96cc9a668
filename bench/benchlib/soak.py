"""Soak: one long open-loop run at a fixed rate, to show the service stays
stable: memory, open files, CPU, disk and latency sampled every interval,
each series' drift fitted afterwards (benchlib.soak_report), then the
crash campaigns' checker (benchlib.ack_check): nothing acknowledged lost or
doubled, every replica identical.

The service starts as a study's cell does (benchlib.services, placed by
benchlib.placement: the node that cuts blocks alone on the orderer's CPUs,
the brokers or Raft's followers and the peers on the rest; Kafka's brokers
started with scripts/kafka). peer-sim submits through Broadcast for the
whole run, signing inline (a pre-signed pool for half an hour would be
gigabytes), logs every answer (--ack-log) and prints a progress line every
interval, on which the bench reads /proc and the data folders
(benchlib.soak_rows) and appends the row to soak.jsonl at once: a run
killed at any point leaves every finished interval on disk.

SIGINT or SIGTERM (once) ends the load early: peer-sim stops submitting and
drains, the service stops, the checks run and the summary covers the
intervals done. A second signal cuts peer-sim's drain short. The service's
processes run in sessions of their own, so a Ctrl-C at the terminal reaches
the bench only, which stops them in order."""
import concurrent.futures
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time

from benchlib import ack_check, campaign, drivers, kafka_driver, metrics, placement, services, soak_rows
from benchlib import workload as wl
from benchlib.record import read_json, read_jsonl, write_json
from benchlib.runner import cooldown_s

DRAIN_S = 60


class SoakError(RuntimeError):
    pass


def resolve(root, driver_name, rate=None, fraction=None, capacity_from=None, cell=None):
    """What to run: {driver, rate, fraction, capacity, settings,
    settings_from}. With `capacity_from` (a capacity study's folder) the
    study's cell on the driver gives the settings, and the mean capacity of
    its usable searches the rate (`fraction` x capacity, or `rate` as
    given); without it, the `compare` workload's cell on the driver gives
    the settings and `rate` is required."""
    driver = drivers.load_driver(driver_name)
    if driver["submit"] != "broadcast":
        raise SoakError(f"driver {driver['name']}: peers write into the topic; a soak submits through Broadcast, "
                        f"whose answers its checker reads (use {driver['name']}-broadcast, solo or raft-N)")
    if (rate is None) == (fraction is None):
        raise SoakError("give --rate R or --fraction F (with --capacity-from), one of them")
    if fraction is not None and not capacity_from:
        raise SoakError("--fraction is a share of a capacity: give --capacity-from DIR (a capacity study's folder)")
    if fraction is not None and not 0 < fraction <= 1.5:
        raise SoakError(f"--fraction {fraction:g}: expected a share of capacity, such as 0.5")
    capacity = None
    if capacity_from:
        folder = os.path.abspath(capacity_from)
        meta_path = os.path.join(folder, "study.json")
        if not os.path.isfile(meta_path):
            raise SoakError(f"--capacity-from {capacity_from}: no study.json there")
        meta = read_json(meta_path)
        cells = [c for c in meta.get("cells") or [] if (c.get("driver") or meta.get("driver")) == driver["name"]]
        if cell:
            cells = [c for c in cells if c["name"] == cell]
        if len(cells) != 1:
            have = ", ".join(f"{c['name']} ({c.get('driver') or meta.get('driver')})" for c in meta.get("cells") or [])
            raise SoakError(f"--capacity-from {capacity_from}: " + (
                f"no cell{' ' + cell if cell else ''} on driver {driver['name']}" if not cells else
                f"cells {', '.join(c['name'] for c in cells)} run on {driver['name']}: name one with --cell") +
                f" (its cells: {have})")
        c = cells[0]
        # The searches the study's report counts (benchlib.analysis.capacities):
        # a capacity found, the chain verified, the generator not the limit.
        caps = [float(x["capacity"]) for x in read_jsonl(os.path.join(folder, "cells.jsonl"))
                if x.get("cell") == c["name"] and x.get("capacity") and x.get("ledger_verified") is True
                and not x.get("generator_limited")]
        if not caps:
            raise SoakError(f"--capacity-from {capacity_from}: no usable capacity search of cell {c['name']}")
        capacity = {"capacity": sum(caps) / len(caps), "n": len(caps), "study": os.path.relpath(folder, root),
                    "cell": c["name"]}
        eff = dict(meta["effective"][c["name"]])
        eff["profile"] = c.get("profile")
        source = f"cell `{c['name']}` of `{os.path.relpath(folder, root)}`"
    else:
        w = wl.load("compare")
        on = [c for c in w.cells if w.driver_of(c) == driver["name"]]
        c = on[0] if on else w.cells[0]
        eff = wl.effective(c, w.block)
        eff["profile"] = c.profile
        source = f"the `compare` workload's cell `{c.name}`" + ("" if on else f", on {driver['name']}")
    eff["driver"] = driver["name"]
    if fraction is not None:
        rate = fraction * capacity["capacity"]
    rate = int(round(rate))
    if rate < 1:
        raise SoakError(f"rate {rate} tx/s: expected at least 1")
    return {"driver": driver, "rate": rate, "fraction": rate / capacity["capacity"] if capacity else None,
            "capacity": capacity, "settings": eff, "settings_from": source}


class Soak:
    def __init__(self, root, build, out, plan, duration_s, interval_s, warmup_s, seed, kafka_port=None,
                 keep_ledgers=False, drift_limit=None, log=print):
        self.root, self.out, self.plan, self.log = root, out, plan, log
        self.driver, self.rate, self.eff = plan["driver"], plan["rate"], plan["settings"]
        self.duration_s, self.interval_s, self.warmup_s = duration_s, interval_s, warmup_s
        self.seed, self.keep_ledgers, self.drift_limit = seed, keep_ledgers, drift_limit
        self.kafka_port = kafka_port or kafka_driver.KAFKA_PORT
        self.bin = {n: os.path.join(build, *p) for n, p in {
            "orderer": ("orderer", "orderer"), "peer-sim": ("peer-sim", "peer-sim"),
            "ledger": ("tools", "ledger")}.items()}
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise SoakError(f"{name} binary not found at {path}: give --build (the folder with the binaries)")
        self.roles_cpus = placement.plan("isolated")
        self.channel = f"soak-{self.driver['name']}-{seed}"
        self.ack_log = os.path.join(out, "acks.log")
        self.stops = 0          # SIGINT/SIGTERM received
        self.failure = None     # why the run ended early, when something broke
        self.peer_sim = None

    # --- what is sampled

    def _pids(self, service, brokers):
        pids = {n.name: (n.proc.pid if n.alive() else None) for n in service.nodes}
        if brokers is not None:
            for i in range(1, brokers.count + 1):
                try:
                    with open(os.path.join(brokers.dir, f"node{i}", "pid")) as f:
                        pids[f"broker{i}"] = int(f.read().strip())
                except (OSError, ValueError):
                    pids[f"broker{i}"] = None
        pids[soak_rows.PEER_SIM] = self.peer_sim.pid if self.peer_sim and self.peer_sim.poll() is None else None
        return pids

    def _folders(self, service, brokers):
        out = {}
        for n in service.nodes:
            out[f"{n.name}.ledger"] = n.ledger
            if service.backend == "raft":
                out[f"{n.name}.raft"] = n.ledger + ".raft"
        if brokers is not None:
            for i in range(1, brokers.count + 1):
                out[f"broker{i}.data"] = os.path.join(brokers.dir, f"node{i}", "data")
        return out

    @staticmethod
    def _ledger_memory(service):
        """{node: bytes of its ledger's memory (orderer_ledger_memory_bytes, every
        part) or None when its /metrics did not answer}."""
        out = {}
        for n in service.nodes:
            url = n.metrics_url()
            try:
                out[n.name] = metrics.total(metrics.scrape(url), "orderer_ledger_memory_bytes") if url else None
            except (OSError, ValueError):
                out[n.name] = None
        return out

    def _dead(self, service, brokers):
        """What of the service has exited on its own, or None."""
        gone = [n.name for n in service.nodes if not n.alive()]
        if brokers is not None and len(brokers.pids()) < brokers.count:
            gone.append(f"{brokers.count - len(brokers.pids())} broker(s)")
        return ", ".join(gone) or None

    # --- the run

    def _on_signal(self, signum, _frame):
        self.stops += 1
        if self.peer_sim is not None and self.peer_sim.poll() is None:
            self.peer_sim.send_signal(signal.SIGTERM)  # the first ends the load, a second cuts its drain short
        if self.stops == 1:
            self.log(f"{signal.Signals(signum).name}: ending the load; peer-sim drains, then the checks and "
                     "the summary over the intervals done (again: cut the drain short)")

    def _launch_peer_sim(self, address):
        args = placement.taskset(self.roles_cpus["peers"]) + [
            self.bin["peer-sim"], "--submit", "broadcast", "--orderer", address, "--channel", self.channel,
            "--peers", str(self.eff["peers"]), "--tx-size", str(self.eff["tx_size"]), "--rate", str(self.rate),
            "--duration", f"{int(self.duration_s * 1000)}ms", "--warmup", "0s",
            "--cooldown", f"{int(cooldown_s(self.rate, self.eff['block']) * 1000)}ms", "--sign-inline",
            "--progress-interval", f"{int(self.interval_s * 1000)}ms", "--drain-timeout", f"{DRAIN_S}s",
            "--json", os.path.join(self.out, "peer-sim.json"), "--ack-log", self.ack_log]
        self.peer_sim = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         start_new_session=True, preexec_fn=services.stop_with_parent)
        lines = queue.Queue()

        def read():
            with open(os.path.join(self.out, "peer-sim.log"), "w") as logf:
                for line in self.peer_sim.stdout:
                    logf.write(line)
                    logf.flush()
                    lines.put(line)
            lines.put(None)
        threading.Thread(target=read, daemon=True).start()
        return lines

    def run(self):
        """Runs the soak; returns the end record (soak-end.json)."""
        if os.path.exists(os.path.join(self.out, "soak.jsonl")):
            raise SoakError(f"{self.out} holds a soak already (soak.jsonl): give another --out")
        os.makedirs(self.out, exist_ok=True)
        write_json(os.path.join(self.out, "soak.json"), {
            "driver": self.driver["name"], "backend": self.driver["backend"], "rate": self.rate,
            "fraction": self.plan["fraction"], "capacity": self.plan["capacity"], "settings": self.eff,
            "settings_from": self.plan["settings_from"], "duration_s": self.duration_s,
            "interval_s": self.interval_s, "warmup_s": self.warmup_s, "drift_limit": self.drift_limit,
            "seed": self.seed, "channel": self.channel, "placement": "isolated",
            "roles_cpus": {r: placement.cpu_list(c) for r, c in self.roles_cpus.items()},
            "kafka_port": self.kafka_port if self.driver["backend"] == "kafka" else None,
            "started_unix": time.time()})
        brokers = None
        if self.driver["backend"] == "kafka":
            brokers = kafka_driver.Brokers(self.root, self.driver["brokers"], self.roles_cpus["broker"], self.out,
                                           driver_broker=self.driver.get("broker"), log=self.log,
                                           port=self.kafka_port)
        service = services.make(self.driver, self.bin, self.channel, self.out, self.eff, self.roles_cpus, brokers)
        service.own_session = True
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        ended, code = "completed", None
        try:
            if brokers is not None:
                self.log(f"starting {brokers.count} broker(s) on port {self.kafka_port} (CPUs "
                         f"{placement.cpu_list(self.roles_cpus['broker'])})")
                brokers.ensure(self.eff.get("broker") or {})
            if self.stops:
                raise SoakError("stopped before the load started")
            service.start()
            if self.stops:
                raise SoakError("stopped before the load started")
            others = [n.name for n in service.nodes if n is not service.main()]
            self.log(f"service up: {service.main().name} cuts blocks, on CPUs "
                     f"{placement.cpu_list(self.roles_cpus['orderer'])}; "
                     + (f"{', '.join(others)} " if others else "")
                     + (f"{brokers.count} broker(s) " if brokers is not None else "")
                     + f"and peer-sim on {placement.cpu_list(self.roles_cpus['peers'])}")
            self._loop(service, brokers)
            if self.failure:
                ended = "failed"
            elif self.stops:
                ended = "interrupted"
        except (SoakError, drivers.DriverError, OSError) as e:
            self.failure, ended = str(e), "failed"
        finally:
            if self.peer_sim is not None and self.peer_sim.poll() is None:
                self.peer_sim.kill()
                self.peer_sim.wait()
            code = service.stop() if service.started() else None
            for s, h in old.items():
                signal.signal(s, h)
        try:
            end = self._check(service, code, ended, brokers) if service.started() else \
                {"ended": ended, "reason": self.failure, "ok": False, "problems": [self.failure or ended]}
        finally:
            if brokers is not None:
                brokers.stop()
        write_json(os.path.join(self.out, "soak-end.json"), end)
        return end

    def _loop(self, service, brokers):
        lines = self._launch_peer_sim(service.address())
        prev = {"unix": time.time(), "procs": soak_rows.read_all(self._pids(service, brokers), {})[0]}
        total = int(round(self.duration_s / self.interval_s))
        deadline = time.monotonic() + self.duration_s + DRAIN_S + 300
        k = 0
        with open(os.path.join(self.out, "soak.jsonl"), "a") as rows:
            while True:
                try:
                    line = lines.get(timeout=1.0)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if time.monotonic() > deadline and self.peer_sim.poll() is None:
                    self.failure = "peer-sim did not end in time: killed"
                    self.peer_sim.kill()
                dead = self._dead(service, brokers) if not self.failure else None
                if dead:
                    self.failure = f"{dead} exited on its own at {k * self.interval_s:g} s; see {self.out}"
                    self.log(f"ERROR: {self.failure}; ending the load")
                    self.peer_sim.send_signal(signal.SIGTERM)
                p = soak_rows.parse_progress(line) if line else None
                if p is None or self.failure:
                    continue
                k += 1
                note = service.refresh() if service.backend == "raft" else None
                procs, disk = soak_rows.read_all(self._pids(service, brokers), self._folders(service, brokers))
                now = time.time()
                leader = service.main().name if service.backend == "raft" else None
                row = soak_rows.build_row(k, p, procs, disk, now, prev, leader=leader, note=note,
                                          ledger_memory=self._ledger_memory(service))
                rows.write(json.dumps(row) + "\n")
                rows.flush()
                os.fsync(rows.fileno())
                prev = row
                self.log(progress_line(row, k, total, self.interval_s))
        code = self.peer_sim.wait()
        if code not in (0, 1) and not self.stops and not self.failure:
            self.failure = f"peer-sim exited {code}; see {self.out}/peer-sim.log"
        elif k < total and not self.stops and not self.failure:
            self.failure = f"peer-sim ended after {k} of {total} intervals; see {self.out}/peer-sim.log"

    def _check(self, service, stop_code, ended, brokers=None):
        """Every node's chain verified and exported, the replicas compared,
        the ack log checked against the exports; the end record, with each
        data folder's size once the nodes stopped (their buffers written)."""
        problems = [self.failure] if self.failure else []
        disk_end = {n: soak_rows.disk_bytes(p) for n, p in self._folders(service, brokers).items()}
        nodes, exports = {}, {}

        def one(n):
            good, msg, head = n.verify(self.bin["ledger"], remove=False)
            path = os.path.join(self.out, f"ledger-{n.name}.jsonl")
            exported, err = n.export(self.bin["ledger"], path)
            return n, good, msg, head, path, exported, err

        # The nodes' ledgers are checked side by side (the load is over; an hour's ledgers take
        # minutes each, one core apiece), reported in the nodes' order.
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            done = list(pool.map(one, service.nodes))
        for n, good, msg, head, path, exported, err in done:
            nodes[n.name] = {"verified": good, "message": msg[-500:], "height": head[0] if head else None,
                             "last_hash": head[1] if head else None}
            if not exported:
                problems.append(f"ledger export of {n.name} failed: {err[-300:]}")
            else:
                exports[n.name] = path
            if not good:
                problems.append(f"{n.name}'s ledger does not verify: {msg[-300:]}")
        heads = {(x["height"], x["last_hash"]) for x in nodes.values()}
        identical = len(heads) == 1 and None not in next(iter(heads))
        if not identical:
            problems.append("the replicas differ: " + ", ".join(f"{n} height {x['height']}" for n, x in nodes.items()))
        verdict = None
        if os.path.isfile(self.ack_log) and exports:
            verdict = ack_check.check([self.ack_log], exports, campaign.parse_ack_line)
            problems += verdict["problems"]
        else:
            problems.append("no ack log or no export to check")
        if stop_code not in (0, None):
            problems.append(f"an orderer node exited {stop_code} when stopped")
        ps = {"exit_code": self.peer_sim.returncode if self.peer_sim else None}
        try:
            r = read_json(os.path.join(self.out, "peer-sim.json"))
            ps.update({k: r.get(k) for k in ("submitted", "acked", "delivered", "failed", "duplicates",
                                             "undelivered_acked", "never_acked")})
            ps["e2e_ms"] = {k: (r.get("latency_ms") or {}).get("e2e", {}).get(k) for k in ("p50", "p99", "max")}
        except (OSError, ValueError):
            problems.append("peer-sim wrote no report")
        if not self.keep_ledgers:
            for n in service.nodes:
                shutil.rmtree(n.ledger, ignore_errors=True)
                shutil.rmtree(n.ledger + ".raft", ignore_errors=True)
        return {"ended": ended, "reason": self.failure, "ended_unix": time.time(), "stop_exit_code": stop_code,
                "peer_sim": ps, "disk_bytes_end": disk_end, "nodes": nodes, "replicas_identical": identical, "ack_check": verdict,
                "ok": not problems, "problems": problems}


def progress_line(row, k, total, interval_s):
    """`minute 7/30: 1,000 tx/s, p99 12 ms, RSS node1 190 MiB ...`"""
    where = f"minute {k}/{total}" if interval_s == 60 else f"{row['t_s']:.0f} s of {total * interval_s:g}"
    p99 = f"p99 {row['p99_ms']:,.0f} ms" if row.get("p99_ms") is not None else \
        f"nothing delivered (oldest waiting {row.get('oldest_undelivered_ms') or 0:,.0f} ms)"
    procs = {n: p for n, p in row["procs"].items() if p}
    rss = ", ".join(f"{n} {p['rss_bytes'] / (1 << 20):,.0f}" for n, p in procs.items())
    fds = "/".join(str(p["fds"]) for p in procs.values())
    disk = sum(b for b in row["disk_bytes"].values() if b) / (1 << 20)
    lead = f", leader {row['leader']}" if row.get("leader") else ""
    return (f"  {where}: {row['delivered_tps']:,.0f} tx/s, {p99}, RSS MiB {rss}; open files {fds}; "
            f"disk {disk:,.0f} MiB{lead}" + (f"; {row['note']}" if row.get("note") else ""))


def command(root, a, kafka_version, log):
    """`bench soak`: checks the arguments (exit 2), runs, writes the
    report; exit 0 when the run completed and every check passed, 130 when
    a signal ended it early and the checks passed, 1 otherwise."""
    import datetime
    import sys
    from benchlib import capacity, env as envmod, soak_report
    try:
        dur, interval = capacity.seconds(a.duration), capacity.seconds(a.interval)
        warm = capacity.seconds(a.warmup) if a.warmup is not None else min(120.0, dur / 4)
        if interval < 1 or dur < interval:
            raise SoakError("--interval must be at least 1s and --duration at least one interval")
        if (dur - warm) / interval < 3:
            raise SoakError(f"--duration {a.duration} less the {warm:g} s warm-up leaves under three "
                            f"{interval:g} s intervals to fit")
        if not 0 < a.drift_limit < 1:
            raise SoakError("--drift-limit is a share of the mean, between 0 and 1 (e.g. 0.05)")
        plan = resolve(root, a.driver, a.rate, a.fraction, a.capacity_from, a.cell)
        seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
        out = a.out or os.path.join(root, "run", "soak", f"{a.driver}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
        s = Soak(root, a.build, out, plan, dur, interval, warm, seed, kafka_port=a.kafka_port,
                 keep_ledgers=a.keep_ledgers, drift_limit=a.drift_limit, log=log)
        if os.path.exists(os.path.join(out, "soak.jsonl")):
            raise SoakError(f"{out} holds a soak already (soak.jsonl): give another --out")
    except (SoakError, drivers.DriverError, wl.WorkloadError, ValueError) as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "env.json"), envmod.capture(root, kafka_version))
    of = f" ({plan['fraction']:.0%} of {plan['capacity']['capacity']:,.0f})" if plan["capacity"] else ""
    log(f"soak {plan['driver']['name']}: {plan['rate']:,} tx/s{of} for {dur / 60:g} min, every {interval:g} s, "
        f"warm-up {warm:g} s, settings from {plan['settings_from']}, seed {seed}; output {out}")
    end = s.run()
    log(f"report: {soak_report.write(out)}")
    log(f"ended {end['ended']}; checks: " + ("OK" if end["ok"] else "VIOLATED: " + "; ".join(end["problems"])))
    if not end["ok"]:
        return 1
    return 130 if end["ended"] == "interrupted" else 0
