"""A soak's raw rows: one per interval, built from peer-sim's progress line
for that interval and a reading of /proc and of the data folders taken as
the line arrives.

peer-sim prints a progress line every --progress-interval (the soak's
interval) on stderr; it carries the interval's submitted and delivered
rates and the p50/p99 of the transactions delivered in it (due time to
block arrival, from its HDR-style histogram, within 1%). Each process of
the service (every orderer node, every broker JVM) and peer-sim itself is
read from /proc: resident memory (VmRSS), open files (entries of fd/) and
CPU seconds (utime + stime); each data folder (ledgers, Raft logs, broker
data) by the bytes its files occupy on disk (allocated blocks, as du
counts them; a file linked twice counts once).

A row, as soak.jsonl keeps it:
  interval   1, 2, ... (the progress line's number)
  t_s        the line's time since the load started (peer-sim's clock)
  unix       when the bench read it (wall clock)
  submitted_tps, delivered_tps, p50_ms, p99_ms (null when nothing was
             delivered in the interval; oldest_undelivered_ms then says
             how long the oldest transaction has waited), submitted,
             delivered, failed, in_flight (counts since the start)
  procs      {name: {pid, rss_bytes, fds, cpu_s, cpu_cores}} (null: gone);
             cpu_cores = CPU seconds in the interval / its length, null
             when the pid changed or there is no earlier reading
  disk_bytes {name: bytes}
  ledger_memory_bytes {node: bytes} the ledger's memory beside its data
             (the orderer's orderer_ledger_memory_bytes, every part; null
             when its /metrics did not answer)
  leader     the Raft node that leads (raft only)
  note       what changed in the interval (leadership moved), if anything
"""
import os
import re

from benchlib import placement

PEER_SIM = "peer-sim"  # the load generator's name among the processes
PROGRESS = re.compile(
    r"^\[\s*(?P<t>[\d.]+)s\] submitted (?P<submitted>\d+) \((?P<submitted_tps>[\d.]+)/s\)\s+"
    r"(?:delivered|acked) (?P<delivered>\d+) \((?P<delivered_tps>[\d.]+)/s\)\s+failed (?P<failed>\d+)\s+"
    r"in flight (?P<in_flight>\d+) \([\d.]+% undelivered\)\s+(?P<latency>.*)$")
LATENCY = re.compile(r"p50 (?P<p50>[\d.]+) ms p99 (?P<p99>[\d.]+) ms")
WAITING = re.compile(r"oldest \w+ (?P<oldest>[\d.]+) ms")


def parse_progress(line):
    """The figures of one peer-sim progress line, or None for any other
    line (notices, warnings, the summary at the end)."""
    m = PROGRESS.match(line.strip())
    if not m:
        return None
    out = {"t_s": float(m["t"]), "submitted": int(m["submitted"]), "submitted_tps": float(m["submitted_tps"]),
           "delivered": int(m["delivered"]), "delivered_tps": float(m["delivered_tps"]),
           "failed": int(m["failed"]), "in_flight": int(m["in_flight"]),
           "p50_ms": None, "p99_ms": None, "oldest_undelivered_ms": None}
    lat = LATENCY.search(m["latency"])
    if lat:
        out["p50_ms"], out["p99_ms"] = float(lat["p50"]), float(lat["p99"])
    else:
        wait = WAITING.search(m["latency"])
        if wait:
            out["oldest_undelivered_ms"] = float(wait["oldest"])
    return out


def read_proc(pid, proc="/proc"):
    """{pid, rss_bytes, fds, cpu_s} of a running process; None when it is
    gone (or a zombie, which has no memory left to report)."""
    if pid is None:
        return None
    rss_kib = placement.proc_status_kib(pid, "VmRSS", proc)
    cpu_s = placement.proc_cpu_seconds(pid, proc)
    if rss_kib is None or cpu_s is None:
        return None
    try:
        fds = len(os.listdir(f"{proc}/{pid}/fd"))
    except OSError:
        fds = None
    return {"pid": pid, "rss_bytes": rss_kib * 1024, "fds": fds, "cpu_s": round(cpu_s, 2)}


