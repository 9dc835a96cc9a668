"""One typed record per measured run, for every backend.

A run is one load-generator process against a running ordering service
(a capacity-search step, a fixed-fraction latency run, a raw-producer
run) or one ProducerPerformance process. Records are appended to
runs.jsonl as each run ends, valid or not: an invalid run (lost, doubled or
failed transactions, a chain that does not verify, a crashed process) is
kept in the raw data, left out of every summary and counted in the report.
"""
import dataclasses
import json
import math
import os

KINDS = ("step", "confirm", "fraction", "rate", "raw", "pp", "warmup", "recovery")


@dataclasses.dataclass
class RoleCpu:
    """A role's CPU over the run's measured window."""
    cpus: str = ""            # the CPU set it was pinned to ("" = not pinned)
    cpu_s: float = 0.0        # user + system seconds
    util: float = 0.0         # cpu_s / (window x CPUs in its set)
    us_per_tx: float = None   # cpu_s per delivered (acked for raw/pp) transaction, microseconds
    rss_mib: float = None


@dataclasses.dataclass
class RunResult:
    # What ran.
    study: str
    run_id: str               # "0001", in the order runs happened
    cell: str                 # the configuration's name in the workload
    repetition: int
    kind: str                 # one of KINDS
    backend: str = "kafka"
    brokers: int = 1
    driver: str = None        # bench/drivers/<name> the run's service came from
    nodes: int = 1            # orderer nodes (raft: 3 or 5)
    submit: str = None        # how peers submitted: kafka | broadcast
    placement: str = "isolated"
    order: int = 0            # position of the cell within its repetition's shuffled order
    search: str = None        # capacity search id (cell/repetition) for steps and fractions
    step: int = None          # step number within a search
    fraction: float = None    # fraction of the capacity (fraction runs)
    capacity_used: float = None  # the capacity the fraction was taken of (tx/s)
    offered_tps: float = None  # open-loop rate; None flat out
    config: dict = dataclasses.field(default_factory=dict)   # effective settings (workload.effective)
    started_unix: float = 0.0
    wall_s: float = 0.0
    # Integrity.
    valid: bool = True
    invalid_reason: str = None
    exit_code: int = None
    submitted: int = 0
    acked: int = 0
    delivered: int = 0
    failed: int = 0
    duplicates: int = 0
    undelivered_acked: int = 0
    never_acked: int = 0
    undelivered_share: float = None
    # The generator.
    signing: str = None       # presigned | inline
    generator_bound: bool = False
    # Fell behind the offered rate while the peers' own work left room for it:
    # the time went inside Submit (Broadcast's flow control, a full producer
    # queue), so the service, not the generator, is the limit.
    held_back: bool = False
    generator_load: float = None     # peers' own time per tx / the time the rate allows
    submit_held_share: float = None  # share of the peers' time inside Submit
    max_submit_lag_ms: float = None
    steady: bool = None
    warmup_s: float = None
    window_s: float = None
    # Outcome over the measured window.
    submit_tps: float = None
    acked_tps: float = None
    delivered_tps: float = None
    backlog_growth_tps: float = None
    p50_ms: float = None
    p95_ms: float = None
    p99_ms: float = None
    p999_ms: float = None
    max_ms: float = None
    mean_ms: float = None
    ack_p50_ms: float = None
    ack_p99_ms: float = None
    # The producers' record batches in the window (kafka submit path): mean records and bytes per
    # batch, from librdkafka's statistics. None when not recorded.
    batch_records: float = None
    batch_bytes: float = None
    sustained: bool = None    # steps: met every capacity criterion
    criteria: dict = dataclasses.field(default_factory=dict)  # steps: criterion -> passed
    blocks: int = None
    txs_per_block: float = None
    cut_reasons: dict = dataclasses.field(default_factory=dict)
    rejected: int = None
    # Where the CPU went.
    cpu: dict = dataclasses.field(default_factory=dict)      # role -> RoleCpu (as dict)
    bottleneck: str = None    # the role whose CPU set was busiest
    bottleneck_util: float = None
    saturated: bool = None    # bottleneck_util >= 0.9
    # ProducerPerformance / raw calibration.
    tool: str = None          # "ProducerPerformance" | "peer-sim --raw"
    records_per_s: float = None
    mb_per_s: float = None
    pp_avg_latency_ms: float = None
    pp_p99_ms: float = None
    # Recovery runs: the leader killed under load.
    killed: str = None            # what was killed
    kill_unix_ms: float = None
    first_block_ms: float = None  # kill -> first block delivered after it
    recovery_ms: float = None     # kill -> the first block after the longest silence that follows it
    silence_ms: float = None      # that silence
    full_rate_ms: float = None    # kill -> end of the first of two seconds delivering >= full_rate x offered (1 s resolution)
    resumed_ms: float = None      # kill -> the first block from which blocks keep coming (benchlib.recovery.resumed_at)
    resumed_full_rate_ms: float = None  # the full-rate second, never before resumed_ms
    blocks_after_kill: int = None
    new_leader: str = None
    new_leader_ms: float = None   # kill -> the new Raft leader seen (and moved onto the orderer's CPUs)
    # The peers' ack log against every node's chain after the run (benchlib.failover): answered
    # SUCCESS but in no chain, and the checker's summary (replicas' heights, whether they agree on
    # their common prefix). None where not checked (recovery runs before the check existed).
    acked_lost: int = None
    ack_check: dict = None
    # The peers' streams (peer-sim's report): per orderer address, how often the Deliver stream and
    # the Broadcast streams moved onto it, and where they were at the end.
    streams: dict = None
    note: str = None              # something a reader must know about this run (leadership moved)
    # The orderer's own /metrics over the measured window (benchlib.metrics.window): what the
    # dashboard shows for it. None when not scraped, or the node that cuts blocks changed.
    orderer_metrics: dict = None

    def invalidate(self, reason):
        self.valid = False
        self.invalid_reason = reason if not self.invalid_reason else f"{self.invalid_reason}; {reason}"

    def to_json(self):
        return json.dumps(_clean(dataclasses.asdict(self)), sort_keys=False)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def _clean(x):
    """NaN/inf are not JSON: they become null."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def flat(d, prefix=""):
    """A record as one flat mapping (nested keys joined with '.'), for CSV
    and pandas."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        nested = isinstance(v, dict) and (prefix or k in ("cpu", "config", "criteria", "cut_reasons", "orderer_metrics"))
        if nested:
            out.update(flat(v, key + "."))
        else:
            out[key] = json.dumps(v) if isinstance(v, (list, dict)) else v
    return out


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_jsonl(path, torn_tail=False):
    """The records of a JSON-lines file ([] when it does not exist).
    `torn_tail`: a last line cut short (a writer killed mid-line) is left
    out instead of refused; a bad line anywhere else is still refused."""
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        lines = [x for x in f if x.strip()]
    out = []
    for i, x in enumerate(lines):
        try:
            out.append(json.loads(x))
        except ValueError:
            if not (torn_tail and i == len(lines) - 1 and not x.endswith("\n")):
                raise
    return out


def read_text(path):
    with open(path) as f:
        return f.read()


def write_json(path, obj):
    """Writes through a temporary file and a rename: a reader never sees
    half a file, and a crash leaves the old one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)
