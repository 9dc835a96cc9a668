"""Crash campaigns: kill -9 parts of a running ordering service, again and
again, under open-loop load, and prove afterwards, from data alone
(benchlib.ack_check), that nothing acknowledged was lost or doubled.

One campaign = one driver (solo, kafka-N[-broadcast], raft-N), one target,
N kills. The service runs on fixed ports so clients find a restarted node;
peer-sim submits through Broadcast for the whole campaign (its streams
reconnect) and logs every answer (--ack-log). The schedule is drawn from
the seed before the campaign starts: after each restart is ready, wait a
uniform gap, kill, stay down a uniform time, restart. Targets:
  orderer      the only orderer (solo, kafka)
  leader       the Raft leader           follower   one Raft follower
  followers-2  two Raft followers at once (no majority while down)
  all          every orderer node at once
  broker-leader  the broker leading the channel's partition (kafka, 3 brokers)
  brokers-2    two of three brokers (the partition leader and another)
  broker       the only broker (kafka, 1 broker)
  peer-sim     the client itself (its in-flight transactions are unanswered)
What it writes to the campaign folder: campaign.json (settings, every
kill, the checker's verdict), the processes' logs, the ack logs and the
ledger exports (the raw data; only campaign.json is a summary)."""
import json
import os
import random
import shutil
import signal
import subprocess
import time

from benchlib import ack_check, kafka_driver, placement, services
from benchlib.drivers import DriverError
from benchlib.record import read_jsonl

TARGETS = {
    "solo": ("orderer",),
    "kafka": ("orderer", "broker-leader", "brokers-2", "broker", "peer-sim"),
    "raft": ("leader", "follower", "followers-2", "all", "peer-sim"),
}
BLOCK = {"max_message_count": 100, "batch_timeout": "500ms", "preferred_max_bytes": "2MB"}
TAIL_S = 5.0  # load after the last restart, before peer-sim is told to stop


parse_ack_line = ack_check.parse_ack_line  # the one parser of the format


