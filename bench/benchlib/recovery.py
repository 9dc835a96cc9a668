"""What a recovery run's raw report says: when blocks came again after the
leader was killed, and when the delivered rate was back (pure functions:
the study computes them as the run ends, the report again from the
study's folder)."""


def recovery_from_report(report, kill_ms, rate, full_rate):
    """recovery_figures of a recovery run's peer-sim report (its blocks'
    arrival times and per-second series)."""
    clock = report.get("clock") or {}
    series = report.get("series") or []
    # Blocks were due while peers submitted: until the end of the measured
    # window and its cooldown (in the drain only lost transactions are
    # awaited, and no block need come). Reports without the window: until
    # the end of the last second before the drain, which may be up to a
    # second after submitting ended.
    busy = [p for p in series if p.get("phase") != "drain"]
    cooldown = (report.get("config") or {}).get("cooldown_ms")
    if clock.get("measure_to_unix_ms") and cooldown is not None:
        end_ms = clock["measure_to_unix_ms"] + cooldown
    else:
        end_ms = clock.get("start_unix_ms", 0) + 1000.0 * busy[-1]["t"] if busy and clock else None
    return recovery_figures(report.get("block_unix_ms") or [], kill_ms, series, clock.get("start_unix_ms", 0),
                            rate, full_rate, end_ms=end_ms)


def recovery_figures(block_ms, kill_ms, series=(), start_unix_ms=0, offered=None, full_rate=0.9, end_ms=None):
    """From a recovery run's block arrival times (unix ms) and per-second
    series: `first_block_ms` (kill -> the first block after it; a block
    committed before the kill can still arrive just after it),
    `recovery_ms` (kill -> the block that ends the longest silence after
    the kill: the service ordering again; the first block when no gap after
    the kill is longer than blocks are normally apart), `silence_ms`, `full_rate_ms`
    (kill -> the end of the first second, wholly after the kill, that
    begins two seconds delivering together >= 2 x full_rate x offered: an
    upper bound at 1 s resolution, never before the recovery; two seconds,
    because whole blocks arrive, so one second of a steady run may hold a
    block less than the rate) and how many blocks came
    after the kill. `end_ms`: when submitting ended (the drain's start); a
    silence from the last block to then that is the longest means the
    service had not recovered: no recovery figure.

    The longest silence is a fair mark when the kill stops the service for
    longer than blocks are apart; when it hardly stops it (peers failing
    over to a second orderer within 0.1 s), the longest silence is any gap
    between two blocks, perhaps half a minute later. So also
    `resumed_ms`: kill -> the first block after the kill from which blocks
    keep coming, no two more than `gap_ms` apart, for `hold_ms` (or until
    submitting ended), where `gap_ms` is three times the blocks' median
    spacing before the kill, at least 300 ms; and `resumed_full_rate_ms`:
    the full-rate second as above, never before `resumed_ms`."""
    # Blocks in the drain (the last partial batch cut on its timeout) say
    # nothing about recovering under load: only those up to end_ms count.
    after = sorted(t for t in block_ms if t >= kill_ms and (end_ms is None or t <= end_ms))
    out = {"first_block_ms": None, "recovery_ms": None, "silence_ms": None, "full_rate_ms": None,
           "resumed_ms": None, "resumed_full_rate_ms": None, "blocks_after": len(after)}
    if not after:
        return out
    out["first_block_ms"] = after[0] - kill_ms
    before = sorted(t for t in block_ms if t < kill_ms)
    resumed = resumed_at(before, after, end_ms)
    out["resumed_ms"] = None if resumed is None else resumed - kill_ms
    second_ms = _full_rate_second(kill_ms, series, start_unix_ms, offered, full_rate)
    if second_ms is not None and out["resumed_ms"] is not None:
        out["resumed_full_rate_ms"] = max(second_ms, out["resumed_ms"])
    prev, longest, end = kill_ms, -1.0, None
    for t in after:
        if t - prev > longest:
            longest, end = t - prev, t
        prev = t
    gap = normal_gap(before)
    if end_ms is not None and end_ms - prev > max(longest, gap):
        out["silence_ms"] = end_ms - prev   # still silent when the run ended
        return out
    if longest <= gap:
        # No gap after the kill longer than blocks are normally apart: the service hardly stopped,
        # and the longest gap is only the spacing's jitter (it may come long after the kill).
        longest, end = after[0] - kill_ms, after[0]
    out["silence_ms"], out["recovery_ms"] = longest, end - kill_ms
    if second_ms is not None:
        out["full_rate_ms"] = max(second_ms, out["recovery_ms"])
    return out


def _full_rate_second(kill_ms, series, start_unix_ms, offered, full_rate):
    """kill -> the end of the first second, wholly after the kill, that
    begins two seconds delivering together >= 2 x full_rate x offered; None
    when there is none (or no series)."""
    if not (offered and series and start_unix_ms):
        return None
    need = full_rate * offered
    pts = [(start_unix_ms + 1000.0 * (p["t"] - 1), p.get("delivered", 0)) for p in series]  # second starts
    for (t0, d0), (_, d1) in zip(pts, pts[1:]):
        if t0 >= kill_ms and d0 + d1 >= 2 * need:
            return t0 + 1000.0 - kill_ms
    return None


# resumed_at's bounds: blocks no further apart than GAP_FACTOR x their spacing before the kill (at
# least MIN_GAP_MS) for HOLD_MS.
GAP_FACTOR, MIN_GAP_MS, HOLD_MS = 3.0, 300.0, 5000.0


def normal_gap(before):
    """The longest gap between blocks that is no silence: GAP_FACTOR x the
    median spacing of `before` (blocks before the kill, sorted), at least
    MIN_GAP_MS."""
    spacing = sorted(b - a for a, b in zip(before, before[1:]))
    return max(MIN_GAP_MS, GAP_FACTOR * spacing[len(spacing) // 2]) if spacing else MIN_GAP_MS


def resumed_at(before, after, end_ms=None):
    """The arrival time of the first block of `after` (the blocks after the
    kill, sorted) from which blocks keep coming: none more than the gap
    after the one before it for HOLD_MS (or until submitting ended at
    `end_ms`, the last block within a gap of it); None when no block starts
    such a run. `before`: the blocks before the kill, sorted, whose median
    spacing sets the gap."""
    gap = normal_gap(before)
    for i, t in enumerate(after):
        prev, broken = t, False
        for u in after[i + 1:]:
            if u - prev > gap:
                broken = True
                break
            prev = u
            if prev >= t + HOLD_MS:
                break
        if broken:
            continue
        # Held long enough, or ran out of blocks only because submitting ended.
        if prev >= t + HOLD_MS or end_ms is None or end_ms - prev <= gap:
            return t
    return None
