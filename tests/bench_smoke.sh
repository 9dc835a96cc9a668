#!/usr/bin/env bash
# CI-sized run of the experiment suite on the test broker: the profiles study
# with the smoke preset must finish, every run must be clean and verified,
# and the report must hold the headline table, a row per configuration and
# its plots.
# Usage: bench_smoke.sh REPO_ROOT BUILD_DIR BROKERS BROKER_DIR
set -euo pipefail
ROOT=$1 BUILD=$2 BROKERS=$3 BROKER_DIR=$4
OUT=$BUILD/bench-smoke
rm -rf "$OUT"
"$ROOT/bench/bench" run profiles --preset smoke --brokers "$BROKERS" --broker-dir "$BROKER_DIR" \
  --build "$BUILD" --out "$OUT"
fail() { echo "bench smoke: $*" >&2; exit 1; }
[[ -s $OUT/env.json && -s $OUT/runs.jsonl && -s $OUT/runs.csv ]] || fail "raw data missing in $OUT"
runs=$(wc -l <"$OUT/runs.jsonl")
[[ $runs -eq 8 ]] || fail "expected 8 runs, found $runs"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
for line in open(f"{out}/runs.jsonl"):
    r = json.loads(line)
    assert r["clean"] and r["ledger_verified"], f"run {r['run_id']} not clean/verified"
    assert r["tps"] > 0 and r["p99_ms"] >= r["p50_ms"] > 0, f"run {r['run_id']}: {r}"
    if r["cfg_load"] == "peak":
        assert r["raw_ack_tps"] > 0 and r["efficiency"] > 0, f"run {r['run_id']}: no raw baseline"
    else:
        assert "raw_ack_tps" not in r, f"run {r['run_id']}: a raw baseline beside a fixed-rate run"
    assert r["orderer_cpu_s"] > 0 and r["peersim_cpu_s"] > 0, f"run {r['run_id']}: no CPU measured"
PY
# Each run's topics were deleted after it (a full study would otherwise fill
# the broker's disk): deleting them again fails, naming the unknown topic.
channel=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["channel"])' \
  "$OUT/runs.jsonl")
if "$BUILD/tools/delete-topics" --brokers "$BROKERS" "$channel" 2>"$OUT/delete-err.txt"; then
  fail "run 001's topic $channel was still on the broker"
fi
grep -q "$channel: UNKNOWN_TOPIC_OR_PART" "$OUT/delete-err.txt" || fail "unexpected: $(cat "$OUT/delete-err.txt")"
code=0
"$BUILD/tools/delete-topics" --brokers "$BROKERS" 2>"$OUT/delete-err.txt" || code=$?
[[ $code -eq 2 ]] && grep -q "no topic given" "$OUT/delete-err.txt" || fail "delete-topics without a topic: exit $code"
report=$OUT/report.md
grep -q "## Headline: baseline vs the tuned profile" "$report" || fail "no headline table"
for label in baseline/rate high-throughput/rate low-latency/rate balanced/rate \
             baseline/peak high-throughput/peak low-latency/peak balanced/peak; do
  grep -q "^| $label |" "$report" || fail "no row for $label"
done
grep -q "^## Latency distribution" "$report" || fail "no latency CDF section"
grep -q "^## Pareto front" "$report" || fail "no Pareto front"
for png in throughput.png p99.png latency-cdf.png pareto.png; do
  [[ $(head -c 8 "$OUT/$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
done
# A study stopped part way resumes where it stopped: drop the last two runs
# and resume; only those two run again, the report is rebuilt whole.
head -n 6 "$OUT/runs.jsonl" >"$OUT/runs.jsonl.tmp" && mv "$OUT/runs.jsonl.tmp" "$OUT/runs.jsonl"
before=$(sed -n 1p "$OUT/runs.jsonl")
if "$ROOT/bench/bench" run sweeps --preset smoke --brokers "$BROKERS" --build "$BUILD" --out "$OUT" --resume \
    2>"$OUT/resume-err.txt"; then
  fail "resuming a profiles study as sweeps was accepted"
fi
grep -q "holds study profiles" "$OUT/resume-err.txt" || fail "unclear resume error: $(cat "$OUT/resume-err.txt")"
# A STOP file ends a study before its next run: exit 3 and a partial report.
touch "$OUT/STOP"
code=0
"$ROOT/bench/bench" run profiles --preset smoke --brokers "$BROKERS" --build "$BUILD" --out "$OUT" --resume || code=$?
[[ $code -eq 3 ]] || fail "a study stopped by STOP exited $code, not 3"
[[ ! -e $OUT/STOP && $(wc -l <"$OUT/runs.jsonl") -eq 6 ]] || fail "STOP did not stop before the next run"
grep -q "Partial study: 6 of 8 runs" "$report" || fail "a stopped study's report does not say partial"
"$ROOT/bench/bench" run profiles --preset smoke --brokers "$BROKERS" --broker-dir "$BROKER_DIR" \
  --build "$BUILD" --out "$OUT" --resume | tee "$OUT/resume.log"
grep -q "resuming .*: 6 of 8 runs done" "$OUT/resume.log" || fail "resume did not report 6 of 8 done"
[[ $(grep -c "running (" "$OUT/resume.log") -eq 2 ]] || fail "resume ran other than the 2 missing runs"
[[ $(wc -l <"$OUT/runs.jsonl") -eq 8 && $(sed -n 1p "$OUT/runs.jsonl") == "$before" ]] || fail "resume rewrote done runs"
[[ -s $OUT/env-resume-1.json && -s $OUT/env-resume-2.json ]] || fail "resumed environments not recorded"
grep -q "^| balanced/peak |" "$report" || fail "resumed report lacks the last configuration"
grep -q "Partial study" "$report" && fail "resumed report still says partial"

echo "bench smoke: OK ($runs runs, report $report)"