class Campaign:
    def __init__(self, root, build, out, driver, target, kills, rate, seed, gap_s=(2.0, 5.0), down_s=(0.3, 2.0),
                 ack="durable", cpus=None, log=print):
        backend = driver["backend"]
        if target not in TARGETS[backend]:
            raise DriverError(f"target '{target}' does not apply to {backend} (it has: {', '.join(TARGETS[backend])})")
        if target in ("broker-leader", "brokers-2") and driver["brokers"] < 3:
            raise DriverError(f"target '{target}' needs three brokers (a kafka-3 driver)")
        if target == "broker" and driver["brokers"] != 1:
            raise DriverError("target 'broker' is the only broker: use a kafka-1 driver")
        if driver.get("orderers", 1) > 1:
            raise DriverError(f"driver {driver['name']}: a campaign runs one Kafka orderer (its restarts keep a fixed "
                              "port); several orderers on one partition are measured by a study's recovery runs")
        self.root, self.out, self.driver, self.target = root, out, dict(driver, ack=ack), target
        self.kills, self.rate, self.ack, self.log = kills, rate, ack, log
        self.seed = seed
        rng = random.Random(seed)
        self.schedule = [(rng.uniform(*gap_s), rng.uniform(*down_s)) for _ in range(kills)]
        self.pick = random.Random(seed + 1)  # which follower, which second broker
        self.bin = {n: os.path.join(build, *p) for n, p in {
            "orderer": ("orderer", "orderer"), "peer-sim": ("peer-sim", "peer-sim"),
            "ledger": ("tools", "ledger")}.items()}
        self.roles_cpus = placement.plan("shared", cpus)
        self.channel = f"campaign-{target}-{seed}"
        self.events = []
        self.peer_sims = []

    # --- the parts

    def _brokers(self):
        if self.driver["backend"] != "kafka":
            return None
        return kafka_driver.Brokers(self.root, self.driver["brokers"], [], self.out, log=self.log)

    def _start_service(self, brokers):
        eff = {"block": BLOCK, "producer": {}}
        s = services.make(self.driver, self.bin, self.channel, self.out, eff, self.roles_cpus, brokers)
        s.listen = f"127.0.0.1:{services.free_port()}"
        return s.start()

    def _peer_sim(self, address):
        i = len(self.peer_sims)
        ack_log = os.path.join(self.out, f"acks-{i}.log")
        args = [self.bin["peer-sim"], "--submit", "broadcast", "--orderer", address, "--channel", self.channel,
                "--peers", "3", "--rate", str(self.rate), "--duration", "24h", "--sign-inline",
                "--drain-timeout", "15s", "--json", os.path.join(self.out, f"peer-sim-{i}.json"),
                "--ack-log", ack_log, "--quiet"]
        logf = open(os.path.join(self.out, f"peer-sim-{i}.log"), "w")
        p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
        self.peer_sims.append({"proc": p, "log": logf, "ack_log": ack_log})
        return p

    # --- one kill

    def _victims(self, service, brokers):
        """What the target names now: [('node', OrdererProcess)] or
        [('broker', node id)] or [('peer-sim', None)]."""
        t = self.target
        if t in ("orderer", "leader"):
            if hasattr(service, "_find_leader"):
                service._find_leader(timeout_s=30)
            return [("node", service.main())]
        if t in ("follower", "followers-2"):
            service._find_leader(timeout_s=30)
            followers = [n for n in service.nodes if n is not service.main()]
            return [("node", n) for n in self.pick.sample(followers, 1 if t == "follower" else 2)]
        if t == "all":
            return [("node", n) for n in service.nodes]
        if t == "peer-sim":
            return [("peer-sim", None)]
        leader, _ = brokers.leader_pid(self.channel) if t != "broker" else (1, None)
        ids = [leader]
        if t == "brokers-2":
            ids.append(self.pick.choice([i for i in (1, 2, 3) if i != leader]))
        return [("broker", i) for i in ids]

    def _kill(self, victims, brokers):
        for kind, v in victims:
            if kind == "node":
                v.kill()
            elif kind == "broker":
                with open(os.path.join(brokers.dir, f"node{v}", "pid")) as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid)
            else:
                p = self.peer_sims[-1]["proc"]
                p.kill()
                p.wait()

    def _restart(self, victims, brokers, address):
        nodes = [v for kind, v in victims if kind == "node"]
        for n in nodes:
            n.killed = False
            n.launch()
        for n in nodes:
            n.wait_ready(timeout_s=90)
        if any(kind == "broker" for kind, _ in victims):
            brokers.restarts += 1
            brokers._start(brokers.settings or {})  # starts the missing broker(s), waits until all serve
        if any(kind == "peer-sim" for kind, _ in victims):
            self._peer_sim(address)

    # --- the campaign

    def run(self):
        # The folder holds one run's raw data: a ledger left by an earlier run
        # into the same folder would be resumed against fresh brokers.
        if os.path.isdir(self.out) and os.listdir(self.out):
            self.log(f"  {self.out} holds an earlier run's raw data: replaced")
            shutil.rmtree(self.out)
        os.makedirs(self.out, exist_ok=True)
        brokers = self._brokers()
        service = None
        try:
            if brokers is not None:
                brokers.ensure({})  # inside: a start that fails part way is wiped too
            service = self._start_service(brokers)
            address = service.nodes[0].address()
            # peer-sim runs until told to stop (SIGTERM: it stops submitting
            # and drains what is owed), however long the restarts take.
            t0 = time.monotonic()
            self._peer_sim(address)
            for k, (gap, down) in enumerate(self.schedule, 1):
                time.sleep(gap)
                if self.peer_sims[-1]["proc"].poll() is not None:
                    raise DriverError(f"peer-sim ended before kill {k}; see {self.out}/peer-sim-*.log")
                gone = [n.name for n in service.nodes if not n.alive()]
                if gone:
                    raise DriverError(f"{', '.join(gone)} exited on its own before kill {k}; see {self.out}")
                victims = self._victims(service, brokers)
                t_kill = time.monotonic()
                self._kill(victims, brokers)
                time.sleep(down)
                self._restart(victims, brokers, address)
                what = ", ".join(f"{kind} {getattr(v, 'name', v) if v is not None else ''}".strip()
                                 for kind, v in victims)
                self.events.append({"kill": k, "at_s": round(t_kill - t0, 3), "what": what, "down_s": round(down, 3),
                                    "back_s": round(time.monotonic() - t_kill, 3)})
                self.log(f"  kill {k}/{self.kills}: {what}; back after {time.monotonic() - t_kill:.1f} s")
            time.sleep(TAIL_S)
            for ps in self.peer_sims:
                if ps["proc"].poll() is None:
                    ps["proc"].send_signal(signal.SIGTERM)
                try:
                    ps["proc"].wait(timeout=60)
                except subprocess.TimeoutExpired:
                    ps["proc"].kill()
                    ps["proc"].wait()
                ps["log"].close()
        finally:
            for ps in self.peer_sims:  # a campaign that failed part way
                if ps["proc"].poll() is None:
                    ps["proc"].kill()
                    ps["proc"].wait()
            code = service.stop() if service is not None else None
            if brokers is not None:
                brokers.stop()
        return self._check(service, code)

    def _check(self, service, stop_code):
        exports, verified = export_ledgers(self.bin["ledger"], service.nodes, self.out)
        verdict = ack_check.check([ps["ack_log"] for ps in self.peer_sims], exports, parse_ack_line)
        if not all(verified.values()):
            verdict["ok"] = False
            verdict["problems"].append("ledger verify failed: " + ", ".join(n for n, ok in verified.items() if not ok))
        summary = {"driver": self.driver["name"], "backend": self.driver["backend"], "target": self.target,
                   "kills": self.kills, "survived": len(self.events), "rate": self.rate, "ack": self.ack,
                   "seed": self.seed, "block": BLOCK, "events": self.events, "ledger_verify": verified,
                   "stop_exit_code": stop_code, "verdict": verdict}
        with open(os.path.join(self.out, "campaign.json"), "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        return summary


def export_ledgers(ledger_bin, nodes, out):
    """Each node's ledger exported as data to OUT/ledger-NAME.jsonl (what
    the checker reads) and checked with `ledger verify`: (exports: name ->
    path, verified: name -> bool)."""
    exports, verified = {}, {}
    for n in nodes:
        path = os.path.join(out, f"ledger-{n.name}.jsonl")
        with open(path, "w") as f:
            e = subprocess.run([ledger_bin, "--path", n.ledger, "export"], stdout=f, stderr=subprocess.PIPE,
                               text=True)
        if e.returncode != 0:
            raise DriverError(f"ledger export of {n.ledger} failed: {e.stderr.strip()}")
        exports[n.name] = path
        v = subprocess.run([ledger_bin, "--path", n.ledger, "verify"], capture_output=True, text=True)
        verified[n.name] = v.returncode == 0
    return exports, verified


def append_summary(out, summary):
    """One line per campaign in OUT/campaigns.jsonl (several invocations may
    share a folder: one per driver, say)."""
    with open(os.path.join(out, "campaigns.jsonl"), "a") as f:
        f.write(json.dumps(summary, sort_keys=True) + "\n")


def _wait_gone(pid, timeout_s=30):
    """Until a SIGKILLed process has exited (gone, or a zombie: its sockets
    closed). A JVM tearing down its heap holds its port for a while, and a
    restart that came first found the port taken."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except (OSError, IndexError):
            return
        time.sleep(0.05)
    raise DriverError(f"process {pid} still runs {timeout_s} s after SIGKILL")


def _verdict(r):
    if r["verdict"]["ok"]:
        return "OK"
    # accepted promises a place in the queue, not in the chain: a loss is
    # what the mode means, shown for contrast.
    return "lost, as accepted allows" if r["ack"] == "accepted" else "VIOLATED"


def write_report(out):
    """OUT/report.md: a row per campaign in campaigns.jsonl; returns its path."""
    rows = read_jsonl(os.path.join(out, "campaigns.jsonl"))  # absent when every campaign failed
    lines = ["# Crash campaigns", "",
             "Each row: one target killed with SIGKILL again and again under open-loop Broadcast load, restarted "
             "after a short outage; then a checker that uses none of the orderer's code compares the clients' "
             "acknowledgement logs with every replica's exported ledger (benchlib/ack_check.py).", "",
             "| driver | target | --ack | kills | rate tx/s | acknowledged | of them missing | doubled | "
             "unacknowledged in chain | unanswered | height | replicas agree | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r["verdict"]
        unanswered = sum(n for o, n in v["outcomes"].items() if o != "SUCCESS")
        agree = "yes" if not any("replicas differ" in p for p in v["problems"]) else "NO"
        lines.append(f"| {r['driver']} | {r['target']} | {r['ack']} | {r['survived']}/{r['kills']} | {r['rate']:,} | "
                     f"{v['acknowledged']:,} | {v['acknowledged_missing']} | {v['doubled']} | "
                     f"{v['unacknowledged_in_chain']} | {unanswered:,} | {v['height']} | {agree} | "
                     f"{_verdict(r)} |")
    bad = [r for r in rows if not r["verdict"]["ok"]]
    if bad:
        lines += ["", "## What the checker found", ""]
        for r in bad:
            lines += [f"- {r['driver']} / {r['target']} (--ack {r['ack']}, seed {r['seed']}): "
                      + "; ".join(p[:300] for p in r["verdict"]["problems"])]
    lines += ["", "\"unanswered\": outcomes other than SUCCESS in the ack logs (a stream broken by a kill, "
              "SERVICE_UNAVAILABLE, not sent while the orderer was down): no promise was made for them; those "
              "in the chain are counted in \"unacknowledged in chain\". Seeds and every kill's time and outage "
              "are in campaigns.jsonl."]
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def command(root, a, kafka_version, log):
    """`bench campaign`: one campaign per target, each in OUT/TARGET;
    exit 2 on a bad argument, 1 when any campaign failed or found a
    violation."""
    import datetime
    import sys
    from benchlib import env as envmod
    from benchlib.record import write_json
    from benchlib.runner import RunFailed
    try:
        driver = kafka_driver.load_driver(a.driver)
        seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
        out = a.out or os.path.join(root, "run", "campaign",
                                    f"{driver['name']}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
        runs = [Campaign(root, a.build, os.path.join(out, target), driver, target, a.kills, a.rate, seed + i,
                         ack=a.ack, log=log) for i, target in enumerate(a.target.split(","))]
    except (DriverError, ValueError) as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "env.json"), envmod.capture(root, kafka_version))
    failed = 0
    for c in runs:
        log(f"campaign {c.driver['name']} / {c.target}: {c.kills} kills at {c.rate:,} tx/s, --ack {c.ack}, "
            f"seed {c.seed}, in {c.out}")
        try:
            s = c.run()
        except (DriverError, RunFailed, OSError) as e:
            log(f"  FAILED: {e}")
            failed += 1
            continue
        append_summary(out, s)
        v = s["verdict"]
        log(f"  {s['survived']} kills; {v['acknowledged']:,} acknowledged, {v['acknowledged_missing']} of them missing, "
            f"{v['doubled']} doubled, {v['unacknowledged_in_chain']:,} unacknowledged in the chain, height "
            f"{v['height']}, replicas {v['replicas']}: {'OK' if v['ok'] else 'VIOLATED: ' + '; '.join(v['problems'])}")
        failed += 0 if v["ok"] else 1
    log(f"summary: {write_report(out)}")
    return 1 if failed else 0
