"""The Kafka backend's part of a study: its brokers (started, pinned and
restarted with a profile's broker settings), its orderer, channel topics,
and the librdkafka -> Java name mapping for Kafka's own producer benchmark.

A driver file (bench/drivers/<name>.yaml) says how many brokers to run;
another backend gets a module like this one beside it and the same runner."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import yaml

from benchlib import placement
from benchlib.record import read_json, read_text

DRIVER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "drivers")
KAFKA_PORT = 39092


class DriverError(RuntimeError):
    pass


def load_driver(name_or_path):
    path = name_or_path if os.path.isfile(name_or_path) else os.path.join(DRIVER_DIR, f"{name_or_path}.yaml")
    if not os.path.isfile(path):
        known = sorted(f[:-5] for f in os.listdir(DRIVER_DIR) if f.endswith(".yaml"))
        raise DriverError(f"no driver '{name_or_path}' (known: {', '.join(known)})")
    with open(path) as f:
        d = yaml.safe_load(f) or {}
    if d.get("backend") != "kafka":
        raise DriverError(f"{path}: backend must be 'kafka' (the only backend so far)")
    n = d.get("brokers")
    if n not in (1, 3):
        raise DriverError(f"{path}: brokers must be 1 or 3")
    d.setdefault("name", os.path.basename(path)[:-5])
    d.setdefault("broker", {})
    return d


# librdkafka producer property -> (Java producer property, value mapping).
JAVA_NAMES = {
    "acks": ("acks", str), "request.required.acks": ("acks", str),
    "enable.idempotence": ("enable.idempotence", str),
    "batch.size": ("batch.size", str),
    "linger.ms": ("linger.ms", str), "queue.buffering.max.ms": ("linger.ms", str),
    "compression.type": ("compression.type", str), "compression.codec": ("compression.type", str),
    "queue.buffering.max.kbytes": ("buffer.memory", lambda v: str(int(v) * 1024)),
    "max.in.flight.requests.per.connection": ("max.in.flight.requests.per.connection", str),
    "max.in.flight": ("max.in.flight.requests.per.connection", str),
    "message.timeout.ms": ("delivery.timeout.ms", str), "delivery.timeout.ms": ("delivery.timeout.ms", str),
    "request.timeout.ms": ("request.timeout.ms", str),
    "retries": ("retries", str), "message.send.max.retries": ("retries", str),
    "retry.backoff.ms": ("retry.backoff.ms", str),
}


def java_producer_props(props):
    """(Java properties, names that have no Java equivalent)."""
    out, unmapped = {}, []
    for k, v in props.items():
        if k in JAVA_NAMES:
            name, conv = JAVA_NAMES[k]
            out[name] = conv(v)
        else:
            unmapped.append(k)
    return out, unmapped


PP_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99.9th")


def parse_pp(text):
    """The final summary line of ProducerPerformance, or None."""
    last = None
    for m in PP_SUMMARY.finditer(text):
        last = m
    if not last:
        return None
    g = last.groupdict()
    return {"records": int(g["records"]), "records_per_s": float(g["rps"]), "mb_per_s": float(g["mbps"]),
            "avg_ms": float(g["avg"]), "max_ms": float(g["max"]), "p50_ms": float(g["p50"]),
            "p95_ms": float(g["p95"]), "p99_ms": float(g["p99"]), "p999_ms": float(g["p999"])}


class Brokers:
    """The study's brokers: started here (`own`) with scripts/kafka, pinned
    to the brokers' CPU set, and restarted (wiped) whenever a cell needs
    other broker settings; or running ones given by address (`external`),
    whose settings cannot change."""

    def __init__(self, root, count, cpus, out_dir, bootstrap=None, broker_dir=None, driver_broker=None, log=print):
        self.root, self.count, self.cpus, self.log = root, count, cpus, log
        self.external = bootstrap is not None
        self.bootstrap = bootstrap
        self.dir = broker_dir if self.external else os.path.join(out_dir, "kafka")
        self.driver_broker = dict(driver_broker or {})
        self.settings = None      # the broker settings running now (own brokers)
        self.restarts = 0

    def pids(self):
        out = []
        if not self.dir:
            return out
        for i in range(1, 4):
            try:
                with open(os.path.join(self.dir, f"node{i}", "pid")) as f:
                    pid = int(f.read().strip())
                if os.path.exists(f"/proc/{pid}"):
                    out.append(pid)
            except (OSError, ValueError):
                pass
        return out

    def ensure(self, settings):
        """Brokers running with `settings` (the driver's broker settings with
        the cell's on top). Returns True when they were (re)started."""
        want = dict(self.driver_broker, **settings)
        if self.external:
            if settings:
                raise DriverError(f"cells need broker settings {settings}, but the brokers at {self.bootstrap} "
                                  "were started elsewhere: use --kafka so the suite can restart them")
            if self.cpus and self.settings is None:
                for pid in self.pids():
                    placement.pin_running(pid, self.cpus)
            self.settings = want
            return False
        if self.settings == want and self.pids():
            return False
        if self.settings is not None:
            self.log(f"restarting the broker(s) with {want or 'the default settings'}")
            self.stop()
        self._start(want)
        self.restarts += 1
        return True

    def _start(self, settings):
        args = [os.path.join(self.root, "scripts", "kafka"), "start", "--brokers", str(self.count),
                "--port", str(KAFKA_PORT), "--dir", self.dir]
        if self.cpus:
            args += ["--cpus", placement.cpu_list(self.cpus)]
        if settings:
            os.makedirs(self.dir, exist_ok=True)
            path = os.path.join(os.path.dirname(self.dir), "broker-settings.properties")
            with open(path, "w") as f:
                f.write("# broker settings of the current cell (bench)\n")
                for k, v in sorted(settings.items()):
                    f.write(f"{k}={v}\n")
            args += ["--config", path]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            raise DriverError(f"the broker(s) did not start:\n{p.stderr.strip()}")
        self.bootstrap = p.stdout.strip().split("=", 1)[1]
        self.settings = settings

    def stop(self):
        if not self.external:
            subprocess.run([os.path.join(self.root, "scripts", "kafka"), "wipe", "--dir", self.dir],
                           capture_output=True)
            self.settings = None


class Orderer:
    """One orderer process on a fresh channel and ledger, pinned."""

    def __init__(self, binary, bootstrap, channel, run_dir, block, cpus, log_name="orderer.log"):
        self.binary, self.bootstrap, self.channel = binary, bootstrap, channel
        self.run_dir, self.block, self.cpus = run_dir, block, cpus
        self.ledger = os.path.join(run_dir, "ledger")
        self.metrics = os.path.join(run_dir, "orderer-metrics.json")
        self.log_path = os.path.join(run_dir, log_name)
        self.proc = None
        self.port = None

    def start(self, timeout_s=60):
        ready = os.path.join(self.run_dir, "orderer.port")
        workers = len(self.cpus) if self.cpus else 0
        args = placement.taskset(self.cpus) + [
            self.binary, "--brokers", self.bootstrap, "--channel", self.channel, "--ledger-dir", self.ledger,
            "--listen", "127.0.0.1:0", "--ready-file", ready, "--metrics-file", self.metrics,
            "--summary-interval", "1s", "--verify-workers", str(workers),
            "--max-message-count", str(self.block["max_message_count"]),
            "--batch-timeout", str(self.block["batch_timeout"]),
            "--preferred-max-bytes", str(self.block["preferred_max_bytes"])]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not (os.path.exists(ready) and read_text(ready).strip()):
            if self.proc.poll() is not None:
                raise DriverError(f"orderer exited {self.proc.returncode} at start; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise DriverError(f"orderer not ready in {timeout_s} s; see {self.log_path}")
            time.sleep(0.05)
        self.port = int(read_text(ready).strip())
        return self

    def address(self):
        return f"127.0.0.1:{self.port}"

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def counters(self):
        try:
            return read_json(self.metrics)
        except (OSError, ValueError):
            return {}

    def rss_mib(self):
        return placement.proc_rss_peak_mib(self.proc.pid) if self.proc else None

    def stop(self):
        """Stops it (SIGTERM, then SIGKILL after 60 s); its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def verify(self, ledger_bin):
        """(verified, message) from `ledger verify`; removes the ledger
        afterwards (large, and reproducible)."""
        v = subprocess.run([ledger_bin, "--path", self.ledger, "verify", "--json"], capture_output=True, text=True)
        shutil.rmtree(self.ledger, ignore_errors=True)
        return v.returncode == 0, (v.stdout.strip() or v.stderr.strip())[-2000:]


def delete_topics(binary, bootstrap, topics):
    p = subprocess.run([binary, "--brokers", bootstrap, "--timeout-ms", "10000"] + list(topics),
                       capture_output=True, text=True)
    return p.returncode == 0, p.stderr.strip()


def create_topic(root, bootstrap, topic, replication):
    """Creates a one-partition topic with Kafka's own admin tool (the
    brokers do not auto-create topics)."""
    p = subprocess.run([os.path.join(root, "scripts", "kafka"), "create-topic", "--bootstrap", bootstrap,
                        "--topic", topic, "--replication-factor", str(replication)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise DriverError(f"could not create topic {topic}: {p.stderr.strip()}")


def temp_properties(props):
    fd, path = tempfile.mkstemp(suffix=".properties")
    with os.fdopen(fd, "w") as f:
        for k, v in props.items():
            f.write(f"{k}={v}\n")
    return path
