// librdkafka's statistics (the JSON document a client emits every
// statistics.interval.ms), parsed once into a typed record. The orderer
// exports it on /metrics (orderer/consensus/kafka/kafka_stats.h); peer-sim
// reads its producers' batch windows from it. Only the fields those two use
// are kept; librdkafka documents the rest in STATISTICS.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ordering::kafka {

// One of librdkafka's rolling windows (rtt, int_latency, batchsize, ...):
// latencies in microseconds, sizes in bytes or messages.
struct StatsWindow {
  double cnt = 0;  // values in the window
  double sum = 0;
  double avg = 0;
  double p50 = 0;
  double p99 = 0;
  // cnt and sum are present as non-negative numbers (a window whose counts
  // cannot be trusted is kept, marked, for the caller to skip).
  bool counts_valid = false;
};

struct BrokerStats {
  std::string name;          // librdkafka's key, e.g. "127.0.0.1:9092/1"
  int64_t node_id = -1;      // -1: a bootstrap or logical broker (the group coordinator)
  std::string nodename;      // HOST:PORT
  std::string state;         // the connection's state: "UP", "DOWN", "CONNECT", ...
  int64_t stateage_us = -1;  // microseconds since the state last changed; -1: not given
  std::optional<StatsWindow> rtt, int_latency, outbuf_latency;
  double tx = 0, rx = 0, txretries = 0;  // requests sent, responses received, requests retried
};

struct TopicStats {
  std::string name;
  std::optional<StatsWindow> batchsize;  // producer batch sizes in bytes
  std::optional<StatsWindow> batchcnt;   // producer batch sizes in messages
};

struct ClientStats {
  int64_t ts_us = 0;   // librdkafka's monotonic clock (CLOCK_MONOTONIC, microseconds) at the snapshot
  double msg_cnt = 0;  // messages in the client's queues
  double txmsgs = 0;   // messages sent to brokers
  double rxmsgs = 0;   // messages received from brokers
  std::vector<BrokerStats> brokers;
  std::vector<TopicStats> topics;

  // nullptr when the document has no such topic.
  const TopicStats* Topic(std::string_view name) const;
};

// false when `json` is not a JSON object; missing or mistyped fields read
// as absent (windows) or 0 (totals).
[[nodiscard]] bool ParseClientStats(std::string_view json, ClientStats* out);

}  // namespace ordering::kafka
