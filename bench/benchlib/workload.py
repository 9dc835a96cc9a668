"""A study as a data file: bench/workloads/<name>.yaml.

A workload names the transaction size, peers, block settings, how capacity
is searched, at which fractions of it latency is read, how many repetitions
and its cells: the configurations compared (in an order shuffled per
repetition with a seed each study draws for itself). Cells come as an explicit list (`cells`), a full factorial
(`grid`) or one-factor-at-a-time moves from a base (`sweep`). A preset
(`presets.smoke`, `presets.full`) overrides any of these keys.

A cell's settings are named as a user would name them:
  - `profile`: configs/profiles/<name>.properties (producer settings, and
    `broker.*` lines: the profile's broker part);
  - a librdkafka producer property (`batch.size`, `linger.ms`, ...);
  - `tx_size`, `peers`;
  - `block.max_message_count`, `block.batch_timeout`,
    `block.preferred_max_bytes`: the channel's block cutting;
  - `broker.<property>`: a broker setting (the brokers restart when it
    changes between cells);
  - `consumer.<property>`: a librdkafka property of the Kafka orderer's
    consumer (orderer --consumer-prop; its producer takes the cell's
    producer properties with Broadcast drivers);
  - `raft.heartbeat_ms`, `raft.election_timeout_ms`: the Raft nodes'
    timing, over the driver's;
  - `recovery.target`: what a recovery run kills: `leader` (the default:
    the Raft leader, or the broker leading the channel's partition) or
    `orderer` (Kafka with several orderers: the one the peers use first);
  - `driver`: the ordering service this cell runs on (bench/drivers/<name>,
    e.g. solo, raft-3, kafka-3-broadcast), when not the workload's: a
    comparison of backends is one study whose cells name their drivers,
    interleaved like any other cells;
  - `ack`: what Broadcast's SUCCESS promises on this cell (durable or
    accepted; the orderer's --ack), when not its driver's.
A level may be a mapping of several settings with a `label` (for example
acks=1, which librdkafka allows only with idempotence off).

Everything is checked when the file is loaded, so a typo names itself
before any run starts."""
import copy
import dataclasses
import itertools
import os

import yaml

from benchlib import drivers, properties
from benchlib.workload_model import (Calibrate, Capacity, Cell, Latency, Recovery, Warmup,  # noqa: F401 (wl.Cell, ...)
                                     Workload, WorkloadError)

WORKLOAD_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "workloads")
PROFILE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "configs", "profiles")

BLOCK_KEYS = ("max_message_count", "batch_timeout", "preferred_max_bytes")
TOP_KEYS = {"name", "description", "driver", "tx_size", "peers", "block", "capacity", "latency", "warmup",
            "repetitions", "seed", "raw_baseline", "calibrate", "cells", "grid", "sweep", "presets",
            "outliers", "notes", "cells_only", "recovery"}
CAPACITY_KEYS = {"slo_p99_ms", "start_rate", "growth", "precision", "max_steps", "step_window_s",
                 "warmup_max_s", "min_achieved", "max_backlog_growth", "confirm_window_s",
                 "confirm_levels", "retry_first_failure"}
LATENCY_KEYS = {"fractions", "rates", "window_s", "warmup_max_s", "capacity_from"}
WARMUP_KEYS = {"steady_window_s", "tolerance"}
CALIBRATE_KEYS = {"cells", "repetitions", "records"}
RECOVERY_KEYS = {"fraction", "rate", "window_s", "warmup_s", "kill_after_s", "full_rate"}
RECOVERY_TARGETS = ("leader", "orderer")


def _merge(base, over):
    """Deep merge of mappings (a preset over the workload); a preset's
    `factors` replace the workload's whole."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "factors":
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _dataclass(cls, data, where, known):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise WorkloadError(f"{where}: expected a mapping, got {data!r}")
    unknown = set(data) - known
    if unknown:
        raise WorkloadError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    try:
        obj = cls(**data)
    except TypeError as e:
        raise WorkloadError(f"{where}: {e}") from None
    for f in dataclasses.fields(cls):
        v = getattr(obj, f.name)
        if f.type in (float, int) and not isinstance(v, (int, float)):
            raise WorkloadError(f"{where}.{f.name}: expected a number, got {v!r}")
    return obj


def _check_positive(where, **values):
    for k, v in values.items():
        if v is None or v <= 0:
            raise WorkloadError(f"{where}.{k} must be positive, got {v!r}")


def profile_path(name):
    return os.path.join(PROFILE_DIR, f"{name}.properties")


def read_profile(name):
    """(producer properties, broker properties) of configs/profiles/<name>;
    broker.* lines are the profile's broker part."""
    path = profile_path(name)
    if not os.path.isfile(path):
        raise WorkloadError(f"no profile '{name}' ({path})")
    try:
        settings = properties.read(path)
    except properties.PropertiesError as e:
        raise WorkloadError(str(e)) from None
    producer, broker = {}, {}
    for k, v in settings.items():
        if k.startswith("broker."):
            broker[k[len("broker."):]] = v
        else:
            producer[k] = v
    return producer, broker


