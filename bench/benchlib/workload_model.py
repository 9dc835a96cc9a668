"""What a workload file becomes once loaded and checked (benchlib.workload
reads and checks it): the capacity search, the latency points, the
warm-up, the calibration and recovery settings, the cells, and the plan
(which cell runs when)."""
import dataclasses
import random


class WorkloadError(ValueError):
    pass


@dataclasses.dataclass
class Capacity:
    """The step search for the highest offered rate a cell sustains."""
    slo_p99_ms: float = 500.0        # a step's p99 must stay under this
    start_rate: float = 4000.0       # first step of every search, every repetition alike (tx/s)
    growth: float = 1.5              # factor between steps until the first failure
    precision: float = 0.05          # bisect until failing / sustained <= 1 + precision
    max_steps: int = 12              # 0 = no search (then latency only at fixed rates)
    step_window_s: float = 10.0      # measured window of a step
    # A step window can miss what a longer run meets (a memtable flush that
    # stalls the orderer's synced writes): with a confirmation, runs of this
    # length find the highest of `confirm_levels` (shares of the step
    # search's capacity) that is still sustained (capacity.Confirmation).
    # 0 = no confirmation: the capacity is the step search's.
    confirm_window_s: float = 0.0
    confirm_levels: list = dataclasses.field(default_factory=lambda: [0.6, 0.7, 0.8, 0.9, 1.0])
    warmup_max_s: float = 10.0       # bound on a step's warm-up (until steady)
    # A short step's first failure is measured again before it counts (one
    # stall in a 10 s window must not send a search down); a long step's is
    # not (its window is meant to include such stalls).
    retry_first_failure: bool = True
    min_achieved: float = 0.99       # delivered >= this x offered (less one block per window)
    max_backlog_growth: float = 0.02  # in-flight growth <= this x offered (tx/s)


@dataclasses.dataclass
class Latency:
    """Open-loop runs at fixed fractions of the capacity found (and, for a
    goal stated at a rate, at fixed rates)."""
    fractions: list = dataclasses.field(default_factory=lambda: [0.5, 0.9])
    rates: list = dataclasses.field(default_factory=list)
    window_s: float = 60.0
    warmup_max_s: float = 20.0
    # A study folder (relative to the repository) whose capacities the
    # fractions are of: each cell's mean capacity there (same cell name, the
    # searches whose chain verified). For latency-only studies
    # (capacity.max_steps: 0) that reuse a capacity study's result.
    capacity_from: str = ""


@dataclasses.dataclass
class Warmup:
    steady_window_s: float = 0.0     # 0 = chosen per run: ~20 blocks at the offered rate, 2..10 s
    tolerance: float = 0.05


@dataclasses.dataclass
class Calibrate:
    """ProducerPerformance against peer-sim --raw with the same settings."""
    cells: list = dataclasses.field(default_factory=list)  # cell names; empty = none
    repetitions: int = 3
    records: int = 300000            # records per run, for both tools


@dataclasses.dataclass
class Recovery:
    """After a cell's latency runs, one run at `fraction` of its capacity (or
    at the fixed offered `rate`, the same for every cell) in which the leader
    is killed (SIGKILL) `kill_after_s` after the load starts: the raft
    leader, or the broker leading the channel's partition, or with a cell's
    `recovery.target: orderer` the Kafka orderer the peers use first (cells
    whose service has nothing to lose skip it). Measured: the first block
    after the kill, the first after the silence that follows it, when the
    delivered rate is back to `full_rate` of the offered, and what was
    answered SUCCESS but is not in the chain (the peers' ack log against
    every node's ledger)."""
    fraction: float = 0.0            # 0 and no rate = no recovery runs
    rate: float = 0.0                # a fixed offered rate (tx/s) instead of a fraction of the capacity
    window_s: float = 40.0           # measured window (the kill falls inside it)
    warmup_s: float = 5.0            # fixed warm-up before the window
    kill_after_s: float = 15.0       # from the start of the load
    full_rate: float = 0.9


@dataclasses.dataclass
class Cell:
    """One configuration compared in a study."""
    name: str
    profile: str = "baseline"
    producer: dict = dataclasses.field(default_factory=dict)   # overrides on the profile
    broker: dict = dataclasses.field(default_factory=dict)     # overrides on the profile's broker part
    block: dict = dataclasses.field(default_factory=dict)      # overrides on the workload's block settings
    tx_size: int = 1024
    peers: int = 3
    factors: dict = dataclasses.field(default_factory=dict)    # the factor levels this cell stands for
    sweep_factor: str = None                                    # sweeps: which factor this cell moves
    driver: str = None                                          # the cell's driver, if not the workload's
    ack: str = None                                             # the cell's --ack, if not its driver's
    consumer: dict = dataclasses.field(default_factory=dict)   # the Kafka orderer's consumer properties
    raft: dict = dataclasses.field(default_factory=dict)       # over the driver's raft timing
    recovery_target: str = None                                 # leader (None) | orderer

    def block_settings(self, workload_block):
        return dict(workload_block, **self.block)


@dataclasses.dataclass
class Workload:
    name: str
    description: str
    driver: str
    tx_size: int
    peers: int
    block: dict
    capacity: Capacity
    latency: Latency
    warmup: Warmup
    repetitions: int
    raw_baseline: bool
    calibrate: Calibrate
    cells: list
    design: str                       # "cells" | "grid" | "sweep"
    factors: dict                     # grid/sweep factors and their level labels, in order
    base: str = None                  # sweep: the base cell's name
    preset: str = "full"
    path: str = None
    notes: str = ""
    recovery: Recovery = dataclasses.field(default_factory=Recovery)
    # The seed of the run order: a sitting's own (bench run draws one, or
    # takes --seed; a resumed study keeps the one in its study.json).
    seed: int = None

    def driver_of(self, cell):
        return cell.driver or self.driver

    def cell(self, name):
        for c in self.cells:
            if c.name == name:
                return c
        raise KeyError(name)

    def plan(self):
        """[(repetition, [cell names in run order])]: each repetition runs
        every cell once, in an order shuffled with the study's seed and
        the repetition number (recorded, so the order can be recomputed)."""
        if self.seed is None:
            raise WorkloadError(f"{self.name}: no seed for the run order (bench run draws one, or takes --seed)")
        out = []
        for rep in range(1, self.repetitions + 1):
            names = [c.name for c in self.cells]
            random.Random(f"{self.seed}/{rep}").shuffle(names)
            out.append((rep, names))
        return out
