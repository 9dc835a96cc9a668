#!/usr/bin/env bash
# CI-sized run of the experiment suite on the test broker: the profiles
# workload's smoke preset (two cells, one repetition, short windows) must
# calibrate against ProducerPerformance, find a capacity per cell with roles
# pinned apart, read latency at a fraction of it, verify every chain, delete
# its topics, write the typed raw data and a report; a study stopped part way
# resumes cell by cell, and mistakes are refused with clear messages.
# Usage: bench_smoke.sh REPO_ROOT BUILD_DIR BROKERS BROKER_DIR
set -euo pipefail
ROOT=$1 BUILD=$2 BROKERS=$3 BROKER_DIR=$4
OUT=$BUILD/bench-smoke
BENCH=$ROOT/bench/bench
rm -rf "$OUT"
fail() { echo "bench smoke: $*" >&2; exit 1; }
run() { "$BENCH" run profiles --preset smoke --brokers "$BROKERS" --broker-dir "$BROKER_DIR" --build "$BUILD" \
  --out "$OUT" --allow-dirty "$@"; }

# Mistakes first: nothing may run.
code=0
"$BENCH" run no-such-workload --out "$OUT" 2>"$BUILD/bench-err.txt" || code=$?
[[ $code -eq 2 ]] && grep -q "no workload 'no-such-workload' (known: .*profiles" "$BUILD/bench-err.txt" ||
  fail "an unknown workload: exit $code, $(cat "$BUILD/bench-err.txt")"
code=0
"$BENCH" run profiles --preset fast --out "$OUT" 2>"$BUILD/bench-err.txt" || code=$?
[[ $code -eq 2 ]] && grep -q "no preset 'fast'" "$BUILD/bench-err.txt" || fail "an unknown preset: exit $code"
[[ ! -e $OUT ]] || fail "a refused study wrote $OUT"

run | tee "$BUILD/bench-smoke.log"
for f in study.json env.json calibration.json runs.jsonl cells.jsonl report.md; do
  [[ -s $OUT/$f ]] || fail "$f missing in $OUT"
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
cells = [json.loads(l) for l in open(f"{out}/cells.jsonl")]
study = json.load(open(f"{out}/study.json"))
cal = json.load(open(f"{out}/calibration.json"))
assert study["placement"] == "isolated" and study["roles_cpus"]["orderer"] != study["roles_cpus"]["peers"], study
assert [m["when"] for m in cal["machine"]] == ["start", "end"], cal
assert cal["machine"][0]["ecdsa_p256_verify_per_s"]["median"] > 0
# Calibration: ProducerPerformance and our raw producer, once each, both valid.
calib = [r for r in runs if (r.get("criteria") or {}).get("calibration")]
assert sorted(r["tool"] for r in calib) == ["ProducerPerformance", "peer-sim --raw"], calib
for r in calib:
    assert r["valid"] and r["records_per_s"] > 0, r
# One capacity search per cell, its chain verified.
assert sorted(c["cell"] for c in cells) == ["baseline", "high-throughput"], cells
for c in cells:
    assert c["ledger_verified"] is True, c
    assert c["capacity"] and c["capacity"] > 0, c
    assert c["steps"] and all(s["rate"] > 0 for s in c["steps"]), c
steps = [r for r in runs if r["kind"] in ("step", "confirm")]
assert len(steps) == sum(len(c["steps"]) + len(c["confirmations"]) for c in cells)
for r in steps:
    assert set(r["criteria"]) == {"valid", "achieved", "p99", "backlog"}, r["criteria"]
    assert r["sustained"] == all(r["criteria"].values())
    assert r["signing"] == "presigned" and isinstance(r["steady"], bool), r
    cpu = r["cpu"]
    assert set(cpu) == {"orderer", "broker", "peers"}, cpu
    assert cpu["orderer"]["cpus"] == study["roles_cpus"]["orderer"], cpu
    assert cpu["orderer"]["cpu_s"] > 0 and cpu["peers"]["cpu_s"] > 0, cpu
    assert r["bottleneck"] in ("orderer", "broker+peers", "broker", "peers"), r["bottleneck"]
    # The producers' batches in the window: whole records of about the transaction's size.
    assert r["batch_records"] >= 1 and r["batch_bytes"] >= 1000 * r["batch_records"], r
for c in cells:
    sustained = [s["rate"] for s in c["steps"] if s["sustained"]]
    assert c["search_capacity"] == max(sustained), c
    # The capacity is the highest share of the steps' capacity a longer run sustained.
    held = [x["rate"] for x in c["confirmations"] if x["sustained"]]
    assert held and c["capacity"] == max(held) <= c["search_capacity"], c
    assert c["capacity_run"] in [x["run_id"] for x in c["confirmations"]], c
fr = [r for r in runs if r["kind"] == "fraction"]
assert len(fr) == 2 and all(r["valid"] and r["p99_ms"] > 0 and r["fraction"] == 0.5 for r in fr), fr
for r in fr:
    cap = next(c["capacity"] for c in cells if c["cell"] == r["cell"])
    assert abs(r["offered_tps"] - 0.5 * cap) <= 1, (r["offered_tps"], cap)
    s = json.load(open(f"{out}/runs/{r['run_id']}/peer-sim.json"))["series"]
    assert any(p["phase"] == "measured" for p in s), s
