"""A study report's first sections (Markdown lines): the header (what was
run, where, how capacity and latency are defined, the machine and its
calibration), run integrity, capacity with its comparisons, the same work
per repetition, recovery, latency and its comparisons."""
import glob
import math
import os

from benchlib import analysis, compare, drivers
from benchlib.record import read_json, read_text
from benchlib.report_plots import _nan
from benchlib.stats import fmt, fmt_p, fmt_ratio


def _unique(driver_maps):
    seen, out = set(), []
    for d in driver_maps:
        if d["name"] not in seen:
            seen.add(d["name"])
            out.append(d)
    return out


def header(meta, env, rdf, cdf, out_dir):
    on = (f"drivers {', '.join(d['name'] for d in _unique(meta['drivers'].values()))}" if meta.get("drivers")
          else f"driver {meta['driver']}")
    md = [f"# Study `{meta['study']}` ({meta['preset']} preset, {on})", ""]
    note_path = os.path.join(out_dir, "NOTE.md")
    if os.path.isfile(note_path):  # what a reader must know first (NOTE.md, written after the study)
        lines = read_text(note_path).strip().splitlines()
        md += ["> **Note.** " + lines[0]] + [("> " + ln).rstrip() for ln in lines[1:]] + [""]
    if meta.get("description"):
        md += [meta["description"], ""]
    cells_total = len(meta["cells"]) * meta["repetitions"]
    md.append(f"{len(meta['cells'])} cells x {meta['repetitions']} repetitions ({len(cdf)} of {cells_total} "
              f"cell runs done), {len(rdf)} measured runs; run order shuffled within each repetition with seed "
              f"{meta['seed']} (order in `study.json`).")
    roles = meta["roles_cpus"]
    if meta["placement"] == "isolated":
        md.append(f"Placement **isolated**: orderer on CPU {roles['orderer']}, broker(s) on {roles['broker']}, "
                  f"peers (and Kafka's producer tool) on {roles['peers']}"
                  + (" (brokers and peers share that set, so they compete with each other)."
                     if roles["broker"] == roles["peers"] else "."))
    else:
        md.append(f"Placement **shared**: every role may use every CPU ({roles['orderer']}); roles compete for "
                  "CPU, so a setting that makes one role cheaper frees CPU for another.")
    if meta.get("drivers"):
        md.append("Each cell names its ordering service: " + "; ".join(
            f"{name}: {drivers.describe(d)}" for name, d in meta["drivers"].items()) + ".")
        if any(d["backend"] == "raft" for d in meta["drivers"].values()):
            md.append("Raft: the leader is the orderer role (alone on the orderer's CPUs); its followers are the "
                      "replicas, on the brokers' CPU set beside the peers, as Kafka's brokers are.")
    cap, lat = meta["capacity"], meta["latency"]
    if cap.get("max_steps", 1):
        levels = ", ".join(f"{x:.0%}" for x in cap.get("confirm_levels", []))
        confirm = (f"; then {cap['confirm_window_s']:g} s runs find the highest of {levels} of that rate still "
                   "sustained (a binary search), which is the capacity"
                   if cap.get("confirm_window_s") else "; no longer confirmation run")
        md.append(f"Capacity = the highest offered rate sustained (delivered >= {cap['min_achieved']:.0%} of "
                  f"offered less one block per window, p99 <= {cap['slo_p99_ms']:g} ms, in-flight growth <= "
                  f"{cap['max_backlog_growth']:.0%} of offered per second, a valid run with the generator keeping "
                  f"up), found by a step search ({cap['step_window_s']:g} s measured per step after a warm-up until "
                  f"steady, at most {cap['warmup_max_s']:g} s; steps x{cap['growth']:g} until bracketed, then "
                  f"geometric bisection to {cap['precision']:.0%}){confirm}.")
    whose = (f"the mean capacity of the same cell in `{_folders(lat['capacity_from'])}` (a capacity study reused: this study "
             "searches none)" if lat.get("capacity_from") else "each repetition's own capacity")
    points = [f"{f:.0%} of {whose}" for f in lat.get("fractions", [])]
    points += [f"{r:,.0f} tx/s" for r in lat.get("rates", [])]
    if points:
        md.append(f"Latency is read open loop at {', '.join(points)}, {lat['window_s']:g} s windows after a warm-up "
                  "until steady.")
    md.append("Transactions are pre-signed before each window.")
    e = env
    md += ["", f"Machine: {e.get('cpu_model')}, {e.get('cores')} cores, {e.get('mem_total_gib')} GiB; {e.get('os')}, "
           f"kernel {e.get('kernel')}; {e.get('openssl')}; Kafka {e.get('kafka_version')}, librdkafka "
           f"{e.get('librdkafka')}; commit `{(e.get('git_commit') or 'unknown')[:12]}`"
           f"{' (**dirty tree**)' if e.get('git_dirty') else ''}."]
    for path in sorted(glob.glob(os.path.join(out_dir, "env-resume-*.json"))):
        r = read_json(path)
        md.append(f"Resumed on commit `{(r.get('git_commit') or 'unknown')[:12]}` ({os.path.basename(path)}).")
    cal_path = os.path.join(out_dir, "calibration.json")
    if os.path.isfile(cal_path):
        rows = analysis.drift(read_json(cal_path))
        md += ["", "Machine calibration (one core, median of 3; compare studies by these):", "",
               "| micro-benchmark | study start | study end | end / start |", "|---|---|---|---|"]
        for name, s, en, ratio in rows:
            md.append(f"| {name} | {fmt(s) if s else '–'} | {fmt(en) if en else '–'} | "
                      f"{f'{ratio:.3f}' if ratio else '–'} |")
    return md + [""]


