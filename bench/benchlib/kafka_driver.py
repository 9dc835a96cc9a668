"""The Kafka backend's part of a study: its brokers (started, pinned and
restarted with a profile's broker settings), its orderer, channel topics,
and the librdkafka -> Java name mapping for Kafka's own producer benchmark.

A driver file (bench/drivers/<name>.yaml, benchlib.drivers) says how many
brokers to run; benchlib.services wraps this backend's orderer, and the
solo and raft backends', behind one interface for the study."""
import os
import re
import subprocess
import tempfile

from benchlib import placement
from benchlib.drivers import DRIVER_DIR, DriverError, load_driver  # noqa: F401 (re-exported)

KAFKA_PORT = 39092


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

    def __init__(self, root, count, cpus, out_dir, bootstrap=None, broker_dir=None, driver_broker=None, log=print,
                 port=KAFKA_PORT):
        self.root, self.count, self.cpus, self.log = root, count, cpus, log
        self.port = port          # the first broker's; the others' follow it (scripts/kafka)
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

    def ensure(self, settings, count=None, driver_broker=None):
        """Brokers running with `settings` (the driver's broker settings with
        the cell's on top), `count` of them (default: as constructed).
        Returns True when they were (re)started. A broker killed by a
        recovery run, or another count, restarts them all (wiped)."""
        if driver_broker is not None:
            self.driver_broker = dict(driver_broker)
        want = dict(self.driver_broker, **settings)
        if count is not None and count != self.count:
            if self.external:
                raise DriverError(f"a cell needs {count} broker(s), but the {self.count} at {self.bootstrap} "
                                  "were started elsewhere")
            if self.settings is not None or self.pids():
                self.log(f"restarting with {count} broker(s) instead of {self.count}")
                self.stop()
            self.count = count
        if self.external:
            if settings:
                raise DriverError(f"cells need broker settings {settings}, but the brokers at {self.bootstrap} "
                                  "were started elsewhere: use --kafka so the suite can restart them")
            if self.cpus and self.settings is None:
                for pid in self.pids():
                    placement.pin_running(pid, self.cpus)
            self.settings = want
            return False
        if self.settings == want and len(self.pids()) == self.count:
            return False
        if self.settings is not None:
            self.log(f"restarting the broker(s) with {want or 'the default settings'}")
            self.stop()
        self._start(want)
        self.restarts += 1
        return True

    def _start(self, settings):
        args = [os.path.join(self.root, "scripts", "kafka"), "start", "--brokers", str(self.count),
                "--port", str(self.port), "--dir", self.dir]
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

    def running(self):
        return bool(self.pids())

    def leader_pid(self, topic):
        """(node id, pid) of the broker leading `topic`'s partition 0."""
        p = subprocess.run([os.path.join(self.root, "scripts", "kafka"), "leader", "--bootstrap", self.bootstrap,
                            "--topic", topic], capture_output=True, text=True)
        if p.returncode != 0:
            raise DriverError(f"no leader for {topic}: {p.stderr.strip()}")
        node = int(p.stdout.strip())
        with open(os.path.join(self.dir, f"node{node}", "pid")) as f:
            return node, int(f.read().strip())

    def stop(self):
        if not self.external:
            subprocess.run([os.path.join(self.root, "scripts", "kafka"), "wipe", "--dir", self.dir],
                           capture_output=True)
            self.settings = None


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
