"""The ordering service a study measures, behind one interface per backend.

A service runs one cell's channel on fresh ledgers: `start()`, the address
peers submit to and read blocks from (`address()`), the processes of each
role for the CPU sampler (`role_pids()`), the counters of the node that
cuts blocks, `stop()` and `verify()` (every node's chain verifies; with
several nodes, they hold the same chain) and `export()` (every node's chain
as JSON lines, for the acknowledgement check). A service that can lose its
leader says so (`can_kill()`), kills it (`kill_leader()`: the Raft leader,
the broker leading the partition, or with the cell's recovery target
`orderer` the Kafka orderer the peers use first), and for the run that
measures the recovery names the address(es) peers should use so that their
streams survive the kill (`survivor_address()`).

Roles, placed like machines (benchlib.placement):
  orderer   the node that cuts blocks: solo's node, the Kafka orderer (with
            several on one partition, all of them), the Raft leader; alone
            on the orderer CPU set
  broker    Kafka's brokers (the Kafka backend's replication)
  replicas  Raft's followers (the Raft backend's replication), on the
            brokers' CPU set
  peers     the load generator
Raft's leader is found after the election and re-checked before each run;
if leadership moved, the processes are re-pinned and the run says so."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

from benchlib import metrics, placement
from benchlib.drivers import DriverError
from benchlib.record import read_json, read_text


def stop_with_parent():
    """In a child before exec: SIGTERM when the process that started it
    dies (Linux's PR_SET_PDEATHSIG), so a child in a session of its own
    does not outlive a bench that was killed."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # 1: PR_SET_PDEATHSIG


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OrdererProcess:
    """One orderer process on a channel and ledger of its own, pinned.
    `prefix` runs it under another command (a network namespace's
    `ip netns exec NAME`). `own_session`: in a session of its own, so a
    Ctrl-C at the terminal reaches only the bench, which stops it in turn
    (and stopped when the bench dies, however it dies)."""

    def __init__(self, binary, channel, run_dir, block, cpus, consensus_args, name="orderer",
                 listen="127.0.0.1:0", prefix=None, own_session=False):
        self.binary, self.channel, self.run_dir, self.block = binary, channel, run_dir, block
        self.own_session = own_session
        self.cpus, self.consensus_args, self.name, self.listen = cpus, list(consensus_args), name, listen
        self.prefix = list(prefix or [])
        suffix = "" if name == "orderer" else f"-{name}"
        self.ledger = os.path.join(run_dir, "ledger" + suffix)
        self.metrics = os.path.join(run_dir, f"orderer{suffix}-metrics.json")
        self.log_path = os.path.join(run_dir, f"orderer{suffix}.log")
        self.ready = os.path.join(run_dir, f"orderer{suffix}.port")
        self.proc = None
        self.port = None
        self.metrics_port = None
        self.killed = False

    def launch(self):
        if os.path.exists(self.ready):
            os.remove(self.ready)
        args = self.prefix + placement.taskset(self.cpus) + [
            self.binary, "--channel", self.channel, "--ledger-dir", self.ledger,
            "--listen", self.listen, "--ready-file", self.ready, "--metrics-file", self.metrics,
            "--summary-interval", "1s", "--metrics-listen", "127.0.0.1:0",
            "--max-message-count", str(self.block["max_message_count"]),
            "--batch-timeout", str(self.block["batch_timeout"]),
            "--preferred-max-bytes", str(self.block["preferred_max_bytes"])] + self.consensus_args
        # A restart (a crash campaign's) appends to the first start's log.
        self._log = open(self.log_path, "a" if self.proc is not None else "w")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=self.own_session,
                                     preexec_fn=stop_with_parent if self.own_session else None)
        return self

    def wait_ready(self, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        while not (os.path.exists(self.ready) and read_text(self.ready).strip()):
            if self.proc.poll() is not None:
                raise DriverError(f"{self.name} exited {self.proc.returncode} at start; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise DriverError(f"{self.name} not ready in {timeout_s} s; see {self.log_path}")
            time.sleep(0.05)
        self.port = int(read_text(self.ready).strip())
        # Its /metrics port, from the line it logs before it is ready.
        self.metrics_port = metrics.port_from_log(read_text(self.log_path))
        return self

    def start(self, timeout_s=60):
        return self.launch().wait_ready(timeout_s)

    def address(self):
        host = self.listen.rsplit(":", 1)[0]
        return f"{host if host not in ('', '0.0.0.0') else '127.0.0.1'}:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}/metrics" if self.metrics_port and self.alive() else None

    def pids(self):
        return [self.proc.pid] if self.alive() else []

    def counters(self):
        try:
            return read_json(self.metrics)
        except (OSError, ValueError):
            return {}

    def rss_mib(self):
        return placement.proc_rss_peak_mib(self.proc.pid) if self.proc else None

    def kill(self):
        """SIGKILL: a crash, as a recovery run wants it."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()
            self.killed = True

    def stop(self):
        """Stops it (SIGTERM, then SIGKILL after 60 s); its exit code (None
        if a recovery run killed it on purpose)."""
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
        return None if self.killed else self.proc.returncode

    def export(self, ledger_bin, path):
        """Writes this node's chain as JSON lines (`ledger export`, read-only:
        the node may be running, or killed) to `path`; (ok, message)."""
        with open(path, "w") as f:
            p = subprocess.run([ledger_bin, "--path", self.ledger, "export"], stdout=f, stderr=subprocess.PIPE,
                               text=True)
        return p.returncode == 0, p.stderr.strip()[-500:]

    def block_hash(self, ledger_bin, number):
        """Block `number`'s hash in this node's ledger (`ledger show`), or None."""
        p = subprocess.run([ledger_bin, "--path", self.ledger, "show", str(number), "--json"], capture_output=True,
                           text=True)
        try:
            return json.loads(p.stdout).get("hash") if p.returncode == 0 else None
        except ValueError:
            return None

    def remove_ledger(self):
        """Removes the ledger and Raft log (large, and reproducible)."""
        shutil.rmtree(self.ledger, ignore_errors=True)
        shutil.rmtree(self.ledger + ".raft", ignore_errors=True)

    def verify(self, ledger_bin, remove=True):
        """(verified, message, head) from `ledger verify --json`; removes the
        ledger afterwards (large, and reproducible)."""
        v = subprocess.run([ledger_bin, "--path", self.ledger, "verify", "--json"], capture_output=True, text=True)
        head = None
        i = subprocess.run([ledger_bin, "--path", self.ledger, "info", "--json"], capture_output=True, text=True)
        try:
            j = json.loads(i.stdout)
            head = (j.get("height"), j.get("last_hash"))
        except ValueError:
            pass
        if remove:
            self.remove_ledger()
        return v.returncode == 0, (v.stdout.strip() or v.stderr.strip())[-2000:], head


class Service:
    """One backend's ordering service for one cell."""
    backend = None

    def __init__(self, bins, channel, run_dir, eff, roles_cpus, driver):
        self.bins, self.channel, self.run_dir, self.eff = bins, channel, run_dir, eff
        self.roles_cpus, self.driver = roles_cpus, driver
        self.block = eff["block"]
        self.nodes = []
        # Where a single node listens (a crash campaign fixes the port, so
        # clients find a restarted node again) and flags every node gets.
        self.listen = "127.0.0.1:0"
        self.extra_args = ["--ack", driver.get("ack", "durable")]
        self.own_session = False  # OrdererProcess.own_session for every node

    # The node that cuts blocks.
    def main(self):
        return self.nodes[0]

    def start(self):
        raise NotImplementedError

    def address(self):
        return self.main().address()

    def refresh(self):
        """Before each run: re-checks who leads (raft). Returns a note, or None."""
        return None

    def role_pids(self):
        return {"orderer": self.main().pids}

    def counters(self):
        return self.main().counters()

    def metrics_url(self):
        """The /metrics of the node that cuts blocks now (None if down)."""
        return self.main().metrics_url()

    def rss_mib(self):
        return self.main().rss_mib()

    def can_kill(self):
        return False

    def recovery_target(self):
        """What a recovery run kills: the cell's `recovery.target`, else the leader."""
        return self.eff.get("recovery_target") or "leader"

    def survivor_address(self):
        return self.address()

    def kill_leader(self):
        raise DriverError(f"{self.backend}: nothing to kill")

    def started(self):
        return any(n.proc is not None for n in self.nodes)

    def stop(self):
        """Stops every node; the first non-zero exit code (None: all clean
        or killed on purpose)."""
        code = None
        for n in self.nodes:
            c = n.stop()
            if c not in (0, None) and code in (0, None):
                code = c
        return code

    def verify(self, ledger_bin):
        """(verified, message): every started node's chain verifies; with
        several nodes each one's chain is the longest one's as far as it
        goes (nodes stopped one after another may stand a block apart: a Raft
        follower learns of a commit with the leader's next heartbeat, 500 ms
        at Fabric's defaults); a node killed on purpose is not compared."""
        heads, msgs = [], []
        ok = True
        started = [n for n in self.nodes if n.proc is not None]
        try:
            for n in started:
                good, msg, head = n.verify(ledger_bin, remove=False)
                ok &= good
                msgs.append(f"{n.name}: {msg}" if len(self.nodes) > 1 else msg)
                if not n.killed and head:
                    heads.append((n, head))
            if ok and len({h for _, h in heads}) > 1:
                longest, (top, top_hash) = max(heads, key=lambda x: x[1][0] or 0)
                differ = [n for n, (height, last) in heads
                          if (last != top_hash if height == top else longest.block_hash(ledger_bin, height - 1) != last)]
                if differ:
                    ok = False
                    msgs.append("the nodes' chains differ: " + ", ".join(f"{n.name} height {h[0]} head {h[1]}"
                                                                          for n, h in heads))
        finally:
            for n in started:
                n.remove_ledger()
        return ok, "\n".join(msgs)[-2000:]

    def export(self, ledger_bin, out_dir, prefix):
        """Every started node's chain as JSON lines in out_dir:
        ({node name: path}, [problems])."""
        paths, problems = {}, []
        for n in self.nodes:
            if n.proc is None:
                continue
            path = os.path.join(out_dir, f"{prefix}-{n.name}.jsonl")
            ok, msg = n.export(ledger_bin, path)
            if ok:
                paths[n.name] = path
            else:
                problems.append(f"{n.name}: ledger export failed: {msg}")
        return paths, problems


class SoloService(Service):
    backend = "solo"

    def start(self):
        self.nodes = [OrdererProcess(self.bins["orderer"], self.channel, self.run_dir, self.block,
                                     self.roles_cpus["orderer"], ["--consensus", "solo"] + self.extra_args,
                                     listen=self.listen, own_session=self.own_session).start()]
        return self


class KafkaService(Service):
    """The Kafka orderer(s) on the study's brokers: the driver's `orderers`
    processes on the channel's partition, each with its own ledger, all on
    the orderer CPU set; peers get every address, the first first. With
    submit: broadcast they produce the peers' envelopes, with the cell's
    producer settings; their consumers take the cell's consumer settings."""
    backend = "kafka"

    def __init__(self, bins, channel, run_dir, eff, roles_cpus, driver, brokers):
        super().__init__(bins, channel, run_dir, eff, roles_cpus, driver)
        self.brokers = brokers
        self.killed_broker = None

    def start(self):
        # Signature checks on as many threads as the orderer has CPUs.
        cpus = self.roles_cpus["orderer"]
        args = ["--consensus", "kafka", "--brokers", self.brokers.bootstrap,
                "--verify-workers", str(len(cpus) if cpus else 0)]
        if self.driver["brokers"] > 1:
            args += ["--replication-factor", str(self.driver["brokers"])]
        args += ["--topic-writers", self.driver.get("topic_writers", "anyone")]
        if self.driver["submit"] == "broadcast":
            for k, v in sorted(self.eff["producer"].items()):
                args += ["--producer-prop", f"{k}={v}"]
        for k, v in sorted((self.eff.get("consumer") or {}).items()):
            args += ["--consumer-prop", f"{k}={v}"]
        count = self.driver.get("orderers", 1)
        # The first keeps the single orderer's file names (orderer.log, ledger).
        self.nodes = [OrdererProcess(self.bins["orderer"], self.channel, self.run_dir, self.block,
                                     self.roles_cpus["orderer"], args + self.extra_args,
                                     name="orderer" if i == 1 else f"orderer{i}", listen=self.listen,
                                     own_session=self.own_session)
                      for i in range(1, count + 1)]
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.wait_ready()
        return self

    def main(self):
        """The orderer the peers use: the first that is alive."""
        return next((n for n in self.nodes if n.alive()), self.nodes[0])

    def address(self):
        """Every orderer's address, the first first (peer-sim fails over along them)."""
        return ",".join(n.address() for n in self.nodes if n.port)

    def role_pids(self):
        return {"orderer": lambda: [p for n in self.nodes for p in n.pids()], "broker": self.brokers.pids}

    def can_kill(self):
        if self.recovery_target() == "orderer":
            return len(self.nodes) > 1
        return self.driver["brokers"] > 1

    def kill_leader(self):
        """Kills (SIGKILL) the broker that leads the channel's partition, or
        (recovery target orderer) the orderer the peers use first."""
        if self.recovery_target() == "orderer":
            victim = self.nodes[0]
            victim.kill()
            return f"{victim.name} (the orderer the peers use first)"
        node, pid = self.brokers.leader_pid(self.channel)
        os.kill(pid, signal.SIGKILL)
        self.killed_broker = node
        return f"broker {node} (the partition's leader)"


class RaftService(Service):
    """`nodes` raft orderers on loopback. The leader is the orderer role
    (on the orderer CPU set); the followers are the replicas (on the
    brokers' CPU set, as Kafka's replicas are its brokers). Peers talk to
    the leader, except in a recovery run (to a follower that survives)."""
    backend = "raft"

    def start(self):
        n = self.driver["nodes"]
        raft = dict(self.driver.get("raft") or {}, **(self.eff.get("raft") or {}))
        members = []
        for i in range(1, n + 1):
            members.append((i, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"))
        common = ["--consensus", "raft"] + self.extra_args
        for i, rp, bp in members:
            common += ["--raft-node", f"{i},{rp},{bp}"]
        if raft.get("heartbeat_ms"):
            common += ["--raft-heartbeat", str(raft["heartbeat_ms"])]
        if raft.get("election_timeout_ms"):
            common += ["--raft-election-timeout", str(raft["election_timeout_ms"])]
        # All start on the orderer set; once a leader is known, followers move.
        self.nodes = [OrdererProcess(self.bins["orderer"], self.channel, self.run_dir, self.block,
                                     self.roles_cpus["orderer"], common + ["--raft-id", str(i)],
                                     name=f"node{i}", listen=bp, own_session=self.own_session)
                      for i, _, bp in members]
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.wait_ready()
        self.leader = None
        self._find_leader(timeout_s=30)
        return self

    def _leader_now(self):
        for node in self.nodes:
            if node.alive() and (node.counters().get("consenter") or {}).get("raft_is_leader") == 1:
                return node
        return None

    def _find_leader(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        while True:
            node = self._leader_now()
            if node is not None:
                break
            if time.monotonic() > deadline:
                raise DriverError(f"raft: no leader among {len(self.nodes)} nodes within {timeout_s} s; "
                                  f"see {self.run_dir}/orderer-node*.log")
            time.sleep(0.2)
        moved = self.leader is not None and node is not self.leader
        old = self.leader
        self.leader = node
        self._pin()
        return f"raft leadership moved from {old.name} to {node.name}" if moved else None

    def _pin(self):
        for node in self.nodes:
            if not node.alive():
                continue
            cpus = self.roles_cpus["orderer"] if node is self.leader else self.roles_cpus["broker"]
            if cpus:
                placement.pin_running(node.proc.pid, cpus)

    def refresh(self):
        return self._find_leader(timeout_s=30)

    def main(self):
        return self.leader or self.nodes[0]

    def followers(self):
        return [n for n in self.nodes if n is not self.main() and n.alive()]

    def role_pids(self):
        return {"orderer": self.main().pids,
                "replicas": lambda: [p for n in self.followers() for p in n.pids()]}

    def can_kill(self):
        return True

    def survivor_address(self):
        return self.followers()[0].address()

    def kill_leader(self):
        victim = self.main()
        victim.kill()
        return f"{victim.name} (the raft leader)"

    def after_kill(self, timeout_s=30):
        """The new leader, once elected, moved onto the orderer's CPU set (the
        killed leader's: in a deployment every node has a machine of its
        own, and the new leader would not share one with the peers)."""
        self._find_leader(timeout_s)
        return self.leader.name


def make(driver, bins, channel, run_dir, eff, roles_cpus, brokers=None):
    b = driver["backend"]
    if b == "solo":
        return SoloService(bins, channel, run_dir, eff, roles_cpus, driver)
    if b == "kafka":
        return KafkaService(bins, channel, run_dir, eff, roles_cpus, driver, brokers)
    if b == "raft":
        return RaftService(bins, channel, run_dir, eff, roles_cpus, driver)
    raise DriverError(f"unknown backend {b}")
