"""The studies: each expands to a list of (label, config) runs, repeated.

A preset sets the run length and repetitions: `smoke` is for CI (minutes),
`full` for real measurements."""

PRESETS = {
    "smoke": {"duration_s": 6, "warmup_s": 2, "repetitions": 1},
    "full": {"duration_s": 30, "warmup_s": 10, "repetitions": 3},
}

PROFILES = ["baseline", "high-throughput", "low-latency", "balanced"]


def profiles(preset):
    """Baseline vs the three tuned profiles, each at a fixed rate (latency
    under the same offered load) and flat out (peak throughput)."""
    rate = 1000 if preset == "smoke" else 2000
    runs = []
    for load, r in (("rate", rate), ("peak", 0)):
        for p in PROFILES:
            runs.append((f"{p}/{load}", {"profile": p, "rate": r, "load": load}))
    return runs


# Producer settings that change acks must also turn idempotence off:
# librdkafka refuses enable.idempotence=true with acks other than all.
ACKS = {"all": {"acks": "all", "enable.idempotence": "true"},
        "1": {"acks": "1", "enable.idempotence": "false"},
        "0": {"acks": "0", "enable.idempotence": "false"}}


# The baseline profile's level of each swept factor (configs/profiles/
# baseline.properties and the runner's defaults): every sweep measures this
# same configuration once, so the report can show how it drifts over the study.
SWEEP_BASELINE = {"batch.size": "16384", "linger.ms": "0", "compression.type": "none", "acks": "all",
                  "tx_size": "1024", "peers": "3"}


def sweeps(preset):
    """Single-factor sweeps from the baseline profile, each value flat out
    (peak) and at a fixed rate (latency): batch.size, linger.ms, compression,
    acks, message size, number of peers."""
    rate = 1000 if preset == "smoke" else 2000
    if preset == "smoke":
        factors = {"batch.size": [16384, 131072], "linger.ms": [0, 25], "compression.type": ["none", "lz4"],
                   "acks": ["all", "1"], "tx_size": [1024, 4096], "peers": [1, 3]}
    else:
        factors = {"batch.size": [8192, 16384, 32768, 65536, 131072, 262144],
                   "linger.ms": [0, 5, 10, 25, 50, 100],
                   "compression.type": ["none", "lz4", "snappy", "zstd", "gzip"],
                   "acks": ["all", "1", "0"], "tx_size": [512, 1024, 4096, 16384], "peers": [1, 3, 10]}
    runs = []
    for factor, values in factors.items():
        for v in values:
            cfg = {"profile": "baseline", "factor": factor, "level": str(v)}
            if factor == "acks":
                cfg["producer"] = dict(ACKS[str(v)])
            elif factor in ("tx_size", "peers"):
                cfg[factor] = int(v)
            else:
                cfg["producer"] = {factor: str(v)}
            for load, r in (("rate", rate), ("peak", 0)):
                runs.append((f"{factor}={v}/{load}", dict(cfg, rate=r, load=load)))
    return runs


FACTORIAL = {"batch.size": ("16384", "131072"), "linger.ms": ("0", "25"), "compression.type": ("none", "lz4")}


def factorial(preset):
    """2^3 full factorial of batch.size x linger.ms x compression.type from
    the baseline profile, flat out (throughput) and at a fixed rate
    (latency); analysed by ANOVA with main effects and interactions."""
    rate = 1000 if preset == "smoke" else 2000
    runs = []
    for b in FACTORIAL["batch.size"]:
        for l in FACTORIAL["linger.ms"]:
            for c in FACTORIAL["compression.type"]:
                prod = {"batch.size": b, "linger.ms": l, "compression.type": c}
                for load, r in (("rate", rate), ("peak", 0)):
                    runs.append((f"b{b}-l{l}-{c}/{load}",
                                 {"profile": "baseline", "producer": prod, "rate": r, "load": load,
                                  "factorial": True}))
    return runs


def load_curve(preset):
    """Latency against offered load, per profile, from 500 tx/s up to and
    past saturation."""
    # Full: up to 20,000 tx/s, past the flat-out peak of every profile on
    # the 2-core development machine (13,000-20,000 tx/s end to end).
    rates = [500, 2000, 4000] if preset == "smoke" else [500, 1000, 2000, 4000, 6000, 8000, 11000, 14000, 17000, 20000]
    profiles_ = ["baseline", "high-throughput"] if preset == "smoke" else PROFILES
    return [(f"{p}@{r}", {"profile": p, "rate": r, "load": "rate", "raw_baseline": False})
            for p in profiles_ for r in rates]


def blocks(preset):
    """Block parameters: BatchTimeout and MaxMessageCount against
    throughput and latency, at a fixed rate and flat out."""
    timeouts = ["250ms", "2s"] if preset == "smoke" else ["100ms", "500ms", "1s", "2s"]
    counts = [100, 500] if preset == "smoke" else [10, 100, 500, 2000]
    rate = 1000 if preset == "smoke" else 2000
    runs = []
    for t in timeouts:
        for n in counts:
            for load, r in (("rate", rate), ("peak", 0)):
                runs.append((f"timeout={t},count={n}/{load}",
                             {"profile": "high-throughput", "batch_timeout": t, "max_message_count": n,
                              "rate": r, "load": load, "raw_baseline": False}))
    return runs


STUDIES = {
    "profiles": profiles,
    "sweeps": sweeps,
    "factorial": factorial,
    "load": load_curve,
    "blocks": blocks,
}


# Studies that need more repetitions than the preset gives (ANOVA needs
# replicates for its error term).
MIN_REPETITIONS = {"factorial": {"smoke": 2, "full": 3}}


def repetitions(study, preset):
    return max(PRESETS[preset]["repetitions"], MIN_REPETITIONS.get(study, {}).get(preset, 0))


def expand(study, preset):
    if study not in STUDIES:
        raise KeyError(f"unknown study '{study}' (known: {', '.join(sorted(STUDIES))})")
    if preset not in PRESETS:
        raise KeyError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
    p = PRESETS[preset]
    runs = []
    for rep in range(1, repetitions(study, preset) + 1):
        for label, cfg in STUDIES[study](preset):
            c = dict(cfg)
            # The raw-producer baseline is a throughput ceiling, so it runs
            # beside flat-out runs only: at a fixed rate the producer alone
            # just keeps up, and the pipeline run's own broker-ack latency
            # already shows the broker's share of the latency.
            if c.get("load") == "rate":
                c.setdefault("raw_baseline", False)
            c.setdefault("duration_s", p["duration_s"])
            c.setdefault("warmup_s", p["warmup_s"])
            runs.append((label, rep, c))
    return runs
