#!/usr/bin/env bash
# CI-sized run of the failover study (bench/workloads/failover.yaml, smoke
# preset): Raft at Fabric's defaults and tuned, and two Kafka orderers on one
# broker's partition at the defaults and tuned, each at 300 tx/s: a
# steady-state run, then the leader (Raft) or the orderer the peers use first
# (Kafka) killed under load. Every chain verifies; every recovery run is valid,
# blocks flow again, nothing answered SUCCESS is missing from the chains, the
# nodes' chains agree on their common prefix, and the Kafka cells' peers moved
# every stream to the second orderer; the report has the failover table.
# The bench starts its own broker (the tuned cells set broker settings).
# Usage: bench_failover_smoke.sh REPO_ROOT BUILD_DIR [OUT]   (OUT given: check a finished run only)
set -euo pipefail
ROOT=$1 BUILD=$2
OUT=${3:-$BUILD/bench-failover-smoke}
fail() { echo "bench failover smoke: $*" >&2; exit 1; }

if [[ $# -lt 3 ]]; then
  rm -rf "$OUT"
  "$ROOT/bench/bench" run failover --preset smoke --build "$BUILD" --out "$OUT" --allow-dirty |
    tee "$BUILD/bench-failover-smoke.log"
fi
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
cells = {c["cell"]: c for c in (json.loads(l) for l in open(f"{out}/cells.jsonl"))}
assert sorted(cells) == ["kafka-1-orderer-default", "kafka-1-orderer-tuned", "raft-fabric", "raft-tuned"], cells
for name, c in cells.items():
    assert c["ledger_verified"] is True, c
steady = {r["cell"]: r for r in runs if r["kind"] == "rate"}
assert sorted(steady) == sorted(cells), steady.keys()
for r in steady.values():
    assert r["valid"] and r["offered_tps"] == 300 and r["p99_ms"], r
rec = {r["cell"]: r for r in runs if r["kind"] == "recovery"}
# How soon blocks must flow again after the kill. Raft: libraft draws each election timeout T in
# [T, 2T), a follower that still hears of a leader refuses to vote (pre-vote), so one round ends
# after the later of the two followers' timeouts (< 2T) and a failed round adds another: five
# election timeouts hold two rounds. Kafka: the peers move to the second orderer at once.
bound_ms = {"raft-fabric": 5 * 5000, "raft-tuned": 5 * 1000,
            "kafka-1-orderer-default": 15000, "kafka-1-orderer-tuned": 15000}
assert sorted(rec) == sorted(cells), rec.keys()
for name, r in rec.items():
    assert r["valid"], (name, r["invalid_reason"])
    assert r["offered_tps"] == 300 and r["fraction"] is None, r
    assert r["resumed_ms"] is not None and r["resumed_ms"] < bound_ms[name], (name, r["resumed_ms"])
    assert r["acked_lost"] == 0, (name, r["ack_check"])
    assert r["ack_check"]["replicas_agree"] and not r["ack_check"]["violations"], r["ack_check"]
    assert r["ack_check"]["acknowledged"] > 1000, r["ack_check"]
    assert r["duplicates"] == 0, r
    if name.startswith("kafka"):
        assert "the orderer the peers use first" in r["killed"], r["killed"]
        second = r["streams"]["orderers"][1]
        assert r["streams"]["deliver"]["switches"] == {second: 1}, r["streams"]
        assert r["streams"]["broadcast"]["orderers"] == {second: 3}, r["streams"]
        assert set(r["ack_check"]["replicas"]) == {"orderer", "orderer2"}, r["ack_check"]
    else:
        assert "raft leader" in r["killed"] and r["new_leader"], r
        assert len(r["ack_check"]["replicas"]) == 3, r["ack_check"]
report = open(f"{out}/report.md").read()
assert "## Failover" in report and "| raft-fabric | node" in report, "no failover table"
print("bench failover smoke: ok")
PY
