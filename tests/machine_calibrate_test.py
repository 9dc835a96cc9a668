#!/usr/bin/env python3
"""machine-calibrate, briefly: its JSON carries positive, ordered figures,
it reports where the caller placed it (it never pins itself), and bad flags
exit 2 with a message.

Usage: machine_calibrate_test.py PATH/TO/machine-calibrate"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from benchlib import placement  # noqa: E402

BINARY = sys.argv[1]
QUICK = ["--seconds", "0.03", "--repeat", "3", "--warmup-seconds", "0.01"]
FIGURES = ("ecdsa_p256_sign_per_s", "ecdsa_p256_verify_per_s", "sha256_1kb_per_s", "sha256_1kb_mb_per_s")


def fail(msg):
    print(f"machine calibrate test: {msg}", file=sys.stderr)
    sys.exit(1)


def run(args, prefix=()):
    return subprocess.run(list(prefix) + [BINARY] + args, capture_output=True, text=True, timeout=120)


def parse_cpu_list(text):
    """The CPUs of a list as the binary reports its affinity: the bench's one CPU-list reader."""
    try:
        return set(placement.parse_cpu_list(text))
    except ValueError as e:
        fail(f"affinity: {e}")


def check_json(p, what):
    if p.returncode != 0:
        fail(f"{what}: exit {p.returncode}: {p.stderr}")
    try:
        out = json.loads(p.stdout)
    except ValueError as e:
        fail(f"{what}: stdout is not one JSON object ({e}): {p.stdout!r}")
    for key in FIGURES:
        f = out.get(key)
        if not isinstance(f, dict) or set(f) != {"median", "min", "max"}:
            fail(f"{what}: {key} should be {{median, min, max}}: {f!r}")
        if not 0 < f["min"] <= f["median"] <= f["max"]:
            fail(f"{what}: {key} is not 0 < min <= median <= max: {f}")
    # MB/s is hashes/s times 1024 bytes, per repeat, so the spreads agree.
    for k in ("median", "min", "max"):
        want = out["sha256_1kb_per_s"][k] * 1024 / 1e6
        if abs(out["sha256_1kb_mb_per_s"][k] - want) > 1e-9 * want:
            fail(f"{what}: sha256_1kb_mb_per_s.{k}={out['sha256_1kb_mb_per_s'][k]}, expected {want}")
    if out.get("seconds_each") != 0.03 or out.get("repeat") != 3:
        fail(f"{what}: seconds_each/repeat do not echo the flags: {out.get('seconds_each')}, {out.get('repeat')}")
    allowed = parse_cpu_list(out["affinity"])
    if not isinstance(out.get("cpu"), int) or out["cpu"] not in allowed:
        fail(f"{what}: cpu {out.get('cpu')!r} is not in the affinity {out['affinity']!r}")
    if not set(out["cpus_seen"]) <= allowed or out["cpu"] not in out["cpus_seen"]:
        fail(f"{what}: cpus_seen {out['cpus_seen']} does not fit cpu/affinity")
    return out


# 1. Unpinned: the affinity reported is this process's own.
out = check_json(run(["--json"] + QUICK), "unpinned run")
mine = os.sched_getaffinity(0)
if parse_cpu_list(out["affinity"]) != mine:
    fail(f"affinity {out['affinity']!r} is not the caller's {sorted(mine)}")

# 2. Placed by the caller on one CPU: it stays there and says so.
cpu = max(mine)
out = check_json(run(["--json"] + QUICK, prefix=("taskset", "-c", str(cpu))), f"run under taskset -c {cpu}")
if out["affinity"] != str(cpu) or out["cpu"] != cpu or out["cpus_seen"] != [cpu]:
    fail(f"under taskset -c {cpu}: affinity {out['affinity']!r}, cpu {out['cpu']}, seen {out['cpus_seen']}")

# 3. Human text without --json.
p = run(QUICK)
if p.returncode != 0 or "ECDSA P-256 verify" not in p.stdout or "MB/s" not in p.stdout:
    fail(f"text output: exit {p.returncode}: {p.stdout!r} {p.stderr!r}")

# 4. --help, and usage errors: exit 2, the program's name and the problem.
p = run(["--help"])
if p.returncode != 0 or "--seconds" not in p.stdout:
    fail(f"--help: exit {p.returncode}: {p.stdout!r}")
for args, words in ((["--seconds", "0"], "--seconds"), (["--seconds", "-1"], "--seconds"),
                    (["--seconds", "abc"], "seconds"), (["--repeat", "0"], "--repeat"),
                    (["--warmup-seconds", "-1"], "--warmup-seconds"), (["--bogus"], "bogus"),
                    (["extra"], "positional")):
    p = run(args)
    if p.returncode != 2 or not p.stderr.startswith("machine-calibrate: ") or words not in p.stderr:
        fail(f"{args}: expected exit 2 naming {words!r}, got {p.returncode}: {p.stderr!r}")
    if p.stdout:
        fail(f"{args}: printed on stdout: {p.stdout!r}")

print("machine calibrate test: OK")
