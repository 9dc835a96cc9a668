#!/usr/bin/env bash
# Network faults, CI-sized (bench netfault, one fault per scenario): every
# orderer node, the broker and the clients on a host of their own (network
# namespaces on a bridge, iproute2 only). The Raft leader cut from both
# followers, then one follower cut off; the Kafka orderer cut from its
# broker; the client host's link taken down mid-stream; the Raft links
# slowed and stalled through Toxiproxy. Each heals; the campaigns' checker
# must find every SUCCESS in the chain once and the replicas byte-identical,
# and each fault window must show what the contract says (no SUCCESS from the
# cut-off side, SERVICE_UNAVAILABLE there after --ack-timeout, the majority
# going on, catch-up, the orderer letting go of a vanished client).
# Skipped (exit 77) where network namespaces cannot be made.
# Usage: netfault_test.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=$1 BUILD=$2
OUT=$BUILD/netfault-test
SCENARIOS=${NETFAULT_SCENARIOS:-leader-isolated,follower-isolated,client-cut,slow-links,broker-cut}
skip() {
  echo "netfault: SKIPPED: network namespaces cannot be made on this machine ($1); they need root (or" \
    "CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2; nothing was tested" >&2
  exit 77
}
reason=$(python3 -c "import sys; sys.path.insert(0, sys.argv[1]); from benchlib import netns; print(netns.probe() or '')" \
  "$ROOT/bench" 2>&1) || skip "the probe failed: $reason"
[[ -z $reason ]] || skip "$reason"
rm -rf "$OUT"
"$ROOT/scripts/toxiproxy" install >/dev/null
code=0
"$ROOT/bench/bench" netfault --scenario "$SCENARIOS" --cycles 1 --rate 240 --seed 1 --build "$BUILD" \
  --out "$OUT" || code=$?
[[ $code -ne 4 ]] || skip "bench netfault's own probe failed"
[[ -f $OUT/netfaults.jsonl ]] || { echo "netfault: no summary (bench exit $code)" >&2; exit 1; }
python3 - "$OUT/netfaults.jsonl" "$SCENARIOS" <<'PY'
import json, sys
rows = {r["scenario"]: r for r in map(json.loads, open(sys.argv[1]))}
bad = []
for name in sys.argv[2].split(","):
    r = rows.get(name)
    if r is None:
        bad.append(f"{name}: did not finish (see the log above)")
        continue
    v = r["verdict"]
    net = r["network"]
    print(f"netfault: {name}: {r['faults_made']} fault window(s), network {net}, {v['acknowledged']} acknowledged, "
          f"{v['acknowledged_missing']} missing, {v['doubled']} doubled, height {v['height']}, {r['seconds']} s: "
          f"{'OK' if v['ok'] else 'VIOLATED'}")
    for w in r["windows"]:
        keep = {k: x for k, x in w.items() if k not in ("start_ns", "end_ns", "heads_before_heal")}
        print(f"    {json.dumps(keep, sort_keys=True)}")
    if not v["ok"]:
        bad.append(f"{name}: " + "; ".join(v["problems"]))
    if v["acknowledged"] < 500 or v["acknowledged_missing"] or v["doubled"]:
        bad.append(f"{name}: {v['acknowledged']} acknowledged, {v['acknowledged_missing']} missing, {v['doubled']} doubled")
    if net.get("cut", 0) != net.get("healed", 0) or net.get("isolated", 0) != net.get("rejoined", 0):
        bad.append(f"{name}: not every fault was healed: {net}")
for b in bad:
    print(f"netfault: FAILED: {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
ip netns list | grep -q '^nfx-' && { echo "netfault: namespaces left behind: $(ip netns list)" >&2; exit 1; }
exit 0
