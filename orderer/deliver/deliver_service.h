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
// The service knows nothing of gRPC: a stream reaches it as a
// DeliverStreamIo (answers out, the client's cancel in). server.cc adapts
// gRPC's stream to it; the fuzz target (fuzz/deliver_fuzz.cc) serves into
// memory, through the same Serve().
//
// Thread-safety: Publish() from the ordering thread; Serve() on any number
// of threads at once (gRPC's); Shutdown() from any thread.
#pragma once

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
#include "proto/ab.pb.h"

namespace ordering {

// One Deliver stream as the service sees it, whatever carries it.
class DeliverStreamIo {
 public:
  virtual ~DeliverStreamIo() = default;
  // Sends one response; false if the client has gone.
  virtual bool Write(const DeliverResponse& response) = 0;
  // The client cancelled the stream (or its connection ended).
  virtual bool IsCancelled() const = 0;
  // Who the client is, for logs.
  virtual std::string Peer() const = 0;
};

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

  // Serves one stream: the blocks from `request`'s start, in order, then the
  // tail as it is committed, until the client cancels or goes, or a status
  // ends it (SERVICE_UNAVAILABLE, written to `io`). Returns Unavailable,
  // having written nothing, if the service is shut down; InvalidArgument
  // for a start it does not know; otherwise OK.
  Status Serve(const SeekInfo& request, DeliverStreamIo* io);

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
