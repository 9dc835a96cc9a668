// peer-sim's gRPC channels to the orderer, and how its streams come back
// after the orderer restarts.
//
// gRPC's own reconnection backs off 1 s, 1.6 s, 2.6 s, ... up to 120 s (with
// 20% jitter), so a client whose orderer was down for 10 s may not try
// again for another 6 s: peer-sim once saw no block for 15.9 s after an
// orderer that was ready again in 0.77 s. The channels made here back off
// from `initial_backoff_ms` to at most `max_backoff_ms` instead, and each
// has its own subchannel (not gRPC's process-wide pool), so a fresh channel
// never inherits another's backoff. The streams' own retry loops wait with
// Backoff, on the same bounds.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "peer-sim/streams.h"

namespace ordering {

// A channel to `address` (host:port, insecure) that reconnects on
// `reconnect`'s bounds. `max_receive_bytes` < 0: gRPC's default (4 MB).
std::shared_ptr<grpc::Channel> MakeOrdererChannel(const std::string& address, const ReconnectOptions& reconnect,
                                                  int max_receive_bytes = -1);

// Doubling waits between a stream's attempts: initial, 2x, 4x, ... up to
// the maximum; Reset() after an attempt that worked. Thread-compatible.
class Backoff {
 public:
  explicit Backoff(const ReconnectOptions& reconnect);
  // The wait before the next attempt (then doubles toward the maximum).
  int64_t NextMs();
  void Reset() { next_ms_ = initial_ms_; }

 private:
  int64_t initial_ms_;
  int64_t max_ms_;
  int64_t next_ms_;
};

// Sleeps `ms` in slices of at most 20 ms, returning early (false) once
// `stop()` holds; true when the whole wait passed.
bool SleepUnless(int64_t ms, const std::function<bool()>& stop);

}  // namespace ordering
