// DeliverListener: follows an orderer's committed blocks over gRPC Deliver,
// starting at the newest block, and hands each block to a callback once.
// If the stream breaks (orderer restart) it reconnects and resumes after the
// last block it saw, so blocks are neither skipped nor repeated.
//
// Thread-safety: Start/Stop from one thread; the callback runs on the
// listener's own thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

class DeliverListener {
 public:
  using BlockCallback = std::function<void(const Block& block)>;

  // Connects to `address` and waits (up to `connect_timeout_ms`) for the
  // first block (the newest committed one), which is passed to `on_block`
  // like every later one.
  [[nodiscard]] static Status Start(const std::string& address, BlockCallback on_block, int connect_timeout_ms,
                                    std::unique_ptr<DeliverListener>* out);
  ~DeliverListener();  // calls Stop()

  void Stop();
  uint64_t reconnects() const { return reconnects_.load(); }

 private:
  DeliverListener() = default;
  void Run();
  // Opens a stream from `start`; returns false if the orderer is unreachable.
  bool StreamFrom(const SeekInfo& start);

  std::string address_;
  BlockCallback on_block_;
  std::unique_ptr<AtomicBroadcast::Stub> stub_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> first_block_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::optional<uint64_t> last_number_;  // listener thread only
  Mutex ctx_mu_;
  grpc::ClientContext* ctx_ GUARDED_BY(ctx_mu_) = nullptr;  // the open stream
  std::thread thread_;
};

}  // namespace ordering
