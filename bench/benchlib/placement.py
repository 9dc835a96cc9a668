"""Where each role runs, and what CPU it used.

Roles that would be separate machines (the orderer, the broker(s), the
peers) get disjoint CPU sets, so a tuning that makes one role cheaper does
not show up as throughput of another that merely got more of a shared CPU.
`isolated` (the default) gives the orderer its own CPUs and the brokers and
peers the rest; `shared` lets every role use every CPU (the layout before
placement existed, kept for comparison). The split on this project's 2-core
development machine is orderer = CPU 1, brokers + peers = CPU 0.

The sampler reads each role's processes' user+system time from /proc once
a second (and at the window's edges), so a run knows each role's CPU
seconds and utilisation over exactly its measured window, and which CPU set
was busiest (the bottleneck)."""
import os
import re
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
ROLES = ("orderer", "broker", "peers")
PLACEMENTS = ("isolated", "shared")
SATURATED = 0.9


def cpu_list(cpus):
    return ",".join(str(c) for c in cpus)


def parse_cpu_list(text):
    """[cpu, ...] of a CPU list as taskset and /proc/*/status write it
    ("0-2,5": ascending ranges and single CPUs, comma-separated); a
    ValueError names anything else."""
    parts = str(text).strip().split(",")
    out = []
    for part in parts:
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(f"not a CPU list: {text!r} (expected e.g. 2, 2-3 or 0,2-3)")
        a, b = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
        if b < a:
            raise ValueError(f"not a CPU list: {text!r} (range {part} runs backwards)")
        out += range(a, b + 1)
    return out


def available_cpus():
    return sorted(os.sched_getaffinity(0))


def check_usable(text):
    """The CPUs of list `text` if this process may use every one of them; a
    ValueError names what is wrong (scripts/kafka's --cpus asks this)."""
    cpus = parse_cpu_list(text)
    allowed = available_cpus()
    others = sorted(set(cpus) - set(allowed))
    if others:
        raise ValueError(f"CPU(s) {cpu_list(others)} of {text!r} are not ones this process may use "
                         f"({cpu_list(allowed)})")
    return cpus


