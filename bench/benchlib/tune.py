"""`bench tune`: a search over producer settings for a stated goal.

A candidate is one value per searched setting, run as a cell of a study: its
capacity search and, for min-p99, an open-loop run at the goal's rate. The
two figures a candidate is judged by come from the same cell runs:

  max-tps: the highest capacity, where the capacity's own p99 bound is the
           goal's (p99 is the p99 of the step at that capacity), or
  min-p99: the lowest p99 at the rate among candidates whose capacity is at
           least a bound.

The searched settings are producer properties and, by their Fabric names,
the orderer's MaxMessageCount and BatchTimeout (block cutting often decides
latency more than the producer does).

The search is a seeded hill climb on the grid of levels: measure the start
(the base profile's own settings), then the unmeasured neighbours (one
setting one level away) of the best candidate so far, best first being the
feasible one with the best objective, else the one nearest to feasible. When
every neighbour of the best has been measured it is a local optimum, and the
next candidate is drawn at random from the unmeasured grid. The budget counts
candidates.
"""
import math
import os
import random

from benchlib.record import write_json

# The settings searched by default and their levels, in order (neighbours
# are adjacent levels). acks stays as the profile sets it: relaxing
# durability is not a tuning choice the search should make silently.
DEFAULT_SPACE = {
    "batch.size": ["16384", "32768", "65536", "131072", "262144"],
    "linger.ms": ["0", "1", "5", "10", "25", "50"],
    "compression.type": ["none", "lz4", "snappy", "zstd", "gzip"],
}

# Orderer (block-cutting) settings a search may also vary, by their Fabric
# names, and the run-configuration keys they set; every other name is a
# producer property.
BLOCK_SETTINGS = {"MaxMessageCount": "max_message_count", "BatchTimeout": "batch_timeout"}

GOALS = ("max-tps", "min-p99")


def split(cand):
    """(producer properties, run-configuration overrides) of a candidate."""
    producer = {k: v for k, v in cand.items() if k not in BLOCK_SETTINGS}
    block = {BLOCK_SETTINGS[k]: (int(v) if k == "MaxMessageCount" else v) for k, v in cand.items()
             if k in BLOCK_SETTINGS}
    return producer, block


class SpecError(ValueError):
    pass


def parse_space(spec):
    """'batch.size=16384,65536;linger.ms=0,5' -> ordered dict of levels.
    An empty spec is the default space."""
    if not spec:
        return {k: list(v) for k, v in DEFAULT_SPACE.items()}
    space = {}
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, values = part.partition("=")
        levels = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not name.strip() or not levels:
            raise SpecError(f"bad --space entry '{part}': expected NAME=V1,V2,...")
        if name.strip() in space:
            raise SpecError(f"--space names '{name.strip()}' twice")
        if len(set(levels)) != len(levels):
            raise SpecError(f"--space '{name.strip()}' repeats a level")
        space[name.strip()] = levels
    if not space:
        raise SpecError("--space is empty")
    return space


def start_point(space, profile_props, defaults=None):
    """The profile's own value of each searched setting (for block settings,
    `defaults`, keyed by run-configuration key); a value the grid lacks is
    inserted in order (numeric where it can be) so the start is on the grid.
    A setting with no value starts at its first level."""
    start = {}
    for name, levels in space.items():
        v = profile_props.get(name)
        if name in BLOCK_SETTINGS and defaults and BLOCK_SETTINGS[name] in defaults:
            v = str(defaults[BLOCK_SETTINGS[name]])
        if v is None:
            start[name] = levels[0]
            continue
        if v not in levels:
            try:
                levels.append(v)
                levels.sort(key=float)
            except ValueError:
                levels.remove(v)
                levels.insert(0, v)
        start[name] = v
    return start


def key(cand):
    return tuple(sorted(cand.items()))


def label(cand):
    short = {"batch.size": "b", "linger.ms": "l", "compression.type": "c", "MaxMessageCount": "n",
             "BatchTimeout": "t"}
    return "-".join(f"{short.get(k, k + '=')}{v}" for k, v in cand.items())


def neighbours(space, cand):
    out = []
    for name, levels in space.items():
        i = levels.index(cand[name])
        for j in (i - 1, i + 1):
            if 0 <= j < len(levels):
                out.append(dict(cand, **{name: levels[j]}))
    return out