raw = [r for r in runs if r["kind"] == "raw" and not (r.get("criteria") or {}).get("calibration")]
assert len(raw) == 2 and all(r["valid"] and r["acked_tps"] > 0 for r in raw), raw
PY
report=$OUT/report.md
for section in "## Run integrity" "## Capacity" "## Latency at fixed fractions of capacity" \
               "## Calibration: Kafka's ProducerPerformance against our raw producer"; do
  grep -q "^$section" "$report" || fail "no '$section' in the report"
done
for png in capacity.png latency.png series.png search.png calibration.png; do
  [[ $(head -c 8 "$OUT/$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
done

# Each cell's topics were deleted after it: deleting one again names it unknown.
channel=$(head -n1 "$OUT/cells.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["channel"])')
if "$BUILD/tools/delete-topics" --brokers "$BROKERS" "$channel" 2>"$OUT/delete-err.txt"; then
  fail "$channel was still on the broker"
fi
grep -q "$channel: UNKNOWN_TOPIC_OR_PART" "$OUT/delete-err.txt" || fail "unexpected: $(cat "$OUT/delete-err.txt")"

# Resume: a study stopped in the middle of its second cell (its runs are in
# runs.jsonl, the cell is not in cells.jsonl) sets those runs aside and runs
# the cell again; a STOP file stops before the next cell (exit 3).
last=$(tail -n1 "$OUT/cells.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["cell"])')
head -n1 "$OUT/cells.jsonl" >"$OUT/cells.tmp" && mv "$OUT/cells.tmp" "$OUT/cells.jsonl"
runs_before=$(wc -l <"$OUT/runs.jsonl")
first_cell_runs=$(grep -vc "\"cell\": \"$last\"" "$OUT/runs.jsonl" || true)
touch "$OUT/STOP"
code=0
run --resume >"$BUILD/bench-resume1.log" 2>&1 || code=$?
[[ $code -eq 3 ]] || fail "a study stopped by STOP exited $code, not 3: $(tail -n5 "$BUILD/bench-resume1.log")"
[[ ! -e $OUT/STOP ]] || fail "STOP was not consumed"
grep -q "Partial study: 1 of 2 cell runs" "$report" || fail "a stopped study's report does not say partial"
[[ -s $OUT/discarded.jsonl ]] || fail "the unfinished cell's runs were not set aside"
code=0
"$BENCH" run profiles --preset full --brokers "$BROKERS" --build "$BUILD" --out "$OUT" --resume --allow-dirty \
  2>"$BUILD/bench-err.txt" || code=$?
[[ $code -ne 0 ]] && grep -q "holds another plan" "$BUILD/bench-err.txt" || fail "resuming another plan: exit $code"
run --resume | tee "$BUILD/bench-resume2.log"
grep -q "resuming .*: 1 of 2 cells done" "$BUILD/bench-resume2.log" || fail "resume did not report 1 of 2 done"
# The run order's seed: drawn for the study, recorded, and kept by every resume.
seed=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"])' "$OUT/study.json")
grep -q "run order seed $seed;" "$BUILD/bench-resume2.log" || fail "the resumed study did not keep its seed $seed"
grep -q "shuffled within each repetition with seed $seed " "$report" || fail "the report does not print the seed $seed"
[[ $(grep -c "^bench: \[" "$BUILD/bench-resume2.log") -eq 2 ]] || fail "resume ran other than the one missing cell"
[[ $(wc -l <"$OUT/cells.jsonl") -eq 2 ]] || fail "cells.jsonl does not hold both cells"
! grep -q "Partial study" "$report" || fail "the resumed report still says partial"
[[ -s $OUT/env-resume-1.json && -s $OUT/env-resume-2.json ]] || fail "resumed environments not recorded"

# A latency-only study at fractions of the capacities this study measured.
LAT=$BUILD/bench-smoke-latency
rm -rf "$LAT"
"$BENCH" run profiles-latency --preset smoke --capacity-from "$OUT" --brokers "$BROKERS" --broker-dir "$BROKER_DIR" \
  --build "$BUILD" --out "$LAT" --allow-dirty --no-calibrate | tee "$BUILD/bench-smoke-latency.log"
/usr/bin/python3 - "$OUT" "$LAT" <<'PY'
import json, sys
cap, lat = sys.argv[1], sys.argv[2]
caps = [json.loads(l)["capacity"] for l in open(f"{cap}/cells.jsonl") if json.loads(l)["cell"] == "baseline"]
ref = sum(caps) / len(caps)
cells = [json.loads(l) for l in open(f"{lat}/cells.jsonl")]
assert len(cells) == 1 and cells[0]["capacity"] is None and cells[0]["reference_capacity"]["capacity"] == ref, cells
runs = [json.loads(l) for l in open(f"{lat}/runs.jsonl") if json.loads(l)["kind"] != "warmup"]
assert [r["kind"] for r in runs] == ["fraction"] and runs[0]["valid"], runs
assert abs(runs[0]["offered_tps"] - round(0.5 * ref)) <= 1 and runs[0]["capacity_used"] == ref, runs
PY
grep -q "the mean capacity of the same cell in \`" "$LAT/report.md" || fail "the latency study's report does not name its capacities' study"
! grep -q "^## Capacity" "$LAT/report.md" || fail "a latency-only study reports a capacity of its own"

echo "bench smoke: OK ($runs_before runs before the resume, $first_cell_runs kept; report $report)"