def disk_bytes(path):
    """Bytes the files under `path` occupy on disk (None when it does not
    exist). Files that vanish while it walks (a compaction) are skipped."""
    if not os.path.isdir(path):
        return None
    total, seen = 0, set()
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                    continue
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def read_all(pids, folders, proc="/proc"):
    """One reading: ({name: read_proc or None}, {name: disk_bytes}, unix
    time is the caller's). `pids`: {name: pid or None}."""
    return ({name: read_proc(pid, proc) for name, pid in pids.items()},
            {name: disk_bytes(path) for name, path in folders.items()})


def build_row(interval, progress, procs, disk, unix, prev=None, leader=None, note=None, ledger_memory=None):
    """The row of one interval from its progress line (parse_progress),
    this reading (`procs`, `disk`, taken at `unix`) and the previous one
    (`prev`: {"unix", "procs"}, the last row or the reading at the load's
    start) for each process's CPU over the interval."""
    prev_procs = (prev or {}).get("procs") or {}
    dt = unix - prev["unix"] if prev else None
    out = {}
    for name, p in procs.items():
        if p is None:
            out[name] = None
            continue
        q = prev_procs.get(name)
        cores = None
        if q and q.get("pid") == p["pid"] and dt and dt > 0:
            cores = round(max(0.0, p["cpu_s"] - q["cpu_s"]) / dt, 4)
        out[name] = dict(p, cpu_cores=cores)
    row = {"interval": interval, "t_s": progress["t_s"], "unix": round(unix, 3),
           "interval_s": round(dt, 3) if dt else None}
    row.update({k: progress[k] for k in ("submitted_tps", "delivered_tps", "p50_ms", "p99_ms", "oldest_undelivered_ms",
                                         "submitted", "delivered", "failed", "in_flight")})
    row["procs"] = out
    row["disk_bytes"] = dict(disk)
    if ledger_memory is not None:
        row["ledger_memory_bytes"] = dict(ledger_memory)
    if leader is not None:
        row["leader"] = leader
    if note:
        row["note"] = note
    return row


# What each series is, for the report and the plot: key prefix -> (panel, unit).
KINDS = {"tps": ("throughput", "tx/s"), "latency": ("latency", "ms"), "rss": ("resident memory", "MiB"),
         "fds": ("open files", "files"), "cpu": ("CPU", "cores busy"), "disk": ("disk use", "MiB"),
         "ledger": ("ledger memory (RocksDB)", "MiB")}


def series(rows):
    """Every series the rows hold, in a fixed order: {key: [(t_s, value)]},
    keys 'tps:delivered', 'latency:p99', 'rss:NAME', 'fds:NAME',
    'cpu:NAME', 'disk:NAME', 'ledger:NAME' (memory and disk in MiB). A missing value
    (a process gone, no delivery in the interval) is left out."""
    out = {}

    def add(key, t, v):
        if v is not None:
            out.setdefault(key, []).append((t, float(v)))
    for r in rows:
        t = r["t_s"]
        add("tps:delivered", t, r.get("delivered_tps"))
        add("tps:submitted", t, r.get("submitted_tps"))
        add("latency:p99", t, r.get("p99_ms"))
        add("latency:p50", t, r.get("p50_ms"))
    for kind, field, scale in (("rss", "rss_bytes", 1 / (1 << 20)), ("fds", "fds", 1), ("cpu", "cpu_cores", 1)):
        for r in rows:
            for name, p in (r.get("procs") or {}).items():
                add(f"{kind}:{name}", r["t_s"], None if p is None or p.get(field) is None else p[field] * scale)
    for field, kind in (("disk_bytes", "disk"), ("ledger_memory_bytes", "ledger")):
        for r in rows:
            for name, b in (r.get(field) or {}).items():
                add(f"{kind}:{name}", r["t_s"], None if b is None else b / (1 << 20))
    return out