def apply_setting(cell, key, value):
    """Sets one named setting (see the module comment) on a cell."""
    value = value if not isinstance(value, bool) else str(value).lower()
    if key == "profile":
        cell.profile = str(value)
    elif key == "driver":
        cell.driver = str(value)
    elif key == "ack":
        if str(value) not in drivers.ACKS:
            raise WorkloadError(f"ack must be one of {', '.join(drivers.ACKS)}, not {value!r}")
        cell.ack = str(value)
    elif key in ("tx_size", "peers"):
        try:
            setattr(cell, key, int(value))
        except (TypeError, ValueError):
            raise WorkloadError(f"{key} must be an integer, got {value!r}") from None
    elif key.startswith("block."):
        k = key[len("block."):]
        if k not in BLOCK_KEYS:
            raise WorkloadError(f"unknown block setting '{key}' (known: {', '.join('block.' + b for b in BLOCK_KEYS)})")
        cell.block[k] = value
    elif key.startswith("broker."):
        cell.broker[key[len("broker."):]] = str(value)
    elif key.startswith("consumer."):
        cell.consumer[key[len("consumer."):]] = str(value)
    elif key.startswith("raft."):
        k = key[len("raft."):]
        if k not in drivers.RAFT_KEYS:
            raise WorkloadError(f"unknown raft setting '{key}' (known: "
                                f"{', '.join('raft.' + r for r in sorted(drivers.RAFT_KEYS))})")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise WorkloadError(f"{key} must be a positive whole number of ms, got {value!r}")
        cell.raft[k] = value
    elif key == "recovery.target":
        if value not in RECOVERY_TARGETS:
            raise WorkloadError(f"recovery.target must be one of {', '.join(RECOVERY_TARGETS)}, not {value!r}")
        cell.recovery_target = str(value)
    elif key in ("name", "label"):
        raise WorkloadError(f"'{key}' is not a setting")
    else:
        cell.producer[key] = str(value)


def _level(factor, level):
    """(label, {setting: value}) of one level of a factor."""
    if isinstance(level, dict):
        settings = {k: v for k, v in level.items() if k != "label"}
        if not settings:
            raise WorkloadError(f"factor {factor}: a level mapping sets nothing: {level!r}")
        label = level.get("label") or ",".join(f"{k}={v}" for k, v in settings.items())
        return str(label), settings
    v = str(level).lower() if isinstance(level, bool) else level
    return str(v), {factor: v}


def _factor_levels(factors, where):
    if not isinstance(factors, dict) or not factors:
        raise WorkloadError(f"{where}.factors: expected a mapping of factor -> levels")
    out = {}
    for f, levels in factors.items():
        if not isinstance(levels, list) or len(levels) < 2:
            raise WorkloadError(f"{where}.factors.{f}: give two or more levels")
        lv = [_level(f, x) for x in levels]
        labels = [label for label, _ in lv]
        if len(set(labels)) != len(labels):
            raise WorkloadError(f"{where}.factors.{f}: a level is repeated")
        out[f] = lv
    return out


def _make_cell(name, base_settings, wl_defaults):
    cell = Cell(name=name, tx_size=wl_defaults["tx_size"], peers=wl_defaults["peers"])
    for k, v in base_settings.items():
        apply_setting(cell, k, v)
    return cell


def _short(factor):
    return {"batch.size": "b", "linger.ms": "l", "compression.type": "c", "block.max_message_count": "n",
            "block.batch_timeout": "t"}.get(factor)


def _grid_name(choice):
    parts = []
    for f, (label, _) in choice:
        s = _short(f)
        parts.append(f"{s}{label}" if s else f"{f}={label}")
    return "-".join(parts)


