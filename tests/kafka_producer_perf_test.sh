#!/usr/bin/env bash
# Kafka's own producer benchmark through scripts/kafka against a running
# broker: create-topic makes a fresh topic (and leaves an existing one be),
# producer-perf sends a few thousand 1 KB records with the bench's producer
# settings and prints ProducerPerformance's summary line, every compression
# codec loads, and the topic is deleted afterwards.
# Usage: kafka_producer_perf_test.sh REPO_ROOT BOOTSTRAP DELETE_TOPICS_BINARY WORK_DIR
set -euo pipefail
ROOT=$1 BOOTSTRAP=$2 DELETE_TOPICS=$3 WORK=$4
KAFKA=$ROOT/scripts/kafka
TOPIC=producer-perf-test-$(date +%s)-$$
RECORDS=5000
fail() { echo "kafka producer-perf test: $*" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"

"$KAFKA" create-topic --bootstrap "$BOOTSTRAP" --topic "$TOPIC" 2>"$WORK/create.err" ||
  fail "create-topic failed: $(cat "$WORK/create.err")"
trap '"$DELETE_TOPICS" --brokers "$BOOTSTRAP" --timeout-ms 10000 "$TOPIC" >/dev/null 2>&1 || true' EXIT
grep -q "created topic $TOPIC" "$WORK/create.err" || fail "create-topic did not say it created $TOPIC: $(cat "$WORK/create.err")"
"$KAFKA" create-topic --bootstrap "$BOOTSTRAP" --topic "$TOPIC" 2>"$WORK/create-again.err" ||
  fail "create-topic on an existing topic failed: $(cat "$WORK/create-again.err")"
grep -q "exists on $BOOTSTRAP already" "$WORK/create-again.err" ||
  fail "create-topic on an existing topic said: $(cat "$WORK/create-again.err")"

# The summary line the bench parses (the last line on stdout).
SUMMARY='^([0-9]+) records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\), ([0-9.]+) ms avg latency, ([0-9.]+) ms max latency, ([0-9]+) ms 50th, ([0-9]+) ms 95th, ([0-9]+) ms 99th, ([0-9]+) ms 99\.9th\.$'
run_perf() {  # name records compression
  "$KAFKA" producer-perf --topic "$TOPIC" --num-records "$2" --record-size 1024 --throughput -1 \
    --producer-props "bootstrap.servers=$BOOTSTRAP" acks=all batch.size=16384 linger.ms=0 \
    "compression.type=$3" enable.idempotence=true buffer.memory=33554432 \
    >"$WORK/$1.out" 2>"$WORK/$1.err" || fail "producer-perf ($1) exited $?: $(tail -n 20 "$WORK/$1.err")"
  local last
  last=$(tail -n 1 "$WORK/$1.out")
  [[ $last =~ $SUMMARY ]] || fail "producer-perf ($1) printed no summary line: $(cat "$WORK/$1.out") $(tail -n 20 "$WORK/$1.err")"
  [[ ${BASH_REMATCH[1]} == "$2" ]] || fail "producer-perf ($1) sent ${BASH_REMATCH[1]} of $2 records: $last"
  awk -v r="${BASH_REMATCH[2]}" 'BEGIN { exit !(r > 0) }' || fail "producer-perf ($1) reports $last"
  echo "$1: $last"
}
run_perf plain "$RECORDS" none
# Each codec is a separate jar (zstd and snappy with native code): all present.
for codec in lz4 zstd snappy gzip; do run_perf "$codec" 200 "$codec"; done

trap - EXIT
"$DELETE_TOPICS" --brokers "$BOOTSTRAP" --timeout-ms 10000 "$TOPIC" 2>"$WORK/delete.err" ||
  fail "deleting $TOPIC failed: $(cat "$WORK/delete.err")"
echo "kafka producer-perf test: OK"
