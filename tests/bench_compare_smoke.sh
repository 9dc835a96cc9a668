#!/usr/bin/env bash
# CI-sized run of the backend comparison (bench/workloads/compare.yaml, smoke
# preset) through Broadcast: solo, Kafka on the test broker and a 3-node Raft
# cluster, interleaved in one study; each finds a capacity, its chain (every
# raft node's) verifies, CPU is reported per role (raft's followers as
# replicas), and the raft cell's recovery run kills its leader under load and
# measures the first block after the silence. Kafka with one broker has no
# leader to lose: its recovery is skipped, and the report says so. Every run
# scrapes the orderer's /metrics each second and keeps the series.
# Usage: bench_compare_smoke.sh REPO_ROOT BUILD_DIR BROKERS BROKER_DIR
set -euo pipefail
ROOT=$1 BUILD=$2 BROKERS=$3 BROKER_DIR=$4
OUT=$BUILD/bench-compare-smoke
BENCH=$ROOT/bench/bench
rm -rf "$OUT"
fail() { echo "bench compare smoke: $*" >&2; exit 1; }

"$BENCH" run compare --preset smoke --brokers "$BROKERS" --broker-dir "$BROKER_DIR" --build "$BUILD" \
  --out "$OUT" --allow-dirty --no-calibrate | tee "$BUILD/bench-compare-smoke.log"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
cells = {c["cell"]: c for c in (json.loads(l) for l in open(f"{out}/cells.jsonl"))}
study = json.load(open(f"{out}/study.json"))
assert sorted(cells) == ["kafka-1", "raft-3", "solo"], cells
assert {n: d["backend"] for n, d in study["drivers"].items()} == {"solo": "solo", "kafka-1": "kafka", "raft-3": "raft"}
for name, c in cells.items():
    assert c["ledger_verified"] is True, c
    assert c["capacity"] and c["capacity"] > 0, c
    assert c["backend"] == study["drivers"][name]["backend"], c
steps = [r for r in runs if r["kind"] == "step"]
for r in steps:
    assert r["submit"] == "broadcast", r
    roles = set(r["cpu"])
    want = {"solo": {"orderer", "peers"}, "kafka-1": {"orderer", "broker", "peers"},
            "raft-3": {"orderer", "replicas", "peers"}}[r["cell"]]
    assert roles == want, (r["cell"], roles)
    assert r["cpu"]["orderer"]["cpus"] == study["roles_cpus"]["orderer"], r["cpu"]
    assert r["cpu"]["orderer"]["cpu_s"] > 0, r["cpu"]
    if r["cell"] == "raft-3":
        assert r["nodes"] == 3 and r["cpu"]["replicas"]["cpu_s"] > 0, r
    # The orderer's /metrics, scraped each second: its series is kept and its window summarised.
    m = r["orderer_metrics"]
    assert m and m["samples"] >= 2 and m["ordered_tps"] > 0 and m["blocks"] > 0, (r["run_id"], m)
    assert m["cpu_cores"] > 0 and m["verify_p50_us"] and m["write_p99_ms"], (r["run_id"], m)
    import csv, gzip
    with gzip.open(f"{out}/runs/{r['run_id']}/metrics.csv.gz", "rt", newline="") as f:
        assert any(row[1].startswith("orderer_transactions_ordered_total") for row in csv.reader(f)), r["run_id"]
rec = [r for r in runs if r["kind"] == "recovery"]
assert [r["cell"] for r in rec] == ["raft-3"], rec
r = rec[0]
assert r["valid"] and "raft leader" in r["killed"], r
assert r["recovery_ms"] is not None and 0 < r["recovery_ms"] < 15000, r
assert r["duplicates"] == 0, r
assert r["new_leader"] and r["new_leader"] not in r["killed"], r
assert cells["kafka-1"]["recovery"]["skipped"], cells["kafka-1"]
assert cells["solo"]["recovery"]["skipped"], cells["solo"]
PY
report=$OUT/report.md
grep -q "^## Recovery after losing the leader" "$report" || fail "no recovery section in the report"
grep -q "replicas µs/tx" "$report" || fail "no replicas column in the report's CPU table"
grep -q "^## The orderer's /metrics against the peers" "$report" || fail "no /metrics section in the report"
grep -q "Not measured for kafka-1, solo" "$report" || fail "the report does not say which cells had no leader to lose"
echo "bench compare smoke: OK (report $report)"
