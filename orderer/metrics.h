// Orderer counters (the "probe"): lock-free, written by the ordering
// pipeline, read by the periodic summary, the metrics file and tests.
#pragma once

#include <prometheus/collectable.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "common/mutex.h"
#include "orderer/ingress/validator.h"
#include "proto/common.pb.h"

namespace ordering {

// A cut reason as metrics name it: "max_message_count", "preferred_max_bytes",
// "oversized_message", "timeout" (and "genesis", "unspecified").
const char* CutReasonLabel(CutReason reason);
// The first reason a block after genesis can be cut for; counters and
// metrics list the reasons from here on.
inline constexpr size_t kFirstCutReason = CUT_REASON_MAX_MESSAGE_COUNT;

// Counters a consensus backend keeps for itself (the Kafka backend: its
// time-to-cut messages, connect, last offset). Added before the chain starts;
// the pointers Add() returns stay valid for the object's life. Thread-safe.
class ConsenterCounters {
 public:
  std::atomic<int64_t>* Add(const std::string& name) {
    MutexLock l(&mu_);
    for (auto& [n, v] : counters_) {
      if (n == name) return &v;
    }
    counters_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple(0));
    return &counters_.back().second;
  }
  // 0 if there is no such counter.
  int64_t Get(const std::string& name) const {
    MutexLock l(&mu_);
    for (const auto& [n, v] : counters_) {
      if (n == name) return v.load();
    }
    return 0;
  }
  nlohmann::json ToJson() const {
    MutexLock l(&mu_);
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [n, v] : counters_) j[n] = v.load();
    return j;
  }

 private:
  mutable Mutex mu_;
  std::deque<std::pair<std::string, std::atomic<int64_t>>> counters_ GUARDED_BY(mu_);
};

struct OrdererMetrics {
  std::atomic<uint64_t> received{0};            // every input the backend read (envelope or record)
  std::atomic<uint64_t> broadcast_received{0};  // envelopes read from Broadcast streams
  // Answers written on Broadcast streams, by status.
  std::atomic<uint64_t> broadcast_accepted{0};      // SUCCESS (what the ack mode promises holds)
  std::atomic<uint64_t> broadcast_unavailable{0};   // SERVICE_UNAVAILABLE: not ready, stopped, or not durable in time
  std::atomic<uint64_t> broadcast_bad_request{0};   // BAD_REQUEST: rejected (counted by cause in `rejected`)
  std::atomic<uint64_t> broadcast_ack_timeouts{0};  // of the SERVICE_UNAVAILABLE: not durable within --ack-timeout
  std::atomic<uint64_t> txs_ordered{0};             // regular messages accepted into blocks
  std::atomic<uint64_t> bytes_ordered{0};           // their serialized envelope bytes
  std::array<std::atomic<uint64_t>, static_cast<size_t>(RejectCause::kCount)> rejected{};
  std::atomic<uint64_t> blocks_written{0};                // excluding genesis
  std::array<std::atomic<uint64_t>, 6> cuts_by_reason{};  // indexed by CutReason
  std::atomic<uint64_t> height{0};
  // Sum over blocks of (block written - first message of the block read),
  // for the mean block-cut latency.
  std::atomic<uint64_t> cut_latency_ns_sum{0};
  // The ledger's synced block writes (Append: block, index and info in one
  // fsynced WriteBatch): total and longest time, and how many took longer
  // than each of kBlockWriteThresholdsMs (a storage stall shows here).
  static constexpr std::array<uint64_t, 6> kBlockWriteThresholdsMs = {10, 50, 100, 250, 500, 1000};
  std::atomic<uint64_t> block_write_ns_sum{0};
  std::atomic<uint64_t> block_write_ns_max{0};
  std::array<std::atomic<uint64_t>, kBlockWriteThresholdsMs.size()> block_writes_over{};
  void BlockWritten(uint64_t ns) {
    block_write_duration.ObserveNanos(static_cast<int64_t>(ns));
    block_write_ns_sum += ns;
    uint64_t prev = block_write_ns_max.load();
    while (ns > prev && !block_write_ns_max.compare_exchange_weak(prev, ns)) {
    }
    for (size_t i = 0; i < kBlockWriteThresholdsMs.size(); ++i) {
      if (ns > kBlockWriteThresholdsMs[i] * 1'000'000) block_writes_over[i]++;
    }
  }
  // Durations for Prometheus histograms (lock-free). Buckets in seconds.
  // First transaction of a block read -> the block cut (blockcutter_block_fill_duration).
  AtomicHistogram block_fill_duration{AtomicHistogram::Exponential(0.001, 2, 14)};  // 1 ms .. 8.2 s
  // An envelope read from a Broadcast stream -> its SUCCESS answer (with
  // --ack durable: until the backend made it durable).
  AtomicHistogram broadcast_ack_duration{AtomicHistogram::Exponential(0.0001, 2, 17)};  // 0.1 ms .. 6.6 s
  // One ECDSA signature verification at ingress.
  AtomicHistogram verify_duration{AtomicHistogram::Exponential(10e-6, 2, 12)};  // 10 us .. 20 ms
  // One synced block write (ledger_blockstorage_commit_time).
  AtomicHistogram block_write_duration{AtomicHistogram::Exponential(0.0005, 2, 14)};  // 0.5 ms .. 4 s
  // One block handed to a Deliver stream.
  AtomicHistogram deliver_send_duration{AtomicHistogram::Exponential(10e-6, 4, 10)};  // 10 us .. 2.6 s
  // The backend's own counters, under "consenter" in the JSON.
  ConsenterCounters consenter;

  // Metric families a backend exports beyond its counters (the Kafka
  // backend: librdkafka's statistics), served on /metrics. Keyed by name:
  // setting a name again replaces the collectable. Thread-safe.
  void SetCollectable(const std::string& name, std::shared_ptr<prometheus::Collectable> c) {
    MutexLock l(&collectables_mu_);
    for (auto& [n, existing] : collectables_) {
      if (n == name) {
        existing = std::move(c);
        return;
      }
    }
    collectables_.emplace_back(name, std::move(c));
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const {
    MutexLock l(&collectables_mu_);
    std::vector<std::shared_ptr<prometheus::Collectable>> out;
    for (const auto& [n, c] : collectables_) out.push_back(c);
    return out;
  }

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

 private:
  mutable Mutex collectables_mu_;
  std::vector<std::pair<std::string, std::shared_ptr<prometheus::Collectable>>> collectables_
      GUARDED_BY(collectables_mu_);
};

}  // namespace ordering