def load(name_or_path, preset="full"):
    """Reads, merges the preset into, checks and expands a workload."""
    path = name_or_path
    if not os.path.isfile(path):
        path = os.path.join(WORKLOAD_DIR, f"{name_or_path}.yaml")
    if not os.path.isfile(path):
        known = sorted(f[:-5] for f in os.listdir(WORKLOAD_DIR) if f.endswith(".yaml"))
        raise WorkloadError(f"no workload '{name_or_path}' (known: {', '.join(known)}; or give a .yaml path)")
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise WorkloadError(f"{path}: not valid YAML: {e}") from None
    return from_dict(data, preset, path)


def from_dict(data, preset="full", path="<workload>"):
    if not isinstance(data, dict):
        raise WorkloadError(f"{path}: expected a mapping at the top")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise WorkloadError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(sorted(TOP_KEYS))})")
    presets = data.get("presets") or {}
    if preset not in ("full",) + tuple(presets):
        raise WorkloadError(f"{path}: no preset '{preset}' (known: full{''.join(', ' + p for p in presets)})")
    if preset != "full":
        over = presets[preset]
        if not isinstance(over, dict):
            raise WorkloadError(f"{path}: presets.{preset}: expected a mapping")
        if set(over) - TOP_KEYS:
            raise WorkloadError(f"{path}: presets.{preset}: unknown key(s) {', '.join(sorted(set(over) - TOP_KEYS))}")
        data = _merge({k: v for k, v in data.items() if k != "presets"}, over)
    for k in ("name", "driver"):
        if not data.get(k):
            raise WorkloadError(f"{path}: '{k}' is required")
    defaults = {"tx_size": int(data.get("tx_size", 1024)), "peers": int(data.get("peers", 3))}
    block = dict({"max_message_count": 500, "batch_timeout": "2s", "preferred_max_bytes": "2MB"},
                 **(data.get("block") or {}))
    if set(block) - set(BLOCK_KEYS):
        raise WorkloadError(f"{path}: block: unknown key(s) {', '.join(sorted(set(block) - set(BLOCK_KEYS)))}")
    if isinstance(data.get("capacity"), dict) and "repeat_growth" in data["capacity"]:
        raise WorkloadError(f"{path}: capacity.repeat_growth is gone: starting a repetition's search from the "
                            "previous capacity made the repetitions depend on each other; every search now "
                            "starts at capacity.start_rate")
    capacity = _dataclass(Capacity, data.get("capacity"), f"{path}: capacity", CAPACITY_KEYS)
    latency = _dataclass(Latency, data.get("latency"), f"{path}: latency", LATENCY_KEYS)
    warmup = _dataclass(Warmup, data.get("warmup"), f"{path}: warmup", WARMUP_KEYS)
    calibrate = _dataclass(Calibrate, data.get("calibrate"), f"{path}: calibrate", CALIBRATE_KEYS)
    recovery = _dataclass(Recovery, data.get("recovery"), f"{path}: recovery", RECOVERY_KEYS)
    if recovery.fraction or recovery.rate:
        if recovery.fraction and recovery.rate:
            raise WorkloadError(f"{path}: recovery: give a fraction of the capacity or a fixed rate, not both")
        if recovery.rate < 0 or (recovery.fraction and not 0 < recovery.fraction <= 1):
            raise WorkloadError(f"{path}: recovery.fraction must be in (0, 1] (a share of the capacity), "
                                "recovery.rate a positive rate (tx/s)")
        _check_positive(f"{path}: recovery", window_s=recovery.window_s, kill_after_s=recovery.kill_after_s)
        if not recovery.warmup_s < recovery.kill_after_s < recovery.warmup_s + recovery.window_s:
            raise WorkloadError(f"{path}: recovery.kill_after_s must fall inside the measured window "
                                f"({recovery.warmup_s:g} s to {recovery.warmup_s + recovery.window_s:g} s)")
        if not 0 < recovery.full_rate <= 1:
            raise WorkloadError(f"{path}: recovery.full_rate must be in (0, 1]")
    _check_positive(f"{path}: capacity", slo_p99_ms=capacity.slo_p99_ms, start_rate=capacity.start_rate,
                    step_window_s=capacity.step_window_s, precision=capacity.precision,
                    warmup_max_s=capacity.warmup_max_s)
    if not isinstance(capacity.max_steps, int) or capacity.max_steps < 0:
        raise WorkloadError(f"{path}: capacity.max_steps must be a whole number, 0 for no search")
    if capacity.confirm_window_s < 0:
        raise WorkloadError(f"{path}: capacity.confirm_window_s must not be negative")
    lv = capacity.confirm_levels
    if not isinstance(lv, list) or not lv or not all(isinstance(x, (int, float)) and 0 < x <= 1 for x in lv) \
            or sorted(set(lv)) != lv:
        raise WorkloadError(f"{path}: capacity.confirm_levels must be ascending shares in (0, 1], e.g. [0.8, 0.9, 1.0]")
    if capacity.growth <= 1:
        raise WorkloadError(f"{path}: capacity.growth must be above 1")
    if not isinstance(latency.fractions, list) or not all(isinstance(x, (int, float)) and 0 < x <= 2
                                                          for x in latency.fractions):
        raise WorkloadError(f"{path}: latency.fractions must be a list of numbers in (0, 2]")
    if not isinstance(latency.rates, list) or not all(isinstance(x, (int, float)) and x > 0 for x in latency.rates):
        raise WorkloadError(f"{path}: latency.rates must be a list of positive rates (tx/s)")
    _check_positive(f"{path}: latency", window_s=latency.window_s, warmup_max_s=latency.warmup_max_s)
    cf = latency.capacity_from
    if not (isinstance(cf, str) or (isinstance(cf, list) and cf and all(isinstance(x, str) and x for x in cf))):
        raise WorkloadError(f"{path}: latency.capacity_from must be a study folder or a list of them")
    if latency.capacity_from and capacity.max_steps != 0:
        raise WorkloadError(f"{path}: latency.capacity_from reuses another study's capacities: set "
                            "capacity.max_steps: 0 (no search of its own)")
    if latency.capacity_from and not latency.fractions:
        raise WorkloadError(f"{path}: latency.capacity_from needs latency.fractions to take of those capacities")
    if capacity.max_steps == 0 and not latency.capacity_from and (latency.fractions or not latency.rates):
        raise WorkloadError(f"{path}: without a capacity search (capacity.max_steps: 0) there is no capacity to "
                            "take fractions of: give latency.rates and no latency.fractions, or "
                            "latency.capacity_from (a capacity study's folder)")
    reps = data.get("repetitions", 5)
    if not isinstance(reps, int) or reps < 1:
        raise WorkloadError(f"{path}: repetitions must be a positive integer")
    if "seed" in data:
        raise WorkloadError(f"{path}: seed is not a workload setting: every `bench run` of a new study draws its own "
                            "(recorded in study.json, kept by --resume); `bench run --seed N` repeats an order")

    designs = [k for k in ("cells", "grid", "sweep") if data.get(k)]
    if len(designs) != 1:
        raise WorkloadError(f"{path}: give exactly one of cells, grid, sweep")
    design = designs[0]
    cells, factors, base_name = [], {}, None
    if design == "cells":
        for i, c in enumerate(data["cells"]):
            if not isinstance(c, dict) or not c.get("name"):
                raise WorkloadError(f"{path}: cells[{i}]: expected a mapping with a name")
            cells.append(_make_cell(str(c["name"]), {k: v for k, v in c.items() if k != "name"}, defaults))
    elif design == "grid":
        g = data["grid"]
        lv = _factor_levels(g.get("factors"), f"{path}: grid")
        factors = {f: [label for label, _ in levels] for f, levels in lv.items()}
        for combo in itertools.product(*[[(f, x) for x in levels] for f, levels in lv.items()]):
            settings = dict(g.get("base") or {})
            for _, (_, s) in combo:
                settings.update(s)
            cell = _make_cell(_grid_name(combo), settings, defaults)
            cell.factors = {f: label for f, (label, _) in combo}
            cells.append(cell)
    else:
        s = data["sweep"]
        base_settings = dict(s.get("base") or {})
        base_name = str(s.get("base_name", "base"))
        lv = _factor_levels(s.get("factors"), f"{path}: sweep")
        factors = {f: [label for label, _ in levels] for f, levels in lv.items()}
        base = _make_cell(base_name, base_settings, defaults)
        cells.append(base)
        for f, levels in lv.items():
            for label, settings in levels:
                cell = _make_cell(f"{f}={label}", dict(base_settings, **settings), defaults)
                if _same_settings(cell, base):
                    base.factors[f] = label   # this level is the base: measured once, as the base cell
                    continue
                cell.factors = {f: label}
                cell.sweep_factor = f
                cells.append(cell)
        for f in lv:
            if f not in base.factors:
                raise WorkloadError(f"{path}: sweep factor {f} has no level equal to the base "
                                    "(each sweep is read against the base cell)")
    only = data.get("cells_only")
    if only:
        missing = [n for n in only if n not in [c.name for c in cells]]
        if missing:
            raise WorkloadError(f"{path}: cells_only names unknown cell(s) {', '.join(missing)}")
        cells = [c for c in cells if c.name in only]
    names = [c.name for c in cells]
    if len(set(names)) != len(names):
        raise WorkloadError(f"{path}: two cells share a name")
    for c in cells:
        if c.tx_size < 300:
            raise WorkloadError(f"{path}: cell {c.name}: tx_size below 300 bytes")
        if c.peers < 1:
            raise WorkloadError(f"{path}: cell {c.name}: peers must be at least 1")
        read_profile(c.profile)  # exists and parses
        try:
            d = drivers.load_driver(c.driver or str(data["driver"]))
        except drivers.DriverError as e:
            raise WorkloadError(f"{path}: cell {c.name}: {e}") from None
        _check_driver_settings(c, d, path)
    _refuse_identical(cells, path)
    for n in calibrate.cells:
        if n not in names:
            raise WorkloadError(f"{path}: calibrate.cells names unknown cell '{n}'")
    return Workload(name=str(data["name"]), description=" ".join(str(data.get("description", "")).split()),
                    driver=str(data["driver"]), tx_size=defaults["tx_size"], peers=defaults["peers"],
                    block=block, capacity=capacity, latency=latency, warmup=warmup, repetitions=reps,
                    raw_baseline=bool(data.get("raw_baseline", False)), calibrate=calibrate,
                    cells=cells, design=design, factors=factors, base=base_name, preset=preset, path=path,
                    notes=" ".join(str(data.get("notes", "")).split()), recovery=recovery)


