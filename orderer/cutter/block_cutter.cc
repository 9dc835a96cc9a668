#include "orderer/cutter/block_cutter.h"

#include <utility>

namespace ordering {

BlockCutter::BlockCutter(const BatchSizeOptions& options) : options_(options) {}

OrderedResult BlockCutter::Ordered(CutterMessage msg) {
  OrderedResult r;
  if (msg.size > options_.preferred_max_bytes) {
    // Oversized: whatever is pending goes first, then the message alone.
    if (!pending_.empty()) r.batches.push_back(Cut(CUT_REASON_PREFERRED_MAX_BYTES));
    Batch alone;
    alone.reason = CUT_REASON_OVERSIZED_MESSAGE;
    alone.messages.push_back(std::move(msg));
    r.batches.push_back(std::move(alone));
    r.message_in_batches = true;
    r.pending = false;
    return r;
  }
  if (!pending_.empty() && pending_bytes_ + msg.size > options_.preferred_max_bytes) {
    r.batches.push_back(Cut(CUT_REASON_PREFERRED_MAX_BYTES));
  }
  pending_bytes_ += msg.size;
  pending_.push_back(std::move(msg));
  if (pending_.size() >= options_.max_message_count) {
    r.batches.push_back(Cut(CUT_REASON_MAX_MESSAGE_COUNT));
    r.message_in_batches = true;
  }
  r.pending = !pending_.empty();
  return r;
}

Batch BlockCutter::Cut(CutReason reason) {
  Batch b;
  b.reason = reason;
  b.messages = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  return b;
}

}  // namespace ordering
