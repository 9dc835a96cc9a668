"""Capacity: the highest offered rate a configuration sustains.

A step offers a fixed rate, open loop, and is *sustained* when, over its
measured window, all of these hold (each recorded per step):

  valid       nothing lost, doubled or failed; the generator kept up
              (a generator-bound step says nothing about the pipeline)
  achieved    delivered >= min_achieved x offered, less one block per window
              (deliveries come a block at a time)
  p99         p99 end-to-end latency <= the SLO
  backlog     the in-flight count grows by at most max_backlog_growth x
              offered per second, plus one block per window (least-squares
              slope over the window's seconds; in flight saw-tooths by up to
              a block as blocks are cut)

The search (pure: the caller measures) starts at a rate, multiplies it by
`growth` while steps are sustained (divides while they are not) until it
brackets the capacity, then bisects geometrically until the failing rate is
within 1 + precision of the sustained one, or max_steps are spent. The
capacity is the highest sustained rate; None when no step was sustained.

  outcome of the bracketing phase         next rate
  -------------------------------------   ------------------------------
  no result yet                           start
  all sustained so far                    last x growth
  none sustained so far                   last / growth
  bracketed: lo sustained, hi not         sqrt(lo x hi), until hi/lo <= 1+p

Going down, the search stops at the SLO's floor (`slo_floor`): below it a
block takes longer to fill than the p99 SLO allows, so no step there can be
sustained whatever the service does.
"""
import math
import re

_BYTE_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def seconds(text):
    """'2s', '100ms', '1m' or a bare number of seconds, in seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m)?\s*", str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]


def byte_size(text):
    """'2MB', '64kb', '1MiB', '512B' or a bare number of bytes (K = 1024, as the
    orderer reads them), in bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(?:([KMG])(?:I?B)?|B)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"not a byte size: {text!r}")
    return float(m.group(1)) * _BYTE_UNITS[(m.group(2) or "").upper()]


def slo_floor(slo_p99_ms, block, tx_size=None):
    """The lowest offered rate at which a p99 of `slo_p99_ms` is possible at
    all, in tx/s (0: no floor). A block is cut when it is full (by count,
    or by bytes for `tx_size`-byte transactions) or when BatchTimeout
    expires; the first 1% of a block's transactions wait at least 99% of its
    fill time, so p99 >= 0.99 x min(per_block / rate, BatchTimeout). When
    BatchTimeout is within the SLO every rate may pass."""
    timeout_ms = seconds(block["batch_timeout"]) * 1000.0
    if timeout_ms * 0.99 <= slo_p99_ms:
        return 0.0
    per_block = float(block["max_message_count"])
    if tx_size and block.get("preferred_max_bytes"):
        per_block = min(per_block, max(1.0, byte_size(block["preferred_max_bytes"]) // tx_size))
    return 0.99 * per_block * 1000.0 / slo_p99_ms


def step_criteria(run, cap, max_message_count):
    """{criterion: passed} for one step's result (a RunResult)."""
    offered = run.offered_tps or 0.0
    window = run.window_s or 0.0
    block_slack = (float(max_message_count) / window) if window > 0 else 0.0
    c = {"valid": bool(run.valid) and not run.generator_bound,
         "achieved": run.delivered_tps is not None and offered > 0
         and run.delivered_tps >= cap.min_achieved * offered - block_slack,
         "p99": run.p99_ms is not None and run.p99_ms <= cap.slo_p99_ms,
         "backlog": run.backlog_growth_tps is not None
         and run.backlog_growth_tps <= cap.max_backlog_growth * offered + block_slack}
    return c


class Search:
    """Proposes rates one at a time; tell it whether each was sustained.
    Rates are rounded to whole tx/s."""

    def __init__(self, start, growth, precision, max_steps, floor=0.0):
        if start <= 0 or growth <= 1 or precision <= 0 or max_steps < 1 or floor < 0:
            raise ValueError("bad search parameters")
        self.start, self.growth, self.precision, self.max_steps = start, growth, precision, max_steps
        self.floor = floor
        self.hit_floor = False   # stopped because the next rate down was below the floor
        self.steps = []   # (rate, sustained)

    @property
    def lo(self):
        ok = [r for r, s in self.steps if s]
        return max(ok) if ok else None

    @property
    def hi(self):
        lo = self.lo
        bad = [r for r, s in self.steps if not s and (lo is None or r > lo)]
        return min(bad) if bad else None

    def capacity(self):
        return self.lo

    def done(self):
        if len(self.steps) >= self.max_steps:
            return True
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return hi / lo <= 1 + self.precision or self._next_bisect() in {r for r, _ in self.steps}
        return False

    def _next_bisect(self):
        return float(round(math.sqrt(self.lo * self.hi)))

    def next(self):
        """The next rate to measure, or None when done."""
        if self.done():
            return None
        if not self.steps:
            return float(round(self.start))
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return self._next_bisect()
        last, sustained = self.steps[-1]
        rate = last * self.growth if sustained else last / self.growth
        if not sustained and rate < self.floor:
            self.hit_floor = True
            return None
        if rate < 1:
            return None
        return float(round(rate))

    def tell(self, rate, sustained):
        self.steps.append((float(rate), bool(sustained)))

    def bracket(self):
        """(highest sustained, lowest failing above it): the capacity lies
        between; either may be None."""
        return self.lo, self.hi


class Confirmation:
    """Which share of a step search's capacity holds for a long run.

    A 10 s step can miss what a minute meets (a memtable flush whose write
    burst stalls the orderer's synced writes for about a second). This is a
    binary search over `levels` (ascending shares of the step capacity, for
    example 0.6 .. 1.0) for the highest one whose long run is sustained,
    assuming a higher rate fails whenever a lower one does:

      known                               next level tried
      ---------------------------------   --------------------------------
      nothing                             the middle one, rounded up
      level i held                        the middle of those above i
      level j failed                      the middle of those below j
      i held and j = i + 1 failed         none: the capacity is level i
    """

    def __init__(self, step_capacity, levels):
        if step_capacity <= 0 or not levels or sorted(levels) != list(levels):
            raise ValueError("bad confirmation parameters")
        self.step_capacity, self.levels = step_capacity, list(levels)
        self._held, self._failed = -1, len(levels)
        self._mid = None
        self.tried = []   # (rate, held)

    def rate(self, i):
        return float(round(self.levels[i] * self.step_capacity))

    def next(self):
        if self._failed - self._held <= 1:
            return None
        self._mid = (self._held + self._failed + 1) // 2
        return self.rate(self._mid)

    def tell(self, held):
        self.tried.append((self.rate(self._mid), bool(held)))
        if held:
            self._held = self._mid
        else:
            self._failed = self._mid

    def capacity(self):
        return self.rate(self._held) if self._held >= 0 else None
