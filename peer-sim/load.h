// The load generator: N simulated peers, each with its own ECDSA key and its
// own librdkafka producer (the profile's settings), submit signed
// transactions to the channel's topic; a Deliver listener on the orderer
// sees every committed block, so each transaction is timed from submit to
// delivery.
//
// Pacing: with a rate, sending is open-loop. Transaction k is due at
// start + k / rate and its latency is measured from that due time, so a
// stalled producer shows up as latency rather than quietly lowering the
// offered load (no coordinated omission). Without a rate, peers send flat
// out, limited to `max_in_flight` transactions submitted but not yet
// delivered (acknowledged in raw mode).
//
// Raw mode measures the producer alone (the research's setting): no orderer,
// latency is submit -> broker acknowledgement.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/properties.h"
#include "common/status.h"
#include "peer-sim/latency.h"

namespace ordering {

struct LoadProgress {
  double elapsed_s = 0;
  uint64_t submitted = 0, acked = 0, delivered = 0, failed = 0;
  uint64_t in_flight = 0;
  double interval_submit_tps = 0, interval_delivered_tps = 0;  // over the last interval
  LatencySummary interval_latency;  // e2e (ack in raw mode), last interval
};

struct LoadOptions {
  std::string brokers;                // required
  std::string orderer;                // Deliver address host:port; required unless raw
  std::string channel_id = "mychannel";
  std::string topic;                  // default: channel_id
  int peers = 3;                      // Default: 3
  std::string profile_name;           // for the report
  Properties producer_properties;     // the profile, then overrides
  Properties profile_broker;          // the profile's broker part (keys without "broker."), for the report
  size_t tx_size = 1024;              // record bytes on the wire. Default: 1 KB
  double rate = 0;                    // total tx/s over all peers; 0 = flat out
  uint64_t count = 0;                 // stop after this many (0 = no limit)
  int64_t duration_ms = 0;            // stop submitting after this long (0 = no limit)
  // Transactions due in the first `warmup_ms` are checked like all others
  // but left out of throughput and latency. Counts toward duration.
  int64_t warmup_ms = 0;
  uint64_t max_in_flight = 20000;     // flat-out window. Default: 20000
  int64_t drain_timeout_ms = 30000;   // wait this long for outstanding deliveries
  int64_t connect_timeout_ms = 15000; // wait this long for the orderer's first block
  bool raw = false;
  int64_t progress_interval_ms = 5000;
  std::function<void(const LoadProgress&)> on_progress;  // every progress interval
  const Clock* clock = SystemClock::Default();
};

struct LoadReport {
  nlohmann::json config;
  uint64_t submitted = 0;   // handed to a producer
  uint64_t acked = 0;       // acknowledged by the broker
  uint64_t failed = 0;      // delivery report with an error
  uint64_t delivered = 0;   // ours, seen in a delivered block (first time)
  uint64_t duplicates = 0;  // ours, seen again in a later block or position
  uint64_t lost = 0;        // acknowledged but not delivered within the drain timeout
  uint64_t blocks = 0;      // blocks received after the start
  std::map<std::string, uint64_t> cut_reasons;
  uint64_t record_bytes = 0;   // size of one record on the wire (first tx)
  uint64_t warmup_transactions = 0;  // submitted during the warm-up
  // Rates and latencies below cover the measured (post-warm-up) window.
  double submit_seconds = 0;   // first due time -> last submit
  // The measured window: from the end of the warm-up to the end of
  // submitting (duration-limited run) or to the last delivery (fixed count);
  // ack_tps and delivered_tps count what completed inside it.
  double run_seconds = 0;
  double submit_tps = 0;       // submitted / submit_seconds
  double ack_tps = 0;          // acknowledged by the broker / window
  double delivered_tps = 0;    // committed in delivered blocks / run_seconds
  LatencySummary e2e;          // submit (due time) -> delivered
  LatencySummary ack;          // submit (due time) -> broker ack
  bool stopped_early = false;  // interrupted
  // True when nothing was lost, doubled or failed.
  bool clean() const { return lost == 0 && duplicates == 0 && failed == 0; }
};

// Runs the load until count/duration is reached or *stop becomes true, then
// drains. Returns non-OK only when the run could not be carried out (bad
// options, broker or orderer unreachable); loss and duplicates are reported
// in *report.
[[nodiscard]] Status RunLoad(const LoadOptions& options, LoadReport* report,
                             const std::atomic<bool>* stop = nullptr);

nlohmann::json ReportToJson(const LoadReport& report);
// Human-readable multi-line summary.
std::string ReportToText(const LoadReport& report);

}  // namespace ordering
