"""One run = a fresh channel (topic) and ledger, an orderer, the peers, and
optionally the raw-producer baseline with the same settings; everything
measured is returned as one flat record."""
import json
import os
import random
import shutil
import signal
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

# A run's configuration and its defaults (the demo's settings).
DEFAULTS = {
    "profile": "high-throughput",  # configs/profiles/<name>.properties
    "producer": {},                # overrides on top of the profile
    "peers": 3,
    "tx_size": 1024,
    "rate": 2000,                  # tx/s over all peers; 0 = flat out
    "max_in_flight": 20000,        # flat out: undelivered transactions at most
    "duration_s": 20,
    "warmup_s": 5,
    "max_message_count": 500,
    "batch_timeout": "2s",
    "preferred_max_bytes": "2MB",
    "raw_baseline": True,          # also time the producer alone, same settings
}


def full_config(partial):
    cfg = dict(DEFAULTS)
    cfg.update(partial)
    cfg["producer"] = dict(DEFAULTS["producer"], **partial.get("producer", {}))
    return cfg


def _proc_cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
    return total


def _proc_rss_mib(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _wait_rusage(proc, timeout_s):
    """Waits for `proc` (killing it after timeout_s) and returns
    (exit code, cpu seconds, peak RSS MiB) from wait4. If the wait itself is
    interrupted (Ctrl-C, SIGTERM), the process is killed, not left behind."""
    try:
        return _wait_rusage_loop(proc, timeout_s)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise


def _wait_rusage_loop(proc, timeout_s):
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


class RunFailed(Exception):
    pass


class Runner:
    def __init__(self, root, build_dir, out_dir, brokers, broker_pids=lambda: [], log=print):
        self.root = root
        self.bin = {
            "orderer": os.path.join(build_dir, "orderer", "orderer"),
            "peer-sim": os.path.join(build_dir, "peer-sim", "peer-sim"),
            "ledger": os.path.join(build_dir, "ledger", "ledger"),
            "delete-topics": os.path.join(build_dir, "tools", "delete-topics"),
        }
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise RunFailed(f"{name} binary not found at {path}: build first (scripts/build.sh)")
        self.out_dir = out_dir
        self.brokers = brokers
        self.broker_pids = broker_pids
        self.log = log

    def _profile_path(self, name):
        path = os.path.join(self.root, "configs", "profiles", name + ".properties")
        if not os.path.isfile(path):
            raise RunFailed(f"no profile {path}")
        return path

    def _peer_sim_args(self, cfg, topic_or_channel, json_path, raw, orderer=None):
        args = [self.bin["peer-sim"], "--brokers", self.brokers, "--profile", self._profile_path(cfg["profile"]),
                "--peers", str(cfg["peers"]), "--tx-size", str(cfg["tx_size"]), "--rate", str(cfg["rate"]),
                "--duration", f"{cfg['duration_s']}s", "--warmup", f"{cfg['warmup_s']}s",
                "--max-in-flight", str(cfg["max_in_flight"]), "--json", json_path, "--quiet",
                "--drain-timeout", "60s"]
        for k, v in sorted(cfg["producer"].items()):
            args += ["--producer-prop", f"{k}={v}"]
        if raw:
            args += ["--raw", "--topic", topic_or_channel, "--channel", topic_or_channel]
        else:
            args += ["--orderer", orderer, "--channel", topic_or_channel]
        return args

    def run(self, cfg, run_id):
        """Runs one configuration; returns the flat result record. The run's
        topics are deleted afterwards, whatever happened: a full study writes
        tens of GB to the broker, more than a disk may hold."""
        cfg = full_config(cfg)
        channel = f"bench-{run_id}-{random.randrange(1 << 30):x}"
        raw_topic = channel + "-raw"  # the producer-alone baseline's own topic
        topics = [channel] + ([raw_topic] if cfg["raw_baseline"] else [])
        try:
            rec = self._run(cfg, run_id, channel, raw_topic)
        except Exception:
            # A failed run may not have created its topics (Ctrl-C skips
            # this: the study stops at once).
            self._delete_topics(run_id, topics, warn=False)
            raise
        self._delete_topics(run_id, topics, warn=True)
        return rec

    def _delete_topics(self, run_id, topics, warn):
        p = subprocess.run([self.bin["delete-topics"], "--brokers", self.brokers, "--timeout-ms", "10000"] + topics,
                           capture_output=True, text=True)
        if p.returncode != 0 and warn:
            self.log(f"warning: run {run_id}'s topics were not deleted (they stay on the broker's disk): "
                     f"{p.stderr.strip()}")

    def _run(self, cfg, run_id, channel, raw_topic):
        run_dir = os.path.join(self.out_dir, "runs", run_id)
        # A run left half done (a resumed study) starts again from nothing.
        shutil.rmtree(run_dir, ignore_errors=True)
        os.makedirs(run_dir)
        limit = cfg["duration_s"] + 180
        rec = {"run_id": run_id, "channel": channel, "started_unix": time.time()}
        rec.update({f"cfg_{k}": v for k, v in cfg.items() if k != "producer"})
        rec["cfg_producer"] = json.dumps(cfg["producer"], sort_keys=True)

        # 1. The producer alone, same settings, its own topic.
        if cfg["raw_baseline"]:
            raw_json = os.path.join(run_dir, "raw.json")
            with open(os.path.join(run_dir, "raw.log"), "w") as logf:
                p = subprocess.Popen(self._peer_sim_args(cfg, raw_topic, raw_json, True),
                                     stdout=logf, stderr=subprocess.STDOUT)
                code, cpu, rss = _wait_rusage(p, limit)
            if code != 0:
                raise RunFailed(f"raw peer-sim exited {code}; see {run_dir}/raw.log")
            raw = json.load(open(raw_json))
            rec.update({"raw_ack_tps": raw["tps"]["acked"], "raw_ack_p50_ms": raw["latency_ms"]["ack"]["p50"],
                        "raw_ack_p99_ms": raw["latency_ms"]["ack"]["p99"], "raw_failed": raw["failed"]})

        # 2. The pipeline.
        ready = os.path.join(run_dir, "orderer.port")
        metrics = os.path.join(run_dir, "orderer-metrics.json")
        ledger = os.path.join(run_dir, "ledger")
        orderer_args = [self.bin["orderer"], "--brokers", self.brokers, "--channel", channel,
                        "--ledger-dir", ledger, "--listen", "127.0.0.1:0", "--ready-file", ready,
                        "--metrics-file", metrics, "--summary-interval", "5s",
                        "--max-message-count", str(cfg["max_message_count"]),
                        "--batch-timeout", str(cfg["batch_timeout"]),
                        "--preferred-max-bytes", str(cfg["preferred_max_bytes"])]
        with open(os.path.join(run_dir, "orderer.log"), "w") as ologf:
            orderer = subprocess.Popen(orderer_args, stdout=ologf, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while not (os.path.exists(ready) and open(ready).read().strip()):
                    if orderer.poll() is not None:
                        raise RunFailed(f"orderer exited {orderer.returncode} at start; see {run_dir}/orderer.log")
                    if time.monotonic() > deadline:
                        raise RunFailed(f"orderer not ready in 60 s; see {run_dir}/orderer.log")
                    time.sleep(0.05)
                port = open(ready).read().strip()
                broker_pids = self.broker_pids()
                broker_cpu0 = _proc_cpu_seconds(broker_pids)
                t0 = time.monotonic()
                e2e_json = os.path.join(run_dir, "peer-sim.json")
                with open(os.path.join(run_dir, "peer-sim.log"), "w") as plogf:
                    p = subprocess.Popen(self._peer_sim_args(cfg, channel, e2e_json, False, f"127.0.0.1:{port}"),
                                         stdout=plogf, stderr=subprocess.STDOUT)
                    peer_code, peer_cpu, peer_rss = _wait_rusage(p, limit)
                wall = time.monotonic() - t0
                broker_cpu = _proc_cpu_seconds(broker_pids) - broker_cpu0
                broker_rss = _proc_rss_mib(broker_pids)
            finally:
                if orderer.poll() is None:
                    orderer.send_signal(signal.SIGTERM)
            ord_code, ord_cpu, ord_rss = _wait_rusage(orderer, 60)
        if peer_code not in (0, 1):
            raise RunFailed(f"peer-sim exited {peer_code}; see {run_dir}/peer-sim.log")
        if ord_code != 0:
            raise RunFailed(f"orderer exited {ord_code}; see {run_dir}/orderer.log")

        r = json.load(open(e2e_json))
        m = json.load(open(metrics))
        lat = r["latency_ms"]["e2e"]
        rec.update({
            "submitted": r["submitted"], "delivered": r["delivered"], "lost": r["lost"],
            "duplicates": r["duplicates"], "failed": r["failed"], "clean": r["clean"],
            "window_s": r["seconds"]["run"],
            "tps": r["tps"]["delivered"], "ack_tps": r["tps"]["acked"],
            "p50_ms": lat["p50"], "p95_ms": lat["p95"], "p99_ms": lat["p99"], "p999_ms": lat["p999"],
            "max_ms": lat["max"], "mean_ms": lat["mean"],
            "ack_p50_ms": r["latency_ms"]["ack"]["p50"], "ack_p99_ms": r["latency_ms"]["ack"]["p99"],
            "blocks": m["blocks_written"], "txs_per_block": (m["txs_ordered"] / m["blocks_written"]) if m["blocks_written"] else 0,
            "blocks_per_s": m["blocks_written"] / wall if wall > 0 else 0,
            "block_cut_ms": m.get("mean_block_cut_latency_ms", 0),
            "rejected": m["rejected_total"],
            "orderer_cpu_s": ord_cpu, "orderer_rss_mib": ord_rss,
            "peersim_cpu_s": peer_cpu, "peersim_rss_mib": peer_rss,
            "broker_cpu_s": broker_cpu if broker_pids else None,
            "broker_rss_mib": broker_rss if broker_pids else None,
            "wall_s": wall,
        })
        if cfg["raw_baseline"]:
            rec["efficiency"] = rec["tps"] / rec["raw_ack_tps"] if rec["raw_ack_tps"] else None

        # 3. The chain must verify (hashes and links; signatures were checked
        # by the orderer on the way in).
        v = subprocess.run([self.bin["ledger"], "--path", ledger, "verify", "--json"], capture_output=True, text=True)
        rec["ledger_verified"] = v.returncode == 0
        if v.returncode != 0:
            raise RunFailed(f"ledger of run {run_id} does not verify: {v.stdout.strip()}")
        # Keep the evidence, not the bulk: ledgers are large and reproducible.
        subprocess.run(["rm", "-rf", ledger])
        return rec
