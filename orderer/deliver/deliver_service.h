// Deliver: streams committed blocks to peers (after Fabric's deliver
// service); the Deliver half of ordering.AtomicBroadcast (server.h).
//
// A stream starts at the requested block (NEWEST = the last committed one)
// and then follows the tail: Publish() wakes every stream when a block is
// committed. Recent blocks are served from memory; older ones from the
// ledger. A stream ends with SERVICE_UNAVAILABLE when the orderer shuts
// down, when the chain has failed (the `errored` probe), or when a committed
// block cannot be read from the ledger (it never spins on it).
//
// Thread-safety: Publish() from the ordering thread; Handle() on gRPC's
// threads; Shutdown() from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/histogram.h"
#include "common/mutex.h"
#include "common/status.h"
#include "ledger/ledger.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

class DeliverService {
 public:
  // `ledger` must outlive the service. `errored`, if given, is asked while a
  // stream waits for blocks: non-OK ends the stream (the chain has failed).
  // `send_duration`, if given, records how long each block took to hand to
  // a stream (gRPC's flow control makes a slow reader show here).
  explicit DeliverService(const Ledger* ledger, size_t recent_blocks = 64, std::function<Status()> errored = {},
                          AtomicHistogram* send_duration = nullptr);

  // Makes a committed block visible to streams. Blocks arrive in order.
  void Publish(std::shared_ptr<const Block> block);

  // Ends every stream with SERVICE_UNAVAILABLE; new streams are refused.
  void Shutdown();

  grpc::Status Handle(grpc::ServerContext* context, const SeekInfo* request,
                      grpc::ServerWriter<DeliverResponse>* writer);

 private:
  // Block `number`: OK with it; NotFound if not committed yet; another
  // error if it is committed but cannot be read.
  Status Fetch(uint64_t number, std::shared_ptr<const Block>* block);

  const Ledger* ledger_;
  const size_t recent_capacity_;
  const std::function<Status()> errored_;
  AtomicHistogram* const send_duration_;
  Mutex mu_;
  std::condition_variable cv_;
  uint64_t height_ GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<const Block>> recent_ GUARDED_BY(mu_);  // consecutive, ending at height_-1
  bool shutdown_ GUARDED_BY(mu_) = false;
};

}  // namespace ordering
