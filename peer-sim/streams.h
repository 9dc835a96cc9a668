// peer-sim's streams to the orderer: how they reconnect, and what they went
// through, as the report carries it: the Deliver stream's outages
// (deliver_listener.h) and the Broadcast streams' breaks
// (broadcast_submitter.h). With several orderer addresses (--orderer A,B),
// a stream that breaks or cannot connect moves to the next one
// (orderer_channel.h: OrdererRotation), and the counters say which
// orderer each stream moved to.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ordering {

// How the streams come back: waits between attempts (orderer_channel.h).
struct ReconnectOptions {
  int64_t initial_backoff_ms = 100;  // the first wait after a failure
  int64_t max_backoff_ms = 1000;     // the longest wait between attempts (peer-sim --reconnect-backoff-max)
  // With several orderer addresses: how long one address is tried (waiting
  // for its channel to connect) before the next. One address is tried for
  // the whole connect timeout, as without a list.
  int64_t attempt_timeout_ms = 2000;
};

// One time the Deliver stream was lost after the first block.
struct DeliverOutage {
  int64_t lost_unix_ms = 0;       // the stream ended (wall clock, ms since the Unix epoch)
  int64_t back_unix_ms = 0;       // the first block on a new stream arrived; 0: not back by the end
  uint64_t resumed_at_block = 0;  // that block's number (0 when not back)
  std::string back_on;            // the orderer that block came from (empty when not back)
  double seconds() const { return back_unix_ms > 0 ? static_cast<double>(back_unix_ms - lost_unix_ms) / 1000 : 0; }
};

// A submitter's streams (broadcast path): how often one broke and was
// replaced, and what was lost with them.
struct StreamCounters {
  uint64_t broken = 0;      // streams that ended without peer-sim ending them
  uint64_t reconnects = 0;  // new streams opened after one broke
  uint64_t unanswered = 0;  // transactions sent on a stream that broke before answering them
  // Per orderer address: streams opened on it after the previous stream was
  // on another one (a failover; none with one address).
  std::map<std::string, uint64_t> switches;
  // Per orderer address: the streams whose last stream was opened on it.
  std::map<std::string, uint64_t> on;
  StreamCounters& operator+=(const StreamCounters& o) {
    broken += o.broken;
    reconnects += o.reconnects;
    unanswered += o.unanswered;
    for (const auto& [address, n] : o.switches) switches[address] += n;
    for (const auto& [address, n] : o.on) on[address] += n;
    return *this;
  }
};

}  // namespace ordering
