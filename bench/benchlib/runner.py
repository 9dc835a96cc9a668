"""One measured run: a load-generator process (peer-sim) against a running
ordering service, or Kafka's ProducerPerformance, pinned to the peers' CPU
set, with every role's CPU sampled; the result is one RunResult."""
import json
import os
import subprocess
import threading
import time

from benchlib import kafka_driver, metrics, placement
from benchlib.capacity import seconds as _seconds
from benchlib.record import RunResult
from benchlib.record import read_json, read_text


class RunFailed(Exception):
    pass


def _wait(proc, timeout_s):
    """(exit code, cpu seconds, peak RSS MiB) from wait4; kills the process
    after timeout_s, and on Ctrl-C/SIGTERM (never left behind)."""
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return proc.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024
            if time.monotonic() > deadline:
                proc.kill()
                deadline = float("inf")
            time.sleep(0.05)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise


def _descendants(pid):
    """pid and every process below it (a wrapper script's JVM)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _at_load_time(started_file, seconds, fn, cancel):
    """Waits for peer-sim's --started-file (the load's second 0, unix ms),
    then calls fn `seconds` after it; gives up if `cancel` is set first."""
    start_ms = None
    while not cancel.is_set():
        try:
            with open(started_file) as f:
                start_ms = int(f.read().strip())
            break
        except (OSError, ValueError):
            cancel.wait(0.05)
    if start_ms is None:
        return
    if not cancel.wait(max(0.0, start_ms / 1000.0 + seconds - time.time())):
        fn()


def steady_window_s(configured, rate, block, warmup_max_s):
    """The warm-up's comparison window, in whole seconds: as configured, or
    long enough for ~20 blocks at the offered rate (deliveries come a block
    at a time), 2 to 10 s; never more than half the warm-up's bound (two
    windows must fit)."""
    if configured:
        w = configured
    elif not rate:
        w = 2.0
    else:
        w = min(10.0, max(2.0, 20 * block_interval_s(rate, block)))
    return max(1, min(int(round(w)), int(warmup_max_s // 2)))


def block_interval_s(rate, block):
    """How long a block takes to be cut at `rate`: filled, or timed out."""
    timeout_s = _seconds(block["batch_timeout"])
    return min(float(block["max_message_count"]) / rate, timeout_s) if rate else timeout_s


def cooldown_s(rate, block):
    """Unmeasured submitting after the window: long enough to fill the
    window's last block (1.5 block intervals and half a second), so it is
    not left waiting for BatchTimeout."""
    return round(1.5 * block_interval_s(rate, block) + 0.5, 1)


class Runner:
    """Runs peer-sim and ProducerPerformance for a study; knows the
    binaries, the placement and the brokers."""

    def __init__(self, root, build_dir, out_dir, brokers, roles_cpus, study, placement_name):
        self.root, self.out_dir, self.brokers = root, out_dir, brokers
        self.roles_cpus, self.study, self.placement = roles_cpus, study, placement_name
        self.bin = {n: os.path.join(build_dir, *p) for n, p in {
            "orderer": ("orderer", "orderer"), "peer-sim": ("peer-sim", "peer-sim"),
            "ledger": ("tools", "ledger"), "delete-topics": ("tools", "delete-topics"),
            "machine-calibrate": ("tools", "machine-calibrate")}.items()}
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise RunFailed(f"{name} binary not found at {path}: build first (scripts/build.sh)")
        self.run_count = 0

    def next_id(self):
        self.run_count += 1
        return f"{self.run_count:04d}"

    def _base(self, run_id, cell, rep, kind, cfg, service=None):
        rec = RunResult(study=self.study, run_id=run_id, cell=cell, repetition=rep, kind=kind,
                        backend="kafka", brokers=self.brokers.count, placement=self.placement,
                        config=cfg, started_unix=time.time())
        if service is not None:
            rec.backend, rec.driver = service.backend, service.driver["name"]
            rec.brokers = service.driver["brokers"]
            rec.nodes, rec.submit = service.driver["nodes"], service.driver["submit"]
        return rec

    def peer_sim(self, run_id, cell, rep, kind, cfg, profile_path, rate, window_s, warmup_max_s, block,
                 steady_cfg, tolerance, service=None, raw_topic=None, peers=None, channel=None, count=None,
                 address=None, action=None, fixed_warmup=False, block_times=False, tolerate_loss=False,
                 drain_s=60, ack_log=None):
        """One peer-sim process: open loop at `rate`, a warm-up until steady
        (or, `fixed_warmup`, exactly `warmup_max_s`), then a `window_s`
        measured window; or (`count`) flat out, `count` pre-signed
        transactions sent as fast as they go, timed first send to last
        acknowledgement, as ProducerPerformance times --num-records.
        `service`: the ordering service (peers talk to its address, or to
        `address`). `action`: (seconds, callable) called that long after
        the load starts (peer-sim's --started-file: after pre-signing and
        connecting), a recovery run's kill. `tolerate_loss`: lost
        transactions are the measurement (a recovery run), not a fault;
        `drain_s` bounds the wait for them after submitting ends.
        `ack_log`: peer-sim logs every answer there (--ack-log)."""
        rec = self._base(run_id, cell, rep, kind, cfg, service)
        if service is not None:
            note = service.refresh()
            if note:
                rec.note = note
        rec.offered_tps = float(rate) if rate else None
        run_dir = os.path.join(self.out_dir, "runs", run_id)
        os.makedirs(run_dir, exist_ok=True)
        json_path = os.path.join(run_dir, "peer-sim.json")
        submit = service.driver["submit"] if service is not None else "kafka"
        args = placement.taskset(self.roles_cpus["peers"]) + [
            self.bin["peer-sim"], "--submit", submit, "--profile", profile_path,
            "--peers", str(peers or cfg["peers"]), "--tx-size", str(cfg["tx_size"]), "--rate", str(int(rate)),
            "--json", json_path, "--quiet", "--drain-timeout", f"{drain_s:g}s"]
        if submit == "kafka":
            args += ["--brokers", self.brokers.bootstrap]
        if block_times:
            args += ["--block-times"]
        if ack_log:
            args += ["--ack-log", ack_log]
        started = os.path.join(run_dir, "started")
        if action is not None:
            args += ["--started-file", started]
        if count:
            args += ["--count", str(count), "--duration", "0", "--warmup", "0s", "--max-in-flight", "100000"]
        elif fixed_warmup:
            args += ["--duration", f"{int(window_s * 1000)}ms",
                     "--cooldown", f"{int(cooldown_s(rate, block) * 1000)}ms",
                     "--warmup", f"{int(warmup_max_s * 1000)}ms"]
        else:
            args += ["--duration", f"{int(window_s * 1000)}ms",
                     "--cooldown", f"{int(cooldown_s(rate, block) * 1000)}ms",
                     "--warmup", "auto", "--warmup-max", f"{warmup_max_s:g}s",
                     "--steady-window", f"{steady_window_s(steady_cfg, rate, block, warmup_max_s)}s",
                     "--steady-tolerance", f"{tolerance:g}"]
        for k, v in sorted(cfg["producer"].items()):
            args += ["--producer-prop", f"{k}={v}"]
        if raw_topic:
            args += ["--raw", "--topic", raw_topic, "--channel", raw_topic]
        else:
            args += ["--orderer", address or service.address(), "--channel", channel]
        # Never poll() here: it would reap the child under _wait's wait4. A
        # pid that is gone keeps its last CPU reading in the sampler.
        roles = {"peers": lambda: [p.pid]}
        if service is None or service.backend == "kafka":
            roles["broker"] = self.brokers.pids
        if service is not None:
            roles.update(service.role_pids())
        counters0 = service.counters() if service else {}
        t0 = time.monotonic()
        timer, cancel = None, threading.Event()
        with open(os.path.join(run_dir, "peer-sim.log"), "w") as logf:
            p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
            if action is not None:
                timer = threading.Thread(target=_at_load_time, args=(started, action[0], action[1], cancel),
                                         daemon=True)
                timer.start()
            # The orderer's /metrics each second (none for raw runs).
            scraper = metrics.Sampler(service.metrics_url if service is not None else (lambda: None))
            try:
                with placement.Sampler(roles) as sampler, scraper:
                    code, _, rss = _wait(p, warmup_max_s + window_s + 600)
            finally:
                if timer is not None:
                    cancel.set()
                    timer.join()
        rec.wall_s = time.monotonic() - t0
        rec.exit_code = code
        kept_metrics = scraper.write(os.path.join(run_dir, "metrics.csv.gz"))
        if code == 2:
            raise RunFailed(f"peer-sim refused its arguments (a bench bug or a bad workload value): "
                            f"{read_text(os.path.join(run_dir, 'peer-sim.log')).strip()[-500:]}")
        if code not in (0, 1) or not os.path.isfile(json_path):
            rec.invalidate(f"peer-sim exited {code}; see runs/{run_id}/peer-sim.log")
            return rec
        r = read_json(json_path)
        self._fill(rec, r, raw=bool(raw_topic))
        if code == 1 and not (tolerate_loss and rec.duplicates == 0):
            rec.invalidate("lost, doubled or failed transactions (peer-sim exit 1)")
        done = rec.acked if raw_topic else rec.delivered
        clock = r.get("clock") or {}
        t_from = clock.get("measure_from_unix_ms", 0) / 1000.0
        t_to = clock.get("measure_to_unix_ms", 0) / 1000.0
        in_window = (rec.acked_tps if raw_topic else rec.delivered_tps) or 0.0
        # Raft's followers (replicas) sit on the brokers' CPU set.
        all_cpus = dict(self.roles_cpus, replicas=self.roles_cpus["broker"])
        roles_cpus = {k: v for k, v in all_cpus.items() if k in roles}
        cpu, bottleneck, util = placement.window_cpu(sampler, t_from, t_to, roles_cpus,
                                                     in_window * max(0.0, t_to - t_from) or done)
        cpu.setdefault("peers", {})["rss_mib"] = rss
        if service is not None and "orderer" in cpu:
            cpu["orderer"]["rss_mib"] = service.rss_mib()
        rec.cpu, rec.bottleneck, rec.bottleneck_util = cpu, bottleneck, util
        rec.saturated = util is not None and util >= placement.SATURATED
        if service is not None:
            counters1 = service.counters()
            # (a recovery run's counters may come from a new leader: never below 0)
            rec.rejected = max(0, counters1.get("rejected_total", 0) - counters0.get("rejected_total", 0))
        _write_cpu_series(sampler, os.path.join(run_dir, "cpu.csv"))
        if kept_metrics:
            rec.orderer_metrics = metrics.window(scraper.samples, t_from, t_to)
        return rec

    @staticmethod
    def _fill(rec, r, raw):
        rec.submitted, rec.acked, rec.delivered = r["submitted"], r["acked"], r["delivered"]
        rec.failed, rec.duplicates = r["failed"], r["duplicates"]
        rec.undelivered_acked = r.get("undelivered_acked", 0)
        rec.never_acked = r.get("never_acked", 0)
        rec.undelivered_share = r.get("undelivered_share")
        rec.signing = r.get("signing")
        rec.generator_bound = bool(r.get("generator_bound"))
        rec.held_back = bool(r.get("held_back"))
        rec.generator_load, rec.submit_held_share = r.get("generator_load"), r.get("submit_held_share")
        rec.max_submit_lag_ms = r.get("max_submit_lag_ms")
        w = r.get("warmup") or {}
        rec.steady, rec.warmup_s = w.get("steady"), w.get("seconds")
        rec.window_s = r["seconds"]["run"]
        rec.submit_tps, rec.acked_tps = r["tps"]["submitted"], r["tps"]["acked"]
        rec.delivered_tps = None if raw else r["tps"]["delivered"]
        rec.backlog_growth_tps = r.get("backlog_growth_tps")
        lat = r["latency_ms"]["ack" if raw else "e2e"]
        if lat["count"]:
            rec.p50_ms, rec.p95_ms, rec.p99_ms = lat["p50"], lat["p95"], lat["p99"]
            rec.p999_ms, rec.max_ms, rec.mean_ms = lat["p999"], lat["max"], lat["mean"]
        ack = r["latency_ms"]["ack"]
        if ack["count"]:
            rec.ack_p50_ms, rec.ack_p99_ms = ack["p50"], ack["p99"]
        batches = r.get("producer_batches") or {}
        if batches.get("batches"):
            rec.batch_records, rec.batch_bytes = batches["records_per_batch"], batches["bytes_per_batch"]
        if not raw:
            rec.blocks, rec.txs_per_block, rec.cut_reasons = r["blocks"], r["txs_per_block"], r["cut_reasons"]
        rec.records_per_s = rec.acked_tps if raw else None
        if r.get("pool_exhausted"):
            rec.generator_bound = True

    def producer_perf(self, run_id, cell, rep, cfg, records, topic):
        """Kafka's own ProducerPerformance, flat out, with the cell's producer
        settings mapped to the Java client's names."""
        rec = self._base(run_id, cell, rep, "pp", cfg)
        rec.tool = "ProducerPerformance"
        run_dir = os.path.join(self.out_dir, "runs", run_id)
        os.makedirs(run_dir, exist_ok=True)
        props, unmapped = kafka_driver.java_producer_props(cfg["producer"])
        rec.criteria = {"unmapped_properties": unmapped}
        args = placement.taskset(self.roles_cpus["peers"]) + [
            os.path.join(self.root, "scripts", "kafka"), "producer-perf", "--topic", topic,
            "--num-records", str(records), "--record-size", str(cfg["tx_size"]), "--throughput", "-1",
            "--producer-props", f"bootstrap.servers={self.brokers.bootstrap}"] + \
            [f"{k}={v}" for k, v in sorted(props.items())]
        log_path = os.path.join(run_dir, "producer-perf.log")
        t0 = time.monotonic()
        with open(log_path, "w") as logf:
            logf.write(" ".join(args) + "\n")
            logf.flush()
            p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
            seen = set()

            def tool_pids():
                seen.update(_descendants(p.pid))  # the script and its JVM, remembered after they exit
                return sorted(seen)
            with placement.Sampler({"peers": tool_pids, "broker": self.brokers.pids}) as sampler:
                code, _, rss = _wait(p, 900)
        t1 = time.monotonic()
        rec.wall_s = t1 - t0
        rec.exit_code = code
        out = kafka_driver.parse_pp(read_text(log_path))
        if code != 0 or out is None:
            rec.invalidate(f"ProducerPerformance exited {code} without a summary; see runs/{run_id}/producer-perf.log")
            return rec
        if out["records"] < records:
            rec.invalidate(f"ProducerPerformance sent {out['records']} of {records} records")
        rec.records_per_s, rec.mb_per_s = out["records_per_s"], out["mb_per_s"]
        rec.pp_avg_latency_ms, rec.pp_p99_ms = out["avg_ms"], out["p99_ms"]
        rec.p50_ms, rec.p99_ms, rec.p999_ms, rec.max_ms = out["p50_ms"], out["p99_ms"], out["p999_ms"], out["max_ms"]
        rec.acked = rec.submitted = out["records"]
        # The tool times its whole run (JVM start-up aside): CPU over the process's life.
        now = time.time()
        span = out["records"] / out["records_per_s"] if out["records_per_s"] else rec.wall_s
        roles = {k: v for k, v in self.roles_cpus.items() if k in ("peers", "broker")}
        cpu, bottleneck, util = placement.window_cpu(sampler, now - rec.wall_s, now, roles, out["records"])
        cpu.setdefault("peers", {})["rss_mib"] = rss
        rec.cpu, rec.bottleneck, rec.bottleneck_util = cpu, bottleneck, util
        rec.window_s = span
        return rec

    def machine_calibration(self, cpus):
        """tools/machine-calibrate pinned to one CPU of `cpus`: ECDSA sign
        and verify per second, SHA-256 of 1 KB, so days can be compared."""
        one = [cpus[0]] if cpus else []
        p = subprocess.run(placement.taskset(one) + [self.bin["machine-calibrate"], "--json"],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RunFailed(f"machine-calibrate failed: {p.stderr.strip()}")
        out = json.loads(p.stdout)
        out["taken_unix"] = time.time()
        return out


def _write_cpu_series(sampler, path):
    rows = sampler.series()
    if not rows:
        return
    roles = sorted({r for _, d in rows for r in d})
    with open(path, "w") as f:
        f.write("unix_time," + ",".join(f"{r}_cpus_busy" for r in roles) + "\n")
        for t, d in rows:
            f.write(f"{t:.3f}," + ",".join(f"{d.get(r, 0.0):.3f}" for r in roles) + "\n")
