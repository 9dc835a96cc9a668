"""Driver files: bench/drivers/<name>.yaml names the ordering service a
study (or one cell of it) runs on.

  backend: solo | kafka | raft
  brokers: 1 | 3          kafka: how many Apache Kafka brokers
  nodes: 3 | 5            raft: how many orderer nodes
  submit: kafka | broadcast
                          how peers submit: straight into the channel's
                          topic (kafka only, the tuning research's path), or
                          through the orderer's Broadcast (every backend;
                          the Kafka orderer then produces with the cell's
                          producer settings)
  topic_writers: anyone | orderers
                          kafka: who may produce to the channel's topic
                          (orderer --topic-writers). Default: anyone when
                          peers submit into it, orderers with Broadcast (as
                          Fabric's Kafka orderer: each envelope's signature
                          verified once, at Broadcast)
  orderers: N             kafka: how many orderer processes order the
                          channel's one partition (default 1), each with
                          its own ledger, on the orderer CPU set; peers are
                          given every address (the first first) and fail
                          over along them (peer-sim --orderer A,B)
  broker: {...}           kafka: broker settings every cell runs with
  raft: {...}             raft: heartbeat_ms, election_timeout_ms
  ack: durable | accepted with submit: broadcast, what the orderers'
                          SUCCESS promises (orderer --ack; default durable)
"""
import os

import yaml

DRIVER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "drivers")
BACKENDS = ("solo", "kafka", "raft")
SUBMITS = ("kafka", "broadcast")
RAFT_KEYS = {"heartbeat_ms", "election_timeout_ms"}
KNOWN_KEYS = {"name", "backend", "brokers", "nodes", "submit", "broker", "raft", "topic_writers", "ack", "orderers"}
MAX_ORDERERS = 5
ACKS = ("durable", "accepted")
TOPIC_WRITERS = ("anyone", "orderers")


class DriverError(RuntimeError):
    pass


def known():
    return sorted(f[:-5] for f in os.listdir(DRIVER_DIR) if f.endswith(".yaml"))


def load_driver(name_or_path):
    path = name_or_path if os.path.isfile(name_or_path) else os.path.join(DRIVER_DIR, f"{name_or_path}.yaml")
    if not os.path.isfile(path):
        raise DriverError(f"no driver '{name_or_path}' (known: {', '.join(known())})")
    with open(path) as f:
        try:
            d = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise DriverError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(d, dict):
        raise DriverError(f"{path}: expected a mapping")
    return check(d, path)


def check(d, where):
    """Fills defaults into a driver mapping and refuses what cannot run."""
    d = dict(d)
    unknown = set(d) - KNOWN_KEYS
    if unknown:
        raise DriverError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(KNOWN_KEYS))})")
    backend = d.get("backend")
    if backend not in BACKENDS:
        raise DriverError(f"{where}: backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    d.setdefault("name", os.path.basename(where)[:-5] if where.endswith(".yaml") else backend)
    if backend == "kafka":
        if d.get("brokers") not in (1, 3):
            raise DriverError(f"{where}: brokers must be 1 or 3")
        d.setdefault("submit", "kafka")
        d.setdefault("topic_writers", "orderers" if d["submit"] == "broadcast" else "anyone")
        if d["topic_writers"] not in TOPIC_WRITERS:
            raise DriverError(f"{where}: topic_writers must be anyone or orderers, not {d['topic_writers']!r}")
        if d["submit"] == "kafka" and d["topic_writers"] == "orderers":
            raise DriverError(f"{where}: with submit: kafka the peers write the topic: topic_writers must be anyone")
        d.setdefault("broker", {})
        if not isinstance(d["broker"], dict):
            raise DriverError(f"{where}: broker: expected a mapping of broker settings")
        d.setdefault("orderers", 1)
        if not isinstance(d["orderers"], int) or isinstance(d["orderers"], bool) or \
                not 1 <= d["orderers"] <= MAX_ORDERERS:
            raise DriverError(f"{where}: orderers must be a whole number from 1 to {MAX_ORDERERS}")
    else:
        if d.get("brokers"):
            raise DriverError(f"{where}: backend {backend} runs no brokers")
        if d.get("broker"):
            raise DriverError(f"{where}: backend {backend} runs no brokers: broker settings mean nothing")
        if d.get("topic_writers"):
            raise DriverError(f"{where}: backend {backend} has no Kafka topic: topic_writers means nothing")
        if d.get("orderers") not in (None, 1):
            raise DriverError(f"{where}: orderers (several Kafka orderers on one partition) is for backend kafka; "
                              f"{backend} says its nodes otherwise")
        d["orderers"] = 1
        d["brokers"] = 0
        d["broker"] = {}
        d.setdefault("submit", "broadcast")
    if backend == "raft":
        if d.get("nodes") not in (3, 5):
            raise DriverError(f"{where}: nodes must be 3 or 5")
        raft = d.setdefault("raft", {}) or {}
        if not isinstance(raft, dict) or set(raft) - RAFT_KEYS:
            raise DriverError(f"{where}: raft: known keys are {', '.join(sorted(RAFT_KEYS))}")
        for k, v in raft.items():
            if not isinstance(v, int) or v <= 0:
                raise DriverError(f"{where}: raft.{k} must be a positive whole number of ms")
        d["raft"] = raft
    else:
        if d.get("nodes") not in (None, 1):
            raise DriverError(f"{where}: backend {backend} runs one orderer node")
        if d.get("raft"):
            raise DriverError(f"{where}: raft settings on backend {backend}")
        d["nodes"] = 1
    if d["submit"] not in SUBMITS:
        raise DriverError(f"{where}: submit must be kafka or broadcast, not {d['submit']!r}")
    d.setdefault("ack", "durable")
    if d["ack"] not in ACKS:
        raise DriverError(f"{where}: ack must be durable or accepted, not {d['ack']!r}")
    if d["submit"] == "kafka" and backend != "kafka":
        raise DriverError(f"{where}: submit: kafka writes into a Kafka topic; backend {backend} takes "
                          "transactions through Broadcast (submit: broadcast)")
    return d


def describe(d):
    if d["backend"] == "kafka":
        what = f"kafka, {d['brokers']} broker(s), topic written by {d.get('topic_writers', 'anyone')}"
        if d.get("orderers", 1) > 1:
            what += f", {d['orderers']} orderers on its partition"
    elif d["backend"] == "raft":
        what = f"raft, {d['nodes']} nodes"
    else:
        what = "solo, one node"
    if d["submit"] == "broadcast":
        # Studies made before the ack setting existed answered on acceptance.
        return f"{what}, peers submit via broadcast (SUCCESS: {d.get('ack', 'accepted')})"
    return f"{what}, peers submit via {d['submit']}"
