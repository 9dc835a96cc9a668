"""Network-fault campaigns: the ordering service's nodes, its broker and its
clients each on a host of their own (a network namespace, benchlib.netns),
under open-loop Broadcast load; paths between them cut and healed again
and again, or slowed through Toxiproxy (benchlib.netfault_scenarios has
the scenarios). Afterwards, from data alone: the crash campaigns' checker
(benchlib.ack_check: every SUCCESS in the chain once, nothing twice, hashes
recompute, replicas agree) over every client's ack log and every node's
exported ledger, and per fault window what the clients were answered:

  * a node cut off from the rest (a Raft minority, an orderer cut from
    its brokers) answers no SUCCESS from a second after the cut until the
    heal, and its clients get SERVICE_UNAVAILABLE (after --ack-timeout) or,
    for a transaction still pending at the heal, a delayed SUCCESS;
  * the majority's clients keep getting SUCCESS (a leader is elected);
  * after the heal every node catches up: the same height, and at the end
    byte-identical exports; the chain goes on growing;
  * what each node held just before the heal is a prefix of the final
    chain (no block written on a losing side: no split brain).

What a campaign writes to its folder: netfault.json (settings, every fault
window and its measurements, the verdict), the processes' logs, the ack
logs and the ledger exports."""
import json
import os
import signal
import statistics
import subprocess
import time

from benchlib import ack_check, campaign, netns
from benchlib.drivers import DriverError
from benchlib.record import read_jsonl

BLOCK = {"max_message_count": 100, "batch_timeout": "500ms", "preferred_max_bytes": "2MB"}
GRACE_S = 1.0     # answers this soon after a cut may be for work done before it
WARM_S = 3.0      # load before the first fault
TAIL_S = 4.0      # load after the last heal


