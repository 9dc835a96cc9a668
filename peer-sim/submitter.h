// How a simulated peer hands its signed transactions to the ordering
// service. Two paths, measured the same way by the load generator:
//
//   kafka      the peer's own librdkafka producer (the profile's settings)
//              writes each transaction, wrapped in a KafkaMessage, straight
//              into the channel's partition: the tuning research's path,
//              which only the Kafka backend can read. The outcome is the
//              broker's acknowledgement (librdkafka reconnects by itself).
//   broadcast  a gRPC Broadcast stream to an orderer, Fabric's path, which
//              every backend serves. The outcome is the orderer's status
//              (SUCCESS: accepted for ordering; an orderer may answer it
//              only once the transaction is durable, up to a block interval
//              later: the stream is pipelined and nothing waits for an
//              answer before sending the next). A stream that breaks loses
//              the answers it owed: those transactions are unanswered, and
//              NOT resent (resending is a client's policy; this generator
//              keeps each transaction's fate simple to check). The next
//              Submit opens a new stream after a bounded backoff
//              (broadcast_submitter.h).
//
// Thread-safety: Submit() from the peer's one sending thread; Flush() and
// Abandon() from the load generator's thread once sending has ended;
// Batches() and Streams() from any thread. The outcome callback runs on the
// submitter's own threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/properties.h"
#include "common/status.h"
#include "common/tx_factory.h"
#include "peer-sim/orderer_channel.h"
#include "peer-sim/streams.h"

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
  kAccepted,    // acknowledged: by the broker (kafka) or SUCCESS (broadcast)
  kFailed,      // refused: a delivery error, or a Broadcast status other than SUCCESS
  kUnanswered,  // broadcast: sent on a stream that broke before answering it (not resent)
  kAbandoned,   // given up at exit (Abandon): purged from the producer, or never answered on a stream peer-sim closed
};

// One transaction's outcome as its submit path reported it.
struct SubmitAnswer {
  SubmitOutcome outcome = SubmitOutcome::kAccepted;
  // The answer's name, one word (the ack log's outcome field). broadcast:
  // the orderer's status without its BROADCAST_STATUS_ prefix (SUCCESS,
  // BAD_REQUEST, SERVICE_UNAVAILABLE, ...), UNANSWERED_STREAM_BROKEN or
  // ABANDONED; kafka: ACKED, FAILED or PURGED.
  std::string code;
  std::string detail;  // why, when not accepted
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
  // The first connection, and after a stream broke how long Submit waits
  // for a new one before failing transactions at once (until it is back).
  int64_t connect_timeout_ms = 15000;
  ReconnectOptions reconnect;
  // Polled while Submit waits for a new stream: true gives up (the run is
  // ending). Optional.
  std::function<bool()> give_up;
  // Called once per submitted transaction with the `opaque` given to Submit.
  std::function<void(void* opaque, const SubmitAnswer& answer)> on_outcome;
};

class Submitter {
 public:
  virtual ~Submitter() = default;
  // The bytes this path sends for `tx` (kafka: the record; broadcast: the
  // envelope). Built before the clock starts, so sending costs nothing more.
  virtual std::string WireBytes(BuiltTx&& tx) const = 0;
  // Sends `bytes` (from WireBytes) of the transaction `tx_id` (which must
  // outlive its outcome). Blocks while the path pushes back (a full
  // producer queue, gRPC flow control, a broken Broadcast stream being
  // replaced). Non-OK: it was not sent and no outcome will be reported for
  // it.
  [[nodiscard]] virtual Status Submit(const std::string& bytes, std::string_view tx_id, void* opaque) = 0;
  // Waits up to `timeout_ms` for every outcome; non-OK if some are missing.
  [[nodiscard]] virtual Status Flush(int timeout_ms) = 0;
  // Gives up on everything unanswered: each gets kAbandoned. Waits up to
  // `timeout_ms` for that; returns how many are still unresolved (0 normally).
  virtual int Abandon(int timeout_ms) = 0;
  // The batches sent so far, as of the producer's last statistics (every
  // kBatchStatsIntervalMs); none on a path without a Kafka producer.
  // Thread-safe.
  virtual std::optional<BatchCounters> Batches() const { return std::nullopt; }
  // The streams so far; none on a path without streams (kafka). Thread-safe.
  virtual std::optional<StreamCounters> Streams() const { return std::nullopt; }
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
