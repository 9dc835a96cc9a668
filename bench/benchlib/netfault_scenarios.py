"""The network-fault scenarios (benchlib.netfault runs them). Hosts:

  o1, o2, o3  orderer nodes, 10.77.0.1-3 (Broadcast on :7050, Raft on :7000)
  k           the Kafka broker, 10.77.0.10:29692
  t           Toxiproxy, 10.77.0.20 (API :8474; proxies :7101-7103 to the
              nodes' Raft ports, :7151-7153 to their Broadcast ports)
  c           the clients (one peer-sim per orderer node), 10.77.0.100

  leader-isolated    raft: the leader cut from both followers, its clients
                     still reaching it; held, healed
  follower-isolated  raft: one follower (a minority) cut from the others
  broker-cut         kafka: the orderer's path to its only broker cut
  client-cut         solo: the client host's link down while its Broadcast
                     and Deliver streams are open; the orderer's side must
                     let go of them (HTTP/2 keepalive), the client reconnect
  slow-links         raft, every path between nodes through Toxiproxy:
                     phases baseline, latency 50 +- 10 ms, + a bandwidth
                     limit, + one follower's Raft link stalled; then clean
"""
import os
import random
import subprocess
import time

from benchlib import services, toxiproxy
from benchlib.drivers import DriverError
from benchlib.netfault import BLOCK

NODE_HOSTS = {"o1": 1, "o2": 2, "o3": 3}
CLIENT = {"c": 100}
RAFT_PORT, BROADCAST_PORT = 7000, 7050
KAFKA_PORT = 29692
TOXI_HOST, TOXI_API = 20, 8474


def ip_of(n):
    return f"10.77.0.{n}"


class Scenario:
    name = backend = None
    default_hold_s = 8.0

    def __init__(self, hold_s, seed, keepalive=("5s", "3s"), bandwidth_kb=512):
        self.hold_s = hold_s or self.default_hold_s
        self.rng = random.Random(seed)
        self.keepalive, self.bandwidth_kb = keepalive, bandwidth_kb

    def hosts(self):
        return dict(CLIENT)

    def gap(self):
        time.sleep(self.rng.uniform(2.0, 4.0))

    def common_args(self, run, consensus):
        args = ["--consensus", consensus, "--ack", run.ack, "--ack-timeout", run.ack_timeout]
        if self.keepalive:
            args += ["--keepalive-time", self.keepalive[0], "--keepalive-timeout", self.keepalive[1]]
        return args

    def node(self, run, host, args, name="orderer"):
        n = services.OrdererProcess(run.bin["orderer"], run.channel, run.out, BLOCK, None, args, name=name,
                                    listen=f"{ip_of(NODE_HOSTS[host])}:{BROADCAST_PORT}", prefix=run.net.prefix(host))
        n.host = host
        return n

    def network_counts(self):
        """What the scenario did to the network beyond netns's cuts."""
        return {}

    def stop(self, run):
        code = None
        for n in run.nodes:
            c = n.stop()
            if c not in (0, None) and code in (0, None):
                code = c
        return code

    def judge(self, run, chain, acks):
        """Scenario-wide problems (the windows' own are judged by the run)."""
        problems = []
        last = [w for w in run.windows if "height_at_heal" in w]
        if last and len(chain) <= last[-1]["height_at_heal"]:
            problems.append(f"the chain did not grow after the last heal (height {len(chain)}, "
                            f"{last[-1]['height_at_heal']} at the heal)")
        for w in run.windows:
            if "caught_up_s" in w and w["caught_up_s"] is None:
                problems.append(f"window {w['cycle']} ({w['fault']}): a node did not reach the height the others "
                                f"had at the heal within 60 s")
        return problems