class Goal:
    def __init__(self, goal, p99_max_ms=None, tps_min=None):
        if goal not in GOALS:
            raise SpecError(f"unknown goal '{goal}' (known: {', '.join(GOALS)})")
        if goal == "max-tps" and (p99_max_ms is None or p99_max_ms <= 0):
            raise SpecError("--goal max-tps needs --p99-max-ms > 0")
        if goal == "min-p99" and (tps_min is None or tps_min <= 0):
            raise SpecError("--goal min-p99 needs --tps-min > 0")
        self.goal, self.p99_max_ms, self.tps_min = goal, p99_max_ms, tps_min

    def describe(self, rate=None):
        if self.goal == "max-tps":
            return f"the highest capacity with p99 <= {self.p99_max_ms:g} ms (at the capacity step)"
        return f"the lowest p99 at {rate:,.0f} tx/s with capacity >= {self.tps_min:,.0f} tx/s"

    def feasible(self, r):
        if math.isnan(r["tps"]) or math.isnan(r["p99"]):
            return False
        if self.goal == "max-tps":
            return r["p99"] <= self.p99_max_ms
        return r["tps"] >= self.tps_min

    def violation(self, r):
        """How far from feasible, relative to the bound (0 when feasible)."""
        if self.goal == "max-tps":
            return max(0.0, r["p99"] / self.p99_max_ms - 1)
        return max(0.0, 1 - r["tps"] / self.tps_min)

    def rank(self, r):
        """Sort key: lower is better."""
        if math.isnan(r["tps"]) or math.isnan(r["p99"]):
            return (2, 0.0)
        if self.feasible(r):
            return (0, -r["tps"] if self.goal == "max-tps" else r["p99"])
        return (1, self.violation(r))

    def best(self, results):
        """The best result (feasible first), or None."""
        return min(results, key=self.rank) if results else None


class Search:
    """Proposes candidates one at a time; tell it each result."""

    def __init__(self, space, start, goal, seed=1):
        self.space, self.start, self.goal = space, start, goal
        self.rng = random.Random(seed)
        self.results = []   # dicts: cand, tps, p99, ...
        self.seen = set()

    def grid_size(self):
        n = 1
        for levels in self.space.values():
            n *= len(levels)
        return n

    def next(self):
        """The next candidate to measure, or None when the grid is spent."""
        if not self.results:
            return dict(self.start)
        best = self.goal.best(self.results)
        fresh = [c for c in neighbours(self.space, best["cand"]) if key(c) not in self.seen]
        if fresh:
            return self.rng.choice(fresh)
        unseen = self._unseen()
        return self.rng.choice(unseen) if unseen else None

    def _unseen(self):
        cands = [{}]
        for name, levels in self.space.items():
            cands = [dict(c, **{name: v}) for c in cands for v in levels]
        return [c for c in cands if key(c) not in self.seen]

    def tell(self, cand, tps, p99, **extra):
        self.seen.add(key(cand))
        r = {"cand": dict(cand), "tps": tps, "p99": p99, **extra}
        self.results.append(r)
        return r


def write_best(out, profile, base, search, goal, rate):
    """tune.json (every candidate, the best) and best.properties: the base
    profile with the best candidate's settings, ready for peer-sim --profile."""
    best = goal.best(search.results)
    feasible = goal.feasible(best)
    write_json(os.path.join(out, "tune.json"), {"best": best, "best_feasible": feasible, "candidates": search.results})
    producer, block = split(best["cand"])
    props = dict(base, **producer)
    at = "at its capacity step" if goal.goal == "max-tps" else f"at {rate:,} tx/s"
    with open(os.path.join(out, "best.properties"), "w") as f:
        f.write(f"# bench tune: the best candidate found from the '{profile}' profile\n")
        f.write(f"# (capacity {best['tps']:,.0f} tx/s, p99 {best['p99']:.1f} ms {at}, same cell runs; "
                f"{'meets' if feasible else 'does NOT meet'} the goal)\n")
        flags = {"max_message_count": "--max-message-count", "batch_timeout": "--batch-timeout"}
        if block:
            f.write("# orderer: " + " ".join(f"{flags[k]} {v}" for k, v in block.items()) + "\n")
        for k, v in props.items():
            f.write(f"{k}={v}\n")
