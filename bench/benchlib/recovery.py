"""What a recovery run's raw report says: when blocks came again after the
leader was killed, and when the delivered rate was back (pure functions:
the study computes them as the run ends, the report again from the
study's folder)."""


def recovery_from_report(report, kill_ms, rate, full_rate):
    """recovery_figures of a recovery run's peer-sim report (its blocks'
    arrival times and per-second series)."""
    clock = report.get("clock") or {}
    series = report.get("series") or []
    # Blocks were due while peers submitted: until the last second before
    # the drain (in the drain only lost transactions are awaited, and no
    # block need come).
    busy = [p for p in series if p.get("phase") != "drain"]
    end_ms = clock.get("start_unix_ms", 0) + 1000.0 * busy[-1]["t"] if busy and clock else None
    return recovery_figures(report.get("block_unix_ms") or [], kill_ms, series, clock.get("start_unix_ms", 0),
                            rate, full_rate, end_ms=end_ms)


def recovery_figures(block_ms, kill_ms, series=(), start_unix_ms=0, offered=None, full_rate=0.9, end_ms=None):
    """From a recovery run's block arrival times (unix ms) and per-second
    series: `first_block_ms` (kill -> the first block after it; a block
    committed before the kill can still arrive just after it),
    `recovery_ms` (kill -> the block that ends the longest silence after
    the kill: the service ordering again), `silence_ms`, `full_rate_ms`
    (kill -> the end of the first second, wholly after the kill, that
    begins two seconds delivering together >= 2 x full_rate x offered: an
    upper bound at 1 s resolution, never before the recovery; two seconds,
    because whole blocks arrive, so one second of a steady run may hold a
    block less than the rate) and how many blocks came
    after the kill. `end_ms`: when submitting ended (the drain's start); a
    silence from the last block to then that is the longest means the
    service had not recovered: no recovery figure."""
    # Blocks in the drain (the last partial batch cut on its timeout) say
    # nothing about recovering under load: only those up to end_ms count.
    after = sorted(t for t in block_ms if t >= kill_ms and (end_ms is None or t <= end_ms))
    out = {"first_block_ms": None, "recovery_ms": None, "silence_ms": None, "full_rate_ms": None,
           "blocks_after": len(after)}
    if not after:
        return out
    out["first_block_ms"] = after[0] - kill_ms
    prev, longest, end = kill_ms, -1.0, None
    for t in after:
        if t - prev > longest:
            longest, end = t - prev, t
        prev = t
    if end_ms is not None and end_ms - prev > longest:
        out["silence_ms"] = end_ms - prev   # still silent when the run ended
        return out
    out["silence_ms"], out["recovery_ms"] = longest, end - kill_ms
    if offered and series and start_unix_ms:
        need = full_rate * offered
        pts = [(start_unix_ms + 1000.0 * (p["t"] - 1), p.get("delivered", 0)) for p in series]  # second starts
        for (t0, d0), (_, d1) in zip(pts, pts[1:]):
            if t0 >= kill_ms and d0 + d1 >= 2 * need:
                out["full_rate_ms"] = max(t0 + 1000.0 - kill_ms, out["recovery_ms"])
                break
    return out
