// Ingress: turns raw partition records into checked messages for the chain.
//
// Stateless checks, in this order (the first failure is the cause):
//   1. record larger than AbsoluteMaxBytes + kFramingAllowance -> kOversized
//      (checked before parsing, so a huge record costs nothing)
//   2. not a KafkaMessage, or a regular message whose Envelope / Payload /
//      Header does not parse, or has no tx id / creator    -> kMalformed
//   3. len(payload) + len(signature) > AbsoluteMaxBytes      -> kOversized
//   4. header.channel_id != channel                          -> kWrongChannel
//   5. tx_id != hex(SHA-256(nonce || creator))               -> kBadTxId
//   6. signature does not verify against header.creator      -> kBadSignature
// Duplicate tx ids depend on chain state and are detected by the chain
// (RejectCause::kDuplicate), not here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "common/kafka.h"
#include "common/types.h"

namespace ordering {

enum class RejectCause : int {
  kNone = 0,
  kMalformed,
  kOversized,
  kWrongChannel,
  kBadTxId,
  kBadSignature,
  kDuplicate,
  kCount,  // number of causes; not a cause
};
// "malformed", "oversized", "wrong_channel", "bad_tx_id", "bad_signature",
// "duplicate"; used as metric labels.
const char* RejectCauseName(RejectCause cause);

struct IngressOptions {
  std::string channel_id;
  uint64_t absolute_max_bytes = 10 * 1024 * 1024;  // Default: 10 MB
};

// Bytes a KafkaMessage/Envelope adds around payload + signature; records
// larger than AbsoluteMaxBytes plus this are rejected unparsed.
inline constexpr uint64_t kFramingAllowance = 64;

struct CheckedMessage {
  enum class Kind { kRegular, kTimeToCut, kConnect, kRejected };
  Offset offset{-1};
  Kind kind = Kind::kRejected;
  RejectCause cause = RejectCause::kNone;  // set when kind == kRejected
  std::string detail;                      // human-readable reason for rejection
  // kRegular:
  std::string envelope;  // serialized Envelope
  uint64_t size = 0;     // len(payload) + len(signature)
  std::string tx_id;
  // kTimeToCut:
  uint64_t ttc_block_number = 0;
};

// Runs the stateless checks. Holds a signature Verifier (with its key cache):
// thread-compatible, one per worker thread.
class Validator {
 public:
  explicit Validator(const IngressOptions& options) : options_(options) {}
  CheckedMessage Check(const kafka::ConsumedRecord& record);

 private:
  IngressOptions options_;
  Verifier verifier_;
};

// Fans records out to `workers` threads (each with its own Validator) and
// hands results back strictly in submission order.
//
// Thread-safety: Submit() from one producer thread, Next() from one consumer
// thread; Shutdown() from any thread, idempotent.
class OrderedValidationPool {
 public:
  OrderedValidationPool(const IngressOptions& options, int workers, size_t max_in_flight = 4096);
  ~OrderedValidationPool();  // calls Shutdown()

  // Blocks while max_in_flight results are not yet taken by Next(). Returns
  // false if the pool is shut down.
  bool Submit(kafka::ConsumedRecord record);

  // The next result in submission order. Waits up to `timeout`; false on
  // timeout or shutdown.
  bool Next(std::chrono::nanoseconds timeout, CheckedMessage* out);

  // Stops the workers; pending Submit/Next calls return false.
  void Shutdown();

 private:
  struct Slot;
  // Implementation-defined members (queues, slots, worker threads).
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordering
