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


STUDIES = {
    "profiles": profiles,
}


def expand(study, preset):
    if study not in STUDIES:
        raise KeyError(f"unknown study '{study}' (known: {', '.join(sorted(STUDIES))})")
    if preset not in PRESETS:
        raise KeyError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
    p = PRESETS[preset]
    runs = []
    for rep in range(1, p["repetitions"] + 1):
        for label, cfg in STUDIES[study](preset):
            c = dict(cfg)
            c.setdefault("duration_s", p["duration_s"])
            c.setdefault("warmup_s", p["warmup_s"])
            runs.append((label, rep, c))
    return runs
