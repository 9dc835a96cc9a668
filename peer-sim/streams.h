// peer-sim's streams to the orderer: how they reconnect, and what they went
// through, as the report carries it: the Deliver stream's outages
// (deliver_listener.h).
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

}  // namespace ordering