def plan(placement, cpus=None):
    """{role: [cpu, ...]} for the machine's CPUs (or `cpus`). Isolated needs
    two CPUs at least: the orderer gets the upper half (at least one), the
    brokers and peers share the rest (with four or more CPUs, the brokers get
    their own half of it)."""
    cpus = sorted(cpus or available_cpus())
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement '{placement}' (known: {', '.join(PLACEMENTS)})")
    if placement == "shared":
        return {r: list(cpus) for r in ROLES}
    if len(cpus) < 2:
        raise ValueError("isolated placement needs two CPUs or more (use --placement shared)")
    n_ord = max(1, len(cpus) // 2)
    orderer, rest = cpus[-n_ord:], cpus[:-n_ord]
    if len(rest) >= 2:
        half = len(rest) // 2
        return {"orderer": orderer, "broker": rest[half:], "peers": rest[:half]}
    return {"orderer": orderer, "broker": list(rest), "peers": list(rest)}


def taskset(cpus):
    """The command prefix that pins a child to `cpus` (empty: not pinned)."""
    return ["taskset", "-c", cpu_list(cpus)] if cpus else []


def pin_running(pid, cpus):
    """Pins every thread of a running process (a broker started elsewhere)."""
    import subprocess
    subprocess.run(["taskset", "-a", "-p", "-c", cpu_list(cpus), str(pid)], check=True, capture_output=True)


def proc_cpu_seconds(pid, proc="/proc"):
    """utime + stime of a process, in seconds (None when it is gone)."""
    try:
        with open(f"{proc}/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_status_kib(pid, field, proc="/proc"):
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...) in KiB; None when
    the process is gone or has no such field (a zombie has no Vm* lines)."""
    try:
        with open(f"{proc}/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return None


def proc_rss_peak_mib(pid):
    kib = proc_status_kib(pid, "VmHWM")
    return None if kib is None else kib / 1024


class Sampler:
    """Samples the CPU seconds of each role's processes once a second on a
    thread. `pids` maps role -> callable returning the current pids (a
    process may start after the sampler). Samples: (unix time, {role: s})."""

    def __init__(self, pids, interval_s=1.0):
        self.pids = pids
        self.interval_s = interval_s
        self.samples = []
        self._last = {}     # pid -> cpu seconds at its last sample
        self._totals = {}   # role -> cpu seconds its processes used while they were in it
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()

    def sample(self):
        """A role's total grows by each of its processes' CPU since that
        process's last sample, so a process that moves between roles (a new
        Raft leader) takes no history with it and one that dies takes
        none away. A process first seen counts its CPU from its start."""
        now = time.time()
        counted = set()
        for role, get in self.pids.items():
            self._totals.setdefault(role, 0.0)
            for pid in get():
                if pid in counted:
                    continue
                counted.add(pid)
                v = proc_cpu_seconds(pid)
                if v is None:
                    continue
                self._totals[role] += max(0.0, v - self._last.get(pid, 0.0))
                self._last[pid] = v
        per_role = {role: self._totals[role] for role in self.pids}
        with self._lock:
            self.samples.append((now, per_role))
        return now, per_role

    def __enter__(self):
        self.sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()
        return False

    def at(self, t):
        """Each role's CPU seconds at unix time t, linearly interpolated."""
        with self._lock:
            s = list(self.samples)
        if not s:
            return {}
        if t <= s[0][0]:
            return dict(s[0][1])
        for (t0, a), (t1, b) in zip(s, s[1:]):
            if t0 <= t <= t1:
                w = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
                return {r: a.get(r, 0.0) + w * (b.get(r, 0.0) - a.get(r, 0.0)) for r in b}
        return dict(s[-1][1])

    def series(self):
        """Per-interval utilisation rows: (unix time, {role: cpu seconds in
        the interval / interval length}), i.e. CPUs busy."""
        with self._lock:
            s = list(self.samples)
        out = []
        for (t0, a), (t1, b) in zip(s, s[1:]):
            if t1 > t0:
                out.append((t1, {r: (b.get(r, 0.0) - a.get(r, 0.0)) / (t1 - t0) for r in b}))
        return out


def window_cpu(sampler, t_from, t_to, roles_cpus, done_tx):
    """{role: RoleCpu-as-dict} over [t_from, t_to], and the bottleneck:
    the CPU set with the highest utilisation (roles sharing a set are one
    set), with its utilisation and whether it saturated."""
    a, b = sampler.at(t_from), sampler.at(t_to)
    span = max(1e-9, t_to - t_from)
    out = {}
    for role, cpus in roles_cpus.items():
        if role not in b:
            continue
        cpu_s = max(0.0, b[role] - a.get(role, 0.0))
        n = len(cpus) if cpus else os.cpu_count()
        out[role] = {"cpus": cpu_list(cpus), "cpu_s": cpu_s, "util": cpu_s / (span * n),
                     "us_per_tx": (cpu_s / done_tx * 1e6) if done_tx else None}
    sets = {}
    for role, cpus in roles_cpus.items():
        if role in out:
            key = cpu_list(cpus)
            name, s, n = sets.get(key, ("", 0.0, len(cpus) or os.cpu_count()))
            sets[key] = (f"{name}+{role}" if name else role, s + out[role]["cpu_s"], n)
    bottleneck, util = None, None
    for name, s, n in sets.values():
        u = s / (span * n)
        if util is None or u > util:
            bottleneck, util = name, u
    return out, bottleneck, util


if __name__ == "__main__":
    # `placement.py check-cpus LIST`: exit 0 if this process may use every CPU
    # of LIST, else 2 with the reason (for scripts that pin with taskset).
    import sys
    if len(sys.argv) != 3 or sys.argv[1] != "check-cpus":
        sys.exit("usage: placement.py check-cpus LIST")
    try:
        check_usable(sys.argv[2])
    except ValueError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
