// DeliverListener: follows an orderer's committed blocks over gRPC Deliver,
// starting at the newest block, and hands each block to a callback once.
// If the stream breaks (orderer restart) it reconnects promptly and resumes
// after the last block it saw, so blocks are neither skipped nor repeated:
// each new stream gets a fresh channel whose reconnection is bounded
// (orderer_channel.h) and waits for it to connect (wait-for-ready), and
// between streams that end the listener waits a bounded, doubling backoff.
//
// A loss logs one line ("deliver: lost the stream ...") and its end one more
// ("deliver: reconnected to X after 1.3 s, resuming at block N"). The
// stream counts as back when the first block arrives on a new stream: the
// moment blocks flow again, which is what a recovery figure needs.
//
// Given several orderers of one channel (a comma list; their chains are the
// same block for block), a stream that ends, or an address that does not
// connect within ReconnectOptions::attempt_timeout_ms, moves the listener
// to the next address (OrdererRotation), still resuming after the last
// block it saw; a block it has already seen is never passed on again.
//
// Thread-safety: Start/Stop from one thread; the callback runs on the
// listener's own thread; reconnects(), outages(), orderer() and switches()
// from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "peer-sim/orderer_channel.h"
#include "peer-sim/streams.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

// The most outages a listener keeps (the count goes on).
inline constexpr size_t kMaxDeliverOutages = 1000;

class DeliverListener {
 public:
  using BlockCallback = std::function<void(const Block& block)>;

  // Connects to `address` (HOST:PORT, or a comma list: ParseOrdererList)
  // and waits (up to `connect_timeout_ms`) for the
  // first block (the newest committed one), which is passed to `on_block`
  // like every later one. `clock` (its wall clock times the outages) must
  // outlive the listener.
  [[nodiscard]] static Status Start(const std::string& address, BlockCallback on_block, int connect_timeout_ms,
                                    std::unique_ptr<DeliverListener>* out, const ReconnectOptions& reconnect = {},
                                    const Clock* clock = SystemClock::Default());
  ~DeliverListener();  // calls Stop()

  void Stop();
  // Times the stream came back after a loss (a first block on a new stream).
  uint64_t reconnects() const { return reconnects_.load(); }
  // Every loss so far, in order (at most kMaxDeliverOutages); the last one
  // has back_unix_ms 0 while it lasts.
  std::vector<DeliverOutage> outages() const;
  // The orderer the last stream that delivered a block was on.
  std::string orderer() const;
  // Per orderer address: how often the stream moved onto it from another.
  std::map<std::string, uint64_t> switches() const;

 private:
  DeliverListener() = default;
  void Run();
  // Streams from `start` on the current channel until the stream ends;
  // returns whether it delivered a block.
  bool StreamFrom(const SeekInfo& start);
  // With several orderers: waits (up to attempt_timeout_ms, or until Stop)
  // for the current channel to connect; false if it did not.
  bool ConnectedInTime();
  void NewChannel();
  void OnStreamBlock(const Block& b);
  int64_t WallMs() const { return clock_->WallNanos() / 1'000'000; }

  std::unique_ptr<OrdererRotation> rotation_;  // listener thread only (and Start)
  BlockCallback on_block_;
  ReconnectOptions reconnect_;
  const Clock* clock_ = nullptr;
  std::shared_ptr<grpc::Channel> channel_;       // listener thread only (a fresh one per lost stream)
  std::unique_ptr<AtomicBroadcast::Stub> stub_;  // on channel_
  std::atomic<bool> stop_{false};
  std::atomic<bool> first_block_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::optional<uint64_t> last_number_;  // listener thread only
  bool lost_ = false;                    // listener thread only: an outage is open
  int64_t lost_at_ms_ = 0;               // listener thread only
  mutable Mutex mu_;
  std::condition_variable stop_cv_;                     // Stop() wakes the backoff wait
  grpc::ClientContext* ctx_ GUARDED_BY(mu_) = nullptr;  // the open stream
  std::vector<DeliverOutage> outages_ GUARDED_BY(mu_);
  std::string serving_ GUARDED_BY(mu_);                       // rotation_->serving(), for other threads
  std::map<std::string, uint64_t> switches_ GUARDED_BY(mu_);  // rotation_->switches(), for other threads
  std::thread thread_;
};

}  // namespace ordering
