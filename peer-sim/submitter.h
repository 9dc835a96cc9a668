// How a simulated peer hands its signed transactions to the ordering
// service. Two paths, measured the same way by the load generator:
//
//   kafka      the peer's own librdkafka producer (the profile's settings)
//              writes each transaction, wrapped in a KafkaMessage, straight
//              into the channel's partition: the tuning research's path,
//              which only the Kafka backend can read. The outcome is the
//              broker's acknowledgement.
//   broadcast  a gRPC Broadcast stream to an orderer, Fabric's path, which
//              every backend serves. The outcome is the orderer's status
//              (SUCCESS: accepted for ordering).
//
// Thread-safety: Submit() from the peer's one sending thread; Flush() and
// Abandon() from the load generator's thread once sending has ended. The
// outcome callback runs on the submitter's own thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/properties.h"
#include "common/status.h"
#include "common/tx_factory.h"

namespace ordering {

enum class SubmitPath { kKafka, kBroadcast };
// "kafka" | "broadcast"; false if neither.
bool ParseSubmitPath(const std::string& name, SubmitPath* path);
const char* SubmitPathName(SubmitPath path);

// The record batches a producer has sent since it started, from
// librdkafka's statistics: each statistics interval's batch count, records
// and bytes for the topic (its batchcnt and batchsize windows) added up. One
// topic with one partition, so a batch is one ProduceRequest's record set.
struct BatchCounters {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;

  BatchCounters& operator+=(const BatchCounters& o) {
    batches += o.batches;
    records += o.records;
    bytes += o.bytes;
    return *this;
  }
  // What was sent between an earlier reading `o` and this one.
  BatchCounters operator-(const BatchCounters& o) const {
    return {batches - o.batches, records - o.records, bytes - o.bytes};
  }
  bool operator==(const BatchCounters&) const = default;
};

enum class SubmitOutcome {
  kAccepted,   // acknowledged: by the broker (kafka) or SUCCESS (broadcast)
  kFailed,     // refused: a delivery error, or a Broadcast status other than SUCCESS
  kAbandoned,  // given up at exit (Abandon) or lost with a broken stream, never answered
};

struct SubmitterOptions {
  SubmitPath path = SubmitPath::kKafka;
  // kafka:
  std::string brokers;
  std::string topic;
  Properties producer_properties;
  bool create_topic = false;  // create the topic if missing (raw mode: no orderer to do it)
  // broadcast:
  std::string orderer;  // host:port
  int64_t connect_timeout_ms = 15000;
  // Called once per submitted transaction with the `opaque` given to Submit.
  // `detail` says why when it was not accepted.
  std::function<void(void* opaque, SubmitOutcome outcome, const std::string& detail)> on_outcome;
};

class Submitter {
 public:
  virtual ~Submitter() = default;
  // The bytes this path sends for `tx` (kafka: the record; broadcast: the
  // envelope). Built before the clock starts, so sending costs nothing more.
  virtual std::string WireBytes(BuiltTx&& tx) const = 0;
  // Sends `bytes` (from WireBytes). Blocks while the path pushes back (a
  // full producer queue, gRPC flow control). Non-OK: it was not sent and
  // no outcome will be reported for it.
  [[nodiscard]] virtual Status Submit(const std::string& bytes, void* opaque) = 0;
  // Waits up to `timeout_ms` for every outcome; non-OK if some are missing.
  [[nodiscard]] virtual Status Flush(int timeout_ms) = 0;
  // Gives up on everything unanswered: each gets kAbandoned. Waits up to
  // `timeout_ms` for that; returns how many are still unresolved (0 normally).
  virtual int Abandon(int timeout_ms) = 0;
  // The batches sent so far, as of the producer's last statistics (every
  // kBatchStatsIntervalMs); none on a path without a Kafka producer.
  // Thread-safe.
  virtual std::optional<BatchCounters> Batches() const { return std::nullopt; }
};

// How often the kafka path's producers report their statistics (librdkafka's
// statistics.interval.ms, unless the producer properties set it).
inline constexpr int kBatchStatsIntervalMs = 1000;

// Adds one librdkafka statistics JSON's batch windows for `topic` (the
// interval's batchcnt count and sum, batchsize sum) to *counters. False,
// leaving *counters as it was, when the JSON is malformed or lacks them.
bool AddBatchStatistics(std::string_view json, const std::string& topic, BatchCounters* counters);

// Creates and connects a submitter (fails fast, with the address, when the
// brokers or the orderer cannot be reached or the topic does not exist).
[[nodiscard]] Status MakeSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out);

}  // namespace ordering