def _check_driver_settings(cell, driver, path):
    """A cell's consumer, raft and recovery settings apply to its driver."""
    where = f"{path}: cell {cell.name}"
    if cell.consumer and driver["backend"] != "kafka":
        raise WorkloadError(f"{where}: consumer.* settings are the Kafka orderer's; its driver runs {driver['backend']}")
    if cell.raft and driver["backend"] != "raft":
        raise WorkloadError(f"{where}: raft.* settings on driver {driver['name']} ({driver['backend']})")
    if cell.recovery_target == "orderer" and driver.get("orderers", 1) < 2:
        raise WorkloadError(f"{where}: recovery.target orderer kills the orderer the peers use first, which needs "
                            f"a driver with orderers: 2 or more ({driver['name']} has one)")


def effective(cell, workload_block):
    """Everything a cell runs with, as one comparable mapping: the profile's
    producer and broker parts with the cell's overrides, block settings,
    size and peers."""
    producer, broker = read_profile(cell.profile)
    out = {"producer": dict(producer, **cell.producer), "broker": dict(broker, **cell.broker),
           "block": {k: str(v) for k, v in cell.block_settings(workload_block).items()},
           "tx_size": cell.tx_size, "peers": cell.peers}
    if cell.driver:
        out["driver"] = cell.driver   # only when a cell names one: older studies' records stay comparable
    # Likewise only when set.
    for key, value in (("ack", cell.ack), ("consumer", cell.consumer), ("raft", cell.raft),
                       ("recovery_target", cell.recovery_target)):
        if value:
            out[key] = dict(value) if isinstance(value, dict) else value
    return out


def _same_settings(a, b):
    return effective(a, {}) == effective(b, {})


def _refuse_identical(cells, path):
    """Two cells that would run exactly the same settings compare nothing
    with nothing (a profile identical to another is refused)."""
    seen = {}
    for c in cells:
        key = repr(sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in effective(c, {}).items()))
        if key in seen:
            raise WorkloadError(f"{path}: cells '{seen[key]}' and '{c.name}' run identical settings "
                                f"(profile {c.profile}: check configs/profiles; a profile may differ in its "
                                "broker.* part)")
        seen[key] = c.name
