// peer-sim's streams to the orderer: how they reconnect, and what they went
// through, as the report carries it: the Deliver stream's outages
// (deliver_listener.h) and the Broadcast streams' breaks
// (broadcast_submitter.h).
#pragma once

#include <cstdint>

namespace ordering {

// How the streams come back: waits between attempts (orderer_channel.h).
struct ReconnectOptions {
  int64_t initial_backoff_ms = 100;  // the first wait after a failure
  int64_t max_backoff_ms = 1000;     // the longest wait between attempts (peer-sim --reconnect-backoff-max)
};

// One time the Deliver stream was lost after the first block.
struct DeliverOutage {
  int64_t lost_unix_ms = 0;       // the stream ended (wall clock, ms since the Unix epoch)
  int64_t back_unix_ms = 0;       // the first block on a new stream arrived; 0: not back by the end
  uint64_t resumed_at_block = 0;  // that block's number (0 when not back)
  double seconds() const { return back_unix_ms > 0 ? static_cast<double>(back_unix_ms - lost_unix_ms) / 1000 : 0; }
};

// A submitter's streams (broadcast path): how often one broke and was
// replaced, and what was lost with them.
struct StreamCounters {
  uint64_t broken = 0;      // streams that ended without peer-sim ending them
  uint64_t reconnects = 0;  // new streams opened after one broke
  uint64_t unanswered = 0;  // transactions sent on a stream that broke before answering them
  StreamCounters& operator+=(const StreamCounters& o) {
    broken += o.broken;
    reconnects += o.reconnects;
    unanswered += o.unanswered;
    return *this;
  }
};

}  // namespace ordering
