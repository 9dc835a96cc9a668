#!/usr/bin/env bash
# CI-sized crash campaigns (bench campaign): kill -9 the solo orderer and
# the Raft leader three times each under Broadcast load, restart them, and
# let the campaign's checker (ack logs against the exported ledgers, no
# orderer code) prove that every SUCCESS is in the chain exactly once,
# nothing is doubled and the Raft replicas agree. A wrong target is refused.
# Usage: campaign_smoke.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=$1 BUILD=$2
OUT=$BUILD/campaign-smoke
BENCH=$ROOT/bench/bench
rm -rf "$OUT"
fail() { echo "campaign smoke: $*" >&2; exit 1; }

code=0
"$BENCH" campaign --driver solo --target leader --out "$OUT" 2>"$BUILD/campaign-err.txt" || code=$?
[[ $code -eq 2 ]] && grep -q "target 'leader' does not apply to solo" "$BUILD/campaign-err.txt" ||
  fail "a wrong target: exit $code, $(cat "$BUILD/campaign-err.txt")"

"$BENCH" campaign --driver solo --target orderer --kills 3 --rate 300 --seed 1 --build "$BUILD" --out "$OUT/solo"
"$BENCH" campaign --driver raft-3 --target leader --kills 3 --rate 300 --seed 2 --build "$BUILD" --out "$OUT/raft"
for f in "$OUT/solo/orderer/campaign.json" "$OUT/raft/leader/campaign.json"; do
  python3 - "$f" <<'PY' || fail "$f: the verdict is not clean"
import json, sys
c = json.load(open(sys.argv[1]))
v = c["verdict"]
assert c["survived"] == 3, c["survived"]
assert v["ok"] and v["acknowledged"] > 1000 and v["acknowledged_missing"] == 0 and v["doubled"] == 0, v
print(f"campaign smoke: {sys.argv[1]}: {v['acknowledged']} acknowledged, all in the chain once")
PY
done
