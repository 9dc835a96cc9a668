// Ingress: the stateless checks every backend applies to a submitted
// Envelope (a serialized `ordering.Envelope`), whatever carried it there:
// Broadcast, or a record the Kafka backend read from its partition.
//
// Checks, in this order (the first failure is the cause):
//   1. more than AbsoluteMaxBytes + kFramingAllowance bytes -> kOversized
//      (checked before parsing, so a huge input costs nothing)
//   2. the Envelope / Payload / Header does not parse, or has no tx id /
//      creator                                            -> kMalformed
//   3. len(payload) + len(signature) > AbsoluteMaxBytes     -> kOversized
//   4. header.channel_id != channel                         -> kWrongChannel
//   5. tx_id != hex(SHA-256(nonce || creator))              -> kBadTxId
//   6. signature does not verify against header.creator     -> kBadSignature
//      (skipped when IngressOptions::verify_signatures is false: the input
//      comes from a source that verified it already)
// Duplicate tx ids depend on chain state and are detected by the chain
// (RejectCause::kDuplicate), not here.
#pragma once

#include <cstdint>
#include <string>

#include "common/crypto.h"
#include "common/envelope.h"
#include "common/histogram.h"
#include "orderer/cutter/block_cutter.h"

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
  // Where to record how long each signature verification took (optional;
  // must outlive the validators).
  AtomicHistogram* verify_duration = nullptr;
  // false: checks 1-5 only. For inputs only trusted writers can have made,
  // e.g. a Kafka topic only orderers may produce to (they verified each
  // envelope at Broadcast). Default: true.
  bool verify_signatures = true;
};

// Bytes an Envelope (and a backend's framing around it) adds to payload +
// signature; inputs larger than AbsoluteMaxBytes plus this are rejected
// unparsed.
inline constexpr uint64_t kFramingAllowance = 64;

struct CheckedEnvelope {
  RejectCause cause = RejectCause::kNone;  // kNone: accepted
  std::string detail;                      // human-readable reason for a rejection
  CutterMessage tx;                        // accepted: envelope, size, tx id
  bool ok() const { return cause == RejectCause::kNone; }
};

// Runs the stateless checks. Holds a signature Verifier (with its key cache):
// thread-compatible, one per worker thread.
class Validator {
 public:
  explicit Validator(const IngressOptions& options) : options_(options) {}
  // `envelope` is taken (moved into the result when accepted).
  CheckedEnvelope Check(std::string envelope);
  // The same checks for an envelope gRPC has parsed already (Broadcast):
  // its payload is decoded, the envelope is not parsed again, and it is
  // serialized once, only if accepted.
  CheckedEnvelope Check(const Envelope& envelope);
  const IngressOptions& options() const { return options_; }

 private:
  // Checks 3-6 on a decoded envelope; `bytes`: its serialized form, or
  // nullptr to serialize `env` when accepted.
  CheckedEnvelope CheckDecoded(const Envelope& env, std::string* bytes);

  IngressOptions options_;
  Verifier verifier_;
  DecodedTx decoded_;  // reused across checks
};

}  // namespace ordering