class NetFault:
    """One scenario, `cycles` faults. The scenario object (see
    netfault_scenarios.SCENARIOS) supplies the hosts, starts the service
    and makes each fault; this class runs the load and checks."""

    def __init__(self, root, build, out, scenario, cycles, rate, seed, hold_s, ack_timeout="3s", cut_mode="drop",
                 ack="durable", log=print):
        self.root, self.build, self.out, self.scenario = root, build, out, scenario
        self.cycles, self.rate, self.seed, self.hold_s = cycles, rate, seed, hold_s
        self.ack_timeout, self.cut_mode, self.ack, self.log = ack_timeout, cut_mode, ack, log
        self.ack_timeout_s = float(ack_timeout.rstrip("s"))
        self.bin = {n: os.path.join(build, *p) for n, p in {
            "orderer": ("orderer", "orderer"), "peer-sim": ("peer-sim", "peer-sim"),
            "ledger": ("tools", "ledger")}.items()}
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise DriverError(f"{name} not built: {path}")
        self.channel = f"netfault-{scenario.name}-{seed}"
        self.net = None
        self.nodes = []        # OrdererProcess, each with .host
        self.clients = []      # {"proc", "log", "ack_log", "node", "host"}
        self.windows = []
        self.t0 = None

    # --- the load

    def start_client(self, node, host, rate):
        i = len(self.clients)
        ack_log = os.path.join(self.out, f"acks-{i}-{node.name}.log")
        args = self.net.prefix(host) + [
            self.bin["peer-sim"], "--submit", "broadcast", "--orderer", node.address(), "--channel", self.channel,
            "--peers", "1", "--rate", str(rate), "--duration", "3600s", "--sign-inline", "--drain-timeout", "20s",
            "--json", os.path.join(self.out, f"peer-sim-{i}.json"), "--ack-log", ack_log, "--quiet"]
        logf = open(os.path.join(self.out, f"peer-sim-{i}.log"), "w")
        p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
        self.clients.append({"proc": p, "log": logf, "ack_log": ack_log, "node": node.name, "host": host})

    def stop_clients(self):
        for c in self.clients:
            if c["proc"].poll() is None:
                c["proc"].send_signal(signal.SIGTERM)
        for c in self.clients:
            try:
                c["proc"].wait(timeout=60)
            except subprocess.TimeoutExpired:
                c["proc"].kill()
                c["proc"].wait()
            c["log"].close()

    def clients_alive(self):
        dead = [c for c in self.clients if c["proc"].poll() is not None]
        if dead:
            raise DriverError(f"peer-sim for {dead[0]['node']} ended early (exit {dead[0]['proc'].returncode}); "
                              f"see {self.out}/peer-sim-*.log")

    # --- the nodes' state, from their metrics files (written every second)

    @staticmethod
    def counters(node):
        c = node.counters()
        return {"height": c.get("height", 0), **(c.get("consenter") or {})}

    def leader(self, timeout_s=30, among=None):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for n in among or self.nodes:
                if n.alive() and self.counters(n).get("raft_is_leader") == 1:
                    return n
            time.sleep(0.2)
        raise DriverError(f"no Raft leader within {timeout_s} s; see {self.out}/orderer-*.log")

    def heights(self):
        return {n.name: self.counters(n)["height"] for n in self.nodes}

    def wait_caught_up(self, timeout_s=60):
        """Seconds until every node holds at least the highest height now
        (read from the metrics files, each written once a second, so within
        about a second); None if not within timeout_s. Under load the heights
        are rarely equal at one instant; the final exports must be."""
        t = time.monotonic()
        target = max(self.heights().values())
        while time.monotonic() - t < timeout_s:
            if min(self.heights().values()) >= target:
                return round(time.monotonic() - t, 2)
            time.sleep(0.25)
        return None

    def ledger_heads_start(self):
        """Starts reading each live ledger's height and last hash (`ledger
        info`, read-only); ledger_heads() collects the answers."""
        return {n.name: subprocess.Popen([self.bin["ledger"], "--path", n.ledger, "info", "--json"],
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                for n in self.nodes}

    @staticmethod
    def ledger_heads(started):
        """{node: [height, last_hash]} (None where it could not be read)."""
        heads = {}
        for name, p in started.items():
            out, _ = p.communicate()
            try:
                j = json.loads(out)
                heads[name] = [j["height"], j["last_hash"]]
            except (ValueError, KeyError):
                heads[name] = None
        return heads

    # --- fault windows

    def window(self, fault, isolated=(), majority=(), **extra):
        """Opens a fault window: wall-clock start, who is cut off (their
        clients must not be answered SUCCESS) and who should go on."""
        w = {"cycle": len(self.windows) + 1, "fault": fault, "start_ns": time.time_ns(),
             "at_s": round(time.monotonic() - self.t0, 2), "isolated": list(isolated), "majority": list(majority)}
        w.update(extra)
        self.windows.append(w)
        return w

    @staticmethod
    def in_place(w):
        """The fault is in place now (making it took a while on a busy
        machine): the window's rules count from here."""
        now = time.time_ns()
        w["making_s"] = round((now - w["start_ns"]) / 1e9, 3)
        w["start_ns"] = now

    @staticmethod
    def close(w, **extra):
        w["end_ns"] = time.time_ns()
        w["held_s"] = round((w["end_ns"] - w["start_ns"]) / 1e9, 2)
        w.update(extra)

    # --- the campaign

    def run(self):
        os.makedirs(self.out, exist_ok=True)
        self.t0 = time.monotonic()
        code = None
        with netns.Net(self.scenario.hosts(), log=self.log) as net:
            self.net = net
            try:
                self.scenario.start(self)
                time.sleep(WARM_S)
                for k in range(1, self.cycles + 1):
                    self.clients_alive()
                    self.scenario.cycle(self, k)
                    net.heal_all()
                time.sleep(TAIL_S)
                self.stop_clients()
            finally:
                net.heal_all()
                for c in self.clients:
                    if c["proc"].poll() is None:
                        c["proc"].kill()
                        c["proc"].wait()
                code = self.scenario.stop(self)
            counts = dict(net.counts, **self.scenario.network_counts())
        return self.check(code, counts)

    # --- the verdict

    def check(self, stop_code, counts):
        exports, verified = campaign.export_ledgers(self.bin["ledger"], self.nodes, self.out)
        texts = {}
        for name, path in exports.items():
            with open(path) as f:
                texts[name] = f.read()
        verdict = ack_check.check([c["ack_log"] for c in self.clients], exports, campaign.parse_ack_line)
        problems = verdict["problems"]
        if not all(verified.values()):
            problems.append("ledger verify failed: " + ", ".join(n for n, ok in verified.items() if not ok))
        if len(set(texts.values())) > 1:
            problems.append("the nodes' final ledgers are not byte-identical: heights "
                            + ", ".join(f"{n} {h}" for n, h in verdict["replicas"].items()))
        chain = ack_check.read_export(max(exports.values(), key=lambda p: os.path.getsize(p)))
        acks = {c["node"]: [] for c in self.clients}
        for c in self.clients:
            acks[c["node"]] += ack_check.read_acks(c["ack_log"])
        for w in self.windows:
            self._judge(w, acks, chain, problems)
        problems += self.scenario.judge(self, chain, acks)
        verdict["ok"] = not problems
        summary = {"scenario": self.scenario.name, "backend": self.scenario.backend, "cycles": self.cycles,
                   "faults_made": len(self.windows), "cut_mode": self.cut_mode, "rate": self.rate, "ack": self.ack,
                   "ack_timeout": self.ack_timeout, "hold_s": self.hold_s, "seed": self.seed, "block": BLOCK,
                   "network": counts, "windows": self.windows, "ledger_verify": verified,
                   "stop_exit_code": stop_code, "seconds": round(time.monotonic() - self.t0, 1),
                   "verdict": verdict}
        with open(os.path.join(self.out, "netfault.json"), "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        return summary

    def _judge(self, w, acks, chain, problems):
        """What the clients were answered during one window."""
        start, end = w["start_ns"], w["end_ns"]
        grace = start + int(GRACE_S * 1e9)
        name = f"window {w['cycle']} ({w['fault']})"
        iso = [r for n in w["isolated"] for r in acks.get(n, [])]
        sub = [r for r in iso if start <= r[2] < end]
        # Submitted while the fault was in place: the cut-off side cannot make
        # any of it durable before the heal, so none may be answered SUCCESS
        # then; SERVICE_UNAVAILABLE (after --ack-timeout) or a SUCCESS after
        # the heal are the answers the contract allows.
        out = {"submitted": len(sub), "success_in_cut": 0, "success_after_heal": 0, "unavailable": 0, "other": 0}
        for _, o, _, a in sub:
            if o == "SUCCESS":
                out["success_in_cut" if a < end else "success_after_heal"] += 1
            elif o == "SERVICE_UNAVAILABLE":
                out["unavailable"] += 1
            else:
                out["other"] += 1
        # Any SUCCESS answered by a cut-off node during the cut, after the
        # grace: for work submitted before the cut, made durable before it
        # and answered late (a busy machine); each must be in the chain.
        late = [r for r in iso if r[1] == "SUCCESS" and grace <= r[3] < end]
        out["success_answered_in_cut"] = len(late)
        waits = [(a - s) / 1e9 for _, o, s, a in iso if o == "SERVICE_UNAVAILABLE" and start <= a < end + 30e9]
        out["unavailable_wait_s_median"] = round(statistics.median(waits), 2) if waits else None
        if w["isolated"]:
            w["isolated_clients"] = out
            if out["success_in_cut"]:
                problems.append(f"{name}: the cut-off side answered SUCCESS for {out['success_in_cut']} "
                                f"transaction(s) submitted after the cut, before the heal")
            in_chain = {tx for b in chain[1:] for tx in b.get("tx_ids") or []}
            missing = sum(1 for r in late if r[0] not in in_chain)
            if missing:
                problems.append(f"{name}: the cut-off side answered SUCCESS during the cut for {missing} "
                                f"transaction(s) not in the final chain")
            if w.get("expect_unavailable") and out["unavailable"] == 0:
                problems.append(f"{name}: no SERVICE_UNAVAILABLE from the cut-off side in {w['held_s']} s "
                                f"(--ack-timeout {self.ack_timeout})")
        if w["majority"]:
            maj = [r for n in w["majority"] for r in acks.get(n, []) if r[1] == "SUCCESS" and start <= r[3] < end]
            # The first SUCCESS for a transaction submitted after the cut:
            # the majority serving again (earlier ones may be older work).
            first = min((r[3] for r in maj if r[2] >= start), default=None)
            lat = sorted(r[3] - r[2] for r in maj)
            w["majority_clients"] = {"success_in_cut": len(maj),
                                     "first_new_success_after_s": round((first - start) / 1e9, 2) if first else None,
                                     "ack_ms_median": round(lat[len(lat) // 2] / 1e6, 1) if lat else None}
            if not maj:
                problems.append(f"{name}: the majority answered no SUCCESS during the cut")
        # What each node held just before the heal must be in the final chain.
        for node, head in (w.get("heads_before_heal") or {}).items():
            if head and head[0] > 0:
                h, last = head
                if h > len(chain) or chain[h - 1]["hash"] != last:
                    problems.append(f"{name}: {node} held block {h - 1} ({last[:16]}...) before the heal, which "
                                    f"is not the final chain's (split brain)")


def append_summary(out, summary):
    with open(os.path.join(out, "netfaults.jsonl"), "a") as f:
        f.write(json.dumps(summary, sort_keys=True) + "\n")


def write_report(out):
    """OUT/report.md: a row per campaign in netfaults.jsonl."""
    rows = read_jsonl(os.path.join(out, "netfaults.jsonl"))
    lines = ["# Network-fault campaigns", "",
             "Each row: one scenario, its faults made and healed under open-loop Broadcast load, every host in a "
             "network namespace of its own; then the crash campaigns' checker (benchlib/ack_check.py) over the "
             "clients' ack logs and every node's exported ledger, and each fault window's answers.", "",
             "| scenario | backend | faults | cut / healed | rate tx/s | --ack-timeout | acknowledged | missing | "
             "doubled | cut-off side's SUCCESS in the cut | SERVICE_UNAVAILABLE | height | identical | verdict | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r["verdict"]
        iso = [w.get("isolated_clients") or {} for w in r["windows"]]
        net = r["network"]
        made = net.get("cut", 0) + net.get("isolated", 0) + net.get("toxics_added", 0)
        healed = net.get("healed", 0) + net.get("rejoined", 0) + net.get("toxics_removed", 0)
        identical = "NO" if any("byte-identical" in p for p in v["problems"]) else "yes"
        lines.append(f"| {r['scenario']} | {r['backend']} | {r['faults_made']} | {made} / {healed} | {r['rate']:,} | "
                     f"{r['ack_timeout']} | {v['acknowledged']:,} | {v['acknowledged_missing']} | {v['doubled']} | "
                     f"{sum(i.get('success_in_cut', 0) for i in iso)} | "
                     f"{v['outcomes'].get('SERVICE_UNAVAILABLE', 0):,} | {v['height']} | {identical} | "
                     f"{'OK' if v['ok'] else 'VIOLATED'} | {r['seconds']} |")
    bad = [r for r in rows if not r["verdict"]["ok"]]
    if bad:
        lines += ["", "## Violations", ""]
        lines += [f"- {r['scenario']} (seed {r['seed']}): " + "; ".join(p[:300] for p in r["verdict"]["problems"])
                  for r in bad]
    lines += ["", "\"faults\": fault windows (slow-links: four phases per cycle). \"cut / healed\": paths cut "
              "(two routes each), hosts taken off the bridge and Toxiproxy toxics added, and how many were restored. "
              "\"cut-off side's SUCCESS in the cut\": transactions submitted to a cut-off node while the fault was in "
              "place and answered SUCCESS before the heal (must be 0). Every fault window's measurements (election, catch-up, the cut-off side's answers) "
              "are in netfaults.jsonl."]
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
