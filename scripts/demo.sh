#!/usr/bin/env bash
# The end-to-end demo on the embedded broker: sets up and builds, starts the
# embedded Kafka (librdkafka mock cluster), an orderer and simulated peers,
# prints TPS and latency, then verifies the ledger.
#
# Usage: scripts/demo.sh [--duration 20s] [--warmup 5s] [--rate 2000] [--peers 3] [--tx-size 1024]
#                        [--profile configs/profiles/high-throughput.properties]
#                        [--kafka 1|3]           (start a real Kafka for the run: scripts/kafka)
#                        [--brokers HOST:PORT]   (use a running Kafka instead)
#                        [--metrics-port 9443]   (orderer /metrics, /healthz, /readyz on 127.0.0.1:PORT,
#                                                 the peers' /metrics on PORT+1; 0 = off)
# --duration is the measured window, after the --warmup (auto = until steady).
# Everything is written under run/demo-<timestamp>/ (logs, ledger, report).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

DURATION=20s WARMUP=5s RATE=2000 PEERS=3 BROKERS="" TX_SIZE=1024 KAFKA="" METRICS_PORT=9443
PROFILE=$ROOT/configs/profiles/high-throughput.properties
while (($#)); do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    --profile) PROFILE=$2; shift 2 ;;
    --brokers) BROKERS=$2; shift 2 ;;
    --kafka) KAFKA=$2; shift 2 ;;
    --tx-size) TX_SIZE=$2; shift 2 ;;
    --metrics-port) METRICS_PORT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -r $PROFILE ]] || { echo "demo: cannot read profile '$PROFILE'" >&2; exit 2; }
[[ -z $KAFKA || $KAFKA == 1 || $KAFKA == 3 ]] || { echo "demo: --kafka takes 1 or 3" >&2; exit 2; }
[[ -z $KAFKA || -z $BROKERS ]] || { echo "demo: give --kafka or --brokers, not both" >&2; exit 2; }
[[ $METRICS_PORT =~ ^[0-9]+$ && $METRICS_PORT -lt 65535 ]] || { echo "demo: --metrics-port takes a port number (0 = off)" >&2; exit 2; }
ORDERER_METRICS=() PEER_METRICS=()
if ((METRICS_PORT > 0)); then
  ORDERER_METRICS=(--metrics-listen "127.0.0.1:$METRICS_PORT")
  PEER_METRICS=(--metrics-listen "127.0.0.1:$((METRICS_PORT + 1))")
fi

"$ROOT/scripts/build.sh"
BIN=${BUILD_DIR:-$ROOT/build}
RUN=$ROOT/run/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
echo "demo: writing to $RUN"

PIDS=()
cleanup() {
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n $KAFKA ]]; then "$ROOT/scripts/kafka" wipe --brokers "$KAFKA" --dir "$RUN/kafka" 2>/dev/null || true; fi
}
trap cleanup EXIT

wait_for_file() {  # path, seconds, what
  for ((i=0; i<$2*10; i++)); do [[ -s $1 ]] && return 0; sleep 0.1; done
  echo "demo: $3 did not start within $2 s; see $RUN/*.log" >&2; exit 1
}

if [[ -n $KAFKA ]]; then
  echo "demo: starting Apache Kafka ($KAFKA broker(s), KRaft) with scripts/kafka"
  BROKERS=$("$ROOT/scripts/kafka" start --brokers "$KAFKA" --dir "$RUN/kafka" | sed -n 's/^bootstrap.servers=//p')
  [[ -n $BROKERS ]] || { echo "demo: Kafka did not start; see $RUN/kafka/" >&2; exit 1; }
  echo "demo: Kafka at $BROKERS"
elif [[ -z $BROKERS ]]; then
  "$BIN/tools/embedded-broker" --topic mychannel --bootstrap-file "$RUN/bootstrap" \
    >"$RUN/broker.log" 2>&1 &
  PIDS+=($!)
  wait_for_file "$RUN/bootstrap" 10 "embedded broker"
  BROKERS=$(cat "$RUN/bootstrap")
  echo "demo: embedded broker (librdkafka mock cluster) at $BROKERS"
fi

"$BIN/orderer/orderer" --brokers "$BROKERS" --channel mychannel --ledger-dir "$RUN/ledger" \
  --listen 127.0.0.1:0 --ready-file "$RUN/orderer.port" --metrics-file "$RUN/orderer-metrics.json" \
  --summary-interval 5s "${ORDERER_METRICS[@]}" >"$RUN/orderer.log" 2>&1 &
ORDERER_PID=$!
PIDS+=($ORDERER_PID)
wait_for_file "$RUN/orderer.port" 30 "orderer"
PORT=$(cat "$RUN/orderer.port")
echo "demo: orderer delivering on 127.0.0.1:$PORT (log: $RUN/orderer.log)"
if ((METRICS_PORT > 0)); then
  echo "demo: metrics: http://127.0.0.1:$METRICS_PORT/metrics (orderer; /healthz, /readyz), http://127.0.0.1:$((METRICS_PORT + 1))/metrics (peers)"
fi

echo "demo: $PEERS peers, $RATE tx/s, ${TX_SIZE}-byte transactions, profile $(basename "$PROFILE"), $WARMUP warm-up, then $DURATION measured"
set +e
"$BIN/peer-sim/peer-sim" --brokers "$BROKERS" --orderer "127.0.0.1:$PORT" --channel mychannel \
  --peers "$PEERS" --profile "$PROFILE" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" --tx-size "$TX_SIZE" \
  --json "$RUN/report.json" "${PEER_METRICS[@]}"
PEER_RC=$?
set -e

kill -TERM "$ORDERER_PID"
wait "$ORDERER_PID" || { echo "demo: orderer exited with an error; see $RUN/orderer.log" >&2; exit 1; }
echo
echo "demo: orderer counters: $(tail -n 1 "$RUN/orderer.log" | sed 's/.*final: //')"
echo "demo: verifying the ledger"
"$BIN/tools/ledger" --path "$RUN/ledger" info
"$BIN/tools/ledger" --path "$RUN/ledger" verify --signatures
echo "demo: report: $RUN/report.json"
exit $PEER_RC
