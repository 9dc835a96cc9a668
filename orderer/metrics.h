// Orderer counters (the "probe"): lock-free, written by the ordering
// pipeline, read by the periodic summary, the metrics file and tests.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "orderer/ingress/validator.h"
#include "proto/common.pb.h"

namespace ordering {

struct OrdererMetrics {
  std::atomic<uint64_t> records_received{0};  // every record read from the partition
  std::atomic<uint64_t> txs_ordered{0};       // regular messages accepted into blocks
  std::atomic<uint64_t> bytes_ordered{0};     // their payload+signature bytes
  std::array<std::atomic<uint64_t>, static_cast<size_t>(RejectCause::kCount)> rejected{};
  std::atomic<uint64_t> blocks_written{0};    // excluding genesis
  std::array<std::atomic<uint64_t>, 6> cuts_by_reason{};  // indexed by CutReason
  std::atomic<uint64_t> ttc_sent{0};          // time-to-cut messages posted by this orderer
  std::atomic<uint64_t> ttc_stale{0};         // time-to-cut messages ignored as stale
  std::atomic<uint64_t> connect_seen{0};
  std::atomic<int64_t> last_offset{-1};       // last partition offset processed
  std::atomic<uint64_t> height{0};
  // Sum over blocks of (block written - first message of the block read),
  // for the mean block-cut latency.
  std::atomic<uint64_t> cut_latency_ns_sum{0};

  uint64_t rejected_total() const {
    uint64_t n = 0;
    for (const auto& r : rejected) n += r.load();
    return n;
  }
  void Reject(RejectCause cause) { rejected[static_cast<size_t>(cause)]++; }
  void Cut(CutReason reason) {
    if (reason >= 0 && static_cast<size_t>(reason) < cuts_by_reason.size()) cuts_by_reason[reason]++;
  }

  nlohmann::json ToJson() const;
  // One line: "height=12 txs=5400 rejected=3 (bad_signature=2 duplicate=1) ..."
  std::string Summary() const;
};

}  // namespace ordering
