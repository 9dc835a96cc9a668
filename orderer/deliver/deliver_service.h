// Deliver: streams committed blocks to peers over gRPC
// (ordering.AtomicBroadcast/Deliver, after Fabric's deliver service).
//
// A stream starts at the requested block (NEWEST = the last committed one)
// and then follows the tail: Publish() wakes every stream when a block is
// committed. Recent blocks are served from memory; older ones from the
// ledger.
//
// Thread-safety: Publish() from the ordering thread; Deliver() on gRPC's
// threads; Shutdown() from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "ledger/block_store.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

class DeliverService final : public AtomicBroadcast::Service {
 public:
  // `ledger` must outlive the service.
  explicit DeliverService(const BlockStore* ledger, size_t recent_blocks = 64);

  // Makes a committed block visible to streams. Blocks arrive in order.
  void Publish(std::shared_ptr<const Block> block);

  // Ends every stream with SERVICE_UNAVAILABLE; new streams are refused.
  void Shutdown();

  grpc::Status Deliver(grpc::ServerContext* context, const SeekInfo* request,
                       grpc::ServerWriter<DeliverResponse>* writer) override;

 private:
  // The block `number`, from memory or the ledger; nullptr if not committed.
  std::shared_ptr<const Block> Fetch(uint64_t number);

  const BlockStore* ledger_;
  const size_t recent_capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t height_ = 0;                              // GUARDED_BY(mu_)
  std::deque<std::shared_ptr<const Block>> recent_;  // GUARDED_BY(mu_); consecutive, ending at height_-1
  bool shutdown_ = false;                            // GUARDED_BY(mu_)
};

// A gRPC server on `listen_address` ("127.0.0.1:7050"; port 0 picks one)
// exposing `service`.
class DeliverServer {
 public:
  [[nodiscard]] static Status Start(const std::string& listen_address, DeliverService* service,
                                    std::unique_ptr<DeliverServer>* out);
  ~DeliverServer();
  int port() const { return port_; }
  void Stop();

 private:
  DeliverServer() = default;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ordering
