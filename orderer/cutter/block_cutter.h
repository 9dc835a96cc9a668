// BlockCutter: Fabric's batching rules, as a pure deterministic component.
// It never reads a clock: timeouts arrive as Cut() calls driven by
// time-to-cut messages, so every orderer fed the same input cuts the same
// blocks.
//
// Outcomes of Ordered(msg), with P = PreferredMaxBytes, C = MaxMessageCount,
// size(msg) = len(payload) + len(signature) (computed by ingress):
//
//  | condition                                  | batches returned            | pending after |
//  |--------------------------------------------|-----------------------------|---------------|
//  | size > P, nothing pending                  | [msg]                       | false         |
//  | size > P, something pending                | [pending], [msg]            | false         |
//  | pending bytes + size > P                   | [pending]; msg starts anew  | true          |
//  | msg fits; pending count reaches C          | [pending + msg]             | false         |
//  | msg fits; below C                          | []                          | true          |
//
// So one input yields at most two batches (only the oversized row gives two:
// with C == 1 nothing is ever pending). AbsoluteMaxBytes is not checked
// here: ingress rejects such messages before they reach the cutter.
//
// Thread-compatible: one owner thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/common.pb.h"

namespace ordering {

// Fabric's BatchSize. Defaults as Fabric's.
struct BatchSizeOptions {
  uint32_t max_message_count = 500;                // Default: 500
  uint64_t absolute_max_bytes = 10 * 1024 * 1024;  // Default: 10 MB
  uint64_t preferred_max_bytes = 2 * 1024 * 1024;  // Default: 2 MB
};

struct CutterMessage {
  std::string envelope;  // serialized Envelope, stored verbatim in the block
  uint64_t size = 0;     // len(payload) + len(signature)
  std::string tx_id;     // carried along so the owner can track pending ids
};

struct Batch {
  std::vector<CutterMessage> messages;
  CutReason reason = CUT_REASON_UNSPECIFIED;
};

struct OrderedResult {
  std::vector<Batch> batches;  // 0, 1 or 2, in order
  bool pending = false;        // messages remain in the pending batch
  // True when `msg` itself is in one of `batches` (i.e. not left pending).
  // The Kafka chain uses this to know which offset a batch accounts for.
  bool message_in_batches = false;
};

class BlockCutter {
 public:
  explicit BlockCutter(const BatchSizeOptions& options);

  OrderedResult Ordered(CutterMessage msg);

  // Returns the pending batch (possibly empty) with `reason`, and clears it.
  Batch Cut(CutReason reason);

  size_t pending_count() const { return pending_.size(); }
  uint64_t pending_bytes() const { return pending_bytes_; }
  const std::vector<CutterMessage>& pending() const { return pending_; }
  const BatchSizeOptions& options() const { return options_; }

 private:
  BatchSizeOptions options_;
  std::vector<CutterMessage> pending_;
  uint64_t pending_bytes_ = 0;
};

}  // namespace ordering
