// BatchTimer: the BatchTimeout bookkeeping of the ordering step
// (ChainSupport owns one per channel): when the pending batch began (for the
// block-fill latency) and when BatchTimeout fires for it.
//
// Around each BlockCutter::Ordered call:
//   timer.Arrived(now, cutter.pending_count() == 0);
//   OrderedResult r = cutter.Ordered(std::move(tx));
//   std::vector<int64_t> first_seen = timer.Ordered(r, now);  // one per cut batch
// and when it fires (Expired) the pending batch is cut (or, kafka, a
// time-to-cut posted) and Clear() or Rearm(now) is called. Not thread-safe:
// it lives on the ordering thread.
#pragma once

#include <cstdint>
#include <vector>

#include "orderer/cutter/block_cutter.h"

namespace ordering {

class BatchTimer {
 public:
  explicit BatchTimer(uint64_t timeout_ms) : timeout_ns_(static_cast<int64_t>(timeout_ms) * 1'000'000) {}

  // A message arrives at `now`; `nothing_pending`: the cutter holds nothing yet.
  void Arrived(int64_t now, bool nothing_pending) {
    if (nothing_pending) first_seen_ = now;
  }

  // After the cutter took the message that arrived at `now` and returned `r`:
  // when each cut batch's first message arrived. Arms the timer for what is
  // left pending, or stops it when nothing is.
  std::vector<int64_t> Ordered(const OrderedResult& r, int64_t now) {
    std::vector<int64_t> first_seen;
    first_seen.reserve(r.batches.size());
    for (size_t i = 0; i < r.batches.size(); ++i) {
      // A batch that holds this very message began with it only when it is
      // not the first batch cut (the oversized message cut alone).
      const bool holds_message = r.message_in_batches && i + 1 == r.batches.size();
      first_seen.push_back((i == 0 || !holds_message) ? first_seen_ : now);
    }
    if (!r.batches.empty()) {
      // What remains pending (if anything) is this message, which began a new batch.
      first_seen_ = now;
      deadline_ = r.pending ? now + timeout_ns_ : 0;
    } else if (deadline_ == 0) {
      deadline_ = now + timeout_ns_;
    }
    return first_seen;
  }

  bool Armed() const { return deadline_ != 0; }
  bool Expired(int64_t now) const { return deadline_ != 0 && now >= deadline_; }
  // NowNanos when it fires; 0 = not armed.
  int64_t deadline() const { return deadline_; }
  // When the pending batch's first message arrived.
  int64_t first_seen() const { return first_seen_; }
  void Clear() { deadline_ = 0; }
  // Fires again a full timeout from `now` (kafka: a time-to-cut may be lost).
  void Rearm(int64_t now) { deadline_ = now + timeout_ns_; }

 private:
  const int64_t timeout_ns_;
  int64_t deadline_ = 0;
  int64_t first_seen_ = 0;
};

}  // namespace ordering
