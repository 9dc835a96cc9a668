#!/usr/bin/env bash
# CI-sized `bench tune` on the test broker: three candidates of a small grid,
# each measured flat out and at a fixed rate; the search must record every
# candidate, pick a best one, write it as a usable profile, and report the
# Pareto front.
# Usage: bench_tune_smoke.sh REPO_ROOT BUILD_DIR BROKERS BROKER_DIR
set -euo pipefail
ROOT=$1 BUILD=$2 BROKERS=$3 BROKER_DIR=$4
OUT=$BUILD/bench-tune-smoke
rm -rf "$OUT"
fail() { echo "bench tune smoke: $*" >&2; exit 1; }

# A bad goal is refused before anything runs.
if "$ROOT/bench/bench" tune --goal max-tps --brokers "$BROKERS" --out "$OUT" 2>"$BUILD/tune-err.txt"; then
  fail "a goal without its bound was accepted"
fi
grep -q "needs --p99-max-ms" "$BUILD/tune-err.txt" || fail "unclear error: $(cat "$BUILD/tune-err.txt")"
[[ ! -e $OUT/runs.jsonl ]] || fail "a refused search wrote runs"

"$ROOT/bench/bench" tune --preset smoke --goal max-tps --p99-max-ms 5000 --rate 500 --budget 3 \
  --space 'batch.size=16384,65536;linger.ms=0,5' --brokers "$BROKERS" --broker-dir "$BROKER_DIR" \
  --build "$BUILD" --out "$OUT"
runs=$(wc -l <"$OUT/runs.jsonl")
[[ $runs -eq 6 ]] || fail "expected 6 runs (3 candidates x peak and rate), found $runs"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
t = json.load(open(f"{out}/tune.json"))
cands = t["candidates"]
assert len(cands) == 3, cands
assert len({json.dumps(c["cand"], sort_keys=True) for c in cands}) == 3, "a candidate was measured twice"
assert cands[0]["cand"] == {"batch.size": "16384", "linger.ms": "0"}, "the search must start at the profile"
assert all(c["tps"] > 0 and c["p99"] > 0 for c in cands), cands
best = t["best"]
assert best in cands
feasible = [c for c in cands if c["p99"] <= 5000]
if feasible:
    assert t["best_feasible"] and best["tps"] == max(c["tps"] for c in feasible), t
props = dict(l.strip().split("=", 1) for l in open(f"{out}/best.properties") if "=" in l and not l.startswith("#"))
assert props["batch.size"] == best["cand"]["batch.size"] and props["linger.ms"] == best["cand"]["linger.ms"], props
assert props["acks"] == "all", "best.properties must keep the base profile's other settings"
PY
report=$OUT/report.md
for section in "## Tuning search" "## Pareto front" "## Latency distribution"; do
  grep -q "^$section" "$report" || fail "no '$section' in the report"
done
for png in pareto.png latency-cdf.png; do
  [[ $(head -c 8 "$OUT/$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
done
echo "bench tune smoke: OK ($runs runs, report $report)"
