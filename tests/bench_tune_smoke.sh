#!/usr/bin/env bash
# CI-sized `bench tune` on the test broker: two candidates of a small grid,
# each a cell (capacity search under the goal's p99 bound); the search must
# record every candidate, pick the best, and write it as a usable profile.
# Usage: bench_tune_smoke.sh REPO_ROOT BUILD_DIR BROKERS BROKER_DIR
set -euo pipefail
ROOT=$1 BUILD=$2 BROKERS=$3 BROKER_DIR=$4
OUT=$BUILD/bench-tune-smoke
rm -rf "$OUT"
fail() { echo "bench tune smoke: $*" >&2; exit 1; }

# A goal without its bound is refused before anything runs.
if "$ROOT/bench/bench" tune --goal max-tps --brokers "$BROKERS" --out "$OUT" 2>"$BUILD/tune-err.txt"; then
  fail "a goal without its bound was accepted"
fi
grep -q "needs --p99-max-ms" "$BUILD/tune-err.txt" || fail "unclear error: $(cat "$BUILD/tune-err.txt")"
if "$ROOT/bench/bench" tune --goal min-p99 --tps-min 100 --brokers "$BROKERS" --out "$OUT" 2>"$BUILD/tune-err.txt"; then
  fail "min-p99 without --rate was accepted"
fi
grep -q "needs --rate" "$BUILD/tune-err.txt" || fail "unclear error: $(cat "$BUILD/tune-err.txt")"
[[ ! -e $OUT/runs.jsonl ]] || fail "a refused search wrote runs"

"$ROOT/bench/bench" tune --preset smoke --goal max-tps --p99-max-ms 5000 --budget 2 \
  --space 'batch.size=16384,65536;linger.ms=0,5' --brokers "$BROKERS" --broker-dir "$BROKER_DIR" \
  --build "$BUILD" --out "$OUT" --allow-dirty
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
t = json.load(open(f"{out}/tune.json"))
cands = t["candidates"]
assert len(cands) == 2, cands
assert len({json.dumps(c["cand"], sort_keys=True) for c in cands}) == 2, "a candidate was measured twice"
assert cands[0]["cand"] == {"batch.size": "16384", "linger.ms": "0"}, "the search must start at the profile"
assert all(c["tps"] > 0 and c["p99"] > 0 for c in cands), cands
cells = [json.loads(l) for l in open(f"{out}/cells.jsonl")]
assert len(cells) == 2 and all(c["ledger_verified"] for c in cells), cells
for c, cell in zip(cands, cells):
    # The pair reported for a candidate comes from one cell run: its capacity and the p99 of that step.
    assert c["tps"] == cell["capacity"] and c["p99"] == cell["p99_at_capacity"], (c, cell)
best = t["best"]
assert best in cands and best["tps"] == max(c["tps"] for c in cands if c["p99"] <= 5000), t
props = dict(l.strip().split("=", 1) for l in open(f"{out}/best.properties") if "=" in l and not l.startswith("#"))
assert props["batch.size"] == best["cand"]["batch.size"] and props["linger.ms"] == best["cand"]["linger.ms"], props
assert props["acks"] == "all", "best.properties must keep the base profile's other settings"
PY
grep -q "^## Tuning search" "$OUT/report.md" || fail "no tuning section in the report"
echo "bench tune smoke: OK (report $OUT/report.md)"
