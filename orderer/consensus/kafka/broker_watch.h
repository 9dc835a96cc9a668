// Whether the Kafka chain reaches its brokers, told to the operator: one
// line when its clients lose every broker, one when a broker answers again,
// with how long it took and what became of the records that waited in the
// producer meanwhile. librdkafka only says "N/N brokers are down", counting
// its own connections, and never says when they are back.
//
// The chain feeds it: librdkafka's ALL_BROKERS_DOWN events of its producer
// and consumer (AllDown), the signs that a broker answers again, and its
// producer's records (Produced, Delivered). A sign must postdate the loss:
// a metadata request sent after it (Answered), or a record the producer
// reports acknowledged after the producer itself reported the loss (one
// client's events come in order; another client's may still be serving
// what it heard before the loss). Consumed records are no sign: they may
// have been fetched before. Records of one partition are
// acknowledged in the order they were produced, so the records that waited
// through an outage are exactly those resolved after the loss up to the
// last one produced before the brokers were back; the "back" line waits
// for them (at most kSettleNanos) to say how many were acknowledged and how
// many failed.
//
// Thread-safe; times are steady-clock nanoseconds. Outside an outage, Produced,
// Delivered and Answered cost an atomic add or load.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log_limiter.h"
#include "common/mutex.h"

namespace ordering::kafka_backend {

class BrokerWatch {
 public:
  // How long the "back" line waits for the outage's records to be resolved.
  static constexpr int64_t kSettleNanos = 10'000'000'000;

  // `channel` and `bootstrap` name what is watched in its lines.
  BrokerWatch(std::string channel, std::string bootstrap);

  // The cluster's brokers (HOST:PORT) its metadata lists (those up): the
  // watch names every broker ever listed.
  void SetBrokers(std::vector<std::string> brokers);

  enum class Client { kProducer, kConsumer };
  static const char* ClientName(Client c) { return c == Client::kProducer ? "producer" : "consumer"; }

  // librdkafka: none of `client`'s connections is up.
  void AllDown(Client client, std::string_view reason, int64_t now);
  // A broker answered a request sent at `asked_at`.
  void Answered(int64_t asked_at, int64_t now);
  // The producer took a record / reported on one (acknowledged or failed).
  void Produced() { produced_.fetch_add(1, std::memory_order_relaxed); }
  void Delivered(bool acknowledged, int64_t now);
  // From a loop: ends a "back" line whose records are not all resolved
  // after kSettleNanos.
  void Tick(int64_t now);

  bool lost() const { return state_.load() == kLost; }
  uint64_t outages() const { return outages_.load(); }

 private:
  enum State : int { kUp, kLost, kBack };
  void BackLocked(int64_t now) REQUIRES(mu_);
  void FinishLocked(int64_t now, bool settled) REQUIRES(mu_);
  std::string DescribeBrokersLocked() const REQUIRES(mu_);

  const std::string channel_;
  const std::string bootstrap_;
  std::atomic<int> state_{kUp};
  std::atomic<uint64_t> outages_{0};
  std::atomic<uint64_t> produced_{0};
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> failed_{0};

  Mutex mu_;
  std::vector<std::string> brokers_ GUARDED_BY(mu_);
  LogLimiter lost_lines_;                   // a flapping cluster: one lost line a minute
  bool announced_ GUARDED_BY(mu_) = false;  // this outage's lost line was logged
  int64_t lost_at_ GUARDED_BY(mu_) = 0;
  int64_t back_at_ GUARDED_BY(mu_) = 0;
  uint64_t waiting_at_loss_ GUARDED_BY(mu_) = 0;  // produced, not yet resolved, at the loss
  uint64_t acknowledged_at_loss_ GUARDED_BY(mu_) = 0;
  uint64_t failed_at_loss_ GUARDED_BY(mu_) = 0;
  uint64_t produced_at_back_ GUARDED_BY(mu_) = 0;
  bool producer_down_ GUARDED_BY(mu_) = false;  // the producer itself reported this outage
};

}  // namespace ordering::kafka_backend