def integrity_section(info):
    md = ["## Run integrity", ""]
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(info["by_kind"].items()))
    md.append(f"{info['runs']} runs ({kinds}). {len(info['invalid'])} invalid (kept in `runs.jsonl`, left out of "
              f"every figure below); {info['generator_bound']} generator-bound (the load generator fell behind "
              f"its offered rate through its own work: never counted as capacity); {info.get('held_back', 0)} held back "
              "by the service (fell behind while the peers waited inside Submit: Broadcast's flow control or a full "
              f"producer queue; a failure of the service, not of the generator); {info['not_steady']} whose warm-up "
              "hit its bound "
              "before two windows agreed (measured anyway, flagged `steady: false`).")
    if info["cells_unverified"]:
        md.append(f"{len(info['cells_unverified'])} cell run(s) whose chain did not verify: all their runs are "
                  "invalid.")
    if info["invalid"]:
        md += ["", "| run | cell | kind | why invalid |", "|---|---|---|---|"]
        for run_id, cell, kind, why in info["invalid"][:40]:
            md.append(f"| {run_id} | {cell} | {kind} | {why} |")
        if len(info["invalid"]) > 40:
            md.append(f"| … | {len(info['invalid']) - 40} more | | |")
    return md + [""]


def capacity_section(meta, rows, comps, ref, cal_rows):
    md = ["## Capacity", "",
          "Mean ± 95% t-interval over repetitions (n = usable searches: chain verified, generator not the "
          "limit). Outliers by the declared rule (more than 3 scaled MADs from the cell's median, n >= 4) are "
          "counted and the mean without them shown beside. The bottleneck is the CPU set busiest in the step "
          "just above capacity (utilisation of its CPUs). Pipeline efficiency = capacity / the producer alone, "
          "flat out, with the same settings: our raw producer (the cell's own raw runs, else the calibration's, "
          "one producer) and Kafka's ProducerPerformance (calibration, one producer), where measured.", "",
          "| cell | n | capacity tx/s | median [min, max] | without outliers | bracket | bottleneck (util) | "
          "raw producer msg/s (per cell) | capacity / raw | capacity / ProducerPerformance |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    pp = {r["cell"]: r for r in cal_rows}
    for r in rows:
        outl = f"{fmt(r['mean_wo'], r['ci_wo'])} ({r['outliers']} out)" if r["outliers"] else "no outliers"
        raw = r["raw"] if not _nan(r["raw"]) else (pp[r["cell"]]["raw"] if r["cell"] in pp else math.nan)
        eff = r["mean"] / raw if r["n"] and not _nan(raw) and raw else math.nan
        ppv = pp[r["cell"]]["pp"] if r["cell"] in pp else math.nan
        effpp = r["mean"] / ppv if r["n"] and not _nan(ppv) else math.nan
        bn = f"{r['bottleneck']} ({r['bottleneck_util'] * 100:.0f}%)" if r["bottleneck"] else "–"
        extra = f" ({r['unusable']} unusable)" if r["unusable"] else ""
        bracket = "–" if _nan(r["bracket"]) else f"{r['bracket']:.3f}"
        md.append(f"| {r['cell']} | {r['n']}{extra} | {fmt(r['mean'], r['ci'])} | {fmt(r['median'])} "
                  f"[{fmt(r['min'])}, {fmt(r['max'])}] | {outl} | {bracket} | "
                  f"{bn} | {fmt(r['raw'], r['raw_ci'])} | {fmt(eff, None, 2)} | {fmt(effpp, None, 2)} |")
    md.append("")
    replicas = any(not _nan(r.get("replicas_us_per_tx", math.nan)) for r in rows)
    md += ["CPU per transaction at the highest sustained step (µs of CPU per delivered transaction, and the "
           "utilisation of the role's own CPU set"
           + ("; replicas = Raft's followers, on the brokers' CPU set" if replicas else "") + "):", "",
           "| cell | orderer µs/tx (util) | broker(s) µs/tx (util) | "
           + ("replicas µs/tx (util) | " if replicas else "") + "peers µs/tx (util) |",
           "|---|---|---|---|" + ("---|" if replicas else "")]
    for r in rows:
        def c(role):
            us, u = r.get(f"{role}_us_per_tx", math.nan), r.get(f"{role}_util", math.nan)
            return "–" if _nan(us) else f"{us:,.1f} ({u * 100:.0f}%)"
        md.append(f"| {r['cell']} | {c('orderer')} | {c('broker')} | " + (f"{c('replicas')} | " if replicas else "")
                  + f"{c('peers')} |")
    md.append("")
    if comps:
        brackets = {r["cell"]: r["bracket"] for r in rows}
        md += [f"Against `{ref}` (ratio of mean capacities, 95% bootstrap interval; Welch's t-test, "
               f"Holm-adjusted over the {len(comps)} comparisons). " + BRACKET_RULE, "",
               "| cell | capacity change | p | p (Holm) | bracket (cell / reference) | reading |",
               "|---|---|---|---|---|---|"]
        for c in comps:
            b, bref = brackets.get(c["cell"], math.nan), brackets.get(ref, math.nan)
            md.append(f"| {c['cell']} | {fmt_ratio(c['ratio'], c['lo'], c['hi'])} | {fmt_p(c['p'])} | "
                      f"{fmt_p(c['p_holm'])} | {_bracket(b)} / {_bracket(bref)} | "
                      f"{bracket_reading(c['ratio'], b, bref, c['lo'], c['hi'])} |")
        md.append("")
    return md


# What the capacity search can resolve, said beside every capacity comparison.
BRACKET_RULE = ("A search knows a capacity only to within its bracket: the lowest failing rate over the highest "
                "sustained one (the median over the cell's searches). A change no larger than the wider bracket of "
                "the two cells lies inside one bracket, and a difference inside one bracket is not a finding, "
                "whatever its p; a wider one is a finding only where its interval excludes no change too.")


def _bracket(b):
    return "–" if _nan(b) else f"{b:.3f}"


def bracket_reading(ratio, bracket, ref_bracket, lo=math.nan, hi=math.nan):
    """How a capacity change reads against the searches' brackets (ratios
    failing / sustained) and its interval [lo, hi]: inside one bracket, or
    wider than it with or without an interval that excludes no change."""
    if _nan(ratio):
        return "–"
    if _nan(bracket) or _nan(ref_bracket):
        return "no bracket (a search never failed above its capacity): not a finding"
    width = max(bracket, ref_bracket) - 1
    if abs(ratio - 1) <= width:
        return f"inside one bracket (±{width:.1%}): not a finding"
    if _nan(lo) or _nan(hi) or lo <= 1 <= hi:
        return f"wider than the bracket (±{width:.1%}), but its interval includes no change: not a finding"
    return f"wider than the bracket (±{width:.1%}), interval excludes no change"


def same_work_section(rows):
    """Each repetition's capacity beside what the search's first step (the
    same offered rate in every repetition) cost each role."""
    if not rows:
        return []
    reps = sorted({r["repetition"] for r in rows})
    roles = [role for role in analysis.ROLES if any(not _nan(r[f"{role}_us_per_tx"]) for r in rows)]
    rate = rows[0]["rate"]
    md = [f"The same work in every repetition: each search starts at {rate:,.0f} tx/s, so what that first step "
          "cost each role (µs of CPU per delivered transaction) should not change between repetitions of a cell. "
          "When it does, the machine (or a warm-up) moved, not the configuration: read the capacities beside it.",
          "", "| cell | | " + " | ".join(f"rep {k}" for k in reps) + " | max / min |",
          "|---|---|" + "---|" * len(reps) + "---|"]
    for name in dict.fromkeys(r["cell"] for r in rows):
        mine = {r["repetition"]: r for r in rows if r["cell"] == name}

        def line(label, key):
            vals = [mine[k][key] if k in mine else math.nan for k in reps]
            cells = [fmt(v) + ("" if _nan(v) or key != "capacity" or mine[k]["usable"] else "*")
                     for k, v in zip(reps, vals)]
            ok = [v for v in vals if not _nan(v) and v > 0]
            spread = f"{max(ok) / min(ok):.2f}" if len(ok) >= 2 else "–"
            return f"| {name} | {label} | " + " | ".join(cells) + f" | {spread} |"
        md.append(line("capacity tx/s", "capacity"))
        for role in roles:
            if any(not _nan(mine[k][f"{role}_us_per_tx"]) for k in mine):
                md.append(line(f"{role} µs/tx at {rate:,.0f}", f"{role}_us_per_tx"))
    md += ["", "\\* unusable (chain not verified or the generator bounded the search).", ""]
    return md


def recovery_section(meta, rows, skipped=()):
    r = meta.get("recovery") or {}
    at = (f"at {r['rate']:,.0f} tx/s (every cell alike)" if r.get("rate")
          else f"at {r.get('fraction', 0):.0%} of that repetition's capacity")
    md = ["## Recovery after losing the leader", "",
          f"One run per cell and repetition {at}: "
          f"{r.get('warmup_s', 0):g} s warm-up, then the leader is killed (SIGKILL) {r.get('kill_after_s', 0):g} s "
          "after the load starts (the Raft leader, or the broker leading the channel's partition); peers talk to "
          "a node that survives. *Recovery* = kill -> the first block after the longest silence that follows "
          f"the kill (block arrival times at the peers, ms; the first block when no gap after the kill is longer "
          f"than three times the blocks' spacing before it, at least 300 ms); *full rate* = kill -> the end of the first second "
          f"from which two seconds together deliver >= {r.get('full_rate', 0.9):.0%} of twice the offered rate "
          "(whole blocks arrive, so a steady second can hold a block less than the rate; 1 s resolution, an "
          "upper bound; recomputed from each run's raw report when the study is read). Lost = submitted and never "
          "delivered; of them, *acknowledged* = answered SUCCESS (none with --ack durable; with --ack accepted a "
          "Raft leader takes what it had not replicated); the rest were never answered SUCCESS, and a client "
          "would resubmit them. *New leader* = kill -> the bench sees a new Raft leader in the nodes' metrics "
          "files (written once a second, so up to ~1 s late), and moves it "
          "onto the orderer's CPUs (the killed leader's: a deployment gives every node its own machine). "
          "Mean ± 95% t-interval over valid runs.", "",
          "| cell | killed | n | recovery ms | full rate ms | first block after the kill ms | new leader ms | lost tx | of them acknowledged |",
          "|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        extra = f" ({x['invalid']} invalid)" if x["invalid"] else ""
        md.append(f"| {x['cell']} | {x['killed'] or '–'} | {x['n']}{extra} | {fmt(x['recovery_ms'], x['recovery_ms_ci'])} | "
                  f"{fmt(x['full_rate_ms'], x['full_rate_ms_ci'])} | "
                  f"{fmt(x['first_block_ms'], x['first_block_ms_ci'])} | "
                  f"{fmt(x.get('new_leader_ms', math.nan), x.get('new_leader_ms_ci', math.nan))} | "
                  f"{fmt(x['lost'], x['lost_ci'])} | "
                  f"{fmt(x.get('acked_lost', math.nan), x.get('acked_lost_ci', math.nan))} |")
    if skipped:
        md.append("")
        md.append(f"Not measured for {', '.join(skipped)}: no leader to lose (one node, or one broker).")
    return md + [""]


def _folder(path):
    """A study folder as a reader of the repository names it: `bench/results/X` rather than the
    absolute path of the clone that ran the study."""
    marker = os.sep + os.path.join("bench", "results") + os.sep
    return path[path.index(marker) + 1:] if marker in path else path


def _folders(capacity_from):
    """latency.capacity_from for the reader: one folder, or several."""
    folders = [capacity_from] if isinstance(capacity_from, str) else capacity_from
    return "`, `".join(_folder(f) for f in folders)


def latency_section(lat_rows, by="fraction", capacity_from=None, references=None):
    if by == "fraction":
        if capacity_from:
            refs = "; ".join(f"{c} {v['capacity']:,.0f} tx/s (n = {v['n']})" for c, v in (references or {}).items())
            whose = (f"Open loop, every repetition at the fraction of the cell's mean capacity measured by the study "
                     f"`{_folders(capacity_from)}` ({refs}): the same offered rate in every repetition of a cell")
        else:
            whose = ("Open loop, each repetition at the fraction of its own capacity (100% = the long run that "
                     "confirmed the capacity, where the study confirms it)")
        md = ["## Latency at fixed fractions of capacity", "",
              whose + "; latency from each transaction's due time to the arrival of "
              "its block. Mean ± 95% t-interval over repetitions; undelivered = share of the run's transactions "
              "not delivered by its end (latency of delivered transactions alone would hide them)."]
        md += ["", "Block interval = tx/block / offered rate: a transaction waits on average half of it for its "
               "block to close, whatever the service, so at different offered rates p50 differs by that much "
               "before the service adds anything; p50 - interval/2 is what the service adds."]
    else:
        md = ["## Latency at fixed offered rates", "",
              "Open loop, every cell at the same offered rate: the same load, so differences are the settings'. "
              "Mean ± 95% t-interval over repetitions; undelivered as above."]
    md += ["", "p99 without outliers: the same mean without repetitions more than 3 scaled MADs from the cell's "
           "median p99 at that point (the declared rule, n >= 4)."]
    md += ["", f"| cell | {'fraction' if by == 'fraction' else 'rate'} | offered tx/s | n | p50 ms | p95 ms | p99 ms | "
           "p99 without outliers | p99.9 ms | max ms | broker ack p50 ms | records / producer batch | tx/block | "
           "block interval ms | p50 - interval/2 ms | undelivered |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in lat_rows:
        und = "–" if _nan(r["undelivered"]) else f"{r['undelivered'] * 100:.2f}%"
        at = f"{r['fraction']:.0%}" if by == "fraction" else f"{r['rate']:,.0f} tx/s"
        interval = block_interval_ms(r["txs_per_block"], r["offered"])
        added = r["p50_ms"] - interval / 2 if not _nan(interval) and not _nan(r["p50_ms"]) else float("nan")
        without = (f"{fmt(r['p99_ms_wo'], r['p99_ms_wo_ci'], 1)} ({r['p99_outliers']} out)" if r["p99_outliers"]
                   else "no outliers")
        md.append(f"| {r['cell']} | {at} | {fmt(r['offered'])} | {r['n']} | "
                  f"{fmt(r['p50_ms'], r['p50_ms_ci'], 1)} | {fmt(r['p95_ms'], r['p95_ms_ci'], 1)} | "
                  f"{fmt(r['p99_ms'], r['p99_ms_ci'], 1)} | "
                  f"{without} | "
                  f"{fmt(r['p999_ms'], r['p999_ms_ci'], 1)} | "
                  f"{fmt(r['max_ms'], r['max_ms_ci'], 1)} | {fmt(r['ack_p50_ms'], None, 1)} | "
                  f"{fmt(r.get('batch_records', math.nan), None, 1)} | {fmt(r['txs_per_block'], None, 0)} | {fmt(interval, None, 0)} | {fmt(added, None, 1)} | {und} |")
    return md + [""]


def block_interval_ms(txs_per_block, offered_tps):
    """How long a block takes to close at this rate (whether cut by size or by its timeout): the
    time a transaction waits for its block is half of it on average."""
    if _nan(txs_per_block) or _nan(offered_tps) or not offered_tps:
        return float("nan")
    return txs_per_block / offered_tps * 1000.0


def latency_comparison_section(lat_rows, ref):
    comps = {m: compare.latency_comparisons(lat_rows, ref, m) for m in compare.COMPARED_PERCENTILES}
    if not comps["p99_ms"]:
        return []
    n = len(comps["p99_ms"])
    outlying = any(r["p99_outliers"] for r in lat_rows)
    without = compare.latency_comparisons(lat_rows, ref, "p99_ms", drop_outliers=True) if outlying else {}
    md = [f"p50 and p99 against `{ref}` at each point (ratio of means, 95% bootstrap interval; Welch's t-test, "
          f"Holm-adjusted over the {n} comparisons of each percentile). At fractions of capacity the offered rates "
          "differ between cells: equal relative load, not equal load."
          + (" Some p99s have outlying repetitions (the latency table): p99 is compared again without them."
             if outlying else ""), "",
          "| cell | at | p50 change | p (Holm) | p99 change | p | p (Holm) |"
          + (" p99 change without outliers | p (Holm) |" if outlying else ""),
          "|---|---|---|---|---|---|---|" + ("---|---|" if outlying else "")]
    for key, c in comps["p99_ms"].items():
        point, cell = key
        c50, wo = comps["p50_ms"].get(key), without.get(key)
        line = (f"| {cell} | {_point_name(point)} | "
                f"{fmt_ratio(c50['ratio'], c50['lo'], c50['hi']) if c50 else '–'} | "
                f"{fmt_p(c50['p_holm']) if c50 else '–'} | {fmt_ratio(c['ratio'], c['lo'], c['hi'])} | "
                f"{fmt_p(c['p'])} | {fmt_p(c['p_holm'])} |")
        if outlying:
            line += (f" {fmt_ratio(wo['ratio'], wo['lo'], wo['hi']) if wo else '–'} | "
                     f"{fmt_p(wo['p_holm']) if wo else '–'} |")
        md.append(line)
    return md + [""]


def ack_section(lat_rows, ref):
    """Broadcast's SUCCESS latency per cell and point, against the reference
    cell's (the `ack` workload's question: what the durable answer costs)."""
    rows = [r for r in lat_rows if r.get("ack_p50_ms_values")]
    if not rows:
        return []
    comps = {m: compare.latency_comparisons(rows, ref, m) for m in ("ack_p50_ms", "ack_p99_ms")}
    n = len(comps["ack_p50_ms"])
    md = ["Acknowledgement latency: each transaction's submit -> Broadcast's SUCCESS (with `--ack durable` it "
          "includes making the transaction durable, with `accepted` only queueing it for ordering), beside submit "
          "-> delivery. Mean ± 95% t-interval over repetitions"
          + (f"; change against `{ref}` at the same point (ratio of means, 95% bootstrap interval; Welch's t-test, "
             f"Holm-adjusted over the {n} comparisons of each percentile)." if n else "."), "",
          "| cell | at | n | SUCCESS p50 ms | SUCCESS p99 ms | delivery p50 ms | SUCCESS p50 change | p (Holm) | "
          "SUCCESS p99 change | p (Holm) |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        point = compare.point_of(r)
        c50, c99 = (comps[m].get((point, r["cell"])) for m in ("ack_p50_ms", "ack_p99_ms"))
        md.append(f"| {r['cell']} | {_point_name(point)} | {len(r['ack_p50_ms_values'])} | "
                  f"{fmt(r['ack_p50_ms'], r['ack_p50_ms_ci'], 1)} | {fmt(r['ack_p99_ms'], r['ack_p99_ms_ci'], 1)} | "
                  f"{fmt(r['p50_ms'], r['p50_ms_ci'], 1)} | "
                  f"{fmt_ratio(c50['ratio'], c50['lo'], c50['hi']) if c50 else '–'} | "
                  f"{fmt_p(c50['p_holm']) if c50 else '–'} | "
                  f"{fmt_ratio(c99['ratio'], c99['lo'], c99['hi']) if c99 else '–'} | "
                  f"{fmt_p(c99['p_holm']) if c99 else '–'} |")
    return md + [""]


def _point_name(point):
    kind, v = point
    return f"{v:.0%} of capacity" if kind == "fraction" else f"{v:,.0f} tx/s"
