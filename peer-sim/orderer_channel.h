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
//
// peer-sim may be given several orderers serving one channel (`--orderer
// A,B`: Kafka orderers on one partition, or Raft nodes). Every stream
// starts on the first; a stream that breaks, or whose address cannot be
// reached within ReconnectOptions::attempt_timeout_ms, moves to the next
// address, round robin (OrdererRotation). One address behaves as before.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "peer-sim/streams.h"

namespace ordering {

// A channel to `address` (host:port, insecure) that reconnects on
// `reconnect`'s bounds. `max_receive_bytes` < 0: gRPC's default (4 MB).
std::shared_ptr<grpc::Channel> MakeOrdererChannel(const std::string& address, const ReconnectOptions& reconnect,
                                                  int max_receive_bytes = -1);

// The addresses of an --orderer value: one HOST:PORT, or a comma list of
// them, in failover order. InvalidArgument names an empty entry, one
// without a port, or one given twice.
[[nodiscard]] Status ParseOrdererList(const std::string& value, std::vector<std::string>* out);

// Which orderer one stream uses: the first address until its stream breaks
// or cannot connect, then the next, round robin. Counts the switches: a
// stream that serves from another address than the one before it.
// Thread-compatible (one stream's thread).
class OrdererRotation {
 public:
  // REQUIRES: at least one address (ParseOrdererList's output).
  explicit OrdererRotation(std::vector<std::string> addresses);
  const std::string& current() const { return addresses_[index_]; }
  bool several() const { return addresses_.size() > 1; }
  const std::vector<std::string>& addresses() const { return addresses_; }
  // Moves to the next address (round robin; the same one when it is alone)
  // and returns it.
  const std::string& Advance();
  // A stream on current() serves; true when that is a switch (the stream
  // before it served from another address), counted in switches().
  bool Serving();
  // Per address: how often a stream switched onto it.
  const std::map<std::string, uint64_t>& switches() const { return switches_; }
  // The address of the last stream that served; none before the first.
  std::optional<std::string> serving() const;

 private:
  std::vector<std::string> addresses_;
  size_t index_ = 0;
  std::optional<size_t> serving_;
  std::map<std::string, uint64_t> switches_;
};

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