class RaftScenario(Scenario):
    backend = "raft"
    proxied = False

    def hosts(self):
        h = dict(NODE_HOSTS, **CLIENT)
        if self.proxied:
            h["t"] = TOXI_HOST
        return h

    def start(self, run):
        args = self.common_args(run, "raft")
        for i, host in enumerate(NODE_HOSTS, 1):
            raft, bc = f"{ip_of(i)}:{RAFT_PORT}", f"{ip_of(i)}:{BROADCAST_PORT}"
            if self.proxied:
                raft, bc = f"{ip_of(TOXI_HOST)}:{7100 + i}", f"{ip_of(TOXI_HOST)}:{7150 + i}"
            args += ["--raft-node", f"{i},{raft},{bc}"]
        if self.proxied:
            self.start_proxies(run)
        for i, host in enumerate(NODE_HOSTS, 1):
            extra = ["--raft-id", str(i)]
            if self.proxied:
                extra += ["--raft-bind", f"{ip_of(i)}:{RAFT_PORT}"]
            run.nodes.append(self.node(run, host, args + extra, name=f"node{i}"))
        for n in run.nodes:
            n.launch()
        for n in run.nodes:
            n.wait_ready(timeout_s=90)
        run.leader(timeout_s=60)
        for n in run.nodes:
            run.start_client(n, "c", max(1, run.rate // len(run.nodes)))

    def start_proxies(self, run):
        raise NotImplementedError

    def cut(self, run, w, lone, others):
        """Cuts `lone` from `others`, holds, records what happened, heals and
        waits for the nodes to reach one height."""
        run.net.cut_between([lone.host], [o.host for o in others], run.cut_mode)
        run.in_place(w)
        t = time.monotonic()
        term0 = max(run.counters(n).get("raft_term", 0) for n in run.nodes)
        elected = new = stepped_down = reading = None
        while time.monotonic() - t < self.hold_s:
            # What each node holds, read near the end of the cut (reading
            # takes a while on a busy machine).
            if reading is None and time.monotonic() - t >= 0.75 * self.hold_s:
                reading = run.ledger_heads_start()
            if elected is None:
                for o in others:
                    c = run.counters(o)
                    if c.get("raft_is_leader") == 1 and c.get("raft_term", 0) > term0:
                        elected, new = round(time.monotonic() - t, 2), o.name
            if stepped_down is None and run.counters(lone).get("raft_is_leader") != 1:
                stepped_down = round(time.monotonic() - t, 2)
            time.sleep(0.2)
        leader_now = [n.name for n in others if run.counters(n).get("raft_is_leader") == 1]
        heads = run.ledger_heads(reading or run.ledger_heads_start())
        run.close(w, new_leader=new, elected_after_s=elected, lone_not_leader_after_s=stepped_down,
                  majority_leader_at_heal=leader_now[0] if leader_now else None, heads_before_heal=heads,
                  heights_at_heal=run.heights())
        run.net.heal_all()
        w["height_at_heal"] = max(w["heights_at_heal"].values())
        w["caught_up_s"] = run.wait_caught_up()
        run.log(f"  window {w['cycle']}: {w['fault']} {lone.name}: held {w['held_s']} s, new leader "
                f"{new or '-'} after {elected} s; caught up {w['caught_up_s']} s after the heal")


class LeaderIsolated(RaftScenario):
    name = "leader-isolated"

    def cycle(self, run, k):
        self.gap()
        leader = run.leader()
        others = [n for n in run.nodes if n is not leader]
        w = run.window(self.name, isolated=[leader.name], majority=[o.name for o in others], node=leader.name,
                       expect_unavailable=self.hold_s > run.ack_timeout_s + 1)
        self.cut(run, w, leader, others)

    def judge(self, run, chain, acks):
        problems = super().judge(run, chain, acks)
        for w in run.windows:
            if not w.get("new_leader"):
                problems.append(f"window {w['cycle']}: the majority elected no leader in {w['held_s']} s")
        return problems


class FollowerIsolated(RaftScenario):
    name = "follower-isolated"

    def cycle(self, run, k):
        self.gap()
        leader = run.leader()
        follower = self.rng.choice([n for n in run.nodes if n is not leader])
        others = [n for n in run.nodes if n is not follower]
        w = run.window(self.name, isolated=[follower.name], majority=[o.name for o in others], node=follower.name,
                       leader_before=leader.name, expect_unavailable=self.hold_s > run.ack_timeout_s + 1)
        self.cut(run, w, follower, others)


class SlowLinks(RaftScenario):
    name = "slow-links"
    proxied = True
    default_hold_s = 6.0

    def start_proxies(self, run):
        binary = toxiproxy.binary(install=True)
        if not binary:
            raise DriverError("Toxiproxy is not installed and could not be built: run scripts/toxiproxy install")
        self.toxi = toxiproxy.Toxiproxy(binary, ip_of(TOXI_HOST), TOXI_API, prefix=run.net.prefix("t"),
                                        log_path=os.path.join(run.out, "toxiproxy.log")).start()
        self.toxi_version = os.path.basename(os.path.dirname(binary))  # scripts/toxiproxy's v<version> folder
        self.proxies = {}
        for i in range(1, len(NODE_HOSTS) + 1):
            for kind, port, up in (("raft", 7100 + i, RAFT_PORT), ("bc", 7150 + i, BROADCAST_PORT)):
                name = f"{kind}-{i}"
                self.toxi.proxy(name, f"{ip_of(TOXI_HOST)}:{port}", f"{ip_of(i)}:{up}")
                self.proxies[name] = []
        self.toxics_added = self.toxics_removed = 0

    def add(self, proxy, name, kind, attrs, stream="upstream"):
        self.toxi.toxic(proxy, name, kind, attrs, stream=stream)
        self.proxies[proxy].append(name)
        self.toxics_added += 1

    def clear(self):
        for proxy, names in self.proxies.items():
            for name in names:
                self.toxi.remove_toxic(proxy, name)
                self.toxics_removed += 1
            names.clear()

    def phase(self, run, fault, isolated=(), **extra):
        majority = [n.name for n in run.nodes if n.name not in isolated]
        w = run.window(fault, isolated=isolated, majority=majority,
                       expect_unavailable=bool(isolated) and self.hold_s > run.ack_timeout_s + 1, **extra)
        h0 = max(run.heights().values())
        time.sleep(0.75 * self.hold_s)
        reading = run.ledger_heads_start() if isolated else None
        time.sleep(0.25 * self.hold_s)
        if reading:
            w["heads_before_heal"] = run.ledger_heads(reading)
        run.close(w, blocks_in_phase=max(run.heights().values()) - h0)
        run.log(f"  window {w['cycle']}: {fault}: {w['blocks_in_phase']} blocks in {w['held_s']} s")
        return w

    def cycle(self, run, k):
        self.gap()
        self.phase(run, "baseline")
        for proxy in self.proxies:
            self.add(proxy, "latency", "latency", {"latency": 50, "jitter": 10})
        self.phase(run, "latency 50+-10 ms")
        for proxy in self.proxies:
            if proxy.startswith("raft"):
                self.add(proxy, "bandwidth", "bandwidth", {"rate": self.bandwidth_kb})
        self.phase(run, f"latency + {self.bandwidth_kb} KB/s")
        leader = run.leader()
        f = self.rng.choice([n for n in run.nodes if n is not leader])
        i = run.nodes.index(f) + 1
        for stream in ("upstream", "downstream"):
            self.add(f"raft-{i}", f"stall-{stream}", "timeout", {"timeout": 0}, stream=stream)
        w = self.phase(run, "latency + bandwidth + stalled follower", isolated=[f.name], node=f.name)
        self.clear()
        w["heights_at_heal"] = run.heights()
        w["height_at_heal"] = max(w["heights_at_heal"].values())
        w["caught_up_s"] = run.wait_caught_up()
        run.log(f"  toxics removed; caught up after {w['caught_up_s']} s")

    def network_counts(self):
        return {"toxics_added": getattr(self, "toxics_added", 0), "toxics_removed": getattr(self, "toxics_removed", 0),
                "toxiproxy": getattr(self, "toxi_version", None)}

    def stop(self, run):
        code = super().stop(run)
        if getattr(self, "toxi", None):
            self.toxi.stop()
        return code

    def judge(self, run, chain, acks):
        problems = super().judge(run, chain, acks)
        for w in run.windows:
            if w.get("blocks_in_phase", 1) <= 0:
                problems.append(f"window {w['cycle']} ({w['fault']}): no block in {w['held_s']} s")
        return problems


class BrokerCut(Scenario):
    name = "broker-cut"
    backend = "kafka"
    default_hold_s = 10.0

    def hosts(self):
        return {"o1": 1, "k": 10, **CLIENT}

    def kafka(self, run, *args):
        return run.net.prefix("k") + [os.path.join(run.root, "scripts", "kafka")] + list(args) + [
            "--dir", os.path.join(run.out, "kafka")]

    def start(self, run):
        # Kafka is fetched (Maven) here, outside the namespaces: the broker's
        # host has no route beyond the bridge, and a cold cache would be
        # fetched from inside it.
        f = subprocess.run([os.path.join(run.root, "scripts", "kafka"), "fetch"], capture_output=True, text=True)
        if f.returncode != 0:
            raise DriverError(f"fetching Kafka failed: {f.stderr.strip()[-800:]}")
        r = subprocess.run(self.kafka(run, "start", "--port", str(KAFKA_PORT), "--host", ip_of(10), "--wait", "180"),
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise DriverError(f"the broker did not start: {r.stderr.strip()[-800:]}")
        self.broker_started = True
        args = self.common_args(run, "kafka") + ["--brokers", f"{ip_of(10)}:{KAFKA_PORT}"]
        run.nodes.append(self.node(run, "o1", args).start(timeout_s=120))
        run.start_client(run.nodes[0], "c", run.rate)

    def cycle(self, run, k):
        self.gap()
        node = run.nodes[0]
        w = run.window(self.name, isolated=[node.name], node=node.name,
                       expect_unavailable=self.hold_s > run.ack_timeout_s + 1)
        run.net.cut("o1", "k", run.cut_mode)
        run.in_place(w)
        time.sleep(self.hold_s)
        run.close(w, heights_at_heal=run.heights())
        run.net.heal("o1", "k")
        w["height_at_heal"] = max(w["heights_at_heal"].values())
        t = time.monotonic()
        while time.monotonic() - t < 60 and run.counters(node)["height"] <= w["height_at_heal"]:
            time.sleep(0.25)
        grown = run.counters(node)["height"] > w["height_at_heal"]
        w["next_block_after_s"] = round(time.monotonic() - t, 2) if grown else None
        run.log(f"  window {w['cycle']}: orderer cut from the broker for {w['held_s']} s; next block "
                f"{w['next_block_after_s']} s after the heal")

    def stop(self, run):
        code = super().stop(run)
        if getattr(self, "broker_started", False):
            subprocess.run(self.kafka(run, "wipe"), capture_output=True)
        return code

    def judge(self, run, chain, acks):
        problems = super().judge(run, chain, acks)
        problems += [f"window {w['cycle']}: no block within 60 s of the heal" for w in run.windows
                     if w.get("next_block_after_s") is None]
        return problems


class ClientCut(Scenario):
    name = "client-cut"
    backend = "solo"
    default_hold_s = 15.0

    def hosts(self):
        return {"o1": 1, **CLIENT}

    def start(self, run):
        run.nodes.append(self.node(run, "o1", self.common_args(run, "solo")).start())
        run.start_client(run.nodes[0], "c", run.rate)

    def connections(self, run):
        """The orderer's established connections from the client host."""
        r = subprocess.run(run.net.prefix("o1") + ["ss", "-Htn", "state", "established",
                                                   f"( sport = :{BROADCAST_PORT} )"], capture_output=True, text=True)
        return sum(1 for line in r.stdout.splitlines() if f"{ip_of(100)}]:" in line or f" {ip_of(100)}:" in line)

    def cycle(self, run, k):
        self.gap()
        before = self.connections(run)
        w = run.window(self.name, client_host="c", connections_before=before)
        run.net.isolate("c")
        run.in_place(w)
        t = time.monotonic()
        released = None
        while time.monotonic() - t < self.hold_s:
            if released is None and self.connections(run) == 0:
                released = round(time.monotonic() - t, 2)
            time.sleep(0.5)
        run.close(w, orderer_released_after_s=released, connections_at_heal=self.connections(run),
                  heights_at_heal=run.heights())
        run.net.rejoin("c")
        w["height_at_heal"] = max(w["heights_at_heal"].values())
        t = time.monotonic()
        while time.monotonic() - t < 30 and self.connections(run) == 0:
            time.sleep(0.25)
        w["reconnected_after_s"] = round(time.monotonic() - t, 2) if self.connections(run) else None
        time.sleep(1.0)
        w["connections_after"] = self.connections(run)
        run.log(f"  window {w['cycle']}: client host down {w['held_s']} s; the orderer held {before} connection(s) "
                f"from it, released after {released} s; client back after {w['reconnected_after_s']} s")

    def judge(self, run, chain, acks):
        problems = super().judge(run, chain, acks)
        for w in run.windows:
            name = f"window {w['cycle']} (client-cut)"
            if w["orderer_released_after_s"] is None:
                problems.append(f"{name}: the orderer still held {w['connections_at_heal']} connection(s) from the "
                                f"cut-off client after {w['held_s']} s (keepalive {self.keepalive})")
            if w["reconnected_after_s"] is None:
                problems.append(f"{name}: the client did not reconnect within 30 s of the heal")
            ends = [r for rs in acks.values() for r in rs if w["start_ns"] <= r[3] < w["end_ns"]]
            w["client_answers_in_cut"] = {}
            for _, o, _, _ in ends:
                w["client_answers_in_cut"][o] = w["client_answers_in_cut"].get(o, 0) + 1
            broke = [r[3] for r in ends if r[1] in ("UNANSWERED_STREAM_BROKEN", "NOT_SENT")]
            w["client_noticed_after_s"] = round((min(broke) - w["start_ns"]) / 1e9, 2) if broke else None
            after = [r for rs in acks.values() for r in rs if r[1] == "SUCCESS" and r[2] >= w["end_ns"]]
            w["success_submitted_after_heal"] = len(after)
            if not after:
                problems.append(f"{name}: nothing submitted after the heal was answered SUCCESS")
        return problems


SCENARIOS = {c.name: c for c in (LeaderIsolated, FollowerIsolated, BrokerCut, ClientCut, SlowLinks)}
